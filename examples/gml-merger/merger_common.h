// What gml-merger's subcommands share, all through the C header: image
// cubes (simulator files and cutout cubes) and their labels, a loaded merger
// model with its shape, result tables, and the command line recorded as
// provenance.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "galaxyml/galaxyml.h"

namespace gml_tools {

// The whole command line ("gml-merger classify --model m.h5 ..."), set by
// main() and written into model files and tables.
extern std::string g_command_line;

// Images (N, C, H, W) float32 of a simulator file or a cutout cube, read
// with gml_cutouts_read_shape() / gml_cutouts_read(); exits on error.
struct ImageCube {
  int64_t n = 0, c = 0, h = 0, w = 0;
  std::vector<float> pixels;
  size_t image_floats() const { return static_cast<size_t>(c * h * w); }
  const float* image(int64_t i) const { return pixels.data() + image_floats() * i; }
  // Images rows[0], rows[1], ... copied into one (rows.size(), C, H, W) block.
  std::vector<float> gather(const std::vector<int64_t>& rows) const;
};
ImageCube read_cube(const std::string& path);

// The 'LABELS' table of a simulator file, one row per image; `present` is
// false (and the vectors empty) for files without one, e.g. cutout cubes.
struct SimLabels {
  bool present = false;
  std::vector<int32_t> sim_id, time_class, camera;
  std::vector<double> time_myr, mass_ratio;
};
// Exits when the table exists but does not have expected_rows rows.
SimLabels read_labels(const std::string& path, int64_t expected_rows);

// Position columns of a cutout cube's 'STAMPS' table (gml_cutouts_write()),
// when the file has one with a row per image; empty otherwise.
struct StampPositions {
  std::vector<double> ra, dec;
  std::vector<int32_t> flags;
};
StampPositions read_stamp_positions(const std::string& path, int64_t expected_rows);

// A merger model loaded onto the session's device, with its shapes and the
// file checksum that result tables record.
struct MergerModel {
  gml_model* model = nullptr;
  std::string path, checksum;
  int64_t channels = 0, size = 0, classes = 0, latent = 0;
  MergerModel(gml_context* ctx, const std::string& model_path);
  ~MergerModel();
  MergerModel(const MergerModel&) = delete;
  MergerModel& operator=(const MergerModel&) = delete;
};

// A FITS result table through gml_table_writer_*: provenance keywords
// (input file, command line, model checksum) and one column per add().
class ResultTable {
 public:
  ResultTable(const std::string& path, const char* extname, const std::string& input_file,
              const std::string& model_checksum);
  ~ResultTable();
  ResultTable(const ResultTable&) = delete;
  ResultTable& operator=(const ResultTable&) = delete;
  void add(const char* name, int32_t type, int64_t repeat, const char* unit);
  struct Column {
    const char* name;
    int32_t type;
    int64_t repeat = 1;
    const char* unit = "";
  };
  void add(const std::vector<Column>& columns);
  void keyword(const std::string& key, const std::string& value, const std::string& comment);
  // data: one pointer per column in add() order, [rows, repeat] each.
  void append(int64_t rows, const std::vector<const void*>& data);
  void commit();

 private:
  std::string path_;
  gml_table_writer* w_ = nullptr;
};

// The k nearest index entries of each of n queries ([n, k] each, flags
// [n]), from gml_merger_search_batch(). SSIM is asked for image queries
// only (the library refuses it for latents) and is empty otherwise.
struct Neighbours {
  std::vector<int64_t> ids;
  std::vector<float> distances, ssim;
  std::vector<int32_t> sim_id, time_class, flags;
};
// A request for k neighbours of n queries in `index`; the caller sets either
// the images or the latents.
gml_merger_search_request search_request(const std::string& index, int64_t n, int64_t k);
Neighbours search_index(gml_context* ctx, const MergerModel& model,
                        const gml_merger_search_request& request, const std::string& what);

// "12,13" -> integers; dies with a message naming `what` on bad input.
std::vector<int32_t> parse_ints(const std::string& text, const std::string& what);
// Comma-separated items ("g.fits,r.fits" -> two paths); empty items die.
std::vector<std::string> split_list(const std::string& text, const std::string& what);

// Median and 99.5th percentile of the finite values (display stretch);
// {0, 1} when there are none.
std::pair<double, double> robust_range(const float* values, size_t n);

std::string format_number(double v, int precision = 3);

}  // namespace gml_tools

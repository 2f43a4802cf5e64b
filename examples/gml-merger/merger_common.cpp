#include "merger_common.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "cli.h"

namespace gml_tools {

std::string g_command_line = "gml-merger";

std::vector<float> ImageCube::gather(const std::vector<int64_t>& rows) const {
  std::vector<float> out(rows.size() * image_floats());
  for (size_t k = 0; k < rows.size(); ++k) {
    if (rows[k] < 0 || rows[k] >= n) die("image " + std::to_string(rows[k]) + " is out of range");
    std::copy(image(rows[k]), image(rows[k]) + image_floats(), out.data() + k * image_floats());
  }
  return out;
}

ImageCube read_cube(const std::string& path) {
  ImageCube cube;
  int64_t shape[4] = {0, 0, 0, 0};
  check(gml_cutouts_read_shape(path.c_str(), shape), "images '" + path + "'");
  cube.n = shape[0];
  cube.c = shape[1];
  cube.h = shape[2];
  cube.w = shape[3];
  if (cube.n < 1) die("images '" + path + "': the file holds no images");
  cube.pixels.resize(static_cast<size_t>(cube.n) * cube.image_floats());
  check(gml_cutouts_read(path.c_str(), cube.pixels.data(), cube.pixels.size()),
        "images '" + path + "'");
  return cube;
}

namespace {

// Reads `mapping` from table `hdu` of path as doubles [rows, outputs];
// false (error cleared) when the file has no such table.
bool read_table(const std::string& path, const char* hdu, const std::string& mapping,
                int64_t expected_rows, std::vector<double>* values, int64_t* outputs) {
  gml_catalog* cat = nullptr;
  if (gml_catalog_open(path.c_str(), hdu, &cat) != GML_OK) {
    gml_clear_error();
    return false;
  }
  int64_t rows = 0;
  gml_status s = gml_catalog_num_rows(cat, &rows);
  if (s == GML_OK && rows != expected_rows) {
    gml_catalog_free(cat);
    die(path + ": table " + hdu + " has " + std::to_string(rows) + " rows for " +
        std::to_string(expected_rows) + " images");
  }
  if (s == GML_OK)
    s = gml_catalog_read_f64(cat, mapping.c_str(), 0, 0, nullptr, 0, nullptr, outputs);
  if (s == GML_OK) {
    values->resize(static_cast<size_t>(rows * *outputs));
    s = gml_catalog_read_f64(cat, mapping.c_str(), 0, rows, values->data(), values->size(), nullptr,
                             nullptr);
  }
  gml_catalog_free(cat);
  check(s, path + ": table " + hdu);
  return true;
}

}  // namespace

SimLabels read_labels(const std::string& path, int64_t expected_rows) {
  SimLabels l;
  std::vector<double> v;
  int64_t k = 0;
  if (!read_table(path, "LABELS", "s=SIM_ID,t=TIME_CLASS,tm=TIME,c=CAMERA,q=MASS_RATIO",
                  expected_rows, &v, &k)) {
    return l;
  }
  l.present = true;
  for (int64_t i = 0; i < expected_rows; ++i) {
    const double* r = v.data() + i * k;
    l.sim_id.push_back(static_cast<int32_t>(r[0]));
    l.time_class.push_back(static_cast<int32_t>(r[1]));
    l.time_myr.push_back(r[2]);
    l.camera.push_back(static_cast<int32_t>(r[3]));
    l.mass_ratio.push_back(r[4]);
  }
  return l;
}

StampPositions read_stamp_positions(const std::string& path, int64_t expected_rows) {
  StampPositions p;
  std::vector<double> v;
  int64_t k = 0;
  if (!read_table(path, "STAMPS", "ra=RA,dec=DEC,f=FLAGS", expected_rows, &v, &k)) return p;
  for (int64_t i = 0; i < expected_rows; ++i) {
    const double* r = v.data() + i * k;
    p.ra.push_back(r[0]);
    p.dec.push_back(r[1]);
    p.flags.push_back(std::isfinite(r[2]) ? static_cast<int32_t>(r[2]) : 0);
  }
  return p;
}

MergerModel::MergerModel(gml_context* ctx, const std::string& model_path) : path(model_path) {
  gml_model_info info;
  info.struct_size = sizeof info;
  check(gml_model_file_inspect(path.c_str(), "merger", &info), "model '" + path + "'");
  checksum = info.checksum;
  check(gml_model_load(ctx, path.c_str(), "merger", &model), "model '" + path + "'");
  check(gml_merger_dims(model, &channels, &size, &classes, &latent), "model '" + path + "'");
}

MergerModel::~MergerModel() {
  gml_model_free(model);
}

ResultTable::ResultTable(const std::string& path, const char* extname,
                         const std::string& input_file, const std::string& model_checksum)
    : path_(path) {
  gml_table_writer_options o;
  gml_table_writer_options_default(&o);
  o.extname = extname;
  o.input_file = input_file.c_str();
  o.command_line = g_command_line.c_str();
  o.model_checksum = model_checksum.empty() ? nullptr : model_checksum.c_str();
  check(gml_table_writer_create(path.c_str(), &o, &w_), "table '" + path + "'");
}

ResultTable::~ResultTable() {
  gml_table_writer_free(w_);
}

void ResultTable::add(const char* name, int32_t type, int64_t repeat, const char* unit) {
  check(gml_table_writer_add_column(w_, name, type, repeat, unit), "column " + std::string(name));
}

void ResultTable::add(const std::vector<Column>& columns) {
  for (const Column& c : columns) add(c.name, c.type, c.repeat, c.unit);
}

void ResultTable::keyword(const std::string& key, const std::string& value,
                          const std::string& comment) {
  check(gml_table_writer_set_keyword(w_, key.c_str(), value.c_str(), comment.c_str()),
        "keyword " + key);
}

void ResultTable::append(int64_t rows, const std::vector<const void*>& data) {
  check(gml_table_writer_append(w_, rows, data.data()), "write '" + path_ + "'");
}

void ResultTable::commit() {
  check(gml_table_writer_commit(w_), "write '" + path_ + "'");
}

gml_merger_search_request search_request(const std::string& index, int64_t n, int64_t k) {
  gml_merger_search_request rq{};
  rq.struct_size = sizeof rq;
  rq.index_path = index.c_str();
  rq.n = n;
  rq.k = k;
  return rq;
}

Neighbours search_index(gml_context* ctx, const MergerModel& model,
                        const gml_merger_search_request& request, const std::string& what) {
  const auto nk = static_cast<size_t>(request.n * request.k);
  Neighbours nb;
  nb.ids.resize(nk);
  nb.distances.resize(nk);
  if (request.images) nb.ssim.resize(nk);
  nb.sim_id.resize(nk);
  nb.time_class.resize(nk);
  nb.flags.resize(static_cast<size_t>(request.n));
  gml_merger_search_result rs{};
  rs.struct_size = sizeof rs;
  rs.ids = nb.ids.data();
  rs.ids_capacity = nk;
  rs.distances = nb.distances.data();
  rs.distances_capacity = nk;
  rs.ssim = request.images ? nb.ssim.data() : nullptr;
  rs.ssim_capacity = nb.ssim.size();
  rs.sim_id = nb.sim_id.data();
  rs.sim_id_capacity = nk;
  rs.time_class = nb.time_class.data();
  rs.time_class_capacity = nk;
  rs.flags = nb.flags.data();
  rs.flags_capacity = nb.flags.size();
  check(gml_merger_search_batch(ctx, model.model, &request, &rs), what);
  return nb;
}

std::vector<int32_t> parse_ints(const std::string& text, const std::string& what) {
  std::vector<int32_t> out;
  for (double v : parse_numbers(text, what)) {
    if (v != std::floor(v) || std::fabs(v) > 2e9)
      die(what + ": " + format_number(v) + " is not an integer");
    out.push_back(static_cast<int32_t>(v));
  }
  return out;
}

std::vector<std::string> split_list(const std::string& text, const std::string& what) {
  std::vector<std::string> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (item.empty()) die(what + ": empty item in '" + text + "'");
    out.push_back(item);
  }
  if (out.empty()) die(what + ": nothing given");
  return out;
}

std::pair<double, double> robust_range(const float* values, size_t n) {
  std::vector<float> v;
  v.reserve(n);
  for (size_t i = 0; i < n; ++i)
    if (std::isfinite(values[i])) v.push_back(values[i]);
  if (v.empty()) return {0.0, 1.0};
  auto at = [&](double q) {
    const size_t k = static_cast<size_t>(q * static_cast<double>(v.size() - 1));
    std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
    return static_cast<double>(v[k]);
  };
  const double lo = at(0.5), hi = at(0.995);
  return {lo, hi > lo ? hi : lo + 1.0};
}

std::string format_number(double v, int precision) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*g", precision, v);
  return buf;
}

}  // namespace gml_tools

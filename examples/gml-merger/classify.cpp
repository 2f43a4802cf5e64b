// gml-merger classify: the merger stage of every image of a cube, or of
// stamps cut around a catalog's positions from survey images, written as a
// FITS table block by block (bounded memory for large catalogs).
#include <boost/program_options.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "cli.h"
#include "merger_common.h"
#include "merger_plots.h"
#include "options.h"
#include "outputs.h"
#include "subcommands.h"

namespace po = boost::program_options;

namespace gml_tools {

namespace {

constexpr int32_t kCutoutShift = 8;  // FLAGS = merger flags | cutout flags << 8
constexpr int32_t kNoPixels = GML_CUTOUT_OFF_IMAGE | GML_CUTOUT_BAD_COORD | GML_CUTOUT_WCS_FAILED;
constexpr size_t kMaxStamps = 36;  // shown in the PNG

const char* kFlagsHelp =
    "FLAGS column: bits 0-7 are the model's (1 NaN pixels masked, 2 resized, 4 blank image or\n"
    "not classified, 8 TIME outside the simulated span: unlike the training images, 16 with\n"
    "--index: nearest indexed image beyond twice the index's own neighbour spacing, so the\n"
    "class means little), bits 8+\n"
    "the cutout's shifted left by 8 (256 partly off the image, 512 off the image, 1024 bad\n"
    "coordinate, 2048 WCS failure, 4096 NaN/BLANK pixels). Stamps\n"
    "with no pixel on the image are flagged rows (CLASS -1, NaN PROB/TIME), never an error.\n"
    "Masked pixels of stamps (cut here, or read from a gml_cutouts_write cube with its\n"
    "STAMPS table) are set to the median of the stamp's band before classification.";

// Progress of a call on one block, shown as progress over all rows.
struct BlockProgress {
  ProgressBar* bar = nullptr;
  int64_t offset = 0, total = 0;
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();

  static int32_t callback(const gml_progress* p, void* user) {
    auto* b = static_cast<BlockProgress*>(user);
    gml_progress q = *p;
    q.elapsed_s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - b->start).count();
    q.done = std::min(b->total, b->offset + std::max<int64_t>(0, p->done));
    q.total = b->total;
    q.rate = q.elapsed_s > 0 ? static_cast<double>(q.done) / q.elapsed_s : 0.0;
    q.eta_s = q.rate > 0 ? static_cast<double>(q.total - q.done) / q.rate : -1.0;
    q.unit = "images";
    return ProgressBar::callback(&q, b->bar);
  }
};

// Replaces NaN pixels of each band of each stamp by the median of that
// band's finite pixels; false when a band has none.
bool fill_masked(float* stamp, int64_t bands, int64_t plane) {
  for (int64_t b = 0; b < bands; ++b) {
    float* px = stamp + b * plane;
    std::vector<float> finite;
    for (int64_t i = 0; i < plane; ++i)
      if (std::isfinite(px[i])) finite.push_back(px[i]);
    if (finite.empty()) return false;
    if (static_cast<int64_t>(finite.size()) == plane) continue;
    const size_t mid = finite.size() / 2;
    std::nth_element(finite.begin(), finite.begin() + static_cast<std::ptrdiff_t>(mid),
                     finite.end());
    for (int64_t i = 0; i < plane; ++i)
      if (!std::isfinite(px[i])) px[i] = finite[mid];
  }
  return true;
}

struct ClassifyArgs {
  Common c;
  std::string model_path, cutouts, images, catalog, hdu, ra_col = "RA", dec_col = "DEC", out, png,
                                                         index, select;
  int64_t size = 64, block = 1024;
  bool resize = false;
  bool from_cube() const { return !cutouts.empty(); }
  const std::string& input() const { return from_cube() ? cutouts : catalog; }
};

// False on --help; dies on contradictory inputs or outputs that would
// overwrite an input, before any work.
bool read_args(int argc, char** argv, ClassifyArgs& a) {
  po::options_description d("gml-merger classify");
  add_common(d, a.c);
  d.add_options()("model,m", po::value(&a.model_path)->required(), "merger model file")(
      "cutouts", po::value(&a.cutouts),
      "image cube (N, C, H, W): a simulator file or a gml_cutouts_write cube")(
      "image", po::value(&a.images),
      "survey images, one per band, comma-separated (g.fits,r.fits,...); as many as the "
      "model's bands")("catalog", po::value(&a.catalog), "FITS table of positions (with --image)")(
      "hdu", po::value(&a.hdu), "catalog HDU (default: the first table)")(
      "ra-col", po::value(&a.ra_col)->default_value(a.ra_col), "catalog column of RA [deg]")(
      "dec-col", po::value(&a.dec_col)->default_value(a.dec_col), "catalog column of Dec [deg]")(
      "select", po::value(&a.select),
      "numeric catalog column: only rows where it is non-zero are classified (e.g. a galaxy "
      "flag, so that stars are left out); the others are not written")(
      "size", po::value(&a.size)->default_value(a.size),
      "stamp side in image pixels (with --image)")(
      "out,o", po::value(&a.out)->required(),
      "FITS table: ID, RA, DEC, CLASS, PROB, TIME, FLAGS, LATENT (with a VAE), and TRUE_CLASS, "
      "TRUE_TIME for simulator files")(
      "resize", po::bool_switch(&a.resize),
      "resample images of another size to the model's (flagged); else a size mismatch is an "
      "error")("block", po::value(&a.block)->default_value(a.block), "rows per block")(
      "png", po::value(&a.png), "grid of the first 36 stamps labelled with class and probability")(
      "index", po::value(&a.index),
      "latent index of the training images (gml-merger index, same model): adds NN_ID and "
      "NN_DISTANCE, the nearest indexed image and its latent distance. A distance far beyond "
      "the spacing of the index's own images marks an image unlike any the model learned from");
  const std::string usage =
      std::string(
          "Merger stage of every image of a cube (--cutouts), or of stamps cut around the\n"
          "positions of a catalog from survey images (--image, --catalog). ID is the cube index\n"
          "or catalog row; RA/DEC are NaN for cubes without a STAMPS table.\n") +
      kFlagsHelp;
  if (!parse(argc, argv, d, usage.c_str())) return false;
  if (a.from_cube() == !a.images.empty()) die("give either --cutouts, or --image with --catalog");
  if (!a.from_cube() && a.catalog.empty()) die("--image needs --catalog");
  if (a.from_cube() && !a.catalog.empty()) die("--catalog goes with --image, not with --cutouts");
  if (!a.select.empty() && a.catalog.empty()) die("--select goes with --catalog");
  if (a.block < 1) die("--block must be >= 1");
  std::vector<std::string> inputs = {a.model_path, a.cutouts, a.catalog, a.index};
  for (size_t i = 0, j = 0; i <= a.images.size() && !a.images.empty(); i = j + 1) {
    j = a.images.find(',', i);
    if (j == std::string::npos) j = a.images.size();
    inputs.push_back(a.images.substr(i, j - i));
  }
  require_output_file(a.out, inputs, "--out", a.c.overwrite);
  if (!a.png.empty()) {
    inputs.push_back(a.out);
    require_output_file(a.png, inputs, "--png", a.c.overwrite);
  }
  return true;
}

// What is classified: the images of a cube, or positions to cut stamps
// around from the survey images of each band.
struct Rows {
  ImageCube cube;
  SimLabels labels;
  StampPositions pos;
  std::vector<std::string> bands;
  int64_t n = 0, side = 0;
  std::vector<int64_t> catalog_row;  // with --select: the catalog row of each kept row
};

Rows read_cube_rows(const ClassifyArgs& a, const MergerModel& model) {
  Rows rows;
  rows.cube = read_cube(a.cutouts);
  rows.n = rows.cube.n;
  if (rows.cube.c != model.channels) {
    die(a.cutouts + " has " + std::to_string(rows.cube.c) +
        " band(s) per image but the model takes " + std::to_string(model.channels) + " band(s)");
  }
  if (rows.cube.h != rows.cube.w) die(a.cutouts + ": images are not square");
  rows.side = rows.cube.h;
  rows.labels = read_labels(a.cutouts, rows.n);
  rows.pos = read_stamp_positions(a.cutouts, rows.n);
  return rows;
}

Rows read_catalog_rows(const ClassifyArgs& a, const MergerModel& model) {
  Rows rows;
  rows.side = a.size;
  rows.bands = split_list(a.images, "--image");
  if (static_cast<int64_t>(rows.bands.size()) != model.channels) {
    die("--image gives " + std::to_string(rows.bands.size()) + " band(s) but the model takes " +
        std::to_string(model.channels) + " band(s) per image (one image path per band)");
  }
  gml_catalog* cat = nullptr;
  check(gml_catalog_open(a.catalog.c_str(), a.hdu.empty() ? nullptr : a.hdu.c_str(), &cat),
        "catalog '" + a.catalog + "'");
  int64_t n = 0;
  gml_status st = gml_catalog_num_rows(cat, &n);
  const int64_t width = a.select.empty() ? 2 : 3;
  std::vector<double> radec(static_cast<size_t>(width * n));
  std::string mapping = "ra=" + a.ra_col + ",dec=" + a.dec_col;
  if (!a.select.empty()) mapping += ",select=" + a.select;
  if (st == GML_OK && n > 0) {
    st = gml_catalog_read_f64(cat, mapping.c_str(), 0, n, radec.data(), radec.size(), nullptr,
                              nullptr);
  }
  gml_catalog_free(cat);
  check(st, "catalog '" + a.catalog + "'");
  for (int64_t i = 0; i < n; ++i) {
    const double* row = radec.data() + width * i;
    if (!a.select.empty()) {
      if (row[2] == 0 || std::isnan(row[2])) continue;
      rows.catalog_row.push_back(i);
    }
    rows.pos.ra.push_back(row[0]);
    rows.pos.dec.push_back(row[1]);
  }
  rows.n = n;
  if (!a.select.empty()) {
    if (!a.c.quiet) {
      std::fprintf(stderr, "--select %s: %zu of %lld catalog rows\n", a.select.c_str(),
                   rows.catalog_row.size(), static_cast<long long>(n));
    }
    rows.n = static_cast<int64_t>(rows.catalog_row.size());
  }
  return rows;
}

void describe_table(ResultTable& table, const ClassifyArgs& a, const MergerModel& model,
                    const Rows& rows) {
  table.add({{"ID", GML_COLUMN_INT64},
             {"RA", GML_COLUMN_FLOAT64, 1, "deg"},
             {"DEC", GML_COLUMN_FLOAT64, 1, "deg"},
             {"CLASS", GML_COLUMN_INT32},
             {"PROB", GML_COLUMN_FLOAT32},
             {"TIME", GML_COLUMN_FLOAT32, 1, "Myr"},
             {"FLAGS", GML_COLUMN_INT32}});
  if (model.latent > 0) table.add("LATENT", GML_COLUMN_FLOAT32, model.latent, "");
  if (rows.labels.present) {
    table.add({{"TRUE_CLASS", GML_COLUMN_INT32}, {"TRUE_TIME", GML_COLUMN_FLOAT32, 1, "Myr"}});
  }
  if (!a.index.empty()) {
    table.add({{"NN_ID", GML_COLUMN_INT64}, {"NN_DISTANCE", GML_COLUMN_FLOAT32}});
    table.keyword("INDEX", a.index, "latent index of NN_ID, NN_DISTANCE");
  }
  table.keyword("MODEL", model.path, "merger model file");
  table.keyword("NCLASS", std::to_string(model.classes), "time classes of the model");
  table.keyword("FLAGBITS", "model flags | cutout flags << 8", "see gml-merger classify --help");
  for (size_t b = 0; b < rows.bands.size(); ++b) {
    table.keyword("BAND" + std::to_string(b + 1), rows.bands[b], "survey image of band");
  }
  if (!a.from_cube())
    table.keyword("STAMPPIX", std::to_string(a.size), "stamp side [image pixels]");
  if (!a.select.empty()) table.keyword("SELECT", a.select, "catalog rows where non-zero");
}

// One block of rows: its stamps, the cutout flags, and which stamps have
// pixels to classify (`use`, packed to the front of `stamps`).
struct Block {
  int64_t off = 0, m = 0;
  std::vector<float> stamps;
  std::vector<int32_t> cut;
  std::vector<int64_t> use;
};

// The model's answers for the packed stamps of a block.
struct Stages {
  std::vector<float> probs, time, latent;
  std::vector<int32_t> cls, flags;
  Neighbours nn;  // with --index: the nearest training image of each
};

// The block's rows in input order, as the table's columns.
struct BlockRows {
  std::vector<int64_t> id, nn_id;
  std::vector<double> ra, dec;
  std::vector<int32_t> cls, flags, true_class;
  std::vector<float> prob, time, latent, true_time, nn_distance;
};

// Counts over the written rows, printed at the end.
struct Tally {
  std::vector<int64_t> per_class;
  int64_t flagged = 0, correct = 0, labelled = 0, unlike = 0;
};

class StageClassifier {
 public:
  StageClassifier(const ClassifyArgs& a, Session& s, const MergerModel& model, const Rows& rows)
      : a_(a), s_(s), model_(model), rows_(rows) {
    fill_ = !a.from_cube() || !rows.pos.ra.empty();  // survey stamps: fill masked pixels
    plane_ = rows.side * rows.side;
    per_image_ = model.channels * plane_;
    gml_cutout_options_default(&cutout_);
    cutout_.width = cutout_.height = a.size;
    for (const auto& b : rows.bands) band_paths_.push_back(b.c_str());
    tally_.per_class.assign(static_cast<size_t>(model.classes), 0);
  }

  // Reads, classifies and writes every block, in input order.
  void run(ResultTable& table) {
    // A member, not a local: the context keeps the pointer after the loop.
    progress_.bar = &s_.bar;
    progress_.total = rows_.n;
    check(gml_context_set_progress(s_.ctx, BlockProgress::callback, &progress_), "progress");
    for (int64_t off = 0; off < rows_.n; off += a_.block) {
      progress_.offset = off;
      Block b = read_block(off, std::min(a_.block, rows_.n - off));
      pack_usable(b);
      const Stages st = classify(b);
      const BlockRows r = block_rows(b, st);
      append(table, b, r);
      count(b, r);
      add_tiles(b, r);
    }
  }

  void print_summary() const;
  const std::vector<Tile>& tiles() const { return tiles_; }

 private:
  Block read_block(int64_t off, int64_t m) const;
  void pack_usable(Block& b) const;
  Stages classify(const Block& b) const;
  BlockRows block_rows(const Block& b, const Stages& st) const;
  void append(ResultTable& table, const Block& b, const BlockRows& r) const;
  void count(const Block& b, const BlockRows& r);
  void add_tiles(const Block& b, const BlockRows& r);

  const ClassifyArgs& a_;
  Session& s_;
  const MergerModel& model_;
  const Rows& rows_;
  bool fill_ = false;
  int64_t plane_ = 0, per_image_ = 0;
  gml_cutout_options cutout_;
  std::vector<const char*> band_paths_;
  BlockProgress progress_;
  std::vector<Tile> tiles_;
  Tally tally_;
};

Block StageClassifier::read_block(int64_t off, int64_t m) const {
  Block b;
  b.off = off;
  b.m = m;
  b.stamps.resize(static_cast<size_t>(m * per_image_));
  b.cut.assign(static_cast<size_t>(m), 0);
  if (a_.from_cube()) {
    std::copy(rows_.cube.image(off), rows_.cube.image(off) + m * per_image_, b.stamps.begin());
    if (!rows_.pos.flags.empty()) std::copy_n(rows_.pos.flags.begin() + off, m, b.cut.begin());
  } else {
    check(gml_cutouts_extract(s_.ctx, band_paths_.data(), static_cast<int32_t>(band_paths_.size()),
                              rows_.pos.ra.data() + off, rows_.pos.dec.data() + off, m, &cutout_,
                              b.stamps.data(), b.stamps.size(), nullptr, b.cut.data()),
          "cutouts");
  }
  return b;
}

// Classify the stamps that have pixels, packed together.
void StageClassifier::pack_usable(Block& b) const {
  for (int64_t i = 0; i < b.m; ++i) {
    float* stamp = b.stamps.data() + i * per_image_;
    if (fill_ && ((b.cut[static_cast<size_t>(i)] & kNoPixels) != 0 ||
                  !fill_masked(stamp, model_.channels, plane_))) {
      continue;
    }
    const auto packed = static_cast<int64_t>(b.use.size());
    if (packed != i) std::copy_n(stamp, per_image_, b.stamps.data() + packed * per_image_);
    b.use.push_back(i);
  }
}

Stages StageClassifier::classify(const Block& b) const {
  const auto k = static_cast<int64_t>(b.use.size());
  Stages st;
  st.probs.resize(static_cast<size_t>(k * model_.classes));
  st.time.resize(static_cast<size_t>(k));
  st.latent.resize(static_cast<size_t>(k * model_.latent));
  st.cls.resize(static_cast<size_t>(k));
  st.flags.resize(static_cast<size_t>(k));
  if (k > 0) {
    check(gml_merger_classify(s_.ctx, model_.model, b.stamps.data(), k, model_.channels, rows_.side,
                              rows_.side, a_.resize ? 1 : 0, st.probs.data(), st.cls.data(),
                              st.time.data(), model_.latent > 0 ? st.latent.data() : nullptr,
                              st.flags.data()),
          "classify");
  }
  if (k > 0 && !a_.index.empty()) {
    // By the latents classify just returned: the images are encoded once.
    gml_merger_search_request rq = search_request(a_.index, k, 1);
    rq.latents = st.latent.data();
    rq.latent_dim = model_.latent;
    st.nn = search_index(s_.ctx, model_, rq, "search of '" + a_.index + "'");
  } else {
    st.nn.ids.assign(static_cast<size_t>(k), -1);
    st.nn.distances.assign(static_cast<size_t>(k), NAN);
    st.nn.flags.assign(static_cast<size_t>(k), 0);
  }
  return st;
}

BlockRows StageClassifier::block_rows(const Block& b, const Stages& st) const {
  const auto m = static_cast<size_t>(b.m);
  const auto latent = static_cast<size_t>(model_.latent);
  BlockRows r;
  r.id.resize(m);
  r.ra.assign(m, NAN);
  r.dec.assign(m, NAN);
  r.cls.assign(m, -1);
  r.flags.resize(m);
  r.prob.assign(m, NAN);
  r.time.assign(m, NAN);
  r.latent.assign(m * std::max<size_t>(1, latent), NAN);
  r.nn_id.assign(m, -1);
  r.nn_distance.assign(m, NAN);
  for (size_t i = 0; i < m; ++i) {
    const auto row = static_cast<size_t>(b.off) + i;
    r.id[i] = rows_.catalog_row.empty() ? static_cast<int64_t>(row) : rows_.catalog_row[row];
    if (!rows_.pos.ra.empty()) {
      r.ra[i] = rows_.pos.ra[row];
      r.dec[i] = rows_.pos.dec[row];
    }
    r.flags[i] = GML_MERGER_FLAG_BLANK | (b.cut[i] << kCutoutShift);
    if (rows_.labels.present) {
      r.true_class.push_back(rows_.labels.time_class[row]);
      r.true_time.push_back(static_cast<float>(rows_.labels.time_myr[row]));
    }
  }
  for (size_t j = 0; j < b.use.size(); ++j) {
    const auto i = static_cast<size_t>(b.use[j]);
    r.cls[i] = st.cls[j];
    r.prob[i] = st.probs[j * static_cast<size_t>(model_.classes) + static_cast<size_t>(st.cls[j])];
    r.time[i] = st.time[j];
    r.flags[i] = st.flags[j] | st.nn.flags[j] | (b.cut[i] << kCutoutShift);
    r.nn_id[i] = st.nn.ids[j];
    r.nn_distance[i] = st.nn.distances[j];
    std::copy_n(st.latent.data() + j * latent, latent, r.latent.data() + i * latent);
  }
  return r;
}

void StageClassifier::append(ResultTable& table, const Block& b, const BlockRows& r) const {
  std::vector<const void*> data = {r.id.data(),   r.ra.data(),   r.dec.data(),  r.cls.data(),
                                   r.prob.data(), r.time.data(), r.flags.data()};
  if (model_.latent > 0) data.push_back(r.latent.data());
  if (rows_.labels.present) {
    data.push_back(r.true_class.data());
    data.push_back(r.true_time.data());
  }
  if (!a_.index.empty()) {
    data.push_back(r.nn_id.data());
    data.push_back(r.nn_distance.data());
  }
  table.append(b.m, data);
}

void StageClassifier::count(const Block& b, const BlockRows& r) {
  for (size_t i = 0; i < static_cast<size_t>(b.m); ++i) {
    if ((r.flags[i] & GML_MERGER_FLAG_OUT_OF_DISTRIBUTION) != 0) ++tally_.unlike;
    if (r.cls[i] < 0) {
      ++tally_.flagged;
    } else {
      ++tally_.per_class[static_cast<size_t>(r.cls[i])];
    }
    if (rows_.labels.present) {
      ++tally_.labelled;
      if (r.cls[i] == r.true_class[i]) ++tally_.correct;
    }
  }
}

// Stamps for the PNG (the packed ones are the classified rows).
void StageClassifier::add_tiles(const Block& b, const BlockRows& r) {
  for (int64_t i = 0; i < b.m && tiles_.size() < kMaxStamps; ++i) {
    const auto k = static_cast<size_t>(i);
    Tile t;
    t.channels = static_cast<int>(model_.channels);
    t.height = t.width = static_cast<int>(rows_.side);
    t.title = "#" + std::to_string(r.id[k]);
    const auto it = std::find(b.use.begin(), b.use.end(), i);
    if (it == b.use.end()) {
      t.empty = true;
      t.caption = "not classified";
    } else {
      const float* px = b.stamps.data() + (it - b.use.begin()) * per_image_;
      t.pixels.assign(px, px + per_image_);
      t.caption = "class " + std::to_string(r.cls[k]) + "  p " + format_number(r.prob[k], 2);
      // An image unlike every training image gets no confident-looking label.
      if ((r.flags[k] & GML_MERGER_FLAG_OUT_OF_DISTRIBUTION) != 0) {
        t.caption = "unlike training (class " + std::to_string(r.cls[k]) + ")";
      }
      if (rows_.labels.present) t.title += "  true " + std::to_string(r.true_class[k]);
    }
    tiles_.push_back(std::move(t));
  }
}

void StageClassifier::print_summary() const {
  const int64_t n = rows_.n;
  std::fprintf(stderr, "wrote %s: %lld rows, %lld classified, %lld flagged without a class\n",
               a_.out.c_str(), static_cast<long long>(n),
               static_cast<long long>(n - tally_.flagged), static_cast<long long>(tally_.flagged));
  std::string counts;
  for (size_t k = 0; k < tally_.per_class.size(); ++k) {
    if (tally_.per_class[k] > 0) {
      counts += " " + std::to_string(k) + ":" + std::to_string(tally_.per_class[k]);
    }
  }
  if (!counts.empty()) std::fprintf(stderr, "rows per class (class:rows):%s\n", counts.c_str());
  if (!a_.index.empty()) {
    std::fprintf(stderr, "%lld row(s) unlike every indexed image (FLAGS bit 16)\n",
                 static_cast<long long>(tally_.unlike));
  }
  if (tally_.labelled > 0) {
    std::fprintf(stderr, "accuracy against TRUE_CLASS: %.3f (%lld of %lld)\n",
                 static_cast<double>(tally_.correct) / static_cast<double>(tally_.labelled),
                 static_cast<long long>(tally_.correct), static_cast<long long>(tally_.labelled));
  }
}

}  // namespace

int cmd_classify(int argc, char** argv) {
  ClassifyArgs a;
  if (!read_args(argc, argv, a)) return 0;
  Session s(a.c.device, a.c.threads, a.c.seed, a.c.quiet);
  const MergerModel model(s.ctx, a.model_path);
  if (!a.index.empty()) {
    if (model.latent < 1)
      die("--index needs a model with a VAE latent; " + a.model_path + " has none");
    // A missing file, or one that is not an index, fails before any work; an
    // index of another model fails at the first search, naming both checksums.
    check(gml_merger_index_info(a.index.c_str(), nullptr, nullptr), "index '" + a.index + "'");
  }
  const Rows rows = a.from_cube() ? read_cube_rows(a, model) : read_catalog_rows(a, model);
  if (rows.side != model.size && !a.resize) {
    die("stamps are " + std::to_string(rows.side) + " pixels but the model takes " +
        std::to_string(model.size) + "; pass --resize to resample them" +
        (a.from_cube() ? "" : ", or --size " + std::to_string(model.size)));
  }
  ResultTable table(a.out, "MERGER", a.input(), model.checksum);
  describe_table(table, a, model, rows);
  StageClassifier classifier(a, s, model, rows);
  classifier.run(table);
  table.commit();
  s.bar.close();
  if (!a.c.quiet) classifier.print_summary();
  if (!a.png.empty()) {
    image_grid(a.png, "merger stages of " + a.input(), classifier.tiles(), 6);
    if (!a.c.quiet) std::fprintf(stderr, "wrote %s\n", a.png.c_str());
  }
  return 0;
}

}  // namespace gml_tools

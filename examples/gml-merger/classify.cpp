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

}  // namespace

int cmd_classify(int argc, char** argv) {
  Common c;
  std::string model_path, cutouts, images, catalog, hdu, ra_col = "RA", dec_col = "DEC", out, png,
                                                         index, select;
  int64_t size = 64, block = 1024;
  bool resize = false;
  po::options_description d("gml-merger classify");
  add_common(d, c);
  d.add_options()("model,m", po::value(&model_path)->required(), "merger model file")(
      "cutouts", po::value(&cutouts),
      "image cube (N, C, H, W): a simulator file or a gml_cutouts_write cube")(
      "image", po::value(&images),
      "survey images, one per band, comma-separated (g.fits,r.fits,...); as many as the "
      "model's bands")("catalog", po::value(&catalog), "FITS table of positions (with --image)")(
      "hdu", po::value(&hdu), "catalog HDU (default: the first table)")(
      "ra-col", po::value(&ra_col)->default_value(ra_col), "catalog column of RA [deg]")(
      "dec-col", po::value(&dec_col)->default_value(dec_col), "catalog column of Dec [deg]")(
      "select", po::value(&select),
      "numeric catalog column: only rows where it is non-zero are classified (e.g. a galaxy "
      "flag, so that stars are left out); the others are not written")(
      "size", po::value(&size)->default_value(size), "stamp side in image pixels (with --image)")(
      "out,o", po::value(&out)->required(),
      "FITS table: ID, RA, DEC, CLASS, PROB, TIME, FLAGS, LATENT (with a VAE), and TRUE_CLASS, "
      "TRUE_TIME for simulator files")(
      "resize", po::bool_switch(&resize),
      "resample images of another size to the model's (flagged); else a size mismatch is an "
      "error")("block", po::value(&block)->default_value(block), "rows per block")(
      "png", po::value(&png), "grid of the first 36 stamps labelled with class and probability")(
      "index", po::value(&index),
      "latent index of the training images (gml-merger index, same model): adds NN_ID and "
      "NN_DISTANCE, the nearest indexed image and its latent distance. A distance far beyond "
      "the spacing of the index's own images marks an image unlike any the model learned from");
  const std::string usage =
      std::string(
          "Merger stage of every image of a cube (--cutouts), or of stamps cut around the\n"
          "positions of a catalog from survey images (--image, --catalog). ID is the cube index\n"
          "or catalog row; RA/DEC are NaN for cubes without a STAMPS table.\n") +
      kFlagsHelp;
  if (!parse(argc, argv, d, usage.c_str())) return 0;
  const bool from_cube = !cutouts.empty();
  if (from_cube == !images.empty()) die("give either --cutouts, or --image with --catalog");
  if (!from_cube && catalog.empty()) die("--image needs --catalog");
  if (from_cube && !catalog.empty()) die("--catalog goes with --image, not with --cutouts");
  if (!select.empty() && catalog.empty()) die("--select goes with --catalog");
  if (block < 1) die("--block must be >= 1");
  std::vector<std::string> inputs = {model_path, cutouts, catalog, index};
  for (size_t a = 0, b = 0; a <= images.size() && !images.empty(); a = b + 1) {
    b = images.find(',', a);
    if (b == std::string::npos) b = images.size();
    inputs.push_back(images.substr(a, b - a));
  }
  require_output_file(out, inputs, "--out", c.overwrite);
  if (!png.empty()) {
    inputs.push_back(out);
    require_output_file(png, inputs, "--png", c.overwrite);
  }

  Session s(c.device, c.threads, c.seed, c.quiet);
  const MergerModel model(s.ctx, model_path);
  if (!index.empty()) {
    if (model.latent < 1)
      die("--index needs a model with a VAE latent; " + model_path + " has none");
    // A missing file, or one that is not an index, fails before any work; an
    // index of another model fails at the first search, naming both checksums.
    check(gml_merger_index_info(index.c_str(), nullptr, nullptr), "index '" + index + "'");
  }

  // Rows: positions and, for cubes, the images themselves.
  ImageCube cube;
  SimLabels labels;
  StampPositions pos;
  std::vector<std::string> bands;
  int64_t n = 0, side = size;
  std::vector<int64_t> catalog_row;  // with --select: the catalog row of each kept row
  if (from_cube) {
    cube = read_cube(cutouts);
    n = cube.n;
    if (cube.c != model.channels) {
      die(cutouts + " has " + std::to_string(cube.c) + " band(s) per image but the model takes " +
          std::to_string(model.channels) + " band(s)");
    }
    if (cube.h != cube.w) die(cutouts + ": images are not square");
    side = cube.h;
    labels = read_labels(cutouts, n);
    pos = read_stamp_positions(cutouts, n);
  } else {
    bands = split_list(images, "--image");
    if (static_cast<int64_t>(bands.size()) != model.channels) {
      die("--image gives " + std::to_string(bands.size()) + " band(s) but the model takes " +
          std::to_string(model.channels) + " band(s) per image (one image path per band)");
    }
    gml_catalog* cat = nullptr;
    check(gml_catalog_open(catalog.c_str(), hdu.empty() ? nullptr : hdu.c_str(), &cat),
          "catalog '" + catalog + "'");
    gml_status st = gml_catalog_num_rows(cat, &n);
    const int64_t width = select.empty() ? 2 : 3;
    std::vector<double> radec(static_cast<size_t>(width * n));
    std::string mapping = "ra=" + ra_col + ",dec=" + dec_col;
    if (!select.empty()) mapping += ",select=" + select;
    if (st == GML_OK && n > 0) {
      st = gml_catalog_read_f64(cat, mapping.c_str(), 0, n, radec.data(), radec.size(), nullptr,
                                nullptr);
    }
    gml_catalog_free(cat);
    check(st, "catalog '" + catalog + "'");
    for (int64_t i = 0; i < n; ++i) {
      const double* row = radec.data() + width * i;
      if (!select.empty()) {
        if (row[2] == 0 || std::isnan(row[2])) continue;
        catalog_row.push_back(i);
      }
      pos.ra.push_back(row[0]);
      pos.dec.push_back(row[1]);
    }
    if (!select.empty()) {
      if (!c.quiet) {
        std::fprintf(stderr, "--select %s: %zu of %lld catalog rows\n", select.c_str(),
                     catalog_row.size(), static_cast<long long>(n));
      }
      n = static_cast<int64_t>(catalog_row.size());
    }
  }
  if (side != model.size && !resize) {
    die("stamps are " + std::to_string(side) + " pixels but the model takes " +
        std::to_string(model.size) + "; pass --resize to resample them" +
        (from_cube ? "" : ", or --size " + std::to_string(model.size)));
  }
  const bool fill = !from_cube || !pos.ra.empty();  // survey stamps: fill masked pixels
  const int64_t plane = side * side, per_image = model.channels * plane;

  ResultTable table(out, "MERGER", from_cube ? cutouts : catalog, model.checksum);
  table.add("ID", GML_COLUMN_INT64, 1, "");
  table.add("RA", GML_COLUMN_FLOAT64, 1, "deg");
  table.add("DEC", GML_COLUMN_FLOAT64, 1, "deg");
  table.add("CLASS", GML_COLUMN_INT32, 1, "");
  table.add("PROB", GML_COLUMN_FLOAT32, 1, "");
  table.add("TIME", GML_COLUMN_FLOAT32, 1, "Myr");
  table.add("FLAGS", GML_COLUMN_INT32, 1, "");
  if (model.latent > 0) table.add("LATENT", GML_COLUMN_FLOAT32, model.latent, "");
  if (labels.present) {
    table.add("TRUE_CLASS", GML_COLUMN_INT32, 1, "");
    table.add("TRUE_TIME", GML_COLUMN_FLOAT32, 1, "Myr");
  }
  if (!index.empty()) {
    table.add("NN_ID", GML_COLUMN_INT64, 1, "");
    table.add("NN_DISTANCE", GML_COLUMN_FLOAT32, 1, "");
    table.keyword("INDEX", index, "latent index of NN_ID, NN_DISTANCE");
  }
  table.keyword("MODEL", model.path, "merger model file");
  table.keyword("NCLASS", std::to_string(model.classes), "time classes of the model");
  table.keyword("FLAGBITS", "model flags | cutout flags << 8", "see gml-merger classify --help");
  for (size_t b = 0; b < bands.size(); ++b) {
    table.keyword("BAND" + std::to_string(b + 1), bands[b], "survey image of band");
  }
  if (!from_cube) table.keyword("STAMPPIX", std::to_string(size), "stamp side [image pixels]");
  if (!select.empty()) table.keyword("SELECT", select, "catalog rows where non-zero");

  BlockProgress progress;
  progress.bar = &s.bar;
  progress.total = n;
  check(gml_context_set_progress(s.ctx, BlockProgress::callback, &progress), "progress");
  gml_cutout_options co;
  gml_cutout_options_default(&co);
  co.width = co.height = size;
  std::vector<const char*> band_paths;
  for (const auto& b : bands) band_paths.push_back(b.c_str());

  std::vector<Tile> tiles;
  std::vector<int64_t> per_class(static_cast<size_t>(model.classes), 0);
  int64_t flagged = 0, correct = 0, labelled = 0, unlike = 0;
  for (int64_t off = 0; off < n; off += block) {
    const int64_t m = std::min(block, n - off);
    progress.offset = off;
    std::vector<float> stamps(static_cast<size_t>(m * per_image));
    std::vector<int32_t> cut(static_cast<size_t>(m), 0);
    if (from_cube) {
      std::copy(cube.image(off), cube.image(off) + m * per_image, stamps.begin());
      if (!pos.flags.empty()) std::copy_n(pos.flags.begin() + off, m, cut.begin());
    } else {
      check(gml_cutouts_extract(s.ctx, band_paths.data(), static_cast<int32_t>(bands.size()),
                                pos.ra.data() + off, pos.dec.data() + off, m, &co, stamps.data(),
                                stamps.size(), nullptr, cut.data()),
            "cutouts");
    }
    // Classify the stamps that have pixels, packed together.
    std::vector<int64_t> use;
    for (int64_t i = 0; i < m; ++i) {
      float* stamp = stamps.data() + i * per_image;
      if (fill && ((cut[static_cast<size_t>(i)] & kNoPixels) != 0 ||
                   !fill_masked(stamp, model.channels, plane))) {
        continue;
      }
      if (static_cast<int64_t>(use.size()) != i) {
        std::copy_n(stamp, per_image, stamps.data() + static_cast<int64_t>(use.size()) * per_image);
      }
      use.push_back(i);
    }
    const auto k = static_cast<int64_t>(use.size());
    std::vector<float> probs(static_cast<size_t>(k * model.classes)), time(static_cast<size_t>(k)),
        latent(static_cast<size_t>(k * model.latent));
    std::vector<int32_t> cls(static_cast<size_t>(k)), mflags(static_cast<size_t>(k));
    if (k > 0) {
      check(gml_merger_classify(s.ctx, model.model, stamps.data(), k, model.channels, side, side,
                                resize ? 1 : 0, probs.data(), cls.data(), time.data(),
                                model.latent > 0 ? latent.data() : nullptr, mflags.data()),
            "classify");
    }
    std::vector<int64_t> nn_id(static_cast<size_t>(k), -1);
    std::vector<float> nn_distance(static_cast<size_t>(k), NAN);
    std::vector<int32_t> nn_flags(static_cast<size_t>(k), 0);
    if (k > 0 && !index.empty()) {
      // By the latents classify just returned: the images are encoded once.
      gml_merger_search_request rq{};
      rq.struct_size = sizeof rq;
      rq.index_path = index.c_str();
      rq.n = k;
      rq.latents = latent.data();
      rq.latent_dim = model.latent;
      rq.k = 1;
      gml_merger_search_result rs{};
      rs.struct_size = sizeof rs;
      rs.ids = nn_id.data();
      rs.ids_capacity = nn_id.size();
      rs.distances = nn_distance.data();
      rs.distances_capacity = nn_distance.size();
      rs.flags = nn_flags.data();
      rs.flags_capacity = nn_flags.size();
      check(gml_merger_search_batch(s.ctx, model.model, &rq, &rs), "search of '" + index + "'");
    }
    // Rows of the block in input order.
    std::vector<int64_t> id(static_cast<size_t>(m));
    std::vector<double> ra(static_cast<size_t>(m), NAN), dec(static_cast<size_t>(m), NAN);
    std::vector<int32_t> row_class(static_cast<size_t>(m), -1), flags(static_cast<size_t>(m));
    std::vector<float> prob(static_cast<size_t>(m), NAN), tmyr(static_cast<size_t>(m), NAN),
        lat(static_cast<size_t>(m * std::max<int64_t>(1, model.latent)), NAN);
    std::vector<int32_t> true_class;
    std::vector<float> true_time;
    std::vector<int64_t> row_nn_id(static_cast<size_t>(m), -1);
    std::vector<float> row_nn_distance(static_cast<size_t>(m), NAN);
    for (int64_t i = 0; i < m; ++i) {
      const auto r = static_cast<size_t>(i);
      id[r] = catalog_row.empty() ? off + i : catalog_row[static_cast<size_t>(off + i)];
      if (!pos.ra.empty()) {
        ra[r] = pos.ra[static_cast<size_t>(off + i)];
        dec[r] = pos.dec[static_cast<size_t>(off + i)];
      }
      flags[r] = GML_MERGER_FLAG_BLANK | (cut[r] << kCutoutShift);
      if (labels.present) {
        true_class.push_back(labels.time_class[static_cast<size_t>(off + i)]);
        true_time.push_back(static_cast<float>(labels.time_myr[static_cast<size_t>(off + i)]));
      }
    }
    for (int64_t j = 0; j < k; ++j) {
      const auto r = static_cast<size_t>(use[static_cast<size_t>(j)]);
      const auto jj = static_cast<size_t>(j);
      row_class[r] = cls[jj];
      prob[r] = probs[jj * static_cast<size_t>(model.classes) + static_cast<size_t>(cls[jj])];
      tmyr[r] = time[jj];
      flags[r] = mflags[jj] | nn_flags[jj] | (cut[r] << kCutoutShift);
      row_nn_id[r] = nn_id[jj];
      row_nn_distance[r] = nn_distance[jj];
      std::copy_n(latent.data() + jj * static_cast<size_t>(model.latent), model.latent,
                  lat.data() + r * static_cast<size_t>(model.latent));
    }
    std::vector<const void*> data = {id.data(),   ra.data(),   dec.data(),  row_class.data(),
                                     prob.data(), tmyr.data(), flags.data()};
    if (model.latent > 0) data.push_back(lat.data());
    if (labels.present) {
      data.push_back(true_class.data());
      data.push_back(true_time.data());
    }
    if (!index.empty()) {
      data.push_back(row_nn_id.data());
      data.push_back(row_nn_distance.data());
    }
    table.append(m, data);

    for (int64_t i = 0; i < m; ++i) {
      const auto r = static_cast<size_t>(i);
      if ((flags[r] & GML_MERGER_FLAG_OUT_OF_DISTRIBUTION) != 0) ++unlike;
      if (row_class[r] < 0) {
        ++flagged;
      } else {
        ++per_class[static_cast<size_t>(row_class[r])];
      }
      if (labels.present) {
        ++labelled;
        if (row_class[r] == true_class[r]) ++correct;
      }
    }
    // Stamps for the PNG (the packed ones are the classified rows).
    for (int64_t i = 0; i < m && tiles.size() < kMaxStamps; ++i) {
      const auto r = static_cast<size_t>(i);
      Tile t;
      t.channels = static_cast<int>(model.channels);
      t.height = t.width = static_cast<int>(side);
      t.title = "#" + std::to_string(id[r]);
      const auto it = std::find(use.begin(), use.end(), i);
      if (it == use.end()) {
        t.empty = true;
        t.caption = "not classified";
      } else {
        const float* px = stamps.data() + (it - use.begin()) * per_image;
        t.pixels.assign(px, px + per_image);
        t.caption = "class " + std::to_string(row_class[r]) + "  p " + format_number(prob[r], 2);
        // An image unlike every training image gets no confident-looking label.
        if ((flags[r] & GML_MERGER_FLAG_OUT_OF_DISTRIBUTION) != 0) {
          t.caption = "unlike training (class " + std::to_string(row_class[r]) + ")";
        }
        if (labels.present) t.title += "  true " + std::to_string(true_class[r]);
      }
      tiles.push_back(std::move(t));
    }
  }
  table.commit();
  s.bar.close();
  if (!c.quiet) {
    std::fprintf(stderr, "wrote %s: %lld rows, %lld classified, %lld flagged without a class\n",
                 out.c_str(), static_cast<long long>(n), static_cast<long long>(n - flagged),
                 static_cast<long long>(flagged));
    std::string counts;
    for (size_t k = 0; k < per_class.size(); ++k) {
      if (per_class[k] > 0) counts += " " + std::to_string(k) + ":" + std::to_string(per_class[k]);
    }
    if (!counts.empty()) std::fprintf(stderr, "rows per class (class:rows):%s\n", counts.c_str());
    if (!index.empty()) {
      std::fprintf(stderr, "%lld row(s) unlike every indexed image (FLAGS bit 16)\n",
                   static_cast<long long>(unlike));
    }
    if (labelled > 0) {
      std::fprintf(stderr, "accuracy against TRUE_CLASS: %.3f (%lld of %lld)\n",
                   static_cast<double>(correct) / static_cast<double>(labelled),
                   static_cast<long long>(correct), static_cast<long long>(labelled));
    }
  }
  if (!png.empty()) {
    image_grid(png, "merger stages of " + (from_cube ? cutouts : catalog), tiles, 6);
    if (!c.quiet) std::fprintf(stderr, "wrote %s\n", png.c_str());
  }
  return 0;
}

}  // namespace gml_tools

// gml-merger index and search: a latent index of an image file, and the
// nearest index entries of query images, printed, plotted (query and its
// neighbours side by side) and optionally written as a table.
#include <boost/program_options.hpp>

#include <algorithm>
#include <cstdio>
#include <memory>
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

constexpr size_t kMaxQueryRows = 8;  // queries shown in the PNG

std::string label_text(int32_t sim, int32_t cls) {
  if (sim < 0 && cls < 0) return "";
  return "sim " + std::to_string(sim) + " class " + std::to_string(cls);
}

struct SearchArgs {
  Common c;
  std::string model_path, index, query, out, table_path, images;
  int64_t row = 0, k = 6;
  bool resize = false;
};

// False on --help.
bool read_args(int argc, char** argv, SearchArgs& a) {
  po::options_description d("gml-merger search");
  add_common(d, a.c);
  d.add_options()("model,m", po::value(&a.model_path)->required(),
                  "the merger model that built the index")("index", po::value(&a.index)->required(),
                                                           "index file (gml-merger index)")(
      "query", po::value(&a.query)->required(), "query images: simulator file or cutout cube")(
      "row", po::value(&a.row)->default_value(a.row), "query image number; -1: every image")(
      "k", po::value(&a.k)->default_value(a.k), "neighbours per query")(
      "out,o", po::value(&a.out)->required(),
      "PNG: each query (first 8) and its neighbours, labelled with id, latent distance, "
      "SSIM and simulation/time class when known")(
      "images", po::value(&a.images),
      "the file the index was built from: neighbour images in the PNG (without it, the "
      "neighbours are shown as text only)")(
      "table", po::value(&a.table_path),
      "FITS table: QUERY, RANK, ID, DISTANCE, SSIM, SIM_ID, TIME_CLASS per neighbour")(
      "resize", po::bool_switch(&a.resize), "resample query images of another size");
  if (!parse(argc, argv, d,
             "Nearest index entries (exact L2 in the latent) of query images, with the SSIM\n"
             "between each query and the neighbour's thumbnail."))
    return false;
  if (a.k < 1) die("--k must be >= 1");
  require_output_file(a.out, {a.model_path, a.index, a.query, a.images}, "--out", a.c.overwrite);
  if (!a.table_path.empty()) {
    require_output_file(a.table_path, {a.model_path, a.index, a.query, a.images, a.out}, "--table",
                        a.c.overwrite);
  }
  return true;
}

// The query image numbers: one (--row) or all (-1).
std::vector<int64_t> query_rows(const SearchArgs& a, int64_t images) {
  std::vector<int64_t> rows;
  if (a.row == -1) {
    for (int64_t i = 0; i < images; ++i) rows.push_back(i);
  } else if (a.row < 0 || a.row >= images) {
    die("--row " + std::to_string(a.row) + " is outside the " + std::to_string(images) +
        " images of " + a.query);
  } else {
    rows.push_back(a.row);
  }
  return rows;
}

void print_neighbours(const std::vector<int64_t>& rows, int64_t k, const SimLabels& qlabels,
                      const Neighbours& nb) {
  for (size_t i = 0; i < rows.size(); ++i) {
    const auto r = static_cast<size_t>(rows[i]);
    std::printf("query %lld", static_cast<long long>(r));
    if (qlabels.present) {
      std::printf(" (%s, t %.0f Myr)", label_text(qlabels.sim_id[r], qlabels.time_class[r]).c_str(),
                  qlabels.time_myr[r]);
    }
    if (nb.flags[i] & GML_MERGER_FLAG_OUT_OF_DISTRIBUTION) {
      std::printf(" - unlike every indexed image (nearest beyond twice the index's spacing)");
    }
    std::printf(":\n");
    for (int64_t j = 0; j < k; ++j) {
      const auto e = i * static_cast<size_t>(k) + static_cast<size_t>(j);
      std::printf("  %2lld. id %-7lld distance %-9.4g SSIM %-7.3f %s\n",
                  static_cast<long long>(j + 1), static_cast<long long>(nb.ids[e]), nb.distances[e],
                  nb.ssim[e], label_text(nb.sim_id[e], nb.time_class[e]).c_str());
    }
  }
  std::fflush(stdout);
}

void write_neighbour_table(const SearchArgs& a, const std::string& model_checksum,
                           const std::vector<int64_t>& rows, const Neighbours& nb) {
  ResultTable t(a.table_path, "NEIGHBOURS", a.query, model_checksum);
  t.add({{"QUERY", GML_COLUMN_INT64},
         {"RANK", GML_COLUMN_INT32},
         {"ID", GML_COLUMN_INT64},
         {"DISTANCE", GML_COLUMN_FLOAT32},
         {"SSIM", GML_COLUMN_FLOAT32},
         {"SIM_ID", GML_COLUMN_INT32},
         {"TIME_CLASS", GML_COLUMN_INT32}});
  t.keyword("INDEX", a.index, "latent index searched");
  const size_t nk = nb.ids.size(), k = static_cast<size_t>(a.k);
  std::vector<int64_t> qid(nk);
  std::vector<int32_t> rank(nk);
  for (size_t e = 0; e < nk; ++e) {
    qid[e] = rows[e / k];
    rank[e] = static_cast<int32_t>(e % k) + 1;
  }
  t.append(static_cast<int64_t>(nk), {qid.data(), rank.data(), nb.ids.data(), nb.distances.data(),
                                      nb.ssim.data(), nb.sim_id.data(), nb.time_class.data()});
  t.commit();
}

Tile image_tile(const ImageCube& from, int64_t i) {
  Tile t;
  t.channels = static_cast<int>(from.c);
  t.height = static_cast<int>(from.h);
  t.width = static_cast<int>(from.w);
  t.pixels.assign(from.image(i), from.image(i) + from.image_floats());
  return t;
}

// The PNG: query, then its neighbours (images from --images when given).
void draw_neighbours(const SearchArgs& a, const ImageCube& cube, const SimLabels& qlabels,
                     const std::vector<int64_t>& rows, const Neighbours& nb) {
  std::unique_ptr<ImageCube> source;
  if (!a.images.empty()) source = std::make_unique<ImageCube>(read_cube(a.images));
  std::vector<Tile> tiles;
  const size_t shown = std::min(rows.size(), kMaxQueryRows), k = static_cast<size_t>(a.k);
  for (size_t i = 0; i < shown; ++i) {
    const int64_t r = rows[i];
    Tile qt = image_tile(cube, r);
    qt.title = "query #" + std::to_string(r);
    if (qlabels.present) {
      qt.caption = label_text(qlabels.sim_id[static_cast<size_t>(r)],
                              qlabels.time_class[static_cast<size_t>(r)]);
    }
    if (nb.flags[i] & GML_MERGER_FLAG_OUT_OF_DISTRIBUTION) {
      qt.caption += qt.caption.empty() ? "unlike training" : ", unlike training";
    }
    tiles.push_back(std::move(qt));
    for (size_t e = i * k; e < (i + 1) * k; ++e) {
      Tile t;
      if (source && nb.ids[e] >= 0 && nb.ids[e] < source->n) {
        t = image_tile(*source, nb.ids[e]);
      } else {
        t.empty = true;
      }
      t.title = "#" + std::to_string(nb.ids[e]) + " d " + format_number(nb.distances[e], 3);
      t.caption = "SSIM " + format_number(nb.ssim[e], 2);
      if (nb.sim_id[e] >= 0 || nb.time_class[e] >= 0) {
        t.caption += " s" + std::to_string(nb.sim_id[e]) + " c" + std::to_string(nb.time_class[e]);
      }
      tiles.push_back(std::move(t));
    }
  }
  image_grid(a.out, "nearest neighbours in " + a.index + (source ? "" : " (images: pass --images)"),
             tiles, static_cast<int>(k + 1), 96);
}

}  // namespace

int cmd_index(int argc, char** argv) {
  Common c;
  std::string model_path, images, out;
  bool resize = false;
  po::options_description d("gml-merger index");
  add_common(d, c);
  d.add_options()("model,m", po::value(&model_path)->required(),
                  "merger model file (with a VAE: trained with --latent > 0)")(
      "images", po::value(&images)->required(),
      "simulator file (labels are kept) or cutout cube (N, C, H, W)")(
      "out,o", po::value(&out)->required(), "index file to write (HDF5)")(
      "resize", po::bool_switch(&resize), "resample images of another size to the model's");
  if (!parse(argc, argv, d,
             "Encodes every image of a file to the model's latent (the VAE mean) and writes a\n"
             "search index with thumbnails and, for simulator files, the labels. Entry ids are\n"
             "image numbers (0-based) in the file."))
    return 0;
  require_output_file(out, {model_path, images}, "--out", c.overwrite);
  Session s(c.device, c.threads, c.seed, c.quiet);
  const MergerModel model(s.ctx, model_path);
  if (model.latent == 0) die("model '" + model_path + "' has no VAE (latent 0): it cannot index");
  int64_t n = 0, latent = 0;
  check(gml_merger_index_build(s.ctx, model.model, images.c_str(), resize ? 1 : 0, out.c_str(), &n),
        "index");
  check(gml_merger_index_info(out.c_str(), nullptr, &latent), "index '" + out + "'");
  s.bar.close();
  std::printf("indexed %lld images of %s (latent %lld) into %s\n", static_cast<long long>(n),
              images.c_str(), static_cast<long long>(latent), out.c_str());
  return 0;
}

int cmd_search(int argc, char** argv) {
  SearchArgs a;
  if (!read_args(argc, argv, a)) return 0;
  Session s(a.c.device, a.c.threads, a.c.seed, a.c.quiet);
  const MergerModel model(s.ctx, a.model_path);
  const ImageCube cube = read_cube(a.query);
  const SimLabels qlabels = read_labels(a.query, cube.n);
  const std::vector<int64_t> rows = query_rows(a, cube.n);
  int64_t entries = 0;
  check(gml_merger_index_info(a.index.c_str(), &entries, nullptr), "index '" + a.index + "'");
  if (a.k > entries) {
    die("--k " + std::to_string(a.k) + " exceeds the " + std::to_string(entries) +
        " entries of the index");
  }
  const std::vector<float> q = cube.gather(rows);
  gml_merger_search_request rq = search_request(a.index, static_cast<int64_t>(rows.size()), a.k);
  rq.images = q.data();
  rq.channels = cube.c;
  rq.height = cube.h;
  rq.width = cube.w;
  rq.resize = a.resize ? 1 : 0;
  const Neighbours nb = search_index(s.ctx, model, rq, "search");
  s.bar.close();
  print_neighbours(rows, a.k, qlabels, nb);
  if (!a.table_path.empty()) {
    write_neighbour_table(a, model.checksum, rows, nb);
    if (!a.c.quiet) std::fprintf(stderr, "wrote %s\n", a.table_path.c_str());
  }
  draw_neighbours(a, cube, qlabels, rows, nb);
  if (!a.c.quiet) std::fprintf(stderr, "wrote %s\n", a.out.c_str());
  return 0;
}

}  // namespace gml_tools

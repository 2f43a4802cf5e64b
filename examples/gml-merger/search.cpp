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
  Common c;
  std::string model_path, index, query, out, table_path, images;
  int64_t row = 0, k = 6;
  bool resize = false;
  po::options_description d("gml-merger search");
  add_common(d, c);
  d.add_options()("model,m", po::value(&model_path)->required(),
                  "the merger model that built the index")("index", po::value(&index)->required(),
                                                           "index file (gml-merger index)")(
      "query", po::value(&query)->required(), "query images: simulator file or cutout cube")(
      "row", po::value(&row)->default_value(row), "query image number; -1: every image")(
      "k", po::value(&k)->default_value(k), "neighbours per query")(
      "out,o", po::value(&out)->required(),
      "PNG: each query (first 8) and its neighbours, labelled with id, latent distance, "
      "SSIM and simulation/time class when known")(
      "images", po::value(&images),
      "the file the index was built from: neighbour images in the PNG (without it, the "
      "neighbours are shown as text only)")(
      "table", po::value(&table_path),
      "FITS table: QUERY, RANK, ID, DISTANCE, SSIM, SIM_ID, TIME_CLASS per neighbour")(
      "resize", po::bool_switch(&resize), "resample query images of another size");
  if (!parse(argc, argv, d,
             "Nearest index entries (exact L2 in the latent) of query images, with the SSIM\n"
             "between each query and the neighbour's thumbnail."))
    return 0;
  if (k < 1) die("--k must be >= 1");
  require_output_file(out, {model_path, index, query, images}, "--out", c.overwrite);
  if (!table_path.empty()) {
    require_output_file(table_path, {model_path, index, query, images, out}, "--table",
                        c.overwrite);
  }
  Session s(c.device, c.threads, c.seed, c.quiet);
  const MergerModel model(s.ctx, model_path);
  const ImageCube cube = read_cube(query);
  const SimLabels qlabels = read_labels(query, cube.n);
  std::vector<int64_t> rows;
  if (row == -1) {
    for (int64_t i = 0; i < cube.n; ++i) rows.push_back(i);
  } else if (row < 0 || row >= cube.n) {
    die("--row " + std::to_string(row) + " is outside the " + std::to_string(cube.n) +
        " images of " + query);
  } else {
    rows.push_back(row);
  }
  int64_t entries = 0;
  check(gml_merger_index_info(index.c_str(), &entries, nullptr), "index '" + index + "'");
  if (k > entries) {
    die("--k " + std::to_string(k) + " exceeds the " + std::to_string(entries) +
        " entries of the index");
  }
  const auto n = static_cast<int64_t>(rows.size());
  const std::vector<float> q = cube.gather(rows);
  const auto nk = static_cast<size_t>(n * k);
  std::vector<int64_t> ids(nk);
  std::vector<float> dist(nk), ssim(nk);
  std::vector<int32_t> sim(nk), cls(nk), far(static_cast<size_t>(n));
  gml_merger_search_request rq{};
  rq.struct_size = sizeof rq;
  rq.index_path = index.c_str();
  rq.images = q.data();
  rq.n = n;
  rq.channels = cube.c;
  rq.height = cube.h;
  rq.width = cube.w;
  rq.resize = resize ? 1 : 0;
  rq.k = k;
  gml_merger_search_result rs{};
  rs.struct_size = sizeof rs;
  rs.ids = ids.data();
  rs.ids_capacity = nk;
  rs.distances = dist.data();
  rs.distances_capacity = nk;
  rs.ssim = ssim.data();
  rs.ssim_capacity = nk;
  rs.sim_id = sim.data();
  rs.sim_id_capacity = nk;
  rs.time_class = cls.data();
  rs.time_class_capacity = nk;
  rs.flags = far.data();
  rs.flags_capacity = far.size();
  check(gml_merger_search_batch(s.ctx, model.model, &rq, &rs), "search");
  s.bar.close();

  for (int64_t i = 0; i < n; ++i) {
    const auto r = static_cast<size_t>(rows[static_cast<size_t>(i)]);
    std::printf("query %lld", static_cast<long long>(r));
    if (qlabels.present) {
      std::printf(" (%s, t %.0f Myr)", label_text(qlabels.sim_id[r], qlabels.time_class[r]).c_str(),
                  qlabels.time_myr[r]);
    }
    if (far[static_cast<size_t>(i)] & GML_MERGER_FLAG_OUT_OF_DISTRIBUTION) {
      std::printf(" - unlike every indexed image (nearest beyond twice the index's spacing)");
    }
    std::printf(":\n");
    for (int64_t j = 0; j < k; ++j) {
      const auto e = static_cast<size_t>(i * k + j);
      std::printf("  %2lld. id %-7lld distance %-9.4g SSIM %-7.3f %s\n",
                  static_cast<long long>(j + 1), static_cast<long long>(ids[e]), dist[e], ssim[e],
                  label_text(sim[e], cls[e]).c_str());
    }
  }
  std::fflush(stdout);

  if (!table_path.empty()) {
    ResultTable t(table_path, "NEIGHBOURS", query, model.checksum);
    t.add("QUERY", GML_COLUMN_INT64, 1, "");
    t.add("RANK", GML_COLUMN_INT32, 1, "");
    t.add("ID", GML_COLUMN_INT64, 1, "");
    t.add("DISTANCE", GML_COLUMN_FLOAT32, 1, "");
    t.add("SSIM", GML_COLUMN_FLOAT32, 1, "");
    t.add("SIM_ID", GML_COLUMN_INT32, 1, "");
    t.add("TIME_CLASS", GML_COLUMN_INT32, 1, "");
    t.keyword("INDEX", index, "latent index searched");
    std::vector<int64_t> qid(nk);
    std::vector<int32_t> rank(nk);
    for (size_t e = 0; e < nk; ++e) {
      qid[e] = rows[e / static_cast<size_t>(k)];
      rank[e] = static_cast<int32_t>(e % static_cast<size_t>(k)) + 1;
    }
    t.append(static_cast<int64_t>(nk), {qid.data(), rank.data(), ids.data(), dist.data(),
                                        ssim.data(), sim.data(), cls.data()});
    t.commit();
    if (!c.quiet) std::fprintf(stderr, "wrote %s\n", table_path.c_str());
  }

  // The PNG: query, then its neighbours (images from --images when given).
  std::unique_ptr<ImageCube> source;
  if (!images.empty()) source = std::make_unique<ImageCube>(read_cube(images));
  std::vector<Tile> tiles;
  const int64_t shown = std::min<int64_t>(n, static_cast<int64_t>(kMaxQueryRows));
  auto image_tile = [](const ImageCube& from, int64_t i) {
    Tile t;
    t.channels = static_cast<int>(from.c);
    t.height = static_cast<int>(from.h);
    t.width = static_cast<int>(from.w);
    t.pixels.assign(from.image(i), from.image(i) + from.image_floats());
    return t;
  };
  for (int64_t i = 0; i < shown; ++i) {
    const int64_t r = rows[static_cast<size_t>(i)];
    Tile qt = image_tile(cube, r);
    qt.title = "query #" + std::to_string(r);
    if (qlabels.present) {
      qt.caption = label_text(qlabels.sim_id[static_cast<size_t>(r)],
                              qlabels.time_class[static_cast<size_t>(r)]);
    }
    if (far[static_cast<size_t>(i)] & GML_MERGER_FLAG_OUT_OF_DISTRIBUTION) {
      qt.caption += qt.caption.empty() ? "unlike training" : ", unlike training";
    }
    tiles.push_back(std::move(qt));
    for (int64_t j = 0; j < k; ++j) {
      const auto e = static_cast<size_t>(i * k + j);
      Tile t;
      if (source && ids[e] >= 0 && ids[e] < source->n) {
        t = image_tile(*source, ids[e]);
      } else {
        t.empty = true;
      }
      t.title = "#" + std::to_string(ids[e]) + " d " + format_number(dist[e], 3);
      t.caption = "SSIM " + format_number(ssim[e], 2);
      if (sim[e] >= 0 || cls[e] >= 0) {
        t.caption += " s" + std::to_string(sim[e]) + " c" + std::to_string(cls[e]);
      }
      tiles.push_back(std::move(t));
    }
  }
  image_grid(out, "nearest neighbours in " + index + (source ? "" : " (images: pass --images)"),
             tiles, static_cast<int>(k + 1), 96);
  if (!c.quiet) std::fprintf(stderr, "wrote %s\n", out.c_str());
  return 0;
}

}  // namespace gml_tools

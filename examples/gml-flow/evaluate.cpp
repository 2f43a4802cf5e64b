#include "evaluate.h"

#include <boost/program_options.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli.h"
#include "outputs.h"
#include "plot.h"

namespace po = boost::program_options;

namespace gml_tools {

GalaxyStars read_galaxy(gml_model* model, const std::string& path, int64_t galaxy) {
  GalaxyStars g;
  int64_t cond_dim = 0;
  check(gml_flow_dims(model, nullptr, &cond_dim), "model");
  check(gml_flow_read_galaxy(path.c_str(), galaxy, nullptr, 0, &g.n, &g.dim, nullptr, 0),
        "reading " + path);
  g.stars.resize(static_cast<size_t>(g.n * g.dim));
  g.conditions.resize(static_cast<size_t>(cond_dim));
  check(gml_flow_read_galaxy(path.c_str(), galaxy, g.stars.data(), g.stars.size(), &g.n, &g.dim,
                             g.conditions.data(), g.conditions.size()),
        "reading " + path);
  return g;
}

namespace {

std::string model_json(gml_model* model) {
  size_t len = 0;
  check(gml_flow_describe(model, nullptr, 0, &len), "model");
  std::string text(len, '\0');
  check(gml_flow_describe(model, text.data(), text.size(), &len), "model");
  text.resize(len - 1);
  return text;
}

}  // namespace

int cmd_evaluate(int argc, char** argv) {
  std::string device = "auto", model_path, stars, out_dir = ".";
  int threads = 0;
  uint64_t seed = 0;
  bool quiet = false;
  int64_t galaxy = 0, n = 20000;
  po::options_description d("gml-flow evaluate");
  d.add_options()("model,m", po::value(&model_path)->required(), "flow model file")(
      "stars", po::value(&stars)->required(), "star table with the data galaxies")(
      "galaxy", po::value(&galaxy)->default_value(0), "reference galaxy id (ideally held out)")(
      "n", po::value(&n)->default_value(20000), "stars to generate")(
      "out-dir", po::value(&out_dir)->default_value("."), "where mmd.csv and the PNGs go")(
      "device", po::value(&device)->default_value("auto"), "cpu, cuda, cuda:N or auto")(
      "threads", po::value(&threads)->default_value(0), "CPU threads")(
      "seed", po::value(&seed)->default_value(0), "random seed")(
      "quiet,q", po::bool_switch(&quiet), "no progress output")("help,h", "this help");
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(argc, argv).options(d).run(), vm);
    if (vm.count("help")) {
      std::cout << "Generates a galaxy with the conditions of --galaxy and compares it with\n"
                   "every galaxy of --stars by MMD (GalacticFlow Fig. 3).\n\n"
                << d << "\n";
      return 0;
    }
    po::notify(vm);
  } catch (const po::error& e) {
    die(e.what());
  }
  require_output_dir(out_dir, "--out-dir");
  Session s(device, threads, seed, quiet);
  gml_model* model = nullptr;
  check(gml_model_load(s.ctx, model_path.c_str(), "flow", &model), "model");

  int64_t g = 0;
  check(gml_flow_evaluate(s.ctx, model, stars.c_str(), galaxy, n, seed, nullptr, nullptr, nullptr,
                          0, &g),
        "evaluate");
  std::vector<int64_t> ids(static_cast<size_t>(g));
  std::vector<double> dm(static_cast<size_t>(g)), mmd(static_cast<size_t>(g));
  check(gml_flow_evaluate(s.ctx, model, stars.c_str(), galaxy, n, seed, ids.data(), dm.data(),
                          mmd.data(), static_cast<size_t>(g), &g),
        "evaluate");
  s.bar.close();

  const std::string table = out_dir + "/mmd.csv";
  if (FILE* f = std::fopen(table.c_str(), "w")) {
    std::fprintf(f,
                 "# MMD^2 (linear estimator) of %lld generated stars of galaxy %lld vs each "
                 "data galaxy\n# model %s\ngalaxy_id,delta_log10_mstar,mmd2\n",
                 static_cast<long long>(n), static_cast<long long>(galaxy), model_path.c_str());
    for (int64_t i = 0; i < g; ++i) {
      std::fprintf(f, "%lld,%.6f,%.6g\n", static_cast<long long>(ids[i]), dm[i], mmd[i]);
    }
    std::fclose(f);
  } else {
    die("cannot write " + table);
  }

  Figure fig(800, 560);
  fig.title("MMD of generated galaxy " + std::to_string(galaxy) + " vs data galaxies");
  Panel p = fig.panel(1, 1, 0, 0);
  p.autoscale(dm, mmd);
  p.hband(-1e-9, 1e-9, kGrey);
  p.points(dm, mmd, kBlue, 3);
  p.axes();
  p.set_labels("delta log10 M* (data - generated)", "MMD^2");
  fig.save(out_dir + "/mmd_vs_dlogm.png");

  // Corner plot of the reference galaxy: data vs model.
  GalaxyStars data = read_galaxy(model, stars, galaxy);
  const int64_t m = std::min<int64_t>(data.n, 20000);
  std::vector<float> gen(static_cast<size_t>(m * data.dim));
  check(gml_flow_sample(s.ctx, model, data.conditions.data(), 1, m, seed + 1, gen.data(),
                        gen.size(), nullptr),
        "sample");
  s.bar.close();
  auto info = nlohmann::json::parse(model_json(model));
  std::vector<std::string> labels = info["data"].get<std::vector<std::string>>();
  std::vector<std::vector<double>> dc(static_cast<size_t>(data.dim)), mc(dc.size());
  for (int64_t i = 0; i < data.n; ++i)
    for (int64_t j = 0; j < data.dim; ++j) dc[j].push_back(data.stars[i * data.dim + j]);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < data.dim; ++j) mc[j].push_back(gen[i * data.dim + j]);
  corner_plot(out_dir + "/corner.png", dc, mc, labels,
              "galaxy " + std::to_string(galaxy) + ": data (blue) vs flow samples (orange)");

  // Closest galaxy in mass should be the reference itself.
  int64_t best = 0;
  for (int64_t i = 1; i < g; ++i)
    if (mmd[i] < mmd[best]) best = i;
  std::printf(
      "evaluated %lld galaxies; smallest MMD^2 %.4g at galaxy %lld (delta log M* %.3f); "
      "wrote %s, mmd_vs_dlogm.png, corner.png\n",
      static_cast<long long>(g), mmd[best], static_cast<long long>(ids[best]), dm[best],
      table.c_str());
  gml_model_free(model);
  return 0;
}

}  // namespace gml_tools

// gml-flow: GalacticFlow-style conditional flows of stars.
//
//   gml-flow simulate --galaxies 64 --stars 4000 --out train.h5
//   gml-flow train    --stars train.h5 --out model.h5 --steps 3000
//   gml-flow sample   --model model.h5 --conditions 10.8,7,2.5,0.014 --n 100000 --out s.fits
//   gml-flow logprob  --model model.h5 --stars held_out.h5 --galaxy 3
//   gml-flow evaluate --model model.h5 --stars held_out.h5 --galaxy 3 --out-dir eval/
#include <boost/program_options.hpp>

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "cli.h"
#include "commands.h"
#include "evaluate.h"
#include "options.h"
#include "outputs.h"

namespace po = boost::program_options;
using namespace gml_tools;

namespace {

int cmd_simulate(int argc, char** argv) {
  Common c;
  int64_t galaxies = 32, stars = 2000;
  std::string out, conditions;
  po::options_description d("gml-flow simulate");
  add_common(d, c);
  d.add_options()("galaxies", po::value(&galaxies)->default_value(32), "number of galaxies")(
      "stars", po::value(&stars)->default_value(2000), "stars per galaxy")(
      "conditions", po::value(&conditions),
      "one galaxy's log10M*,tau50,tau10,meanZ (default: random plausible galaxies)")(
      "out,o", po::value(&out)->required(), "star table to write (.h5 or .fits)");
  if (!parse(argc, argv, d, "Writes a star table of synthetic galaxies (docs/flow_generator.md)."))
    return 0;
  require_output_file(out, {}, "--out", c.overwrite);
  Session s(c.device, c.threads, c.seed, c.quiet);
  std::vector<double> cond;
  if (!conditions.empty()) {
    cond = parse_numbers(conditions, "--conditions");
    if (cond.size() != 4) die("--conditions needs 4 numbers: log10M*,tau50,tau10,meanZ");
    galaxies = 1;
  }
  check(gml_flow_simulate(s.ctx, galaxies, stars, cond.empty() ? nullptr : cond.data(), c.seed,
                          out.c_str()),
        "simulate");
  if (!c.quiet)
    std::fprintf(stderr, "wrote %lld stars of %lld galaxies to %s\n",
                 static_cast<long long>(galaxies * stars), static_cast<long long>(galaxies),
                 out.c_str());
  return 0;
}

int cmd_train(int argc, char** argv) {
  Common c;
  gml_flow_train_options o;
  gml_flow_train_options_default(&o);
  std::string stars, out, checkpoint, config;
  po::options_description d("gml-flow train");
  add_common(d, c);
  d.add_options()("stars", po::value(&stars)->required(), "training star table (.h5 or .fits)")(
      "out,o", po::value(&out)->required(), "model file to write")(
      "steps", po::value(&o.steps)->default_value(o.steps), "optimiser steps")(
      "batch", po::value(&o.batch_size)->default_value(o.batch_size), "batch size")(
      "lr", po::value(&o.learning_rate)->default_value(o.learning_rate), "initial learning rate")(
      "validation-galaxies", po::value(&o.validation_galaxies)->default_value(0),
      "galaxies held out whole (0: 10%)")(
      "eval-every", po::value(&o.eval_every)->default_value(o.eval_every), "steps per validation")(
      "max-stars-per-galaxy", po::value(&o.max_stars_per_galaxy)->default_value(0),
      "subsample larger galaxies (0: all)")("checkpoint", po::value(&checkpoint),
                                            "checkpoint file (written every --checkpoint-every)")(
      "checkpoint-every", po::value(&o.checkpoint_every)->default_value(o.checkpoint_every), "")(
      "resume", "continue from --checkpoint")(
      "config", po::value(&config), "JSON overrides of the architecture, e.g. {\"num_blocks\":6}");
  po::variables_map vm;
  if (!parse(argc, argv, d, "Trains a conditional flow on a star table.")) return 0;
  for (int i = 0; i < argc; ++i)
    if (std::string(argv[i]) == "--resume") o.resume = 1;
  if (o.resume && checkpoint.empty()) die("--resume needs --checkpoint");
  require_output_file(out, {stars, checkpoint}, "--out", c.overwrite);
  if (!checkpoint.empty()) require_output_file(checkpoint, {stars}, "--checkpoint", true);
  o.seed = c.seed;
  o.checkpoint_path = checkpoint.empty() ? nullptr : checkpoint.c_str();
  o.config_json = config.empty() ? nullptr : config.c_str();
  Session s(c.device, c.threads, c.seed, c.quiet);
  check(gml_flow_train(s.ctx, stars.c_str(), &o, out.c_str()), "train");
  s.bar.close();
  gml_model_info info;
  info.struct_size = sizeof info;
  check(gml_model_file_inspect(out.c_str(), "flow", &info), "written model");
  if (!c.quiet)
    std::fprintf(stderr, "wrote %s (%lld parameters, %s)\n", out.c_str(),
                 static_cast<long long>(info.n_parameters), info.checksum);
  return 0;
}

int cmd_sample(int argc, char** argv) {
  Common c;
  std::string model_path, conditions, out;
  int64_t n = 10000;
  po::options_description d("gml-flow sample");
  add_common(d, c);
  d.add_options()("model,m", po::value(&model_path)->required(), "flow model file")(
      "conditions", po::value(&conditions)->required(),
      "galaxy conditions, comma-separated (log10M*,tau50,tau10,meanZ); several galaxies "
      "separated by ';'")("n", po::value(&n)->default_value(10000), "stars per galaxy")(
      "out,o", po::value(&out)->required(), "output star table (.fits or .h5)");
  if (!parse(argc, argv, d, "Samples stars of galaxies from a trained flow.")) return 0;
  require_output_file(out, {model_path}, "--out", c.overwrite);
  Session s(c.device, c.threads, c.seed, c.quiet);
  gml_model* model = nullptr;
  check(gml_model_load(s.ctx, model_path.c_str(), "flow", &model), "model");
  int64_t data_dim = 0, cond_dim = 0;
  check(gml_flow_dims(model, &data_dim, &cond_dim), "model");
  std::vector<double> cond;
  int64_t galaxies = 0;
  size_t start = 0;
  while (start <= conditions.size()) {
    size_t end = conditions.find(';', start);
    if (end == std::string::npos) end = conditions.size();
    auto row = parse_numbers(conditions.substr(start, end - start), "--conditions");
    if (static_cast<int64_t>(row.size()) != cond_dim) {
      die("--conditions: each galaxy needs " + std::to_string(cond_dim) + " numbers");
    }
    cond.insert(cond.end(), row.begin(), row.end());
    ++galaxies;
    start = end + 1;
  }
  check(gml_flow_sample_to_file(s.ctx, model, cond.data(), galaxies, n, c.seed, out.c_str()),
        "sample");
  gml_model_free(model);
  if (!c.quiet)
    std::fprintf(stderr, "wrote %lld stars to %s\n", static_cast<long long>(galaxies * n),
                 out.c_str());
  return 0;
}

int cmd_logprob(int argc, char** argv) {
  Common c;
  std::string model_path, stars;
  int64_t galaxy = 0;
  po::options_description d("gml-flow logprob");
  add_common(d, c);
  d.add_options()("model,m", po::value(&model_path)->required(), "flow model file")(
      "stars", po::value(&stars)->required(), "star table")(
      "galaxy", po::value(&galaxy)->default_value(0), "galaxy id in the star table");
  if (!parse(argc, argv, d, "Mean log density of one galaxy's stars under the model.")) return 0;
  Session s(c.device, c.threads, c.seed, c.quiet);
  gml_model* model = nullptr;
  check(gml_model_load(s.ctx, model_path.c_str(), "flow", &model), "model");
  GalaxyStars g = read_galaxy(model, stars, galaxy);
  std::vector<double> lp(static_cast<size_t>(g.n));
  check(gml_flow_log_prob(s.ctx, model, g.stars.data(), g.n, g.conditions.data(), 1, lp.data()),
        "log_prob");
  double sum = 0;
  int64_t finite = 0;
  for (double v : lp)
    if (std::isfinite(v)) sum += v, ++finite;
  std::printf("galaxy %lld: %lld stars, mean log p = %.6f (%lld outside support)\n",
              static_cast<long long>(galaxy), static_cast<long long>(g.n),
              finite ? sum / finite : NAN, static_cast<long long>(g.n - finite));
  gml_model_free(model);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const Tool tool{
      "gml-flow",
      "Conditional normalizing flows of the stars of galaxies (GalacticFlow).",
      {{"simulate", "write a star table of synthetic galaxies", cmd_simulate},
       {"train", "train a flow on a star table", cmd_train},
       {"sample", "sample stars for given galaxy conditions (FITS or HDF5)", cmd_sample},
       {"logprob", "log density of a galaxy's stars under a model", cmd_logprob},
       {"evaluate", "MMD of a generated galaxy against every data galaxy, PNG plots",
        cmd_evaluate}}};
  return dispatch(tool, argc, argv);
}

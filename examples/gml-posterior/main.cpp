// gml-posterior: SEDflow-style amortized posteriors for whole catalogs.
//
//   gml-posterior simulate --out sims.h5 --n 100000
//   gml-posterior import   --sims my_sims.npz --out sims.h5
//   gml-posterior train    --sims sims.h5 --out model.h5
//   gml-posterior run      --model model.h5 --catalog cat.fits --out post.fits
//                          [--map "f_u=MODELFLUX[0],...,z=Z"]
//   gml-posterior sample   --model model.h5 --x 1.2,3.4 --n 10000 --out draws.npy
//   gml-posterior diagnose --model model.h5 --sims held_out.h5 --out-dir diag/
// `run` under mpirun splits the catalog across ranks and writes one table.
#include <boost/program_options.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "cli.h"
#include "commands.h"
#include "diagnose.h"
#include "import.h"
#include "outputs.h"
#include "plot.h"
#include "posterior_common.h"
#include "sample.h"

namespace po = boost::program_options;
using namespace gml_tools;

namespace {

// The SDSS columns of data/sdss/gst_tests_small.fits, in the order the
// sed_ugriz observation needs: 5 fluxes, 5 inverse variances, z, 5
// extinctions.
const char* kSdssMap =
    "f_u=MODELFLUX[0],f_g=MODELFLUX[1],f_r=MODELFLUX[2],f_i=MODELFLUX[3],f_z=MODELFLUX[4],"
    "iv_u=MODELFLUX_IVAR[0],iv_g=MODELFLUX_IVAR[1],iv_r=MODELFLUX_IVAR[2],iv_i=MODELFLUX_IVAR[3],"
    "iv_z=MODELFLUX_IVAR[4],z=Z,"
    "a_u=EXTINCTION[0],a_g=EXTINCTION[1],a_r=EXTINCTION[2],a_i=EXTINCTION[3],a_z=EXTINCTION[4]";

int cmd_simulate(int argc, char** argv) {
  Common c;
  int64_t n = 100000;
  std::string out, data_dir;
  gml_posterior_simulate_options o;
  gml_posterior_simulate_options_default(&o);
  bool resume = false;
  po::options_description d("gml-posterior simulate");
  add_common(d, c);
  d.add_options()("out,o", po::value(&out)->required(), "training set to write (HDF5)")(
      "n", po::value(&n)->default_value(n), "simulations in total")(
      "batch", po::value(&o.batch_size)->default_value(o.batch_size), "simulations per batch")(
      "data-dir", po::value(&data_dir), "folder with sed/ and sdss/ (default: built-in)")(
      "resume", po::bool_switch(&resume), "append to an interrupted file");
  if (!parse(argc, argv, d,
             "Simulates (theta, x) with the built-in SED model (docs/sed_model.md)."))
    return 0;
  require_output_file(out, {}, "--out", c.overwrite || resume);
  o.seed = c.seed;
  o.resume = resume ? 1 : 0;
  Session s(c.device, c.threads, c.seed, c.quiet);
  check(gml_posterior_simulate_sed(s.ctx, data_dir.empty() ? nullptr : data_dir.c_str(), n, &o,
                                   out.c_str()),
        "simulate");
  s.bar.close();
  if (!c.quiet) std::fprintf(stderr, "wrote %lld simulations to %s\n", (long long)n, out.c_str());
  return 0;
}

int cmd_train(int argc, char** argv) {
  Common c;
  gml_posterior_train_options o;
  gml_posterior_train_options_default(&o);
  std::string sims, out, checkpoint, estimator = "maf", activation;
  bool resume = false;
  po::options_description d("gml-posterior train");
  add_common(d, c);
  d.add_options()("sims", po::value(&sims)->required(),
                  "training set (HDF5: galaxyml's, or any with datasets /theta and /x)")(
      "out,o", po::value(&out)->required(), "model file to write")(
      "estimator", po::value(&estimator)->default_value("maf"),
      "maf, nsf (sbi's: spline couplings) or autoregressive_nsf")(
      "blocks", po::value(&o.num_blocks)->default_value(o.num_blocks),
      "MADE blocks (0: 15 for SED training sets as SEDflow, else 5 as sbi)")(
      "hidden", po::value(&o.hidden_width)->default_value(o.hidden_width),
      "hidden width (0: 500 for SED training sets, else 50)")(
      "made-blocks", po::value(&o.made_blocks)->default_value(o.made_blocks),
      "hidden blocks per MADE (residual blocks per NSF conditioner)")(
      "activation", po::value(&activation), "tanh or relu (default: relu for nsf, else tanh)")(
      "bins", po::value(&o.num_bins)->default_value(o.num_bins),
      "NSF spline bins (0: 8 for SED training sets, else 10)")(
      "batch", po::value(&o.batch_size)->default_value(o.batch_size),
      "batch size (0: 50 for SED training sets, else 200; at most a quarter of the rows)")(
      "lr", po::value(&o.learning_rate)->default_value(o.learning_rate), "Adam learning rate")(
      "max-epochs", po::value(&o.max_epochs)->default_value(o.max_epochs), "")(
      "patience", po::value(&o.patience)->default_value(o.patience),
      "early stopping: epochs without validation improvement")(
      "lr-plateau", po::value(&o.lr_plateau)->default_value(0),
      "halve the rate after this many epochs without improvement (0: never)")(
      "max-rows", po::value(&o.max_rows)->default_value(0), "use at most this many rows")(
      "calibration-sims", po::value(&o.calibration_sims)->default_value(o.calibration_sims),
      "after training, SBC and TARP on this many validation simulations, recorded in the "
      "model (0: none)")("calibration-samples",
                         po::value(&o.calibration_samples)->default_value(o.calibration_samples),
                         "draws per calibration simulation")(
      "bounded-theta", po::value(&o.bounded_theta)->default_value(o.bounded_theta),
      "1: model theta mapped to an unbounded space where the prior bounds it (every draw "
      "inside the prior), or an error; 0: theta as it is (as sbi); -1: 1 for SED training "
      "sets, 0 otherwise")("checkpoint", po::value(&checkpoint),
                           "checkpoint file, written every epoch")(
      "resume", po::bool_switch(&resume), "continue from --checkpoint");
  if (!parse(argc, argv, d, "Trains a posterior estimator (MAF or NSF) on simulations.")) return 0;
  if (resume && checkpoint.empty()) die("--resume needs --checkpoint");
  require_output_file(out, {sims, checkpoint}, "--out", c.overwrite);
  if (!checkpoint.empty()) require_output_file(checkpoint, {sims}, "--checkpoint", true);
  o.estimator = estimator.c_str();
  o.activation = activation.empty() ? nullptr : activation.c_str();
  o.seed = c.seed;
  o.resume = resume ? 1 : 0;
  o.checkpoint_path = checkpoint.empty() ? nullptr : checkpoint.c_str();
  Session s(c.device, c.threads, c.seed, c.quiet);
  check(gml_posterior_train(s.ctx, sims.c_str(), &o, out.c_str()), "train");
  s.bar.close();
  if (!c.quiet) {
    // The network the training set chose when --blocks/--hidden were left at 0.
    std::vector<char> config(1 << 16);
    size_t length = 0;
    check(gml_model_file_config(out.c_str(), config.data(), config.size(), &length), "config");
    const std::string text(config.data());
    auto field = [&](const char* key) {
      const size_t at = text.find(std::string("\"") + key + "\":");
      if (at == std::string::npos) return std::string("?");
      const size_t from = at + std::strlen(key) + 3;
      std::string value = text.substr(from, text.find_first_of(",}", from) - from);
      value.erase(std::remove(value.begin(), value.end(), '"'), value.end());
      return value;
    };
    const bool coupling = field("coupling") == "true";
    std::fprintf(stderr, "wrote %s: %s%s of %s blocks x %s hidden units\n", out.c_str(),
                 field("estimator").c_str(), coupling ? " (spline couplings)" : "",
                 field("num_blocks").c_str(), field("hidden_width").c_str());
    gml_model* model = nullptr;
    check(gml_model_load(s.ctx, out.c_str(), "posterior", &model), "load " + out);
    std::fprintf(stderr, "%s\n", calibration_verdict(model).c_str());
    gml_model_free(model);
  }
  return 0;
}

int cmd_run(int argc, char** argv) {
  Common c;
  gml_posterior_run_options o;
  gml_posterior_run_options_default(&o);
  std::string model_path, catalog, map, out, samples, hdu, plot, backend = "auto", truncate;
  po::options_description d("gml-posterior run");
  add_common(d, c);
  d.add_options()("model,m", po::value(&model_path)->required(), "posterior model file")(
      "catalog", po::value(&catalog)->required(), "FITS catalog")(
      "map", po::value(&map),
      "catalog mapping: fluxes, inverse variances, z (and extinctions) for SED models; "
      "default: the SDSS MODELFLUX columns")("hdu", po::value(&hdu), "catalog HDU")(
      "out,o", po::value(&out)->required(), "FITS table to write")(
      "samples", po::value(&samples), "also write every draw to this HDF5 file")(
      "n-samples", po::value(&o.n_samples)->default_value(o.n_samples), "draws per galaxy")(
      "first-row", po::value(&o.first_row)->default_value(0), "")(
      "max-rows", po::value(&o.max_rows)->default_value(0), "0: all rows")(
      "chunk", po::value(&o.chunk_rows)->default_value(0), "galaxies per work unit (0: auto)")(
      "truncate", po::value(&truncate)->default_value("auto"),
      "replace draws outside the prior's support: auto (where the prior has a bound), on, off")(
      "plot", po::value(&plot), "PNG of the posterior medians (default: OUT with .png)")(
      "backend", po::value(&backend)->default_value("auto"),
      "none, mpi or auto (MPI when started by mpirun)");
  if (!parse(argc, argv, d, "Posteriors for every row of a catalog.")) return 0;
  // Every output is checked before the run: a plot that cannot be written
  // used to abort the tool after an hour of work.
  if (plot.empty()) plot = replace_extension(out, ".png");
  require_output_file(out, {model_path, catalog, samples, plot}, "--out", c.overwrite);
  if (!samples.empty())
    require_output_file(samples, {model_path, catalog, plot}, "--samples", c.overwrite);
  require_output_file(plot, {model_path, catalog}, "--plot", c.overwrite);
  o.seed = c.seed;
  o.truncate = truncate_argument(truncate);
  o.hdu = hdu.empty() ? nullptr : hdu.c_str();
  o.samples_path = samples.empty() ? nullptr : samples.c_str();
  Session s(c.device, c.threads, c.seed, c.quiet, backend);
  int32_t rank = 0, size = 1;
  check(gml_context_rank(s.ctx, &rank, &size), "rank");
  gml_model* model = nullptr;
  check(gml_model_load(s.ctx, model_path.c_str(), "posterior", &model), "load " + model_path);
  if (map.empty()) {
    // The SDSS columns only make sense for a model of SED observations; a
    // model of any other simulator's x needs its own columns.
    if (posterior_observation(model) != "sed_ugriz")
      die(model_path +
          " was not trained on SED observations, so the default SDSS mapping does "
          "not apply: give --map with the catalog column of each x value, e.g. "
          "--map \"x0=COL_A,x1=COL_B[2]\"");
    map = kSdssMap;
  }
  check(gml_posterior_run_catalog(s.ctx, model, catalog.c_str(), map.c_str(), &o, out.c_str()),
        "run");
  s.bar.close();
  if (rank == 0) {
    const RunSummary summary = summarize_run(model, out);
    if (!c.quiet) {
      print_run_summary(summary, out, size);
      std::fprintf(stderr, "model %s (header keywords CALIB, CALNOTE)\n",
                   calibration_verdict(model).c_str());
    }
    plot_run(summary, plot);
    if (!c.quiet) std::fprintf(stderr, "wrote %s\n", plot.c_str());
  }
  gml_model_free(model);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const Tool tool{
      "gml-posterior",
      "Amortized posteriors of galaxy properties for whole catalogs (SEDflow).",
      {{"simulate", "training set from the built-in SED model", cmd_simulate},
       {"import", "training set from simulations in .h5, .fits, .npy/.npz or .csv files",
        cmd_import},
       {"train", "fit a MAF/NSF posterior estimator", cmd_train},
       {"run", "posteriors for every row of a FITS catalog (MPI-aware)", cmd_run},
       {"sample", "draws for observations given with --x or --x-file (.h5, .fits, .npy)",
        cmd_sample},
       {"diagnose", "SBC, expected coverage and TARP on held-out simulations", cmd_diagnose}}};
  return dispatch(tool, argc, argv);
}

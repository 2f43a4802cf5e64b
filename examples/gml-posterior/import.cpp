#include "import.h"

#include <boost/program_options.hpp>

#include <cstdio>
#include <string>
#include <vector>

#include "cli.h"
#include "options.h"
#include "outputs.h"
#include "posterior_common.h"

namespace po = boost::program_options;
using namespace gml_tools;

int cmd_import(int argc, char** argv) {
  Common c;
  std::string sims, x_sims, out, theta = "theta", x = "x", hdu, lower, upper, theta_names, x_names,
                                 prior;
  bool reject = false;
  po::options_description d("gml-posterior import");
  add_common(d, c);
  d.add_options()("sims", po::value(&sims)->required(),
                  "simulations: .h5, .fits, .npz, .csv/.txt, or .npy (theta only; x from "
                  "--x-sims)")("x-sims", po::value(&x_sims), "a second file holding x")(
      "theta", po::value(&theta)->default_value(theta),
      "HDF5 dataset or .npz key of theta; FITS/CSV: comma-separated column names")(
      "x", po::value(&x)->default_value(x),
      "the same for x; FITS/CSV: '*' takes every numeric column theta does not")(
      "hdu", po::value(&hdu), "FITS: extension name or number (default: the first table)")(
      "prior", po::value(&prior),
      "the prior as JSON, or @file.json (docs/posterior.md, \"Priors\"), e.g. "
      "'{\"kind\":\"normal\",\"mean\":[0,0],\"std\":[1,1]}'")(
      "prior-lower", po::value(&lower), "the box prior's lower bounds, comma-separated")(
      "prior-upper", po::value(&upper), "its upper bounds")("theta-names", po::value(&theta_names),
                                                            "labels of theta, comma-separated")(
      "x-names", po::value(&x_names), "labels of x")(
      "reject-nonfinite", po::bool_switch(&reject),
      "fail on rows with NaN or infinity instead of dropping them")(
      "out,o", po::value(&out)->required(), "training set to write (HDF5)");
  if (!parse(argc, argv, d,
             "Brings simulations (theta, x) in from other files as a training set.\n"
             "  gml-posterior import --sims sims.npz --prior-lower -2,-2 --prior-upper 2,2 "
             "--out set.h5\n"
             "  gml-posterior import --sims theta.npy --x-sims x.npy --out set.h5\n"
             "  gml-posterior import --sims sims.csv --theta mass,age --x '*' --out set.h5\n"
             "Then: gml-posterior train --sims set.h5 --out model.h5 (docs/posterior.md)."))
    return 0;
  if (lower.empty() != upper.empty()) die("give both --prior-lower and --prior-upper, or neither");
  require_output_file(out, {sims, x_sims}, "--out", c.overwrite);
  const std::vector<double> lo =
      lower.empty() ? std::vector<double>{} : parse_numbers(lower, "--prior-lower");
  const std::vector<double> hi =
      upper.empty() ? std::vector<double>{} : parse_numbers(upper, "--prior-upper");
  if (lo.size() != hi.size())
    die("--prior-lower has " + std::to_string(lo.size()) + " values, --prior-upper " +
        std::to_string(hi.size()));
  gml_posterior_import_options o;
  gml_posterior_import_options_default(&o);
  o.theta = theta.c_str();
  o.x = x.c_str();
  o.hdu = hdu.empty() ? nullptr : hdu.c_str();
  o.prior_dim = static_cast<int64_t>(lo.size());
  o.prior_lower = lo.empty() ? nullptr : lo.data();
  o.prior_upper = hi.empty() ? nullptr : hi.data();
  o.theta_names = theta_names.empty() ? nullptr : theta_names.c_str();
  o.x_names = x_names.empty() ? nullptr : x_names.c_str();
  o.reject_nonfinite = reject ? 1 : 0;
  if (!prior.empty() && !lower.empty())
    die("give --prior or --prior-lower/--prior-upper, not both");
  const std::string prior_text = prior_argument(prior);
  o.prior = prior_text.empty() ? nullptr : prior_text.c_str();
  Session s(c.device, c.threads, c.seed, c.quiet);
  gml_posterior_import_report r{};
  r.struct_size = sizeof r;
  check(gml_posterior_import(s.ctx, sims.c_str(), x_sims.empty() ? nullptr : x_sims.c_str(), &o,
                             out.c_str(), &r),
        "import");
  if (!c.quiet) {
    std::fprintf(stderr, "wrote %s: %lld rows of theta [%lld] and x [%lld]\n", out.c_str(),
                 (long long)r.rows_written, (long long)r.theta_dim, (long long)r.x_dim);
  }
  // Warnings print even with --quiet: they say the data may not be what the
  // user thinks.
  if (r.rows_nonfinite > 0) {
    std::fprintf(stderr, "warning: dropped %lld of %lld rows holding NaN or infinity\n",
                 (long long)r.rows_nonfinite, (long long)r.rows_read);
  }
  if (r.rows_outside_prior > 0) {
    std::fprintf(stderr,
                 "warning: %lld of %lld rows have theta outside the prior's support; were the "
                 "simulations drawn from this prior?\n",
                 (long long)r.rows_outside_prior, (long long)r.rows_written);
  }
  return 0;
}

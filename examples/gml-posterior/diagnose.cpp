// gml-posterior diagnose: SBC rank histograms, expected coverage and TARP on
// held-out simulations, as FITS tables and PNG plots.
#include "diagnose.h"

#include <boost/program_options.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "cli.h"
#include "options.h"
#include "outputs.h"
#include "plot.h"
#include "posterior_common.h"

namespace po = boost::program_options;
using namespace gml_tools;

namespace {

struct Diagnostics {
  int64_t sims = 0, samples = 0, levels = 0, dims = 0;
  std::vector<int64_t> ranks;    // [sims, dims]
  std::vector<double> pvalue;    // [dims]
  std::vector<double> coverage;  // [levels, dims + 1]
  std::vector<double> tarp_ecp;  // [levels + 1]
  double tarp_atc = 0, tarp_p = 0;
};

void write_table(const std::string& path, const char* extname,
                 const std::vector<std::pair<std::string, const std::vector<double>*>>& cols,
                 int64_t rows, const std::vector<std::pair<std::string, std::string>>& keys) {
  gml_table_writer_options o;
  gml_table_writer_options_default(&o);
  o.extname = extname;
  o.command_line = "gml-posterior diagnose";
  gml_table_writer* w = nullptr;
  check(gml_table_writer_create(path.c_str(), &o, &w), "create " + path);
  std::vector<const void*> data;
  for (const auto& [name, v] : cols) {
    check(gml_table_writer_add_column(w, name.c_str(), GML_COLUMN_FLOAT64, 1, ""), name);
    data.push_back(v->data());
  }
  for (const auto& [k, v] : keys)
    check(gml_table_writer_set_keyword(w, k.c_str(), v.c_str(), ""), k);
  check(gml_table_writer_append(w, rows, data.data()), "append " + path);
  check(gml_table_writer_commit(w), "commit " + path);
  gml_table_writer_free(w);
}

void plot_sbc(const Diagnostics& d, const PosteriorLabels& labels, const std::string& path) {
  const int cols = std::min<int64_t>(4, d.dims),
            rows = static_cast<int>((d.dims + cols - 1) / cols);
  Figure fig(300 * cols, 250 * rows + 40);
  fig.title("SBC rank histograms (" + std::to_string(d.sims) + " simulations, " +
            std::to_string(d.samples) + " draws)");
  const int bins = 20;
  for (int64_t j = 0; j < d.dims; ++j) {
    std::vector<double> r;
    for (int64_t i = 0; i < d.sims; ++i) {
      const int64_t rank = d.ranks[static_cast<size_t>(i * d.dims + j)];
      if (rank >= 0)  // -1: left out, too few draws inside the prior
        r.push_back(static_cast<double>(rank) / static_cast<double>(d.samples + 1));
    }
    Panel p = fig.panel(rows, cols, static_cast<int>(j / cols), static_cast<int>(j % cols));
    p.set_limits(0, 1, 0, 2.2);
    // The 99% band of a uniform histogram's bin heights.
    const double expect = static_cast<double>(d.sims) / bins;
    const double sd = std::sqrt(expect * (1.0 - 1.0 / bins));
    p.hband((expect - 2.58 * sd) / expect, (expect + 2.58 * sd) / expect, kGrey);
    p.histogram(r, kBlue, bins, true);
    char title[128];
    std::snprintf(title, sizeof title, "%s  KS p = %.3f",
                  labels.theta[static_cast<size_t>(j)].c_str(), d.pvalue[static_cast<size_t>(j)]);
    p.set_labels("rank / (L + 1)", "density", title);
    p.axes();
  }
  fig.save(path);
}

void plot_coverage(const Diagnostics& d, const PosteriorLabels& labels, const std::string& path) {
  Figure fig(1000, 460);
  fig.title("calibration on " + std::to_string(d.sims) + " held-out simulations");
  std::vector<double> nominal;
  for (int64_t k = 1; k <= d.levels; ++k)
    nominal.push_back(static_cast<double>(k) / (d.levels + 1));
  Panel p = fig.panel(1, 2, 0, 0);
  p.set_limits(0, 1, 0, 1);
  p.line({0, 1}, {0, 1}, kGrey, 1);
  const Rgb colours[] = {kBlue,
                         kOrange,
                         kGreen,
                         kRed,
                         Rgb{148, 103, 189},
                         Rgb{140, 86, 75},
                         Rgb{227, 119, 194},
                         Rgb{188, 189, 34}};
  std::vector<std::pair<std::string, Rgb>> legend;
  for (int64_t j = 0; j <= d.dims; ++j) {
    std::vector<double> e;
    for (int64_t k = 0; k < d.levels; ++k) {
      e.push_back(d.coverage[static_cast<size_t>(k * (d.dims + 1) + j)]);
    }
    const Rgb c = j == d.dims ? kBlack : colours[j % 8];
    p.line(nominal, e, c, j == d.dims ? 3 : 2);
    legend.push_back({j == d.dims ? "joint HPD" : labels.theta[static_cast<size_t>(j)], c});
  }
  p.legend(legend);
  p.set_labels("credibility level", "empirical coverage", "expected coverage (p-p)");
  p.axes();
  Panel t = fig.panel(1, 2, 0, 1);
  t.set_limits(0, 1, 0, 1);
  t.line({0, 1}, {0, 1}, kGrey, 1);
  std::vector<double> alpha;
  for (int64_t k = 0; k <= d.levels; ++k) alpha.push_back(static_cast<double>(k) / d.levels);
  t.line(alpha, d.tarp_ecp, kBlue, 3);
  char title[128];
  std::snprintf(title, sizeof title, "TARP  ATC = %.3f  KS p = %.3f", d.tarp_atc, d.tarp_p);
  t.set_labels("credibility level", "expected coverage probability", title);
  t.axes();
  fig.save(path);
}

// SBC: the rank of the truth among the draws, per simulation and parameter,
// with the KS p-value of each parameter's ranks as a keyword.
void write_sbc_table(const Diagnostics& d, const PosteriorLabels& labels, const std::string& path) {
  std::vector<std::vector<double>> rank_cols(static_cast<size_t>(d.dims));
  for (int64_t i = 0; i < d.sims; ++i) {
    for (int64_t j = 0; j < d.dims; ++j) {
      rank_cols[static_cast<size_t>(j)].push_back(
          static_cast<double>(d.ranks[static_cast<size_t>(i * d.dims + j)]));
    }
  }
  std::vector<std::pair<std::string, const std::vector<double>*>> cols;
  std::vector<std::pair<std::string, std::string>> keys = {{"NSAMPLES", std::to_string(d.samples)},
                                                           {"NSIMS", std::to_string(d.sims)}};
  for (int64_t j = 0; j < d.dims; ++j) {
    cols.push_back({"RANK_" + column_name(labels.theta[static_cast<size_t>(j)]),
                    &rank_cols[static_cast<size_t>(j)]});
    char p[32];
    std::snprintf(p, sizeof p, "%.6g", d.pvalue[static_cast<size_t>(j)]);
    keys.push_back({"KSP" + std::to_string(j + 1), p});
  }
  write_table(path, "SBC", cols, d.sims, keys);
}

// Expected coverage per credibility level: each parameter's marginal, and
// the joint highest-density region.
void write_coverage_table(const Diagnostics& d, const PosteriorLabels& labels,
                          const std::string& path) {
  std::vector<double> nominal;
  for (int64_t k = 1; k <= d.levels; ++k)
    nominal.push_back(static_cast<double>(k) / (d.levels + 1));
  std::vector<std::vector<double>> cov_cols(static_cast<size_t>(d.dims + 1));
  for (int64_t k = 0; k < d.levels; ++k) {
    for (int64_t j = 0; j <= d.dims; ++j) {
      cov_cols[static_cast<size_t>(j)].push_back(
          d.coverage[static_cast<size_t>(k * (d.dims + 1) + j)]);
    }
  }
  std::vector<std::pair<std::string, const std::vector<double>*>> cols = {{"NOMINAL", &nominal}};
  for (int64_t j = 0; j < d.dims; ++j) {
    cols.push_back({"COVER_" + column_name(labels.theta[static_cast<size_t>(j)]),
                    &cov_cols[static_cast<size_t>(j)]});
  }
  cols.push_back({"COVER_HPD", &cov_cols[static_cast<size_t>(d.dims)]});
  write_table(path, "COVERAGE", cols, d.levels, {});
}

void write_tarp_table(const Diagnostics& d, const std::string& path) {
  std::vector<double> alpha;
  for (int64_t k = 0; k <= d.levels; ++k) alpha.push_back(static_cast<double>(k) / d.levels);
  char atc[32], tp[32];
  std::snprintf(atc, sizeof atc, "%.6g", d.tarp_atc);
  std::snprintf(tp, sizeof tp, "%.6g", d.tarp_p);
  write_table(path, "TARP", {{"ALPHA", &alpha}, {"ECP", &d.tarp_ecp}}, d.levels + 1,
              {{"TARPATC", atc}, {"TARPKSP", tp}});
}

void print_diagnostics(const Diagnostics& d, const PosteriorLabels& labels,
                       const std::string& out_dir) {
  std::fprintf(stderr, "SBC KS p-values:");
  for (int64_t j = 0; j < d.dims; ++j) {
    std::fprintf(stderr, " %s %.3f", labels.theta[static_cast<size_t>(j)].c_str(),
                 d.pvalue[static_cast<size_t>(j)]);
  }
  // The pass rule of the calibration record a model gets when it is trained.
  constexpr double kPass = 0.01;
  std::string failed;
  for (int64_t j = 0; j < d.dims; ++j) {
    if (!(d.pvalue[static_cast<size_t>(j)] > kPass))
      failed += " " + labels.theta[static_cast<size_t>(j)];
  }
  if (!(d.tarp_p > kPass)) failed += " TARP";
  std::fprintf(stderr,
               "\nTARP ATC %.3f, KS p %.3f\ncalibration %s on %lld simulations x %lld draws%s%s\n"
               "wrote %s/{sbc,coverage,tarp}.fits, sbc_ranks.png, coverage_tarp.png\n",
               d.tarp_atc, d.tarp_p, failed.empty() ? "passed" : "FAILED",
               static_cast<long long>(d.sims), static_cast<long long>(d.samples),
               failed.empty() ? " (every KS p > 0.01)" : ": KS p <= 0.01 for", failed.c_str(),
               out_dir.c_str());
}

}  // namespace

int cmd_diagnose(int argc, char** argv) {
  Common c;
  std::string model_path, sims, out_dir = ".", truncate;
  Diagnostics d;
  int64_t first_row = 0;
  d.sims = 500;
  d.samples = 1000;
  d.levels = 20;
  po::options_description desc("gml-posterior diagnose");
  add_common(desc, c);
  desc.add_options()("model,m", po::value(&model_path)->required(), "posterior model file")(
      "sims", po::value(&sims)->required(),
      "held-out simulations (a training-set file the model did not see)")(
      "first-row", po::value(&first_row)->default_value(0), "first simulation used")(
      "n-sims", po::value(&d.sims)->default_value(d.sims), "simulations")(
      "n-samples", po::value(&d.samples)->default_value(d.samples), "draws per simulation")(
      "levels", po::value(&d.levels)->default_value(d.levels), "credibility levels")(
      "truncate", po::value(&truncate)->default_value("auto"),
      "auto|on|off: draws truncated to the prior's support, as a catalog run's (auto: where "
      "the prior has a bound), or the flow's raw draws")(
      "out-dir", po::value(&out_dir)->default_value("."), "where tables and PNGs go");
  if (!parse(argc, argv, desc,
             "Simulation-based calibration, expected coverage and TARP of a posterior model."))
    return 0;
  require_output_dir(out_dir, "--out-dir");
  Session s(c.device, c.threads, c.seed, c.quiet);
  gml_model* model = nullptr;
  check(gml_model_load(s.ctx, model_path.c_str(), "posterior", &model), "load " + model_path);
  check(gml_posterior_dims(model, &d.dims, nullptr), "dims");
  const PosteriorLabels labels = posterior_labels(model);
  d.ranks.resize(static_cast<size_t>(d.sims * d.dims));
  d.pvalue.resize(static_cast<size_t>(d.dims));
  d.coverage.resize(static_cast<size_t>(d.levels * (d.dims + 1)));
  d.tarp_ecp.resize(static_cast<size_t>(d.levels + 1));
  double tarp[2];
  gml_posterior_diagnose_request rq{};
  rq.struct_size = sizeof rq;
  rq.simulations_path = sims.c_str();
  rq.first_row = first_row;
  rq.n_sims = d.sims;
  rq.n_samples = d.samples;
  rq.levels = d.levels;
  rq.seed = c.seed;
  rq.truncate = truncate_argument(truncate);
  gml_posterior_diagnose_result rs{};
  rs.struct_size = sizeof rs;
  rs.ranks = d.ranks.data();
  rs.ranks_capacity = d.ranks.size();
  rs.sbc_pvalue = d.pvalue.data();
  rs.sbc_pvalue_capacity = d.pvalue.size();
  rs.coverage = d.coverage.data();
  rs.coverage_capacity = d.coverage.size();
  rs.tarp_ecp = d.tarp_ecp.data();
  rs.tarp_ecp_capacity = d.tarp_ecp.size();
  rs.tarp_summary = tarp;
  rs.tarp_summary_capacity = 2;
  check(gml_posterior_diagnose_batch(s.ctx, model, &rq, &rs), "diagnose");
  s.bar.close();
  d.tarp_atc = tarp[0];
  d.tarp_p = tarp[1];
  write_sbc_table(d, labels, out_dir + "/sbc.fits");
  write_coverage_table(d, labels, out_dir + "/coverage.fits");
  write_tarp_table(d, out_dir + "/tarp.fits");
  plot_sbc(d, labels, out_dir + "/sbc_ranks.png");
  plot_coverage(d, labels, out_dir + "/coverage_tarp.png");
  if (!c.quiet) print_diagnostics(d, labels, out_dir);
  gml_model_free(model);
  return 0;
}

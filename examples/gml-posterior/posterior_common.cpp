#include "posterior_common.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli.h"
#include "plot.h"

namespace gml_tools {

namespace {

nlohmann::json describe(const gml_model* model) {
  size_t len = 0;
  check(gml_posterior_describe(model, nullptr, 0, &len), "describe");
  std::string text(len + 1, '\0');
  check(gml_posterior_describe(model, text.data(), text.size(), &len), "describe");
  text.resize(len);
  return nlohmann::json::parse(text);
}

}  // namespace

std::string posterior_observation(const gml_model* model) {
  return describe(model).value("observation", "");
}

std::string calibration_verdict(const gml_model* model) {
  const nlohmann::json j = describe(model);
  const auto p = j.find("provenance");
  if (p == j.end() || !p->is_object() || !p->contains("calibration")) {
    return "no calibration record: check the model with gml-posterior diagnose";
  }
  return (*p)["calibration"].value("verdict", "calibration record without a verdict");
}

PosteriorLabels posterior_labels(const gml_model* model) {
  const nlohmann::json j = describe(model);
  PosteriorLabels out;
  out.theta = j.at("theta").get<std::vector<std::string>>();
  // Null is an unbounded side (JSON has no infinity).
  auto side = [&](const char* key, double unbounded) {
    std::vector<double> v;
    for (const auto& e : j.at(key)) v.push_back(e.is_null() ? unbounded : e.get<double>());
    return v;
  };
  out.lower = side("prior_lower", -std::numeric_limits<double>::infinity());
  out.upper = side("prior_upper", std::numeric_limits<double>::infinity());
  int64_t d = 0;
  check(gml_posterior_dims(model, &d, nullptr), "dims");
  for (int64_t i = static_cast<int64_t>(out.theta.size()); i < d; ++i) {
    out.theta.push_back("theta" + std::to_string(i));
  }
  return out;
}

std::string column_name(const std::string& label) {
  std::string s = label;
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

std::string prior_argument(const std::string& arg) {
  if (arg.empty() || arg[0] != '@') return arg;
  std::ifstream in(arg.substr(1));
  if (!in) die("--prior: cannot read '" + arg.substr(1) + "'");
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

int32_t truncate_argument(const std::string& arg) {
  if (arg == "auto") return -1;
  if (arg == "on") return 1;
  if (arg == "off") return 0;
  die("--truncate must be auto, on or off, not '" + arg + "'");
}

std::string replace_extension(const std::string& path, const std::string& ext) {
  const auto dot = path.rfind('.');
  const auto slash = path.rfind('/');
  if (dot == std::string::npos || (slash != std::string::npos && dot < slash)) return path + ext;
  return path.substr(0, dot) + ext;
}

RunSummary summarize_run(const gml_model* model, const std::string& table_path) {
  RunSummary s;
  s.labels = posterior_labels(model);
  gml_catalog* cat = nullptr;
  check(gml_catalog_open(table_path.c_str(), nullptr, &cat), "open " + table_path);
  check(gml_catalog_num_rows(cat, &s.rows), "rows");
  int64_t xd = 0;
  check(gml_posterior_dims(model, nullptr, &xd), "dims");
  std::string mapping = "f=FLAGS,z=X[" + std::to_string(xd - 1) + "]";
  for (const auto& t : s.labels.theta) mapping += "," + t + "=" + column_name(t) + "_MEDIAN";
  const size_t k = 2 + s.labels.theta.size();
  std::vector<double> values(static_cast<size_t>(s.rows) * k);
  check(gml_catalog_read_f64(cat, mapping.c_str(), 0, s.rows, values.data(), values.size(), nullptr,
                             nullptr),
        "read " + table_path);
  gml_catalog_free(cat);
  s.median.assign(s.labels.theta.size(), {});
  for (int64_t i = 0; i < s.rows; ++i) {
    const double* v = values.data() + static_cast<size_t>(i) * k;
    s.flags.push_back(static_cast<int32_t>(v[0]));
    s.redshift.push_back(v[1]);
    for (size_t j = 0; j < s.labels.theta.size(); ++j) s.median[j].push_back(v[2 + j]);
  }
  return s;
}

void print_run_summary(const RunSummary& s, const std::string& path, int ranks) {
  int64_t counts[6] = {0, 0, 0, 0, 0, 0};
  for (int32_t f : s.flags) {
    if (f == 0) ++counts[0];
    if (f & GML_POSTERIOR_FLAG_MISSING) ++counts[1];
    if (f & GML_POSTERIOR_FLAG_BAD_IVAR) ++counts[2];
    if (f & GML_POSTERIOR_FLAG_Z_OUTSIDE_PRIOR) ++counts[3];
    if (f & GML_POSTERIOR_FLAG_OUTSIDE_TRAINING) ++counts[4];
    if (f & GML_POSTERIOR_FLAG_LOW_ACCEPTANCE) ++counts[5];
  }
  std::fprintf(stderr,
               "wrote %s: %lld rows (%d rank%s); clean %lld, missing value %lld, bad ivar %lld, "
               "z outside prior %lld, outside training range %lld, low prior acceptance %lld\n",
               path.c_str(), static_cast<long long>(s.rows), ranks, ranks == 1 ? "" : "s",
               static_cast<long long>(counts[0]), static_cast<long long>(counts[1]),
               static_cast<long long>(counts[2]), static_cast<long long>(counts[3]),
               static_cast<long long>(counts[4]), static_cast<long long>(counts[5]));
}

void plot_run(const RunSummary& s, const std::string& png_path) {
  const size_t d = s.labels.theta.size();
  const int cols = 4, rows = static_cast<int>((d + 1 + cols - 1) / cols);
  Figure fig(300 * cols, 260 * rows + 40);
  fig.title("posterior medians of " + std::to_string(s.rows) + " catalog rows (unflagged)");
  std::vector<bool> use(static_cast<size_t>(s.rows));
  for (int64_t i = 0; i < s.rows; ++i) {
    use[static_cast<size_t>(i)] = s.flags[static_cast<size_t>(i)] == 0;
  }
  for (size_t j = 0; j < d; ++j) {
    std::vector<double> v;
    for (int64_t i = 0; i < s.rows; ++i) {
      const double m = s.median[j][static_cast<size_t>(i)];
      if (use[static_cast<size_t>(i)] && std::isfinite(m)) v.push_back(m);
    }
    Panel p = fig.panel(rows, cols, static_cast<int>(j / cols), static_cast<int>(j % cols));
    // Density axis tall enough for the highest of 30 bins over the prior.
    double lo = j < s.labels.lower.size() ? s.labels.lower[j] : 0.0;
    double hi = j < s.labels.upper.size() ? s.labels.upper[j] : 1.0;
    if (!(std::isfinite(lo) && std::isfinite(hi)) && !v.empty()) {
      lo = *std::min_element(v.begin(), v.end());
      hi = *std::max_element(v.begin(), v.end());
      if (hi <= lo) hi = lo + 1.0;
    }
    std::vector<int64_t> counts(30, 0);
    for (double m : v) {
      const auto b = static_cast<int64_t>((m - lo) / (hi - lo) * 30.0);
      if (b >= 0 && b < 30) ++counts[static_cast<size_t>(b)];
    }
    const double peak = v.empty()
                            ? 1.0
                            : static_cast<double>(*std::max_element(counts.begin(), counts.end())) /
                                  (static_cast<double>(v.size()) * (hi - lo) / 30.0);
    p.set_limits(lo, hi, 0, 1.1 * std::max(peak, 1e-9));
    if (!v.empty()) p.histogram(v, kBlue, 30, true);
    p.set_labels(s.labels.theta[j], "density");
    p.axes();
  }
  // The first parameter (stellar mass for SED models) against redshift.
  std::vector<double> z, m;
  for (int64_t i = 0; i < s.rows; ++i) {
    if (use[static_cast<size_t>(i)] && std::isfinite(s.median[0][static_cast<size_t>(i)])) {
      z.push_back(s.redshift[static_cast<size_t>(i)]);
      m.push_back(s.median[0][static_cast<size_t>(i)]);
    }
  }
  Panel p = fig.panel(rows, cols, static_cast<int>(d / cols), static_cast<int>(d % cols));
  if (!z.empty()) {
    p.autoscale(z, m);
    p.points(z, m, kOrange, 1);
  }
  p.set_labels("redshift (x)", s.labels.theta[0] + " median");
  p.axes();
  fig.save(png_path);
}

}  // namespace gml_tools

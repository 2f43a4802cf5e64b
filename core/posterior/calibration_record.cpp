#include "core/posterior/calibration_record.h"

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "core/common/error.h"
#include "core/posterior/calibration_run.h"

namespace gml::posterior {

namespace {

std::string figure(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, v < 0.001 && v > 0 ? "%.1e" : "%.3g", v);
  return buf;
}

// What the ranks of a failed parameter say, by the larger of the two
// standardised departures from a uniform's mean 1/2 and variance 1/12.
std::string rank_shape(double mean, double variance, int64_t m) {
  const double n = static_cast<double>(std::max<int64_t>(m, 1));
  const double z_mean = (mean - 0.5) / std::sqrt(1.0 / 12.0 / n);
  const double z_var = (variance - 1.0 / 12.0) / std::sqrt(1.0 / 180.0 / n);
  if (std::abs(z_mean) >= std::abs(z_var)) return z_mean > 0 ? "draws too low" : "draws too high";
  return z_var > 0 ? "too narrow" : "too wide";
}

}  // namespace

bool CalibrationRecord::passed() const {
  if (n_sims <= 0 || sbc_pvalue.empty()) return false;
  for (double p : sbc_pvalue) {
    if (!(p > kPassPvalue)) return false;
  }
  return tarp_pvalue > kPassPvalue;
}

size_t CalibrationRecord::worst_parameter() const {
  return static_cast<size_t>(std::min_element(sbc_pvalue.begin(), sbc_pvalue.end()) -
                             sbc_pvalue.begin());
}

std::string CalibrationRecord::verdict() const {
  std::string s = std::string(passed() ? "calibration passed" : "calibration FAILED") + " on " +
                  std::to_string(n_sims) + " " + source + " x " + std::to_string(n_samples) +
                  (truncated ? " draws in the prior" : " draws");
  if (short_sims > 0) s += " (" + std::to_string(short_sims) + " left out: too few inside)";
  s += ": ";
  // The failing parameters by name; when all pass, the weakest one.
  std::vector<size_t> shown;
  for (size_t j = 0; j < sbc_pvalue.size(); ++j) {
    if (!(sbc_pvalue[j] > kPassPvalue)) shown.push_back(j);
  }
  std::sort(shown.begin(), shown.end(),
            [&](size_t a, size_t b) { return sbc_pvalue[a] < sbc_pvalue[b]; });
  if (shown.empty() && !sbc_pvalue.empty()) {
    s += "SBC KS p >= " + figure(sbc_pvalue[worst_parameter()]) + " on all " +
         std::to_string(sbc_pvalue.size()) + " parameters";
  } else {
    s += "SBC KS p = ";
    for (size_t k = 0; k < shown.size(); ++k) {
      const size_t j = shown[k];
      s += (k ? ", " : "") + figure(sbc_pvalue[j]) + " (" +
           (j < names.size() ? names[j] : "theta" + std::to_string(j));
      if (j < rank_mean.size() && j < rank_variance.size())
        s += ": " + rank_shape(rank_mean[j], rank_variance[j], n_sims);
      s += ")";
    }
  }
  s += "; TARP p = " + figure(tarp_pvalue) + ", ATC " + figure(tarp_atc);
  if (!(tarp_pvalue > kPassPvalue)) s += tarp_atc < 0 ? " (over-confident)" : " (under-confident)";
  if (!passed()) s += "; pass: every p > " + figure(kPassPvalue);
  return s;
}

std::string CalibrationRecord::to_json_text() const {
  return nlohmann::json{{"source", source},
                        {"n_sims", n_sims},
                        {"n_samples", n_samples},
                        {"names", names},
                        {"sbc_ks_pvalue", sbc_pvalue},
                        {"rank_mean", rank_mean},
                        {"rank_variance", rank_variance},
                        {"truncated", truncated},
                        {"short_sims", short_sims},
                        {"tarp_ks_pvalue", tarp_pvalue},
                        {"tarp_atc", tarp_atc},
                        {"hpd_coverage_error", hpd_coverage_error},
                        {"pass_pvalue", kPassPvalue},
                        {"passed", passed()},
                        {"verdict", verdict()}}
      .dump();
}

CalibrationRecord CalibrationRecord::from_json_text(const std::string& text) {
  const nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  CalibrationRecord r;
  try {
    if (!j.is_object()) throw std::runtime_error("not a JSON object");
    r.source = j.at("source").get<std::string>();
    r.n_sims = j.at("n_sims").get<int64_t>();
    r.n_samples = j.at("n_samples").get<int64_t>();
    r.names = j.at("names").get<std::vector<std::string>>();
    r.sbc_pvalue = j.at("sbc_ks_pvalue").get<std::vector<double>>();
    r.tarp_pvalue = j.at("tarp_ks_pvalue").get<double>();
    r.tarp_atc = j.at("tarp_atc").get<double>();
    r.hpd_coverage_error = j.value("hpd_coverage_error", 0.0);
    r.rank_mean = j.value("rank_mean", std::vector<double>{});
    r.rank_variance = j.value("rank_variance", std::vector<double>{});
    r.truncated = j.value("truncated", false);
    r.short_sims = j.value("short_sims", int64_t{0});
  } catch (const std::exception& e) {
    fail(Status::Format, std::string("a model's calibration record is unreadable: ") + e.what());
  }
  return r;
}

CalibrationRecord record_calibration(const CalibrationReport& report,
                                     const std::vector<std::string>& names, int64_t n_samples,
                                     const std::string& source) {
  CalibrationRecord r;
  r.source = source;
  r.n_sims = report.sbc.ranks.size(0);
  r.n_samples = n_samples;
  r.names = names;
  const at::Tensor p = report.sbc.ks_pvalue.contiguous();
  r.sbc_pvalue.assign(p.data_ptr<double>(), p.data_ptr<double>() + p.numel());
  r.truncated = report.truncated;
  r.short_sims = report.short_sims;
  const int64_t draws = n_samples;
  const at::Tensor u = (report.sbc.ranks.to(at::kDouble) + 0.5) / static_cast<double>(draws + 1);
  const at::Tensor mean = u.mean(0).contiguous();
  const at::Tensor var = (u - mean).square().mean(0).contiguous();
  r.rank_mean.assign(mean.data_ptr<double>(), mean.data_ptr<double>() + mean.numel());
  r.rank_variance.assign(var.data_ptr<double>(), var.data_ptr<double>() + var.numel());
  r.tarp_pvalue = report.tarp.ks_pvalue;
  r.tarp_atc = report.tarp.atc;
  const at::Tensor emp = report.coverage.empirical;
  const at::Tensor hpd = emp.select(1, emp.size(1) - 1);
  const double err = (hpd - report.coverage.nominal).abs().max().item<double>();
  r.hpd_coverage_error = std::isfinite(err) ? err : 0;
  return r;
}

bool calibration_from_provenance(const std::string& provenance, CalibrationRecord& record) {
  const nlohmann::json j = nlohmann::json::parse(provenance, nullptr, false);
  if (!j.is_object() || !j.contains("calibration")) return false;
  record = CalibrationRecord::from_json_text(j["calibration"].dump());
  return true;
}

}  // namespace gml::posterior

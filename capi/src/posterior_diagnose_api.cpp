// gml_posterior_diagnose: calibration of a posterior model on held-out
// simulations (SBC, expected coverage, TARP).
#include <ATen/ATen.h>

#include <limits>
#include <optional>
#include <string>

#include "capi/src/arrays.h"
#include "capi/src/model_call.h"
#include "runs/posterior/posterior_runs.h"

namespace {

using gml::require;
using gml::capi::copy_out;
namespace post = gml::posterior;

using gml::capi::kUnchecked;
using gml::capi::require_capacity;

void diagnose_into(gml_context& c, const gml_model& m, const gml_posterior_diagnose_request& rq,
                   const gml_posterior_diagnose_result& rs) {
  require(rq.simulations_path != nullptr && *rq.simulations_path,
          "simulations_path must not be NULL or empty");
  require(rs.sbc_pvalue != nullptr, "sbc_pvalue must not be NULL");
  const int64_t first_row = rq.first_row, n_sims = rq.n_sims, levels = rq.levels;
  require(first_row >= 0 && n_sims >= 2 && rq.n_samples >= 2 && levels >= 1,
          "need first_row >= 0, n_sims >= 2, n_samples >= 2 and levels >= 1");
  require(n_sims <= std::numeric_limits<int64_t>::max() - first_row,
          "first_row + n_sims is too large");
  post::PosteriorFlow flow = gml::capi::loaded_as<post::LoadedPosterior>(m).flow;
  const post::PosteriorConfig& cfg = flow->config();
  const int64_t dim = cfg.theta_dim;
  gml::capi::checked_elements({n_sims, dim}, sizeof(int64_t), "ranks");
  gml::capi::checked_elements({rq.n_samples, dim}, sizeof(double), "n_samples draws");
  gml::capi::checked_elements({levels, dim + 1}, sizeof(double), "coverage");
  require_capacity(rs.ranks, rs.ranks_capacity, n_sims * dim, "ranks");
  require_capacity(rs.sbc_pvalue, rs.sbc_pvalue_capacity, dim, "sbc_pvalue");
  require_capacity(rs.coverage, rs.coverage_capacity, levels * (dim + 1), "coverage");
  require_capacity(rs.tarp_ecp, rs.tarp_ecp_capacity, levels + 1, "tarp_ecp");
  require_capacity(rs.tarp_summary, rs.tarp_summary_capacity, 2, "tarp_summary");
  const std::optional<post::TruncationOptions> truncation =
      gml::runs::truncation_for(cfg, rq.truncate, post::TruncationOptions{}.min_acceptance);
  const post::CalibrationReport r = gml::runs::run_posterior_diagnosis(
      flow, rq.simulations_path, first_row, n_sims, rq.n_samples, levels,
      gml::capi::seed_for(c, rq.seed), &c.control, truncation ? &*truncation : nullptr);
  copy_out(r.sbc.ks_pvalue, rs.sbc_pvalue);
  if (r.short_sims > 0 && rs.ranks) {
    // The simulations left out have no rank.
    at::Tensor all = at::full({n_sims, dim}, -1, at::kLong);
    all.index_copy_(0, r.kept, r.sbc.ranks.to(at::kLong));
    copy_out(all, rs.ranks);
  } else {
    copy_out(r.sbc.ranks, rs.ranks);
  }
  copy_out(r.coverage.empirical, rs.coverage);
  copy_out(r.tarp.ecp, rs.tarp_ecp);
  if (rs.tarp_summary) {
    rs.tarp_summary[0] = r.tarp.atc;
    rs.tarp_summary[1] = r.tarp.ks_pvalue;
  }
}

}  // namespace

using gml::capi::batch_call;
using gml::capi::model_call;

extern "C" {

GML_API gml_status gml_posterior_diagnose(gml_context* ctx, const gml_model* model,
                                          const char* simulations_path, int64_t first_row,
                                          int64_t n_sims, int64_t n_samples, int64_t levels,
                                          uint64_t seed, int64_t* ranks, double* sbc_pvalue,
                                          double* coverage, double* tarp_ecp,
                                          double* tarp_summary) {
  return model_call(
      "gml_posterior_diagnose", ctx, model, "posterior", [&](gml_context& c, const gml_model& m) {
        const gml_posterior_diagnose_request rq{sizeof rq, simulations_path, first_row, n_sims,
                                                n_samples, levels,           seed,      0};
        const gml_posterior_diagnose_result rs{sizeof rs,  ranks,        kUnchecked, sbc_pvalue,
                                               kUnchecked, coverage,     kUnchecked, tarp_ecp,
                                               kUnchecked, tarp_summary, kUnchecked};
        diagnose_into(c, m, rq, rs);
      });
}

GML_API gml_status gml_posterior_diagnose_batch(gml_context* ctx, const gml_model* model,
                                                const gml_posterior_diagnose_request* request,
                                                gml_posterior_diagnose_result* result) {
  return batch_call("gml_posterior_diagnose_batch", ctx, model, "posterior", request, result,
                    diagnose_into);
}

}  // extern "C"

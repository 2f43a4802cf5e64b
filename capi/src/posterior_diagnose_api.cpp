// gml_posterior_diagnose: calibration of a posterior model on held-out
// simulations (SBC, expected coverage, TARP).
#include <ATen/ATen.h>

#include <cstring>
#include <limits>
#include <string>

#include "capi/src/context_impl.h"
#include "capi/src/firewall.h"
#include "capi/src/model_impl.h"
#include "capi/src/options.h"
#include "core/common/error.h"
#include "core/common/progress.h"
#include "core/posterior/calibration_run.h"
#include "core/posterior/posterior_file.h"
#include "core/posterior/training_set.h"

using gml::require;
using gml::capi::guard;
namespace post = gml::posterior;

namespace {

template <typename T>
void copy_out(const at::Tensor& t, T* out) {
  if (!out) return;
  const at::Tensor c = t.to(at::kCPU, c10::CppTypeToScalarType<T>::value).contiguous();
  std::memcpy(out, c.data_ptr<T>(), static_cast<size_t>(c.numel()) * sizeof(T));
}

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
  const post::TrainingSet set = post::read_training_set(rq.simulations_path, first_row + n_sims);
  require(set.theta.size(0) == first_row + n_sims,
          std::string(rq.simulations_path) + " holds " + std::to_string(set.theta.size(0)) +
              " complete rows; " + std::to_string(first_row + n_sims) + " needed");
  require(set.info.theta_dim == cfg.theta_dim && set.info.x_dim == cfg.x_dim,
          "the simulations' dimensions differ from the model's");
  gml::Progress progress(&c.control, "diagnose", n_sims, "simulations");
  const post::CalibrationReport r = post::calibrate_posterior(
      flow, set.theta.narrow(0, first_row, n_sims), set.x.narrow(0, first_row, n_sims),
      rq.n_samples, levels, gml::capi::seed_for(c, rq.seed), progress);
  copy_out(r.sbc.ks_pvalue, rs.sbc_pvalue);
  copy_out(r.sbc.ranks, rs.ranks);
  copy_out(r.coverage.empirical, rs.coverage);
  copy_out(r.tarp.ecp, rs.tarp_ecp);
  if (rs.tarp_summary) {
    rs.tarp_summary[0] = r.tarp.atc;
    rs.tarp_summary[1] = r.tarp.ks_pvalue;
  }
}

}  // namespace

extern "C" {

GML_API gml_status gml_posterior_diagnose(gml_context* ctx, const gml_model* model,
                                          const char* simulations_path, int64_t first_row,
                                          int64_t n_sims, int64_t n_samples, int64_t levels,
                                          uint64_t seed, int64_t* ranks, double* sbc_pvalue,
                                          double* coverage, double* tarp_ecp,
                                          double* tarp_summary) {
  return guard("gml_posterior_diagnose", [&] {
    gml_context& c = gml::capi::require_context(ctx);
    const gml_model& m = gml::capi::require_model(c, model, "posterior");
    const gml_posterior_diagnose_request rq{sizeof rq, simulations_path, first_row, n_sims,
                                            n_samples, levels,           seed};
    const gml_posterior_diagnose_result rs{sizeof rs,  ranks,        kUnchecked, sbc_pvalue,
                                           kUnchecked, coverage,     kUnchecked, tarp_ecp,
                                           kUnchecked, tarp_summary, kUnchecked};
    diagnose_into(c, m, rq, rs);
  });
}

GML_API gml_status gml_posterior_diagnose_batch(gml_context* ctx, const gml_model* model,
                                                const gml_posterior_diagnose_request* request,
                                                gml_posterior_diagnose_result* result) {
  return guard("gml_posterior_diagnose_batch", [&] {
    gml_context& c = gml::capi::require_context(ctx);
    const gml_model& m = gml::capi::require_model(c, model, "posterior");
    diagnose_into(c, m, gml::capi::read_request(request, "request"),
                  gml::capi::read_request(result, "result"));
  });
}

}  // extern "C"

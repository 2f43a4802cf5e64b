// gml_posterior_diagnose: calibration of a posterior model on held-out
// simulations (SBC, expected coverage, TARP).
#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <cstring>

#include "capi/src/context_impl.h"
#include "capi/src/firewall.h"
#include "capi/src/model_impl.h"
#include "core/common/error.h"
#include "core/common/progress.h"
#include "core/posterior/diagnostics.h"
#include "core/posterior/posterior_file.h"
#include "core/posterior/posterior_sampling.h"
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
    const gml_model& m = gml::capi::require_model(model, "posterior");
    require(simulations_path != nullptr && *simulations_path,
            "simulations_path must not be NULL or empty");
    require(sbc_pvalue != nullptr, "sbc_pvalue must not be NULL");
    require(first_row >= 0 && n_sims >= 2 && n_samples >= 2 && levels >= 1,
            "need first_row >= 0, n_sims >= 2, n_samples >= 2 and levels >= 1");
    post::PosteriorFlow flow = m.posterior->flow;
    const post::PosteriorConfig& cfg = flow->config();
    const post::TrainingSet set = post::read_training_set(simulations_path, first_row + n_sims);
    require(set.theta.size(0) == first_row + n_sims,
            std::string(simulations_path) + " holds " + std::to_string(set.theta.size(0)) +
                " complete rows; " + std::to_string(first_row + n_sims) + " needed");
    require(set.info.theta_dim == cfg.theta_dim && set.info.x_dim == cfg.x_dim,
            "the simulations' dimensions differ from the model's");
    const at::Tensor theta = set.theta.narrow(0, first_row, n_sims);
    const at::Tensor x = set.x.narrow(0, first_row, n_sims);
    gml::Progress progress(&c.control, "diagnose", n_sims, "simulations");
    post::PosteriorDraws d = post::draw_posterior(flow, x, n_samples, seed, 0, &progress);
    // Densities of the draws and the truths for the highest-density coverage.
    at::Tensor lp_draws, lp_true;
    {
      c10::InferenceMode guard_mode;
      const int64_t dim = cfg.theta_dim;
      lp_draws = at::empty({n_sims, n_samples}, at::kDouble);
      for (int64_t g = 0; g < n_sims; ++g) {
        progress.check_cancel();
        lp_draws[g].copy_(flow->log_prob(d.theta[g].view({n_samples, dim}), x.narrow(0, g, 1)));
      }
      lp_true = at::empty({n_sims}, at::kDouble);
      for (int64_t g = 0; g < n_sims; g += 4096) {
        const int64_t e = std::min(n_sims, g + 4096);
        lp_true.slice(0, g, e).copy_(flow->log_prob(theta.slice(0, g, e), x.slice(0, g, e)));
      }
    }
    progress.finish();
    const post::SbcResult sbc = post::simulation_based_calibration(d.theta, theta, seed + 1);
    const post::CoverageResult cov =
        post::expected_coverage(d.theta, theta, lp_draws, lp_true, levels);
    at::Tensor lo, hi;
    if (!cfg.prior_lower.empty()) {
      lo = at::tensor(cfg.prior_lower, at::kDouble);
      hi = at::tensor(cfg.prior_upper, at::kDouble);
    }
    const post::TarpResult tarp = post::tarp_coverage(d.theta, theta, lo, hi, levels, seed + 2);
    copy_out(sbc.ks_pvalue, sbc_pvalue);
    copy_out(sbc.ranks, ranks);
    copy_out(cov.empirical, coverage);
    copy_out(tarp.ecp, tarp_ecp);
    if (tarp_summary) {
      tarp_summary[0] = tarp.atc;
      tarp_summary[1] = tarp.ks_pvalue;
    }
  });
}

}  // extern "C"

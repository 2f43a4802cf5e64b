// C entry points that bring a host's simulations in as a training set.
#include <ATen/ATen.h>

#include <string>
#include <vector>

#include "capi/src/arrays.h"
#include "capi/src/context_impl.h"
#include "capi/src/firewall.h"
#include "capi/src/options.h"
#include "core/posterior/simulation_import.h"

namespace {

using gml::require;
namespace post = gml::posterior;

struct Import {
  gml_posterior_import_options options;
  post::TrainingSetInfo info;  // prior and labels; dimensions come later
};

Import import_options(const gml_posterior_import_options* opts) {
  Import in{gml::capi::read_options(opts, gml_posterior_import_options_default), {}};
  const gml_posterior_import_options& o = in.options;
  require(o.prior_dim >= 0 && o.prior_dim <= 1024, "opts->prior_dim must be in [0, 1024]");
  if (o.prior_dim > 0) {
    require(o.prior_lower != nullptr && o.prior_upper != nullptr,
            "opts->prior_lower and opts->prior_upper must not be NULL when prior_dim > 0");
    in.info.prior_lower.assign(o.prior_lower, o.prior_lower + o.prior_dim);
    in.info.prior_upper.assign(o.prior_upper, o.prior_upper + o.prior_dim);
  }
  // Its dimension is checked against theta's once the arrays are read.
  if (o.prior) in.info.prior = post::Prior::from_json_text(o.prior);
  in.info.theta_names = gml::capi::list_option(o.theta_names);
  in.info.x_names = gml::capi::list_option(o.x_names);
  return in;
}

void report_import(gml_posterior_import_report* report, const post::TrainingSetImport& r,
                   int64_t theta_dim, int64_t x_dim) {
  gml_posterior_import_report out{};
  out.theta_dim = theta_dim;
  out.x_dim = x_dim;
  out.rows_read = r.rows_read;
  out.rows_written = r.rows_written;
  out.rows_nonfinite = r.rows_nonfinite;
  out.rows_outside_prior = r.rows_outside_prior;
  gml::capi::write_result(report, out);
}

post::NonFiniteRows policy(const gml_posterior_import_options& o) {
  return o.reject_nonfinite ? post::NonFiniteRows::Reject : post::NonFiniteRows::Drop;
}

// Problems with the caller's arrays or options are argument errors; those
// of a file are format errors (gml_posterior_import keeps them).
template <class Body>
void as_argument_errors(Body&& body) {
  try {
    body();
  } catch (const gml::Error& e) {
    if (e.status() != gml::Status::Format) throw;
    gml::fail(gml::Status::InvalidArgument, e.what());
  }
}

}  // namespace

using gml::capi::guard;

extern "C" {

GML_API void gml_posterior_import_options_default(gml_posterior_import_options* opts) {
  if (!gml::capi::start_defaults(opts)) return;
  opts->theta = "theta";
  opts->x = "x";
}

GML_API gml_status gml_posterior_training_set_write(gml_context* ctx, const double* theta,
                                                    const double* x, int64_t n, int64_t theta_dim,
                                                    int64_t x_dim,
                                                    const gml_posterior_import_options* opts,
                                                    const char* path,
                                                    gml_posterior_import_report* report) {
  return guard("gml_posterior_training_set_write", [&] {
    gml::capi::require_context(ctx);
    require(theta != nullptr && x != nullptr, "theta and x must not be NULL");
    require(n >= 1, "n must be >= 1");
    require(theta_dim >= 1 && theta_dim <= 1024, "theta_dim must be in [1, 1024]");
    require(x_dim >= 1 && x_dim <= 16384, "x_dim must be in [1, 16384]");
    gml::capi::checked_elements({n, theta_dim}, sizeof(double), "n x theta_dim parameters");
    gml::capi::checked_elements({n, x_dim}, sizeof(double), "n x x_dim observations");
    require(path != nullptr && *path, "path must not be NULL or empty");
    gml::capi::check_result_struct(report, "report");
    const Import in = import_options(opts);
    // Not copied: the caller's arrays outlive the call.
    const at::Tensor t = at::from_blob(const_cast<double*>(theta), {n, theta_dim}, at::kDouble);
    const at::Tensor o = at::from_blob(const_cast<double*>(x), {n, x_dim}, at::kDouble);
    post::TrainingSetImport r;
    as_argument_errors(
        [&] { r = post::write_training_set(path, t, o, in.info, policy(in.options)); });
    report_import(report, r, theta_dim, x_dim);
  });
}

GML_API gml_status gml_posterior_import(gml_context* ctx, const char* theta_path,
                                        const char* x_path,
                                        const gml_posterior_import_options* opts, const char* path,
                                        gml_posterior_import_report* report) {
  return guard("gml_posterior_import", [&] {
    gml::capi::require_context(ctx);
    require(theta_path != nullptr && *theta_path, "theta_path must not be NULL or empty");
    require(x_path == nullptr || *x_path, "x_path must be NULL or a file, not empty");
    require(path != nullptr && *path, "path must not be NULL or empty");
    gml::capi::check_result_struct(report, "report");
    const Import in = import_options(opts);
    post::SimulationSource source;
    source.theta_path = theta_path;
    source.x_path = x_path ? x_path : "";
    if (in.options.theta && *in.options.theta) source.theta = in.options.theta;
    if (in.options.x && *in.options.x) source.x = in.options.x;
    if (in.options.hdu) source.hdu = in.options.hdu;
    post::Simulations sims = post::read_simulations(source);
    post::TrainingSetInfo info = in.info;
    if (info.theta_names.empty()) info.theta_names = sims.theta_names;
    if (info.x_names.empty()) info.x_names = sims.x_names;
    post::TrainingSetImport r;
    as_argument_errors(
        [&] { r = post::write_training_set(path, sims.theta, sims.x, info, policy(in.options)); });
    report_import(report, r, sims.theta.size(1), sims.x.size(1));
  });
}

}  // extern "C"

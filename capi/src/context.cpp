// Process initialisation, contexts, progress and cancellation.
#include <ATen/ATen.h>
#include <ATen/Context.h>
#include <c10/core/InferenceMode.h>

#include <cmath>
#include <cstddef>
#include <cstring>

#include "capi/src/context_impl.h"
#include "capi/src/firewall.h"
#include "capi/src/handles.h"
#include "capi/src/options.h"
#include "core/common/device.h"
#include "core/common/error.h"
#include "core/common/runtime.h"

namespace gml::capi {

gml_context& require_context(gml_context* ctx, const char* what) {
  require_live_handle(ctx, HandleKind::Context, what);
  return *ctx;
}
const gml_context& require_context(const gml_context* ctx, const char* what) {
  require_live_handle(ctx, HandleKind::Context, what);
  return *ctx;
}
gml_context* optional_context(gml_context* ctx, const char* what) {
  if (ctx != nullptr) require_live_handle(ctx, HandleKind::Context, what);
  return ctx;
}

namespace {

at::Generator make_generator(const c10::Device& device, uint64_t seed) {
  at::Generator g = at::globalContext().defaultGenerator(device).clone();
  g.set_current_seed(seed);
  return g;
}

}  // namespace
}  // namespace gml::capi

using gml::capi::guard;

static_assert(GML_MAX_THREADS == gml::kMaxThreads, "header and runtime thread bounds differ");

// gml_progress is gml::ProgressReport field for field.
// clang-format off
#define GML_PROGRESS_FIELDS(X) \
  X(stage, stage) X(done, done) X(total, total) X(unit, unit) \
  X(elapsed_s, elapsed_s) X(rate, rate) X(eta_s, eta_s) X(metric, metric) \
  X(metric_name, metric_name) X(detail, detail)
// clang-format on
static constexpr auto kProgressFields = GML_FIELD_LINKS(GML_PROGRESS_FIELDS);

extern "C" {

GML_API void gml_init_options_default(gml_init_options* opts) {
  if (!gml::capi::start_defaults(opts)) return;
  opts->num_threads = 0;
  opts->log_level = GML_LOG_WARNING;
  opts->log_fn = nullptr;
  opts->log_user = nullptr;
  opts->seed = 0;
}

GML_API gml_status gml_init(const gml_init_options* opts) {
  return guard("gml_init", [&] {
    gml::RuntimeOptions r;
    if (opts) {
      const auto o = gml::capi::read_options(opts, gml_init_options_default);
      r.num_threads = o.num_threads;
      r.log_level = static_cast<gml::LogLevel>(o.log_level);
      if (o.log_fn) {
        gml_log_fn fn = o.log_fn;
        void* user = o.log_user;
        r.log_sink = [fn, user](gml::LogLevel level, const std::string& msg) {
          fn(static_cast<int32_t>(level), msg.c_str(), user);
        };
      }
      r.seed = o.seed;
    }
    gml::init_runtime(r);
  });
}

GML_API int32_t gml_num_threads(void) {
  return gml::runtime_threads();
}

GML_API void gml_context_options_default(gml_context_options* opts) {
  if (!gml::capi::start_defaults(opts)) return;
  opts->device = "auto";
  opts->seed = 0;
  opts->seed_from_init = 1;
  opts->backend = "none";
}

GML_API gml_status gml_context_create(const gml_context_options* opts, gml_context** out) {
  return guard("gml_context_create", [&] {
    gml::require(out != nullptr, "out must not be NULL");
    const auto o = gml::capi::read_options(opts, gml_context_options_default);
    gml::require(o.device != nullptr, "opts->device must not be NULL (use \"auto\")");
    gml::require(o.backend != nullptr, "opts->backend must not be NULL (use \"none\")");
    gml::ensure_runtime();
    auto ctx = std::make_unique<gml_context>();
    ctx->device = gml::resolve_device(o.device);
    ctx->seed = o.seed_from_init ? gml::runtime_seed() : o.seed;
    ctx->backend = gml::dist::open_backend(o.backend);
    *out = gml::capi::publish(std::move(ctx), gml::capi::HandleKind::Context);
  });
}

GML_API void gml_context_free(gml_context* ctx) {
  if (gml::capi::retire_handle(ctx, gml::capi::HandleKind::Context, "gml_context_free")) delete ctx;
}

GML_API gml_status gml_context_device(const gml_context* ctx, char* buf, size_t capacity,
                                      size_t* length) {
  std::string name;
  gml_status s = guard("gml_context_device",
                       [&] { name = gml::device_name(gml::capi::require_context(ctx).device); });
  if (s != GML_OK) return s;
  return gml::capi::copy_string_out("gml_context_device", name, buf, capacity, length);
}

GML_API gml_status gml_context_rank(const gml_context* ctx, int32_t* rank, int32_t* size) {
  return guard("gml_context_rank", [&] {
    const gml_context& c = gml::capi::require_context(ctx);
    const int32_t r = c.backend ? c.backend->rank() : 0;
    const int32_t n = c.backend ? c.backend->size() : 1;
    if (rank) *rank = r;
    if (size) *size = n;
  });
}

GML_API gml_status gml_context_set_progress(gml_context* ctx, gml_progress_fn fn, void* user) {
  return guard("gml_context_set_progress", [&] {
    gml_context& c = gml::capi::require_context(ctx);
    if (!fn) {
      c.control.set_sink(nullptr);
      return;
    }
    c.control.set_sink([fn, user](const gml::ProgressReport& r) -> int {
      gml_progress p{};
      p.struct_size = sizeof p;
      gml::capi::publish_fields(kProgressFields, p, r);
      return fn(&p, user);
    });
  });
}

GML_API gml_status gml_cancel(gml_context* ctx) {
  return guard("gml_cancel", [&] { gml::capi::require_context(ctx).control.request_cancel(); });
}

GML_API gml_status gml_cancel_reset(gml_context* ctx) {
  return guard("gml_cancel_reset", [&] { gml::capi::require_context(ctx).control.reset_cancel(); });
}

GML_API gml_status gml_context_selftest(gml_context* ctx, int64_t n_steps, double* checksum) {
  return guard("gml_context_selftest", [&] {
    gml_context& c = gml::capi::require_context(ctx);
    gml::require(n_steps >= 1, "n_steps must be >= 1");
    c10::InferenceMode inference;
    gml::Progress progress(&c.control, "selftest", n_steps, "steps", "trace");
    at::Generator gen = gml::capi::make_generator(c.device, c.seed);
    const auto opts = at::TensorOptions().dtype(at::kFloat).device(c.device);
    double acc = 0.0;
    for (int64_t step = 0; step < n_steps; ++step) {
      // A Gram matrix's trace is the squared Frobenius norm: a value that
      // exercises the device's RNG and BLAS and that every device agrees on
      // to float precision.
      at::Tensor x = at::randn({128, 128}, gen, opts);
      const double trace = at::matmul(x, x.t()).trace().item<double>();
      acc += trace / (128.0 * 128.0);
      progress.update(step + 1, trace);
    }
    progress.finish();
    if (checksum) *checksum = acc / static_cast<double>(n_steps);
  });
}

}  // extern "C"

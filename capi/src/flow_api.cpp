// C entry points of the flow family (GalacticFlow).
#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>

#include "capi/src/context_impl.h"
#include "capi/src/firewall.h"
#include "capi/src/model_impl.h"
#include "capi/src/options.h"
#include "core/common/error.h"
#include "core/common/progress.h"
#include "core/common/runtime.h"
#include "core/flow/flow_file.h"
#include "core/flow/galaxy_generator.h"
#include "core/flow/mmd.h"
#include "core/flow/star_table.h"
#include "core/flow/table_config.h"
#include "core/flow/training.h"

namespace {

using gml::require;

constexpr int64_t kChunk = gml::flow::kDefaultChunkRows;

gml::flow::ConditionalFlow& flow_of(const gml_model& m) {
  return gml::capi::loaded_as<gml::flow::LoadedFlow>(m).flow;
}

// Rows of `values` that are not finite, reported by the first one.
void require_finite(const at::Tensor& values, const char* what) {
  at::Tensor bad = at::isfinite(values).logical_not();
  if (bad.dim() > 1) bad = bad.any(1);
  if (bad.any().item<bool>()) {
    const int64_t row = at::nonzero(bad)[0][0].item<int64_t>();
    gml::fail(gml::Status::InvalidArgument,
              std::string(what) + " has NaN or Inf (first at row " + std::to_string(row) + ")");
  }
}

at::Tensor conditions_tensor(const double* conditions, int64_t rows, int64_t dim) {
  require(conditions != nullptr, "conditions must not be NULL");
  gml::capi::checked_elements({rows, dim}, sizeof(double), "conditions");
  at::Tensor c = at::from_blob(const_cast<double*>(conditions), {rows, dim}, at::kDouble).clone();
  require_finite(c, "conditions");
  return c;
}

// Distance of each galaxy's conditions outside the training range, in units
// of that range; the model extrapolates where it is > 0.
at::Tensor outside_range(const gml_model& m, const at::Tensor& c) {
  const auto& ex = gml::capi::loaded_as<gml::flow::LoadedFlow>(m).extras;
  if (!ex.condition_min.defined()) return at::zeros({c.size(0)}, at::kDouble);
  at::Tensor lo = ex.condition_min.to(at::kDouble), hi = ex.condition_max.to(at::kDouble);
  at::Tensor span = (hi - lo).clamp_min(1e-12);
  at::Tensor below = (lo - c).clamp_min(0) / span, above = (c - hi).clamp_min(0) / span;
  return std::get<0>(at::maximum(below, above).max(1));
}

void warn_outside(const at::Tensor& out) {
  const double worst = out.max().item<double>();
  if (worst > 0) {
    const int64_t n = (out > 0).sum().item<int64_t>();
    char buf[200];
    std::snprintf(buf, sizeof buf,
                  "flow: %lld galaxy condition row(s) outside the training range, up to %.2f "
                  "range widths; samples there are extrapolations",
                  static_cast<long long>(n), worst);
    gml::log_warning(buf);
  }
}

std::vector<std::string> names_or_default(const std::vector<std::string>& names, int64_t n,
                                          const char* prefix) {
  if (static_cast<int64_t>(names.size()) == n) return names;
  std::vector<std::string> out;
  for (int64_t i = 0; i < n; ++i) out.push_back(prefix + std::to_string(i));
  return out;
}

}  // namespace

using gml::capi::guard;

extern "C" {

GML_API gml_status gml_flow_dims(const gml_model* model, int64_t* data_dim,
                                 int64_t* condition_dim) {
  return guard("gml_flow_dims", [&] {
    const gml_model& m = gml::capi::require_model(model, "flow");
    if (data_dim) *data_dim = flow_of(m)->config().data_dim;
    if (condition_dim) *condition_dim = flow_of(m)->config().condition_dim;
  });
}

GML_API gml_status gml_flow_describe(const gml_model* model, char* buf, size_t capacity,
                                     size_t* length) {
  std::string text;
  gml_status s = guard("gml_flow_describe", [&] {
    const gml_model& m = gml::capi::require_model(model, "flow");
    const auto& cfg = flow_of(m)->config();
    nlohmann::json j;
    j["data"] = names_or_default(cfg.column_names, cfg.data_dim, "x");
    j["conditions"] = names_or_default(cfg.condition_names, cfg.condition_dim, "c");
    const auto& ex = gml::capi::loaded_as<gml::flow::LoadedFlow>(m).extras;
    if (ex.condition_min.defined()) {
      at::Tensor lo = ex.condition_min.to(at::kDouble).contiguous();
      at::Tensor hi = ex.condition_max.to(at::kDouble).contiguous();
      j["condition_min"] =
          std::vector<double>(lo.data_ptr<double>(), lo.data_ptr<double>() + lo.numel());
      j["condition_max"] =
          std::vector<double>(hi.data_ptr<double>(), hi.data_ptr<double>() + hi.numel());
    }
    j["checksum"] = m.checksum;
    text = j.dump();
  });
  if (s != GML_OK) return s;
  return gml::capi::copy_string_out("gml_flow_describe", text, buf, capacity, length);
}

GML_API gml_status gml_flow_sample(gml_context* ctx, const gml_model* model,
                                   const double* conditions, int64_t n_galaxies,
                                   int64_t n_per_galaxy, uint64_t seed, float* stars,
                                   size_t capacity, double* outside) {
  return guard("gml_flow_sample", [&] {
    gml_context& c = gml::capi::require_context(ctx);
    seed = gml::capi::seed_for(c, seed);
    const gml_model& m = gml::capi::require_model(c, model, "flow");
    require(n_galaxies >= 1, "n_galaxies must be >= 1");
    require(n_per_galaxy >= 0, "n_per_galaxy must be >= 0");
    const int64_t d = flow_of(m)->config().data_dim;
    const int64_t cd = flow_of(m)->config().condition_dim;
    require(n_per_galaxy <= INT64_MAX / n_galaxies / d, "n_galaxies * n_per_galaxy is too large");
    const int64_t total = n_galaxies * n_per_galaxy;
    require(stars != nullptr || total == 0, "stars must not be NULL");
    if (static_cast<uint64_t>(total * d) > capacity) {
      gml::fail(gml::Status::Capacity, "stars holds " + std::to_string(capacity) + " floats; " +
                                           std::to_string(total * d) + " needed");
    }
    at::Tensor cond = conditions_tensor(conditions, n_galaxies, cd);
    at::Tensor out_range = outside_range(m, cond);
    warn_outside(out_range);
    c10::InferenceMode inference;
    gml::Progress progress(&c.control, "sample", total, "stars");
    at::Generator gen = at::detail::createCPUGenerator(seed);
    // Chunks go straight into the caller's buffer: a scratch copy would
    // double the memory of a large sample. The header states that on an
    // error after sampling began the buffer's contents are unspecified.
    for (int64_t g = 0; g < n_galaxies; ++g) {
      flow_of(m)->sample_chunks(cond[g], n_per_galaxy, gen, kChunk,
                                [&](int64_t first, const at::Tensor& chunk) {
                                  at::Tensor cpu = chunk.to(at::kCPU, at::kFloat).contiguous();
                                  std::memcpy(stars + (g * n_per_galaxy + first) * d,
                                              cpu.data_ptr<float>(), cpu.numel() * sizeof(float));
                                  progress.update(g * n_per_galaxy + first + chunk.size(0));
                                });
    }
    progress.finish();
    if (outside) {
      at::Tensor o = out_range.contiguous();
      std::memcpy(outside, o.data_ptr<double>(), static_cast<size_t>(n_galaxies) * sizeof(double));
    }
  });
}

GML_API gml_status gml_flow_sample_to_file(gml_context* ctx, const gml_model* model,
                                           const double* conditions, int64_t n_galaxies,
                                           int64_t n_per_galaxy, uint64_t seed, const char* path) {
  return guard("gml_flow_sample_to_file", [&] {
    gml_context& c = gml::capi::require_context(ctx);
    seed = gml::capi::seed_for(c, seed);
    const gml_model& m = gml::capi::require_model(c, model, "flow");
    require(path != nullptr && *path, "path must not be NULL or empty");
    require(n_galaxies >= 1, "n_galaxies must be >= 1");
    require(n_per_galaxy >= 0, "n_per_galaxy must be >= 0");
    const auto& cfg = flow_of(m)->config();
    gml::capi::checked_elements({n_galaxies, n_per_galaxy, cfg.data_dim}, sizeof(float),
                                "n_galaxies x n_per_galaxy stars");
    at::Tensor cond = conditions_tensor(conditions, n_galaxies, cfg.condition_dim);
    warn_outside(outside_range(m, cond));
    nlohmann::json prov = {{"model", m.path},
                           {"model_checksum", m.checksum},
                           {"seed", seed},
                           {"command", "gml_flow_sample_to_file"}};
    auto writer = gml::flow::open_star_table_writer(
        path, names_or_default(cfg.column_names, cfg.data_dim, "x"),
        cfg.column_names == gml::flow::FlowConfig::galactic_flow().column_names
            ? std::vector<std::string>(gml::flow::kColumnUnits.begin(),
                                       gml::flow::kColumnUnits.end())
            : std::vector<std::string>{},
        names_or_default(cfg.condition_names, cfg.condition_dim, "c"), prov.dump());
    c10::InferenceMode inference;
    const int64_t total = n_galaxies * n_per_galaxy;
    gml::Progress progress(&c.control, "sample", total, "stars");
    at::Generator gen = at::detail::createCPUGenerator(seed);
    for (int64_t g = 0; g < n_galaxies; ++g) {
      flow_of(m)->sample_chunks(cond[g], n_per_galaxy, gen, kChunk,
                                [&](int64_t first, const at::Tensor& chunk) {
                                  at::Tensor cpu = chunk.to(at::kCPU, at::kFloat).contiguous();
                                  writer->append(cpu.data_ptr<float>(), cpu.size(0), g);
                                  progress.update(g * n_per_galaxy + first + chunk.size(0));
                                });
    }
    // The last report may still cancel; once the file is committed no
    // status but GML_OK may be returned (the header promises no file on
    // error).
    progress.finish();
    writer->commit(at::arange(n_galaxies, at::kLong), cond);
  });
}

GML_API gml_status gml_flow_log_prob(gml_context* ctx, const gml_model* model, const float* stars,
                                     int64_t n, const double* conditions, int64_t n_conditions,
                                     double* log_prob) {
  return guard("gml_flow_log_prob", [&] {
    gml_context& c = gml::capi::require_context(ctx);
    const gml_model& m = gml::capi::require_model(c, model, "flow");
    require(n >= 0, "n must be >= 0");
    require(n == 0 || (stars != nullptr && log_prob != nullptr),
            "stars and log_prob must not be NULL");
    require(n_conditions == 1 || n_conditions == n,
            "n_conditions must be 1 (one galaxy) or n (one row per star)");
    const auto& cfg = flow_of(m)->config();
    at::Tensor cond = conditions_tensor(conditions, n_conditions, cfg.condition_dim);
    if (n == 0) return;
    gml::capi::checked_elements({n, cfg.data_dim}, sizeof(float), "stars");
    at::Tensor x = at::from_blob(const_cast<float*>(stars), {n, cfg.data_dim}, at::kFloat);
    require_finite(x, "stars");
    c10::InferenceMode inference;
    gml::Progress progress(&c.control, "log_prob", n, "stars");
    std::vector<double> result(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; i += kChunk) {
      const int64_t e = std::min(n, i + kChunk);
      at::Tensor ci = n_conditions == 1 ? cond : cond.slice(0, i, e);
      at::Tensor lp = flow_of(m)->evaluate_log_prob(x.slice(0, i, e), ci, kChunk);
      at::Tensor cpu = lp.to(at::kCPU, at::kDouble).contiguous();
      std::memcpy(result.data() + i, cpu.data_ptr<double>(),
                  static_cast<size_t>(e - i) * sizeof(double));
      progress.update(e);
    }
    progress.finish();
    std::memcpy(log_prob, result.data(), result.size() * sizeof(double));
  });
}

GML_API void gml_flow_train_options_default(gml_flow_train_options* opts) {
  if (!opts) return;
  std::memset(opts, 0, sizeof *opts);
  gml::flow::TrainOptions d;
  opts->struct_size = sizeof *opts;
  opts->steps = d.steps;
  opts->batch_size = d.batch_size;
  opts->learning_rate = d.lr;
  opts->validation_galaxies = 0;
  opts->eval_every = d.eval_every;
  opts->checkpoint_path = nullptr;
  opts->checkpoint_every = d.checkpoint_every;
  opts->resume = 0;
  opts->config_json = nullptr;
  opts->seed = 0;
  opts->max_stars_per_galaxy = 0;
}

GML_API gml_status gml_flow_train(gml_context* ctx, const char* stars_path,
                                  const gml_flow_train_options* opts, const char* model_path) {
  return guard("gml_flow_train", [&] {
    gml_context& c = gml::capi::require_context(ctx);
    require(stars_path != nullptr, "stars_path must not be NULL");
    require(model_path != nullptr && *model_path, "model_path must not be NULL or empty");
    auto o = gml::capi::read_options(opts, gml_flow_train_options_default);
    o.seed = gml::capi::seed_for(c, o.seed);
    at::Generator gen = at::detail::createCPUGenerator(o.seed);
    gml::flow::StarTable table =
        gml::flow::read_star_table(stars_path, o.max_stars_per_galaxy, &gen);
    gml::flow::FlowConfig config =
        gml::flow::config_for_table(table, o.config_json ? o.config_json : "");
    gml::flow::ConditionalFlow flow(config, o.seed);
    gml::flow::TrainOptions t;
    t.steps = o.steps;
    t.batch_size = o.batch_size;
    t.lr = o.learning_rate;
    t.validation_galaxies = o.validation_galaxies;
    t.eval_every = o.eval_every;
    t.checkpoint_path = o.checkpoint_path ? o.checkpoint_path : "";
    t.checkpoint_every = o.checkpoint_every;
    t.resume = o.resume != 0;
    t.seed = o.seed;
    gml::flow::TrainReport report =
        gml::flow::train_flow(flow, table.to_star_set(), t, &c.control, c.device);
    gml::flow::FlowFileExtras extras;
    extras.condition_min = report.condition_min;
    extras.condition_max = report.condition_max;
    extras.provenance = nlohmann::json{
        {"data", stars_path},
        {"command", "gml_flow_train"},
        {"steps", t.steps},
        {"batch_size", t.batch_size},
        {"seed", t.seed}}.dump();
    extras.training = nlohmann::json{{"steps", report.steps},
                                     {"train_loss", report.train_loss},
                                     {"validation_loss", report.validation_loss},
                                     {"validation_history", report.validation_history},
                                     {"validation_galaxies", report.validation_galaxy_ids}}
                          .dump();
    flow->to(at::kCPU);
    gml::flow::save_flow(model_path, flow, extras);
  });
}

GML_API gml_status gml_flow_simulate(gml_context* ctx, int64_t n_galaxies, int64_t n_stars,
                                     const double* conditions, uint64_t seed, const char* path) {
  return guard("gml_flow_simulate", [&] {
    gml_context& c = gml::capi::require_context(ctx);
    seed = gml::capi::seed_for(c, seed);
    require(n_galaxies >= 1, "n_galaxies must be >= 1");
    require(n_stars >= 1, "n_stars must be >= 1");
    gml::capi::checked_elements(
        {n_galaxies, n_stars, static_cast<int64_t>(gml::flow::kColumnNames.size())}, sizeof(float),
        "n_galaxies x n_stars stars");
    require(path != nullptr && *path, "path must not be NULL or empty");
    at::Generator gen = at::detail::createCPUGenerator(seed);
    at::Tensor cond = conditions
                          ? conditions_tensor(conditions, n_galaxies, gml::flow::kNumConditions)
                          : gml::flow::random_conditions(n_galaxies, gen);
    for (int64_t g = 0; g < n_galaxies; ++g) {
      gml::flow::GalaxyConditions::from_tensor(cond[g]).validate();
    }
    nlohmann::json prov = {{"generator", "galaxyml synthetic galaxies (docs/flow_generator.md)"},
                           {"seed", seed},
                           {"command", "gml_flow_simulate"}};
    auto writer = gml::flow::open_star_table_writer(
        path, {gml::flow::kColumnNames.begin(), gml::flow::kColumnNames.end()},
        {gml::flow::kColumnUnits.begin(), gml::flow::kColumnUnits.end()},
        {gml::flow::kConditionNames.begin(), gml::flow::kConditionNames.end()}, prov.dump());
    gml::Progress progress(&c.control, "simulate", n_galaxies * n_stars, "stars");
    for (int64_t g = 0; g < n_galaxies; ++g) {
      at::Tensor stars = gml::flow::generate_galaxy(
                             gml::flow::GalaxyConditions::from_tensor(cond[g]), n_stars, gen)
                             .to(at::kFloat)
                             .contiguous();
      writer->append(stars.data_ptr<float>(), n_stars, g);
      progress.update((g + 1) * n_stars);
    }
    // The last report may still cancel; once the file is committed no
    // status but GML_OK may be returned (the header promises no file on
    // error).
    progress.finish();
    writer->commit(at::arange(n_galaxies, at::kLong), cond);
  });
}

}  // extern "C"

namespace {

// Stars and conditions of one galaxy of a table; Error(NotFound) if absent.
std::pair<at::Tensor, at::Tensor> galaxy_of(const gml::flow::StarTable& t, int64_t id,
                                            const std::string& path) {
  at::Tensor rows = at::nonzero(t.galaxy == id).flatten();
  at::Tensor grow = at::nonzero(t.galaxy_ids == id).flatten();
  if (rows.numel() == 0 || grow.numel() == 0) {
    gml::fail(gml::Status::NotFound,
              "galaxy " + std::to_string(id) + " is not in star table '" + path + "'");
  }
  return {t.data.index_select(0, rows), t.galaxy_conditions[grow[0].item<int64_t>()]};
}

}  // namespace

extern "C" {

GML_API gml_status gml_flow_read_galaxy(const char* path, int64_t galaxy_id, float* stars,
                                        size_t capacity, int64_t* n_stars, int64_t* data_dim,
                                        double* conditions, size_t conditions_capacity) {
  return guard("gml_flow_read_galaxy", [&] {
    require(path != nullptr, "path must not be NULL");
    require(stars != nullptr || capacity == 0, "stars is NULL but capacity > 0");
    gml::flow::StarTable t = gml::flow::read_star_table(path);
    auto [x, c] = galaxy_of(t, galaxy_id, path);
    const size_t need = static_cast<size_t>(x.numel());
    if (stars) {
      if (capacity < need) {
        gml::fail(gml::Status::Capacity, "stars holds " + std::to_string(capacity) + " floats; " +
                                             std::to_string(need) + " needed");
      }
      if (conditions && conditions_capacity < static_cast<size_t>(c.numel())) {
        gml::fail(gml::Status::Capacity, "conditions holds " + std::to_string(conditions_capacity) +
                                             " values; " + std::to_string(c.numel()) + " needed");
      }
      at::Tensor xf = x.to(at::kFloat).contiguous();
      std::memcpy(stars, xf.data_ptr<float>(), need * sizeof(float));
    }
    if (conditions && conditions_capacity >= static_cast<size_t>(c.numel())) {
      at::Tensor cd = c.to(at::kDouble).contiguous();
      std::memcpy(conditions, cd.data_ptr<double>(),
                  static_cast<size_t>(cd.numel()) * sizeof(double));
    }
    if (n_stars) *n_stars = x.size(0);
    if (data_dim) *data_dim = x.size(1);
  });
}

GML_API gml_status gml_flow_evaluate(gml_context* ctx, const gml_model* model,
                                     const char* stars_path, int64_t galaxy_id, int64_t n_samples,
                                     uint64_t seed, int64_t* galaxy_ids, double* delta_log_mass,
                                     double* mmd, size_t capacity, int64_t* n_galaxies) {
  return guard("gml_flow_evaluate", [&] {
    gml_context& c = gml::capi::require_context(ctx);
    seed = gml::capi::seed_for(c, seed);
    const gml_model& m = gml::capi::require_model(c, model, "flow");
    require(stars_path != nullptr, "stars_path must not be NULL");
    require(n_samples >= 2, "n_samples must be >= 2");
    gml::capi::checked_elements({n_samples, flow_of(m)->config().data_dim}, sizeof(double),
                                "n_samples draws");
    const bool query = !galaxy_ids && !delta_log_mass && !mmd && capacity == 0;
    require(query || (galaxy_ids && delta_log_mass && mmd),
            "galaxy_ids, delta_log_mass and mmd must all be given (or all NULL to query)");
    gml::flow::StarTable t = gml::flow::read_star_table(stars_path);
    require(t.columns.size() == static_cast<size_t>(flow_of(m)->config().data_dim) &&
                t.condition_names.size() == static_cast<size_t>(flow_of(m)->config().condition_dim),
            "star table columns do not match the model's dimensions");
    const int64_t g = t.galaxy_ids.size(0);
    if (n_galaxies) *n_galaxies = g;
    if (query) return;
    if (capacity < static_cast<size_t>(g)) {
      gml::fail(gml::Status::Capacity, "outputs hold " + std::to_string(capacity) +
                                           " galaxies; the table has " + std::to_string(g));
    }
    auto [ref_stars, ref_cond] = galaxy_of(t, galaxy_id, stars_path);
    (void)ref_stars;
    c10::InferenceMode inference;
    gml::Progress progress(&c.control, "evaluate", g, "galaxies", "mmd");
    at::Generator gen = at::detail::createCPUGenerator(seed);
    const auto& norm = flow_of(m)->data_transform();
    at::Tensor sample = flow_of(m)->sample(ref_cond, n_samples, gen).to(at::kDouble);
    at::Tensor gen_u = norm.forward(sample).values;
    std::vector<int64_t> ids(static_cast<size_t>(g));
    std::vector<double> dm(static_cast<size_t>(g)), out(static_cast<size_t>(g));
    for (int64_t i = 0; i < g; ++i) {
      const int64_t id = t.galaxy_ids[i].item<int64_t>();
      auto [stars, cond] = galaxy_of(t, id, stars_path);
      // Shuffle rows: the estimator pairs consecutive rows.
      at::Tensor perm = at::randperm(stars.size(0), gen, at::kLong);
      at::Tensor data_u = norm.forward(stars.index_select(0, perm).to(at::kDouble)).values;
      ids[static_cast<size_t>(i)] = id;
      dm[static_cast<size_t>(i)] = (cond[0] - ref_cond[0]).item<double>();
      out[static_cast<size_t>(i)] = gml::flow::linear_mmd2(gen_u, data_u);
      progress.update(i + 1, out[static_cast<size_t>(i)]);
    }
    progress.finish();
    std::memcpy(galaxy_ids, ids.data(), ids.size() * sizeof(int64_t));
    std::memcpy(delta_log_mass, dm.data(), dm.size() * sizeof(double));
    std::memcpy(mmd, out.data(), out.size() * sizeof(double));
  });
}

}  // extern "C"

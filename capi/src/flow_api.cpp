// C entry points of the flow family (GalacticFlow).
#include <cstring>

#include "capi/src/arrays.h"
#include "capi/src/model_call.h"
#include "capi/src/options.h"
#include "runs/flow/flow_runs.h"

using gml::require;
using gml::capi::guard;
using gml::capi::model_call;

// gml_flow_train_options fields that are gml::flow::TrainOptions fields.
// clang-format off
#define GML_FLOW_TRAIN_FIELDS(X) \
  X(steps, steps) X(batch_size, batch_size) X(learning_rate, lr) \
  X(validation_galaxies, validation_galaxies) X(eval_every, eval_every) \
  X(checkpoint_every, checkpoint_every) X(resume, resume)
// clang-format on
static constexpr auto kFlowTrainFields = GML_FIELD_LINKS(GML_FLOW_TRAIN_FIELDS);

extern "C" {

GML_API gml_status gml_flow_dims(const gml_model* model, int64_t* data_dim,
                                 int64_t* condition_dim) {
  return guard("gml_flow_dims", [&] {
    const gml_model& m = gml::capi::require_model(model, "flow");
    const auto& cfg = gml::capi::loaded_as<gml::flow::LoadedFlow>(m).flow->config();
    if (data_dim) *data_dim = cfg.data_dim;
    if (condition_dim) *condition_dim = cfg.condition_dim;
  });
}

GML_API gml_status gml_flow_describe(const gml_model* model, char* buf, size_t capacity,
                                     size_t* length) {
  std::string text;
  gml_status s = guard("gml_flow_describe", [&] {
    const gml_model& m = gml::capi::require_model(model, "flow");
    text = gml::runs::describe_flow(gml::capi::loaded_as<gml::flow::LoadedFlow>(m), m.checksum());
  });
  if (s != GML_OK) return s;
  return gml::capi::copy_string_out("gml_flow_describe", text, buf, capacity, length);
}

GML_API gml_status gml_flow_sample(gml_context* ctx, const gml_model* model,
                                   const double* conditions, int64_t n_galaxies,
                                   int64_t n_per_galaxy, uint64_t seed, float* stars,
                                   size_t capacity, double* outside) {
  return model_call("gml_flow_sample", ctx, model, "flow", [&](gml_context& c, const gml_model& m) {
    seed = gml::capi::seed_for(c, seed);
    auto& flow = gml::capi::loaded_as<gml::flow::LoadedFlow>(m);
    require(n_galaxies >= 1, "n_galaxies must be >= 1");
    require(n_per_galaxy >= 0, "n_per_galaxy must be >= 0");
    const int64_t d = flow.flow->config().data_dim;
    require(n_per_galaxy <= INT64_MAX / n_galaxies / d, "n_galaxies * n_per_galaxy is too large");
    const int64_t total = n_galaxies * n_per_galaxy;
    require(stars != nullptr || total == 0, "stars must not be NULL");
    gml::capi::require_capacity(stars, capacity, total * d, "stars", "floats");
    const at::Tensor cond = gml::capi::caller_rows(conditions, n_galaxies,
                                                   flow.flow->config().condition_dim, "conditions");
    // The header states that on an error after sampling began the buffer's
    // contents are unspecified: the run writes straight into it.
    const at::Tensor out_range =
        gml::runs::sample_flow_into(flow, cond, n_per_galaxy, seed, stars, &c.control);
    if (outside) gml::capi::copy_out(out_range, outside);
  });
}

GML_API gml_status gml_flow_sample_to_file(gml_context* ctx, const gml_model* model,
                                           const double* conditions, int64_t n_galaxies,
                                           int64_t n_per_galaxy, uint64_t seed, const char* path) {
  return model_call(
      "gml_flow_sample_to_file", ctx, model, "flow", [&](gml_context& c, const gml_model& m) {
        seed = gml::capi::seed_for(c, seed);
        auto& flow = gml::capi::loaded_as<gml::flow::LoadedFlow>(m);
        require(path != nullptr && *path, "path must not be NULL or empty");
        require(n_galaxies >= 1, "n_galaxies must be >= 1");
        require(n_per_galaxy >= 0, "n_per_galaxy must be >= 0");
        const auto& cfg = flow.flow->config();
        gml::capi::checked_elements({n_galaxies, n_per_galaxy, cfg.data_dim}, sizeof(float),
                                    "n_galaxies x n_per_galaxy stars");
        const at::Tensor cond =
            gml::capi::caller_rows(conditions, n_galaxies, cfg.condition_dim, "conditions");
        gml::runs::sample_flow_to_file(flow, cond, n_per_galaxy, seed, path, m.path, m.checksum(),
                                       &c.control);
      });
}

GML_API gml_status gml_flow_log_prob(gml_context* ctx, const gml_model* model, const float* stars,
                                     int64_t n, const double* conditions, int64_t n_conditions,
                                     double* log_prob) {
  return model_call(
      "gml_flow_log_prob", ctx, model, "flow", [&](gml_context& c, const gml_model& m) {
        auto& flow = gml::capi::loaded_as<gml::flow::LoadedFlow>(m);
        require(n >= 0, "n must be >= 0");
        require(n == 0 || (stars != nullptr && log_prob != nullptr),
                "stars and log_prob must not be NULL");
        require(n_conditions == 1 || n_conditions == n,
                "n_conditions must be 1 (one galaxy) or n (one row per star)");
        const auto& cfg = flow.flow->config();
        const at::Tensor cond =
            gml::capi::caller_rows(conditions, n_conditions, cfg.condition_dim, "conditions");
        if (n == 0) return;
        gml::capi::checked_elements({n, cfg.data_dim}, sizeof(float), "stars");
        const at::Tensor x =
            at::from_blob(const_cast<float*>(stars), {n, cfg.data_dim}, at::kFloat);
        gml::capi::require_finite_rows(x, "stars");
        const std::vector<double> lp = gml::runs::flow_log_prob(flow, x, cond, &c.control);
        std::memcpy(log_prob, lp.data(), lp.size() * sizeof(double));
      });
}

GML_API void gml_flow_train_options_default(gml_flow_train_options* opts) {
  if (!gml::capi::start_defaults(opts)) return;
  gml::capi::publish_fields(kFlowTrainFields, *opts, gml::flow::TrainOptions{});
}

GML_API gml_status gml_flow_train(gml_context* ctx, const char* stars_path,
                                  const gml_flow_train_options* opts, const char* model_path) {
  return guard("gml_flow_train", [&] {
    gml_context& c = gml::capi::require_context(ctx);
    require(stars_path != nullptr, "stars_path must not be NULL");
    require(model_path != nullptr && *model_path, "model_path must not be NULL or empty");
    const auto o = gml::capi::read_options(opts, gml_flow_train_options_default);
    gml::runs::FlowTrainRunOptions r;
    r.max_stars_per_galaxy = o.max_stars_per_galaxy;
    r.config_json = o.config_json ? o.config_json : "";
    r.command = "gml_flow_train";
    gml::flow::TrainOptions& t = r.train;
    gml::capi::receive_fields(kFlowTrainFields, o, t);
    t.checkpoint_path = o.checkpoint_path ? o.checkpoint_path : "";
    t.seed = gml::capi::seed_for(c, o.seed);
    gml::runs::run_flow_training(stars_path, r, model_path, &c.control, c.device);
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
    // NULL conditions: the run draws them from the generator's prior.
    const at::Tensor cond = conditions
                                ? gml::capi::caller_rows(conditions, n_galaxies,
                                                         gml::flow::kNumConditions, "conditions")
                                : at::Tensor();
    gml::runs::simulate_flow_galaxies(n_galaxies, n_stars, cond, seed, path, &c.control);
  });
}

GML_API gml_status gml_flow_read_galaxy(const char* path, int64_t galaxy_id, float* stars,
                                        size_t capacity, int64_t* n_stars, int64_t* data_dim,
                                        double* conditions, size_t conditions_capacity) {
  return guard("gml_flow_read_galaxy", [&] {
    require(path != nullptr, "path must not be NULL");
    require(stars != nullptr || capacity == 0, "stars is NULL but capacity > 0");
    const gml::runs::FlowGalaxy g = gml::runs::read_flow_galaxy(path, galaxy_id);
    const int64_t n_conditions = g.conditions.numel();
    // Without `stars` the call only asks for the sizes, and conditions that
    // do not fit are left out rather than refused.
    if (stars) {
      gml::capi::require_capacity(stars, capacity, g.stars.numel(), "stars", "floats");
      gml::capi::require_capacity(conditions, conditions_capacity, n_conditions, "conditions",
                                  "values");
      gml::capi::copy_out(g.stars, stars);
    }
    if (conditions && conditions_capacity >= static_cast<size_t>(n_conditions)) {
      gml::capi::copy_out(g.conditions, conditions);
    }
    if (n_stars) *n_stars = g.stars.size(0);
    if (data_dim) *data_dim = g.stars.size(1);
  });
}

GML_API gml_status gml_flow_evaluate(gml_context* ctx, const gml_model* model,
                                     const char* stars_path, int64_t galaxy_id, int64_t n_samples,
                                     uint64_t seed, int64_t* galaxy_ids, double* delta_log_mass,
                                     double* mmd, size_t capacity, int64_t* n_galaxies) {
  return model_call(
      "gml_flow_evaluate", ctx, model, "flow", [&](gml_context& c, const gml_model& m) {
        seed = gml::capi::seed_for(c, seed);
        auto& flow = gml::capi::loaded_as<gml::flow::LoadedFlow>(m);
        require(stars_path != nullptr, "stars_path must not be NULL");
        require(n_samples >= 2, "n_samples must be >= 2");
        gml::capi::checked_elements({n_samples, flow.flow->config().data_dim}, sizeof(double),
                                    "n_samples draws");
        const bool query = !galaxy_ids && !delta_log_mass && !mmd && capacity == 0;
        require(query || (galaxy_ids && delta_log_mass && mmd),
                "galaxy_ids, delta_log_mass and mmd must all be given (or all NULL to query)");
        const gml::flow::StarTable table = gml::runs::read_evaluation_table(flow, stars_path);
        const int64_t g = table.galaxy_ids.size(0);
        if (n_galaxies) *n_galaxies = g;
        if (query) return;
        if (capacity < static_cast<size_t>(g)) {
          gml::fail(gml::Status::Capacity, "outputs hold " + std::to_string(capacity) +
                                               " galaxies; the table has " + std::to_string(g));
        }
        const gml::runs::FlowEvaluation e = gml::runs::evaluate_flow(
            flow, table, stars_path, galaxy_id, n_samples, seed, &c.control);
        std::memcpy(galaxy_ids, e.galaxy_ids.data(), e.galaxy_ids.size() * sizeof(int64_t));
        std::memcpy(delta_log_mass, e.delta_log_mass.data(),
                    e.delta_log_mass.size() * sizeof(double));
        std::memcpy(mmd, e.mmd.data(), e.mmd.size() * sizeof(double));
      });
}

}  // extern "C"

#include "runs/flow/flow_runs.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>

#include "core/common/error.h"
#include "core/common/progress.h"
#include "core/common/runtime.h"
#include "core/flow/galaxy_generator.h"
#include "core/flow/mmd.h"
#include "core/flow/table_config.h"

namespace gml::runs {

namespace {

constexpr int64_t kChunk = flow::kDefaultChunkRows;

std::vector<std::string> names_or_default(const std::vector<std::string>& names, int64_t n,
                                          const char* prefix) {
  if (static_cast<int64_t>(names.size()) == n) return names;
  std::vector<std::string> out;
  for (int64_t i = 0; i < n; ++i) out.push_back(prefix + std::to_string(i));
  return out;
}

// Distance of each galaxy's conditions outside the training range, in units
// of that range; the model extrapolates where it is > 0.
at::Tensor outside_range(const flow::LoadedFlow& model, const at::Tensor& c) {
  const auto& ex = model.extras;
  if (!ex.condition_min.defined()) return at::zeros({c.size(0)}, at::kDouble);
  at::Tensor lo = ex.condition_min.to(at::kDouble), hi = ex.condition_max.to(at::kDouble);
  at::Tensor span = (hi - lo).clamp_min(1e-12);
  at::Tensor below = (lo - c).clamp_min(0) / span, above = (c - hi).clamp_min(0) / span;
  return std::get<0>(at::maximum(below, above).max(1));
}

at::Tensor warn_outside(const flow::LoadedFlow& model, const at::Tensor& conditions) {
  at::Tensor out = outside_range(model, conditions);
  const double worst = out.max().item<double>();
  if (worst > 0) {
    const int64_t n = (out > 0).sum().item<int64_t>();
    char buf[200];
    std::snprintf(buf, sizeof buf,
                  "flow: %lld galaxy condition row(s) outside the training range, up to %.2f "
                  "range widths; samples there are extrapolations",
                  static_cast<long long>(n), worst);
    log_warning(buf);
  }
  return out;
}

// Runs the galaxies' draws chunk by chunk through `sink(galaxy, first, chunk)`
// with chunk a contiguous CPU float tensor.
template <class Sink>
void sample_galaxies(flow::ConditionalFlow& f, const at::Tensor& conditions, int64_t n_per_galaxy,
                     uint64_t seed, Progress& progress, Sink&& sink) {
  at::Generator gen = at::detail::createCPUGenerator(seed);
  for (int64_t g = 0; g < conditions.size(0); ++g) {
    f->sample_chunks(conditions[g], n_per_galaxy, gen, kChunk,
                     [&](int64_t first, const at::Tensor& chunk) {
                       sink(g, first, chunk.to(at::kCPU, at::kFloat).contiguous());
                       progress.update(g * n_per_galaxy + first + chunk.size(0));
                     });
  }
}

FlowGalaxy galaxy_of(const flow::StarTable& t, int64_t id, const std::string& path) {
  at::Tensor rows = at::nonzero(t.galaxy == id).flatten();
  at::Tensor grow = at::nonzero(t.galaxy_ids == id).flatten();
  if (rows.numel() == 0 || grow.numel() == 0) {
    fail(Status::NotFound, "galaxy " + std::to_string(id) + " is not in star table '" + path + "'");
  }
  return {t.data.index_select(0, rows), t.galaxy_conditions[grow[0].item<int64_t>()]};
}

}  // namespace

std::string describe_flow(const flow::LoadedFlow& model, const std::string& checksum) {
  const auto& cfg = model.flow->config();
  nlohmann::json j;
  j["data"] = names_or_default(cfg.column_names, cfg.data_dim, "x");
  j["conditions"] = names_or_default(cfg.condition_names, cfg.condition_dim, "c");
  const auto& ex = model.extras;
  if (ex.condition_min.defined()) {
    at::Tensor lo = ex.condition_min.to(at::kDouble).contiguous();
    at::Tensor hi = ex.condition_max.to(at::kDouble).contiguous();
    j["condition_min"] =
        std::vector<double>(lo.data_ptr<double>(), lo.data_ptr<double>() + lo.numel());
    j["condition_max"] =
        std::vector<double>(hi.data_ptr<double>(), hi.data_ptr<double>() + hi.numel());
  }
  j["checksum"] = checksum;
  return j.dump();
}

at::Tensor sample_flow_into(flow::LoadedFlow& model, const at::Tensor& conditions,
                            int64_t n_per_galaxy, uint64_t seed, float* stars,
                            RunControl* control) {
  at::Tensor out_range = warn_outside(model, conditions);
  const int64_t d = model.flow->config().data_dim;
  c10::InferenceMode inference;
  Progress progress(control, "sample", conditions.size(0) * n_per_galaxy, "stars");
  sample_galaxies(model.flow, conditions, n_per_galaxy, seed, progress,
                  [&](int64_t g, int64_t first, const at::Tensor& chunk) {
                    std::memcpy(stars + (g * n_per_galaxy + first) * d, chunk.data_ptr<float>(),
                                chunk.numel() * sizeof(float));
                  });
  progress.finish();
  return out_range.contiguous();
}

void sample_flow_to_file(flow::LoadedFlow& model, const at::Tensor& conditions,
                         int64_t n_per_galaxy, uint64_t seed, const std::string& path,
                         const std::string& model_path, const std::string& model_checksum,
                         RunControl* control) {
  warn_outside(model, conditions);
  const auto& cfg = model.flow->config();
  const nlohmann::json prov = {{"model", model_path},
                               {"model_checksum", model_checksum},
                               {"seed", seed},
                               {"command", "gml_flow_sample_to_file"}};
  auto writer = flow::open_star_table_writer(
      path, names_or_default(cfg.column_names, cfg.data_dim, "x"),
      cfg.column_names == flow::FlowConfig::galactic_flow().column_names
          ? std::vector<std::string>(flow::kColumnUnits.begin(), flow::kColumnUnits.end())
          : std::vector<std::string>{},
      names_or_default(cfg.condition_names, cfg.condition_dim, "c"), prov.dump());
  c10::InferenceMode inference;
  const int64_t n_galaxies = conditions.size(0);
  Progress progress(control, "sample", n_galaxies * n_per_galaxy, "stars");
  sample_galaxies(model.flow, conditions, n_per_galaxy, seed, progress,
                  [&](int64_t g, int64_t, const at::Tensor& chunk) {
                    writer->append(chunk.data_ptr<float>(), chunk.size(0), g);
                  });
  // The last report may still cancel; once the file is committed the run
  // must succeed (no file on error).
  progress.finish();
  writer->commit(at::arange(n_galaxies, at::kLong), conditions);
}

std::vector<double> flow_log_prob(flow::LoadedFlow& model, const at::Tensor& stars,
                                  const at::Tensor& conditions, RunControl* control) {
  const int64_t n = stars.size(0);
  const bool one_galaxy = conditions.size(0) == 1;
  c10::InferenceMode inference;
  Progress progress(control, "log_prob", n, "stars");
  std::vector<double> result(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; i += kChunk) {
    const int64_t e = std::min(n, i + kChunk);
    at::Tensor ci = one_galaxy ? conditions : conditions.slice(0, i, e);
    at::Tensor lp = model.flow->evaluate_log_prob(stars.slice(0, i, e), ci, kChunk);
    at::Tensor cpu = lp.to(at::kCPU, at::kDouble).contiguous();
    std::memcpy(result.data() + i, cpu.data_ptr<double>(),
                static_cast<size_t>(e - i) * sizeof(double));
    progress.update(e);
  }
  progress.finish();
  return result;
}

void simulate_flow_galaxies(int64_t n_galaxies, int64_t n_stars, const at::Tensor& conditions,
                            uint64_t seed, const std::string& path, RunControl* control) {
  at::Generator gen = at::detail::createCPUGenerator(seed);
  const at::Tensor cond =
      conditions.defined() ? conditions : flow::random_conditions(n_galaxies, gen);
  for (int64_t g = 0; g < n_galaxies; ++g) {
    flow::GalaxyConditions::from_tensor(cond[g]).validate();
  }
  const nlohmann::json prov = {
      {"generator", "galaxyml synthetic galaxies (docs/flow_generator.md)"},
      {"seed", seed},
      {"command", "gml_flow_simulate"}};
  auto writer = flow::open_star_table_writer(
      path, {flow::kColumnNames.begin(), flow::kColumnNames.end()},
      {flow::kColumnUnits.begin(), flow::kColumnUnits.end()},
      {flow::kConditionNames.begin(), flow::kConditionNames.end()}, prov.dump());
  Progress progress(control, "simulate", n_galaxies * n_stars, "stars");
  for (int64_t g = 0; g < n_galaxies; ++g) {
    at::Tensor stars =
        flow::generate_galaxy(flow::GalaxyConditions::from_tensor(cond[g]), n_stars, gen)
            .to(at::kFloat)
            .contiguous();
    writer->append(stars.data_ptr<float>(), n_stars, g);
    progress.update((g + 1) * n_stars);
  }
  // As in sample_flow_to_file(): no cancel after the commit.
  progress.finish();
  writer->commit(at::arange(n_galaxies, at::kLong), cond);
}

FlowGalaxy read_flow_galaxy(const std::string& path, int64_t galaxy_id) {
  return galaxy_of(flow::read_star_table(path), galaxy_id, path);
}

flow::StarTable read_evaluation_table(const flow::LoadedFlow& model, const std::string& path) {
  flow::StarTable t = flow::read_star_table(path);
  const auto& cfg = model.flow->config();
  require(t.columns.size() == static_cast<size_t>(cfg.data_dim) &&
              t.condition_names.size() == static_cast<size_t>(cfg.condition_dim),
          "star table columns do not match the model's dimensions");
  return t;
}

FlowEvaluation evaluate_flow(flow::LoadedFlow& model, const flow::StarTable& table,
                             const std::string& path, int64_t galaxy_id, int64_t n_samples,
                             uint64_t seed, RunControl* control) {
  const FlowGalaxy ref = galaxy_of(table, galaxy_id, path);
  const int64_t g = table.galaxy_ids.size(0);
  c10::InferenceMode inference;
  Progress progress(control, "evaluate", g, "galaxies", "mmd");
  at::Generator gen = at::detail::createCPUGenerator(seed);
  const auto& norm = model.flow->data_transform();
  at::Tensor sample = model.flow->sample(ref.conditions, n_samples, gen).to(at::kDouble);
  at::Tensor gen_u = norm.forward(sample).values;
  FlowEvaluation out;
  for (int64_t i = 0; i < g; ++i) {
    const int64_t id = table.galaxy_ids[i].item<int64_t>();
    const FlowGalaxy galaxy = galaxy_of(table, id, path);
    // Shuffle rows: the estimator pairs consecutive rows.
    at::Tensor perm = at::randperm(galaxy.stars.size(0), gen, at::kLong);
    at::Tensor data_u = norm.forward(galaxy.stars.index_select(0, perm).to(at::kDouble)).values;
    out.galaxy_ids.push_back(id);
    out.delta_log_mass.push_back((galaxy.conditions[0] - ref.conditions[0]).item<double>());
    out.mmd.push_back(flow::linear_mmd2(gen_u, data_u));
    progress.update(i + 1, out.mmd.back());
  }
  progress.finish();
  return out;
}

flow::TrainReport run_flow_training(const std::string& stars_path,
                                    const FlowTrainRunOptions& options,
                                    const std::string& model_path, RunControl* control,
                                    const c10::Device& device) {
  const flow::TrainOptions& t = options.train;
  at::Generator gen = at::detail::createCPUGenerator(t.seed);
  flow::StarTable table = flow::read_star_table(stars_path, options.max_stars_per_galaxy, &gen);
  flow::FlowConfig config = flow::config_for_table(table, options.config_json);
  flow::ConditionalFlow f(config, t.seed);
  flow::TrainReport report = flow::train_flow(f, table.to_star_set(), t, control, device);
  flow::FlowFileExtras extras;
  extras.condition_min = report.condition_min;
  extras.condition_max = report.condition_max;
  extras.provenance = nlohmann::json{
      {"data", stars_path},
      {"command", options.command},
      {"steps", t.steps},
      {"batch_size", t.batch_size},
      {"seed", t.seed}}.dump();
  extras.training = flow::training_record(report);
  flow::save_flow(model_path, f, extras);
  return report;
}

}  // namespace gml::runs

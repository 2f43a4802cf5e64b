#include "core/flow/training.h"

#include <ATen/ATen.h>
#include <torch/torch.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>

#include "core/common/error.h"
#include "core/common/model_file.h"
#include "core/common/progress.h"
#include "core/common/radam.h"
#include "core/common/threads.h"
#include "core/flow/flow_file.h"

namespace gml::flow {

namespace {

struct Split {
  at::Tensor train_rows, val_rows;  // int64 row indices
  std::vector<int64_t> val_ids;
};

// Holds out whole galaxies: a model must generalise to unseen galaxies, not
// to unseen stars of galaxies it has already seen.
Split split_by_galaxy(const at::Tensor& galaxy, int64_t n_val, at::Generator& gen) {
  at::Tensor ids = std::get<0>(at::_unique(galaxy, /*sorted=*/true));
  const int64_t g = ids.size(0);
  if (n_val <= 0) n_val = g >= 2 ? std::max<int64_t>(1, g / 10) : 0;
  require(n_val < g || g == 0, "validation_galaxies (" + std::to_string(n_val) +
                                   ") must leave at least one training galaxy of " +
                                   std::to_string(g));
  at::Tensor perm = at::randperm(g, gen, at::kLong);
  at::Tensor val_ids = ids.index_select(0, perm.slice(0, 0, n_val));
  at::Tensor is_val = at::isin(galaxy, val_ids);
  Split s;
  s.val_rows = at::nonzero(is_val).flatten();
  s.train_rows = at::nonzero(is_val.logical_not()).flatten();
  at::Tensor sorted = std::get<0>(val_ids.sort());
  s.val_ids.assign(sorted.data_ptr<int64_t>(), sorted.data_ptr<int64_t>() + sorted.numel());
  return s;
}

std::vector<at::Tensor> parameters_of(ConditionalFlow& flow) {
  std::vector<at::Tensor> params;
  for (auto& p : flow->parameters(true)) params.push_back(p);
  return params;
}

double mean_nll(ConditionalFlow& flow, const at::Tensor& x, const at::Tensor& c) {
  at::NoGradGuard no_grad;
  double total = 0;
  const int64_t n = x.size(0);
  for (int64_t i = 0; i < n; i += 8192) {
    const int64_t e = std::min(n, i + 8192);
    total += -flow->log_prob(x.slice(0, i, e), c.slice(0, i, e)).sum().item<double>();
  }
  return n > 0 ? total / static_cast<double>(n) : std::nan("");
}

void write_checkpoint(const std::string& path, ConditionalFlow& flow, const RAdam& opt,
                      const at::Generator& gen, const TrainReport& report, double recent,
                      int64_t recent_n) {
  FlowFileExtras extras;
  extras.condition_min = report.condition_min;
  extras.condition_max = report.condition_max;
  extras.training = nlohmann::json{{"checkpoint", true}, {"steps", report.steps}}.dump();
  ModelFile file = flow_model_file(flow, extras);
  for (const auto& [k, v] : opt.state()) file.extra["optimizer." + k] = v;
  file.extra["train.rng_state"] = gen.get_state();
  file.extra["train.validation_history"] =
      at::tensor(report.validation_history, at::kDouble).reshape({-1});
  // The running training loss, so a resumed run reports (and writes) what an
  // uninterrupted one would.
  file.extra["train.recent_loss"] =
      at::tensor({recent, static_cast<double>(recent_n)}, at::kDouble);
  write_model_file(path, file);
}

}  // namespace

double scheduled_lr(const TrainOptions& o, int64_t step) {
  // Closed form of "multiply by decay every k steps, every k_slow once below
  // the threshold", so a resumed run continues the schedule exactly.
  double lr = o.lr;
  const double fast_steps = std::log(o.lr_slow_below / o.lr) / std::log(o.lr_decay);
  const int64_t fast_decays = fast_steps > 0 ? static_cast<int64_t>(std::ceil(fast_steps)) : 0;
  const int64_t decays = step / o.decay_every;
  if (decays <= fast_decays) return lr * std::pow(o.lr_decay, static_cast<double>(decays));
  lr *= std::pow(o.lr_decay, static_cast<double>(fast_decays));
  const int64_t slow_start = fast_decays * o.decay_every;
  const int64_t slow = (step - slow_start) / o.decay_every_slow;
  return lr * std::pow(o.lr_decay, static_cast<double>(slow));
}

std::string training_record(const TrainReport& report) {
  return nlohmann::json{{"steps", report.steps},
                        {"train_loss", report.train_loss},
                        {"validation_loss", report.validation_loss},
                        {"validation_history", report.validation_history},
                        {"validation_galaxies", report.validation_galaxy_ids}}
      .dump();
}

TrainReport train_flow(ConditionalFlow& flow, const StarSet& set, const TrainOptions& options,
                       RunControl* control, const c10::Device& device) {
  require(set.data.dim() == 2 && set.conditions.dim() == 2 && set.galaxy.dim() == 1,
          "training set: data (N, D), conditions (N, C) and galaxy (N) are required");
  const int64_t n = set.data.size(0);
  require(set.conditions.size(0) == n && set.galaxy.size(0) == n,
          "training set: data, conditions and galaxy ids need the same number of rows");
  require(set.data.size(1) == flow->config().data_dim &&
              set.conditions.size(1) == flow->config().condition_dim,
          "training set columns (" + std::to_string(set.data.size(1)) + " data, " +
              std::to_string(set.conditions.size(1)) + " conditions) do not match the model (" +
              std::to_string(flow->config().data_dim) + ", " +
              std::to_string(flow->config().condition_dim) + ")");
  require(options.steps > 0 && options.batch_size > 0 && options.decay_every > 0 &&
              options.decay_every_slow > 0 && options.eval_every > 0,
          "steps, batch_size, decay_every, decay_every_slow and eval_every must be > 0");
  require(
      at::isfinite(set.data).all().item<bool>() && at::isfinite(set.conditions).all().item<bool>(),
      "training set contains NaN or Inf values");

  at::Generator gen = at::detail::createCPUGenerator(options.seed);
  const at::Tensor galaxy = set.galaxy.to(at::kLong).contiguous();
  Split split = split_by_galaxy(galaxy, options.validation_galaxies, gen);
  require(split.train_rows.numel() > 0, "training set has no training stars");

  // A step of a small flow is many tiny operations; see threads.h.
  const CallThreads threads(
      threads_for_step(options.batch_size * flow->config().hidden_width, at::get_num_threads()));
  const auto dtype = flow->parameters().front().scalar_type();
  at::Tensor x_train = set.data.index_select(0, split.train_rows).to(dtype);
  at::Tensor c_train = set.conditions.index_select(0, split.train_rows).to(dtype);
  flow->fit_normalization(x_train, c_train);
  flow->to(device);
  x_train = x_train.to(device);
  c_train = c_train.to(device);

  // A capped, fixed subset of held-out stars keeps evaluation cheap and its
  // curve comparable between evaluations.
  at::Tensor val_rows = split.val_rows;
  if (val_rows.numel() > options.max_validation_stars) {
    val_rows = val_rows.index_select(
        0,
        at::randperm(val_rows.numel(), gen, at::kLong).slice(0, 0, options.max_validation_stars));
  }
  at::Tensor x_val = set.data.index_select(0, val_rows).to(dtype).to(device);
  at::Tensor c_val = set.conditions.index_select(0, val_rows).to(dtype).to(device);

  TrainReport report;
  report.validation_galaxy_ids = split.val_ids;
  report.condition_min = std::get<0>(set.conditions.to(at::kDouble).min(0));
  report.condition_max = std::get<0>(set.conditions.to(at::kDouble).max(0));

  RAdamOptions ro;
  ro.lr = options.lr;
  RAdam opt(parameters_of(flow), ro);
  int64_t start = 0;
  std::map<std::string, at::Tensor> resumed_recent;
  if (options.resume && !options.checkpoint_path.empty() &&
      std::filesystem::exists(options.checkpoint_path)) {
    ModelFile ck = read_model_file(options.checkpoint_path, "flow");
    LoadedFlow loaded = flow_from_model_file(ck);
    require(loaded.flow->config().to_json_text() == flow->config().to_json_text(),
            "checkpoint " + options.checkpoint_path + " was written for another architecture");
    {
      at::NoGradGuard no_grad;
      auto dst = flow->named_parameters(true);
      for (const auto& p : loaded.flow->named_parameters(true)) dst[p.key()].copy_(p.value());
    }
    flow->set_normalization_tensors(loaded.flow->normalization_tensors());
    std::map<std::string, at::Tensor> state;
    for (const auto& [k, v] : ck.extra) {
      if (k.rfind("optimizer.", 0) == 0) state[k.substr(10)] = v.to(device);
    }
    opt.load_state(state);
    gen.set_state(ck.extra.at("train.rng_state"));
    if (ck.extra.count("train.recent_loss")) {
      resumed_recent["train.recent_loss"] = ck.extra.at("train.recent_loss").to(at::kDouble);
    }
    auto hist = ck.extra.at("train.validation_history").to(at::kDouble).contiguous();
    report.validation_history.assign(hist.data_ptr<double>(),
                                     hist.data_ptr<double>() + hist.numel());
    start = opt.steps();
    require(start <= options.steps, "checkpoint is already past the requested step count");
    report.steps = start;
    if (!report.validation_history.empty())
      report.validation_loss = report.validation_history.back();
  }

  Progress progress(control, "train", options.steps, "steps", "loss");
  flow->train();
  const int64_t n_train = x_train.size(0);
  double recent = 0;
  int64_t recent_n = 0;
  if (start > 0) {
    auto it = resumed_recent.find("train.recent_loss");
    if (it != resumed_recent.end()) {
      recent = it->second[0].item<double>();
      recent_n = static_cast<int64_t>(it->second[1].item<double>());
    }
  } else {
    report.validation_loss = std::nan("");
  }
  char detail[160];
  for (int64_t step = start; step < options.steps; ++step) {
    opt.set_lr(scheduled_lr(options, step));
    at::Tensor idx = at::randint(n_train, {std::min(options.batch_size, n_train)}, gen,
                                 at::TensorOptions().dtype(at::kLong))
                         .to(device);
    opt.zero_grad();
    at::Tensor loss =
        -flow->log_prob(x_train.index_select(0, idx), c_train.index_select(0, idx)).mean();
    require(std::isfinite(loss.item<double>()),
            "training diverged at step " + std::to_string(step) + " (non-finite loss)");
    loss.backward();
    opt.step();
    const double l = loss.item<double>();
    recent = recent_n < 100 ? recent + l : recent + l - recent / 100.0;
    recent_n = std::min<int64_t>(recent_n + 1, 100);
    const bool last = step + 1 == options.steps;
    if (x_val.size(0) > 0 && ((step + 1) % options.eval_every == 0 || last)) {
      flow->eval();
      report.validation_loss = mean_nll(flow, x_val, c_val);
      report.validation_history.push_back(report.validation_loss);
      flow->train();
    }
    report.steps = step + 1;
    if (!options.checkpoint_path.empty() && ((step + 1) % options.checkpoint_every == 0 || last)) {
      write_checkpoint(options.checkpoint_path, flow, opt, gen, report, recent, recent_n);
    }
    std::snprintf(detail, sizeof detail, "lr %.2e  %.0f stars/s  val %.4g", opt.lr(),
                  progress.rate() * static_cast<double>(options.batch_size),
                  report.validation_loss);
    progress.set_detail(detail);
    progress.update(step + 1, recent / static_cast<double>(recent_n));
  }
  flow->eval();
  report.train_loss = recent_n > 0 ? recent / static_cast<double>(recent_n) : std::nan("");
  progress.finish(report.train_loss);
  return report;
}

}  // namespace gml::flow

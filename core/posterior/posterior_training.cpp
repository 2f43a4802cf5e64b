#include "core/posterior/posterior_training.h"

#include <torch/torch.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>

#include "core/common/error.h"
#include "core/common/model_file.h"
#include "core/common/progress.h"
#include "core/common/radam.h"
#include "core/common/threads.h"
#include "core/posterior/posterior_file.h"

namespace gml::posterior {
namespace {

std::vector<at::Tensor> parameters_of(PosteriorFlow& flow) {
  std::vector<at::Tensor> out;
  for (auto& p : flow->parameters()) out.push_back(p);
  return out;
}

std::vector<double> to_vector(const at::Tensor& t) {
  const at::Tensor c = t.to(at::kCPU, at::kDouble).contiguous();
  return {c.data_ptr<double>(), c.data_ptr<double>() + c.numel()};
}

// The epoch's shuffle depends on (seed, epoch) only, so a resumed run sees
// exactly the batches an uninterrupted one would.
at::Tensor epoch_order(uint64_t seed, int64_t epoch, int64_t n) {
  auto gen = at::detail::createCPUGenerator(seed * 0x9E3779B97F4A7C15ULL +
                                            static_cast<uint64_t>(epoch) + 1);
  return at::randperm(n, gen, at::TensorOptions().dtype(at::kLong));
}

nlohmann::json training_json(const PosteriorTrainReport& r, const PosteriorTrainOptions& options) {
  return {{"epochs", r.epochs},
          {"best_epoch", r.best_epoch},
          {"best_validation_loss", r.best_validation_loss},
          {"stopped_early", r.stopped_early},
          {"train_rows", r.train_rows},
          {"validation_rows", r.validation_rows},
          {"dropped_rows", r.dropped_rows},
          {"batch_size", options.batch_size},
          {"learning_rate", options.lr},
          {"patience", options.patience},
          {"seed", options.seed},
          {"train_history", r.train_history},
          {"validation_history", r.validation_history}};
}

// The checkpoint's record adds what a resumed run needs to go on as if it
// had not stopped: the epochs since the best one and the learning rate,
// which the plateau schedule may have lowered.
void write_checkpoint(const std::string& path, PosteriorFlow& flow, const RAdam& opt,
                      const std::vector<at::Tensor>& best, const PosteriorTrainReport& report,
                      const PosteriorTrainOptions& options, int64_t since_best) {
  PosteriorFileExtras extras;
  extras.x_train_min = report.x_min;
  extras.x_train_max = report.x_max;
  nlohmann::json record = training_json(report, options);
  record["checkpoint"] = true;
  record["since_best"] = since_best;
  record["lr"] = opt.lr();
  extras.training = record.dump();
  ModelFile file = posterior_model_file(flow, extras);
  for (const auto& [k, v] : opt.state()) file.extra["optimizer." + k] = v;
  for (size_t i = 0; i < best.size(); ++i) file.extra["best." + std::to_string(i)] = best[i];
  file.extra["train.history"] = at::tensor(report.train_history, at::kDouble).reshape({-1});
  file.extra["train.validation_history"] =
      at::tensor(report.validation_history, at::kDouble).reshape({-1});
  write_model_file(path, file);
}

}  // namespace

std::string training_record(const PosteriorTrainReport& report,
                            const PosteriorTrainOptions& options) {
  return training_json(report, options).dump();
}

double mean_negative_log_prob(PosteriorFlow& flow, const at::Tensor& theta, const at::Tensor& x) {
  at::NoGradGuard no_grad;
  const int64_t n = theta.size(0);
  double total = 0;
  for (int64_t i = 0; i < n; i += 8192) {
    const int64_t e = std::min(n, i + 8192);
    total -= flow->log_prob(theta.slice(0, i, e), x.slice(0, i, e)).sum().item<double>();
  }
  return n > 0 ? total / static_cast<double>(n) : std::nan("");
}

PosteriorTrainReport train_posterior(PosteriorFlow& flow, const at::Tensor& theta_in,
                                     const at::Tensor& x_in, const PosteriorTrainOptions& options,
                                     RunControl* control, const c10::Device& device) {
  const PosteriorConfig& cfg = flow->config();
  require(theta_in.dim() == 2 && theta_in.size(1) == cfg.theta_dim,
          "train_posterior: theta must be (N, " + std::to_string(cfg.theta_dim) + ")");
  require(x_in.dim() == 2 && x_in.size(1) == cfg.x_dim && x_in.size(0) == theta_in.size(0),
          "train_posterior: x must be (N, " + std::to_string(cfg.x_dim) + ") with theta's N");
  require(
      options.batch_size >= 1 && options.max_epochs >= 1 && options.patience >= 1 && options.lr > 0,
      "train_posterior: batch_size, max_epochs, patience and lr must be positive");
  require(options.lr_plateau >= 0 && options.lr_factor > 0 && options.lr_factor <= 1,
          "train_posterior: lr_plateau must be >= 0 and lr_factor in (0, 1]");
  require(options.validation_fraction > 0 && options.validation_fraction < 1,
          "train_posterior: validation_fraction must be in (0, 1)");

  PosteriorTrainReport report;
  const at::Tensor theta_all = theta_in.to(at::kCPU, at::kDouble);
  const at::Tensor x_all = x_in.to(at::kCPU, at::kDouble);
  // A bounded_theta flow has no density on or beyond the prior's bounds.
  const at::Tensor finite =
      at::isfinite(theta_all).all(1) & at::isfinite(x_all).all(1) & flow->in_domain(theta_all);
  report.dropped_rows = theta_all.size(0) - finite.sum().item<int64_t>();
  const at::Tensor theta = theta_all.index({finite});
  const at::Tensor x = x_all.index({finite});
  const int64_t n = theta.size(0);
  const int64_t n_val = std::max<int64_t>(
      1, static_cast<int64_t>(std::llround(options.validation_fraction * static_cast<double>(n))));
  require(n - n_val >= 2,
          "train_posterior: need at least 3 finite simulations, have " + std::to_string(n));
  auto split_gen = at::detail::createCPUGenerator(options.seed);
  const at::Tensor perm = at::randperm(n, split_gen, at::TensorOptions().dtype(at::kLong));
  const at::Tensor val_idx = perm.narrow(0, 0, n_val), train_idx = perm.narrow(0, n_val, n - n_val);
  const at::Tensor theta_tr = theta.index_select(0, train_idx).to(device);
  const at::Tensor x_tr = x.index_select(0, train_idx).to(device);
  const at::Tensor theta_va = theta.index_select(0, val_idx).to(device);
  const at::Tensor x_va = x.index_select(0, val_idx).to(device);
  flow->to(device);
  report.train_rows = theta_tr.size(0);
  report.validation_rows = n_val;
  report.validation_theta = theta.index_select(0, val_idx);
  report.validation_x = x.index_select(0, val_idx);
  report.x_min = std::get<0>(x_tr.min(0)).cpu();
  report.x_max = std::get<0>(x_tr.max(0)).cpu();

  // SEDflow's batches (50 rows) make each step many tiny operations; see
  // threads.h.
  const CallThreads threads(
      threads_for_step(options.batch_size * cfg.hidden_width, at::get_num_threads()));
  RAdamOptions ao;
  ao.lr = options.lr;
  ao.rectified = false;  // Adam
  std::vector<at::Tensor> params = parameters_of(flow);
  RAdam opt(params, ao);
  std::vector<at::Tensor> best;
  for (const auto& p : params) best.push_back(p.detach().clone());
  report.best_validation_loss = std::numeric_limits<double>::infinity();
  int64_t since_best = 0;

  bool resumed = false;
  if (options.resume && !options.checkpoint_path.empty() &&
      std::filesystem::exists(options.checkpoint_path)) {
    ModelFile ck = read_model_file(options.checkpoint_path, "posterior");
    LoadedPosterior loaded = posterior_from_model_file(ck);
    require(loaded.flow->config().to_json_text() == cfg.to_json_text(),
            "checkpoint " + options.checkpoint_path + " was written for another architecture");
    {
      at::NoGradGuard no_grad;
      auto dst = flow->named_parameters(true);
      for (const auto& p : loaded.flow->named_parameters(true)) dst[p.key()].copy_(p.value());
      // Permutations are buffers: a flow built from another seed must take
      // the checkpoint's, or it is a different model.
      auto dst_buffers = flow->named_buffers(true);
      for (const auto& b : loaded.flow->named_buffers(true)) {
        dst_buffers[b.key()].copy_(b.value());
      }
      for (size_t i = 0; i < best.size(); ++i) {
        best[i].copy_(ck.extra.at("best." + std::to_string(i)).to(device));
      }
    }
    flow->set_normalization_tensors(loaded.flow->normalization_tensors());
    std::map<std::string, at::Tensor> state;
    for (const auto& [k, v] : ck.extra) {
      if (k.rfind("optimizer.", 0) == 0) state[k.substr(10)] = v.to(device);
    }
    opt.load_state(state);
    const auto info = nlohmann::json::parse(loaded.extras.training);
    report.epochs = info.at("epochs");
    report.best_epoch = info.at("best_epoch");
    report.best_validation_loss = info.at("best_validation_loss");
    since_best = info.at("since_best");
    if (info.contains("lr")) opt.set_lr(info.at("lr").get<double>());
    report.train_history = to_vector(ck.extra.at("train.history"));
    report.validation_history = to_vector(ck.extra.at("train.validation_history"));
    resumed = true;
  }
  if (!resumed) flow->fit_normalization(theta_tr, x_tr);

  const int64_t n_tr = report.train_rows;
  const int64_t batches = (n_tr + options.batch_size - 1) / options.batch_size;
  Progress progress(control, "train", options.max_epochs * batches, "batches", "loss");
  flow->train();
  while (report.epochs < options.max_epochs && since_best < options.patience) {
    const int64_t epoch = report.epochs;
    const at::Tensor order = epoch_order(options.seed, epoch, n_tr).to(device);
    double sum = 0;
    for (int64_t b = 0; b < batches; ++b) {
      progress.check_cancel();
      const at::Tensor idx = order.narrow(
          0, b * options.batch_size, std::min(options.batch_size, n_tr - b * options.batch_size));
      const at::Tensor loss =
          -flow->log_prob(theta_tr.index_select(0, idx), x_tr.index_select(0, idx)).mean();
      opt.zero_grad();
      loss.backward();
      if (options.clip_norm > 0) torch::nn::utils::clip_grad_norm_(params, options.clip_norm);
      opt.step();
      const double l = loss.item<double>();
      sum += l * static_cast<double>(idx.size(0));
      progress.update(epoch * batches + b + 1, l);
    }
    flow->eval();
    const double val = mean_negative_log_prob(flow, theta_va, x_va);
    flow->train();
    report.train_history.push_back(sum / static_cast<double>(n_tr));
    report.validation_history.push_back(val);
    report.epochs = epoch + 1;
    if (val < report.best_validation_loss) {
      report.best_validation_loss = val;
      report.best_epoch = report.epochs;
      since_best = 0;
      at::NoGradGuard no_grad;
      for (size_t i = 0; i < params.size(); ++i) best[i].copy_(params[i]);
    } else {
      ++since_best;
      if (options.lr_plateau > 0 && since_best % options.lr_plateau == 0) {
        opt.set_lr(opt.lr() * options.lr_factor);
      }
    }
    char detail[160];
    std::snprintf(detail, sizeof detail,
                  "epoch %lld  val %.4f  best %.4f (epoch %lld)  patience %lld/%lld",
                  static_cast<long long>(report.epochs), val, report.best_validation_loss,
                  static_cast<long long>(report.best_epoch), static_cast<long long>(since_best),
                  static_cast<long long>(options.patience));
    progress.set_detail(detail);
    if (!options.checkpoint_path.empty()) {
      write_checkpoint(options.checkpoint_path, flow, opt, best, report, options, since_best);
    }
  }
  report.stopped_early = since_best >= options.patience;
  {
    at::NoGradGuard no_grad;
    for (size_t i = 0; i < params.size(); ++i) params[i].copy_(best[i]);
  }
  flow->eval();
  progress.finish(report.best_validation_loss);
  return report;
}

}  // namespace gml::posterior

#include "core/merger/merger_training.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <exception>
#include <filesystem>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>

#include "core/common/adadelta.h"
#include "core/common/error.h"
#include "core/common/family_file.h"
#include "core/common/model_file.h"
#include "core/common/module_io.h"
#include "core/common/progress.h"
#include "core/common/radam.h"
#include "core/distributed/backend.h"
#include "core/distributed/fused_allreduce.h"
#include "core/distributed/rank_agreement.h"
#include "core/merger/merger_images.h"

namespace gml::merger {

namespace {

uint64_t mix(uint64_t a, uint64_t b) {
  uint64_t z = a + 0x9e3779b97f4a7c15ULL * (b + 1);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

std::unique_ptr<Optimizer> make_optimizer(const std::vector<at::Tensor>& params,
                                          const MergerTrainOptions& o) {
  if (o.optimizer == "adam") {
    RAdamOptions ro;
    ro.lr = o.lr;
    ro.rectified = false;
    return std::make_unique<RAdam>(params, ro);
  }
  if (o.optimizer == "adadelta") {
    AdadeltaOptions ao;
    ao.lr = o.lr;
    return std::make_unique<Adadelta>(params, ao);
  }
  fail(Status::InvalidArgument,
       "merger training: unknown optimizer '" + o.optimizer + "' (adam or adadelta)");
}

void check_options(const MergerTrainOptions& o) {
  require(o.batch_size >= 1, "merger training: batch_size must be >= 1");
  require(o.micro_batches >= 1, "merger training: micro_batches must be >= 1");
  require(o.max_epochs >= 1, "merger training: max_epochs must be >= 1");
  require(o.max_steps >= 0, "merger training: max_steps must be >= 0");
  require(o.patience >= 1, "merger training: patience must be >= 1");
  require(std::isfinite(o.lr) && o.lr > 0, "merger training: lr must be positive");
  require(o.lr_schedule == "constant" || o.lr_schedule == "cosine",
          "merger training: unknown lr_schedule '" + o.lr_schedule + "' (constant or cosine)");
  for (double w : {o.w_class, o.w_time, o.w_fcae, o.w_vae, o.vae_beta})
    require(std::isfinite(w) && w >= 0, "merger training: loss weights must be >= 0");
  require(o.w_class + o.w_time + o.w_fcae + o.w_vae > 0,
          "merger training: at least one loss weight must be positive");
}

void check_samples(const MergerSamples& s, const MergerConfig& c, const char* what) {
  const std::string name = what;
  require(s.images.defined() && s.images.dim() == 4 && s.images.size(1) == c.in_channels &&
              s.images.size(2) == c.image_size && s.images.size(3) == c.image_size,
          "merger training: " + name + " images must be (N, " + std::to_string(c.in_channels) +
              ", " + std::to_string(c.image_size) + ", " + std::to_string(c.image_size) + ")");
  const int64_t n = s.size();
  for (const at::Tensor* t : {&s.time_class, &s.time_myr, &s.sim_id, &s.camera})
    require(t->defined() && t->dim() == 1 && t->size(0) == n,
            "merger training: " + name + " labels must have one entry per image");
  if (n > 0) {
    const int64_t lo = s.time_class.min().item<int64_t>(), hi = s.time_class.max().item<int64_t>();
    require(lo >= 0 && hi < c.n_classes, "merger training: " + name +
                                             " time classes must be in [0, " +
                                             std::to_string(c.n_classes) + ")");
  }
}

// Random flips and quarter turns: the 8 symmetries of the square, one per
// image, drawn from the current (micro-batch seeded) generator.
at::Tensor augment(const at::Tensor& x) {
  at::Tensor which = at::randint(0, 8, {x.size(0)}, at::TensorOptions().dtype(at::kLong));
  at::Tensor out = x.clone();
  for (int64_t k = 1; k < 8; ++k) {
    at::Tensor idx = (which == k).nonzero().squeeze(1).to(x.device());
    if (idx.numel() == 0) continue;
    at::Tensor sub = x.index_select(0, idx);
    if (k >= 4) sub = sub.flip({3});
    sub = at::rot90(sub, k % 4, {2, 3});
    out.index_copy_(0, idx, sub);
  }
  return out;
}

struct LossParts {
  at::Tensor total;
  // What early stopping judges: the supervised terms. The VAE term is left
  // out (unless it is all that is trained) because it is measured on
  // encoder features that keep changing, so it may rise while the encoder
  // improves.
  at::Tensor selection;
  MergerOutput out;
};

LossParts merger_loss(MergerNet& net, const at::Tensor& x, const at::Tensor& cls,
                      const at::Tensor& time, const MergerTrainOptions& o) {
  const MergerConfig& c = net->config();
  HeadSelection heads;
  heads.classifier = true;  // metrics always need the classes
  heads.time = c.regress_time && o.w_time > 0;
  heads.fcae = c.fcae && o.w_fcae > 0;
  heads.vae = c.latent_dim > 0 && o.w_vae > 0;
  LossParts r;
  r.out = net->forward(x, heads);
  at::Tensor total = at::cross_entropy_loss(r.out.logits, cls) * o.w_class;
  if (r.out.time.defined()) {
    at::Tensor target = time / c.time_max_myr;
    at::Tensor known = target.isfinite();
    at::Tensor err = at::where(known, r.out.time - target.nan_to_num(0), at::zeros_like(target));
    total = total + o.w_time * err.pow(2).sum() / known.sum().clamp_min(1);
  }
  if (r.out.recon.defined()) total = total + o.w_fcae * at::mse_loss(r.out.recon, x);
  r.selection = total;
  if (r.out.mu.defined()) {
    at::Tensor rec = at::mse_loss(r.out.feature_recon, r.out.features);
    at::Tensor kl = -0.5 * (1 + r.out.logvar - r.out.mu.pow(2) - r.out.logvar.exp()).sum(1).mean();
    total = total + o.w_vae * (rec + o.vae_beta * kl / static_cast<double>(net->feature_dim()));
  }
  r.total = total;
  if (o.w_class + o.w_time + o.w_fcae == 0) r.selection = total;
  return r;
}

// Sums, per batch, of what MergerMetrics averages: loss, exact, within 3,
// |time error|, images, images with a known time, selection loss.
constexpr size_t kMetricSums = 7;
void accumulate_metrics(const MergerConfig& c, const LossParts& lp, const at::Tensor& cls,
                        const at::Tensor& time, std::vector<double>& sums) {
  const int64_t n = cls.size(0);
  at::Tensor pred = lp.out.logits.argmax(1);
  at::Tensor diff = (pred - cls).abs();
  sums[0] += lp.total.item<double>() * static_cast<double>(n);
  sums[1] += (diff == 0).sum().item<double>();
  sums[2] += (diff <= 3).sum().item<double>();
  if (c.time_max_myr > 0) {
    at::Tensor known = time.isfinite();
    at::Tensor err = (predicted_time_myr(c, lp.out) - time).abs();
    sums[3] += at::where(known, err, at::zeros_like(err)).sum().item<double>();
    sums[5] += known.sum().item<double>();
  }
  sums[4] += static_cast<double>(n);
  sums[6] += lp.selection.item<double>() * static_cast<double>(n);
}

MergerMetrics metrics_from(const std::vector<double>& s) {
  MergerMetrics m;
  m.images = static_cast<int64_t>(std::llround(s[4]));
  const double n = std::max(1.0, s[4]);
  m.loss = s[0] / n;
  m.accuracy = s[1] / n;
  m.within3 = s[2] / n;
  m.time_mae_myr = s[5] > 0 ? s[3] / s[5] : std::numeric_limits<double>::quiet_NaN();
  m.selection_loss = s[6] / n;
  return m;
}

std::vector<at::Tensor> float_buffers(torch::nn::Module& m) {
  std::vector<at::Tensor> out;
  for (const auto& b : m.buffers())
    if (b.scalar_type() == at::kFloat) out.push_back(b);
  return out;
}

void write_checkpoint(const std::string& path, MergerNet& net, const Optimizer& opt,
                      const TensorMap& best, const MergerTrainReport& report, int64_t since_best) {
  ModelFile f = network_model_file("merger", *net, net->config().to_json_text(),
                                   nlohmann::json{{"checkpoint", true}}.dump());
  for (const auto& [k, v] : opt.state()) f.extra["optimizer." + k] = v.cpu();
  for (const auto& [k, v] : best) f.extra["best." + k] = v;
  f.extra["train_state"] =
      at::tensor({report.epochs, report.steps, report.best_epoch, since_best}, at::kLong);
  f.extra["train_loss"] = at::tensor(report.train_loss, at::kDouble);
  f.extra["validation_loss"] = at::tensor(report.validation_loss, at::kDouble);
  f.extra["best_metrics"] = at::tensor(
      {report.best_validation.loss, report.best_validation.accuracy, report.best_validation.within3,
       report.best_validation.time_mae_myr, report.best_validation.selection_loss},
      at::kDouble);
  write_model_file(path, f);
}

TensorMap snapshot(torch::nn::Module& m) {
  TensorMap s;
  for (const auto& p : m.named_parameters()) s[p.key()] = p.value().detach().cpu().clone();
  for (const auto& b : m.named_buffers()) s[b.key()] = b.value().detach().cpu().clone();
  return s;
}

void restore(torch::nn::Module& m, const TensorMap& s) {
  at::NoGradGuard g;
  for (auto& p : m.named_parameters()) p.value().copy_(s.at(p.key()));
  for (auto& b : m.named_buffers()) b.value().copy_(s.at(b.key()));
}

}  // namespace

double scheduled_lr(const MergerTrainOptions& o, int64_t step, int64_t total) {
  if (o.lr_schedule != "cosine" || total <= 0) return o.lr;
  const double f = std::clamp(static_cast<double>(step) / static_cast<double>(total), 0.0, 1.0);
  return 0.5 * o.lr * (1.0 + std::cos(M_PI * f));
}

MergerSamples samples_from_image_set(const MergerImageSet& set, const MergerConfig& config) {
  MergerSamples s;
  const at::Tensor raw = at::from_blob(const_cast<float*>(set.pixels.data()),
                                       {set.n, set.channels, set.height, set.width}, at::kFloat);
  s.images = prepare_images(raw, config, /*resize=*/false, nullptr);
  auto ints = [&](const std::vector<int32_t>& v) {
    return at::from_blob(const_cast<int32_t*>(v.data()), {set.n}, at::kInt).to(at::kLong);
  };
  s.time_class = ints(set.time_class);
  s.sim_id = ints(set.sim_id);
  s.camera = ints(set.camera);
  s.time_myr = at::from_blob(const_cast<float*>(set.time_myr.data()), {set.n}, at::kFloat).clone();
  return s;
}

MergerSamples MergerSamples::select(const at::Tensor& index) const {
  MergerSamples s;
  at::Tensor i = index.to(images.device());
  s.images = images.index_select(0, i);
  at::Tensor ic = index.cpu();
  s.time_class = time_class.index_select(0, ic.to(time_class.device()));
  s.time_myr = time_myr.index_select(0, ic.to(time_myr.device()));
  s.sim_id = sim_id.index_select(0, ic.to(sim_id.device()));
  s.camera = camera.index_select(0, ic.to(camera.device()));
  return s;
}

std::pair<MergerSamples, MergerSamples> split_by_camera(const MergerSamples& all,
                                                        const std::vector<int64_t>& cameras) {
  at::Tensor held = at::zeros({all.size()}, at::kBool);
  for (int64_t cam : cameras) held |= all.camera.cpu() == cam;
  at::Tensor val_idx = held.nonzero().squeeze(1), train_idx = (~held).nonzero().squeeze(1);
  require(val_idx.numel() > 0, "merger training: no image comes from the validation cameras");
  require(train_idx.numel() > 0, "merger training: every image comes from a validation camera");
  return {all.select(train_idx), all.select(val_idx)};
}

at::Tensor predicted_time_myr(const MergerConfig& config, const MergerOutput& out) {
  if (out.time.defined()) return out.time * config.time_max_myr;
  at::Tensor class_time =
      at::linspace(0, config.time_max_myr, config.n_classes, out.logits.options());
  return out.logits.softmax(1).matmul(class_time);
}

namespace {

// This rank's block of `samples`: the sums metrics_from() averages.
std::vector<double> local_metric_sums(MergerNet& net, const MergerSamples& samples,
                                      const MergerTrainOptions& options, dist::Backend& backend,
                                      const c10::Device& device, int64_t batch_size) {
  require(batch_size >= 1, "merger evaluation: batch size must be >= 1");
  const bool was_training = net->is_training();
  net->eval();
  std::vector<double> sums(kMetricSums, 0.0);
  {
    c10::InferenceMode guard;
    const auto [begin, end] = dist::row_block(samples.size(), backend.rank(), backend.size());
    for (int64_t i = begin; i < end; i += batch_size) {
      const int64_t n = std::min(batch_size, end - i);
      at::Tensor x = samples.images.narrow(0, i, n).to(device);
      at::Tensor cls = samples.time_class.narrow(0, i, n).to(device);
      at::Tensor t = samples.time_myr.narrow(0, i, n).to(device);
      LossParts lp = merger_loss(net, x, cls, t, options);
      accumulate_metrics(net->config(), lp, cls, t, sums);
    }
  }
  net->train(was_training);
  return sums;
}

}  // namespace

MergerMetrics evaluate_merger(MergerNet& net, const MergerSamples& samples,
                              const MergerTrainOptions& options, dist::Backend& backend,
                              const c10::Device& device, int64_t batch_size) {
  // A local failure still joins the reduction (flag in the last slot), so
  // no rank waits forever for one that threw.
  std::vector<double> sums(kMetricSums + 1, 0.0);
  std::exception_ptr failure;
  try {
    std::vector<double> local =
        local_metric_sums(net, samples, options, backend, device, batch_size);
    std::copy(local.begin(), local.end(), sums.begin());
  } catch (...) {
    failure = std::current_exception();
    sums[kMetricSums] = 1;
  }
  if (backend.size() > 1) backend.allreduce_sum(sums.data(), sums.size());
  if (sums[kMetricSums] > 0) {
    if (failure) std::rethrow_exception(failure);
    fail(Status::Backend, "merger evaluation failed on another rank");
  }
  sums.pop_back();
  return metrics_from(sums);
}

MergerTrainReport train_merger(MergerNet& net, const MergerSamples& train,
                               const MergerSamples& validation, const MergerTrainOptions& options,
                               dist::Backend& backend, RunControl* control,
                               const c10::Device& device) {
  check_options(options);
  const MergerConfig& config = net->config();
  check_samples(train, config, "training");
  check_samples(validation, config, "validation");
  const int world = backend.size(), rank = backend.rank();
  const int64_t m = options.micro_batches, b = options.batch_size;
  const int64_t global_batch = static_cast<int64_t>(world) * m * b;
  require(train.size() >= world, "merger training: " + std::to_string(world) + " ranks but only " +
                                     std::to_string(train.size()) + " training images");
  const int64_t steps_per_epoch = train.size() / global_batch;
  require(steps_per_epoch >= 1, "merger training: the global batch (" + std::to_string(world) +
                                    " ranks x " + std::to_string(m) + " x " + std::to_string(b) +
                                    " images) exceeds the " + std::to_string(train.size()) +
                                    " training images");

  net->to(device);
  net->train();
  std::vector<at::Tensor> params = net->parameters();
  const std::unique_ptr<Optimizer> opt = make_optimizer(params, options);
  MergerTrainReport report;
  report.train_images = train.size();
  report.validation_images = validation.size();
  report.world_size = world;
  TensorMap best;
  int64_t since_best = 0;
  double best_loss = std::numeric_limits<double>::infinity();

  if (options.resume && !options.checkpoint_path.empty() &&
      std::filesystem::exists(options.checkpoint_path)) {
    ModelFile ck = read_model_file(options.checkpoint_path, "merger");
    require(MergerConfig::from_json_text(ck.config).to_json_text() == config.to_json_text(),
            "checkpoint " + options.checkpoint_path + " was written for another architecture");
    load_module(*net, ck);
    std::map<std::string, at::Tensor> st;
    for (const auto& [k, v] : ck.extra) {
      if (k.rfind("optimizer.", 0) == 0) st[k.substr(10)] = v.to(device);
      if (k.rfind("best.", 0) == 0) best[k.substr(5)] = v;
    }
    opt->load_state(st);
    auto ts = ck.extra.at("train_state");
    report.epochs = ts[0].item<int64_t>();
    report.steps = ts[1].item<int64_t>();
    report.best_epoch = ts[2].item<int64_t>();
    since_best = ts[3].item<int64_t>();
    auto tl = ck.extra.at("train_loss"), vl = ck.extra.at("validation_loss");
    report.train_loss.assign(tl.data_ptr<double>(), tl.data_ptr<double>() + tl.numel());
    report.validation_loss.assign(vl.data_ptr<double>(), vl.data_ptr<double>() + vl.numel());
    auto bm = ck.extra.at("best_metrics");
    require(bm.numel() == 5, "checkpoint " + options.checkpoint_path + " lacks best_metrics");
    report.best_validation.loss = bm[0].item<double>();
    report.best_validation.accuracy = bm[1].item<double>();
    report.best_validation.within3 = bm[2].item<double>();
    report.best_validation.time_mae_myr = bm[3].item<double>();
    report.best_validation.selection_loss = bm[4].item<double>();
    report.best_validation.images = validation.size();
    best_loss = report.best_validation.selection_loss;
  }
  {
    // Rank 0's weights for all (also after a resume: every rank read the
    // same file, this costs one call and rules out a stale file elsewhere).
    std::vector<at::Tensor> state = params;
    for (const auto& buf : net->buffers()) state.push_back(buf);
    dist::broadcast_tensors(backend, state, 0);
  }

  dist::FusedAllreduce fused(backend, options.bucket_bytes);
  const std::vector<at::Tensor> buffers = float_buffers(*net);
  const int64_t total_steps =
      options.max_steps > 0 ? options.max_steps : steps_per_epoch * options.max_epochs;
  Progress progress(rank == 0 ? control : nullptr, "train", total_steps * global_batch, "images",
                    "loss");
  double step_time = 0, allreduce_time0 = 0, wait_time0 = 0;
  int64_t timed_steps = 0;
  bool done = report.steps >= total_steps;
  bool cancel_requested = false;

  while (!done && report.epochs < options.max_epochs && since_best < options.patience) {
    const int64_t epoch = report.epochs;
    at::Tensor perm = at::randperm(
        train.size(), at::detail::createCPUGenerator(mix(options.seed, 1000003 + epoch)),
        at::TensorOptions().dtype(at::kLong));
    double epoch_loss = 0, epoch_images = 0;
    for (int64_t s = 0; s < steps_per_epoch && !done; ++s) {
      const auto t0 = std::chrono::steady_clock::now();
      for (at::Tensor& p : params) {
        if (!p.grad().defined())
          p.mutable_grad() = at::zeros_like(p);
        else
          p.mutable_grad().zero_();
      }
      const TensorMap before = m > 1 ? snapshot(*net) : TensorMap{};
      std::vector<at::Tensor> buffer_sum;
      // loss sum, images, failed ranks, cancel requests
      std::vector<double> extra = {0.0, 0.0, 0.0, cancel_requested ? 1.0 : 0.0};
      std::string failure;
      try {
        for (int64_t k = 0; k < m; ++k) {
          const int64_t g = static_cast<int64_t>(rank) * m + k;  // global micro-batch
          if (m > 1) {
            at::NoGradGuard ng;
            for (auto& buf : net->named_buffers()) buf.value().copy_(before.at(buf.key()));
          }
          at::manual_seed(mix(mix(options.seed, static_cast<uint64_t>(epoch)),
                              static_cast<uint64_t>(s * 65536 + g)));
          at::Tensor idx = perm.narrow(0, s * global_batch + g * b, b);
          at::Tensor x = train.images.index_select(0, idx.to(train.images.device())).to(device);
          if (options.augment) x = augment(x);
          at::Tensor cls = train.time_class.index_select(0, idx).to(device);
          at::Tensor t = train.time_myr.index_select(0, idx).to(device);
          LossParts lp = merger_loss(net, x, cls, t, options);
          const double lv = lp.total.item<double>();
          if (!std::isfinite(lv))
            fail(Status::InvalidArgument, "the training loss is not finite (" + std::to_string(lv) +
                                              ") at step " + std::to_string(report.steps + 1));
          lp.total.backward();
          extra[0] += lv * static_cast<double>(b);
          extra[1] += static_cast<double>(b);
          if (m > 1) {
            at::NoGradGuard ng;
            if (buffer_sum.empty())
              for (const auto& buf : buffers) buffer_sum.push_back(buf.detach().clone());
            else
              for (size_t i = 0; i < buffers.size(); ++i) buffer_sum[i].add_(buffers[i]);
          }
        }
      } catch (const Error& e) {
        if (e.status() == Status::Cancelled) throw;
        failure = e.what();
      } catch (const std::exception& e) {
        failure = e.what();
      }
      if (!failure.empty()) extra[2] = 1.0;
      if (m > 1 && failure.empty()) {
        at::NoGradGuard ng;
        for (size_t i = 0; i < buffers.size(); ++i) buffers[i].copy_(buffer_sum[i]);
      }
      std::vector<at::Tensor> reduce_list;
      reduce_list.reserve(params.size() + buffers.size());
      for (const at::Tensor& p : params) reduce_list.push_back(p.grad());
      for (const at::Tensor& buf : buffers) reduce_list.push_back(buf);
      fused.reduce(reduce_list, 1.0 / static_cast<double>(world * m), &extra);
      if (extra[3] > 0) fail(Status::Cancelled, "merger training cancelled");
      if (extra[2] > 0) {
        if (!failure.empty())
          fail(Status::Backend,
               "merger training failed on rank " + std::to_string(rank) + ": " + failure);
        fail(Status::Backend,
             "merger training stopped: " + std::to_string(static_cast<int>(extra[2])) +
                 " other rank(s) failed at step " + std::to_string(report.steps + 1));
      }
      opt->set_lr(scheduled_lr(options, report.steps, total_steps));
      opt->step();
      ++report.steps;
      epoch_loss += extra[0];
      epoch_images += extra[1];
      const double dt =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      if (report.steps > 1) {  // the first step warms caches up
        step_time += dt;
        ++timed_steps;
      } else {
        allreduce_time0 = fused.seconds();
        wait_time0 = fused.wait_seconds();
      }
      // Only rank 0 reports; its cancellation reaches the others through the
      // next step's reduction.
      try {
        progress.update(report.steps * global_batch, extra[0] / std::max(1.0, extra[1]));
      } catch (const Error& e) {
        if (e.status() != Status::Cancelled || world == 1) throw;
        cancel_requested = true;
      }
      if (report.steps >= total_steps) done = true;
    }
    ++report.epochs;
    report.train_loss.push_back(epoch_loss / std::max(1.0, epoch_images));
    MergerMetrics val = evaluate_merger(net, validation, options, backend, device);
    report.validation_loss.push_back(val.selection_loss);
    if (val.selection_loss < best_loss) {
      best_loss = val.selection_loss;
      report.best_validation = val;
      report.best_epoch = report.epochs;
      best = snapshot(*net);
      since_best = 0;
    } else {
      ++since_best;
    }
    if (!options.checkpoint_path.empty()) {
      dist::on_all_ranks(backend, "merger training: the checkpoint", [&] {
        if (rank == 0)
          write_checkpoint(options.checkpoint_path, net, *opt, best, report, since_best);
      });
    }
  }
  report.stopped_early = since_best >= options.patience;
  if (!best.empty()) restore(*net, best);
  progress.finish(best_loss);
  if (timed_steps > 0) {
    report.step_seconds = step_time / static_cast<double>(timed_steps);
    report.images_per_s = static_cast<double>(global_batch) / report.step_seconds;
    report.allreduce_seconds =
        (fused.seconds() - allreduce_time0) / static_cast<double>(timed_steps);
    report.wait_seconds = (fused.wait_seconds() - wait_time0) / static_cast<double>(timed_steps);
  }
  report.allreduce_calls = fused.calls();
  report.buckets_per_step = static_cast<int64_t>(fused.buckets());
  return report;
}

}  // namespace gml::merger

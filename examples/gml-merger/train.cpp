// gml-merger train: fits a merger model on a simulator file, on one process
// or data-parallel under mpirun, and reports the run's figures (accuracy,
// speed, allreduce share) as text, JSON for the benchmark scripts and a
// loss curve.
#include <boost/program_options.hpp>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli.h"
#include "merger_common.h"
#include "merger_plots.h"
#include "options.h"
#include "outputs.h"
#include "subcommands.h"

namespace po = boost::program_options;

namespace gml_tools {

namespace {

// Forwards progress to the bar and keeps the training loss of each report
// for the curve (the final report carries the validation loss: left out).
struct LossRecorder {
  ProgressBar* bar = nullptr;
  std::vector<double> images, loss;

  static int32_t callback(const gml_progress* p, void* user) {
    auto* r = static_cast<LossRecorder*>(user);
    if (p->stage && std::string(p->stage) == "train" && std::isfinite(p->metric) && p->total > 0 &&
        p->done < p->total) {
      r->images.push_back(static_cast<double>(p->done));
      r->loss.push_back(p->metric);
    }
    return ProgressBar::callback(p, r->bar);
  }
};

double allreduce_fraction(const gml_merger_train_report& r) {
  return r.step_seconds > 0 ? r.allreduce_seconds / r.step_seconds : 0.0;
}

void print_report(const gml_merger_train_report& r) {
  std::printf(
      "epochs %lld (steps %lld, best epoch %lld%s); %lld training and %lld validation "
      "images; world size %d\n",
      static_cast<long long>(r.epochs), static_cast<long long>(r.steps),
      static_cast<long long>(r.best_epoch), r.stopped_early ? ", stopped early" : "",
      static_cast<long long>(r.train_images), static_cast<long long>(r.validation_images),
      r.world_size);
  std::printf("validation: loss %.4f, accuracy %.3f, within 3 classes %.3f, time MAE %.1f Myr\n",
              r.validation_loss, r.validation_accuracy, r.validation_within3,
              r.validation_time_mae_myr);
  std::printf(
      "speed: %.1f images/s, step %.4f s, allreduce %.4f s per step (fraction %.3f), "
      "waiting for other ranks %.4f s per step (fraction %.3f), %lld buckets per step, "
      "%lld allreduce calls\n",
      r.images_per_s, r.step_seconds, r.allreduce_seconds, allreduce_fraction(r), r.wait_seconds,
      r.step_seconds > 0 ? r.wait_seconds / r.step_seconds : 0.0,
      static_cast<long long>(r.buckets_per_step), static_cast<long long>(r.allreduce_calls));
  std::fflush(stdout);
}

void write_report_json(const std::string& path, const gml_merger_train_report& r,
                       const std::string& data, const std::string& model,
                       const gml_merger_train_options& o, const std::string& backend) {
  nlohmann::json j{{"epochs", r.epochs},
                   {"steps", r.steps},
                   {"best_epoch", r.best_epoch},
                   {"train_images", r.train_images},
                   {"validation_images", r.validation_images},
                   {"world_size", r.world_size},
                   {"stopped_early", r.stopped_early},
                   {"validation_loss", r.validation_loss},
                   {"validation_accuracy", r.validation_accuracy},
                   {"validation_within3", r.validation_within3},
                   {"validation_time_mae_myr", r.validation_time_mae_myr},
                   {"images_per_s", r.images_per_s},
                   {"step_seconds", r.step_seconds},
                   {"allreduce_seconds", r.allreduce_seconds},
                   {"allreduce_calls", r.allreduce_calls},
                   {"buckets_per_step", r.buckets_per_step},
                   {"allreduce_fraction", allreduce_fraction(r)},
                   {"wait_seconds", r.wait_seconds},
                   {"wait_fraction", r.step_seconds > 0 ? r.wait_seconds / r.step_seconds : 0.0},
                   {"data", data},
                   {"model", model},
                   {"backbone", o.backbone},
                   {"batch_size", o.batch_size},
                   {"micro_batches", o.micro_batches},
                   {"global_batch", o.batch_size * o.micro_batches * r.world_size},
                   {"optimizer", o.optimizer},
                   {"lr", o.lr},
                   {"lr_schedule", o.lr_schedule},
                   {"bucket_mb", o.bucket_mb},
                   {"backend", backend},
                   {"command", g_command_line}};
  // NaN is not JSON: null instead.
  for (auto& [key, value] : j.items()) {
    if (value.is_number_float() && !std::isfinite(value.get<double>())) value = nullptr;
  }
  const std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp);
    f << j.dump(2) << "\n";
    if (!f) die("cannot write " + path);
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) die("cannot write " + path);
}

// The flags of `train`; `o` points into the strings, so it lives as long
// as they do.
struct TrainArgs {
  Common c;
  gml_merger_train_options o;
  std::string data, model, backbone, nan_policy, optimizer, weights, validation, checkpoint,
      backend = "auto", png, report_path, lr_schedule;
  bool no_time = false, no_fcae = false, no_augment = false, resume = false;
  double lr = NAN;
  std::vector<int32_t> cameras;

  TrainArgs() {
    gml_merger_train_options_default(&o);
    backbone = o.backbone;
    nan_policy = o.nan_policy;
    optimizer = o.optimizer;
    lr_schedule = o.lr_schedule;
  }
  TrainArgs(const TrainArgs&) = delete;
  TrainArgs& operator=(const TrainArgs&) = delete;
};

// False on --help.
bool read_args(int argc, char** argv, TrainArgs& a) {
  gml_merger_train_options& o = a.o;
  po::options_description d("gml-merger train");
  add_common(d, a.c);
  d.add_options()("data", po::value(&a.data)->required(),
                  "simulator file (gml-merger simulate) or any FITS file of that layout")(
      "model,m", po::value(&a.model)->required(), "model file to write (HDF5)")(
      "backbone", po::value(&a.backbone)->default_value(a.backbone),
      "encoder: resnet18, resnet34, resnet50, efficientnet_b0 .. efficientnet_b4")(
      "latent", po::value(&o.latent_dim)->default_value(o.latent_dim),
      "VAE latent size for search (0: no VAE, no index/search)")(
      "no-time", po::bool_switch(&a.no_time), "no head regressing the time")(
      "no-fcae", po::bool_switch(&a.no_fcae), "do not train the FCAE decoder")(
      "nan-policy", po::value(&a.nan_policy)->default_value(a.nan_policy),
      "NaN pixels: reject (an error) or mask (set to 0 and flagged), kept in the model")(
      "optimizer", po::value(&a.optimizer)->default_value(a.optimizer), "adam or adadelta")(
      "lr", po::value(&a.lr)->default_value(NAN, "1e-3 with adam, 1 with adadelta"),
      "learning rate")("lr-schedule", po::value(&a.lr_schedule)->default_value(a.lr_schedule),
                       "constant, or cosine (decays to 0 over the planned steps)")(
      "batch", po::value(&o.batch_size)->default_value(o.batch_size),
      "images per rank and micro-batch")(
      "micro-batches", po::value(&o.micro_batches)->default_value(o.micro_batches),
      "micro-batches per rank and step (global batch = batch x micro-batches x ranks)")(
      "epochs", po::value(&o.max_epochs)->default_value(o.max_epochs), "most epochs")(
      "max-steps", po::value(&o.max_steps)->default_value(0), "most optimiser steps (0: no limit)")(
      "patience", po::value(&o.patience)->default_value(o.patience),
      "early stopping: epochs without validation improvement")(
      "weights", po::value(&a.weights)->default_value("1,1,1,1"),
      "loss weights: class,time,fcae,vae")(
      "beta", po::value(&o.vae_beta)->default_value(o.vae_beta), "KL weight of the VAE")(
      "no-augment", po::bool_switch(&a.no_augment), "no random flips and quarter turns")(
      "validation-cameras", po::value(&a.validation)->default_value("", "the last two cameras"),
      "cameras whose images form the validation set, e.g. 12,13")(
      "checkpoint", po::value(&a.checkpoint), "checkpoint file, written after every epoch")(
      "resume", po::bool_switch(&a.resume), "continue from --checkpoint when it exists")(
      "bucket-mb", po::value(&o.bucket_mb)->default_value(o.bucket_mb),
      "fused allreduce bucket size [MiB]")("backend",
                                           po::value(&a.backend)->default_value(a.backend),
                                           "none, mpi, or auto (MPI when started by mpirun)")(
      "png", po::value(&a.png), "training loss curve")("report", po::value(&a.report_path),
                                                       "JSON file with every figure of the run");
  return parse(argc, argv, d,
               "Trains a merger model (CNN backbone + class/time heads, FCAE, VAE) on labelled\n"
               "images. Under mpirun every rank trains a share of each global batch and\n"
               "gradients are averaged with fused allreduce; rank 0 writes the files.");
}

// Every output is refused before the run when it would replace an input or,
// without --overwrite, an existing file.
void check_outputs(const TrainArgs& a) {
  if (a.resume && a.checkpoint.empty()) die("--resume needs --checkpoint");
  require_output_file(a.model, {a.data, a.checkpoint}, "--model", a.c.overwrite);
  if (!a.checkpoint.empty()) require_output_file(a.checkpoint, {a.data}, "--checkpoint", true);
  if (!a.png.empty()) {
    require_output_file(a.png, {a.data, a.model, a.checkpoint}, "--png", a.c.overwrite);
  }
  if (!a.report_path.empty()) {
    require_output_file(a.report_path, {a.data, a.model, a.checkpoint, a.png}, "--report",
                        a.c.overwrite);
  }
}

// The library's options from the flags that are not read into them directly.
void fill_options(TrainArgs& a) {
  const std::vector<double> w = parse_numbers(a.weights, "--weights");
  if (w.size() != 4) die("--weights needs 4 numbers (class,time,fcae,vae), got " + a.weights);
  if (!a.validation.empty()) a.cameras = parse_ints(a.validation, "--validation-cameras");
  gml_merger_train_options& o = a.o;
  o.backbone = a.backbone.c_str();
  o.regress_time = a.no_time ? 0 : 1;
  o.fcae = a.no_fcae ? 0 : 1;
  o.nan_policy = a.nan_policy.c_str();
  o.optimizer = a.optimizer.c_str();
  o.lr_schedule = a.lr_schedule.c_str();
  o.lr = std::isfinite(a.lr) ? a.lr : (a.optimizer == "adadelta" ? 1.0 : o.lr);
  o.w_class = w[0];
  o.w_time = w[1];
  o.w_fcae = w[2];
  o.w_vae = w[3];
  o.augment = a.no_augment ? 0 : 1;
  o.validation_cameras = a.cameras.empty() ? nullptr : a.cameras.data();
  o.n_validation_cameras = static_cast<int32_t>(a.cameras.size());
  o.checkpoint_path = a.checkpoint.empty() ? nullptr : a.checkpoint.c_str();
  o.resume = a.resume ? 1 : 0;
  o.seed = a.c.seed;
  o.command = g_command_line.c_str();
}

void draw_loss_curve(const TrainArgs& a, const gml_merger_train_report& r,
                     const LossRecorder& recorder) {
  char title[200];
  std::snprintf(title, sizeof title,
                "%s, %d rank%s: validation accuracy %.3f, within 3 %.3f, time MAE %.0f Myr",
                a.backbone.c_str(), r.world_size, r.world_size == 1 ? "" : "s",
                r.validation_accuracy, r.validation_within3, r.validation_time_mae_myr);
  training_curve(a.png, recorder.images, recorder.loss, title);
}

}  // namespace

int cmd_train(int argc, char** argv) {
  TrainArgs a;
  if (!read_args(argc, argv, a)) return 0;
  check_outputs(a);
  fill_options(a);

  Session s(a.c.device, a.c.threads, a.c.seed, a.c.quiet, a.backend);
  int32_t rank = 0, size = 1;
  check(gml_context_rank(s.ctx, &rank, &size), "rank");
  LossRecorder recorder;
  recorder.bar = &s.bar;
  check(gml_context_set_progress(s.ctx, LossRecorder::callback, &recorder), "progress");
  gml_merger_train_report r{};
  r.struct_size = sizeof r;
  // A failure exits non-zero on this rank (under mpirun the others fail too).
  check(gml_merger_train(s.ctx, a.data.c_str(), &a.o, a.model.c_str(), &r),
        size > 1 ? "train (rank " + std::to_string(rank) + ")" : "train");
  s.bar.close();
  if (rank != 0) return 0;
  print_report(r);
  if (!a.report_path.empty()) {
    write_report_json(a.report_path, r, a.data, a.model, a.o, a.backend);
    if (!a.c.quiet) std::fprintf(stderr, "wrote %s\n", a.report_path.c_str());
  }
  if (!a.png.empty()) {
    draw_loss_curve(a, r, recorder);
    if (!a.c.quiet) std::fprintf(stderr, "wrote %s\n", a.png.c_str());
  }
  if (!a.c.quiet) std::fprintf(stderr, "wrote model %s\n", a.model.c_str());
  return 0;
}

}  // namespace gml_tools

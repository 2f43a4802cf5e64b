// Training of a merger model, on one process or data-parallel over MPI.
//
// Data parallelism (Horovod / PyTorch DDP semantics):
//   - every rank starts from rank 0's weights (one packed broadcast);
//   - each step takes a global batch of world x micro_batches x batch_size
//     images from a permutation every rank draws from the same seed; rank r
//     takes micro-batches r*M .. r*M+M-1 of it;
//   - gradients (and BatchNorm running statistics) are summed in fused
//     buckets by FusedAllreduce, a few calls per step, and averaged;
//   - the loss sums, image counts and a failure flag ride in the same
//     buckets, so a rank whose step fails makes every rank stop with an
//     error at that step, never a hang;
//   - only rank 0 writes checkpoints.
// BatchNorm statistics are those of each micro-batch (as DDP without
// SyncBatchNorm), and the random stream of micro-batch g of step s is seeded
// from (seed, epoch, s, g). So one process with M micro-batches per step
// makes the same update as M ranks with one each: the MPI equivalence test
// relies on this.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/merger/merger_net.h"
#include "core/merger/sim/dataset.h"

namespace gml {
class RunControl;
namespace dist {
class Backend;
}
}  // namespace gml

namespace gml::merger {

// Labelled images, already through prepare_images().
struct MergerSamples {
  at::Tensor images;      // (N, C, S, S) float32
  at::Tensor time_class;  // (N) int64
  at::Tensor time_myr;    // (N) float32; NaN where unknown
  at::Tensor sim_id;      // (N) int64
  at::Tensor camera;      // (N) int64; -1 where unknown
  int64_t size() const { return images.defined() ? images.size(0) : 0; }
  MergerSamples select(const at::Tensor& index) const;
};

// The simulator's images and labels as training samples: pixels through
// prepare_images (normalisation and NaN policy of `config`, no resizing).
// The samples own their memory. Throws what prepare_images throws.
MergerSamples samples_from_image_set(const MergerImageSet& set, const MergerConfig& config);

// Images seen from `cameras` go to the second set: a model is validated on
// viewing angles it never trained on. Throws Error(InvalidArgument) when
// either side would be empty.
std::pair<MergerSamples, MergerSamples> split_by_camera(const MergerSamples& all,
                                                        const std::vector<int64_t>& cameras);

struct MergerTrainOptions {
  std::string optimizer = "adam";  // "adam" or "adadelta" (DeepGalaxy's)
  double lr = 1e-3;                // AdaDelta: 1.0 is the usual rate
  // "constant", or "cosine": lr (1 + cos(pi s / S)) / 2 at step s of the S
  // planned steps (max_steps, else max_epochs x steps per epoch).
  std::string lr_schedule = "constant";
  int64_t batch_size = 32;    // images per micro-batch
  int64_t micro_batches = 1;  // micro-batches per rank per step
  int64_t max_epochs = 20;
  int64_t max_steps = 0;  // 0: no limit; else stop after this many steps in all
  int64_t patience = 5;   // epochs without validation improvement
  // Loss weights; 0 leaves a head untrained. Separate training of the
  // paper's stages = runs with one weight non-zero (resume from the last).
  double w_class = 1.0, w_time = 1.0, w_fcae = 1.0, w_vae = 1.0;
  double vae_beta = 1.0;
  bool augment = true;          // random flips and quarter turns per image
  std::string checkpoint_path;  // rank 0 writes it after every epoch
  bool resume = false;
  uint64_t seed = 0;
  size_t bucket_bytes = size_t{25} << 20;  // fused allreduce bucket
};

// Learning rate of optimiser step `step` (0-based) of the `total` planned:
// options.lr, or the cosine curve of options.lr_schedule. The step count is
// kept in checkpoints, so a resumed run continues the same curve.
double scheduled_lr(const MergerTrainOptions& options, int64_t step, int64_t total);

struct MergerMetrics {
  double loss = 0;          // weighted total, mean per image
  double accuracy = 0;      // argmax class == true class
  double within3 = 0;       // |predicted - true class| <= 3
  double time_mae_myr = 0;  // |predicted - true time|, from the time head or the class posterior
  int64_t images = 0;
  // Early stopping's criterion: the weighted supervised terms (classes,
  // time, FCAE), without the VAE's unless only the VAE is trained.
  double selection_loss = 0;
};

struct MergerTrainReport {
  int64_t epochs = 0, steps = 0, best_epoch = 0;
  bool stopped_early = false;
  MergerMetrics best_validation;
  // Per epoch: mean training loss (all terms) and validation selection loss.
  std::vector<double> train_loss, validation_loss;
  int64_t train_images = 0, validation_images = 0, world_size = 1;
  double images_per_s = 0;       // all ranks together, training steps only
  double step_seconds = 0;       // mean wall time of a step
  double allreduce_seconds = 0;  // of which in allreduce (rank 0)
  double wait_seconds = 0;       // of which waiting for the slowest rank first (rank 0)
  int64_t allreduce_calls = 0;
  int64_t buckets_per_step = 0;
};

// Trains `net` in place on `device`. With `backend` size > 1 every rank must
// call this with the same samples and options. Progress ("train", images;
// metric: loss) and cancellation through `control` (may be null).
// Throws Error(InvalidArgument) for bad options or more ranks than
// training images, Error(Backend) when another rank failed, Error(Cancelled).
MergerTrainReport train_merger(MergerNet& net, const MergerSamples& train,
                               const MergerSamples& validation, const MergerTrainOptions& options,
                               dist::Backend& backend, RunControl* control,
                               const c10::Device& device);

// Loss and accuracies of `net` on `samples` (eval mode, no autograd). With
// a backend of size > 1 each rank evaluates a block of the samples and the
// sums are allreduced, so every rank returns the same figures.
MergerMetrics evaluate_merger(MergerNet& net, const MergerSamples& samples,
                              const MergerTrainOptions& options, dist::Backend& backend,
                              const c10::Device& device, int64_t batch_size = 128);

// Predicted time (Myr) per image from a forward pass: the time head when the
// model has one, else the class posterior's mean of the class times.
at::Tensor predicted_time_myr(const MergerConfig& config, const MergerOutput& out);

}  // namespace gml::merger

// Data-parallel merger training over MPI makes the same update as one
// process on the concatenated batch.
//
// Run as `mpirun -np N mpi_train_equivalence`. Every rank trains a few steps
// with the MPI backend (batch b per rank); then rank 0 trains a fresh copy of
// the same initial network alone, with N micro-batches of b images per step
// (global batch N*b, BatchNorm statistics per micro-batch as on the ranks),
// and compares every parameter and buffer. Also checks that a rank count
// larger than the data is refused on every rank, and that a failure on one
// rank stops all of them with an error instead of a hang.
#include <ATen/ATen.h>
#include <torch/torch.h>

#include <cmath>
#include <cstdio>
#include <string>

#include "core/common/error.h"
#include "core/distributed/backend.h"
#include "core/merger/merger_training.h"

using namespace gml;
using namespace gml::merger;

namespace {

MergerSamples make_samples(int64_t n, int64_t size) {
  at::Generator g = at::detail::createCPUGenerator(7);
  MergerSamples s;
  s.images = at::randn({n, 1, size, size}, g);
  s.time_class = at::randint(0, 8, {n}, g, at::kLong);
  s.time_myr = s.time_class.to(at::kFloat) * 100.0;
  s.sim_id = at::arange(n, at::kLong) % 3;
  s.camera = at::arange(n, at::kLong) % 14;
  return s;
}

MergerConfig small_config() {
  MergerConfig c;
  c.backbone = "resnet18";
  c.image_size = 32;
  c.n_classes = 8;
  c.time_max_myr = 700;
  c.latent_dim = 8;
  c.vae_hidden = 32;
  c.dropout = 0.1;  // exercises the per-micro-batch random streams
  return c;
}

MergerTrainOptions small_options(int64_t micro) {
  MergerTrainOptions o;
  o.batch_size = 4;
  o.micro_batches = micro;
  o.max_steps = 3;
  o.max_epochs = 1;
  o.patience = 10;
  o.seed = 11;
  o.bucket_bytes = size_t{4} << 20;  // several buckets per step
  return o;
}

MergerNet fresh_net() {
  at::manual_seed(1234);
  return MergerNet(small_config());
}

int check(bool ok, const std::string& what, int rank) {
  if (!ok) std::fprintf(stderr, "rank %d: FAILED: %s\n", rank, what.c_str());
  return ok ? 0 : 1;
}

}  // namespace

int main() {
  at::set_num_threads(1);
  auto backend = dist::open_backend("mpi");
  const int rank = backend->rank(), world = backend->size();
  int failures = 0;
  const MergerSamples train = make_samples(48, 32), val = make_samples(8, 32);

  // 1. Equivalence.
  MergerNet parallel = fresh_net();
  MergerTrainReport rp =
      train_merger(parallel, train, val, small_options(1), *backend, nullptr, at::kCPU);
  failures += check(rp.steps == 3, "3 data-parallel steps", rank);
  failures += check(world == 1 || rp.buckets_per_step > 1,
                    "gradients travel in several fused buckets", rank);
  failures += check(rp.wait_seconds >= 0 && (world > 1 || rp.wait_seconds == 0),
                    "the wait for the slowest rank is measured apart", rank);
  if (rank == 0) {
    auto local = dist::open_backend("none");
    MergerNet single = fresh_net();
    train_merger(single, train, val, small_options(world), *local, nullptr, at::kCPU);
    double worst = 0;
    std::string worst_name;
    auto p = parallel->named_parameters(), q = single->named_parameters();
    for (const auto& item : p) {
      const at::Tensor a = item.value(), b = q[item.key()];
      const double d =
          (a - b).abs().max().item<double>() / std::max(1e-3, b.abs().max().item<double>());
      if (d > worst) {
        worst = d;
        worst_name = item.key();
      }
    }
    auto pb = parallel->named_buffers(), qb = single->named_buffers();
    for (const auto& item : pb) {
      if (item.value().scalar_type() != at::kFloat) continue;
      const double d = (item.value() - qb[item.key()]).abs().max().item<double>();
      if (d > worst) {
        worst = d;
        worst_name = item.key();
      }
    }
    std::printf(
        "%d ranks vs one process with %d micro-batches: largest relative difference "
        "%.3g (%s)\n",
        world, world, worst, worst_name.c_str());
    failures += check(worst < 1e-4, "data-parallel weights equal single-process weights", rank);
    // The difference must come from summation order only, not from the
    // training being a no-op: the weights moved.
    MergerNet initial = fresh_net();
    const double moved = (parallel->named_parameters()["classifier.1.weight"] -
                          initial->named_parameters()["classifier.1.weight"])
                             .abs()
                             .max()
                             .item<double>();
    failures += check(moved > 1e-4, "training changed the weights", rank);
  }

  // 2. More ranks than images: refused everywhere, same message.
  try {
    MergerNet net = fresh_net();
    train_merger(net, make_samples(world - 1 > 0 ? world - 1 : 0, 32), val, small_options(1),
                 *backend, nullptr, at::kCPU);
    failures += check(world == 1, "more ranks than images is refused", rank);
  } catch (const Error& e) {
    failures += check(std::string(e.what()).find("ranks but only") != std::string::npos,
                      std::string("clear message for too many ranks: ") + e.what(), rank);
  }

  // 3. One rank fails (non-finite images on the last rank only): all stop.
  if (world > 1) {
    MergerSamples bad = train;
    if (rank == world - 1) bad.images = bad.images.clone().fill_(NAN);
    try {
      MergerNet net = fresh_net();
      train_merger(net, bad, val, small_options(1), *backend, nullptr, at::kCPU);
      failures += check(false, "a failing rank stops training", rank);
    } catch (const Error& e) {
      failures += check(e.status() == Status::Backend,
                        std::string("failure reported as a backend error: ") + e.what(), rank);
    }
  }
  backend->barrier();
  if (rank == 0) std::printf(failures == 0 ? "PASS\n" : "FAIL\n");
  return failures == 0 ? 0 : 1;
}

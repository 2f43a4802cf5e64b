// Images/s of a merger backbone's forward pass (1000-class head, as
// torchvision's models) on random images, the way the library runs
// inference: prepare_for_inference() (BatchNorm folded into the convolutions,
// channels_last weights, oneDNN activation and residual post-ops) under
// c10::InferenceMode. Prints one JSON line.
//
//   bench_merger_backbone ARCH SIZE BATCH THREADS ITERS [BANDS]
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "core/merger/nets/backbone.h"

int main(int argc, char** argv) {
  if (argc < 6) {
    std::fprintf(stderr, "usage: %s ARCH SIZE BATCH THREADS ITERS [BANDS]\n", argv[0]);
    return 2;
  }
  const std::string arch = argv[1];
  const int64_t size = std::atoll(argv[2]), batch = std::atoll(argv[3]);
  const int threads = std::atoi(argv[4]);
  const int iters = std::atoi(argv[5]);
  const int64_t bands = argc > 6 ? std::atoll(argv[6]) : 3;
  at::set_num_threads(threads);
  at::manual_seed(0);
  auto net = gml::merger::make_backbone(arch, bands, 1000);
  net->prepare_for_inference();
  c10::InferenceMode guard;
  at::Tensor x = at::randn({batch, bands, size, size});
  for (int i = 0; i < 2; ++i) net->forward(x);  // warm-up: oneDNN primitive caches
  double best = 1e30;
  for (int block = 0; block < 3; ++block) {  // best of three: the machine may be shared
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < iters; ++i) net->forward(x);
    best = std::min(best,
                    std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  std::printf(
      "{\"arch\": \"%s\", \"size\": %lld, \"batch\": %lld, \"bands\": %lld, \"threads\": %d,"
      " \"fused_kernels\": %s, \"images_per_s\": %.4f}\n",
      arch.c_str(), static_cast<long long>(size), static_cast<long long>(batch),
      static_cast<long long>(bands), threads, net->uses_fused_kernels() ? "true" : "false",
      static_cast<double>(batch * iters) / best);
  return 0;
}

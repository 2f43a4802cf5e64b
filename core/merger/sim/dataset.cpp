// Runs the simulations of a MergerSimConfig on worker threads and renders
// their snapshots into one MergerImageSet. Workers take whole simulations
// from a shared counter and write only their own images and labels, so the
// result does not depend on the thread count; the calling thread only
// waits, reports progress and relays cancellation.
#include "core/merger/sim/dataset.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <limits>
#include <mutex>
#include <thread>

#include "core/common/error.h"
#include "core/merger/sim/camera.h"
#include "core/merger/sim/random.h"
#include "core/merger/sim/render.h"
#include "core/merger/sim/run.h"

namespace gml::merger {
namespace {

struct SharedState {
  std::atomic<int64_t> next_sim{0};
  std::atomic<int64_t> images_done{0};
  std::atomic<bool> stop{false};
  std::mutex mutex;
  std::condition_variable finished_cv;
  int workers_left = 0;
  std::exception_ptr error;
};

// Simulates `sim` and fills its images and labels.
void run_one(const MergerSimConfig& config, int32_t sim, Renderer& renderer, MergerImageSet& out,
             SharedState& shared) {
  const SimulationSetup setup = draw_simulation(config, sim);
  MergerRun run(config, setup);
  const int64_t hw = out.height * out.width;
  const int32_t nt = config.n_time_classes, nc = config.n_cameras;
  const int64_t first = static_cast<int64_t>(sim) * nt * nc;
  for (int32_t k = 0; k < nt; ++k) {
    if (shared.stop.load(std::memory_order_relaxed)) return;
    run.advance_to(snapshot_time(config, k));
    const Vec3 centre = run.light_centre();
    const float sep = static_cast<float>(run.centres().separation());
    for (int32_t c = 0; c < nc; ++c) {
      const int64_t i = first + static_cast<int64_t>(k) * nc + c;
      const uint64_t noise_seed =
          stream_seed(config.seed, {kStreamNoise, static_cast<uint64_t>(sim),
                                    static_cast<uint64_t>(k), static_cast<uint64_t>(c)});
      renderer.render(run.particles(), camera(c), centre, noise_seed, out.pixels.data() + i * hw);
      out.separation_kpc[static_cast<size_t>(i)] = sep;
    }
    shared.images_done.fetch_add(nc, std::memory_order_relaxed);
  }
  const float t_merge = static_cast<float>(run.merge_time());
  const float rp = static_cast<float>(setup.orbit.pericentre_kpc);
  const float ecc = static_cast<float>(setup.orbit.eccentricity);
  for (int64_t i = first; i < first + static_cast<int64_t>(nt) * nc; ++i) {
    const size_t u = static_cast<size_t>(i);
    out.merge_time_myr[u] = t_merge;
    out.pericentre_kpc[u] = rp;
    out.eccentricity[u] = ecc;
  }
}

void worker(const MergerSimConfig& config, int64_t n_sims, MergerImageSet& out,
            SharedState& shared) {
  try {
    RenderParams rp;
    rp.size = config.image_size;
    rp.fov_kpc = config.fov_kpc;
    rp.psf_fwhm_pix = config.psf_fwhm_pix;
    rp.stretch = parse_stretch(config.stretch);
    rp.stretch_beta = config.stretch_beta;
    rp.noise_sigma = config.noise_sigma;
    Renderer renderer(rp);
    while (!shared.stop.load(std::memory_order_relaxed)) {
      const int64_t sim = shared.next_sim.fetch_add(1);
      if (sim >= n_sims) break;
      run_one(config, static_cast<int32_t>(sim), renderer, out, shared);
    }
  } catch (...) {
    std::lock_guard<std::mutex> lock(shared.mutex);
    if (!shared.error) shared.error = std::current_exception();
    shared.stop.store(true);
  }
  std::lock_guard<std::mutex> lock(shared.mutex);
  --shared.workers_left;
  shared.finished_cv.notify_all();
}

// Joins the workers on every path out of simulate_mergers.
struct JoinGuard {
  std::vector<std::thread>& threads;
  SharedState& shared;
  ~JoinGuard() {
    shared.stop.store(true);
    for (auto& t : threads) {
      if (t.joinable()) t.join();
    }
  }
};

void fill_fixed_labels(const MergerSimConfig& config, MergerImageSet& out) {
  const int32_t nt = config.n_time_classes, nc = config.n_cameras;
  const int64_t n_sims = num_simulations(config);
  int64_t i = 0;
  for (int64_t s = 0; s < n_sims; ++s) {
    const float q =
        static_cast<float>(config.mass_ratios[static_cast<size_t>(s / config.sims_per_ratio)]);
    for (int32_t k = 0; k < nt; ++k) {
      const float t = static_cast<float>(snapshot_time(config, k));
      for (int32_t c = 0; c < nc; ++c, ++i) {
        const size_t u = static_cast<size_t>(i);
        out.sim_id[u] = static_cast<int32_t>(s);
        out.time_class[u] = k;
        out.camera[u] = c;
        out.time_myr[u] = t;
        out.mass_ratio[u] = q;
      }
    }
  }
}

}  // namespace

void MergerImageSet::check_consistent() const {
  const auto bad = [](const char* what) {
    fail(Status::InvalidArgument, std::string("inconsistent merger image set: ") + what);
  };
  if (n < 0 || channels != 1 || height < 1 || width < 1) bad("shape");
  const size_t un = static_cast<size_t>(n);
  if (pixels.size() != un * static_cast<size_t>(channels * height * width)) bad("pixel count");
  if (sim_id.size() != un || time_class.size() != un || camera.size() != un ||
      time_myr.size() != un || mass_ratio.size() != un || pericentre_kpc.size() != un ||
      eccentricity.size() != un || separation_kpc.size() != un || merge_time_myr.size() != un) {
    bad("label columns differ in length from n");
  }
}

MergerImageSet simulate_mergers(const MergerSimConfig& config, const SimProgress& progress) {
  validate(config);
  const int64_t n_sims = num_simulations(config);
  const int64_t total = num_images(config);

  MergerImageSet out;
  out.n = total;
  out.channels = 1;
  out.height = config.image_size;
  out.width = config.image_size;
  out.pixels.assign(static_cast<size_t>(total * out.height * out.width), 0.0f);
  const size_t un = static_cast<size_t>(total);
  out.sim_id.resize(un);
  out.time_class.resize(un);
  out.camera.resize(un);
  out.time_myr.resize(un);
  out.mass_ratio.resize(un);
  out.pericentre_kpc.resize(un);
  out.eccentricity.resize(un);
  out.separation_kpc.resize(un);
  out.merge_time_myr.resize(un, std::numeric_limits<float>::quiet_NaN());
  fill_fixed_labels(config, out);

  int64_t n_threads = config.n_threads;
  if (n_threads <= 0) n_threads = std::max(1u, std::thread::hardware_concurrency());
  n_threads = std::min(n_threads, n_sims);

  SharedState shared;
  shared.workers_left = static_cast<int>(n_threads);
  std::vector<std::thread> threads;
  bool cancelled = false;
  {
    JoinGuard guard{threads, shared};
    threads.reserve(static_cast<size_t>(n_threads));
    for (int64_t t = 0; t < n_threads; ++t) {
      threads.emplace_back(worker, std::cref(config), n_sims, std::ref(out), std::ref(shared));
    }
    std::unique_lock<std::mutex> lock(shared.mutex);
    while (shared.workers_left > 0) {
      shared.finished_cv.wait_for(lock, std::chrono::milliseconds(200),
                                  [&] { return shared.workers_left == 0; });
      if (progress && shared.workers_left > 0 && !shared.stop.load()) {
        const int64_t done = shared.images_done.load();
        lock.unlock();
        const bool go_on = progress(done, total);  // may throw: the guard joins
        lock.lock();
        if (!go_on) {
          cancelled = true;
          shared.stop.store(true);
        }
      }
    }
  }
  if (shared.error) std::rethrow_exception(shared.error);
  if (!cancelled && progress && !progress(total, total)) cancelled = true;
  if (cancelled) {
    fail(Status::Cancelled, "merger simulation cancelled by the progress callback after " +
                                std::to_string(shared.images_done.load()) + " of " +
                                std::to_string(total) + " images");
  }
  return out;
}

}  // namespace gml::merger

// Memory and cancellation promises of the sampling calls, measured from the
// outside as a host would: peak resident memory beyond the caller's buffer
// does not grow with the number of draws, and a cancel is seen within one
// observation. Each test runs in its own process (gtest_discover_tests), and
// the peak is reset before each measured call.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "galaxyml/galaxyml.h"

namespace fs = std::filesystem;

namespace {

int64_t status_kib(const char* field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field, 0) == 0) return std::stoll(line.substr(std::strlen(field)));
  }
  return -1;
}

// Resets the peak resident set (VmHWM) to the current one (Linux >= 4.0).
bool reset_peak() {
  std::ofstream f("/proc/self/clear_refs");
  f << "5";
  f.close();
  return static_cast<bool>(f);
}

// Peak resident memory, in MiB, that `call` adds beyond what was resident
// before it (the caller's buffer is allocated and touched beforehand).
template <class Call>
double peak_beyond_mib(Call&& call) {
  if (!reset_peak()) return -1;
  const int64_t before = status_kib("VmRSS:");
  call();
  return static_cast<double>(status_kib("VmHWM:") - before) / 1024.0;
}

gml_context* memory_cpu_context() {
  gml_context_options o;
  gml_context_options_default(&o);
  o.device = "cpu";
  gml_context* ctx = nullptr;
  EXPECT_EQ(gml_context_create(&o, &ctx), GML_OK) << gml_last_error();
  return ctx;
}

fs::path work_dir(const char* name) {
  fs::path d = fs::temp_directory_path() / (std::string(name) + std::to_string(::getpid()));
  fs::create_directories(d);
  return d;
}

int memory_identity_simulator(const double* theta, int64_t n, double* x, void*) {
  std::memcpy(x, theta, static_cast<size_t>(n) * 2 * sizeof(double));
  return 0;
}

// A tiny posterior model (theta, x both 2-D), trained for one epoch.
gml_model* tiny_posterior(gml_context* ctx, const fs::path& dir) {
  const double lo[2] = {0, 0}, hi[2] = {1, 1};
  const std::string ts = (dir / "ts.h5").string(), path = (dir / "post.h5").string();
  EXPECT_EQ(gml_posterior_simulate(ctx, memory_identity_simulator, nullptr, 2, 2, lo, hi, 200,
                                   nullptr, ts.c_str()),
            GML_OK)
      << gml_last_error();
  gml_posterior_train_options to;
  gml_posterior_train_options_default(&to);
  to.num_blocks = 1;
  to.hidden_width = 8;
  to.max_epochs = 1;
  EXPECT_EQ(gml_posterior_train(ctx, ts.c_str(), &to, path.c_str()), GML_OK) << gml_last_error();
  gml_model* m = nullptr;
  EXPECT_EQ(gml_model_load(ctx, path.c_str(), "posterior", &m), GML_OK) << gml_last_error();
  return m;
}

}  // namespace

// 3e6 draws of one observation took 1.1 GB beyond the caller's buffer: the
// draws were made whole and copied.
TEST(AbiMemory, PosteriorSampleMemoryBeyondTheBufferDoesNotGrowWithDraws) {
  const fs::path dir = work_dir("gml_abi_mem_post_");
  gml_context* ctx = memory_cpu_context();
  gml_model* m = tiny_posterior(ctx, dir);
  ASSERT_NE(m, nullptr);
  const double x[2] = {0.4, 0.6};
  double mib[2] = {0, 0};
  const int64_t sizes[2] = {200000, 3000000};
  for (int i = 0; i < 2; ++i) {
    std::vector<double> theta(static_cast<size_t>(sizes[i] * 2), 1.0);
    int64_t outside = -1;
    mib[i] = peak_beyond_mib([&] {
      ASSERT_EQ(
          gml_posterior_sample(ctx, m, x, 1, sizes[i], 7, theta.data(), theta.size(), &outside),
          GML_OK)
          << gml_last_error();
    });
    if (mib[i] < 0) GTEST_SKIP() << "/proc/self/clear_refs is not writable here";
    EXPECT_GE(outside, 0);
    EXPECT_NE(theta.back(), 1.0);  // the last draw was written
  }
  std::printf("posterior: %.1f MiB beyond the buffer for %lld draws, %.1f MiB for %lld\n", mib[0],
              static_cast<long long>(sizes[0]), mib[1], static_cast<long long>(sizes[1]));
  EXPECT_LT(mib[1], mib[0] + 32.0) << "memory beyond the buffer grew with the number of draws";
  gml_model_free(m);
  gml_context_free(ctx);
  fs::remove_all(dir);
}

// One observation of 3e7 draws ran 240 s after gml_cancel: the cancel was
// only checked between observations.
TEST(AbiMemory, PosteriorSampleCancelIsSeenWithinOneObservation) {
  const fs::path dir = work_dir("gml_abi_cancel_post_");
  gml_context* ctx = memory_cpu_context();
  gml_model* m = tiny_posterior(ctx, dir);
  ASSERT_NE(m, nullptr);
  const double x[2] = {0.4, 0.6};
  const int64_t n = 8000000;
  std::vector<double> theta(static_cast<size_t>(n * 2));
  // The whole observation, for scale.
  auto t0 = std::chrono::steady_clock::now();
  ASSERT_EQ(gml_posterior_sample(ctx, m, x, 1, n, 7, theta.data(), theta.size(), nullptr), GML_OK)
      << gml_last_error();
  const double whole = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::thread canceller([&] {
    std::this_thread::sleep_for(std::chrono::duration<double>(0.1 * whole));
    gml_cancel(ctx);
  });
  t0 = std::chrono::steady_clock::now();
  const gml_status s =
      gml_posterior_sample(ctx, m, x, 1, n, 7, theta.data(), theta.size(), nullptr);
  const double cancelled =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  canceller.join();
  std::printf("posterior: %lld draws in %.2f s; cancelled after %.2f s\n",
              static_cast<long long>(n), whole, cancelled);
  EXPECT_EQ(s, GML_ERR_CANCELLED);
  EXPECT_LT(cancelled, 0.6 * whole) << "the cancel was not seen within the observation";
  gml_model_free(m);
  gml_context_free(ctx);
  fs::remove_all(dir);
}

// gml_flow_sample kept a second full copy of the stars (+228 MB beyond a
// 190 MB buffer at 5e6 stars).
TEST(AbiMemory, FlowSampleMemoryBeyondTheBufferDoesNotGrowWithStars) {
  const fs::path dir = work_dir("gml_abi_mem_flow_");
  gml_context* ctx = memory_cpu_context();
  const std::string stars = (dir / "stars.h5").string(), path = (dir / "flow.h5").string();
  ASSERT_EQ(gml_flow_simulate(ctx, 3, 200, nullptr, 5, stars.c_str()), GML_OK) << gml_last_error();
  gml_flow_train_options o;
  gml_flow_train_options_default(&o);
  o.steps = 2;
  o.batch_size = 64;
  o.eval_every = 1;
  o.config_json = R"({"num_blocks":1,"hidden_width":8,"hidden_layers":1})";
  ASSERT_EQ(gml_flow_train(ctx, stars.c_str(), &o, path.c_str()), GML_OK) << gml_last_error();
  gml_model* m = nullptr;
  ASSERT_EQ(gml_model_load(ctx, path.c_str(), "flow", &m), GML_OK) << gml_last_error();
  int64_t dim = 0;
  ASSERT_EQ(gml_flow_dims(m, &dim, nullptr), GML_OK);
  double cond[4] = {0, 0, 0, 0};  // galaxy 0's, inside the training range
  ASSERT_EQ(gml_flow_read_galaxy(stars.c_str(), 0, nullptr, 0, nullptr, nullptr, cond, 4), GML_OK)
      << gml_last_error();
  double mib[2] = {0, 0};
  const int64_t sizes[2] = {100000, 2000000};
  for (int i = 0; i < 2; ++i) {
    std::vector<float> buf(static_cast<size_t>(sizes[i] * dim), -1.0f);
    mib[i] = peak_beyond_mib([&] {
      ASSERT_EQ(gml_flow_sample(ctx, m, cond, 1, sizes[i], 3, buf.data(), buf.size(), nullptr),
                GML_OK)
          << gml_last_error();
    });
    if (mib[i] < 0) GTEST_SKIP() << "/proc/self/clear_refs is not writable here";
    EXPECT_NE(buf.back(), -1.0f);
  }
  std::printf("flow: %.1f MiB beyond the buffer for %lld stars, %.1f MiB for %lld\n", mib[0],
              static_cast<long long>(sizes[0]), mib[1], static_cast<long long>(sizes[1]));
  EXPECT_LT(mib[1], mib[0] + 24.0) << "memory beyond the buffer grew with the number of stars";
  gml_model_free(m);
  gml_context_free(ctx);
  fs::remove_all(dir);
}

#include "core/common/runtime.h"

#include <ATen/Context.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <mutex>

#include "core/common/error.h"
#include "core/common/threads.h"

namespace gml {

namespace {

std::once_flag g_threads_once;
std::atomic<int32_t> g_threads{0};
std::atomic<bool> g_initialised{false};
std::atomic<uint64_t> g_seed{0};
std::atomic<int32_t> g_level{static_cast<int32_t>(LogLevel::Warning)};
std::mutex g_sink_mutex;
LogSink g_sink;

int32_t threads_from_env() {
  for (const char* var : {"GML_NUM_THREADS", "OMP_NUM_THREADS"}) {
    const char* v = std::getenv(var);
    if (!v || !*v) continue;
    char* end = nullptr;
    long n = std::strtol(v, &end, 10);
    if (end && *end == '\0' && n > 0 && n <= kMaxThreads) return static_cast<int32_t>(n);
  }
  return 0;
}

const char* level_name(LogLevel l) {
  switch (l) {
    case LogLevel::Error: return "error";
    case LogLevel::Warning: return "warning";
    case LogLevel::Info: return "info";
    default: return "debug";
  }
}

// Process-wide LibTorch settings, applied once with the thread count.
void apply_process_settings(int32_t num_threads) {
  // LibTorch's own default counts the host's cores; a container's quota or a
  // batch system's affinity mask may grant fewer, and threads beyond them
  // wait on each other at every barrier.
  at::set_num_threads(num_threads > 0 ? num_threads
                                      : std::min(at::get_num_threads(), usable_cpus()));
  g_threads = at::get_num_threads();
  // float32 means float32 on every device: cuDNN and cuBLAS default to TF32
  // on Ampere and later, whose convolutions differ from the CPU's by 4e-2 on
  // a ResNet-34. Reduced precision is for an explicit option, never a
  // default.
  for (const at::Float32Op op : {at::Float32Op::CONV, at::Float32Op::MATMUL}) {
    at::globalContext().setFloat32Precision(at::Float32Backend::CUDA, op,
                                            at::Float32Precision::IEEE);
  }
}

}  // namespace

void init_runtime(const RuntimeOptions& options) {
  require(options.num_threads >= 0 && options.num_threads <= kMaxThreads,
          "num_threads must be between 0 and " + std::to_string(kMaxThreads) + ", got " +
              std::to_string(options.num_threads));
  require(
      static_cast<int32_t>(options.log_level) >= 0 && static_cast<int32_t>(options.log_level) <= 3,
      "log level must be between GML_LOG_ERROR (0) and GML_LOG_DEBUG (3)");
  {
    std::lock_guard<std::mutex> lock(g_sink_mutex);
    g_sink = options.log_sink;
  }
  g_level = static_cast<int32_t>(options.log_level);
  g_seed = options.seed;
  bool applied_now = false;
  std::call_once(g_threads_once, [&] {
    apply_process_settings(options.num_threads > 0 ? options.num_threads : threads_from_env());
    applied_now = true;
  });
  if (!applied_now && options.num_threads > 0 && options.num_threads != g_threads.load()) {
    log_warning("gml_init: thread count is already " + std::to_string(g_threads.load()) +
                " for this process; request for " + std::to_string(options.num_threads) +
                " ignored");
  }
  g_initialised = true;
}

void ensure_runtime() {
  if (!g_initialised.load()) {
    std::call_once(g_threads_once, [] { apply_process_settings(threads_from_env()); });
    g_initialised = true;
  }
}

bool runtime_initialised() noexcept {
  return g_initialised.load();
}
int32_t runtime_threads() noexcept {
  return g_threads.load();
}
uint64_t runtime_seed() noexcept {
  return g_seed.load();
}

void log(LogLevel level, const std::string& message) {
  if (static_cast<int32_t>(level) > g_level.load()) return;
  LogSink sink;
  {
    std::lock_guard<std::mutex> lock(g_sink_mutex);
    sink = g_sink;
  }
  if (sink) {
    sink(level, message);
  } else {
    std::fprintf(stderr, "galaxyml: %s: %s\n", level_name(level), message.c_str());
  }
}

}  // namespace gml

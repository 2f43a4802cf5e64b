#include "core/common/runtime.h"

#include <ATen/Parallel.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <mutex>

#include "core/common/error.h"

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
    int32_t n = options.num_threads > 0 ? options.num_threads : threads_from_env();
    if (n > 0) at::set_num_threads(n);
    g_threads = at::get_num_threads();
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
    std::call_once(g_threads_once, [] {
      int32_t n = threads_from_env();
      if (n > 0) at::set_num_threads(n);
      g_threads = at::get_num_threads();
    });
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

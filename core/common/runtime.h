// Process-wide state: intra-op thread count (set once), logging, default seed.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

namespace gml {

// Upper bound of any thread count the library accepts. More threads than this
// only add scheduling and memory cost (each OpenMP thread reserves a stack);
// 100,000 requested threads turned a 2 s call into minutes.
constexpr int32_t kMaxThreads = 1024;

enum class LogLevel : int32_t { Error = 0, Warning = 1, Info = 2, Debug = 3 };

using LogSink = std::function<void(LogLevel, const std::string&)>;

struct RuntimeOptions {
  int32_t num_threads = 0;  // 0: GML_NUM_THREADS, then OMP_NUM_THREADS, else usable_cpus()
  LogLevel log_level = LogLevel::Warning;
  LogSink log_sink;  // empty: stderr
  uint64_t seed = 0;
};

// Idempotent. The thread count is applied once per process (at::set_num_threads
// under std::call_once); sink, level and seed follow the latest call.
void init_runtime(const RuntimeOptions& options);
// Initialises with defaults unless already initialised.
void ensure_runtime();
bool runtime_initialised() noexcept;
int32_t runtime_threads() noexcept;
uint64_t runtime_seed() noexcept;

void log(LogLevel level, const std::string& message);
inline void log_warning(const std::string& m) {
  log(LogLevel::Warning, m);
}
inline void log_info(const std::string& m) {
  log(LogLevel::Info, m);
}

}  // namespace gml

// How many CPU threads a call should use on a node it shares with others.
//
// Two causes of slow runs on shared survey nodes, measured in bench/threads:
// LibTorch's default counts every core of the host, not the ones a container
// quota or an affinity mask grants, so threads outnumber the CPUs; and
// small models run many tiny parallel regions whose OpenMP barriers wait on a
// thread the kernel has descheduled for another process. The first is fixed
// by the default count below, the second by running small work on one
// thread (CallThreads).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace gml {

// CPUs granted by a cgroup v2 `cpu.max` file ("max 100000" or
// "150000 100000"), rounded up; nullopt when unlimited or unreadable text.
std::optional<int32_t> cpus_from_cgroup2_max(const std::string& text);
// The same from cgroup v1 `cpu.cfs_quota_us` and `cpu.cfs_period_us`
// (quota -1: unlimited).
std::optional<int32_t> cpus_from_cgroup1_quota(int64_t quota_us, int64_t period_us);

// CPUs this process may run on: its affinity mask, capped by the CPU quota of
// its cgroup (v2, else v1). At least 1.
int32_t usable_cpus();

// Below this many elements in the widest activation of one step, a second
// thread costs more in barrier waits than it gains (bench/threads), and under
// contention it costs ten times more.
constexpr int64_t kElementsPerExtraThread = 262144;

// Threads worth using for steps whose widest activation holds `elements`
// values: 1 for small work, up to `available`.
int32_t threads_for_step(int64_t elements, int32_t available);

// Sets the calling thread's intra-op thread count for its lifetime, then
// restores it. Thread-local: other host threads calling the library at the
// same time keep theirs. A count of 0 changes nothing; so does, in the
// default mode, one not below the current count.
class CallThreads {
 public:
  // AtMost lowers the count for small work; Exactly sets it, as every entry
  // point does with the library's own count: a host that shares LibTorch
  // (PyTorch in the same process) may have set its thread to another, and
  // results such as diffusion images depend on the count in their last bits.
  enum class Mode { AtMost, Exactly };
  explicit CallThreads(int32_t threads, Mode mode = Mode::AtMost);
  ~CallThreads();
  CallThreads(const CallThreads&) = delete;
  CallThreads& operator=(const CallThreads&) = delete;

 private:
  int32_t previous_ = 0;
  int32_t previous_blas_ = 0;
  bool active_ = false;
};

}  // namespace gml

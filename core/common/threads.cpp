#include "core/common/threads.h"

#include <ATen/Parallel.h>
#include <sched.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <fstream>
#include <sstream>
#include <vector>

// The OpenMP and oneMKL runtimes that LibTorch loads. Weak: a LibTorch built
// without them (its own thread pool, another BLAS) leaves these null, and
// CallThreads then changes only what is there. oneMKL's C entry is the
// mixed-case name; the lower-case mkl_set_num_threads_local exported beside
// it is the Fortran one, which takes a pointer.
extern "C" {
void omp_set_num_threads(int) __attribute__((weak));
int omp_get_max_threads(void) __attribute__((weak));
int MKL_Set_Num_Threads_Local(int) __attribute__((weak));
}

namespace gml {

namespace {

int32_t cpus_for(double quota_cpus) {
  return static_cast<int32_t>(std::max(1.0, std::ceil(quota_cpus - 1e-9)));
}

std::string read_small_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return {};
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// "0::/a/b" (v2) or "4:cpu,cpuacct:/a/b" (v1): the path of the controller.
std::string cgroup_path(const std::string& controller) {
  std::istringstream lines(read_small_file("/proc/self/cgroup"));
  std::string line;
  while (std::getline(lines, line)) {
    const auto first = line.find(':');
    const auto second = line.find(':', first + 1);
    if (first == std::string::npos || second == std::string::npos) continue;
    const std::string controllers = line.substr(first + 1, second - first - 1);
    std::istringstream names(controllers);
    std::string name;
    bool match = controller.empty() && controllers.empty();
    while (!match && std::getline(names, name, ',')) match = name == controller;
    if (match) return line.substr(second + 1);
  }
  return {};
}

// The tightest quota on the way from the process's cgroup up to the root:
// a parent's limit binds its children too.
std::optional<int32_t> cgroup2_cpus() {
  std::string path = cgroup_path("");
  std::optional<int32_t> tightest;
  for (;;) {
    const auto cpus = cpus_from_cgroup2_max(read_small_file("/sys/fs/cgroup" + path + "/cpu.max"));
    if (cpus && (!tightest || *cpus < *tightest)) tightest = cpus;
    if (path.empty() || path == "/") break;
    path = path.substr(0, path.find_last_of('/'));
  }
  return tightest;
}

std::optional<int32_t> cgroup1_cpus() {
  for (const char* mount : {"/sys/fs/cgroup/cpu,cpuacct", "/sys/fs/cgroup/cpu"}) {
    for (const std::string& path : {cgroup_path("cpu"), std::string()}) {
      const std::string dir = std::string(mount) + path;
      const std::string quota = read_small_file(dir + "/cpu.cfs_quota_us");
      const std::string period = read_small_file(dir + "/cpu.cfs_period_us");
      if (quota.empty() || period.empty()) continue;
      try {
        return cpus_from_cgroup1_quota(std::stoll(quota), std::stoll(period));
      } catch (const std::exception&) {
        continue;
      }
    }
  }
  return std::nullopt;
}

int32_t affinity_cpus() {
  // Masks beyond 1024 CPUs need a larger set than cpu_set_t.
  for (int n = 1024; n <= 65536; n *= 4) {
    cpu_set_t* set = CPU_ALLOC(n);
    if (!set) break;
    const size_t bytes = CPU_ALLOC_SIZE(n);
    CPU_ZERO_S(bytes, set);
    const int rc = sched_getaffinity(0, bytes, set);
    const int count = rc == 0 ? CPU_COUNT_S(bytes, set) : 0;
    CPU_FREE(set);
    if (rc == 0) return std::max(1, count);
    if (errno != EINVAL) break;
  }
  return 1;
}

}  // namespace

std::optional<int32_t> cpus_from_cgroup2_max(const std::string& text) {
  std::istringstream in(text);
  std::string quota;
  int64_t period = 0;
  if (!(in >> quota >> period) || quota == "max" || period <= 0) return std::nullopt;
  try {
    size_t used = 0;
    const long long q = std::stoll(quota, &used);
    if (used != quota.size() || q <= 0) return std::nullopt;
    return cpus_for(static_cast<double>(q) / static_cast<double>(period));
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

std::optional<int32_t> cpus_from_cgroup1_quota(int64_t quota_us, int64_t period_us) {
  if (quota_us <= 0 || period_us <= 0) return std::nullopt;
  return cpus_for(static_cast<double>(quota_us) / static_cast<double>(period_us));
}

int32_t usable_cpus() {
  int32_t cpus = affinity_cpus();
  auto quota = cgroup2_cpus();
  if (!quota) quota = cgroup1_cpus();
  if (quota) cpus = std::min(cpus, *quota);
  return std::max(1, cpus);
}

int32_t threads_for_step(int64_t elements, int32_t available) {
  if (available <= 1 || elements <= 0) return 1;
  const int64_t useful = 1 + elements / kElementsPerExtraThread;
  return static_cast<int32_t>(std::min<int64_t>(available, useful));
}

CallThreads::CallThreads(int32_t threads, Mode mode) {
  if (threads <= 0 || !omp_set_num_threads || !omp_get_max_threads) return;
  // ATen sets a thread's OpenMP count on its first parallel call; doing it
  // now keeps that first call from undoing ours.
  at::internal::lazy_init_num_threads();
  previous_ = omp_get_max_threads();
  if (mode == Mode::AtMost ? threads >= previous_ : threads == previous_) return;
  omp_set_num_threads(threads);
  if (MKL_Set_Num_Threads_Local) previous_blas_ = MKL_Set_Num_Threads_Local(threads);
  active_ = true;
}

CallThreads::~CallThreads() {
  if (!active_) return;
  omp_set_num_threads(previous_);
  // 0 hands the thread back to oneMKL's process-wide count.
  if (MKL_Set_Num_Threads_Local) MKL_Set_Num_Threads_Local(previous_blas_);
}

}  // namespace gml

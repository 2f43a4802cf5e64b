#include <gtest/gtest.h>
#include <sched.h>

#include <ATen/Parallel.h>

#include <thread>

#include "core/common/threads.h"

extern "C" int MKL_Get_Max_Threads(void) __attribute__((weak));

TEST(Threads, Cgroup2QuotaRoundsUp) {
  EXPECT_EQ(gml::cpus_from_cgroup2_max("200000 100000\n"), 2);
  EXPECT_EQ(gml::cpus_from_cgroup2_max("150000 100000"), 2);
  EXPECT_EQ(gml::cpus_from_cgroup2_max("50000 100000"), 1);
  EXPECT_EQ(gml::cpus_from_cgroup2_max("100000 100000"), 1);
  EXPECT_FALSE(gml::cpus_from_cgroup2_max("max 100000").has_value());
  EXPECT_FALSE(gml::cpus_from_cgroup2_max("").has_value());
  EXPECT_FALSE(gml::cpus_from_cgroup2_max("12x 100000").has_value());
  EXPECT_FALSE(gml::cpus_from_cgroup2_max("100000 0").has_value());
}

TEST(Threads, Cgroup1QuotaRoundsUpAndMinusOneIsUnlimited) {
  EXPECT_EQ(gml::cpus_from_cgroup1_quota(400000, 100000), 4);
  EXPECT_EQ(gml::cpus_from_cgroup1_quota(250000, 100000), 3);
  EXPECT_FALSE(gml::cpus_from_cgroup1_quota(-1, 100000).has_value());
  EXPECT_FALSE(gml::cpus_from_cgroup1_quota(100000, 0).has_value());
}

TEST(Threads, UsableCpusFollowsTheAffinityMask) {
  cpu_set_t before;
  ASSERT_EQ(sched_getaffinity(0, sizeof before, &before), 0);
  const int32_t all = gml::usable_cpus();
  EXPECT_GE(all, 1);
  EXPECT_LE(all, CPU_COUNT(&before));
  int first = 0;
  while (!CPU_ISSET(first, &before)) ++first;
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(first, &one);
  ASSERT_EQ(sched_setaffinity(0, sizeof one, &one), 0);
  EXPECT_EQ(gml::usable_cpus(), 1);
  ASSERT_EQ(sched_setaffinity(0, sizeof before, &before), 0);
}

TEST(Threads, SmallStepsRunOnOneThread) {
  EXPECT_EQ(gml::threads_for_step(50 * 500, 8), 1);  // SEDflow's batch and width
  EXPECT_EQ(gml::threads_for_step(gml::kElementsPerExtraThread, 8), 2);
  EXPECT_EQ(gml::threads_for_step(100 * gml::kElementsPerExtraThread, 8), 8);
  EXPECT_EQ(gml::threads_for_step(100 * gml::kElementsPerExtraThread, 1), 1);
  EXPECT_EQ(gml::threads_for_step(0, 8), 1);
}

TEST(Threads, CallThreadsIsScopedAndThreadLocal) {
  const int previous = at::get_num_threads();
  at::set_num_threads(2);
  {
    const gml::CallThreads one(1);
    EXPECT_EQ(at::get_num_threads(), 1);
    if (MKL_Get_Max_Threads) {
      EXPECT_EQ(MKL_Get_Max_Threads(), 1) << "oneMKL follows";
    }
    int other = 0;
    std::thread([&] { other = at::get_num_threads(); }).join();
    EXPECT_EQ(other, 2) << "another host thread keeps the process count";
    {
      const gml::CallThreads more(4);  // never raises the count
      EXPECT_EQ(at::get_num_threads(), 1);
    }
    EXPECT_EQ(at::get_num_threads(), 1);
  }
  EXPECT_EQ(at::get_num_threads(), 2);
  if (MKL_Get_Max_Threads) {
    EXPECT_EQ(MKL_Get_Max_Threads(), 2);
  }
  at::set_num_threads(previous);
}

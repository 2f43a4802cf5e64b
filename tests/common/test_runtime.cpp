#include <gtest/gtest.h>

#include <ATen/Context.h>
#include <ATen/Parallel.h>

#include <thread>

#include "core/common/error.h"
#include "core/common/runtime.h"

TEST(Runtime, ThreadCountIsSetOnceAndLaterRequestsOnlyWarn) {
  std::vector<std::string> warnings;
  gml::RuntimeOptions o;
  o.num_threads = 1;
  o.log_sink = [&](gml::LogLevel l, const std::string& m) {
    if (l == gml::LogLevel::Warning) warnings.push_back(m);
  };
  gml::init_runtime(o);
  EXPECT_EQ(gml::runtime_threads(), 1);
  EXPECT_EQ(at::get_num_threads(), 1);
  o.num_threads = 2;
  gml::init_runtime(o);  // idempotent: does not change the count
  EXPECT_EQ(at::get_num_threads(), 1);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("already 1"), std::string::npos);
  o.num_threads = 1;
  gml::init_runtime(o);
  EXPECT_EQ(warnings.size(), 1u);
}

TEST(Runtime, LogLevelFilters) {
  std::vector<std::string> got;
  gml::RuntimeOptions o;
  o.log_level = gml::LogLevel::Warning;
  o.log_sink = [&](gml::LogLevel, const std::string& m) { got.push_back(m); };
  gml::init_runtime(o);
  gml::log(gml::LogLevel::Info, "hidden");
  gml::log(gml::LogLevel::Error, "shown");
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0], "shown");
  o.log_sink = nullptr;
  gml::init_runtime(o);
}

TEST(Runtime, RejectsBadOptions) {
  gml::RuntimeOptions o;
  o.num_threads = -1;
  EXPECT_THROW(gml::init_runtime(o), gml::Error);
  o.num_threads = gml::kMaxThreads + 1;
  EXPECT_THROW(gml::init_runtime(o), gml::Error);
  o.num_threads = 0;
  o.log_level = static_cast<gml::LogLevel>(7);
  EXPECT_THROW(gml::init_runtime(o), gml::Error);
}

// float32 stays float32 on a GPU: cuDNN's TF32 convolutions (on by default in
// LibTorch) are switched off with the thread count, for the whole process.
TEST(Runtime, Tf32IsOffOnceTheRuntimeStarts) {
  gml::ensure_runtime();
  for (const at::Float32Op op : {at::Float32Op::CONV, at::Float32Op::MATMUL}) {
    EXPECT_EQ(at::globalContext().float32Precision(at::Float32Backend::CUDA, op),
              at::Float32Precision::IEEE);
  }
  // The getter cuDNN's convolutions consult.
  EXPECT_FALSE(at::globalContext().allowTF32CuDNN(at::Float32Op::CONV));
}

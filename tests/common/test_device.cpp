#include <gtest/gtest.h>

#include "core/common/device.h"
#include "core/common/error.h"

namespace {
gml::Status device_status_of(const char* spec) {
  try {
    gml::resolve_device(spec);
  } catch (const gml::Error& e) {
    return e.status();
  }
  return gml::Status::Ok;
}
}  // namespace

TEST(Device, CpuAndAutoAlwaysResolve) {
  EXPECT_TRUE(gml::resolve_device("cpu").is_cpu());
  EXPECT_TRUE(gml::resolve_device("CPU").is_cpu());
  auto a = gml::resolve_device("auto");
  if (gml::cuda_device_count() == 0) {
    EXPECT_TRUE(a.is_cpu());
  } else {
    EXPECT_TRUE(a.is_cuda());
  }
}

TEST(Device, MalformedStringsAreInvalidArguments) {
  for (const char* s :
       {"", "gpu", "cuda:", "cuda:x", "cuda:-1", "cuda:0:1", "cuda0", "tpu", "cuda:123456789"}) {
    EXPECT_EQ(device_status_of(s), gml::Status::InvalidArgument) << s;
  }
}

TEST(Device, CudaWithoutGpuIsDeviceErrorAndOutOfRangeIndexToo) {
  const int n = gml::cuda_device_count();
  if (n == 0) {
    EXPECT_EQ(device_status_of("cuda"), gml::Status::Device);
    EXPECT_EQ(device_status_of("cuda:0"), gml::Status::Device);
    try {
      gml::resolve_device("cuda");
    } catch (const gml::Error& e) {
      EXPECT_NE(std::string(e.what()).find("no usable CUDA GPU"), std::string::npos);
    }
  } else {
    EXPECT_TRUE(gml::resolve_device("cuda").is_cuda());
    EXPECT_EQ(gml::device_name(gml::resolve_device("cuda:0")), "cuda:0");
  }
  EXPECT_EQ(device_status_of(("cuda:" + std::to_string(n)).c_str()), gml::Status::Device);
}

TEST(Device, CanonicalNames) {
  EXPECT_EQ(gml::device_name(c10::Device(c10::kCPU)), "cpu");
  EXPECT_EQ(gml::device_name(c10::Device(c10::kCUDA, 3)), "cuda:3");
}

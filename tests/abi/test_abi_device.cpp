// The device rule of the ABI: a model runs on the device of the context that
// loaded it, and a call through a context on another device is refused with
// GML_ERR_DEVICE. Needs a CUDA device; skipped (visibly) without one.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "galaxyml/galaxyml.h"

namespace {

gml_context* context_on(const char* device) {
  gml_context_options o;
  gml_context_options_default(&o);
  o.device = device;
  gml_context* ctx = nullptr;
  return gml_context_create(&o, &ctx) == GML_OK ? ctx : nullptr;
}

}  // namespace

TEST(AbiDevice, AModelRunsOnlyThroughAContextOnItsDevice) {
  gml_context* gpu = context_on("cuda");
  if (!gpu) GTEST_SKIP() << "no CUDA device: " << gml_last_error();
  gml_context* cpu = context_on("cpu");
  ASSERT_NE(cpu, nullptr) << gml_last_error();
  gml_model* on_cpu = nullptr;
  gml_model* on_gpu = nullptr;
  const std::string path = GML_FIXTURES "/valid_flow.h5";
  ASSERT_EQ(gml_model_load(cpu, path.c_str(), "flow", &on_cpu), GML_OK) << gml_last_error();
  ASSERT_EQ(gml_model_load(gpu, path.c_str(), "flow", &on_gpu), GML_OK) << gml_last_error();
  int64_t data_dim = 0, cond_dim = 0;
  ASSERT_EQ(gml_flow_dims(on_cpu, &data_dim, &cond_dim), GML_OK);
  std::vector<double> cond(static_cast<size_t>(cond_dim), 0.5);
  std::vector<float> stars(static_cast<size_t>(16 * data_dim), -1.0f);

  EXPECT_EQ(
      gml_flow_sample(gpu, on_cpu, cond.data(), 1, 16, 3, stars.data(), stars.size(), nullptr),
      GML_ERR_DEVICE);
  EXPECT_NE(std::string(gml_last_error()).find("loaded on cpu"), std::string::npos)
      << gml_last_error();
  EXPECT_EQ(stars[0], -1.0f) << "outputs untouched";
  EXPECT_EQ(
      gml_flow_sample(cpu, on_gpu, cond.data(), 1, 16, 3, stars.data(), stars.size(), nullptr),
      GML_ERR_DEVICE);
  EXPECT_EQ(
      gml_flow_sample(gpu, on_gpu, cond.data(), 1, 16, 3, stars.data(), stars.size(), nullptr),
      GML_OK)
      << gml_last_error();
  gml_model_free(on_gpu);
  gml_model_free(on_cpu);
  gml_context_free(cpu);
  gml_context_free(gpu);
}

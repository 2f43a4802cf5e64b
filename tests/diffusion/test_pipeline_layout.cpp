// A diffusers pipeline folder is checked before any weights are read: each
// wrong folder is refused with the file and key that are wrong.
#include <ftw.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "core/common/error.h"
#include "core/diffusion/diffusers_config.h"
#include "core/diffusion/pipeline_layout.h"

namespace gml::diffusion {
namespace {

const std::string kTinySd = std::string(GML_GOLDEN_DIR) + "/diffusion/tiny_sd";

int remove_entry(const char* path, const struct stat*, int, struct FTW*) {
  return std::remove(path);
}

// A copy of the tiny pipeline's folder skeleton (configs, no weights) that a
// test then breaks. POSIX calls, not std::filesystem: LibTorch exports its
// own copies of some std::filesystem functions (pytorch/pytorch#133437),
// and its remove_all crashes.
class PipelineLayoutTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = testing::TempDir() + "/gml_layout_XXXXXX";
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    root_ = pattern;
    for (const char* part : {"unet", "vae", "text_encoder", "tokenizer", "scheduler"}) {
      ASSERT_EQ(::mkdir((root_ + "/" + part).c_str(), 0700), 0);
    }
    copy("model_index.json");
    copy("scheduler/scheduler_config.json");
  }
  void TearDown() override { ::nftw(root_.c_str(), remove_entry, 16, FTW_DEPTH | FTW_PHYS); }

  void copy(const std::string& name) {
    std::ofstream(root_ + "/" + name) << read_text_file(kTinySd + "/" + name);
  }
  std::string at(const std::string& name) const { return root_ + "/" + name; }

  void replace_in_index(const std::string& from, const std::string& to) {
    const std::string path = at("model_index.json");
    std::string text = read_text_file(path);
    const size_t at = text.find(from);
    ASSERT_NE(at, std::string::npos) << from;
    text.replace(at, from.size(), to);
    std::ofstream(path) << text;
  }

  void expect_refused(Status status, const std::string& needle) {
    try {
      read_pipeline_layout(root_);
      FAIL() << "accepted; expected an error containing '" << needle << "'";
    } catch (const Error& e) {
      EXPECT_EQ(e.status(), status) << e.what();
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  }

  std::string root_;
};

TEST(PipelineLayout, ReadsTheTinyPipeline) {
  const PipelineLayout layout = read_pipeline_layout(kTinySd);
  EXPECT_EQ(layout.pipeline_class, "StableDiffusionPipeline");
  EXPECT_EQ(layout.scheduler_class, "PNDMScheduler");
  EXPECT_EQ(layout.unet_dir, kTinySd + "/unet");
  EXPECT_EQ(part_weights(layout.unet_dir, "diffusion_pytorch_model"),
            kTinySd + "/unet/diffusion_pytorch_model.safetensors");
  EXPECT_EQ(part_weights(layout.text_encoder_dir, "model"),
            kTinySd + "/text_encoder/model.safetensors");
}

TEST_F(PipelineLayoutTest, RefusesAnSdxlPipeline) {
  replace_in_index("\"StableDiffusionPipeline\"", "\"StableDiffusionXLPipeline\"");
  expect_refused(Status::Format, "model_index.json: '_class_name' is StableDiffusionXLPipeline");
}

TEST_F(PipelineLayoutTest, RefusesAPartOfAnotherClass) {
  replace_in_index("\"UNet2DConditionModel\"", "\"UNet2DModel\"");
  expect_refused(Status::Format, "'unet' is a UNet2DModel");
}

TEST_F(PipelineLayoutTest, RefusesAMissingPartFolder) {
  ASSERT_EQ(::rmdir(at("vae").c_str()), 0);
  expect_refused(Status::NotFound, "the part folder 'vae' is missing");
}

TEST_F(PipelineLayoutTest, RefusesAMissingSchedulerConfig) {
  ASSERT_EQ(std::remove(at("scheduler/scheduler_config.json").c_str()), 0);
  expect_refused(Status::NotFound, "scheduler_config.json: missing");
}

TEST_F(PipelineLayoutTest, RefusesAnIndexThatIsNotJson) {
  std::ofstream(at("model_index.json")) << "{\"_class_name\": ";
  expect_refused(Status::Format, "model_index.json: not a JSON object");
}

TEST_F(PipelineLayoutTest, RefusesAFolderWithoutAnIndex) {
  ASSERT_EQ(std::remove(at("model_index.json").c_str()), 0);
  expect_refused(Status::NotFound, "no model_index.json");
}

TEST_F(PipelineLayoutTest, NamesPickledWeightsAndShards) {
  std::ofstream(at("unet/diffusion_pytorch_model.bin")) << "pickle";
  try {
    part_weights(at("unet"), "diffusion_pytorch_model");
    FAIL() << "accepted a pickled file";
  } catch (const Error& e) {
    EXPECT_EQ(e.status(), Status::NotFound);
    EXPECT_NE(std::string(e.what()).find("safe_serialization=True"), std::string::npos);
  }
  std::ofstream(at("unet/diffusion_pytorch_model.fp16.safetensors.index.json")) << "{}";
  try {
    part_weights(at("unet"), "diffusion_pytorch_model", "fp16");
    FAIL() << "accepted a sharded checkpoint";
  } catch (const Error& e) {
    EXPECT_EQ(e.status(), Status::Format);
    EXPECT_NE(std::string(e.what()).find("sharded"), std::string::npos);
  }
}

}  // namespace
}  // namespace gml::diffusion

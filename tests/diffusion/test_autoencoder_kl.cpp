// AutoencoderKL against diffusers 0.42.1 (tests/golden/make_unet_vae_golden.py):
// three tiny random autoencoders saved with save_pretrained (float32,
// bfloat16, float16), their posterior mean and logvar for a stored image, a
// sample for stored noise, and the decoded posterior mean.
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <c10/core/InferenceMode.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "core/common/error.h"
#include "core/common/safetensors.h"
#include "core/diffusion/autoencoder_kl.h"
#include "core/diffusion/diffusers_config.h"
#include "tests/diffusion/golden_compare.h"

namespace gml::diffusion {
namespace {

const char* const kCases[] = {"two_level", "three_level_bf16", "no_quant_no_attention_fp16"};

std::string case_dir(const std::string& name) {
  return golden::case_dir("vae", name);
}

// A copy of a golden case with its config.json text edited, in a folder of
// its own.
std::string edited_copy(const std::string& name, const std::string& from, const std::string& to) {
  // Named after the test too: tests that edit the same case run at once.
  const std::string dir = testing::TempDir() + "/vae_edited_" + name + "_" +
                          testing::UnitTest::GetInstance()->current_test_info()->name();
  std::filesystem::create_directories(dir);
  std::string text = read_text_file(case_dir(name) + "/config.json");
  const size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) text.replace(at, from.size(), to);
  std::ofstream(dir + "/config.json") << text;
  std::filesystem::copy_file(case_dir(name) + "/diffusion_pytorch_model.safetensors",
                             dir + "/diffusion_pytorch_model.safetensors",
                             std::filesystem::copy_options::overwrite_existing);
  return dir;
}

TEST(AutoencoderKl, EncodeAndDecodeEqualDiffusersOnEveryConfiguration) {
  c10::InferenceMode guard;
  for (const char* name : kCases) {
    SCOPED_TRACE(name);
    AutoencoderKl vae = load_autoencoder_kl(case_dir(name));
    const SafetensorsFile io = SafetensorsFile::open(case_dir(name) + "/io.safetensors");
    const LatentDistribution dist = vae->encode(io.read("image"));
    const double mean = golden::relative_error(dist.mean, io.read("mean"));
    const double logvar = golden::relative_error(dist.logvar, io.read("logvar"));
    const double sample = golden::relative_error(dist.sample(io.read("noise")), io.read("sample"));
    const double decoded = golden::relative_error(vae->decode(io.read("mean")), io.read("decoded"));
    EXPECT_LE(mean, 1e-4);
    EXPECT_LE(logvar, 1e-4);
    EXPECT_LE(sample, 1e-4);
    EXPECT_LE(decoded, 1e-4);
    std::printf("  %s: mean %.2e logvar %.2e sample %.2e decoded %.2e\n", name, mean, logvar,
                sample, decoded);
  }
}

TEST(AutoencoderKl, ChannelsLastGivesTheSameResults) {
  c10::InferenceMode guard;
  const std::string dir = case_dir("three_level_bf16");
  AutoencoderKl vae = load_autoencoder_kl(dir);
  vae->use_channels_last(true);
  const SafetensorsFile io = SafetensorsFile::open(dir + "/io.safetensors");
  EXPECT_LE(golden::relative_error(vae->encode(io.read("image")).mean, io.read("mean")), 1e-4);
  EXPECT_LE(golden::relative_error(vae->decode(io.read("mean")), io.read("decoded")), 1e-4);
}

TEST(AutoencoderKl, SampleDrawsStandardNormalNoiseFromTheGenerator) {
  c10::InferenceMode guard;
  LatentDistribution dist{at::randn({2, 4, 3, 5}), at::randn({2, 4, 3, 5})};
  const at::Tensor noise = at::randn({2, 4, 3, 5}, at::make_generator<at::CPUGeneratorImpl>(7));
  const at::Tensor drawn = dist.sample(at::make_generator<at::CPUGeneratorImpl>(7));
  EXPECT_TRUE(at::allclose(drawn, dist.mean + at::exp(0.5 * dist.logvar) * noise));
}

TEST(AutoencoderKl, ScalingAndShiftFactorsComeFromTheConfig) {
  const std::string sd = R"({"block_out_channels": [32], "norm_num_groups": 8})";
  EXPECT_DOUBLE_EQ(AutoencoderKlConfig::from_json(sd, "c").scaling_factor, 0.18215);
  EXPECT_DOUBLE_EQ(AutoencoderKlConfig::from_json(sd, "c").shift_factor, 0.0);
  c10::InferenceMode guard;
  AutoencoderKl vae = load_autoencoder_kl(case_dir("no_quant_no_attention_fp16"));
  EXPECT_DOUBLE_EQ(vae->scaling_factor(), 0.3611);
  EXPECT_DOUBLE_EQ(vae->shift_factor(), 0.1159);
  EXPECT_FALSE(vae->config().use_quant_conv);
}

TEST(AutoencoderKl, RefusesAnUnknownBlockTypeNamingTheFileAndKey) {
  const std::string dir =
      edited_copy("two_level", "\"DownEncoderBlock2D\"", "\"AttnDownEncoderBlock2D\"");
  golden::expect_error([&] { load_autoencoder_kl(dir); }, Status::Format,
                       {dir + "/config.json", "down_block_types", "AttnDownEncoderBlock2D"});
  golden::expect_error([&] { AutoencoderKlConfig::from_json(R"({"act_fn": "gelu"})", "vae.json"); },
                       Status::Format, {"vae.json", "act_fn"});
}

TEST(AutoencoderKl, RefusesWeightsOfAnotherShapeNamingTheFileAndTensor) {
  const std::string dir =
      edited_copy("two_level", "\"latent_channels\": 4", "\"latent_channels\": 5");
  golden::expect_error([&] { load_autoencoder_kl(dir); }, Status::Format,
                       {dir + "/diffusion_pytorch_model.safetensors", "encoder.conv_out.weight"});
}

TEST(AutoencoderKl, NamesAMissingFile) {
  const std::string dir = testing::TempDir() + "/no_vae_here";
  golden::expect_error([&] { load_autoencoder_kl(dir); }, Status::NotFound, {dir + "/config.json"});
  const std::string weightless = testing::TempDir() + "/vae_without_weights";
  std::filesystem::create_directories(weightless);
  std::filesystem::copy_file(case_dir("two_level") + "/config.json", weightless + "/config.json",
                             std::filesystem::copy_options::overwrite_existing);
  golden::expect_error([&] { load_autoencoder_kl(weightless); }, Status::NotFound,
                       {weightless + "/diffusion_pytorch_model.safetensors"});
}

}  // namespace
}  // namespace gml::diffusion

// UNet2DConditionModel against diffusers 0.42.1
// (tests/golden/make_unet_vae_golden.py): three tiny random UNets saved with
// save_pretrained (float32 twice, float16 once) and their noise predictions
// for stored latents, timesteps and text embeddings. Between them: both
// block kinds in several orders, one and two layers per block (and a list),
// heads per block, sin-before-cos with frequency shift 1, an odd 13x11
// latent, linear projections, a centred input, a mid-block scale factor and
// the asymmetric downsampler.
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "core/common/error.h"
#include "core/common/safetensors.h"
#include "core/diffusion/diffusers_config.h"
#include "core/diffusion/unet.h"
#include "tests/diffusion/golden_compare.h"

namespace gml::diffusion {
namespace {

const char* const kUnetCases[] = {"sd_like", "odd_latent_heads_per_block",
                                  "linear_projection_fp16"};

std::string unet_case_dir(const std::string& name) {
  return golden::case_dir("unet", name);
}

std::string config_text(const std::string& name) {
  return read_text_file(unet_case_dir(name) + "/config.json");
}

// `text` with its first `from` replaced by `to`.
std::string edited(std::string text, const std::string& from, const std::string& to) {
  const size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

at::Tensor predict(Unet& unet, const SafetensorsFile& io) {
  return unet->forward(io.read("sample"), io.read("timestep"), io.read("encoder_hidden_states"));
}

TEST(Unet, NoisePredictionEqualsDiffusersOnEveryConfiguration) {
  c10::InferenceMode guard;
  for (const char* name : kUnetCases) {
    SCOPED_TRACE(name);
    Unet unet = load_unet(unet_case_dir(name));
    const SafetensorsFile io = SafetensorsFile::open(unet_case_dir(name) + "/io.safetensors");
    const auto start = std::chrono::steady_clock::now();
    const at::Tensor out = predict(unet, io);
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    const double error = golden::relative_error(out, io.read("noise_pred"));
    EXPECT_LE(error, 1e-4);
    std::printf("  %s: relative error %.2e (forward %.1f ms)\n", name, error, ms);
  }
}

TEST(Unet, ChannelsLastGivesTheSamePrediction) {
  c10::InferenceMode guard;
  const std::string dir = unet_case_dir("odd_latent_heads_per_block");
  Unet unet = load_unet(dir);
  unet->use_channels_last(true);
  const SafetensorsFile io = SafetensorsFile::open(dir + "/io.safetensors");
  EXPECT_LE(golden::relative_error(predict(unet, io), io.read("noise_pred")), 1e-4);
}

TEST(Unet, RunsInBfloat16AfterModuleTo) {
  c10::InferenceMode guard;
  const std::string dir = unet_case_dir("linear_projection_fp16");
  Unet unet = load_unet(dir);
  unet->to(at::kBFloat16);
  const SafetensorsFile io = SafetensorsFile::open(dir + "/io.safetensors");
  const at::Tensor out = unet->forward(io.read("sample").to(at::kBFloat16), io.read("timestep"),
                                       io.read("encoder_hidden_states").to(at::kBFloat16));
  EXPECT_EQ(out.scalar_type(), at::kBFloat16);
  // Eight significant bits through some forty layers.
  const double error = golden::relative_error(out.to(at::kFloat), io.read("noise_pred"));
  EXPECT_LE(error, 0.05);
  std::printf("  bfloat16: relative error %.2e\n", error);
}

TEST(Unet, ScalarAndPerSampleTimestepsAgree) {
  c10::InferenceMode guard;
  const std::string dir = unet_case_dir("sd_like");
  Unet unet = load_unet(dir);
  const SafetensorsFile io = SafetensorsFile::open(dir + "/io.safetensors");
  ASSERT_EQ(io.read("timestep").dim(), 0);
  const at::Tensor per_sample = io.read("timestep").expand({2}).to(at::kFloat);
  const at::Tensor out =
      unet->forward(io.read("sample"), per_sample, io.read("encoder_hidden_states"));
  EXPECT_LE(golden::relative_error(out, io.read("noise_pred")), 1e-4);
}

TEST(Unet, TimestepEmbeddingOrderAndShift) {
  // dim 4, shift 0: frequencies exp(-ln(1e4) i / 2) = 1 and 1e-2.
  const at::Tensor t = at::tensor({0.0, 2.0});
  const at::Tensor cos_first = timestep_embedding(t, 4, true, 0);
  EXPECT_TRUE(at::allclose(cos_first[1], at::tensor({std::cos(2.0f), std::cos(2e-2f),
                                                     std::sin(2.0f), std::sin(2e-2f)})));
  // dim 5, shift 1: exp(-ln(1e4) i / (2 - 1)) = 1 and 1e-4; the odd width
  // is padded with a zero.
  const at::Tensor sin_first = timestep_embedding(t, 5, false, 1);
  EXPECT_TRUE(at::allclose(sin_first[1], at::tensor({std::sin(2.0f), std::sin(2e-4f),
                                                     std::cos(2.0f), std::cos(2e-4f), 0.0f})));
}

TEST(Unet, ReadsAStableDiffusion15Config) {
  const std::string sd15 = R"({
    "_class_name": "UNet2DConditionModel", "_diffusers_version": "0.6.0", "act_fn": "silu",
    "attention_head_dim": 8, "block_out_channels": [320, 640, 1280, 1280],
    "center_input_sample": false, "cross_attention_dim": 768,
    "down_block_types": ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D",
                         "CrossAttnDownBlock2D", "DownBlock2D"],
    "downsample_padding": 1, "flip_sin_to_cos": true, "freq_shift": 0, "in_channels": 4,
    "layers_per_block": 2, "mid_block_scale_factor": 1, "norm_eps": 1e-05,
    "norm_num_groups": 32, "out_channels": 4, "sample_size": 64,
    "up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D",
                       "CrossAttnUpBlock2D"]})";
  const UnetConfig c = UnetConfig::from_json(sd15, "unet/config.json");
  EXPECT_EQ(c.attention_heads, std::vector<int64_t>(4, 8));
  EXPECT_EQ(c.layers_per_block, std::vector<int64_t>(4, 2));
  EXPECT_EQ(c.cross_attention_dim, 768);
  EXPECT_EQ(c.down_blocks[3], UnetBlockKind::Plain);
  EXPECT_EQ(c.up_blocks[0], UnetBlockKind::Plain);
  EXPECT_FALSE(c.use_linear_projection);
}

TEST(Unet, RefusesOtherUnetsNamingTheFileAndKey) {
  const std::string base = config_text("sd_like");
  const std::string open = "\"addition_embed_type\": null";
  golden::expect_error(
      [&] {
        UnetConfig::from_json(edited(base, open, "\"addition_embed_type\": \"text_time\""),
                              "sdxl/unet/config.json");
      },
      Status::Format, {"sdxl/unet/config.json", "addition_embed_type"});
  golden::expect_error(
      [&] {
        UnetConfig::from_json(edited(base, "\"DownBlock2D\"", "\"SimpleCrossAttnDownBlock2D\""),
                              "u.json");
      },
      Status::Format, {"u.json", "down_block_types", "SimpleCrossAttnDownBlock2D"});
  golden::expect_error(
      [&] {
        UnetConfig::from_json(edited(base, "\"transformer_layers_per_block\": 1",
                                     "\"transformer_layers_per_block\": [1, 2]"),
                              "u.json");
      },
      Status::Format, {"u.json", "transformer_layers_per_block"});
  const char* const others[][2] = {
      {"\"class_embed_type\": null", "\"class_embed_type\": \"timestep\""},
      {"\"time_cond_proj_dim\": null", "\"time_cond_proj_dim\": 256"},
      {"\"conv_in_kernel\": 3", "\"conv_in_kernel\": 7"},
      {"\"only_cross_attention\": false", "\"only_cross_attention\": true"},
      {"\"resnet_time_scale_shift\": \"default\"", "\"resnet_time_scale_shift\": \"scale_shift\""},
      {"\"act_fn\": \"silu\"", "\"act_fn\": \"mish\""},
      {"\"mid_block_type\": \"UNetMidBlock2DCrossAttn\"",
       "\"mid_block_type\": \"UNetMidBlock2DSimpleCrossAttn\""}};
  for (const auto& other : others) {
    const std::string key = std::string(other[0]).substr(1, std::string(other[0]).find('"', 1) - 1);
    SCOPED_TRACE(key);
    golden::expect_error([&] { UnetConfig::from_json(edited(base, other[0], other[1]), "u.json"); },
                         Status::Format, {"u.json", key});
  }
}

TEST(Unet, RefusesWeightsOfAnotherShapeNamingTheFileAndTensor) {
  const std::string dir = testing::TempDir() + "/unet_wider_context";
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/config.json") << edited(
      config_text("sd_like"), "\"cross_attention_dim\": 16", "\"cross_attention_dim\": 20");
  std::filesystem::copy_file(unet_case_dir("sd_like") + "/diffusion_pytorch_model.safetensors",
                             dir + "/diffusion_pytorch_model.safetensors",
                             std::filesystem::copy_options::overwrite_existing);
  golden::expect_error([&] { load_unet(dir); }, Status::Format,
                       {dir + "/diffusion_pytorch_model.safetensors", "attn2.to_k.weight"});
  golden::expect_error([&] { load_unet(testing::TempDir() + "/no_unet_here"); }, Status::NotFound,
                       {"no_unet_here/config.json"});
}

TEST(Unet, RefusesAConfigLargerThanItsWeightsBeforeBuildingIt) {
  // Each width is within the config's bounds; together they ask for about
  // 8e10 parameters (300 GB), which the loader must not try to allocate.
  const std::string dir = testing::TempDir() + "/unet_inflated";
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/config.json")
      << edited(config_text("sd_like"), "8,\n    16", "65536,\n    65536");
  std::filesystem::copy_file(unet_case_dir("sd_like") + "/diffusion_pytorch_model.safetensors",
                             dir + "/diffusion_pytorch_model.safetensors",
                             std::filesystem::copy_options::overwrite_existing);
  golden::expect_error([&] { load_unet(dir); }, Status::Format,
                       {dir + "/config.json", "asks for at least", "disagree"});
}

}  // namespace
}  // namespace gml::diffusion

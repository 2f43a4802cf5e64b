// End to end against diffusers 0.42.1 (tests/golden/make_sd_pipeline_golden.py):
// a tiny random SD-1.x pipeline read from its save_pretrained folder makes,
// from the same prompts and the same noise draws, the images diffusers'
// StableDiffusionPipeline and StableDiffusionImg2ImgPipeline made, for
// Euler-ancestral (GalaxySD's 40 steps) and DPM-Solver++(2M), with a
// negative prompt, several images per prompt, and Eq. 4 weighted prompts.
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "core/common/error.h"
#include "core/common/progress.h"
#include "core/common/safetensors.h"
#include "core/diffusion/diffusers_config.h"
#include "core/diffusion/noise_source.h"
#include "core/diffusion/pipeline_layout.h"
#include "core/diffusion/stable_diffusion.h"

namespace gml::diffusion {
namespace {

const std::string kGolden = std::string(GML_GOLDEN_DIR) + "/diffusion/";

struct Golden {
  nlohmann::json meta;
  SafetensorsFile tensors;
  std::shared_ptr<StableDiffusion> model;
};

const Golden& pipeline_golden() {
  static const Golden g{nlohmann::json::parse(read_text_file(kGolden + "sd_pipeline_runs.json")),
                        SafetensorsFile::open(kGolden + "sd_pipeline_runs.safetensors"),
                        StableDiffusion::load_diffusers(kGolden + "tiny_sd")};
  return g;
}

const nlohmann::json& run_named(const std::string& name) {
  for (const auto& run : pipeline_golden().meta.at("runs")) {
    if (run.at("name") == name) return run;
  }
  throw std::runtime_error("no golden run " + name);
}

GenerationRequest request_of(const nlohmann::json& run) {
  GenerationRequest r;
  r.prompts = {run.at("prompt").get<std::string>()};
  r.negative_prompt = run.at("negative").get<std::string>();
  r.images_per_prompt = run.at("n");
  r.height = pipeline_golden().meta.at("height");
  r.width = pipeline_golden().meta.at("width");
  r.steps = run.at("steps");
  r.sampler = sampler_from_name(run.at("scheduler"));
  r.guidance = run.at("guidance");
  r.restore_mean = run.value("restore_mean", false);
  r.batch_size = r.images_per_prompt;  // diffusers ran the whole batch at once
  if (run.at("mode") == "img2img") {
    r.reference = pipeline_golden().tensors.read("reference");
    r.strength = run.at("strength");
  }
  return r;
}

std::vector<at::Tensor> draws_of(const nlohmann::json& run) {
  std::vector<at::Tensor> draws;
  const std::string name = run.at("name");
  for (int i = 0; i < run.at("draws").get<int>(); ++i) {
    draws.push_back(pipeline_golden().tensors.read(name + ".noise." + std::to_string(i)));
  }
  return draws;
}

void expect_diffusers_images(const std::string& name) {
  const nlohmann::json& run = run_named(name);
  GenerationRequest r = request_of(run);
  ReplayedNoise noise(draws_of(run));
  r.noise = &noise;
  const at::Tensor expected = pipeline_golden().tensors.read(name + ".images");
  at::Tensor images = at::empty(expected.sizes(), at::kFloat);
  generate(*pipeline_golden().model, r, images);
  EXPECT_EQ(noise.remaining(), 0u) << "the run used fewer draws than diffusers";
  const double error = (images - expected).abs().max().item<double>();
  std::printf("  %s: max |galaxyml - diffusers| = %.3g\n", name.c_str(), error);
  // The bound is 1e-3; the images agree to about 1e-6, and a bound
  // near that catches a guidance scale off by 0.1 % (1.5e-4), which 1e-3
  // would let through.
  EXPECT_LE(error, 2e-5) << name << ": max |galaxyml - diffusers| = " << error;
}

TEST(SdPipeline, TextToImageEulerAncestralAsDiffusers) {
  expect_diffusers_images("txt2img_euler_a");
}
TEST(SdPipeline, TextToImageDpmSolverAsDiffusers) {
  expect_diffusers_images("txt2img_dpmpp_2m");
}
TEST(SdPipeline, Img2ImgEulerAncestralAsDiffusers) {
  expect_diffusers_images("img2img_euler_a");
}
TEST(SdPipeline, Img2ImgDpmSolverAsDiffusers) {
  expect_diffusers_images("img2img_dpmpp_2m");
}
TEST(SdPipeline, WeightedPromptAsEq4) {
  expect_diffusers_images("weighted_euler_a");
}
TEST(SdPipeline, WeightedPromptWithMeanRestored) {
  expect_diffusers_images("weighted_mean_euler_a");
}

// The weighted prompt's tokens and weights are those the golden script gave
// transformers' encoder.
TEST(SdPipeline, WeightedPromptEmbeddingMatchesItsTokens) {
  const nlohmann::json& run = run_named("weighted_euler_a");
  const at::Tensor weighted = encode_prompt(*pipeline_golden().model, run.at("prompt"), false);
  const at::Tensor plain =
      encode_prompt(*pipeline_golden().model, "a spiral galaxy with bright bulge", false);
  const std::vector<float> weights = run.at("token_weights").get<std::vector<float>>();
  ASSERT_EQ(weighted.size(1), static_cast<int64_t>(weights.size()));
  const at::Tensor w = at::tensor(weights).view({1, -1, 1});
  EXPECT_TRUE(at::allclose(weighted, plain * w, 1e-5, 1e-6));
}

// A seed makes the same images whatever the batch size, and image i does
// not depend on the images before it.
TEST(SdPipeline, SeededImagesDoNotDependOnBatching) {
  GenerationRequest r;
  r.prompts = {"a spiral galaxy", "an elliptical galaxy"};
  r.images_per_prompt = 2;
  r.height = 16;
  r.width = 24;
  r.steps = 4;
  r.guidance = 6.5;
  r.seed = 42;
  r.batch_size = 4;
  at::Tensor all = at::empty({4, 3, 16, 24});
  generate(*pipeline_golden().model, r, all);
  r.batch_size = 3;
  at::Tensor in_threes = at::empty({4, 3, 16, 24});
  generate(*pipeline_golden().model, r, in_threes);
  EXPECT_TRUE(at::allclose(all, in_threes, 0, 1e-5));
  r.prompts = {"a spiral galaxy"};
  r.batch_size = 1;
  at::Tensor first_two = at::empty({2, 3, 16, 24});
  int64_t last_done = 0, last_total = 0;
  RunControl control;
  control.set_sink([&](const ProgressReport& report) {
    last_done = report.done;
    last_total = report.total;
    return 0;
  });
  r.control = &control;
  generate(*pipeline_golden().model, r, first_two);
  EXPECT_TRUE(at::allclose(first_two, all.narrow(0, 0, 2), 0, 1e-5));
  EXPECT_EQ(last_done, 8);
  EXPECT_EQ(last_total, 8);
  EXPECT_FALSE(at::equal(all[0], all[1])) << "two images of one prompt are the same";
}

// The UNet and VAE in 16-bit dtypes make diffusers' float32 img2img images
// to the dtype's rounding, channels-last to float32's; each format is
// converted once and kept.
TEST(SdPipeline, OtherPrecisionsAndChannelsLastKeepDiffusersImages) {
  const StableDiffusion& model = *pipeline_golden().model;
  const nlohmann::json& run = run_named("img2img_euler_a");  // the VAE encodes too
  const at::Tensor expected = pipeline_golden().tensors.read("img2img_euler_a.images");
  struct FormatCase {
    ComputeFormat format;
    double max_error, mean_error;
  };
  // Bounds about three times the errors measured (1.1e-6, 0.016, 0.0019).
  const FormatCase cases[] = {{{at::kFloat, true}, 5e-6, 5e-7},
                              {{at::kBFloat16, false}, 0.05, 0.006},
                              {{at::kHalf, true}, 0.006, 8e-4}};
  for (const FormatCase& c : cases) {
    SCOPED_TRACE(std::string(c10::toString(c.format.dtype)) +
                 (c.format.channels_last ? " channels-last" : ""));
    GenerationRequest r = request_of(run);
    ReplayedNoise noise(draws_of(run));
    r.noise = &noise;
    r.format = c.format;
    at::Tensor images = at::empty(expected.sizes(), at::kFloat);
    generate(model, r, images);
    const at::Tensor error = (images - expected).abs();
    const double max_error = error.max().item<double>(), mean_error = error.mean().item<double>();
    std::printf("  %s%s: max |galaxyml - diffusers float32| = %.3g, mean %.3g\n",
                c10::toString(c.format.dtype), c.format.channels_last ? " channels-last" : "",
                max_error, mean_error);
    EXPECT_LE(max_error, c.max_error);
    EXPECT_LE(mean_error, c.mean_error);
    if (c.format.dtype != at::kFloat) {
      EXPECT_GT(max_error, 1e-5) << "float32 arithmetic ran";
    }
    const StableDiffusion& converted = model.in_format(c.format);
    EXPECT_NE(&converted, &model);
    EXPECT_EQ(&model.in_format(c.format), &converted);
    EXPECT_EQ(converted.format().dtype, c.format.dtype);
  }
  EXPECT_EQ(&model.in_format(ComputeFormat{}), &model);
  EXPECT_THROW(model.in_format(ComputeFormat{at::kDouble, false}), Error);
  EXPECT_EQ(compute_dtype_from_name("bfloat16"), at::kBFloat16);
  EXPECT_THROW(compute_dtype_from_name("fp16"), Error);
}

void pipeline_expect_refused(const GenerationRequest& r, at::Tensor out, const std::string& needle,
                             Status status = Status::InvalidArgument) {
  try {
    generate(*pipeline_golden().model, r, out);
    FAIL() << "accepted; expected an error containing '" << needle << "'";
  } catch (const Error& e) {
    EXPECT_EQ(e.status(), status) << e.what();
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST(SdPipeline, RefusesBadRequestsClearly) {
  GenerationRequest good;
  good.prompts = {"a galaxy"};
  good.height = 16;
  good.width = 16;
  good.steps = 2;
  const at::Tensor out = at::empty({1, 3, 16, 16});
  GenerationRequest r = good;
  r.steps = 0;
  pipeline_expect_refused(r, out, "steps must be at least 1");
  r = good;
  r.height = 20;
  pipeline_expect_refused(r, out, "multiples of 8");
  r = good;
  r.prompts = {"a {spiral:5} galaxy"};
  pipeline_expect_refused(r, out, "(0, 4]");
  r = good;
  r.prompts.clear();
  pipeline_expect_refused(r, out, "no prompt");
  r = good;
  pipeline_expect_refused(r, at::empty({2, 3, 16, 16}), "output must be");
  r = good;
  r.reference = at::full({1, 3, 16, 16}, 0.5);
  r.strength = 1.5;
  pipeline_expect_refused(r, out, "strength");
  r.strength = 0.2;  // int(2 * 0.2) = 0 steps
  pipeline_expect_refused(r, out, "strength");
  r.strength = 0.5;
  r.reference[0][1][3][4] = NAN;
  pipeline_expect_refused(r, out, "NaN");
  r.reference = at::full({1, 1, 16, 16}, 0.5);
  pipeline_expect_refused(r, out, "the reference must be");
  r = good;
  RunControl control;
  control.request_cancel();
  r.control = &control;
  pipeline_expect_refused(r, out, "cancel", Status::Cancelled);
}

}  // namespace
}  // namespace gml::diffusion

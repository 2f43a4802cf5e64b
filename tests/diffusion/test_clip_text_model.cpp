// The CLIP text encoder against transformers 5.25.0's CLIPTextModel on
// three small random configurations (tests/golden/make_clip_text_golden.py):
// last_hidden_state, pooled output, diffusers' clip_skip=1 embeddings, and
// GalaxySD's Eq. 4 weighting with and without the mean restore; then the
// configs and checkpoints it must refuse.
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <torch/cuda.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <functional>
#include <iterator>
#include <string>
#include <vector>

#include <sys/stat.h>
#include <unistd.h>

#include "core/common/error.h"
#include "core/common/safetensors.h"
#include "core/diffusion/clip_text_model.h"
#include "core/diffusion/prompt_embedding.h"
#include "tests/diffusion/golden_compare.h"

namespace gml::diffusion {
namespace {

const std::string kDir = std::string(GML_GOLDEN_DIR) + "/diffusion/clip_text/";
const std::vector<std::string> kConfigs{"legacy_quick", "gelu_proj", "half_quick"};

std::string file_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// A text_encoder directory under the test's temp dir, removed at scope exit.
class EncoderDir {
 public:
  explicit EncoderDir(const std::string& name) : path_(testing::TempDir() + "/" + name) {
    ::mkdir(path_.c_str(), 0755);
  }
  ~EncoderDir() {
    std::remove((path_ + "/config.json").c_str());
    std::remove((path_ + "/model.safetensors").c_str());
    ::rmdir(path_.c_str());
  }
  EncoderDir(const EncoderDir&) = delete;
  EncoderDir& operator=(const EncoderDir&) = delete;
  void write(const std::string& file, const std::string& bytes) const {
    std::ofstream(path_ + "/" + file, std::ios::binary | std::ios::trunc) << bytes;
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

template <typename F>
void expect_format_error(F&& f, std::initializer_list<std::string> parts) {
  golden::expect_error(std::forward<F>(f), Status::Format, parts);
}

TEST(ClipText, EqualsTransformersOnThreeConfigurations) {
  for (const std::string& name : kConfigs) {
    SCOPED_TRACE(name);
    ClipTextModel model = load_clip_text_model(kDir + name);
    const SafetensorsFile want = SafetensorsFile::open(kDir + name + "/expected.safetensors");
    c10::InferenceMode guard;
    const at::Tensor ids = want.read("input_ids");
    const ClipTextOutput out = model->forward(ids);
    const double e_last =
        golden::relative_error(out.last_hidden_state, want.read("last_hidden_state"));
    const double e_pool = golden::relative_error(out.pooler_output, want.read("pooler_output"));
    const double e_skip =
        golden::relative_error(model->prompt_embeds(ids, 1), want.read("clip_skip_1"));
    EXPECT_LE(e_last, 1e-4);
    EXPECT_LE(e_pool, 1e-4);
    EXPECT_LE(e_skip, 1e-4);
    EXPECT_TRUE(at::equal(model->prompt_embeds(ids, 0), out.last_hidden_state));
    std::printf("%-13s last_hidden_state %.2e  pooled %.2e  clip_skip=1 %.2e\n", name.c_str(),
                e_last, e_pool, e_skip);
  }
}

TEST(ClipText, ReadsTheConfigurationsOfTheGoldenCheckpoints) {
  const ClipTextConfig legacy =
      clip_text_config_from_json(file_text(kDir + "legacy_quick/config.json"), "legacy");
  EXPECT_EQ(legacy.hidden_size, 32);
  EXPECT_EQ(legacy.num_hidden_layers, 2);
  EXPECT_EQ(legacy.eos_token_id, 2);
  EXPECT_EQ(legacy.hidden_act, ClipActivation::QuickGelu);
  EXPECT_FALSE(legacy.with_projection);
  const ClipTextConfig proj =
      clip_text_config_from_json(file_text(kDir + "gelu_proj/config.json"), "proj");
  EXPECT_EQ(proj.hidden_act, ClipActivation::Gelu);
  EXPECT_EQ(proj.num_attention_heads, 3);
  EXPECT_EQ(proj.pad_token_id, 0);
  EXPECT_TRUE(proj.with_projection);
  // Absent keys take CLIPTextConfig's defaults, as from_pretrained gives them.
  const ClipTextConfig bare = clip_text_config_from_json("{}", "bare");
  EXPECT_EQ(bare.vocab_size, 49408);
  EXPECT_EQ(bare.hidden_size, 512);
  EXPECT_EQ(bare.eos_token_id, 49407);
}

TEST(ClipText, RefusesConfigsItDoesNotImplement) {
  auto parse = [](const std::string& text) {
    return [text] { clip_text_config_from_json(text, "te/config.json"); };
  };
  expect_format_error(
      parse(R"({"hidden_act": "relu"})"),
      {"te/config.json", "'hidden_act'", "\"relu\" is not implemented", "quick_gelu or gelu"});
  expect_format_error(parse(R"({"hidden_act": 3})"), {"te/config.json", "'hidden_act'"});
  expect_format_error(parse(R"({"model_type": "clip"})"),
                      {"te/config.json", "'model_type'", "\"clip\" is not implemented"});
  expect_format_error(parse(R"({"architectures": ["T5EncoderModel"]})"),
                      {"te/config.json", "'architectures'", "T5EncoderModel"});
  expect_format_error(
      parse(R"({"hidden_size": 48, "num_attention_heads": 5})"),
      {"te/config.json", "'num_attention_heads'", "does not divide hidden_size 48"});
  expect_format_error(parse(R"({"num_hidden_layers": 0})"), {"'num_hidden_layers'", "positive"});
  expect_format_error(parse(R"({"hidden_size": 32.5})"), {"'hidden_size'"});
  expect_format_error(parse(R"({"layer_norm_eps": "small"})"), {"'layer_norm_eps'", "wrong type"});
  expect_format_error(parse("[1, 2]"), {"te/config.json", "not a JSON object"});
}

TEST(ClipText, MissingFilesAreNamed) {
  EncoderDir dir("clip_missing");
  try {
    load_clip_text_model(dir.path());
    ADD_FAILURE() << "accepted an empty directory";
  } catch (const Error& e) {
    EXPECT_EQ(e.status(), Status::NotFound);
    EXPECT_NE(std::string(e.what()).find(dir.path() + "/config.json"), std::string::npos)
        << e.what();
  }
  dir.write("config.json", file_text(kDir + "legacy_quick/config.json"));
  try {
    load_clip_text_model(dir.path());
    ADD_FAILURE() << "accepted a directory without weights";
  } catch (const Error& e) {
    EXPECT_EQ(e.status(), Status::NotFound);
    EXPECT_NE(std::string(e.what()).find(dir.path() + "/model.safetensors"), std::string::npos)
        << e.what();
  }
}

TEST(ClipText, ConfigDisagreeingWithTheWeightsNamesFileAndKey) {
  EncoderDir dir("clip_disagree");
  nlohmann::json config = nlohmann::json::parse(file_text(kDir + "legacy_quick/config.json"));
  config["intermediate_size"] = 80;
  dir.write("config.json", config.dump());
  dir.write("model.safetensors", file_text(kDir + "legacy_quick/model.safetensors"));
  expect_format_error([&] { load_clip_text_model(dir.path()); },
                      {dir.path() + "/model.safetensors", "'text_model.encoder.layers.0.mlp.fc1.",
                       "the configuration expects [80"});

  // One layer more than the file holds.
  config = nlohmann::json::parse(file_text(kDir + "half_quick/config.json"));
  config["num_hidden_layers"] = 3;
  dir.write("config.json", config.dump());
  dir.write("model.safetensors", file_text(kDir + "half_quick/model.safetensors"));
  expect_format_error([&] { load_clip_text_model(dir.path()); },
                      {"model.safetensors", "missing tensor 'encoder.layers.2."});

  // CLIPTextModel's config over CLIPTextModelWithProjection's weights: the
  // projection is a key the configured model does not have.
  config = nlohmann::json::parse(file_text(kDir + "gelu_proj/config.json"));
  config["architectures"] = {"CLIPTextModel"};
  dir.write("config.json", config.dump());
  dir.write("model.safetensors", file_text(kDir + "gelu_proj/model.safetensors"));
  expect_format_error([&] { load_clip_text_model(dir.path()); },
                      {"model.safetensors", "'text_projection.weight'", "not part of"});
}

TEST(ClipText, RefusesIdsItCannotEmbed) {
  ClipTextModel model = load_clip_text_model(kDir + "legacy_quick");
  c10::InferenceMode guard;
  const at::Tensor ids = at::zeros({1, 77}, at::kLong);
  EXPECT_THROW(model->forward(at::zeros({1, 78}, at::kLong)), Error);
  EXPECT_THROW(model->forward(at::zeros({77}, at::kLong)), Error);
  EXPECT_THROW(model->forward(at::zeros({1, 77}, at::kFloat)), Error);
  EXPECT_THROW(model->forward(ids + 600), Error);
  EXPECT_THROW(model->forward(ids - 1), Error);
  EXPECT_THROW(model->prompt_embeds(ids, 3), Error);
  EXPECT_THROW(model->prompt_embeds(ids, -1), Error);
  // Shorter sequences than 77 and clip_skip = num_hidden_layers (the
  // embeddings alone) are what transformers and diffusers accept too.
  EXPECT_EQ(model->forward(at::ones({2, 5}, at::kInt)).last_hidden_state.sizes(),
            (std::vector<int64_t>{2, 5, 32}));
  EXPECT_EQ(model->prompt_embeds(ids, 2).sizes(), (std::vector<int64_t>{1, 77, 32}));
}

TEST(ClipText, OnCudaEqualsTransformers) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device: CPU results only";
  for (const std::string& name : kConfigs) {
    SCOPED_TRACE(name);
    ClipTextModel model = load_clip_text_model(kDir + name);
    model->to(at::kCUDA);
    const SafetensorsFile want = SafetensorsFile::open(kDir + name + "/expected.safetensors");
    c10::InferenceMode guard;
    // CPU ids: the model moves them to its device.
    const at::Tensor ids = want.read("input_ids");
    const ClipTextOutput out = model->forward(ids);
    EXPECT_TRUE(out.last_hidden_state.is_cuda());
    EXPECT_LE(golden::relative_error(out.last_hidden_state.cpu(), want.read("last_hidden_state")),
              1e-4);
    EXPECT_LE(golden::relative_error(out.pooler_output.cpu(), want.read("pooler_output")), 1e-4);
    PromptEmbeddingOptions restore;
    restore.restore_mean = true;
    EXPECT_LE(golden::relative_error(
                  weighted_prompt_embeds(*model, ids, want.read("weights"), restore).cpu(),
                  want.read("weighted_mean_restored")),
              1e-4);
  }
}

TEST(PromptEmbedding, Eq4EqualsTransformersTimesTheWeights) {
  for (const std::string& name : kConfigs) {
    SCOPED_TRACE(name);
    ClipTextModel model = load_clip_text_model(kDir + name);
    const SafetensorsFile want = SafetensorsFile::open(kDir + name + "/expected.safetensors");
    c10::InferenceMode guard;
    const at::Tensor ids = want.read("input_ids");
    const at::Tensor w = want.read("weights");
    const double e_plain =
        golden::relative_error(weighted_prompt_embeds(*model, ids, w), want.read("weighted"));
    PromptEmbeddingOptions restore;
    restore.restore_mean = true;
    const double e_restored = golden::relative_error(
        weighted_prompt_embeds(*model, ids, w, restore), want.read("weighted_mean_restored"));
    EXPECT_LE(e_plain, 1e-4);
    EXPECT_LE(e_restored, 1e-4);
    std::printf("%-13s Eq. 4 %.2e  mean restored %.2e\n", name.c_str(), e_plain, e_restored);
  }
}

TEST(PromptEmbedding, UnitWeightsChangeNothingAndTheMeanIsRestored) {
  const at::Tensor z = at::randn({2, 77, 8}, at::TensorOptions().dtype(at::kFloat)) + 0.3;
  EXPECT_TRUE(at::equal(weight_token_embeddings(z, at::ones({2, 77}), false), z));
  EXPECT_TRUE(at::allclose(weight_token_embeddings(z, at::ones({2, 77}), true), z));
  at::Tensor w = at::ones({2, 77});
  w.slice(1, 1, 6).fill_(1.4);
  const at::Tensor weighted = weight_token_embeddings(z, w, false);
  EXPECT_TRUE(at::equal(weighted.slice(1, 6), z.slice(1, 6)));
  EXPECT_TRUE(at::allclose(weighted.slice(1, 1, 6), 1.4 * z.slice(1, 1, 6)));
  const at::Tensor restored = weight_token_embeddings(z, w, true);
  EXPECT_NEAR(restored.mean().item<double>(), z.mean().item<double>(), 1e-6);
}

TEST(PromptEmbedding, RefusesWeightsThatDoNotFit) {
  const at::Tensor z = at::randn({2, 77, 8});
  EXPECT_THROW(weight_token_embeddings(z, at::ones({2, 76}), false), Error);
  EXPECT_THROW(weight_token_embeddings(z, at::ones({2, 77, 1}), false), Error);
  EXPECT_THROW(weight_token_embeddings(z, at::ones({2, 77}, at::kLong), false), Error);
  EXPECT_THROW(weight_token_embeddings(z, at::zeros({2, 77}), false), Error);
  EXPECT_THROW(weight_token_embeddings(z, at::full({2, 77}, NAN), false), Error);
  // Embeddings whose weighted mean is zero cannot have their mean restored.
  EXPECT_THROW(weight_token_embeddings(at::zeros({1, 77, 8}), at::ones({1, 77}), true), Error);
}

}  // namespace
}  // namespace gml::diffusion

// The backbones against torchvision 0.26 (golden values written by
// tests/merger/make_backbone_golden.py): parameter counts, the name and
// shape of every parameter and buffer, and logits for deterministic weights,
// through the module path and both inference paths.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <cstdint>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/merger/nets/backbone.h"
#include "core/merger/nets/backbone_fused.h"

namespace {

using gml::merger::Backbone;
using gml::merger::make_backbone;

const nlohmann::json& golden() {
  static const nlohmann::json doc = [] {
    const std::string path = std::string(GML_GOLDEN_DIR) + "/merger/backbone_golden.json";
    std::ifstream in(path);
    if (!in.good()) throw std::runtime_error("missing golden file " + path);
    return nlohmann::json::parse(in);
  }();
  return doc;
}

// The generator's hash: splitmix64((k << 32) + i), top 53 bits, to [-1, 1).
uint64_t splitmix64(uint64_t x) {
  uint64_t z = x + 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

std::vector<double> uniform_pm1(uint64_t k, int64_t n) {
  std::vector<double> out(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const uint64_t u = splitmix64((k << 32) + static_cast<uint64_t>(i)) >> 11;
    out[static_cast<size_t>(i)] = 2.0 * static_cast<double>(u) * 0x1.0p-53 - 1.0;
  }
  return out;
}

// The deterministic weights of make_backbone_golden.py's docstring.
void fill_weights(Backbone& model, const nlohmann::json& entry, int64_t channels) {
  torch::NoGradGuard no_grad;
  auto params = model.named_parameters();
  auto buffers = model.named_buffers();
  const auto& scales = entry.at("bn_scale_" + std::to_string(channels));
  const auto& tensors = entry.at("tensors");
  for (size_t k = 0; k < tensors.size(); ++k) {
    const auto& t = tensors[k];
    const std::string name = t.at("name");
    const std::string rule = t.at("fill");
    if (rule == "num_batches_tracked") continue;
    at::Tensor* target = t.at("kind") == "parameter" ? params.find(name) : buffers.find(name);
    ASSERT_NE(target, nullptr) << name;
    std::vector<double> s = uniform_pm1(k, target->numel());
    // The golden list is the 3-band model's; one band changes the first fan_in.
    const int64_t fan_in = target->dim() > 1 ? target->numel() / target->size(0) : 0;
    if (channels == 3 && rule == "weight") {
      EXPECT_EQ(fan_in, t.at("fan_in").get<int64_t>()) << name;
    }
    double m = 0, v = 1;
    if (rule == "running_mean" || rule == "running_var") {
      const auto& mv = scales.at(name.substr(0, name.rfind('.')));
      m = mv.at(0);
      v = mv.at(1);
    }
    for (double& x : s) {
      if (rule == "weight") {
        x *= std::sqrt(6.0 / static_cast<double>(fan_in));
      } else if (rule == "bias" || rule == "bn_bias") {
        x *= 0.1;
      } else if (rule == "bn_weight") {
        x = 1 + 0.2 * x;
      } else if (rule == "running_mean") {
        x = m + 0.1 * std::sqrt(v) * x;
      } else if (rule == "running_var") {
        x = v * (1 + 0.5 * std::abs(x));
      } else {
        FAIL() << "unknown fill rule " << rule;
      }
    }
    target->copy_(at::tensor(s, at::kDouble).reshape(target->sizes()));
  }
}

at::Tensor golden_input(int64_t channels) {
  const int64_t size = golden().at("image_size");
  const int64_t n = 2 * channels * size * size;
  const std::vector<double> noise = uniform_pm1(golden().at("input_stream").get<uint64_t>(), n);
  const at::Tensor smooth = at::sin(0.01 * at::arange(n, at::kDouble));
  return (smooth + 0.5 * at::tensor(noise, at::kDouble))
      .reshape({2, channels, size, size})
      .to(at::kFloat);
}

double relative_error(const at::Tensor& got, const at::Tensor& want) {
  return ((got.to(at::kDouble) - want).abs().max() / want.abs().max()).item<double>();
}

class BackboneGolden : public ::testing::TestWithParam<std::string> {};

TEST(BackboneGoldenFile, CoversEveryBackbone) {
  for (const auto& name : gml::merger::backbone_names()) {
    EXPECT_TRUE(golden().at("models").contains(name)) << name;
  }
}

TEST_P(BackboneGolden, ParameterCountMatchesTorchvision) {
  const auto& entry = golden().at("models").at(GetParam());
  auto model = make_backbone(GetParam(), 3, 1000);
  int64_t count = 0;
  for (const auto& p : model->parameters()) count += p.numel();
  EXPECT_EQ(count, entry.at("parameter_count_1000").get<int64_t>());
  EXPECT_EQ(model->feature_channels(), entry.at("feature_channels").get<int64_t>());
  EXPECT_EQ(model->name(), GetParam());
}

TEST_P(BackboneGolden, NamesAndShapesMatchTorchvision) {
  const auto& entry = golden().at("models").at(GetParam());
  const int64_t classes = golden().at("num_classes");
  auto model = make_backbone(GetParam(), 3, classes);
  std::vector<std::pair<std::string, std::vector<int64_t>>> want_params, want_buffers, got_params,
      got_buffers;
  for (const auto& t : entry.at("tensors")) {
    auto& list = t.at("kind") == "parameter" ? want_params : want_buffers;
    list.emplace_back(t.at("name"), t.at("shape").get<std::vector<int64_t>>());
  }
  for (const auto& p : model->named_parameters()) {
    got_params.emplace_back(p.key(), p.value().sizes().vec());
  }
  for (const auto& b : model->named_buffers())
    got_buffers.emplace_back(b.key(), b.value().sizes().vec());
  // Same names, same shapes, same order as named_parameters()/named_buffers().
  ASSERT_EQ(got_params.size(), want_params.size());
  ASSERT_EQ(got_buffers.size(), want_buffers.size());
  for (size_t i = 0; i < want_params.size(); ++i) {
    EXPECT_EQ(got_params[i], want_params[i]) << "parameter " << i;
  }
  for (size_t i = 0; i < want_buffers.size(); ++i) {
    EXPECT_EQ(got_buffers[i], want_buffers[i]) << "buffer " << i;
  }
  // One band: only the first convolution's weight changes shape.
  auto grey = make_backbone(GetParam(), 1, classes);
  const std::string first =
      GetParam().rfind("resnet", 0) == 0 ? "conv1.weight" : "features.0.0.weight";
  for (const auto& p : grey->named_parameters()) {
    std::vector<int64_t> want = model->named_parameters()[p.key()].sizes().vec();
    if (p.key() == first) want[1] = 1;
    EXPECT_EQ(p.value().sizes().vec(), want) << p.key();
  }
}

TEST_P(BackboneGolden, LogitsMatchTorchvisionOnEveryPath) {
  const auto& entry = golden().at("models").at(GetParam());
  const int64_t classes = golden().at("num_classes");
  for (int64_t channels : {3, 1}) {
    SCOPED_TRACE("in_channels " + std::to_string(channels));
    auto model = make_backbone(GetParam(), channels, classes);
    fill_weights(*model, entry, channels);
    if (HasFatalFailure()) return;
    model->eval();
    const at::Tensor x = golden_input(channels);
    const at::Tensor want =
        at::tensor(entry.at("logits_" + std::to_string(channels)).get<std::vector<double>>(),
                   at::kDouble)
            .reshape({2, classes});
    c10::InferenceMode guard;
    EXPECT_LT(relative_error(model->forward(x), want), 1e-4) << "module path";

    model->prepare_for_inference(/*fuse_activations=*/false);
    EXPECT_TRUE(model->prepared_for_inference());
    EXPECT_FALSE(model->uses_fused_kernels());
    EXPECT_LT(relative_error(model->forward(x), want), 1e-4) << "folded BatchNorm, at::conv2d";

    model->prepare_for_inference();
    EXPECT_EQ(model->uses_fused_kernels(), gml::merger::onednn_fusion_available());
    EXPECT_LT(relative_error(model->forward(x), want), 1e-4) << "folded BatchNorm, oneDNN fused";
    // A channels_last and a non-contiguous input take the same path.
    EXPECT_LT(relative_error(model->forward(x.contiguous(at::MemoryFormat::ChannelsLast)), want),
              1e-4);
    EXPECT_LT(relative_error(model->forward(x.transpose(2, 3).contiguous().transpose(2, 3)), want),
              1e-4);
  }
}

INSTANTIATE_TEST_SUITE_P(AllBackbones, BackboneGolden,
                         ::testing::ValuesIn(gml::merger::backbone_names()),
                         [](const ::testing::TestParamInfo<std::string>& param) {
                           return param.param;
                         });

}  // namespace

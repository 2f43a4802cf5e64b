// Behaviour of the merger backbones beyond torchvision parity: the factory
// and input checks, shapes, initialisation, training, and the inference
// path's bookkeeping (rebuild after a weight change, empty batches, devices).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <string>
#include <vector>

#include "core/common/error.h"
#include "core/common/runtime.h"
#include "core/merger/nets/backbone.h"

namespace {

using gml::merger::Backbone;
using gml::merger::make_backbone;

// Runs `fn`, expecting gml::Error(InvalidArgument) whose message contains
// every string in `parts`.
template <typename Fn>
void expect_invalid(Fn&& fn, const std::vector<std::string>& parts) {
  try {
    fn();
    ADD_FAILURE() << "no exception";
  } catch (const gml::Error& e) {
    EXPECT_EQ(e.status(), gml::Status::InvalidArgument) << e.what();
    for (const auto& p : parts) {
      EXPECT_NE(std::string(e.what()).find(p), std::string::npos)
          << "message '" << e.what() << "' lacks '" << p << "'";
    }
  } catch (const std::exception& e) {
    ADD_FAILURE() << "not a gml::Error: " << e.what();
  }
}

double max_diff(const at::Tensor& a, const at::Tensor& b) {
  return (a.to(at::kDouble) - b.to(at::kDouble)).abs().max().item<double>();
}

// Random but non-trivial BatchNorm statistics, so that folding matters.
void perturb_batchnorms(Backbone& model) {
  torch::NoGradGuard no_grad;
  for (auto& b : model.named_buffers()) {
    if (b.key().find("running_mean") != std::string::npos) b.value().uniform_(-0.2, 0.2);
    if (b.key().find("running_var") != std::string::npos) b.value().uniform_(0.5, 2.0);
  }
  for (auto& p : model.named_parameters()) {
    if (p.value().dim() != 1) continue;
    const bool weight = p.key().find(".weight") != std::string::npos;
    weight ? p.value().uniform_(0.5, 1.5) : p.value().uniform_(-0.2, 0.2);
  }
}

class BackboneEach : public ::testing::TestWithParam<std::string> {};

TEST(BackboneFactory, RejectsUnknownNamesListingValidOnes) {
  expect_invalid(
      [] { make_backbone("resnet101", 3, 10); },
      {"resnet101", "resnet18", "resnet34", "resnet50", "efficientnet_b0", "efficientnet_b4"});
  expect_invalid([] { make_backbone("efficientnet_b5", 3, 10); }, {"efficientnet_b5"});
  expect_invalid([] { make_backbone("", 3, 10); }, {"valid names"});
}

TEST(BackboneFactory, RejectsBadSizesAndOptions) {
  expect_invalid([] { make_backbone("resnet18", 0, 10); }, {"in_channels", "0"});
  expect_invalid([] { make_backbone("resnet18", -2, 10); }, {"in_channels", "-2"});
  expect_invalid([] { make_backbone("resnet18", 3, -1); }, {"num_classes", "-1"});
  gml::merger::BackboneOptions bad;
  bad.stochastic_depth_prob = 1.5;
  expect_invalid([&] { make_backbone("efficientnet_b0", 3, 10, bad); }, {"stochastic_depth_prob"});
}

TEST(BackboneFactory, PublishedParameterCounts) {
  // torchvision's documented sizes (3 bands, 1000 classes).
  const std::vector<std::pair<std::string, int64_t>> counts = {
      {"resnet18", 11689512},        {"resnet34", 21797672},       {"resnet50", 25557032},
      {"efficientnet_b0", 5288548},  {"efficientnet_b1", 7794184}, {"efficientnet_b2", 9109994},
      {"efficientnet_b3", 12233232}, {"efficientnet_b4", 19341616}};
  for (const auto& [name, want] : counts) {
    auto model = make_backbone(name, 3, 1000);
    int64_t n = 0;
    for (const auto& p : model->parameters()) n += p.numel();
    EXPECT_EQ(n, want) << name;
    EXPECT_EQ(model->stride(), 32);
  }
}

TEST_P(BackboneEach, RejectsBadInputsWithClearErrors) {
  auto model = make_backbone(GetParam(), 3, 5);
  expect_invalid(
      [&] {
        model->forward(at::zeros({3, 32, 32}));
      },
      {GetParam(), "4-D", "3-D", "[3, 32, 32]"});
  expect_invalid(
      [&] {
        model->forward(at::zeros({2, 1, 32, 32}));
      },
      {"expected 3 input channel", "got 1", "[2, 1, 32, 32]"});
  expect_invalid([&] { model->forward_features(at::zeros({2, 4, 32, 32})); }, {"got 4"});
  expect_invalid([&] { model->forward(at::zeros({2, 3, 32, 32}, at::kInt)); }, {"Int", "Float"});
  expect_invalid([&] { model->forward(at::zeros({2, 3, 32, 32}, at::kDouble)); }, {"Double"});
  expect_invalid([&] { model->forward(at::zeros({2, 3, 0, 32})); }, {"height and width"});
  expect_invalid([&] { model->forward(at::Tensor()); }, {"undefined"});
  // The same checks on the inference path.
  model->prepare_for_inference();
  c10::InferenceMode guard;
  expect_invalid([&] { model->forward(at::zeros({2, 32, 32})); }, {"4-D"});
  expect_invalid([&] { model->forward(at::zeros({1, 2, 32, 32})); }, {"got 2"});
}

TEST_P(BackboneEach, ShapesFollowStrideAndHead) {
  auto model = make_backbone(GetParam(), 1, 7);
  auto headless = make_backbone(GetParam(), 1, 0);
  model->eval();
  headless->eval();
  const int64_t c = model->feature_channels();
  const at::Tensor x = at::randn({2, 1, 65, 40});
  c10::InferenceMode guard;
  for (int pass = 0; pass < 2; ++pass) {  // module path, then inference path
    SCOPED_TRACE(pass == 0 ? "module path" : "inference path");
    const at::Tensor features = headless->forward_features(x);
    EXPECT_EQ(features.sizes().vec(), (std::vector<int64_t>{2, c, 3, 2}));
    EXPECT_TRUE(features.is_contiguous());
    const at::Tensor pooled = headless->forward(x);
    EXPECT_EQ(pooled.sizes().vec(), (std::vector<int64_t>{2, c}));
    EXPECT_LT(max_diff(pooled, features.mean({2, 3})), 1e-5);
    EXPECT_EQ(model->forward(x).sizes().vec(), (std::vector<int64_t>{2, 7}));
    // An empty batch works too.
    EXPECT_EQ(model->forward(at::randn({0, 1, 64, 64})).sizes().vec(),
              (std::vector<int64_t>{0, 7}));
    EXPECT_EQ(headless->forward_features(at::randn({0, 1, 64, 64})).sizes().vec(),
              (std::vector<int64_t>{0, c, 2, 2}));
    model->prepare_for_inference();
    headless->prepare_for_inference();
  }
  EXPECT_EQ(headless->named_parameters().find("fc.weight"), nullptr);
  EXPECT_EQ(headless->named_parameters().find("classifier.1.weight"), nullptr);
}

TEST_P(BackboneEach, TorchvisionInitialisation) {
  torch::manual_seed(3);
  auto model = make_backbone(GetParam(), 3, 100);
  for (const auto& p : model->named_parameters()) {
    const at::Tensor& t = p.value();
    const std::string& name = p.key();
    if (t.dim() == 4) {
      // kaiming_normal_(mode="fan_out", relu): std sqrt(2 / (out * k * k)).
      const double want = std::sqrt(2.0 / static_cast<double>(t.size(0) * t.size(2) * t.size(3)));
      if (t.numel() >= 2000) {
        EXPECT_NEAR(t.std().item<double>() / want, 1.0, 0.1) << name;
        EXPECT_NEAR(t.mean().item<double>() / want, 0.0, 0.1) << name;
      }
    } else if (name == "fc.weight") {
      // ResNet keeps PyTorch's Linear default: bound 1/sqrt(fan_in).
      const double bound = 1.0 / std::sqrt(static_cast<double>(t.size(1)));
      EXPECT_LE(t.abs().max().item<double>(), bound + 1e-7);
      EXPECT_GT(t.abs().max().item<double>(), 0.9 * bound);
    } else if (name == "fc.bias") {
      EXPECT_GT(t.abs().max().item<double>(), 0.0);
    } else if (name == "classifier.1.weight") {
      // EfficientNet: uniform(-1/sqrt(out), 1/sqrt(out)), out = 100.
      EXPECT_LE(t.abs().max().item<double>(), 0.1 + 1e-7);
      EXPECT_GT(t.abs().max().item<double>(), 0.09);
    } else if (name.size() > 7 && name.compare(name.size() - 7, 7, ".weight") == 0) {
      EXPECT_TRUE(t.eq(1).all().item<bool>()) << name;  // BatchNorm weight
    } else {
      // BatchNorm, squeeze-excitation and classifier biases.
      EXPECT_TRUE(t.eq(0).all().item<bool>()) << name;
    }
  }
  for (const auto& b : model->named_buffers()) {
    const std::string& name = b.key();
    if (name.find("running_var") != std::string::npos) {
      EXPECT_TRUE(b.value().eq(1).all().item<bool>()) << name;
    } else {
      EXPECT_TRUE(b.value().eq(0).all().item<bool>()) << name;
    }
  }
}

TEST_P(BackboneEach, TrainsWithGradientsReachingTheFirstConvolution) {
  torch::manual_seed(1);
  auto model = make_backbone(GetParam(), 2, 4);
  model->train();
  const at::Tensor x = at::randn({3, 2, 40, 40});
  const at::Tensor target = at::tensor({0, 1, 3}, at::kLong);
  const at::Tensor logits = model->forward(x);
  ASSERT_TRUE(logits.requires_grad());
  at::cross_entropy_loss(logits, target).backward();
  const std::string first =
      GetParam().rfind("resnet", 0) == 0 ? "conv1.weight" : "features.0.0.weight";
  const at::Tensor grad = model->named_parameters()[first].grad();
  ASSERT_TRUE(grad.defined());
  EXPECT_TRUE(grad.isfinite().all().item<bool>());
  EXPECT_GT(grad.abs().sum().item<double>(), 0.0);
  for (const auto& p : model->named_parameters()) {
    EXPECT_TRUE(p.value().grad().defined()) << p.key();
  }
  // Running statistics moved.
  for (const auto& b : model->named_buffers()) {
    if (b.key().find("num_batches_tracked") != std::string::npos) {
      EXPECT_EQ(b.value().item<int64_t>(), 1) << b.key();
    }
  }
  // A training step under a prepared model still takes the module path.
  model->prepare_for_inference();
  model->train();
  EXPECT_TRUE(model->forward(x).requires_grad());
}

TEST_P(BackboneEach, InferencePathFollowsWeightChanges) {
  torch::manual_seed(2);
  auto model = make_backbone(GetParam(), 3, 6);
  perturb_batchnorms(*model);
  model->prepare_for_inference();
  const at::Tensor x = at::randn({2, 3, 64, 64});
  auto reference = [&] {
    // Module path: eval mode with autograd on.
    model->eval();
    return model->forward(x).detach();
  };
  {
    c10::InferenceMode guard;
    const at::Tensor fast = model->forward(x);
    EXPECT_LT(max_diff(fast, reference()), 1e-4 * (1 + fast.abs().max().item<double>()));
  }
  {
    torch::NoGradGuard no_grad;
    const std::string first =
        GetParam().rfind("resnet", 0) == 0 ? "conv1.weight" : "features.0.0.weight";
    model->named_parameters()[first].mul_(-0.5);
    for (auto& b : model->named_buffers()) {
      if (b.key().find("running_var") != std::string::npos) {
        b.value().mul_(1.5);
        break;
      }
    }
  }
  const at::Tensor want = reference();
  torch::NoGradGuard no_grad;  // the inference path also serves NoGradGuard
  const at::Tensor fast = model->forward(x);
  EXPECT_LT(max_diff(fast, want), 1e-4 * (1 + want.abs().max().item<double>()));
  EXPECT_GT(max_diff(fast, model->forward(x * 0.5)), 0.0);
}

TEST_P(BackboneEach, InferencePathMatchesModulesOnSmallAndOddImages) {
  // Down to 1x1 maps, where NCHW and NHWC strides coincide.
  torch::manual_seed(6);
  auto model = make_backbone(GetParam(), 3, 5);
  perturb_batchnorms(*model);
  model->eval();
  const std::vector<std::pair<int64_t, int64_t>> sizes = {{1, 1},   {2, 2},  {32, 32},
                                                          {33, 17}, {1, 40}, {40, 1}};
  std::vector<at::Tensor> inputs, want;
  for (const auto& [h, w] : sizes) {
    inputs.push_back(at::randn({2, 3, h, w}));
    want.push_back(model->forward(inputs.back()).detach());
  }
  model->prepare_for_inference();
  c10::InferenceMode guard;
  for (size_t i = 0; i < sizes.size(); ++i) {
    const at::Tensor got = model->forward(inputs[i]);
    EXPECT_LT(max_diff(got, want[i]), 1e-4 * (1 + want[i].abs().max().item<double>()))
        << sizes[i].first << "x" << sizes[i].second;
  }
}

TEST(BackboneInferenceMode, ModelBuiltUnderInferenceModeRuns) {
  // Its tensors are inference tensors, which carry no version counter; the
  // folded weights built under InferenceMode also serve NoGradGuard.
  for (const std::string name : {"resnet18", "efficientnet_b0"}) {
    std::shared_ptr<Backbone> model;
    at::Tensor x, want;
    {
      c10::InferenceMode guard;
      model = make_backbone(name, 2, 4);
      model->eval();
      x = at::randn({2, 2, 64, 64});
      want = model->forward(x);
      model->prepare_for_inference();
      EXPECT_LT(max_diff(model->forward(x), want), 1e-4 * (1 + want.abs().max().item<double>()))
          << name;
    }
    torch::NoGradGuard no_grad;
    const at::Tensor y = model->forward(x.clone());
    EXPECT_FALSE(y.is_inference());
    EXPECT_LT(max_diff(y, want), 1e-4 * (1 + want.abs().max().item<double>())) << name;
  }
}

TEST(BackboneDouble, FoldsWithoutOneDnnAtFullPrecision) {
  // float64 takes at::conv2d with folded weights (oneDNN's fused kernels are
  // float32). One model per family: float64 depthwise convolutions are slow.
  for (const std::string name : {"resnet18", "efficientnet_b0"}) {
    torch::manual_seed(4);
    auto model = make_backbone(name, 1, 3);
    perturb_batchnorms(*model);
    model->to(at::kDouble);
    model->eval();
    const at::Tensor x = at::randn({2, 1, 24, 24}, at::kDouble);
    c10::InferenceMode guard;
    const at::Tensor want = model->forward(x);
    model->prepare_for_inference();
    EXPECT_FALSE(model->uses_fused_kernels()) << name;
    EXPECT_LT(max_diff(model->forward(x), want), 1e-9 * (1 + want.abs().max().item<double>()))
        << name;
  }
}

TEST_P(BackboneEach, CudaInferencePathMatchesModules) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  // The library's precision: float32 without TF32 (LibTorch's cuDNN default
  // gave differences of 4e-2 on ResNet-34).
  gml::ensure_runtime();
  torch::manual_seed(5);
  auto model = make_backbone(GetParam(), 3, 6);
  perturb_batchnorms(*model);
  model->to(at::Device(at::kCUDA, 0));
  model->eval();
  const at::Tensor x = at::randn({4, 3, 96, 96}).cuda();
  c10::InferenceMode guard;
  const at::Tensor want = model->forward(x).cpu();
  model->prepare_for_inference();
  EXPECT_FALSE(model->uses_fused_kernels());
  const at::Tensor got = model->forward(x).cpu();
  EXPECT_LT(max_diff(got, want), 1e-3 * (1 + want.abs().max().item<double>()));
  expect_invalid([&] { model->forward(at::zeros({1, 3, 32, 32})); }, {"cpu", "cuda"});
}

INSTANTIATE_TEST_SUITE_P(AllBackbones, BackboneEach,
                         ::testing::ValuesIn(gml::merger::backbone_names()),
                         [](const ::testing::TestParamInfo<std::string>& param) {
                           return param.param;
                         });

}  // namespace

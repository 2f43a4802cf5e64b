// Strict state-dict loading (core/diffusion/state_dict.h) from safetensors
// files this test writes byte by byte: values land where their keys say,
// half and bfloat16 become the module's float32, and each way a checkpoint
// can disagree with the module is refused naming the file and the key.
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <fstream>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/common/error.h"
#include "core/common/safetensors.h"
#include "core/diffusion/state_dict.h"

namespace gml::diffusion {
namespace {

// Parameters, a buffer and an integer buffer, under nested names as a
// diffusers module has them.
struct Tiny : torch::nn::Module {
  Tiny() {
    proj = register_module("proj", torch::nn::Linear(3, 2));
    scale = register_parameter("scale", at::ones({4}));
    offset = register_buffer("offset", at::zeros({2}));
    steps = register_buffer("steps", at::zeros({3}, at::kLong));
  }
  torch::nn::Linear proj{nullptr};
  at::Tensor scale, offset, steps;
};

const char* dtype_name(at::ScalarType t) {
  switch (t) {
    case at::kFloat: return "F32";
    case at::kHalf: return "F16";
    case at::kBFloat16: return "BF16";
    case at::kLong: return "I64";
    case at::kInt: return "I32";
    default: throw std::runtime_error("dtype not used here");
  }
}

using Tensors = std::vector<std::pair<std::string, at::Tensor>>;

// The format as the reference writes it: 8-byte little-endian header
// length, the JSON header, the tensors' bytes back to back.
std::string write_safetensors(const std::string& name, const Tensors& tensors) {
  nlohmann::json header = nlohmann::json::object();
  std::string data;
  for (const auto& [key, t] : tensors) {
    const at::Tensor c = t.contiguous();
    const size_t begin = data.size();
    data.append(static_cast<const char*>(c.data_ptr()), c.nbytes());
    header[key] = {{"dtype", dtype_name(c.scalar_type())},
                   {"shape", c.sizes().vec()},
                   {"data_offsets", {begin, data.size()}}};
  }
  const std::string text = header.dump();
  const std::string path = testing::TempDir() + "/" + name;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  const uint64_t n = text.size();
  for (int i = 0; i < 8; ++i) out.put(static_cast<char>((n >> (8 * i)) & 0xff));
  out << text << data;
  return path;
}

// Values distinct from the module's initialisation.
Tensors full_state() {
  return {{"proj.weight", at::arange(6, at::kFloat).reshape({2, 3}) / 7},
          {"proj.bias", at::tensor({0.25f, -0.5f})},
          {"scale", at::tensor({1.5f, 2.5f, -3.0f, 0.125f})},
          {"offset", at::tensor({-1.0f, 4.0f})},
          {"steps", at::tensor({7, 8, 9}, at::kLong)}};
}

Tensors with(Tensors tensors, const std::string& key, const at::Tensor& value) {
  for (auto& [k, t] : tensors)
    if (k == key) t = value;
  return tensors;
}

Tensors without(Tensors tensors, const std::string& key) {
  Tensors out;
  for (auto& [k, t] : tensors)
    if (k != key) out.emplace_back(k, t);
  return out;
}

// Loading `tensors` written as `name` fails with Format naming the file, the
// key and `part`.
void expect_refused(const std::string& name, const Tensors& tensors, const std::string& key,
                    const std::string& part, const IgnoredKeys& ignored = {}) {
  const std::string path = write_safetensors(name, tensors);
  Tiny m;
  try {
    load_state_dict(m, SafetensorsFile::open(path), ignored);
    ADD_FAILURE() << name << " was accepted";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_EQ(e.status(), Status::Format) << what;
    EXPECT_NE(what.find(path), std::string::npos) << what;
    EXPECT_NE(what.find("'" + key + "'"), std::string::npos) << what;
    EXPECT_NE(what.find(part), std::string::npos) << what;
  }
  std::remove(path.c_str());
}

TEST(StateDict, LoadsEveryParameterAndBufferByItsKey) {
  const std::string path = write_safetensors("state_full.safetensors", full_state());
  Tiny m;
  load_state_dict(m, SafetensorsFile::open(path));
  for (const auto& [key, want] : full_state()) {
    SCOPED_TRACE(key);
    const at::Tensor got = key == "proj.weight" ? m.proj->weight
                           : key == "proj.bias" ? m.proj->bias
                           : key == "scale"     ? m.scale
                           : key == "offset"    ? m.offset
                                                : m.steps;
    EXPECT_TRUE(at::equal(got, want));
  }
  EXPECT_EQ(m.steps.scalar_type(), at::kLong);
  std::remove(path.c_str());
}

TEST(StateDict, HalfAndBfloat16BecomeTheModulesFloat32) {
  // Values exact in both 16-bit formats, so the conversion is exact too.
  const at::Tensor w = at::tensor({0.5f, -1.25f, 3.0f, 0.0f, -0.375f, 8.0f}).reshape({2, 3});
  Tensors t = with(full_state(), "proj.weight", w.to(at::kHalf));
  t = with(t, "scale", at::tensor({1.5f, 2.5f, -3.0f, 0.125f}).to(at::kBFloat16));
  const std::string path = write_safetensors("state_half.safetensors", t);
  Tiny m;
  load_state_dict(m, SafetensorsFile::open(path));
  EXPECT_EQ(m.proj->weight.scalar_type(), at::kFloat);
  EXPECT_EQ(m.scale.scalar_type(), at::kFloat);
  EXPECT_TRUE(at::equal(m.proj->weight, w));
  EXPECT_TRUE(at::equal(m.scale, at::tensor({1.5f, 2.5f, -3.0f, 0.125f})));
  std::remove(path.c_str());
}

TEST(StateDict, IgnoredKeysMayBePresentOrAbsent) {
  const Tensors extra = [] {
    Tensors t = full_state();
    t.emplace_back("text_model.embeddings.position_ids",
                   at::arange(77, at::kLong).reshape({1, 77}));
    return t;
  }();
  const IgnoredKeys ignored{"text_model.embeddings.position_ids", "never.stored"};
  const std::string path = write_safetensors("state_ignored.safetensors", extra);
  Tiny m;
  load_state_dict(m, SafetensorsFile::open(path), ignored);
  EXPECT_TRUE(at::equal(m.scale, at::tensor({1.5f, 2.5f, -3.0f, 0.125f})));
  std::remove(path.c_str());
}

TEST(StateDict, MissingKeyNamesFileAndKey) {
  expect_refused("state_missing.safetensors", without(full_state(), "proj.bias"), "proj.bias",
                 "missing");
  // An ignored key is still needed when the module has it.
  expect_refused("state_missing_ignored.safetensors", without(full_state(), "offset"), "offset",
                 "missing", {"offset"});
}

TEST(StateDict, ExtraKeyNamesFileAndKey) {
  Tensors t = full_state();
  t.emplace_back("proj2.weight", at::zeros({2, 3}));
  expect_refused("state_extra.safetensors", t, "proj2.weight", "not part of the configured");
}

TEST(StateDict, WrongShapeNamesFileKeyAndBothShapes) {
  expect_refused("state_shape.safetensors", with(full_state(), "proj.weight", at::zeros({3, 2})),
                 "proj.weight", "[3, 2], the configuration expects [2, 3]");
  expect_refused("state_rank.safetensors", with(full_state(), "scale", at::zeros({1, 4})), "scale",
                 "[1, 4]");
}

TEST(StateDict, IntegerWhereFloatIsExpectedNamesFileAndKey) {
  expect_refused("state_int.safetensors",
                 with(full_state(), "proj.bias", at::tensor({1, 2}, at::kInt)), "proj.bias",
                 "stored as Int, a floating-point type is needed");
}

TEST(StateDict, FloatWhereIntegerIsExpectedNamesFileAndKey) {
  // Truncating 7.5 into an index buffer would load silently wrong values.
  expect_refused("state_float_steps.safetensors",
                 with(full_state(), "steps", at::tensor({7.5f, 8.0f, 9.0f})), "steps",
                 "stored as Float, an integer type is needed");
}

TEST(StateDict, InMemoryTensorsNameTheirSource) {
  std::map<std::string, at::Tensor> tensors;
  for (const auto& [k, t] : full_state()) tensors[k] = t;
  Tiny m;
  load_state_dict(m, tensors, "model.h5 group unet");
  EXPECT_TRUE(at::equal(m.offset, at::tensor({-1.0f, 4.0f})));
  tensors.erase("scale");
  try {
    load_state_dict(m, tensors, "model.h5 group unet");
    ADD_FAILURE() << "accepted a missing key";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "model.h5 group unet: missing tensor 'scale'");
  }
}

}  // namespace
}  // namespace gml::diffusion

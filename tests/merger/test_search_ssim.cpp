// SSIM against scikit-image's structural_similarity on real SDSS cutouts
// (tests/golden/merger/search_ssim.*, made by make_search_golden.py): colour
// (3-channel, asinh-stretched) and raw single-band images, two data ranges,
// the broadcast form, float64 and float32 arithmetic.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <functional>
#include <iterator>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/common/error.h"
#include "core/merger/search/ssim.h"

using gml::Status;
using gml::merger::ssim;
using gml::merger::SsimOptions;

namespace {

const std::string kDir = std::string(GML_GOLDEN_DIR) + "/merger/";

nlohmann::json ssim_golden() {
  std::ifstream in(kDir + "search_ssim.json");
  EXPECT_TRUE(in.good()) << "missing " << kDir << "search_ssim.json";
  return nlohmann::json::parse(in);
}

torch::Tensor load_images(const nlohmann::json& entry) {
  static std::vector<char> blob = [] {
    std::ifstream in(kDir + "search_ssim.bin", std::ios::binary);
    return std::vector<char>(std::istreambuf_iterator<char>(in), {});
  }();
  const auto shape = entry["shape"].get<std::vector<int64_t>>();
  const size_t offset = entry["offset"].get<size_t>();
  torch::Tensor t = torch::empty(shape, torch::kFloat);
  const size_t bytes = static_cast<size_t>(t.numel()) * sizeof(float);
  if (offset + bytes > blob.size()) throw std::runtime_error("search_ssim.bin is too short");
  std::memcpy(t.data_ptr<float>(), blob.data() + offset, bytes);  // little-endian host
  return t;
}

double max_error(const torch::Tensor& got, const std::vector<double>& want) {
  return (got.cpu() - torch::tensor(want, torch::kDouble)).abs().max().item<double>();
}

Status ssim_status_of(const std::function<void()>& f, std::string* message = nullptr) {
  try {
    f();
  } catch (const gml::Error& e) {
    if (message) *message = e.what();
    return e.status();
  }
  return Status::Ok;
}

}  // namespace

TEST(Ssim, WindowIs11ForSigma15) {
  EXPECT_EQ(gml::merger::ssim_window_size(1.5), 11);
}

TEST(Ssim, MatchesScikitImageOnColourCutouts) {
  const nlohmann::json g = ssim_golden()["colour"];
  const torch::Tensor a = load_images(g["a"]), b = load_images(g["b"]);
  ASSERT_EQ(a.size(1), 3);
  const auto want = g["ssim"].get<std::vector<double>>();
  const torch::Tensor got64 = ssim(a.to(torch::kDouble), b.to(torch::kDouble), g["data_range"]);
  EXPECT_EQ(got64.scalar_type(), torch::kDouble);
  EXPECT_LE(max_error(got64, want), 1e-5) << got64;
  // float32 arithmetic (the default for float32 images) stays within 1e-5 too.
  EXPECT_LE(max_error(ssim(a, b, g["data_range"]), want), 1e-5);
  EXPECT_LE(max_error(ssim(a.to(torch::kDouble), b.to(torch::kDouble), g["data_range_2"]),
                      g["ssim_2"].get<std::vector<double>>()),
            1e-5);
  // The pairs span the interesting range: identical, near, far.
  EXPECT_NEAR(want.back(), 1.0, 1e-12);
  EXPECT_LT(*std::min_element(want.begin(), want.end()), 0.6);
}

TEST(Ssim, BroadcastsASingleReference) {
  const nlohmann::json g = ssim_golden()["colour"];
  const torch::Tensor a = load_images(g["a"]).to(torch::kDouble);
  const torch::Tensor b0 = load_images(g["b"]).slice(0, 0, 1).to(torch::kDouble);
  EXPECT_LE(max_error(ssim(a, b0, 1.0), g["ssim_vs_b0"].get<std::vector<double>>()), 1e-5);
}

TEST(Ssim, MatchesScikitImageOnRawSingleBandCutouts) {
  const nlohmann::json g = ssim_golden()["grey"];
  const torch::Tensor a = load_images(g["a"]), b = load_images(g["b"]);
  ASSERT_EQ(a.size(1), 1);
  ASSERT_NE(a.size(2), a.size(3));  // not square
  const auto want = g["ssim"].get<std::vector<double>>();
  const double range = g["data_range"];
  EXPECT_LE(max_error(ssim(a.to(torch::kDouble), b.to(torch::kDouble), range), want), 1e-5);
  EXPECT_LE(max_error(ssim(a, b, range), want), 1e-5);
}

TEST(Ssim, IdenticalImagesScoreOneAndOrderDoesNotMatter) {
  torch::manual_seed(3);
  const torch::Tensor a = torch::rand({5, 2, 24, 30});
  const torch::Tensor b = (a + 0.1 * torch::randn({5, 2, 24, 30})).clamp(0, 1);
  const torch::Tensor self = ssim(a, a, 1.0);
  EXPECT_LE((self - 1.0).abs().max().item<double>(), 1e-6);
  EXPECT_LE(
      (ssim(a.to(torch::kDouble), a.to(torch::kDouble), 1.0) - 1.0).abs().max().item<double>(),
      1e-12);
  EXPECT_LE((ssim(a, b, 1.0) - ssim(b, a, 1.0)).abs().max().item<double>(), 1e-6);
  EXPECT_LT(ssim(a, b, 1.0).max().item<double>(), 0.99);
}

TEST(Ssim, BatchSizeDoesNotChangeTheResult) {
  torch::manual_seed(4);
  const torch::Tensor a = torch::rand({7, 1, 16, 16}, torch::kDouble);
  const torch::Tensor b = torch::rand({7, 1, 16, 16}, torch::kDouble);
  SsimOptions one;
  one.batch = 1;
  EXPECT_TRUE(torch::allclose(ssim(a, b, 1.0, one), ssim(a, b, 1.0), 0, 1e-14));
  SsimOptions three;
  three.batch = 3;
  EXPECT_TRUE(torch::allclose(ssim(a, b.slice(0, 2, 3), 1.0, three), ssim(a, b.slice(0, 2, 3), 1.0),
                              0, 1e-14));
}

TEST(Ssim, RejectsBadInput) {
  const torch::Tensor a = torch::rand({2, 1, 16, 16});
  std::string msg;
  EXPECT_EQ(ssim_status_of([&] { ssim(a, a, 0.0); }, &msg), Status::InvalidArgument);
  EXPECT_NE(msg.find("data_range"), std::string::npos) << msg;
  EXPECT_EQ(ssim_status_of(
                [&] {
                  ssim(torch::rand({2, 1, 10, 16}), torch::rand({2, 1, 10, 16}), 1.0);
                },
                &msg),
            Status::InvalidArgument);
  EXPECT_NE(msg.find("11 x 11 window"), std::string::npos) << msg;
  EXPECT_EQ(ssim_status_of(
                [&] {
                  ssim(a, torch::rand({2, 3, 16, 16}), 1.0);
                },
                &msg),
            Status::InvalidArgument);
  EXPECT_NE(msg.find("(2, 3, 16, 16)"), std::string::npos) << msg;
  EXPECT_EQ(ssim_status_of([&] {
              ssim(a, torch::rand({3, 1, 16, 16}), 1.0);
            }),
            Status::InvalidArgument);
  EXPECT_EQ(ssim_status_of([&] {
              ssim(torch::rand({1, 16, 16}), a, 1.0);
            }),
            Status::InvalidArgument);
}

TEST(Ssim, CudaMatchesCpu) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device: CPU results only";
  const nlohmann::json g = ssim_golden()["colour"];
  const torch::Tensor a = load_images(g["a"]).cuda(), b = load_images(g["b"]).cuda();
  const torch::Tensor got = ssim(a, b, g["data_range"]);
  EXPECT_TRUE(got.is_cuda());
  EXPECT_LE(max_error(got, g["ssim"].get<std::vector<double>>()), 1e-5);
}

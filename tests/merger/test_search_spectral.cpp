// Spectral clustering against scikit-learn and scipy on the same data
// (tests/golden/merger/search_spectral.json, made by make_search_golden.py):
// the self-tuning affinity entry by entry, the smallest eigenvalues of L_sym
// to 1e-5, and labels equal to SpectralClustering's up to a permutation
// (adjusted Rand index 1) on separable rings, blobs and touching disks.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "core/common/error.h"
#include "core/merger/search/spectral.h"

using gml::Status;
using namespace gml::merger;

namespace {

nlohmann::json golden() {
  const std::string path = std::string(GML_GOLDEN_DIR) + "/merger/search_spectral.json";
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << "missing " << path;
  return nlohmann::json::parse(in);
}

torch::Tensor points_of(const nlohmann::json& c) {
  std::vector<double> flat;
  int64_t d = 0;
  for (const auto& row : c["points"]) {
    d = static_cast<int64_t>(row.size());
    for (double v : row) flat.push_back(v);
  }
  return torch::tensor(flat, torch::kDouble).view({-1, d});
}

// Adjusted Rand index (Hubert & Arabie 1985) of two labelings.
double adjusted_rand(const std::vector<int64_t>& a, const std::vector<int64_t>& b) {
  std::map<std::pair<int64_t, int64_t>, double> joint;
  std::map<int64_t, double> ra, rb;
  for (size_t i = 0; i < a.size(); ++i) {
    joint[{a[i], b[i]}] += 1;
    ra[a[i]] += 1;
    rb[b[i]] += 1;
  }
  auto pairs = [](double n) { return n * (n - 1) / 2; };
  double index = 0, sa = 0, sb = 0;
  for (const auto& [k, n] : joint) index += pairs(n);
  for (const auto& [k, n] : ra) sa += pairs(n);
  for (const auto& [k, n] : rb) sb += pairs(n);
  const double expected = sa * sb / pairs(static_cast<double>(a.size()));
  const double max_index = (sa + sb) / 2;
  return max_index == expected ? 1.0 : (index - expected) / (max_index - expected);
}

std::vector<int64_t> to_vector(const torch::Tensor& t) {
  const torch::Tensor c = t.to(torch::kCPU, torch::kLong).contiguous();
  return {c.data_ptr<int64_t>(), c.data_ptr<int64_t>() + c.numel()};
}

SpectralOptions options_of(const nlohmann::json& c) {
  SpectralOptions o;
  o.n_clusters = c["n_clusters"];
  o.n_neighbors = c["n_neighbors"];
  o.scale_neighbor = c["scale_neighbor"];
  o.seed = 42;
  return o;
}

Status spectral_status_of(const std::function<void()>& f, std::string* message = nullptr) {
  try {
    f();
  } catch (const gml::Error& e) {
    if (message) *message = e.what();
    return e.status();
  }
  return Status::Ok;
}

}  // namespace

TEST(Spectral, AdjustedRandHelperIsRight) {
  EXPECT_DOUBLE_EQ(adjusted_rand({0, 0, 1, 1}, {1, 1, 0, 0}), 1.0);
  EXPECT_LT(adjusted_rand({0, 0, 1, 1}, {0, 1, 0, 1}), 0.0);
}

TEST(Spectral, AffinityMatchesScikitLearnNeighbours) {
  const nlohmann::json g = golden();  // range-for over golden()["cases"] would dangle
  for (const auto& c : g["cases"]) {
    SCOPED_TRACE(c["name"].get<std::string>());
    const torch::Tensor w = self_tuning_affinity(points_of(c), options_of(c));
    EXPECT_FALSE(w.is_inference());
    EXPECT_TRUE(torch::equal(w, w.t()));
    EXPECT_EQ(w.diagonal().abs().max().item<double>(), 0.0);
    EXPECT_EQ((w > 0).sum().item<int64_t>(), c["nonzeros"].get<int64_t>());
    const torch::Tensor degrees =
        torch::tensor(c["degrees"].get<std::vector<double>>(), torch::kDouble);
    EXPECT_LE((w.sum(1) - degrees).abs().max().item<double>(), 1e-10);
    for (const auto& e : c["affinity_sample"]) {
      EXPECT_NEAR(w[e[0].get<int64_t>()][e[1].get<int64_t>()].item<double>(), e[2].get<double>(),
                  1e-12);
    }
  }
}

TEST(Spectral, EigenvaluesMatchScipy) {
  const nlohmann::json g = golden();  // range-for over golden()["cases"] would dangle
  for (const auto& c : g["cases"]) {
    SCOPED_TRACE(c["name"].get<std::string>());
    const auto want = c["eigenvalues"].get<std::vector<double>>();
    const torch::Tensor lap =
        normalized_laplacian(self_tuning_affinity(points_of(c), options_of(c)));
    const torch::Tensor all = torch::linalg_eigvalsh(lap);
    for (size_t i = 0; i < want.size(); ++i) {
      EXPECT_NEAR(all[static_cast<int64_t>(i)].item<double>(), want[i], 1e-5) << "eigenvalue " << i;
    }
    const SpectralResult r = spectral_clustering(points_of(c), options_of(c));
    ASSERT_EQ(r.eigenvalues.size(0), c["n_clusters"].get<int64_t>());
    for (int64_t i = 0; i < r.eigenvalues.size(0); ++i) {
      EXPECT_NEAR(r.eigenvalues[i].item<double>(), want[static_cast<size_t>(i)], 1e-5);
    }
  }
}

TEST(Spectral, LabelsAgreeWithScikitLearn) {
  const nlohmann::json g = golden();  // range-for over golden()["cases"] would dangle
  for (const auto& c : g["cases"]) {
    SCOPED_TRACE(c["name"].get<std::string>());
    const SpectralResult r = spectral_clustering(points_of(c), options_of(c));
    const auto labels = to_vector(r.labels);
    EXPECT_DOUBLE_EQ(adjusted_rand(labels, c["sklearn_labels"].get<std::vector<int64_t>>()), 1.0);
    EXPECT_DOUBLE_EQ(adjusted_rand(labels, c["truth"].get<std::vector<int64_t>>()), 1.0);
    // Numbered by first occurrence, embedding rows on the unit sphere.
    EXPECT_EQ(labels[0], 0);
    EXPECT_EQ(r.labels.max().item<int64_t>(), c["n_clusters"].get<int64_t>() - 1);
    EXPECT_LE((r.embedding.norm(2, 1) - 1).abs().max().item<double>(), 1e-12);
    EXPECT_EQ(r.eigenvectors.sizes(), r.embedding.sizes());
    EXPECT_FALSE(r.labels.is_inference());
  }
}

TEST(Spectral, SameSeedSameResultAndFloat32Input) {
  const auto c = golden()["cases"][2];
  const SpectralResult a = spectral_clustering(points_of(c), options_of(c));
  const SpectralResult b = spectral_clustering(points_of(c), options_of(c));
  EXPECT_TRUE(torch::equal(a.labels, b.labels));
  EXPECT_TRUE(torch::equal(a.embedding, b.embedding));
  const SpectralResult f = spectral_clustering(points_of(c).to(torch::kFloat), options_of(c));
  EXPECT_DOUBLE_EQ(adjusted_rand(to_vector(f.labels), to_vector(a.labels)), 1.0);
}

TEST(Spectral, AffinityPathEqualsPointPath) {
  const auto c = golden()["cases"][1];
  const SpectralOptions o = options_of(c);
  const SpectralResult p = spectral_clustering(points_of(c), o);
  const SpectralResult w = spectral_clustering_affinity(self_tuning_affinity(points_of(c), o), o);
  EXPECT_TRUE(torch::equal(p.labels, w.labels));
}

TEST(Spectral, KMeansFindsSeparatedGroups) {
  const torch::Tensor x =
      torch::tensor({0., 0., 0.1, 0., 5., 5., 5.1, 5., 0., 0.2, 5., 5.2}, torch::kDouble)
          .view({6, 2});
  const KMeansResult r = kmeans(x, 2, 7);
  EXPECT_EQ(to_vector(r.labels), (std::vector<int64_t>{0, 0, 1, 1, 0, 1}));
  EXPECT_NEAR(r.centers[1][0].item<double>(), 5.0333333333333, 1e-9);
  EXPECT_NEAR(r.inertia, 4 * (0.1 * 0.1 + 0.2 * 0.2) / 3 * 1.0, 1e-9);
  // k = N: every point its own cluster, inertia 0.
  const KMeansResult all = kmeans(x, 6, 1);
  EXPECT_EQ(to_vector(all.labels), (std::vector<int64_t>{0, 1, 2, 3, 4, 5}));
  EXPECT_NEAR(all.inertia, 0.0, 1e-12);
}

TEST(Spectral, RejectsBadInput) {
  const torch::Tensor x = torch::randn({30, 3});
  SpectralOptions o;
  o.n_clusters = 2;
  std::string msg;
  o.max_points = 20;
  EXPECT_EQ(spectral_status_of([&] { spectral_clustering(x, o); }, &msg), Status::InvalidArgument);
  EXPECT_NE(msg.find("max_points = 20"), std::string::npos) << msg;
  o.max_points = 20000;
  o.n_neighbors = 30;
  EXPECT_EQ(spectral_status_of([&] { spectral_clustering(x, o); }, &msg), Status::InvalidArgument);
  EXPECT_NE(msg.find("n_neighbors = 30"), std::string::npos) << msg;
  o.n_neighbors = 5;
  EXPECT_EQ(spectral_status_of([&] { spectral_clustering(x, o); }, &msg), Status::InvalidArgument);
  EXPECT_NE(msg.find("scale_neighbor = 7"), std::string::npos) << msg;
  o.scale_neighbor = 3;
  o.n_clusters = 31;
  EXPECT_EQ(spectral_status_of([&] { spectral_clustering(x, o); }, &msg), Status::InvalidArgument);
  EXPECT_NE(msg.find("n_clusters = 31"), std::string::npos) << msg;
  o.n_clusters = 2;
  EXPECT_EQ(spectral_status_of([&] { spectral_clustering(x, o); }), Status::Ok);
  torch::Tensor bad = x.clone();
  bad[4][0] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_EQ(spectral_status_of([&] { spectral_clustering(bad, o); }, &msg),
            Status::InvalidArgument);
  EXPECT_NE(msg.find("row 4 contains NaN"), std::string::npos) << msg;
  torch::Tensor asym = torch::rand({5, 5});
  EXPECT_EQ(spectral_status_of([&] { spectral_clustering_affinity(asym, o); }, &msg),
            Status::InvalidArgument);
  EXPECT_NE(msg.find("not symmetric"), std::string::npos) << msg;
  EXPECT_EQ(spectral_status_of([&] {
              spectral_clustering_affinity(-torch::ones({5, 5}), o);
            }),
            Status::InvalidArgument);
  EXPECT_EQ(spectral_status_of([&] { kmeans(x, 0, 1); }), Status::InvalidArgument);
  EXPECT_EQ(spectral_status_of([&] { kmeans(x, 2, 1, 0); }), Status::InvalidArgument);
}

TEST(Spectral, CudaMatchesCpu) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device: CPU results only";
  const nlohmann::json g = golden();  // range-for over golden()["cases"] would dangle
  for (const auto& c : g["cases"]) {
    SCOPED_TRACE(c["name"].get<std::string>());
    const SpectralResult r = spectral_clustering(points_of(c).cuda(), options_of(c));
    EXPECT_TRUE(r.labels.is_cuda());
    EXPECT_DOUBLE_EQ(adjusted_rand(to_vector(r.labels), c["truth"].get<std::vector<int64_t>>()),
                     1.0);
    const auto want = c["eigenvalues"].get<std::vector<double>>();
    for (int64_t i = 0; i < r.eigenvalues.size(0); ++i) {
      EXPECT_NEAR(r.eigenvalues[i].item<double>(), want[static_cast<size_t>(i)], 1e-5);
    }
  }
}

// Latent index files: exact round trips, a distinct error for an index built
// with another model, for a file that is not an index, and for damaged or
// truncated files (an error, never a crash); and query_index's neighbours,
// distances and SSIM.
#include <dirent.h>
#include <gtest/gtest.h>
#include <torch/torch.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/common/error.h"
#include "core/common/model_file.h"
#include "core/merger/merger_images.h"
#include "core/merger/search/index.h"
#include "core/merger/search/knn.h"
#include "core/merger/search/ssim.h"

using gml::Status;
using namespace gml::merger;

namespace {

const std::string kModel = "fnv1a64:0123456789abcdef";

// A scratch directory, removed with its files at scope exit. POSIX calls, not
// std::filesystem: LibTorch 2.x exports its own copies of some
// std::filesystem symbols (pytorch/pytorch#133437), and in this build its
// remove_all crashes.
class ScratchDir {
 public:
  ScratchDir() {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/gml_search_index_XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~ScratchDir() {
    if (DIR* d = ::opendir(path_.c_str())) {
      while (const dirent* e = ::readdir(d)) {
        const std::string name = e->d_name;
        if (name != "." && name != "..") ::unlink((path_ + "/" + name).c_str());
      }
      ::closedir(d);
    }
    ::rmdir(path_.c_str());
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

LatentIndex sample_index(int64_t n = 40) {
  torch::manual_seed(11);
  LatentIndex ix;
  ix.model_checksum = kModel;
  ix.backbone = "resnet50";
  ix.latents = torch::randn({n, 16});
  ix.ids = torch::arange(1000, 1000 + n, torch::kLong);
  ix.sim_id = torch::arange(n, torch::kInt).remainder(7);
  ix.time_class = torch::arange(n, torch::kInt).remainder(5) - 1;  // includes -1
  ix.thumbnails = torch::rand({n, 1, 16, 16});
  ix.data_range = 1.0;
  ix.sources = {"sims/run_a.h5", "", "données/ü.fits"};
  return ix;
}

Status status_of(const std::function<void()>& f, std::string* message = nullptr) {
  try {
    f();
  } catch (const gml::Error& e) {
    if (message) *message = e.what();
    return e.status();
  }
  return Status::Ok;
}

std::vector<char> read_bytes(const std::string& p) {
  std::ifstream in(p, std::ios::binary);
  return std::vector<char>(std::istreambuf_iterator<char>(in), {});
}

void write_bytes(const std::string& p, const std::vector<char>& bytes, size_t n) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(n));
}

}  // namespace

TEST(LatentIndexFile, RoundTripIsExact) {
  const ScratchDir dir;
  const LatentIndex ix = sample_index();
  write_latent_index(dir / "index.h5", ix, R"({"command":"test"})");
  const LatentIndex back = read_latent_index(dir / "index.h5", kModel);
  EXPECT_EQ(back.model_checksum, kModel);
  EXPECT_EQ(back.backbone, "resnet50");
  EXPECT_TRUE(torch::equal(back.latents, ix.latents));
  EXPECT_TRUE(torch::equal(back.ids, ix.ids));
  EXPECT_TRUE(torch::equal(back.sim_id, ix.sim_id));
  EXPECT_TRUE(torch::equal(back.time_class, ix.time_class));
  EXPECT_TRUE(torch::equal(back.thumbnails, ix.thumbnails));
  EXPECT_EQ(back.latents.scalar_type(), torch::kFloat);
  EXPECT_EQ(back.sim_id.scalar_type(), torch::kInt);
  EXPECT_EQ(back.data_range, 1.0);
  EXPECT_EQ(back.sources, ix.sources);
  // An empty expected checksum accepts the index of any model.
  EXPECT_EQ(read_latent_index(dir / "index.h5", "").model_checksum, kModel);
  // Plain model-file readers see the documented layout.
  const gml::ModelFile raw = gml::read_model_file(dir / "index.h5");
  EXPECT_EQ(raw.family, "merger_index");
  EXPECT_NE(raw.config.find("\"latent_dim\":16"), std::string::npos) << raw.config;
  EXPECT_EQ(raw.extra.count("latents"), 1u);
}

TEST(LatentIndexFile, UnknownLabelsAndNoThumbnails) {
  const ScratchDir dir;
  LatentIndex ix = sample_index(12);
  ix.sim_id = torch::Tensor();
  ix.time_class = torch::Tensor();
  ix.thumbnails = torch::Tensor();
  ix.sources.clear();
  ix.latents = ix.latents.to(torch::kDouble);  // stored as float32
  write_latent_index(dir / "i.h5", ix);
  const LatentIndex back = read_latent_index(dir / "i.h5", kModel);
  EXPECT_TRUE(torch::equal(back.sim_id, torch::full({12}, -1, torch::kInt)));
  EXPECT_TRUE(torch::equal(back.time_class, torch::full({12}, -1, torch::kInt)));
  EXPECT_FALSE(back.thumbnails.defined());
  EXPECT_TRUE(back.sources.empty());
  EXPECT_EQ(back.latents.scalar_type(), torch::kFloat);
  // Without images SSIM is NaN; images need thumbnails.
  const auto nb = query_index(back, back.latents.slice(0, 0, 2), torch::Tensor(), 3);
  ASSERT_EQ(nb.size(), 6u);
  EXPECT_TRUE(std::isnan(nb[0].ssim));
  EXPECT_EQ(nb[0].sim_id, -1);
  std::string msg;
  EXPECT_EQ(status_of(
                [&] {
                  query_index(back, back.latents.slice(0, 0, 2), torch::rand({2, 1, 16, 16}), 3);
                },
                &msg),
            Status::InvalidArgument);
  EXPECT_NE(msg.find("no thumbnails"), std::string::npos) << msg;
}

TEST(LatentIndexFile, WrongModelIsADistinctClearError) {
  const ScratchDir dir;
  write_latent_index(dir / "i.h5", sample_index());
  const std::string other = "fnv1a64:fedcba9876543210";
  std::string msg;
  EXPECT_EQ(status_of([&] { read_latent_index(dir / "i.h5", other); }, &msg),
            Status::InvalidArgument);
  EXPECT_NE(msg.find("built with a different model"), std::string::npos) << msg;
  EXPECT_NE(msg.find(kModel), std::string::npos) << msg;
  EXPECT_NE(msg.find(other), std::string::npos) << msg;
}

TEST(LatentIndexFile, AModelFileIsNotAnIndex) {
  const ScratchDir dir;
  gml::ModelFile m;
  m.family = "merger";
  m.tensors["head.weight"] = torch::randn({3, 4});
  gml::write_model_file(dir / "model.h5", m);
  std::string msg;
  EXPECT_EQ(status_of([&] { read_latent_index(dir / "model.h5", kModel); }, &msg), Status::Family);
  EXPECT_NE(msg.find("merger_index"), std::string::npos) << msg;
  // A merger_index file with its arrays missing is a format error.
  gml::ModelFile bare;
  bare.family = "merger_index";
  bare.config = R"({"index_version":1,"model_checksum":"x","backbone":"b","count":2,)"
                R"("latent_dim":3,"thumbnail_shape":[],"data_range":1.0})";
  gml::write_model_file(dir / "bare.h5", bare);
  EXPECT_EQ(status_of([&] { read_latent_index(dir / "bare.h5", ""); }, &msg), Status::Format);
  EXPECT_NE(msg.find("/extra/latents is missing"), std::string::npos) << msg;
  bare.config = "{not json";
  gml::write_model_file(dir / "bad.h5", bare);
  EXPECT_EQ(status_of([&] { read_latent_index(dir / "bad.h5", ""); }), Status::Format);
}

TEST(LatentIndexFile, TruncatedOrDamagedFilesAreErrorsNotCrashes) {
  const ScratchDir dir;
  write_latent_index(dir / "i.h5", sample_index());
  const std::vector<char> bytes = read_bytes(dir / "i.h5");
  ASSERT_GT(bytes.size(), 4096u);
  for (size_t n : {size_t{0}, size_t{7}, size_t{512}, bytes.size() / 3, bytes.size() / 2,
                   bytes.size() - 100, bytes.size() - 1}) {
    SCOPED_TRACE("truncated to " + std::to_string(n) + " bytes");
    write_bytes(dir / "t.h5", bytes, n);
    const Status s = status_of([&] { read_latent_index(dir / "t.h5", kModel); });
    EXPECT_NE(s, Status::Ok);
  }
  // A flipped byte in the middle (array data): checksum or format error.
  std::vector<char> damaged = bytes;
  damaged[damaged.size() / 2] ^= 0x5a;
  write_bytes(dir / "d.h5", damaged, damaged.size());
  EXPECT_NE(status_of([&] { read_latent_index(dir / "d.h5", kModel); }), Status::Ok);
  EXPECT_EQ(status_of([&] { read_latent_index(dir / "missing.h5", kModel); }), Status::Io);
}

TEST(LatentIndexFile, RejectsInconsistentIndexOnWrite) {
  const ScratchDir dir;
  const std::string path = dir / "i.h5";
  std::string msg;
  LatentIndex ix = sample_index();
  ix.ids = ix.ids.slice(0, 0, 5);
  EXPECT_EQ(status_of([&] { write_latent_index(path, ix); }, &msg), Status::InvalidArgument);
  EXPECT_NE(msg.find("ids must be (40)"), std::string::npos) << msg;
  ix = sample_index();
  ix.model_checksum.clear();
  EXPECT_EQ(status_of([&] { write_latent_index(path, ix); }), Status::InvalidArgument);
  ix = sample_index();
  ix.latents[3][2] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_EQ(status_of([&] { write_latent_index(path, ix); }, &msg), Status::InvalidArgument);
  EXPECT_NE(msg.find("row 3 contains NaN"), std::string::npos) << msg;
  ix = sample_index();
  ix.thumbnails = torch::rand({39, 1, 16, 16});
  EXPECT_EQ(status_of([&] { write_latent_index(path, ix); }), Status::InvalidArgument);
  ix = sample_index();
  ix.sources.push_back(std::string("a\0b", 3));
  EXPECT_EQ(status_of([&] { write_latent_index(path, ix); }), Status::InvalidArgument);
  EXPECT_NE(::access(path.c_str(), F_OK), 0);  // nothing written
}

TEST(QueryIndex, NeighboursDistancesAndSsim) {
  const LatentIndex ix = sample_index();
  // Queries: rows 5 and 17 of the index, slightly moved, with their own
  // thumbnails as images.
  const torch::Tensor rows = torch::tensor({5, 17}, torch::kLong);
  const torch::Tensor q = ix.latents.index_select(0, rows) + 1e-3;
  const torch::Tensor images = ix.thumbnails.index_select(0, rows);
  const auto nb = query_index(ix, q, images, 4);
  ASSERT_EQ(nb.size(), 8u);
  const KnnResult want = knn_search(q, ix.latents, 4);
  for (size_t i = 0; i < nb.size(); ++i) {
    const int64_t qi = static_cast<int64_t>(i) / 4, r = static_cast<int64_t>(i) % 4;
    EXPECT_EQ(nb[i].query, qi);
    EXPECT_EQ(nb[i].rank, r);
    EXPECT_EQ(nb[i].row, want.indices[qi][r].item<int64_t>());
    EXPECT_FLOAT_EQ(nb[i].distance, want.distances[qi][r].item<float>());
    EXPECT_EQ(nb[i].id, 1000 + nb[i].row);
    EXPECT_EQ(nb[i].sim_id, nb[i].row % 7);
    EXPECT_EQ(nb[i].time_class, nb[i].row % 5 - 1);
    const double s =
        ssim(images.slice(0, qi, qi + 1), ix.thumbnails.slice(0, nb[i].row, nb[i].row + 1), 1.0)
            .item<double>();
    EXPECT_NEAR(nb[i].ssim, s, 1e-12);
  }
  EXPECT_EQ(nb[0].row, 5);
  EXPECT_NEAR(nb[0].ssim, 1.0, 1e-6);
  EXPECT_EQ(nb[4].row, 17);
  EXPECT_LT(nb[1].ssim, 0.5);  // unrelated random thumbnails
}

TEST(QueryIndex, LargerQueryImagesAreAreaResized) {
  const LatentIndex ix = sample_index();
  // Each thumbnail pixel repeated 3 x 3: area interpolation recovers it exactly.
  const torch::Tensor big =
      ix.thumbnails.slice(0, 9, 10).repeat_interleave(3, 2).repeat_interleave(3, 3);
  ASSERT_EQ(big.size(2), 48);
  const auto nb = query_index(ix, ix.latents.slice(0, 9, 10), big, 2);
  EXPECT_EQ(nb[0].row, 9);
  EXPECT_NEAR(nb[0].ssim, 1.0, 1e-6);
}

TEST(QueryIndex, RejectsBadQueries) {
  const LatentIndex ix = sample_index();
  std::string msg;
  EXPECT_EQ(status_of(
                [&] {
                  query_index(ix, torch::randn({2, 8}), torch::Tensor(), 3);
                },
                &msg),
            Status::InvalidArgument);
  EXPECT_NE(msg.find("(Q, 16)"), std::string::npos) << msg;
  EXPECT_EQ(status_of(
                [&] {
                  query_index(ix, torch::randn({2, 16}), torch::rand({3, 1, 16, 16}), 3);
                },
                &msg),
            Status::InvalidArgument);
  EXPECT_EQ(status_of([&] {
              query_index(ix, torch::randn({2, 16}), torch::rand({2, 3, 16, 16}), 3);
            }),
            Status::InvalidArgument);
  EXPECT_EQ(status_of([&] {
              query_index(ix, torch::randn({2, 16}), torch::Tensor(), 41);
            }),
            Status::InvalidArgument);
}

TEST(NnDistanceScale, IsTheQuantileOfNearestOtherDistances) {
  // Points 0, 1, 3, 7 on a line: nearest other entries at 1, 1, 2, 4; the
  // 95th percentile by linear interpolation is 2 + 0.85 * (4 - 2).
  const torch::Tensor x = torch::tensor({0.f, 1.f, 3.f, 7.f}).view({4, 1}) * torch::ones({1, 3});
  EXPECT_NEAR(nn_distance_scale(x), 3.7 * std::sqrt(3.0), 1e-5);
  EXPECT_TRUE(std::isnan(nn_distance_scale(torch::zeros({1, 3}))));
  EXPECT_EQ(nn_distance_scale(torch::zeros({5, 2})), 0.0);  // all alike
}

TEST(NnDistanceScale, StoredOnWriteAndFlagsQueriesFarFromEveryEntry) {
  const ScratchDir dir;
  const LatentIndex ix = sample_index();
  EXPECT_TRUE(std::isnan(ix.nn_distance_scale));
  write_latent_index(dir / "index.h5", ix);
  const LatentIndex back = read_latent_index(dir / "index.h5", kModel);
  const double scale = nn_distance_scale(ix.latents);
  EXPECT_GT(scale, 0);
  EXPECT_NEAR(back.nn_distance_scale, scale, 1e-6 * scale);
  EXPECT_NE(gml::read_model_file(dir / "index.h5").config.find("\"index_version\":2"),
            std::string::npos);

  // Query 0 sits on an entry; query 1 is far from all of them (randn
  // latents lie within a few units of the origin).
  const torch::Tensor far_dir = torch::zeros({16});
  far_dir[0] = 1;
  const torch::Tensor q = torch::stack({ix.latents[3], far_dir * 100.0});
  const auto probe = query_index(back, q, torch::Tensor(), 1);
  const double d1 = probe[1].distance;
  ASSERT_GT(d1, 2 * scale);
  EXPECT_EQ(probe[0].flags, 0);
  EXPECT_EQ(probe[1].flags, kImageOutOfDistribution);
  // Query 1 moved towards its nearest entry to 1.9 times the scale: inside.
  const torch::Tensor nearest = back.latents[probe[1].row];
  const torch::Tensor inside = nearest + (q[1] - nearest) * (1.9 * scale / d1);
  const auto nb = query_index(back, torch::stack({inside, q[1]}), torch::Tensor(), 3);
  EXPECT_EQ(nb[0].flags, 0);
  EXPECT_EQ(nb[3].flags, kImageOutOfDistribution);
  for (const auto& n : nb) {
    if (n.rank > 0) {
      EXPECT_EQ(n.flags, 0) << "only the nearest neighbour carries the flag";
    }
  }
  // An in-memory index without a scale flags nothing.
  EXPECT_EQ(query_index(ix, q, torch::Tensor(), 1)[1].flags, 0);
}

TEST(NnDistanceScale, VersionOneFilesGetTheScaleOnReadAndBadScalesAreFormatErrors) {
  const ScratchDir dir;
  const LatentIndex ix = sample_index(12);
  write_latent_index(dir / "index.h5", ix);
  gml::ModelFile m = gml::read_model_file(dir / "index.h5");
  auto config = nlohmann::json::parse(m.config);
  config["index_version"] = 1;
  config.erase("nn_distance_scale");
  m.config = config.dump();
  gml::write_model_file(dir / "v1.h5", m);
  EXPECT_NEAR(read_latent_index(dir / "v1.h5", kModel).nn_distance_scale,
              nn_distance_scale(ix.latents), 1e-6);

  for (const nlohmann::json& bad :
       {nlohmann::json(-1.0), nlohmann::json(nullptr), nlohmann::json("wide")}) {
    config = nlohmann::json::parse(gml::read_model_file(dir / "index.h5").config);
    config["nn_distance_scale"] = bad;
    m.config = config.dump();
    gml::write_model_file(dir / "bad.h5", m);
    std::string message;
    EXPECT_EQ(status_of([&] { read_latent_index(dir / "bad.h5", kModel); }, &message),
              Status::Format)
        << bad.dump();
  }
  config = nlohmann::json::parse(gml::read_model_file(dir / "index.h5").config);
  config.erase("nn_distance_scale");
  m.config = config.dump();
  gml::write_model_file(dir / "missing.h5", m);
  EXPECT_EQ(status_of([&] { read_latent_index(dir / "missing.h5", kModel); }), Status::Format);

  // One entry: no scale, stored as null, nothing flagged.
  LatentIndex one = sample_index(1);
  write_latent_index(dir / "one.h5", one);
  const LatentIndex back = read_latent_index(dir / "one.h5", kModel);
  EXPECT_TRUE(std::isnan(back.nn_distance_scale));
  EXPECT_EQ(query_index(back, one.latents + 50, torch::Tensor(), 1)[0].flags, 0);

  LatentIndex negative = sample_index(4);
  negative.nn_distance_scale = -2;
  EXPECT_EQ(status_of([&] { write_latent_index(dir / "neg.h5", negative); }),
            Status::InvalidArgument);
}

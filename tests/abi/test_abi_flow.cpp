// The flow family end to end through libgalaxyml.so: simulate a small star
// table, train a tiny flow, load it, sample, evaluate densities, stream
// samples to HDF5 and FITS, cancel, and resume from a checkpoint.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "../support/prepared_fixture.h"
#include "galaxyml/galaxyml.h"

namespace fs = std::filesystem;

namespace {

constexpr int64_t kGalaxies = 6;
constexpr int64_t kStarsPerGalaxy = 500;
constexpr int64_t kDim = 10;
constexpr int64_t kCondDim = 4;
constexpr const char* kTinyConfig = R"({"num_blocks":2,"hidden_width":16,"hidden_layers":1})";

gml_flow_train_options tiny_options(int64_t steps) {
  gml_flow_train_options o;
  gml_flow_train_options_default(&o);
  o.steps = steps;
  o.batch_size = 256;
  o.eval_every = 10;
  o.seed = 3;
  o.config_json = kTinyConfig;
  return o;
}

std::string checksum_of(const std::string& path) {
  gml_model_info info;
  info.struct_size = sizeof info;
  EXPECT_EQ(gml_model_file_inspect(path.c_str(), "flow", &info), GML_OK) << gml_last_error();
  return info.checksum;
}

class AbiFlow : public gml::test::PreparedFixture<AbiFlow> {
 protected:
  friend class gml::test::PreparedFixture<AbiFlow>;
  static void Prepare() {
    dir_ = new fs::path(fs::temp_directory_path() / ("gml_abi_flow_" + std::to_string(::getpid())));
    fs::create_directories(*dir_);
    gml_context_options co;
    gml_context_options_default(&co);
    co.device = "cpu";
    ASSERT_EQ(gml_context_create(&co, &ctx_), GML_OK) << gml_last_error();
    ASSERT_EQ(gml_flow_simulate(ctx_, kGalaxies, kStarsPerGalaxy, nullptr, 11, stars().c_str()),
              GML_OK)
        << gml_last_error();
    gml_flow_train_options o = tiny_options(30);
    ASSERT_EQ(gml_flow_train(ctx_, stars().c_str(), &o, model_path().c_str()), GML_OK)
        << gml_last_error();
    ASSERT_EQ(gml_model_load(ctx_, model_path().c_str(), "flow", &model_), GML_OK)
        << gml_last_error();
    for (int64_t g = 0; g < kGalaxies; ++g) {
      ASSERT_EQ(gml_flow_read_galaxy(stars().c_str(), g, nullptr, 0, nullptr, nullptr,
                                     cond_ + g * kCondDim, kCondDim),
                GML_OK)
          << gml_last_error();
    }
  }
  static void TearDownTestSuite() {
    gml_model_free(model_);
    gml_context_free(ctx_);
    std::error_code ec;
    if (dir_) fs::remove_all(*dir_, ec);
    delete dir_;
  }
  static std::string stars() { return (*dir_ / "stars.h5").string(); }
  static std::string model_path() { return (*dir_ / "model.h5").string(); }
  static std::string out(const std::string& name) { return (*dir_ / name).string(); }

  std::vector<float> sample(const double* cond, int64_t n_gal, int64_t n, uint64_t seed,
                            double* outside = nullptr) {
    std::vector<float> s(static_cast<size_t>(n_gal * n * kDim));
    EXPECT_EQ(gml_flow_sample(ctx_, model_, cond, n_gal, n, seed, s.data(), s.size(), outside),
              GML_OK)
        << gml_last_error();
    return s;
  }

  static fs::path* dir_;
  static gml_context* ctx_;
  static gml_model* model_;
  static double cond_[kGalaxies * kCondDim];
};

fs::path* AbiFlow::dir_ = nullptr;
gml_context* AbiFlow::ctx_ = nullptr;
gml_model* AbiFlow::model_ = nullptr;
double AbiFlow::cond_[kGalaxies * kCondDim] = {};

}  // namespace

TEST_F(AbiFlow, ModelReportsItsColumnsAndTrainingRange) {
  int64_t d = 0, c = 0;
  ASSERT_EQ(gml_flow_dims(model_, &d, &c), GML_OK);
  EXPECT_EQ(d, kDim);
  EXPECT_EQ(c, kCondDim);
  size_t len = 0;
  ASSERT_EQ(gml_flow_describe(model_, nullptr, 0, &len), GML_OK);
  std::string text(len, '\0');
  ASSERT_EQ(gml_flow_describe(model_, text.data(), text.size(), &len), GML_OK);
  EXPECT_NE(text.find("\"condition_min\""), std::string::npos) << text;
  EXPECT_NE(text.find("\"age\""), std::string::npos) << text;
  EXPECT_NE(text.find(checksum_of(model_path())), std::string::npos) << text;
}

TEST_F(AbiFlow, SamplingWithAFixedSeedIsReproducible) {
  std::vector<float> a = sample(cond_, 2, 300, 42);
  std::vector<float> b = sample(cond_, 2, 300, 42);
  std::vector<float> other = sample(cond_, 2, 300, 43);
  ASSERT_EQ(a.size(), b.size());
  EXPECT_EQ(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)), 0);
  EXPECT_NE(std::memcmp(a.data(), other.data(), a.size() * sizeof(float)), 0);
  for (float v : a) ASSERT_TRUE(std::isfinite(v));
  // Metallicity is modelled in log10, so every sample lies in its support.
  for (size_t i = 0; i < a.size(); i += kDim) ASSERT_GT(a[i + 6], 0.0f);
}

TEST_F(AbiFlow, LogProbIsFiniteAndPerStarConditionsMatchOneGalaxy) {
  const int64_t n = 200;
  std::vector<float> s = sample(cond_, 1, n, 7);
  std::vector<double> one(n), per_star(n);
  ASSERT_EQ(gml_flow_log_prob(ctx_, model_, s.data(), n, cond_, 1, one.data()), GML_OK)
      << gml_last_error();
  std::vector<double> conds;
  for (int64_t i = 0; i < n; ++i) conds.insert(conds.end(), cond_, cond_ + kCondDim);
  ASSERT_EQ(gml_flow_log_prob(ctx_, model_, s.data(), n, conds.data(), n, per_star.data()), GML_OK);
  for (int64_t i = 0; i < n; ++i) {
    ASSERT_TRUE(std::isfinite(one[i])) << i;
    // Float32 model: one shared condition is folded into the last layer,
    // per-row conditions are multiplied in, so the two agree to rounding.
    EXPECT_NEAR(one[i], per_star[i], 1e-5 * (1 + std::abs(one[i]))) << i;
  }
  // A star with non-positive metallicity is outside the support of log10 Z.
  s[6] = 0.0f;
  ASSERT_EQ(gml_flow_log_prob(ctx_, model_, s.data(), 1, cond_, 1, one.data()), GML_OK);
  EXPECT_TRUE(std::isinf(one[0]) && one[0] < 0) << one[0];
}

TEST_F(AbiFlow, SamplesStreamedToHdf5AndFitsRoundTripThroughReadGalaxy) {
  const int64_t n = 150;
  std::vector<float> expect = sample(cond_, 2, n, 99);
  for (const char* name : {"sample.h5", "sample.fits"}) {
    SCOPED_TRACE(name);
    const std::string p = out(name);
    ASSERT_EQ(gml_flow_sample_to_file(ctx_, model_, cond_, 2, n, 99, p.c_str()), GML_OK)
        << gml_last_error();
    for (int64_t g = 0; g < 2; ++g) {
      int64_t rows = 0, d = 0;
      double c[kCondDim];
      ASSERT_EQ(gml_flow_read_galaxy(p.c_str(), g, nullptr, 0, &rows, &d, nullptr, 0), GML_OK)
          << gml_last_error();
      ASSERT_EQ(rows, n);
      ASSERT_EQ(d, kDim);
      std::vector<float> got(static_cast<size_t>(rows * d));
      ASSERT_EQ(gml_flow_read_galaxy(p.c_str(), g, got.data(), got.size(), &rows, &d, c, kCondDim),
                GML_OK);
      // The streamed file draws the same latent noise in the same order.
      EXPECT_EQ(std::memcmp(got.data(), expect.data() + g * n * kDim, got.size() * sizeof(float)),
                0);
      for (int64_t j = 0; j < kCondDim; ++j) EXPECT_DOUBLE_EQ(c[j], cond_[g * kCondDim + j]);
    }
  }
}

TEST_F(AbiFlow, ConditionsOutsideTheTrainingRangeAreFlagged) {
  double cond[2 * kCondDim];
  std::memcpy(cond, cond_, sizeof(double) * kCondDim);
  std::memcpy(cond + kCondDim, cond_, sizeof(double) * kCondDim);
  cond[kCondDim] += 3.0;  // a galaxy 1000 times heavier than any in training
  double outside[2] = {-1, -1};
  std::vector<float> s = sample(cond, 2, 20, 5, outside);
  EXPECT_EQ(outside[0], 0.0);
  EXPECT_GT(outside[1], 0.0);
  for (float v : s) ASSERT_TRUE(std::isfinite(v));
}

TEST_F(AbiFlow, CancelStopsLongCallsAndLeavesNoOutput) {
  const std::string m = out("cancelled.h5");
  gml_flow_train_options o = tiny_options(30);
  ASSERT_EQ(gml_cancel(ctx_), GML_OK);
  EXPECT_EQ(gml_flow_train(ctx_, stars().c_str(), &o, m.c_str()), GML_ERR_CANCELLED)
      << gml_last_error();
  EXPECT_FALSE(fs::exists(m));

  // The flag stays raised: every later call stops too.
  std::vector<float> buf(100 * kDim, -5.0f);
  EXPECT_EQ(gml_flow_sample(ctx_, model_, cond_, 1, 100, 1, buf.data(), buf.size(), nullptr),
            GML_ERR_CANCELLED);
  for (float v : buf) ASSERT_EQ(v, -5.0f);

  const std::string f = out("cancelled.fits");
  EXPECT_EQ(gml_flow_sample_to_file(ctx_, model_, cond_, 1, 100, 1, f.c_str()), GML_ERR_CANCELLED);
  EXPECT_FALSE(fs::exists(f));
  // Reset, the next call runs.
  ASSERT_EQ(gml_cancel_reset(ctx_), GML_OK);
  sample(cond_, 1, 10, 1);
}

// A callback that stops at the last report (done == total) came after the
// file was committed, so the call returned GML_ERR_CANCELLED with the file on
// disk. The status and the file must agree.
TEST_F(AbiFlow, CancelAtTheLastReportLeavesNoFile) {
  auto stop_at_end = [](const gml_progress* p, void*) -> int32_t {
    return p->total > 0 && p->done >= p->total ? 1 : 0;
  };
  ASSERT_EQ(gml_context_set_progress(ctx_, stop_at_end, nullptr), GML_OK);
  const std::string f = out("cancel_at_end.h5");
  EXPECT_EQ(gml_flow_sample_to_file(ctx_, model_, cond_, 1, 50, 1, f.c_str()), GML_ERR_CANCELLED);
  EXPECT_FALSE(fs::exists(f));
  const std::string g = out("cancel_at_end_sim.fits");
  EXPECT_EQ(gml_flow_simulate(ctx_, 1, 50, nullptr, 1, g.c_str()), GML_ERR_CANCELLED);
  EXPECT_FALSE(fs::exists(g));
  ASSERT_EQ(gml_context_set_progress(ctx_, nullptr, nullptr), GML_OK);
  ASSERT_EQ(gml_flow_sample_to_file(ctx_, model_, cond_, 1, 50, 1, f.c_str()), GML_OK)
      << gml_last_error();
  EXPECT_TRUE(fs::exists(f));
  fs::remove(f);
}

namespace {
// Cancels training once it has reported a few steps: where exactly depends
// on timing, which is the point — the resumed result must not.
int32_t cancel_after_steps(const gml_progress* p, void* user) {
  if (std::strcmp(p->stage, "train") == 0 && p->done >= 4) {
    ++*static_cast<int*>(user);
    return 1;
  }
  return 0;
}
}  // namespace

TEST_F(AbiFlow, ResumingFromACheckpointReproducesAnUninterruptedRun) {
  const int64_t steps = 24;
  const std::string straight = out("straight.h5"), resumed = out("resumed.h5");
  const std::string ck = out("checkpoint.h5");
  gml_flow_train_options o = tiny_options(steps);
  ASSERT_EQ(gml_flow_train(ctx_, stars().c_str(), &o, straight.c_str()), GML_OK)
      << gml_last_error();

  // First part: checkpoint every 4 steps, cancelled by the progress callback.
  o.checkpoint_path = ck.c_str();
  o.checkpoint_every = 4;
  int cancels = 0;
  ASSERT_EQ(gml_context_set_progress(ctx_, cancel_after_steps, &cancels), GML_OK);
  EXPECT_EQ(gml_flow_train(ctx_, stars().c_str(), &o, resumed.c_str()), GML_ERR_CANCELLED)
      << gml_last_error();
  ASSERT_EQ(gml_context_set_progress(ctx_, nullptr, nullptr), GML_OK);
  EXPECT_EQ(cancels, 1);
  EXPECT_FALSE(fs::exists(resumed));
  ASSERT_TRUE(fs::exists(ck));

  o.resume = 1;
  ASSERT_EQ(gml_flow_train(ctx_, stars().c_str(), &o, resumed.c_str()), GML_OK) << gml_last_error();
  EXPECT_EQ(checksum_of(resumed), checksum_of(straight));
  // A different seed trains a different model: the checksum is not trivially equal.
  gml_flow_train_options other = tiny_options(steps);
  other.seed = 4;
  const std::string different = out("different.h5");
  ASSERT_EQ(gml_flow_train(ctx_, stars().c_str(), &other, different.c_str()), GML_OK);
  EXPECT_NE(checksum_of(different), checksum_of(straight));
}

TEST_F(AbiFlow, TrainsOnTheFourRealSimulatedGalaxiesTogether) {
  // data/stars holds one galaxy each from EAGLE, Horizon-AGN, IllustrisTNG
  // and Magneticum; the directory is read as four galaxies with the columns
  // the snapshots provide (x, y, z, vx, vy, vz, Z, age, mass).
  const std::string dir = std::string(GML_TEST_DATA) + "/stars";
  const std::string m = out("real.h5");
  gml_flow_train_options o = tiny_options(6);
  ASSERT_EQ(gml_flow_train(ctx_, dir.c_str(), &o, m.c_str()), GML_OK) << gml_last_error();
  gml_model* real = nullptr;
  ASSERT_EQ(gml_model_load(ctx_, m.c_str(), "flow", &real), GML_OK) << gml_last_error();
  int64_t d = 0, c = 0;
  ASSERT_EQ(gml_flow_dims(real, &d, &c), GML_OK);
  EXPECT_EQ(d, 9);
  EXPECT_EQ(c, 4);
  size_t len = 0;
  ASSERT_EQ(gml_flow_describe(real, nullptr, 0, &len), GML_OK);
  std::string text(len, '\0');
  ASSERT_EQ(gml_flow_describe(real, text.data(), text.size(), &len), GML_OK);
  EXPECT_NE(text.find("\"mass\""), std::string::npos) << text;
  // Stars of the first galaxy (EAGLE, files in name order) through the model.
  const std::string eagle = dir + "/SimSpin_example_EAGLE.hdf5";
  int64_t n = 0;
  double cond[4];
  ASSERT_EQ(gml_flow_read_galaxy(eagle.c_str(), 0, nullptr, 0, &n, &d, cond, 4), GML_OK)
      << gml_last_error();
  EXPECT_NEAR(cond[0], 10.0, 2.0);  // log10 M* of a galaxy
  std::vector<float> stars(static_cast<size_t>(n * d));
  ASSERT_EQ(gml_flow_read_galaxy(eagle.c_str(), 0, stars.data(), stars.size(), &n, &d, cond, 4),
            GML_OK);
  std::vector<double> lp(static_cast<size_t>(n));
  ASSERT_EQ(gml_flow_log_prob(ctx_, real, stars.data(), n, cond, 1, lp.data()), GML_OK)
      << gml_last_error();
  for (double v : lp) ASSERT_TRUE(std::isfinite(v));
  std::vector<float> s(100 * static_cast<size_t>(d));
  ASSERT_EQ(gml_flow_sample(ctx_, real, cond, 1, 100, 1, s.data(), s.size(), nullptr), GML_OK);
  for (float v : s) ASSERT_TRUE(std::isfinite(v));
  gml_model_free(real);
}

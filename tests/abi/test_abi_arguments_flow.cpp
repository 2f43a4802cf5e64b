// Flow-family and model entry points called with NULL or invalid arguments:
// each returns the documented error status with a message, leaves its
// outputs untouched, writes no file and never crashes.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include <unistd.h>

#include "../support/prepared_fixture.h"
#include "galaxyml/galaxyml.h"

namespace fs = std::filesystem;

namespace {

// Each name below has a case in the tests of this file.
const char* const kCoveredFlow[] = {
    "gml_model_load",          "gml_model_free",    "gml_model_family",
    "gml_flow_dims",           "gml_flow_describe", "gml_flow_sample",
    "gml_flow_sample_to_file", "gml_flow_log_prob", "gml_flow_train_options_default",
    "gml_flow_train",          "gml_flow_simulate", "gml_flow_read_galaxy",
    "gml_flow_evaluate",
};

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr float kSentinel = -12345.0f;

void expect_status(gml_status got, gml_status want, const char* what) {
  EXPECT_EQ(got, want) << what << ": " << gml_status_name(got) << " " << gml_last_error();
  if (want != GML_OK) {
    EXPECT_STRNE(gml_last_error(), "") << what;
  }
}

void flow_expect_invalid(gml_status s, const char* what) {
  expect_status(s, GML_ERR_INVALID_ARGUMENT, what);
}

bool error_mentions(const char* text) {
  return std::strstr(gml_last_error(), text) != nullptr;
}

// A tiny trained flow shared by the cases that need a valid model: three
// synthetic galaxies and two optimiser steps are enough for argument checks.
class AbiArgumentsFlow : public gml::test::PreparedFixture<AbiArgumentsFlow> {
 protected:
  friend class gml::test::PreparedFixture<AbiArgumentsFlow>;
  static void Prepare() {
    dir_ = new fs::path(fs::temp_directory_path() /
                        ("gml_abi_args_flow_" + std::to_string(::getpid())));
    fs::create_directories(*dir_);
    gml_context_options co;
    gml_context_options_default(&co);
    co.device = "cpu";
    ASSERT_EQ(gml_context_create(&co, &ctx_), GML_OK) << gml_last_error();
    ASSERT_EQ(gml_flow_simulate(ctx_, 3, 200, nullptr, 5, stars().c_str()), GML_OK)
        << gml_last_error();
    gml_flow_train_options o;
    gml_flow_train_options_default(&o);
    o.steps = 2;
    o.batch_size = 64;
    o.eval_every = 1;
    o.config_json = R"({"num_blocks":1,"hidden_width":8,"hidden_layers":1})";
    ASSERT_EQ(gml_flow_train(ctx_, stars().c_str(), &o, model_path().c_str()), GML_OK)
        << gml_last_error();
    ASSERT_EQ(gml_model_load(ctx_, model_path().c_str(), "flow", &model_), GML_OK)
        << gml_last_error();
    ASSERT_EQ(gml_flow_read_galaxy(stars().c_str(), 0, nullptr, 0, nullptr, nullptr, cond_, 4),
              GML_OK)
        << gml_last_error();
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
  static std::string out(const char* name) { return (*dir_ / name).string(); }

  static fs::path* dir_;
  static gml_context* ctx_;
  static gml_model* model_;
  static double cond_[4];
};

fs::path* AbiArgumentsFlow::dir_ = nullptr;
gml_context* AbiArgumentsFlow::ctx_ = nullptr;
gml_model* AbiArgumentsFlow::model_ = nullptr;
double AbiArgumentsFlow::cond_[4] = {0, 0, 0, 0};

}  // namespace

TEST_F(AbiArgumentsFlow, CoverageTableNamesEveryFlowEntryPoint) {
  EXPECT_EQ(sizeof kCoveredFlow / sizeof kCoveredFlow[0], 13u);
}

TEST_F(AbiArgumentsFlow, ModelHandleFunctionsRejectNullAndOtherFamilies) {
  gml_model_free(nullptr);
  gml_model* m = reinterpret_cast<gml_model*>(&cond_);  // must stay untouched
  gml_model* const before = m;
  flow_expect_invalid(gml_model_load(nullptr, model_path().c_str(), nullptr, &m), "load ctx NULL");
  flow_expect_invalid(gml_model_load(ctx_, nullptr, nullptr, &m), "load path NULL");
  flow_expect_invalid(gml_model_load(ctx_, model_path().c_str(), nullptr, nullptr),
                      "load out NULL");
  expect_status(gml_model_load(ctx_, model_path().c_str(), "posterior", &m), GML_ERR_FAMILY,
                "load flow model as posterior");
  // The fixture is a model file of family "flow" without a flow's tensors:
  // asking for another family fails on the family before anything else.
  const std::string fixture = std::string(GML_FIXTURES) + "/valid_flow.h5";
  expect_status(gml_model_load(ctx_, fixture.c_str(), "merger", &m), GML_ERR_FAMILY,
                "load fixture as merger");
  expect_status(gml_model_load(ctx_, out("missing.h5").c_str(), nullptr, &m), GML_ERR_IO,
                "load missing file");
  EXPECT_EQ(m, before);

  char buf[16];
  size_t len = 0;
  flow_expect_invalid(gml_model_family(nullptr, buf, sizeof buf, &len), "family model NULL");
  flow_expect_invalid(gml_model_family(model_, buf, sizeof buf, nullptr), "family length NULL");
  flow_expect_invalid(gml_model_family(model_, nullptr, 4, &len), "family buf NULL cap>0");
  std::memset(buf, 'x', sizeof buf);
  expect_status(gml_model_family(model_, buf, 2, &len), GML_ERR_CAPACITY, "family capacity 2");
  EXPECT_EQ(buf[0], 'x');
  EXPECT_EQ(len, 5u);
  ASSERT_EQ(gml_model_family(model_, buf, sizeof buf, &len), GML_OK);
  EXPECT_STREQ(buf, "flow");

  int64_t d = -1, c = -1;
  flow_expect_invalid(gml_flow_dims(nullptr, &d, &c), "dims model NULL");
  EXPECT_EQ(d, -1);
  ASSERT_EQ(gml_flow_dims(model_, nullptr, nullptr), GML_OK);
  ASSERT_EQ(gml_flow_dims(model_, &d, &c), GML_OK);
  EXPECT_EQ(d, 10);
  EXPECT_EQ(c, 4);

  flow_expect_invalid(gml_flow_describe(nullptr, buf, sizeof buf, &len), "describe model NULL");
  flow_expect_invalid(gml_flow_describe(model_, buf, sizeof buf, nullptr), "describe length NULL");
  std::memset(buf, 'x', sizeof buf);
  expect_status(gml_flow_describe(model_, buf, sizeof buf, &len), GML_ERR_CAPACITY,
                "describe too small");
  EXPECT_EQ(buf[0], 'x');
  EXPECT_GT(len, sizeof buf);
}

TEST_F(AbiArgumentsFlow, SampleRejectsBadArgumentsAndLeavesOutputsUntouched) {
  std::vector<float> rows(100, kSentinel);
  double outside[2] = {-7, -7};
  const size_t cap = rows.size();
  flow_expect_invalid(gml_flow_sample(nullptr, model_, cond_, 1, 10, 1, rows.data(), cap, outside),
                      "ctx NULL");
  flow_expect_invalid(gml_flow_sample(ctx_, nullptr, cond_, 1, 10, 1, rows.data(), cap, outside),
                      "model NULL");
  flow_expect_invalid(gml_flow_sample(ctx_, model_, nullptr, 1, 10, 1, rows.data(), cap, outside),
                      "conditions NULL");
  flow_expect_invalid(gml_flow_sample(ctx_, model_, cond_, 0, 10, 1, rows.data(), cap, outside),
                      "n_galaxies 0");
  flow_expect_invalid(gml_flow_sample(ctx_, model_, cond_, 1, -1, 1, rows.data(), cap, outside),
                      "n_per_galaxy < 0");
  flow_expect_invalid(gml_flow_sample(ctx_, model_, cond_, 1, 10, 1, nullptr, 0, outside),
                      "stars NULL");
  flow_expect_invalid(
      gml_flow_sample(ctx_, model_, cond_, 2, INT64_MAX / 4, 1, rows.data(), cap, outside),
      "overflowing size");
  expect_status(gml_flow_sample(ctx_, model_, cond_, 1, 11, 1, rows.data(), cap, outside),
                GML_ERR_CAPACITY, "11 stars x 10 columns in 100 floats");
  double bad[8] = {cond_[0], cond_[1], cond_[2], cond_[3], cond_[0], kNaN, cond_[2], cond_[3]};
  flow_expect_invalid(gml_flow_sample(ctx_, model_, bad, 2, 5, 1, rows.data(), cap, outside),
                      "NaN condition");
  EXPECT_TRUE(error_mentions("row 1")) << gml_last_error();
  for (float v : rows) ASSERT_EQ(v, kSentinel);
  EXPECT_EQ(outside[0], -7);
  EXPECT_EQ(outside[1], -7);

  // Zero stars per galaxy is a valid request: no stars, but the range check.
  ASSERT_EQ(gml_flow_sample(ctx_, model_, cond_, 1, 0, 1, nullptr, 0, outside), GML_OK)
      << gml_last_error();
  EXPECT_EQ(outside[0], 0.0);
}

TEST_F(AbiArgumentsFlow, FreedModelIsRefused) {
  gml_model* m = nullptr;
  ASSERT_EQ(gml_model_load(ctx_, model_path().c_str(), "flow", &m), GML_OK) << gml_last_error();
  gml_model_free(m);
  gml_model_free(m);  // a double free is ignored
  char family[16];
  size_t len = 0;
  flow_expect_invalid(gml_model_family(m, family, sizeof family, &len), "family of a freed model");
  EXPECT_TRUE(error_mentions("not a live gml_model")) << gml_last_error();
  std::vector<float> stars(10 * 10);
  flow_expect_invalid(gml_flow_sample(ctx_, m, cond_, 1, 1, 0, stars.data(), stars.size(), nullptr),
                      "sample with a freed model");
  // A context passed as a model is named as what it is.
  flow_expect_invalid(
      gml_model_family(reinterpret_cast<gml_model*>(ctx_), family, sizeof family, &len),
      "context as model");
  EXPECT_TRUE(error_mentions("is a gml_context, not a gml_model")) << gml_last_error();
  // The fixture's own model is untouched by all of this.
  ASSERT_EQ(gml_model_family(model_, family, sizeof family, &len), GML_OK) << gml_last_error();
  EXPECT_STREQ(family, "flow");
}

TEST_F(AbiArgumentsFlow, SampleToFileRejectsBadArgumentsAndLeavesNoFile) {
  const std::string p = out("sample_bad.h5");
  flow_expect_invalid(gml_flow_sample_to_file(nullptr, model_, cond_, 1, 10, 1, p.c_str()), "ctx");
  flow_expect_invalid(gml_flow_sample_to_file(ctx_, nullptr, cond_, 1, 10, 1, p.c_str()), "model");
  flow_expect_invalid(gml_flow_sample_to_file(ctx_, model_, nullptr, 1, 10, 1, p.c_str()), "cond");
  flow_expect_invalid(gml_flow_sample_to_file(ctx_, model_, cond_, 1, 10, 1, nullptr), "path NULL");
  flow_expect_invalid(gml_flow_sample_to_file(ctx_, model_, cond_, 1, 10, 1, ""), "path empty");
  flow_expect_invalid(gml_flow_sample_to_file(ctx_, model_, cond_, 0, 10, 1, p.c_str()), "n_gal 0");
  flow_expect_invalid(gml_flow_sample_to_file(ctx_, model_, cond_, 1, -3, 1, p.c_str()), "n < 0");
  double bad[4] = {cond_[0], cond_[1], kInf, cond_[3]};
  flow_expect_invalid(gml_flow_sample_to_file(ctx_, model_, bad, 1, 10, 1, p.c_str()), "Inf cond");
  EXPECT_FALSE(fs::exists(p));
  // An extension of neither format is refused instead of written as HDF5.
  for (const char* name : {"sample.csv", "sample.fist", "sample", "sample.fits.bak"}) {
    const std::string q = out(name);
    flow_expect_invalid(gml_flow_sample_to_file(ctx_, model_, cond_, 1, 10, 1, q.c_str()), name);
    EXPECT_TRUE(error_mentions("unknown extension")) << gml_last_error();
    EXPECT_FALSE(fs::exists(q)) << name;
  }
  const std::string upper = out("sample_upper.FTS");
  ASSERT_EQ(gml_flow_sample_to_file(ctx_, model_, cond_, 1, 10, 1, upper.c_str()), GML_OK)
      << gml_last_error();
  EXPECT_TRUE(fs::exists(upper));
  fs::remove(upper);
  const std::string dirless = out("no_such_dir/sample.h5");
  EXPECT_NE(gml_flow_sample_to_file(ctx_, model_, cond_, 1, 10, 1, dirless.c_str()), GML_OK);
  EXPECT_FALSE(fs::exists(dirless));
}

TEST_F(AbiArgumentsFlow, LogProbRejectsBadArgumentsNamingTheRow) {
  std::vector<float> rows(5 * 10, 1.0f);
  std::vector<double> lp(5, -7.0);
  flow_expect_invalid(gml_flow_log_prob(nullptr, model_, rows.data(), 5, cond_, 1, lp.data()),
                      "ctx NULL");
  flow_expect_invalid(gml_flow_log_prob(ctx_, nullptr, rows.data(), 5, cond_, 1, lp.data()),
                      "model NULL");
  flow_expect_invalid(gml_flow_log_prob(ctx_, model_, nullptr, 5, cond_, 1, lp.data()),
                      "stars NULL");
  flow_expect_invalid(gml_flow_log_prob(ctx_, model_, rows.data(), 5, nullptr, 1, lp.data()),
                      "conditions NULL");
  flow_expect_invalid(gml_flow_log_prob(ctx_, model_, rows.data(), 5, cond_, 1, nullptr),
                      "log_prob NULL");
  flow_expect_invalid(gml_flow_log_prob(ctx_, model_, rows.data(), -1, cond_, 1, lp.data()), "n<0");
  // A size beyond the address space is the caller's error, not "a bug in
  // galaxyml" (GML_ERR_INTERNAL, as LibTorch's numel overflow was reported).
  flow_expect_invalid(
      gml_flow_log_prob(ctx_, model_, rows.data(), int64_t{1} << 62, cond_, 1, lp.data()),
      "n = 2^62");
  EXPECT_TRUE(error_mentions("address space")) << gml_last_error();
  flow_expect_invalid(gml_flow_log_prob(ctx_, model_, rows.data(), 5, cond_, 2, lp.data()),
                      "n_conditions 2 for 5 stars");
  flow_expect_invalid(gml_flow_log_prob(ctx_, model_, rows.data(), 5, cond_, 0, lp.data()),
                      "n_conditions 0");
  rows[3 * 10 + 4] = std::numeric_limits<float>::quiet_NaN();
  flow_expect_invalid(gml_flow_log_prob(ctx_, model_, rows.data(), 5, cond_, 1, lp.data()),
                      "NaN star");
  EXPECT_TRUE(error_mentions("row 3")) << gml_last_error();
  rows[3 * 10 + 4] = std::numeric_limits<float>::infinity();
  flow_expect_invalid(gml_flow_log_prob(ctx_, model_, rows.data(), 5, cond_, 1, lp.data()),
                      "Inf star");
  EXPECT_TRUE(error_mentions("row 3")) << gml_last_error();
  rows[3 * 10 + 4] = 1.0f;
  std::vector<double> conds;
  for (int i = 0; i < 5; ++i) conds.insert(conds.end(), cond_, cond_ + 4);
  conds[4 * 4 + 1] = kNaN;
  flow_expect_invalid(gml_flow_log_prob(ctx_, model_, rows.data(), 5, conds.data(), 5, lp.data()),
                      "NaN condition row 4");
  EXPECT_TRUE(error_mentions("row 4")) << gml_last_error();
  for (double v : lp) ASSERT_EQ(v, -7.0);
  // N = 0 needs no buffers.
  ASSERT_EQ(gml_flow_log_prob(ctx_, model_, nullptr, 0, cond_, 1, nullptr), GML_OK)
      << gml_last_error();
}

TEST_F(AbiArgumentsFlow, TrainRejectsBadArgumentsAndWritesNoModel) {
  gml_flow_train_options_default(nullptr);
  gml_flow_train_options o;
  gml_flow_train_options_default(&o);
  EXPECT_EQ(o.struct_size, sizeof o);
  EXPECT_EQ(o.steps, 20000);
  EXPECT_EQ(o.batch_size, 1024);
  EXPECT_DOUBLE_EQ(o.learning_rate, 9e-5);
  o.steps = 1;
  o.batch_size = 16;
  o.config_json = R"({"num_blocks":1,"hidden_width":8,"hidden_layers":1})";
  const std::string m = out("never.h5");
  const std::string s = stars();
  flow_expect_invalid(gml_flow_train(nullptr, s.c_str(), &o, m.c_str()), "ctx NULL");
  flow_expect_invalid(gml_flow_train(ctx_, nullptr, &o, m.c_str()), "stars NULL");
  flow_expect_invalid(gml_flow_train(ctx_, s.c_str(), &o, nullptr), "model NULL");
  flow_expect_invalid(gml_flow_train(ctx_, s.c_str(), &o, ""), "model empty");
  gml_flow_train_options small = o;
  small.struct_size = 8;
  flow_expect_invalid(gml_flow_train(ctx_, s.c_str(), &small, m.c_str()), "struct_size 8");
  gml_flow_train_options bad = o;
  bad.config_json = "{not json";
  flow_expect_invalid(gml_flow_train(ctx_, s.c_str(), &bad, m.c_str()), "config not JSON");
  bad.config_json = R"({"no_such_field":3})";
  flow_expect_invalid(gml_flow_train(ctx_, s.c_str(), &bad, m.c_str()), "unknown config field");
  bad.config_json = "[1, 2]";
  flow_expect_invalid(gml_flow_train(ctx_, s.c_str(), &bad, m.c_str()), "config not an object");
  bad = o;
  bad.steps = 0;
  flow_expect_invalid(gml_flow_train(ctx_, s.c_str(), &bad, m.c_str()), "steps 0");
  bad = o;
  bad.batch_size = -4;
  flow_expect_invalid(gml_flow_train(ctx_, s.c_str(), &bad, m.c_str()), "batch_size < 0");
  bad = o;
  bad.validation_galaxies = 3;
  flow_expect_invalid(gml_flow_train(ctx_, s.c_str(), &bad, m.c_str()), "all galaxies held out");
  expect_status(gml_flow_train(ctx_, out("missing.h5").c_str(), &o, m.c_str()), GML_ERR_IO,
                "missing star table");
  expect_status(gml_flow_train(ctx_, model_path().c_str(), &o, m.c_str()), GML_ERR_FORMAT,
                "a model file is not a star table");
  EXPECT_FALSE(fs::exists(m));
}

TEST_F(AbiArgumentsFlow, SimulateRejectsBadArgumentsAndWritesNoFile) {
  const std::string p = out("sim_bad.h5");
  flow_expect_invalid(gml_flow_simulate(nullptr, 1, 10, nullptr, 1, p.c_str()), "ctx NULL");
  flow_expect_invalid(gml_flow_simulate(ctx_, 0, 10, nullptr, 1, p.c_str()), "n_galaxies 0");
  flow_expect_invalid(gml_flow_simulate(ctx_, 1, 0, nullptr, 1, p.c_str()), "n_stars 0");
  flow_expect_invalid(gml_flow_simulate(ctx_, 1, -5, nullptr, 1, p.c_str()), "n_stars < 0");
  flow_expect_invalid(gml_flow_simulate(ctx_, 1, 10, nullptr, 1, nullptr), "path NULL");
  flow_expect_invalid(gml_flow_simulate(ctx_, 1, 10, nullptr, 1, ""), "path empty");
  const std::string txt = out("simulated.txt");
  flow_expect_invalid(gml_flow_simulate(ctx_, 1, 10, nullptr, 1, txt.c_str()), "unknown extension");
  EXPECT_FALSE(fs::exists(txt));
  double nan_cond[4] = {cond_[0], cond_[1], cond_[2], kNaN};
  flow_expect_invalid(gml_flow_simulate(ctx_, 1, 10, nan_cond, 1, p.c_str()), "NaN condition");
  double huge[4] = {25.0, cond_[1], cond_[2], cond_[3]};  // log10 M* = 25
  flow_expect_invalid(gml_flow_simulate(ctx_, 1, 10, huge, 1, p.c_str()), "outside domain");
  EXPECT_FALSE(fs::exists(p));
}

TEST_F(AbiArgumentsFlow, ReadGalaxyRejectsBadArgumentsAndLeavesOutputsUntouched) {
  int64_t n = -1, d = -1;
  std::vector<float> rows(10, kSentinel);
  double c[4] = {-7, -7, -7, -7};
  const std::string s = stars();
  flow_expect_invalid(gml_flow_read_galaxy(nullptr, 0, nullptr, 0, &n, &d, nullptr, 0),
                      "path NULL");
  flow_expect_invalid(gml_flow_read_galaxy(s.c_str(), 0, nullptr, 10, &n, &d, nullptr, 0),
                      "stars NULL cap>0");
  expect_status(gml_flow_read_galaxy(s.c_str(), 99, nullptr, 0, &n, &d, nullptr, 0),
                GML_ERR_NOT_FOUND, "no galaxy 99");
  expect_status(gml_flow_read_galaxy(s.c_str(), 0, rows.data(), rows.size(), &n, &d, c, 4),
                GML_ERR_CAPACITY, "10 floats for 200 stars");
  for (float v : rows) ASSERT_EQ(v, kSentinel);
  EXPECT_EQ(c[0], -7);
  EXPECT_EQ(n, -1);
  expect_status(gml_flow_read_galaxy(out("missing.h5").c_str(), 0, nullptr, 0, &n, &d, nullptr, 0),
                GML_ERR_IO, "missing file");
  ASSERT_EQ(gml_flow_read_galaxy(s.c_str(), 0, nullptr, 0, &n, &d, nullptr, 0), GML_OK);
  EXPECT_EQ(n, 200);
  EXPECT_EQ(d, 10);
  std::vector<float> all(static_cast<size_t>(n * d));
  expect_status(gml_flow_read_galaxy(s.c_str(), 0, all.data(), all.size(), &n, &d, c, 2),
                GML_ERR_CAPACITY, "2 doubles for 4 conditions");
  EXPECT_EQ(c[0], -7);
}

TEST_F(AbiArgumentsFlow, EvaluateRejectsBadArgumentsAndLeavesOutputsUntouched) {
  int64_t ids[3] = {-7, -7, -7}, ng = -1;
  double dm[3] = {-7, -7, -7}, mmd[3] = {-7, -7, -7};
  const std::string s = stars();
  flow_expect_invalid(gml_flow_evaluate(nullptr, model_, s.c_str(), 0, 50, 1, ids, dm, mmd, 3, &ng),
                      "ctx NULL");
  flow_expect_invalid(gml_flow_evaluate(ctx_, nullptr, s.c_str(), 0, 50, 1, ids, dm, mmd, 3, &ng),
                      "model NULL");
  flow_expect_invalid(gml_flow_evaluate(ctx_, model_, nullptr, 0, 50, 1, ids, dm, mmd, 3, &ng),
                      "path NULL");
  flow_expect_invalid(gml_flow_evaluate(ctx_, model_, s.c_str(), 0, 1, 1, ids, dm, mmd, 3, &ng),
                      "n_samples 1");
  flow_expect_invalid(
      gml_flow_evaluate(ctx_, model_, s.c_str(), 0, 50, 1, ids, nullptr, mmd, 3, &ng),
      "one output NULL");
  expect_status(gml_flow_evaluate(ctx_, model_, s.c_str(), 0, 50, 1, ids, dm, mmd, 2, &ng),
                GML_ERR_CAPACITY, "capacity 2 for 3 galaxies");
  expect_status(gml_flow_evaluate(ctx_, model_, s.c_str(), 42, 50, 1, ids, dm, mmd, 3, &ng),
                GML_ERR_NOT_FOUND, "no galaxy 42");
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(ids[i], -7);
    EXPECT_EQ(dm[i], -7);
    EXPECT_EQ(mmd[i], -7);
  }
  ASSERT_EQ(gml_flow_evaluate(ctx_, model_, s.c_str(), 0, 50, 1, nullptr, nullptr, nullptr, 0, &ng),
            GML_OK)
      << gml_last_error();
  EXPECT_EQ(ng, 3);
}

// The merger network's heads, input checks, model files and training loop
// on one process (the MPI path: mpi_train_equivalence.cpp).
#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <torch/torch.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>

#include "core/common/error.h"
#include "core/distributed/backend.h"
#include "core/distributed/fused_allreduce.h"
#include "core/merger/merger_file.h"
#include "core/merger/merger_images.h"
#include "core/merger/merger_inference.h"
#include "core/merger/merger_training.h"

using namespace gml;
using namespace gml::merger;

namespace {

MergerConfig tiny_config() {
  MergerConfig c;
  c.image_size = 32;
  c.n_classes = 6;
  c.time_max_myr = 500;
  c.latent_dim = 8;
  c.vae_hidden = 32;
  return c;
}

// Images whose class is visible: a blob whose distance from the centre grows
// with the class, plus noise.
MergerSamples blob_samples(int64_t n, int64_t classes, uint64_t seed) {
  at::Generator g = at::detail::createCPUGenerator(seed);
  MergerSamples s;
  s.time_class = at::randint(0, classes, {n}, g, at::kLong);
  at::Tensor yy = at::arange(32, at::kFloat).view({32, 1}).expand({32, 32});
  at::Tensor xx = at::arange(32, at::kFloat).view({1, 32}).expand({32, 32});
  at::Tensor off = 4.0 + 2.0 * s.time_class.to(at::kFloat).view({n, 1, 1});
  at::Tensor r2 = (xx - 16 - off).pow(2) + (yy - 16).pow(2);
  s.images = ((-r2 / 8.0).exp() + 0.05 * at::randn({n, 32, 32}, g)).unsqueeze(1);
  s.images = prepare_images(s.images, tiny_config(), false, nullptr);
  s.time_myr = s.time_class.to(at::kFloat) * 100.0f;
  s.sim_id = at::zeros({n}, at::kLong);
  s.camera = at::arange(n, at::kLong) % 14;
  return s;
}

}  // namespace

TEST(MergerConfig, JsonRoundTripAndUnknownKeys) {
  MergerConfig c = tiny_config();
  c.backbone = "efficientnet_b0";
  c.nan_policy = NanPolicy::Mask;
  MergerConfig back = MergerConfig::from_json_text(c.to_json_text());
  EXPECT_EQ(back.to_json_text(), c.to_json_text());
  try {
    MergerConfig::from_json_text(R"({"backbone":"resnet18","colour":1})");
    FAIL() << "unknown key accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.status(), Status::Format);
    EXPECT_NE(std::string(e.what()).find("colour"), std::string::npos);
  }
  c.regress_time = true;
  c.time_max_myr = 0;
  EXPECT_THROW(c.validate(), Error);
}

// Config integers come from files nobody vouches for: values beyond int64
// (a UB conversion in the JSON library) and beyond the sane bounds are
// refused by name.
TEST(MergerConfig, OutOfRangeIntegersAreRefused) {
  for (const char* text : {R"({"n_classes": 18446744073709551616})", R"({"n_classes": 1e300})",
                           R"({"vae_hidden": 7.5})", R"({"image_size": -1e30})"}) {
    try {
      MergerConfig::from_json_text(text);
      ADD_FAILURE() << text << " accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.status(), Status::Format) << text;
      EXPECT_NE(std::string(e.what()).find("must be an integer within range"), std::string::npos)
          << e.what();
    }
  }
  EXPECT_THROW(MergerConfig::from_json_text(R"({"n_classes": 1000000})"), Error);
  EXPECT_THROW(MergerConfig::from_json_text(R"({"vae_hidden": 1000000})"), Error);
}

// A merger file whose config describes a far larger network than its
// tensors hold is refused before the network is built (it used to build a
// 5 GB classifier for n_classes = 1e6).
TEST(MergerFile, ConfigAskingForMoreThanTheTensorsHoldIsAFormatError) {
  MergerConfig cfg = tiny_config();
  MergerNet net(cfg);
  const std::string dir = ::testing::TempDir();
  const std::string path = dir + "/merger_config_bound_" + std::to_string(::getpid()) + ".h5";
  save_merger(path, net, "{}", nullptr);
  ModelFile file = read_model_file(path, "merger");
  std::remove(path.c_str());
  EXPECT_NO_THROW(merger_from_model_file(file)) << "config and tensors agree";
  MergerConfig big = cfg;
  big.image_size = 1024;
  big.vae_hidden = 60000;
  file.config = big.to_json_text();
  try {
    merger_from_model_file(file);
    ADD_FAILURE() << "a config of 1.2e8 parameters was built";
  } catch (const Error& e) {
    EXPECT_EQ(e.status(), Status::Format);
    EXPECT_NE(std::string(e.what()).find("config and tensors disagree"), std::string::npos)
        << e.what();
  }
}

TEST(MergerImages, ShapeBandsAndNanPolicy) {
  MergerConfig c = tiny_config();
  at::Tensor ok = at::rand({3, 1, 32, 32});
  std::vector<int32_t> flags;
  at::Tensor x = prepare_images(ok, c, false, &flags);
  ASSERT_EQ(flags.size(), 3u);
  EXPECT_EQ(flags[0], 0);
  // Normalised: median 0, 99.5th percentile 1 per image.
  at::Tensor q = at::quantile(x.flatten(1), at::tensor({0.5, 0.995}, at::kFloat), 1);
  EXPECT_NEAR(q[0][1].item<double>(), 0.0, 1e-5);
  EXPECT_NEAR(q[1][1].item<double>(), 1.0, 1e-4);

  try {
    prepare_images(at::rand({2, 3, 32, 32}), c, false, nullptr);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("1 band"), std::string::npos) << e.what();
  }
  EXPECT_THROW(prepare_images(at::rand({2, 1, 40, 40}), c, false, nullptr), Error);
  at::Tensor resized = prepare_images(at::rand({2, 1, 40, 40}), c, true, &flags);
  EXPECT_EQ(resized.size(2), 32);
  EXPECT_EQ(flags[1], kImageResized);

  at::Tensor nan = ok.clone();
  nan[1][0][5][5] = NAN;
  try {
    prepare_images(nan, c, false, nullptr);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("image 1"), std::string::npos) << e.what();
  }
  c.nan_policy = NanPolicy::Mask;
  at::Tensor masked = prepare_images(nan, c, false, &flags);
  EXPECT_TRUE(masked.isfinite().all().item<bool>());
  EXPECT_EQ(flags[0], 0);
  EXPECT_EQ(flags[1], kImageNanMasked);
  at::Tensor flat = at::ones({1, 1, 32, 32});
  prepare_images(flat, c, false, &flags);
  EXPECT_EQ(flags[0], kImageBlank);
}

TEST(MergerNet, HeadShapesAndWrongInput) {
  at::manual_seed(0);
  MergerNet net(tiny_config());
  net->eval();
  at::Tensor x = at::randn({2, 1, 32, 32});
  MergerOutput out = net->forward(x);
  EXPECT_EQ(out.logits.sizes(), (std::vector<int64_t>{2, 6}));
  EXPECT_EQ(out.time.sizes(), (std::vector<int64_t>{2}));
  EXPECT_EQ(out.recon.sizes(), x.sizes());
  EXPECT_EQ(out.mu.sizes(), (std::vector<int64_t>{2, 8}));
  EXPECT_EQ(out.feature_recon.sizes(), out.features.sizes());
  // The FCAE alone is fully convolutional: any multiple of 32.
  HeadSelection only_fcae{false, false, true, false};
  EXPECT_EQ(net->forward(at::randn({1, 1, 64, 96}), only_fcae).recon.size(3), 96);
  EXPECT_THROW(net->forward(at::randn({2, 3, 32, 32})), Error);
  EXPECT_THROW(net->forward(at::randn({2, 1, 64, 64})), Error);
  EXPECT_THROW(net->forward(at::randn({1, 32, 32})), Error);
}

TEST(MergerInference, FlagsRegressedTimesOutsideTheSimulatedSpan) {
  // The linear time head of earlier models can give any time for an image
  // unlike the training set; such rows are flagged and keep their value.
  at::manual_seed(1);
  MergerConfig config = tiny_config();
  config.time_head = TimeHead::Linear;
  MergerNet net(config);
  net->eval();
  const auto params = net->named_parameters();
  ASSERT_TRUE(params.contains("time_head.weight") && params.contains("time_head.bias"));
  at::Tensor weight = params["time_head.weight"], bias = params["time_head.bias"];
  const at::Tensor x = at::randn({3, 1, 32, 32});
  PredictRequest request;
  request.latent = false;
  for (const double fraction : {-0.25, 0.5, 1.75}) {
    {
      torch::NoGradGuard no_grad;
      weight.zero_();
      bias.fill_(fraction);
    }
    const MergerPredictions p = predict_merger(net, x, request, nullptr);
    ASSERT_EQ(p.flags.size(), 3u);
    const bool outside = fraction < 0 || fraction > 1;
    for (int64_t i = 0; i < 3; ++i) {
      EXPECT_NEAR(p.time_myr[i].item<double>(), fraction * 500, 1e-3) << fraction;
      EXPECT_EQ((p.flags[i] & kImageTimeOutsideRange) != 0, outside) << fraction;
    }
  }
}

TEST(MergerInference, BoundedTimeHeadStaysInTheSpanAndOldConfigsKeepTheLinearOne) {
  // A config without "time_head" is a file from before the key: linear.
  const MergerConfig legacy = MergerConfig::from_json_text(
      R"({"backbone":"resnet18","in_channels":1,"image_size":32,"n_classes":5,)"
      R"("time_max_myr":500,"regress_time":true,"latent_dim":0})");
  EXPECT_EQ(legacy.time_head, TimeHead::Linear);
  EXPECT_EQ(MergerConfig().time_head, TimeHead::Bounded);
  EXPECT_EQ(MergerConfig::from_json_text(tiny_config().to_json_text()).time_head,
            TimeHead::Bounded);
  EXPECT_THROW(MergerConfig::from_json_text(R"({"time_head":"cubic"})"), Error);

  at::manual_seed(1);
  MergerNet net(tiny_config());
  net->eval();
  const auto params = net->named_parameters();
  at::Tensor weight = params["time_head.weight"], bias = params["time_head.bias"];
  const at::Tensor x = at::randn({3, 1, 32, 32});
  PredictRequest request;
  request.latent = false;
  for (const double z : {-40.0, 0.0, 1.75, 40.0}) {
    {
      torch::NoGradGuard no_grad;
      weight.zero_();
      bias.fill_(z);
    }
    const MergerPredictions p = predict_merger(net, x, request, nullptr);
    for (int64_t i = 0; i < 3; ++i) {
      const double t = p.time_myr[i].item<double>();
      EXPECT_NEAR(t, 500 / (1 + std::exp(-z)), 1e-3) << z;
      EXPECT_TRUE(t >= 0 && t <= 500) << z;
      EXPECT_EQ(p.flags[i] & kImageTimeOutsideRange, 0) << z;
    }
  }
}

TEST(MergerNet, VaeLossNeverMovesTheEncoder) {
  at::manual_seed(0);
  MergerNet net(tiny_config());
  MergerOutput out = net->forward(at::randn({4, 1, 32, 32}));
  (out.feature_recon.pow(2).mean() + out.mu.pow(2).mean()).backward();
  for (const auto& p : net->named_parameters()) {
    if (p.key().rfind("backbone.", 0) == 0) {
      EXPECT_TRUE(!p.value().grad().defined() || p.value().grad().abs().max().item<double>() == 0)
          << p.key();
    }
  }
}

TEST(FusedAllreduce, OneProcessKeepsValuesAndPlansBuckets) {
  auto local = dist::open_backend("none");
  dist::FusedAllreduce fused(*local, 64);  // 16 floats per bucket
  std::vector<at::Tensor> ts = {at::ones({10}), at::full({3, 3}, 2.0f), at::full({40}, 3.0f)};
  std::vector<double> extra = {5.0};
  fused.reduce(ts, 0.5, &extra);
  EXPECT_EQ(fused.buckets(), 3u);  // 10 | 9 (would make 19 > 16) | 40 (own bucket)
  EXPECT_FLOAT_EQ(ts[0][0].item<float>(), 0.5f);
  EXPECT_FLOAT_EQ(ts[1][2][2].item<float>(), 1.0f);
  EXPECT_FLOAT_EQ(ts[2][39].item<float>(), 1.5f);
  EXPECT_DOUBLE_EQ(extra[0], 5.0);  // extras are summed, not scaled
  EXPECT_THROW(fused.reduce({at::ones({10})}, 1.0, nullptr), Error);
}

TEST(MergerTraining, LearnsVisibleClassesAndSavesLoadableModel) {
  at::manual_seed(3);
  MergerNet net(tiny_config());
  MergerSamples train = blob_samples(192, 6, 1), val = blob_samples(48, 6, 2);
  MergerTrainOptions o;
  o.batch_size = 16;
  o.max_epochs = 6;
  o.lr = 2e-3;
  o.seed = 5;
  auto local = dist::open_backend("none");
  MergerTrainReport r = train_merger(net, train, val, o, *local, nullptr, at::kCPU);
  ASSERT_EQ(r.train_loss.size(), static_cast<size_t>(r.epochs));
  EXPECT_LT(r.train_loss.back(), r.train_loss.front());
  // Six classes: chance is 1/6; the blob position gives the class away.
  EXPECT_GT(r.best_validation.accuracy, 0.6) << "validation accuracy";
  EXPECT_GT(r.best_validation.within3, r.best_validation.accuracy - 1e-12);

  const std::string path = (std::filesystem::temp_directory_path() /
                            ("gml_test_merger_model_" + std::to_string(::getpid()) + ".h5"))
                               .string();
  const std::string checksum = save_merger(path, net, "{}", &r);
  LoadedMerger back = load_merger(path);
  EXPECT_EQ(back.checksum, checksum);
  net->eval();
  at::Tensor x = val.images.narrow(0, 0, 4);
  {
    c10::InferenceMode guard;
    EXPECT_TRUE(at::allclose(net->forward(x).logits, back.net->forward(x).logits, 1e-5, 1e-6));
  }
  std::filesystem::remove(path);
}

TEST(MergerTraining, ResumeEqualsUninterruptedRun) {
  const std::string ck = (std::filesystem::temp_directory_path() /
                          ("gml_test_merger_ck_" + std::to_string(::getpid()) + ".h5"))
                             .string();
  std::filesystem::remove(ck);
  MergerSamples train = blob_samples(64, 6, 1), val = blob_samples(16, 6, 2);
  MergerTrainOptions o;
  o.batch_size = 16;
  o.seed = 9;
  o.patience = 100;
  o.optimizer = "adadelta";
  o.lr = 1.0;
  auto local = dist::open_backend("none");

  at::manual_seed(4);
  MergerNet whole(tiny_config());
  o.max_epochs = 3;
  train_merger(whole, train, val, o, *local, nullptr, at::kCPU);

  at::manual_seed(4);
  MergerNet part(tiny_config());
  o.checkpoint_path = ck;
  o.max_epochs = 2;
  train_merger(part, train, val, o, *local, nullptr, at::kCPU);
  at::manual_seed(99);  // resume must not depend on the global stream
  MergerNet resumed(tiny_config());
  o.max_epochs = 3;
  o.resume = true;
  MergerTrainReport r = train_merger(resumed, train, val, o, *local, nullptr, at::kCPU);
  EXPECT_EQ(r.epochs, 3);
  auto a = whole->named_parameters(), b = resumed->named_parameters();
  for (const auto& p : a)
    EXPECT_TRUE(at::equal(p.value(), b[p.key()])) << p.key() << " differs after resume";
  std::filesystem::remove(ck);
}

TEST(MergerTraining, RejectsBadOptions) {
  at::manual_seed(0);
  MergerNet net(tiny_config());
  MergerSamples s = blob_samples(8, 6, 1);
  auto local = dist::open_backend("none");
  MergerTrainOptions o;
  o.optimizer = "sgd";
  EXPECT_THROW(train_merger(net, s, s, o, *local, nullptr, at::kCPU), Error);
  o = MergerTrainOptions();
  o.lr_schedule = "step";
  EXPECT_THROW(train_merger(net, s, s, o, *local, nullptr, at::kCPU), Error);
  o = MergerTrainOptions();
  o.batch_size = 16;  // larger than the 8 images
  try {
    train_merger(net, s, s, o, *local, nullptr, at::kCPU);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("exceeds"), std::string::npos) << e.what();
  }
}

TEST(MergerTraining, CosineScheduleDecaysToZeroOverThePlannedSteps) {
  MergerTrainOptions o;
  o.lr = 2e-3;
  EXPECT_EQ(scheduled_lr(o, 0, 100), 2e-3);  // constant by default
  EXPECT_EQ(scheduled_lr(o, 99, 100), 2e-3);
  o.lr_schedule = "cosine";
  EXPECT_DOUBLE_EQ(scheduled_lr(o, 0, 100), 2e-3);
  EXPECT_NEAR(scheduled_lr(o, 50, 100), 1e-3, 1e-15);
  EXPECT_NEAR(scheduled_lr(o, 25, 100), 1e-3 * (1 + std::sqrt(0.5)), 1e-15);
  EXPECT_NEAR(scheduled_lr(o, 100, 100), 0.0, 1e-18);
  EXPECT_NEAR(scheduled_lr(o, 150, 100), 0.0, 1e-18);  // past the plan: stays at 0
  for (int64_t s = 1; s <= 100; ++s)
    EXPECT_LT(scheduled_lr(o, s, 100), scheduled_lr(o, s - 1, 100));
}

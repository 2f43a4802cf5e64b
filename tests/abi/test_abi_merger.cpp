// The merger family through the shipped library: simulate, train, load,
// classify, encode, index, search and cluster, with the documented errors
// for wrong bands and sizes, NaN pixels and an index of another model.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstddef>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "../support/prepared_fixture.h"
#include "galaxyml/galaxyml.h"

namespace fs = std::filesystem;

namespace {

class AbiMerger : public gml::test::PreparedFixture<AbiMerger> {
 protected:
  friend class gml::test::PreparedFixture<AbiMerger>;
  static void Prepare() {
    dir_ =
        new fs::path(fs::temp_directory_path() / ("gml_abi_merger_" + std::to_string(::getpid())));
    fs::remove_all(*dir_);
    fs::create_directories(*dir_);
    gml_context_options o;
    gml_context_options_default(&o);
    o.device = "cpu";
    o.seed = 17;
    o.seed_from_init = 0;
    ASSERT_EQ(gml_context_create(&o, &ctx_), GML_OK) << gml_last_error();

    gml_merger_simulate_options so;
    gml_merger_simulate_options_default(&so);
    const double ratios[2] = {0.5, 1.0};
    so.mass_ratios = ratios;
    so.n_mass_ratios = 2;
    so.sims_per_ratio = 1;
    so.n_time_classes = 6;
    so.n_cameras = 4;
    so.image_size = 32;
    so.particles_per_disk = 400;
    so.t_end_myr = 1500;
    so.dt_myr = 2;
    sims_ = (*dir_ / "sims.fits").string();
    int64_t n = 0;
    ASSERT_EQ(gml_merger_simulate(ctx_, &so, sims_.c_str(), &n), GML_OK) << gml_last_error();
    ASSERT_EQ(n, 2 * 6 * 4);

    model_ = (*dir_ / "model.h5").string();
    other_model_ = (*dir_ / "other.h5").string();
    for (const std::string* path : {&model_, &other_model_}) {
      gml_merger_train_options to;
      gml_merger_train_options_default(&to);
      to.latent_dim = 8;
      to.batch_size = 8;
      to.max_steps = 3;
      to.max_epochs = 1;
      const int32_t val_cam[1] = {3};
      to.validation_cameras = val_cam;
      to.n_validation_cameras = 1;
      to.seed = path == &model_ ? 1 : 2;
      if (path == &other_model_) to.lr_schedule = "cosine";
      gml_merger_train_report& r = path == &model_ ? report_ : other_report_;
      r.struct_size = sizeof r;
      if (path == &other_model_) {
        // A caller built before wait_seconds existed: the field stays untouched.
        r.struct_size = offsetof(gml_merger_train_report, wait_seconds);
        r.wait_seconds = -1.0;
      }
      ASSERT_EQ(gml_merger_train(ctx_, sims_.c_str(), &to, path->c_str(), &r), GML_OK)
          << gml_last_error();
    }
    ASSERT_EQ(gml_model_load(ctx_, model_.c_str(), "merger", &model_h_), GML_OK)
        << gml_last_error();
    ASSERT_EQ(gml_model_load(ctx_, other_model_.c_str(), "merger", &other_h_), GML_OK);

    int64_t shape[4];
    ASSERT_EQ(gml_cutouts_read_shape(sims_.c_str(), shape), GML_OK) << gml_last_error();
    images_ =
        new std::vector<float>(static_cast<size_t>(shape[0] * shape[1] * shape[2] * shape[3]));
    ASSERT_EQ(gml_cutouts_read(sims_.c_str(), images_->data(), images_->size()), GML_OK)
        << gml_last_error();
  }
  static void TearDownTestSuite() {
    gml_model_free(model_h_);
    gml_model_free(other_h_);
    gml_context_free(ctx_);
    delete images_;
    if (dir_) fs::remove_all(*dir_);
    delete dir_;
  }

  static inline fs::path* dir_ = nullptr;
  static inline gml_context* ctx_ = nullptr;
  static inline std::string sims_, model_, other_model_;
  static inline gml_merger_train_report report_{}, other_report_{};
  static inline gml_model *model_h_ = nullptr, *other_h_ = nullptr;
  static inline std::vector<float>* images_ = nullptr;
};

}  // namespace

TEST_F(AbiMerger, TrainingReportAndDims) {
  EXPECT_EQ(report_.steps, 3);
  EXPECT_EQ(report_.world_size, 1);
  EXPECT_EQ(report_.train_images, 36);  // cameras 0-2
  EXPECT_EQ(report_.validation_images, 12);
  EXPECT_GE(report_.buckets_per_step, 1);
  EXPECT_EQ(report_.wait_seconds, 0.0);         // one process waits for nobody
  EXPECT_EQ(other_report_.steps, 3);            // the shorter, older report is filled...
  EXPECT_EQ(other_report_.wait_seconds, -1.0);  // ...up to its own size
  EXPECT_GT(report_.images_per_s, 0);
  int64_t ch = 0, size = 0, classes = 0, latent = 0;
  ASSERT_EQ(gml_merger_dims(model_h_, &ch, &size, &classes, &latent), GML_OK);
  EXPECT_EQ(ch, 1);
  EXPECT_EQ(size, 32);
  EXPECT_EQ(classes, 6);
  EXPECT_EQ(latent, 8);
}

TEST_F(AbiMerger, ClassifyGivesProbabilitiesTimesAndLatents) {
  const int64_t n = 48;
  std::vector<float> probs(n * 6), time(n), latent(n * 8), latent2(n * 8);
  std::vector<int32_t> cls(n, -1), flags(n, -1);
  ASSERT_EQ(gml_merger_classify(ctx_, model_h_, images_->data(), n, 1, 32, 32, 0, probs.data(),
                                cls.data(), time.data(), latent.data(), flags.data()),
            GML_OK)
      << gml_last_error();
  for (int64_t i = 0; i < n; ++i) {
    double sum = 0, best = -1;
    int32_t arg = -1;
    for (int k = 0; k < 6; ++k) {
      sum += probs[i * 6 + k];
      if (probs[i * 6 + k] > best) best = probs[i * 6 + k], arg = k;
    }
    EXPECT_NEAR(sum, 1.0, 1e-5);
    EXPECT_EQ(cls[i], arg);
    EXPECT_TRUE(std::isfinite(time[i]));
    EXPECT_EQ(flags[i], 0);
  }
  ASSERT_EQ(
      gml_merger_encode(ctx_, model_h_, images_->data(), n, 1, 32, 32, 0, latent2.data(), nullptr),
      GML_OK);
  for (size_t i = 0; i < latent.size(); ++i) EXPECT_NEAR(latent[i], latent2[i], 1e-5);
}

TEST_F(AbiMerger, WrongBandsSizesAndNanAreClearErrors) {
  std::vector<int32_t> cls(2, -1);
  ASSERT_EQ(gml_merger_classify(ctx_, model_h_, images_->data(), 1, 2, 32, 32, 0, nullptr,
                                cls.data(), nullptr, nullptr, nullptr),
            GML_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(gml_last_error()).find("band"), std::string::npos) << gml_last_error();
  ASSERT_EQ(gml_merger_classify(ctx_, model_h_, images_->data(), 2, 1, 16, 16, 0, nullptr,
                                cls.data(), nullptr, nullptr, nullptr),
            GML_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(gml_last_error()).find("resiz"), std::string::npos) << gml_last_error();
  EXPECT_EQ(cls[0], -1);  // untouched on error
  std::vector<int32_t> flags(2, 0);
  ASSERT_EQ(gml_merger_classify(ctx_, model_h_, images_->data(), 2, 1, 16, 16, 1, nullptr,
                                cls.data(), nullptr, nullptr, flags.data()),
            GML_OK);
  EXPECT_EQ(flags[0] & GML_MERGER_FLAG_RESIZED, GML_MERGER_FLAG_RESIZED);
  std::vector<float> bad(images_->begin(), images_->begin() + 3 * 32 * 32);
  bad[2 * 32 * 32 + 100] = NAN;
  ASSERT_EQ(gml_merger_classify(ctx_, model_h_, bad.data(), 3, 1, 32, 32, 0, nullptr, cls.data(),
                                nullptr, nullptr, nullptr),
            GML_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(gml_last_error()).find("image 2"), std::string::npos) << gml_last_error();
}

TEST_F(AbiMerger, IndexSearchAndCluster) {
  const std::string index = (*dir_ / "index.h5").string();
  int64_t n = 0, d = 0;
  ASSERT_EQ(gml_merger_index_build(ctx_, model_h_, sims_.c_str(), 0, index.c_str(), &n), GML_OK)
      << gml_last_error();
  EXPECT_EQ(n, 48);
  ASSERT_EQ(gml_merger_index_info(index.c_str(), &n, &d), GML_OK);
  EXPECT_EQ(n, 48);
  EXPECT_EQ(d, 8);

  // A query that is in the index finds itself first, at distance 0, SSIM 1.
  const int64_t q = 13, k = 3;
  std::vector<int64_t> rows(k), ids(k);
  std::vector<float> dist(k), ssim(k);
  std::vector<int32_t> sim(k), tc(k);
  ASSERT_EQ(gml_merger_search(ctx_, model_h_, index.c_str(), images_->data() + q * 32 * 32, 1, 1,
                              32, 32, 0, k, rows.data(), ids.data(), dist.data(), ssim.data(),
                              sim.data(), tc.data()),
            GML_OK)
      << gml_last_error();
  EXPECT_EQ(rows[0], q);
  EXPECT_NEAR(dist[0], 0.0, 1e-3);
  EXPECT_NEAR(ssim[0], 1.0, 1e-4);
  EXPECT_LE(dist[0], dist[1]);
  EXPECT_LE(dist[1], dist[2]);
  EXPECT_EQ(sim[0], 0);  // image 13 = sim 0, class 3, camera 1
  EXPECT_EQ(tc[0], 3);

  // The index belongs to its model.
  ASSERT_EQ(gml_merger_search(ctx_, other_h_, index.c_str(), images_->data(), 1, 1, 32, 32, 0, k,
                              rows.data(), nullptr, nullptr, nullptr, nullptr, nullptr),
            GML_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(gml_last_error()).find("different model"), std::string::npos)
      << gml_last_error();
  ASSERT_EQ(gml_merger_search(ctx_, model_h_, index.c_str(), images_->data(), 1, 1, 32, 32, 0, 49,
                              rows.data(), nullptr, nullptr, nullptr, nullptr, nullptr),
            GML_ERR_INVALID_ARGUMENT);
  // A model file is not an index.
  EXPECT_EQ(gml_merger_index_info(model_.c_str(), &n, &d), GML_ERR_FAMILY);

  std::vector<int64_t> labels(48, -1);
  double eig[3];
  ASSERT_EQ(gml_merger_cluster(ctx_, index.c_str(), 3, 8, labels.data(), labels.size(), eig),
            GML_OK)
      << gml_last_error();
  for (int64_t l : labels) {
    EXPECT_GE(l, 0);
    EXPECT_LT(l, 3);
  }
  EXPECT_NEAR(eig[0], 0.0, 1e-6);  // the Laplacian's smallest eigenvalue
  EXPECT_LE(eig[0], eig[1]);
  ASSERT_EQ(gml_merger_cluster(ctx_, index.c_str(), 3, 8, labels.data(), 47, nullptr),
            GML_ERR_CAPACITY);
}

TEST_F(AbiMerger, BatchFormsEqualThePositionalOnesAndCheckCapacities) {
  const int64_t n = 6, k = 4;
  const float* images = images_->data() + 10 * 32 * 32;
  std::vector<float> probs(n * 6), latent(n * 8);
  std::vector<int32_t> cls(n), flags(n);
  ASSERT_EQ(gml_merger_classify(ctx_, model_h_, images, n, 1, 32, 32, 0, probs.data(), cls.data(),
                                nullptr, latent.data(), flags.data()),
            GML_OK)
      << gml_last_error();

  gml_merger_classify_request rq{};
  rq.struct_size = sizeof rq;
  rq.images = images;
  rq.n = n;
  rq.channels = 1;
  rq.height = 32;
  rq.width = 32;
  std::vector<float> probs2(n * 6, -1.0f), latent2(n * 8, -1.0f);
  std::vector<int32_t> cls2(n, -1);
  gml_merger_classify_result rs{};
  rs.struct_size = sizeof rs;
  rs.probs = probs2.data();
  rs.probs_capacity = probs2.size();
  rs.classes = cls2.data();
  rs.classes_capacity = cls2.size();
  rs.latent = latent2.data();
  rs.latent_capacity = latent2.size() - 1;  // one short
  EXPECT_EQ(gml_merger_classify_batch(ctx_, model_h_, &rq, &rs), GML_ERR_CAPACITY);
  EXPECT_NE(std::string(gml_last_error()).find("latent holds 47 elements; 48 needed"),
            std::string::npos)
      << gml_last_error();
  EXPECT_EQ(probs2[0], -1.0f) << "nothing written on a capacity error";
  rs.latent_capacity = latent2.size();
  ASSERT_EQ(gml_merger_classify_batch(ctx_, model_h_, &rq, &rs), GML_OK) << gml_last_error();
  EXPECT_EQ(probs2, probs);
  EXPECT_EQ(cls2, cls);
  EXPECT_EQ(latent2, latent);
  EXPECT_EQ(gml_merger_classify_batch(ctx_, model_h_, nullptr, &rs), GML_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(gml_merger_classify_batch(ctx_, model_h_, &rq, nullptr), GML_ERR_INVALID_ARGUMENT);

  // Search by the latents just computed finds what the image search finds,
  // without encoding the images again.
  const std::string index = (*dir_ / "batch_index.h5").string();
  ASSERT_EQ(gml_merger_index_build(ctx_, model_h_, sims_.c_str(), 0, index.c_str(), nullptr),
            GML_OK)
      << gml_last_error();
  std::vector<int64_t> rows(n * k);
  std::vector<float> dist(n * k);
  ASSERT_EQ(gml_merger_search(ctx_, model_h_, index.c_str(), images, n, 1, 32, 32, 0, k,
                              rows.data(), nullptr, dist.data(), nullptr, nullptr, nullptr),
            GML_OK)
      << gml_last_error();
  gml_merger_search_request sq{};
  sq.struct_size = sizeof sq;
  sq.index_path = index.c_str();
  sq.n = n;
  sq.latents = latent.data();
  sq.latent_dim = 8;
  sq.k = k;
  std::vector<int64_t> rows2(n * k, -1);
  std::vector<float> dist2(n * k, -1.0f), ssim(n * k);
  gml_merger_search_result sr{};
  sr.struct_size = sizeof sr;
  sr.rows = rows2.data();
  sr.rows_capacity = rows2.size();
  sr.distances = dist2.data();
  sr.distances_capacity = dist2.size();
  ASSERT_EQ(gml_merger_search_batch(ctx_, model_h_, &sq, &sr), GML_OK) << gml_last_error();
  EXPECT_EQ(rows2, rows);
  for (size_t i = 0; i < dist.size(); ++i) EXPECT_NEAR(dist2[i], dist[i], 1e-4) << i;
  EXPECT_EQ(rows2[0], 10) << "image 10 finds itself";

  // SSIM needs images; images and latents together are ambiguous.
  sr.ssim = ssim.data();
  sr.ssim_capacity = ssim.size();
  EXPECT_EQ(gml_merger_search_batch(ctx_, model_h_, &sq, &sr), GML_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(gml_last_error()).find("ssim needs image queries"), std::string::npos);
  sq.images = images;
  sq.channels = 1;
  sq.height = 32;
  sq.width = 32;
  EXPECT_EQ(gml_merger_search_batch(ctx_, model_h_, &sq, &sr), GML_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(gml_last_error()).find("exactly one"), std::string::npos);
  sq.latents = nullptr;
  sr.ssim_capacity = n * k - 1;
  EXPECT_EQ(gml_merger_search_batch(ctx_, model_h_, &sq, &sr), GML_ERR_CAPACITY);
  sr.ssim_capacity = n * k;
  ASSERT_EQ(gml_merger_search_batch(ctx_, model_h_, &sq, &sr), GML_OK) << gml_last_error();
  EXPECT_NEAR(ssim[0], 1.0, 1e-4);
  // A latent of the wrong width, or not finite.
  sq.images = nullptr;
  sq.latents = latent.data();
  sr.ssim = nullptr;
  sq.latent_dim = 7;
  EXPECT_EQ(gml_merger_search_batch(ctx_, model_h_, &sq, &sr), GML_ERR_INVALID_ARGUMENT);
  sq.latent_dim = 8;
  std::vector<float> bad = latent;
  bad[8 * 2 + 3] = NAN;
  sq.latents = bad.data();
  EXPECT_EQ(gml_merger_search_batch(ctx_, model_h_, &sq, &sr), GML_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(gml_last_error()).find("query 2"), std::string::npos) << gml_last_error();

  // Out-of-distribution flags, one per query: an indexed image is never
  // flagged, a latent far from every entry always is; capacity n.
  std::vector<float> queries = latent;
  for (int64_t j = 0; j < 8; ++j) queries[8 + j] = 1e4f;  // query 1 far from every entry
  sq.latents = queries.data();
  std::vector<int32_t> unlike(n, -1);
  sr.flags = unlike.data();
  sr.flags_capacity = n - 1;
  EXPECT_EQ(gml_merger_search_batch(ctx_, model_h_, &sq, &sr), GML_ERR_CAPACITY);
  sr.flags_capacity = n;
  ASSERT_EQ(gml_merger_search_batch(ctx_, model_h_, &sq, &sr), GML_OK) << gml_last_error();
  for (int64_t i = 0; i < n; ++i) {
    EXPECT_EQ(unlike[i], i == 1 ? GML_MERGER_FLAG_OUT_OF_DISTRIBUTION : 0) << i;
  }
  // A caller built before flags was appended: its struct_size ends at
  // time_class_capacity, so whatever lies beyond (here a pointer no one may
  // write through) is never read.
  gml_merger_search_result old{};
  old.struct_size = static_cast<uint32_t>(offsetof(gml_merger_search_result, flags));
  std::vector<int64_t> rows3(n * k, -1);
  old.rows = rows3.data();
  old.rows_capacity = rows3.size();
  old.flags = reinterpret_cast<int32_t*>(uintptr_t{8});
  old.flags_capacity = SIZE_MAX;
  ASSERT_EQ(gml_merger_search_batch(ctx_, model_h_, &sq, &old), GML_OK) << gml_last_error();
  EXPECT_EQ(rows3[0], rows2[0]);
}

TEST_F(AbiMerger, OtherFamiliesAreRefused) {
  // A flow model file asked for as a merger model.
  gml_model* wrong = nullptr;
  EXPECT_EQ(gml_model_load(ctx_, (std::string(GML_FIXTURES) + "/valid_flow.h5").c_str(), "merger",
                           &wrong),
            GML_ERR_FAMILY);
  EXPECT_EQ(wrong, nullptr);
  EXPECT_NE(std::string(gml_last_error()).find("flow"), std::string::npos) << gml_last_error();
  // An index file is not a model.
  const std::string index = (*dir_ / "family_index.h5").string();
  ASSERT_EQ(gml_merger_index_build(ctx_, model_h_, sims_.c_str(), 0, index.c_str(), nullptr),
            GML_OK);
  EXPECT_EQ(gml_model_load(ctx_, index.c_str(), nullptr, &wrong), GML_ERR_FAMILY);
  EXPECT_EQ(wrong, nullptr);
}

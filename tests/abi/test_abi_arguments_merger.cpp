// Merger-family entry points called with NULL or invalid arguments: each
// returns the documented status with a message, leaves its outputs
// untouched, writes no file and never crashes.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "galaxyml/galaxyml.h"

namespace fs = std::filesystem;

namespace {

const char* const kCoveredMerger[] = {
    "gml_merger_simulate_options_default",
    "gml_merger_simulate",
    "gml_merger_train_options_default",
    "gml_merger_train",
    "gml_merger_dims",
    "gml_merger_classify",
    "gml_merger_encode",
    "gml_merger_index_build",
    "gml_merger_index_info",
    "gml_merger_search",
    "gml_merger_cluster",
    "gml_merger_classify_batch",
    "gml_merger_search_batch",
};

void merger_expect_status(gml_status got, gml_status want, const char* what) {
  EXPECT_EQ(got, want) << what << ": " << gml_status_name(got) << " " << gml_last_error();
  if (want != GML_OK) {
    EXPECT_STRNE(gml_last_error(), "") << what;
  }
}

void merger_expect_invalid(gml_status s, const char* what) {
  merger_expect_status(s, GML_ERR_INVALID_ARGUMENT, what);
}

struct Context {
  gml_context* ctx = nullptr;
  Context() {
    gml_context_options o;
    gml_context_options_default(&o);
    o.device = "cpu";
    EXPECT_EQ(gml_context_create(&o, &ctx), GML_OK) << gml_last_error();
  }
  ~Context() { gml_context_free(ctx); }
};

}  // namespace

TEST(AbiArgumentsMerger, EveryEntryPointRejectsBadArguments) {
  ASSERT_EQ(sizeof kCoveredMerger / sizeof kCoveredMerger[0], 13u);
  gml_merger_simulate_options_default(nullptr);
  gml_merger_train_options_default(nullptr);
  Context c;
  const fs::path dir =
      fs::temp_directory_path() / ("gml_abi_merger_args_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string out = (dir / "never.fits").string();
  std::vector<float> img(4 * 32 * 32, 0.5f);
  int64_t n = -7;

  // simulate
  merger_expect_invalid(gml_merger_simulate(nullptr, nullptr, out.c_str(), &n),
                        "simulate NULL ctx");
  merger_expect_invalid(gml_merger_simulate(c.ctx, nullptr, nullptr, &n), "simulate NULL path");
  gml_merger_simulate_options so;
  gml_merger_simulate_options_default(&so);
  so.image_size = 0;
  merger_expect_invalid(gml_merger_simulate(c.ctx, &so, out.c_str(), &n), "simulate size 0");
  EXPECT_NE(std::string(gml_last_error()).find("image_size"), std::string::npos)
      << gml_last_error();
  gml_merger_simulate_options_default(&so);
  so.n_cameras = 15;
  merger_expect_invalid(gml_merger_simulate(c.ctx, &so, out.c_str(), &n), "simulate 15 cameras");
  gml_merger_simulate_options_default(&so);
  so.n_mass_ratios = 2;  // without the array
  merger_expect_invalid(gml_merger_simulate(c.ctx, &so, out.c_str(), &n),
                        "simulate ratios count only");
  gml_merger_simulate_options_default(&so);
  so.struct_size = 8;
  merger_expect_invalid(gml_merger_simulate(c.ctx, &so, out.c_str(), &n), "simulate old struct");
  EXPECT_EQ(n, -7);
  EXPECT_FALSE(fs::exists(out));

  // train
  gml_merger_train_report rep{};
  rep.struct_size = sizeof rep;
  merger_expect_invalid(gml_merger_train(nullptr, "x.fits", nullptr, out.c_str(), &rep),
                        "train NULL ctx");
  merger_expect_invalid(gml_merger_train(c.ctx, nullptr, nullptr, out.c_str(), &rep),
                        "train NULL data");
  merger_expect_invalid(gml_merger_train(c.ctx, "x.fits", nullptr, nullptr, &rep),
                        "train NULL model");
  gml_merger_train_options bad_schedule;
  gml_merger_train_options_default(&bad_schedule);
  EXPECT_STREQ(bad_schedule.lr_schedule, "constant");
  bad_schedule.lr_schedule = "linear";
  merger_expect_invalid(gml_merger_train(c.ctx, "x.fits", &bad_schedule, out.c_str(), &rep),
                        "train unknown lr_schedule");
  gml_merger_train_report small{};
  merger_expect_invalid(gml_merger_train(c.ctx, "x.fits", nullptr, out.c_str(), &small),
                        "train report without struct_size");
  EXPECT_NE(
      gml_merger_train(c.ctx, (dir / "missing.fits").string().c_str(), nullptr, out.c_str(), &rep),
      GML_OK);
  EXPECT_EQ(rep.epochs, 0);
  EXPECT_FALSE(fs::exists(out));

  // model calls with a NULL model
  int64_t ch = -1;
  merger_expect_invalid(gml_merger_dims(nullptr, &ch, nullptr, nullptr, nullptr),
                        "dims NULL model");
  EXPECT_EQ(ch, -1);
  float probs[4] = {-1, -1, -1, -1};
  int32_t cls[4] = {-1, -1, -1, -1};
  merger_expect_invalid(gml_merger_classify(c.ctx, nullptr, img.data(), 4, 1, 32, 32, 0, nullptr,
                                            cls, probs, nullptr, nullptr),
                        "classify NULL model");
  merger_expect_invalid(gml_merger_classify(nullptr, nullptr, img.data(), 4, 1, 32, 32, 0, nullptr,
                                            cls, probs, nullptr, nullptr),
                        "classify NULL ctx");
  EXPECT_EQ(cls[0], -1);
  float latent[64];
  merger_expect_invalid(
      gml_merger_encode(c.ctx, nullptr, img.data(), 4, 1, 32, 32, 0, latent, nullptr),
      "encode NULL model");
  merger_expect_invalid(gml_merger_index_build(c.ctx, nullptr, "a.fits", 0, out.c_str(), &n),
                        "index NULL model");
  merger_expect_invalid(gml_merger_index_info(nullptr, &n, nullptr), "index_info NULL path");
  EXPECT_NE(gml_merger_index_info((dir / "missing.h5").string().c_str(), &n, nullptr), GML_OK);
  EXPECT_EQ(n, -7);
  int64_t rows[6];
  merger_expect_invalid(gml_merger_search(c.ctx, nullptr, "i.h5", img.data(), 1, 1, 32, 32, 0, 6,
                                          rows, nullptr, nullptr, nullptr, nullptr, nullptr),
                        "search NULL model");
  gml_merger_classify_request crq{};
  crq.struct_size = sizeof crq;
  crq.images = img.data();
  crq.n = 4;
  crq.channels = 1;
  crq.height = 32;
  crq.width = 32;
  gml_merger_classify_result crs{};
  crs.struct_size = sizeof crs;
  merger_expect_invalid(gml_merger_classify_batch(c.ctx, nullptr, &crq, &crs),
                        "classify_batch model");
  merger_expect_invalid(gml_merger_classify_batch(nullptr, nullptr, &crq, &crs),
                        "classify_batch ctx");
  gml_merger_search_request srq{};
  srq.struct_size = sizeof srq;
  gml_merger_search_result srs{};
  srs.struct_size = sizeof srs;
  merger_expect_invalid(gml_merger_search_batch(c.ctx, nullptr, &srq, &srs), "search_batch model");
  merger_expect_invalid(gml_merger_search_batch(nullptr, nullptr, &srq, &srs), "search_batch ctx");
  int64_t labels[4];
  merger_expect_invalid(gml_merger_cluster(nullptr, "i.h5", 2, 5, labels, 4, nullptr),
                        "cluster NULL ctx");
  merger_expect_invalid(gml_merger_cluster(c.ctx, nullptr, 2, 5, labels, 4, nullptr),
                        "cluster NULL path");
  merger_expect_invalid(gml_merger_cluster(c.ctx, "i.h5", 1, 5, labels, 4, nullptr),
                        "cluster 1 cluster");
  merger_expect_invalid(gml_merger_cluster(c.ctx, "i.h5", 2, 5, nullptr, 4, nullptr),
                        "cluster NULL labels");
  fs::remove_all(dir);
}

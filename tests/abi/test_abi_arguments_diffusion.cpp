// Diffusion-family entry points called with NULL or invalid arguments: each
// returns the documented error status with a message, leaves its outputs
// untouched, writes no file and never crashes. (A model of another family
// is refused with GML_ERR_FAMILY by every one of them: tests/robustness.)
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "../support/prepared_fixture.h"
#include "galaxyml/galaxyml.h"

namespace {

// Each name below has a case in the tests of this file.
const char* const kCoveredDiffusion[] = {
    "gml_diffusion_options_default",
    "gml_diffusion_image_shape",
    "gml_diffusion_txt2img",
    "gml_diffusion_img2img",
    "gml_diffusion_tokenize",
    "gml_diffusion_encode_prompt",
    "gml_diffusion_convert",
    "gml_diffusion_describe",
    "gml_diffusion_procedural_options_default",
    "gml_diffusion_procedural_galaxies",
};

const std::string kArgsTinySd = std::string(GML_GOLDEN) + "/diffusion/tiny_sd";
constexpr float kDiffusionSentinel = -12345.0f;

void diffusion_expect_invalid(gml_status s, const char* what) {
  EXPECT_EQ(s, GML_ERR_INVALID_ARGUMENT) << what << ": " << gml_last_error();
  EXPECT_STRNE(gml_last_error(), "") << what;
}

class AbiArgumentsDiffusion : public gml::test::PreparedFixture<AbiArgumentsDiffusion> {
 protected:
  friend class gml::test::PreparedFixture<AbiArgumentsDiffusion>;
  static void Prepare() {
    gml_context_options o;
    gml_context_options_default(&o);
    o.device = "cpu";
    ASSERT_EQ(gml_context_create(&o, &ctx_), GML_OK) << gml_last_error();
    ASSERT_EQ(gml_model_load(ctx_, kArgsTinySd.c_str(), nullptr, &model_), GML_OK)
        << gml_last_error();
  }
  static void TearDownTestSuite() {
    gml_model_free(model_);
    gml_context_free(ctx_);
  }
  void SetUp() override {
    PreparedFixture::SetUp();
    ASSERT_NE(model_, nullptr);
    gml_diffusion_options_default(&opts_);
    opts_.steps = 2;
    opts_.height = opts_.width = 16;
  }
  static inline gml_context* ctx_ = nullptr;
  static inline gml_model* model_ = nullptr;
  gml_diffusion_options opts_{};
  const char* prompt_ = "a galaxy";
  std::vector<float> images_ = std::vector<float>(3 * 16 * 16, kDiffusionSentinel);
  std::vector<float> reference_ = std::vector<float>(3 * 16 * 16, 0.5f);

  bool images_untouched() const {
    for (float v : images_)
      if (v != kDiffusionSentinel) return false;
    return true;
  }
};

TEST_F(AbiArgumentsDiffusion, CoverageListNamesEveryCase) {
  EXPECT_EQ(sizeof kCoveredDiffusion / sizeof *kCoveredDiffusion, 10u);
}

TEST_F(AbiArgumentsDiffusion, OptionsDefaultIgnoresNull) {
  gml_diffusion_options_default(nullptr);
}

TEST_F(AbiArgumentsDiffusion, ImageShape) {
  int64_t shape[4] = {-1, -1, -1, -1};
  diffusion_expect_invalid(gml_diffusion_image_shape(nullptr, &opts_, 1, shape), "NULL model");
  diffusion_expect_invalid(gml_diffusion_image_shape(model_, &opts_, 1, nullptr), "NULL shape");
  diffusion_expect_invalid(gml_diffusion_image_shape(model_, &opts_, 0, shape), "no prompt");
  opts_.struct_size = 0;
  diffusion_expect_invalid(gml_diffusion_image_shape(model_, &opts_, 1, shape), "struct_size 0");
  EXPECT_EQ(shape[0], -1);
}

TEST_F(AbiArgumentsDiffusion, Txt2img) {
  const size_t cap = images_.size();
  diffusion_expect_invalid(
      gml_diffusion_txt2img(nullptr, model_, &prompt_, 1, &opts_, images_.data(), cap), "NULL ctx");
  diffusion_expect_invalid(
      gml_diffusion_txt2img(ctx_, nullptr, &prompt_, 1, &opts_, images_.data(), cap), "NULL model");
  diffusion_expect_invalid(
      gml_diffusion_txt2img(ctx_, model_, nullptr, 1, &opts_, images_.data(), cap), "NULL prompts");
  const char* null_prompt = nullptr;
  diffusion_expect_invalid(
      gml_diffusion_txt2img(ctx_, model_, &null_prompt, 1, &opts_, images_.data(), cap),
      "a NULL prompt");
  diffusion_expect_invalid(gml_diffusion_txt2img(ctx_, model_, &prompt_, 1, &opts_, nullptr, cap),
                           "NULL images");
  diffusion_expect_invalid(
      gml_diffusion_txt2img(ctx_, model_, &prompt_, -1, &opts_, images_.data(), cap),
      "negative count");
  diffusion_expect_invalid(
      gml_diffusion_txt2img(ctx_, model_, &prompt_, INT64_MAX, &opts_, images_.data(), cap),
      "overflowing count");
  opts_.n_per_prompt = INT64_MAX / 2;  // prompts x images would overflow int64
  diffusion_expect_invalid(
      gml_diffusion_txt2img(ctx_, model_, &prompt_, 4, &opts_, images_.data(), cap),
      "overflowing prompts x images");
  opts_.n_per_prompt = 1;
  opts_.guidance = NAN;
  diffusion_expect_invalid(
      gml_diffusion_txt2img(ctx_, model_, &prompt_, 1, &opts_, images_.data(), cap),
      "NaN guidance");
  opts_.guidance = 7.5;
  opts_.precision = "float64";
  diffusion_expect_invalid(
      gml_diffusion_txt2img(ctx_, model_, &prompt_, 1, &opts_, images_.data(), cap),
      "an unknown precision");
  EXPECT_NE(std::string(gml_last_error()).find("bfloat16"), std::string::npos) << gml_last_error();
  EXPECT_TRUE(images_untouched());
}

TEST_F(AbiArgumentsDiffusion, Img2img) {
  const size_t cap = images_.size();
  const float* ref = reference_.data();
  diffusion_expect_invalid(gml_diffusion_img2img(ctx_, model_, &prompt_, 1, nullptr, 1, 3, 16, 16,
                                                 &opts_, images_.data(), cap),
                           "NULL reference");
  diffusion_expect_invalid(gml_diffusion_img2img(ctx_, model_, &prompt_, 1, ref, 0, 3, 16, 16,
                                                 &opts_, images_.data(), cap),
                           "no reference");
  diffusion_expect_invalid(gml_diffusion_img2img(ctx_, model_, &prompt_, 1, ref, 1, 0, 16, 16,
                                                 &opts_, images_.data(), cap),
                           "no channel");
  diffusion_expect_invalid(gml_diffusion_img2img(ctx_, model_, &prompt_, 1, ref, 1, 3, 16, -16,
                                                 &opts_, images_.data(), cap),
                           "negative width");
  reference_[7] = NAN;
  diffusion_expect_invalid(gml_diffusion_img2img(ctx_, model_, &prompt_, 1, ref, 1, 3, 16, 16,
                                                 &opts_, images_.data(), cap),
                           "NaN pixel");
  EXPECT_TRUE(images_untouched());
}

TEST_F(AbiArgumentsDiffusion, TokenizeAndEncode) {
  int64_t ids[77];
  size_t length = 0;
  diffusion_expect_invalid(gml_diffusion_tokenize(nullptr, prompt_, ids, nullptr, 77, &length),
                           "model");
  diffusion_expect_invalid(gml_diffusion_tokenize(model_, nullptr, ids, nullptr, 77, &length),
                           "prompt");
  diffusion_expect_invalid(gml_diffusion_tokenize(model_, prompt_, ids, nullptr, 77, nullptr),
                           "length");
  diffusion_expect_invalid(
      gml_diffusion_tokenize(model_, "\xff\xfe galaxy", ids, nullptr, 77, &length),
      "invalid UTF-8");

  std::vector<float> embedding(77 * 32, kDiffusionSentinel);
  diffusion_expect_invalid(
      gml_diffusion_encode_prompt(nullptr, model_, prompt_, 0, embedding.data(), embedding.size(),
                                  nullptr, nullptr),
      "NULL ctx");
  diffusion_expect_invalid(gml_diffusion_encode_prompt(ctx_, model_, nullptr, 0, embedding.data(),
                                                       embedding.size(), nullptr, nullptr),
                           "NULL prompt");
  diffusion_expect_invalid(
      gml_diffusion_encode_prompt(ctx_, model_, "{galaxy:4.5}", 0, embedding.data(),
                                  embedding.size(), nullptr, nullptr),
      "a weight outside (0, 4]");
  for (float v : embedding) ASSERT_EQ(v, kDiffusionSentinel);
}

TEST_F(AbiArgumentsDiffusion, ConvertAndDescribe) {
  const std::string out = "/tmp/gml_abi_args_diffusion_" + std::to_string(::getpid()) + ".h5";
  diffusion_expect_invalid(gml_diffusion_convert(nullptr, out.c_str()), "NULL folder");
  diffusion_expect_invalid(gml_diffusion_convert(kArgsTinySd.c_str(), nullptr), "NULL out_path");
  EXPECT_EQ(gml_diffusion_convert("/nonexistent/folder", out.c_str()), GML_ERR_NOT_FOUND);
  EXPECT_NE(gml_diffusion_convert(kArgsTinySd.c_str(), "/nonexistent/dir/model.h5"), GML_OK);
  EXPECT_NE(::access(out.c_str(), F_OK), 0);

  char buf[8] = "xxxxxxx";
  size_t length = 0;
  diffusion_expect_invalid(gml_diffusion_describe(nullptr, buf, sizeof buf, &length), "NULL model");
  EXPECT_EQ(gml_diffusion_describe(model_, buf, sizeof buf, &length), GML_ERR_CAPACITY);
  EXPECT_STREQ(buf, "xxxxxxx");
}

TEST_F(AbiArgumentsDiffusion, ProceduralGalaxies) {
  gml_diffusion_procedural_options_default(nullptr);
  gml_diffusion_procedural_options o;
  gml_diffusion_procedural_options_default(&o);
  EXPECT_EQ(o.size, 64);
  EXPECT_EQ(o.n_bands, 0);
  EXPECT_EQ(o.noise, 1);
  o.size = 16;
  const std::string out = "/tmp/gml_abi_args_procedural_" + std::to_string(::getpid()) + ".fits";
  auto invalid = [&](gml_status s, const char* what, const char* in_message) {
    diffusion_expect_invalid(s, what);
    EXPECT_NE(std::string(gml_last_error()).find(in_message), std::string::npos)
        << what << ": " << gml_last_error();
    EXPECT_NE(::access(out.c_str(), F_OK), 0) << what << " left a file";
  };
  invalid(gml_diffusion_procedural_galaxies(nullptr, "disk", 2, &o, out.c_str()), "NULL ctx",
          "ctx");
  invalid(gml_diffusion_procedural_galaxies(ctx_, "disk", 2, &o, nullptr), "NULL out_path",
          "out_path");
  invalid(gml_diffusion_procedural_galaxies(ctx_, "disk", 0, &o, out.c_str()), "no galaxies",
          "n_galaxies");
  invalid(gml_diffusion_procedural_galaxies(ctx_, "disk, spirall", 2, &o, out.c_str()),
          "unknown tag", "nearest: 'spiral'");
  invalid(gml_diffusion_procedural_galaxies(ctx_, "smooth, 2 arms", 2, &o, out.c_str()),
          "conflicting tags", "'smooth' and '2 arms' exclude each other");
  gml_diffusion_procedural_options bad = o;
  bad.size = 8;
  invalid(gml_diffusion_procedural_galaxies(ctx_, nullptr, 2, &bad, out.c_str()), "size 8", "size");
  bad = o;
  const double wavelength[2] = {4770, 6231}, fwhm[2] = {1.5, 1.4}, sky[2] = {0.05, 0.05};
  bad.n_bands = 2;
  bad.band_wavelength = wavelength;
  invalid(gml_diffusion_procedural_galaxies(ctx_, nullptr, 2, &bad, out.c_str()),
          "missing band arrays", "band_psf_fwhm");
  bad.band_psf_fwhm = fwhm;
  bad.band_sky_sigma = sky;
  bad.band_names = "g";
  invalid(gml_diffusion_procedural_galaxies(ctx_, nullptr, 2, &bad, out.c_str()),
          "one band name for two bands", "band_names");
  bad = o;
  bad.band_wavelength = wavelength;
  invalid(gml_diffusion_procedural_galaxies(ctx_, nullptr, 2, &bad, out.c_str()),
          "band arrays without n_bands", "n_bands");
  bad = o;
  bad.p_bar = 1.5;
  invalid(gml_diffusion_procedural_galaxies(ctx_, nullptr, 2, &bad, out.c_str()),
          "a probability above 1", "[0, 1]");
  EXPECT_NE(gml_diffusion_procedural_galaxies(ctx_, nullptr, 2, &o, "/nonexistent/dir/set.fits"),
            GML_OK);

  // The call itself, and a cancelled one that leaves nothing behind.
  ASSERT_EQ(gml_diffusion_procedural_galaxies(ctx_, "merger", 3, &o, out.c_str()), GML_OK)
      << gml_last_error();
  EXPECT_EQ(::access(out.c_str(), F_OK), 0);
  ::unlink(out.c_str());
  gml_cancel(ctx_);
  EXPECT_EQ(gml_diffusion_procedural_galaxies(ctx_, nullptr, 300, &o, out.c_str()),
            GML_ERR_CANCELLED);
  gml_cancel_reset(ctx_);
  EXPECT_NE(::access(out.c_str(), F_OK), 0);
}

}  // namespace

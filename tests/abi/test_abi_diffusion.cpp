// The diffusion family through the shipped library, on the tiny random
// Stable Diffusion pipeline of tests/golden/diffusion (its images equal
// diffusers' in tests/diffusion/test_sd_pipeline.cpp): loading a diffusers
// folder and the file converted from it, text-to-image and img2img into
// caller buffers, the documented errors, progress and cancellation.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "../support/prepared_fixture.h"
#include "galaxyml/diffusion.h"

namespace {

const std::string kTinySd = std::string(GML_GOLDEN) + "/diffusion/tiny_sd";

std::string diffusion_temp_path(const char* name) {
  return "/tmp/gml_abi_diffusion_" + std::to_string(::getpid()) + "_" + name;
}

bool diffusion_file_exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

std::string describe_diffusion(const gml_model* m) {
  size_t length = 0;
  EXPECT_EQ(gml_diffusion_describe(m, nullptr, 0, &length), GML_OK);  // the length query
  std::string text(length + 1, '\0');
  EXPECT_EQ(gml_diffusion_describe(m, text.data(), text.size(), &length), GML_OK)
      << gml_last_error();
  text.resize(length);
  return text;
}

class AbiDiffusion : public gml::test::PreparedFixture<AbiDiffusion> {
 protected:
  friend class gml::test::PreparedFixture<AbiDiffusion>;
  static void Prepare() {
    gml_context_options o;
    gml_context_options_default(&o);
    o.device = "cpu";
    o.seed = 5;
    o.seed_from_init = 0;
    ASSERT_EQ(gml_context_create(&o, &ctx_), GML_OK) << gml_last_error();
    ASSERT_EQ(gml_model_load(ctx_, kTinySd.c_str(), "diffusion", &model_), GML_OK)
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
    opts_.steps = 3;
    opts_.height = 32;
    opts_.width = 24;
  }

  // Images of `prompts` under opts_ (shape checked against image_shape).
  std::vector<float> txt2img(const std::vector<const char*>& prompts, gml_model* m = model_) {
    int64_t shape[4] = {0, 0, 0, 0};
    EXPECT_EQ(gml_diffusion_image_shape(m, &opts_, static_cast<int64_t>(prompts.size()), shape),
              GML_OK)
        << gml_last_error();
    std::vector<float> images(static_cast<size_t>(shape[0] * shape[1] * shape[2] * shape[3]));
    EXPECT_EQ(gml_diffusion_txt2img(ctx_, m, prompts.data(), static_cast<int64_t>(prompts.size()),
                                    &opts_, images.data(), images.size()),
              GML_OK)
        << gml_last_error();
    return images;
  }

  static inline gml_context* ctx_ = nullptr;
  static inline gml_model* model_ = nullptr;
  gml_diffusion_options opts_{};
};

TEST_F(AbiDiffusion, DefaultsAreGalaxySdsSampler) {
  gml_diffusion_options o;
  gml_diffusion_options_default(&o);
  EXPECT_EQ(o.struct_size, sizeof o);
  EXPECT_EQ(o.steps, 40);
  EXPECT_EQ(o.scheduler, nullptr);  // euler_a
  EXPECT_DOUBLE_EQ(o.guidance, 7.5);
  EXPECT_DOUBLE_EQ(o.strength, 0.8);
  EXPECT_EQ(o.n_per_prompt, 1);
  EXPECT_EQ(o.batch_size, 1);
  EXPECT_EQ(o.height, 0);
  gml_diffusion_options_default(nullptr);
}

TEST_F(AbiDiffusion, ShapeFollowsPromptsAndTheModelsNativeSize) {
  int64_t shape[4];
  opts_.n_per_prompt = 3;
  ASSERT_EQ(gml_diffusion_image_shape(model_, &opts_, 2, shape), GML_OK) << gml_last_error();
  EXPECT_EQ(shape[0], 6);
  EXPECT_EQ(shape[1], 3);
  EXPECT_EQ(shape[2], 32);
  EXPECT_EQ(shape[3], 24);
  opts_.height = opts_.width = 0;  // the UNet's sample_size (8) times the VAE's factor
  ASSERT_EQ(gml_diffusion_image_shape(model_, &opts_, 1, shape), GML_OK);
  EXPECT_GT(shape[2], 0);
  EXPECT_EQ(shape[2], shape[3]);
  EXPECT_EQ(shape[2] % 8, 0);
  opts_.height = 30;
  EXPECT_EQ(gml_diffusion_image_shape(model_, &opts_, 1, shape), GML_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(gml_last_error()).find("multiples of"), std::string::npos);
}

TEST_F(AbiDiffusion, SeedReproducesImagesWhateverTheBatch) {
  opts_.seed = 11;
  opts_.n_per_prompt = 3;
  const std::vector<float> a = txt2img({"a barred spiral galaxy"});
  EXPECT_EQ(a, txt2img({"a barred spiral galaxy"}));  // the same call: the same bits
  opts_.batch_size = 2;
  const std::vector<float> b = txt2img({"a barred spiral galaxy"});
  ASSERT_EQ(a.size(), static_cast<size_t>(3 * 3 * 32 * 24));
  // Batched convolutions round differently, nothing more.
  double batch_difference = 0;
  for (size_t i = 0; i < a.size(); ++i)
    batch_difference = std::max(batch_difference, static_cast<double>(std::fabs(a[i] - b[i])));
  EXPECT_LT(batch_difference, 1e-5);
  for (float v : a) {
    ASSERT_TRUE(std::isfinite(v));
    ASSERT_GE(v, 0.0f);
    ASSERT_LE(v, 1.0f);
  }
  // Image i comes from seed + i: the second image of seed 11 is the first
  // of seed 12.
  opts_.seed = 12;
  opts_.n_per_prompt = 1;
  opts_.batch_size = 1;
  const std::vector<float> c = txt2img({"a barred spiral galaxy"});
  const size_t one = c.size();
  EXPECT_TRUE(std::equal(c.begin(), c.end(), a.begin() + one));
  // Another prompt moves the images.
  opts_.seed = 11;
  const std::vector<float> d = txt2img({"an {elliptical:1.3} galaxy"});
  EXPECT_FALSE(std::equal(d.begin(), d.end(), a.begin()));
}

TEST_F(AbiDiffusion, EverySchedulerRuns) {
  for (const char* s :
       {"euler_a", "euler", "ddim", "dpmpp_2m", "dpmpp_2m_karras", "ddpm", "pndm"}) {
    opts_.scheduler = s;
    opts_.seed = 3;
    const std::vector<float> img = txt2img({"a galaxy"});
    EXPECT_FALSE(img.empty()) << s;
  }
  opts_.scheduler = "dpmpp_2m";
  const std::vector<float> plain = txt2img({"a galaxy"});
  opts_.scheduler = "dpmpp_2m_karras";
  const std::vector<float> karras = txt2img({"a galaxy"});
  EXPECT_NE(plain, karras);
}

// 16-bit networks make the float32 images to their rounding, channels-last
// the same images; each is a real change of arithmetic, not the float32
// path again.
TEST_F(AbiDiffusion, PrecisionAndChannelsLastKeepTheImages) {
  EXPECT_EQ(opts_.precision, nullptr);  // float32
  EXPECT_EQ(opts_.channels_last, 0);
  opts_.seed = 9;
  const std::vector<float> reference = txt2img({"a face-on spiral galaxy"});
  auto max_difference = [&](const std::vector<float>& other) {
    EXPECT_EQ(other.size(), reference.size());
    double d = 0;
    for (size_t i = 0; i < reference.size() && i < other.size(); ++i)
      d = std::max(d, static_cast<double>(std::fabs(reference[i] - other[i])));
    return d;
  };
  opts_.channels_last = 1;
  EXPECT_LT(max_difference(txt2img({"a face-on spiral galaxy"})), 1e-5);
  opts_.channels_last = 0;
  for (const char* precision : {"bfloat16", "float16"}) {
    opts_.precision = precision;
    const double d = max_difference(txt2img({"a face-on spiral galaxy"}));
    EXPECT_GT(d, 1e-5) << precision << ": the images are float32's to the bit";
    EXPECT_LT(d, 0.1) << precision;
  }
}

TEST_F(AbiDiffusion, BadRequestsAreClearErrors) {
  const char* prompt = "a galaxy";
  std::vector<float> images(3 * 32 * 24);
  auto run = [&] {
    return gml_diffusion_txt2img(ctx_, model_, &prompt, 1, &opts_, images.data(), images.size());
  };
  opts_.scheduler = "lms";
  EXPECT_EQ(run(), GML_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(gml_last_error()).find("euler_a"), std::string::npos) << gml_last_error();
  opts_.scheduler = nullptr;
  opts_.steps = 0;
  EXPECT_EQ(run(), GML_ERR_INVALID_ARGUMENT);
  opts_.steps = 3;
  opts_.width = 20;
  EXPECT_EQ(run(), GML_ERR_INVALID_ARGUMENT);
  opts_.width = 24;
  const char* bad = "a {barred galaxy";
  EXPECT_EQ(gml_diffusion_txt2img(ctx_, model_, &bad, 1, &opts_, images.data(), images.size()),
            GML_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(gml_last_error()).find("character 3"), std::string::npos)
      << gml_last_error();
  // The caller is told the size it needs.
  opts_.n_per_prompt = 2;
  EXPECT_EQ(run(), GML_ERR_CAPACITY);
  EXPECT_NE(std::string(gml_last_error()).find(std::to_string(2 * 3 * 32 * 24)), std::string::npos)
      << gml_last_error();
  opts_.n_per_prompt = INT64_MAX / 2;
  EXPECT_EQ(run(), GML_ERR_INVALID_ARGUMENT);
  opts_.n_per_prompt = 1;
  gml_diffusion_options zero{};
  EXPECT_EQ(gml_diffusion_txt2img(ctx_, model_, &prompt, 1, &zero, images.data(), images.size()),
            GML_ERR_INVALID_ARGUMENT);
}

TEST_F(AbiDiffusion, Img2imgStartsFromTheReferenceAndRefusesBadOnes) {
  const char* prompt = "a galaxy";
  const size_t n = 3 * 32 * 24;
  std::vector<float> reference(n), flat(n, 0.5f), images(n), again(n), other(n);
  for (size_t i = 0; i < n; ++i) reference[i] = static_cast<float>(i % 97) / 96.0f;
  opts_.seed = 7;
  opts_.strength = 0.6;
  opts_.steps = 5;
  auto img2img = [&](const std::vector<float>& ref, std::vector<float>& out) {
    return gml_diffusion_img2img(ctx_, model_, &prompt, 1, ref.data(), 1, 3, 32, 24, &opts_,
                                 out.data(), n);
  };
  ASSERT_EQ(img2img(reference, images), GML_OK) << gml_last_error();
  ASSERT_EQ(img2img(reference, again), GML_OK) << gml_last_error();
  ASSERT_EQ(img2img(flat, other), GML_OK) << gml_last_error();
  EXPECT_EQ(images, again);
  EXPECT_NE(images, other);  // the reference is what the images start from
  // One reference per image is accepted too.
  opts_.n_per_prompt = 2;
  std::vector<float> two(2 * n), out2(2 * n);
  std::copy(reference.begin(), reference.end(), two.begin());
  std::copy(flat.begin(), flat.end(), two.begin() + static_cast<std::ptrdiff_t>(n));
  ASSERT_EQ(gml_diffusion_img2img(ctx_, model_, &prompt, 1, two.data(), 2, 3, 32, 24, &opts_,
                                  out2.data(), out2.size()),
            GML_OK)
      << gml_last_error();
  // The same image as with the one reference, up to the rounding of a
  // batch of two through the VAE encoder.
  for (size_t i = 0; i < n; ++i) ASSERT_NEAR(out2[i], images[i], 1e-5) << i;
  opts_.n_per_prompt = 1;

  opts_.strength = 1.5;
  EXPECT_EQ(gml_diffusion_img2img(ctx_, model_, &prompt, 1, reference.data(), 1, 3, 32, 24, &opts_,
                                  images.data(), n),
            GML_ERR_INVALID_ARGUMENT);
  opts_.strength = 0.1;  // int(5 * 0.1) = 0 steps
  EXPECT_EQ(gml_diffusion_img2img(ctx_, model_, &prompt, 1, reference.data(), 1, 3, 32, 24, &opts_,
                                  images.data(), n),
            GML_ERR_INVALID_ARGUMENT);
  opts_.strength = 0.6;
  EXPECT_EQ(gml_diffusion_img2img(ctx_, model_, &prompt, 1, reference.data(), 2, 3, 32, 24, &opts_,
                                  images.data(), n),
            GML_ERR_INVALID_ARGUMENT);
  // A reference of another size or band count.
  EXPECT_EQ(gml_diffusion_img2img(ctx_, model_, &prompt, 1, reference.data(), 1, 3, 24, 32, &opts_,
                                  images.data(), n),
            GML_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(gml_last_error()).find("this model makes 3 x 32 x 24"), std::string::npos)
      << gml_last_error();
  EXPECT_EQ(gml_diffusion_img2img(ctx_, model_, &prompt, 1, reference.data(), 1, 1, 32, 24, &opts_,
                                  images.data(), n),
            GML_ERR_INVALID_ARGUMENT);
  // Without a size in the options, the images take the reference's.
  gml_diffusion_options sized = opts_;
  sized.height = sized.width = 0;
  EXPECT_EQ(gml_diffusion_img2img(ctx_, model_, &prompt, 1, reference.data(), 1, 3, 32, 24, &sized,
                                  other.data(), n),
            GML_OK)
      << gml_last_error();
  EXPECT_EQ(other, images);
  reference[5] = NAN;
  EXPECT_EQ(gml_diffusion_img2img(ctx_, model_, &prompt, 1, reference.data(), 1, 3, 32, 24, &opts_,
                                  images.data(), n),
            GML_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(gml_last_error()).find("NaN"), std::string::npos) << gml_last_error();
}

TEST_F(AbiDiffusion, TokenizeAndEncodeForInspection) {
  size_t length = 0;
  ASSERT_EQ(gml_diffusion_tokenize(model_, "a {bar:1.5} galaxy", nullptr, nullptr, 0, &length),
            GML_OK)
      << gml_last_error();
  ASSERT_EQ(length, 77u);
  std::vector<int64_t> ids(length);
  std::vector<float> weights(length);
  ASSERT_EQ(gml_diffusion_tokenize(model_, "a {bar:1.5} galaxy", ids.data(), weights.data(), length,
                                   &length),
            GML_OK);
  // The tiny checkpoint's vocabulary splits words into a few pieces: the
  // tag's pieces carry its weight, the rest 1, and the end token pads.
  std::vector<int64_t> unweighted(length);
  ASSERT_EQ(
      gml_diffusion_tokenize(model_, "a bar galaxy", unweighted.data(), nullptr, length, &length),
      GML_OK);
  EXPECT_EQ(ids, unweighted);  // weights change no token
  EXPECT_EQ(ids[76], ids[75]);
  int tagged = 0;
  for (size_t i = 0; i < length; ++i) {
    if (weights[i] == 1.5f) {
      ++tagged;
    } else {
      EXPECT_FLOAT_EQ(weights[i], 1.0f) << i;
    }
  }
  EXPECT_GE(tagged, 1);
  EXPECT_FLOAT_EQ(weights[0], 1.0f);
  EXPECT_EQ(gml_diffusion_tokenize(model_, "a galaxy", ids.data(), nullptr, 10, &length),
            GML_ERR_CAPACITY);
  EXPECT_EQ(gml_diffusion_tokenize(model_, "a galaxy}", ids.data(), nullptr, 77, &length),
            GML_ERR_INVALID_ARGUMENT);

  int64_t tokens = 0, width = 0;
  ASSERT_EQ(gml_diffusion_encode_prompt(ctx_, model_, "a galaxy", 0, nullptr, 0, &tokens, &width),
            GML_OK)
      << gml_last_error();
  EXPECT_EQ(tokens, 77);
  EXPECT_EQ(width, 32);  // the tiny encoder's hidden size
  std::vector<float> plain(static_cast<size_t>(tokens * width)), weighted(plain.size());
  ASSERT_EQ(gml_diffusion_encode_prompt(ctx_, model_, "a galaxy", 0, plain.data(), plain.size(),
                                        nullptr, nullptr),
            GML_OK);
  ASSERT_EQ(gml_diffusion_encode_prompt(ctx_, model_, "a {galaxy:2}", 0, weighted.data(),
                                        weighted.size(), nullptr, nullptr),
            GML_OK);
  std::vector<float> w(77);
  ASSERT_EQ(gml_diffusion_tokenize(model_, "a {galaxy:2}", nullptr, w.data(), 77, &length), GML_OK);
  // Eq. 4: each token's embedding is scaled by its weight after the encoder.
  for (int64_t t = 0; t < tokens; ++t)
    for (int64_t k = 0; k < width; ++k)
      EXPECT_NEAR(weighted[t * width + k], w[t] * plain[t * width + k], 1e-5) << t;
  EXPECT_EQ(
      gml_diffusion_encode_prompt(ctx_, model_, "a galaxy", 0, plain.data(), 10, nullptr, nullptr),
      GML_ERR_CAPACITY);
}

TEST_F(AbiDiffusion, ConvertedFileLoadsAndMakesTheSameImages) {
  const std::string path = diffusion_temp_path("tiny.h5");
  std::remove(path.c_str());
  ASSERT_EQ(gml_diffusion_convert(kTinySd.c_str(), path.c_str()), GML_OK) << gml_last_error();
  gml_model* file_model = nullptr;
  ASSERT_EQ(gml_model_load(ctx_, path.c_str(), "diffusion", &file_model), GML_OK)
      << gml_last_error();
  gml_model_info info;
  info.struct_size = sizeof info;
  ASSERT_EQ(gml_model_file_inspect(path.c_str(), "diffusion", &info), GML_OK);
  // The folder and its file carry one checksum.
  const std::string folder_text = describe_diffusion(model_),
                    file_text = describe_diffusion(file_model);
  EXPECT_NE(folder_text.find(info.checksum), std::string::npos) << folder_text;
  EXPECT_NE(file_text.find(info.checksum), std::string::npos) << file_text;
  EXPECT_NE(file_text.find("\"native_size\""), std::string::npos);

  opts_.seed = 9;
  opts_.guidance = 3.0;
  const std::vector<float> a = txt2img({"a {ring:1.2} galaxy"}, model_);
  const std::vector<float> b = txt2img({"a {ring:1.2} galaxy"}, file_model);
  EXPECT_EQ(a, b);
  gml_model_free(file_model);
  std::remove(path.c_str());

  // A folder that is not a pipeline is refused, and nothing is written.
  EXPECT_EQ(gml_diffusion_convert((kTinySd + "/unet").c_str(), path.c_str()), GML_ERR_NOT_FOUND);
  EXPECT_FALSE(diffusion_file_exists(path));
  // A model of this family is refused where another family is expected.
  gml_model* wrong = nullptr;
  EXPECT_EQ(gml_model_load(ctx_, kTinySd.c_str(), "flow", &wrong), GML_ERR_FAMILY);
  EXPECT_EQ(wrong, nullptr);
}

int32_t count_diffusion_steps(const gml_progress* p, void* user) {
  auto* seen = static_cast<std::vector<int64_t>*>(user);
  seen->push_back(p->done);
  seen->push_back(p->total);
  return 0;
}

int32_t stop_diffusion_at_once(const gml_progress*, void*) {
  return 1;
}

TEST_F(AbiDiffusion, ProgressCountsStepsAndCancelStops) {
  std::vector<int64_t> seen;
  ASSERT_EQ(gml_context_set_progress(ctx_, count_diffusion_steps, &seen), GML_OK);
  opts_.n_per_prompt = 2;
  opts_.steps = 4;
  txt2img({"a galaxy"});
  ASSERT_FALSE(seen.empty());
  EXPECT_EQ(seen[seen.size() - 2], 8);  // done: 2 images x 4 steps
  EXPECT_EQ(seen.back(), 8);            // total
  ASSERT_EQ(gml_context_set_progress(ctx_, stop_diffusion_at_once, nullptr), GML_OK);
  const char* prompt = "a galaxy";
  std::vector<float> images(2 * 3 * 32 * 24);
  EXPECT_EQ(gml_diffusion_txt2img(ctx_, model_, &prompt, 1, &opts_, images.data(), images.size()),
            GML_ERR_CANCELLED);
  ASSERT_EQ(gml_context_set_progress(ctx_, nullptr, nullptr), GML_OK);
}

}  // namespace

// The diffusion family's model file: what convert stores, that a file and
// its folder load to the same model (same images, same checksum), and the
// errors of a damaged file, each naming what is wrong.
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <cstdio>
#include <string>

#include "core/common/error.h"
#include "core/common/family_file.h"
#include "core/common/model_file.h"
#include "core/diffusion/clip_tokenizer.h"
#include "core/diffusion/diffusion_file.h"
#include "core/diffusion/noise_source.h"
#include "core/diffusion/stable_diffusion.h"

namespace {

using gml::ModelFile;
using gml::Status;
using namespace gml::diffusion;

const std::string kTinySdFolder = std::string(GML_GOLDEN_DIR) + "/diffusion/tiny_sd";

at::Tensor file_test_images(const StableDiffusion& model) {
  GenerationRequest r;
  r.prompts = {"a {barred:1.3} spiral galaxy"};
  r.negative_prompt = "noise";
  r.height = 24;
  r.width = 16;
  r.steps = 4;
  r.seed = 21;
  r.images_per_prompt = 2;
  at::Tensor out = at::empty({2, model.image_channels(), 24, 16}, at::kFloat);
  generate(model, r, out);
  return out;
}

Status file_load_status(const ModelFile& file) {
  try {
    diffusion_from_model_file(file);
  } catch (const gml::Error& e) {
    return e.status();
  }
  return Status::Ok;
}

TEST(DiffusionFile, HoldsEveryPartAsFloat32WithTheTokenizerFiles) {
  const ModelFile file = diffusers_model_file(kTinySdFolder, R"({"command": "test"})");
  EXPECT_EQ(file.family, "diffusion");
  int unet = 0, vae = 0, text = 0;
  for (const auto& [name, t] : file.tensors) {
    EXPECT_EQ(t.scalar_type(), at::kFloat) << name;
    unet += name.rfind("unet.", 0) == 0;
    vae += name.rfind("vae.", 0) == 0;
    text += name.rfind("text_encoder.", 0) == 0;
  }
  EXPECT_GT(unet, 50);
  EXPECT_GT(vae, 20);
  EXPECT_GT(text, 10);
  EXPECT_EQ(unet + vae + text, static_cast<int>(file.tensors.size()));
  const ClipTokenizerTexts texts = ClipTokenizerTexts::read_directory(kTinySdFolder + "/tokenizer");
  EXPECT_EQ(gml::tensor_text(file.extra.at("tokenizer_vocab")), texts.vocab);
  EXPECT_EQ(gml::tensor_text(file.extra.at("tokenizer_merges")), texts.merges);
  EXPECT_NE(file.provenance.find(kTinySdFolder), std::string::npos);
  EXPECT_NE(file.provenance.find("\"command\""), std::string::npos);
  EXPECT_NE(file.config.find("\"scheduler\""), std::string::npos);
}

TEST(DiffusionFile, FileAndFolderMakeTheSameImagesAndChecksum) {
  const std::string path = "/tmp/gml_diffusion_file_" + std::to_string(::getpid()) + ".h5";
  const std::string checksum = convert_diffusers(kTinySdFolder, path);
  const LoadedDiffusion from_file = load_diffusion(path);
  const LoadedDiffusion from_folder = load_diffusion(kTinySdFolder);
  std::remove(path.c_str());
  EXPECT_EQ(from_file.checksum, checksum);
  EXPECT_EQ(from_folder.checksum, checksum);
  EXPECT_TRUE(at::equal(file_test_images(*from_file.model), file_test_images(*from_folder.model)));
  EXPECT_EQ(from_file.model->tokenizer().encode_padded("Sérsic index 4, {bulge:1.2}"),
            from_folder.model->tokenizer().encode_padded("Sérsic index 4, {bulge:1.2}"));
  EXPECT_EQ(from_file.model->native_size(), from_folder.model->native_size());
}

TEST(DiffusionFile, DamagedFilesAreRefusedNamingWhatIsWrong) {
  const ModelFile good = diffusers_model_file(kTinySdFolder);
  ASSERT_EQ(file_load_status(good), Status::Ok);

  ModelFile missing_tensor = good;
  missing_tensor.tensors.erase(missing_tensor.tensors.begin());
  EXPECT_EQ(file_load_status(missing_tensor), Status::Format);

  ModelFile reshaped = good;
  at::Tensor& t = reshaped.tensors.at("vae.decoder.conv_out.bias");
  t = at::zeros({t.numel() + 1});
  try {
    diffusion_from_model_file(reshaped);
    ADD_FAILURE() << "a tensor of the wrong shape was accepted";
  } catch (const gml::Error& e) {
    EXPECT_EQ(e.status(), Status::Format);
    EXPECT_NE(std::string(e.what()).find("decoder.conv_out.bias"), std::string::npos) << e.what();
  }

  ModelFile no_vocab = good;
  no_vocab.extra.erase("tokenizer_vocab");
  EXPECT_EQ(file_load_status(no_vocab), Status::Format);

  ModelFile no_unet_config = good;
  nlohmann::json config = nlohmann::json::parse(good.config);
  config.erase("unet");
  no_unet_config.config = config.dump();
  try {
    diffusion_from_model_file(no_unet_config);
    ADD_FAILURE() << "a config without the UNet was accepted";
  } catch (const gml::Error& e) {
    EXPECT_EQ(e.status(), Status::Format);
    EXPECT_NE(std::string(e.what()).find("unet"), std::string::npos) << e.what();
  }

  // A config far larger than the tensors is refused before anything is
  // allocated for it.
  ModelFile inflated = good;
  nlohmann::json big = nlohmann::json::parse(good.config);
  big["unet"]["block_out_channels"] = {400000, 400000};
  inflated.config = big.dump();
  EXPECT_EQ(file_load_status(inflated), Status::Format);

  ModelFile sdxl = good;
  const std::string key = "\"cross_attention_dim\"";
  sdxl.config.replace(sdxl.config.find(key), key.size(),
                      "\"addition_embed_type\":\"text_time\"," + key);
  try {
    diffusion_from_model_file(sdxl);
    ADD_FAILURE() << "an SDXL UNet config was accepted";
  } catch (const gml::Error& e) {
    EXPECT_EQ(e.status(), Status::Format);
    EXPECT_NE(std::string(e.what()).find("addition_embed_type"), std::string::npos) << e.what();
  }

  ModelFile other_family = good;
  other_family.family = "flow";
  EXPECT_EQ(file_load_status(other_family), Status::InvalidArgument);
}

TEST(DiffusionFile, ConvertLeavesNoFileWhenTheFolderIsBad) {
  const std::string path = "/tmp/gml_diffusion_bad_" + std::to_string(::getpid()) + ".h5";
  EXPECT_THROW(convert_diffusers(kTinySdFolder + "/unet", path), gml::Error);
  EXPECT_NE(::access(path.c_str(), F_OK), 0);
}

}  // namespace

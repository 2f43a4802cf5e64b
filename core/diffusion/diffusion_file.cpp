#include "core/diffusion/diffusion_file.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include "core/common/error.h"
#include "core/common/family_file.h"
#include "core/diffusion/autoencoder_kl.h"
#include "core/diffusion/clip_text_model.h"
#include "core/diffusion/clip_tokenizer.h"
#include "core/diffusion/diffusers_config.h"
#include "core/diffusion/pipeline_layout.h"
#include "core/diffusion/scheduler_config.h"
#include "core/diffusion/stable_diffusion.h"
#include "core/diffusion/state_dict.h"
#include "core/diffusion/unet.h"

namespace gml::diffusion {
namespace {

using nlohmann::json;

// The parts' prefixes in tensors/ and their keys in the config.
constexpr const char* kUnet = "unet";
constexpr const char* kVae = "vae";
constexpr const char* kTextEncoder = "text_encoder";
// extra/ names of the tokenizer's files.
constexpr const char* kTokenizerFiles[] = {"tokenizer_vocab", "tokenizer_merges",
                                           "tokenizer_config", "tokenizer_special_tokens_map"};

json parse_config(const std::string& text, const std::string& path) {
  try {
    json j = json::parse(text);
    if (j.is_object()) return j;
  } catch (const json::exception&) {
  }
  fail(Status::Format, path + ": not a JSON object");
}

void store_part(const torch::nn::Module& module, const char* prefix, TensorMap& tensors) {
  // Shared, not copied: the file in memory is a view of the loaded model.
  for (const auto& kv : state_dict_of(module))
    tensors[std::string(prefix) + "." + kv.first] = kv.second.contiguous();
}

std::map<std::string, at::Tensor> part_tensors(const ModelFile& file, const char* prefix) {
  const std::string p = std::string(prefix) + ".";
  std::map<std::string, at::Tensor> part;
  for (auto it = file.tensors.lower_bound(p); it != file.tensors.end(); ++it) {
    if (it->first.compare(0, p.size(), p) != 0) break;
    part.emplace(it->first.substr(p.size()), it->second);
  }
  return part;
}

const json& config_part(const json& config, const char* key) {
  if (!config.contains(key) || !config.at(key).is_object())
    fail(Status::Format,
         std::string("diffusion model file: config lacks the object \"") + key + "\"");
  return config.at(key);
}

std::string extra_text(const ModelFile& file, const char* name) {
  auto it = file.extra.find(name);
  return it == file.extra.end() ? std::string() : tensor_text(it->second);
}

// Everything the file stores, built from the folder's texts and the model
// loaded from it.
ModelFile model_file_of(const PipelineLayout& layout, const StableDiffusion& sd,
                        const ClipTokenizerTexts& tokenizer, const std::string& provenance) {
  json config;
  config["pipeline"] = layout.pipeline_class;
  config["scheduler_class"] = layout.scheduler_class;
  config[kUnet] = parse_config(read_text_file(layout.unet_dir + "/config.json"),
                               layout.unet_dir + "/config.json");
  config[kVae] = parse_config(read_text_file(layout.vae_dir + "/config.json"),
                              layout.vae_dir + "/config.json");
  config[kTextEncoder] = parse_config(read_text_file(layout.text_encoder_dir + "/config.json"),
                                      layout.text_encoder_dir + "/config.json");
  config["scheduler"] = parse_config(sd.scheduler_config(), layout.scheduler_config);

  json prov = parse_config(provenance, "provenance");
  prov["source"] = layout.root;

  ModelFile file;
  file.family = LoadedDiffusion::kFamily;
  file.config = config.dump();
  file.provenance = prov.dump();
  store_part(sd.unet(), kUnet, file.tensors);
  store_part(sd.vae(), kVae, file.tensors);
  store_part(sd.text_encoder(), kTextEncoder, file.tensors);
  const std::string* texts[] = {&tokenizer.vocab, &tokenizer.merges, &tokenizer.tokenizer_config,
                                &tokenizer.special_tokens_map};
  for (size_t i = 0; i < 4; ++i)
    if (!texts[i]->empty()) file.extra[kTokenizerFiles[i]] = text_tensor(*texts[i]);
  return file;
}

struct FolderCheckpoint {
  std::shared_ptr<StableDiffusion> model;
  ModelFile file;
};

// Without the checksum, which reads every weight: callers add it when they
// need it.
FolderCheckpoint read_folder(const std::string& dir, const std::string& provenance) {
  const PipelineLayout layout = read_pipeline_layout(dir);
  FolderCheckpoint out;
  out.model = StableDiffusion::load_diffusers(dir);
  out.file = model_file_of(layout, *out.model,
                           ClipTokenizerTexts::read_directory(layout.tokenizer_dir), provenance);
  return out;
}

ModelFile with_checksum(ModelFile file) {
  file.checksum = model_checksum(file);
  return file;
}

// The folder's model, keeping its model file (views of the weights) for
// the checksum; LoadedDiffusion::checksum is left empty.
LoadedDiffusion folder_model(const std::string& dir) {
  FolderCheckpoint folder = read_folder(dir, "{}");
  LoadedDiffusion out;
  out.model = std::move(folder.model);
  out.provenance = folder.file.provenance;
  out.folder_file = std::make_shared<const ModelFile>(std::move(folder.file));
  return out;
}

template <typename Module>
void load_part(Module& module, const ModelFile& file, const char* prefix) {
  load_state_dict(*module, part_tensors(file, prefix),
                  std::string("diffusion model file ") + prefix);
  module->eval();
}

}  // namespace

void LoadedDiffusion::to_device(const c10::Device& device) {
  if (!device.is_cpu())
    fail(Status::Device,
         "diffusion models run on the CPU in this version of galaxyml, not on " + device.str());
}

bool is_diffusers_folder(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode) &&
         ::stat((path + "/model_index.json").c_str(), &st) == 0;
}

ModelFile diffusers_model_file(const std::string& dir, const std::string& provenance) {
  return with_checksum(read_folder(dir, provenance).file);
}

LoadedDiffusion diffusion_from_model_file(const ModelFile& file) {
  if (file.family != LoadedDiffusion::kFamily)
    fail(Status::InvalidArgument, "not a diffusion model file");
  json config;
  try {
    config = json::parse(file.config);
  } catch (const json::exception& e) {
    fail(Status::Format,
         std::string("diffusion model file: config is not JSON (") + e.what() + ")");
  }
  const std::string where = "diffusion model file config ";
  ClipTokenizerTexts texts{
      extra_text(file, kTokenizerFiles[0]), extra_text(file, kTokenizerFiles[1]),
      extra_text(file, kTokenizerFiles[2]), extra_text(file, kTokenizerFiles[3])};
  if (texts.vocab.empty() || texts.merges.empty())
    fail(Status::Format, "diffusion model file: extra/ lacks the tokenizer's vocab or merges");

  const std::string scheduler = config_part(config, "scheduler").dump();
  sampler_of_config(scheduler, where + "scheduler");
  const UnetConfig unet_config =
      UnetConfig::from_json(config_part(config, kUnet).dump(), where + kUnet);
  const AutoencoderKlConfig vae_config =
      AutoencoderKlConfig::from_json(config_part(config, kVae).dump(), where + kVae);
  const ClipTextConfig text_config =
      clip_text_config_from_json(config_part(config, kTextEncoder).dump(), where + kTextEncoder);
  // A hand-made config must not make the loader allocate more than the file
  // holds.
  require_config_fits_tensors(file,
                              unet_config.minimum_parameters() + vae_config.minimum_parameters() +
                                  text_config.minimum_parameters(),
                              "3x3 convolutions of the UNet and VAE widths, the text encoder's "
                              "embedding and projections");
  Unet unet(unet_config);
  AutoencoderKl vae(vae_config);
  ClipTextModel text(text_config);
  {
    c10::InferenceMode guard;
    load_part(unet, file, kUnet);
    load_part(vae, file, kVae);
    load_part(text, file, kTextEncoder);
  }
  LoadedDiffusion out;
  out.model = std::make_shared<StableDiffusion>(
      std::make_shared<ClipTokenizer>(ClipTokenizer::from_texts(texts, "diffusion model file")),
      text.ptr(), unet.ptr(), vae.ptr(), scheduler, "galaxyml model file");
  out.checksum = file.checksum;
  out.provenance = file.provenance;
  return out;
}

LoadedDiffusion load_diffusion(const std::string& path) {
  if (!is_diffusers_folder(path))
    return diffusion_from_model_file(read_model_file(path, LoadedDiffusion::kFamily));
  LoadedDiffusion out = folder_model(path);
  out.checksum = model_checksum(*out.folder_file);
  return out;
}

std::string convert_diffusers(const std::string& dir, const std::string& out_path,
                              const std::string& provenance) {
  ModelFile file = read_folder(dir, provenance).file;
  write_model_file(out_path, file);  // sets the checksum
  return file.checksum;
}

namespace {

std::unique_ptr<LoadedModel> load_folder(const std::string& dir) {
  return std::make_unique<LoadedDiffusion>(folder_model(dir));
}

std::string folder_checksum(const LoadedModel& model) {
  const auto& loaded = dynamic_cast<const LoadedDiffusion&>(model);
  require(loaded.folder_file != nullptr, "folder_checksum: the model was not loaded from a folder");
  return model_checksum(*loaded.folder_file);
}

}  // namespace

const ModelFamily kDiffusionFamily{LoadedDiffusion::kFamily,
                                   load_as<LoadedDiffusion, diffusion_from_model_file>,
                                   is_diffusers_folder, load_folder, folder_checksum};

}  // namespace gml::diffusion

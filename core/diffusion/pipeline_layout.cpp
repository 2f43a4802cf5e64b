#include "core/diffusion/pipeline_layout.h"

#include <nlohmann/json.hpp>

#include <set>
#include <vector>

#include <sys/stat.h>

#include "core/common/error.h"
#include "core/diffusion/diffusers_config.h"

namespace gml::diffusion {
namespace {

// POSIX stat, not std::filesystem: LibTorch 2.x exports its own copies of
// std::filesystem functions (pytorch/pytorch#133437), which the dynamic
// linker may bind instead of libstdc++'s.
bool is_dir(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}
bool is_file(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}
std::string joined(const std::string& dir, const std::string& name) {
  return dir.empty() || dir.back() == '/' ? dir + name : dir + "/" + name;
}

// Pipelines whose parts are exactly SD-1.x's: a CLIP text encoder, a
// UNet2DConditionModel with cross-attention, an AutoencoderKL.
const std::set<std::string> kPipelines = {
    "StableDiffusionPipeline", "StableDiffusionImg2ImgPipeline",
    "StableDiffusionInpaintPipelineLegacy", "AltDiffusionPipeline"};

std::string join_names(const std::set<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

// model_index.json stores each part as ["library", "ClassName"]; the class
// is returned after checking it is one of `allowed`.
std::string part_class(const nlohmann::json& index, const std::string& file, const std::string& key,
                       const std::set<std::string>& allowed) {
  if (!index.contains(key)) fail(Status::Format, file + ": no part '" + key + "'");
  const nlohmann::json& entry = index.at(key);
  if (!entry.is_array() || entry.size() != 2 || !entry[1].is_string()) {
    fail(Status::Format, file + ": '" + key + "' is not a [library, class] pair");
  }
  const std::string cls = entry[1].get<std::string>();
  if (!allowed.empty() && !allowed.count(cls)) {
    fail(Status::Format,
         file + ": '" + key + "' is a " + cls + "; this engine runs " + join_names(allowed));
  }
  return cls;
}

std::string existing_dir(const std::string& root, const std::string& part) {
  const std::string path = joined(root, part);
  if (!is_dir(path)) fail(Status::NotFound, root + ": the part folder '" + part + "' is missing");
  return path;
}

}  // namespace

PipelineLayout read_pipeline_layout(const std::string& dir) {
  PipelineLayout layout;
  layout.root = dir;
  const std::string file = joined(dir, "model_index.json");
  if (!is_file(file)) {
    fail(Status::NotFound, dir + ": no model_index.json (not a diffusers pipeline folder)");
  }
  const nlohmann::json index = nlohmann::json::parse(read_text_file(file), nullptr, false);
  if (index.is_discarded() || !index.is_object()) {
    fail(Status::Format, file + ": not a JSON object");
  }
  if (!index.contains("_class_name") || !index["_class_name"].is_string()) {
    fail(Status::Format, file + ": no '_class_name'");
  }
  layout.pipeline_class = index["_class_name"].get<std::string>();
  if (!kPipelines.count(layout.pipeline_class)) {
    fail(Status::Format, file + ": '_class_name' is " + layout.pipeline_class +
                             "; this engine runs Stable Diffusion 1.x-shaped pipelines (" +
                             join_names(kPipelines) + ")");
  }
  part_class(index, file, "unet", {"UNet2DConditionModel"});
  part_class(index, file, "vae", {"AutoencoderKL"});
  part_class(index, file, "text_encoder", {"CLIPTextModel"});
  part_class(index, file, "tokenizer", {"CLIPTokenizer", "CLIPTokenizerFast"});
  layout.scheduler_class = part_class(index, file, "scheduler", {});
  layout.unet_dir = existing_dir(dir, "unet");
  layout.vae_dir = existing_dir(dir, "vae");
  layout.text_encoder_dir = existing_dir(dir, "text_encoder");
  layout.tokenizer_dir = existing_dir(dir, "tokenizer");
  layout.scheduler_config = joined(existing_dir(dir, "scheduler"), "scheduler_config.json");
  if (!is_file(layout.scheduler_config)) {
    fail(Status::NotFound, layout.scheduler_config + ": missing");
  }
  return layout;
}

std::string part_weights(const std::string& part_dir, const std::string& stem,
                         const std::string& variant) {
  const std::string name = variant.empty() ? stem : stem + "." + variant;
  const std::string weights = joined(part_dir, name + ".safetensors");
  if (is_file(weights)) return weights;
  if (is_file(joined(part_dir, name + ".safetensors.index.json"))) {
    fail(Status::Format, part_dir + ": weights sharded into several safetensors files (" + name +
                             ".safetensors.index.json); save the part as one file");
  }
  if (is_file(joined(part_dir, name + ".bin"))) {
    fail(Status::NotFound, part_dir + ": only " + name +
                               ".bin (a pickled PyTorch file, not read because unpickling runs "
                               "code); save the part with safe_serialization=True");
  }
  fail(Status::NotFound, part_dir + ": no " + name + ".safetensors");
}

}  // namespace gml::diffusion

// The one interface through which a model family plugs into the library: a
// loaded model of any family, and the entry that names a family and loads
// its model files. The C ABI holds a LoadedModel behind gml_model and finds
// a file's family in its table of ModelFamily entries
// (capi/src/model_families.cpp), one line per family.
#pragma once

#include <c10/core/Device.h>

#include <memory>
#include <string>

namespace gml {

struct ModelFile;

class LoadedModel {
 public:
  virtual ~LoadedModel() = default;
  // The gml_family of the model's files ("flow", "posterior", ...).
  virtual const char* family() const = 0;
  // Moves the parameters to `device` and prepares them for inference there;
  // called once, right after loading.
  virtual void to_device(const c10::Device& device) = 0;
};

struct ModelFamily {
  const char* name;  // gml_family of its files
  // Builds the model from a file whose family, version and checksum
  // read_model_file() has verified; throws gml::Error for a bad config.
  std::unique_ptr<LoadedModel> (*load)(const ModelFile& file);
  // A family that also reads a folder in another ecosystem's layout (a
  // diffusers pipeline): whether `path` is such a folder, its loader, and
  // the checksum the converted model file would carry, of a model that
  // load_folder returned (computed when asked: it reads every weight).
  // Null for families of model files only.
  bool (*is_folder)(const std::string& path) = nullptr;
  std::unique_ptr<LoadedModel> (*load_folder)(const std::string& dir) = nullptr;
  std::string (*folder_checksum)(const LoadedModel& model) = nullptr;
};

// The `load` of a family entry from the family's own reader:
// ModelFamily{LoadedFlow::kFamily, load_as<LoadedFlow, flow_from_model_file>}.
template <typename Loaded, Loaded (*from_file)(const ModelFile&)>
std::unique_ptr<LoadedModel> load_as(const ModelFile& file) {
  return std::make_unique<Loaded>(from_file(file));
}

}  // namespace gml

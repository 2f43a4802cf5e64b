// Merger models in the project's HDF5 model format (family "merger";
// docs/model_format.md): encoder and head weights in `tensors` under the
// module tree's names (the encoder's match torchvision's state_dict names
// below "backbone."), the architecture as config JSON, the training report
// in `extra`. A training checkpoint is a merger file too, with optimiser
// state and the best weights in `extra` and {"checkpoint": true} as
// provenance; loading one as a model gives its current weights.
#pragma once

#include <string>

#include "core/common/family_file.h"
#include "core/merger/merger_net.h"

namespace gml::merger {

struct MergerTrainReport;

// Writes `net` atomically; `provenance` is JSON text (data, command).
// Returns the file's checksum.
std::string save_merger(const std::string& path, MergerNet& net, const std::string& provenance,
                        const MergerTrainReport* report);

struct LoadedMerger : LoadedModel {
  static constexpr const char* kFamily = "merger";
  MergerNet net{nullptr};
  std::string checksum;
  std::string provenance;

  const char* family() const override { return kFamily; }
  // Inference there runs on the fused backbone prepared for that device.
  void to_device(const c10::Device& device) override;
};

// Reads and verifies (family, version, checksum: distinct errors) and builds
// the network in eval mode on the CPU.
LoadedMerger load_merger(const std::string& path);
LoadedMerger merger_from_model_file(const ModelFile& file);
// The merger family's entry of the family table.
extern const ModelFamily kMergerFamily;

}  // namespace gml::merger

// Model files: one HDF5 file per trained model (docs/model_format.md).
//
//   /                      attributes gml_family, gml_format_version,
//                          gml_library_version, config (JSON), checksum,
//                          created (ISO 8601 UTC), provenance (JSON)
//   /tensors/<name>        parameters and buffers, named as in the module tree
//   /normalization/<name>  z-score statistics, log-column flags, prior bounds
//   /extra/<name>          family-specific arrays
//
// Files are readable by h5py without galaxyml. Writes are atomic (temporary
// file in the same directory, then rename). Reads verify family, format
// version and checksum, each failure with its own status.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include <ATen/core/Tensor.h>

namespace gml {

constexpr int32_t kModelFormatVersion = 2;

using TensorMap = std::map<std::string, at::Tensor>;

struct ModelFile {
  std::string family;
  int32_t format_version = kModelFormatVersion;
  std::string library_version;    // filled on write
  std::string config = "{}";      // JSON text
  std::string created;            // filled on write when empty
  std::string provenance = "{}";  // JSON text: data, command
  std::string checksum;           // filled on write and on read
  TensorMap tensors;
  TensorMap normalization;
  TensorMap extra;
};

// Writes `model` to `path` atomically; sets model.checksum, library_version
// and (if empty) created. Tensors are stored as contiguous CPU arrays of
// their own dtype (float32/64, int8..64, uint8, bool).
// Throws Error(InvalidArgument) for a bad family/name/dtype, Error(Io) when
// the directory is not writable or the rename fails.
void write_model_file(const std::string& path, ModelFile& model);
// The same for a file made only to be written.
inline void write_model_file(const std::string& path, ModelFile&& model) {
  write_model_file(path, model);
}

// Reads and verifies a model file. expected_family empty accepts any family.
// Throws Error(Io) missing/unreadable, Error(Format) not HDF5 / truncated /
// incomplete, Error(Family), Error(Version), Error(Checksum).
ModelFile read_model_file(const std::string& path, std::string_view expected_family = {});

// Refuses, before a module is built from `file`'s config, a config that asks
// for more parameters than the file's tensors hold. `config_parameters` is a
// lower bound the family computes from its config (its dominant terms), so a
// file whose config and tensors agree always passes. Each config value may be
// within its bounds while their product is not: without this a hand-made
// file could make the loader allocate terabytes. Throws Error(Format).
void require_config_fits_tensors(const ModelFile& file, double config_parameters,
                                 const std::string& terms);

// FNV-1a 64 over, from format version 2, the attributes that define the
// model (family, version, config), then every group, name, dtype, shape and
// byte, in sorted order; version 1 covers the groups only. Text
// "fnv1a64:<16 hex digits>". Equal models have equal checksums.
std::string model_checksum(const ModelFile& model);

// FNV-1a 64 over the descriptive attributes (library version, created,
// provenance), stored as metadata_checksum from version 2 so that damage to
// them is detected too.
std::string metadata_checksum(const ModelFile& model);

}  // namespace gml

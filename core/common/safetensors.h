// Reader of the safetensors format (Hugging Face's weight files: an 8-byte
// little-endian header length, a JSON header naming each tensor's dtype,
// shape and byte range, then the raw little-endian data), so that diffusers
// and transformers checkpoints load without Python.
//
// The header is read and checked whole when the file is opened, with the
// rules of the reference implementation: known dtypes, byte ranges that
// match the shapes and tile the data area exactly, in order. Tensors are
// then read one at a time straight into their own storage, so a 3 GB
// checkpoint never sits in memory twice.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace gml {

struct SafetensorsEntry {
  std::string dtype;  // as written: "F32", "F16", "BF16", "I64", ...
  std::vector<int64_t> shape;
  uint64_t begin = 0;  // byte range in the data area
  uint64_t end = 0;
};

class SafetensorsFile {
 public:
  // Reads and checks the header. Throws Error(Io) when the file cannot be
  // read, Error(Format) naming the file (and the tensor) for anything that
  // is not a valid safetensors file: truncated, a header length beyond the
  // file, a header that is not a JSON object, an unsupported dtype, a byte
  // range that does not match its shape, overlaps or leaves a gap.
  static SafetensorsFile open(const std::string& path);

  const std::string& path() const { return path_; }
  // Tensor names in the header, sorted.
  std::vector<std::string> names() const;
  bool contains(const std::string& name) const { return entries_.count(name) != 0; }
  // Error(NotFound) naming the file for an unknown tensor.
  const SafetensorsEntry& entry(const std::string& name) const;
  // The header's "__metadata__" (string to string), empty when absent.
  const std::map<std::string, std::string>& metadata() const { return metadata_; }

  // The tensor as stored (CPU, its own dtype). Error(NotFound) for an
  // unknown name, Error(Io) when the bytes cannot be read, Error(Format)
  // for a BOOL tensor holding bytes other than 0 and 1. Thread-safe.
  at::Tensor read(const std::string& name) const;
  // Reads the tensor straight into `target` when that is a contiguous CPU
  // tensor of the stored dtype and shape, and returns true; returns false,
  // reading nothing, otherwise. Errors as read(); on an error `target` may
  // be partly overwritten.
  bool read_into(const std::string& name, const at::Tensor& target) const;

 private:
  std::string path_;
  uint64_t data_start_ = 0;
  std::map<std::string, SafetensorsEntry> entries_;
  std::map<std::string, std::string> metadata_;
};

}  // namespace gml

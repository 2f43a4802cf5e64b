#include "core/common/safetensors.h"

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>
#include <limits>

#include "core/common/error.h"

namespace gml {
namespace {

// A header is a few hundred bytes per tensor; the reference reader refuses
// anything above 100 MB as not a header.
constexpr uint64_t kMaxHeaderBytes = 100'000'000;

struct DtypeInfo {
  const char* name;
  at::ScalarType type;
  uint64_t bytes;
};
constexpr DtypeInfo kDtypes[] = {{"F64", at::kDouble, 8}, {"F32", at::kFloat, 4},
                                 {"F16", at::kHalf, 2},   {"BF16", at::kBFloat16, 2},
                                 {"I64", at::kLong, 8},   {"I32", at::kInt, 4},
                                 {"I16", at::kShort, 2},  {"I8", at::kChar, 1},
                                 {"U8", at::kByte, 1},    {"BOOL", at::kBool, 1}};

const DtypeInfo* dtype_info(const std::string& name) {
  for (const DtypeInfo& d : kDtypes)
    if (name == d.name) return &d;
  return nullptr;
}

[[noreturn]] void bad(const std::string& path, const std::string& what) {
  fail(Status::Format, "safetensors file '" + path + "': " + what);
}

bool little_endian_host() {
  const uint16_t one = 1;
  return *reinterpret_cast<const uint8_t*>(&one) == 1;
}

}  // namespace

SafetensorsFile SafetensorsFile::open(const std::string& path) {
  if (!little_endian_host())
    fail(Status::Format, "safetensors: this reader needs a little-endian host");
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) fail(Status::Io, "cannot open safetensors file '" + path + "'");
  const auto size = static_cast<uint64_t>(in.tellg());
  if (size < 8)
    bad(path, "shorter than its 8-byte header length (" + std::to_string(size) + " bytes)");
  in.seekg(0);
  unsigned char len_bytes[8];
  in.read(reinterpret_cast<char*>(len_bytes), 8);
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | len_bytes[i];
  if (header_len < 2 || header_len > kMaxHeaderBytes)
    bad(path, "header length " + std::to_string(header_len) + " is not plausible");
  if (header_len > size - 8)
    bad(path, "header length " + std::to_string(header_len) + " runs past the end of the file (" +
                  std::to_string(size) + " bytes): truncated?");
  std::string text(header_len, '\0');
  if (!in.read(text.data(), static_cast<std::streamsize>(header_len)))
    fail(Status::Io, "cannot read the header of '" + path + "'");

  const nlohmann::json header = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (header.is_discarded()) bad(path, "header is not valid JSON");
  if (!header.is_object()) bad(path, "header is not a JSON object");

  SafetensorsFile f;
  f.path_ = path;
  f.data_start_ = 8 + header_len;
  const uint64_t data_size = size - f.data_start_;
  for (const auto& [name, value] : header.items()) {
    if (name == "__metadata__") {
      if (!value.is_object()) bad(path, "__metadata__ is not an object");
      for (const auto& [k, v] : value.items()) {
        if (!v.is_string()) bad(path, "__metadata__ value of '" + k + "' is not a string");
        f.metadata_[k] = v.get<std::string>();
      }
      continue;
    }
    const std::string where = "tensor '" + name + "': ";
    if (!value.is_object() || !value.contains("dtype") || !value.contains("shape") ||
        !value.contains("data_offsets"))
      bad(path, where + "needs dtype, shape and data_offsets");
    const nlohmann::json& dt = value.at("dtype");
    if (!dt.is_string()) bad(path, where + "dtype is not a string");
    SafetensorsEntry e;
    e.dtype = dt.get<std::string>();
    const DtypeInfo* info = dtype_info(e.dtype);
    if (!info)
      bad(path, where + "dtype " + e.dtype +
                    " is not supported (F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL)");
    const nlohmann::json& shape = value.at("shape");
    if (!shape.is_array()) bad(path, where + "shape is not an array");
    uint64_t numel = 1;
    for (const auto& d : shape) {
      if (!d.is_number_unsigned()) bad(path, where + "shape holds a value that is not a size");
      const auto dim = d.get<uint64_t>();
      if (dim > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) ||
          (dim != 0 && numel > std::numeric_limits<uint64_t>::max() / info->bytes / dim))
        bad(path, where + "shape is too large");
      numel *= dim;
      e.shape.push_back(static_cast<int64_t>(dim));
    }
    const nlohmann::json& off = value.at("data_offsets");
    if (!off.is_array() || off.size() != 2 || !off[0].is_number_unsigned() ||
        !off[1].is_number_unsigned())
      bad(path, where + "data_offsets must be two byte offsets");
    e.begin = off[0].get<uint64_t>();
    e.end = off[1].get<uint64_t>();
    if (e.begin > e.end || e.end > data_size)
      bad(path, where + "byte range [" + std::to_string(e.begin) + ", " + std::to_string(e.end) +
                    ") lies outside the data area of " + std::to_string(data_size) +
                    " bytes (truncated?)");
    if (e.end - e.begin != numel * info->bytes)
      bad(path, where + "byte range holds " + std::to_string(e.end - e.begin) +
                    " bytes; shape and " + e.dtype + " need " +
                    std::to_string(numel * info->bytes));
    f.entries_.emplace(name, std::move(e));
  }

  // The ranges tile the data area, in order, without gaps or overlaps.
  std::vector<const std::pair<const std::string, SafetensorsEntry>*> order;
  for (const auto& item : f.entries_) order.push_back(&item);
  std::sort(order.begin(), order.end(), [](const auto* a, const auto* b) {
    return a->second.begin != b->second.begin ? a->second.begin < b->second.begin
                                              : a->second.end < b->second.end;
  });
  uint64_t expected = 0;
  for (const auto* item : order) {
    if (item->second.begin != expected)
      bad(path, "tensor '" + item->first + "' starts at byte " +
                    std::to_string(item->second.begin) + " of the data area, expected " +
                    std::to_string(expected) + " (ranges overlap or leave a gap)");
    expected = item->second.end;
  }
  if (expected != data_size)
    bad(path, "the tensors cover " + std::to_string(expected) + " of the data area's " +
                  std::to_string(data_size) + " bytes");
  return f;
}

std::vector<std::string> SafetensorsFile::names() const {
  std::vector<std::string> out;
  for (const auto& item : entries_) out.push_back(item.first);
  return out;
}

const SafetensorsEntry& SafetensorsFile::entry(const std::string& name) const {
  const auto it = entries_.find(name);
  if (it == entries_.end())
    fail(Status::NotFound, "safetensors file '" + path_ + "' has no tensor '" + name + "'");
  return it->second;
}

at::Tensor SafetensorsFile::read(const std::string& name) const {
  const SafetensorsEntry& e = entry(name);
  at::Tensor t = at::empty(e.shape, at::TensorOptions().dtype(dtype_info(e.dtype)->type));
  read_into(name, t);
  return t;
}

bool SafetensorsFile::read_into(const std::string& name, const at::Tensor& target) const {
  const SafetensorsEntry& e = entry(name);
  const DtypeInfo* info = dtype_info(e.dtype);
  if (!target.device().is_cpu() || target.scalar_type() != info->type || !target.is_contiguous() ||
      target.sizes() != at::IntArrayRef(e.shape))
    return false;
  const uint64_t bytes = e.end - e.begin;
  if (bytes == 0) return true;
  std::ifstream in(path_, std::ios::binary);
  in.seekg(static_cast<std::streamoff>(data_start_ + e.begin));
  if (!in || !in.read(static_cast<char*>(target.data_ptr()), static_cast<std::streamsize>(bytes)))
    fail(Status::Io, "cannot read tensor '" + name + "' of '" + path_ + "'");
  if (info->type == at::kBool) {
    const auto* b = static_cast<const uint8_t*>(target.data_ptr());
    if (std::any_of(b, b + bytes, [](uint8_t v) { return v > 1; }))
      bad(path_, "BOOL tensor '" + name + "' holds bytes other than 0 and 1");
  }
  return true;
}

}  // namespace gml

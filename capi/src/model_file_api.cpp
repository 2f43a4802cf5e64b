// File-level model inspection: what a pipeline checks before it runs a model.
#include <cstring>

#include "capi/src/firewall.h"
#include "capi/src/options.h"
#include "core/common/error.h"
#include "core/common/model_file.h"

using gml::capi::guard;

static_assert(GML_MODEL_FORMAT_VERSION == gml::kModelFormatVersion,
              "header and library model format versions differ");

extern "C" {

GML_API gml_status gml_model_file_inspect(const char* path, const char* expected_family,
                                          gml_model_info* info) {
  return guard("gml_model_file_inspect", [&] {
    gml::require(path != nullptr, "path must not be NULL");
    gml::capi::check_result_struct(info, "info");
    const gml::ModelFile m =
        gml::read_model_file(path, expected_family ? expected_family : std::string_view{});
    if (!info) return;
    gml_model_info out;
    std::memset(&out, 0, sizeof out);
    out.struct_size = sizeof out;
    std::strncpy(out.family, m.family.c_str(), GML_FAMILY_MAX - 1);
    out.format_version = m.format_version;
    std::strncpy(out.library_version, m.library_version.c_str(), GML_VERSION_MAX - 1);
    std::strncpy(out.checksum, m.checksum.c_str(), GML_CHECKSUM_MAX - 1);
    out.n_tensors = static_cast<int64_t>(m.tensors.size());
    for (const auto& kv : m.tensors) out.n_parameters += kv.second.numel();
    gml::capi::write_result(info, out);
  });
}

GML_API gml_status gml_model_file_config(const char* path, char* buf, size_t capacity,
                                         size_t* length) {
  std::string config;
  gml_status s = guard("gml_model_file_config", [&] {
    gml::require(path != nullptr, "path must not be NULL");
    gml::require(length != nullptr, "length must not be NULL");
    config = gml::read_model_file(path).config;
  });
  if (s != GML_OK) return s;
  return gml::capi::copy_string_out("gml_model_file_config", config, buf, capacity, length);
}

}  // extern "C"

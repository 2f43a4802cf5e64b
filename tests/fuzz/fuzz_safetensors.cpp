// Fuzzes the safetensors reader (the weights of diffusers and transformers
// checkpoints) on whole files: the input is the file. Opening it and reading
// every tensor must end in tensors or a gml::Error with a message; any other
// exception, a crash, a sanitizer report or an allocation above
// -malloc_limit_mb is a finding. The format is a length, JSON and raw bytes,
// so byte-level mutation of the seed files reaches every check: the length,
// the JSON, the dtypes, shapes, offsets and their tiling.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>

#include <ATen/ATen.h>

#include "core/common/error.h"
#include "core/common/safetensors.h"

namespace {

const std::string& scratch_path() {
  static const std::string path = [] {
    const char* dir = std::getenv("TMPDIR");
    return std::string(dir && *dir ? dir : "/tmp") + "/gml_fuzz_safetensors_" +
           std::to_string(getpid()) + ".safetensors";
  }();
  return path;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string& path = scratch_path();
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) std::abort();
  if (size > 0 && std::fwrite(data, 1, size, f) != size) std::abort();
  std::fclose(f);
  try {
    const gml::SafetensorsFile file = gml::SafetensorsFile::open(path);
    for (const std::string& name : file.names()) {
      const at::Tensor t = file.read(name);
      // Touch every element so a wrong size shows as an ASan report here.
      if (t.numel() > 0) (void)t.to(at::kDouble).sum().item<double>();
    }
  } catch (const gml::Error&) {
    // A refusal with a message: what damaged input must get.
  } catch (const std::exception& e) {
    std::fprintf(stderr, "non-gml exception: %s\n", e.what());
    std::abort();
  }
  return 0;
}

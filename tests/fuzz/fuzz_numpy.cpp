// Fuzzes the NumPy readers (.npy and .npz, core/common/numpy_file.h) on
// whole files: simulations imported for the posterior family arrive in them
// from anywhere. The input is written as a file and read as an .npy and as
// an .npz archive (every member); each must end in arrays or a gml::Error.
// Any other exception, a crash, a sanitizer report or an allocation above
// -malloc_limit_mb is a finding: the shape in an .npy header and the sizes
// in a ZIP directory are claims, checked against the bytes present.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>

#include "core/common/error.h"
#include "core/common/numpy_file.h"

namespace {

const std::string& scratch_path() {
  static const std::string path = [] {
    const char* dir = std::getenv("TMPDIR");
    return std::string(dir && *dir ? dir : "/tmp") + "/gml_fuzz_numpy_" + std::to_string(getpid()) +
           ".bin";
  }();
  return path;
}

template <class Read>
void expect_arrays_or_error(Read&& read) {
  try {
    const gml::NumpyArray a = read();
    uint64_t count = 1;
    for (int64_t d : a.shape) count *= static_cast<uint64_t>(d);
    if (count != a.values.size()) {
      std::fprintf(stderr, "shape and values disagree: %llu vs %zu\n",
                   static_cast<unsigned long long>(count), a.values.size());
      std::abort();
    }
  } catch (const gml::Error&) {
    // A refusal with a message: what damaged input must get.
  } catch (const std::exception& e) {
    std::fprintf(stderr, "non-gml exception: %s\n", e.what());
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string& path = scratch_path();
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) std::abort();
  if (size > 0 && std::fwrite(data, 1, size, f) != size) std::abort();
  std::fclose(f);
  expect_arrays_or_error([&] { return gml::read_npy(path); });
  try {
    for (const std::string& key : gml::npz_keys(path)) {
      expect_arrays_or_error([&] { return gml::read_npz_member(path, key); });
    }
  } catch (const gml::Error&) {
  } catch (const std::exception& e) {
    std::fprintf(stderr, "non-gml exception: %s\n", e.what());
    std::abort();
  }
  return 0;
}

// Shared helpers for the fits_io tests: data paths, scratch directories,
// golden-file loading and angular separations.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace gml::fits::test {

inline std::string data_path(const std::string& rel) {
  return std::string(GML_TEST_DATA) + "/" + rel;
}
inline std::string golden_path(const std::string& rel) {
  return std::string(GML_GOLDEN) + "/fits/" + rel;
}

inline nlohmann::json load_json(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open " + path);
  return nlohmann::json::parse(in);
}

template <typename T>
std::vector<T> load_bin(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) throw std::runtime_error("cannot open " + path);
  const auto size = static_cast<size_t>(in.tellg());
  std::vector<T> out(size / sizeof(T));
  in.seekg(0);
  in.read(reinterpret_cast<char*>(out.data()), static_cast<std::streamsize>(size));
  return out;
}

inline std::vector<char> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<char>(std::istreambuf_iterator<char>(in), {});
}

inline void write_bytes(const std::string& path, const char* data, size_t n) {
  std::ofstream out(path, std::ios::binary);
  out.write(data, static_cast<std::streamsize>(n));
}

/// True if `text` contains `part` (for checking error messages).
inline bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

/// Angular separation in milliarcseconds (haversine: accurate at tiny angles).
inline double sep_mas(double ra1, double dec1, double ra2, double dec2) {
  const double d2r = M_PI / 180.0;
  const double sd = std::sin((dec2 - dec1) * d2r / 2), sr = std::sin((ra2 - ra1) * d2r / 2);
  const double a = sd * sd + std::cos(dec1 * d2r) * std::cos(dec2 * d2r) * sr * sr;
  return 2 * std::asin(std::sqrt(std::min(a, 1.0))) / d2r * 3.6e6;
}

/// A fresh directory removed (with its content) at the end of the test.
class ScratchDir {
 public:
  ScratchDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "gml_fits_XXXXXX").string();
    if (::mkdtemp(&tmpl[0]) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string file(const std::string& name) const { return path_ + "/" + name; }
  /// Names of all entries, to check that nothing stray was left behind.
  std::vector<std::string> entries() const {
    std::vector<std::string> out;
    for (auto& e : std::filesystem::directory_iterator(path_)) {
      out.push_back(e.path().filename().string());
    }
    return out;
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace gml::fits::test

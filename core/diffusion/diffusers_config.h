// Reading a diffusers model part's config.json (a checkpoint's unet/ or
// vae/ folder) the way diffusers' `from_config` does: the stored value of a
// key where there is one, the class's default otherwise. A stored null
// means the default too, as for diffusers' optional arguments.
//
// Every error is Error(Format) naming the file and the key, so that a
// checkpoint this engine cannot run says which setting is in the way.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace gml::diffusion {

class DiffusersConfig {
 public:
  // Error(Format) naming `source` for text that is not a JSON object.
  DiffusersConfig(const std::string& json_text, std::string source);
  ~DiffusersConfig();
  DiffusersConfig(DiffusersConfig&&) noexcept;
  DiffusersConfig& operator=(DiffusersConfig&&) noexcept;

  const std::string& source() const { return source_; }
  // Present with a value other than null.
  bool has(const std::string& key) const;
  // Present as null.
  bool is_null(const std::string& key) const;

  // Typed values; Error(Format) for a stored value of another type.
  int64_t integer(const std::string& key, int64_t fallback) const;
  double real(const std::string& key, double fallback) const;
  bool boolean(const std::string& key, bool fallback) const;
  std::string text(const std::string& key, const std::string& fallback) const;
  std::vector<int64_t> integers(const std::string& key, const std::vector<int64_t>& fallback) const;
  std::vector<std::string> texts(const std::string& key,
                                 const std::vector<std::string>& fallback) const;
  // diffusers' "an int for every block or a list with one per block".
  // Error(Format) for a list whose length is not `blocks`.
  std::vector<int64_t> per_block(const std::string& key, int64_t fallback, size_t blocks) const;

  // Refuses a stored value other than `expected` (given as JSON text;
  // "null" accepts absent and null only), with `why` in the message: for
  // settings of diffusers models this engine does not implement.
  void require_default(const std::string& key, const std::string& expected,
                       const std::string& why = "not implemented") const;

  [[noreturn]] void refuse(const std::string& key, const std::string& why) const;

 private:
  std::string source_;
  std::unique_ptr<nlohmann::json> json_;
};

// Error(NotFound) naming `path` when it is not a file.
void require_file(const std::string& path);

// Text of the file at `path`; Error(NotFound) naming it when it does not
// exist, Error(Io) when it cannot be read.
std::string read_text_file(const std::string& path);

}  // namespace gml::diffusion

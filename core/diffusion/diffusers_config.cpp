#include "core/diffusion/diffusers_config.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <utility>

#include "core/common/error.h"

namespace gml::diffusion {

DiffusersConfig::DiffusersConfig(const std::string& json_text, std::string source)
    : source_(std::move(source)) {
  nlohmann::json j = nlohmann::json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    fail(Status::Format, source_ + ": model config is not a JSON object");
  }
  json_ = std::make_unique<nlohmann::json>(std::move(j));
}

DiffusersConfig::~DiffusersConfig() = default;
DiffusersConfig::DiffusersConfig(DiffusersConfig&&) noexcept = default;
DiffusersConfig& DiffusersConfig::operator=(DiffusersConfig&&) noexcept = default;

bool DiffusersConfig::has(const std::string& key) const {
  return json_->contains(key) && !json_->at(key).is_null();
}

bool DiffusersConfig::is_null(const std::string& key) const {
  return json_->contains(key) && json_->at(key).is_null();
}

void DiffusersConfig::refuse(const std::string& key, const std::string& why) const {
  const std::string value = json_->contains(key) ? " = " + json_->at(key).dump() : "";
  fail(Status::Format, source_ + ": '" + key + "'" + value + ": " + why);
}

namespace {

// Integers stored as 2.0 are integers to Python's from_config too.
bool integral(const nlohmann::json& v) {
  return v.is_number_integer() ||
         (v.is_number_float() && v.get<double>() == static_cast<int64_t>(v.get<double>()));
}

}  // namespace

int64_t DiffusersConfig::integer(const std::string& key, int64_t fallback) const {
  if (!has(key)) return fallback;
  const nlohmann::json& v = json_->at(key);
  if (v.is_boolean() || !integral(v)) refuse(key, "an integer is needed");
  return v.is_number_integer() ? v.get<int64_t>() : static_cast<int64_t>(v.get<double>());
}

double DiffusersConfig::real(const std::string& key, double fallback) const {
  if (!has(key)) return fallback;
  const nlohmann::json& v = json_->at(key);
  if (!v.is_number()) refuse(key, "a number is needed");
  return v.get<double>();
}

bool DiffusersConfig::boolean(const std::string& key, bool fallback) const {
  if (!has(key)) return fallback;
  const nlohmann::json& v = json_->at(key);
  if (!v.is_boolean()) refuse(key, "true or false is needed");
  return v.get<bool>();
}

std::string DiffusersConfig::text(const std::string& key, const std::string& fallback) const {
  if (!has(key)) return fallback;
  const nlohmann::json& v = json_->at(key);
  if (!v.is_string()) refuse(key, "a string is needed");
  return v.get<std::string>();
}

std::vector<int64_t> DiffusersConfig::integers(const std::string& key,
                                               const std::vector<int64_t>& fallback) const {
  if (!has(key)) return fallback;
  const nlohmann::json& v = json_->at(key);
  if (!v.is_array()) refuse(key, "a list of integers is needed");
  std::vector<int64_t> out;
  for (const nlohmann::json& e : v) {
    if (e.is_boolean() || !integral(e)) refuse(key, "a list of integers is needed");
    out.push_back(e.is_number_integer() ? e.get<int64_t>() : static_cast<int64_t>(e.get<double>()));
  }
  return out;
}

std::vector<std::string> DiffusersConfig::texts(const std::string& key,
                                                const std::vector<std::string>& fallback) const {
  if (!has(key)) return fallback;
  const nlohmann::json& v = json_->at(key);
  if (!v.is_array()) refuse(key, "a list of strings is needed");
  std::vector<std::string> out;
  for (const nlohmann::json& e : v) {
    if (!e.is_string()) refuse(key, "a list of strings is needed");
    out.push_back(e.get<std::string>());
  }
  return out;
}

std::vector<int64_t> DiffusersConfig::per_block(const std::string& key, int64_t fallback,
                                                size_t blocks) const {
  if (has(key) && json_->at(key).is_array()) {
    std::vector<int64_t> out = integers(key, {});
    if (out.size() != blocks) {
      refuse(key, "has " + std::to_string(out.size()) + " entries for " + std::to_string(blocks) +
                      " blocks");
    }
    return out;
  }
  return std::vector<int64_t>(blocks, integer(key, fallback));
}

void DiffusersConfig::require_default(const std::string& key, const std::string& expected,
                                      const std::string& why) const {
  // Absent or null: diffusers' default, which `expected` is.
  if (!has(key)) return;
  const nlohmann::json want = nlohmann::json::parse(expected);
  const nlohmann::json& v = json_->at(key);
  // 1 and 1.0 are the same setting.
  const bool same =
      (v.is_number() && want.is_number()) ? v.get<double>() == want.get<double>() : v == want;
  if (!same) refuse(key, why);
}

void require_file(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    fail(Status::NotFound, path + ": no such file");
  }
}

std::string read_text_file(const std::string& path) {
  require_file(path);
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  if (!in && !in.eof()) fail(Status::Io, path + ": cannot be read");
  return text.str();
}

}  // namespace gml::diffusion

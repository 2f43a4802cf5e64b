#pragma once
// One reader for the fields of a model's JSON config. nlohmann converts a
// JSON float to an integer with static_cast, undefined outside the target's
// range ("hidden_width": 1e300 in a damaged file), and wraps unsigned values
// beyond INT64_MAX; configs are read from files nobody vouches for, so
// integer fields accept only JSON integers that fit.

#include "core/common/error.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

namespace gml {

namespace detail {

template <typename T>
void require_integer_fits(const nlohmann::json& v, const std::string& where) {
  bool fits = false;
  if (v.is_number_unsigned()) {
    fits = v.get<uint64_t>() <= static_cast<uint64_t>(std::numeric_limits<T>::max());
  } else if (v.is_number_integer()) {
    const int64_t x = v.get<int64_t>();
    fits = x >= static_cast<int64_t>(std::numeric_limits<T>::min()) &&
           x <= static_cast<int64_t>(std::numeric_limits<T>::max());
  }
  if (!fits) fail(Status::Format, where + " must be an integer within range, not " + v.dump());
}

}  // namespace detail

// Reads j[key] into `field` when the key is present (older files with fewer
// keys keep the defaults). `where` names the config in messages.
template <typename T>
void read_json_field(const nlohmann::json& j, const char* key, T& field, const std::string& where) {
  if (!j.contains(key)) return;
  const nlohmann::json& v = j.at(key);
  const std::string name = where + ": '" + key + "'";
  if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
    detail::require_integer_fits<T>(v, name);
  } else if constexpr (std::is_same_v<T, std::vector<int64_t>>) {
    if (!v.is_array()) fail(Status::Format, name + " must be an array");
    for (const auto& e : v) detail::require_integer_fits<int64_t>(e, name);
  }
  v.get_to(field);
}

}  // namespace gml

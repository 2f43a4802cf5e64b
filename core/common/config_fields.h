#pragma once
// The fields of a model's JSON config, each declared once (key, member,
// bounds) and used for all three jobs: writing the JSON, reading it back
// (unknown keys refused, absent keys keep their defaults so older files
// load) and validating the bounds. A family keeps only the checks that join
// several fields in its own validate().
//
//   static const ConfigFields<MyConfig> table = [] {
//     ConfigFields<MyConfig> f("MyConfig");
//     f.integer("width", &MyConfig::width, 1, 8192);
//     f.real("slope", &MyConfig::slope, Interval::half_open(0, 1));
//     return f;
//   }();

#include "core/common/error.h"
#include "core/common/json_field.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <sstream>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace gml {

// The names an enum is known by in files and options, each value once.
template <typename E>
using EnumNames = std::vector<std::pair<const char*, E>>;

// "a or b or c", for messages.
template <typename E>
std::string enum_options(const EnumNames<E>& names) {
  std::string options;
  for (const auto& entry : names)
    options += (options.empty() ? "" : " or ") + std::string(entry.first);
  return options;
}

template <typename E>
const char* name_of(const EnumNames<E>& names, E value) {
  for (const auto& [text, v] : names)
    if (v == value) return text;
  fail(Status::Internal, "enum value without a name");
}

// The value named `text`; nullopt when no value has that name.
template <typename E>
std::optional<E> find_named(const EnumNames<E>& names, const std::string& text) {
  for (const auto& [option, value] : names)
    if (text == option) return value;
  return std::nullopt;
}

// The value named `text`, or Error(InvalidArgument) "unknown <what> ..."
// listing the names.
template <typename E>
E value_named(const EnumNames<E>& names, const std::string& text, const char* what) {
  if (const std::optional<E> v = find_named(names, text)) return *v;
  fail(Status::InvalidArgument,
       "unknown " + std::string(what) + " '" + text + "' (" + enum_options(names) + ")");
}

// Bounds of a real field. Every comparison fails for NaN, so NaN is always
// out of bounds; an open infinite end refuses infinity too.
struct Interval {
  double lo, hi;
  bool lo_open, hi_open;

  static Interval closed(double lo, double hi) { return {lo, hi, false, false}; }
  static Interval half_open(double lo, double hi) { return {lo, hi, false, true}; }
  static Interval above(double lo) { return {lo, kInf, true, true}; }
  static Interval at_least(double lo) { return {lo, kInf, false, true}; }

  bool contains(double v) const {
    return (lo_open ? v > lo : v >= lo) && (hi_open ? v < hi : v <= hi);
  }
  std::string text() const {
    if (hi == kInf) return std::string(lo_open ? "> " : ">= ") + number(lo);
    return (lo_open ? "(" : "[") + number(lo) + ", " + number(hi) + (hi_open ? ")" : "]");
  }

 private:
  static constexpr double kInf = std::numeric_limits<double>::infinity();
  static std::string number(double v) {
    std::ostringstream s;
    s << v;
    return s.str();
  }
};

template <typename Config>
class ConfigFields {
 public:
  // `name` starts every message ("FlowConfig: ...").
  explicit ConfigFields(std::string name) : name_(std::move(name)) {}

  // An integer within [lo, hi]; the upper bounds sit far above any useful
  // model so that a damaged file fails before its network is allocated.
  void integer(const char* key, int64_t Config::*member, int64_t lo, int64_t hi) {
    add(key, member, [name = name_, key, member, lo, hi](const Config& c) {
      const int64_t v = c.*member;
      if (v < lo || v > hi)
        fail(Status::InvalidArgument, name + ": " + key + " must be in [" + std::to_string(lo) +
                                          ", " + std::to_string(hi) + "], not " +
                                          std::to_string(v));
    });
  }

  void real(const char* key, double Config::*member, Interval bounds) {
    add(key, member, [name = name_, key, member, bounds](const Config& c) {
      const double v = c.*member;
      if (!bounds.contains(v)) {
        std::ostringstream s;
        s << v;
        fail(Status::InvalidArgument,
             name + ": " + key + " must be " + in(bounds) + ", not " + s.str());
      }
    });
  }

  // Booleans, strings and lists: any value of the type; the family checks
  // them against the other fields.
  template <typename T>
  void plain(const char* key, T Config::*member) {
    add(key, member, nullptr);
  }

  // A boolean added after files were first written: written only when true,
  // so a file that leaves it at false stays readable by a library that
  // predates the key (which refuses unknown keys). Absent means false.
  void flag(const char* key, bool Config::*member) {
    Field f;
    f.key = key;
    f.write = [member](const Config& c, nlohmann::json& j, const char* k) {
      if (c.*member) j[k] = true;
    };
    f.read = [name = name_, member](const nlohmann::json& j, Config& c, const char* k) {
      read_json_field(j, k, c.*member, name);
    };
    fields_.push_back(std::move(f));
  }

  // A value added after files were first written: written only when
  // `written` says so, so files that do not use it stay readable by a
  // library that predates the key. Absent means the struct's default.
  template <typename T>
  void optional(const char* key, T Config::*member, bool (*written)(const T&)) {
    Field f;
    f.key = key;
    f.write = [member, written](const Config& c, nlohmann::json& j, const char* k) {
      if (written(c.*member)) j[k] = c.*member;
    };
    f.read = [name = name_, member](const nlohmann::json& j, Config& c, const char* k) {
      read_json_field(j, k, c.*member, name);
    };
    fields_.push_back(std::move(f));
  }

  // An enum stored by name. `absent` is what a file without the key means
  // when that differs from the struct's default (a key added later, with
  // files written before it meaning the old behaviour).
  // (common_type_t: E is deduced from the member alone.)
  template <typename E>
  void choice(const char* key, E Config::*member, EnumNames<std::common_type_t<E>> names,
              std::optional<std::common_type_t<E>> absent = std::nullopt) {
    Field f;
    f.key = key;
    f.write = [member, names](const Config& c, nlohmann::json& j, const char* k) {
      j[k] = name_of(names, c.*member);
    };
    f.read = [name = name_, member, names, absent](const nlohmann::json& j, Config& c,
                                                   const char* k) {
      if (!j.contains(k)) {
        if (absent) c.*member = *absent;
        return;
      }
      const std::string text = j.at(k).get<std::string>();
      const std::optional<E> value = find_named(names, text);
      if (!value)
        fail(Status::Format, name + ": " + k + " '" + text + "' is not " + enum_options(names));
      c.*member = *value;
    };
    fields_.push_back(std::move(f));
  }

  nlohmann::json write(const Config& c) const {
    nlohmann::json j = nlohmann::json::object();
    for (const Field& f : fields_) f.write(c, j, f.key);
    return j;
  }

  // Reads `j` over the defaults in `c`; does not validate.
  void read(const nlohmann::json& j, Config& c) const {
    if (!j.is_object()) fail(Status::Format, name_ + ": JSON must be an object");
    for (const auto& item : j.items()) {
      bool known = false;
      for (const Field& f : fields_) known = known || item.key() == f.key;
      if (!known) fail(Status::Format, name_ + ": unknown key '" + item.key() + "'");
    }
    try {
      for (const Field& f : fields_) f.read(j, c, f.key);
    } catch (const nlohmann::json::exception& e) {
      fail(Status::Format, name_ + ": wrong type in JSON: " + e.what());
    }
  }

  // Throws Error(InvalidArgument) naming the first field out of bounds.
  void validate(const Config& c) const {
    for (const Field& f : fields_)
      if (f.check) f.check(c);
  }

  // Parses, reads over `Config{}` and validates with `validate` (the
  // family's, which includes the bounds).
  Config parse(const std::string& text) const {
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(text);
    } catch (const nlohmann::json::exception& e) {
      fail(Status::Format, name_ + ": invalid JSON: " + e.what());
    }
    Config c;
    read(j, c);
    c.validate();
    return c;
  }

 private:
  struct Field {
    const char* key;
    std::function<void(const Config&, nlohmann::json&, const char*)> write;
    std::function<void(const nlohmann::json&, Config&, const char*)> read;
    std::function<void(const Config&)> check;
  };

  template <typename T>
  void add(const char* key, T Config::*member, std::function<void(const Config&)> check) {
    Field f;
    f.key = key;
    f.write = [member](const Config& c, nlohmann::json& j, const char* k) { j[k] = c.*member; };
    f.read = [name = name_, member](const nlohmann::json& j, Config& c, const char* k) {
      read_json_field(j, k, c.*member, name);
    };
    f.check = std::move(check);
    fields_.push_back(std::move(f));
  }

  static std::string in(const Interval& bounds) {
    const std::string t = bounds.text();
    return t[0] == '[' || t[0] == '(' ? "in " + t : t;
  }

  std::string name_;
  std::vector<Field> fields_;
};

}  // namespace gml

#include "adapters/column_map.h"

#include <cctype>
#include <cmath>
#include <limits>
#include <set>
#include <stdexcept>

namespace gml::adapters {
namespace {

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool is_name_char(char c) {
  // FITS TTYPE values may contain more than identifiers (e.g. "FLUX-G"),
  // so anything but the mapping's own punctuation is part of a name.
  return c != ',' && c != '=' && c != '(' && c != ')' && c != '[' && c != ']' &&
         !std::isspace(static_cast<unsigned char>(c));
}

class Parser {
 public:
  explicit Parser(const std::string& text) : s_(text) {}

  std::vector<MappedOutput> parse() {
    std::vector<MappedOutput> out;
    skip_space();
    if (pos_ == s_.size()) fail("the mapping is empty");
    while (true) {
      out.push_back(item());
      skip_space();
      if (pos_ == s_.size()) break;
      expect(',');
    }
    std::set<std::string> seen;
    for (const MappedOutput& o : out) {
      if (!seen.insert(lower(o.name)).second) {
        throw std::invalid_argument("column mapping: output name '" + o.name +
                                    "' is used twice in '" + s_ + "'");
      }
    }
    return out;
  }

 private:
  MappedOutput item() {
    MappedOutput o;
    const size_t start = pos_;
    std::string first = name("an output name, column or function");
    skip_space();
    if (peek() == '=') {
      ++pos_;
      o.name = first;
      skip_space();
      const size_t expr_start = pos_;
      expression(name("a column or function"), o);
      o.expression = squeeze(s_.substr(expr_start, pos_ - expr_start));
    } else {
      expression(first, o);
      o.expression = squeeze(s_.substr(start, pos_ - start));
      o.name = o.expression;
    }
    return o;
  }

  // `head` (already consumed) is a column name or, when '(' follows, a
  // function name.
  void expression(const std::string& head, MappedOutput& o) {
    skip_space();
    if (peek() != '(') {
      o.conversion = Conversion::Identity;
      o.args.push_back(ref_after(head));
      return;
    }
    const std::string fn = lower(head);
    size_t arity = 0;
    if (fn == "mag") {
      o.conversion = Conversion::Mag, arity = 1;
    } else if (fn == "magerr") {
      o.conversion = Conversion::MagErr, arity = 2;
    } else if (fn == "sigma") {
      o.conversion = Conversion::Sigma, arity = 1;
    } else if (fn == "nmgy") {
      o.conversion = Conversion::Nmgy, arity = 1;
    } else {
      fail("unknown function '" + head + "' (known: mag, magerr, sigma, nmgy)");
    }
    ++pos_;  // '('
    while (true) {
      skip_space();
      o.args.push_back(ref_after(name("a column")));
      skip_space();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      expect(')');
      break;
    }
    if (o.args.size() != arity) {
      fail(head + "() takes " + std::to_string(arity) + " argument" + (arity > 1 ? "s" : "") +
           ", got " + std::to_string(o.args.size()));
    }
  }

  ColumnRef ref_after(const std::string& column) {
    ColumnRef r;
    r.column = column;
    skip_space();
    if (peek() != '[') return r;
    ++pos_;
    skip_space();
    const size_t start = pos_;
    while (pos_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[pos_]))) ++pos_;
    if (pos_ == start) fail("expected a non-negative element index after '" + column + "['");
    if (pos_ - start > 12) fail("element index of '" + column + "' is too large");
    r.element = std::stoll(s_.substr(start, pos_ - start));
    skip_space();
    expect(']');
    return r;
  }

  std::string name(const char* what) {
    skip_space();
    const size_t start = pos_;
    while (pos_ < s_.size() && is_name_char(s_[pos_])) ++pos_;
    if (pos_ == start) fail(std::string("expected ") + what);
    return s_.substr(start, pos_ - start);
  }

  void expect(char c) {
    skip_space();
    if (peek() != c) fail(std::string("expected '") + c + "'");
    ++pos_;
  }

  char peek() const { return pos_ < s_.size() ? s_[pos_] : '\0'; }
  void skip_space() {
    while (pos_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[pos_]))) ++pos_;
  }

  static std::string squeeze(const std::string& t) {
    std::string r;
    for (char c : t) {
      if (!std::isspace(static_cast<unsigned char>(c))) r += c;
    }
    return r;
  }

  [[noreturn]] void fail(const std::string& why) const {
    const std::string where =
        pos_ < s_.size() ? "at character " + std::to_string(pos_ + 1) : "at the end";
    throw std::invalid_argument("column mapping: " + why + " " + where + " of '" + s_ + "'");
  }

  const std::string& s_;
  size_t pos_ = 0;
};

}  // namespace

const char* to_string(Conversion c) {
  switch (c) {
    case Conversion::Mag: return "mag";
    case Conversion::MagErr: return "magerr";
    case Conversion::Sigma: return "sigma";
    case Conversion::Nmgy: return "nmgy";
    default: return "";
  }
}

const char* result_unit(Conversion c) {
  switch (c) {
    case Conversion::Mag:
    case Conversion::MagErr: return "mag";
    case Conversion::Sigma:
    case Conversion::Nmgy: return "nanomaggy";
    default: return "";
  }
}

std::vector<MappedOutput> parse_column_map(const std::string& mapping) {
  return Parser(mapping).parse();
}

double convert(Conversion c, const double* x, int32_t& flags) {
  switch (c) {
    case Conversion::Identity: return convert_as<Conversion::Identity>(x, flags);
    case Conversion::Mag: return convert_as<Conversion::Mag>(x, flags);
    case Conversion::MagErr: return convert_as<Conversion::MagErr>(x, flags);
    case Conversion::Sigma: return convert_as<Conversion::Sigma>(x, flags);
    case Conversion::Nmgy: return convert_as<Conversion::Nmgy>(x, flags);
  }
  return std::numeric_limits<double>::quiet_NaN();
}

}  // namespace gml::adapters

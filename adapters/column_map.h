// Column mapping strings: which table columns (and which elements of vector
// columns) become the inputs of a model, and through which unit conversion.
//
// Grammar (whitespace is ignored around every token):
//
//   mapping := item { "," item }
//   item    := [ name "=" ] expr          name defaults to the expr text
//   expr    := ref | func "(" ref { "," ref } ")"
//   ref     := COLUMN [ "[" k "]" ]       k: 0-based element of a vector column
//   func    := mag | magerr | sigma | nmgy          (case-insensitive)
//
// Conversions (f: flux in nanomaggies, ivar: inverse variance of f, m: AB mag):
//
//   COL            the value itself
//   mag(f)         m = 22.5 - 2.5 log10(f)                  needs f > 0
//   magerr(f, iv)  sigma_m = (2.5 / ln 10) / (f sqrt(iv))   needs f > 0, iv > 0
//                  (2.5 / ln 10 = 1.0857362...)
//   sigma(iv)      sigma_f = 1 / sqrt(iv)                   needs iv > 0
//   nmgy(m)        f = 10^((22.5 - m) / 2.5)                 any finite m
//
// Column names are matched case-insensitively. Parsing only checks syntax;
// whether the columns exist and have the right type is checked when the
// mapping is bound to a table (see catalog.h).
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace gml::adapters {

enum class Conversion { Identity, Mag, MagErr, Sigma, Nmgy };

/// Name of a conversion as written in mappings ("", "mag", "magerr", ...).
const char* to_string(Conversion c);
/// Unit of a conversion's result ("" for Identity: the column's own unit).
const char* result_unit(Conversion c);

struct ColumnRef {
  std::string column;
  int64_t element = -1;  ///< -1: no [k] given (the column must be scalar)
};

struct MappedOutput {
  std::string name;        ///< output name (left of '=', else the expression)
  std::string expression;  ///< right of '=', whitespace removed
  Conversion conversion = Conversion::Identity;
  std::vector<ColumnRef> args;
};

/// Parses a mapping string. Throws std::invalid_argument naming the
/// offending item and position for a syntax error, an unknown function, a
/// wrong number of arguments, a negative or non-integer index, an empty
/// mapping or a duplicate output name.
std::vector<MappedOutput> parse_column_map(const std::string& mapping);

/// Row flag bits set by conversions and reads (see catalog.h). A flagged
/// row's affected outputs are NaN; the row itself is always kept.
/// An input is null: TNULL, or NaN/Inf in a float column (CFITSIO reads
/// both as undefined).
constexpr int32_t kFlagNull = 1 << 0;
constexpr int32_t kFlagNonFinite = 1 << 1;  ///< an infinite argument, or a result overflowed
constexpr int32_t kFlagBadFlux = 1 << 2;    ///< mag/magerr of a flux <= 0
constexpr int32_t kFlagBadIvar = 1 << 3;    ///< magerr/sigma of an inverse variance <= 0

/// Applies `c` to the argument values `x` (as many as the conversion takes)
/// and ORs the reasons a result is unusable into `flags`; such results are
/// NaN. A NaN input counts as null (kFlagNull).
double convert(Conversion c, const double* x, int32_t& flags);

namespace detail {

inline bool usable(double v, int32_t& flags) {
  // NaN is how a null element arrives (the reader turns TNULL into NaN).
  if (std::isnan(v)) {
    flags |= kFlagNull;
    return false;
  }
  if (std::isinf(v)) {
    flags |= kFlagNonFinite;
    return false;
  }
  return true;
}

inline double finite_or_flag(double r, int32_t& flags) {
  if (std::isfinite(r)) return r;
  flags |= kFlagNonFinite;
  return std::numeric_limits<double>::quiet_NaN();
}

}  // namespace detail

/// convert() with the conversion fixed at compile time, so loops over rows
/// carry no per-value dispatch. convert() itself forwards here: both give
/// bit-identical results.
template <Conversion C>
inline double convert_as(const double* x, int32_t& flags) {
  using detail::finite_or_flag;
  using detail::usable;
  constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
  // Pogson's ratio 2.5 / ln(10): d(mag) = kPogson * d(flux) / flux.
  constexpr double kPogson = 1.0857362047581294;
  if constexpr (C == Conversion::Identity) {
    return usable(x[0], flags) ? x[0] : kNaN;
  } else if constexpr (C == Conversion::Mag) {
    if (!usable(x[0], flags)) return kNaN;
    if (x[0] <= 0.0) {
      flags |= kFlagBadFlux;
      return kNaN;
    }
    return finite_or_flag(22.5 - 2.5 * std::log10(x[0]), flags);
  } else if constexpr (C == Conversion::MagErr) {
    const bool f_ok = usable(x[0], flags);
    const bool iv_ok = usable(x[1], flags);
    bool ok = f_ok && iv_ok;
    if (f_ok && x[0] <= 0.0) {
      flags |= kFlagBadFlux;
      ok = false;
    }
    if (iv_ok && x[1] <= 0.0) {
      flags |= kFlagBadIvar;
      ok = false;
    }
    return ok ? finite_or_flag(kPogson / (x[0] * std::sqrt(x[1])), flags) : kNaN;
  } else if constexpr (C == Conversion::Sigma) {
    if (!usable(x[0], flags)) return kNaN;
    if (x[0] <= 0.0) {
      flags |= kFlagBadIvar;
      return kNaN;
    }
    return finite_or_flag(1.0 / std::sqrt(x[0]), flags);
  } else {
    static_assert(C == Conversion::Nmgy, "unhandled conversion");
    if (!usable(x[0], flags)) return kNaN;
    return finite_or_flag(std::pow(10.0, (22.5 - x[0]) / 2.5), flags);
  }
}

}  // namespace gml::adapters

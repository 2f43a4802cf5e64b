#include "adapters/catalog_rows.h"

#include <cctype>
#include <climits>
#include <cstring>
#include <limits>
#include <stdexcept>

#include "fits_io/errors.h"

namespace gml::adapters {
namespace {

using Kind = RawField::Kind;

// CFITSIO's marker for "no TNULLn keyword" (NULL_UNDEFINED in fitsio2.h,
// which is not a public header): a column whose TNULL equals it is never
// checked for nulls, by CFITSIO or here.
constexpr LONGLONG kNoTnull = 1234554321;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// FITS data are big-endian.
template <typename U>
inline U load_be(const uint8_t* p) {
  U v;
  std::memcpy(&v, p, sizeof v);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  if constexpr (sizeof(U) == 2) v = __builtin_bswap16(v);
  if constexpr (sizeof(U) == 4) v = __builtin_bswap32(v);
  if constexpr (sizeof(U) == 8) v = __builtin_bswap64(v);
#endif
  return v;
}

// The loops below are instantiated per stored type and per scaling/null
// mode, so the per-element body is a load, a byte swap, a convert and two
// stores, with no dispatch.
template <typename S, typename U, bool Scaled, bool CheckNull>
void decode_int(const uint8_t* p, int64_t stride, int64_t rows, S tnull, double scale, double zero,
                double* v, uint8_t* nul) {
  for (int64_t r = 0; r < rows; ++r) {
    const S x = static_cast<S>(load_be<U>(p + r * stride));
    const bool is_null = CheckNull && x == tnull;
    const double d = Scaled ? static_cast<double>(x) * scale + zero : static_cast<double>(x);
    v[r] = is_null ? kNaN : d;
    nul[r] = is_null ? 1 : 0;
  }
}

template <typename S, typename U>
void decode_int(const RawField& f, const uint8_t* p, int64_t stride, int64_t rows, double* v,
                uint8_t* nul) {
  const bool scaled = !(f.scale == 1.0 && f.zero == 0.0);
  const S tnull = static_cast<S>(f.tnull);
  if (scaled) {
    if (f.check_null) {
      decode_int<S, U, true, true>(p, stride, rows, tnull, f.scale, f.zero, v, nul);
    } else {
      decode_int<S, U, true, false>(p, stride, rows, tnull, f.scale, f.zero, v, nul);
    }
  } else if (f.check_null) {
    decode_int<S, U, false, true>(p, stride, rows, tnull, 1.0, 0.0, v, nul);
  } else {
    decode_int<S, U, false, false>(p, stride, rows, tnull, 1.0, 0.0, v, nul);
  }
}

// F: float or double; U: its bit pattern. ExpMask selects the exponent.
template <typename F, typename U, U ExpMask, bool Scaled>
void decode_float(const uint8_t* p, int64_t stride, int64_t rows, double scale, double zero,
                  double* v, uint8_t* nul) {
  for (int64_t r = 0; r < rows; ++r) {
    const U bits = load_be<U>(p + r * stride);
    F x;
    std::memcpy(&x, &bits, sizeof x);
    const U e = bits & ExpMask;
    double d = Scaled ? static_cast<double>(x) * scale + zero : static_cast<double>(x);
    // CFITSIO reads every value with a zero exponent (signed zero and
    // subnormals) as exactly 0, before scaling.
    if (e == 0) d = Scaled ? zero : 0.0;
    const bool is_null = e == ExpMask;
    v[r] = is_null ? kNaN : d;
    nul[r] = is_null ? 1 : 0;
  }
}

template <typename F, typename U, U ExpMask>
void decode_float(const RawField& f, const uint8_t* p, int64_t stride, int64_t rows, double* v,
                  uint8_t* nul) {
  if (f.scale == 1.0 && f.zero == 0.0) {
    decode_float<F, U, ExpMask, false>(p, stride, rows, 1.0, 0.0, v, nul);
  } else {
    decode_float<F, U, ExpMask, true>(p, stride, rows, f.scale, f.zero, v, nul);
  }
}

// Bytes a column takes in a row, from its TFORM.
int64_t column_bytes(const fits::ColumnInfo& c, int datacode, LONGLONG repeat, long width) {
  if (datacode < 0) {
    // Variable-length descriptor: two 32-bit (P) or 64-bit (Q) integers.
    for (char ch : c.tform) {
      if (std::isalpha(static_cast<unsigned char>(ch))) {
        const char u = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
        if (u == 'P') return 8;
        if (u == 'Q') return 16;
      }
    }
    return -1;
  }
  switch (datacode) {
    case TBIT: return (repeat + 7) / 8;
    case TSTRING: return repeat;
    default: return repeat * width;
  }
}

}  // namespace

int RawField::element_bytes() const {
  switch (kind) {
    case Kind::U8: return 1;
    case Kind::I16: return 2;
    case Kind::I32:
    case Kind::F32: return 4;
    case Kind::I64:
    case Kind::F64: return 8;
    default: return 0;
  }
}

RawLayout describe_rows(fitsfile* fp, const std::string& path,
                        const std::vector<fits::ColumnInfo>& cols) {
  RawLayout layout;
  int status = 0, hdutype = 0;
  fits_get_hdu_type(fp, &hdutype, &status);
  fits::detail::check_fits(status, path, "get HDU type");
  if (hdutype != BINARY_TBL) return layout;
  LONGLONG naxis1 = 0;
  fits_read_key(fp, TLONGLONG, "NAXIS1", &naxis1, nullptr, &status);
  fits::detail::check_fits(status, path, "read NAXIS1");

  int64_t offset = 0;
  layout.fields.resize(cols.size());
  for (size_t i = 0; i < cols.size(); ++i) {
    const fits::ColumnInfo& c = cols[i];
    RawField& f = layout.fields[i];
    std::vector<char> tform(c.tform.begin(), c.tform.end());
    tform.push_back('\0');
    int datacode = 0;
    LONGLONG repeat = 0;
    long width = 0;
    if (fits_binary_tformll(tform.data(), &datacode, &repeat, &width, &status) != 0) {
      // A TFORM CFITSIO cannot parse: leave the whole table to column reads.
      fits::detail::clear_fits_errors();
      return RawLayout{};
    }
    const int64_t bytes = column_bytes(c, datacode, repeat, width);
    if (bytes < 0) return RawLayout{};
    f.offset = offset;
    f.repeat = repeat;
    offset += bytes;

    switch (datacode) {
      case TBYTE: f.kind = Kind::U8; break;
      case TSHORT: f.kind = Kind::I16; break;
      case TLONG:
      case TINT: f.kind = Kind::I32; break;
      case TLONGLONG: f.kind = Kind::I64; break;
      case TFLOAT: f.kind = Kind::F32; break;
      case TDOUBLE: f.kind = Kind::F64; break;
      default: f.kind = Kind::None; break;  // logical, bits, strings, complex, variable length
    }
    if (f.kind == Kind::None) continue;
    if (f.element_bytes() != width) return RawLayout{};

    char ttype[FLEN_VALUE] = {0}, tunit[FLEN_VALUE] = {0}, dtype[FLEN_VALUE] = {0};
    char tdisp[FLEN_VALUE] = {0};
    LONGLONG rep = 0, tnull = kNoTnull;
    fits_get_bcolparmsll(fp, c.number, ttype, tunit, dtype, &rep, &f.scale, &f.zero, &tnull, tdisp,
                         &status);
    fits::detail::check_fits(status, path, "read parameters of column " + c.name);
    switch (f.kind) {
      case Kind::U8: f.check_null = tnull != kNoTnull && tnull >= 0 && tnull <= 255; break;
      case Kind::I16:
        f.check_null = tnull != kNoTnull && tnull >= SHRT_MIN && tnull <= SHRT_MAX;
        break;
      case Kind::I32:
        f.check_null = tnull != kNoTnull;
        // CFITSIO compares the stored value with (INT32BIT) tnull.
        tnull = static_cast<int32_t>(static_cast<uint32_t>(static_cast<uint64_t>(tnull)));
        break;
      case Kind::I64: f.check_null = tnull != kNoTnull; break;
      default: f.check_null = false; break;  // floats: NaN/Inf is the null
    }
    f.tnull = f.check_null ? tnull : 0;
  }
  if (offset != naxis1 || naxis1 <= 0) return RawLayout{};
  layout.row_bytes = naxis1;
  return layout;
}

void read_raw_rows(fitsfile* fp, const std::string& path, int64_t first_row, int64_t n,
                   int64_t row_bytes, uint8_t* buf) {
  if (n <= 0) return;
  int status = 0;
  fits_read_tblbytes(fp, first_row + 1, 1, n * row_bytes, buf, &status);
  fits::detail::check_fits(
      status, path,
      "read rows " + std::to_string(first_row) + ".." + std::to_string(first_row + n - 1));
}

void decode_field(const RawField& f, int64_t element, const uint8_t* block, int64_t row_bytes,
                  int64_t rows, double* v, uint8_t* nul) {
  const uint8_t* p = block + f.offset + element * f.element_bytes();
  switch (f.kind) {
    case Kind::U8: return decode_int<uint8_t, uint8_t>(f, p, row_bytes, rows, v, nul);
    case Kind::I16: return decode_int<int16_t, uint16_t>(f, p, row_bytes, rows, v, nul);
    case Kind::I32: return decode_int<int32_t, uint32_t>(f, p, row_bytes, rows, v, nul);
    case Kind::I64: return decode_int<int64_t, uint64_t>(f, p, row_bytes, rows, v, nul);
    case Kind::F32:
      return decode_float<float, uint32_t, 0x7f800000u>(f, p, row_bytes, rows, v, nul);
    case Kind::F64:
      return decode_float<double, uint64_t, 0x7ff0000000000000ull>(f, p, row_bytes, rows, v, nul);
    case Kind::None: break;
  }
  throw std::logic_error("decode_field: column has no raw decoding");
}

}  // namespace gml::adapters

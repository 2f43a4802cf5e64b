#include "fits_io/structure_check.h"

#include <fitsio.h>
#include <sys/stat.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <set>
#include <vector>

#include "fits_io/byte_source.h"
#include "fits_io/card.h"
#include "fits_io/errors.h"
#include "fits_io/table_format.h"

namespace gml::fits {
namespace {

using detail::Card;
using detail::kCardLength;
using detail::keyword_index;
using detail::ValueKind;

constexpr size_t kBlock = 2880;
constexpr size_t kCardsPerBlock = kBlock / kCardLength;
constexpr int64_t kInt64Max = std::numeric_limits<int64_t>::max();
constexpr long kMaxAxes = 999;
constexpr long kMaxFields = 999;

// Column keywords CFITSIO parses while setting up a table HDU.
constexpr const char* kColumnPrefixes[] = {"TTYPE", "TFORM", "TUNIT", "TNULL", "TSCAL",
                                           "TZERO", "TDISP", "TBCOL", "TDIM"};

enum class Kind { Image, AsciiTable, BinaryTable };

bool mul_overflows(int64_t a, int64_t b, int64_t& out) {
  return __builtin_mul_overflow(a, b, &out);
}
bool add_overflows(int64_t a, int64_t b, int64_t& out) {
  return __builtin_add_overflow(a, b, &out);
}

// Validates the header of one HDU card by card, then its data size.
class HduChecker {
 public:
  HduChecker(const std::string& label, int hdu) : label_(label), hdu_(hdu) {}

  [[noreturn]] void fail(int status, const std::string& what) const {
    std::string where = "HDU " + std::to_string(hdu_);
    if (card_no_ > 0) {
      where += ", card " + std::to_string(card_no_);
      if (!card_.keyword.empty()) where += " (" + card_.keyword + ")";
    }
    throw FitsError(status, "invalid FITS file '" + label_ + "': " + where + ": " + what);
  }

  // Returns true once the END card has been seen.
  bool add_card(const char* text) {
    ++card_no_;
    const std::string err = detail::parse_card(text, card_);
    if (!err.empty()) {
      // A malformed value of a keyword that CFITSIO never reads by itself
      // (a DSS plate's SKEW card, say) is harmless: CFITSIO reports it only
      // when a caller asks for that keyword, and astropy reads such files
      // with a warning. Bytes that are not ASCII, a bad keyword name, or a
      // malformed structural keyword still refuse the file.
      if (card_no_ > mandatory_count() && !card_.keyword.empty() && !read_on_open(card_.keyword)) {
        return false;
      }
      fail(BAD_KEYCHAR, err);
    }
    if (card_no_ <= mandatory_count()) {
      mandatory_card();
    } else if (card_.keyword == "END") {
      finish_header();
      return true;
    } else {
      other_card();
    }
    return false;
  }

  // Bytes of the data unit, without fill. Valid after END.
  int64_t data_bytes() const { return data_bytes_; }

 private:
  bool is_table() const { return kind_ != Kind::Image; }
  long mandatory_count() const {
    if (naxis_ < 0) return 3;
    return 3 + naxis_ + (hdu_ > 1 ? 2 : 0) + (is_table() ? 1 : 0);
  }

  int64_t want_int(int status, int64_t lo, int64_t hi) {
    if (card_.kind != ValueKind::Integer || card_.overflow || card_.integer < lo ||
        card_.integer > hi) {
      fail(status,
           "value must be an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
    }
    return card_.integer;
  }

  void expect_keyword(int status, const std::string& name) {
    if (card_.keyword != name) {
      fail(status, "mandatory keyword " + name + " expected here (found '" + card_.keyword +
                       "'): the first keywords of an HDU must be " +
                       (hdu_ == 1 ? "SIMPLE" : "XTENSION") + ", BITPIX, NAXIS, NAXISn" +
                       (hdu_ == 1 ? "" : ", PCOUNT, GCOUNT") + ", in this order");
    }
  }

  void mandatory_card() {
    const long k = card_no_;
    if (k == 1) {
      if (hdu_ == 1) {
        expect_keyword(NO_SIMPLE, "SIMPLE");
        // SIMPLE = F says the file departs from the standard somewhere;
        // CFITSIO and astropy still read it, and every structural rule below
        // still applies.
        if (card_.kind != ValueKind::Logical) fail(BAD_SIMPLE, "SIMPLE must be T or F");
      } else {
        expect_keyword(NO_XTENSION, "XTENSION");
        if (card_.kind != ValueKind::String) fail(NO_XTENSION, "XTENSION must be a string");
        if (card_.text == "IMAGE" || card_.text == "IUEIMAGE") {
          kind_ = Kind::Image;
        } else if (card_.text == "TABLE") {
          kind_ = Kind::AsciiTable;
        } else if (card_.text == "BINTABLE" || card_.text == "A3DTABLE") {
          kind_ = Kind::BinaryTable;
        } else {
          fail(UNKNOWN_EXT, "unsupported extension type '" + card_.text +
                                "' (expected IMAGE, TABLE or BINTABLE)");
        }
      }
    } else if (k == 2) {
      expect_keyword(NO_BITPIX, "BITPIX");
      bitpix_ = want_int(BAD_BITPIX, -64, 64);
      if (bitpix_ != 8 && bitpix_ != 16 && bitpix_ != 32 && bitpix_ != 64 && bitpix_ != -32 &&
          bitpix_ != -64) {
        fail(BAD_BITPIX, "BITPIX must be 8, 16, 32, 64, -32 or -64");
      }
      if (is_table() && bitpix_ != 8) fail(BAD_BITPIX, "BITPIX of a table must be 8");
    } else if (k == 3) {
      expect_keyword(NO_NAXIS, "NAXIS");
      naxis_ = static_cast<long>(want_int(BAD_NAXIS, 0, kMaxAxes));
      if (is_table() && naxis_ != 2) fail(BAD_NAXIS, "NAXIS of a table must be 2");
    } else if (k <= 3 + naxis_) {
      expect_keyword(NO_NAXES, "NAXIS" + std::to_string(k - 3));
      naxes_.push_back(want_int(BAD_NAXES, 0, kInt64Max));
    } else if (k == 4 + naxis_) {
      expect_keyword(NO_PCOUNT, "PCOUNT");
      pcount_ = want_int(BAD_PCOUNT, 0, kind_ == Kind::BinaryTable ? kInt64Max : 0);
    } else if (k == 5 + naxis_) {
      expect_keyword(NO_GCOUNT, "GCOUNT");
      gcount_ = want_int(BAD_GCOUNT, 1, 1);
    } else {
      expect_keyword(NO_TFIELDS, "TFIELDS");
      tfields_ = static_cast<long>(want_int(BAD_TFIELDS, 0, kMaxFields));
      columns_.resize(static_cast<size_t>(tfields_));
    }
  }

  // Keywords whose value CFITSIO reads when opening or moving to an HDU
  // (the mandatory ones are checked by position).
  static bool read_on_open(const std::string& k) {
    static const std::set<std::string> kRead = {
        "SIMPLE",  "XTENSION", "BITPIX", "NAXIS",  "PCOUNT", "GCOUNT",
        "TFIELDS", "BSCALE",   "BZERO",  "BLANK",  "EXTVER", "EXTLEVEL",
        "EXTNAME", "HDUNAME",  "EXTEND", "GROUPS", "THEAP",  "END"};
    if (kRead.count(k) != 0 || keyword_index(k, "NAXIS") != 0) return true;
    // Tile-compressed images: CFITSIO reads every Z* keyword it knows.
    if (!k.empty() && k[0] == 'Z') return true;
    for (const char* prefix : kColumnPrefixes) {
      if (keyword_index(k, prefix) != 0) return true;
    }
    return false;
  }

  // Keywords whose value CFITSIO reads when opening or moving to an HDU.
  void check_value_type() {
    const std::string& k = card_.keyword;
    const ValueKind v = card_.kind;
    const bool number = v == ValueKind::Integer || v == ValueKind::Real;
    if ((k == "BSCALE" || k == "BZERO") && !number) fail(BAD_FLOATKEY, "value must be a number");
    if ((k == "BLANK" || k == "EXTVER" || k == "EXTLEVEL") && v != ValueKind::Integer) {
      fail(BAD_INTKEY, "value must be an integer");
    }
    if ((k == "EXTNAME" || k == "HDUNAME") && v != ValueKind::String) {
      fail(BAD_KEYCHAR, "value must be a string");
    }
    if ((k == "EXTEND" || k == "GROUPS" || k == "ZIMAGE") && v != ValueKind::Logical) {
      fail(BAD_LOGICALKEY, "value must be T or F");
    }
  }

  void other_card() {
    const std::string& k = card_.keyword;
    if (k == "SIMPLE" || k == "XTENSION" || k == "BITPIX" || k == "NAXIS" || k == "TFIELDS" ||
        keyword_index(k, "NAXIS") != 0 || ((k == "PCOUNT" || k == "GCOUNT") && hdu_ > 1)) {
      fail(BAD_ORDER, "mandatory keyword repeated or out of place");
    }
    check_value_type();
    if (hdu_ == 1) {
      if (k == "GROUPS") groups_ = card_.logical;
      if (k == "PCOUNT") pcount_ = want_int(BAD_PCOUNT, 0, kInt64Max);
      if (k == "GCOUNT") gcount_ = want_int(BAD_GCOUNT, 0, kInt64Max);
    }
    if (!is_table()) return;
    if (k == "THEAP") {
      theap_ = want_int(BAD_INTKEY, 0, kInt64Max);
      return;
    }
    for (const char* prefix : kColumnPrefixes) {
      const long n = keyword_index(k, prefix);
      if (n == 0) continue;
      if (n < 0 || n > tfields_) {
        fail(BAD_KEYCHAR,
             "column keyword index out of range (TFIELDS = " + std::to_string(tfields_) + ")");
      }
      if (!seen_.insert(k).second) fail(BAD_ORDER, "column keyword repeated");
      column_card(prefix, columns_[static_cast<size_t>(n - 1)]);
      return;
    }
  }

  void column_card(const std::string& prefix, detail::ColumnSpec& col) {
    const ValueKind v = card_.kind;
    const bool number = v == ValueKind::Integer || v == ValueKind::Real;
    if (prefix == "TFORM" || prefix == "TDIM" || prefix == "TTYPE") {
      if (v != ValueKind::String) fail(BAD_TFORM, prefix + "n must be a string");
      if (prefix == "TFORM") col.tform = card_.text, col.has_tform = true;
      if (prefix == "TDIM") col.tdim = card_.text, col.has_tdim = true;
    } else if (prefix == "TUNIT" || prefix == "TDISP") {
      if (v != ValueKind::String && v != ValueKind::Undefined) {
        fail(BAD_KEYCHAR, prefix + "n must be a string");
      }
    } else if (prefix == "TSCAL" || prefix == "TZERO") {
      if (!number) fail(BAD_FLOATKEY, prefix + "n must be a number");
    } else if (prefix == "TNULL") {
      const ValueKind want = kind_ == Kind::AsciiTable ? ValueKind::String : ValueKind::Integer;
      if (v != want) {
        fail(BAD_INTKEY, std::string("TNULLn must be ") +
                             (want == ValueKind::String ? "a string" : "an integer") +
                             " in this table");
      }
    } else if (prefix == "TBCOL") {
      col.tbcol = want_int(BAD_TBCOL, 1, kInt64Max);
    }
  }

  void finish_header() {
    card_no_ = 0;  // errors below concern the HDU as a whole
    card_ = Card{};
    if (is_table()) {
      const std::string err =
          kind_ == Kind::AsciiTable
              ? detail::check_ascii_columns(columns_, naxes_[0])
              : detail::check_binary_columns(columns_, naxes_[0], naxes_[1], pcount_, theap_);
      if (!err.empty()) fail(BAD_TFORM, err);
    }
    int64_t n = naxis_ == 0 ? 0 : 1;
    size_t first = 0;
    if (hdu_ == 1 && groups_ && naxis_ >= 1 && naxes_[0] == 0) {
      first = 1;  // random groups: NAXIS1 = 0 is a placeholder
    } else if (hdu_ == 1) {
      pcount_ = 0;
      gcount_ = 1;
    }
    for (size_t i = first; i < naxes_.size(); ++i) {
      if (mul_overflows(n, naxes_[i], n)) fail(BAD_NAXES, "data size overflows 64 bits");
    }
    int64_t bytes = 0;
    if (n == 0 && pcount_ == 0) {
      bytes = 0;
    } else if (add_overflows(n, pcount_, bytes) || mul_overflows(bytes, gcount_, bytes) ||
               mul_overflows(bytes, std::abs(bitpix_) / 8, bytes) ||
               bytes > kInt64Max - static_cast<int64_t>(kBlock)) {
      fail(BAD_NAXES, "data size overflows 64 bits");
    }
    data_bytes_ = bytes;
  }

  const std::string& label_;
  const int hdu_;
  long card_no_ = 0;
  Card card_;
  Kind kind_ = Kind::Image;
  int64_t bitpix_ = 0;
  long naxis_ = -1;
  std::vector<int64_t> naxes_;
  int64_t pcount_ = 0, gcount_ = 1, theap_ = -1;
  bool groups_ = false;
  long tfields_ = 0;
  std::vector<detail::ColumnSpec> columns_;
  std::set<std::string> seen_;
  int64_t data_bytes_ = 0;
};

bool is_filler(const char* block) {
  const char c = block[0];
  if (c != '\0' && c != ' ') return false;
  for (size_t i = 1; i < kBlock; ++i) {
    if (block[i] != c) return false;
  }
  return true;
}

void check_stream(detail::ByteSource& src, const std::string& label) {
  std::vector<char> block(kBlock);
  auto fail = [&](int status, const std::string& what) {
    throw FitsError(status, "invalid FITS file '" + label + "': " + what);
  };
  size_t got = src.read(block.data(), kBlock);
  if (got == 0) fail(END_OF_FILE, "the file is empty");
  for (int hdu = 1;; ++hdu) {
    // `block` holds the first header block of this HDU (got bytes).
    HduChecker h(label, hdu);
    for (bool end = false; !end;) {
      if (got < kBlock) {
        fail(NO_END, "HDU " + std::to_string(hdu) + ": the file ends inside the header" +
                         (got == 0 ? std::string(" (no END card)")
                                   : " (" + std::to_string(got) + " bytes of a 2880-byte block)") +
                         "; truncated?");
      }
      for (size_t i = 0; i < kCardsPerBlock; ++i) {
        const char* card = block.data() + i * kCardLength;
        if (!end) {
          end = h.add_card(card);
        } else if (std::memcmp(card, std::string(kCardLength, ' ').data(), kCardLength) != 0) {
          fail(BAD_HEADER_FILL, "HDU " + std::to_string(hdu) + ": header fill after END (card " +
                                    std::to_string(i + 1) +
                                    " of the last header block) is not "
                                    "blank");
        }
      }
      if (!end) got = src.read(block.data(), kBlock);
    }
    const int64_t bytes = h.data_bytes();
    const uint64_t padded = (static_cast<uint64_t>(bytes) + kBlock - 1) / kBlock * kBlock;
    const uint64_t skipped = src.skip(padded);
    if (skipped < padded) {
      fail(READ_ERROR, "HDU " + std::to_string(hdu) + ": the data unit needs " +
                           std::to_string(padded) + " bytes (with fill) but the file has only " +
                           std::to_string(skipped) +
                           " left (truncated, or wrong NAXISn/PCOUNT keywords)");
    }
    got = src.read(block.data(), kBlock);
    if (got == 0) return;
    if (got >= 8 && std::memcmp(block.data(), "XTENSION", 8) == 0) continue;
    // Trailing records that are not an extension: CFITSIO stops its HDU
    // scan there; accept only plain filler so no header parser sees them.
    for (;;) {
      if (got < kBlock || !is_filler(block.data())) {
        fail(UNKNOWN_REC, "bytes after HDU " + std::to_string(hdu) +
                              " are neither an XTENSION header nor whole blank/zero filler "
                              "records");
      }
      got = src.read(block.data(), kBlock);
      if (got == 0) return;
    }
  }
}

bool exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

}  // namespace

void check_fits_structure(const void* data, size_t size, const std::string& label) {
  auto src = detail::memory_source(data, size);
  check_stream(*src, label);
}

void check_fits_file_structure(const std::string& path) {
  auto src = detail::file_source(path);
  check_stream(*src, path);
}

namespace detail {

std::string fits_base_file(const std::string& path) {
  size_t b = path.find_first_not_of(' ');
  if (b == std::string::npos) return {};
  std::string name = path.substr(b);
  const size_t filt = name.find_first_of("[(");
  const size_t scheme = name.find("://");
  if (scheme != std::string::npos && scheme < filt) {
    if (name.compare(0, scheme, "file") != 0) {
      throw FitsError(FILE_NOT_OPENED, "open '" + path +
                                           "': only local files can be validated before reading; "
                                           "the '" +
                                           name.substr(0, scheme) + "://' driver is not supported");
    }
    name.erase(0, scheme + 3);
  }
  name = name.substr(0, name.find_first_of("[("));
  while (!name.empty() && name.back() == ' ') name.pop_back();
  if (name == "-" || name == "stdin") {
    throw FitsError(FILE_NOT_OPENED,
                    "open '" + path + "': reading from standard input is not supported");
  }
  if (name.empty() || exists(name)) return name;
  // CFITSIO's "name.fits+N" selects HDU N when no such file exists.
  const size_t plus = name.find_last_of('+');
  if (plus != std::string::npos && plus + 1 < name.size() &&
      name.find_first_not_of("0123456789", plus + 1) == std::string::npos) {
    name.erase(plus);
    if (exists(name)) return name;
  }
  for (const char* suffix : {".gz", ".Z", ".z", ".zip"}) {
    if (exists(name + suffix)) return name + suffix;
  }
  return {};
}

}  // namespace detail
}  // namespace gml::fits

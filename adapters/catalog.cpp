#include "adapters/catalog.h"

#include <fitsio.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "core/common/error.h"
#include "core/common/progress.h"

namespace gml::adapters {
namespace {

bool all_digits(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isdigit(static_cast<unsigned char>(c)) != 0;
  });
}

std::string column_list(const std::vector<fits::ColumnInfo>& cols) {
  std::string names;
  for (const fits::ColumnInfo& c : cols) {
    names += (names.empty() ? "" : ", ") + c.name;
    if (c.repeat > 1 && c.type != fits::ColumnType::String) {
      names += "[" + std::to_string(c.repeat) + "]";
    }
  }
  return names;
}

bool same_name(const std::string& a, const std::string& b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::toupper(static_cast<unsigned char>(x)) ==
                  std::toupper(static_cast<unsigned char>(y));
         });
}

fits::FitsFile open_file(const std::string& path) {
  try {
    return fits::FitsFile::open(path);
  } catch (const fits::FitsError& e) {
    // A missing file is the caller's I/O problem, not a FITS format one.
    if (e.status() == FILE_NOT_OPENED) fail(Status::Io, e.what());
    throw;
  }
}

// Row-block reads of about this size keep the raw rows and the decoded
// fields of one chunk in L2/L3 cache while amortising the per-call cost.
constexpr int64_t kRowBlockBytes = 1 << 20;
constexpr int64_t kFitsRecord = 2880;

// Where one argument of an output lives in the chunk's scratch: value and
// null flag of row r at v[r * stride], nul[r * stride].
struct ArgView {
  const double* v = nullptr;
  const uint8_t* nul = nullptr;
  int64_t stride = 1;
};

template <typename T>
void emit_identity(const ArgView& a, int64_t rows, T* dst, int64_t nout, int32_t* rf) {
  for (int64_t r = 0; r < rows; ++r) {
    const T v = static_cast<T>(a.v[r * a.stride]);
    const uint8_t nul = a.nul[r * a.stride];
    if (nul || !std::isfinite(v)) {
      // Null in the file, or finite in double but not in float32.
      rf[r] |= nul ? kFlagNull : kFlagNonFinite;
      dst[r * nout] = std::numeric_limits<T>::quiet_NaN();
    } else {
      dst[r * nout] = v;
    }
  }
}

template <Conversion C, typename T>
void emit_converted(const ArgView* a, int64_t rows, T* dst, int64_t nout, int32_t* rf) {
  constexpr size_t kArgs = C == Conversion::MagErr ? 2 : 1;
  double args[kArgs];
  for (int64_t r = 0; r < rows; ++r) {
    for (size_t k = 0; k < kArgs; ++k) {
      args[k] = a[k].v[r * a[k].stride];
      if (a[k].nul[r * a[k].stride]) rf[r] |= kFlagNull;
    }
    const double v = convert_as<C>(args, rf[r]);
    T& out = dst[r * nout];
    out = static_cast<T>(v);
    // A finite double can still overflow float32 (e.g. nmgy(-100)).
    if (std::isinf(out) && !std::isinf(v)) {
      rf[r] |= kFlagNonFinite;
      out = std::numeric_limits<T>::quiet_NaN();
    }
  }
}

// Fills column dst[r * nout] of rows [0, rows) and ORs the row flags.
template <typename T>
void emit_output(Conversion c, const ArgView* a, int64_t rows, T* dst, int64_t nout, int32_t* rf) {
  switch (c) {
    case Conversion::Identity: return emit_identity(a[0], rows, dst, nout, rf);
    case Conversion::Mag: return emit_converted<Conversion::Mag>(a, rows, dst, nout, rf);
    case Conversion::MagErr: return emit_converted<Conversion::MagErr>(a, rows, dst, nout, rf);
    case Conversion::Sigma: return emit_converted<Conversion::Sigma>(a, rows, dst, nout, rf);
    case Conversion::Nmgy: return emit_converted<Conversion::Nmgy>(a, rows, dst, nout, rf);
  }
}

// The rows asked for, in a message; not as first_row + n, which may overflow.
std::string rows_outside_text(int64_t first_row, int64_t n, int64_t total,
                              const std::string& path) {
  return "first_row " + std::to_string(first_row) + " and n_rows " + std::to_string(n) +
         " are outside the " + std::to_string(total) + " rows of '" + path + "'";
}

}  // namespace

CatalogReader::CatalogReader(const std::string& path, const std::string& hdu)
    : file_(std::make_unique<fits::FitsFile>(open_file(path))) {
  fits::FitsFile& f = *file_;
  if (hdu.empty()) {
    if (f.hdu_type() == fits::HduType::Image) {
      const int n = f.num_hdus();
      int found = 0;
      for (int i = 1; i <= n && found == 0; ++i) {
        if (f.move_to(i) != fits::HduType::Image) found = i;
      }
      if (found == 0) fail(Status::NotFound, "'" + path + "' has no table HDU");
    }
  } else if (all_digits(hdu)) {
    const int n = f.num_hdus();
    const long ext = hdu.size() > 6 ? n : std::stol(hdu);
    if (ext + 1 > n) {
      fail(Status::NotFound, "'" + path + "' has no extension " + hdu + " (it has " +
                                 std::to_string(n - 1) + " extensions after the primary HDU)");
    }
    f.move_to(static_cast<int>(ext) + 1);
  } else {
    try {
      f.move_to(hdu);
    } catch (const fits::FitsError& e) {
      fail(Status::NotFound, e.what());
    }
  }
  hdu_ = f.current_hdu();
  if (f.hdu_type() == fits::HduType::Image) {
    throw std::invalid_argument("HDU " + std::to_string(hdu_ - 1) + " of '" + path +
                                "' is an image, not a table");
  }
  table_ = std::make_unique<fits::Table>(f);
  chunk_rows_ = table_->optimal_chunk_rows();
  try {
    layout_ = describe_rows(f.handle(), path, table_->columns());
  } catch (const fits::FitsError&) {
    // Row blocks are only a faster route to the same values; a table whose
    // layout CFITSIO will not report is still read column by column.
    fits::detail::clear_fits_errors();
    layout_ = RawLayout{};
  }
}

CatalogReader::~CatalogReader() = default;

int64_t CatalogReader::nrows() const {
  return table_->nrows();
}
const std::vector<fits::ColumnInfo>& CatalogReader::columns() const {
  return table_->columns();
}
const std::string& CatalogReader::path() const {
  return file_->path();
}

BoundMapping CatalogReader::bind(const std::string& mapping) const {
  BoundMapping m;
  const std::vector<fits::ColumnInfo>& cols = table_->columns();
  for (MappedOutput& spec : parse_column_map(mapping)) {
    BoundMapping::Output out;
    for (const ColumnRef& ref : spec.args) {
      auto it = std::find_if(cols.begin(), cols.end(), [&](const fits::ColumnInfo& c) {
        return same_name(c.name, ref.column);
      });
      if (it == cols.end()) {
        fail(Status::NotFound, "column '" + ref.column + "' (in '" + spec.name + "=" +
                                   spec.expression + "') not found in '" + path() +
                                   "'; available columns: " + column_list(cols));
      }
      const fits::ColumnInfo& c = *it;
      if (!c.is_numeric()) {
        throw std::invalid_argument("column '" + c.name + "' (TFORM " + c.tform + ") is " +
                                    fits::to_string(c.type) +
                                    ", not numeric; only numeric columns can be mapped");
      }
      int64_t element = ref.element;
      if (element < 0) {
        if (c.repeat != 1) {
          throw std::invalid_argument("column '" + c.name + "' is a vector of " +
                                      std::to_string(c.repeat) + " elements; pick one with " +
                                      c.name + "[k], k in 0.." + std::to_string(c.repeat - 1));
        }
        element = 0;
      } else if (element >= c.repeat) {
        throw std::invalid_argument(
            "element " + std::to_string(element) + " of column '" + c.name +
            "' is out of range: it has " + std::to_string(c.repeat) + " element" +
            (c.repeat > 1 ? "s (0.." + std::to_string(c.repeat - 1) + ")" : " (0)"));
      }
      auto src = std::find_if(m.sources.begin(), m.sources.end(),
                              [&](const BoundMapping::Source& s) { return s.column == c.name; });
      if (src == m.sources.end()) {
        m.sources.push_back({c.name, c.repeat, c.number});
        src = m.sources.end() - 1;
      }
      out.source.push_back(static_cast<size_t>(src - m.sources.begin()));
      out.element.push_back(element);
      if (spec.conversion == Conversion::Identity) out.unit = c.unit;
    }
    if (spec.conversion != Conversion::Identity) out.unit = result_unit(spec.conversion);
    out.spec = std::move(spec);
    m.outputs.push_back(std::move(out));
  }
  return m;
}

bool CatalogReader::reads_row_blocks(const BoundMapping& m) const {
  if (path_ != ReadPath::Auto || !layout_.usable() || m.sources.empty()) return false;
  for (const BoundMapping::Source& s : m.sources) {
    // A mapping not made by bind() may lack column numbers.
    if (s.number < 1 || static_cast<size_t>(s.number) > layout_.fields.size()) return false;
    if (layout_.fields[static_cast<size_t>(s.number - 1)].kind == RawField::Kind::None) {
      return false;
    }
  }
  // Once rows span several FITS records, a column read touches about one
  // record per needed element and row; a row-block read moves the whole
  // row. Past a couple of records per needed element, the columns win.
  int64_t elements = 0;
  for (const BoundMapping::Output& o : m.outputs) elements += static_cast<int64_t>(o.source.size());
  return layout_.row_bytes <= kFitsRecord * (1 + 2 * elements);
}

template <typename T>
void CatalogReader::read_impl(const BoundMapping& m, int64_t first_row, int64_t n, T* out,
                              int32_t* flags) {
  const int64_t total = nrows();
  if (first_row < 0 || n < 0 || first_row > total || n > total - first_row) {
    throw std::invalid_argument(rows_outside_text(first_row, n, total, path()));
  }
  if (n == 0) return;
  require(out != nullptr, "catalog read: null output buffer");
  const bool blocks = reads_row_blocks(m);
  const int64_t nout = m.n_outputs();

  // Every (source, element) an output reads, each fetched once per chunk.
  std::vector<std::pair<size_t, int64_t>> uses;
  std::vector<std::vector<size_t>> use_of(m.outputs.size());
  for (size_t j = 0; j < m.outputs.size(); ++j) {
    const BoundMapping::Output& o = m.outputs[j];
    for (size_t a = 0; a < o.source.size(); ++a) {
      const std::pair<size_t, int64_t> key(o.source[a], o.element[a]);
      auto it = std::find(uses.begin(), uses.end(), key);
      if (it == uses.end()) it = uses.insert(uses.end(), key);
      use_of[j].push_back(static_cast<size_t>(it - uses.begin()));
    }
  }
  const size_t nbuf = blocks ? uses.size() : m.sources.size();
  values_.resize(std::max(values_.size(), nbuf));
  nulls_.resize(std::max(nulls_.size(), nbuf));
  std::vector<ArgView> views(uses.size());

  const int64_t step =
      blocks ? std::max<int64_t>(1, kRowBlockBytes / layout_.row_bytes) : chunk_rows_;
  if (blocks) {
    raw_.resize(static_cast<size_t>(std::min(step, n) * layout_.row_bytes));
    if (file_->current_hdu() != hdu_) file_->move_to(hdu_);
  }
  for (int64_t done = 0; done < n;) {
    const int64_t rows = std::min(step, n - done);
    if (blocks) {
      read_raw_rows(file_->handle(), path(), first_row + done, rows, layout_.row_bytes,
                    raw_.data());
      for (size_t u = 0; u < uses.size(); ++u) {
        if (values_[u].size() < static_cast<size_t>(rows)) {
          values_[u].resize(static_cast<size_t>(rows));
          nulls_[u].resize(static_cast<size_t>(rows));
        }
        const BoundMapping::Source& src = m.sources[uses[u].first];
        decode_field(layout_.fields[static_cast<size_t>(src.number - 1)], uses[u].second,
                     raw_.data(), layout_.row_bytes, rows, values_[u].data(), nulls_[u].data());
        views[u] = {values_[u].data(), nulls_[u].data(), 1};
      }
    } else {
      for (size_t s = 0; s < m.sources.size(); ++s) {
        const size_t need = static_cast<size_t>(rows * m.sources[s].repeat);
        if (values_[s].size() < need) {
          values_[s].resize(need);
          nulls_[s].resize(need);
        }
        table_->read_column(m.sources[s].column, first_row + done, rows, values_[s].data(),
                            nulls_[s].data());
      }
      for (size_t u = 0; u < uses.size(); ++u) {
        const size_t s = uses[u].first;
        views[u] = {values_[s].data() + uses[u].second, nulls_[s].data() + uses[u].second,
                    m.sources[s].repeat};
      }
    }
    row_flags_.assign(static_cast<size_t>(rows), 0);
    int32_t* rf = row_flags_.data();
    T* base = out + done * nout;
    // Output by output, each a loop specialised for its conversion.
    for (size_t j = 0; j < m.outputs.size(); ++j) {
      ArgView args[2];
      for (size_t a = 0; a < use_of[j].size() && a < 2; ++a) args[a] = views[use_of[j][a]];
      emit_output(m.outputs[j].spec.conversion, args, rows, base + j, nout, rf);
    }
    if (flags) std::copy(rf, rf + rows, flags + done);
    done += rows;
  }
}

void CatalogReader::read(const BoundMapping& m, int64_t first_row, int64_t n, float* out,
                         int32_t* flags) {
  read_impl(m, first_row, n, out, flags);
}

void CatalogReader::read(const BoundMapping& m, int64_t first_row, int64_t n, double* out,
                         int32_t* flags) {
  read_impl(m, first_row, n, out, flags);
}

void CatalogReader::stream(const BoundMapping& m, int64_t first_row, int64_t n, int64_t chunk_rows,
                           const std::function<void(const CatalogChunk&)>& fn, Progress* progress) {
  require(chunk_rows >= 0, "catalog stream: chunk_rows must be >= 0");
  const int64_t total = nrows();
  if (first_row < 0 || n < 0 || first_row > total || n > total - first_row) {
    throw std::invalid_argument(rows_outside_text(first_row, n, total, path()));
  }
  const int64_t step = chunk_rows > 0 ? chunk_rows : chunk_rows_;
  const int64_t cap = std::min(step, n);
  std::vector<float> values(static_cast<size_t>(cap * m.n_outputs()));
  std::vector<int32_t> flags(static_cast<size_t>(cap));
  for (int64_t done = 0; done < n;) {
    const int64_t rows = std::min(step, n - done);
    read(m, first_row + done, rows, values.data(), flags.data());
    CatalogChunk chunk;
    chunk.first_row = first_row + done;
    chunk.n_rows = rows;
    chunk.n_outputs = m.n_outputs();
    chunk.values = values.data();
    chunk.flags = flags.data();
    fn(chunk);
    done += rows;
    if (progress) progress->update(done);
  }
  if (progress) progress->finish();
}

}  // namespace gml::adapters

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
        m.sources.push_back({c.name, c.repeat});
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

template <typename T>
void CatalogReader::read_impl(const BoundMapping& m, int64_t first_row, int64_t n, T* out,
                              int32_t* flags) {
  const int64_t total = nrows();
  if (first_row < 0 || n < 0 || first_row > total || n > total - first_row) {
    throw std::invalid_argument("rows [" + std::to_string(first_row) + ", " +
                                std::to_string(first_row + n) + ") are outside the " +
                                std::to_string(total) + " rows of '" + path() + "'");
  }
  if (n == 0) return;
  require(out != nullptr, "catalog read: null output buffer");
  const size_t nsrc = m.sources.size();
  values_.resize(nsrc);
  nulls_.resize(nsrc);
  const size_t nout = m.outputs.size();
  double args[2];
  for (int64_t done = 0; done < n;) {
    const int64_t rows = std::min(chunk_rows_, n - done);
    for (size_t s = 0; s < nsrc; ++s) {
      const size_t need = static_cast<size_t>(rows * m.sources[s].repeat);
      if (values_[s].size() < need) {
        values_[s].resize(need);
        nulls_[s].resize(need);
      }
      table_->read_column(m.sources[s].column, first_row + done, rows, values_[s].data(),
                          nulls_[s].data());
    }
    row_flags_.assign(static_cast<size_t>(rows), 0);
    int32_t* rf = row_flags_.data();
    T* base = out + done * static_cast<int64_t>(nout);
    // Output by output: plain columns, the common case, get a tight loop
    // without the per-value dispatch of convert().
    for (size_t j = 0; j < nout; ++j) {
      const BoundMapping::Output& o = m.outputs[j];
      if (o.spec.conversion == Conversion::Identity) {
        const size_t s = o.source[0];
        const int64_t rep = m.sources[s].repeat;
        const double* src = values_[s].data() + o.element[0];
        const uint8_t* nul = nulls_[s].data() + o.element[0];
        for (int64_t r = 0; r < rows; ++r) {
          const T v = static_cast<T>(src[r * rep]);
          if (nul[r * rep] || !std::isfinite(v)) {
            // Null in the file, or finite in double but not in float32.
            rf[r] |= nul[r * rep] ? kFlagNull : kFlagNonFinite;
            base[r * static_cast<int64_t>(nout) + j] = std::numeric_limits<T>::quiet_NaN();
          } else {
            base[r * static_cast<int64_t>(nout) + j] = v;
          }
        }
        continue;
      }
      for (int64_t r = 0; r < rows; ++r) {
        for (size_t a = 0; a < o.source.size(); ++a) {
          const size_t s = o.source[a];
          const size_t idx = static_cast<size_t>(r * m.sources[s].repeat + o.element[a]);
          args[a] = values_[s][idx];
          if (nulls_[s][idx]) rf[r] |= kFlagNull;
        }
        const double v = convert(o.spec.conversion, args, rf[r]);
        T& dst = base[r * static_cast<int64_t>(nout) + j];
        dst = static_cast<T>(v);
        // A finite double can still overflow float32 (e.g. nmgy(-100)).
        if (std::isinf(dst) && !std::isinf(v)) {
          rf[r] |= kFlagNonFinite;
          dst = std::numeric_limits<T>::quiet_NaN();
        }
      }
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
    throw std::invalid_argument("rows [" + std::to_string(first_row) + ", " +
                                std::to_string(first_row + n) + ") are outside the " +
                                std::to_string(total) + " rows of '" + path() + "'");
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

#include "fits_io/wcs_tab.h"

#include <fitsio.h>
#include <wcslib/tab.h>
#include <wcslib/wcs.h>
#include <wcslib/wtbarr.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>
#include <stdexcept>

#include "fits_io/card.h"
#include "fits_io/errors.h"

namespace gml::fits::detail {
namespace {

std::string where(const wcsprm& w, const wtbarr_s& t) {
  return tab_description(w) + ": binary table '" + without_trailing_blanks(t.extnam) +
         "' (EXTVER " + std::to_string(t.extver) + "), column '" +
         without_trailing_blanks(t.ttype) + "', row " + std::to_string(t.row);
}

// Number of values CFITSIO stores for an array whose axis lengths it has
// written to dimlen.
size_t stored_values(const wtbarr_s& t) {
  if (t.kind != 'c') return static_cast<size_t>(t.dimlen[0]);
  size_t n = static_cast<size_t>(t.ndim - 1);
  for (int m = 0; m < t.ndim - 1; ++m) n *= static_cast<size_t>(t.dimlen[m]);
  return n;
}

// Checks each column against what WCSLIB expects before CFITSIO allocates
// by its TDIMn: a coordinate array of M-vectors has TDIM = (M, K1..KM).
void check_columns(FitsFile& f, const wcsprm& w) {
  fitsfile* fp = f.handle();
  int hdu = 0;
  fits_get_hdu_num(fp, &hdu);
  struct Restore {
    fitsfile* fp;
    int hdu;
    ~Restore() {
      int st = 0;
      fits_movabs_hdu(fp, hdu, nullptr, &st);
      if (st != 0) clear_fits_errors();
    }
  } restore{fp, hdu};
  for (int k = 0; k < w.nwtb; ++k) {
    const wtbarr_s& t = w.wtb[k];
    int status = 0;
    char extnam[72], ttype[72];
    std::memcpy(extnam, t.extnam, sizeof extnam);
    std::memcpy(ttype, t.ttype, sizeof ttype);
    extnam[71] = ttype[71] = '\0';
    if (fits_movnam_hdu(fp, BINARY_TBL, extnam, t.extver, &status) != 0) {
      clear_fits_errors();
      throw WcsError(0, where(w, t) + ": the file has no such binary table");
    }
    int colnum = 0;
    if (fits_get_colnum(fp, CASEINSEN, ttype, &colnum, &status) != 0) {
      clear_fits_errors();
      throw WcsError(0, where(w, t) + ": the table has no such column");
    }
    long nrows = 0;
    fits_get_num_rows(fp, &nrows, &status);
    int naxis = 0;
    long naxes[99] = {};
    fits_read_tdim(fp, colnum, 99, &naxis, naxes, &status);
    if (status != 0) {
      const std::string msg = cfitsio_message(status, f.path(), "read TDIM");
      throw WcsError(0, where(w, t) + ": " + msg);
    }
    if (t.row < 1 || t.row > nrows) {
      throw WcsError(0, where(w, t) + ": the table has " + std::to_string(nrows) + " rows");
    }
    std::string bad;
    if (t.kind == 'c') {
      if (naxis == 1 && t.ndim == 2) {  // TDIMn may be omitted when M = 1
        naxes[1] = naxes[0];
        naxes[0] = 1;
        naxis = 2;
      }
      if (naxis != t.ndim || naxes[0] != t.ndim - 1) {
        bad = "a coordinate array of " + std::to_string(t.ndim - 1) + "-vectors needs " +
              std::to_string(t.ndim) + " TDIM axes, the first of length " +
              std::to_string(t.ndim - 1);
      }
    } else if (naxis != 1) {
      bad = "an index vector needs a 1-axis TDIM";
    }
    long total = 1;
    for (int m = 0; m < naxis && bad.empty(); ++m) {
      if (naxes[m] < 1 || naxes[m] > kMaxTabValues / total) {
        bad = "the array must be non-empty and hold at most " + std::to_string(kMaxTabValues) +
              " values";
      } else {
        total *= naxes[m];
      }
    }
    if (!bad.empty()) throw WcsError(0, where(w, t) + ": " + bad);
  }
}

// Hands the arrays to WCSLIB (tabset() would, but only if wcsset() gets
// that far).
void take_memory(wcsprm& w) {
  for (int j = 0; j < w.ntab; ++j) {
    if (tabmem(w.tab + j) != 0) throw WcsError(0, tab_description(w) + ": tabmem() failed");
  }
}

}  // namespace

std::string tab_description(const wcsprm& w) {
  for (int i = 0; i < w.naxis; ++i) {
    const std::string t = without_trailing_blanks(w.ctype[i]);
    if (t.size() == 8 && t.compare(4, 4, "-TAB") == 0) {
      const char a = w.alt[0];
      return "CTYPE" + std::to_string(i + 1) +
             (a == ' ' || a == '\0' ? std::string() : std::string(1, a)) + " = '" + t + "'";
    }
  }
  return "-TAB axis";
}

void read_tab_arrays(FitsFile& f, wcsprm& w, std::vector<TabArray>& copy) {
  check_columns(f, w);
  int status = 0;
  fits_read_wcstab(f.handle(), w.nwtb, reinterpret_cast<wtbarr*>(w.wtb), &status);
  if (status != 0) {
    // CFITSIO has freed what it allocated but left the pointers.
    for (int k = 0; k < w.nwtb; ++k) *w.wtb[k].arrayp = nullptr;
    const std::string msg = cfitsio_message(status, f.path(), "read -TAB arrays");
    throw FitsError(status, tab_description(w) + ": " + msg);
  }
  take_memory(w);
  copy.clear();
  for (int k = 0; k < w.nwtb; ++k) {
    const wtbarr_s& t = w.wtb[k];
    TabArray a;
    a.dims.assign(t.dimlen, t.dimlen + (t.kind == 'c' ? t.ndim - 1 : 1));
    a.values.assign(*t.arrayp, *t.arrayp + stored_values(t));
    copy.push_back(std::move(a));
  }
}

void fill_tab_arrays(wcsprm& w, const std::vector<TabArray>& arrays) {
  if (arrays.size() != static_cast<size_t>(w.nwtb)) {
    throw std::logic_error("fill_tab_arrays: arrays of another WCS description");
  }
  for (int k = 0; k < w.nwtb; ++k) {
    const wtbarr_s& t = w.wtb[k];
    const TabArray& a = arrays[static_cast<size_t>(k)];
    std::copy(a.dims.begin(), a.dims.end(), t.dimlen);
    auto* mem = static_cast<double*>(std::malloc(a.values.size() * sizeof(double)));
    if (mem == nullptr) {
      for (int j = 0; j < k; ++j) {
        std::free(*w.wtb[j].arrayp);
        *w.wtb[j].arrayp = nullptr;
      }
      throw std::bad_alloc();
    }
    std::copy(a.values.begin(), a.values.end(), mem);
    *t.arrayp = mem;
  }
  take_memory(w);
}

}  // namespace gml::fits::detail

// table_compare A.fits B.fits EXTNAME: exit 0 when the two tables hold the
// same columns and bit-identical values (NaN equal to NaN), else print the
// first difference and exit 1. Used to check that an MPI catalog run writes
// exactly what a single process writes.
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "fits_io/fits_file.h"
#include "fits_io/table.h"

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: table_compare A.fits B.fits EXTNAME\n");
    return 2;
  }
  try {
    auto fa = gml::fits::FitsFile::open(argv[1]);
    auto fb = gml::fits::FitsFile::open(argv[2]);
    fa.move_to(std::string(argv[3]));
    fb.move_to(std::string(argv[3]));
    gml::fits::Table ta(fa), tb(fb);
    if (ta.nrows() != tb.nrows() || ta.ncols() != tb.ncols()) {
      std::printf("shape differs: %lld x %d vs %lld x %d\n", (long long)ta.nrows(), ta.ncols(),
                  (long long)tb.nrows(), tb.ncols());
      return 1;
    }
    if (ta.nrows() == 0) {
      std::printf("empty tables\n");
      return 1;
    }
    for (const auto& col : ta.columns()) {
      const auto& other = tb.column(col.name);
      if (other.repeat != col.repeat || other.tform != col.tform) {
        std::printf("column %s differs in format\n", col.name.c_str());
        return 1;
      }
      const size_t n = static_cast<size_t>(ta.nrows() * col.repeat);
      std::vector<double> a(n), b(n);
      ta.read_column(col.name, 0, ta.nrows(), a.data());
      tb.read_column(col.name, 0, tb.nrows(), b.data());
      for (size_t i = 0; i < n; ++i) {
        const bool same = std::memcmp(&a[i], &b[i], sizeof(double)) == 0 ||
                          (std::isnan(a[i]) && std::isnan(b[i]));
        if (!same) {
          std::printf("column %s element %zu: %.17g vs %.17g\n", col.name.c_str(), i, a[i], b[i]);
          return 1;
        }
      }
    }
    std::printf("identical: %lld rows x %d columns\n", (long long)ta.nrows(), ta.ncols());
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "table_compare: %s\n", e.what());
    return 2;
  }
}

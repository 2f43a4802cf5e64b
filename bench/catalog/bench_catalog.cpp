// galaxyml side of the catalog benchmark: read 5 numeric columns of the
// whole table into one float32 [n_rows, 5] buffer through the C ABI, best
// of R repeats (each repeat opens the file, as the Python peers do).
// Prints: name, best s, median s, rows, checksum of the last column.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "galaxyml/galaxyml.h"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s table.fits [repeats]\n", argv[0]);
    return 2;
  }
  const int repeats = argc > 2 ? std::atoi(argv[2]) : 5;
  const char* mapping = "RA,DEC,Z,FLUX_R,IVAR_R";
  std::vector<double> times;
  std::vector<float> out;
  int64_t n = 0;
  for (int r = 0; r < repeats; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    gml_catalog* cat = nullptr;
    if (gml_catalog_open(argv[1], nullptr, &cat) != GML_OK ||
        gml_catalog_num_rows(cat, &n) != GML_OK) {
      std::fprintf(stderr, "galaxyml: %s\n", gml_last_error());
      return 1;
    }
    out.resize(static_cast<size_t>(n) * 5);
    if (gml_catalog_read(cat, mapping, 0, n, out.data(), out.size(), nullptr, nullptr) != GML_OK) {
      std::fprintf(stderr, "galaxyml: %s\n", gml_last_error());
      return 1;
    }
    gml_catalog_free(cat);
    times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  double check = 0;
  for (int64_t i = 0; i < n; ++i) check += out[static_cast<size_t>(i) * 5 + 4];
  std::sort(times.begin(), times.end());
  std::printf("galaxyml\t%.4f\t%.4f\t%lld\t%.6e\n", times.front(), times[times.size() / 2],
              static_cast<long long>(n), check);
  return 0;
}

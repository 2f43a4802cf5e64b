// tool_table_check FILE HDU ROWS [SPEC...]: checks a FITS table written by
// gml-merger through the public C API only (no Python in the tool tests).
// Exit 0 when the table HDU has exactly ROWS rows and every SPEC holds, else
// print the first failure and exit 1 (2 for a usage error).
//   NAME              the column exists
//   NAME/UNIT         the column exists with TUNIT UNIT
//   NAME=LO:HI        every value (element 0 of a vector column) is in
//                     [LO, HI]; NaN fails
//   NAME@LO:HI>=K     at least K values are in [LO, HI]
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "galaxyml/galaxyml.h"

namespace {

int fail(const std::string& message) {
  std::printf("FAIL: %s\n", message.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: tool_table_check FILE HDU ROWS [SPEC...]\n");
    return 2;
  }
  const std::string path = argv[1], hdu = argv[2];
  const long long want_rows = std::atoll(argv[3]);
  gml_catalog* cat = nullptr;
  if (gml_catalog_open(path.c_str(), hdu.c_str(), &cat) != GML_OK) {
    return fail(path + "[" + hdu + "]: " + gml_last_error());
  }
  int64_t rows = 0;
  size_t len = 0;
  if (gml_catalog_num_rows(cat, &rows) != GML_OK ||
      gml_catalog_columns_json(cat, nullptr, 0, &len) != GML_OK) {
    return fail(gml_last_error());
  }
  std::string text(len, '\0');
  gml_catalog_columns_json(cat, text.data(), text.size(), &len);
  text.resize(len - 1);
  const nlohmann::json columns = nlohmann::json::parse(text);
  if (rows != want_rows) {
    return fail(path + ": " + std::to_string(rows) + " rows, expected " + argv[3]);
  }
  for (int a = 4; a < argc; ++a) {
    const std::string spec = argv[a];
    const size_t op = spec.find_first_of("/=@");
    const std::string name = spec.substr(0, op);
    const nlohmann::json* col = nullptr;
    for (const auto& c : columns)
      if (c.at("name").get<std::string>() == name) col = &c;
    if (!col) return fail(path + ": no column " + name + " in " + text);
    if (op == std::string::npos) continue;
    if (spec[op] == '/') {
      const std::string unit = col->value("unit", "");
      if (unit != spec.substr(op + 1)) return fail(name + " has unit '" + unit + "'");
      continue;
    }
    double lo = 0, hi = 0;
    long long at_least = -1;
    if (spec[op] == '=' && std::sscanf(spec.c_str() + op + 1, "%lf:%lf", &lo, &hi) != 2) {
      std::fprintf(stderr, "bad spec %s\n", spec.c_str());
      return 2;
    }
    if (spec[op] == '@' &&
        std::sscanf(spec.c_str() + op + 1, "%lf:%lf>=%lld", &lo, &hi, &at_least) != 3) {
      std::fprintf(stderr, "bad spec %s\n", spec.c_str());
      return 2;
    }
    const std::string mapping =
        "v=" + name + (col->value("repeat", 1) > 1 && col->at("type") != "string" ? "[0]" : "");
    std::vector<double> v(static_cast<size_t>(rows));
    if (rows > 0 && gml_catalog_read_f64(cat, mapping.c_str(), 0, rows, v.data(), v.size(), nullptr,
                                         nullptr) != GML_OK) {
      return fail(name + ": " + gml_last_error());
    }
    long long inside = 0;
    for (size_t i = 0; i < v.size(); ++i) {
      const bool ok = std::isfinite(v[i]) && v[i] >= lo && v[i] <= hi;
      if (ok) ++inside;
      if (!ok && at_least < 0) {
        return fail(name + " row " + std::to_string(i) + " = " + std::to_string(v[i]) +
                    " is outside [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
      }
    }
    if (at_least >= 0 && inside < at_least) {
      return fail(name + ": " + std::to_string(inside) + " rows in [" + std::to_string(lo) + ", " +
                  std::to_string(hi) + "], expected at least " + std::to_string(at_least));
    }
  }
  gml_catalog_free(cat);
  std::printf("ok: %s[%s] %lld rows, %d checks\n", path.c_str(), hdu.c_str(), want_rows, argc - 4);
  return 0;
}

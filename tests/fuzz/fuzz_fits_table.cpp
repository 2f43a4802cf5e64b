// Fuzzes FITS parsing and table/image reading through an in-memory file:
// any byte string must yield data or an exception, never a crash.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <vector>

#include "fits_io/fits_file.h"
#include "fits_io/header.h"
#include "fits_io/image.h"
#include "fits_io/table.h"

using namespace gml::fits;

namespace {

// Bounds keep each input cheap: a header may claim gigabytes of data.
constexpr int64_t kMaxRows = 64;
constexpr int64_t kMaxElements = 1 << 16;

void read_table(FitsFile& f) {
  Table t(f);
  const int64_t rows = std::min(t.nrows(), kMaxRows);
  for (const ColumnInfo& listed : t.columns()) {
    // Buffers are sized for the column a name resolves to (the first with
    // that name): headers may repeat or omit TTYPEn.
    const ColumnInfo& c = t.column(listed.name);
    if (c.repeat < 0 || c.repeat > kMaxElements / std::max<int64_t>(rows, 1)) continue;
    const size_t n = static_cast<size_t>(rows * c.repeat);
    try {
      if (c.type == ColumnType::String) {
        t.read_strings(c.name, 0, rows);
      } else if (c.is_numeric()) {
        std::vector<double> d(n);
        std::vector<uint8_t> mask(n);
        t.read_column(c.name, 0, rows, d.data(), mask.data());
        std::vector<int64_t> i(n);
        t.read_column(c.name, 0, rows, i.data());
      }
    } catch (const std::exception&) {
    }
  }
}

void read_image(FitsFile& f) {
  ImageInfo info = image_info(f);
  if (info.naxes.size() < 2) return;
  std::vector<float> win(16 * 16);
  read_window(f, -3, -3, 16, 16, win.data());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    // Pad to whole records so mutations reach the parsers instead of the
    // size check in open_memory.
    std::vector<uint8_t> buf(data, data + size);
    buf.resize((size + 2879) / 2880 * 2880, 0);
    FitsFile f = FitsFile::open_memory(buf.data(), buf.size(), "fuzz input");
    const int nhdu = std::min(f.num_hdus(), 4);
    for (int h = 1; h <= nhdu; ++h) {
      try {
        if (f.move_to(h) == HduType::Image) {
          read_image(f);
        } else {
          read_table(f);
        }
        read_header_string(f);
      } catch (const std::exception&) {
      }
    }
  } catch (const std::exception&) {
  }
  return 0;
}

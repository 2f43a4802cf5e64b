#include "core/posterior/sed/catalog.h"

#include <stdexcept>

#include "core/common/error.h"
#include "core/common/fits_errors.h"
#include "fits_io/fits_file.h"
#include "fits_io/table.h"

namespace gml::sed {

CatalogPhotometry read_catalog_photometry(const std::string& path, const CatalogColumns& columns) {
  CatalogPhotometry c;
  with_fits_errors("reading catalog photometry '" + path + "'", Status::Fits, Status::Format, [&] {
    auto f = fits::FitsFile::open(path);
    int hdu = 2;
    while (hdu <= f.num_hdus() && f.move_to(hdu) == fits::HduType::Image) ++hdu;
    if (hdu > f.num_hdus()) fail(Status::Format, "'" + path + "' has no table HDU");
    fits::Table t(f);
    c.n = t.nrows();
    const size_t n = static_cast<size_t>(c.n);
    auto read = [&](const std::string& name, int64_t repeat, std::vector<double>& out) {
      const auto& info = t.column(name);
      if (info.repeat != repeat) {
        fail(Status::Format, "'" + path + "' column " + name + ": " + std::to_string(info.repeat) +
                                 " elements per row, expected " + std::to_string(repeat));
      }
      out.resize(n * static_cast<size_t>(repeat));
      if (c.n > 0) t.read_column(name, 0, c.n, out.data());
    };
    read(columns.flux, 5, c.flux);
    read(columns.ivar, 5, c.ivar);
    read(columns.z, 1, c.z);
    if (!columns.extinction.empty() && t.has_column(columns.extinction)) {
      read(columns.extinction, 5, c.extinction);
    }
  });
  return c;
}

}  // namespace gml::sed

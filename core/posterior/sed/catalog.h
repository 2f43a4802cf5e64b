// The photometry columns of an SDSS galaxy catalog such as
// data/sdss/gst_tests_small.fits (5-band vector columns, nanomaggies).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace gml::sed {

struct CatalogPhotometry {
  int64_t n = 0;                   ///< rows
  std::vector<double> flux;        ///< [n][5] nanomaggies (NaN where null)
  std::vector<double> ivar;        ///< [n][5] nanomaggies^-2
  std::vector<double> z;           ///< [n] redshift
  std::vector<double> extinction;  ///< [n][5] Galactic extinction, mag; empty if not read
};

struct CatalogColumns {
  std::string flux = "MODELFLUX";
  std::string ivar = "MODELFLUX_IVAR";
  std::string z = "Z";
  std::string extinction = "EXTINCTION";  ///< "" to skip; skipped if absent
};

/// Reads the first table HDU of `path`. The flux, ivar (and extinction)
/// columns must have 5 elements per row (u, g, r, i, z) and z one. Throws
/// gml::Error naming the file and column (Status::Fits for CFITSIO errors,
/// Format for a wrong column shape).
CatalogPhotometry read_catalog_photometry(const std::string& path,
                                          const CatalogColumns& columns = CatalogColumns());

}  // namespace gml::sed

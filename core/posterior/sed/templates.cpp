#include "core/posterior/sed/templates.h"

#include <cmath>
#include <stdexcept>
#include <string>

#include "core/common/error.h"
#include "core/common/fits_errors.h"
#include "fits_io/fits_file.h"
#include "fits_io/header.h"
#include "fits_io/image.h"
#include "fits_io/table.h"

namespace gml::sed {

namespace {

void check_increasing(const std::vector<double>& w, const std::string& what) {
  for (size_t k = 0; k < w.size(); ++k) {
    if (!std::isfinite(w[k]) || w[k] <= 0.0 || (k > 0 && w[k] <= w[k - 1])) {
      fail(Status::Format, what + ": wavelength " + std::to_string(k) + " = " +
                               std::to_string(w[k]) + " is not positive and strictly increasing");
    }
  }
}

std::vector<double> read_vector_hdu(fits::FitsFile& f, const std::string& extname, int n,
                                    const std::string& path) {
  f.move_to(extname);
  std::vector<double> v = fits::read_image_f64(f);
  if (static_cast<int>(v.size()) != n) {
    fail(Status::Format, "'" + path + "' HDU " + extname + ": " + std::to_string(v.size()) +
                             " values, expected one per template (" + std::to_string(n) + ")");
  }
  return v;
}

}  // namespace

Spectrum TemplateSet::spectrum(int i) const {
  require(i >= 0 && i < n_templates(), "TemplateSet::spectrum: template index " +
                                           std::to_string(i) + " outside [0, " +
                                           std::to_string(n_templates()) + ")");
  const double* f = template_flux(i);
  return Spectrum{wave, std::vector<double>(f, f + wave.size())};
}

TemplateSet TemplateSet::read_kcorrect(const std::string& path) {
  TemplateSet t;
  with_fits_errors("reading kcorrect templates '" + path + "'", Status::Fits, Status::Format, [&] {
    auto f = fits::FitsFile::open(path);
    f.move_to("FLUX");
    fits::Table table(f);
    if (table.nrows() != 1) {
      fail(Status::Format,
           "'" + path + "' HDU FLUX: expected 1 row, got " + std::to_string(table.nrows()));
    }
    const auto& wc = table.column("wave");
    const auto& fc = table.column("flux");
    const int64_t nw = wc.repeat;
    if (nw < 2 || fc.repeat % nw != 0) {
      fail(Status::Format, "'" + path + "' HDU FLUX: column flux has " + std::to_string(fc.repeat) +
                               " elements, not a multiple of the " + std::to_string(nw) +
                               " wavelengths");
    }
    const int64_t nt = fc.repeat / nw;
    // The layout is TDIM (n_wave, n_templates): wavelength varies fastest.
    const std::string tdim_key = "TDIM" + std::to_string(fc.number);
    if (fits::has_key(f, tdim_key)) {
      std::string tdim = fits::read_key_string(f, tdim_key);
      std::string compact;
      for (char c : tdim) {
        if (c != ' ') compact += c;
      }
      const std::string want = "(" + std::to_string(nw) + "," + std::to_string(nt) + ")";
      if (compact != want) {
        fail(Status::Format, "'" + path + "' HDU FLUX: " + tdim_key + " = '" + tdim +
                                 "', expected '" + want + "' (wavelength fastest)");
      }
    }
    t.wave.resize(static_cast<size_t>(nw));
    t.flux.resize(static_cast<size_t>(nw * nt));
    table.read_column("wave", 0, 1, t.wave.data());
    table.read_column("flux", 0, 1, t.flux.data());
    check_increasing(t.wave, "'" + path + "' HDU FLUX column wave");
    for (size_t k = 0; k < t.flux.size(); ++k) {
      if (!std::isfinite(t.flux[k]) || t.flux[k] < 0.0) {
        fail(Status::Format, "'" + path + "' HDU FLUX column flux: element " + std::to_string(k) +
                                 " = " + std::to_string(t.flux[k]) + " is not finite and >= 0");
      }
    }
    const int n = static_cast<int>(nt);
    t.intsfh = read_vector_hdu(f, "INTSFH", n, path);
    t.mremain = read_vector_hdu(f, "MREMAIN", n, path);
    t.mets = read_vector_hdu(f, "METS", n, path);
    t.m300 = read_vector_hdu(f, "M300", n, path);
    t.m1000 = read_vector_hdu(f, "M1000", n, path);
  });
  for (int i = 0; i < t.n_templates(); ++i) {
    const size_t k = static_cast<size_t>(i);
    if (!(t.mremain[k] > 0.0 && t.mremain[k] <= t.intsfh[k])) {
      fail(Status::Format, "'" + path + "' HDU MREMAIN: template " + std::to_string(i) +
                               " has surviving mass " + std::to_string(t.mremain[k]) +
                               ", expected in (0, INTSFH = " + std::to_string(t.intsfh[k]) + "]");
    }
  }
  return t;
}

Spectrum read_spectrum_table(const std::string& path, const std::string& wave_column,
                             const std::string& flux_column) {
  Spectrum s;
  with_fits_errors("reading spectrum '" + path + "'", Status::Fits, Status::Format, [&] {
    auto f = fits::FitsFile::open(path);
    f.move_to(2);
    fits::Table table(f);
    const int64_t n = table.nrows();
    if (n < 2) {
      fail(Status::Format, "'" + path + "': spectrum table has " + std::to_string(n) + " rows");
    }
    for (const auto* c : {&table.column(wave_column), &table.column(flux_column)}) {
      if (c->repeat != 1) {
        fail(Status::Format, "'" + path + "' column " + c->name + ": expected a scalar column, " +
                                 "got " + std::to_string(c->repeat) + " elements per row");
      }
    }
    s.wave.resize(static_cast<size_t>(n));
    s.flam.resize(static_cast<size_t>(n));
    table.read_column(wave_column, 0, n, s.wave.data());
    table.read_column(flux_column, 0, n, s.flam.data());
  });
  check_increasing(s.wave, "'" + path + "' column " + wave_column);
  for (size_t k = 0; k < s.flam.size(); ++k) {
    if (!std::isfinite(s.flam[k])) {
      fail(Status::Format, "'" + path + "' column " + flux_column + ": row " + std::to_string(k) +
                               " is not finite");
    }
  }
  return s;
}

}  // namespace gml::sed

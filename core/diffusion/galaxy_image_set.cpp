#include "core/diffusion/galaxy_image_set.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>

#include "core/common/error.h"
#include "core/common/fits_errors.h"
#include "fits_io/fits_file.h"
#include "fits_io/header.h"
#include "fits_io/image.h"
#include "fits_io/table.h"

namespace gml::diffusion {
namespace {

constexpr const char* kKind = "GALAXIES";
constexpr const char* kTable = "GALAXIES";
constexpr double kDegrees = 180.0 / 3.14159265358979323846;

const char* class_name(GalaxyClass c) {
  switch (c) {
    case GalaxyClass::Smooth: return "smooth";
    case GalaxyClass::EdgeOnDisk: return "edge-on disk";
    case GalaxyClass::Disk: return "disk";
    case GalaxyClass::Merger: return "merger";
  }
  return "";
}

std::string numbered(const char* key, size_t band) {
  return key + std::to_string(band + 1);
}

void write_procedural_keys(fits::FitsFile& f, const GalaxyImageSet::Procedural& p) {
  const ProceduralOptions& o = p.options;
  fits::write_key_string(f, "SOURCE", "procedural", "galaxyml procedural galaxies");
  if (p.seed <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    fits::write_key_int(f, "SEED", static_cast<int64_t>(p.seed), "galaxy i drawn from SEED + i");
  } else {
    fits::write_key_string(f, "SEED", std::to_string(p.seed), "galaxy i drawn from SEED + i");
  }
  fits::write_key_int(f, "FIRST", p.first, "index of the first galaxy of the run");
  fits::write_key_string(f, "TAGS", p.tags, "morphology requested (empty: drawn from MIX*)");
  for (size_t b = 0; b < o.bands.size(); ++b) {
    fits::write_key_double(f, numbered("WAVE", b), o.bands[b].wavelength, "effective wavelength",
                           "Angstrom");
    fits::write_key_double(f, numbered("PSF", b), o.bands[b].psf_fwhm, "Moffat PSF FWHM", "arcsec");
    fits::write_key_double(f, numbered("SKYSIG", b), o.bands[b].sky_sigma, "sky noise per pixel",
                           "nanomaggy");
    fits::write_key_double(f, numbered("EPERNM", b), o.bands[b].electrons_per_nanomaggy,
                           "electrons per nanomaggy (shot noise)");
  }
  fits::write_key_double(f, "MAGREF", o.reference_wavelength, "wavelength of MAG", "Angstrom");
  fits::write_key_double(f, "MAGMIN", o.magnitude_min, "brightest total AB magnitude");
  fits::write_key_double(f, "MAGMAX", o.magnitude_max, "faintest total AB magnitude");
  fits::write_key_int(f, "OVERSAMP", o.oversample, "sub-pixels per pixel side");
  fits::write_key_double(f, "MOFFATB", o.moffat_beta, "Moffat PSF beta");
  fits::write_key_bool(f, "NOISE", o.noise, "sky and shot noise added");
  const MorphologyMix& m = o.mix;
  fits::write_key_double(f, "MIXSMOOT", m.smooth, "class weight: smooth");
  fits::write_key_double(f, "MIXEDGE", m.edge_on_disk, "class weight: edge-on disk");
  fits::write_key_double(f, "MIXDISK", m.disk, "class weight: disk");
  fits::write_key_double(f, "MIXMERGE", m.merger, "class weight: merger");
  fits::write_key_double(f, "MIXDUSTS", m.dust_lane_smooth, "P(dust lane | smooth)");
  fits::write_key_double(f, "MIXDUSTE", m.dust_lane_edge_on, "P(dust lane | edge-on disk)");
  fits::write_key_double(f, "MIXSPIRA", m.spiral, "P(spiral | disk)");
  fits::write_key_double(f, "MIXBAR", m.bar, "P(bar | disk)");
  fits::write_key_double(f, "MIXRING", m.ring, "P(ring | disk)");
}

void check_set(const GalaxyImageSet& set, const std::string& path) {
  const std::string where = "galaxy image set '" + path + "': ";
  require(set.images.defined() && set.images.dim() == 4 && set.images.size(0) > 0 &&
              set.images.scalar_type() == at::kFloat,
          where + "images must be a non-empty float32 [N, bands, height, width] tensor");
  require(static_cast<int64_t>(set.captions.size()) == set.images.size(0),
          where + std::to_string(set.captions.size()) + " captions for " +
              std::to_string(set.images.size(0)) + " images");
  require(static_cast<int64_t>(set.band_names.size()) == set.images.size(1),
          where + std::to_string(set.band_names.size()) + " band names for " +
              std::to_string(set.images.size(1)) + " bands");
  if (set.procedural)
    require(static_cast<int64_t>(set.procedural->galaxies.size()) == set.images.size(0),
            where + "one structure row per procedural galaxy is needed");
}

}  // namespace

GalaxyImageSet procedural_image_set(ProceduralGalaxies galaxies, const ProceduralOptions& options,
                                    uint64_t seed, int64_t first, const std::string& tags) {
  GalaxyImageSet set;
  set.images = galaxies.images;
  set.captions = std::move(galaxies.captions);
  for (const auto& band : options.bands) set.band_names.push_back(band.name);
  set.pixel_scale = options.pixel_scale;
  set.procedural =
      GalaxyImageSet::Procedural{options, seed, first, tags, std::move(galaxies.galaxies)};
  return set;
}

void write_galaxy_image_set(const std::string& path, const GalaxyImageSet& set) {
  check_set(set, path);
  const at::Tensor images = set.images.contiguous();
  const int64_t n = images.size(0), bands = images.size(1);
  with_fits_errors("writing galaxy image set '" + path + "'", Status::Io, Status::Io, [&] {
    fits::FitsFile f = fits::FitsFile::create(path);
    fits::write_image(f, {images.size(3), images.size(2), bands, n}, images.data_ptr<float>());
    fits::write_key_string(f, "GMLKIND", kKind, "galaxyml galaxy image set");
    fits::write_key_int(f, "NIMAGES", n, "images (NAXIS4)");
    fits::write_key_string(f, "BUNIT", set.unit, "flux per pixel");
    if (set.pixel_scale > 0)
      fits::write_key_double(f, "PIXSCALE", set.pixel_scale, "pixel size", "arcsec");
    for (int64_t b = 0; b < bands; ++b)
      fits::write_key_string(f, numbered("BAND", static_cast<size_t>(b)),
                             set.band_names[static_cast<size_t>(b)], "band of plane NAXIS3 = n");
    if (set.procedural) write_procedural_keys(f, *set.procedural);
    fits::write_comment(f,
                        "numpy shape (N, bands, H, W), row 0 = image bottom; one row per "
                        "image in extension GALAXIES.");
    f.write_checksum();

    size_t width = 1;
    for (const auto& c : set.captions) width = std::max(width, c.size());
    std::vector<fits::ColumnSpec> cols = {
        {"CAPTION", fits::ColumnType::String, static_cast<int64_t>(width), "", std::nullopt}};
    if (set.procedural) {
      cols.push_back({"CLASS", fits::ColumnType::String, 12, "", std::nullopt});
      for (const auto& [name, unit] :
           std::vector<std::pair<const char*, const char*>>{{"MAG", "mag"},
                                                            {"CENTER_X", "pix"},
                                                            {"CENTER_Y", "pix"},
                                                            {"PA", "deg"},
                                                            {"RE", "arcsec"},
                                                            {"AXIS_RATIO", ""},
                                                            {"SERSIC_N", ""},
                                                            {"BULGE_FRAC", ""},
                                                            {"PITCH", "deg"},
                                                            {"DUST_TAU", ""}})
        cols.push_back({name, fits::ColumnType::Float32, 1, unit, std::nullopt});
    }
    fits::Table t = fits::create_table(f, kTable, cols);
    t.write_strings("CAPTION", 0, set.captions);
    if (set.procedural) {
      const auto& g = set.procedural->galaxies;
      std::vector<std::string> classes;
      for (const auto& s : g) classes.push_back(class_name(s.morphology.galaxy_class));
      t.write_strings("CLASS", 0, classes);
      auto write = [&](const char* name, auto value) {
        std::vector<double> v;
        for (const auto& s : g) v.push_back(value(s));
        t.write_column(name, 0, n, v.data());
      };
      write("MAG", [](const GalaxyStructure& s) { return s.magnitude; });
      write("CENTER_X", [](const GalaxyStructure& s) { return s.center_x; });
      write("CENTER_Y", [](const GalaxyStructure& s) { return s.center_y; });
      write("PA", [](const GalaxyStructure& s) { return s.position_angle * kDegrees; });
      write("RE", [](const GalaxyStructure& s) { return s.half_light_radius; });
      write("AXIS_RATIO", [](const GalaxyStructure& s) { return s.axis_ratio; });
      write("SERSIC_N", [](const GalaxyStructure& s) { return s.sersic_index; });
      write("BULGE_FRAC", [](const GalaxyStructure& s) { return s.bulge_fraction; });
      write("PITCH", [](const GalaxyStructure& s) { return s.pitch_angle; });
      write("DUST_TAU", [](const GalaxyStructure& s) { return s.dust_tau; });
    }
    fits::write_comment(f, "One row per image of the primary cube, in cube order.");
    f.write_checksum();
    f.commit();
  });
}

GalaxyImageSet read_galaxy_image_set(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec))
    fail(Status::Io, "galaxy image set '" + path + "' does not exist");
  const auto not_a_set = [&](const std::string& why) {
    fail(Status::Format, "'" + path + "' is not a galaxy image set: " + why);
  };
  GalaxyImageSet set;
  with_fits_errors("reading galaxy image set '" + path + "'", Status::Format, Status::Format, [&] {
    fits::FitsFile f = fits::FitsFile::open(path);
    f.move_to(1);
    if (f.hdu_type() != fits::HduType::Image) not_a_set("the primary HDU is not an image");
    const fits::ImageInfo info = fits::image_info(f);
    if (info.naxes.size() != 3 && info.naxes.size() != 4)
      not_a_set("the primary image must have NAXIS = 3 (W, H, N) or 4 (W, H, bands, N), got " +
                std::to_string(info.naxes.size()));
    const int64_t w = info.naxes[0], h = info.naxes[1];
    const int64_t bands = info.naxes.size() == 4 ? info.naxes[2] : 1;
    const int64_t n = info.naxes.back();
    if (w < 1 || h < 1 || bands < 1 || n < 1) not_a_set("the cube is empty");
    std::vector<float> pixels = fits::read_image_f32(f);
    set.images = at::from_blob(pixels.data(), {n, bands, h, w}, at::kFloat).clone();
    const at::Tensor bad = (~at::isfinite(set.images)).flatten(1).any(1);
    if (bad.any().item<bool>())
      not_a_set("image " + std::to_string(bad.nonzero()[0][0].item<int64_t>()) +
                " (0-based) holds NaN or infinite pixels");
    set.unit = fits::has_key(f, "BUNIT") ? fits::read_key_string(f, "BUNIT") : "";
    set.pixel_scale = fits::has_key(f, "PIXSCALE") ? fits::read_key_double(f, "PIXSCALE") : 0.0;
    for (int64_t b = 0; b < bands; ++b) {
      const std::string key = numbered("BAND", static_cast<size_t>(b));
      set.band_names.push_back(fits::has_key(f, key) ? fits::read_key_string(f, key)
                                                     : "band" + std::to_string(b + 1));
    }
    bool found = false;
    for (int hdu = 2; hdu <= f.num_hdus() && !found; ++hdu) {
      f.move_to(hdu);
      if (f.hdu_type() != fits::HduType::BinaryTable && f.hdu_type() != fits::HduType::AsciiTable)
        continue;
      found = fits::Table(f).has_column("CAPTION");
    }
    if (!found) not_a_set("no table extension with a CAPTION column");
    fits::Table t(f);
    if (t.nrows() != n)
      not_a_set("its caption table has " + std::to_string(t.nrows()) + " rows for " +
                std::to_string(n) + " images");
    set.captions = t.read_strings("CAPTION", 0, n);
    f.close();
  });
  return set;
}

}  // namespace gml::diffusion

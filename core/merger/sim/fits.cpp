// FITS writing and reading of merger image sets (layout in fits.h).
#include "core/merger/sim/fits.h"

#include <cstdint>
#include <filesystem>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <vector>

#include "core/common/error.h"
#include "core/common/fits_errors.h"
#include "fits_io/fits_file.h"
#include "fits_io/header.h"
#include "fits_io/image.h"
#include "fits_io/table.h"

namespace gml::merger {
namespace {

constexpr const char* kKind = "MERGERS";
constexpr const char* kLabels = "LABELS";

std::string join_ratios(const std::vector<double>& q) {
  std::ostringstream os;
  os.precision(17);
  for (size_t i = 0; i < q.size(); ++i) os << (i ? "," : "") << q[i];
  return os.str();
}

void write_config_keys(fits::FitsFile& f, const MergerSimConfig& c, const MergerImageSet& set) {
  using namespace fits;
  write_key_string(f, "GMLKIND", kKind, "galaxyml merger image set");
  write_key_int(f, "NIMAGES", set.n, "number of images (NAXIS4)");
  write_key_int(f, "NCLASS", c.n_time_classes, "time classes (snapshots)");
  write_key_int(f, "NCAMERA", c.n_cameras, "camera directions");
  write_key_int(f, "NRATIO", static_cast<int64_t>(c.mass_ratios.size()), "mass ratios");
  write_key_string(f, "MRATIOS", join_ratios(c.mass_ratios), "mass ratios q = M2/M1");
  write_key_int(f, "SIMSPER", c.sims_per_ratio, "simulations per mass ratio");
  write_key_int(f, "NPART", c.particles_per_disk, "test particles per disk");
  write_key_double(f, "FOVKPC", c.fov_kpc, "field of view", "kpc");
  write_key_double(f, "PIXKPC", c.fov_kpc / c.image_size, "pixel size", "kpc");
  write_key_double(f, "PSFFWHM", c.psf_fwhm_pix, "Gaussian PSF FWHM", "pix");
  write_key_double(f, "NOISE", c.noise_sigma, "Gaussian noise sigma after the stretch");
  write_key_string(f, "STRETCH", c.stretch, "brightness stretch");
  write_key_double(f, "STRBETA", c.stretch_beta, "stretch softening (fraction of peak)");
  write_key_double(f, "TEND", c.t_end_myr, "time of the last snapshot", "Myr");
  write_key_double(f, "DT", c.dt_myr, "largest leapfrog step", "Myr");
  write_key_string(f, "PROFILE", c.profile, "halo and bulge profile");
  write_key_double(f, "MHALO", c.halo_mass, "galaxy 1 halo mass", "1e10 Msun");
  write_key_double(f, "AHALO", c.halo_scale_kpc, "galaxy 1 halo scale", "kpc");
  write_key_double(f, "MBULGE", c.bulge_mass, "galaxy 1 bulge mass", "1e10 Msun");
  write_key_double(f, "ABULGE", c.bulge_scale_kpc, "galaxy 1 bulge scale", "kpc");
  write_key_double(f, "RDISK", c.disk_scale_kpc, "galaxy 1 disk scale length", "kpc");
  write_key_double(f, "ZDISK", c.disk_height_kpc, "galaxy 1 disk thickness", "kpc");
  write_key_double(f, "RTRUNC", c.disk_truncation, "disk truncation / scale length");
  write_key_double(f, "DISKDISP", c.disk_dispersion, "disk sigma_R / v_c");
  write_key_double(f, "SOFTEN", c.softening_kpc, "force softening", "kpc");
  write_key_double(f, "PERIMIN", c.pericentre_min_kpc, "orbit pericentre minimum", "kpc");
  write_key_double(f, "PERIMAX", c.pericentre_max_kpc, "orbit pericentre maximum", "kpc");
  write_key_double(f, "ECCMIN", c.eccentricity_min, "orbit eccentricity minimum");
  write_key_double(f, "ECCMAX", c.eccentricity_max, "orbit eccentricity maximum");
  write_key_double(f, "SEP0", c.initial_separation_kpc, "initial separation", "kpc");
  write_key_double(f, "FRICTION", c.friction_scale, "dynamical friction scale");
  write_key_double(f, "MERGERAD", c.merge_radius_kpc, "merge radius", "kpc");
  if (c.seed <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    write_key_int(f, "SEED", static_cast<int64_t>(c.seed), "random seed");
  } else {
    write_key_string(f, "SEED", std::to_string(c.seed), "random seed (uint64)");
  }
  write_key_double(f, "GRAVITY", kGravity, "G", "kpc3 / (1e10 Msun Myr2)");
  write_comment(f,
                "Images of restricted N-body galaxy mergers (galaxyml, DeepGalaxy-style); "
                "numpy shape (N, 1, H, W), row 0 = image bottom. One label row per image "
                "in extension LABELS. Units: kpc, Myr, 1e10 Msun.");
}

std::vector<int64_t> widen(const std::vector<int32_t>& v) {
  return {v.begin(), v.end()};
}

}  // namespace

void write_merger_fits(const std::string& path, const MergerImageSet& set,
                       const MergerSimConfig& config) {
  validate(config);
  set.check_consistent();
  require(set.n >= 1, "cannot write an empty merger image set to '" + path + "'");
  with_fits_errors("writing merger image set '" + path + "'", Status::Io, Status::Io, [&] {
    fits::FitsFile f = fits::FitsFile::create(path);
    fits::write_image(f, {set.width, set.height, set.channels, set.n}, set.pixels.data());
    write_config_keys(f, config, set);
    f.write_checksum();

    const std::vector<fits::ColumnSpec> cols = {
        {"SIM_ID", fits::ColumnType::Int32, 1, "", std::nullopt},
        {"TIME_CLASS", fits::ColumnType::Int32, 1, "", std::nullopt},
        {"TIME", fits::ColumnType::Float32, 1, "Myr", std::nullopt},
        {"CAMERA", fits::ColumnType::Int32, 1, "", std::nullopt},
        {"MASS_RATIO", fits::ColumnType::Float32, 1, "", std::nullopt},
        {"PERICENTRE", fits::ColumnType::Float32, 1, "kpc", std::nullopt},
        {"ECCENTRICITY", fits::ColumnType::Float32, 1, "", std::nullopt},
        {"SEPARATION", fits::ColumnType::Float32, 1, "kpc", std::nullopt},
        {"MERGE_TIME", fits::ColumnType::Float32, 1, "Myr", std::nullopt},
    };
    fits::Table t = fits::create_table(f, kLabels, cols);
    const int64_t n = set.n;
    t.write_column("SIM_ID", 0, n, widen(set.sim_id).data());
    t.write_column("TIME_CLASS", 0, n, widen(set.time_class).data());
    t.write_column("TIME", 0, n, set.time_myr.data());
    t.write_column("CAMERA", 0, n, widen(set.camera).data());
    t.write_column("MASS_RATIO", 0, n, set.mass_ratio.data());
    t.write_column("PERICENTRE", 0, n, set.pericentre_kpc.data());
    t.write_column("ECCENTRICITY", 0, n, set.eccentricity.data());
    t.write_column("SEPARATION", 0, n, set.separation_kpc.data());
    t.write_column("MERGE_TIME", 0, n, set.merge_time_myr.data());
    fits::write_comment(f, "One row per image of the primary cube, in cube order.");
    f.write_checksum();
    f.commit();
  });
}

MergerImageSet read_merger_fits(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    fail(Status::Io, "merger image set '" + path + "' does not exist");
  }
  const auto not_a_set = [&](const std::string& why) {
    fail(Status::Format, "'" + path + "' is not a galaxyml merger image set: " + why);
  };
  MergerImageSet set;
  with_fits_errors("reading merger image set '" + path + "'", Status::Format, Status::Format, [&] {
    fits::FitsFile f = fits::FitsFile::open(path);
    f.move_to(1);
    if (f.hdu_type() != fits::HduType::Image) not_a_set("the primary HDU is not an image");
    if (!fits::has_key(f, "GMLKIND") || fits::read_key_string(f, "GMLKIND") != kKind) {
      not_a_set("no GMLKIND = 'MERGERS' in the primary header");
    }
    const fits::ImageInfo info = fits::image_info(f);
    if (info.naxes.size() != 4 || info.naxes[2] != 1) {
      not_a_set("the primary image must have NAXIS = 4 with NAXIS3 = 1, got NAXIS = " +
                std::to_string(info.naxes.size()));
    }
    set.width = info.naxes[0];
    set.height = info.naxes[1];
    set.channels = 1;
    set.n = info.naxes[3];
    set.pixels = fits::read_image_f32(f);

    int n_hdus = f.num_hdus();
    bool found = false;
    for (int h = 2; h <= n_hdus && !found; ++h) {
      f.move_to(h);
      found = fits::has_key(f, "EXTNAME") && fits::read_key_string(f, "EXTNAME") == kLabels;
    }
    if (!found) not_a_set("no LABELS table extension");
    if (f.hdu_type() != fits::HduType::BinaryTable) not_a_set("LABELS is not a binary table");
    fits::Table t(f);
    if (t.nrows() != set.n) {
      not_a_set("LABELS has " + std::to_string(t.nrows()) + " rows for " + std::to_string(set.n) +
                " images");
    }
    const size_t un = static_cast<size_t>(set.n);
    std::vector<int64_t> ibuf(un);
    const auto read_int = [&](const char* name, std::vector<int32_t>& out) {
      if (!t.has_column(name)) not_a_set(std::string("LABELS has no column ") + name);
      if (set.n > 0) t.read_column(name, 0, set.n, ibuf.data());
      out.assign(ibuf.begin(), ibuf.end());
    };
    const auto read_float = [&](const char* name, std::vector<float>& out) {
      if (!t.has_column(name)) not_a_set(std::string("LABELS has no column ") + name);
      out.resize(un);
      if (set.n > 0) t.read_column(name, 0, set.n, out.data());
    };
    read_int("SIM_ID", set.sim_id);
    read_int("TIME_CLASS", set.time_class);
    read_float("TIME", set.time_myr);
    read_int("CAMERA", set.camera);
    read_float("MASS_RATIO", set.mass_ratio);
    read_float("PERICENTRE", set.pericentre_kpc);
    read_float("ECCENTRICITY", set.eccentricity);
    read_float("SEPARATION", set.separation_kpc);
    read_float("MERGE_TIME", set.merge_time_myr);
    f.close();
  });
  return set;
}

}  // namespace gml::merger

#include "core/flow/simspin_snapshot.h"

#include <ATen/ATen.h>
#include <hdf5.h>

#include <algorithm>
#include <cmath>
#include <fstream>

#include "core/common/error.h"
#include "core/common/hdf5_handle.h"

namespace gml::flow {

namespace {

constexpr double kCmPerKpc = 3.085678e21;
constexpr double kGramPerMsun = 1.989e33;
constexpr double kCmPerSPerKmPerS = 1e5;
// 1 / (100 km/s/Mpc) in Gyr.
constexpr double kHubbleTimeGyrH = 9.777922;

bool h5_exists(hid_t loc, const char* name) {
  return H5Lexists(loc, name, H5P_DEFAULT) > 0;
}

// First element of a numeric attribute, or `fallback` when absent.
double num_attr(hid_t loc, const char* name, double fallback) {
  if (H5Aexists(loc, name) <= 0) return fallback;
  H5Handle attr(H5Aopen(loc, name, H5P_DEFAULT), H5Aclose, name, Status::Format);
  H5Handle space(H5Aget_space(attr.get()), H5Sclose, name, Status::Format);
  const hssize_t n = H5Sget_simple_extent_npoints(space.get());
  H5Handle type(H5Aget_type(attr.get()), H5Tclose, name, Status::Format);
  const H5T_class_t cls = H5Tget_class(type.get());
  if (n < 1 || (cls != H5T_FLOAT && cls != H5T_INTEGER)) return fallback;
  std::vector<double> v(static_cast<size_t>(n));
  if (H5Aread(attr.get(), H5T_NATIVE_DOUBLE, v.data()) < 0) return fallback;
  return v[0];
}

struct Snapshot {
  std::string path;
  hid_t file = -1;
  double a = 1, h = 1;
};

// A dataset of PartType4 as float64 (rows, cols) in physical CGS units.
at::Tensor read_cgs(const Snapshot& s, hid_t group, const std::string& name) {
  const std::string where = "'" + s.path + "' /PartType4/" + name;
  H5Handle ds(H5Dopen2(group, name.c_str(), H5P_DEFAULT), H5Dclose, where, Status::Format);
  H5Handle space(H5Dget_space(ds.get()), H5Sclose, where, Status::Format);
  const int nd = H5Sget_simple_extent_ndims(space.get());
  if (nd < 1 || nd > 2) fail(Status::Format, where + " must be 1- or 2-dimensional");
  hsize_t dims[2] = {0, 1};
  H5Sget_simple_extent_dims(space.get(), dims, nullptr);
  h5_require_dataset_stored(ds.get(), where);
  at::Tensor t =
      at::empty({static_cast<int64_t>(dims[0]), static_cast<int64_t>(dims[1])}, at::kDouble);
  if (dims[0] > 0 &&
      H5Dread(ds.get(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, t.data_ptr()) < 0) {
    fail(Status::Format, "cannot read " + where);
  }
  // Each code names the conversion attributes differently; a factor of 0
  // (IllustrisTNG) marks a dimensionless field.
  const bool tng = H5Aexists(ds.get(), "to_cgs") > 0;
  double factor = num_attr(ds.get(), tng ? "to_cgs" : "CGSConversionFactor", 1.0);
  const double aexp = num_attr(ds.get(), tng ? "a_scaling" : "aexp-scale-exponent", 0.0);
  const double hexp = num_attr(ds.get(), tng ? "h_scaling" : "h-scale-exponent", 0.0);
  if (factor == 0) factor = 1;
  return t * (factor * std::pow(s.a, aexp) * std::pow(s.h, hexp));
}

std::string first_present(hid_t group, std::initializer_list<const char*> names) {
  for (const char* n : names)
    if (h5_exists(group, n)) return n;
  return "";
}

// Weighted quantile of `values` with weights `w` (both (n)).
double weighted_quantile(const at::Tensor& values, const at::Tensor& w, double q) {
  auto [sorted, order] = values.sort();
  at::Tensor cw = w.index_select(0, order).cumsum(0);
  const double total = cw[-1].item<double>();
  const int64_t k = at::searchsorted(cw, at::full({1}, q * total, at::kDouble)).item<int64_t>();
  return sorted[std::min<int64_t>(k, sorted.size(0) - 1)].item<double>();
}

// Conditions of one galaxy from its star columns, as star_table.cpp does
// for tables without a galaxy table.
at::Tensor conditions_from_stars(const at::Tensor& mass, const at::Tensor& age,
                                 const at::Tensor& z) {
  const double total = mass.sum().item<double>();
  return at::tensor({std::log10(total), weighted_quantile(age, mass, 0.5),
                     weighted_quantile(age, mass, 0.1), (mass * z).sum().item<double>() / total},
                    at::kDouble);
}

}  // namespace

double flat_lcdm_age_gyr(double a, double omega_m, double hubble_param) {
  require(a > 0 && omega_m > 0 && omega_m < 1 && hubble_param > 0,
          "flat_lcdm_age_gyr: need a > 0, 0 < Omega0 < 1 and h > 0");
  const double omega_l = 1 - omega_m;
  return 2.0 / 3.0 * kHubbleTimeGyrH / hubble_param / std::sqrt(omega_l) *
         std::asinh(std::sqrt(omega_l / omega_m) * std::pow(a, 1.5));
}

bool is_particle_snapshot(const std::string& path) {
  {
    std::ifstream in(path, std::ios::binary);
    char sig[8] = {0};
    in.read(sig, 8);
    if (in.gcount() != 8 || std::string(sig, 8) != std::string("\x89HDF\r\n\x1a\n", 8)) {
      return false;
    }
  }
  std::lock_guard<std::recursive_mutex> lock(hdf5_mutex());
  H5ErrorSilencer silence;
  const hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  if (f < 0) return false;
  const bool yes = h5_exists(f, "PartType4");
  H5Fclose(f);
  return yes;
}

StarTable read_particle_snapshot(const std::string& path, int64_t galaxy_id,
                                 const SnapshotOptions& options) {
  require(options.radius_quantile > 0 && options.radius_quantile <= 1,
          "snapshot radius_quantile must be in (0, 1]");
  require(options.min_stars >= 2, "snapshot min_stars must be at least 2");
  std::lock_guard<std::recursive_mutex> lock(hdf5_mutex());
  H5ErrorSilencer silence;
  H5Handle file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose,
                "'" + path + "' (damaged HDF5 file?)", Status::Format);
  Snapshot s;
  s.path = path;
  s.file = file.get();
  if (!h5_exists(file.get(), "Header")) {
    fail(Status::Format, "snapshot '" + path + "' has no /Header group");
  }
  H5Handle header(H5Gopen2(file.get(), "Header", H5P_DEFAULT), H5Gclose, "/Header", Status::Format);
  // Horizon-AGN stores the expansion factor only as ExpansionFactor.
  s.a = num_attr(header.get(), "Time", num_attr(header.get(), "ExpansionFactor", -1));
  s.h = num_attr(header.get(), "HubbleParam", -1);
  const double omega_m = num_attr(header.get(), "Omega0", -1);
  if (!(s.a > 0 && s.a <= 1.0001 && s.h > 0 && omega_m > 0 && omega_m < 1)) {
    fail(Status::Format, "snapshot '" + path +
                             "': /Header needs Time or ExpansionFactor in (0, 1], HubbleParam "
                             "and Omega0");
  }
  H5Handle stars(H5Gopen2(file.get(), "PartType4", H5P_DEFAULT), H5Gclose, "/PartType4",
                 Status::Format);
  const hid_t g = stars.get();

  const std::string pos_name = first_present(g, {"Coordinates"});
  if (pos_name.empty())
    fail(Status::Format, "snapshot '" + path + "' has no /PartType4/Coordinates");
  at::Tensor pos = read_cgs(s, g, pos_name) / kCmPerKpc;
  const int64_t n = pos.size(0);
  require(pos.size(1) == 3, "snapshot '" + path + "': Coordinates must be (N, 3)");
  auto check_rows = [&](const at::Tensor& t, const std::string& name, int64_t cols) {
    if (t.size(0) != n || t.size(1) != cols) {
      fail(Status::Format, "snapshot '" + path + "': /PartType4/" + name + " has " +
                               std::to_string(t.size(0)) + " x " + std::to_string(t.size(1)) +
                               " values for " + std::to_string(n) + " stars");
    }
  };
  at::Tensor mass;
  const std::string mass_name = first_present(g, {"Mass", "Masses"});
  if (!mass_name.empty()) {
    mass = read_cgs(s, g, mass_name);
    check_rows(mass, mass_name, 1);
    mass = mass.squeeze(1) / kGramPerMsun;
  }
  at::Tensor vel;
  const std::string vel_name = first_present(g, {"Velocity", "Velocities"});
  if (!vel_name.empty()) {
    vel = read_cgs(s, g, vel_name) / kCmPerSPerKmPerS;
    check_rows(vel, vel_name, 3);
  }
  at::Tensor metal;
  const std::string z_name =
      first_present(g, {"SmoothedMetallicity", "GFM_Metallicity", "Metallicity"});
  if (!z_name.empty()) {
    metal = read_cgs(s, g, z_name);
    if (metal.size(1) > 1) {
      // Magneticum: per-element masses, helium first (its ~0.3-0.4 mass
      // fraction identifies it), then the metals. Z = metal mass / mass.
      require(mass.defined(), "snapshot '" + path + "': element masses need /PartType4/Mass");
      check_rows(metal, z_name, metal.size(1));
      metal = metal.narrow(1, 1, metal.size(1) - 1).sum(1) / kGramPerMsun / mass;
    } else {
      check_rows(metal, z_name, 1);
      metal = metal.squeeze(1);
    }
  }
  at::Tensor age;
  at::Tensor keep = at::ones({n}, at::kBool);
  const std::string t_name = first_present(g, {"StellarFormationTime", "GFM_StellarFormationTime"});
  if (!t_name.empty()) {
    at::Tensor a_form = read_cgs(s, g, t_name);
    check_rows(a_form, t_name, 1);
    a_form = a_form.squeeze(1);
    // IllustrisTNG marks wind particles (not stars) with a formation time <= 0.
    keep = keep & (a_form > 0) & (a_form <= s.a * (1 + 1e-9));
    const double now = flat_lcdm_age_gyr(s.a, omega_m, s.h);
    at::Tensor safe = a_form.clamp(1e-6, s.a);
    const double c = 2.0 / 3.0 * kHubbleTimeGyrH / s.h / std::sqrt(1 - omega_m);
    age = now - c * at::asinh(std::sqrt((1 - omega_m) / omega_m) * safe.pow(1.5));
    age = age.clamp_min(0);
  }
  if (mass.defined()) keep = keep & (mass > 0);
  if (metal.defined()) keep = keep & (metal >= 0);
  keep = keep & at::isfinite(pos).all(1);

  at::Tensor w = mass.defined() ? mass : at::ones({n}, at::kDouble);
  auto centre = [&](const at::Tensor& v, const at::Tensor& rows) {
    at::Tensor wr = w.index_select(0, rows);
    return (v.index_select(0, rows) * wr.unsqueeze(1)).sum(0) / wr.sum();
  };
  at::Tensor rows = at::nonzero(keep).flatten();
  require(rows.numel() >= 2, "snapshot '" + path + "' has fewer than two usable stars");
  // Radius cut around the centre of all usable stars, then the final centre
  // from the stars kept, so outliers move neither.
  at::Tensor r = (pos - centre(pos, rows)).norm(2, 1);
  if (options.radius_quantile < 1) {
    const double r_cut =
        at::quantile(r.index_select(0, rows), options.radius_quantile).item<double>();
    keep = keep & (r <= r_cut);
    rows = at::nonzero(keep).flatten();
  }
  if (rows.numel() < options.min_stars) {
    fail(Status::Format, "snapshot '" + path + "': " + std::to_string(rows.numel()) +
                             " stars after cleaning, fewer than the minimum of " +
                             std::to_string(options.min_stars));
  }
  StarTable t;
  std::vector<at::Tensor> cols;
  auto add = [&](const char* name, const char* unit, const at::Tensor& c) {
    t.columns.push_back(name);
    t.units.push_back(unit);
    cols.push_back(c.index_select(0, rows));
  };
  at::Tensor p = pos - centre(pos, rows);
  add("x", "kpc", p.select(1, 0));
  add("y", "kpc", p.select(1, 1));
  add("z", "kpc", p.select(1, 2));
  if (vel.defined()) {
    at::Tensor v = vel - centre(vel, rows);
    add("vx", "km/s", v.select(1, 0));
    add("vy", "km/s", v.select(1, 1));
    add("vz", "km/s", v.select(1, 2));
  }
  if (metal.defined()) add("Z", "", metal);
  if (age.defined()) add("age", "Gyr", age);
  if (mass.defined()) add("mass", "Msun", mass);
  t.data = at::stack(cols, 1);
  t.galaxy = at::full({rows.numel()}, galaxy_id, at::kLong);
  t.galaxy_ids = at::full({1}, galaxy_id, at::kLong);
  if (mass.defined() && age.defined() && metal.defined()) {
    t.condition_names = {"log10_mstar", "tau50", "tau10", "mean_Z"};
    t.condition_units = {"log10(Msun)", "Gyr", "Gyr", ""};
    t.galaxy_conditions =
        conditions_from_stars(mass.index_select(0, rows), age.index_select(0, rows),
                              metal.index_select(0, rows))
            .unsqueeze(0);
  } else {
    fail(Status::Format, "snapshot '" + path +
                             "': galaxy conditions need star masses, formation times and "
                             "metallicities");
  }
  return t;
}

}  // namespace gml::flow

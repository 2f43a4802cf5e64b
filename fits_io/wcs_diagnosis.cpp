#include "fits_io/wcs_diagnosis.h"

#include <wcslib/prj.h>
#include <wcslib/spc.h>
#include <wcslib/wcs.h>
#include <wcslib/wcsmath.h>
#include <wcslib/wcsunits.h>

#include <cmath>
#include <sstream>
#include <vector>

#include "fits_io/card.h"

namespace gml::fits::detail {
namespace {

std::string num(double v) {
  std::ostringstream s;
  s.precision(10);
  s << v;
  return s.str();
}

// "CTYPE1", "CTYPE1A": keyword `name` of 0-based axis `i` of this description.
std::string key(const wcsprm& w, const char* name, int i) {
  const char a = w.alt[0];
  return name + std::to_string(i + 1) + (a == ' ' || a == '\0' ? std::string() : std::string(1, a));
}

std::string pv_key(const wcsprm& w, const pvcard& pv) {
  const char a = w.alt[0];
  return "PV" + std::to_string(pv.i) + "_" + std::to_string(pv.m) +
         (a == ' ' || a == '\0' ? std::string() : std::string(1, a));
}

enum class Celestial { None, Longitude, Latitude };

// WCSLIB's celestial axis types in "4-3" form: RA/DEC, xLON/xLAT, xyLN/xyLT.
Celestial celestial_kind(const std::string& ctype) {
  if (ctype.size() < 8 || ctype[4] != '-') return Celestial::None;
  const std::string a = ctype.substr(0, 4);
  if (a == "RA--" || a.compare(1, 3, "LON") == 0 || a.compare(2, 2, "LN") == 0) {
    return Celestial::Longitude;
  }
  if (a == "DEC-" || a.compare(1, 3, "LAT") == 0 || a.compare(2, 2, "LT") == 0) {
    return Celestial::Latitude;
  }
  return Celestial::None;
}

// The axis type that pairs with a celestial one: RA-- <-> DEC-, GLON <-> GLAT.
std::string partner(const std::string& type4) {
  if (type4 == "RA--") return "DEC-";
  if (type4 == "DEC-") return "RA--";
  std::string p = type4;
  if (p.compare(1, 3, "LON") == 0) return p.replace(1, 3, "LAT");
  if (p.compare(1, 3, "LAT") == 0) return p.replace(1, 3, "LON");
  if (p.compare(2, 2, "LN") == 0) return p.replace(2, 2, "LT");
  if (p.compare(2, 2, "LT") == 0) return p.replace(2, 2, "LN");
  return p;
}

bool known_projection(const std::string& code) {
  for (int k = 0; k < prj_ncode; ++k) {
    if (code.compare(0, 3, prj_codes[k], 3) == 0) return true;
  }
  return false;
}

// A spectral axis type WCSLIB knows (FREQ, VRAD, WAVE-F2W, ...); fills the
// units it wants when given.
bool spectral_type(const std::string& ctype, std::string* units) {
  char stype[9] = {}, scode[4] = {}, sname[32] = {}, unit[8] = {}, ptype = 0, xtype = 0;
  int restreq = 0;
  char c[9] = {};
  ctype.copy(c, 8);
  if (spctyp(c, stype, scode, sname, unit, &ptype, &xtype, &restreq) != 0) return false;
  if (units) *units = unit;
  return true;
}

std::string axis_types(const wcsprm& w) {
  std::vector<std::string> ctype(static_cast<size_t>(w.naxis));
  for (int i = 0; i < w.naxis; ++i)
    ctype[static_cast<size_t>(i)] = without_trailing_blanks(w.ctype[i]);
  // Projection codes WCSLIB does not know.
  for (int i = 0; i < w.naxis; ++i) {
    const std::string& t = ctype[static_cast<size_t>(i)];
    if (celestial_kind(t) == Celestial::None) continue;
    const std::string code = t.substr(5, 3);
    if (code != "---" && !known_projection(code)) {
      return "Unrecognized projection code (" + code + " in " + key(w, "CTYPE", i) + ")";
    }
  }
  int cubeface = -1;
  for (int i = 0; i < w.naxis; ++i) {
    if (ctype[static_cast<size_t>(i)] != "CUBEFACE") continue;
    if (cubeface >= 0) {
      return "Multiple CUBEFACE axes (in " + key(w, "CTYPE", cubeface) + " and " +
             key(w, "CTYPE", i) + ")";
    }
    cubeface = i;
  }
  // Celestial axes come in one longitude/latitude pair with one projection.
  int first = -1;
  for (int i = 0; i < w.naxis; ++i) {
    const std::string& t = ctype[static_cast<size_t>(i)];
    if (celestial_kind(t) == Celestial::None) continue;
    if (first < 0) {
      first = i;
      continue;
    }
    const std::string& f = ctype[static_cast<size_t>(first)];
    const std::string expected = partner(f.substr(0, 4)) + f.substr(4);
    if (t != expected) {
      return "Inconsistent projection types (expected " + expected + ", got " + t + " in " +
             key(w, "CTYPE", i) + ")";
    }
    for (int j = i + 1; j < w.naxis; ++j) {
      if (celestial_kind(ctype[static_cast<size_t>(j)]) != Celestial::None) {
        return "More than two celestial axes (" + key(w, "CTYPE", j) + " = '" +
               ctype[static_cast<size_t>(j)] + "' besides " + key(w, "CTYPE", first) + " and " +
               key(w, "CTYPE", i) + ")";
      }
    }
    first = -2;  // paired
    break;
  }
  if (first >= 0) {
    const std::string& f = ctype[static_cast<size_t>(first)];
    return "Unmatched celestial axes (" + key(w, "CTYPE", first) + " = '" + f + "' has no " +
           partner(f.substr(0, 4)) + f.substr(4) + " partner)";
  }
  // Other axes in "4-3" form need an algorithm code WCSLIB knows.
  for (int i = 0; i < w.naxis; ++i) {
    const std::string& t = ctype[static_cast<size_t>(i)];
    if (t.size() != 8 || t[4] != '-' || celestial_kind(t) != Celestial::None) continue;
    const std::string code = t.substr(5, 3);
    if (code == "TAB" || code == "LOG") continue;
    if (spectral_type(t.substr(0, 4), nullptr) && !spectral_type(t, nullptr)) {
      return "Unrecognized spectral algorithm code (" + code + " in " + key(w, "CTYPE", i) + ")";
    }
  }
  return {};
}

std::string units(const wcsprm& w) {
  for (int i = 0; i < w.naxis; ++i) {
    const std::string have = without_trailing_blanks(w.cunit[i]);
    if (have.empty()) continue;
    const std::string t = without_trailing_blanks(w.ctype[i]);
    std::string want;
    if (celestial_kind(t) != Celestial::None) {
      want = "deg";
    } else if (!spectral_type(t, &want)) {
      continue;
    }
    double scale = 0, offset = 0, power = 0;
    const int st = wcsunits(have.c_str(), want.c_str(), &scale, &offset, &power);
    if (st == 0) continue;
    const std::string where = "In " + key(w, "CUNIT", i) + ": ";
    if (st >= UNITSERR_BAD_UNIT_SPEC) {
      return where + "Mismatched units type: have '" + have + "', want '" + want + "' for " +
             key(w, "CTYPE", i) + " = '" + t + "'";
    }
    return where + "Invalid unit string '" + have + "'";
  }
  return {};
}

int celestial_axis(const wcsprm& w, Celestial kind) {
  for (int i = 0; i < w.naxis; ++i) {
    if (celestial_kind(without_trailing_blanks(w.ctype[i])) == kind) return i;
  }
  return -1;
}

// PVi_m of 0-based axis i, as "PV2_1 = 0, PV2_2 = 0".
std::string pv_list(const wcsprm& w, int i) {
  std::string out;
  for (int k = 0; k < w.npv; ++k) {
    if (w.pv[k].i != i + 1) continue;
    out += (out.empty() ? "" : ", ") + pv_key(w, w.pv[k]) + " = " + num(w.pv[k].value);
  }
  return out;
}

// The parameters of the celestial rotation: LONPOLE, LATPOLE and the
// PVi_0..4 of the longitude axis.
std::string rotation_parameters(const wcsprm& w) {
  std::string out;
  const int lng = celestial_axis(w, Celestial::Longitude);
  if (lng >= 0) out = pv_list(w, lng);
  const char a = w.alt[0];
  const std::string suffix = (a == ' ' || a == '\0') ? std::string() : std::string(1, a);
  if (!undefined(w.lonpole)) {
    out += (out.empty() ? "" : ", ") + std::string("LONPOLE") + suffix + " = " + num(w.lonpole);
  }
  if (w.latpole != 90.0) {
    out += (out.empty() ? "" : ", ") + std::string("LATPOLE") + suffix + " = " + num(w.latpole);
  }
  return out;
}

std::string projection_parameters(const wcsprm& w) {
  const int lat = celestial_axis(w, Celestial::Latitude);
  const int lng = celestial_axis(w, Celestial::Longitude);
  if (lat < 0 || lng < 0) return {};
  const std::string t = without_trailing_blanks(w.ctype[lat]);
  std::string pv = pv_list(w, lat);
  if (pv.empty()) return {};
  return "Invalid parameters for " + t.substr(5, 3) + " projection (" + pv + " of " +
         key(w, "CTYPE", lat) + " = '" + t + "')";
}

}  // namespace

std::string singular_matrix_message(const wcsprm& w, int lng, int lat) {
  const int axes[2] = {lng, lat};
  const bool cd = (w.altlin & 2) != 0 && (w.altlin & 1) == 0;
  std::string which;
  if (!cd) {
    for (int i : axes) {
      if (w.cdelt[i] == 0.0)
        return "Linear transformation matrix is singular (" + key(w, "CDELT", i) + " = 0)";
    }
  }
  for (int r : axes) {
    for (int c : axes) {
      const std::string n = std::to_string(r + 1) + "_" + std::to_string(c + 1);
      const char a = w.alt[0];
      which += (which.empty() ? "" : ", ") + std::string(cd ? "CD" : "PC") + n +
               (a == ' ' || a == '\0' ? std::string() : std::string(1, a));
    }
  }
  return "Linear transformation matrix of the celestial axes is singular or not finite (" + which +
         (cd ? "" : " with " + key(w, "CDELT", lng) + ", " + key(w, "CDELT", lat)) + ")";
}

std::string keyword_at_fault(const wcsprm& w, int status) {
  switch (status) {
    case WCSERR_BAD_CTYPE: return axis_types(w);
    case WCSERR_SINGULAR_MTX: {
      // WCSLIB inverts the whole matrix: name the first zero CDELT, else
      // the matrix of the celestial axes when there are some.
      const bool cd = (w.altlin & 2) != 0 && (w.altlin & 1) == 0;
      for (int i = 0; i < w.naxis && !cd; ++i) {
        if (w.cdelt[i] == 0.0)
          return "Linear transformation matrix is singular (" + key(w, "CDELT", i) + " = 0)";
      }
      const int lng = celestial_axis(w, Celestial::Longitude);
      const int lat = celestial_axis(w, Celestial::Latitude);
      if (lng >= 0 && lat >= 0) return singular_matrix_message(w, lng, lat);
      return {};
    }
    case WCSERR_BAD_PARAM: {
      std::string p = projection_parameters(w);
      if (!p.empty()) return p;
      if (w.ntab > 0) {
        for (int i = 0; i < w.naxis; ++i) {
          const std::string t = without_trailing_blanks(w.ctype[i]);
          if (t.size() == 8 && t.compare(4, 4, "-TAB") == 0) {
            return "Invalid -TAB coordinate arrays for " + key(w, "CTYPE", i) + " = '" + t +
                   "' (index vectors must be monotonic, coordinates finite)";
          }
        }
      }
      return {};
    }
    case WCSERR_BAD_COORD_TRANS: {
      std::string u = units(w);
      if (!u.empty()) return u;
      const std::string r = rotation_parameters(w);
      if (!r.empty()) return "Invalid celestial coordinate transformation parameters (" + r + ")";
      return {};
    }
    case WCSERR_ILL_COORD_TRANS: {
      const int lat = celestial_axis(w, Celestial::Latitude);
      if (lat >= 0 && !(std::fabs(w.crval[lat]) <= 90.0)) {
        return key(w, "CRVAL", lat) + " = " + num(w.crval[lat]) + " is not a latitude (|" +
               key(w, "CRVAL", lat) + "| <= 90 for " + key(w, "CTYPE", lat) + " = '" +
               without_trailing_blanks(w.ctype[lat]) + "')";
      }
      const std::string r = rotation_parameters(w);
      if (!r.empty()) {
        return "Ill-conditioned celestial coordinate transformation parameters (" + r + ")";
      }
      return {};
    }
    default: return {};
  }
}

}  // namespace gml::fits::detail

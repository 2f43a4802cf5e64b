// The diffusion family's procedural galaxies: options translated to
// core/diffusion's ProceduralOptions; the run is runs/diffusion's.
#include <string>
#include <vector>

#include "capi/src/context_impl.h"
#include "capi/src/firewall.h"
#include "capi/src/options.h"
#include "core/common/error.h"
#include "core/diffusion/procedural_galaxy.h"
#include "galaxyml/diffusion.h"
#include "runs/diffusion/procedural_run.h"

namespace gml::capi {
namespace {

#define GML_PROCEDURAL_FIELDS(X)                                                                \
  X(size, size)                                                                                 \
  X(pixel_scale, pixel_scale)                                                                   \
  X(reference_wavelength, reference_wavelength)                                                 \
  X(magnitude_min, magnitude_min) X(magnitude_max, magnitude_max) X(oversample, oversample)     \
      X(moffat_beta, moffat_beta) X(noise, noise) X(mix_smooth, mix.smooth)                     \
          X(mix_edge_on_disk, mix.edge_on_disk) X(mix_disk, mix.disk) X(mix_merger, mix.merger) \
              X(p_dust_lane_smooth, mix.dust_lane_smooth)                                       \
                  X(p_dust_lane_edge_on, mix.dust_lane_edge_on) X(p_spiral, mix.spiral)         \
                      X(p_bar, mix.bar) X(p_ring, mix.ring)
constexpr auto kProceduralFields = GML_FIELD_LINKS(GML_PROCEDURAL_FIELDS);

diffusion::ProceduralOptions procedural_options(const gml_diffusion_procedural_options& o) {
  diffusion::ProceduralOptions p;
  receive_fields(kProceduralFields, o, p);
  if (o.n_bands == 0) {
    require(o.band_names == nullptr && o.band_wavelength == nullptr && o.band_psf_fwhm == nullptr &&
                o.band_sky_sigma == nullptr && o.band_electrons == nullptr,
            "opts->band_* arrays need opts->n_bands (0 takes SDSS g, r, i)");
    return p;
  }
  require(o.n_bands >= 1 && o.n_bands <= 64, "opts->n_bands must lie in [0, 64]");
  require(o.band_wavelength != nullptr && o.band_psf_fwhm != nullptr && o.band_sky_sigma != nullptr,
          "opts->band_wavelength, band_psf_fwhm and band_sky_sigma are required with n_bands");
  const std::vector<std::string> names = list_option(o.band_names);
  require(static_cast<int32_t>(names.size()) == o.n_bands,
          "opts->band_names must name " + std::to_string(o.n_bands) + " bands, got " +
              std::to_string(names.size()));
  p.bands.clear();
  for (int32_t b = 0; b < o.n_bands; ++b)
    p.bands.push_back({names[static_cast<size_t>(b)], o.band_wavelength[b], o.band_psf_fwhm[b],
                       o.band_sky_sigma[b], o.band_electrons ? o.band_electrons[b] : 0.0});
  return p;
}

}  // namespace
}  // namespace gml::capi

using gml::capi::guard;

extern "C" {

GML_API void gml_diffusion_procedural_options_default(gml_diffusion_procedural_options* opts) {
  if (!gml::capi::start_defaults(opts)) return;
  gml::capi::publish_fields(gml::capi::kProceduralFields, *opts,
                            gml::diffusion::ProceduralOptions{});
}

GML_API gml_status gml_diffusion_procedural_galaxies(gml_context* ctx, const char* tags,
                                                     int64_t n_galaxies,
                                                     const gml_diffusion_procedural_options* opts,
                                                     const char* out_path) {
  return guard("gml_diffusion_procedural_galaxies", [&] {
    gml_context& c = gml::capi::require_context(ctx);
    gml::require(out_path != nullptr && *out_path, "out_path must not be NULL or empty");
    const auto o = gml::capi::read_options(opts, gml_diffusion_procedural_options_default);
    gml::runs::run_procedural_galaxies(gml::capi::procedural_options(o), tags ? tags : "", o.first,
                                       n_galaxies, gml::capi::seed_for(c, o.seed), out_path,
                                       &c.control);
  });
}

}  // extern "C"

// Procedural galaxies: survey cutouts drawn from a documented generator,
// each with its morphology tags, so that a text-conditioned model can be
// trained on a controlled vocabulary with no downloads
// (docs/synthesis.md, "Procedural galaxies", gives the physics).
//
// A galaxy is a sum of components, each a surface-brightness profile with
// its own spectral slope: a Sersic spheroid (boxy where asked), an
// exponential disk seen at an inclination, logarithmic spiral arms, a
// Ferrers bar and a ring in the disk plane, a companion and two tidal tails
// for mergers, and a dust screen for dust lanes. Images are in nanomaggies
// per pixel, band by band: rendered on an oversampled grid, binned to
// pixels, convolved with each band's Moffat PSF, then given sky and source
// noise.
//
// Galaxy i of a run draws everything from generators seeded by seed + i, so
// it is the same whatever the batch, and a survey can regenerate galaxy 731
// without the 730 before it.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/diffusion/galaxy_morphology.h"

namespace gml::diffusion {

struct SurveyBand {
  std::string name;
  double wavelength = 0.0;               // effective wavelength, Angstrom
  double psf_fwhm = 0.0;                 // arcsec
  double sky_sigma = 0.0;                // noise per pixel in empty sky, nanomaggies
  double electrons_per_nanomaggy = 0.0;  // source shot noise; 0: none
};

// SDSS g, r, i at 0.396"/px: median seeing, and the sky noise that makes
// the survey's 95%-completeness point-source depths (g 22.2, r 22.2, i 21.3)
// 5-sigma detections in the PSF's noise-equivalent area.
std::vector<SurveyBand> sdss_gri_bands();

struct ProceduralOptions {
  int64_t size = 64;           // pixels on a side
  double pixel_scale = 0.396;  // arcsec per pixel
  std::vector<SurveyBand> bands = sdss_gri_bands();
  double reference_wavelength = 6231.0;  // where magnitudes are given (SDSS r)
  double magnitude_min = 14.5;           // total AB magnitude at the reference wavelength
  double magnitude_max = 17.5;
  int64_t oversample = 3;  // sub-pixels per pixel side for the profiles
  double moffat_beta = 3.5;
  bool noise = true;
  MorphologyMix mix;
};

// Throws Error(InvalidArgument) naming the field for sizes below 16 or
// above 1024, a non-positive pixel scale or wavelength, no band, a PSF
// narrower than 0 or wider than the stamp, negative noise, magnitudes out
// of order or outside [5, 30], oversampling outside [1, 8], beta <= 1.
void check_procedural_options(const ProceduralOptions& options);

// What was drawn for one galaxy: enough to redraw it, and the columns of a
// catalogue of the set.
struct GalaxyStructure {
  Morphology morphology;
  double magnitude = 0.0;  // total, at the reference wavelength, before dust
  double center_x = 0.0;   // pixels from the stamp's centre
  double center_y = 0.0;
  double position_angle = 0.0;     // radians, major axis from +x towards +y
  double half_light_radius = 0.0;  // arcsec, of the main body (spheroid or disk)
  double axis_ratio = 1.0;         // of the main body as seen
  double sersic_index = 1.0;       // of the spheroid
  double bulge_fraction = 0.0;     // spheroid light / total, disks
  double pitch_angle = 0.0;        // degrees, signed by handedness; 0 without arms
  double dust_tau = 0.0;           // V-band optical depth at the lane's centre
};

struct ProceduralGalaxies {
  at::Tensor images;     // [N, B, size, size] float32, nanomaggies per pixel
  at::Tensor noiseless;  // the same before noise
  std::vector<GalaxyStructure> galaxies;
  std::vector<std::string> captions;  // "procedural, disk, obvious bulge, ..."
};

// Galaxies [first, first + count) of the run `seed`, each completing
// `request` from options.mix. Renders in chunks so that memory stays
// bounded for any count.
ProceduralGalaxies generate_procedural_galaxies(int64_t first, int64_t count, uint64_t seed,
                                                const MorphologyRequest& request,
                                                const ProceduralOptions& options);

// The pixel-integrated Moffat PSF of a band, normalised to sum 1, on an odd
// square grid of side `side` (exposed for tests).
at::Tensor moffat_psf(double fwhm_pixels, double beta, int64_t side, int64_t oversample);

}  // namespace gml::diffusion

// The invertible stretch between survey fluxes and a network's value range,
// band by band: GalaxySD trained on 8-bit RGB JPEGs, galaxyml trains on
// fluxes so that a synthetic image can be written back in nanomaggies and
// measured.
//
//   y = 2 asinh(x / softening) / asinh(scale / softening) - 1
//
// Sky (x = 0) maps to -1 and `scale` to +1; fluxes much below the softening
// (about the sky noise) are stretched linearly and bright cores
// logarithmically (Lupton et al. 1999). Negative fluxes (noise) map below
// -1: nothing is clipped, so the inverse is exact to float precision.
#pragma once

#include <ATen/core/Tensor.h>

#include <vector>

namespace gml::diffusion {

struct BandStretch {
  std::vector<double> softening;  // per band, flux units
  std::vector<double> scale;      // per band, the flux that maps to +1
};

// Throws Error(InvalidArgument) unless both lists have one positive, finite
// value per band, with scale > softening / 1e6 (y would lose all range).
void check_band_stretch(const BandStretch& stretch, int64_t bands);

// images [..., B, H, W] (flux) -> the network's values, float32.
at::Tensor stretch_to_network(const at::Tensor& images, const BandStretch& stretch);

// The inverse: network values -> flux, float32.
at::Tensor stretch_to_flux(const at::Tensor& values, const BandStretch& stretch);

// A stretch for a training set [N, B, H, W]: softening = the sky noise of
// each band (1.4826 x the median absolute deviation of the stamps' border
// pixels, where there is little galaxy light), scale = the `quantile` of
// each band's pixels. Throws Error(InvalidArgument) for images that are not
// 4-D, hold a NaN or infinity, or have a band with no noise (constant
// border); a caller with noiseless images gives the softening itself.
BandStretch fit_band_stretch(const at::Tensor& images, double quantile = 0.999);

}  // namespace gml::diffusion

// The FITS file of a galaxy image set: band images in flux units with a
// caption per image. Procedural galaxies are written as one, a synthesis
// model trains on one, and a survey team's own cutouts come in as one.
//
// Primary HDU: float32 cube NAXIS = 4, (NAXIS1, NAXIS2, NAXIS3, NAXIS4) =
// (W, H, B, N), i.e. numpy shape (N, B, H, W), row 0 = image bottom;
// GMLKIND = 'GALAXIES', BUNIT, PIXSCALE (arcsec), BANDn (names) and, for
// procedural sets, how they were drawn (SOURCE = 'procedural', SEED, FIRST,
// TAGS, WAVEn, PSFn, SKYSIGn, EPERNMn, MAGMIN, MAGMAX, MAGREF, OVERSAMP,
// MOFFATB, NOISE and the MIX* weights; docs/synthesis.md lists them).
// Extension 'GALAXIES': one row per image, in cube order: CAPTION, and for
// procedural sets CLASS, MAG, CENTER_X, CENTER_Y (pix), PA (deg), RE
// (arcsec), AXIS_RATIO, SERSIC_N, BULGE_FRAC, PITCH (deg), DUST_TAU.
// Both HDUs carry CHECKSUM/DATASUM; the file appears only when complete.
#pragma once

#include <ATen/core/Tensor.h>

#include <optional>
#include <string>
#include <vector>

#include "core/diffusion/procedural_galaxy.h"

namespace gml::diffusion {

struct GalaxyImageSet {
  at::Tensor images;  // [N, B, H, W] float32, flux per pixel
  std::vector<std::string> captions;
  std::vector<std::string> band_names;
  std::string unit = "nanomaggy";
  double pixel_scale = 0.0;  // arcsec per pixel; 0: not known
  // Procedural sets only: how they were drawn, and each galaxy's structure.
  struct Procedural {
    ProceduralOptions options;
    uint64_t seed = 0;
    int64_t first = 0;
    std::string tags;  // the request, as given
    std::vector<GalaxyStructure> galaxies;
  };
  std::optional<Procedural> procedural;
};

// A procedural run as a set (the noisy images).
GalaxyImageSet procedural_image_set(ProceduralGalaxies galaxies, const ProceduralOptions& options,
                                    uint64_t seed, int64_t first, const std::string& tags);

// Throws Error(InvalidArgument) for an empty or inconsistent set (captions
// or band names not matching the cube), Error(Io) when the file cannot be
// written (nothing is left at `path` then).
void write_galaxy_image_set(const std::string& path, const GalaxyImageSet& set);

// Reads any FITS file laid out as above: GMLKIND is not required, so a
// cube and caption table written by other tools load too (NAXIS = 3 is one
// band; missing BANDn are named "band1", ...). Throws Error(Io) for a
// missing file, Error(Format) naming what is wrong: not FITS, no 3-D or
// 4-D float cube, no table with a CAPTION column, a row count other than
// the image count, NaN or infinite pixels (naming the first image holding
// one). The procedural record stays in the header; it is not read back.
GalaxyImageSet read_galaxy_image_set(const std::string& path);

}  // namespace gml::diffusion

// The procedural galaxies: the vocabulary and its parser, images whose
// flux, profiles, arms, dust, PSF and noise are the ones drawn, the flux
// stretch, and the galaxy image set file.
#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "core/common/error.h"
#include "core/diffusion/band_stretch.h"
#include "core/diffusion/galaxy_image_set.h"
#include "core/diffusion/galaxy_morphology.h"
#include "core/diffusion/procedural_galaxy.h"

namespace gml::diffusion {
namespace {

constexpr double kPiValue = 3.14159265358979323846;

std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    EXPECT_EQ(e.status(), Status::InvalidArgument);
    return e.what();
  }
  ADD_FAILURE() << "no error";
  return "";
}

ProceduralOptions quiet_options() {
  ProceduralOptions o;
  o.noise = false;
  o.mix.bar = 0.0;
  o.mix.ring = 0.0;
  o.mix.dust_lane_smooth = 0.0;
  o.mix.dust_lane_edge_on = 0.0;
  return o;
}

// Pixel-centre coordinates of the stamp, relative to its centre, [S, S].
std::pair<at::Tensor, at::Tensor> pixel_grid(int64_t size) {
  const at::Tensor c = at::arange(size, at::kDouble) + 0.5 - size / 2.0;
  return {c.view({1, size}).expand({size, size}), c.view({size, 1}).expand({size, size})};
}

TEST(GalaxyMorphology, UnknownAndConflictingTagsAreClearErrors) {
  std::string m = message_of([] { parse_morphology_tags("smooth, cigar shaped"); });
  EXPECT_NE(m.find("unknown morphology tag 'cigar shaped'"), std::string::npos) << m;
  EXPECT_NE(m.find("nearest: 'cigar-shaped'"), std::string::npos) << m;
  EXPECT_NE(m.find("tidal tails"), std::string::npos) << m;  // the vocabulary is listed
  // What was typed inside a tag finds that tag before any short word does.
  m = message_of([] { parse_morphology_tags("cigar"); });
  EXPECT_NE(m.find("nearest: 'cigar-shaped')"), std::string::npos) << m;
  m = message_of([] { parse_morphology_tags("smooth, bar"); });
  EXPECT_NE(m.find("'smooth' and 'bar' exclude each other"), std::string::npos) << m;
  m = message_of([] { parse_morphology_tags("round, cigar-shaped"); });
  EXPECT_NE(m.find("'round' and 'cigar-shaped'"), std::string::npos) << m;
  m = message_of([] { parse_morphology_tags("no spiral, 2 arms"); });
  EXPECT_NE(m.find("'no spiral' and '2 arms'"), std::string::npos) << m;
  m = message_of([] { parse_morphology_tags("tightly wound, no spiral"); });
  EXPECT_NE(m.find("'tightly wound' and 'no spiral'"), std::string::npos) << m;
  m = message_of([] { parse_morphology_tags("merger, dust lane"); });
  EXPECT_NE(m.find("'merger' and 'dust lane'"), std::string::npos) << m;

  // A tag shared by branches allows each of them; blanks and case are free.
  EXPECT_EQ(parse_morphology_tags(" Dust  Lane ").classes,
            (1u << static_cast<int>(GalaxyClass::Smooth)) |
                (1u << static_cast<int>(GalaxyClass::EdgeOnDisk)));
  EXPECT_EQ(parse_morphology_tags("sdss, no bulge, ,").classes,
            (1u << static_cast<int>(GalaxyClass::EdgeOnDisk)) |
                (1u << static_cast<int>(GalaxyClass::Disk)));
}

TEST(GalaxyMorphology, EveryCaptionParsesBackToARequestForItsTags) {
  uint64_t state = 12345;
  auto uniform = [&state] {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<double>(state >> 11) * 0x1.0p-53;
  };
  MorphologyMix mix;
  mix.dust_lane_smooth = 0.5;
  int classes_seen[4] = {0, 0, 0, 0};
  for (int i = 0; i < 400; ++i) {
    const Morphology m = draw_morphology(MorphologyRequest{}, mix, uniform);
    ++classes_seen[static_cast<int>(m.galaxy_class)];
    const std::string caption = morphology_caption(m);
    // Parsed back as a request, a caption fixes every answer it names (what
    // it leaves out, a bar say, is open in a request).
    const Morphology again = draw_morphology(parse_morphology_tags(caption), mix, uniform);
    const std::vector<std::string> redrawn = morphology_tags(again);
    for (const auto& tag : morphology_tags(m))
      EXPECT_NE(std::find(redrawn.begin(), redrawn.end(), tag), redrawn.end())
          << tag << " of " << caption;
    for (const auto& tag : morphology_tags(m))
      EXPECT_NE(std::find(morphology_vocabulary().begin(), morphology_vocabulary().end(), tag),
                morphology_vocabulary().end())
          << tag;
  }
  // Class shares follow the mix (0.35, 0.15, 0.40, 0.10 of 400; 4-sigma band).
  const double expected[4] = {140, 60, 160, 40};
  for (int c = 0; c < 4; ++c)
    EXPECT_NEAR(classes_seen[c], expected[c], 4.0 * std::sqrt(expected[c])) << c;
}

TEST(ProceduralGalaxy, RequestsAreHonouredAndAGalaxyDependsOnItsSeedAlone) {
  ProceduralOptions o;
  const MorphologyRequest edge = parse_morphology_tags("edge-on disk, boxy bulge");
  const ProceduralGalaxies run = generate_procedural_galaxies(0, 20, 99, edge, o);
  ASSERT_EQ(run.images.sizes(), (at::IntArrayRef{20, 3, 64, 64}));
  for (const auto& caption : run.captions)
    EXPECT_EQ(caption.rfind("procedural, edge-on disk, boxy bulge", 0), 0u) << caption;
  for (const auto& g : run.galaxies) EXPECT_LE(g.axis_ratio, 0.2);

  // Galaxies 7-9 of the run, drawn alone, are the same to the bit.
  const ProceduralGalaxies part = generate_procedural_galaxies(7, 3, 99, edge, o);
  EXPECT_TRUE(at::equal(part.images, run.images.narrow(0, 7, 3)));
  EXPECT_EQ(part.captions[1], run.captions[8]);
  // Another seed, other galaxies; a request changes what it fixes only.
  const ProceduralGalaxies other = generate_procedural_galaxies(7, 3, 100, edge, o);
  EXPECT_FALSE(at::allclose(other.images, part.images));
  const ProceduralGalaxies free_run = generate_procedural_galaxies(7, 3, 99, {}, o);
  EXPECT_DOUBLE_EQ(free_run.galaxies[0].magnitude, part.galaxies[0].magnitude);
}

TEST(ProceduralGalaxy, FluxInTheStampIsTheDrawnMagnitude) {
  ProceduralOptions o = quiet_options();
  o.bands = {{"r", o.reference_wavelength, 0.0, 0.0, 0.0}};
  const ProceduralGalaxies g = generate_procedural_galaxies(0, 12, 5, {}, o);
  for (int64_t i = 0; i < 12; ++i) {
    const double flux = std::pow(10.0, -0.4 * (g.galaxies[i].magnitude - 22.5));
    EXPECT_NEAR(g.noiseless[i].sum().item<double>() / flux, 1.0, 1e-5) << g.captions[i];
  }
  // With the PSF, only the light it spreads beyond the stamp's edge is lost.
  o.bands[0].psf_fwhm = 1.4;
  const ProceduralGalaxies blurred = generate_procedural_galaxies(0, 12, 5, {}, o);
  for (int64_t i = 0; i < 12; ++i) {
    const double flux = std::pow(10.0, -0.4 * (g.galaxies[i].magnitude - 22.5));
    EXPECT_NEAR(blurred.noiseless[i].sum().item<double>() / flux, 1.0, 0.02) << g.captions[i];
  }
}

TEST(ProceduralGalaxy, SpheroidsAreRedderThanSpiralDisks) {
  ProceduralOptions o = quiet_options();
  // Mean g - r and r - i (magnitudes) of 12 galaxies.
  auto colours = [&](const char* tags) {
    const ProceduralGalaxies g =
        generate_procedural_galaxies(0, 12, 3, parse_morphology_tags(tags), o);
    const at::Tensor flux = g.noiseless.sum({2, 3}).to(at::kDouble);  // [N, B]
    auto colour = [&](int a, int b) {
      return (-2.5 * at::log10(flux.select(1, a) / flux.select(1, b))).mean().item<double>();
    };
    return std::make_pair(colour(0, 1), colour(1, 2));
  };
  const auto [smooth_gr, smooth_ri] = colours("smooth");
  const auto [spiral_gr, spiral_ri] = colours("disk, no bulge, spiral");
  // SDSS early types: g - r ~ 0.75, r - i ~ 0.40; late-type disks bluer.
  EXPECT_NEAR(smooth_gr, 0.75, 0.08);
  EXPECT_NEAR(smooth_ri, 0.40, 0.08);
  EXPECT_LT(spiral_gr, smooth_gr - 0.2);
  EXPECT_LT(spiral_ri, smooth_ri - 0.1);
}

TEST(ProceduralGalaxy, SersicProfileHasTheDrawnRadiusAndIndex) {
  ProceduralOptions o = quiet_options();
  o.bands = {{"r", o.reference_wavelength, 0.0, 0.0, 0.0}};
  o.magnitude_min = 14.5;
  o.magnitude_max = 15.0;
  const ProceduralGalaxies g =
      generate_procedural_galaxies(0, 6, 11, parse_morphology_tags("smooth"), o);
  const auto [x, y] = pixel_grid(o.size);
  for (int64_t i = 0; i < 6; ++i) {
    const GalaxyStructure& s = g.galaxies[i];
    const double pa = s.position_angle, q = s.axis_ratio, n = s.sersic_index;
    const at::Tensor dx = x - s.center_x, dy = y - s.center_y;
    const at::Tensor u = dx * std::cos(pa) + dy * std::sin(pa);
    const at::Tensor v = (dy * std::cos(pa) - dx * std::sin(pa)) / q;
    const at::Tensor r = at::sqrt(u * u + v * v);
    const double re = s.half_light_radius / o.pixel_scale;
    // log I is linear in r^(1/n) with slope -b_n / re^(1/n): fit it between
    // 0.6 and 2 re, away from the cusp that pixels average.
    const at::Tensor keep = (r > 0.6 * re) & (r < 2.0 * re);
    const at::Tensor t = at::pow(r.masked_select(keep), 1.0 / n);
    const at::Tensor l = at::log(g.noiseless[i][0].to(at::kDouble).masked_select(keep));
    const double tm = t.mean().item<double>(), lm = l.mean().item<double>();
    const double slope =
        ((t - tm) * (l - lm)).sum().item<double>() / (t - tm).pow(2).sum().item<double>();
    const double b = 2.0 * n - 1.0 / 3.0 + 4.0 / (405.0 * n);
    EXPECT_NEAR(std::pow(b / -slope, n) / re, 1.0, 0.03) << "galaxy " << i << ", n " << n;
  }
}

TEST(ProceduralGalaxy, SpiralsHaveTheRequestedNumberOfArms) {
  ProceduralOptions o = quiet_options();
  o.bands = {{"r", o.reference_wavelength, 0.0, 0.0, 0.0}};
  o.magnitude_min = 14.5;
  o.magnitude_max = 15.0;
  const auto [x, y] = pixel_grid(o.size);
  for (int arms = 1; arms <= 4; ++arms) {
    const std::string tags =
        "disk, no bulge, " + std::to_string(arms) + (arms == 1 ? " arm" : " arms");
    const ProceduralGalaxies g =
        generate_procedural_galaxies(0, 2, 21, parse_morphology_tags(tags), o);
    for (int64_t i = 0; i < 2; ++i) {
      const GalaxyStructure& s = g.galaxies[i];
      const double pa = s.position_angle, tan_pitch = std::tan(s.pitch_angle * kPiValue / 180.0);
      const at::Tensor dx = x - s.center_x, dy = y - s.center_y;
      const at::Tensor u = dx * std::cos(pa) + dy * std::sin(pa);
      const at::Tensor v = (dy * std::cos(pa) - dx * std::sin(pa)) / s.axis_ratio;
      const at::Tensor radius = at::sqrt(u * u + v * v);
      // Unwind the logarithmic spiral: the arms become m straight spokes.
      const at::Tensor psi = at::atan2(v, u) - at::log(radius.clamp_min(1e-3)) / tan_pitch;
      const double re = s.half_light_radius / o.pixel_scale;
      const at::Tensor keep = (radius > 0.8 * re) & (radius < 2.0 * re);
      const at::Tensor w = g.noiseless[i][0].to(at::kDouble).masked_select(keep);
      const at::Tensor angle = psi.masked_select(keep);
      int strongest = 0;
      double best = 0.0;
      for (int k = 1; k <= 6; ++k) {
        const double c = (w * at::cos(k * angle)).sum().item<double>();
        const double sn = (w * at::sin(k * angle)).sum().item<double>();
        const double amplitude = std::hypot(c, sn) / w.sum().item<double>();
        if (amplitude > best) best = amplitude, strongest = k;
      }
      EXPECT_EQ(strongest, arms) << g.captions[i];
      EXPECT_GT(best, 0.1) << g.captions[i];
    }
  }
}

TEST(ProceduralGalaxy, DustLanesDimMoreInBlueThanInRed) {
  ProceduralOptions o = quiet_options();
  const ProceduralGalaxies clear =
      generate_procedural_galaxies(0, 8, 7, parse_morphology_tags("smooth"), o);
  const ProceduralGalaxies dusty =
      generate_procedural_galaxies(0, 8, 7, parse_morphology_tags("smooth, dust lane"), o);
  for (int64_t i = 0; i < 8; ++i) {
    EXPECT_EQ(dusty.galaxies[i].magnitude, clear.galaxies[i].magnitude);
    EXPECT_GT(dusty.galaxies[i].dust_tau, 0.5);
    const at::Tensor kept = dusty.noiseless[i].sum({1, 2}) / clear.noiseless[i].sum({1, 2});
    const double g = kept[0].item<double>(), r = kept[1].item<double>(),
                 ib = kept[2].item<double>();
    EXPECT_LT(g, r) << dusty.captions[i];
    EXPECT_LT(r, ib);
    EXPECT_LT(ib, 0.995);
    EXPECT_GT(g, 0.3);
  }
}

TEST(ProceduralGalaxy, NoiseHasTheBandsSkySigmaAndPsfItsWidth) {
  ProceduralOptions o;
  const ProceduralGalaxies g = generate_procedural_galaxies(0, 16, 8, {}, o);
  // Sky and shot noise: residuals over their predicted sigma are N(0, 1).
  for (size_t b = 0; b < o.bands.size(); ++b) {
    const at::Tensor model = g.noiseless.select(1, b).to(at::kDouble);
    const at::Tensor sigma = at::sqrt(std::pow(o.bands[b].sky_sigma, 2) +
                                      model.clamp_min(0.0) / o.bands[b].electrons_per_nanomaggy);
    const at::Tensor z = (g.images.select(1, b).to(at::kDouble) - model) / sigma;
    EXPECT_NEAR(z.std().item<double>(), 1.0, 0.02) << o.bands[b].name;
    EXPECT_NEAR(z.mean().item<double>(), 0.0, 0.02) << o.bands[b].name;
  }
  // SDSS r: the sky noise that makes a 22.2 mag point source 5 sigma.
  EXPECT_NEAR(sdss_gri_bands()[1].sky_sigma, 0.0495, 0.0005);

  // The Moffat kernel's half maximum lies at half its FWHM.
  const double fwhm = 6.0;
  const at::Tensor psf = moffat_psf(fwhm, 3.5, 41, 9);
  EXPECT_NEAR(psf.sum().item<double>(), 1.0, 1e-12);
  const at::Tensor row = psf[20];
  const double peak = row[20].item<double>();
  double half = 0.0;
  for (int64_t k = 20; k < 40; ++k) {
    const double a = row[k].item<double>(), b = row[k + 1].item<double>();
    if (a >= 0.5 * peak && b < 0.5 * peak) half = (k - 20) + (a - 0.5 * peak) / (a - b);
  }
  EXPECT_NEAR(2.0 * half / fwhm, 1.0, 0.03);
}

TEST(ProceduralGalaxy, BadOptionsAreRefusedByName) {
  auto refused = [](const std::function<void(ProceduralOptions&)>& change, const char* field) {
    ProceduralOptions o;
    change(o);
    const std::string m = message_of([&] { check_procedural_options(o); });
    EXPECT_NE(m.find(field), std::string::npos) << m;
  };
  refused([](ProceduralOptions& o) { o.size = 8; }, "size");
  refused([](ProceduralOptions& o) { o.pixel_scale = 0.0; }, "pixel_scale");
  refused([](ProceduralOptions& o) { o.bands.clear(); }, "band");
  refused([](ProceduralOptions& o) { o.bands[1].psf_fwhm = 30.0; }, "psf_fwhm");
  refused([](ProceduralOptions& o) { o.bands[0].sky_sigma = NAN; }, "sky_sigma");
  refused([](ProceduralOptions& o) { o.magnitude_min = 18.0; }, "magnitude");
  refused([](ProceduralOptions& o) { o.oversample = 0; }, "oversample");
  refused([](ProceduralOptions& o) { o.moffat_beta = 1.0; }, "moffat_beta");
  ProceduralOptions o;
  o.mix.bar = 1.5;
  EXPECT_NE(message_of([&] { generate_procedural_galaxies(0, 1, 1, {}, o); }).find("[0, 1]"),
            std::string::npos);
}

TEST(BandStretch, FluxRoundTripsToFloatPrecisionAndSkyMapsToMinusOne) {
  ProceduralOptions o;
  const ProceduralGalaxies g = generate_procedural_galaxies(0, 32, 4, {}, o);
  const BandStretch stretch = fit_band_stretch(g.images);
  for (size_t b = 0; b < 3; ++b) {
    // The border's noise is the band's sky sigma; the scale a bright pixel.
    EXPECT_NEAR(stretch.softening[b] / o.bands[b].sky_sigma, 1.0, 0.05);
    EXPECT_GT(stretch.scale[b], 10.0 * stretch.softening[b]);
  }
  const at::Tensor values = stretch_to_network(g.images, stretch);
  const at::Tensor back = stretch_to_flux(values, stretch);
  // float32 on both sides: relative to the pixel or to the softening.
  const at::Tensor error = (back - g.images).abs().to(at::kDouble);
  const at::Tensor allowed = 4e-6 * (g.images.abs().to(at::kDouble) +
                                     at::tensor(stretch.softening, at::kDouble).view({-1, 1, 1}));
  EXPECT_TRUE((error <= allowed).all().item<bool>()) << (error - allowed).max().item<double>();
  const at::Tensor zero = at::zeros({1, 3, 2, 2});
  EXPECT_TRUE(at::allclose(stretch_to_network(zero, stretch), at::full({1, 3, 2, 2}, -1.0)));
  const at::Tensor top =
      at::tensor(stretch.scale, at::kDouble).view({1, 3, 1, 1}).expand({1, 3, 2, 2});
  EXPECT_TRUE(at::allclose(stretch_to_network(top, stretch), at::ones({1, 3, 2, 2})));

  EXPECT_NE(message_of([&] {
              stretch_to_network(at::zeros({2, 4, 8, 8}), stretch);
            }).find("one value per band (4)"),
            std::string::npos);
  at::Tensor bad = g.images.clone();
  bad[0][1][5][5] = NAN;
  EXPECT_NE(message_of([&] { fit_band_stretch(bad); }).find("NaN"), std::string::npos);
  EXPECT_NE(
      message_of([&] { fit_band_stretch(g.noiseless.clamp_min(0) * 0); }).find("no sky noise"),
      std::string::npos);
}

}  // namespace
}  // namespace gml::diffusion

namespace gml::diffusion {
namespace {

std::string scratch_path(const char* name) {
  return (std::filesystem::temp_directory_path() /
          (std::string("gml_image_set_") + std::to_string(::getpid()) + "_" + name))
      .string();
}

TEST(GalaxyImageSet, WritesAndReadsBackWhatItWasGiven) {
  ProceduralOptions o;
  o.size = 24;
  const ProceduralGalaxies g = generate_procedural_galaxies(0, 5, 6, {}, o);
  const std::string path = scratch_path("set.fits");
  write_galaxy_image_set(path, procedural_image_set(g, o, 6, 0, ""));
  const GalaxyImageSet back = read_galaxy_image_set(path);
  EXPECT_TRUE(at::equal(back.images, g.images));
  EXPECT_EQ(back.captions, g.captions);
  EXPECT_EQ(back.band_names, (std::vector<std::string>{"g", "r", "i"}));
  EXPECT_EQ(back.unit, "nanomaggy");
  EXPECT_DOUBLE_EQ(back.pixel_scale, 0.396);
  std::filesystem::remove(path);

  // Refused, with nothing left behind: captions that do not match.
  GalaxyImageSet bad = procedural_image_set(g, o, 6, 0, "");
  bad.captions.pop_back();
  EXPECT_NE(message_of([&] { write_galaxy_image_set(path, bad); }).find("4 captions for 5 images"),
            std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(path));
}

TEST(GalaxyImageSet, ReadingNamesWhatIsWrong) {
  try {
    read_galaxy_image_set(scratch_path("missing.fits"));
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.status(), Status::Io);
  }
  // A set whose second image holds a NaN.
  ProceduralOptions o;
  o.size = 16;
  ProceduralGalaxies g = generate_procedural_galaxies(0, 3, 2, {}, o);
  g.images[1][2][3][4] = NAN;
  const std::string path = scratch_path("nan.fits");
  write_galaxy_image_set(path, procedural_image_set(g, o, 2, 0, ""));
  try {
    read_galaxy_image_set(path);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.status(), Status::Format);
    EXPECT_NE(std::string(e.what()).find("image 1 (0-based) holds NaN"), std::string::npos)
        << e.what();
  }
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace gml::diffusion

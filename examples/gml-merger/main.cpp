// gml-merger: DeepGalaxy-style merger stages, latent search and clustering.
//
//   gml-merger simulate --out sims.fits --png montage.png
//   gml-merger train    --data sims.fits --model m.h5 --png curves.png
//   mpirun -np 4 gml-merger train --data sims.fits --model m.h5   (data-parallel)
//   gml-merger classify --model m.h5 --cutouts cube.fits --out stages.fits
//   gml-merger classify --model m.h5 --image r.fits --catalog cat.fits --out stages.fits
//   gml-merger index    --model m.h5 --images sims.fits --out index.h5
//   gml-merger search   --model m.h5 --index index.h5 --query q.fits --out nb.png
//   gml-merger cluster  --index index.h5 --clusters 8 --out clusters.fits
#include <boost/program_options.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "cli.h"
#include "commands.h"
#include "merger_common.h"
#include "merger_plots.h"
#include "options.h"
#include "outputs.h"
#include "subcommands.h"

namespace po = boost::program_options;

namespace gml_tools {

namespace {

// Up to `want` entries of sorted `values`, spread evenly from first to last.
std::vector<int32_t> spread(const std::set<int32_t>& values, size_t want) {
  std::vector<int32_t> all(values.begin(), values.end());
  if (all.size() <= want) return all;
  std::vector<int32_t> out;
  for (size_t k = 0; k < want; ++k) {
    out.push_back(all[k * (all.size() - 1) / (want - 1)]);
  }
  return out;
}

// The PNG of `simulate`: one simulation, a few cameras (rows) by time
// classes spread over the run (columns), on one shared stretch.
void montage(const std::string& sims, const std::string& png) {
  const ImageCube cube = read_cube(sims);
  const SimLabels labels = read_labels(sims, cube.n);
  if (!labels.present) die(sims + ": no LABELS table");
  const int32_t sim = labels.sim_id[0];
  std::set<int32_t> cameras, classes;
  std::map<std::pair<int32_t, int32_t>, int64_t> where;  // (camera, class) -> image
  for (int64_t i = 0; i < cube.n; ++i) {
    const auto k = static_cast<size_t>(i);
    if (labels.sim_id[k] != sim) continue;
    cameras.insert(labels.camera[k]);
    classes.insert(labels.time_class[k]);
    where.emplace(std::make_pair(labels.camera[k], labels.time_class[k]), i);
  }
  const std::vector<int32_t> rows = spread(cameras, 4), cols = spread(classes, 8);
  std::vector<int64_t> shown;
  for (int32_t cam : rows) {
    for (int32_t cls : cols) {
      auto it = where.find({cam, cls});
      shown.push_back(it == where.end() ? -1 : it->second);
    }
  }
  std::vector<float> all;
  for (int64_t i : shown)
    if (i >= 0) all.insert(all.end(), cube.image(i), cube.image(i) + cube.h * cube.w);
  const auto [lo, hi] = robust_range(all.data(), all.size());
  std::vector<Tile> tiles;
  for (int64_t i : shown) {
    Tile t;
    if (i < 0) {
      t.empty = true;
    } else {
      const auto k = static_cast<size_t>(i);
      t.pixels.assign(cube.image(i), cube.image(i) + cube.h * cube.w);
      t.height = static_cast<int>(cube.h);
      t.width = static_cast<int>(cube.w);
      t.title = "cam " + std::to_string(labels.camera[k]) + "  class " +
                std::to_string(labels.time_class[k]);
      t.caption = "t = " + format_number(labels.time_myr[k], 4) + " Myr";
      t.lo = lo;
      t.hi = hi;
    }
    tiles.push_back(std::move(t));
  }
  image_grid(png,
             "simulation " + std::to_string(sim) + " (q = " + format_number(labels.mass_ratio[0]) +
                 "): rows are cameras, columns time classes",
             tiles, static_cast<int>(cols.size()), 104);
}

}  // namespace

int cmd_simulate(int argc, char** argv) {
  Common c;
  gml_merger_simulate_options o;
  gml_merger_simulate_options_default(&o);
  std::string out, ratios, profile = o.profile ? o.profile : "hernquist", png;
  po::options_description d("gml-merger simulate");
  add_common(d, c);
  d.add_options()("out,o", po::value(&out)->required(),
                  "FITS file to write: (N, 1, S, S) image cube + LABELS table")(
      "ratios", po::value(&ratios)->default_value("", "1/4,1/3,1/2,1,3/2"),
      "mass ratios M2/M1, comma-separated")(
      "sims-per-ratio", po::value(&o.sims_per_ratio)->default_value(o.sims_per_ratio),
      "random orbits per mass ratio")("classes",
                                      po::value(&o.n_time_classes)->default_value(o.n_time_classes),
                                      "time classes = snapshots per simulation")(
      "cameras", po::value(&o.n_cameras)->default_value(o.n_cameras),
      "viewing directions per snapshot (1..14)")(
      "size", po::value(&o.image_size)->default_value(o.image_size), "image side in pixels")(
      "particles", po::value(&o.particles_per_disk)->default_value(o.particles_per_disk),
      "test particles per disk")("fov", po::value(&o.fov_kpc)->default_value(o.fov_kpc),
                                 "field of view [kpc]")(
      "psf", po::value(&o.psf_fwhm_pix)->default_value(o.psf_fwhm_pix),
      "Gaussian PSF FWHM [pixels]")(
      "noise", po::value(&o.noise_sigma)->default_value(o.noise_sigma),
      "noise sigma after the stretch")("t-end", po::value(&o.t_end_myr)->default_value(o.t_end_myr),
                                       "time of the last snapshot [Myr]")(
      "dt", po::value(&o.dt_myr)->default_value(o.dt_myr), "largest leapfrog step [Myr]")(
      "profile", po::value(&profile)->default_value(profile), "halo profile: hernquist or plummer")(
      "png", po::value(&png),
      "montage of one simulation: a few cameras (rows) by time classes (columns)");
  if (!parse(argc, argv, d,
             "Runs the restricted N-body merger simulator (docs/merger_simulator.md) and writes\n"
             "labelled images: every mass ratio x orbit x time class x camera."))
    return 0;
  std::vector<double> q;
  if (!ratios.empty()) {
    q = parse_numbers(ratios, "--ratios");
    o.mass_ratios = q.data();
    o.n_mass_ratios = static_cast<int32_t>(q.size());
  }
  require_output_file(out, {}, "--out", c.overwrite);
  if (!png.empty()) require_output_file(png, {out}, "--png", c.overwrite);
  o.profile = profile.c_str();
  o.seed = c.seed;
  Session s(c.device, c.threads, c.seed, c.quiet);
  int64_t n = 0;
  check(gml_merger_simulate(s.ctx, &o, out.c_str(), &n), "simulate");
  s.bar.close();
  if (!c.quiet) {
    std::fprintf(stderr,
                 "wrote %lld images (%d ratios x %d orbits x %d classes x %d cameras) to %s\n",
                 static_cast<long long>(n), q.empty() ? 5 : static_cast<int>(q.size()),
                 o.sims_per_ratio, o.n_time_classes, o.n_cameras, out.c_str());
  }
  if (!png.empty()) {
    montage(out, png);
    if (!c.quiet) std::fprintf(stderr, "wrote %s\n", png.c_str());
  }
  return 0;
}

}  // namespace gml_tools

int main(int argc, char** argv) {
  using namespace gml_tools;
  for (int i = 0; i < argc; ++i) {
    g_command_line += i == 0 ? "" : std::string(" ") + argv[i];
  }
  const Tool tool{
      "gml-merger",
      "Galaxy-merger stages from images (DeepGalaxy: CNN + FCAE + VAE), latent similarity\n"
      "search and clustering.",
      {{"simulate", "labelled merger images from the built-in N-body simulator", cmd_simulate},
       {"train", "train a model on a simulator file (MPI data-parallel under mpirun)", cmd_train},
       {"classify",
        "merger stage of every image of a cube, or of stamps cut around a\n"
        "catalog's positions from survey images; writes a FITS table",
        cmd_classify},
       {"index", "latent index of a simulator file or cutout cube, for search", cmd_index},
       {"search", "nearest index entries of query images, as a PNG (and a table)", cmd_search},
       {"cluster", "spectral clustering of an index's latents", cmd_cluster}}};
  return dispatch(tool, argc, argv);
}

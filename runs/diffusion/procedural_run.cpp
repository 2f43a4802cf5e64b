#include "runs/diffusion/procedural_run.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <string>
#include <vector>

#include "core/common/error.h"
#include "core/common/progress.h"
#include "core/diffusion/galaxy_image_set.h"

namespace gml::runs {

void run_procedural_galaxies(const diffusion::ProceduralOptions& options, const std::string& tags,
                             int64_t first, int64_t count, uint64_t seed,
                             const std::string& out_path, RunControl* control) {
  diffusion::check_procedural_options(options);
  require(count >= 1 && count <= 10'000'000,
          "the number of galaxies (n_galaxies) must lie in [1, 10^7], got " +
              std::to_string(count));
  require(first >= 0, "first must be >= 0");
  const diffusion::MorphologyRequest request = diffusion::parse_morphology_tags(tags);
  // Per chunk, so that progress is frequent and the noiseless copies of a
  // chunk are the only extra memory.
  constexpr int64_t kChunk = 256;
  Progress progress(control, "procedural", count, "galaxies");
  diffusion::ProceduralGalaxies all;
  std::vector<at::Tensor> images;
  for (int64_t start = 0; start < count; start += kChunk) {
    progress.check_cancel();
    const int64_t n = std::min(kChunk, count - start);
    diffusion::ProceduralGalaxies part =
        diffusion::generate_procedural_galaxies(first + start, n, seed, request, options);
    images.push_back(part.images);
    all.galaxies.insert(all.galaxies.end(), part.galaxies.begin(), part.galaxies.end());
    all.captions.insert(all.captions.end(), part.captions.begin(), part.captions.end());
    progress.update(start + n);
  }
  all.images = images.size() == 1 ? images.front() : at::cat(images);
  images.clear();
  progress.finish();
  diffusion::write_galaxy_image_set(
      out_path, diffusion::procedural_image_set(std::move(all), options, seed, first, tags));
}

}  // namespace gml::runs

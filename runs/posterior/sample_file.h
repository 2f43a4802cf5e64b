// Posterior draws of the caller's observations streamed to a file, for
// sample sizes beyond memory: HDF5 for bulk work, a FITS table for
// astronomy tools, NumPy .npy for Python. The format follows the extension.
// Written atomically: on any error no file is left at the path.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/posterior/posterior_flow.h"
#include "core/posterior/truncated_sampling.h"

namespace gml {
class RunControl;
}

namespace gml::runs {

// The draws of sample_posterior_into() (observation i from the stream
// (seed, i)) for each row of x (N, x_dim), one observation at a time, so
// memory beyond one observation's n_samples x theta_dim draws stays bounded
// for any N. By extension, in any letter case:
//   .h5/.hdf5/.he5  "samples" [N, n_samples, theta_dim] and "x" [N, x_dim]
//                   float32 datasets (as a catalog run's samples file),
//                   theta names as the root attribute "theta_names" (JSON);
//   .fits/.fit/.fts a binary table with one row per draw: OBS (the
//                   observation's 0-based index), one float64 column per
//                   parameter (the model's names), INSIDE (1 inside the
//                   prior's support); model checksum and seed as keywords;
//   .npy            float64 [N, n_samples, theta_dim].
// With `truncation` the draws are draw_truncated()'s (NaN rows after the
// accepted ones of a short observation), and the draws kept per
// observation go to `accepted` when given.
// Throws Error(InvalidArgument) for another extension, Error(Io) or a
// FITS error when the file cannot be written, Error(Cancelled).
void sample_posterior_to_file(posterior::PosteriorFlow& flow, const at::Tensor& x,
                              int64_t n_samples, uint64_t seed, const std::string& path,
                              const std::string& model_path, const std::string& model_checksum,
                              RunControl* control,
                              const posterior::TruncationOptions* truncation = nullptr,
                              std::vector<int64_t>* accepted = nullptr);

}  // namespace gml::runs

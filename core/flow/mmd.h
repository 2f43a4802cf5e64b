// Maximum mean discrepancy between star samples, the distance GalacticFlow
// uses to compare a generated galaxy with data galaxies (Wolf et al. 2023,
// Fig. 3). We use the linear-time unbiased estimator MMD²_l of Gretton et al.
// (2012, JMLR 13, Lemma 14): O(n) in time and memory, so it scales to the
// 10^5-10^6 stars of a galaxy, with a sum of Gaussian kernels of widths
// 0.5, 1, 2 and 4 in z-scored units, so no single bandwidth has to fit every
// column.
#pragma once

#include <ATen/core/Tensor.h>

namespace gml::flow {

// x (n, d), y (m, d), already on a common scale (e.g. the flow's z-score).
// Uses the first 2*floor(min(n, m)/2) rows of each; callers shuffle first.
// Returns MMD²_l (can be slightly negative: it is unbiased).
double linear_mmd2(const at::Tensor& x, const at::Tensor& y);

}  // namespace gml::flow

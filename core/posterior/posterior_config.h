// Architecture of a posterior estimator q(theta | x) and the prior support of
// theta. Stored as JSON text in the model file's `config` attribute; unknown
// keys are rejected.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/posterior/made.h"
#include "core/posterior/prior.h"

namespace gml::posterior {

enum class Estimator {
  Maf,  // masked autoregressive flow, affine (Papamakarios et al. 2017)
  Nsf,  // rational-quadratic spline flow (Durkan et al. 2019): coupling or autoregressive
};

struct PosteriorConfig {
  Estimator estimator = Estimator::Maf;
  int64_t theta_dim = 1;
  int64_t x_dim = 1;
  int64_t num_blocks = 15;     // MADE blocks, a fixed permutation after each
  int64_t hidden_width = 500;  // the SEDflow default: 15 blocks, 2 x 500
  int64_t made_blocks = 2;     // masked feed-forward blocks per MADE
  Activation activation = Activation::Tanh;
  int64_t num_bins = 8;     // NSF only
  double tail_bound = 3.0;  // NSF only: splines on [-B, B], identity outside
  // NSF only. true: sbi's NSF (core/posterior/spline_coupling.h): couplings
  // on alternate halves with residual conditioners (made_blocks residual
  // blocks of hidden_width) and an LU-linear layer after each, no
  // permutations. false: MADE blocks as for the MAF. Written only when set,
  // so files from before it read as they were written, and older libraries
  // refuse a coupling model instead of misreading it.
  bool coupling = false;
  // Prior support of theta in user units, one bound per dimension; samples
  // outside are counted per galaxy. Empty: unbounded.
  std::vector<double> prior_lower;
  std::vector<double> prior_upper;
  // Any other prior (normal, log-normal, mixed, multivariate normal, a
  // host's); none when the box above is the prior. store_prior() keeps the
  // two forms apart, so box models stay readable by older libraries.
  Prior prior;
  std::vector<std::string> theta_names;
  std::vector<std::string> x_names;
  // How x is built from a catalog row: "" (the mapped columns are x) or
  // "sed_ugriz" (fluxes, inverse variances and redshift; docs/posterior.md).
  std::string observation;
  // The flow models theta mapped to an unbounded space where the prior
  // bounds it, as torch's biject_to(support): logit of (theta - lower) /
  // (upper - lower) on a two-sided bound, log(theta - lower) or
  // log(upper - theta) on a one-sided one. Every draw then lies inside the
  // support and no mass leaks out of it, which a flow on a box otherwise
  // does (40% of an SED model's draws; truncating them leaves the rest too
  // narrow). Written only when set, so older libraries refuse such a model
  // instead of misreading it.
  bool bounded_theta = false;

  // The prior, whichever form holds it.
  Prior prior_distribution() const { return effective_prior(prior, prior_lower, prior_upper); }
  // Outputs per theta dimension of each MADE.
  int64_t made_multiplier() const;
  // Throws Error(InvalidArgument) naming the first inconsistent field.
  void validate() const;
  std::string to_json_text() const;
  static PosteriorConfig from_json_text(const std::string& text);
};

const char* estimator_name(Estimator e);
Estimator estimator_from_name(const std::string& name);

}  // namespace gml::posterior

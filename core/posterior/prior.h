// Priors over theta as objects: what simulations are drawn from, what a
// posterior is truncated to, and what a model remembers. Stored as JSON
// (docs/posterior.md, "Priors"):
//   {"kind": "uniform",   "lower": [...], "upper": [...]}
//   {"kind": "normal",    "mean": [...], "std": [...]}
//   {"kind": "lognormal", "mean": [...], "std": [...]}   (of ln theta)
//   {"kind": "independent", "marginals": [{"kind": "uniform", "lower": a,
//        "upper": b}, {"kind": "normal", "mean": m, "std": s}, ...]}
//   {"kind": "mvn", "mean": [...], "cov": [[...], ...]}
//   {"kind": "external", "lower": [...], "upper": [...]}
// "external" is a host's prior (a sample/log-prob callback pair): only its
// support box is known to the library, null entries meaning unbounded.
#pragma once

#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

namespace gml::posterior {

struct Marginal {
  enum class Kind { Uniform, Normal, LogNormal };
  Kind kind = Kind::Uniform;
  double a = 0;  // uniform: lower; normal, log-normal: mean (of ln theta)
  double b = 1;  // uniform: upper; normal, log-normal: standard deviation
};

class Prior {
 public:
  enum class Kind { None, Independent, MultivariateNormal, External };

  Prior() = default;  // none: unbounded, no density
  static Prior box(const std::vector<double>& lower, const std::vector<double>& upper);
  static Prior independent(std::vector<Marginal> marginals);
  static Prior multivariate_normal(std::vector<double> mean, std::vector<double> cov);  // D x D
  // A host's prior of `dim` parameters; bounds may be empty (unbounded) or
  // hold one value per parameter, +-infinity where unbounded.
  static Prior external(int64_t dim, std::vector<double> lower, std::vector<double> upper);
  // Parses and checks a description; Error(InvalidArgument) lists every
  // problem. `dim` > 0 also requires that dimension.
  static Prior from_json(const nlohmann::json& j, int64_t dim = 0);
  static Prior from_json_text(const std::string& text, int64_t dim = 0);

  Kind kind() const { return kind_; }
  bool is_none() const { return kind_ == Kind::None; }
  int64_t dim() const { return dim_; }
  // Every parameter uniform: the legacy prior box.
  bool is_box() const;
  // Some parameter has a finite bound, so draws can fall outside.
  bool bounded() const;
  // sample() and log_prob() are available (not none, not external).
  bool has_density() const {
    return kind_ == Kind::Independent || kind_ == Kind::MultivariateNormal;
  }

  // Support box, +-infinity where unbounded (dim() values each).
  std::vector<double> support_lower() const;
  std::vector<double> support_upper() const;

  // (n, D) float64 draws. Independent priors transform one uniform matrix
  // by inverse CDFs, so a box prior draws lower + span * U as it always did.
  at::Tensor sample(int64_t n, at::Generator gen) const;
  // (n) float64 log densities of theta (n, D); -infinity outside the support.
  at::Tensor log_prob(const at::Tensor& theta) const;
  // (n) bool: theta (n, D) inside the support (every parameter finite and
  // within its bounds). Everything is inside a none prior.
  at::Tensor in_support(const at::Tensor& theta) const;

  nlohmann::json to_json() const;
  std::string to_json_text() const;
  // One line for logs and errors, e.g. "uniform box on 2 parameters".
  std::string summary() const;

  bool operator==(const Prior& o) const;
  bool operator!=(const Prior& o) const { return !(*this == o); }

 private:
  Kind kind_ = Kind::None;
  int64_t dim_ = 0;
  std::vector<Marginal> marginals_;    // Independent
  std::vector<double> mean_, cov_;     // MultivariateNormal (cov row-major)
  std::vector<double> lower_, upper_;  // External support
};

// The prior of a model or training set that also keeps the legacy box
// fields: a non-none `prior` wins; otherwise the box, or none.
Prior effective_prior(const Prior& prior, const std::vector<double>& lower,
                      const std::vector<double>& upper);
// Stores `p` in the three fields: a box goes into lower/upper (readable by
// libraries that know only the box) and leaves `prior` none.
void store_prior(const Prior& p, Prior& prior, std::vector<double>& lower,
                 std::vector<double>& upper);

// nlohmann conversions, so a Prior can be a config field.
void to_json(nlohmann::json& j, const Prior& p);
void from_json(const nlohmann::json& j, Prior& p);

}  // namespace gml::posterior

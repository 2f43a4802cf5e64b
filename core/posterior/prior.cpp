#include "core/posterior/prior.h"

#include <ATen/ATen.h>

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/common/error.h"

namespace gml::posterior {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr int64_t kMaxDim = 1024;
const double kLogSqrt2Pi = 0.5 * std::log(2.0 * M_PI);

using Json = nlohmann::json;

const char* marginal_name(Marginal::Kind k) {
  switch (k) {
    case Marginal::Kind::Uniform: return "uniform";
    case Marginal::Kind::Normal: return "normal";
    case Marginal::Kind::LogNormal: return "lognormal";
  }
  return "?";
}

std::string num(double v) {
  std::ostringstream s;
  s << v;
  return s.str();
}

// Problems are collected, not thrown one by one: a hand-written prior with
// three mistakes is fixed in one go.
struct Problems {
  std::vector<std::string> items;
  void add(const std::string& s) { items.push_back(s); }
  void check_marginal(const Marginal& m, const std::string& where) {
    if (m.kind == Marginal::Kind::Uniform) {
      if (!(std::isfinite(m.a) && std::isfinite(m.b) && m.a < m.b)) {
        add(where + ": uniform bounds must be finite with lower < upper (got " + num(m.a) + ", " +
            num(m.b) + ")");
      }
    } else if (!(std::isfinite(m.a) && std::isfinite(m.b) && m.b > 0)) {
      add(where + ": " + marginal_name(m.kind) + " needs a finite mean and a finite std > 0 (got " +
          num(m.a) + ", " + num(m.b) + ")");
    }
  }
  void raise() const {
    if (items.empty()) return;
    std::string msg = "prior:";
    for (const auto& s : items) msg += "\n  - " + s;
    fail(Status::InvalidArgument, msg + "\n(see docs/posterior.md, \"Priors\")");
  }
};

std::vector<double> numbers(const Json& j, const char* key, Problems& p, bool nulls_are_inf = false,
                            double null_value = 0) {
  std::vector<double> out;
  if (!j.contains(key)) {
    p.add(std::string("missing \"") + key + "\"");
    return out;
  }
  const Json& v = j.at(key);
  if (!v.is_array()) {
    p.add(std::string("\"") + key + "\" must be a list of numbers");
    return out;
  }
  for (const Json& e : v) {
    if (e.is_number()) {
      out.push_back(e.get<double>());
    } else if (nulls_are_inf && e.is_null()) {
      out.push_back(null_value);
    } else {
      p.add(std::string("\"") + key + "\" holds a non-number: " + e.dump());
      out.push_back(std::nan(""));
    }
  }
  return out;
}

Marginal::Kind marginal_kind(const std::string& s, Problems& p, const std::string& where) {
  if (s == "uniform") return Marginal::Kind::Uniform;
  if (s == "normal") return Marginal::Kind::Normal;
  if (s == "lognormal") return Marginal::Kind::LogNormal;
  p.add(where + ": unknown kind '" + s + "' (uniform, normal, lognormal)");
  return Marginal::Kind::Uniform;
}

std::string kind_of(const Json& j) {
  return j.is_object() && j.contains("kind") && j.at("kind").is_string()
             ? j.at("kind").get<std::string>()
             : std::string();
}

}  // namespace

Prior Prior::box(const std::vector<double>& lower, const std::vector<double>& upper) {
  require(lower.size() == upper.size(), "prior: lower and upper bounds differ in length");
  std::vector<Marginal> m(lower.size());
  for (size_t i = 0; i < m.size(); ++i) m[i] = {Marginal::Kind::Uniform, lower[i], upper[i]};
  return independent(std::move(m));
}

Prior Prior::independent(std::vector<Marginal> marginals) {
  Problems p;
  if (marginals.empty() || static_cast<int64_t>(marginals.size()) > kMaxDim) {
    p.add("needs 1 to " + std::to_string(kMaxDim) + " parameters, not " +
          std::to_string(marginals.size()));
  }
  for (size_t i = 0; i < marginals.size(); ++i) {
    p.check_marginal(marginals[i], "parameter " + std::to_string(i));
  }
  p.raise();
  Prior out;
  out.kind_ = Kind::Independent;
  out.dim_ = static_cast<int64_t>(marginals.size());
  out.marginals_ = std::move(marginals);
  return out;
}

Prior Prior::multivariate_normal(std::vector<double> mean, std::vector<double> cov) {
  Problems p;
  const auto d = static_cast<int64_t>(mean.size());
  if (d < 1 || d > kMaxDim) p.add("mvn needs 1 to 1024 parameters");
  if (static_cast<int64_t>(cov.size()) != d * d) {
    p.add("mvn: cov must be " + std::to_string(d) + " x " + std::to_string(d));
  }
  for (double v : mean) {
    if (!std::isfinite(v)) p.add("mvn: mean must be finite");
  }
  if (p.items.empty()) {
    for (int64_t i = 0; i < d; ++i) {
      for (int64_t k = 0; k < d; ++k) {
        const double a = cov[static_cast<size_t>(i * d + k)],
                     b = cov[static_cast<size_t>(k * d + i)];
        if (!std::isfinite(a) || std::abs(a - b) > 1e-12 * (std::abs(a) + std::abs(b))) {
          p.add("mvn: cov must be finite and symmetric (entry " + std::to_string(i) + "," +
                std::to_string(k) + ")");
          i = d;
          break;
        }
      }
    }
  }
  if (p.items.empty()) {
    const at::Tensor c = at::tensor(cov, at::kDouble).view({d, d});
    const auto [l, info] = at::linalg_cholesky_ex(c);
    if (info.item<int64_t>() != 0) p.add("mvn: cov is not positive definite");
  }
  p.raise();
  Prior out;
  out.kind_ = Kind::MultivariateNormal;
  out.dim_ = d;
  out.mean_ = std::move(mean);
  out.cov_ = std::move(cov);
  return out;
}

Prior Prior::external(int64_t dim, std::vector<double> lower, std::vector<double> upper) {
  Problems p;
  if (dim < 1 || dim > kMaxDim) p.add("an external prior needs 1 to 1024 parameters");
  if (lower.empty() != upper.empty() ||
      (!lower.empty() && static_cast<int64_t>(lower.size()) != dim) ||
      (!upper.empty() && static_cast<int64_t>(upper.size()) != dim)) {
    p.add("external: the support needs one lower and one upper bound per parameter, or none");
  }
  for (size_t i = 0; i < lower.size() && i < upper.size(); ++i) {
    if (std::isnan(lower[i]) || std::isnan(upper[i]) || !(lower[i] < upper[i])) {
      p.add("external: support bound " + std::to_string(i) + " must satisfy lower < upper");
    }
  }
  p.raise();
  Prior out;
  out.kind_ = Kind::External;
  out.dim_ = dim;
  if (lower.empty()) {
    lower.assign(static_cast<size_t>(dim), -kInf);
    upper.assign(static_cast<size_t>(dim), kInf);
  }
  out.lower_ = std::move(lower);
  out.upper_ = std::move(upper);
  return out;
}

Prior Prior::from_json(const Json& j, int64_t dim) {
  if (j.is_null()) return Prior();
  Problems p;
  if (!j.is_object()) {
    p.add("a prior is a JSON object with a \"kind\", not " + j.dump());
    p.raise();
  }
  const std::string kind = kind_of(j);
  Prior out;
  auto pairwise = [&](Marginal::Kind mk, const char* ka, const char* kb) {
    const auto a = numbers(j, ka, p), b = numbers(j, kb, p);
    if (a.size() != b.size()) {
      p.add(std::string("\"") + ka + "\" and \"" + kb + "\" differ in length");
    }
    std::vector<Marginal> m(std::min(a.size(), b.size()));
    for (size_t i = 0; i < m.size(); ++i) m[i] = {mk, a[i], b[i]};
    return m;
  };
  std::vector<Marginal> marginals;
  if (kind == "uniform") {
    marginals = pairwise(Marginal::Kind::Uniform, "lower", "upper");
  } else if (kind == "normal") {
    marginals = pairwise(Marginal::Kind::Normal, "mean", "std");
  } else if (kind == "lognormal") {
    marginals = pairwise(Marginal::Kind::LogNormal, "mean", "std");
  } else if (kind == "independent") {
    if (!j.contains("marginals") || !j.at("marginals").is_array()) {
      p.add("independent: \"marginals\" must be a list of one-parameter priors");
    } else {
      const Json& list = j.at("marginals");
      for (size_t i = 0; i < list.size(); ++i) {
        const Json& e = list[i];
        const std::string where = "marginal " + std::to_string(i);
        const std::string mk = kind_of(e);
        Marginal m;
        m.kind = marginal_kind(mk, p, where);
        const char* ka = m.kind == Marginal::Kind::Uniform ? "lower" : "mean";
        const char* kb = m.kind == Marginal::Kind::Uniform ? "upper" : "std";
        if (!e.is_object() || !e.contains(ka) || !e.at(ka).is_number() || !e.contains(kb) ||
            !e.at(kb).is_number()) {
          p.add(where + ": needs numbers \"" + ka + "\" and \"" + kb + "\"");
        } else {
          m.a = e.at(ka).get<double>();
          m.b = e.at(kb).get<double>();
        }
        marginals.push_back(m);
      }
    }
  } else if (kind == "mvn") {
    const auto mean = numbers(j, "mean", p);
    std::vector<double> cov;
    if (!j.contains("cov") || !j.at("cov").is_array()) {
      p.add("mvn: \"cov\" must be a list of rows");
    } else {
      for (const Json& row : j.at("cov")) {
        if (!row.is_array() || row.size() != mean.size()) {
          p.add("mvn: every row of \"cov\" needs " + std::to_string(mean.size()) + " numbers");
          break;
        }
        for (const Json& e : row) cov.push_back(e.is_number() ? e.get<double>() : std::nan(""));
      }
    }
    if (dim > 0 && static_cast<int64_t>(mean.size()) != dim) {
      p.add("the prior has " + std::to_string(mean.size()) + " parameters, theta has " +
            std::to_string(dim));
    }
    p.raise();
    return multivariate_normal(mean, cov);
  } else if (kind == "external") {
    std::vector<double> lower, upper;
    if (j.contains("lower")) lower = numbers(j, "lower", p, true, -kInf);
    if (j.contains("upper")) upper = numbers(j, "upper", p, true, kInf);
    int64_t d = dim;
    if (j.contains("dim") && j.at("dim").is_number_integer()) d = j.at("dim").get<int64_t>();
    if (d <= 0) d = static_cast<int64_t>(lower.size());
    if (dim > 0 && d != dim) {
      p.add("the prior has " + std::to_string(d) + " parameters, theta has " + std::to_string(dim));
    }
    p.raise();
    return external(d, lower, upper);
  } else {
    p.add("unknown kind '" + kind + "' (uniform, normal, lognormal, independent, mvn, external)");
  }
  if (dim > 0 && static_cast<int64_t>(marginals.size()) != dim) {
    p.add("the prior has " + std::to_string(marginals.size()) + " parameters, theta has " +
          std::to_string(dim));
  }
  for (size_t i = 0; i < marginals.size(); ++i) {
    p.check_marginal(marginals[i], "parameter " + std::to_string(i));
  }
  p.raise();
  return independent(std::move(marginals));
}

Prior Prior::from_json_text(const std::string& text, int64_t dim) {
  Json j;
  try {
    j = Json::parse(text);
  } catch (const Json::exception& e) {
    fail(Status::InvalidArgument,
         std::string("prior: not JSON: ") + e.what() + "\n(see docs/posterior.md, \"Priors\")");
  }
  return from_json(j, dim);
}

bool Prior::is_box() const {
  if (kind_ != Kind::Independent) return false;
  for (const Marginal& m : marginals_) {
    if (m.kind != Marginal::Kind::Uniform) return false;
  }
  return true;
}

std::vector<double> Prior::support_lower() const {
  std::vector<double> out(static_cast<size_t>(dim_), -kInf);
  if (kind_ == Kind::External) return lower_;
  for (size_t i = 0; i < marginals_.size(); ++i) {
    if (marginals_[i].kind == Marginal::Kind::Uniform) out[i] = marginals_[i].a;
    if (marginals_[i].kind == Marginal::Kind::LogNormal) out[i] = 0;
  }
  return out;
}

std::vector<double> Prior::support_upper() const {
  std::vector<double> out(static_cast<size_t>(dim_), kInf);
  if (kind_ == Kind::External) return upper_;
  for (size_t i = 0; i < marginals_.size(); ++i) {
    if (marginals_[i].kind == Marginal::Kind::Uniform) out[i] = marginals_[i].b;
  }
  return out;
}

bool Prior::bounded() const {
  for (double v : support_lower()) {
    if (std::isfinite(v)) return true;
  }
  for (double v : support_upper()) {
    if (std::isfinite(v)) return true;
  }
  return false;
}

at::Tensor Prior::sample(int64_t n, at::Generator gen) const {
  require(has_density(), "prior: " + summary() + " cannot be sampled by the library");
  require(n >= 0, "prior: n must be >= 0");
  const auto opts = at::TensorOptions().dtype(at::kDouble);
  if (kind_ == Kind::MultivariateNormal) {
    const at::Tensor l = at::linalg_cholesky(at::tensor(cov_, at::kDouble).view({dim_, dim_}));
    const at::Tensor z = at::randn({n, dim_}, gen, opts);
    return (at::tensor(mean_, at::kDouble) + at::matmul(z, l.t())).contiguous();
  }
  std::vector<double> lo(marginals_.size()), hi(marginals_.size());
  for (size_t i = 0; i < marginals_.size(); ++i) {
    const bool uniform = marginals_[i].kind == Marginal::Kind::Uniform;
    lo[i] = uniform ? marginals_[i].a : 0.0;
    hi[i] = uniform ? marginals_[i].b : 1.0;
  }
  const at::Tensor lower = at::tensor(lo, at::kDouble);
  const at::Tensor span = at::tensor(hi, at::kDouble) - lower;
  at::Tensor out = (lower + span * at::rand({n, dim_}, gen, opts)).contiguous();
  for (size_t i = 0; i < marginals_.size(); ++i) {
    const Marginal& m = marginals_[i];
    if (m.kind == Marginal::Kind::Uniform) continue;
    // rand() is in [0, 1): keep ndtri away from -infinity at exactly 0.
    at::Tensor col = out.select(1, static_cast<int64_t>(i));
    at::Tensor v = m.a + m.b * at::special_ndtri(col.clamp_min(0x1p-60));
    if (m.kind == Marginal::Kind::LogNormal) v = v.exp();
    col.copy_(v);
  }
  return out;
}

at::Tensor Prior::log_prob(const at::Tensor& theta) const {
  require(has_density(), "prior: " + summary() + " has no density in the library");
  require(theta.dim() == 2 && theta.size(1) == dim_,
          "prior: theta must be (n, " + std::to_string(dim_) + ")");
  const at::Tensor t = theta.to(at::kDouble);
  const at::Tensor ninf = at::full({}, -kInf, at::kDouble);
  if (kind_ == Kind::MultivariateNormal) {
    const at::Tensor l = at::linalg_cholesky(at::tensor(cov_, at::kDouble).view({dim_, dim_}));
    const at::Tensor r = (t - at::tensor(mean_, at::kDouble)).t();
    const at::Tensor y = at::linalg_solve_triangular(l, r, /*upper=*/false);
    const at::Tensor lp =
        -0.5 * y.pow(2).sum(0) - l.diagonal().log().sum() - static_cast<double>(dim_) * kLogSqrt2Pi;
    return at::where(at::isfinite(t).all(1), lp, ninf);
  }
  at::Tensor total = at::zeros({t.size(0)}, at::kDouble);
  for (size_t i = 0; i < marginals_.size(); ++i) {
    const Marginal& m = marginals_[i];
    const at::Tensor c = t.select(1, static_cast<int64_t>(i));
    at::Tensor lp;
    if (m.kind == Marginal::Kind::Uniform) {
      lp =
          at::where((c >= m.a) & (c <= m.b), at::full({}, -std::log(m.b - m.a), at::kDouble), ninf);
    } else if (m.kind == Marginal::Kind::Normal) {
      lp = -0.5 * ((c - m.a) / m.b).pow(2) - std::log(m.b) - kLogSqrt2Pi;
      lp = at::where(at::isfinite(c), lp, ninf);
    } else {
      const at::Tensor pos = c > 0;
      const at::Tensor lc = at::where(pos, c, at::ones({}, at::kDouble)).log();
      lp = -0.5 * ((lc - m.a) / m.b).pow(2) - std::log(m.b) - kLogSqrt2Pi - lc;
      lp = at::where(pos & at::isfinite(c), lp, ninf);
    }
    total = total + lp;
  }
  return total;
}

at::Tensor Prior::in_support(const at::Tensor& theta) const {
  require(theta.dim() == 2, "prior: theta must be (n, D)");
  if (kind_ == Kind::None) return at::ones({theta.size(0)}, at::TensorOptions().dtype(at::kBool));
  require(theta.size(1) == dim_, "prior: theta must be (n, " + std::to_string(dim_) + ")");
  const at::Tensor t = theta.to(at::kDouble);
  const at::Tensor lo = at::tensor(support_lower(), at::kDouble);
  const at::Tensor hi = at::tensor(support_upper(), at::kDouble);
  // Log-normal support is open at 0; finite values everywhere.
  at::Tensor inside = at::isfinite(t) & (t >= lo) & (t <= hi);
  for (size_t i = 0; i < marginals_.size(); ++i) {
    if (marginals_[i].kind == Marginal::Kind::LogNormal) {
      inside.select(1, static_cast<int64_t>(i))
          .logical_and_(t.select(1, static_cast<int64_t>(i)) > 0);
    }
  }
  return inside.all(1);
}

Json Prior::to_json() const {
  switch (kind_) {
    case Kind::None: return nullptr;
    case Kind::MultivariateNormal: {
      Json cov = Json::array();
      for (int64_t i = 0; i < dim_; ++i) {
        cov.push_back(std::vector<double>(cov_.begin() + i * dim_, cov_.begin() + (i + 1) * dim_));
      }
      return Json{{"kind", "mvn"}, {"mean", mean_}, {"cov", cov}};
    }
    case Kind::External: {
      Json j{{"kind", "external"}, {"dim", dim_}};
      if (bounded()) {
        // JSON has no infinity: null is an unbounded side.
        Json lo = Json::array(), hi = Json::array();
        for (size_t i = 0; i < lower_.size(); ++i) {
          lo.push_back(std::isfinite(lower_[i]) ? Json(lower_[i]) : Json(nullptr));
          hi.push_back(std::isfinite(upper_[i]) ? Json(upper_[i]) : Json(nullptr));
        }
        j["lower"] = lo;
        j["upper"] = hi;
      }
      return j;
    }
    case Kind::Independent: break;
  }
  bool same = true;
  for (const Marginal& m : marginals_) same = same && m.kind == marginals_[0].kind;
  if (same) {
    std::vector<double> a, b;
    for (const Marginal& m : marginals_) {
      a.push_back(m.a);
      b.push_back(m.b);
    }
    const bool uniform = marginals_[0].kind == Marginal::Kind::Uniform;
    return Json{{"kind", marginal_name(marginals_[0].kind)},
                {uniform ? "lower" : "mean", a},
                {uniform ? "upper" : "std", b}};
  }
  Json list = Json::array();
  for (const Marginal& m : marginals_) {
    const bool uniform = m.kind == Marginal::Kind::Uniform;
    list.push_back(Json{{"kind", marginal_name(m.kind)},
                        {uniform ? "lower" : "mean", m.a},
                        {uniform ? "upper" : "std", m.b}});
  }
  return Json{{"kind", "independent"}, {"marginals", list}};
}

std::string Prior::to_json_text() const {
  return to_json().dump();
}

std::string Prior::summary() const {
  const std::string n = std::to_string(dim_) + (dim_ == 1 ? " parameter" : " parameters");
  switch (kind_) {
    case Kind::None: return "no prior";
    case Kind::MultivariateNormal: return "multivariate normal prior on " + n;
    case Kind::External:
      return std::string("host prior on ") + n + (bounded() ? " with a bounded support" : "");
    case Kind::Independent: break;
  }
  if (is_box()) return "uniform box prior on " + n;
  return "independent prior on " + n + " (" + kind_of(to_json()) + ")";
}

bool Prior::operator==(const Prior& o) const {
  return to_json() == o.to_json();
}

Prior effective_prior(const Prior& prior, const std::vector<double>& lower,
                      const std::vector<double>& upper) {
  if (!prior.is_none()) return prior;
  if (!lower.empty()) return Prior::box(lower, upper);
  return Prior();
}

void store_prior(const Prior& p, Prior& prior, std::vector<double>& lower,
                 std::vector<double>& upper) {
  if (p.is_box()) {
    prior = Prior();
    lower = p.support_lower();
    upper = p.support_upper();
  } else {
    prior = p;
    lower.clear();
    upper.clear();
  }
}

void to_json(Json& j, const Prior& p) {
  j = p.to_json();
}

void from_json(const Json& j, Prior& p) {
  p = Prior::from_json(j);
}

}  // namespace gml::posterior

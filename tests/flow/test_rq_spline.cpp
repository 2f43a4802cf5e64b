// The rational-quadratic spline against nflows (golden values written by
// tests/golden/make_spline_golden.py), plus its own invariants.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/common/error.h"
#include "core/common/rq_spline.h"

namespace {

nlohmann::json load_golden() {
  const std::string path = std::string(GML_GOLDEN_DIR) + "/flow/rq_spline_golden.json";
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << "missing golden file " << path;
  return nlohmann::json::parse(in);
}

at::Tensor from_json(const nlohmann::json& values, std::vector<int64_t> shape,
                     at::ScalarType dtype) {
  std::vector<double> v = values.get<std::vector<double>>();
  return at::tensor(v, at::TensorOptions().dtype(at::kDouble)).reshape(shape).to(dtype);
}

double max_abs_diff(const at::Tensor& a, const at::Tensor& b) {
  return (a.to(at::kDouble) - b.to(at::kDouble)).abs().max().item<double>();
}

// Float64: compares with nflows in float64 to tol_out / tol_logdet.
// Float32: the golden file also holds nflows evaluated in float32, whose
// own error against the float64 values (up to 1.7e-4 in log|det| for the
// sharp splines) depends on the CPU's vector kernels; ours must be no less
// accurate: error against float64 nflows at most twice nflows' float32
// error, plus float32 rounding of the result (tol_out / tol_logdet).
void check_against_nflows(at::ScalarType dtype, double tol_out, double tol_logdet) {
  const bool single = dtype == at::kFloat;
  const nlohmann::json doc = load_golden();
  ASSERT_GE(doc.at("cases").size(), 3u);
  for (const auto& c : doc.at("cases")) {
    const int64_t n = c.at("n"), d = c.at("d"), k = c.at("num_bins");
    gml::RQSplineOptions opt;
    opt.tail_bound = c.at("tail_bound");
    const at::Tensor x = from_json(c.at("inputs"), {n, d}, dtype);
    const at::Tensor w = from_json(c.at("unnormalized_widths"), {n, d, k}, dtype);
    const at::Tensor h = from_json(c.at("unnormalized_heights"), {n, d, k}, dtype);
    const at::Tensor dv = from_json(c.at("unnormalized_derivatives"), {n, d, k - 1}, dtype);
    for (const char* direction : {"forward", "inverse"}) {
      const bool inverse = std::string(direction) == "inverse";
      gml::SplineResult r = gml::rq_spline(x, w, h, dv, inverse, opt);
      const auto& want = c.at(direction);
      const at::Tensor want_y = from_json(want.at("outputs"), {n, d}, at::kDouble);
      const at::Tensor want_ld = from_json(want.at("logabsdet"), {n, d}, at::kDouble);
      const double err_y = max_abs_diff(r.outputs, want_y);
      const double err_ld = max_abs_diff(r.logabsdet, want_ld);
      double bound_y = tol_out, bound_ld = tol_logdet;
      if (single) {
        const auto& ref = c.at(std::string(direction) + "_float32");
        bound_y += 2 * max_abs_diff(from_json(ref.at("outputs"), {n, d}, at::kDouble), want_y);
        bound_ld += 2 * max_abs_diff(from_json(ref.at("logabsdet"), {n, d}, at::kDouble), want_ld);
      }
      EXPECT_LE(err_y, bound_y) << c.at("name") << " " << direction;
      EXPECT_LE(err_ld, bound_ld) << c.at("name") << " " << direction;
      std::cout << "[ golden ] " << c.at("name").get<std::string>() << " " << direction << " "
                << c10::toString(dtype) << " max|dy|=" << err_y << " (bound " << bound_y
                << ") max|dlogdet|=" << err_ld << " (bound " << bound_ld << ")\n";
    }
  }
}

TEST(RQSpline, MatchesNflowsFloat64) {
  check_against_nflows(at::kDouble, 1e-10, 1e-10);
}

TEST(RQSpline, MatchesNflowsFloat32) {
  check_against_nflows(at::kFloat, 1e-5, 1e-5);
}

TEST(RQSpline, PackedLayoutEqualsSeparateArguments) {
  auto gen = at::detail::createCPUGenerator(7);
  const int64_t k = 6;
  at::Tensor x = at::randn({20, 3}, gen) * 2;
  // Parameters that need gradients keep both calls on the differentiable
  // path, so the two layouts must agree bit for bit.
  at::Tensor p = at::randn({20, 3, gml::rq_spline_param_count(k)}, gen).requires_grad_(true);
  auto a = gml::rq_spline_packed(x, p, false);
  auto b =
      gml::rq_spline(x, p.narrow(-1, 0, k), p.narrow(-1, k, k), p.narrow(-1, 2 * k, k - 1), false);
  EXPECT_TRUE(at::equal(a.outputs, b.outputs));
  EXPECT_TRUE(at::equal(a.logabsdet, b.logabsdet));
}

// Sharp splines (slopes down to 1e-3) amplify float32 rounding by up to
// 1/slope on inversion (nflows loses ~3e-4 in float32 at parameter scale 1),
// so the round trip is checked in float64 for sharp parameters and in
// float32 for moderate ones.
TEST(RQSpline, InverseUndoesForwardIncludingTails) {
  struct Case {
    at::ScalarType dtype;
    double param_scale, tol_x, tol_logdet;
  };
  for (const Case& c : {Case{at::kDouble, 2.5, 1e-9, 1e-8}, Case{at::kFloat, 0.5, 1e-5, 1e-4}}) {
    auto gen = at::detail::createCPUGenerator(11);
    const int64_t k = 10;
    auto opts = at::TensorOptions().dtype(c.dtype);
    at::Tensor x = (at::rand({4000, 2}, gen, opts) * 2 - 1) * 4.5;  // a third in the tails
    at::Tensor p = at::randn({4000, 2, 3 * k - 1}, gen, opts) * c.param_scale;
    auto fwd = gml::rq_spline_packed(x, p, false);
    auto inv = gml::rq_spline_packed(fwd.outputs, p, true);
    EXPECT_LE(max_abs_diff(inv.outputs, x), c.tol_x) << c10::toString(c.dtype);
    EXPECT_LE(max_abs_diff(inv.logabsdet, -fwd.logabsdet), c.tol_logdet) << c10::toString(c.dtype);
    const at::Tensor tails = x.abs() > 3;
    ASSERT_GT(tails.sum().item<int64_t>(), 100);
    EXPECT_TRUE(at::equal(fwd.outputs.masked_select(tails), x.masked_select(tails)));
    EXPECT_EQ(fwd.logabsdet.masked_select(tails).abs().max().item<double>(), 0.0);
  }
}

TEST(RQSpline, LogDetIsTheAutogradDerivativeAndMonotone) {
  auto gen = at::detail::createCPUGenerator(3);
  const int64_t k = 8;
  auto f64 = at::TensorOptions().dtype(at::kDouble);
  at::Tensor x = ((at::rand({500, 1}, gen, f64) * 2 - 1) * 3.5).requires_grad_(true);
  at::Tensor p = at::randn({500, 1, 3 * k - 1}, gen, f64) * 1.5;
  for (bool inverse : {false, true}) {
    auto r = gml::rq_spline_packed(x, p, inverse);
    at::Tensor grad = torch::autograd::grad({r.outputs.sum()}, {x})[0];
    EXPECT_TRUE((grad > 0).all().item<bool>());
    EXPECT_LE(max_abs_diff(grad.log(), r.logabsdet), 1e-10);
  }
}

TEST(RQSpline, ContinuousAtTheTailBound) {
  auto f64 = at::TensorOptions().dtype(at::kDouble);
  auto gen = at::detail::createCPUGenerator(5);
  at::Tensor p = at::randn({4, 1, 29}, gen, f64).expand({4, 1, 29});
  at::Tensor x = at::tensor({-3.0 - 1e-9, -3.0 + 1e-9, 3.0 - 1e-9, 3.0 + 1e-9}, f64).view({4, 1});
  auto r = gml::rq_spline_packed(x, p, false);
  EXPECT_NEAR(r.outputs[0].item<double>(), r.outputs[1].item<double>(), 1e-7);
  EXPECT_NEAR(r.outputs[2].item<double>(), r.outputs[3].item<double>(), 1e-7);
  // Boundary derivatives are 1, so the log-det is continuous too.
  EXPECT_NEAR(r.logabsdet[1].item<double>(), 0.0, 1e-6);
  EXPECT_NEAR(r.logabsdet[2].item<double>(), 0.0, 1e-6);
}

TEST(RQSpline, RejectsInconsistentShapes) {
  at::Tensor x = at::zeros({5, 2});
  EXPECT_THROW(
      gml::rq_spline(x, at::zeros({5, 2, 4}), at::zeros({5, 2, 4}), at::zeros({5, 2, 4}), false),
      gml::Error);
  EXPECT_THROW(
      gml::rq_spline(x, at::zeros({5, 2, 4}), at::zeros({5, 2, 3}), at::zeros({5, 2, 3}), false),
      gml::Error);
  EXPECT_THROW(gml::rq_spline_packed(x, at::zeros({5, 2, 10}), false), gml::Error);
}

}  // namespace

TEST(RQSpline, FusedInferencePathEqualsTheDifferentiablePath) {
  auto gen = at::detail::createCPUGenerator(77);
  const int64_t n = 3000, d = 5, k = 10;
  // Inputs beyond the tail bound too, and large logits so some bins are
  // nearly empty and slopes reach the 1e-3 floor.
  const at::Tensor x = at::randn({n, d}, gen, at::TensorOptions().dtype(at::kDouble)) * 2.0;
  const at::Tensor p =
      at::randn({n, d, 3 * k - 1}, gen, at::TensorOptions().dtype(at::kDouble)) * 3.0;
  auto differentiable = [&](const at::Tensor& xs, const at::Tensor& ps, bool inverse) {
    at::Tensor pg = ps.clone().requires_grad_(true);
    gml::SplineResult r = gml::rq_spline(xs, pg.narrow(-1, 0, k), pg.narrow(-1, k, k),
                                         pg.narrow(-1, 2 * k, k - 1), inverse);
    return gml::SplineResult{r.outputs.detach(), r.logabsdet.detach()};
  };
  auto fused = [&](const at::Tensor& xs, const at::Tensor& ps, bool inverse) {
    at::NoGradGuard no_grad;
    return gml::rq_spline_packed(xs, ps, inverse);
  };
  auto err = [](const at::Tensor& a, const at::Tensor& b) {
    return (a.to(at::kDouble) - b).abs().max().item<double>();
  };
  for (bool inverse : {false, true}) {
    SCOPED_TRACE(inverse ? "inverse" : "forward");
    // Float64: the same formulas, so equal to rounding.
    const gml::SplineResult ref = differentiable(x, p, inverse);
    const gml::SplineResult f64 = fused(x, p, inverse);
    EXPECT_FALSE(f64.outputs.requires_grad());
    EXPECT_LT(err(f64.outputs, ref.outputs), 1e-10);
    EXPECT_LT(err(f64.logabsdet, ref.logabsdet), 1e-10);
    // Float32: sharp splines amplify rounding in both paths; the fused path
    // must be as close to the float64 result as the differentiable one.
    const at::Tensor xf = x.to(at::kFloat), pf = p.to(at::kFloat);
    const gml::SplineResult d32 = differentiable(xf, pf, inverse);
    const gml::SplineResult f32 = fused(xf, pf, inverse);
    EXPECT_EQ(f32.outputs.scalar_type(), at::kFloat);
    EXPECT_LE(err(f32.outputs, ref.outputs), 2 * err(d32.outputs, ref.outputs) + 1e-5);
    EXPECT_LE(err(f32.logabsdet, ref.logabsdet), 2 * err(d32.logabsdet, ref.logabsdet) + 1e-4);
  }
}

// The raw-row kernel of the tiled inference plan: a column block inside wider
// rows, logdet accumulated, other columns untouched, against the float64
// differentiable spline. Logits up to ~100 exercise the softmax shift and the
// exp flush.
TEST(RQSpline, RowKernelEqualsTheDifferentiablePath) {
  auto gen = at::detail::createCPUGenerator(78);
  const int64_t n = 2000, d = 4, ld = 7, offset = 2, k = 10;
  const auto f64 = at::TensorOptions().dtype(at::kDouble);
  const at::Tensor rows = (at::randn({n, ld}, gen, f64) * 2.0).to(at::kFloat);
  at::Tensor p = (at::randn({n, d, 3 * k - 1}, gen, f64) * 3.0).to(at::kFloat);
  p.select(0, 0).fill_(100.0f);                            // every bin equal after the shift
  p.select(0, 1).select(0, 0).select(0, 3).fill_(100.0f);  // one bin takes all
  for (bool inverse : {false, true}) {
    SCOPED_TRACE(inverse ? "inverse" : "forward");
    const at::Tensor x = rows.narrow(1, offset, d).to(at::kDouble);
    const gml::SplineResult ref = gml::rq_spline_packed(x, p.to(at::kDouble), inverse);
    at::Tensor work = rows.clone();
    at::Tensor logdet = at::full({n}, 0.5f);
    std::vector<float> scratch(static_cast<size_t>(n * d * 2 * k));
    gml::rq_spline_rows(work.data_ptr<float>() + offset, ld, n, d, p.data_ptr<float>(),
                        scratch.data(), k, inverse, gml::RQSplineOptions{},
                        logdet.data_ptr<float>());
    const double err_y =
        (work.narrow(1, offset, d).to(at::kDouble) - ref.outputs).abs().max().item<double>();
    const double err_ld =
        (logdet.to(at::kDouble) - 0.5 - ref.logabsdet.sum(-1)).abs().max().item<double>();
    // Sharp splines amplify float32 rounding in any kernel: the row kernel
    // must be as close to float64 as the float32 differentiable path is.
    const at::Tensor pf = p.clone().requires_grad_(true);
    const gml::SplineResult d32 =
        gml::rq_spline(x.to(at::kFloat), pf.narrow(-1, 0, k), pf.narrow(-1, k, k),
                       pf.narrow(-1, 2 * k, k - 1), inverse);
    const double err_y32 =
        (d32.outputs.detach().to(at::kDouble) - ref.outputs).abs().max().item<double>();
    const double err_ld32 = (d32.logabsdet.detach().sum(-1).to(at::kDouble) - ref.logabsdet.sum(-1))
                                .abs()
                                .max()
                                .item<double>();
    EXPECT_LE(err_y, 2 * err_y32 + 1e-5) << "outputs";
    EXPECT_LE(err_ld, 2 * err_ld32 + 1e-4) << "summed logdet";
    EXPECT_TRUE(at::equal(work.narrow(1, 0, offset), rows.narrow(1, 0, offset)));
    EXPECT_TRUE(at::equal(work.narrow(1, offset + d, ld - offset - d),
                          rows.narrow(1, offset + d, ld - offset - d)));
    // Typical (non-extreme) rows agree far more tightly.
    EXPECT_LT((work.narrow(1, offset, d).to(at::kDouble) - ref.outputs)
                  .narrow(0, 2, n - 2)
                  .abs()
                  .median()
                  .item<double>(),
              1e-6);
    std::cout << "[ rows ] " << (inverse ? "inverse" : "forward") << " max|dy|=" << err_y
              << " (float32 autograd path " << err_y32 << ") max|dlogdet|=" << err_ld << " ("
              << err_ld32 << ")\n";
  }
}

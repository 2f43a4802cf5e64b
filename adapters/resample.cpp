#include "adapters/resample.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace gml::adapters {

const char* to_string(Resample mode) {
  switch (mode) {
    case Resample::None: return "none";
    case Resample::Mean: return "mean";
    case Resample::Flux: return "flux";
    case Resample::Bilinear: return "bilinear";
  }
  return "unknown";
}

Resampler::Resampler(int64_t in_w, int64_t in_h, int64_t out_w, int64_t out_h, Resample mode)
    : in_w_(in_w), in_h_(in_h), out_w_(out_w), out_h_(out_h), mode_(mode) {
  if (in_w < 1 || in_h < 1 || out_w < 1 || out_h < 1) {
    throw std::invalid_argument("resample: stamp sizes must be >= 1");
  }
  if (mode == Resample::None && (in_w != out_w || in_h != out_h)) {
    throw std::invalid_argument("resample: output size " + std::to_string(out_w) + "x" +
                                std::to_string(out_h) + " differs from the stamp size " +
                                std::to_string(in_w) + "x" + std::to_string(in_h) +
                                " but no resampling mode is set");
  }
  if (mode != Resample::None && mode != Resample::Mean && mode != Resample::Flux &&
      mode != Resample::Bilinear) {
    throw std::invalid_argument("resample: unknown mode " +
                                std::to_string(static_cast<int32_t>(mode)));
  }
  margin_ = mode == Resample::Bilinear ? 1 : 0;
  gain_ = mode == Resample::Flux ? (static_cast<double>(in_w) / static_cast<double>(out_w)) *
                                       (static_cast<double>(in_h) / static_cast<double>(out_h))
                                 : 1.0;
  tx_ = make_taps(in_w, out_w);
  ty_ = make_taps(in_h, out_h);
}

Resampler::Taps Resampler::make_taps(int64_t in, int64_t out) const {
  Taps t;
  const double s = static_cast<double>(in) / static_cast<double>(out);
  auto add = [&](int64_t i, double w) {
    t.idx.push_back(i + margin_);
    t.w.push_back(w);
  };
  for (int64_t u = 0; u < out; ++u) {
    t.start.push_back(static_cast<int32_t>(t.idx.size()));
    if (mode_ == Resample::None || (mode_ != Resample::Bilinear && in == out)) {
      add(u, 1.0);
    } else if (mode_ == Resample::Bilinear) {
      const double c = (static_cast<double>(u) + 0.5) * s - 0.5;
      const double i0 = std::floor(c);
      const double f = c - i0;
      add(static_cast<int64_t>(i0), 1.0 - f);
      if (f > 0) add(static_cast<int64_t>(i0) + 1, f);
    } else {
      // Exact overlap of [u s, (u+1) s) with each input pixel [i, i+1).
      const double a = static_cast<double>(u) * s, b = static_cast<double>(u + 1) * s;
      const auto i_first = static_cast<int64_t>(std::floor(a));
      const auto i_last = std::min<int64_t>(static_cast<int64_t>(std::ceil(b)), in);
      for (int64_t i = i_first; i < i_last; ++i) {
        const double w =
            std::min(b, static_cast<double>(i + 1)) - std::max(a, static_cast<double>(i));
        if (w > 1e-12) add(i, w);
      }
    }
    t.count.push_back(static_cast<int32_t>(t.idx.size()) - t.start.back());
  }
  return t;
}

int64_t Resampler::apply(const float* window, float* out, uint8_t* mask, float fill) const {
  const int64_t ww = window_w();
  int64_t masked = 0;
  for (int64_t v = 0; v < out_h_; ++v) {
    const int32_t ys = ty_.start[static_cast<size_t>(v)], yc = ty_.count[static_cast<size_t>(v)];
    for (int64_t u = 0; u < out_w_; ++u) {
      const int32_t xs = tx_.start[static_cast<size_t>(u)];
      const int32_t xc = tx_.count[static_cast<size_t>(u)];
      double acc = 0, w_valid = 0, w_all = 0;
      for (int32_t a = ys; a < ys + yc; ++a) {
        const float* row = window + ty_.idx[static_cast<size_t>(a)] * ww;
        const double wy = ty_.w[static_cast<size_t>(a)];
        for (int32_t b = xs; b < xs + xc; ++b) {
          const double w = wy * tx_.w[static_cast<size_t>(b)];
          const float val = row[tx_.idx[static_cast<size_t>(b)]];
          w_all += w;
          if (!std::isnan(val)) {
            acc += w * static_cast<double>(val);
            w_valid += w;
          }
        }
      }
      const int64_t k = v * out_w_ + u;
      // A plain copy keeps the input value bit for bit (no double round trip
      // subtleties matter: w = 1 and float -> double -> float is exact).
      const bool ok = w_valid > 0 && w_valid >= 0.5 * w_all;
      out[k] = ok ? static_cast<float>(acc / w_valid * gain_) : fill;
      if (mask != nullptr) mask[k] = ok ? 0 : 1;
      masked += ok ? 0 : 1;
    }
  }
  return masked;
}

}  // namespace gml::adapters

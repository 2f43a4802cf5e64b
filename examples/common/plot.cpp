#include "plot.h"

#include <gd.h>
#include <gdfontmb.h>
#include <gdfonts.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <stdexcept>

namespace gml_tools {

namespace {

gdImagePtr img(void* p) {
  return static_cast<gdImagePtr>(p);
}

bool finite(double v) {
  return std::isfinite(v);
}

// "Nice" tick spacing: 1, 2 or 5 times a power of ten.
double tick_step(double span, int target) {
  if (!(span > 0)) return 1.0;
  const double raw = span / target;
  const double p = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    if (m * p >= raw) return m * p;
  }
  return 10 * p;
}

std::string tick_label(double v, double step) {
  char buf[32];
  if (std::fabs(v) < step * 1e-6) v = 0;
  if (step >= 1 && std::fabs(v) < 1e5) {
    std::snprintf(buf, sizeof buf, "%.0f", v);
  } else if (step >= 0.1 && std::fabs(v) < 1e5) {
    std::snprintf(buf, sizeof buf, "%.1f", v);
  } else if (step >= 0.01 && std::fabs(v) < 1e5) {
    std::snprintf(buf, sizeof buf, "%.2f", v);
  } else {
    std::snprintf(buf, sizeof buf, "%.2g", v);
  }
  return buf;
}

void draw_string(gdImagePtr im, gdFontPtr font, int x, int y, const std::string& s, int colour) {
  gdImageString(im, font, x, y, reinterpret_cast<unsigned char*>(const_cast<char*>(s.c_str())),
                colour);
}

}  // namespace

Figure::Figure(int width, int height) : width_(width), height_(height) {
  img_ = gdImageCreateTrueColor(width, height);
  if (!img_)
    throw std::runtime_error("plot: cannot allocate a " + std::to_string(width) + "x" +
                             std::to_string(height) + " image");
  gdImageFilledRectangle(img(img_), 0, 0, width - 1, height - 1, gdTrueColor(255, 255, 255));
  gdImageAlphaBlending(img(img_), 1);
}

Figure::~Figure() {
  gdImageDestroy(img(img_));
}

int Figure::colour(Rgb c, double alpha) {
  const int a = static_cast<int>(std::lround((1.0 - std::clamp(alpha, 0.0, 1.0)) * 127));
  return gdTrueColorAlpha(c.r, c.g, c.b, a);
}

Panel Figure::panel(int rows, int cols, int row, int col) {
  // Margins leave room for tick labels (left, bottom) and a title (top).
  const int top_margin = 30, cell_w = width_ / cols, cell_h = (height_ - top_margin) / rows;
  const int left = col * cell_w + 48, top = top_margin + row * cell_h + 14;
  return Panel(this, left, top, cell_w - 62, cell_h - 44);
}

void Figure::title(const std::string& text) {
  const int w = static_cast<int>(text.size()) * gdFontGetMediumBold()->w;
  draw_string(img(img_), gdFontGetMediumBold(), std::max(4, (width_ - w) / 2), 8, text,
              colour(kBlack));
}

void Figure::save(const std::string& path) const {
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) throw std::runtime_error("plot: cannot write " + path);
  gdImagePng(img(img_), f);
  const bool ok = std::fflush(f) == 0 && !std::ferror(f);
  std::fclose(f);
  if (!ok || std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    throw std::runtime_error("plot: cannot write " + path);
  }
}

Panel::Panel(Figure* fig, int left, int top, int width, int height)
    : fig_(fig), left_(left), top_(top), width_(width), height_(height) {}

void Panel::set_limits(double x0, double x1, double y0, double y1) {
  x0_ = x0;
  x1_ = x1 > x0 ? x1 : x0 + 1;
  y0_ = y0;
  y1_ = y1 > y0 ? y1 : y0 + 1;
}

void Panel::autoscale(const std::vector<double>& x, const std::vector<double>& y) {
  double a = INFINITY, b = -INFINITY, c = INFINITY, d = -INFINITY;
  for (double v : x)
    if (finite(v)) a = std::min(a, v), b = std::max(b, v);
  for (double v : y)
    if (finite(v)) c = std::min(c, v), d = std::max(d, v);
  if (!finite(a)) a = 0, b = 1;
  if (!finite(c)) c = 0, d = 1;
  const double mx = 0.05 * (b - a + 1e-12), my = 0.05 * (d - c + 1e-12);
  set_limits(a - mx, b + mx, c - my, d + my);
}

int Panel::px(double x) const {
  return left_ + static_cast<int>(std::lround((x - x0_) / (x1_ - x0_) * width_));
}
int Panel::py(double y) const {
  return top_ + height_ - static_cast<int>(std::lround((y - y0_) / (y1_ - y0_) * height_));
}

void Panel::set_labels(const std::string& x_label, const std::string& y_label,
                       const std::string& title) {
  gdImagePtr im = img(fig_->image());
  gdFontPtr f = gdFontGetSmall();
  const int black = fig_->colour(kBlack);
  draw_string(im, f, left_ + (width_ - static_cast<int>(x_label.size()) * f->w) / 2,
              top_ + height_ + 16, x_label, black);
  gdImageStringUp(im, f, left_ - 46, top_ + (height_ + static_cast<int>(y_label.size()) * f->w) / 2,
                  reinterpret_cast<unsigned char*>(const_cast<char*>(y_label.c_str())), black);
  if (!title.empty()) draw_string(im, f, left_, top_ - 13, title, black);
}

void Panel::axes(bool x_ticks, bool y_ticks) {
  gdImagePtr im = img(fig_->image());
  gdFontPtr f = gdFontGetSmall();
  const int black = fig_->colour(kBlack);
  gdImageRectangle(im, left_, top_, left_ + width_, top_ + height_, black);
  if (x_ticks) {
    const double step = tick_step(x1_ - x0_, std::max(2, width_ / 70));
    for (double t = std::ceil(x0_ / step) * step; t <= x1_ + 1e-9 * step; t += step) {
      const int x = px(t);
      gdImageLine(im, x, top_ + height_, x, top_ + height_ - 4, black);
      const std::string s = tick_label(t, step);
      draw_string(im, f, x - static_cast<int>(s.size()) * f->w / 2, top_ + height_ + 2, s, black);
    }
  }
  if (y_ticks) {
    const double step = tick_step(y1_ - y0_, std::max(2, height_ / 40));
    for (double t = std::ceil(y0_ / step) * step; t <= y1_ + 1e-9 * step; t += step) {
      const int y = py(t);
      gdImageLine(im, left_, y, left_ + 4, y, black);
      const std::string s = tick_label(t, step);
      draw_string(im, f, left_ - 3 - static_cast<int>(s.size()) * f->w, y - f->h / 2, s, black);
    }
  }
}

void Panel::line(const std::vector<double>& x, const std::vector<double>& y, Rgb colour,
                 int thickness) {
  gdImagePtr im = img(fig_->image());
  gdImageSetThickness(im, thickness);
  gdImageSetClip(im, left_, top_, left_ + width_, top_ + height_);
  const int c = fig_->colour(colour);
  for (size_t i = 1; i < std::min(x.size(), y.size()); ++i) {
    if (finite(x[i - 1]) && finite(y[i - 1]) && finite(x[i]) && finite(y[i])) {
      gdImageLine(im, px(x[i - 1]), py(y[i - 1]), px(x[i]), py(y[i]), c);
    }
  }
  gdImageSetThickness(im, 1);
  gdImageSetClip(im, 0, 0, gdImageSX(im) - 1, gdImageSY(im) - 1);
}

void Panel::points(const std::vector<double>& x, const std::vector<double>& y, Rgb colour,
                   int radius) {
  gdImagePtr im = img(fig_->image());
  gdImageSetClip(im, left_, top_, left_ + width_, top_ + height_);
  const int c = fig_->colour(colour, 0.8);
  for (size_t i = 0; i < std::min(x.size(), y.size()); ++i) {
    if (!finite(x[i]) || !finite(y[i])) continue;
    gdImageFilledEllipse(im, px(x[i]), py(y[i]), 2 * radius + 1, 2 * radius + 1, c);
  }
  gdImageSetClip(im, 0, 0, gdImageSX(im) - 1, gdImageSY(im) - 1);
}

void Panel::density(const std::vector<double>& x, const std::vector<double>& y, Rgb colour,
                    int bins, double alpha) {
  std::vector<double> h(static_cast<size_t>(bins * bins), 0.0);
  double peak = 0;
  for (size_t i = 0; i < std::min(x.size(), y.size()); ++i) {
    if (!finite(x[i]) || !finite(y[i])) continue;
    const int bx = static_cast<int>((x[i] - x0_) / (x1_ - x0_) * bins);
    const int by = static_cast<int>((y[i] - y0_) / (y1_ - y0_) * bins);
    if (bx < 0 || by < 0 || bx >= bins || by >= bins) continue;
    peak = std::max(peak, ++h[static_cast<size_t>(by * bins + bx)]);
  }
  if (peak <= 0) return;
  gdImagePtr im = img(fig_->image());
  for (int by = 0; by < bins; ++by) {
    for (int bx = 0; bx < bins; ++bx) {
      const double v = h[static_cast<size_t>(by * bins + bx)] / peak;
      if (v <= 0) continue;
      // Square-root shading shows the wings as well as the core.
      const int c = fig_->colour(colour, alpha * std::sqrt(v));
      const double xa = x0_ + (x1_ - x0_) * bx / bins, xb = x0_ + (x1_ - x0_) * (bx + 1) / bins;
      const double ya = y0_ + (y1_ - y0_) * by / bins, yb = y0_ + (y1_ - y0_) * (by + 1) / bins;
      gdImageFilledRectangle(im, px(xa), py(yb), px(xb) - 1, py(ya) - 1, c);
    }
  }
}

void Panel::histogram(const std::vector<double>& v, Rgb colour, int bins, bool normalise) {
  std::vector<double> h(static_cast<size_t>(bins), 0.0);
  double n = 0;
  for (double a : v) {
    if (!finite(a)) continue;
    const int b = static_cast<int>((a - x0_) / (x1_ - x0_) * bins);
    if (b < 0 || b >= bins) continue;
    h[static_cast<size_t>(b)] += 1;
    n += 1;
  }
  const double width = (x1_ - x0_) / bins;
  std::vector<double> xs, ys;
  for (int b = 0; b < bins; ++b) {
    const double value =
        normalise && n > 0 ? h[static_cast<size_t>(b)] / (n * width) : h[static_cast<size_t>(b)];
    xs.push_back(x0_ + b * width);
    ys.push_back(value);
    xs.push_back(x0_ + (b + 1) * width);
    ys.push_back(value);
  }
  line(xs, ys, colour, 2);
}

void Panel::hband(double y0, double y1, Rgb colour) {
  gdImageFilledRectangle(img(fig_->image()), left_ + 1, py(y1), left_ + width_ - 1, py(y0),
                         fig_->colour(colour, 0.25));
}

void Panel::legend(const std::vector<std::pair<std::string, Rgb>>& entries) {
  gdImagePtr im = img(fig_->image());
  gdFontPtr f = gdFontGetSmall();
  int y = top_ + 6;
  for (const auto& [label, colour] : entries) {
    gdImageFilledRectangle(im, left_ + width_ - 110, y + 4, left_ + width_ - 96, y + 8,
                           fig_->colour(colour));
    draw_string(im, f, left_ + width_ - 90, y, label, fig_->colour(kBlack));
    y += f->h + 3;
  }
}

void Panel::image(const std::vector<float>& pixels, int width, int height, int channels, double lo,
                  double hi, bool asinh_stretch) {
  gdImagePtr im = img(fig_->image());
  const double span = hi > lo ? hi - lo : 1.0;
  auto stretch = [&](double v) {
    double t = std::clamp((v - lo) / span, 0.0, 1.0);
    if (asinh_stretch) t = std::asinh(10 * t) / std::asinh(10.0);
    return static_cast<int>(std::lround(255 * t));
  };
  for (int py_ = 0; py_ < height_; ++py_) {
    const int row = py_ * height / height_;
    for (int px_ = 0; px_ < width_; ++px_) {
      const int col = px_ * width / width_;
      int rgb[3];
      for (int c = 0; c < 3; ++c) {
        const int ch = channels >= 3 ? c : 0;
        const float v = pixels[static_cast<size_t>((ch * height + row) * width + col)];
        rgb[c] = std::isfinite(v) ? stretch(v) : 0;
      }
      gdImageSetPixel(im, left_ + px_, top_ + py_, gdTrueColor(rgb[0], rgb[1], rgb[2]));
    }
  }
}

void Panel::text(double x, double y, const std::string& s, Rgb colour) {
  draw_string(img(fig_->image()), gdFontGetSmall(), px(x), py(y), s, fig_->colour(colour));
}

void corner_plot(const std::string& path, const std::vector<std::vector<double>>& data_columns,
                 const std::vector<std::vector<double>>& model_columns,
                 const std::vector<std::string>& labels, const std::string& title) {
  const int d = static_cast<int>(data_columns.size());
  if (d == 0 || model_columns.size() != data_columns.size()) {
    throw std::runtime_error("corner_plot: data and model need the same columns");
  }
  const int cell = d > 6 ? 150 : 200;
  Figure fig(cell * d + 20, cell * d + 40);
  fig.title(title);
  // Shared limits per column from the data's 0.5-99.5 percentiles, so a few
  // outliers do not squash the panels.
  std::vector<std::pair<double, double>> lim(static_cast<size_t>(d));
  for (int j = 0; j < d; ++j) {
    std::vector<double> v;
    for (double a : data_columns[j])
      if (finite(a)) v.push_back(a);
    if (v.empty()) v = {0.0, 1.0};
    std::sort(v.begin(), v.end());
    double lo = v[static_cast<size_t>(0.005 * (v.size() - 1))];
    double hi = v[static_cast<size_t>(0.995 * (v.size() - 1))];
    if (!(hi > lo)) hi = lo + 1;
    const double m = 0.08 * (hi - lo);
    lim[j] = {lo - m, hi + m};
  }
  for (int i = 0; i < d; ++i) {
    for (int j = 0; j <= i; ++j) {
      Panel p = fig.panel(d, d, i, j);
      if (i == j) {
        p.set_limits(lim[j].first, lim[j].second, 0, 1);
        // Find the histogram peak to scale the y axis.
        double peak = 0;
        for (const auto* cols : {&data_columns, &model_columns}) {
          std::vector<double> h(30, 0.0);
          double n = 0;
          for (double a : (*cols)[j]) {
            const int b =
                static_cast<int>((a - lim[j].first) / (lim[j].second - lim[j].first) * 30);
            if (finite(a) && b >= 0 && b < 30) h[static_cast<size_t>(b)]++, n++;
          }
          for (double c : h)
            peak = std::max(peak, n > 0 ? c / (n * (lim[j].second - lim[j].first) / 30) : 0);
        }
        p.set_limits(lim[j].first, lim[j].second, 0, peak > 0 ? 1.1 * peak : 1);
        p.histogram(data_columns[j], kBlue, 30);
        p.histogram(model_columns[j], kOrange, 30);
        p.axes(i == d - 1, false);
        if (i == 0) p.legend({{"data", kBlue}, {"model", kOrange}});
      } else {
        p.set_limits(lim[j].first, lim[j].second, lim[i].first, lim[i].second);
        p.density(data_columns[j], data_columns[i], kBlue, 36, 0.55);
        p.density(model_columns[j], model_columns[i], kOrange, 36, 0.45);
        p.axes(i == d - 1, j == 0);
      }
      if (i == d - 1)
        p.set_labels(labels[j], j == 0 && i != j ? labels[i] : "");
      else if (j == 0 && i != j)
        p.set_labels("", labels[i]);
    }
  }
  fig.save(path);
}

}  // namespace gml_tools

// PNG figures for the example tools: panels with axes, scatter and density
// plots (corner plots), line plots (MMD and calibration curves), histograms
// (SBC ranks) and image grids (cutouts, samples). Rendering is done with
// libgd; the tools stay free of any plotting runtime.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace gml_tools {

struct Rgb {
  int r, g, b;
};

constexpr Rgb kBlue{31, 119, 180};
constexpr Rgb kOrange{255, 127, 14};
constexpr Rgb kGreen{44, 160, 44};
constexpr Rgb kRed{214, 39, 40};
constexpr Rgb kGrey{127, 127, 127};
constexpr Rgb kBlack{0, 0, 0};

class Figure;

// One rectangular plot area with data coordinates.
class Panel {
 public:
  void set_limits(double x0, double x1, double y0, double y1);
  // Limits covering the data with a small margin (robust to NaN).
  void autoscale(const std::vector<double>& x, const std::vector<double>& y);
  void set_labels(const std::string& x_label, const std::string& y_label,
                  const std::string& title = "");
  void axes(bool x_ticks = true, bool y_ticks = true);
  void line(const std::vector<double>& x, const std::vector<double>& y, Rgb colour,
            int thickness = 2);
  void points(const std::vector<double>& x, const std::vector<double>& y, Rgb colour,
              int radius = 1);
  // Density of (x, y) on a bins x bins grid, drawn as contour-like shades of
  // `colour` (darker = denser); a corner plot's off-diagonal panel.
  void density(const std::vector<double>& x, const std::vector<double>& y, Rgb colour,
               int bins = 40, double alpha = 0.6);
  // Histogram outline of v with `bins` bins over the current x limits,
  // normalised to unit area when `normalise`.
  void histogram(const std::vector<double>& v, Rgb colour, int bins = 30, bool normalise = true);
  // Horizontal band [y0, y1] across the panel (e.g. SBC's 99% band).
  void hband(double y0, double y1, Rgb colour);
  void legend(const std::vector<std::pair<std::string, Rgb>>& entries);
  // Greyscale or colour image in the panel (row 0 at the top); values are
  // scaled between lo and hi (asinh stretch when `asinh`).
  void image(const std::vector<float>& pixels, int width, int height, int channels, double lo,
             double hi, bool asinh_stretch = false);
  void text(double x, double y, const std::string& s, Rgb colour = kBlack);

  double x0() const { return x0_; }
  double x1() const { return x1_; }

 private:
  friend class Figure;
  Panel(Figure* fig, int left, int top, int width, int height);
  int px(double x) const;
  int py(double y) const;
  Figure* fig_;
  int left_, top_, width_, height_;
  double x0_ = 0, x1_ = 1, y0_ = 0, y1_ = 1;
};

class Figure {
 public:
  Figure(int width, int height);
  ~Figure();
  Figure(const Figure&) = delete;
  Figure& operator=(const Figure&) = delete;

  // Panel at grid cell (row, col) of a rows x cols layout.
  Panel panel(int rows, int cols, int row, int col);
  void title(const std::string& text);
  // Writes the PNG atomically (temporary file, then rename). Throws
  // std::runtime_error on failure.
  void save(const std::string& path) const;

  void* image() const { return img_; }
  int colour(Rgb c, double alpha = 1.0);

 private:
  void* img_;  // gdImagePtr
  int width_, height_;
};

// A corner plot of data (n, d) against model samples (m, d): histograms on the
// diagonal, density panels below it. Column labels under the bottom row.
void corner_plot(const std::string& path, const std::vector<std::vector<double>>& data_columns,
                 const std::vector<std::vector<double>>& model_columns,
                 const std::vector<std::string>& labels, const std::string& title);

}  // namespace gml_tools

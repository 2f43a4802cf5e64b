#include "merger_plots.h"

#include <algorithm>
#include <cmath>
#include <tuple>

#include "merger_common.h"
#include "plot.h"

namespace gml_tools {

namespace {

// Figure::panel() keeps 48 + 14 pixels beside and 14 + 30 around a panel;
// a cell of (side + 62) x (side + 44) gives a square side x side image.
constexpr int kExtraW = 62, kExtraH = 44, kTop = 30;

}  // namespace

void image_grid(const std::string& path, const std::string& title, const std::vector<Tile>& tiles,
                int cols, int side) {
  const int n = static_cast<int>(tiles.size());
  cols = std::max(1, std::min(cols, std::max(1, n)));
  const int rows = std::max(1, (n + cols - 1) / cols);
  Figure fig(cols * (side + kExtraW), kTop + rows * (side + kExtraH));
  fig.title(title);
  for (int i = 0; i < n; ++i) {
    const Tile& t = tiles[static_cast<size_t>(i)];
    Panel p = fig.panel(rows, cols, i / cols, i % cols);
    if (!t.empty && t.width > 0 && t.height > 0) {
      const size_t plane = static_cast<size_t>(t.width) * static_cast<size_t>(t.height);
      const bool colour = t.channels == 3;
      std::vector<float> px;
      if (colour) {
        // Bands come blue to red; the panel wants red, green, blue.
        px.resize(3 * plane);
        for (int c = 0; c < 3; ++c) {
          std::copy_n(t.pixels.data() + static_cast<size_t>(2 - c) * plane, plane,
                      px.data() + static_cast<size_t>(c) * plane);
        }
      } else {
        px.assign(t.pixels.begin(), t.pixels.begin() + static_cast<std::ptrdiff_t>(plane));
      }
      double lo = t.lo, hi = t.hi;
      if (!std::isfinite(lo) || !std::isfinite(hi) || !(hi > lo)) {
        std::tie(lo, hi) = robust_range(px.data(), px.size());
      }
      p.image(px, t.width, t.height, colour ? 3 : 1, lo, hi, true);
    }
    p.set_limits(0, 1, 0, 1);
    p.set_labels(t.caption, "", t.title);
  }
  fig.save(path);
}

void training_curve(const std::string& path, const std::vector<double>& images,
                    const std::vector<double>& loss, const std::string& title) {
  Figure fig(820, 520);
  fig.title(title);
  Panel p = fig.panel(1, 1, 0, 0);
  std::vector<double> x, y;
  for (size_t i = 0; i < std::min(images.size(), loss.size()); ++i) {
    if (std::isfinite(loss[i])) {
      x.push_back(images[i]);
      y.push_back(loss[i]);
    }
  }
  p.autoscale(x, y);
  if (x.size() > 1) p.line(x, y, kBlue, 2);
  p.points(x, y, kBlue, 2);
  p.set_labels("images seen (all ranks)", "training loss (batch mean)");
  p.axes();
  fig.save(path);
}

void cluster_plot(const std::string& path, const std::vector<int64_t>& labels, int64_t n_clusters,
                  const std::vector<int32_t>& time_class, const std::string& title) {
  const bool occupancy = !time_class.empty() && time_class.size() == labels.size() &&
                         *std::min_element(time_class.begin(), time_class.end()) >= 0;
  const int panels = occupancy ? 2 : 1, width = 520 * panels;
  Figure fig(width, 480);
  fig.title(title);
  const auto k_count = static_cast<size_t>(n_clusters);
  std::vector<double> size(k_count, 0.0);
  for (int64_t l : labels)
    if (l >= 0 && l < n_clusters) size[static_cast<size_t>(l)] += 1;
  Panel p = fig.panel(1, panels, 0, 0);
  const double ymax = 1.12 * std::max(1.0, *std::max_element(size.begin(), size.end()));
  p.set_limits(-0.6, static_cast<double>(n_clusters) - 0.4, 0, ymax);
  // Bars are thick vertical lines: 70% of a cluster's share of the width.
  const int panel_px = width / panels - 62;
  const int thickness =
      std::max(1, static_cast<int>(0.7 * panel_px / static_cast<double>(n_clusters + 0.2)));
  for (size_t k = 0; k < k_count; ++k) {
    if (size[k] > 0) {
      p.line({static_cast<double>(k), static_cast<double>(k)}, {0.0, size[k]}, kBlue, thickness);
    }
    if (n_clusters <= 24) {
      p.text(static_cast<double>(k) - 0.15, size[k] + 0.08 * ymax,
             std::to_string(static_cast<int64_t>(size[k])), kBlack);
    }
  }
  p.set_labels("cluster", "entries", std::to_string(labels.size()) + " index entries");
  p.axes(n_clusters <= 40, true);
  if (occupancy) {
    const int32_t n_classes = *std::max_element(time_class.begin(), time_class.end()) + 1;
    const auto t_count = static_cast<size_t>(n_classes);
    std::vector<double> count(k_count * t_count, 0.0), per_class(t_count, 0.0);
    for (size_t i = 0; i < labels.size(); ++i) {
      const auto t = static_cast<size_t>(time_class[i]);
      count[static_cast<size_t>(labels[i]) * t_count + t] += 1;
      per_class[t] += 1;
    }
    // Row 0 of the image is the top: the highest cluster there, so that
    // cluster 0 sits at the bottom of the y axis. Dark = a large share of
    // that time class falls in that cluster (columns sum to 1).
    std::vector<float> img(k_count * t_count, 1.0f);
    for (size_t k = 0; k < k_count; ++k) {
      for (size_t t = 0; t < t_count; ++t) {
        const double frac = per_class[t] > 0 ? count[k * t_count + t] / per_class[t] : 0.0;
        img[(k_count - 1 - k) * t_count + t] = static_cast<float>(1.0 - frac);
      }
    }
    Panel q = fig.panel(1, panels, 0, 1);
    q.image(img, n_classes, static_cast<int>(n_clusters), 1, 0.0, 1.0, false);
    q.set_limits(-0.5, n_classes - 0.5, -0.5, static_cast<double>(n_clusters) - 0.5);
    q.set_labels("time class", "cluster", "share of each time class per cluster");
    q.axes();
  }
  fig.save(path);
}

}  // namespace gml_tools

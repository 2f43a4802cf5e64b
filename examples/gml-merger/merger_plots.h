// gml-merger's PNG figures: labelled image grids (simulation montages,
// classified stamps, query + neighbours), the training loss curve, and the
// cluster sizes with the cluster vs time-class occupancy.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace gml_tools {

// One image of a grid: (channels, height, width) float32; one channel is
// shown in grey, three as colour (given blue to red: g, r, i). `title` goes
// above the image, `caption` below. lo/hi: display range (NaN: the tile's
// median .. 99.5th percentile); an asinh stretch is applied.
struct Tile {
  std::vector<float> pixels;
  int channels = 1, height = 0, width = 0;
  std::string title, caption;
  double lo = std::numeric_limits<double>::quiet_NaN();
  double hi = std::numeric_limits<double>::quiet_NaN();
  bool empty = false;  // leave the cell blank (no image to show)
};

// Tiles laid out `cols` per row, row-major, each shown at `side` pixels.
void image_grid(const std::string& path, const std::string& title, const std::vector<Tile>& tiles,
                int cols, int side = 112);

// Training loss against images seen, with the run's figures as a title.
void training_curve(const std::string& path, const std::vector<double>& images,
                    const std::vector<double>& loss, const std::string& title);

// Bar chart of cluster sizes; with time classes (one per entry, >= 0), a
// second panel shows the fraction of each time class in each cluster.
void cluster_plot(const std::string& path, const std::vector<int64_t>& labels, int64_t n_clusters,
                  const std::vector<int32_t>& time_class, const std::string& title);

}  // namespace gml_tools

// gml-merger cluster: spectral clustering of an index's latents, as a FITS
// table (entry id -> cluster) and a PNG of cluster sizes and, for indexes of
// simulator files, of how the time classes fall into the clusters.
#include <boost/program_options.hpp>

#include <cstdio>
#include <string>
#include <vector>

#include "cli.h"
#include "merger_common.h"
#include "merger_plots.h"
#include "options.h"
#include "outputs.h"
#include "subcommands.h"

namespace po = boost::program_options;

namespace gml_tools {

int cmd_cluster(int argc, char** argv) {
  Common c;
  std::string index, out, png, images;
  int64_t clusters = 8, neighbours = 10;
  po::options_description d("gml-merger cluster");
  add_common(d, c);
  d.add_options()("index", po::value(&index)->required(), "index file (gml-merger index)")(
      "clusters", po::value(&clusters)->default_value(clusters), "number of clusters (>= 2)")(
      "neighbours", po::value(&neighbours)->default_value(neighbours), "kNN graph degree")(
      "out,o", po::value(&out)->required(), "FITS table: ID, CLUSTER (+ SIM_ID, TIME_CLASS)")(
      "images", po::value(&images),
      "the simulator file the index was built from: adds its labels to the table and a "
      "cluster vs time-class panel to the PNG")("png", po::value(&png), "cluster sizes");
  if (!parse(argc, argv, d,
             "Spectral clustering of an index's latents: kNN graph with self-tuning Gaussian\n"
             "weights, normalised Laplacian, k-means on its smallest eigenvectors (--seed)."))
    return 0;
  if (clusters < 2) die("--clusters must be >= 2");
  require_output_file(out, {index, images}, "--out", c.overwrite);
  if (!png.empty()) require_output_file(png, {index, images, out}, "--png", c.overwrite);
  Session s(c.device, c.threads, c.seed, c.quiet);
  int64_t n = 0;
  check(gml_merger_index_info(index.c_str(), &n, nullptr), "index '" + index + "'");
  if (clusters > n) {
    die("--clusters " + std::to_string(clusters) + " exceeds the " + std::to_string(n) +
        " entries of the index");
  }
  std::vector<int64_t> labels(static_cast<size_t>(n));
  std::vector<double> eigen(static_cast<size_t>(clusters));
  check(gml_merger_cluster(s.ctx, index.c_str(), clusters, neighbours, labels.data(), labels.size(),
                           eigen.data()),
        "cluster");
  s.bar.close();
  SimLabels sim;
  if (!images.empty()) {
    sim = read_labels(images, n);
    if (!sim.present) die(images + " has no LABELS table (not a simulator file)");
  }

  ResultTable t(out, "CLUSTERS", index, "");
  t.add("ID", GML_COLUMN_INT64, 1, "");
  t.add("CLUSTER", GML_COLUMN_INT32, 1, "");
  if (sim.present) {
    t.add("SIM_ID", GML_COLUMN_INT32, 1, "");
    t.add("TIME_CLASS", GML_COLUMN_INT32, 1, "");
  }
  std::string ev;
  for (double e : eigen) ev += (ev.empty() ? "" : ",") + format_number(e, 6);
  t.keyword("NCLUSTER", std::to_string(clusters), "clusters");
  t.keyword("NNEIGHB", std::to_string(neighbours), "kNN graph degree");
  t.keyword("EIGENVAL", ev, "smallest eigenvalues of the normalised Laplacian");
  std::vector<int64_t> id(static_cast<size_t>(n));
  std::vector<int32_t> cl(static_cast<size_t>(n));
  std::vector<int64_t> size(static_cast<size_t>(clusters), 0);
  for (int64_t i = 0; i < n; ++i) {
    id[static_cast<size_t>(i)] = i;
    cl[static_cast<size_t>(i)] = static_cast<int32_t>(labels[static_cast<size_t>(i)]);
    ++size[static_cast<size_t>(labels[static_cast<size_t>(i)])];
  }
  std::vector<const void*> data = {id.data(), cl.data()};
  if (sim.present) {
    data.push_back(sim.sim_id.data());
    data.push_back(sim.time_class.data());
  }
  t.append(n, data);
  t.commit();

  std::printf("%lld entries in %lld clusters; sizes", static_cast<long long>(n),
              static_cast<long long>(clusters));
  for (int64_t v : size) std::printf(" %lld", static_cast<long long>(v));
  std::printf("\nsmallest Laplacian eigenvalues: %s\n", ev.c_str());
  std::fflush(stdout);
  if (!c.quiet) std::fprintf(stderr, "wrote %s\n", out.c_str());
  if (!png.empty()) {
    cluster_plot(png, labels, clusters, sim.time_class,
                 "spectral clustering of " + index + " (" + std::to_string(clusters) +
                     " clusters, " + std::to_string(neighbours) + " neighbours)");
    if (!c.quiet) std::fprintf(stderr, "wrote %s\n", png.c_str());
  }
  return 0;
}

}  // namespace gml_tools

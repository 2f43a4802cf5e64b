#include "sample.h"

#include <boost/program_options.hpp>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "cli.h"
#include "options.h"
#include "outputs.h"
#include "posterior_common.h"

namespace po = boost::program_options;
using namespace gml_tools;

namespace {

struct Observations {
  std::vector<double> values;  // [rows, width], row-major
  int64_t rows = 0, width = 0;
};

void add_row(Observations& obs, const std::vector<double>& row, const std::string& where) {
  if (obs.rows == 0) obs.width = static_cast<int64_t>(row.size());
  if (static_cast<int64_t>(row.size()) != obs.width)
    die(where + ": " + std::to_string(row.size()) + " values, but the first observation has " +
        std::to_string(obs.width));
  obs.values.insert(obs.values.end(), row.begin(), row.end());
  ++obs.rows;
}

// NumPy .npy (version 1 to 3): a float64 or float32 array of one
// observation (x_dim) or several ([n, x_dim]), C order, little-endian.
Observations read_npy(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) die("--x-file '" + path + "': cannot be opened");
  char magic[8] = {};
  in.read(magic, 8);
  if (!in || std::memcmp(magic, "\x93NUMPY", 6) != 0)
    die("--x-file '" + path + "': not a NumPy .npy file");
  uint32_t header_len = 0;
  if (magic[6] == 1) {
    unsigned char b[2] = {};
    in.read(reinterpret_cast<char*>(b), 2);
    header_len = b[0] | (b[1] << 8);
  } else {
    unsigned char b[4] = {};
    in.read(reinterpret_cast<char*>(b), 4);
    header_len = b[0] | (b[1] << 8) | (b[2] << 16) | (static_cast<uint32_t>(b[3]) << 24);
  }
  std::string header(header_len, '\0');
  in.read(header.data(), header_len);
  if (!in) die("--x-file '" + path + "': truncated header");
  const bool f8 = header.find("'<f8'") != std::string::npos;
  const bool f4 = header.find("'<f4'") != std::string::npos;
  if (!f8 && !f4)
    die("--x-file '" + path +
        "': the array must be little-endian float64 or float32 ('<f8', "
        "'<f4'); header: " +
        header);
  if (header.find("'fortran_order': False") == std::string::npos)
    die("--x-file '" + path +
        "': Fortran-order arrays are not read; save with "
        "numpy.ascontiguousarray");
  const size_t open = header.find("'shape': (");
  if (open == std::string::npos) die("--x-file '" + path + "': no shape in the header");
  const size_t close = header.find(')', open);
  std::vector<int64_t> shape;
  std::stringstream dims(header.substr(open + 10, close - open - 10));
  for (std::string item; std::getline(dims, item, ',');) {
    item.erase(std::remove_if(item.begin(), item.end(), ::isspace), item.end());
    if (!item.empty()) shape.push_back(std::stoll(item));
  }
  if (shape.empty() || shape.size() > 2)
    die("--x-file '" + path + "': expected a 1-D (one observation) or 2-D [n, x_dim] array");
  Observations obs;
  obs.rows = shape.size() == 1 ? 1 : shape[0];
  obs.width = shape.back();
  const size_t count = static_cast<size_t>(obs.rows * obs.width);
  obs.values.resize(count);
  if (f8) {
    in.read(reinterpret_cast<char*>(obs.values.data()), static_cast<std::streamsize>(count * 8));
  } else {
    std::vector<float> f(count);
    in.read(reinterpret_cast<char*>(f.data()), static_cast<std::streamsize>(count * 4));
    std::copy(f.begin(), f.end(), obs.values.begin());
  }
  if (!in) die("--x-file '" + path + "': shorter than its header says");
  return obs;
}

// Text: one observation per line, values separated by commas and/or
// blanks; '#' starts a comment; blank lines are skipped.
Observations read_text(const std::string& path) {
  std::ifstream in(path);
  if (!in) die("--x-file '" + path + "': cannot be opened");
  Observations obs;
  std::string line;
  for (int64_t n = 1; std::getline(in, line); ++n) {
    line = line.substr(0, line.find('#'));
    std::replace(line.begin(), line.end(), ',', ' ');
    std::stringstream fields(line);
    std::vector<double> row;
    for (std::string field; fields >> field;) {
      char* end = nullptr;
      const double v = std::strtod(field.c_str(), &end);
      if (end == field.c_str() || *end != '\0')
        die("--x-file '" + path + "' line " + std::to_string(n) + ": '" + field +
            "' is not a number");
      row.push_back(v);
    }
    if (!row.empty()) add_row(obs, row, "--x-file '" + path + "' line " + std::to_string(n));
  }
  if (obs.rows == 0) die("--x-file '" + path + "': no observations");
  return obs;
}

bool ends_with(const std::string& s, const std::string& suffix) {
  if (s.size() < suffix.size()) return false;
  std::string tail = s.substr(s.size() - suffix.size());
  std::transform(tail.begin(), tail.end(), tail.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return tail == suffix;
}

}  // namespace

int cmd_sample(int argc, char** argv) {
  Common c;
  std::vector<std::string> x_text;
  std::string model_path, x_file, out, truncate = "auto";
  int64_t n = 1000;
  gml_posterior_sample_options so;
  gml_posterior_sample_options_default(&so);
  po::options_description d("gml-posterior sample");
  add_common(d, c);
  d.add_options()("model,m", po::value(&model_path)->required(), "posterior model file")(
      "x", po::value(&x_text)->composing(),
      "one observation, comma-separated (repeat for several)")(
      "x-file", po::value(&x_file),
      "observations: .npy (float64/float32, [x_dim] or [n, x_dim]) or text (one per line)")(
      "n", po::value(&n)->default_value(n), "draws per observation")(
      "truncate", po::value(&truncate)->default_value(truncate),
      "replace draws outside the prior's support: auto (where the prior has a bound), on, off")(
      "min-acceptance", po::value(&so.min_acceptance)->default_value(so.min_acceptance),
      "below this acceptance an observation keeps fewer draws (NaN rows follow them)")(
      "out,o", po::value(&out)->required(),
      "draws to write: .h5 (samples [n_obs, n, theta_dim]), .fits (one row per draw) or .npy");
  if (!parse(argc, argv, d,
             "Posterior draws for observations x of any posterior model.\n"
             "  gml-posterior sample --model M --x 1.2,3.4 --n 10000 --out draws.npy\n"
             "  gml-posterior sample --model M --x-file obs.npy --n 1000 --out draws.fits"))
    return 0;
  if (x_text.empty() == x_file.empty()) die("give the observations with --x or with --x-file");
  if (n < 1) die("--n must be at least 1");
  so.truncate = truncate_argument(truncate);
  require_output_file(out, {model_path, x_file}, "--out", c.overwrite);
  Observations obs;
  if (!x_file.empty()) {
    obs = ends_with(x_file, ".npy") ? read_npy(x_file) : read_text(x_file);
  } else {
    for (const std::string& t : x_text) add_row(obs, parse_numbers(t, "--x"), "--x '" + t + "'");
  }
  Session s(c.device, c.threads, c.seed, c.quiet);
  gml_model* model = nullptr;
  check(gml_model_load(s.ctx, model_path.c_str(), "posterior", &model), "load " + model_path);
  int64_t theta_dim = 0, x_dim = 0;
  check(gml_posterior_dims(model, &theta_dim, &x_dim), "dims");
  if (obs.width != x_dim)
    die("the observations have " + std::to_string(obs.width) + " values each; " + model_path +
        " takes x of " + std::to_string(x_dim));
  check(gml_posterior_draw_to_file(s.ctx, model, obs.values.data(), obs.rows, n, c.seed, &so,
                                   out.c_str()),
        "sample");
  s.bar.close();
  if (!c.quiet) {
    // The same seed gives the same draws: their summary, for a first look.
    std::vector<double> summary(static_cast<size_t>(obs.rows * theta_dim * GML_SUMMARY_COLUMNS));
    std::vector<int64_t> outside(static_cast<size_t>(obs.rows));
    check(gml_posterior_summarize(s.ctx, model, obs.values.data(), obs.rows, n, c.seed,
                                  summary.data(), summary.size(), outside.data()),
          "summarize");
    const PosteriorLabels labels = posterior_labels(model);
    const int64_t shown = std::min<int64_t>(obs.rows, 10);
    for (int64_t i = 0; i < shown; ++i) {
      std::fprintf(stderr, "observation %lld (%lld draws outside the prior replaced):\n",
                   (long long)i, (long long)outside[static_cast<size_t>(i)]);
      for (int64_t j = 0; j < theta_dim; ++j) {
        const double* r = &summary[static_cast<size_t>((i * theta_dim + j) * GML_SUMMARY_COLUMNS)];
        std::fprintf(stderr, "  %-16s median %-12.5g 68%% [%.5g, %.5g]\n",
                     labels.theta[static_cast<size_t>(j)].c_str(), r[GML_SUMMARY_MEDIAN],
                     r[GML_SUMMARY_P16], r[GML_SUMMARY_P84]);
      }
    }
    if (shown < obs.rows)
      std::fprintf(stderr, "(%lld more observations)\n", (long long)(obs.rows - shown));
    std::fprintf(stderr, "wrote %lld x %lld draws to %s\n", (long long)obs.rows, (long long)n,
                 out.c_str());
  }
  gml_model_free(model);
  return 0;
}

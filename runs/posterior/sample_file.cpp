#include "runs/posterior/sample_file.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <vector>

#include "adapters/hdf5_writer.h"
#include "adapters/table_writer.h"
#include "core/common/error.h"
#include "core/common/progress.h"
#include "fits_io/atomic_output.h"
#include "runs/posterior/posterior_runs.h"

namespace gml::runs {

namespace post = posterior;

namespace {

// FITS rows per append: bounds the column buffers whatever n_samples is.
constexpr int64_t kFitsBlock = 65536;

enum class SampleFormat { Hdf5, Fits, Npy };

SampleFormat format_of(const std::string& path) {
  const size_t dot = path.find_last_of('.');
  std::string ext = dot == std::string::npos ? "" : path.substr(dot);
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (ext == ".h5" || ext == ".hdf5" || ext == ".he5") return SampleFormat::Hdf5;
  if (ext == ".fits" || ext == ".fit" || ext == ".fts") return SampleFormat::Fits;
  if (ext == ".npy") return SampleFormat::Npy;
  fail(Status::InvalidArgument, "'" + path +
                                    "': the extension must be .h5/.hdf5/.he5, .fits/.fit/.fts "
                                    "or .npy (it chooses the format)");
}

std::vector<std::string> theta_labels(const post::PosteriorConfig& cfg) {
  if (static_cast<int64_t>(cfg.theta_names.size()) == cfg.theta_dim) return cfg.theta_names;
  std::vector<std::string> names;
  for (int64_t j = 0; j < cfg.theta_dim; ++j) names.push_back("THETA" + std::to_string(j));
  return names;
}

// One writer per format, fed one observation's draws at a time.
class DrawSink {
 public:
  virtual ~DrawSink() = default;
  // draws [n_samples, theta_dim] float64, row-major; x [x_dim].
  virtual void append(int64_t obs, const double* draws, const at::Tensor& x) = 0;
  virtual void commit() = 0;
};

class Hdf5Sink final : public DrawSink {
 public:
  Hdf5Sink(const std::string& path, const post::PosteriorConfig& cfg, int64_t n_samples,
           uint64_t seed, std::string model_path, std::string checksum)
      : writer_(path), model_path_(std::move(model_path)), checksum_(std::move(checksum)) {
    samples_ = writer_.add_dataset("samples", {n_samples, cfg.theta_dim});
    x_ = writer_.add_dataset("x", {cfg.x_dim});
    writer_.set_attribute("/", "theta_names", nlohmann::json(theta_labels(cfg)).dump());
    writer_.set_attribute("/", "seed", std::to_string(seed));
    buffer_.resize(static_cast<size_t>(n_samples * cfg.theta_dim));
  }
  void append(int64_t, const double* draws, const at::Tensor& x) override {
    std::copy(draws, draws + buffer_.size(), buffer_.begin());
    writer_.append(samples_, 1, buffer_.data());
    const at::Tensor xf = x.to(at::kFloat).contiguous();
    writer_.append(x_, 1, xf.data_ptr<float>());
  }
  void commit() override { writer_.commit(model_path_, "gml_posterior_sample_to_file", checksum_); }

 private:
  adapters::Hdf5SampleWriter writer_;
  std::string model_path_, checksum_;
  int samples_ = 0, x_ = 0;
  std::vector<float> buffer_;
};

class FitsSink final : public DrawSink {
 public:
  FitsSink(const std::string& path, const post::PosteriorConfig& cfg, int64_t n_samples,
           uint64_t seed, const std::string& model_path, const std::string& checksum)
      : writer_(path, "POSTERIOR_SAMPLES",
                adapters::Provenance{model_path, "gml_posterior_sample_to_file", checksum}),
        cfg_(cfg),
        prior_(cfg.prior_distribution()),
        n_samples_(n_samples) {
    writer_.add_column({"OBS", adapters::ValueType::Int64, 1, ""});
    for (const std::string& name : theta_labels(cfg))
      writer_.add_column({name, adapters::ValueType::Float64, 1, ""});
    writer_.add_column({"INSIDE", adapters::ValueType::Int32, 1, ""});
    writer_.set_keyword("GMLSEED", std::to_string(seed), "sampling seed");
    writer_.set_keyword("NSAMPLES", std::to_string(n_samples), "draws per observation");
  }
  void append(int64_t obs, const double* draws, const at::Tensor&) override {
    const int64_t d = cfg_.theta_dim;
    for (int64_t r0 = 0; r0 < n_samples_; r0 += kFitsBlock) {
      const int64_t n = std::min(kFitsBlock, n_samples_ - r0);
      std::vector<int64_t> obs_col(static_cast<size_t>(n), obs);
      std::vector<std::vector<double>> theta(static_cast<size_t>(d),
                                             std::vector<double>(static_cast<size_t>(n)));
      const at::Tensor block =
          at::from_blob(const_cast<double*>(draws + r0 * d), {n, d}, at::kDouble);
      const at::Tensor in = prior_.in_support(block).to(at::kInt).contiguous();
      std::vector<int32_t> inside(in.data_ptr<int32_t>(), in.data_ptr<int32_t>() + n);
      for (int64_t i = 0; i < n; ++i) {
        const double* row = draws + (r0 + i) * d;
        for (int64_t j = 0; j < d; ++j)
          theta[static_cast<size_t>(j)][static_cast<size_t>(i)] = row[j];
      }
      std::vector<const void*> columns{obs_col.data()};
      for (const auto& c : theta) columns.push_back(c.data());
      columns.push_back(inside.data());
      writer_.append(n, columns.data());
    }
  }
  void commit() override { writer_.commit(); }

 private:
  adapters::TableWriter writer_;
  const post::PosteriorConfig& cfg_;
  post::Prior prior_;
  int64_t n_samples_;
};

// NumPy's .npy format, version 1.0: magic, version, a little-endian header
// length, a Python-literal header padded so the data starts at a multiple
// of 64 bytes, then the raw little-endian float64 array in C order.
class NpySink final : public DrawSink {
 public:
  NpySink(const std::string& path, int64_t n_obs, int64_t n_samples, int64_t theta_dim)
      : output_(path), path_(path), values_(n_samples * theta_dim) {
    file_.open(output_.temp_path(), std::ios::binary | std::ios::trunc);
    if (!file_) fail(Status::Io, "cannot create '" + path + "' (temporary file)");
    std::string header = "{'descr': '<f8', 'fortran_order': False, 'shape': (" +
                         std::to_string(n_obs) + ", " + std::to_string(n_samples) + ", " +
                         std::to_string(theta_dim) + "), }";
    const size_t unpadded = 10 + header.size() + 1;
    header.append((64 - unpadded % 64) % 64, ' ');
    header.push_back('\n');
    const auto length = static_cast<uint16_t>(header.size());
    const char preamble[10] = {'\x93',
                               'N',
                               'U',
                               'M',
                               'P',
                               'Y',
                               1,
                               0,
                               static_cast<char>(length & 0xff),
                               static_cast<char>(length >> 8)};
    file_.write(preamble, sizeof preamble);
    file_.write(header.data(), static_cast<std::streamsize>(header.size()));
    check();
  }
  void append(int64_t, const double* draws, const at::Tensor&) override {
    // The host is little-endian (x86-64, aarch64), as the header declares.
    file_.write(reinterpret_cast<const char*>(draws),
                static_cast<std::streamsize>(values_ * static_cast<int64_t>(sizeof(double))));
    check();
  }
  void commit() override {
    file_.close();
    check();
    output_.commit();
  }

 private:
  void check() {
    if (!file_.good()) fail(Status::Io, "cannot write '" + path_ + "' (disk full?)");
  }
  fits::AtomicOutput output_;
  std::string path_;
  int64_t values_;
  std::ofstream file_;
};

}  // namespace

void sample_posterior_to_file(post::PosteriorFlow& flow, const at::Tensor& x, int64_t n_samples,
                              uint64_t seed, const std::string& path, const std::string& model_path,
                              const std::string& model_checksum, RunControl* control,
                              const post::TruncationOptions* truncation,
                              std::vector<int64_t>* accepted) {
  const post::PosteriorConfig& cfg = flow->config();
  const int64_t n_obs = x.size(0);
  std::unique_ptr<DrawSink> sink;
  switch (format_of(path)) {
    case SampleFormat::Hdf5:
      sink = std::make_unique<Hdf5Sink>(path, cfg, n_samples, seed, model_path, model_checksum);
      break;
    case SampleFormat::Fits:
      sink = std::make_unique<FitsSink>(path, cfg, n_samples, seed, model_path, model_checksum);
      break;
    case SampleFormat::Npy:
      sink = std::make_unique<NpySink>(path, n_obs, n_samples, cfg.theta_dim);
      break;
  }
  // The blocks of gml_posterior_sample(), so the file holds its draws bit
  // for bit (the network's batch decides the last bits).
  const int64_t per_obs = n_samples * cfg.theta_dim;
  std::vector<double> draws;
  if (accepted) accepted->assign(static_cast<size_t>(n_obs), n_samples);
  Progress progress(control, "sample", n_obs, "galaxies");
  sample_posterior_blocks(
      flow, x, n_samples, seed, progress,
      [&](int64_t, int64_t n) {
        draws.resize(static_cast<size_t>(n * per_obs));
        return draws.data();
      },
      [&](int64_t first, int64_t n, const double* theta, const int64_t*, const int64_t* acc) {
        for (int64_t g = 0; g < n; ++g) sink->append(first + g, theta + g * per_obs, x[first + g]);
        if (accepted && acc) std::copy(acc, acc + n, accepted->begin() + first);
      },
      truncation);
  // The last report may still cancel; once the file is committed the call
  // must succeed (no file on error).
  progress.finish();
  sink->commit();
}

}  // namespace gml::runs

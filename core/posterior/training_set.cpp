#include "core/posterior/training_set.h"

#include <ATen/ATen.h>
#include <hdf5.h>

#include <cmath>
#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>

#include "core/common/error.h"
#include "core/common/hdf5_extendible.h"
#include "core/common/hdf5_handle.h"
#include "core/common/progress.h"
#include "core/posterior/simulation_import.h"

namespace gml::posterior {
namespace {

using Lock = std::lock_guard<std::recursive_mutex>;
constexpr const char* kKind = "posterior_training_set";

void write_int_attr(hid_t loc, const char* name, int64_t value) {
  if (H5Aexists(loc, name) > 0) H5Adelete(loc, name);
  H5Handle space(H5Screate(H5S_SCALAR), H5Sclose, "attribute space");
  H5Handle attr(H5Acreate2(loc, name, H5T_STD_I64LE, space.get(), H5P_DEFAULT, H5P_DEFAULT),
                H5Aclose, std::string("attribute ") + name);
  if (H5Awrite(attr.get(), H5T_NATIVE_INT64, &value) < 0) {
    fail(Status::Io, std::string("training set: cannot write attribute ") + name);
  }
}

int64_t read_int_attr(hid_t loc, const char* name, const std::string& path) {
  return h5_read_int_attribute(loc, name, path + ": training set");
}

std::string json_attr(hid_t loc, const char* name, const std::string& path) {
  auto v = h5_read_string_attribute(loc, name);
  if (!v) fail(Status::Format, path + ": training set lacks attribute '" + name + "'");
  return *v;
}

// The columns of dataset `name` (its second extent), or -1 without it.
int64_t dataset_columns(hid_t file, const char* name) {
  if (H5Lexists(file, name, H5P_DEFAULT) <= 0) return -1;
  H5Handle d(H5Dopen2(file, name, H5P_DEFAULT), H5Dclose, name, Status::Format);
  H5Handle space(H5Dget_space(d.get()), H5Sclose, "dataspace", Status::Format);
  hsize_t dims[2] = {0, 0};
  if (H5Sget_simple_extent_ndims(space.get()) != 2) return -1;
  H5Sget_simple_extent_dims(space.get(), dims, nullptr);
  return static_cast<int64_t>(dims[1]);
}

// Only gml_kind and the two datasets are required: the rest is bookkeeping
// of the built-in generator (seed, batch size, rows written) or description
// (prior box, labels, observation kind), read when present.
TrainingSetInfo read_info(hid_t file, const std::string& path) {
  auto kind = h5_read_string_attribute(file, "gml_kind");
  if (!kind || *kind != kKind) {
    fail(Status::Format, path + " is not a galaxyml posterior training set (gml_kind = '" +
                             kind.value_or("") + "')");
  }
  TrainingSetInfo info;
  auto int_attr = [&](const char* name, int64_t otherwise) {
    return H5Aexists(file, name) > 0 ? read_int_attr(file, name, path) : otherwise;
  };
  auto json_or = [&](const char* name, const char* otherwise) {
    return H5Aexists(file, name) > 0 ? json_attr(file, name, path) : std::string(otherwise);
  };
  try {
    info.theta_dim = int_attr("theta_dim", dataset_columns(file, "theta"));
    info.x_dim = int_attr("x_dim", dataset_columns(file, "x"));
    info.seed = static_cast<uint64_t>(int_attr("seed", 0));
    info.batch_size = int_attr("batch_size", 10000);
    info.prior_lower =
        nlohmann::json::parse(json_or("prior_lower", "[]")).get<std::vector<double>>();
    info.prior_upper =
        nlohmann::json::parse(json_or("prior_upper", "[]")).get<std::vector<double>>();
    info.theta_names =
        nlohmann::json::parse(json_or("theta_names", "[]")).get<std::vector<std::string>>();
    info.x_names = nlohmann::json::parse(json_or("x_names", "[]")).get<std::vector<std::string>>();
    info.observation = json_or("observation", "");
    if (H5Aexists(file, "prior") > 0) {
      info.prior = Prior::from_json_text(json_attr(file, "prior", path));
    }
  } catch (const Error& e) {
    fail(Status::Format, path + ": malformed training-set attribute 'prior': " + e.what());
  } catch (const nlohmann::json::exception& e) {
    fail(Status::Format, path + ": malformed training-set attribute: " + e.what());
  }
  // Attributes are checked before anything is sized by them: a damaged
  // theta_dim of -3 or 1e9 used to be reported as given.
  std::vector<std::string> problems;
  auto bad = [&](const std::string& what) { problems.push_back(what); };
  if (info.theta_dim < 1 || info.theta_dim > 1024) {
    bad(info.theta_dim == -1
            ? "no 2-D dataset /theta"
            : "theta_dim = " + std::to_string(info.theta_dim) + " is not in [1, 1024]");
  }
  if (info.x_dim < 1 || info.x_dim > 16384) {
    bad(info.x_dim == -1 ? "no 2-D dataset /x"
                         : "x_dim = " + std::to_string(info.x_dim) + " is not in [1, 16384]");
  }
  if (info.batch_size < 1) bad("batch_size = " + std::to_string(info.batch_size));
  const auto theta_n = static_cast<size_t>(std::max<int64_t>(info.theta_dim, 0));
  if (info.prior_lower.size() != info.prior_upper.size() ||
      (!info.prior_lower.empty() && info.prior_lower.size() != theta_n)) {
    bad("the prior bounds do not have theta_dim values");
  }
  if (!info.prior.is_none() && info.prior.dim() != info.theta_dim) {
    bad("the prior has " + std::to_string(info.prior.dim()) + " parameters, not theta_dim");
  }
  if (!info.theta_names.empty() && info.theta_names.size() != theta_n) {
    bad("theta_names does not name theta_dim columns");
  }
  if (!info.x_names.empty() && info.x_names.size() != static_cast<size_t>(info.x_dim)) {
    bad("x_names does not name x_dim columns");
  }
  if (!problems.empty()) {
    std::string msg = path + ": damaged training set:";
    for (const auto& item : problems) msg += "\n  - " + item;
    fail(Status::Format, msg + "\n(see " + std::string(kBringYourOwnSimulations) + ")");
  }
  return info;
}

// rows_complete, checked against the datasets it counts rows of.
int64_t rows_complete(hid_t file, const std::string& path, const TrainingSetInfo& info) {
  // Without the attribute the datasets must agree: every row counts.
  int64_t rows = H5Aexists(file, "rows_complete") > 0 ? read_int_attr(file, "rows_complete", path)
                                                      : std::numeric_limits<int64_t>::max();
  const bool counted = rows != std::numeric_limits<int64_t>::max();
  std::vector<int64_t> extents;
  for (const auto& [name, cols] : {std::pair<const char*, int64_t>{"theta", info.theta_dim},
                                   std::pair<const char*, int64_t>{"x", info.x_dim}}) {
    H5Handle d(H5Dopen2(file, name, H5P_DEFAULT), H5Dclose, path + ":/" + name, Status::Format);
    H5Handle space(H5Dget_space(d.get()), H5Sclose, "dataspace", Status::Format);
    hsize_t dims[2] = {0, 0};
    if (H5Sget_simple_extent_ndims(space.get()) != 2) {
      fail(Status::Format, path + ":/" + name + " is not 2-D");
    }
    H5Sget_simple_extent_dims(space.get(), dims, nullptr);
    if (static_cast<int64_t>(dims[1]) != cols) {
      fail(Status::Format, path + ":/" + name + " has " + std::to_string(dims[1]) +
                               " columns, but the attributes say " + std::to_string(cols));
    }
    extents.push_back(static_cast<int64_t>(dims[0]));
    if (!counted) continue;
    if (rows < 0 || static_cast<uint64_t>(rows) > dims[0]) {
      fail(Status::Format, path +
                               ": damaged training set: rows_complete = " + std::to_string(rows) +
                               " but /" + name + " holds " + std::to_string(dims[0]) + " rows");
    }
  }
  if (!counted) {
    if (extents[0] != extents[1]) {
      fail(Status::Format, path + ": /theta has " + std::to_string(extents[0]) +
                               " rows but /x has " + std::to_string(extents[1]) +
                               " (and no rows_complete attribute says which are whole)");
    }
    rows = extents[0];
  }
  return rows;
}

H5ExtendibleDataset create_dataset(hid_t file, const char* name, int64_t cols,
                                   const std::string& path) {
  H5RowLayout layout;
  layout.file_type = H5T_IEEE_F64LE;
  layout.row_shape = {static_cast<hsize_t>(cols)};
  layout.chunk_rows = 4096;
  return H5ExtendibleDataset::create(file, name, layout, "training set " + path);
}

bool same_prior(const TrainingSetInfo& a, const TrainingSetInfo& b) {
  return a.theta_dim == b.theta_dim && a.x_dim == b.x_dim && a.prior_lower == b.prior_lower &&
         a.prior_upper == b.prior_upper && a.prior == b.prior && a.seed == b.seed &&
         a.batch_size == b.batch_size;
}

// An HDF5 file of simulations that galaxyml did not write: no gml_kind,
// datasets /theta and /x. It trains as it is (no prior box, no labels).
bool is_plain_file(hid_t file) {
  return H5Aexists(file, "gml_kind") <= 0 && H5Lexists(file, "theta", H5P_DEFAULT) > 0 &&
         H5Lexists(file, "x", H5P_DEFAULT) > 0;
}

TrainingSet plain_training_set(const std::string& path, int64_t max_rows) {
  SimulationSource source;
  source.theta_path = path;
  Simulations sims = read_simulations(source);
  TrainingSet out;
  const int64_t rows = max_rows > 0 ? std::min(max_rows, sims.theta.size(0)) : sims.theta.size(0);
  out.theta = sims.theta.narrow(0, 0, rows).contiguous();
  out.x = sims.x.narrow(0, 0, rows).contiguous();
  out.info.theta_dim = out.theta.size(1);
  out.info.x_dim = out.x.size(1);
  out.info.batch_size = std::max<int64_t>(rows, 1);
  return out;
}

}  // namespace

struct TrainingSetWriter::Handles {
  hid_t file = -1;
  H5ExtendibleDataset theta, x;
  ~Handles() {
    x.close();
    theta.close();
    if (file >= 0) H5Fclose(file);
  }
};

TrainingSetWriter::TrainingSetWriter(const std::string& path, const TrainingSetInfo& info,
                                     bool resume)
    : h_(std::make_unique<Handles>()), info_(info) {
  require(info.theta_dim >= 1 && info.x_dim >= 1, "training set: dimensions must be positive");
  require(info.prior_lower.size() == info.prior_upper.size() &&
              (info.prior_lower.empty() ||
               static_cast<int64_t>(info.prior_lower.size()) == info.theta_dim),
          "training set: the prior needs one lower and upper bound per theta dimension, or none");
  require(info.prior.is_none() || info.prior.dim() == info.theta_dim,
          "training set: the prior has " + std::to_string(info.prior.dim()) +
              " parameters, theta has " + std::to_string(info.theta_dim));
  Lock lock(hdf5_mutex());
  H5ErrorSilencer quiet;
  if (resume && std::filesystem::exists(path)) {
    h_->file = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    if (h_->file < 0) fail(Status::Io, "cannot reopen training set " + path + " to resume");
    const TrainingSetInfo old = read_info(h_->file, path);
    if (!same_prior(old, info)) {
      fail(Status::InvalidArgument, path +
                                        " was generated with other dimensions, prior, seed or "
                                        "batch size; resume needs the same ones");
    }
    rows_ = rows_complete(h_->file, path, old);
    h_->theta = H5ExtendibleDataset::open(h_->file, "theta", rows_, path);
    h_->x = H5ExtendibleDataset::open(h_->file, "x", rows_, path);
    return;
  }
  h_->file = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  if (h_->file < 0) fail(Status::Io, "cannot create training set " + path);
  h_->theta = create_dataset(h_->file, "theta", info.theta_dim, path);
  h_->x = create_dataset(h_->file, "x", info.x_dim, path);
  h5_write_string_attribute(h_->file, "gml_kind", kKind);
  write_int_attr(h_->file, "theta_dim", info.theta_dim);
  write_int_attr(h_->file, "x_dim", info.x_dim);
  write_int_attr(h_->file, "seed", static_cast<int64_t>(info.seed));
  write_int_attr(h_->file, "batch_size", info.batch_size);
  write_int_attr(h_->file, "rows_complete", 0);
  h5_write_string_attribute(h_->file, "prior_lower", nlohmann::json(info.prior_lower).dump());
  h5_write_string_attribute(h_->file, "prior_upper", nlohmann::json(info.prior_upper).dump());
  h5_write_string_attribute(h_->file, "theta_names", nlohmann::json(info.theta_names).dump());
  h5_write_string_attribute(h_->file, "x_names", nlohmann::json(info.x_names).dump());
  h5_write_string_attribute(h_->file, "observation", info.observation);
  if (!info.prior.is_none())
    h5_write_string_attribute(h_->file, "prior", info.prior.to_json_text());
  H5Fflush(h_->file, H5F_SCOPE_GLOBAL);
}

TrainingSetWriter::~TrainingSetWriter() {
  Lock lock(hdf5_mutex());
  h_.reset();
}

void TrainingSetWriter::append(const double* theta, const double* x, int64_t n) {
  if (n <= 0) return;
  Lock lock(hdf5_mutex());
  h_->theta.append(theta, H5T_NATIVE_DOUBLE, n);
  h_->x.append(x, H5T_NATIVE_DOUBLE, n);
  // The row count moves only after both datasets hold the rows.
  write_int_attr(h_->file, "rows_complete", rows_ + n);
  if (H5Fflush(h_->file, H5F_SCOPE_GLOBAL) < 0) fail(Status::Io, "training set: flush failed");
  rows_ += n;
}

TrainingSet read_training_set(const std::string& path, int64_t max_rows) {
  Lock lock(hdf5_mutex());
  H5ErrorSilencer quiet;
  if (!std::filesystem::exists(path)) fail(Status::Io, "training set " + path + " does not exist");
  H5Handle file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose, path, Status::Format);
  if (is_plain_file(file.get())) return plain_training_set(path, max_rows);
  TrainingSet out;
  out.info = read_info(file.get(), path);
  int64_t rows = rows_complete(file.get(), path, out.info);
  if (max_rows > 0) rows = std::min(rows, max_rows);
  auto read = [&](const char* name, int64_t cols) {
    H5Handle d(H5Dopen2(file.get(), name, H5P_DEFAULT), H5Dclose, path + ":/" + name,
               Status::Format);
    H5Handle space(H5Dget_space(d.get()), H5Sclose, "dataspace", Status::Format);
    hsize_t dims[2] = {0, 0};
    if (H5Sget_simple_extent_ndims(space.get()) != 2) {
      fail(Status::Format, path + ":/" + name + " is not 2-D");
    }
    H5Sget_simple_extent_dims(space.get(), dims, nullptr);
    if (static_cast<int64_t>(dims[1]) != cols || static_cast<int64_t>(dims[0]) < rows) {
      fail(Status::Format, path + ":/" + name + " has shape inconsistent with its attributes");
    }
    at::Tensor t = at::empty({rows, cols}, at::kDouble);
    if (rows > 0) {
      const hsize_t start[2] = {0, 0}, count[2] = {static_cast<hsize_t>(rows), dims[1]};
      H5Sselect_hyperslab(space.get(), H5S_SELECT_SET, start, nullptr, count, nullptr);
      H5Handle mem(H5Screate_simple(2, count, nullptr), H5Sclose, "memory space");
      if (H5Dread(d.get(), H5T_NATIVE_DOUBLE, mem.get(), space.get(), H5P_DEFAULT,
                  t.data_ptr<double>()) < 0) {
        fail(Status::Format, path + ": cannot read /" + name);
      }
    }
    return t;
  };
  out.theta = read("theta", out.info.theta_dim);
  out.x = read("x", out.info.x_dim);
  return out;
}

TrainingSetShape training_set_shape(const std::string& path) {
  Lock lock(hdf5_mutex());
  H5ErrorSilencer quiet;
  if (!std::filesystem::exists(path)) fail(Status::Io, "training set " + path + " does not exist");
  H5Handle file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose, path, Status::Format);
  if (is_plain_file(file.get())) {
    const TrainingSet set = plain_training_set(path, 0);
    return {set.info.theta_dim, set.info.x_dim, set.theta.size(0)};
  }
  const TrainingSetInfo info = read_info(file.get(), path);
  return {info.theta_dim, info.x_dim, rows_complete(file.get(), path, info)};
}

void simulate_training_set(const std::string& path, const TrainingSetInfo& info, int64_t n,
                           const Simulator& simulator, bool resume, Progress* progress,
                           const PriorSampler& prior_sampler) {
  require(n >= 1, "simulate: n must be >= 1");
  require(info.batch_size >= 1, "simulate: batch_size must be >= 1");
  require(static_cast<bool>(simulator), "simulate: no simulator");
  const Prior prior = info.prior_distribution();
  require(!prior.is_none() && prior.dim() == info.theta_dim,
          "simulate: the prior needs theta_dim parameters");
  require(prior.has_density() || static_cast<bool>(prior_sampler),
          "simulate: a host prior needs its sample callback");
  TrainingSetWriter writer(path, info, resume);
  require(writer.rows() % info.batch_size == 0 || writer.rows() >= n,
          "simulate: " + path + " ends inside a batch and cannot be resumed");
  std::vector<double> x(static_cast<size_t>(info.batch_size * info.x_dim));
  while (writer.rows() < n) {
    if (progress) progress->check_cancel();
    const int64_t batch = writer.rows() / info.batch_size;
    const int64_t m = std::min(info.batch_size, n - writer.rows());
    const std::string where = "batch " + std::to_string(batch) + " (rows " +
                              std::to_string(writer.rows()) + "-" +
                              std::to_string(writer.rows() + m - 1) + ")";
    const std::string kept =
        "; the " + std::to_string(writer.rows()) + " rows before it are kept in " + path;
    at::Tensor theta;
    if (prior_sampler) {
      theta = at::empty({m, info.theta_dim}, at::kDouble);
      const int rc = prior_sampler(writer.rows(), m, theta.data_ptr<double>());
      if (rc != 0) {
        fail(Status::Callback,
             "prior sampler returned " + std::to_string(rc) + " on " + where + kept);
      }
      const at::Tensor inside = prior.in_support(theta);
      if (!inside.all().item<bool>()) {
        const int64_t row = at::logical_not(inside).nonzero()[0][0].item<int64_t>();
        fail(Status::Callback,
             "prior sampler returned a theta outside the prior's support or "
             "non-finite (row " +
                 std::to_string(writer.rows() + row) + ") on " + where + kept);
      }
    } else {
      auto gen = at::detail::createCPUGenerator(info.seed * 0x9E3779B97F4A7C15ULL +
                                                static_cast<uint64_t>(batch) + 1);
      theta = prior.sample(m, gen);
    }
    const int rc = simulator(writer.rows(), theta.data_ptr<double>(), m, x.data());
    if (rc != 0) {
      fail(Status::Callback, "simulator returned " + std::to_string(rc) + " on " + where + kept);
    }
    for (int64_t i = 0; i < m * info.x_dim; ++i) {
      if (!std::isfinite(x[static_cast<size_t>(i)])) {
        fail(Status::Callback, "simulator returned a non-finite x (row " +
                                   std::to_string(writer.rows() + i / info.x_dim) + ", column " +
                                   std::to_string(i % info.x_dim) + ") on " + where + kept);
      }
    }
    writer.append(theta.data_ptr<double>(), x.data(), m);
    if (progress) progress->update(writer.rows());
  }
}

}  // namespace gml::posterior

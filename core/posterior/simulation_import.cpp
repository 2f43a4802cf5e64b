#include "core/posterior/simulation_import.h"

#include <ATen/ATen.h>
#include <hdf5.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <fstream>
#include <optional>
#include <sstream>

#include "core/common/error.h"
#include "core/common/fits_errors.h"
#include "core/common/hdf5_handle.h"
#include "core/common/numpy_file.h"
#include "fits_io/atomic_output.h"
#include "fits_io/fits_file.h"
#include "fits_io/table.h"

namespace gml::posterior {

const char* const kBringYourOwnSimulations =
    "docs/posterior.md, section \"Bring your own simulations\"";

namespace {

using Lock = std::lock_guard<std::recursive_mutex>;

// Everything found wrong with a source, reported together.
struct Problems {
  std::vector<std::string> items;
  void add(const std::string& what) { items.push_back(what); }
  void raise_if_any(const std::string& doing) const {
    if (items.empty()) return;
    std::string msg = doing + ": " + std::to_string(items.size()) + " problem" +
                      (items.size() == 1 ? "" : "s") + ":";
    for (const std::string& item : items) msg += "\n  - " + item;
    msg += "\n(see " + std::string(kBringYourOwnSimulations) + ")";
    fail(Status::Format, msg);
  }
};

// A table of numbers read from one file: rows x cols, row-major.
struct Block {
  int64_t rows = 0, cols = 0;
  std::vector<double> values;
  std::vector<std::string> names;
};

enum class Format { Hdf5, Fits, Npy, Npz, Text, Unknown };

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

Format format_of(const std::string& path) {
  std::string p = lower(path);
  if (ends_with(p, ".gz")) p = p.substr(0, p.size() - 3);
  for (const char* e : {".h5", ".hdf5", ".he5", ".hdf"})
    if (ends_with(p, e)) return Format::Hdf5;
  for (const char* e : {".fits", ".fit", ".fts"})
    if (ends_with(p, e)) return Format::Fits;
  if (ends_with(p, ".npy")) return Format::Npy;
  if (ends_with(p, ".npz")) return Format::Npz;
  for (const char* e : {".csv", ".txt", ".dat", ".tsv"})
    if (ends_with(p, e)) return Format::Text;
  return Format::Unknown;
}

std::vector<std::string> split_names(const std::string& spec) {
  std::vector<std::string> out;
  std::stringstream in(spec);
  for (std::string item; std::getline(in, item, ',');) {
    const size_t a = item.find_first_not_of(" \t"), b = item.find_last_not_of(" \t");
    if (a != std::string::npos) out.push_back(item.substr(a, b - a + 1));
  }
  return out;
}

std::string join(const std::vector<std::string>& names) {
  std::string s;
  for (const auto& n : names) s += (s.empty() ? "" : ", ") + n;
  return s;
}

// rank-1 arrays are one column; rank 2 are [rows, cols].
std::optional<Block> block_from_array(NumpyArray a, const std::string& where, Problems& p) {
  if (a.shape.empty() || a.shape.size() > 2) {
    p.add(where + " has " + std::to_string(a.shape.size()) +
          " dimensions; expected [n] or [n, columns]");
    return std::nullopt;
  }
  Block b;
  b.rows = a.shape[0];
  b.cols = a.shape.size() == 2 ? a.shape[1] : 1;
  b.values = std::move(a.values);
  return b;
}

// ---- HDF5 ----------------------------------------------------------------

herr_t collect_dataset(hid_t group, const char* name, const H5L_info_t*, void* out) {
  H5O_info_t info;
  if (H5Oget_info_by_name(group, name, &info, H5P_DEFAULT) >= 0 && info.type == H5O_TYPE_DATASET) {
    static_cast<std::vector<std::string>*>(out)->emplace_back(name);
  }
  return 0;
}

bool h5_path_exists(hid_t file, const std::string& path) {
  std::string prefix;
  std::stringstream in(path);
  for (std::string part; std::getline(in, part, '/');) {
    if (part.empty()) continue;
    prefix += "/" + part;
    if (H5Lexists(file, prefix.c_str(), H5P_DEFAULT) <= 0) return false;
  }
  return !prefix.empty();
}

std::optional<Block> read_hdf5(hid_t file, const std::string& path, const std::string& name,
                               const char* role, Problems& p) {
  const std::string where = path + ":/" + name;
  if (!h5_path_exists(file, name)) {
    std::vector<std::string> have;
    H5Literate(file, H5_INDEX_NAME, H5_ITER_INC, nullptr, collect_dataset, &have);
    p.add(std::string(role) + ": " + path + " has no dataset '" + name +
          "' (its root holds: " + (have.empty() ? "no datasets" : join(have)) + ")");
    return std::nullopt;
  }
  H5Handle ds(H5Dopen2(file, name.c_str(), H5P_DEFAULT), H5Dclose, where, Status::Format);
  H5Handle type(H5Dget_type(ds.get()), H5Tclose, "type of " + where, Status::Format);
  const H5T_class_t cls = H5Tget_class(type.get());
  if (cls != H5T_INTEGER && cls != H5T_FLOAT) {
    p.add(std::string(role) + ": " + where + " is not numeric");
    return std::nullopt;
  }
  H5Handle space(H5Dget_space(ds.get()), H5Sclose, "dataspace of " + where, Status::Format);
  const int rank = H5Sget_simple_extent_ndims(space.get());
  if (rank != 1 && rank != 2) {
    p.add(std::string(role) + ": " + where + " has " + std::to_string(rank) +
          " dimensions; expected [n] or [n, columns]");
    return std::nullopt;
  }
  h5_require_dataset_stored(ds.get(), where);
  hsize_t dims[2] = {0, 1};
  H5Sget_simple_extent_dims(space.get(), dims, nullptr);
  Block b;
  b.rows = static_cast<int64_t>(dims[0]);
  b.cols = static_cast<int64_t>(rank == 2 ? dims[1] : 1);
  b.values.resize(static_cast<size_t>(b.rows * b.cols));
  if (!b.values.empty() &&
      H5Dread(ds.get(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, b.values.data()) < 0) {
    fail(Status::Format, where + ": cannot be read (file damaged?)");
  }
  return b;
}

// ---- FITS and CSV: named columns -----------------------------------------

// The columns of theta and x from named columns: `all` names every column
// the file has, in order; "*" in x takes those theta does not.
std::vector<std::string> resolve_columns(const std::string& spec, const std::string& theta_spec,
                                         const std::vector<std::string>& all, bool is_x) {
  if (is_x && spec == "*") {
    std::vector<std::string> theta = split_names(theta_spec), rest;
    for (const auto& c : all) {
      const bool in_theta = std::any_of(theta.begin(), theta.end(),
                                        [&](const std::string& t) { return lower(t) == lower(c); });
      if (!in_theta) rest.push_back(c);
    }
    return rest;
  }
  return split_names(spec);
}

std::optional<Block> read_fits(fits::FitsFile& f, const std::string& path,
                               const std::vector<std::string>& columns, const char* role,
                               Problems& p) {
  fits::Table t(f);
  std::vector<std::string> available;
  for (const auto& c : t.columns()) available.push_back(c.name);
  bool ok = !columns.empty();
  if (columns.empty()) p.add(std::string(role) + ": no columns named");
  int64_t cols = 0;
  for (const auto& name : columns) {
    if (!t.has_column(name)) {
      p.add(std::string(role) + ": " + path + " has no column '" + name +
            "' (it has: " + join(available) + ")");
      ok = false;
    } else if (!t.column(name).is_numeric()) {
      p.add(std::string(role) + ": column '" + name + "' of " + path + " is not numeric (" +
            fits::to_string(t.column(name).type) + ")");
      ok = false;
    } else {
      cols += t.column(name).repeat;
    }
  }
  if (!ok) return std::nullopt;
  Block b;
  b.rows = t.nrows();
  b.cols = cols;
  b.values.resize(static_cast<size_t>(b.rows * b.cols));
  int64_t at = 0;
  std::vector<double> buf;
  for (const auto& name : columns) {
    const fits::ColumnInfo& info = t.column(name);
    buf.resize(static_cast<size_t>(b.rows * info.repeat));
    if (b.rows > 0) t.read_column(name, 0, b.rows, buf.data());
    for (int64_t r = 0; r < b.rows; ++r) {
      std::copy_n(buf.data() + r * info.repeat, info.repeat, b.values.data() + r * cols + at);
    }
    for (int64_t k = 0; k < info.repeat; ++k) {
      b.names.push_back(info.repeat == 1 ? info.name : info.name + "[" + std::to_string(k) + "]");
    }
    at += info.repeat;
  }
  return b;
}

void move_to_table(fits::FitsFile& f, const std::string& path, const std::string& hdu) {
  if (!hdu.empty()) {
    const bool number = std::all_of(hdu.begin(), hdu.end(), ::isdigit);
    // Extension numbers count from 0 for the primary HDU, as in astropy.
    const fits::HduType type = number ? f.move_to(std::stoi(hdu) + 1) : f.move_to(hdu);
    if (type == fits::HduType::Image) fail(Status::Format, path + " HDU " + hdu + " is an image");
    return;
  }
  int n = 2;
  while (n <= f.num_hdus() && f.move_to(n) == fits::HduType::Image) ++n;
  if (n > f.num_hdus()) fail(Status::Format, path + " has no table HDU");
}

// A text table: its header names, then rows of numbers (empty fields and
// "nan" are NaN, so the non-finite rule applies to them).
struct TextTable {
  std::vector<std::string> names;
  std::vector<std::vector<double>> rows;
};

std::vector<std::string> split_fields(const std::string& line, bool commas) {
  std::vector<std::string> out;
  if (commas) {
    std::stringstream in(line);
    for (std::string item; std::getline(in, item, ',');) out.push_back(item);
    if (!line.empty() && line.back() == ',') out.emplace_back();
  } else {
    std::stringstream in(line);
    for (std::string item; in >> item;) out.push_back(item);
  }
  for (auto& f : out) {
    const size_t a = f.find_first_not_of(" \t\r"), b = f.find_last_not_of(" \t\r");
    f = a == std::string::npos ? "" : f.substr(a, b - a + 1);
    if (f.size() >= 2 && (f.front() == '"' || f.front() == '\'') && f.back() == f.front()) {
      f = f.substr(1, f.size() - 2);
    }
  }
  return out;
}

std::optional<TextTable> read_text(const std::string& path, Problems& p) {
  std::ifstream in(path);
  if (!in) fail(Status::Io, path + ": cannot be opened");
  TextTable t;
  std::string line;
  bool commas = true;
  int64_t line_no = 0, bad_lines = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const size_t first = line.find_first_not_of(" \t");
    if (first == std::string::npos) continue;
    if (t.names.empty()) {
      // The header may be a comment line, as numpy.savetxt writes it.
      if (line[first] == '#') line = line.substr(first + 1);
      commas = line.find(',') != std::string::npos;
      t.names = split_fields(line, commas);
      continue;
    }
    if (line[first] == '#') continue;
    const std::vector<std::string> fields = split_fields(line, commas);
    if (fields.size() != t.names.size()) {
      if (++bad_lines <= 3) {
        p.add(path + " line " + std::to_string(line_no) + ": " + std::to_string(fields.size()) +
              " fields, but the header names " + std::to_string(t.names.size()));
      }
      continue;
    }
    std::vector<double> row(fields.size());
    for (size_t k = 0; k < fields.size(); ++k) {
      if (fields[k].empty()) {
        row[k] = std::nan("");
        continue;
      }
      char* end = nullptr;
      row[k] = std::strtod(fields[k].c_str(), &end);
      if (end == fields[k].c_str() || *end != '\0') {
        if (++bad_lines <= 3) {
          p.add(path + " line " + std::to_string(line_no) + ", column '" + t.names[k] + "': '" +
                fields[k] + "' is not a number");
        }
        row.clear();
        break;
      }
    }
    if (!row.empty()) t.rows.push_back(std::move(row));
  }
  if (bad_lines > 3) p.add(path + ": " + std::to_string(bad_lines - 3) + " more bad lines");
  if (t.names.empty()) {
    p.add(path + " is empty (a text table needs a header line naming its columns)");
    return std::nullopt;
  }
  return t;
}

std::optional<Block> text_columns(const TextTable& t, const std::string& path,
                                  const std::vector<std::string>& columns, const char* role,
                                  Problems& p) {
  std::vector<size_t> index;
  bool ok = !columns.empty();
  if (columns.empty()) p.add(std::string(role) + ": no columns named");
  for (const auto& name : columns) {
    const auto it = std::find_if(t.names.begin(), t.names.end(),
                                 [&](const std::string& n) { return lower(n) == lower(name); });
    if (it == t.names.end()) {
      p.add(std::string(role) + ": " + path + " has no column '" + name +
            "' (its header names: " + join(t.names) + ")");
      ok = false;
    } else {
      index.push_back(static_cast<size_t>(it - t.names.begin()));
    }
  }
  if (!ok) return std::nullopt;
  Block b;
  b.rows = static_cast<int64_t>(t.rows.size());
  b.cols = static_cast<int64_t>(index.size());
  b.values.reserve(static_cast<size_t>(b.rows * b.cols));
  for (const auto& row : t.rows)
    for (size_t k : index) b.values.push_back(row[k]);
  for (size_t k : index) b.names.push_back(t.names[k]);
  return b;
}

// Both blocks from one file (x_path empty) or theta from the first and x
// from the second.
void read_blocks(const SimulationSource& s, std::optional<Block>& theta, std::optional<Block>& x,
                 Problems& p) {
  const bool two_files = !s.x_path.empty();
  const std::string& x_file = two_files ? s.x_path : s.theta_path;
  for (const std::string* file : {&s.theta_path, &x_file}) {
    if (file->empty()) {
      p.add("no file given for theta");
      return;
    }
    if (format_of(*file) == Format::Unknown) {
      p.add(*file +
            ": unknown format; give .h5/.hdf5, .fits/.fit/.fts, .npy, .npz or .csv/.txt/.tsv/.dat");
    }
    if (!std::ifstream(*file)) fail(Status::Io, *file + ": cannot be opened");
    if (!two_files) break;
  }
  if (!p.items.empty()) return;
  const Format theta_format = format_of(s.theta_path), x_format = format_of(x_file);
  if (!two_files && theta_format == Format::Npy) {
    p.add(s.theta_path + ": a .npy file holds one array; give x in a second file (x_path)");
    return;
  }

  auto one = [&](const std::string& file, Format format, const std::string& spec, const char* role,
                 bool is_x) -> std::optional<Block> {
    switch (format) {
      case Format::Npy: return block_from_array(read_npy(file), file, p);
      case Format::Npz:
        try {
          return block_from_array(read_npz_member(file, spec), file + "[" + spec + "]", p);
        } catch (const Error& e) {
          if (e.status() != Status::Format) throw;
          p.add(std::string(role) + ": " + e.what());
          return std::nullopt;
        }
      case Format::Hdf5: {
        Lock lock(hdf5_mutex());
        H5ErrorSilencer quiet;
        H5Handle f(H5Fopen(file.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose,
                   file + " (not an HDF5 file?)", Status::Format);
        return read_hdf5(f.get(), file, spec, role, p);
      }
      case Format::Fits: {
        std::optional<Block> out;
        with_fits_errors(
            "reading simulations from '" + file + "'", Status::Fits, Status::Format, [&] {
              auto f = fits::FitsFile::open(file);
              move_to_table(f, file, s.hdu);
              fits::Table t(f);
              std::vector<std::string> all;
              for (const auto& c : t.columns())
                if (c.is_numeric()) all.push_back(c.name);
              out = read_fits(f, file, resolve_columns(spec, s.theta, all, is_x), role, p);
            });
        return out;
      }
      case Format::Text: {
        const auto table = read_text(file, p);
        if (!table) return std::nullopt;
        return text_columns(*table, file, resolve_columns(spec, s.theta, table->names, is_x), role,
                            p);
      }
      case Format::Unknown: break;
    }
    return std::nullopt;
  };
  theta = one(s.theta_path, theta_format, s.theta, "theta", false);
  x = one(x_file, x_format, s.x, "x", true);
}

}  // namespace

Simulations read_simulations(const SimulationSource& source) {
  Problems p;
  std::optional<Block> theta, x;
  read_blocks(source, theta, x, p);
  if (theta && x) {
    if (theta->rows != x->rows) {
      p.add("theta has " + std::to_string(theta->rows) + " rows but x has " +
            std::to_string(x->rows));
    } else if (theta->rows == 0) {
      p.add("the source holds no rows");
    }
    if (theta->cols < 1 || x->cols < 1) p.add("theta and x need at least one column each");
  }
  p.raise_if_any("cannot import simulations from " + source.theta_path +
                 (source.x_path.empty() ? "" : " and " + source.x_path));
  Simulations out;
  auto tensor = [](Block& b) {
    return at::from_blob(b.values.data(), {b.rows, b.cols}, at::kDouble).clone();
  };
  out.theta = tensor(*theta);
  out.x = tensor(*x);
  out.theta_names = std::move(theta->names);
  out.x_names = std::move(x->names);
  return out;
}

TrainingSetImport write_training_set(const std::string& path, const at::Tensor& theta_in,
                                     const at::Tensor& x_in, TrainingSetInfo info,
                                     NonFiniteRows policy) {
  Problems p;
  require(theta_in.defined() && x_in.defined(), "training set: theta and x are required");
  const at::Tensor theta = theta_in.to(at::kDouble).contiguous();
  const at::Tensor x = x_in.to(at::kDouble).contiguous();
  if (theta.dim() != 2 || x.dim() != 2) {
    fail(Status::InvalidArgument, "training set: theta and x must be [rows, columns]");
  }
  const int64_t n = theta.size(0);
  info.theta_dim = theta.size(1);
  info.x_dim = x.size(1);
  if (x.size(0) != n) {
    p.add("theta has " + std::to_string(n) + " rows but x has " + std::to_string(x.size(0)));
  }
  if (n == 0) p.add("no rows");
  if (info.theta_dim < 1 || info.theta_dim > 1024) {
    p.add("theta has " + std::to_string(info.theta_dim) + " columns; 1 to 1024 are supported");
  }
  if (info.x_dim < 1 || info.x_dim > 16384) {
    p.add("x has " + std::to_string(info.x_dim) + " columns; 1 to 16384 are supported");
  }
  const auto theta_n = static_cast<size_t>(info.theta_dim);
  if (info.prior_lower.size() != info.prior_upper.size()) {
    p.add("the prior has " + std::to_string(info.prior_lower.size()) + " lower and " +
          std::to_string(info.prior_upper.size()) + " upper bounds");
  } else if (!info.prior_lower.empty() && info.prior_lower.size() != theta_n) {
    p.add("the prior has " + std::to_string(info.prior_lower.size()) +
          " dimensions but theta has " + std::to_string(info.theta_dim) + " columns");
  } else {
    for (size_t i = 0; i < info.prior_lower.size(); ++i) {
      if (!(info.prior_lower[i] < info.prior_upper[i])) {
        p.add("prior bound " + std::to_string(i) + ": lower " +
              std::to_string(info.prior_lower[i]) + " is not below upper " +
              std::to_string(info.prior_upper[i]));
      }
    }
  }
  if (!info.prior.is_none() && !info.prior_lower.empty()) {
    p.add("both a prior box and a prior object are given; give one");
  }
  if (!info.prior.is_none() && info.prior.dim() != info.theta_dim) {
    p.add("the prior has " + std::to_string(info.prior.dim()) + " dimensions but theta has " +
          std::to_string(info.theta_dim) + " columns");
  }
  if (!info.theta_names.empty() && info.theta_names.size() != theta_n) {
    p.add(std::to_string(info.theta_names.size()) + " theta names for " +
          std::to_string(info.theta_dim) + " columns");
  }
  if (!info.x_names.empty() && info.x_names.size() != static_cast<size_t>(info.x_dim)) {
    p.add(std::to_string(info.x_names.size()) + " x names for " + std::to_string(info.x_dim) +
          " columns");
  }
  p.raise_if_any("cannot write training set " + path);

  TrainingSetImport report;
  report.rows_read = n;
  const at::Tensor finite = at::isfinite(theta).all(1) & at::isfinite(x).all(1);
  report.rows_nonfinite = n - finite.sum().item<int64_t>();
  if (report.rows_nonfinite > 0 && policy == NonFiniteRows::Reject) {
    const int64_t first = (~finite).nonzero()[0][0].item<int64_t>();
    fail(Status::InvalidArgument, "training set: " + std::to_string(report.rows_nonfinite) +
                                      " rows hold NaN or infinity (the first is row " +
                                      std::to_string(first) +
                                      "); drop them instead, or clean the simulations");
  }
  const at::Tensor keep_theta = report.rows_nonfinite > 0 ? theta.index({finite}) : theta;
  const at::Tensor keep_x = report.rows_nonfinite > 0 ? x.index({finite}) : x;
  report.rows_written = keep_theta.size(0);
  if (report.rows_written == 0) {
    fail(Status::InvalidArgument,
         "training set: every one of the " + std::to_string(n) + " rows holds NaN or infinity");
  }
  const Prior prior = info.prior_distribution();
  if (!prior.is_none()) {
    report.rows_outside_prior =
        report.rows_written - prior.in_support(keep_theta).sum().item<int64_t>();
    store_prior(prior, info.prior, info.prior_lower, info.prior_upper);
  }
  info.batch_size = report.rows_written;
  fits::AtomicOutput out(path);
  {
    TrainingSetWriter writer(out.temp_path(), info, false);
    writer.append(keep_theta.data_ptr<double>(), keep_x.contiguous().data_ptr<double>(),
                  report.rows_written);
  }
  try {
    out.commit();
  } catch (const std::system_error& e) {
    fail(Status::Io, e.what());
  }
  return report;
}

}  // namespace gml::posterior

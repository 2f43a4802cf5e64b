// Simulations brought in from files numpy, h5py, astropy and Python's csv
// wrote (tests/golden/make_simulation_import_golden.py): every format gives
// the same (theta, x); everything wrong with a source is reported at once;
// the training set written from them keeps what it should and counts what
// it drops.
#include <dirent.h>
#include <gtest/gtest.h>
#include <hdf5.h>
#include <unistd.h>

#include <ATen/ATen.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "core/common/error.h"
#include "core/common/numpy_file.h"
#include "core/posterior/simulation_import.h"
#include "core/posterior/training_set.h"

namespace fs = std::filesystem;
namespace post = gml::posterior;

namespace simulation_import_test {

const std::string kDir = std::string(GML_GOLDEN_DIR) + "/posterior/import/";
constexpr int64_t kRows = 40;

double theta_at(int64_t i, int64_t j) {
  return static_cast<double>(i + 1) / 4 - j;
}
double x_at(int64_t i, int64_t k) {
  return i == 7 && k == 1 ? std::nan("") : static_cast<double>(i - 2 * k) / 8;
}

void expect_simulations(const post::Simulations& s, const std::string& what) {
  ASSERT_EQ(s.theta.sizes(), (at::IntArrayRef{kRows, 2})) << what;
  ASSERT_EQ(s.x.sizes(), (at::IntArrayRef{kRows, 3})) << what;
  auto t = s.theta.accessor<double, 2>();
  auto x = s.x.accessor<double, 2>();
  for (int64_t i = 0; i < kRows; ++i) {
    for (int64_t j = 0; j < 2; ++j) ASSERT_EQ(t[i][j], theta_at(i, j)) << what << " " << i;
    for (int64_t k = 0; k < 3; ++k) {
      if (std::isnan(x_at(i, k))) {
        ASSERT_TRUE(std::isnan(x[i][k])) << what << " " << i;
      } else {
        ASSERT_EQ(x[i][k], x_at(i, k)) << what << " " << i << "," << k;
      }
    }
  }
}

post::SimulationSource source(const std::string& file, const std::string& theta = "theta",
                              const std::string& x = "x", const std::string& x_file = "") {
  post::SimulationSource s;
  s.theta_path = kDir + file;
  s.x_path = x_file.empty() ? "" : kDir + x_file;
  s.theta = theta;
  s.x = x;
  return s;
}

template <class F>
std::pair<gml::Status, std::string> error_of(F&& f) {
  try {
    f();
  } catch (const gml::Error& e) {
    return {e.status(), e.what()};
  }
  return {gml::Status::Ok, ""};
}

fs::path scratch() {
  const fs::path dir = fs::temp_directory_path() / ("gml_import_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  return dir;
}

// Not fs::remove_all: in a test linked to libtorch.so it binds to that
// library's own copy, which crashes.
void remove_scratch(const fs::path& dir) {
  if (DIR* d = ::opendir(dir.c_str())) {
    while (const dirent* e = ::readdir(d)) {
      const std::string name = e->d_name;
      if (name != "." && name != "..") std::remove((dir / name).c_str());
    }
    ::closedir(d);
  }
  ::rmdir(dir.c_str());
}

void write_bytes(const fs::path& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary)
      .write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

TEST(SimulationImport, EveryFormatGivesTheSameSimulations) {
  expect_simulations(post::read_simulations(source("sims.h5")), "HDF5");
  expect_simulations(post::read_simulations(source("sims.h5", "run1/params", "/run1/obs")),
                     "HDF5, nested float32");
  expect_simulations(post::read_simulations(source("sims.npz")), "npz");
  expect_simulations(post::read_simulations(source("sims_compressed.npz", "params", "obs")),
                     "compressed npz");
  expect_simulations(post::read_simulations(source("theta.npy", "", "", "x.npy")),
                     "npy pair (x big-endian float32, Fortran order)");
  const auto fits = post::read_simulations(source("sims.fits", "mass,age", "FLUX"));
  expect_simulations(fits, "FITS");
  EXPECT_EQ(fits.theta_names, (std::vector<std::string>{"mass", "age"}));
  EXPECT_EQ(fits.x_names, (std::vector<std::string>{"FLUX[0]", "FLUX[1]", "FLUX[2]"}));
  expect_simulations(post::read_simulations(source("sims.fits", "MASS, age", "*")),
                     "FITS, x as the other columns");
  const auto csv = post::read_simulations(source("sims.csv", "mass,age", "f0,f1,f2"));
  expect_simulations(csv, "CSV (an empty field is NaN)");
  EXPECT_EQ(csv.x_names, (std::vector<std::string>{"f0", "f1", "f2"}));
  expect_simulations(post::read_simulations(source("sims.csv", "mass,age", "*")), "CSV, x = *");
  expect_simulations(post::read_simulations(source("sims.txt", "mass,age", "*")),
                     "numpy.savetxt (blanks, '#' header)");
}

TEST(SimulationImport, ProblemsAreReportedTogetherWithWhatIsThere) {
  auto [status, msg] = error_of([] { post::read_simulations(source("sims.h5", "params", "obs")); });
  EXPECT_EQ(status, gml::Status::Format);
  EXPECT_NE(msg.find("2 problems"), std::string::npos) << msg;
  EXPECT_NE(msg.find("no dataset 'params'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("no dataset 'obs'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("its root holds: theta, x"), std::string::npos) << msg;
  EXPECT_NE(msg.find("Bring your own simulations"), std::string::npos) << msg;

  std::tie(status, msg) =
      error_of([] { post::read_simulations(source("sims.csv", "mass,redshift", "f0,f9")); });
  EXPECT_EQ(status, gml::Status::Format);
  EXPECT_NE(msg.find("no column 'redshift'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("no column 'f9'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("mass, age, f0, f1, f2"), std::string::npos) << msg;

  std::tie(status, msg) = error_of([] { post::read_simulations(source("sims.npz", "t", "x")); });
  EXPECT_NE(msg.find("no array 't' (it holds: theta.npy, x.npy)"), std::string::npos) << msg;

  std::tie(status, msg) = error_of([] { post::read_simulations(source("theta.npy")); });
  EXPECT_NE(msg.find("give x in a second file"), std::string::npos) << msg;

  // Row counts that differ, and a text file with bad lines.
  const fs::path dir = scratch();
  std::ofstream(dir / "short.csv") << "a,b\n1,2\n3,x\n5\n";
  std::tie(status, msg) = error_of([&] {
    post::SimulationSource s;
    s.theta_path = (dir / "short.csv").string();
    s.theta = "a";
    s.x = "b";
    post::read_simulations(s);
  });
  EXPECT_NE(msg.find("line 3, column 'b': 'x' is not a number"), std::string::npos) << msg;
  EXPECT_NE(msg.find("line 4: 1 fields, but the header names 2"), std::string::npos) << msg;
  std::tie(status, msg) =
      error_of([] { post::read_simulations(source("theta.npy", "", "", "sims.npz")); });
  EXPECT_EQ(status, gml::Status::Format) << msg;
  std::ofstream(dir / "empty.csv") << "a,b\n";
  std::tie(status, msg) = error_of([&] {
    post::SimulationSource s;
    s.theta_path = (dir / "empty.csv").string();
    s.theta = "a";
    s.x = "b";
    post::read_simulations(s);
  });
  EXPECT_NE(msg.find("holds no rows"), std::string::npos) << msg;
  std::tie(status, msg) = error_of([] { post::read_simulations(source("sims.parquet")); });
  EXPECT_EQ(status, gml::Status::Io) << msg;  // no such file: said before its format
  remove_scratch(dir);
}

TEST(SimulationImport, TrainingSetDropsNonFiniteRowsAndCountsThoseOutsideThePrior) {
  const fs::path dir = scratch();
  const auto sims = post::read_simulations(source("sims.npz"));
  post::TrainingSetInfo info;
  info.prior_lower = {0, -1};
  info.prior_upper = {5, 10};
  info.theta_names = {"mass", "age"};
  const std::string path = (dir / "set.h5").string();
  const post::TrainingSetImport r =
      post::write_training_set(path, sims.theta, sims.x, info, post::NonFiniteRows::Drop);
  EXPECT_EQ(r.rows_read, kRows);
  EXPECT_EQ(r.rows_nonfinite, 1);
  EXPECT_EQ(r.rows_written, kRows - 1);
  EXPECT_EQ(r.rows_outside_prior, 20);  // mass = (i + 1) / 4 > 5 for i >= 20
  const post::TrainingSet set = post::read_training_set(path);
  EXPECT_EQ(set.theta.size(0), kRows - 1);
  EXPECT_EQ(set.info.prior_upper, (std::vector<double>{5, 10}));
  EXPECT_EQ(set.info.theta_names, info.theta_names);
  EXPECT_EQ(set.x[7][1].item<double>(), x_at(8, 1));  // row 7 was dropped
  EXPECT_TRUE(at::isfinite(set.x).all().item<bool>());

  auto [status, msg] = error_of([&] {
    post::write_training_set((dir / "rejected.h5").string(), sims.theta, sims.x, info,
                             post::NonFiniteRows::Reject);
  });
  EXPECT_EQ(status, gml::Status::InvalidArgument);
  EXPECT_NE(msg.find("1 rows hold NaN or infinity (the first is row 7)"), std::string::npos) << msg;
  EXPECT_FALSE(fs::exists(dir / "rejected.h5"));

  info.prior_lower = {0, 0, 0};
  info.prior_upper = {1, 1, 1};
  info.x_names = {"a"};
  std::tie(status, msg) = error_of([&] {
    post::write_training_set((dir / "bad_prior.h5").string(), sims.theta, sims.x, info,
                             post::NonFiniteRows::Drop);
  });
  EXPECT_NE(msg.find("the prior has 3 dimensions but theta has 2 columns"), std::string::npos)
      << msg;
  EXPECT_NE(msg.find("1 x names for 3 columns"), std::string::npos) << msg;
  EXPECT_FALSE(fs::exists(dir / "bad_prior.h5"));
  remove_scratch(dir);
}

// A plain HDF5 file with datasets theta and x trains as it is; a galaxyml
// training set needs none of its bookkeeping attributes.
TEST(SimulationImport, PlainAndBareTrainingSetsAreRead) {
  const post::TrainingSet plain = post::read_training_set(kDir + "sims.h5");
  EXPECT_EQ(plain.theta.size(0), kRows);
  EXPECT_EQ(plain.info.theta_dim, 2);
  EXPECT_EQ(plain.info.x_dim, 3);
  EXPECT_TRUE(plain.info.prior_lower.empty());
  const post::TrainingSetShape shape = post::training_set_shape(kDir + "sims.h5");
  EXPECT_EQ(shape.rows, kRows);
  EXPECT_EQ(post::read_training_set(kDir + "sims.h5", 5).theta.size(0), 5);

  const fs::path dir = scratch();
  const std::string path = (dir / "bare.h5").string();
  const auto sims = post::read_simulations(source("sims.npz"));
  post::write_training_set(path, sims.theta, sims.x, {}, post::NonFiniteRows::Drop);
  hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  ASSERT_GE(f, 0);
  for (const char* name : {"theta_dim", "x_dim", "seed", "batch_size", "rows_complete",
                           "prior_lower", "prior_upper", "theta_names", "x_names", "observation"}) {
    ASSERT_GE(H5Adelete(f, name), 0) << name;
  }
  H5Fclose(f);
  const post::TrainingSet bare = post::read_training_set(path);
  EXPECT_EQ(bare.theta.size(0), kRows - 1);
  EXPECT_EQ(bare.info.x_dim, 3);
  remove_scratch(dir);
}

TEST(NumpyFile, MalformedArraysAreFormatErrors) {
  const fs::path dir = scratch();
  const std::string good = read_bytes(kDir + "theta.npy");
  write_bytes(dir / "truncated.npy", good.substr(0, good.size() - 9));
  auto [status, msg] = error_of([&] { gml::read_npy((dir / "truncated.npy").string()); });
  EXPECT_EQ(status, gml::Status::Format);
  EXPECT_NE(msg.find("more data than the file holds"), std::string::npos) << msg;

  // A shape that claims 2^62 rows is refused before anything is allocated.
  std::string huge = good;
  const size_t at = huge.find("(40, 2)");
  ASSERT_NE(at, std::string::npos);
  huge.replace(at, 7, "(4611686018427387904, 2)");
  write_bytes(dir / "huge.npy", huge);
  std::tie(status, msg) = error_of([&] { gml::read_npy((dir / "huge.npy").string()); });
  EXPECT_EQ(status, gml::Status::Format) << msg;

  std::string complex_dtype = good;
  complex_dtype.replace(complex_dtype.find("<f8"), 3, "<c8");
  write_bytes(dir / "complex.npy", complex_dtype);
  std::tie(status, msg) = error_of([&] { gml::read_npy((dir / "complex.npy").string()); });
  EXPECT_NE(msg.find("dtype '<c8' is not read"), std::string::npos) << msg;

  // A flipped byte in a compressed member: damaged data or a CRC mismatch.
  std::string npz = read_bytes(kDir + "sims_compressed.npz");
  npz[80] = static_cast<char>(npz[80] ^ 0x5a);
  write_bytes(dir / "damaged.npz", npz);
  std::tie(status, msg) =
      error_of([&] { gml::read_npz_member((dir / "damaged.npz").string(), "params"); });
  EXPECT_EQ(status, gml::Status::Format) << msg;
  write_bytes(dir / "cut.npz", npz.substr(0, npz.size() / 2));
  std::tie(status, msg) =
      error_of([&] { gml::read_npz_member((dir / "cut.npz").string(), "obs"); });
  EXPECT_EQ(status, gml::Status::Format) << msg;
  EXPECT_EQ(gml::npz_keys(kDir + "sims.npz"), (std::vector<std::string>{"theta", "x"}));
  remove_scratch(dir);
}

}  // namespace simulation_import_test

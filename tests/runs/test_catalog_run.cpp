// The posterior catalog run in C++, below the C ABI: row order, flags,
// work-unit independence, row ranges, cancellation and failed writes, on a
// small untrained model (the run's mechanics do not depend on training) and a
// catalog written here. Multi-rank equality is the MPI test
// (tests/posterior/mpi_catalog_run.sh); the agreement rule is tested below
// with a backend that plays a second rank.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "adapters/catalog.h"
#include "adapters/table_writer.h"
#include "core/common/error.h"
#include "core/common/progress.h"
#include "core/distributed/rank_agreement.h"
#include "core/posterior/calibration_record.h"
#include "fits_io/fits_file.h"
#include "fits_io/header.h"
#include "runs/posterior/catalog_run.h"
#include "tests/runs/tiny_posterior.h"

namespace {

namespace post = gml::posterior;
namespace runs = gml::runs;

std::string work_path(const std::string& name) {
  return testing::TempDir() + "gml_runs_" + std::to_string(::getpid()) + "_" + name;
}

bool exists(const std::string& path) {
  return ::access(path.c_str(), F_OK) == 0;
}

post::LoadedPosterior tiny_model() {
  post::LoadedPosterior m = tiny_posterior();
  // x outside [-3, 3] was never simulated: rows there are flagged, but sampled.
  m.extras.x_train_min = at::full({2}, -3.0, at::kDouble);
  m.extras.x_train_max = at::full({2}, 3.0, at::kDouble);
  return m;
}

// 13 rows of A, B: row 4 has a NaN, row 9 lies outside the training range.
std::string write_catalog() {
  const std::string path = work_path("catalog.fits");
  std::remove(path.c_str());
  std::vector<double> a, b;
  for (int i = 0; i < 13; ++i) {
    a.push_back(-1.0 + 0.15 * i);
    b.push_back(0.5 - 0.1 * i);
  }
  a[4] = std::nan("");
  b[9] = 7.5;
  gml::adapters::TableWriter w(path, "CATALOG", gml::adapters::Provenance{});
  w.add_column({"A", gml::adapters::ValueType::Float64, 1, ""});
  w.add_column({"B", gml::adapters::ValueType::Float64, 1, ""});
  const void* data[] = {a.data(), b.data()};
  w.append(13, data);
  w.commit();
  return path;
}

// Column values of an output table, as doubles.
std::vector<double> column(const std::string& path, const std::string& name) {
  gml::adapters::CatalogReader r(path);
  const auto map = r.bind("v=" + name);
  std::vector<double> v(static_cast<size_t>(r.nrows()));
  r.read(map, 0, r.nrows(), v.data(), nullptr);
  return v;
}

runs::CatalogRunOptions options() {
  runs::CatalogRunOptions o;
  o.n_samples = 64;
  o.seed = 11;
  o.model_checksum = "test";
  return o;
}

}  // namespace

TEST(CatalogRun, RowsInOrderFlaggedNeverDroppedAndIndependentOfWorkUnits) {
  const post::LoadedPosterior model = tiny_model();
  const std::string catalog = write_catalog();
  const std::string out = work_path("posterior.fits"), out_units = work_path("units.fits");
  runs::CatalogRunOptions o = options();
  runs::run_posterior_catalog(model, catalog, "a=A,b=B", o, out, nullptr, nullptr);
  o.chunk_rows = 3;  // five work units instead of one
  runs::run_posterior_catalog(model, catalog, "a=A,b=B", o, out_units, nullptr, nullptr);

  const std::vector<double> row = column(out, "ROW"), flags = column(out, "FLAGS"),
                            outside = column(out, "N_OUTSIDE"), median = column(out, "MASS_MEDIAN");
  ASSERT_EQ(row.size(), 13u);
  for (size_t i = 0; i < row.size(); ++i) EXPECT_EQ(row[i], static_cast<double>(i));
  EXPECT_EQ(flags[4], runs::kRowMissing);
  EXPECT_EQ(outside[4], -1) << "a missing row is not sampled";
  EXPECT_TRUE(std::isnan(median[4]));
  EXPECT_EQ(flags[9], runs::kRowOutsideTraining);
  EXPECT_TRUE(std::isfinite(median[9])) << "outside the training range: flagged, still sampled";
  for (size_t i : {0, 1, 2, 3, 5, 6, 7, 8, 10, 11, 12}) {
    EXPECT_EQ(flags[i], 0) << i;
    EXPECT_TRUE(std::isfinite(median[i])) << i;
    EXPECT_GE(outside[i], 0) << i;
  }
  // Each row draws from its own stream: the work units do not change a value.
  const std::vector<double> median_units = column(out_units, "MASS_MEDIAN");
  for (size_t i = 0; i < median.size(); ++i) {
    if (std::isnan(median[i])) {
      EXPECT_TRUE(std::isnan(median_units[i]));
    } else {
      EXPECT_EQ(median_units[i], median[i]) << i;
    }
  }
  EXPECT_EQ(column(out, "AGE_STD").size(), 13u) << "one set of summary columns per parameter";
  std::remove(out.c_str());
  std::remove(out_units.c_str());
}

TEST(CatalogRun, ARowRangeGivesTheSameRowsAsTheWholeRun) {
  const post::LoadedPosterior model = tiny_model();
  const std::string catalog = write_catalog();
  const std::string all = work_path("all.fits"), part = work_path("part.fits");
  runs::CatalogRunOptions o = options();
  runs::run_posterior_catalog(model, catalog, "a=A,b=B", o, all, nullptr, nullptr);
  o.first_row = 5;
  o.max_rows = 4;
  runs::run_posterior_catalog(model, catalog, "a=A,b=B", o, part, nullptr, nullptr);
  const std::vector<double> row = column(part, "ROW"), m = column(part, "AGE_P84"),
                            m_all = column(all, "AGE_P84");
  ASSERT_EQ(row.size(), 4u);
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(row[i], 5.0 + static_cast<double>(i));
    EXPECT_EQ(m[i], m_all[5 + i]) << "row " << 5 + i;
  }
  std::remove(all.c_str());
  std::remove(part.c_str());
}

TEST(CatalogRun, TruncationUsesExactlyNDrawsOrFlagsTheRow) {
  // A box prior on the first parameter that cuts the untrained model's
  // draws: every sampled row summarises n draws inside it. A box that no
  // draw reaches leaves the rows short, flagged and counted.
  post::LoadedPosterior model = tiny_model();
  post::PosteriorConfig cfg = model.flow->config();
  cfg.prior_lower = {-0.3, -50};
  cfg.prior_upper = {0.3, 50};
  post::PosteriorFlow boxed(cfg, 3);
  boxed->eval();
  model.flow = boxed;
  const std::string catalog = write_catalog();
  const std::string out = work_path("truncated.fits"), raw = work_path("raw.fits");
  runs::CatalogRunOptions o = options();
  runs::run_posterior_catalog(model, catalog, "a=A,b=B", o, out, nullptr, nullptr);
  o.truncate = 0;
  runs::run_posterior_catalog(model, catalog, "a=A,b=B", o, raw, nullptr, nullptr);
  const std::vector<double> flags = column(out, "FLAGS"), draws = column(out, "N_DRAWS"),
                            rejected = column(out, "N_OUTSIDE"), lo = column(out, "MASS_P16"),
                            hi = column(out, "MASS_P84"), raw_draws = column(raw, "N_DRAWS"),
                            raw_outside = column(raw, "N_OUTSIDE");
  double rejected_total = 0;
  for (size_t i = 0; i < flags.size(); ++i) {
    if (i == 4) {
      EXPECT_EQ(draws[i], 0) << "not sampled";
      continue;
    }
    EXPECT_EQ(static_cast<int>(flags[i]) & runs::kRowLowAcceptance, 0) << i;
    EXPECT_EQ(draws[i], 64) << i;
    EXPECT_GE(lo[i], -0.3) << i;
    EXPECT_LE(hi[i], 0.3) << i;
    EXPECT_GE(rejected[i], raw_outside[i]) << i;
    // Untruncated, the summaries use the draws that fall inside.
    EXPECT_EQ(raw_draws[i], 64 - raw_outside[i]) << i;
    rejected_total += rejected[i];
  }
  EXPECT_GT(rejected_total, 100) << "the box must cut off draws";
  std::remove(out.c_str());

  cfg.prior_lower = {40, 40};
  cfg.prior_upper = {41, 41};
  post::PosteriorFlow far(cfg, 3);
  far->eval();
  model.flow = far;
  o = options();
  o.min_acceptance = 0.25;
  runs::run_posterior_catalog(model, catalog, "a=A,b=B", o, out, nullptr, nullptr);
  const std::vector<double> far_flags = column(out, "FLAGS"), far_draws = column(out, "N_DRAWS"),
                            far_outside = column(out, "N_OUTSIDE"),
                            far_median = column(out, "MASS_MEDIAN");
  for (size_t i : {0, 3, 12}) {
    EXPECT_NE(static_cast<int>(far_flags[i]) & runs::kRowLowAcceptance, 0) << i;
    EXPECT_EQ(far_draws[i], 0) << i;
    EXPECT_EQ(far_outside[i], 256) << i << ": proposals stop at n / min_acceptance";
    EXPECT_TRUE(std::isnan(far_median[i])) << i;
  }
  std::remove(out.c_str());
  std::remove(raw.c_str());
}

TEST(CatalogRun, TheHeaderCarriesTheModelsCalibration) {
  // A model without a record says so (CALIB NONE); one whose record failed
  // gives the verdict and its figures, so the catalog carries its evidence.
  post::LoadedPosterior model = tiny_model();
  const std::string catalog = write_catalog(), out = work_path("calibrated.fits");
  runs::run_posterior_catalog(model, catalog, "a=A,b=B", options(), out, nullptr, nullptr);
  {
    auto f = gml::fits::FitsFile::open(out + "[POSTERIOR]");
    EXPECT_EQ(gml::fits::read_key_string(f, "CALIB"), "NONE");
  }
  std::remove(out.c_str());

  post::CalibrationRecord rec;
  rec.source = "validation simulations";
  rec.n_sims = 400;
  rec.n_samples = 300;
  rec.names = {"mass", "age"};
  rec.sbc_pvalue = {0.4, 0.002};
  rec.tarp_pvalue = 0.3;
  rec.tarp_atc = -1.5;
  model.extras.provenance = "{\"calibration\":" + rec.to_json_text() + "}";
  runs::run_posterior_catalog(model, catalog, "a=A,b=B", options(), out, nullptr, nullptr);
  {
    auto f = gml::fits::FitsFile::open(out + "[POSTERIOR]");
    EXPECT_EQ(gml::fits::read_key_string(f, "CALIB"), "FAIL");
    EXPECT_EQ(gml::fits::read_key_string(f, "CALNSIM"), "400");
    EXPECT_EQ(gml::fits::read_key_string(f, "CALNDRAW"), "300");
    EXPECT_EQ(std::stod(gml::fits::read_key_string(f, "CALSBCP")), 0.002);
    EXPECT_EQ(std::stod(gml::fits::read_key_string(f, "CALTARPP")), 0.3);
    const std::string note = gml::fits::read_key_string(f, "CALNOTE");
    EXPECT_EQ(note, rec.verdict());
    EXPECT_NE(note.find("FAILED"), std::string::npos) << note;
    EXPECT_NE(note.find("(age)"), std::string::npos) << note;
    EXPECT_EQ(note.find("(mass)"), std::string::npos) << note << ": mass passed";
  }
  std::remove(out.c_str());
  std::remove(catalog.c_str());
}

TEST(CatalogRun, BadOptionsMappingsAndCancellationLeaveNoOutput) {
  const post::LoadedPosterior model = tiny_model();
  const std::string catalog = write_catalog();
  const std::string out = work_path("never.fits");
  runs::CatalogRunOptions o = options();
  EXPECT_THROW(runs::run_posterior_catalog(model, catalog, "a=A", o, out, nullptr, nullptr),
               gml::Error)
      << "one mapped value for a model of x_dim 2";
  o.n_samples = 1;
  EXPECT_THROW(runs::run_posterior_catalog(model, catalog, "a=A,b=B", o, out, nullptr, nullptr),
               gml::Error);
  o = options();
  o.first_row = 14;
  EXPECT_THROW(runs::run_posterior_catalog(model, catalog, "a=A,b=B", o, out, nullptr, nullptr),
               gml::Error);
  gml::RunControl control;
  control.request_cancel();
  try {
    runs::run_posterior_catalog(model, catalog, "a=A,b=B", options(), out, nullptr, &control);
    ADD_FAILURE() << "a cancelled run returned";
  } catch (const gml::Error& e) {
    EXPECT_EQ(e.status(), gml::Status::Cancelled);
  }
  EXPECT_FALSE(exists(out));
  std::remove(catalog.c_str());
}

namespace {

// A backend of two ranks in which this process is rank 0 and the other
// rank's contribution to every sum is given.
class TwoRanks : public gml::dist::Backend {
 public:
  explicit TwoRanks(double other) : other_(other) {}
  std::string name() const override { return "two-ranks"; }
  int rank() const override { return 0; }
  int size() const override { return 2; }
  void barrier() override {}
  void broadcast(void*, size_t, int) override {}
  void allreduce_sum(float* data, size_t n) override {
    for (size_t i = 0; i < n; ++i) data[i] += i == 1 ? static_cast<float>(other_) : 0.0f;
  }
  void allreduce_sum(double* data, size_t n) override {
    ++reductions;
    for (size_t i = 0; i < n; ++i) data[i] += i == 1 ? other_ : 0.0;
  }
  std::vector<int64_t> allgather(int64_t value) override { return {value, value}; }
  std::vector<char> gather_bytes(const void*, size_t, int) override { return {}; }
  [[noreturn]] void abort(int, const std::string& message) override {
    throw std::runtime_error(message);
  }
  int reductions = 0;

 private:
  double other_;
};

}  // namespace

TEST(RankAgreement, AFailureOnAnyRankStopsEveryRankAndTheFailedOneKeepsItsError) {
  TwoRanks fine(0.0);
  int runs_done = 0;
  gml::dist::on_all_ranks(fine, "work", [&] { ++runs_done; });
  EXPECT_EQ(runs_done, 1);
  EXPECT_EQ(fine.reductions, 1) << "one collective, failure or not";

  TwoRanks other_failed(1.0);
  try {
    gml::dist::on_all_ranks(other_failed, "the checkpoint", [] {});
    ADD_FAILURE() << "rank 0 went on although rank 1 failed";
  } catch (const gml::Error& e) {
    EXPECT_EQ(e.status(), gml::Status::Backend);
    EXPECT_NE(std::string(e.what()).find("the checkpoint failed on rank 1 of 2"), std::string::npos)
        << e.what();
  }

  TwoRanks both_failed(1.0);
  try {
    gml::dist::on_all_ranks(both_failed, "io",
                            [] { gml::fail(gml::Status::Io, "disk full on rank 0"); });
    ADD_FAILURE() << "the failing rank returned";
  } catch (const gml::Error& e) {
    EXPECT_EQ(e.status(), gml::Status::Io) << "the failed rank keeps its own status";
    EXPECT_EQ(both_failed.reductions, 1) << "it still joined the collective";
  }
}

#include "runs/posterior/catalog_run.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "adapters/catalog.h"
#include "adapters/hdf5_writer.h"
#include "adapters/table_writer.h"
#include "core/common/error.h"
#include "core/common/progress.h"
#include "core/common/runtime.h"
#include "core/distributed/backend.h"
#include "core/distributed/rank_agreement.h"
#include "core/posterior/calibration_record.h"
#include "core/posterior/posterior_sampling.h"
#include "core/posterior/sed/support.h"
#include "core/posterior/truncated_sampling.h"
#include "runs/posterior/posterior_runs.h"

namespace gml::runs {
namespace {

namespace post = gml::posterior;

std::string keyword_figure(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4g", v);
  return buf;
}

// CALIB is PASS, FAIL or NONE (no record); the figures follow
// CalibrationRecord, and CALNOTE is its one-line verdict.
void write_calibration_keywords(adapters::TableWriter& table, const post::CalibrationRecord& c,
                                bool has_record) {
  if (!has_record) {
    table.set_keyword("CALIB", "NONE", "the model carries no calibration record");
    return;
  }
  table.set_keyword("CALIB", c.passed() ? "PASS" : "FAIL", "model calibration (SBC and TARP)");
  table.set_keyword("CALNSIM", std::to_string(c.n_sims), "calibration simulations");
  table.set_keyword("CALNDRAW", std::to_string(c.n_samples), "calibration draws per simulation");
  table.set_keyword("CALSBCP",
                    keyword_figure(c.sbc_pvalue.empty() ? 0 : c.sbc_pvalue[c.worst_parameter()]),
                    "smallest SBC KS p-value over parameters");
  table.set_keyword("CALTARPP", keyword_figure(c.tarp_pvalue), "TARP KS p-value");
  table.set_keyword("CALATC", keyword_figure(c.tarp_atc), "TARP ATC (<0: over-confident)");
  table.set_keyword("CALPASSP", keyword_figure(post::CalibrationRecord::kPassPvalue),
                    "pass: every p-value above this");
  table.set_keyword("CALNOTE", c.verdict(), "calibration verdict");
}

// One work unit's results, packed for the gather to rank 0.
struct UnitResult {
  int64_t first_row = 0, rows = 0;
  std::vector<int32_t> flags;
  std::vector<int64_t> outside;
  std::vector<int64_t> draws;   // draws the summaries use
  std::vector<double> x;        // rows * x_dim
  std::vector<double> summary;  // rows * theta_dim * 5
  std::vector<float> samples;   // rows * n_samples * theta_dim, when kept
};

template <typename T>
void put(std::vector<char>& out, const std::vector<T>& v) {
  const int64_t n = static_cast<int64_t>(v.size());
  out.insert(out.end(), reinterpret_cast<const char*>(&n), reinterpret_cast<const char*>(&n + 1));
  out.insert(out.end(), reinterpret_cast<const char*>(v.data()),
             reinterpret_cast<const char*>(v.data() + v.size()));
}

template <typename T>
void take(const char*& p, std::vector<T>& v) {
  int64_t n = 0;
  std::memcpy(&n, p, sizeof n);
  p += sizeof n;
  v.resize(static_cast<size_t>(n));
  // An empty vector's data() may be null, which memcpy must not see.
  if (n > 0) std::memcpy(v.data(), p, static_cast<size_t>(n) * sizeof(T));
  p += static_cast<size_t>(n) * sizeof(T);
}

std::vector<char> pack(const UnitResult& r) {
  std::vector<char> out;
  put(out, std::vector<int64_t>{r.first_row, r.rows});
  put(out, r.flags);
  put(out, r.outside);
  put(out, r.draws);
  put(out, r.x);
  put(out, r.summary);
  put(out, r.samples);
  return out;
}

// Unpacks the concatenated packets of all ranks, in rank order.
std::vector<UnitResult> unpack_all(const std::vector<char>& bytes) {
  std::vector<UnitResult> out;
  const char* p = bytes.data();
  const char* end = p + bytes.size();
  while (p < end) {
    UnitResult r;
    std::vector<int64_t> head;
    take(p, head);
    r.first_row = head.at(0);
    r.rows = head.at(1);
    take(p, r.flags);
    take(p, r.outside);
    take(p, r.draws);
    take(p, r.x);
    take(p, r.summary);
    take(p, r.samples);
    out.push_back(std::move(r));
  }
  return out;
}

// x and flags for catalog rows, by the model's observation kind.
void observations(const post::PosteriorConfig& cfg, const post::LoadedPosterior& lp,
                  const std::vector<double>& raw, const std::vector<int32_t>& read_flags,
                  int64_t rows, int64_t n_out, UnitResult& r) {
  const int64_t c = cfg.x_dim;
  r.x.assign(static_cast<size_t>(rows * c), std::nan(""));
  r.flags.assign(static_cast<size_t>(rows), 0);
  sed::CatalogCalibration cal;
  if (cfg.observation == "sed_ugriz" && !cfg.prior_lower.empty()) {
    // The redshift prior is the simulator's; the training set records the
    // x range it produced, whose z column bounds it.
    if (lp.extras.x_train_min.defined()) {
      cal.z_min = lp.extras.x_train_min[sed::kObsRedshift].item<double>();
      cal.z_max = lp.extras.x_train_max[sed::kObsRedshift].item<double>();
    }
  }
  for (int64_t i = 0; i < rows; ++i) {
    const double* v = raw.data() + i * n_out;
    double* x = r.x.data() + i * c;
    int32_t flag = 0;
    if (cfg.observation == "sed_ugriz") {
      // Null cells were read as NaN and are caught by the conversion.
      flag = sed::observation_from_catalog(v, v + 5, v[10], n_out == 16 ? v + 11 : nullptr, cal, x);
    } else {
      std::copy(v, v + c, x);
      if (read_flags[static_cast<size_t>(i)] != 0) flag |= kRowMissing;
      for (int64_t j = 0; j < c; ++j) {
        if (!std::isfinite(x[j])) flag |= kRowMissing;
      }
    }
    if (flag == 0 && lp.extras.x_train_min.defined()) {
      const at::Tensor lo = lp.extras.x_train_min, hi = lp.extras.x_train_max;
      for (int64_t j = 0; j < c; ++j) {
        if (x[j] < lo[j].item<double>() || x[j] > hi[j].item<double>()) {
          flag |= kRowOutsideTraining;
        }
      }
    }
    r.flags[static_cast<size_t>(i)] = flag;
  }
  // SED observations: also the nearest-neighbour support of the training
  // simulations (sed/support.h), which catches colour combinations no
  // simulation produced even when every magnitude is within range.
  const at::Tensor& support = lp.extras.support_x;
  if (cfg.observation == "sed_ugriz" && support.defined() &&
      support.size(0) >= 2 * sed::SupportOptions().holdout_every) {
    std::vector<int64_t> rows_checked;
    std::vector<double> xs;
    for (int64_t i = 0; i < rows; ++i) {
      if (r.flags[static_cast<size_t>(i)] != 0) continue;
      rows_checked.push_back(i);
      xs.insert(xs.end(), r.x.begin() + i * c, r.x.begin() + (i + 1) * c);
    }
    if (!rows_checked.empty()) {
      const at::Tensor sx = support.contiguous();
      const sed::SupportResult sr = sed::check_support(sx.data_ptr<double>(), sx.size(0), xs.data(),
                                                       static_cast<int64_t>(rows_checked.size()));
      for (size_t k = 0; k < rows_checked.size(); ++k) {
        if (!sr.inside[k]) {
          r.flags[static_cast<size_t>(rows_checked[k])] |= kRowOutsideTraining;
        }
      }
    }
  }
}

UnitResult process_unit(const post::LoadedPosterior& lp, adapters::CatalogReader& reader,
                        const adapters::BoundMapping& map, int64_t first, int64_t rows,
                        const CatalogRunOptions& o, bool keep_samples,
                        const std::optional<post::TruncationOptions>& truncation) {
  const post::PosteriorConfig& cfg = lp.flow->config();
  const int64_t n_out = map.n_outputs(), d = cfg.theta_dim, c = cfg.x_dim;
  UnitResult r;
  r.first_row = first;
  r.rows = rows;
  std::vector<double> raw(static_cast<size_t>(rows * n_out));
  std::vector<int32_t> read_flags(static_cast<size_t>(rows));
  reader.read(map, first, rows, raw.data(), read_flags.data());
  observations(cfg, lp, raw, read_flags, rows, n_out, r);
  r.outside.assign(static_cast<size_t>(rows), -1);
  r.draws.assign(static_cast<size_t>(rows), 0);
  r.summary.assign(static_cast<size_t>(rows * d * post::kSummaryColumns), std::nan(""));
  if (keep_samples) r.samples.assign(static_cast<size_t>(rows * o.n_samples * d), std::nanf(""));
  // Rows that can be sampled: no flag but "outside training".
  std::vector<int64_t> usable;
  for (int64_t i = 0; i < rows; ++i) {
    if ((r.flags[static_cast<size_t>(i)] & ~kRowOutsideTraining) == 0) {
      usable.push_back(i);
    }
  }
  // Each usable row draws from its own stream (seed, global row), so the
  // result does not depend on which rank or unit holds it.
  if (usable.empty()) return r;
  std::vector<int64_t> ids;
  at::Tensor xs = at::empty({static_cast<int64_t>(usable.size()), c}, at::kDouble);
  for (size_t u = 0; u < usable.size(); ++u) {
    ids.push_back(first + usable[u]);
    xs[static_cast<int64_t>(u)].copy_(at::from_blob(r.x.data() + usable[u] * c, {c}, at::kDouble));
  }
  post::PosteriorFlow flow = lp.flow;  // a shared handle; sampling does not modify it
  post::PosteriorDraws dr =
      truncation ? post::draw_posterior_truncated(flow, xs, o.n_samples, o.seed, ids, *truncation)
                 : post::draw_posterior(flow, xs, o.n_samples, o.seed, ids);
  const at::Tensor s = post::summarize_draws(dr).contiguous();
  const at::Tensor outside = dr.outside.to(at::kLong).contiguous();
  const at::Tensor used = dr.inside.sum(1).to(at::kLong).contiguous();
  const at::Tensor f = keep_samples ? dr.theta.to(at::kFloat).contiguous() : at::Tensor();
  const int64_t per_summary = d * post::kSummaryColumns, per_draws = o.n_samples * d;
  for (size_t u = 0; u < usable.size(); ++u) {
    const int64_t i = usable[u];
    std::memcpy(r.summary.data() + i * per_summary,
                s.data_ptr<double>() + static_cast<int64_t>(u) * per_summary,
                static_cast<size_t>(per_summary) * sizeof(double));
    r.outside[static_cast<size_t>(i)] = outside.data_ptr<int64_t>()[u];
    r.draws[static_cast<size_t>(i)] = used.data_ptr<int64_t>()[u];
    if (truncation && used.data_ptr<int64_t>()[u] < o.n_samples) {
      r.flags[static_cast<size_t>(i)] |= kRowLowAcceptance;
    }
    if (keep_samples) {
      std::memcpy(r.samples.data() + i * per_draws,
                  f.data_ptr<float>() + static_cast<int64_t>(u) * per_draws,
                  static_cast<size_t>(per_draws) * sizeof(float));
    }
  }
  return r;
}

}  // namespace

void run_posterior_catalog(const posterior::LoadedPosterior& lp, const std::string& catalog_path,
                           const std::string& mapping, const CatalogRunOptions& o,
                           const std::string& out_path, dist::Backend* backend,
                           RunControl* control) {
  require(o.n_samples >= 2, "n_samples must be >= 2");
  require(o.first_row >= 0 && o.max_rows >= 0 && o.chunk_rows >= 0,
          "first_row, max_rows and chunk_rows must be >= 0");
  const post::PosteriorConfig& cfg = lp.flow->config();
  adapters::CatalogReader reader(catalog_path, o.hdu);
  const adapters::BoundMapping map = reader.bind(mapping);
  if (cfg.observation == "sed_ugriz") {
    require(map.n_outputs() == 11 || map.n_outputs() == 16,
            "this model builds x from 5 fluxes, 5 inverse variances and z (11 mapped values), "
            "optionally plus 5 extinctions (16); the mapping gives " +
                std::to_string(map.n_outputs()));
  } else {
    require(map.n_outputs() == cfg.x_dim,
            "the mapping gives " + std::to_string(map.n_outputs()) +
                " values; the model needs x_dim = " + std::to_string(cfg.x_dim));
  }
  const int64_t total_rows = reader.nrows();
  require(o.first_row <= total_rows, "first_row is past the end of the catalog");
  const int64_t n_rows =
      o.max_rows > 0 ? std::min(o.max_rows, total_rows - o.first_row) : total_rows - o.first_row;
  const int64_t unit =
      o.chunk_rows > 0 ? o.chunk_rows : std::max<int64_t>(1, 1000000 / o.n_samples);
  const int64_t units = (n_rows + unit - 1) / unit;
  const int rank = backend ? backend->rank() : 0;
  const int size = backend ? backend->size() : 1;
  const bool root = rank == 0;
  const bool keep_samples = !o.samples_path.empty();
  const int64_t d = cfg.theta_dim, cx = cfg.x_dim;
  const std::optional<post::TruncationOptions> truncation =
      truncation_for(cfg, o.truncate, o.min_acceptance);
  int64_t short_rows = 0;
  // The catalog carries the model's own evidence of calibration, and a run
  // of an uncalibrated model says so once, in one line.
  post::CalibrationRecord calibration;
  const bool has_calibration = post::calibration_from_provenance(lp.extras.provenance, calibration);
  if (root) {
    if (!has_calibration) {
      gml::log(gml::LogLevel::Warning,
               "posterior run: the model carries no calibration record (trained by an older "
               "library, or on too few simulations); check it with gml-posterior diagnose");
    } else if (!calibration.passed()) {
      gml::log(gml::LogLevel::Warning, "posterior run: model " + calibration.verdict());
    }
  }

  std::unique_ptr<adapters::TableWriter> table;
  std::unique_ptr<adapters::Hdf5SampleWriter> samples;
  int samples_id = -1;
  // Rank 0 opens the outputs; a failure there stops every rank, not only it.
  const auto open_outputs = [&] {
    if (root) {
      adapters::Provenance prov;
      prov.input_file = catalog_path;
      prov.command_line = "gml_posterior_run_catalog " + mapping;
      prov.model_checksum = o.model_checksum;
      table = std::make_unique<adapters::TableWriter>(out_path, "POSTERIOR", prov);
      using adapters::ValueType;
      table->add_column({"ROW", ValueType::Int64, 1, ""});
      table->add_column({"FLAGS", ValueType::Int32, 1, ""});
      table->add_column({"N_OUTSIDE", ValueType::Int64, 1, ""});
      table->add_column({"N_DRAWS", ValueType::Int64, 1, ""});
      table->add_column({"X", ValueType::Float64, cx, ""});
      static const char* kSuffix[] = {"_MEDIAN", "_P16", "_P84", "_MEAN", "_STD"};
      for (int64_t j = 0; j < d; ++j) {
        std::string name = j < static_cast<int64_t>(cfg.theta_names.size())
                               ? cfg.theta_names[static_cast<size_t>(j)]
                               : "THETA" + std::to_string(j);
        for (char& ch : name) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
        for (const char* suffix : kSuffix)
          table->add_column({name + suffix, ValueType::Float64, 1, ""});
      }
      table->set_keyword("NSAMPLES", std::to_string(o.n_samples), "posterior draws per galaxy");
      table->set_keyword("GMLSEED", std::to_string(o.seed), "seed of the draws");
      table->set_keyword("TRUNCATE", truncation ? "T" : "F",
                         "draws outside the prior's support replaced");
      write_calibration_keywords(*table, calibration, has_calibration);
      if (keep_samples) {
        samples = std::make_unique<adapters::Hdf5SampleWriter>(o.samples_path);
        samples_id = samples->add_dataset("samples", {o.n_samples, d});
      }
    }
  };
  if (backend) {
    dist::on_all_ranks(*backend, "opening the outputs of the catalog run", open_outputs);
  } else {
    open_outputs();
  }

  Progress progress(root ? control : nullptr, "posterior", n_rows, "galaxies");
  const int64_t rounds = (units + size - 1) / size;
  for (int64_t round = 0; round < rounds; ++round) {
    // Unit k goes to rank k mod size: rank order within a round is row order.
    const int64_t k = round * size + rank;
    UnitResult mine;
    const auto work = [&] {
      if (root) progress.check_cancel();
      if (k < units) {
        const int64_t first = o.first_row + k * unit;
        const int64_t rows = std::min(unit, o.first_row + n_rows - first);
        mine = process_unit(lp, reader, map, first, rows, o, keep_samples, truncation);
      }
    };
    if (backend) {
      dist::on_all_ranks(*backend, "a work unit of the catalog run", work);
    } else {
      work();
    }
    const std::vector<char> packet = pack(mine);
    const std::vector<char> all =
        size > 1 ? backend->gather_bytes(packet.data(), packet.size(), 0) : packet;
    if (!root) continue;
    for (UnitResult& r : unpack_all(all)) {
      if (r.rows == 0) continue;
      std::vector<int64_t> row_ids(static_cast<size_t>(r.rows));
      for (int64_t i = 0; i < r.rows; ++i) row_ids[static_cast<size_t>(i)] = r.first_row + i;
      // Per-parameter summary columns from the (rows, d, 5) block.
      std::vector<std::vector<double>> cols(static_cast<size_t>(d * post::kSummaryColumns),
                                            std::vector<double>(static_cast<size_t>(r.rows)));
      for (int64_t i = 0; i < r.rows; ++i) {
        for (int64_t j = 0; j < d * post::kSummaryColumns; ++j) {
          cols[static_cast<size_t>(j)][static_cast<size_t>(i)] =
              r.summary[static_cast<size_t>(i * d * post::kSummaryColumns + j)];
        }
      }
      for (int32_t f : r.flags) short_rows += (f & kRowLowAcceptance) != 0;
      std::vector<const void*> data = {row_ids.data(), r.flags.data(), r.outside.data(),
                                       r.draws.data(), r.x.data()};
      for (const auto& col : cols) data.push_back(col.data());
      table->append(r.rows, data.data());
      if (samples) samples->append(samples_id, r.rows, r.samples.data());
      progress.update(r.first_row - o.first_row + r.rows);
    }
  }
  if (root) {
    progress.finish();
    if (short_rows > 0) {
      gml::log(gml::LogLevel::Warning, "posterior catalog run: " + std::to_string(short_rows) +
                                           " rows kept fewer than " + std::to_string(o.n_samples) +
                                           " draws inside the prior (FLAGS bit 16, N_DRAWS)");
    }
    if (samples) samples->commit(catalog_path, mapping, o.model_checksum);
    table->commit();
  }
  if (size > 1) backend->barrier();
}

}  // namespace gml::runs

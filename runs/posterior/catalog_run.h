// A posterior catalog run: posteriors for every row of a FITS catalog, in
// one process or across the ranks of a backend, written as one FITS table in
// input order (and optionally every draw to HDF5). The C ABI's
// gml_posterior_run_catalog() is this run behind argument checks.
#pragma once

#include <cstdint>
#include <string>

#include "core/posterior/posterior_file.h"
#include "core/posterior/sed/observation.h"
#include "runs/fwd.h"

namespace gml::runs {

// Bits of the output table's FLAGS column. They are the SED observation
// flags (the C header's GML_POSTERIOR_FLAG_* are tied to them).
enum PosteriorRowFlag : int32_t {
  kRowMissing = sed::kObsFlagFluxMissing,      // a mapped value null or non-finite
  kRowBadIvar = sed::kObsFlagIvarNonPositive,  // an inverse variance <= 0
  kRowZOutsidePrior = sed::kObsFlagRedshiftOutOfRange,
  kRowOutsideTraining = sed::kObsFlagOutsideSupport,  // sampled, but extrapolated
  kRowLowAcceptance = 16,                             // truncation kept fewer than n_samples draws
};

struct CatalogRunOptions {
  int64_t n_samples = 10000;  // draws per galaxy (SEDflow's)
  uint64_t seed = 0;          // row i's draws depend only on (seed, i)
  std::string hdu;            // empty: the first table
  std::string samples_path;   // empty: draws are not kept
  int64_t chunk_rows = 0;     // galaxies per work unit; 0: about 10^6 draws
  int64_t first_row = 0;
  int64_t max_rows = 0;        // 0: to the end
  std::string model_checksum;  // recorded as provenance
  // Truncation to the prior's support: -1 where the prior has a bound, 1
  // always, 0 never (summaries then use the draws that fall inside).
  int truncate = -1;
  double min_acceptance = 1e-3;
};

// Throws gml::Error: InvalidArgument for options or a mapping that do not fit
// the model, the adapters' errors for the files, Cancelled, and Backend when
// another rank failed (the failed rank keeps its own error). `backend` may
// be null (one process); `control` may be null (no progress or cancel), and
// only rank 0 reports progress.
void run_posterior_catalog(const posterior::LoadedPosterior& model, const std::string& catalog_path,
                           const std::string& mapping, const CatalogRunOptions& options,
                           const std::string& out_path, dist::Backend* backend,
                           RunControl* control);

}  // namespace gml::runs

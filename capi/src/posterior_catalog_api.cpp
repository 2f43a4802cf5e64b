// gml_posterior_run_catalog: the C skin of runs/posterior/catalog_run.
#include <cstring>
#include <string>

#include "capi/src/model_call.h"
#include "runs/posterior/posterior_runs.h"

namespace {

namespace runs = gml::runs;
namespace post = gml::posterior;

constexpr int flag_bit(int bit) {
  return bit;
}
// The published flags and summary columns are the run's and the core's.
static_assert(flag_bit(GML_POSTERIOR_FLAG_MISSING) == flag_bit(runs::kRowMissing) &&
              flag_bit(GML_POSTERIOR_FLAG_BAD_IVAR) == flag_bit(runs::kRowBadIvar) &&
              flag_bit(GML_POSTERIOR_FLAG_Z_OUTSIDE_PRIOR) == flag_bit(runs::kRowZOutsidePrior) &&
              flag_bit(GML_POSTERIOR_FLAG_OUTSIDE_TRAINING) == flag_bit(runs::kRowOutsideTraining));
static_assert(flag_bit(GML_SUMMARY_MEDIAN) == flag_bit(post::kMedian) &&
              flag_bit(GML_SUMMARY_P16) == flag_bit(post::kP16) &&
              flag_bit(GML_SUMMARY_P84) == flag_bit(post::kP84) &&
              flag_bit(GML_SUMMARY_MEAN) == flag_bit(post::kMean) &&
              flag_bit(GML_SUMMARY_STD) == flag_bit(post::kStd) &&
              flag_bit(GML_SUMMARY_COLUMNS) == flag_bit(post::kSummaryColumns));

}  // namespace

using gml::require;
using gml::capi::model_call;

extern "C" {

GML_API void gml_posterior_run_options_default(gml_posterior_run_options* opts) {
  if (!opts) return;
  const runs::CatalogRunOptions d;
  std::memset(opts, 0, sizeof *opts);
  opts->struct_size = sizeof *opts;
  opts->n_samples = d.n_samples;
  opts->seed = d.seed;
  opts->chunk_rows = d.chunk_rows;
  opts->first_row = d.first_row;
  opts->max_rows = d.max_rows;
}

GML_API gml_status gml_posterior_run_catalog(gml_context* ctx, const gml_model* model,
                                             const char* catalog_path, const char* mapping,
                                             const gml_posterior_run_options* opts,
                                             const char* out_path) {
  return model_call(
      "gml_posterior_run_catalog", ctx, model, "posterior",
      [&](gml_context& c, const gml_model& m) {
        require(catalog_path != nullptr && *catalog_path, "catalog_path must not be NULL or empty");
        require(mapping != nullptr && *mapping, "mapping must not be NULL or empty");
        require(out_path != nullptr && *out_path, "out_path must not be NULL or empty");
        const auto o = gml::capi::read_options(opts, gml_posterior_run_options_default);
        require(o.n_samples >= 2, "opts->n_samples must be >= 2");
        require(o.first_row >= 0 && o.max_rows >= 0 && o.chunk_rows >= 0,
                "opts->first_row, max_rows and chunk_rows must be >= 0");
        runs::CatalogRunOptions r;
        r.n_samples = o.n_samples;
        r.seed = gml::capi::seed_for(c, o.seed);
        r.hdu = o.hdu ? o.hdu : "";
        r.samples_path = o.samples_path ? o.samples_path : "";
        r.chunk_rows = o.chunk_rows;
        r.first_row = o.first_row;
        r.max_rows = o.max_rows;
        r.model_checksum = m.checksum;
        runs::run_posterior_catalog(gml::capi::loaded_as<post::LoadedPosterior>(m), catalog_path,
                                    mapping, r, out_path, c.backend.get(), &c.control);
      });
}

}  // extern "C"

// gml_posterior_run_catalog: the C skin of runs/posterior/catalog_run.
#include <cstring>
#include <string>

#include "capi/src/model_call.h"
#include "runs/posterior/posterior_runs.h"

namespace {

namespace runs = gml::runs;
namespace post = gml::posterior;

// The published flags and summary columns are the run's and the core's.
static_assert(gml::capi::values_agree(
    {GML_POSTERIOR_FLAG_MISSING, GML_POSTERIOR_FLAG_BAD_IVAR, GML_POSTERIOR_FLAG_Z_OUTSIDE_PRIOR,
     GML_POSTERIOR_FLAG_OUTSIDE_TRAINING, GML_POSTERIOR_FLAG_LOW_ACCEPTANCE},
    {runs::kRowMissing, runs::kRowBadIvar, runs::kRowZOutsidePrior, runs::kRowOutsideTraining,
     runs::kRowLowAcceptance}));
static_assert(gml::capi::values_agree({GML_SUMMARY_MEDIAN, GML_SUMMARY_P16, GML_SUMMARY_P84,
                                       GML_SUMMARY_MEAN, GML_SUMMARY_STD, GML_SUMMARY_COLUMNS},
                                      {post::kMedian, post::kP16, post::kP84, post::kMean,
                                       post::kStd, post::kSummaryColumns}));

// gml_posterior_run_options fields that are CatalogRunOptions fields.
// clang-format off
#define GML_CATALOG_RUN_FIELDS(X) \
  X(n_samples, n_samples) X(chunk_rows, chunk_rows) \
  X(first_row, first_row) X(max_rows, max_rows) \
  X(truncate, truncate) X(min_acceptance, min_acceptance)
// clang-format on
constexpr auto kCatalogRunFields = GML_FIELD_LINKS(GML_CATALOG_RUN_FIELDS);

}  // namespace

using gml::require;
using gml::capi::model_call;

extern "C" {

GML_API void gml_posterior_run_options_default(gml_posterior_run_options* opts) {
  if (!gml::capi::start_defaults(opts)) return;
  const runs::CatalogRunOptions d;
  gml::capi::publish_fields(kCatalogRunFields, *opts, d);
  opts->seed = d.seed;
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
        require(o.truncate >= -1 && o.truncate <= 1, "opts->truncate must be -1, 0 or 1");
        require(o.min_acceptance > 0 && o.min_acceptance <= 1,
                "opts->min_acceptance must be in (0, 1]");
        runs::CatalogRunOptions r;
        gml::capi::receive_fields(kCatalogRunFields, o, r);
        r.seed = gml::capi::seed_for(c, o.seed);
        r.hdu = o.hdu ? o.hdu : "";
        r.samples_path = o.samples_path ? o.samples_path : "";
        r.model_checksum = m.checksum();
        runs::run_posterior_catalog(gml::capi::loaded_as<post::LoadedPosterior>(m), catalog_path,
                                    mapping, r, out_path, c.backend.get(), &c.control);
      });
}

}  // extern "C"

// C entry points of the cutout section: postage stamps into caller buffers
// or FITS files, and reading of ready-made cutout cubes.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "adapters/cutout.h"
#include "adapters/image_writer.h"
#include "capi/src/context_impl.h"
#include "capi/src/firewall.h"
#include "capi/src/options.h"
#include "core/common/error.h"
#include "core/common/progress.h"

namespace {

namespace ad = gml::adapters;

// Stamps cut per pass of gml_cutouts_write(): bounds its memory.
constexpr int64_t kWriteBatchBytes = int64_t{256} << 20;

struct Request {
  std::vector<std::string> paths;
  ad::CutoutSpec spec;
  ad::PositionKind kind = ad::PositionKind::Sky;
  ad::StampLayout layout = ad::StampLayout::HduPerStamp;
  bool write_mask = true;
  bool need_wcs() const { return kind == ad::PositionKind::Sky || spec.size_arcsec > 0; }
};

Request parse(const char* const* image_paths, int32_t n_bands, const gml_cutout_options* opts) {
  gml::require(image_paths != nullptr, "image_paths must not be NULL");
  gml::require(n_bands >= 1, "n_bands must be >= 1");
  Request r;
  for (int32_t b = 0; b < n_bands; ++b) {
    gml::require(image_paths[b] != nullptr && *image_paths[b] != '\0',
                 "image_paths[" + std::to_string(b) + "] must be a non-empty path");
    r.paths.emplace_back(image_paths[b]);
  }
  const auto o = gml::capi::read_options(opts, gml_cutout_options_default);
  gml::require(o.position_type == GML_CUTOUT_SKY || o.position_type == GML_CUTOUT_PIXEL,
               "opts->position_type must be GML_CUTOUT_SKY or GML_CUTOUT_PIXEL");
  gml::require(o.resample >= GML_RESAMPLE_NONE && o.resample <= GML_RESAMPLE_BILINEAR,
               "opts->resample must be one of GML_RESAMPLE_*");
  gml::require(o.layout == GML_CUTOUT_LAYOUT_HDU_PER_STAMP || o.layout == GML_CUTOUT_LAYOUT_CUBE,
               "opts->layout must be one of GML_CUTOUT_LAYOUT_*");
  gml::require(o.chunk_rows >= 0, "opts->chunk_rows must be >= 0");
  r.kind = o.position_type == GML_CUTOUT_PIXEL ? ad::PositionKind::Pixel : ad::PositionKind::Sky;
  r.spec.size_x = o.width;
  r.spec.size_y = o.height;
  r.spec.size_arcsec = o.size_arcsec;
  r.spec.out_x = o.out_width;
  r.spec.out_y = o.out_height;
  r.spec.resample = static_cast<ad::Resample>(o.resample);
  r.spec.fill = o.fill_value;
  r.spec.chunk_rows = o.chunk_rows;
  r.layout = static_cast<ad::StampLayout>(o.layout);
  r.write_mask = o.write_mask != 0;
  return r;
}

int64_t stamp_elements(const ad::CutoutSource& src, const ad::CutoutPlan& plan) {
  return plan.out_w * plan.out_h * src.n_bands();
}

int64_t total_elements(int64_t n, int64_t per_stamp) {
  if (n > 0 && per_stamp > std::numeric_limits<int64_t>::max() / n) {
    gml::fail(gml::Status::InvalidArgument, "n stamps of this size overflow the address space");
  }
  return n * per_stamp;
}

gml::RunControl* control_of(gml_context* ctx) {
  return gml::capi::optional_context(ctx) ? &ctx->control : nullptr;
}

}  // namespace

using gml::capi::guard;

extern "C" {

GML_API void gml_cutout_options_default(gml_cutout_options* opts) {
  if (!gml::capi::start_defaults(opts)) return;
  opts->position_type = GML_CUTOUT_SKY;
  opts->width = 64;
  opts->height = 64;
  opts->size_arcsec = 0.0;
  opts->out_width = 0;
  opts->out_height = 0;
  opts->resample = GML_RESAMPLE_NONE;
  opts->fill_value = std::numeric_limits<float>::quiet_NaN();
  opts->layout = GML_CUTOUT_LAYOUT_HDU_PER_STAMP;
  opts->write_mask = 1;
  opts->chunk_rows = 0;
}

GML_API gml_status gml_cutouts_shape(const char* const* image_paths, int32_t n_bands,
                                     const gml_cutout_options* opts, int64_t* height,
                                     int64_t* width) {
  return guard("gml_cutouts_shape", [&] {
    gml::require(height != nullptr && width != nullptr, "height and width must not be NULL");
    const Request r = parse(image_paths, n_bands, opts);
    const ad::CutoutSource src(r.paths, r.need_wcs());
    const ad::CutoutPlan plan = src.plan(r.spec);
    *height = plan.out_h;
    *width = plan.out_w;
  });
}

GML_API gml_status gml_cutouts_extract(gml_context* ctx, const char* const* image_paths,
                                       int32_t n_bands, const double* ra, const double* dec,
                                       int64_t n, const gml_cutout_options* opts, float* stamps,
                                       size_t capacity, uint8_t* mask, int32_t* flags) {
  return guard("gml_cutouts_extract", [&] {
    gml::RunControl* control = control_of(ctx);
    gml::require(n >= 0, "n must be >= 0");
    gml::require(n == 0 || (ra && dec), "ra and dec must not be NULL when n > 0");
    gml::require(n == 0 || stamps, "stamps must not be NULL when n > 0");
    const Request r = parse(image_paths, n_bands, opts);
    ad::CutoutSource src(r.paths, r.need_wcs());
    const ad::CutoutPlan plan = src.plan(r.spec);
    const int64_t need = total_elements(n, stamp_elements(src, plan));
    if (capacity < static_cast<size_t>(need)) {
      gml::fail(gml::Status::Capacity, "capacity " + std::to_string(capacity) + " is below the " +
                                           std::to_string(need) +
                                           " elements of [n, n_bands, height, width]");
    }
    gml::Progress progress(control, "cutouts", n, "stamps");
    std::vector<ad::StampInfo> infos = src.locate(ra, dec, n, r.kind, plan);
    src.extract(infos, plan, r.spec, stamps, mask, &progress);
    progress.finish();
    if (flags) {
      for (int64_t i = 0; i < n; ++i) flags[i] = infos[static_cast<size_t>(i)].flags;
    }
  });
}

GML_API gml_status gml_cutouts_write(gml_context* ctx, const char* const* image_paths,
                                     int32_t n_bands, const double* ra, const double* dec,
                                     int64_t n, const gml_cutout_options* opts,
                                     const char* output_path, int32_t* flags) {
  return guard("gml_cutouts_write", [&] {
    gml::RunControl* control = control_of(ctx);
    gml::require(n >= 1, "n must be >= 1");
    gml::require(ra && dec, "ra and dec must not be NULL");
    gml::require(output_path != nullptr && *output_path != '\0',
                 "output_path must be a non-empty path");
    const Request r = parse(image_paths, n_bands, opts);
    ad::CutoutSource src(r.paths, r.need_wcs());
    const ad::CutoutPlan plan = src.plan(r.spec);
    const int64_t per_stamp = stamp_elements(src, plan);
    total_elements(n, per_stamp);
    const int64_t batch = std::clamp<int64_t>(
        kWriteBatchBytes / (per_stamp * static_cast<int64_t>(sizeof(float) + 1)), 1, n);

    // The table records sky positions also for stamps asked for by pixel.
    std::vector<double> sky_a(ra, ra + n), sky_b(dec, dec + n);
    if (r.kind == ad::PositionKind::Pixel) {
      if (src.wcs()) {
        gml::fits::Wcs w = src.wcs()->clone();
        w.pix2sky(ra, dec, static_cast<size_t>(n), sky_a.data(), sky_b.data(), nullptr,
                  gml::fits::Origin::Zero);
      } else {
        std::fill(sky_a.begin(), sky_a.end(), std::numeric_limits<double>::quiet_NaN());
        std::fill(sky_b.begin(), sky_b.end(), std::numeric_limits<double>::quiet_NaN());
      }
    }

    ad::StampWriter writer(output_path, src, plan, r.spec, n, r.layout, r.write_mask);
    gml::Progress progress(control, "cutouts", n, "stamps");
    std::vector<float> buf(static_cast<size_t>(batch * per_stamp));
    std::vector<uint8_t> mbuf(r.write_mask ? buf.size() : 0);
    std::vector<int32_t> all_flags(static_cast<size_t>(n));
    for (int64_t first = 0; first < n; first += batch) {
      const int64_t k = std::min(batch, n - first);
      std::vector<ad::StampInfo> infos = src.locate(ra + first, dec + first, k, r.kind, plan);
      src.extract(infos, plan, r.spec, buf.data(), r.write_mask ? mbuf.data() : nullptr, &progress,
                  first);
      writer.write(first, infos, buf.data(), r.write_mask ? mbuf.data() : nullptr,
                   sky_a.data() + first, sky_b.data() + first);
      for (int64_t j = 0; j < k; ++j) all_flags[static_cast<size_t>(first + j)] = infos[j].flags;
    }
    progress.finish();
    writer.commit();
    if (flags) std::copy(all_flags.begin(), all_flags.end(), flags);
  });
}

GML_API gml_status gml_cutouts_read_shape(const char* path, int64_t* shape) {
  return guard("gml_cutouts_read_shape", [&] {
    gml::require(path != nullptr, "path must not be NULL");
    gml::require(shape != nullptr, "shape must not be NULL");
    const ad::CubeShape s = ad::cutout_cube_shape(path);
    shape[0] = s.n;
    shape[1] = s.c;
    shape[2] = s.h;
    shape[3] = s.w;
  });
}

GML_API gml_status gml_cutouts_read(const char* path, float* out, size_t capacity) {
  return guard("gml_cutouts_read", [&] {
    gml::require(path != nullptr, "path must not be NULL");
    gml::require(out != nullptr, "out must not be NULL");
    const ad::CubeShape s = ad::cutout_cube_shape(path);
    if (capacity < static_cast<size_t>(s.size())) {
      gml::fail(gml::Status::Capacity, "capacity " + std::to_string(capacity) + " is below the " +
                                           std::to_string(s.size()) + " elements of the cube");
    }
    ad::read_cutout_cube(path, out, s.size());
  });
}

}  // extern "C"

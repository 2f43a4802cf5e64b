/*
 * dlopen_host: a survey-pipeline-style host in strict C99 that loads
 * libgalaxyml at run time and knows it only through galaxyml.h.
 *
 * It finds the brightest compact sources of the SDSS r-band frame, turns
 * their pixel positions into sky coordinates, and cuts 64 x 64 stamps around
 * them from the g, r and i frames into one FITS file with a WCS per stamp.
 *
 *   gml-dlopen-host [--lib LIBGALAXYML] [--data DATA_DIR] [--out OUT.fits]
 *                   [--n N]
 *
 * --lib   default: libgalaxyml.so.0 next to this program, then in ../lib,
 *         then the dynamic linker's search path.
 * --data  directory holding images/sdss_{g,r,i}.fits.gz (default: the
 *         source tree's data/).
 * --out   default: galaxyml_stamps.fits in the current directory.
 * --n     number of sources (default 32).
 *
 * Exit status 0 on success; otherwise one line on stderr says why.
 */
#include <dlfcn.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "galaxyml/galaxyml.h"

#ifndef GML_DATA_DIR
#define GML_DATA_DIR "data"
#endif

#define STAMP 64
#define PEAK_HALF 3  /* a peak is the maximum of its 7 x 7 neighbourhood */
#define MIN_SEP 10.0 /* pixels between accepted sources */
#define MAX_SOURCES 1024

typedef const char* (*gml_last_error_t)(void);
typedef int32_t (*gml_abi_version_t)(void);
typedef const char* (*gml_version_string_t)(void);
typedef gml_status (*gml_cutouts_read_shape_t)(const char*, int64_t*);
typedef gml_status (*gml_cutouts_read_t)(const char*, float*, size_t);
typedef gml_status (*gml_wcs_open_t)(const char*, const char*, gml_wcs**);
typedef void (*gml_wcs_free_t)(gml_wcs*);
typedef gml_status (*gml_wcs_pix2sky_t)(const gml_wcs*, const double*, const double*, int64_t,
                                        int32_t, double*, double*, int32_t*);
typedef gml_status (*gml_wcs_pixel_scale_t)(const gml_wcs*, double*);
typedef void (*gml_cutout_options_default_t)(gml_cutout_options*);
typedef gml_status (*gml_cutouts_write_t)(gml_context*, const char* const*, int32_t, const double*,
                                          const double*, int64_t, const gml_cutout_options*,
                                          const char*, int32_t*);
typedef void (*gml_context_options_default_t)(gml_context_options*);
typedef gml_status (*gml_context_create_t)(const gml_context_options*, gml_context**);
typedef void (*gml_context_free_t)(gml_context*);
typedef gml_status (*gml_context_set_progress_t)(gml_context*, gml_progress_fn, void*);

/* The C ABI as function pointers, filled from dlsym(). */
static struct {
  gml_last_error_t last_error;
  gml_abi_version_t abi_version;
  gml_version_string_t version_string;
  gml_cutouts_read_shape_t cutouts_read_shape;
  gml_cutouts_read_t cutouts_read;
  gml_wcs_open_t wcs_open;
  gml_wcs_free_t wcs_free;
  gml_wcs_pix2sky_t wcs_pix2sky;
  gml_wcs_pixel_scale_t wcs_pixel_scale;
  gml_cutout_options_default_t cutout_options_default;
  gml_cutouts_write_t cutouts_write;
  gml_context_options_default_t context_options_default;
  gml_context_create_t context_create;
  gml_context_free_t context_free;
  gml_context_set_progress_t context_set_progress;
} api;

/* ISO C forbids converting void* to a function pointer; go through memcpy. */
static int load(void* lib, const char* name, void* slot) {
  void* p = dlsym(lib, name);
  if (!p) {
    fprintf(stderr, "gml-dlopen-host: symbol %s missing from the library\n", name);
    return 0;
  }
  memcpy(slot, &p, sizeof p);
  return 1;
}

static int load_api(void* lib) {
  return load(lib, "gml_last_error", &api.last_error) &&
         load(lib, "gml_abi_version", &api.abi_version) &&
         load(lib, "gml_version_string", &api.version_string) &&
         load(lib, "gml_cutouts_read_shape", &api.cutouts_read_shape) &&
         load(lib, "gml_cutouts_read", &api.cutouts_read) &&
         load(lib, "gml_wcs_open", &api.wcs_open) && load(lib, "gml_wcs_free", &api.wcs_free) &&
         load(lib, "gml_wcs_pix2sky", &api.wcs_pix2sky) &&
         load(lib, "gml_wcs_pixel_scale", &api.wcs_pixel_scale) &&
         load(lib, "gml_cutout_options_default", &api.cutout_options_default) &&
         load(lib, "gml_cutouts_write", &api.cutouts_write) &&
         load(lib, "gml_context_options_default", &api.context_options_default) &&
         load(lib, "gml_context_create", &api.context_create) &&
         load(lib, "gml_context_free", &api.context_free) &&
         load(lib, "gml_context_set_progress", &api.context_set_progress);
}

/* The library is never dlclose()d: LibTorch does not survive unloading. */
static void* open_library(const char* explicit_path, const char* argv0) {
  static const char* const rel[] = {"/libgalaxyml.so.0", "/../lib/libgalaxyml.so.0"};
  char path[4096];
  void* lib;
  const char* slash;
  size_t i, dir_len;
  if (explicit_path) {
    lib = dlopen(explicit_path, RTLD_NOW | RTLD_LOCAL);
    if (!lib) fprintf(stderr, "gml-dlopen-host: dlopen: %s\n", dlerror());
    return lib;
  }
  slash = strrchr(argv0, '/');
  dir_len = slash ? (size_t)(slash - argv0) : 1;
  for (i = 0; i < sizeof rel / sizeof rel[0]; ++i) {
    if (dir_len + strlen(rel[i]) + 1 > sizeof path) continue;
    memcpy(path, slash ? argv0 : ".", dir_len);
    strcpy(path + dir_len, rel[i]);
    lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (lib) return lib;
  }
  lib = dlopen("libgalaxyml.so.0", RTLD_NOW | RTLD_LOCAL);
  if (!lib) fprintf(stderr, "gml-dlopen-host: cannot load libgalaxyml.so.0: %s\n", dlerror());
  return lib;
}

/* Squares without libm: the host links nothing but the dynamic loader. */
static double sq(double v) {
  return v * v;
}

static int cmp_float(const void* a, const void* b) {
  const float x = *(const float*)a, y = *(const float*)b;
  return (x > y) - (x < y);
}

typedef struct {
  double x, y; /* 0-based centroid */
  float peak;  /* above background */
  double flux; /* 7 x 7 sum above background */
} source;

static int cmp_source(const void* a, const void* b) {
  const float x = ((const source*)a)->peak, y = ((const source*)b)->peak;
  return (y > x) - (y < x);
}

/* Sky background and noise from the median and the median absolute
   deviation of a sparse sample of the image. */
static void background(const float* img, int64_t n, float* bkg, float* sigma) {
  int64_t i, m = 0, step = n / 20000 + 1;
  float* s = malloc(sizeof(float) * (size_t)(n / step + 1));
  if (!s) {
    *bkg = 0.0f;
    *sigma = 1.0f;
    return;
  }
  for (i = 0; i < n; i += step)
    if (!isnan(img[i])) s[m++] = img[i];
  qsort(s, (size_t)m, sizeof *s, cmp_float);
  *bkg = m ? s[m / 2] : 0.0f;
  for (i = 0; i < m; ++i) s[i] = s[i] > *bkg ? s[i] - *bkg : *bkg - s[i];
  qsort(s, (size_t)m, sizeof *s, cmp_float);
  *sigma = m ? 1.4826f * s[m / 2] : 1.0f;
  free(s);
}

/* Local maxima well above the noise whose light is concentrated in the
   central 3 x 3 pixels (stars and compact galaxies rather than the wings of
   extended ones or noise spikes of a single pixel). */
#if PEAK_HALF > STAMP / 2
#error "the peak neighbourhood must fit inside the stamp margin"
#endif
static int64_t find_sources(const float* img, int64_t nx, int64_t ny, source* out, int64_t max) {
  float bkg, sigma;
  int64_t x, y, n = 0;
  background(img, nx * ny, &bkg, &sigma);
  /* Sources whose stamp would leave the frame are skipped: the demo's
     stamps feed models that expect complete images. */
  for (y = STAMP / 2; y < ny - STAMP / 2; ++y) {
    for (x = STAMP / 2; x < nx - STAMP / 2 && n < max; ++x) {
      const float v = img[y * nx + x];
      double core = 0.0, all = 0.0, sx = 0.0, sy = 0.0;
      int is_peak = v > bkg + 20.0f * sigma, dx, dy, lit = 0;
      for (dy = -PEAK_HALF; dy <= PEAK_HALF && is_peak; ++dy) {
        for (dx = -PEAK_HALF; dx <= PEAK_HALF; ++dx) {
          const float w = img[(y + dy) * nx + x + dx];
          if (isnan(w) || (w > v) || (w == v && (dy < 0 || (dy == 0 && dx < 0)))) {
            is_peak = 0;
            break;
          }
          all += w - bkg;
          if (abs(dx) <= 1 && abs(dy) <= 1) {
            core += w - bkg;
            sx += (w - bkg) * dx;
            sy += (w - bkg) * dy;
            lit += w > bkg + 3.0f * sigma;
          }
        }
      }
      if (!is_peak || lit < 3 || core < 0.5 * all) continue;
      out[n].x = (double)x + sx / core;
      out[n].y = (double)y + sy / core;
      out[n].peak = v - bkg;
      out[n].flux = all;
      ++n;
    }
  }
  return n;
}

static int32_t report_progress(const gml_progress* p, void* user) {
  (void)user;
  fflush(stdout);
  fprintf(stderr, "  %s: %lld/%lld %s\n", p->stage, (long long)p->done, (long long)p->total,
          p->unit);
  return 0;
}

static int fail(const char* what) {
  fprintf(stderr, "gml-dlopen-host: %s: %s\n", what, api.last_error());
  return 1;
}

int main(int argc, char** argv) {
  const char* lib_path = NULL;
  const char* data_dir = GML_DATA_DIR;
  const char* out_path = "galaxyml_stamps.fits";
  long want = 32;
  char bands[3][4096];
  const char* band_ptrs[3];
  static const char* const names[3] = {"g", "r", "i"};
  int64_t shape[4], npix, nfound, nkept = 0, i, j;
  float* img;
  source* found;
  source kept[256];
  double xs[256], ys[256], ra[256], dec[256], scale = 0.0;
  int32_t flags[256];
  int n_partial = 0, n_bad = 0, b, rc = 0;
  void* lib;
  gml_wcs* wcs = NULL;
  gml_context* ctx = NULL;
  gml_context_options co;
  gml_cutout_options opts;

  for (b = 1; b < argc; ++b) {
    if (b + 1 < argc && strcmp(argv[b], "--lib") == 0)
      lib_path = argv[++b];
    else if (b + 1 < argc && strcmp(argv[b], "--data") == 0)
      data_dir = argv[++b];
    else if (b + 1 < argc && strcmp(argv[b], "--out") == 0)
      out_path = argv[++b];
    else if (b + 1 < argc && strcmp(argv[b], "--n") == 0)
      want = strtol(argv[++b], NULL, 10);
    else {
      fprintf(stderr, "usage: %s [--lib LIBGALAXYML] [--data DIR] [--out FILE] [--n N]\n", argv[0]);
      return 2;
    }
  }
  if (want < 1 || want > 256) {
    fprintf(stderr, "gml-dlopen-host: --n must be in [1, 256]\n");
    return 2;
  }
  lib = open_library(lib_path, argv[0]);
  if (!lib || !load_api(lib)) return 1;
  if (api.abi_version() != GML_ABI_VERSION) {
    fprintf(stderr, "gml-dlopen-host: library ABI %d, header ABI %d\n", (int)api.abi_version(),
            GML_ABI_VERSION);
    return 1;
  }
  for (b = 0; b < 3; ++b) {
    if ((size_t)snprintf(bands[b], sizeof bands[b], "%s/images/sdss_%s.fits.gz", data_dir,
                         names[b]) >= sizeof bands[b]) {
      fprintf(stderr, "gml-dlopen-host: data path too long\n");
      return 2;
    }
    band_ptrs[b] = bands[b];
  }
  printf("galaxyml %s (ABI %d) loaded\n", api.version_string(), (int)api.abi_version());

  /* 1. The r-band frame, read through the library as a 1 x 1 x H x W cube. */
  if (api.cutouts_read_shape(bands[1], shape) != GML_OK) return fail("read r-band shape");
  npix = shape[2] * shape[3];
  img = malloc(sizeof(float) * (size_t)npix);
  found = malloc(sizeof(source) * MAX_SOURCES);
  if (!img || !found) {
    fprintf(stderr, "gml-dlopen-host: out of memory\n");
    return 1;
  }
  if (api.cutouts_read(bands[1], img, (size_t)npix) != GML_OK) return fail("read r-band image");

  /* 2. Brightest compact sources, at least MIN_SEP pixels apart. */
  nfound = find_sources(img, shape[3], shape[2], found, MAX_SOURCES);
  qsort(found, (size_t)nfound, sizeof *found, cmp_source);
  for (i = 0; i < nfound && nkept < want; ++i) {
    int close = 0;
    for (j = 0; j < nkept && !close; ++j)
      close = sq(found[i].x - kept[j].x) + sq(found[i].y - kept[j].y) < MIN_SEP * MIN_SEP;
    if (!close) kept[nkept++] = found[i];
  }
  printf("r band %lld x %lld: %lld compact peaks, keeping the %lld brightest\n",
         (long long)shape[3], (long long)shape[2], (long long)nfound, (long long)nkept);
  if (nkept == 0) {
    fprintf(stderr, "gml-dlopen-host: no sources found\n");
    return 1;
  }

  /* 3. Pixel -> sky with the frame's WCS. */
  for (i = 0; i < nkept; ++i) {
    xs[i] = kept[i].x;
    ys[i] = kept[i].y;
  }
  if (api.wcs_open(bands[1], NULL, &wcs) != GML_OK) return fail("read WCS");
  if (api.wcs_pix2sky(wcs, xs, ys, nkept, 0, ra, dec, NULL) != GML_OK ||
      api.wcs_pixel_scale(wcs, &scale) != GML_OK) {
    api.wcs_free(wcs);
    return fail("pixel -> sky");
  }
  api.wcs_free(wcs);

  /* 4. Stamps from g, r, i, one FITS extension per source. */
  api.context_options_default(&co);
  co.device = "cpu";
  if (api.context_create(&co, &ctx) != GML_OK) return fail("create context");
  api.context_set_progress(ctx, report_progress, NULL);
  api.cutout_options_default(&opts);
  opts.width = opts.height = STAMP;
  if (api.cutouts_write(ctx, band_ptrs, 3, ra, dec, nkept, &opts, out_path, flags) != GML_OK) {
    rc = fail("write stamps");
  }
  api.context_free(ctx);
  if (rc) return rc;

  printf("%-4s %-11s %-11s %-8s %-8s %-10s %s\n", "id", "ra_deg", "dec_deg", "x", "y", "peak_nmgy",
         "flags");
  for (i = 0; i < nkept; ++i) {
    n_partial += (flags[i] & GML_CUTOUT_PARTIAL) != 0;
    n_bad +=
        (flags[i] & (GML_CUTOUT_OFF_IMAGE | GML_CUTOUT_BAD_COORD | GML_CUTOUT_WCS_FAILED)) != 0;
    printf("%-4lld %-11.6f %-+11.6f %-8.2f %-8.2f %-10.3f %d\n", (long long)i, ra[i], dec[i], xs[i],
           ys[i], kept[i].peak, (int)flags[i]);
  }
  printf(
      "wrote %s: %lld stamps of %d x %d x 3 (g, r, i), %.3f arcsec/pixel; "
      "%d partly off the image, %d unusable\n",
      out_path, (long long)nkept, STAMP, STAMP, scale, n_partial, n_bad);
  free(found);
  free(img);
  return n_bad == nkept ? 1 : 0;
}

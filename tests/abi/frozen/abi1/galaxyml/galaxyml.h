/*
 * galaxyml.h — the stable C interface of galaxyml.
 *
 * galaxyml runs galaxy machine-learning models (conditional flows, amortized
 * posteriors, diffusion synthesis, merger classification) on FITS tables,
 * FITS cutouts and HDF5 files. This header is the whole public surface: it is
 * plain C99, needs no other header than <stddef.h> and <stdint.h>, and is what
 * every binding (Python, IDL, Fortran, Julia) and example tool is built on.
 *
 * ---------------------------------------------------------------------------
 * Usage
 * ---------------------------------------------------------------------------
 *
 *     gml_context_options opts;
 *     gml_context* ctx = NULL;
 *     gml_model_info info;
 *
 *     gml_init(NULL);                          // optional: defaults
 *     gml_context_options_default(&opts);
 *     opts.device = "auto";                    // CUDA when usable, else CPU
 *     if (gml_context_create(&opts, &ctx) != GML_OK) {
 *         fprintf(stderr, "galaxyml: %s\n", gml_last_error());
 *         return 1;
 *     }
 *     info.struct_size = sizeof info;
 *     if (gml_model_file_inspect("model.h5", NULL, &info) == GML_OK)
 *         printf("%s model, %lld tensors\n", info.family,
 *                (long long)info.n_tensors);
 *     gml_context_free(ctx);
 *
 * ---------------------------------------------------------------------------
 * Conventions (they hold for every function below)
 * ---------------------------------------------------------------------------
 *
 * Status.  Every function that can fail returns a gml_status; GML_OK is 0.
 *   On failure, gml_last_error() returns a UTF-8 message describing it, the
 *   outputs are left untouched, and nothing is leaked. No C++ exception,
 *   abort() or longjmp ever leaves the library.
 *
 * Memory.  Inputs are borrowed for the duration of the call and never kept.
 *   Outputs go to caller buffers whose capacity the caller states; functions
 *   that produce variable-size output can be asked for the size first.
 *   Where the library itself must allocate, the caller releases the memory
 *   with gml_free(). Every gml_*_free(NULL) is a no-op.
 *
 * Strings out.  Functions that return text take (char* buf, size_t capacity,
 *   size_t* length). *length always receives the size needed including the
 *   terminating NUL. With buf == NULL and capacity == 0 the call only queries
 *   the length and returns GML_OK. With capacity too small it returns
 *   GML_ERR_CAPACITY and leaves buf untouched.
 *
 * Arrays.  Arrays are C-order (row-major); each function states the shape of
 *   every array argument. Column-major hosts (Fortran, IDL, Julia) pass the
 *   dimensions reversed; their bindings do this for the user.
 *
 * Options.  Option structs begin with uint32_t struct_size and are filled by
 *   the matching *_options_default() function. New fields are only ever
 *   appended, so a caller compiled against an older header keeps working.
 *
 * Threads.  gml_init() and the version/status functions are safe from any
 *   thread. A gml_context may be used by one thread at a time; different
 *   contexts may be used concurrently. gml_cancel() is safe from any thread.
 *   gml_last_error() is per thread. Callbacks (log, progress, simulators) are
 *   only ever invoked on the thread that made the call into the library.
 *
 * Handles.  Using a handle after its gml_*_free() is undefined behaviour, as
 *   in any C library. The library keeps a set of the handles it has handed
 *   out and checks every handle argument against it without dereferencing
 *   it: a freed handle, or a handle of another type, is refused with
 *   GML_ERR_INVALID_ARGUMENT, and a second gml_*_free() of the same handle
 *   is ignored with a logged warning. Once a new handle has been created at
 *   the same address the stale one cannot be told apart from it, so do not
 *   rely on the check: free each handle once, after its last use.
 *
 * Unloading.  Never dlclose() this library. It links LibTorch, whose static
 *   destructors and thread pools do not survive being unloaded; a host that
 *   dlclose()s it will crash later. Load it once and keep it.
 *
 * Versioning.  GML_ABI_VERSION changes (with the SONAME libgalaxyml.so.N) only
 *   on an incompatible change. Functions are only ever added.
 */
#ifndef GALAXYML_GALAXYML_H
#define GALAXYML_GALAXYML_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define GML_API __attribute__((visibility("default")))
#else
#define GML_API
#endif

/** Compile-time ABI version of this header. Compare with gml_abi_version(). */
#define GML_ABI_VERSION 1

/* ======================================================================== */
/* Status                                                                   */
/* ======================================================================== */

/** Result of every fallible call. Values are stable; new ones are appended. */
typedef int32_t gml_status;

enum {
  GML_OK = 0,
  /** An argument is NULL, out of range, malformed or inconsistent. */
  GML_ERR_INVALID_ARGUMENT = 1,
  /** A file cannot be opened, read, written or renamed. */
  GML_ERR_IO = 2,
  /** A file exists but is not in the expected format (truncated, corrupt,
      missing required parts). */
  GML_ERR_FORMAT = 3,
  /** A model file belongs to another family than the one asked for. */
  GML_ERR_FAMILY = 4,
  /** A model file was written by a newer format version than this
      library reads. */
  GML_ERR_VERSION = 5,
  /** A model file's tensors do not match its stored checksum. */
  GML_ERR_CHECKSUM = 6,
  /** The requested device is unknown to this build or not present. */
  GML_ERR_DEVICE = 7,
  /** The requested distributed backend (e.g. MPI) cannot be loaded. */
  GML_ERR_BACKEND = 8,
  /** The call stopped because gml_cancel() was called or a progress
      callback returned non-zero. */
  GML_ERR_CANCELLED = 9,
  /** An output buffer is smaller than the result; nothing was written. */
  GML_ERR_CAPACITY = 10,
  /** A named item (tensor, column, HDU, keyword) does not exist. */
  GML_ERR_NOT_FOUND = 11,
  /** Memory could not be allocated. */
  GML_ERR_OUT_OF_MEMORY = 12,
  /** A CFITSIO error; the message carries CFITSIO's own text. */
  GML_ERR_FITS = 13,
  /** A WCSLIB error, or a header without the celestial WCS needed. */
  GML_ERR_WCS = 14,
  /** An unexpected internal failure (a bug); the message says where. */
  GML_ERR_INTERNAL = 15,
  /** A host callback (e.g. a simulator) returned an error or invalid
      values; the message says which call and what was kept. */
  GML_ERR_CALLBACK = 16
};

/**
 * Short constant name of a status, e.g. "GML_ERR_DEVICE".
 * Given:    status  any value.
 * Returned: a static NUL-terminated string; "GML_ERR_UNKNOWN" for values this
 *           library does not know. Never NULL. Thread-safe.
 */
GML_API const char* gml_status_name(gml_status status);

/**
 * Message of the last error raised on the calling thread.
 * Returned: a NUL-terminated UTF-8 string owned by the library, valid until
 *           the next galaxyml call on this thread; "" if no call on this
 *           thread has failed. Never NULL. A successful call does not clear
 *           it. Thread-safe (each thread has its own message).
 */
GML_API const char* gml_last_error(void);

/** Empties the calling thread's last-error message. Thread-safe. */
GML_API void gml_clear_error(void);

/* ======================================================================== */
/* Versions                                                                 */
/* ======================================================================== */

/** ABI version of the loaded library; equals GML_ABI_VERSION when the header
    and library match. Thread-safe. */
GML_API int32_t gml_abi_version(void);

/** Library version, e.g. "0.1.0". Static string, never NULL. Thread-safe. */
GML_API const char* gml_version_string(void);

/**
 * Description of the build: library version, LibTorch version, whether the
 * LibTorch it runs on was built with CUDA, HDF5/CFITSIO/WCSLIB versions.
 * Returned: a static NUL-terminated string, never NULL. Thread-safe.
 */
GML_API const char* gml_build_info(void);

/* ======================================================================== */
/* Memory                                                                   */
/* ======================================================================== */

/** Releases memory that the library allocated for the caller. NULL is a
    no-op. Thread-safe. */
GML_API void gml_free(void* ptr);

/* ======================================================================== */
/* Process-wide initialisation and logging                                  */
/* ======================================================================== */

/** Log levels, most to least severe. */
enum { GML_LOG_ERROR = 0, GML_LOG_WARNING = 1, GML_LOG_INFO = 2, GML_LOG_DEBUG = 3 };

/**
 * Log sink. Called on the thread that made the library call.
 * Given: level    one of GML_LOG_*.
 *        message  NUL-terminated UTF-8, valid only during the call.
 *        user     the pointer registered with the callback.
 */
typedef void (*gml_log_fn)(int32_t level, const char* message, void* user);

/** The largest thread count any function or option accepts. */
#define GML_MAX_THREADS 1024

typedef struct gml_init_options {
  uint32_t struct_size; /**< sizeof(gml_init_options) */
  /** Intra-op CPU threads, 0..GML_MAX_THREADS. 0: read GML_NUM_THREADS, then
      OMP_NUM_THREADS (values above GML_MAX_THREADS are ignored), else
      LibTorch's default (one per core). Set once per process. */
  int32_t num_threads;
  /** Messages at or above this severity are delivered (GML_LOG_*).
      Default GML_LOG_WARNING. */
  int32_t log_level;
  /** Log sink; NULL writes "galaxyml: LEVEL: message" lines to stderr. */
  gml_log_fn log_fn;
  /** Passed back to log_fn. */
  void* log_user;
  /** Default seed of contexts that do not set their own. Default 0. */
  uint64_t seed;
} gml_init_options;

/**
 * Fills opts with defaults.
 * Returned: opts  every field set; struct_size = sizeof(gml_init_options).
 * NULL is ignored.
 */
GML_API void gml_init_options_default(gml_init_options* opts);

/**
 * Process-wide settings. Optional: the first context creation initialises
 * with defaults. Idempotent and thread-safe. The thread count is fixed by the
 * first initialisation; a later call asking for another count keeps the first
 * and logs a warning. The log sink, level and default seed may be changed by
 * later calls.
 * Given:  opts  NULL for defaults, or options from gml_init_options_default().
 * Errors: GML_ERR_INVALID_ARGUMENT  struct_size too small, thread count
 *                                   negative or above GML_MAX_THREADS,
 *                                   unknown log level.
 */
GML_API gml_status gml_init(const gml_init_options* opts);

/** Number of intra-op CPU threads in use (after initialisation). Thread-safe.
    Returns 0 before gml_init() or the first context. */
GML_API int32_t gml_num_threads(void);

/* ======================================================================== */
/* Contexts: device, seed, distributed backend, progress, cancel             */
/* ======================================================================== */

typedef struct gml_context gml_context;

/**
 * Progress report of a long call. Valid only during the callback.
 */
typedef struct gml_progress {
  uint32_t struct_size;    /**< sizeof(gml_progress) of the library */
  const char* stage;       /**< what is running, e.g. "train", "sample" */
  int64_t done;            /**< units finished (rows, steps, stars, images) */
  int64_t total;           /**< units in all; 0 if unknown */
  const char* unit;        /**< name of a unit, e.g. "rows", "steps" */
  double elapsed_s;        /**< seconds since the call began */
  double rate;             /**< units per second, averaged recently */
  double eta_s;            /**< estimated seconds left; negative if unknown */
  double metric;           /**< stage-specific figure (e.g. loss); NaN if none */
  const char* metric_name; /**< name of metric, e.g. "loss"; "" if none */
  const char* detail;      /**< further figures as text (learning rate,
                                validation loss...); "" if none */
} gml_progress;

/**
 * Progress sink. Called on the caller's thread, at most a few times a second.
 * Returned: 0 to continue; non-zero cancels the call, which then returns
 *           GML_ERR_CANCELLED.
 */
typedef int32_t (*gml_progress_fn)(const gml_progress* progress, void* user);

typedef struct gml_context_options {
  uint32_t struct_size; /**< sizeof(gml_context_options) */
  /** "cpu", "cuda", "cuda:N" or "auto" (CUDA when LibTorch reports a usable
      GPU, else CPU). Borrowed during gml_context_create() only. */
  const char* device;
  /** Seed of the context's random generator. Default: gml_init()'s seed. */
  uint64_t seed;
  /** Non-zero: use the init seed even if seed is set. Default 1. */
  int32_t seed_from_init;
  /** Distributed backend: "none", "mpi", or "auto" (MPI when the process
      was started by mpirun/srun and the MPI module loads, else none).
      Borrowed during gml_context_create() only. */
  const char* backend;
} gml_context_options;

/** Fills opts with defaults: device "auto", backend "none", seed from init.
    NULL is ignored. */
GML_API void gml_context_options_default(gml_context_options* opts);

/**
 * Creates a context.
 * Given:    opts  NULL for defaults, or options from
 *                 gml_context_options_default().
 * Returned: out   the new context, owned by the caller; release with
 *                 gml_context_free(). Untouched on error.
 * Errors:   GML_ERR_INVALID_ARGUMENT  out is NULL; unknown device or backend
 *                                     string; struct_size too small.
 *           GML_ERR_DEVICE            CUDA requested but no usable GPU, or
 *                                     cuda:N with N out of range.
 *           GML_ERR_BACKEND           "mpi" requested but the MPI module
 *                                     (libgalaxyml_mpi.so) cannot be loaded.
 * Thread-safety: any thread.
 */
GML_API gml_status gml_context_create(const gml_context_options* opts, gml_context** out);

/** Releases a context. NULL is a no-op. Must not race with a call using ctx. */
GML_API void gml_context_free(gml_context* ctx);

/**
 * Device the context runs on, canonical form: "cpu" or "cuda:N".
 * Given:    ctx, capacity.
 * Returned: buf (capacity bytes), length (bytes needed including NUL).
 *           See "Strings out" above.
 * Errors:   GML_ERR_INVALID_ARGUMENT  ctx or length NULL, or buf NULL with
 *                                     capacity > 0.
 *           GML_ERR_CAPACITY          capacity < *length.
 */
GML_API gml_status gml_context_device(const gml_context* ctx, char* buf, size_t capacity,
                                      size_t* length);

/**
 * Rank and size of the context's distributed backend (0 and 1 without one).
 * Returned: rank, size (either may be NULL when not wanted).
 * Errors:   GML_ERR_INVALID_ARGUMENT  ctx NULL.
 */
GML_API gml_status gml_context_rank(const gml_context* ctx, int32_t* rank, int32_t* size);

/**
 * Registers the progress sink of every long call made with ctx.
 * Given: fn    NULL to remove; user  passed back to fn.
 * Errors: GML_ERR_INVALID_ARGUMENT  ctx NULL.
 */
GML_API gml_status gml_context_set_progress(gml_context* ctx, gml_progress_fn fn, void* user);

/**
 * Asks the long call running on ctx (or, if none runs, the next long call on
 * ctx) to stop at its next check point; it then returns GML_ERR_CANCELLED and
 * the request is consumed. Safe from any thread and from signal-free async
 * contexts (it only sets an atomic flag).
 * Errors: GML_ERR_INVALID_ARGUMENT  ctx NULL.
 */
GML_API gml_status gml_cancel(gml_context* ctx);

/**
 * Checks that LibTorch can run a small computation on the context's device
 * and reports progress while doing it: a minimal long call that hosts use to
 * verify their wiring (progress sink, cancellation, device) end to end.
 * Given:    ctx, n_steps (>= 1) steps of work.
 * Returned: checksum  a deterministic value of the computation for the
 *                     context's seed (may be NULL).
 * Errors:   GML_ERR_INVALID_ARGUMENT, GML_ERR_CANCELLED, GML_ERR_DEVICE.
 */
GML_API gml_status gml_context_selftest(gml_context* ctx, int64_t n_steps, double* checksum);

/* ======================================================================== */
/* Model files (HDF5; see docs/model_format.md)                             */
/* ======================================================================== */

/** Longest family name, version string and checksum text, with NUL. */
#define GML_FAMILY_MAX 32
#define GML_VERSION_MAX 32
#define GML_CHECKSUM_MAX 48

/** Format version of model files this library writes and the newest it
    reads. */
#define GML_MODEL_FORMAT_VERSION 2

typedef struct gml_model_info {
  uint32_t struct_size;                  /**< set by the caller: sizeof */
  char family[GML_FAMILY_MAX];           /**< "flow", "posterior", "diffusion",
                                              "merger" */
  int32_t format_version;                /**< gml_format_version attribute */
  char library_version[GML_VERSION_MAX]; /**< library that wrote it */
  char checksum[GML_CHECKSUM_MAX];       /**< "fnv1a64:<16 hex digits>" */
  int64_t n_tensors;                     /**< datasets under /tensors */
  int64_t n_parameters;                  /**< elements in /tensors */
} gml_model_info;

/**
 * Reads and fully verifies a model file without loading it into a family.
 * Given:    path             UTF-8 path of the HDF5 model file.
 *           expected_family  NULL to accept any family, else the family the
 *                            caller needs.
 * Returned: info  filled on success (info->struct_size must be set by the
 *                 caller; fields past it are not written). May be NULL.
 * Errors:   GML_ERR_INVALID_ARGUMENT  path NULL; info->struct_size too small.
 *           GML_ERR_IO                file missing or unreadable.
 *           GML_ERR_FORMAT            not HDF5, truncated, or required
 *                                     attributes missing.
 *           GML_ERR_FAMILY            family differs from expected_family.
 *           GML_ERR_VERSION           written by a newer format version.
 *           GML_ERR_CHECKSUM          tensor bytes do not match the checksum.
 * Thread-safety: any thread.
 */
GML_API gml_status gml_model_file_inspect(const char* path, const char* expected_family,
                                          gml_model_info* info);

/**
 * JSON text of a model file's config attribute (the architecture and
 * training settings).
 * Given:    path; capacity of buf.
 * Returned: buf, length — see "Strings out".
 * Errors:   as gml_model_file_inspect(), plus GML_ERR_CAPACITY.
 */
GML_API gml_status gml_model_file_config(const char* path, char* buf, size_t capacity,
                                         size_t* length);

/* ======================================================================== */
/* WCS: pixel <-> sky on a FITS header                                      */
/* ======================================================================== */

/**
 * A celestial world coordinate system parsed by WCSLIB from a FITS header:
 * every projection WCSLIB knows, with the SIP, TPV, TNX/ZPX and DSS
 * distortion conventions (as astropy's all_pix2world / all_world2pix).
 */
typedef struct gml_wcs gml_wcs;

/** Per-point status of gml_wcs_pix2sky() / gml_wcs_sky2pix(). */
enum {
  GML_WCS_POINT_OK = 0,
  /** The input coordinate was NaN or infinite. */
  GML_WCS_POINT_NONFINITE = 1,
  /** Outside the projection's domain, or the distortion inverse did not
      converge. */
  GML_WCS_POINT_INVALID = 2
};

/**
 * Reads the celestial WCS of one HDU of a FITS file.
 * Given:    path  UTF-8 path; may be gzip-compressed and may use CFITSIO's
 *                 extended syntax (e.g. "img.fits[SCI]").
 *           hdu   NULL: the HDU selected by path's extended syntax, else the
 *                 primary HDU, or, when the primary has neither data nor a
 *                 celestial WCS, the first extension that has one. Otherwise
 *                 an EXTNAME, or a decimal HDU index with 0 = primary (as
 *                 astropy's hdul[i] and CFITSIO's "file.fits[i]").
 *           The header's primary WCS is used, never an alternate (CTYPEia):
 *           when the primary is missing or invalid the call fails, and the
 *           message names the alternates present; gml_wcs_open_alternate()
 *           opens one of them explicitly.
 * Returned: out   a new handle, released with gml_wcs_free(); untouched on
 *                 error.
 * Errors:   GML_ERR_INVALID_ARGUMENT  path or out NULL, hdu empty.
 *           GML_ERR_FITS              file missing, unreadable, truncated or
 *                                     not FITS; no such HDU.
 *           GML_ERR_WCS               the header has no celestial primary
 *                                     WCS, or WCSLIB rejects its parameters.
 * Thread-safety: any thread.
 */
GML_API gml_status gml_wcs_open(const char* path, const char* hdu, gml_wcs** out);

/**
 * Parses a WCS from header text held by the caller.
 * Given:    header  FITS header cards, 80 characters each, no separators
 *                   (an END card and trailing blanks are allowed).
 *           length  bytes of header (a multiple of 80).
 * Returned: out     a new handle, released with gml_wcs_free().
 * Errors:   GML_ERR_INVALID_ARGUMENT  header or out NULL, length not a
 *                                     positive multiple of 80.
 *           GML_ERR_WCS               no celestial WCS, or invalid.
 * Thread-safety: any thread.
 */
GML_API gml_status gml_wcs_open_header(const char* header, size_t length, gml_wcs** out);

/** Releases a WCS handle. NULL is a no-op. Must not race with a call using
    the handle. */
GML_API void gml_wcs_free(gml_wcs* wcs);

/**
 * Pixel -> sky for n points. Bad points do not fail the batch: their outputs
 * are NaN and their status says why.
 * Given:    wcs     a handle.
 *           x, y    [n] pixel coordinates along the two celestial axes.
 *           n       number of points (>= 0).
 *           origin  0: the first pixel centre is 0.0 (C, numpy; astropy's
 *                   origin=0); 1: it is 1.0 (FITS; astropy's origin=1).
 * Returned: ra, dec [n] degrees, RA in [0, 360); NaN for failed points.
 *           status  [n] GML_WCS_POINT_* per point; may be NULL.
 * Errors:   GML_ERR_INVALID_ARGUMENT  wcs NULL, n < 0, a buffer NULL with
 *                                     n > 0, origin not 0 or 1.
 *           GML_ERR_WCS               WCSLIB reports an internal failure.
 * Thread-safety: a handle may be used by several threads (calls on one
 *           handle are serialised internally).
 */
GML_API gml_status gml_wcs_pix2sky(const gml_wcs* wcs, const double* x, const double* y, int64_t n,
                                   int32_t origin, double* ra, double* dec, int32_t* status);

/**
 * Sky -> pixel for n points (distortions inverted iteratively).
 * Given:    wcs, ra, dec ([n] degrees), n, origin as gml_wcs_pix2sky().
 * Returned: x, y    [n] pixel coordinates in the origin convention; NaN for
 *                   failed points.
 *           status  [n] GML_WCS_POINT_* per point; may be NULL.
 * Errors:   as gml_wcs_pix2sky().
 * Thread-safety: as gml_wcs_pix2sky().
 */
GML_API gml_status gml_wcs_sky2pix(const gml_wcs* wcs, const double* ra, const double* dec,
                                   int64_t n, int32_t origin, double* x, double* y,
                                   int32_t* status);

/**
 * Mean pixel scale at the reference point, 3600 * sqrt(|det CD|), in
 * arcsec per pixel (distortions excluded).
 * Returned: arcsec_per_pixel.
 * Errors:   GML_ERR_INVALID_ARGUMENT  wcs or arcsec_per_pixel NULL.
 * Thread-safety: as gml_wcs_pix2sky().
 */
GML_API gml_status gml_wcs_pixel_scale(const gml_wcs* wcs, double* arcsec_per_pixel);

/**
 * The WCS as FITS header cards (80-character records, no separators, no
 * END card), distortions included, full precision.
 * Given:    wcs; capacity of buf.
 * Returned: buf, length — see "Strings out".
 * Errors:   GML_ERR_INVALID_ARGUMENT, GML_ERR_CAPACITY, GML_ERR_WCS.
 * Thread-safety: as gml_wcs_pix2sky().
 */
GML_API gml_status gml_wcs_header(const gml_wcs* wcs, char* buf, size_t capacity, size_t* length);

/* ======================================================================== */
/* Catalogs: FITS table columns in, result tables out                       */
/* ======================================================================== */

/*
 * Reading: a column mapping names the model inputs, one per output column,
 * as a comma-separated list of [name=]expr items, e.g.
 *
 *   "u=mag(MODELFLUX[0]),g=mag(MODELFLUX[1]),zred=Z"
 *
 * expr is COLUMN (a scalar column), COLUMN[k] (element k, 0-based, of a
 * vector column) or a conversion of such references. Column names match
 * case-insensitively. Conversions (f: flux in nanomaggies, iv: inverse
 * variance of f, m: AB magnitude):
 *
 *   mag(f)         m = 22.5 - 2.5 log10(f)                 flags f <= 0
 *   magerr(f, iv)  sigma_m = 1.0857362 / (f sqrt(iv))      flags f, iv <= 0
 *                  (1.0857362 = 2.5 / ln 10)
 *   sigma(iv)      sigma_f = 1 / sqrt(iv)                  flags iv <= 0
 *   nmgy(m)        f = 10^((22.5 - m) / 2.5)
 *
 * Rows are never dropped and bad values are never fatal: an output whose
 * inputs are unusable is NaN and its row's flag word has the reason bits
 * below (OR-ed over the row's outputs; 0 = clean row).
 */
enum {
  /** An input element is null: TNULL in an integer column, NaN or
      +-Inf in a floating-point column (CFITSIO reads both as
      undefined). */
  GML_ROW_NULL = 1,
  /** A result is not representable as a finite value of the output
      type, e.g. nmgy() of a very negative magnitude. */
  GML_ROW_NONFINITE = 2,
  /** mag() or magerr() of a flux <= 0. */
  GML_ROW_BAD_FLUX = 4,
  /** magerr() or sigma() of an inverse variance <= 0. */
  GML_ROW_BAD_IVAR = 8
};

/** An open table HDU of a FITS file. Not thread-safe: one thread at a time
    per handle; distinct handles may be used concurrently. */
typedef struct gml_catalog gml_catalog;

/**
 * Opens a FITS table for reading.
 * Given:    path  UTF-8 path; CFITSIO extended syntax is accepted (e.g.
 *                 "cat.fits[GSTTEST]", "cat.fits.gz").
 *           hdu   NULL or "": the table selected by extended syntax in path,
 *                 else the first table HDU. A decimal number N: extension
 *                 N (0 = primary; astropy's hdul[N]). Otherwise an EXTNAME
 *                 (case-insensitive).
 * Returned: out   the new handle; release with gml_catalog_free(). Untouched
 *                 on error.
 * Errors:   GML_ERR_INVALID_ARGUMENT  path or out NULL; the HDU is an image.
 *           GML_ERR_IO                the file cannot be opened.
 *           GML_ERR_NOT_FOUND         no such HDU, or no table HDU (the
 *                                     message lists the HDUs there are).
 *           GML_ERR_FITS              unreadable or malformed FITS.
 * Thread-safety: any thread.
 */
GML_API gml_status gml_catalog_open(const char* path, const char* hdu, gml_catalog** out);

/** Closes a catalog. NULL is a no-op. */
GML_API void gml_catalog_free(gml_catalog* cat);

/**
 * Number of rows of the table.
 * Returned: n_rows.
 * Errors:   GML_ERR_INVALID_ARGUMENT  cat or n_rows NULL.
 *           GML_ERR_FITS              read failure.
 */
GML_API gml_status gml_catalog_num_rows(gml_catalog* cat, int64_t* n_rows);

/**
 * The table's columns as a JSON array, in table order:
 *   [{"name":"MODELFLUX","type":"float32","repeat":5,"unit":"nanomaggy",
 *     "numeric":true}, ...]
 * type is one of bool, uint8, int8, int16, uint16, int32, uint32, int64,
 * float32, float64, string, or "unsupported ..." (bit, complex,
 * variable-length); repeat is the vector width (characters for strings).
 * Given:    cat, capacity.
 * Returned: buf, length — see "Strings out".
 * Errors:   GML_ERR_INVALID_ARGUMENT  cat or length NULL; buf NULL with
 *                                     capacity > 0.
 *           GML_ERR_CAPACITY          capacity < *length.
 */
GML_API gml_status gml_catalog_columns_json(gml_catalog* cat, char* buf, size_t capacity,
                                            size_t* length);

/**
 * Checks a mapping against the table and describes its outputs as a JSON
 * array, in output order:
 *   [{"name":"u","expr":"mag(MODELFLUX[0])","unit":"mag"}, ...]
 * unit is the conversion's ("mag", "nanomaggy") or the column's TUNIT.
 * Given:    cat, mapping, capacity.
 * Returned: buf, length — see "Strings out".
 * Errors:   GML_ERR_INVALID_ARGUMENT  cat, mapping or length NULL; syntax
 *                                     error; unknown function; string
 *                                     column; vector column without [k];
 *                                     element out of range.
 *           GML_ERR_NOT_FOUND         a column is missing (the message
 *                                     lists the table's columns).
 *           GML_ERR_CAPACITY          capacity < *length.
 */
GML_API gml_status gml_catalog_describe_mapping(gml_catalog* cat, const char* mapping, char* buf,
                                                size_t capacity, size_t* length);

/**
 * Reads rows [first_row, first_row + n_rows) through a mapping, as float32.
 * Query form: out NULL and capacity 0 checks the mapping, sets *n_outputs
 * and returns GML_OK without reading.
 * Given:    cat; mapping (see above); first_row (0-based) and n_rows >= 0
 *           within the table; capacity = number of floats out can hold
 *           (at least n_rows * n_outputs).
 * Returned: out        [n_rows, n_outputs] values; NaN where flagged.
 *           flags      [n_rows] GML_ROW_* bits per row; may be NULL.
 *           n_outputs  number of mapped outputs; may be NULL.
 *           On error none of them is written (out and flags may hold
 *           partial data only if a read fails midway: GML_ERR_FITS).
 * Errors:   GML_ERR_INVALID_ARGUMENT  cat or mapping NULL; out NULL with
 *                                     capacity > 0; rows outside the table;
 *                                     a bad mapping (as
 *                                     gml_catalog_describe_mapping()).
 *           GML_ERR_NOT_FOUND         a mapped column is missing.
 *           GML_ERR_CAPACITY          capacity < n_rows * n_outputs.
 *           GML_ERR_FITS              read failure.
 * Memory: bounded by the library's chunk size, whatever n_rows is.
 */
GML_API gml_status gml_catalog_read(gml_catalog* cat, const char* mapping, int64_t first_row,
                                    int64_t n_rows, float* out, size_t capacity, int32_t* flags,
                                    int64_t* n_outputs);

/** As gml_catalog_read(), with float64 output (exact for float64 columns
    such as RA/DEC); capacity counts doubles. */
GML_API gml_status gml_catalog_read_f64(gml_catalog* cat, const char* mapping, int64_t first_row,
                                        int64_t n_rows, double* out, size_t capacity,
                                        int32_t* flags, int64_t* n_outputs);

/**
 * Receives one block of rows from gml_catalog_stream(); the pointers are
 * valid only during the call.
 * Given:    first_row  0-based table row of values[0].
 *           n_rows, n_outputs.
 *           values     [n_rows, n_outputs] float32; NaN where flagged.
 *           flags      [n_rows] GML_ROW_* bits.
 * Returned: 0 to continue; non-zero stops the stream, which then returns
 *           GML_ERR_CANCELLED.
 */
typedef int32_t (*gml_catalog_chunk_fn)(int64_t first_row, int64_t n_rows, int64_t n_outputs,
                                        const float* values, const int32_t* flags, void* user);

/**
 * Streams rows [first_row, first_row + n_rows) through a mapping in blocks,
 * with memory bounded by the block size: the way to process a catalog
 * larger than RAM.
 * Given:    ctx         NULL, or a context whose progress sink (unit
 *                       "rows", stage "catalog") and gml_cancel() apply.
 *           cat, mapping, first_row, n_rows (n_rows = -1: to the end).
 *           chunk_rows  rows per block; 0 picks CFITSIO's optimal block.
 *           fn, user    called on the caller's thread for each block in
 *                       row order.
 * Errors:   GML_ERR_INVALID_ARGUMENT  cat, mapping or fn NULL; bad mapping;
 *                                     rows outside the table; chunk_rows < 0.
 *           GML_ERR_NOT_FOUND         a mapped column is missing.
 *           GML_ERR_CANCELLED         fn returned non-zero, the progress
 *                                     sink asked to stop, or gml_cancel().
 *           GML_ERR_FITS              read failure.
 */
GML_API gml_status gml_catalog_stream(gml_context* ctx, gml_catalog* cat, const char* mapping,
                                      int64_t first_row, int64_t n_rows, int64_t chunk_rows,
                                      gml_catalog_chunk_fn fn, void* user);

/* Writing: FITS binary tables with units and provenance, streamed row block
 * by row block and committed atomically. */

/** Column types of a table writer, and the C type of their buffers. */
enum {
  GML_COLUMN_FLOAT32 = 1, /**< float    [n_rows, repeat], stored E */
  GML_COLUMN_FLOAT64 = 2, /**< double   [n_rows, repeat], stored D */
  GML_COLUMN_INT32 = 3,   /**< int32_t  [n_rows, repeat], stored J (flags) */
  GML_COLUMN_INT64 = 4,   /**< int64_t  [n_rows, repeat], stored K (ids) */
  /** char [n_rows, repeat]: each row holds up to repeat bytes, NUL-ended
      when shorter; stored A (repeat characters, trailing blanks
      dropped on reading). */
  GML_COLUMN_STRING = 5
};

/** A result table being written. Not thread-safe. */
typedef struct gml_table_writer gml_table_writer;

typedef struct gml_table_writer_options {
  uint32_t struct_size; /**< sizeof(gml_table_writer_options) */
  const char* extname;  /**< EXTNAME of the table; default "RESULTS" */
  /** Provenance keywords (NULL or "" to omit): GMLINPUT input file,
      GMLCMD command line, GMLMODCK model file checksum. GMLVERS (library
      version) and DATE (UTC, ISO 8601) are always written. */
  const char* input_file;
  const char* command_line;
  const char* model_checksum;
  /** Non-zero: write CHECKSUM/DATASUM of the table at commit (one extra
      pass over the data). Default 1. */
  int32_t checksum;
} gml_table_writer_options;

/** Fills opts with defaults. NULL is ignored. */
GML_API void gml_table_writer_options_default(gml_table_writer_options* opts);

/**
 * Starts a table destined for path. Nothing appears at path until
 * gml_table_writer_commit() succeeds; an older file there stays intact
 * until then, and is kept if the writer is freed without committing.
 * Given:    path  UTF-8 path of the FITS file to (re)place.
 *           opts  NULL for defaults, or from gml_table_writer_options_default().
 *           Strings are copied.
 * Returned: out   the new writer; release with gml_table_writer_free().
 * Errors:   GML_ERR_INVALID_ARGUMENT  path or out NULL; struct_size too small.
 * Thread-safety: any thread.
 */
GML_API gml_status gml_table_writer_create(const char* path, const gml_table_writer_options* opts,
                                           gml_table_writer** out);

/**
 * Declares the next column. All columns come before the first append.
 * Given:    name    TTYPE, unique (case-insensitive), non-empty.
 *           type    GML_COLUMN_*.
 *           repeat  elements per row (>= 1): a vector width, e.g. the
 *                   number of percentiles, or the string width in bytes.
 *           unit    TUNIT, or NULL / "" for none.
 * Errors:   GML_ERR_INVALID_ARGUMENT  w or name NULL; empty or duplicate
 *                                     name; unknown type; repeat < 1; rows
 *                                     already appended; writer committed.
 */
GML_API gml_status gml_table_writer_add_column(gml_table_writer* w, const char* name, int32_t type,
                                               int64_t repeat, const char* unit);

/**
 * Adds a string keyword to the table header (e.g. a survey or run id).
 * Given:    key      1-8 characters of A-Z, 0-9, '-' or '_' (case folded
 *                    to upper).
 *           value    any UTF-8 text (long values use CONTINUE cards).
 *           comment  NULL or text.
 * Errors:   GML_ERR_INVALID_ARGUMENT  w, key or value NULL; bad key; a
 *                                     reserved key (TTYPEn, NAXIS, ...);
 *                                     writer committed.
 */
GML_API gml_status gml_table_writer_set_keyword(gml_table_writer* w, const char* key,
                                                const char* value, const char* comment);

/**
 * Appends n_rows rows. data holds one pointer per declared column, in
 * declaration order; column i's buffer has the C type and shape given by
 * its GML_COLUMN_* type: [n_rows, repeat_i]. Rows go to disk block by
 * block, so a writer never holds the table in memory. Float NaN is stored
 * as NaN (FITS null).
 * Errors:   GML_ERR_INVALID_ARGUMENT  w or data NULL, a data[i] NULL with
 *                                     n_rows > 0, n_rows < 0, no columns,
 *                                     writer committed.
 *           GML_ERR_FITS              write failure (e.g. disk full); the
 *                                     writer is then unusable and commit
 *                                     fails.
 */
GML_API gml_status gml_table_writer_append(gml_table_writer* w, int64_t n_rows,
                                           const void* const* data);

/** Rows appended so far. Errors: GML_ERR_INVALID_ARGUMENT (w or n_rows
    NULL). */
GML_API gml_status gml_table_writer_num_rows(const gml_table_writer* w, int64_t* n_rows);

/**
 * Finishes the file and atomically renames it onto the target path. A
 * table with no rows is valid. The writer may only be freed afterwards.
 * Errors:   GML_ERR_INVALID_ARGUMENT  w NULL; no columns; already
 *                                     committed.
 *           GML_ERR_FITS, GML_ERR_IO  flush or rename failed; the target
 *                                     path is then untouched.
 */
GML_API gml_status gml_table_writer_commit(gml_table_writer* w);

/** Releases a writer. Without a successful commit the partial file is
    deleted and the target path is untouched. NULL is a no-op. */
GML_API void gml_table_writer_free(gml_table_writer* w);

/* ======================================================================== */
/* Cutouts: postage stamps from survey images                               */
/* ======================================================================== */

/*
 * Stamps around catalog positions, cut from one or more bands of a survey
 * image in one pass (each image row is read at most once, in strips of
 * bounded memory, whatever the number of stamps).
 *
 * Pixel convention: identical to astropy.nddata.Cutout2D(position, (H, W),
 * mode="partial", fill_value=nan): for a stamp of W pixels centred on the
 * 0-based pixel coordinate x, stamp column 0 is image column
 * ceil(x - W / 2) (likewise for rows); pixels off the image take the fill
 * value. Sky positions are converted with the first band's WCS (WCSLIB,
 * distortions included). Where x - W / 2 lies within 1e-6 pixel of an
 * integer the column snaps to it, so that a sky -> pixel round trip of an
 * integral position cannot move the stamp by one pixel.
 *
 * Bands: image_paths[b] (b < n_bands) names one 2-D image HDU per band: a
 * file (possibly gzip-compressed), or an HDU of a multi-extension file in
 * CFITSIO's extended syntax ("frame.fits[SCI]", "mef.fits[2]"). A file
 * whose primary HDU is empty uses its first image extension. All bands must
 * have the same shape; bands with a celestial WCS must agree with the first
 * band's to 0.01 pixel (else GML_ERR_INVALID_ARGUMENT), bands without one
 * are taken to be on its grid.
 *
 * Resampling (out_width/out_height set): the output grid spans exactly the
 * cut area; output pixel u covers image pixels [u s, (u + 1) s) with
 * s = width / out_width (equal along both axes). The stamp WCS has CD (and
 * SIP) scaled by s and CRPIX moved accordingly.
 *
 * Masks and fill: a pixel is masked (mask 1, value fill_value) when it is
 * off the image or NaN/BLANK, or, after resampling, when less than half of
 * its weight comes from valid pixels (valid pixels are renormalised).
 */

/** Resampling modes of gml_cutout_options.resample. */
enum {
  /** No resampling; out_width/out_height must be 0 or equal the size. */
  GML_RESAMPLE_NONE = 0,
  /** Area-weighted mean of the overlapped image pixels: keeps surface
      brightness (per-pixel values comparable with the image). */
  GML_RESAMPLE_MEAN = 1,
  /** Flux-conserving: MEAN times the pixel-area ratio s * s, so the sum
      over the stamp equals the sum over the cut image area. */
  GML_RESAMPLE_FLUX = 2,
  /** Bilinear interpolation at output pixel centres (smooth upsampling;
      aliases noise when downsampling by more than ~1.5x). */
  GML_RESAMPLE_BILINEAR = 3
};

/** How positions are given (gml_cutout_options.position_type). */
enum {
  /** ra, dec arrays hold ICRS/FK5 degrees in the image's frame. */
  GML_CUTOUT_SKY = 0,
  /** The "ra", "dec" arrays hold 0-based pixel x, y of the first band
      (numpy/astropy convention; x along NAXIS1). */
  GML_CUTOUT_PIXEL = 1
};

/** Per-stamp flags (bit mask); 0 means wholly on the image, all valid. */
enum {
  /** Part of the stamp lies off the image (filled and masked there). */
  GML_CUTOUT_PARTIAL = 1,
  /** No pixel of the stamp is on the image (all fill, all masked). */
  GML_CUTOUT_OFF_IMAGE = 2,
  /** Position NaN/infinite, or Dec outside [-90, 90] (all fill). */
  GML_CUTOUT_BAD_COORD = 4,
  /** The WCS cannot map the position (outside the projection, no
      convergence) (all fill). */
  GML_CUTOUT_WCS_FAILED = 8,
  /** Some on-image pixels are NaN/BLANK in at least one band. */
  GML_CUTOUT_INVALID_PIXELS = 16
};

/** File layouts of gml_cutouts_write() (gml_cutout_options.layout). */
enum {
  /**
   * One image extension per stamp, EXTNAME 'STAMP', EXTVER = stamp number
   * (1-based), float32 W x H, or W x H x n_bands (numpy (C, H, W)) with
   * more than one band, each with its own celestial WCS (DS9 and astropy
   * open them directly). Keywords STAMPID (0-based catalog row), RA_OBJ,
   * DEC_OBJ, X_IMG, Y_IMG (0-based centre in the image), GMLFLAGS. With
   * write_mask, each is followed by a uint8 'MASK' extension of the same
   * shape and WCS. Stamps without a position carry no WCS.
   */
  GML_CUTOUT_LAYOUT_HDU_PER_STAMP = 0,
  /**
   * The primary HDU is one float32 cube W x H x n_bands x n (numpy
   * (N, C, H, W)); with write_mask a uint8 'MASK' cube follows; then a
   * header-only 'STAMPWCS' extension with the WCS of a stamp whose first
   * pixel is image pixel (0, 0): stamp k's WCS is that header with CRPIX1,
   * CRPIX2 taken from row k of the table.
   */
  GML_CUTOUT_LAYOUT_CUBE = 1
};
/*
 * Both layouts end with a binary table 'STAMPS', one row per stamp in input
 * order: ID (0-based), RA, DEC [deg] (NaN when unknown), X, Y [pix, 0-based
 * centre in the first band], X0, Y0 [pix, 0-based image pixel of stamp pixel
 * (0, 0) before resampling], CRPIX1, CRPIX2 (of the stamp's WCS), FLAGS
 * (GML_CUTOUT_* bits), HDU (EXTVER of the stamp's 'STAMP' extension, or its
 * 1-based index in the cube). The primary header records NSTAMPS, NBANDS,
 * BANDn (source paths), STAMPW, STAMPH, SRCW, SRCH, RESAMPLE, SCALE, LAYOUT.
 */

typedef struct gml_cutout_options {
  uint32_t struct_size; /**< sizeof(gml_cutout_options) */
  /** GML_CUTOUT_SKY (default) or GML_CUTOUT_PIXEL. */
  int32_t position_type;
  /** Stamp size in image pixels along NAXIS1 / NAXIS2. Default 64 x 64;
      1 to 65536. */
  int64_t width;
  int64_t height;
  /** If > 0: square stamp side in arcsec, converted with the first band's
      mean pixel scale and rounded to whole pixels; width/height are then
      ignored. Default 0. */
  double size_arcsec;
  /** Delivered size after resampling; both 0 (default: no resampling) or
      both >= 1 with out_width / width == out_height / height. */
  int64_t out_width;
  int64_t out_height;
  /** GML_RESAMPLE_*; default GML_RESAMPLE_NONE. */
  int32_t resample;
  /** Value of masked pixels. Default NaN. */
  float fill_value;
  /** gml_cutouts_write() only: GML_CUTOUT_LAYOUT_*; default
      GML_CUTOUT_LAYOUT_HDU_PER_STAMP. */
  int32_t layout;
  /** gml_cutouts_write() only: non-zero (default) writes masks too. */
  int32_t write_mask;
  /** Image rows read per CFITSIO call; 0 (default) keeps about 64 MiB of
      rows in memory. */
  int64_t chunk_rows;
} gml_cutout_options;

/** Fills opts with the defaults above. NULL is ignored. */
GML_API void gml_cutout_options_default(gml_cutout_options* opts);

/**
 * Size of the stamps that gml_cutouts_extract() delivers, for sizing its
 * buffers ([n, n_bands, height, width]).
 * Given:    image_paths [n_bands] band images (see above); n_bands >= 1.
 *           opts        NULL for defaults, or from
 *                       gml_cutout_options_default().
 * Returned: height, width  delivered stamp size in pixels.
 * Errors:   GML_ERR_INVALID_ARGUMENT  a pointer NULL, n_bands < 1, invalid
 *                                     sizes or mode, bands on different grids.
 *           GML_ERR_FITS              a file missing, truncated, not FITS.
 *           GML_ERR_WCS               size_arcsec or sky positions asked for
 *                                     and the first band has no celestial WCS.
 * Thread-safety: any thread.
 */
GML_API gml_status gml_cutouts_shape(const char* const* image_paths, int32_t n_bands,
                                     const gml_cutout_options* opts, int64_t* height,
                                     int64_t* width);

/**
 * Cuts n stamps from every band into caller buffers. A bad position is a
 * flagged, filled stamp, never an error of the call.
 * Given:    ctx          progress sink and cancellation (stage "cutouts",
 *                        unit "stamps"); may be NULL for neither.
 *           image_paths  [n_bands] band images; n_bands >= 1.
 *           ra, dec      [n] positions (degrees, or 0-based pixels with
 *                        GML_CUTOUT_PIXEL).
 *           n            number of stamps (>= 0).
 *           opts         NULL for defaults.
 *           capacity     elements (floats) of stamps, and of mask when given;
 *                        at least n * n_bands * height * width.
 * Returned: stamps  [n, n_bands, height, width] float32.
 *           mask    [n, n_bands, height, width] uint8, 1 = fill value; may
 *                   be NULL.
 *           flags   [n] GML_CUTOUT_* bits; may be NULL.
 * Errors:   GML_ERR_INVALID_ARGUMENT  a required pointer NULL, n < 0,
 *                                     invalid options, bands on different
 *                                     grids.
 *           GML_ERR_CAPACITY          capacity too small (nothing written).
 *           GML_ERR_FITS              unreadable, truncated or non-FITS file.
 *           GML_ERR_WCS               sky positions and no celestial WCS.
 *           GML_ERR_CANCELLED         cancelled; outputs partly written.
 * Thread-safety: any thread; ctx by one thread at a time.
 */
GML_API gml_status gml_cutouts_extract(gml_context* ctx, const char* const* image_paths,
                                       int32_t n_bands, const double* ra, const double* dec,
                                       int64_t n, const gml_cutout_options* opts, float* stamps,
                                       size_t capacity, uint8_t* mask, int32_t* flags);

/**
 * Cuts n stamps like gml_cutouts_extract() and writes them, with a WCS per
 * stamp, to a FITS file in opts->layout (see GML_CUTOUT_LAYOUT_*). The file
 * is written under a temporary name and renamed into place only when
 * complete; on error no file is left at output_path (an older file there
 * is kept). Memory stays bounded: large catalogs are cut in batches of
 * about 256 MiB of stamps.
 * Given:    ctx, image_paths, n_bands, ra, dec, n, opts  as
 *                        gml_cutouts_extract(); n >= 1.
 *           output_path  UTF-8 path of the FITS file to write.
 * Returned: flags  [n] GML_CUTOUT_* bits; may be NULL.
 * Errors:   as gml_cutouts_extract(), and GML_ERR_FITS when output_path
 *           cannot be written.
 * Thread-safety: any thread; ctx by one thread at a time.
 */
GML_API gml_status gml_cutouts_write(gml_context* ctx, const char* const* image_paths,
                                     int32_t n_bands, const double* ra, const double* dec,
                                     int64_t n, const gml_cutout_options* opts,
                                     const char* output_path, int32_t* flags);

/**
 * Shape of a ready-made cutout cube: an image HDU (CFITSIO extended syntax
 * selects it; otherwise the first image HDU with data) of NAXIS 2, 3 or 4,
 * read as (N, C, H, W): NAXIS 2 -> (1, 1, NAXIS2, NAXIS1); NAXIS 3 ->
 * (NAXIS3, 1, NAXIS2, NAXIS1); NAXIS 4 -> (NAXIS4, NAXIS3, NAXIS2, NAXIS1).
 * Files from gml_cutouts_write() in GML_CUTOUT_LAYOUT_CUBE read back as
 * written.
 * Given:    path.
 * Returned: shape  [4] N, C, H, W.
 * Errors:   GML_ERR_INVALID_ARGUMENT  path or shape NULL; a table HDU or
 *                                     more than four non-trivial axes.
 *           GML_ERR_FITS              missing, truncated or not FITS.
 * Thread-safety: any thread.
 */
GML_API gml_status gml_cutouts_read_shape(const char* path, int64_t* shape);

/**
 * Reads a cutout cube (see gml_cutouts_read_shape()) as float32, BSCALE/BZERO
 * applied, BLANK and NaN as NaN.
 * Given:    path; capacity  elements of out.
 * Returned: out  [N, C, H, W] float32.
 * Errors:   as gml_cutouts_read_shape(); GML_ERR_INVALID_ARGUMENT for out
 *           NULL; GML_ERR_CAPACITY when capacity < N * C * H * W.
 * Thread-safety: any thread.
 */
GML_API gml_status gml_cutouts_read(const char* path, float* out, size_t capacity);

/* ======================================================================== */
/* Flow family (GalacticFlow): conditional normalizing flows of stars       */
/* ======================================================================== */

/*
 * A flow model learns p(stars | galaxy): the distribution of per-star data
 * (default 10 columns: x, y, z [kpc], vx, vy, vz [km/s], Z [mass fraction],
 * [Fe/H], [O/Fe] [dex], age [Gyr]) given galaxy conditions (default 4:
 * log10 M* [Msun], tau50, tau10 [Gyr], mean Z). It samples stars of any galaxy
 * and evaluates exact densities in the user's units.
 *
 * Star tables (training input, sample output) are HDF5 or FITS files; see
 * docs/flow.md for the layout. gml_flow_simulate() writes one from the
 * built-in synthetic galaxy generator.
 */

/** A loaded model of any family. */
typedef struct gml_model gml_model;

/**
 * Loads a model file onto the context's device.
 * Given:    ctx; path of the model file; expected_family (NULL: any).
 * Returned: out  the model, owned by the caller (gml_model_free()).
 * Errors:   GML_ERR_INVALID_ARGUMENT, GML_ERR_IO, GML_ERR_FORMAT,
 *           GML_ERR_FAMILY (also when this build has no such family),
 *           GML_ERR_VERSION, GML_ERR_CHECKSUM.
 * Thread-safety: the model may be shared by contexts on the same device;
 *           calls using it are read-only.
 */
GML_API gml_status gml_model_load(gml_context* ctx, const char* path, const char* expected_family,
                                  gml_model** out);

/** Releases a model. NULL is a no-op. */
GML_API void gml_model_free(gml_model* model);

/** Family of a loaded model ("flow", ...). Strings-out convention. */
GML_API gml_status gml_model_family(const gml_model* model, char* buf, size_t capacity,
                                    size_t* length);

/**
 * Dimensions of a flow model.
 * Returned: data_dim (columns per star), condition_dim (conditions per
 *           galaxy); either may be NULL.
 * Errors:   GML_ERR_INVALID_ARGUMENT (model NULL), GML_ERR_FAMILY.
 */
GML_API gml_status gml_flow_dims(const gml_model* model, int64_t* data_dim, int64_t* condition_dim);

/**
 * Column names and training range of a flow model as JSON:
 * {"data": [...], "conditions": [...], "condition_min": [...],
 *  "condition_max": [...]}. Strings-out convention.
 */
GML_API gml_status gml_flow_describe(const gml_model* model, char* buf, size_t capacity,
                                     size_t* length);

/**
 * Draws stars of one or more galaxies.
 * Given:    ctx (device, progress, cancel); model (family "flow");
 *           conditions  [n_galaxies, condition_dim] float64;
 *           n_galaxies >= 1; n_per_galaxy >= 0 stars per galaxy;
 *           seed  the same seed gives the same stars on every device;
 *           capacity  elements available in stars.
 * Returned: stars  [n_galaxies * n_per_galaxy, data_dim] float32, galaxy
 *                  by galaxy, in the user's units;
 *           outside  [n_galaxies] (may be NULL): how far each galaxy's
 *                  conditions lie outside the training range, in units of
 *                  that range (0 inside). Values > 0 are also logged as a
 *                  warning: the model extrapolates there.
 * Errors:   GML_ERR_INVALID_ARGUMENT (NULL, n < 0, non-finite conditions),
 *           GML_ERR_CAPACITY, GML_ERR_FAMILY, GML_ERR_CANCELLED.
 * Memory:   work is done in chunks of 65,536 stars written straight into
 *           stars; peak memory beyond the caller's buffer does not grow
 *           with n. The exception to the Status convention that follows:
 *           when the call fails or is cancelled after sampling began, the
 *           start of stars may already hold draws (outside is untouched).
 */
GML_API gml_status gml_flow_sample(gml_context* ctx, const gml_model* model,
                                   const double* conditions, int64_t n_galaxies,
                                   int64_t n_per_galaxy, uint64_t seed, float* stars,
                                   size_t capacity, double* outside);

/**
 * As gml_flow_sample(), streamed to a file instead of a buffer, for sample
 * sizes beyond memory. The format follows the extension, in any letter
 * case: .h5/.hdf5/.he5 (chunked, compressed datasets) or .fits/.fit/.fts
 * (binary table with TUNIT and provenance keywords); any other extension is
 * GML_ERR_INVALID_ARGUMENT. Written atomically: on any error no file is left.
 * Given:    path  output file.
 * Errors:   as gml_flow_sample(), plus GML_ERR_IO, GML_ERR_FITS.
 */
GML_API gml_status gml_flow_sample_to_file(gml_context* ctx, const gml_model* model,
                                           const double* conditions, int64_t n_galaxies,
                                           int64_t n_per_galaxy, uint64_t seed, const char* path);

/**
 * Log density log p(star | galaxy) in the user's units (every normalising
 * transform's Jacobian included).
 * Given:    stars  [n, data_dim] float32; n >= 0;
 *           conditions  [n_conditions, condition_dim] float64, with
 *           n_conditions 1 (one galaxy for all stars) or n (one per star).
 * Returned: log_prob  [n] float64; -inf where a star lies outside the
 *           model's support (e.g. a non-positive value in a log10 column).
 * Errors:   GML_ERR_INVALID_ARGUMENT (NULL, wrong n_conditions, NaN or Inf
 *           in stars or conditions: the message names the first bad row),
 *           GML_ERR_FAMILY, GML_ERR_CANCELLED.
 */
GML_API gml_status gml_flow_log_prob(gml_context* ctx, const gml_model* model, const float* stars,
                                     int64_t n, const double* conditions, int64_t n_conditions,
                                     double* log_prob);

typedef struct gml_flow_train_options {
  uint32_t struct_size;        /**< sizeof(gml_flow_train_options) */
  int64_t steps;               /**< optimiser steps; default 20000 */
  int64_t batch_size;          /**< default 1024 */
  double learning_rate;        /**< initial; default 9e-5 (decays 0.998 per
                                    10 steps, per 120 below 3e-6) */
  int64_t validation_galaxies; /**< held out whole; 0: 10% */
  int64_t eval_every;          /**< steps between validations; default 250 */
  const char* checkpoint_path; /**< NULL: none */
  int64_t checkpoint_every;    /**< default 1000 */
  int32_t resume;              /**< non-zero: continue from checkpoint_path */
  /** JSON object overriding architecture fields (num_blocks, num_bins,
      tail_bound, hidden_width, hidden_layers, log_columns, ...); NULL for
      the GalacticFlow defaults. */
  const char* config_json;
  uint64_t seed;                /**< initialisation, split and batches */
  int64_t max_stars_per_galaxy; /**< subsample big galaxies; 0: all */
} gml_flow_train_options;

/** Fills opts with the GalacticFlow defaults. NULL is ignored. */
GML_API void gml_flow_train_options_default(gml_flow_train_options* opts);

/**
 * Trains a flow on a star table and writes the model file.
 * Given:    ctx (device, progress with loss/learning rate/stars per second,
 *           cancel); stars_path  star table (docs/flow.md); opts (NULL:
 *           defaults); model_path  output model file (written atomically).
 * Errors:   GML_ERR_INVALID_ARGUMENT, GML_ERR_IO, GML_ERR_FORMAT,
 *           GML_ERR_FITS, GML_ERR_CANCELLED (the last checkpoint, if any,
 *           stays usable for resume).
 */
GML_API gml_status gml_flow_train(gml_context* ctx, const char* stars_path,
                                  const gml_flow_train_options* opts, const char* model_path);

/**
 * Reads the stars and conditions of one galaxy of a star table.
 * Given:    path  star table; galaxy_id  its galaxy id;
 *           capacity  floats available in stars;
 *           conditions_capacity  doubles available in conditions.
 * Returned: n_stars, data_dim (always, when not NULL);
 *           stars  [n_stars, data_dim] float32 (pass NULL with capacity 0
 *                  to query the sizes first);
 *           conditions  [condition_dim] float64 (may be NULL).
 * Errors:   GML_ERR_INVALID_ARGUMENT, GML_ERR_IO, GML_ERR_FORMAT,
 *           GML_ERR_FITS, GML_ERR_NOT_FOUND (no such galaxy),
 *           GML_ERR_CAPACITY.
 */
GML_API gml_status gml_flow_read_galaxy(const char* path, int64_t galaxy_id, float* stars,
                                        size_t capacity, int64_t* n_stars, int64_t* data_dim,
                                        double* conditions, size_t conditions_capacity);

/**
 * GalacticFlow's evaluation: generates n_samples stars for the conditions of
 * galaxy `galaxy_id` of a star table, and measures the maximum mean
 * discrepancy (linear-time MMD^2, multi-scale Gaussian kernel, in the
 * model's z-scored units) between them and the stars of every galaxy of the
 * table. A good model gives its smallest MMD at delta_log_mass = 0, growing
 * with |delta_log_mass|.
 * Given:    ctx; model ("flow"); stars_path; galaxy_id; n_samples >= 2;
 *           seed; capacity  entries available in each output array.
 * Returned: n_galaxies  galaxies in the table (always, when not NULL);
 *           galaxy_ids, delta_log_mass (first condition minus the
 *           reference's), mmd: [n_galaxies] each. Pass NULL with capacity 0
 *           to query n_galaxies.
 * Errors:   as gml_flow_read_galaxy(), plus GML_ERR_FAMILY,
 *           GML_ERR_CANCELLED.
 */
GML_API gml_status gml_flow_evaluate(gml_context* ctx, const gml_model* model,
                                     const char* stars_path, int64_t galaxy_id, int64_t n_samples,
                                     uint64_t seed, int64_t* galaxy_ids, double* delta_log_mass,
                                     double* mmd, size_t capacity, int64_t* n_galaxies);

/**
 * Writes a star table of synthetic galaxies from the built-in generator
 * (exponential disk + Plummer bulge with rotation and dispersion,
 * age-metallicity and [O/Fe]-[Fe/H] relations; docs/flow_generator.md).
 * Given:    ctx (seed via `seed`, progress, cancel); n_galaxies >= 1;
 *           n_stars >= 1 per galaxy; conditions [n_galaxies, 4] float64 or
 *           NULL to draw plausible random galaxies; path (.h5 or .fits).
 * Errors:   GML_ERR_INVALID_ARGUMENT (also conditions outside the
 *           generator's domain, or a path whose extension is neither
 *           FITS nor HDF5, as gml_flow_sample_to_file()), GML_ERR_IO,
 *           GML_ERR_FITS, GML_ERR_CANCELLED.
 */
GML_API gml_status gml_flow_simulate(gml_context* ctx, int64_t n_galaxies, int64_t n_stars,
                                     const double* conditions, uint64_t seed, const char* path);

/* ======================================================================== */
/* Posterior family (SEDflow): amortized posteriors for whole catalogs      */
/* ======================================================================== */

/*
 * A posterior model learns q(theta | x) from simulations (theta, x): physical
 * parameters theta of a galaxy given its observation x. Once trained it
 * gives posterior samples for any observation without further simulation.
 * The built-in SED forward model (docs/sed_model.md) has theta = (log10 M*,
 * four Dirichlet stick-breaking fractions, tau_V, dust slope) and x =
 * (ugriz asinh magnitudes, their errors, redshift); hosts plug their own
 * forward model in through gml_simulator_fn. The workflow is
 * gml_posterior_simulate[_sed] -> gml_posterior_train -> gml_model_load ->
 * gml_posterior_sample / _summarize / _run_catalog; docs/posterior.md.
 */

/**
 * A host forward model: x for each theta.
 * Given:    theta  [n, theta_dim] float64, drawn from the box prior;
 *           n >= 1; user  the pointer passed with the callback.
 * Returned: x_out  [n, x_dim] float64.
 * Return 0 on success; anything else stops the generation (the rows of
 * earlier batches stay in the file). Called on the caller's thread only.
 */
typedef int (*gml_simulator_fn)(const double* theta, int64_t n, double* x_out, void* user);

typedef struct gml_posterior_simulate_options {
  uint32_t struct_size;    /**< sizeof(gml_posterior_simulate_options) */
  int64_t batch_size;      /**< thetas per simulator call; default 10000 */
  uint64_t seed;           /**< prior draws (and the built-in model's noise) */
  int32_t resume;          /**< non-zero: append to an existing file made with
                                the same prior, seed and batch size */
  const char* theta_names; /**< comma-separated labels, or NULL */
  const char* x_names;     /**< comma-separated labels, or NULL */
} gml_posterior_simulate_options;

/** Fills opts with the defaults. NULL is ignored. */
GML_API void gml_posterior_simulate_options_default(gml_posterior_simulate_options* opts);

/**
 * Generates a training set with a host simulator: theta uniform in the box
 * [prior_lower, prior_upper], x from `fn`, written to an HDF5 file
 * (/theta, /x; layout in docs/posterior.md) batch by batch, flushed after
 * each, so an interrupted run can resume.
 * Given:    ctx (progress in simulations, cancel); fn, user; theta_dim,
 *           x_dim >= 1; prior_lower, prior_upper [theta_dim] float64,
 *           finite, lower < upper; n >= 1 rows in total; opts (NULL:
 *           defaults); path  output file.
 * Errors:   GML_ERR_INVALID_ARGUMENT, GML_ERR_IO, GML_ERR_FORMAT (resuming
 *           a file that is not a training set), GML_ERR_CALLBACK (fn
 *           returned non-zero or a non-finite x: the message names the
 *           batch; the file keeps every row before it), GML_ERR_CANCELLED.
 */
GML_API gml_status gml_posterior_simulate(gml_context* ctx, gml_simulator_fn fn, void* user,
                                          int64_t theta_dim, int64_t x_dim,
                                          const double* prior_lower, const double* prior_upper,
                                          int64_t n, const gml_posterior_simulate_options* opts,
                                          const char* path);

/**
 * As gml_posterior_simulate() with the built-in SED forward model: kcorrect
 * templates, Calzetti/Noll dust, SDSS ugriz filters, flat LambdaCDM, noise
 * fitted to the SDSS catalog (docs/sed_model.md).
 * Given:    data_dir  folder holding sed/ and sdss/ (the repository's data/);
 *           NULL: the GML_DATA_DIR environment variable, else the data/
 *           folder of the source tree this library was built from.
 * Errors:   as gml_posterior_simulate(), plus GML_ERR_FITS for unreadable
 *           template or catalog files.
 */
GML_API gml_status gml_posterior_simulate_sed(gml_context* ctx, const char* data_dir, int64_t n,
                                              const gml_posterior_simulate_options* opts,
                                              const char* path);

/**
 * Shape of a training set file, e.g. to check an interrupted generation.
 * Given:    path.
 * Returned: theta_dim, x_dim, rows (complete rows); each may be NULL.
 * Errors:   GML_ERR_INVALID_ARGUMENT, GML_ERR_IO, GML_ERR_FORMAT.
 */
GML_API gml_status gml_posterior_training_set_info(const char* path, int64_t* theta_dim,
                                                   int64_t* x_dim, int64_t* rows);

typedef struct gml_posterior_train_options {
  uint32_t struct_size;        /**< sizeof(gml_posterior_train_options) */
  const char* estimator;       /**< "maf" (default) or "nsf" */
  int64_t num_blocks;          /**< MADE blocks; default 15 */
  int64_t hidden_width;        /**< default 500 */
  int64_t made_blocks;         /**< hidden blocks per MADE; default 2 */
  const char* activation;      /**< "tanh" (default) or "relu" */
  int64_t num_bins;            /**< NSF bins; default 8 */
  int64_t batch_size;          /**< default 50 */
  double learning_rate;        /**< Adam; default 5e-4 */
  int64_t max_epochs;          /**< default 1000 */
  int64_t patience;            /**< early stopping; default 20 epochs */
  double validation_fraction;  /**< default 0.1 */
  const char* checkpoint_path; /**< NULL: none; else written every epoch */
  int32_t resume;              /**< non-zero: continue from checkpoint_path */
  uint64_t seed;               /**< initialisation, split and batches */
  int64_t max_rows;            /**< use at most this many rows; 0: all */
  int64_t lr_plateau;          /**< multiply the rate by lr_factor after this many
                                    epochs without improvement; 0 (default, as
                                    SEDflow): constant rate */
  double lr_factor;            /**< default 0.5 */
} gml_posterior_train_options;

/** Fills opts with the SEDflow defaults. NULL is ignored. */
GML_API void gml_posterior_train_options_default(gml_posterior_train_options* opts);

/**
 * Trains a posterior estimator on a training set and writes the model file
 * (atomically). The prior box, labels and observation kind come from the
 * training set.
 * Given:    ctx (progress with loss, epoch and validation loss; cancel);
 *           training_set_path; opts (NULL: defaults); model_path.
 * Errors:   GML_ERR_INVALID_ARGUMENT, GML_ERR_IO, GML_ERR_FORMAT,
 *           GML_ERR_CANCELLED (the last checkpoint stays usable).
 */
GML_API gml_status gml_posterior_train(gml_context* ctx, const char* training_set_path,
                                       const gml_posterior_train_options* opts,
                                       const char* model_path);

/**
 * Dimensions of a posterior model.
 * Returned: theta_dim, x_dim (either may be NULL).
 * Errors:   GML_ERR_INVALID_ARGUMENT (model NULL), GML_ERR_FAMILY.
 */
GML_API gml_status gml_posterior_dims(const gml_model* model, int64_t* theta_dim, int64_t* x_dim);

/**
 * Labels, prior box, training range of x and the architecture as JSON:
 * {"theta": [...], "x": [...], "prior_lower": [...], "prior_upper": [...],
 *  "x_train_min": [...], "x_train_max": [...], "observation": "...",
 *  "config": {...}}. Strings-out convention.
 */
GML_API gml_status gml_posterior_describe(const gml_model* model, char* buf, size_t capacity,
                                          size_t* length);

/**
 * Posterior samples for a batch of observations.
 * Given:    ctx; model ("posterior"); x [n_obs, x_dim] float64, finite;
 *           n_obs >= 1; n_samples >= 1; seed: observation i's draws depend
 *           only on (seed, i); capacity  doubles available in theta.
 * Returned: theta  [n_obs, n_samples, theta_dim] float64, all draws;
 *           n_outside [n_obs] (may be NULL): draws outside the prior box.
 *           They are returned, not dropped: callers decide.
 * Errors:   GML_ERR_INVALID_ARGUMENT (NULL, sizes, NaN/Inf in x),
 *           GML_ERR_CAPACITY, GML_ERR_FAMILY, GML_ERR_CANCELLED.
 * Memory:   draws are written straight into theta in blocks of about
 *           16,384; memory beyond the caller's buffer does not grow with
 *           n_obs or n_samples, and a cancel is seen between blocks, also
 *           within one observation. An observation's draws past 2^20 come
 *           from further streams (seed, i, chunk). As for gml_flow_sample(),
 *           on an error after drawing began the start of theta may already
 *           hold draws (n_outside is untouched).
 */
GML_API gml_status gml_posterior_sample(gml_context* ctx, const gml_model* model, const double* x,
                                        int64_t n_obs, int64_t n_samples, uint64_t seed,
                                        double* theta, size_t capacity, int64_t* n_outside);

/**
 * log q(theta | x).
 * Given:    theta [n, theta_dim] float64; n >= 0; x [n_x, x_dim] float64
 *           with n_x 1 (one observation for all) or n.
 * Returned: log_prob [n] float64.
 * Errors:   GML_ERR_INVALID_ARGUMENT (NULL, n_x, NaN/Inf), GML_ERR_FAMILY,
 *           GML_ERR_CANCELLED.
 */
GML_API gml_status gml_posterior_log_prob(gml_context* ctx, const gml_model* model,
                                          const double* theta, int64_t n, const double* x,
                                          int64_t n_x, double* log_prob);

/** Columns of a posterior summary, per observation and parameter. */
enum {
  GML_SUMMARY_MEDIAN = 0,
  GML_SUMMARY_P16 = 1,
  GML_SUMMARY_P84 = 2,
  GML_SUMMARY_MEAN = 3,
  GML_SUMMARY_STD = 4,
  GML_SUMMARY_COLUMNS = 5
};

/**
 * Posterior summaries without returning the samples: median, 16th and 84th
 * percentiles, mean and standard deviation of n_samples draws, over the
 * draws inside the prior box.
 * Given:    as gml_posterior_sample(); capacity  doubles in summary.
 * Returned: summary [n_obs, theta_dim, GML_SUMMARY_COLUMNS] float64 (NaN
 *           where no draw falls inside the prior); n_outside [n_obs]
 *           (may be NULL).
 * Errors:   as gml_posterior_sample().
 */
GML_API gml_status gml_posterior_summarize(gml_context* ctx, const gml_model* model,
                                           const double* x, int64_t n_obs, int64_t n_samples,
                                           uint64_t seed, double* summary, size_t capacity,
                                           int64_t* n_outside);

/** Row flags of a posterior catalog run (GML_POSTERIOR_FLAG_* bits). */
enum {
  /** A mapped value is null or non-finite (e.g. a missing flux); not sampled. */
  GML_POSTERIOR_FLAG_MISSING = 1,
  /** A zero or negative inverse variance; not sampled. */
  GML_POSTERIOR_FLAG_BAD_IVAR = 2,
  /** Redshift outside the training prior; not sampled. */
  GML_POSTERIOR_FLAG_Z_OUTSIDE_PRIOR = 4,
  /** x outside the support of the training simulations (outside their
      range, or for SED models farther from every simulation than 99% of
      simulations are from their nearest neighbour, docs/sed_model.md):
      sampled, but the posterior is an extrapolation. */
  GML_POSTERIOR_FLAG_OUTSIDE_TRAINING = 8
};

typedef struct gml_posterior_run_options {
  uint32_t struct_size;     /**< sizeof(gml_posterior_run_options) */
  int64_t n_samples;        /**< draws per galaxy; default 10000 (SEDflow) */
  uint64_t seed;            /**< row i's draws depend only on (seed, i) */
  const char* hdu;          /**< catalog HDU name or number; NULL: first table */
  const char* samples_path; /**< NULL: none; else every draw to HDF5
                                 (/samples [rows, n_samples, theta_dim] float32) */
  int64_t chunk_rows;       /**< galaxies per work unit; 0: about 10^6 draws */
  int64_t first_row;        /**< first catalog row (0-based); default 0 */
  int64_t max_rows;         /**< rows to process; 0: to the end */
} gml_posterior_run_options;

/** Fills opts with the defaults. NULL is ignored. */
GML_API void gml_posterior_run_options_default(gml_posterior_run_options* opts);

/**
 * Posteriors for every row of a FITS catalog, written as a FITS table with
 * one row per input row, in input order: ROW, FLAGS (GML_POSTERIOR_FLAG_*),
 * N_OUTSIDE (draws outside the prior; -1 where not sampled), X (the
 * model input), and <name>_MEDIAN, _P16, _P84, _MEAN, _STD per parameter.
 * Bad rows are flagged, never dropped; the run continues.
 * With a context whose backend is "mpi" (launched by mpirun), work units
 * are dealt round-robin to the ranks and rank 0 writes the one output;
 * it is identical to a single-process run with the same seed.
 * Given:    ctx; model ("posterior"); catalog_path; mapping  catalog
 *           mapping (gml_catalog_read syntax): for observation "sed_ugriz"
 *           11 outputs (5 fluxes [nanomaggies], 5 inverse variances, z) or
 *           16 (plus 5 Galactic extinctions [mag]); otherwise x_dim outputs;
 *           opts (NULL: defaults); out_path  FITS table (atomic write).
 * Errors:   GML_ERR_INVALID_ARGUMENT (NULL, mapping arity), GML_ERR_IO,
 *           GML_ERR_FITS, GML_ERR_NOT_FOUND (column), GML_ERR_FAMILY,
 *           GML_ERR_BACKEND (a rank failed: every rank returns it),
 *           GML_ERR_CANCELLED. On error no output file is left.
 */
GML_API gml_status gml_posterior_run_catalog(gml_context* ctx, const gml_model* model,
                                             const char* catalog_path, const char* mapping,
                                             const gml_posterior_run_options* opts,
                                             const char* out_path);

/**
 * Calibration diagnostics of a posterior model on held-out simulations
 * (rows [first_row, first_row + n_sims) of a training-set file the model
 * was not trained on): n_samples draws per simulation give
 *  - simulation-based calibration (Talts et al. 2018): the rank of each true
 *    parameter among its draws, and per parameter the KS p-value that the
 *    ranks are uniform;
 *  - expected coverage: for `levels` credibility levels k / (levels + 1),
 *    the fraction of true parameters inside the central interval of each
 *    marginal, and (last column) inside the highest-density region;
 *  - TARP (Lemos et al. 2023): expected coverage probability against
 *    credibility over `levels` + 1 points, its area-to-curve summary and a
 *    KS p-value, with reference points drawn in the prior box.
 * Given:    ctx; model; simulations_path; first_row >= 0; n_sims >= 2;
 *           n_samples >= 2; levels >= 1; seed.
 * Returned: ranks       [n_sims, theta_dim] int64 (may be NULL);
 *           sbc_pvalue  [theta_dim];
 *           coverage    [levels, theta_dim + 1] (may be NULL);
 *           tarp_ecp    [levels + 1] (may be NULL);
 *           tarp_summary [2]: ATC and KS p-value (may be NULL).
 * Errors:   GML_ERR_INVALID_ARGUMENT (also too few rows in the file, or
 *           dimensions that differ from the model's), GML_ERR_IO,
 *           GML_ERR_FORMAT, GML_ERR_FAMILY, GML_ERR_CANCELLED.
 */
GML_API gml_status gml_posterior_diagnose(gml_context* ctx, const gml_model* model,
                                          const char* simulations_path, int64_t first_row,
                                          int64_t n_sims, int64_t n_samples, int64_t levels,
                                          uint64_t seed, int64_t* ranks, double* sbc_pvalue,
                                          double* coverage, double* tarp_ecp, double* tarp_summary);

/* ======================================================================== */
/* Merger family (DeepGalaxy): merger stage, latent search, clustering      */
/* ======================================================================== */
/*
 * A merger model (family "merger") maps an image (n_bands x S x S) to the
 * dynamical stage of a galaxy merger: probabilities of n_classes time classes
 * ("far apart" .. "fully virialised"), a predicted time in Myr, and a latent
 * vector (the VAE mean) for similarity search. Models are trained on the
 * built-in restricted N-body merger simulator (docs/merger_simulator.md) or
 * on any file of the same layout. Images go through the same per-image
 * normalisation in training and inference (docs/merger.md), so simulated
 * surface densities and survey fluxes of any zero point are both accepted.
 */

/** Bits of the per-image flags of gml_merger_classify() and friends. */
#define GML_MERGER_FLAG_NAN_MASKED 1 /**< NaN pixels set to 0 (NaN policy "mask") */
#define GML_MERGER_FLAG_RESIZED 2    /**< resampled to the model's size on request */
#define GML_MERGER_FLAG_BLANK 4      /**< no finite or no varying pixel: outputs meaningless */
/** The regressed time lies outside the simulated span [0, time_max]: the
    image is unlike the training images (the value is returned unclipped). */
#define GML_MERGER_FLAG_TIME_OUTSIDE 8

typedef struct gml_merger_simulate_options {
  uint32_t struct_size; /**< sizeof(gml_merger_simulate_options) */
  /** Mass ratios q = M2 / M1; NULL (default) = 1/4, 1/3, 1/2, 1, 3/2.
      Borrowed during the call. */
  const double* mass_ratios;
  int32_t n_mass_ratios;      /**< entries of mass_ratios; 0 with NULL */
  int32_t sims_per_ratio;     /**< random orbits per ratio; default 4 */
  int32_t n_time_classes;     /**< snapshots = classes; default 71 */
  int32_t n_cameras;          /**< 1..14 viewing directions; default 14 */
  int32_t image_size;         /**< pixels per side; default 64 */
  int32_t particles_per_disk; /**< test particles per disk; default 4000 */
  double fov_kpc;             /**< field of view; default 128 */
  double psf_fwhm_pix;        /**< Gaussian PSF FWHM; default 1.5 */
  double noise_sigma;         /**< noise after the stretch; default 0.02 */
  double t_end_myr;           /**< time of the last snapshot; default 3000 */
  double dt_myr;              /**< largest leapfrog step; default 1 */
  /** "hernquist" (default) or "plummer". Borrowed during the call. */
  const char* profile;
  /** Seed; 0 (default) takes the context's seed. */
  uint64_t seed;
  /** Worker threads, 0..GML_MAX_THREADS; 0 (default) = the process's
      thread count. */
  int32_t n_threads;
} gml_merger_simulate_options;

/** Fills opts with the defaults above. NULL is ignored. */
GML_API void gml_merger_simulate_options_default(gml_merger_simulate_options* opts);

/**
 * Runs the merger simulator and writes its images and labels: a FITS file
 * with the float32 cube (numpy shape (N, 1, S, S)) in the primary HDU and a
 * 'LABELS' table (SIM_ID, TIME_CLASS, TIME [Myr], CAMERA, MASS_RATIO, orbit
 * parameters), one row per image. The file appears atomically.
 * Given:    ctx       progress ("simulate", simulations) and cancellation.
 *           opts      NULL for defaults.
 *           out_path  FITS file to create (replaced if it exists).
 * Returned: n_images  images written (may be NULL).
 * Errors:   GML_ERR_INVALID_ARGUMENT  ctx or out_path NULL; a bad option
 *                                     (the message names it).
 *           GML_ERR_FITS / GML_ERR_IO the file cannot be written.
 *           GML_ERR_CANCELLED         cancelled; no file is left.
 */
GML_API gml_status gml_merger_simulate(gml_context* ctx, const gml_merger_simulate_options* opts,
                                       const char* out_path, int64_t* n_images);

typedef struct gml_merger_train_options {
  uint32_t struct_size; /**< sizeof(gml_merger_train_options) */
  /** Encoder: "resnet18" (default), "resnet34", "resnet50",
      "efficientnet_b0" .. "efficientnet_b4". Borrowed. */
  const char* backbone;
  int64_t latent_dim;   /**< VAE latent size; default 16; 0 = no VAE */
  int32_t regress_time; /**< non-zero (default): a head regresses the time */
  int32_t fcae;         /**< non-zero (default): train the FCAE decoder */
  /** "reject" (default: NaN pixels are an error) or "mask". Borrowed. */
  const char* nan_policy;
  /** "adam" (default) or "adadelta". Borrowed. */
  const char* optimizer;
  double lr;                             /**< default 1e-3 (use about 1.0 with adadelta) */
  int64_t batch_size;                    /**< images per rank and micro-batch; default 32 */
  int64_t micro_batches;                 /**< micro-batches per rank per step; default 1 */
  int64_t max_epochs;                    /**< default 20 */
  int64_t max_steps;                     /**< 0 (default): no limit */
  int64_t patience;                      /**< early stopping, epochs; default 5 */
  double w_class, w_time, w_fcae, w_vae; /**< loss weights; default 1 each */
  double vae_beta;                       /**< KL weight; default 1 */
  int32_t augment;                       /**< non-zero (default): random flips and quarter turns */
  /** Cameras whose images form the validation set: NULL (default) = the last
      two cameras of the file. Borrowed. */
  const int32_t* validation_cameras;
  int32_t n_validation_cameras;
  /** Checkpoint written (by rank 0) after every epoch; NULL = none. */
  const char* checkpoint_path;
  int32_t resume;   /**< non-zero: continue from checkpoint_path if present */
  uint64_t seed;    /**< 0 (default): the context's seed */
  double bucket_mb; /**< fused allreduce bucket size, MiB; default 25 */
  /** Recorded in the model file's provenance (e.g. the command line); may
      be NULL. */
  const char* command;
  /** "constant" (default) or "cosine": the rate at step s of the S planned
      steps (max_steps, else max_epochs x steps per epoch) is
      lr (1 + cos(pi s / S)) / 2; a resumed run continues the curve.
      Borrowed. Callers built before this field get "constant". */
  const char* lr_schedule;
} gml_merger_train_options;

/** Fills opts with the defaults above. NULL is ignored. */
GML_API void gml_merger_train_options_default(gml_merger_train_options* opts);

/** Figures of a training run. */
typedef struct gml_merger_train_report {
  uint32_t struct_size; /**< set by the caller to sizeof(gml_merger_train_report) */
  int64_t epochs, steps, best_epoch;
  int64_t train_images, validation_images;
  int32_t world_size;         /**< ranks that trained together */
  int32_t stopped_early;      /**< non-zero when patience ran out */
  double validation_loss;     /**< of the kept (best) weights */
  double validation_accuracy; /**< exact class */
  double validation_within3;  /**< class within 3 of the truth */
  double validation_time_mae_myr;
  double images_per_s;      /**< all ranks together */
  double step_seconds;      /**< mean wall time of a step */
  double allreduce_seconds; /**< of which inside allreduce, per step */
  int64_t allreduce_calls;  /**< in all */
  int64_t buckets_per_step; /**< allreduce calls per step */
  /** Per step, of step_seconds: waiting for the slowest rank before the
      reduction starts (load imbalance; not part of allreduce_seconds).
      Written only when struct_size covers it. */
  double wait_seconds;
} gml_merger_train_report;

/**
 * Trains a merger model on a simulator file (gml_merger_simulate()'s layout)
 * and writes it. With a context whose backend is "mpi" (mpirun -np N), every
 * rank must make the same call: training is data-parallel (rank 0's initial
 * weights broadcast, each rank a share of every global batch, gradients
 * averaged in fused buckets) and only rank 0 writes files. A rank that fails
 * makes every rank return GML_ERR_BACKEND.
 * Given:    ctx          device, seed, backend, progress ("train", images).
 *           data_path    FITS file of images and LABELS.
 *           opts         NULL for defaults.
 *           model_path   model file to write (rank 0).
 * Returned: report       figures of the run (may be NULL); its struct_size
 *                        must be set.
 * Errors:   GML_ERR_INVALID_ARGUMENT  NULL ctx/paths, bad options, more
 *                                     ranks than training images.
 *           GML_ERR_FITS / GML_ERR_FORMAT  the data file is unreadable or not
 *                                     a merger image file.
 *           GML_ERR_IO                the model cannot be written.
 *           GML_ERR_BACKEND           another rank failed.
 *           GML_ERR_CANCELLED         cancelled; the last checkpoint stays.
 */
GML_API gml_status gml_merger_train(gml_context* ctx, const char* data_path,
                                    const gml_merger_train_options* opts, const char* model_path,
                                    gml_merger_train_report* report);

/**
 * Shape of a merger model's inputs and outputs.
 * Returned: in_channels, image_size, n_classes, latent_dim (each may be
 *           NULL). latent_dim is 0 for a model without VAE.
 * Errors:   GML_ERR_INVALID_ARGUMENT  model NULL; GML_ERR_FAMILY  not a
 *           merger model.
 */
GML_API gml_status gml_merger_dims(const gml_model* model, int64_t* in_channels,
                                   int64_t* image_size, int64_t* n_classes, int64_t* latent_dim);

/**
 * Classifies images given in a caller buffer, in batches, under inference
 * mode on the model's device.
 * Given:    ctx; model (family "merger").
 *           images    [n, channels, height, width] float32; channels must be
 *                     the model's; height and width the model's unless
 *                     resize is non-zero (then resampled; flagged).
 *           n >= 1.
 * Returned: probs     [n, n_classes] class probabilities (may be NULL).
 *           classes   [n] most probable class (may be NULL).
 *           time_myr  [n] predicted time (may be NULL).
 *           latent    [n, latent_dim] VAE mean (may be NULL; must be NULL
 *                     for a model without VAE).
 *           flags     [n] GML_MERGER_FLAG_* bits (may be NULL).
 * Errors:   GML_ERR_INVALID_ARGUMENT  NULL ctx/model/images, n < 1, wrong
 *                                     band count, wrong size without resize,
 *                                     NaN pixels under the "reject" policy
 *                                     (the message names the image).
 *           GML_ERR_FAMILY            not a merger model.
 *           GML_ERR_CANCELLED         cancelled; outputs partly written.
 */
GML_API gml_status gml_merger_classify(gml_context* ctx, const gml_model* model,
                                       const float* images, int64_t n, int64_t channels,
                                       int64_t height, int64_t width, int32_t resize, float* probs,
                                       int32_t* classes, float* time_myr, float* latent,
                                       int32_t* flags);

/**
 * Encodes images to the search latent (the VAE mean) only; cheaper than
 * gml_merger_classify(). Arguments and errors as there; the model must
 * have a VAE (latent_dim > 0), else GML_ERR_INVALID_ARGUMENT.
 * Returned: latent [n, latent_dim]; flags [n] (may be NULL).
 */
GML_API gml_status gml_merger_encode(gml_context* ctx, const gml_model* model, const float* images,
                                     int64_t n, int64_t channels, int64_t height, int64_t width,
                                     int32_t resize, float* latent, int32_t* flags);

/**
 * Builds a latent index: every image of images_path encoded by model, with
 * a thumbnail (for SSIM and neighbour plots), its labels when the file is a
 * simulator file (SIM_ID, TIME_CLASS) and the model's checksum. Images come
 * from a simulator file or a cutout cube (gml_cutouts_write() with
 * GML_CUTOUT_LAYOUT_CUBE).
 * Given:    ctx (progress "index", images); model; images_path; resize as
 *           in gml_merger_classify(); index_path (written atomically).
 * Returned: n_indexed  images in the index (may be NULL).
 * Errors:   GML_ERR_INVALID_ARGUMENT, GML_ERR_FAMILY, GML_ERR_FITS,
 *           GML_ERR_FORMAT, GML_ERR_IO, GML_ERR_CANCELLED.
 */
GML_API gml_status gml_merger_index_build(gml_context* ctx, const gml_model* model,
                                          const char* images_path, int32_t resize,
                                          const char* index_path, int64_t* n_indexed);

/**
 * Size of an index file.
 * Returned: n_entries, latent_dim (each may be NULL).
 * Errors:   GML_ERR_INVALID_ARGUMENT (NULL path), GML_ERR_IO, GML_ERR_FORMAT,
 *           GML_ERR_FAMILY (not an index), GML_ERR_CHECKSUM.
 */
GML_API gml_status gml_merger_index_info(const char* index_path, int64_t* n_entries,
                                         int64_t* latent_dim);

/**
 * The k nearest index entries (exact L2 in the latent, nearest first) of
 * each query image, with the SSIM between the query and each neighbour's
 * thumbnail.
 * Given:    ctx; model (must be the model that built the index);
 *           index_path; images, n, channels, height, width, resize as in
 *           gml_merger_classify(); k in [1, entries].
 * Returned: rows       [n, k] index rows (may be NULL).
 *           ids        [n, k] entry ids (may be NULL).
 *           distances  [n, k] latent distances (may be NULL).
 *           ssim       [n, k] (may be NULL).
 *           sim_id, time_class [n, k] labels of the entries, -1 when
 *                      unknown (each may be NULL).
 * Errors:   GML_ERR_INVALID_ARGUMENT  as gml_merger_classify(); k out of
 *                                     range; an index built with a
 *                                     different model (the message gives
 *                                     both checksums).
 *           GML_ERR_FAMILY            model not a merger model, or the file
 *                                     not an index.
 *           GML_ERR_IO, GML_ERR_FORMAT, GML_ERR_CHECKSUM  index file.
 */
GML_API gml_status gml_merger_search(gml_context* ctx, const gml_model* model,
                                     const char* index_path, const float* images, int64_t n,
                                     int64_t channels, int64_t height, int64_t width,
                                     int32_t resize, int64_t k, int64_t* rows, int64_t* ids,
                                     float* distances, float* ssim, int32_t* sim_id,
                                     int32_t* time_class);

/**
 * Spectral clustering of an index's latents: kNN graph with self-tuning
 * Gaussian weights, normalised Laplacian, its n_clusters smallest
 * eigenvectors, k-means (docs/merger.md).
 * Given:    ctx (seed of k-means); index_path; n_clusters >= 2;
 *           n_neighbours >= 1 (graph degree, e.g. 10); capacity = entries
 *           of labels.
 * Returned: labels [entries] cluster of each index entry, 0-based.
 *           eigenvalues [n_clusters] smallest Laplacian eigenvalues (may be
 *           NULL).
 * Errors:   GML_ERR_INVALID_ARGUMENT, GML_ERR_CAPACITY (capacity <
 *           entries), GML_ERR_IO, GML_ERR_FORMAT, GML_ERR_FAMILY.
 */
GML_API gml_status gml_merger_cluster(gml_context* ctx, const char* index_path, int64_t n_clusters,
                                      int64_t n_neighbours, int64_t* labels, size_t capacity,
                                      double* eigenvalues);

/* ======================================================================== */
/* WCS: alternate coordinate systems                                         */
/* ======================================================================== */

/**
 * As gml_wcs_open(), for one chosen WCS of the header.
 * Given:    path, hdu  as gml_wcs_open().
 *           alt   ' ' or '\0': the primary WCS (as gml_wcs_open());
 *                 'A'..'Z': that alternate WCS (CTYPEia, WCSNAMEa).
 * Returned: out   a new handle, released with gml_wcs_free(); untouched on
 *                 error. gml_wcs_header() of an alternate writes its
 *                 keywords with the same letter.
 * Errors:   as gml_wcs_open(); GML_ERR_INVALID_ARGUMENT for another alt;
 *           GML_ERR_WCS when the header has no such WCS (the message lists
 *           the WCS it has) or that WCS is invalid.
 * Thread-safety: any thread.
 */
GML_API gml_status gml_wcs_open_alternate(const char* path, const char* hdu, char alt,
                                          gml_wcs** out);

/**
 * As gml_wcs_open_header(), for one chosen WCS (alt as
 * gml_wcs_open_alternate()).
 */
GML_API gml_status gml_wcs_open_header_alternate(const char* header, size_t length, char alt,
                                                 gml_wcs** out);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* GALAXYML_GALAXYML_H */

/*
 * galaxyml.h — the stable C interface of galaxyml.
 *
 * galaxyml runs galaxy machine-learning models (conditional flows, amortized
 * posteriors, diffusion synthesis, merger classification) on FITS tables,
 * FITS cutouts and HDF5 files. This is the one header a host includes. It
 * declares what every family shares (status, versions, initialisation,
 * contexts, model files, WCS, catalogs, tables, cutouts) and includes one
 * header per model family: galaxyml/flow.h, galaxyml/posterior.h,
 * galaxyml/merger.h. Each is plain C99 and needs no other header than
 * <stddef.h> and <stdint.h>; together they are the whole public surface that
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
 *   appended; no field ever moves. The library reads min(struct_size, its
 *   own sizeof) bytes and takes every field it was not given from the
 *   defaults, so a caller compiled against an older header keeps working.
 *   A struct_size below the struct's first published size (e.g. an
 *   uninitialised one) is GML_ERR_INVALID_ARGUMENT. A caller compiled against
 *   a newer header passes a longer struct: it is accepted when the fields this
 *   library does not know are zero, and refused with GML_ERR_INVALID_ARGUMENT
 *   when one is set (the library cannot do what it asks). Result structs the
 *   caller sizes (gml_model_info, gml_merger_train_report) receive the fields
 *   that fit in their struct_size; the rest is left as the caller set it.
 *
 * Seeds.  Every seed argument and seed option means the same: 0 takes the
 *   seed of the calling context (gml_context_options.seed, by default
 *   gml_init_options.seed, by default 0); any other value is used as given.
 *   Equal seeds give equal results on every run of a device with the same
 *   number of threads. Flow and posterior sampling, merger inference and
 *   the merger simulator also give the same bits at every thread count;
 *   training and diffusion sampling do not (their reductions and
 *   convolutions are split by thread, which moves the last bits: about
 *   1e-6 in a diffusion image).
 *
 * Devices.  A context runs on one device. A model runs on the device of the
 *   context that loaded it; a call that passes a context on another device
 *   fails with GML_ERR_DEVICE (nothing is moved between devices silently).
 *   Load the model once per device to run it on several.
 *
 * Cancellation.  gml_cancel() raises a flag on a context that stops the call
 *   running on it, and every later long call on it, with GML_ERR_CANCELLED
 *   until gml_cancel_reset() lowers it (as ONNX Runtime's
 *   SetTerminate/UnsetTerminate): a request is never lost to a call that was
 *   about to start, and never stops an unrelated later call unnoticed. A
 *   progress callback that returns non-zero stops only the call it reports.
 *
 * Names.  Counts are n_* and learning rates learning_rate in new functions
 *   and fields. Older fields keep the spelling they were published with:
 *   num_threads, num_blocks, num_bins (= n_*) and
 *   gml_merger_train_options.lr (= learning_rate).
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
 * Versioning.  GML_ABI_VERSION is N in the SONAME libgalaxyml.so.N; both
 *   change together, only on an incompatible change. Functions are only ever
 *   added.
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
  /** The requested device is unknown to this build or not present, or a
      call's model was loaded on another device than its context's. */
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
      one per core the process may run on (its affinity mask, capped by its
      cgroup's CPU quota). Set once per process. Training steps of small
      models use one thread whatever the count: their short parallel
      regions would otherwise wait on threads that other processes on the
      node keep descheduled. */
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
 * and logs a warning. The first initialisation also switches LibTorch's TF32
 * convolutions and matrix products off for the process (LibTorch turns TF32
 * convolutions on by default on recent GPUs): float32 means float32 on
 * every device. The log sink, level and default seed may be changed by
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
 * Raises ctx's cancel flag: the long call running on ctx stops at its next
 * check point with GML_ERR_CANCELLED, and so does every long call started on
 * ctx until gml_cancel_reset() (see "Cancellation" above). Safe from any
 * thread, and from a signal handler (it only sets an atomic flag).
 * Errors: GML_ERR_INVALID_ARGUMENT  ctx NULL or not a live context.
 */
GML_API gml_status gml_cancel(gml_context* ctx);

/**
 * Lowers ctx's cancel flag raised by gml_cancel(), so that calls on ctx run
 * again. Call it between calls, once the cancelled call has returned; a
 * reset while a call runs may let that call go on. Safe from any thread.
 * Errors: GML_ERR_INVALID_ARGUMENT  ctx NULL or not a live context.
 */
GML_API gml_status gml_cancel_reset(gml_context* ctx);

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

/** A loaded model of any family. */
typedef struct gml_model gml_model;

/**
 * Loads a model file onto the context's device. The model runs there: calls
 * through a context on another device fail with GML_ERR_DEVICE.
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
 *           Distortions are applied as astropy's all_pix2world and
 *           all_world2pix apply them: SIP, TPV, and the lookup tables of HST
 *           headers (CPDISj / D2IMDISj = 'Lookup', read from the WCSDVARR /
 *           D2IMARR image extensions of the same file), and -TAB
 *           coordinates (read from their binary table). sky2pix inverts
 *           lookup distortions iteratively to 1e-10 pixel; a point that does
 *           not converge gets GML_WCS_POINT_INVALID. The repairs astropy also
 *           makes (a malformed card that is not a WCS keyword left out;
 *           SCAMP PVi_m dropped beside SIP; SIP dropped beside TPV; a pre-2012
 *           SCAMP TAN read as TPV) are logged as warnings.
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
 *           GML_ERR_WCS               no celestial WCS, or invalid; also a
 *                                     header that declares lookup-table
 *                                     distortions or -TAB coordinates, which
 *                                     need their file (use gml_wcs_open()).
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
 * Errors:   GML_ERR_INVALID_ARGUMENT, GML_ERR_CAPACITY, GML_ERR_WCS (also
 *           for a WCS with lookup-table distortions or -TAB coordinates,
 *           which header cards cannot hold).
 * Thread-safety: as gml_wcs_pix2sky().
 */
GML_API gml_status gml_wcs_header(const gml_wcs* wcs, char* buf, size_t capacity, size_t* length);

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

#ifdef __cplusplus
} /* extern "C" */
#endif

/* The families, each in its own header (each may also be included alone). */
#include "galaxyml/diffusion.h"
#include "galaxyml/flow.h"
#include "galaxyml/merger.h"
#include "galaxyml/posterior.h"

#endif /* GALAXYML_GALAXYML_H */

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
    GML_ERR_INTERNAL = 15
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
enum {
    GML_LOG_ERROR = 0,
    GML_LOG_WARNING = 1,
    GML_LOG_INFO = 2,
    GML_LOG_DEBUG = 3
};

/**
 * Log sink. Called on the thread that made the library call.
 * Given: level    one of GML_LOG_*.
 *        message  NUL-terminated UTF-8, valid only during the call.
 *        user     the pointer registered with the callback.
 */
typedef void (*gml_log_fn)(int32_t level, const char* message, void* user);

typedef struct gml_init_options {
    uint32_t struct_size;  /**< sizeof(gml_init_options) */
    /** Intra-op CPU threads. 0: read GML_NUM_THREADS, then OMP_NUM_THREADS,
        else LibTorch's default (one per core). Set once per process. */
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
 * Errors: GML_ERR_INVALID_ARGUMENT  struct_size too small, negative thread
 *                                   count, unknown log level.
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
    uint32_t struct_size;  /**< sizeof(gml_progress) of the library */
    const char* stage;     /**< what is running, e.g. "train", "sample" */
    int64_t done;          /**< units finished (rows, steps, stars, images) */
    int64_t total;         /**< units in all; 0 if unknown */
    const char* unit;      /**< name of a unit, e.g. "rows", "steps" */
    double elapsed_s;      /**< seconds since the call began */
    double rate;           /**< units per second, averaged recently */
    double eta_s;          /**< estimated seconds left; negative if unknown */
    double metric;         /**< stage-specific figure (e.g. loss); NaN if none */
    const char* metric_name; /**< name of metric, e.g. "loss"; "" if none */
} gml_progress;

/**
 * Progress sink. Called on the caller's thread, at most a few times a second.
 * Returned: 0 to continue; non-zero cancels the call, which then returns
 *           GML_ERR_CANCELLED.
 */
typedef int32_t (*gml_progress_fn)(const gml_progress* progress, void* user);

typedef struct gml_context_options {
    uint32_t struct_size;  /**< sizeof(gml_context_options) */
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
GML_API gml_status gml_context_create(const gml_context_options* opts,
                                      gml_context** out);

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
GML_API gml_status gml_context_device(const gml_context* ctx, char* buf,
                                      size_t capacity, size_t* length);

/**
 * Rank and size of the context's distributed backend (0 and 1 without one).
 * Returned: rank, size (either may be NULL when not wanted).
 * Errors:   GML_ERR_INVALID_ARGUMENT  ctx NULL.
 */
GML_API gml_status gml_context_rank(const gml_context* ctx, int32_t* rank,
                                    int32_t* size);

/**
 * Registers the progress sink of every long call made with ctx.
 * Given: fn    NULL to remove; user  passed back to fn.
 * Errors: GML_ERR_INVALID_ARGUMENT  ctx NULL.
 */
GML_API gml_status gml_context_set_progress(gml_context* ctx,
                                            gml_progress_fn fn, void* user);

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
GML_API gml_status gml_context_selftest(gml_context* ctx, int64_t n_steps,
                                        double* checksum);

/* ======================================================================== */
/* Model files (HDF5; see docs/model_format.md)                             */
/* ======================================================================== */

/** Longest family name, version string and checksum text, with NUL. */
#define GML_FAMILY_MAX 32
#define GML_VERSION_MAX 32
#define GML_CHECKSUM_MAX 48

/** Format version of model files this library writes and the newest it
    reads. */
#define GML_MODEL_FORMAT_VERSION 1

typedef struct gml_model_info {
    uint32_t struct_size;             /**< set by the caller: sizeof */
    char family[GML_FAMILY_MAX];      /**< "flow", "posterior", "diffusion",
                                           "merger" */
    int32_t format_version;           /**< gml_format_version attribute */
    char library_version[GML_VERSION_MAX]; /**< library that wrote it */
    char checksum[GML_CHECKSUM_MAX];  /**< "fnv1a64:<16 hex digits>" */
    int64_t n_tensors;                /**< datasets under /tensors */
    int64_t n_parameters;             /**< elements in /tensors */
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
GML_API gml_status gml_model_file_inspect(const char* path,
                                          const char* expected_family,
                                          gml_model_info* info);

/**
 * JSON text of a model file's config attribute (the architecture and
 * training settings).
 * Given:    path; capacity of buf.
 * Returned: buf, length — see "Strings out".
 * Errors:   as gml_model_file_inspect(), plus GML_ERR_CAPACITY.
 */
GML_API gml_status gml_model_file_config(const char* path, char* buf,
                                         size_t capacity, size_t* length);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* GALAXYML_GALAXYML_H */

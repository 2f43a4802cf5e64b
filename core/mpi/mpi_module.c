/* The MPI backend module. Written in C so it depends on nothing but libmpi. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/distributed/mpi_module_abi.h"

/* MPI counts are int: move large buffers in pieces no larger than this. */
#define GML_MPI_CHUNK ((int64_t)1 << 28)

static void finalize_at_exit(void) {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) MPI_Finalize();
}

static int32_t m_init(void) {
  int initialised = 0;
  MPI_Initialized(&initialised);
  if (!initialised) {
    int provided = 0;
    int rc = MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided);
    if (rc != MPI_SUCCESS) return rc;
    atexit(finalize_at_exit);
  }
  /* Errors come back as codes, so the core can turn them into messages. */
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  return 0;
}

static int32_t m_rank(void) {
  int r = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &r);
  return r;
}

static int32_t m_size(void) {
  int s = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &s);
  return s;
}

static int32_t m_barrier(void) {
  return MPI_Barrier(MPI_COMM_WORLD);
}

static int32_t m_bcast(void* buf, int64_t bytes, int32_t root) {
  char* p = (char*)buf;
  for (int64_t off = 0; off < bytes; off += GML_MPI_CHUNK) {
    int64_t n = bytes - off < GML_MPI_CHUNK ? bytes - off : GML_MPI_CHUNK;
    int rc = MPI_Bcast(p + off, (int)n, MPI_BYTE, root, MPI_COMM_WORLD);
    if (rc != MPI_SUCCESS) return rc;
  }
  return 0;
}

/* In-place sum of n elements of `type` (elem_size bytes each), in chunks. */
static int32_t allreduce_sum(void* buf, int64_t n, size_t elem_size, MPI_Datatype type) {
  char* p = (char*)buf;
  for (int64_t off = 0; off < n; off += GML_MPI_CHUNK) {
    int64_t k = n - off < GML_MPI_CHUNK ? n - off : GML_MPI_CHUNK;
    int rc = MPI_Allreduce(MPI_IN_PLACE, p + off * (int64_t)elem_size, (int)k, type, MPI_SUM,
                           MPI_COMM_WORLD);
    if (rc != MPI_SUCCESS) return rc;
  }
  return 0;
}

static int32_t m_allreduce_f32(float* buf, int64_t n) {
  return allreduce_sum(buf, n, sizeof(float), MPI_FLOAT);
}

static int32_t m_allreduce_f64(double* buf, int64_t n) {
  return allreduce_sum(buf, n, sizeof(double), MPI_DOUBLE);
}

static int32_t m_allgather_i64(int64_t value, int64_t* out) {
  return MPI_Allgather(&value, 1, MPI_INT64_T, out, 1, MPI_INT64_T, MPI_COMM_WORLD);
}

/* Point-to-point in rank order keeps every message under the int limit
   without building displacement arrays that could overflow. */
static int32_t m_gatherv_bytes(const void* send, int64_t send_bytes, void* recv,
                               const int64_t* counts, int32_t root) {
  int rank = m_rank(), size = m_size();
  if (rank != root) {
    const char* p = (const char*)send;
    for (int64_t off = 0; off < send_bytes; off += GML_MPI_CHUNK) {
      int64_t n = send_bytes - off < GML_MPI_CHUNK ? send_bytes - off : GML_MPI_CHUNK;
      int rc = MPI_Send(p + off, (int)n, MPI_BYTE, root, 7301, MPI_COMM_WORLD);
      if (rc != MPI_SUCCESS) return rc;
    }
    return 0;
  }
  char* out = (char*)recv;
  for (int r = 0; r < size; ++r) {
    if (r == root) {
      if (send_bytes > 0) memcpy(out, send, (size_t)send_bytes);
    } else {
      for (int64_t off = 0; off < counts[r]; off += GML_MPI_CHUNK) {
        int64_t n = counts[r] - off < GML_MPI_CHUNK ? counts[r] - off : GML_MPI_CHUNK;
        int rc = MPI_Recv(out + off, (int)n, MPI_BYTE, r, 7301, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        if (rc != MPI_SUCCESS) return rc;
      }
    }
    out += counts[r];
  }
  return 0;
}

static void m_abort(int32_t code, const char* message) {
  fprintf(stderr, "galaxyml: rank %d aborting all ranks: %s\n", (int)m_rank(),
          message ? message : "");
  fflush(stderr);
  MPI_Abort(MPI_COMM_WORLD, code == 0 ? 1 : code);
}

static void m_error_string(int32_t code, char* buf, size_t capacity) {
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  if (capacity == 0) return;
  if (MPI_Error_string(code, text, &len) != MPI_SUCCESS) {
    snprintf(buf, capacity, "MPI error %d", (int)code);
    return;
  }
  snprintf(buf, capacity, "%s (MPI error %d)", text, (int)code);
}

static const char* m_library_version(void) {
  static char text[MPI_MAX_LIBRARY_VERSION_STRING];
  int len = 0;
  MPI_Get_library_version(text, &len);
  char* nl = strchr(text, '\n');
  if (nl) *nl = '\0';
  return text;
}

__attribute__((visibility("default"))) const gml_mpi_module* gml_mpi_module_v1(void) {
  static const gml_mpi_module module = {sizeof(gml_mpi_module),
                                        GML_MPI_MODULE_ABI,
                                        m_init,
                                        m_rank,
                                        m_size,
                                        m_barrier,
                                        m_bcast,
                                        m_allreduce_f32,
                                        m_allreduce_f64,
                                        m_allgather_i64,
                                        m_gatherv_bytes,
                                        m_abort,
                                        m_error_string,
                                        m_library_version};
  return &module;
}

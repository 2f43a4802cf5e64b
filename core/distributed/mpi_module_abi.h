/*
 * The plain-C contract between the core library and libgalaxyml_mpi.so.
 * The core never links libmpi; it dlopen()s the module and calls the one
 * function gml_mpi_module_v1() to get this table. Keeping the boundary C
 * means the two need not agree on C++ ABI details.
 *
 * Every function returns 0 on success or an MPI error code; error_string()
 * turns a code into text. Sizes are int64_t; the module splits transfers
 * that exceed MPI's int counts.
 */
#ifndef GALAXYML_MPI_MODULE_ABI_H
#define GALAXYML_MPI_MODULE_ABI_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define GML_MPI_MODULE_ABI 1

typedef struct gml_mpi_module {
  uint32_t struct_size;
  int32_t abi; /* GML_MPI_MODULE_ABI */
  /* MPI_Init_thread unless MPI is already initialised by the host. */
  int32_t (*init)(void);
  int32_t (*rank)(void);
  int32_t (*size)(void);
  int32_t (*barrier)(void);
  int32_t (*bcast)(void* buf, int64_t bytes, int32_t root);
  int32_t (*allreduce_sum_f32)(float* buf, int64_t n);
  int32_t (*allreduce_sum_f64)(double* buf, int64_t n);
  /* Every rank contributes one int64; out has size() entries. */
  int32_t (*allgather_i64)(int64_t value, int64_t* out);
  /* Rank-ordered concatenation of byte blocks on root; counts[i] is rank i's
     block size (known to all ranks); recv is only used on root. */
  int32_t (*gatherv_bytes)(const void* send, int64_t send_bytes, void* recv, const int64_t* counts,
                           int32_t root);
  void (*abort)(int32_t code, const char* message);
  void (*error_string)(int32_t code, char* buf, size_t capacity);
  /* Library version text of the MPI implementation. */
  const char* (*library_version)(void);
} gml_mpi_module;

typedef const gml_mpi_module* (*gml_mpi_module_fn)(void);

#ifdef __cplusplus
}
#endif

#endif

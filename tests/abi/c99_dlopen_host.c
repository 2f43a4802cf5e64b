/* A host written in strict C99 that knows galaxyml only through its header
   and dlopen(), the way survey pipelines load plugins. */
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include "galaxyml/galaxyml.h"

#define LOAD(handle, name)                           \
  name##_t name = (name##_t)dlsym_fn(handle, #name); \
  if (!name) {                                       \
    fprintf(stderr, "missing symbol %s\n", #name);   \
    return 1;                                        \
  }

typedef int32_t (*gml_abi_version_t)(void);
typedef const char* (*gml_last_error_t)(void);
typedef void (*gml_context_options_default_t)(gml_context_options*);
typedef gml_status (*gml_context_create_t)(const gml_context_options*, gml_context**);
typedef void (*gml_context_free_t)(gml_context*);
typedef gml_status (*gml_context_selftest_t)(gml_context*, int64_t, double*);
typedef gml_status (*gml_model_file_inspect_t)(const char*, const char*, gml_model_info*);

/* ISO C forbids converting void* to a function pointer; go through memcpy. */
static void (*dlsym_fn(void* handle, const char* name))(void) {
  void* p = dlsym(handle, name);
  void (*fn)(void) = NULL;
  if (p) memcpy(&fn, &p, sizeof fn);
  return fn;
}

int main(int argc, char** argv) {
  void* lib;
  gml_context_options opts;
  gml_context* ctx = NULL;
  gml_model_info info;
  double checksum = 0.0;
  if (argc != 3) {
    fprintf(stderr, "usage: %s LIBGALAXYML MODEL\n", argv[0]);
    return 2;
  }
  lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    fprintf(stderr, "dlopen: %s\n", dlerror());
    return 1;
  }
  {
    LOAD(lib, gml_abi_version)
    LOAD(lib, gml_last_error)
    LOAD(lib, gml_context_options_default)
    LOAD(lib, gml_context_create)
    LOAD(lib, gml_context_free)
    LOAD(lib, gml_context_selftest)
    LOAD(lib, gml_model_file_inspect)
    if (gml_abi_version() != GML_ABI_VERSION) {
      fprintf(stderr, "ABI %d != header %d\n", (int)gml_abi_version(), GML_ABI_VERSION);
      return 1;
    }
    gml_context_options_default(&opts);
    opts.device = "cuda:77";
    if (gml_context_create(&opts, &ctx) != GML_ERR_DEVICE || ctx != NULL) {
      fprintf(stderr, "cuda:77 should be GML_ERR_DEVICE\n");
      return 1;
    }
    opts.device = "cpu";
    if (gml_context_create(&opts, &ctx) != GML_OK) {
      fprintf(stderr, "context: %s\n", gml_last_error());
      return 1;
    }
    if (gml_context_selftest(ctx, 2, &checksum) != GML_OK || !(checksum > 0.0)) {
      fprintf(stderr, "selftest: %s\n", gml_last_error());
      return 1;
    }
    info.struct_size = sizeof info;
    if (gml_model_file_inspect(argv[2], "flow", &info) != GML_OK) {
      fprintf(stderr, "inspect: %s\n", gml_last_error());
      return 1;
    }
    printf("ABI %d, %s model with %lld parameters, selftest %.4f\n", (int)gml_abi_version(),
           info.family, (long long)info.n_parameters, checksum);
    gml_context_free(ctx);
  }
  /* Never dlclose(lib): LibTorch does not survive being unloaded. */
  return 0;
}

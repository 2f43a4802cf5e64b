/*
 * gml_idl_glue.h — helpers shared by the CALL_EXTERNAL entry points of the
 * IDL binding (gml_idl_glue_generated.c and gml_idl_glue.c).
 *
 * CALL_EXTERNAL gives C nothing but the addresses of the arguments' data:
 * no types, no element counts. The .pro wrappers are therefore the only
 * callers of these entries; they size every array from the C shapes before
 * the call, and the entries check what they can (argument count, NULL
 * pointers, string counts, option names and values).
 */
#ifndef GML_IDL_GLUE_H
#define GML_IDL_GLUE_H

#include <stddef.h>
#include <stdint.h>

#include "galaxyml/galaxyml.h"

/* Largest string-array length and option count an entry accepts. */
#define GML_IDL_MAX_STRINGS 4096

/* IDL's string descriptor (IDL_STRING of idl_export.h), which GDL passes
   by the same layout: slen is the length without NUL, s may be NULL for
   an empty string. */
typedef struct gml_idl_string {
  int32_t slen;
  short stype;
  char* s;
} gml_idl_string;

/* Memory an entry allocates for the duration of one call. */
typedef struct gml_idl_scratch {
  void* blocks[16];
  int n;
} gml_idl_scratch;

/* Text of "name:t=value" lines written into a caller byte buffer. */
typedef struct gml_idl_text {
  char* buf;
  uint64_t capacity;
  uint64_t used;
  int overflow;
} gml_idl_text;

int gml_idl_begin(int argc, void* argv[], int expected, const char* function);
gml_status gml_idl_fail(gml_status status, const char* format, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

void* gml_idl_pointer(void* arg, int64_t mask, int index);
void* gml_idl_handle(void* arg, int64_t mask, int index);
const char* gml_idl_string_arg(void* arg, int64_t mask, int index);
const char* gml_idl_string_at(const void* strings, int64_t i);
const char* const* gml_idl_strings_arg(void* arg, int64_t mask, int index, int64_t n,
                                       gml_idl_scratch* scratch);
void* gml_idl_scratch_alloc(gml_idl_scratch* scratch, size_t bytes);
void gml_idl_scratch_free(gml_idl_scratch* scratch);
gml_status gml_idl_string_out(const char* text, char* buf, uint64_t capacity, uint64_t* length);

int gml_idl_key_is(const char* key, const char* field);
gml_status gml_idl_parse_i32(const char* key, const char* text, int32_t* out);
gml_status gml_idl_parse_u32(const char* key, const char* text, uint32_t* out);
gml_status gml_idl_parse_i64(const char* key, const char* text, int64_t* out);
gml_status gml_idl_parse_u64(const char* key, const char* text, uint64_t* out);
gml_status gml_idl_parse_f64(const char* key, const char* text, double* out);
gml_status gml_idl_parse_f32(const char* key, const char* text, float* out);
gml_status gml_idl_parse_f64_list(const char* key, const char* text, const double** out,
                                  int32_t* count, gml_idl_scratch* scratch);
gml_status gml_idl_parse_i32_list(const char* key, const char* text, const int32_t** out,
                                  int32_t* count, gml_idl_scratch* scratch);

void gml_idl_text_begin(gml_idl_text* t, char* buf, uint64_t capacity);
void gml_idl_text_chars(gml_idl_text* t, const char* name, const char* value, size_t max);
void gml_idl_text_int(gml_idl_text* t, const char* name, int64_t value);
void gml_idl_text_uint(gml_idl_text* t, const char* name, uint64_t value);
void gml_idl_text_real(gml_idl_text* t, const char* name, double value);
gml_status gml_idl_text_end(gml_idl_text* t);

#endif /* GML_IDL_GLUE_H */

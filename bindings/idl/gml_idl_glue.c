/*
 * gml_idl_glue.c — the hand-written part of the IDL binding's glue library:
 * the argument helpers the generated entries use, the error text the .pro
 * wrappers raise, and the entries that need C the generator cannot write
 * (a progress sink, the column pointers of a table append, an import's
 * prior box).
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gml_idl_glue.h"

/* IDL runs CALL_EXTERNAL on its interpreter thread; a thread-local message
   still keeps two interpreters embedded in one process apart. */
static _Thread_local char glue_error[1024];

int gml_idl_begin(int argc, void* argv[], int expected, const char* function) {
  glue_error[0] = '\0';
  if (argc != expected || (expected > 0 && argv == NULL)) {
    gml_idl_fail(GML_ERR_INVALID_ARGUMENT, "%s: the glue entry takes %d arguments, got %d",
                 function, expected, argc);
    return 0;
  }
  for (int i = 0; i < argc; ++i) {
    if (argv[i] == NULL) {
      gml_idl_fail(GML_ERR_INVALID_ARGUMENT, "%s: argument %d has no data", function, i);
      return 0;
    }
  }
  return 1;
}

gml_status gml_idl_fail(gml_status status, const char* format, ...) {
  va_list ap;
  va_start(ap, format);
  vsnprintf(glue_error, sizeof glue_error, format, ap);
  va_end(ap);
  return status;
}

static int is_null(int64_t mask, int index) {
  return index < 63 && (mask & (INT64_C(1) << index)) != 0;
}

void* gml_idl_pointer(void* arg, int64_t mask, int index) {
  return is_null(mask, index) ? NULL : arg;
}

void* gml_idl_handle(void* arg, int64_t mask, int index) {
  return is_null(mask, index) ? NULL : (void*)(uintptr_t) * (const uint64_t*)arg;
}

const char* gml_idl_string_at(const void* strings, int64_t i) {
  const gml_idl_string* s = (const gml_idl_string*)strings + i;
  return s->s != NULL ? s->s : "";
}

const char* gml_idl_string_arg(void* arg, int64_t mask, int index) {
  return is_null(mask, index) ? NULL : gml_idl_string_at(arg, 0);
}

void* gml_idl_scratch_alloc(gml_idl_scratch* scratch, size_t bytes) {
  const int capacity = (int)(sizeof scratch->blocks / sizeof scratch->blocks[0]);
  if (scratch->n >= capacity) return NULL;
  void* p = calloc(1, bytes > 0 ? bytes : 1);
  if (p != NULL) scratch->blocks[scratch->n++] = p;
  return p;
}

void gml_idl_scratch_free(gml_idl_scratch* scratch) {
  for (int i = 0; i < scratch->n; ++i) free(scratch->blocks[i]);
  scratch->n = 0;
}

const char* const* gml_idl_strings_arg(void* arg, int64_t mask, int index, int64_t n,
                                       gml_idl_scratch* scratch) {
  if (is_null(mask, index)) return NULL;
  const char** out = (const char**)gml_idl_scratch_alloc(scratch, sizeof(char*) * (size_t)n);
  if (out == NULL) return NULL;
  for (int64_t i = 0; i < n; ++i) out[i] = gml_idl_string_at(arg, i);
  return out;
}

gml_status gml_idl_string_out(const char* text, char* buf, uint64_t capacity, uint64_t* length) {
  const size_t needed = strlen(text) + 1;
  *length = needed;
  if (buf == NULL && capacity == 0) return GML_OK;
  if (buf == NULL || capacity < needed)
    return gml_idl_fail(GML_ERR_CAPACITY, "text of %zu bytes, buffer of %llu", needed,
                        (unsigned long long)capacity);
  memcpy(buf, text, needed);
  return GML_OK;
}

int gml_idl_key_is(const char* key, const char* field) {
  return strcasecmp(key, field) == 0;
}

static gml_status bad_value(const char* key, const char* text, const char* what) {
  return gml_idl_fail(GML_ERR_INVALID_ARGUMENT, "option %s: '%s' is not %s", key, text, what);
}

gml_status gml_idl_parse_i64(const char* key, const char* text, int64_t* out) {
  char* end = NULL;
  errno = 0;
  const long long v = strtoll(text, &end, 10);
  if (end == text || *end != '\0' || errno == ERANGE) return bad_value(key, text, "an integer");
  *out = (int64_t)v;
  return GML_OK;
}

gml_status gml_idl_parse_i32(const char* key, const char* text, int32_t* out) {
  int64_t v = 0;
  if (gml_idl_parse_i64(key, text, &v) != GML_OK || v < INT32_MIN || v > INT32_MAX)
    return bad_value(key, text, "a 32-bit integer");
  *out = (int32_t)v;
  return GML_OK;
}

gml_status gml_idl_parse_u64(const char* key, const char* text, uint64_t* out) {
  char* end = NULL;
  errno = 0;
  if (text[0] == '-') return bad_value(key, text, "a non-negative integer");
  const unsigned long long v = strtoull(text, &end, 10);
  if (end == text || *end != '\0' || errno == ERANGE)
    return bad_value(key, text, "a non-negative integer");
  *out = (uint64_t)v;
  return GML_OK;
}

gml_status gml_idl_parse_u32(const char* key, const char* text, uint32_t* out) {
  uint64_t v = 0;
  if (gml_idl_parse_u64(key, text, &v) != GML_OK || v > UINT32_MAX)
    return bad_value(key, text, "a 32-bit non-negative integer");
  *out = (uint32_t)v;
  return GML_OK;
}

gml_status gml_idl_parse_f64(const char* key, const char* text, double* out) {
  char* end = NULL;
  const double v = strtod(text, &end);
  if (end == text || *end != '\0') return bad_value(key, text, "a number");
  *out = v;
  return GML_OK;
}

gml_status gml_idl_parse_f32(const char* key, const char* text, float* out) {
  char* end = NULL;
  const float v = strtof(text, &end);
  if (end == text || *end != '\0') return bad_value(key, text, "a number");
  *out = v;
  return GML_OK;
}

/* Lists travel as comma-separated text: "0.25,0.5,1". */
static int64_t count_items(const char* text) {
  int64_t n = 1;
  for (const char* p = text; *p; ++p) n += *p == ',';
  return n;
}

static gml_status next_item(const char* key, const char** p, char* item, size_t size) {
  const char* comma = strchr(*p, ',');
  const size_t len = comma ? (size_t)(comma - *p) : strlen(*p);
  if (len == 0 || len >= size) return bad_value(key, *p, "a comma-separated list");
  memcpy(item, *p, len);
  item[len] = '\0';
  *p += len + (comma ? 1 : 0);
  return GML_OK;
}

gml_status gml_idl_parse_f64_list(const char* key, const char* text, const double** out,
                                  int32_t* count, gml_idl_scratch* scratch) {
  const int64_t n = count_items(text);
  if (n > GML_IDL_MAX_STRINGS) return bad_value(key, text, "a list of at most 4096 numbers");
  double* v = (double*)gml_idl_scratch_alloc(scratch, sizeof(double) * (size_t)n);
  if (v == NULL) return gml_idl_fail(GML_ERR_OUT_OF_MEMORY, "option %s: out of memory", key);
  const char* p = text;
  char item[64];
  for (int64_t i = 0; i < n; ++i) {
    gml_status st = next_item(key, &p, item, sizeof item);
    if (st == GML_OK) st = gml_idl_parse_f64(key, item, &v[i]);
    if (st != GML_OK) return st;
  }
  *out = v;
  *count = (int32_t)n;
  return GML_OK;
}

gml_status gml_idl_parse_i32_list(const char* key, const char* text, const int32_t** out,
                                  int32_t* count, gml_idl_scratch* scratch) {
  const int64_t n = count_items(text);
  if (n > GML_IDL_MAX_STRINGS) return bad_value(key, text, "a list of at most 4096 integers");
  int32_t* v = (int32_t*)gml_idl_scratch_alloc(scratch, sizeof(int32_t) * (size_t)n);
  if (v == NULL) return gml_idl_fail(GML_ERR_OUT_OF_MEMORY, "option %s: out of memory", key);
  const char* p = text;
  char item[64];
  for (int64_t i = 0; i < n; ++i) {
    gml_status st = next_item(key, &p, item, sizeof item);
    if (st == GML_OK) st = gml_idl_parse_i32(key, item, &v[i]);
    if (st != GML_OK) return st;
  }
  *out = v;
  *count = (int32_t)n;
  return GML_OK;
}

void gml_idl_text_begin(gml_idl_text* t, char* buf, uint64_t capacity) {
  t->buf = buf;
  t->capacity = capacity;
  t->used = 0;
  t->overflow = 0;
}

static void text_put(gml_idl_text* t, const char* s, size_t n) {
  if (t->used + n + 1 > t->capacity) {
    t->overflow = 1;
    return;
  }
  memcpy(t->buf + t->used, s, n);
  t->used += n;
  t->buf[t->used] = '\0';
}

static void text_line(gml_idl_text* t, const char* name, char type, const char* value, size_t n) {
  char head[80];
  const int h = snprintf(head, sizeof head, "%s:%c=", name, type);
  text_put(t, head, (size_t)h);
  text_put(t, value, n);
  text_put(t, "\n", 1);
}

void gml_idl_text_chars(gml_idl_text* t, const char* name, const char* value, size_t max) {
  const char* v = value != NULL ? value : "";
  size_t n = 0;
  while (n < max && v[n] != '\0' && v[n] != '\n') ++n;
  text_line(t, name, 's', v, n);
}

void gml_idl_text_int(gml_idl_text* t, const char* name, int64_t value) {
  char v[32];
  text_line(t, name, 'i', v, (size_t)snprintf(v, sizeof v, "%lld", (long long)value));
}

void gml_idl_text_uint(gml_idl_text* t, const char* name, uint64_t value) {
  char v[32];
  text_line(t, name, 'u', v, (size_t)snprintf(v, sizeof v, "%llu", (unsigned long long)value));
}

void gml_idl_text_real(gml_idl_text* t, const char* name, double value) {
  char v[40];
  int n;
  if (isnan(value))
    n = snprintf(v, sizeof v, "NaN");
  else if (isinf(value))
    n = snprintf(v, sizeof v, value > 0 ? "Infinity" : "-Infinity");
  else
    n = snprintf(v, sizeof v, "%.17g", value);
  text_line(t, name, 'd', v, (size_t)n);
}

gml_status gml_idl_text_end(gml_idl_text* t) {
  if (t->overflow)
    return gml_idl_fail(GML_ERR_CAPACITY, "record text does not fit in %llu bytes",
                        (unsigned long long)t->capacity);
  return GML_OK;
}

/* ------------------------------------------------------------------------ */
/* Entries                                                                  */
/* ------------------------------------------------------------------------ */

/*
 * The message a .pro wrapper raises after a failed entry: the glue's own
 * complaint when the entry refused its arguments, else the library's
 * gml_last_error(), preceded by the status name.
 * IDL: status (LONG), buf (BYTE array), capacity (ULONG64), length (ULONG64).
 */
int gml_idl_error_text(int argc, void* argv[]) {
  if (argc != 4 || argv == NULL) return GML_ERR_INVALID_ARGUMENT;
  const int32_t status = *(const int32_t*)argv[0];
  char* buf = (char*)argv[1];
  const uint64_t capacity = *(const uint64_t*)argv[2];
  const char* detail = glue_error[0] != '\0' ? glue_error : gml_last_error();
  const int n = snprintf(buf, capacity, "%s: %s", gml_status_name(status), detail);
  *(uint64_t*)argv[3] = n < 0 ? 0 : (uint64_t)n + 1;
  return n >= 0 && (uint64_t)n < capacity ? GML_OK : GML_ERR_CAPACITY;
}

/* IDL code cannot be called back from C through CALL_EXTERNAL, so progress
   is shown by the glue itself, one line per report on the IDL console. */
static int32_t print_progress(const gml_progress* p, void* user) {
  (void)user;
  if (p->total > 0)
    fprintf(stderr, "galaxyml: %s %lld/%lld %s", p->stage, (long long)p->done, (long long)p->total,
            p->unit);
  else
    fprintf(stderr, "galaxyml: %s %lld %s", p->stage, (long long)p->done, p->unit);
  if (p->eta_s >= 0) fprintf(stderr, ", %.0f s left", p->eta_s);
  if (p->metric_name != NULL && p->metric_name[0] != '\0' && !isnan(p->metric))
    fprintf(stderr, ", %s %.5g", p->metric_name, p->metric);
  fputc('\n', stderr);
  return 0;
}

/* gml_context_set_progress with the console printer (on non-zero) or none.
   IDL: ctx (ULONG64), on (LONG). */
int gml_idl_context_set_progress(int argc, void* argv[]) {
  if (!gml_idl_begin(argc, argv, 2, "gml_context_set_progress")) return GML_ERR_INVALID_ARGUMENT;
  gml_context* ctx = (gml_context*)gml_idl_handle(argv[0], 0, 0);
  const int32_t on = *(const int32_t*)argv[1];
  return gml_context_set_progress(ctx, on ? print_progress : NULL, NULL);
}

/*
 * gml_table_writer_append with every column packed into one byte buffer by
 * the .pro wrapper, column i starting at byte offsets[i] (a multiple of 8,
 * so every C type is aligned) and holding n_rows x repeat_i values.
 * IDL: w (ULONG64), n_rows (LONG64), bytes (BYTE array), offsets (LONG64
 * array), n_columns (LONG64), size of bytes (LONG64).
 */
int gml_idl_table_writer_append(int argc, void* argv[]) {
  if (!gml_idl_begin(argc, argv, 6, "gml_table_writer_append")) return GML_ERR_INVALID_ARGUMENT;
  gml_table_writer* w = (gml_table_writer*)gml_idl_handle(argv[0], 0, 0);
  const int64_t n_rows = *(const int64_t*)argv[1];
  const char* bytes = (const char*)argv[2];
  const int64_t* offsets = (const int64_t*)argv[3];
  const int64_t n_columns = *(const int64_t*)argv[4];
  const int64_t size = *(const int64_t*)argv[5];
  if (n_columns < 1 || n_columns > GML_IDL_MAX_STRINGS)
    return gml_idl_fail(GML_ERR_INVALID_ARGUMENT, "gml_table_writer_append: %lld columns",
                        (long long)n_columns);
  const void** data = (const void**)calloc((size_t)n_columns, sizeof(void*));
  if (data == NULL) return gml_idl_fail(GML_ERR_OUT_OF_MEMORY, "out of memory");
  gml_status st = GML_OK;
  for (int64_t i = 0; i < n_columns && st == GML_OK; ++i) {
    if (offsets[i] < 0 || offsets[i] > size || offsets[i] % 8 != 0)
      st = gml_idl_fail(GML_ERR_INVALID_ARGUMENT,
                        "gml_table_writer_append: column %lld starts at byte %lld of %lld",
                        (long long)i, (long long)offsets[i], (long long)size);
    else
      data[i] = bytes + offsets[i];
  }
  if (st == GML_OK) st = gml_table_writer_append(w, n_rows, data);
  free(data);
  return st;
}

/*
 * gml_posterior_import_options from the keywords of a .pro wrapper, as the
 * generated parsers read options (the JSON prior among them), plus the
 * prior box: the generator fills an array field only through an n_<field>
 * count of its own, and prior_lower and prior_upper share prior_dim, which
 * is therefore taken from their lengths rather than given.
 */
static gml_status import_option(gml_posterior_import_options* o, const char* key, const char* value,
                                int32_t* n_lower, int32_t* n_upper, gml_idl_scratch* scratch) {
  const char** text = gml_idl_key_is(key, "theta")         ? &o->theta
                      : gml_idl_key_is(key, "x")           ? &o->x
                      : gml_idl_key_is(key, "hdu")         ? &o->hdu
                      : gml_idl_key_is(key, "theta_names") ? &o->theta_names
                      : gml_idl_key_is(key, "x_names")     ? &o->x_names
                      : gml_idl_key_is(key, "prior")       ? &o->prior
                                                           : NULL;
  if (text != NULL) {
    *text = value;
    return GML_OK;
  }
  if (gml_idl_key_is(key, "reject_nonfinite"))
    return gml_idl_parse_i32(key, value, &o->reject_nonfinite);
  if (gml_idl_key_is(key, "prior_lower"))
    return gml_idl_parse_f64_list(key, value, &o->prior_lower, n_lower, scratch);
  if (gml_idl_key_is(key, "prior_upper"))
    return gml_idl_parse_f64_list(key, value, &o->prior_upper, n_upper, scratch);
  if (gml_idl_key_is(key, "prior_dim"))
    return gml_idl_fail(GML_ERR_INVALID_ARGUMENT,
                        "option prior_dim: it is the length of prior_lower and prior_upper");
  return gml_idl_fail(GML_ERR_INVALID_ARGUMENT,
                      "unknown option '%s' of gml_posterior_import_options", key);
}

static gml_status import_options(gml_posterior_import_options* o, const void* keys,
                                 const void* values, int64_t n, gml_idl_scratch* scratch) {
  memset(o, 0, sizeof *o);
  o->struct_size = (uint32_t)sizeof *o;
  gml_posterior_import_options_default(o);
  if (n < 0 || n > GML_IDL_MAX_STRINGS)
    return gml_idl_fail(GML_ERR_INVALID_ARGUMENT, "gml_posterior_import_options: %lld options",
                        (long long)n);
  int32_t n_lower = 0, n_upper = 0;
  for (int64_t i = 0; i < n; ++i) {
    const gml_status st = import_option(o, gml_idl_string_at(keys, i), gml_idl_string_at(values, i),
                                        &n_lower, &n_upper, scratch);
    if (st != GML_OK) return st;
  }
  if (n_lower != n_upper)
    return gml_idl_fail(GML_ERR_INVALID_ARGUMENT,
                        "prior_lower has %d values and prior_upper %d: give both, of one length",
                        (int)n_lower, (int)n_upper);
  o->prior_dim = n_lower;
  return GML_OK;
}

static gml_status import_report(const gml_posterior_import_report* r, char* buf,
                                uint64_t capacity) {
  gml_idl_text t;
  gml_idl_text_begin(&t, buf, capacity);
  gml_idl_text_int(&t, "theta_dim", r->theta_dim);
  gml_idl_text_int(&t, "x_dim", r->x_dim);
  gml_idl_text_int(&t, "rows_read", r->rows_read);
  gml_idl_text_int(&t, "rows_written", r->rows_written);
  gml_idl_text_int(&t, "rows_nonfinite", r->rows_nonfinite);
  gml_idl_text_int(&t, "rows_outside_prior", r->rows_outside_prior);
  return gml_idl_text_end(&t);
}

/* gml_posterior_training_set_write with the prior box as options. The
   arguments of the generated entry: ctx, theta, x, n, theta_dim, x_dim,
   keys, values, count, path, report (BYTE array), its capacity, the NULL
   mask. */
int gml_idl_posterior_training_set_write_prior(int argc, void* argv[]) {
  if (!gml_idl_begin(argc, argv, 13, "gml_posterior_training_set_write"))
    return GML_ERR_INVALID_ARGUMENT;
  const int64_t mask = *(const int64_t*)argv[12];
  gml_idl_scratch scratch = {0};
  gml_posterior_import_options opts;
  gml_status st = import_options(&opts, argv[6], argv[7], *(const int64_t*)argv[8], &scratch);
  if (st == GML_OK) {
    gml_posterior_import_report report;
    memset(&report, 0, sizeof report);
    report.struct_size = (uint32_t)sizeof report;
    st = gml_posterior_training_set_write((gml_context*)gml_idl_handle(argv[0], mask, 0),
                                          (const double*)gml_idl_pointer(argv[1], mask, 1),
                                          (const double*)gml_idl_pointer(argv[2], mask, 2),
                                          *(const int64_t*)argv[3], *(const int64_t*)argv[4],
                                          *(const int64_t*)argv[5], &opts,
                                          gml_idl_string_arg(argv[9], mask, 9), &report);
    if (st == GML_OK) st = import_report(&report, (char*)argv[10], *(const uint64_t*)argv[11]);
  }
  gml_idl_scratch_free(&scratch);
  return st;
}

/* gml_posterior_import with the prior box as options. The arguments of the
   generated entry: ctx, theta_path, x_path, keys, values, count, path,
   report (BYTE array), its capacity, the NULL mask (bit 2: no x_path). */
int gml_idl_posterior_import_prior(int argc, void* argv[]) {
  if (!gml_idl_begin(argc, argv, 10, "gml_posterior_import")) return GML_ERR_INVALID_ARGUMENT;
  const int64_t mask = *(const int64_t*)argv[9];
  gml_idl_scratch scratch = {0};
  gml_posterior_import_options opts;
  gml_status st = import_options(&opts, argv[3], argv[4], *(const int64_t*)argv[5], &scratch);
  if (st == GML_OK) {
    gml_posterior_import_report report;
    memset(&report, 0, sizeof report);
    report.struct_size = (uint32_t)sizeof report;
    st = gml_posterior_import(
        (gml_context*)gml_idl_handle(argv[0], mask, 0), gml_idl_string_arg(argv[1], mask, 1),
        gml_idl_string_arg(argv[2], mask, 2), &opts, gml_idl_string_arg(argv[6], mask, 6), &report);
    if (st == GML_OK) st = import_report(&report, (char*)argv[7], *(const uint64_t*)argv[8]);
  }
  gml_idl_scratch_free(&scratch);
  return st;
}

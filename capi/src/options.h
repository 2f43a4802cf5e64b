// The options-struct handshake of the C ABI, in one place.
//
// Option structs start with uint32_t struct_size and only grow at the end.
// A caller built against an older header passes a shorter struct; one built
// against a newer header passes a longer one. Both must work:
//   - the library reads min(struct_size, sizeof) bytes and takes every field
//     it does not receive from the struct's *_default() function;
//   - a size below the struct's first published size is not a gml options
//     struct (an uninitialised struct_size, a struct of another type): it is
//     refused;
//   - bytes beyond this library's sizeof must be zero. A newer caller's
//     unknown field that is set asks for something this library cannot do,
//     and ignoring it would be a silent wrong answer (the rule of Linux's
//     copy_struct_from_user).
// Result structs that the caller sizes (gml_model_info,
// gml_merger_train_report) get min(struct_size, sizeof) bytes written.
// Request/result structs of the *_batch functions have no *_default(): the
// caller zero-initialises them, and a zero field means the default.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <string>
#include <type_traits>
#include <vector>

#include "core/common/error.h"
#include "galaxyml/galaxyml.h"

namespace gml::capi {

// The size of each struct as first published. A field appended later moves
// sizeof, never these: callers built before it stop here.
template <class T>
struct StructAbi;

// How a caller prepares each kind of struct, for the messages.
enum class StructKind { Options, Result, Request };

#define GML_STRUCT_ABI_KIND(T, first_field_end, struct_kind)  \
  template <>                                                 \
  struct StructAbi<T> {                                       \
    static constexpr const char* name = #T;                   \
    static constexpr size_t first_size = first_field_end;     \
    static constexpr StructKind kind = struct_kind;           \
    static_assert(first_size <= sizeof(T), "first size > T"); \
  }
#define GML_STRUCT_ABI(T, first_field_end) \
  GML_STRUCT_ABI_KIND(T, first_field_end, StructKind::Options)
#define GML_FIELD_END(T, field) (offsetof(T, field) + sizeof(T::field))

GML_STRUCT_ABI(gml_init_options, sizeof(gml_init_options));
GML_STRUCT_ABI(gml_context_options, sizeof(gml_context_options));
GML_STRUCT_ABI_KIND(gml_model_info, sizeof(gml_model_info), StructKind::Result);
GML_STRUCT_ABI(gml_table_writer_options, sizeof(gml_table_writer_options));
GML_STRUCT_ABI(gml_cutout_options, sizeof(gml_cutout_options));
GML_STRUCT_ABI(gml_flow_train_options, sizeof(gml_flow_train_options));
// prior, prior_sample and prior_user were appended after the first publication.
GML_STRUCT_ABI(gml_posterior_simulate_options,
               GML_FIELD_END(gml_posterior_simulate_options, x_names));
// calibration_sims, calibration_samples and bounded_theta were appended
// after the first publication.
GML_STRUCT_ABI(gml_posterior_train_options, GML_FIELD_END(gml_posterior_train_options, lr_factor));
// truncate and min_acceptance were appended after the first publication.
GML_STRUCT_ABI(gml_posterior_run_options, GML_FIELD_END(gml_posterior_run_options, max_rows));
GML_STRUCT_ABI(gml_merger_simulate_options, sizeof(gml_merger_simulate_options));
// lr_schedule was appended after the first publication.
GML_STRUCT_ABI(gml_merger_train_options, GML_FIELD_END(gml_merger_train_options, command));
// wait_seconds was appended after the first publication.
GML_STRUCT_ABI_KIND(gml_merger_train_report,
                    GML_FIELD_END(gml_merger_train_report, buckets_per_step), StructKind::Result);
GML_STRUCT_ABI_KIND(gml_merger_classify_request, sizeof(gml_merger_classify_request),
                    StructKind::Request);
GML_STRUCT_ABI_KIND(gml_merger_classify_result, sizeof(gml_merger_classify_result),
                    StructKind::Request);
GML_STRUCT_ABI_KIND(gml_merger_search_request, sizeof(gml_merger_search_request),
                    StructKind::Request);
// flags was appended after the first publication.
GML_STRUCT_ABI_KIND(gml_merger_search_result,
                    GML_FIELD_END(gml_merger_search_result, time_class_capacity),
                    StructKind::Request);
// truncate was appended after the first publication.
GML_STRUCT_ABI_KIND(gml_posterior_diagnose_request,
                    GML_FIELD_END(gml_posterior_diagnose_request, seed), StructKind::Request);
GML_STRUCT_ABI_KIND(gml_posterior_diagnose_result, sizeof(gml_posterior_diagnose_result),
                    StructKind::Request);
GML_STRUCT_ABI(gml_diffusion_options, sizeof(gml_diffusion_options));
// prior was appended after the first publication.
GML_STRUCT_ABI(gml_posterior_import_options,
               GML_FIELD_END(gml_posterior_import_options, reject_nonfinite));
GML_STRUCT_ABI(gml_posterior_sample_options, sizeof(gml_posterior_sample_options));
GML_STRUCT_ABI_KIND(gml_posterior_import_report, sizeof(gml_posterior_import_report),
                    StructKind::Result);
GML_STRUCT_ABI(gml_diffusion_procedural_options, sizeof(gml_diffusion_procedural_options));

#undef GML_STRUCT_ABI
#undef GML_STRUCT_ABI_KIND
#undef GML_FIELD_END

// A struct_size beyond this is not a struct of this ABI (the largest is a
// few hundred bytes); reading that far would be reading garbage.
constexpr uint32_t kMaxStructSize = 1u << 16;

namespace detail {
void check_struct_size(uint32_t struct_size, size_t first_size, size_t library_size,
                       const char* name, const char* arg, StructKind kind);
void check_zero_tail(const void* caller, uint32_t struct_size, size_t library_size,
                     const char* name, const char* arg);
}  // namespace detail

// The caller's options, or the defaults when opts is NULL. struct_size of the
// result is this library's sizeof(T).
template <class T>
T read_options(const T* opts, void (*fill_defaults)(T*), const char* arg = "opts") {
  T o;
  fill_defaults(&o);
  if (!opts) return o;
  using Abi = StructAbi<T>;
  detail::check_struct_size(opts->struct_size, Abi::first_size, sizeof(T), Abi::name, arg,
                            Abi::kind);
  detail::check_zero_tail(opts, opts->struct_size, sizeof(T), Abi::name, arg);
  std::memcpy(static_cast<void*>(&o), opts, std::min<size_t>(opts->struct_size, sizeof(T)));
  o.struct_size = sizeof(T);
  return o;
}

// A request or result struct of a *_batch function: required, read as an
// options struct whose defaults are all zero.
template <class T>
T read_request(const T* in, const char* arg) {
  if (!in) fail(Status::InvalidArgument, std::string(arg) + " must not be NULL");
  return read_options<T>(
      in,
      [](T* o) {
        std::memset(static_cast<void*>(o), 0, sizeof *o);
        o->struct_size = sizeof *o;
      },
      arg);
}

// Validates a caller-sized result struct before any work is done.
template <class T>
void check_result_struct(const T* out, const char* arg) {
  if (!out) return;
  using Abi = StructAbi<T>;
  detail::check_struct_size(out->struct_size, Abi::first_size, sizeof(T), Abi::name, arg,
                            Abi::kind);
}

// Writes the fields the caller's struct has room for; its struct_size and any
// bytes beyond this library's fields are left as the caller set them.
template <class T>
void write_result(T* out, const T& value) {
  if (!out) return;
  const uint32_t caller_size = out->struct_size;
  std::memcpy(static_cast<void*>(out), &value, std::min<size_t>(caller_size, sizeof(T)));
  out->struct_size = caller_size;
}

// A caller's output array holds at least `needed` elements (a NULL array is
// not asked for). Throws Error(Capacity), counting in `unit`, before any
// work is done.
inline void require_capacity(const void* array, size_t capacity, int64_t needed, const char* name,
                             const char* unit = "elements") {
  if (array && capacity < static_cast<size_t>(needed)) {
    fail(Status::Capacity, std::string(name) + " holds " + std::to_string(capacity) + " " + unit +
                               "; " + std::to_string(needed) + " needed");
  }
}

// Starts a *_default() function: zeroes the caller's struct and sets its
// struct_size. False for NULL, which the *_default() functions ignore.
template <class T>
bool start_defaults(T* opts) {
  if (!opts) return false;
  std::memset(static_cast<void*>(opts), 0, sizeof *opts);
  opts->struct_size = sizeof *opts;
  return true;
}

// The numeric fields an options struct shares with a core struct, listed once
// per pair as an X-macro of (C name, C++ name) entries, e.g.
//   #define GML_FLOW_TRAIN_FIELDS(X) X(steps, steps) X(learning_rate, lr)
//   constexpr auto kFlowTrainFields = GML_FIELD_LINKS(GML_FLOW_TRAIN_FIELDS);
// The one list serves both directions: the *_default() function publishes
// the core's defaults through it and the call reads the caller's values back,
// so a field added to one side and not the other cannot drift, and no
// default is written twice. Fields that need a conversion (names of enums,
// strings, seeds) stay hand-written beside it.
#define GML_VISIT_FIELD(c_name, core_name) visit(c.c_name, core.core_name);
#define GML_FIELD_LINKS(LIST) [](auto& c, auto& core, auto&& visit) { LIST(GML_VISIT_FIELD) }

// The core's values out to the C struct (a *_default() function).
template <class Links, class C, class Core>
void publish_fields(const Links& links, C& c, const Core& core) {
  links(c, core, [](auto& to, const auto& from) {
    to = static_cast<std::remove_reference_t<decltype(to)>>(from);
  });
}

// The caller's values in to the core struct.
template <class Links, class C, class Core>
void receive_fields(const Links& links, const C& c, Core& core) {
  links(c, core, [](const auto& from, auto& to) {
    to = static_cast<std::remove_reference_t<decltype(to)>>(from);
  });
}

// Whether the values the header publishes (flag bits, column indices) are
// the core's, pairwise: static_assert(values_agree({GML_A, GML_B}, {kA, kB})).
constexpr bool values_agree(std::initializer_list<int64_t> published,
                            std::initializer_list<int64_t> core) {
  if (published.size() != core.size()) return false;
  const int64_t* c = core.begin();
  for (const int64_t p : published) {
    if (p != *c++) return false;
  }
  return true;
}

// A comma-separated list option ("a,b,c"); NULL or empty: no entries.
std::vector<std::string> list_option(const char* text);

// The capacity the positional entry points pass to their *_batch forms:
// they predate capacities, and their callers promised the shapes.
constexpr size_t kUnchecked = static_cast<size_t>(-1);

}  // namespace gml::capi

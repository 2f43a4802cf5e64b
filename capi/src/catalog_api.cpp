// Catalogs through the C ABI: mapped FITS table columns in, result tables
// out. The handles own the adapters' C++ objects; everything crossing the
// boundary is checked here so the adapters can assume sane arguments.
#include <nlohmann/json.hpp>

#include <limits>
#include <memory>
#include <string>

#include "adapters/catalog.h"
#include "adapters/table_writer.h"
#include "capi/src/context_impl.h"
#include "capi/src/firewall.h"
#include "capi/src/handles.h"
#include "capi/src/options.h"
#include "core/common/error.h"
#include "core/common/progress.h"

struct gml_catalog {
  std::unique_ptr<gml::adapters::CatalogReader> reader;
};

struct gml_table_writer {
  std::unique_ptr<gml::adapters::TableWriter> writer;
};

namespace {

using gml::capi::guard;

static_assert(GML_ROW_NULL == gml::adapters::kFlagNull, "flag bits must match");
static_assert(GML_ROW_NONFINITE == gml::adapters::kFlagNonFinite, "flag bits must match");
static_assert(GML_ROW_BAD_FLUX == gml::adapters::kFlagBadFlux, "flag bits must match");
static_assert(GML_ROW_BAD_IVAR == gml::adapters::kFlagBadIvar, "flag bits must match");

gml::adapters::CatalogReader& require_catalog(gml_catalog* cat) {
  gml::capi::require_live_handle(cat, gml::capi::HandleKind::Catalog, "cat");
  return *cat->reader;
}

gml::adapters::TableWriter& require_writer(gml_table_writer* w) {
  gml::capi::require_live_handle(w, gml::capi::HandleKind::TableWriter, "w");
  return *w->writer;
}

std::string text(const char* s) {
  return s ? std::string(s) : std::string();
}

// Shared body of the float32 and float64 reads: every check that can fail
// before data is read comes first, so a refused call writes nothing.
template <typename T>
gml_status read_rows(const char* fn, gml_catalog* cat, const char* mapping, int64_t first_row,
                     int64_t n_rows, T* out, size_t capacity, int32_t* flags, int64_t* n_outputs) {
  return guard(fn, [&] {
    gml::adapters::CatalogReader& r = require_catalog(cat);
    gml::require(mapping != nullptr, "mapping must not be NULL");
    gml::require(out != nullptr || capacity == 0, "out is NULL but capacity > 0");
    const gml::adapters::BoundMapping m = r.bind(mapping);
    if (out == nullptr) {
      if (n_outputs) *n_outputs = m.n_outputs();
      return;
    }
    const int64_t total = r.nrows();
    gml::require(first_row >= 0 && n_rows >= 0 && first_row <= total && n_rows <= total - first_row,
                 // No first_row + n_rows here: the sum itself may overflow.
                 "first_row " + std::to_string(first_row) + " and n_rows " +
                     std::to_string(n_rows) + " are outside the table's " + std::to_string(total) +
                     " rows");
    const auto need = static_cast<uint64_t>(n_rows) * static_cast<uint64_t>(m.n_outputs());
    if (need > capacity) {
      gml::fail(gml::Status::Capacity, "out holds " + std::to_string(capacity) + " values; " +
                                           std::to_string(n_rows) + " rows x " +
                                           std::to_string(m.n_outputs()) + " outputs need " +
                                           std::to_string(need));
    }
    r.read(m, first_row, n_rows, out, flags);
    if (n_outputs) *n_outputs = m.n_outputs();
  });
}

gml::adapters::ValueType value_type(int32_t type) {
  switch (type) {
    case GML_COLUMN_FLOAT32: return gml::adapters::ValueType::Float32;
    case GML_COLUMN_FLOAT64: return gml::adapters::ValueType::Float64;
    case GML_COLUMN_INT32: return gml::adapters::ValueType::Int32;
    case GML_COLUMN_INT64: return gml::adapters::ValueType::Int64;
    case GML_COLUMN_STRING: return gml::adapters::ValueType::String;
    default:
      gml::fail(gml::Status::InvalidArgument,
                "unknown column type " + std::to_string(type) + " (use GML_COLUMN_*)");
  }
}

}  // namespace

extern "C" {

GML_API gml_status gml_catalog_open(const char* path, const char* hdu, gml_catalog** out) {
  return guard("gml_catalog_open", [&] {
    gml::require(path != nullptr, "path must not be NULL");
    gml::require(out != nullptr, "out must not be NULL");
    auto cat = std::make_unique<gml_catalog>();
    cat->reader = std::make_unique<gml::adapters::CatalogReader>(path, text(hdu));
    *out = gml::capi::publish(std::move(cat), gml::capi::HandleKind::Catalog);
  });
}

GML_API void gml_catalog_free(gml_catalog* cat) {
  if (gml::capi::retire_handle(cat, gml::capi::HandleKind::Catalog, "gml_catalog_free")) delete cat;
}

GML_API gml_status gml_catalog_num_rows(gml_catalog* cat, int64_t* n_rows) {
  return guard("gml_catalog_num_rows", [&] {
    gml::adapters::CatalogReader& r = require_catalog(cat);
    gml::require(n_rows != nullptr, "n_rows must not be NULL");
    *n_rows = r.nrows();
  });
}

GML_API gml_status gml_catalog_columns_json(gml_catalog* cat, char* buf, size_t capacity,
                                            size_t* length) {
  std::string json;
  const gml_status s = guard("gml_catalog_columns_json", [&] {
    gml::adapters::CatalogReader& r = require_catalog(cat);
    gml::require(length != nullptr, "length must not be NULL");
    nlohmann::json a = nlohmann::json::array();
    for (const gml::fits::ColumnInfo& c : r.columns()) {
      a.push_back({{"name", c.name},
                   {"type", gml::fits::to_string(c.type)},
                   {"repeat", c.repeat},
                   {"unit", c.unit},
                   {"numeric", c.is_numeric()}});
    }
    json = a.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  });
  if (s != GML_OK) return s;
  return gml::capi::copy_string_out("gml_catalog_columns_json", json, buf, capacity, length);
}

GML_API gml_status gml_catalog_describe_mapping(gml_catalog* cat, const char* mapping, char* buf,
                                                size_t capacity, size_t* length) {
  std::string json;
  const gml_status s = guard("gml_catalog_describe_mapping", [&] {
    gml::adapters::CatalogReader& r = require_catalog(cat);
    gml::require(mapping != nullptr, "mapping must not be NULL");
    gml::require(length != nullptr, "length must not be NULL");
    nlohmann::json a = nlohmann::json::array();
    for (const auto& o : r.bind(mapping).outputs) {
      a.push_back({{"name", o.spec.name}, {"expr", o.spec.expression}, {"unit", o.unit}});
    }
    json = a.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  });
  if (s != GML_OK) return s;
  return gml::capi::copy_string_out("gml_catalog_describe_mapping", json, buf, capacity, length);
}

GML_API gml_status gml_catalog_read(gml_catalog* cat, const char* mapping, int64_t first_row,
                                    int64_t n_rows, float* out, size_t capacity, int32_t* flags,
                                    int64_t* n_outputs) {
  return read_rows("gml_catalog_read", cat, mapping, first_row, n_rows, out, capacity, flags,
                   n_outputs);
}

GML_API gml_status gml_catalog_read_f64(gml_catalog* cat, const char* mapping, int64_t first_row,
                                        int64_t n_rows, double* out, size_t capacity,
                                        int32_t* flags, int64_t* n_outputs) {
  return read_rows("gml_catalog_read_f64", cat, mapping, first_row, n_rows, out, capacity, flags,
                   n_outputs);
}

GML_API gml_status gml_catalog_stream(gml_context* ctx, gml_catalog* cat, const char* mapping,
                                      int64_t first_row, int64_t n_rows, int64_t chunk_rows,
                                      gml_catalog_chunk_fn fn, void* user) {
  return guard("gml_catalog_stream", [&] {
    gml::capi::optional_context(ctx);
    gml::adapters::CatalogReader& r = require_catalog(cat);
    gml::require(mapping != nullptr, "mapping must not be NULL");
    gml::require(fn != nullptr, "fn must not be NULL");
    gml::require(chunk_rows >= 0, "chunk_rows must be >= 0 (0: automatic)");
    const int64_t total = r.nrows();
    gml::require(first_row >= 0 && first_row <= total, "first_row " + std::to_string(first_row) +
                                                           " is outside the table's " +
                                                           std::to_string(total) + " rows");
    if (n_rows == -1) n_rows = total - first_row;
    const gml::adapters::BoundMapping m = r.bind(mapping);
    std::unique_ptr<gml::Progress> progress;
    if (ctx) {
      progress = std::make_unique<gml::Progress>(&ctx->control, "catalog", n_rows, "rows");
      progress->check_cancel();
    }
    r.stream(
        m, first_row, n_rows, chunk_rows,
        [&](const gml::adapters::CatalogChunk& c) {
          if (fn(c.first_row, c.n_rows, c.n_outputs, c.values, c.flags, user) != 0) {
            gml::fail(gml::Status::Cancelled,
                      "stopped by the chunk callback at row " + std::to_string(c.first_row));
          }
        },
        progress.get());
  });
}

GML_API void gml_table_writer_options_default(gml_table_writer_options* opts) {
  if (!gml::capi::start_defaults(opts)) return;
  opts->extname = "RESULTS";
  opts->checksum = 1;
}

GML_API gml_status gml_table_writer_create(const char* path, const gml_table_writer_options* opts,
                                           gml_table_writer** out) {
  return guard("gml_table_writer_create", [&] {
    gml::require(path != nullptr && *path != '\0', "path must not be NULL or empty");
    gml::require(out != nullptr, "out must not be NULL");
    const auto o = gml::capi::read_options(opts, gml_table_writer_options_default);
    gml::adapters::Provenance p;
    p.input_file = text(o.input_file);
    p.command_line = text(o.command_line);
    p.model_checksum = text(o.model_checksum);
    auto w = std::make_unique<gml_table_writer>();
    w->writer = std::make_unique<gml::adapters::TableWriter>(
        path, o.extname && *o.extname ? o.extname : "RESULTS", std::move(p), o.checksum != 0);
    *out = gml::capi::publish(std::move(w), gml::capi::HandleKind::TableWriter);
  });
}

GML_API gml_status gml_table_writer_add_column(gml_table_writer* w, const char* name, int32_t type,
                                               int64_t repeat, const char* unit) {
  return guard("gml_table_writer_add_column", [&] {
    gml::adapters::TableWriter& tw = require_writer(w);
    gml::require(name != nullptr, "name must not be NULL");
    gml::adapters::OutputColumn c;
    c.name = name;
    c.type = value_type(type);
    c.repeat = repeat;
    c.unit = text(unit);
    tw.add_column(std::move(c));
  });
}

GML_API gml_status gml_table_writer_set_keyword(gml_table_writer* w, const char* key,
                                                const char* value, const char* comment) {
  return guard("gml_table_writer_set_keyword", [&] {
    gml::adapters::TableWriter& tw = require_writer(w);
    gml::require(key != nullptr, "key must not be NULL");
    gml::require(value != nullptr, "value must not be NULL");
    tw.set_keyword(key, value, text(comment));
  });
}

GML_API gml_status gml_table_writer_append(gml_table_writer* w, int64_t n_rows,
                                           const void* const* data) {
  return guard("gml_table_writer_append", [&] { require_writer(w).append(n_rows, data); });
}

GML_API gml_status gml_table_writer_num_rows(const gml_table_writer* w, int64_t* n_rows) {
  return guard("gml_table_writer_num_rows", [&] {
    gml::capi::require_live_handle(w, gml::capi::HandleKind::TableWriter, "w");
    gml::require(n_rows != nullptr, "n_rows must not be NULL");
    *n_rows = w->writer->rows();
  });
}

GML_API gml_status gml_table_writer_commit(gml_table_writer* w) {
  return guard("gml_table_writer_commit", [&] { require_writer(w).commit(); });
}

GML_API void gml_table_writer_free(gml_table_writer* w) {
  if (gml::capi::retire_handle(w, gml::capi::HandleKind::TableWriter, "gml_table_writer_free")) {
    delete w;
  }
}

}  // extern "C"

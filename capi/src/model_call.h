// The prologue every entry point that runs a model through a context shares:
// the exception firewall, then the context and model handles checked (a
// model of another family or on another device is refused before any work).
#pragma once

#include "capi/src/context_impl.h"
#include "capi/src/firewall.h"
#include "capi/src/model_impl.h"
#include "capi/src/options.h"

namespace gml::capi {

// guard(function) around body(context, model).
template <class Body>
gml_status model_call(const char* function, gml_context* ctx, const gml_model* model,
                      const char* family, Body&& body) noexcept {
  return guard(function, [&] {
    gml_context& c = require_context(ctx);
    body(c, require_model(c, model, family));
  });
}

// A *_batch form: as model_call(), with its request and result structs read
// (read_request) and handed to `body`, the work its positional form shares.
template <class Request, class Result, class Body>
gml_status batch_call(const char* function, gml_context* ctx, const gml_model* model,
                      const char* family, const Request* request, const Result* result,
                      Body&& body) noexcept {
  return model_call(function, ctx, model, family, [&](gml_context& c, const gml_model& m) {
    body(c, m, read_request(request, "request"), read_request(result, "result"));
  });
}

}  // namespace gml::capi

// "A rank failed, so every rank fails": the one rule for work that ranks do
// between collectives. A rank that throws would otherwise never reach the
// next collective, and the others would wait in it forever.
#pragma once

#include <functional>

#include "core/distributed/backend.h"

namespace gml::dist {

// Runs `work` on this rank, then agrees with every rank on whether any of
// them failed (one collective, on every rank, failure or not). The rank
// that failed rethrows its own error, status and message intact; the others
// throw Error(Backend) naming `what` and the failed ranks. With one rank it
// just runs `work`.
void on_all_ranks(Backend& backend, const char* what, const std::function<void()>& work);

}  // namespace gml::dist

// What fits_io throws, turned into gml::Error. fits_io knows files, not what
// a family was doing with one, so the context and the statuses come from the
// caller: a broken user catalog is a FITS error to its user, a broken
// simulator file a format error of galaxyml's own.
#pragma once

#include <stdexcept>
#include <string>
#include <utility>

#include "core/common/error.h"
#include "fits_io/errors.h"

namespace gml {

// Runs `body`, one read or write of a FITS file. A fits::FitsError becomes
// Error(fits_status) and a value fits_io refused (std::invalid_argument)
// Error(value_status), each as "<doing>: <fits_io's message>"; a gml::Error
// passes through unchanged.
template <class Body>
void with_fits_errors(const std::string& doing, Status fits_status, Status value_status,
                      Body&& body) {
  try {
    std::forward<Body>(body)();
  } catch (const fits::FitsError& e) {
    fail(fits_status, doing + ": " + e.what());
  } catch (const std::invalid_argument& e) {
    fail(value_status, doing + ": " + e.what());
  }
}

}  // namespace gml

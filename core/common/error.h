// Errors raised inside galaxyml. Every failure in core/ is a gml::Error
// carrying the status the C ABI returns for it, so the exception firewall in
// capi/ never has to guess a status from message text.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

namespace gml {

// Values equal the GML_* status codes of galaxyml.h (checked in capi/).
enum class Status : int32_t {
  Ok = 0,
  InvalidArgument = 1,
  Io = 2,
  Format = 3,
  Family = 4,
  Version = 5,
  Checksum = 6,
  Device = 7,
  Backend = 8,
  Cancelled = 9,
  Capacity = 10,
  NotFound = 11,
  OutOfMemory = 12,
  Fits = 13,
  Wcs = 14,
  Internal = 15,
  Callback = 16,
};

class Error : public std::runtime_error {
 public:
  Error(Status status, const std::string& message) : std::runtime_error(message), status_(status) {}
  Status status() const noexcept { return status_; }

 private:
  Status status_;
};

[[noreturn]] inline void fail(Status status, const std::string& message) {
  throw Error(status, message);
}

// Argument checks read as preconditions at the top of a function.
inline void require(bool condition, const std::string& message) {
  if (!condition) fail(Status::InvalidArgument, message);
}

}  // namespace gml

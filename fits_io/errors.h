// Exceptions thrown by fits_io. CFITSIO and WCSLIB report failures through
// integer status codes and global/struct message stacks; these types turn
// them into exceptions that carry both the code and the library's own text,
// so callers (and ultimately the C ABI firewall) can report precise causes.
#pragma once

#include <stdexcept>
#include <string>

namespace gml::fits {

/// A CFITSIO call failed. status() is CFITSIO's status code (see fitsio.h);
/// what() names the file, the operation and CFITSIO's error text.
class FitsError : public std::runtime_error {
 public:
  FitsError(int status, const std::string& message)
      : std::runtime_error(message), status_(status) {}
  /// CFITSIO status code, e.g. 104 (FILE_NOT_OPENED) or 219 (COL_NOT_FOUND).
  int status() const noexcept { return status_; }

 private:
  int status_;
};

/// A WCSLIB call failed or a header has no usable celestial WCS. status()
/// is WCSLIB's status code (0 when the failure is ours, e.g. no celestial
/// axes); what() includes WCSLIB's message.
class WcsError : public std::runtime_error {
 public:
  WcsError(int status, const std::string& message) : std::runtime_error(message), status_(status) {}
  int status() const noexcept { return status_; }

 private:
  int status_;
};

namespace detail {

/// Builds the message for a failed CFITSIO call: "<op> '<path>': <status
/// text> [<message stack>]", draining CFITSIO's (thread-local when built
/// re-entrant) error stack so stale messages never leak into a later error.
std::string cfitsio_message(int status, const std::string& path, const std::string& op);

/// Throws FitsError for a non-zero status; no-op for status 0.
void check_fits(int status, const std::string& path, const std::string& op);

/// Discards whatever CFITSIO has queued on its error stack.
void clear_fits_errors() noexcept;

}  // namespace detail
}  // namespace gml::fits

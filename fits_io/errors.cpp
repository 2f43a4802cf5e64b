#include "fits_io/errors.h"

#include <fitsio.h>

namespace gml::fits::detail {

std::string cfitsio_message(int status, const std::string& path, const std::string& op) {
  char text[FLEN_STATUS] = {0};
  fits_get_errstatus(status, text);
  std::string msg =
      op + " '" + path + "': " + text + " (CFITSIO status " + std::to_string(status) + ")";
  char line[FLEN_ERRMSG] = {0};
  std::string stack;
  while (fits_read_errmsg(line) != 0) {
    if (!stack.empty()) stack += "; ";
    stack += line;
  }
  fits_clear_errmsg();
  if (!stack.empty()) msg += " [" + stack + "]";
  return msg;
}

void check_fits(int status, const std::string& path, const std::string& op) {
  if (status != 0) throw FitsError(status, cfitsio_message(status, path, op));
}

void clear_fits_errors() noexcept {
  fits_clear_errmsg();
}

}  // namespace gml::fits::detail

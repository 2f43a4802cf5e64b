#include "core/common/version.h"

namespace gml {
const char* library_version() noexcept {
  return GML_VERSION_TEXT;
}
}  // namespace gml

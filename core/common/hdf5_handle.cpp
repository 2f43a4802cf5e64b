#include "core/common/hdf5_handle.h"

namespace gml {

std::recursive_mutex& hdf5_mutex() {
  static std::recursive_mutex m;
  return m;
}

}  // namespace gml

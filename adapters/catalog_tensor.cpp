#include "adapters/catalog_tensor.h"

#include <ATen/ATen.h>

#include "core/common/error.h"

namespace gml::adapters {

CatalogTensors read_catalog_tensors(CatalogReader& reader, const BoundMapping& mapping,
                                    int64_t first_row, int64_t n, const c10::Device& device) {
  require(n >= 0, "read_catalog_tensors: n must be >= 0");
  CatalogTensors t;
  // Filled in place: the reader writes straight into the tensors' storage.
  t.values = at::empty({n, mapping.n_outputs()}, at::kFloat);
  t.flags = at::empty({n}, at::kInt);
  if (n > 0) {
    reader.read(mapping, first_row, n, t.values.data_ptr<float>(), t.flags.data_ptr<int32_t>());
  }
  t.good = t.flags == 0;
  if (!device.is_cpu()) {
    t.values = t.values.to(device);
    t.flags = t.flags.to(device);
    t.good = t.good.to(device);
  }
  return t;
}

}  // namespace gml::adapters

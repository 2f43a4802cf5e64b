// Catalog rows as model input tensors: the bridge from a column mapping to
// what a family's network consumes.
#pragma once

#include <cstdint>
#include <string>

#include <ATen/core/Tensor.h>

#include "adapters/catalog.h"

namespace gml::adapters {

struct CatalogTensors {
  at::Tensor values;  // (n, n_outputs) float32, NaN where a row is flagged
  at::Tensor flags;   // (n) int32 GML_ROW_* reason bits; 0 for good rows
  at::Tensor good;    // (n) bool: flags == 0, i.e. rows a model may use
};

// Rows [first_row, first_row + n) of `reader` through `mapping`, on `device`.
// The read itself streams in the reader's chunks; for catalogs beyond memory
// call this per block of rows (CatalogReader::stream gives the blocks).
CatalogTensors read_catalog_tensors(CatalogReader& reader, const BoundMapping& mapping,
                                    int64_t first_row, int64_t n,
                                    const c10::Device& device = c10::Device(c10::kCPU));

}  // namespace gml::adapters

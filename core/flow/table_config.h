// The architecture a flow gets for a star table.
#pragma once

#include <string>

#include "core/flow/flow_config.h"
#include "core/flow/star_table.h"

namespace gml::flow {

// GalacticFlow's architecture when the table has its ten standard columns
// and four conditions; otherwise the same architecture sized to the table's
// columns, with log10 on the mass and metallicity columns whose values are
// all positive. Then `overrides_json` (a JSON object, empty for none) is
// merge-patched over it. Throws Error(InvalidArgument) for text that is not
// a JSON object or a field it sets out of bounds.
FlowConfig config_for_table(const StarTable& table, const std::string& overrides_json);

}  // namespace gml::flow

// Library version, fixed at configure time.
#pragma once

namespace gml {
const char* library_version() noexcept;
}

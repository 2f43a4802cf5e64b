// What every run takes by pointer or reference, declared only, so that a
// run's header brings in neither the backend interface nor the progress
// machinery.
#pragma once

namespace gml {
class RunControl;
}
namespace gml::dist {
class Backend;
}

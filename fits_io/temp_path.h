// Names of the temporary files every writer of the library uses: an output
// is written to "<path>.tmp.<pid>.<n>" and renamed over <path> only when it
// is complete, so a failure or a kill never leaves a half-written <path>.
#pragma once

#include <string>

namespace gml::fits {

// A fresh temporary name for an output at `path`. First removes the
// temporaries of `path` that a killed process left behind (see
// remove_stale_temps), so they do not pile up next to the outputs.
std::string temp_path_for(const std::string& path);

// Removes "<path>.tmp.<pid>.<n>" files whose process no longer runs on this
// machine and that have not been modified for `min_age_s` seconds (a writer
// on another host of a shared file system may have a pid that is free
// here; its file is kept while it is being written). Returns the number
// removed; never throws.
int remove_stale_temps(const std::string& path, double min_age_s = 600.0) noexcept;

}  // namespace gml::fits

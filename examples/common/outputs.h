// Checks of a tool's output paths, made before any long work starts: an
// output must not be one of the inputs (that would destroy the input when the
// output is committed), and its folder must exist and be writable.
#pragma once

#include <string>
#include <vector>

namespace gml_tools {

// Exits with "tool: OPTION 'path': reason" when `path` names one of
// `inputs` (the same file, also through links, "..", or a CFITSIO "[...]"
// suffix on the input), is a folder, lies in a folder that is missing or
// not writable, or already exists and `replace_existing` is false (the
// tools' --overwrite, as astropy's overwrite=True and CFITSIO's "!"). Empty
// inputs are ignored.
void require_output_file(const std::string& path, const std::vector<std::string>& inputs,
                         const std::string& option, bool replace_existing);

// Creates `dir` if needed and exits with a clear line when that fails or
// the folder is not writable.
void require_output_dir(const std::string& dir, const std::string& option);

}  // namespace gml_tools

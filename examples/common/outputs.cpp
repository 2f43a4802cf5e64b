#include "outputs.h"

#include <unistd.h>

#include <filesystem>
#include <system_error>

#include "cli.h"

namespace fs = std::filesystem;

namespace gml_tools {
namespace {

// The file a FITS input names, without CFITSIO's HDU or filter suffix
// ("cat.fits[1][col RA]" reads cat.fits). A file that exists under the full
// name is that file.
fs::path input_file(const std::string& input) {
  std::error_code ec;
  if (fs::exists(input, ec)) return input;
  const size_t bracket = input.find('[');
  return bracket == std::string::npos ? fs::path(input) : fs::path(input.substr(0, bracket));
}

bool same_file(const fs::path& a, const fs::path& b) {
  std::error_code ec;
  if (fs::exists(a, ec) && fs::exists(b, ec)) return fs::equivalent(a, b, ec) && !ec;
  // The output need not exist yet; compare where the two names lead.
  const fs::path ca = fs::weakly_canonical(a, ec);
  if (ec) return false;
  const fs::path cb = fs::weakly_canonical(b, ec);
  return !ec && ca == cb;
}

}  // namespace

void require_output_file(const std::string& path, const std::vector<std::string>& inputs,
                         const std::string& option, bool replace_existing) {
  const std::string where = option + " '" + path + "'";
  if (path.empty()) die(option + " is empty");
  for (const std::string& in : inputs) {
    if (!in.empty() && same_file(path, input_file(in))) {
      die(where + " is also an input ('" + in + "'); writing it would destroy that input");
    }
  }
  std::error_code ec;
  if (fs::is_directory(path, ec)) die(where + " is a folder, not a file");
  if (!replace_existing && fs::exists(fs::symlink_status(path, ec))) {
    die(where + " exists; pass --overwrite to replace it");
  }
  fs::path dir = fs::path(path).parent_path();
  if (dir.empty()) dir = ".";
  if (!fs::is_directory(dir, ec)) die(where + ": folder '" + dir.string() + "' does not exist");
  if (::access(dir.c_str(), W_OK) != 0) {
    die(where + ": folder '" + dir.string() + "' is not writable");
  }
}

void require_output_dir(const std::string& dir, const std::string& option) {
  const std::string where = option + " '" + dir + "'";
  std::error_code ec;
  if (fs::exists(dir, ec) && !fs::is_directory(dir, ec)) die(where + " exists and is not a folder");
  fs::create_directories(dir, ec);
  if (ec) die(where + ": cannot create the folder: " + ec.message());
  if (::access(dir.c_str(), W_OK) != 0) die(where + " is not writable");
}

}  // namespace gml_tools

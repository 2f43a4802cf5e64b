#include "fits_io/temp_path.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <filesystem>
#include <system_error>

namespace gml::fits {
namespace {

bool all_digits(const std::string& s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

bool process_runs(long pid) {
  if (pid <= 0) return true;  // not a pid we would have written: keep the file
  return ::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM;
}

}  // namespace

int remove_stale_temps(const std::string& path, double min_age_s) noexcept {
  namespace fs = std::filesystem;
  try {
    const fs::path target(path);
    fs::path dir = target.parent_path();
    if (dir.empty()) dir = ".";
    const std::string prefix = target.filename().string() + ".tmp.";
    if (prefix.size() <= 5) return 0;
    const auto now = fs::file_time_type::clock::now();
    int removed = 0;
    std::error_code ec;
    for (const fs::directory_entry& e : fs::directory_iterator(dir, ec)) {
      const std::string name = e.path().filename().string();
      if (name.compare(0, prefix.size(), prefix) != 0) continue;
      const std::string rest = name.substr(prefix.size());
      const size_t dot = rest.find('.');
      if (dot == std::string::npos || !all_digits(rest.substr(0, dot)) ||
          !all_digits(rest.substr(dot + 1)) || rest.size() - dot > 20 || dot > 18) {
        continue;
      }
      if (process_runs(std::stol(rest.substr(0, dot)))) continue;
      std::error_code fe;
      if (!e.is_regular_file(fe) || fe) continue;
      const auto mtime = e.last_write_time(fe);
      if (fe) continue;
      if (std::chrono::duration<double>(now - mtime).count() < min_age_s) continue;
      if (fs::remove(e.path(), fe) && !fe) ++removed;
    }
    return removed;
  } catch (...) {
    return 0;
  }
}

std::string temp_path_for(const std::string& path) {
  static std::atomic<unsigned long> counter{0};
  remove_stale_temps(path);
  return path + ".tmp." + std::to_string(static_cast<long>(::getpid())) + "." +
         std::to_string(counter.fetch_add(1));
}

}  // namespace gml::fits

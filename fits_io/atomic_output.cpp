#include "fits_io/atomic_output.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <stdexcept>
#include <system_error>
#include <utility>

#include "fits_io/temp_path.h"

namespace gml::fits {
namespace {

// Neither CFITSIO's nor HDF5's close reaches the disk; without fsync a crash
// right after rename() could leave the new name pointing at an empty file.
void sync_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) return;
  (void)::fsync(fd);
  ::close(fd);
}

std::string temp_for_target(const std::string& target) {
  if (target.empty()) throw std::invalid_argument("AtomicOutput: empty target path");
  return temp_path_for(target);
}

}  // namespace

AtomicOutput::AtomicOutput(const std::string& target)
    : target_(target), temp_(temp_for_target(target)) {}

AtomicOutput::AtomicOutput(AtomicOutput&& other) noexcept
    : target_(std::move(other.target_)), temp_(std::exchange(other.temp_, std::string())) {}

AtomicOutput& AtomicOutput::operator=(AtomicOutput&& other) noexcept {
  if (this != &other) {
    discard();
    target_ = std::move(other.target_);
    temp_ = std::exchange(other.temp_, std::string());
  }
  return *this;
}

AtomicOutput::~AtomicOutput() {
  discard();
}

void AtomicOutput::discard() noexcept {
  if (temp_.empty()) return;
  std::remove(temp_.c_str());
  temp_.clear();
}

void AtomicOutput::commit() {
  if (temp_.empty()) {
    throw std::logic_error("AtomicOutput::commit: nothing pending for '" + target_ + "'");
  }
  sync_file(temp_);
  if (std::rename(temp_.c_str(), target_.c_str()) != 0) {
    const int err = errno;
    const std::string what = "cannot rename '" + temp_ + "' to '" + target_ + "'";
    discard();
    throw std::system_error(err, std::generic_category(), what);
  }
  temp_.clear();
}

}  // namespace gml::fits

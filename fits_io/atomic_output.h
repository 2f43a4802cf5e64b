// The one way the library writes an output file: the writer (CFITSIO, HDF5)
// fills a temporary file "<target>.tmp.<pid>.<n>" in the target's directory
// (temp_path.h), and only commit() renames it over the target. A rename
// within one directory is atomic, so a reader sees either the old file or
// the whole new one, never a half-written file; a failure, an exception or a
// kill before commit() leaves any older file at the target untouched.
#pragma once

#include <string>

namespace gml::fits {

class AtomicOutput {
 public:
  /// Nothing pending: commit() is a logic error, destruction does nothing.
  AtomicOutput() = default;
  /// Reserves a fresh temporary name next to `target` (and removes the stale
  /// temporaries of killed writers of it). Creates no file: the writer
  /// creates temp_path() itself, with the permissions it always uses.
  explicit AtomicOutput(const std::string& target);
  AtomicOutput(AtomicOutput&& other) noexcept;
  AtomicOutput& operator=(AtomicOutput&& other) noexcept;
  AtomicOutput(const AtomicOutput&) = delete;
  AtomicOutput& operator=(const AtomicOutput&) = delete;
  /// Removes the temporary file unless committed. Never throws.
  ~AtomicOutput();

  /// Flushes the (closed) temporary file to disk and renames it over the
  /// target, replacing an existing file there. Close the writer's handle
  /// first. On failure the temporary file is removed, the target is left as
  /// it was, and std::system_error is thrown with the errno and a message
  /// naming both paths. std::logic_error when nothing is pending.
  void commit();
  /// Removes the temporary file now (e.g. after the writer failed). Never
  /// throws; afterwards nothing is pending.
  void discard() noexcept;

  /// True between construction and commit()/discard().
  bool pending() const noexcept { return !temp_.empty(); }
  const std::string& target() const noexcept { return target_; }
  /// Where the writer writes; empty when nothing is pending.
  const std::string& temp_path() const noexcept { return temp_; }

 private:
  std::string target_, temp_;
};

}  // namespace gml::fits

// RAII ownership of a CFITSIO file handle, with atomic creation of new files.
#pragma once

#include <fitsio.h>

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "fits_io/atomic_output.h"
#include "fits_io/errors.h"

namespace gml::fits {

enum class Mode { ReadOnly, ReadWrite };

/// Kind of the current HDU (values match CFITSIO's IMAGE_HDU, ASCII_TBL,
/// BINARY_TBL).
enum class HduType { Image = 0, AsciiTable = 1, BinaryTable = 2 };

/// Result of checking the CHECKSUM/DATASUM keywords of one HDU.
struct ChecksumStatus {
  enum State { Missing = 0, Valid = 1, Invalid = -1 };
  State hdu;   ///< CHECKSUM (whole HDU)
  State data;  ///< DATASUM (data unit only)
  bool ok() const { return hdu != Invalid && data != Invalid; }
};

/// One open FITS file. Movable, not copyable. Not thread-safe: use one
/// FitsFile per thread (CFITSIO itself is built re-entrant, so distinct
/// objects may be used concurrently).
///
/// A file made by create() is written under a temporary name next to the
/// target and only appears at the target path when commit() succeeds. If the
/// object is destroyed first (an exception, an early return), the temporary
/// file is deleted and any older file at the target path is left untouched.
class FitsFile {
 public:
  /// Opens an existing file. `path` may use CFITSIO's extended filename
  /// syntax (e.g. "cat.fits[GSTTEST][col RA;DEC]", "img.fits[1:100,1:100]")
  /// and may be gzip-compressed (read-only). The current HDU is the one
  /// selected by the extended syntax, else the primary HDU.
  /// Throws FitsError (missing, unreadable or malformed file).
  static FitsFile open(const std::string& path, Mode mode = Mode::ReadOnly);

  /// Opens a FITS file held in memory, read-only. The bytes are copied, so
  /// `data` may be released after the call. Throws FitsError (READ_ERROR)
  /// if `size` is not a multiple of 2880 (a truncated file), or if the
  /// bytes are not a readable FITS file.
  /// `label` only names the buffer in error messages.
  /// Throws FitsError when the bytes are not a readable FITS file.
  static FitsFile open_memory(const void* data, size_t size, const std::string& label = "memory");

  /// Starts a new file destined for `path` (no extended syntax; an existing
  /// file there is replaced only by commit()). The file is empty: write an
  /// image HDU first (a zero-size one if the content is tables).
  /// Throws FitsError if the temporary file cannot be created (e.g. the
  /// directory does not exist or is not writable).
  static FitsFile create(const std::string& path);

  FitsFile(FitsFile&& other) noexcept;
  FitsFile& operator=(FitsFile&& other) noexcept;
  FitsFile(const FitsFile&) = delete;
  FitsFile& operator=(const FitsFile&) = delete;
  /// Closes the file; an uncommitted created file is deleted. Never throws.
  ~FitsFile();

  /// For files from create(): flushes, closes and atomically renames the
  /// temporary file onto the target path. Afterwards the object is closed.
  /// Throws FitsError if flushing or renaming fails (the temporary file is
  /// then removed and the target untouched), std::logic_error if the file
  /// was not made by create() or is already closed.
  void commit();

  /// Closes an opened (not created) file, reporting errors that a silent
  /// close in the destructor would swallow (e.g. a failed flush of a
  /// read-write file). Throws FitsError. For created files use commit().
  void close();

  bool is_open() const noexcept { return fptr_ != nullptr; }

  /// Number of HDUs in the file (primary included). Throws FitsError.
  int num_hdus() const;
  /// 1-based number of the current HDU (1 = primary).
  int current_hdu() const;
  /// Moves to HDU `hdu_number` (1-based, 1 = primary). Returns its type.
  /// Throws std::invalid_argument for hdu_number < 1, FitsError if absent.
  HduType move_to(int hdu_number);
  /// Moves to the first HDU whose EXTNAME (or HDUNAME) equals `extname`,
  /// case-insensitively. Throws FitsError listing the available EXTNAMEs.
  HduType move_to(const std::string& extname);
  /// Type of the current HDU.
  HduType hdu_type() const;

  /// Checks CHECKSUM/DATASUM of the current HDU. Throws FitsError on I/O
  /// failure; a wrong checksum is reported, not thrown.
  ChecksumStatus verify_checksum() const;
  /// Computes and writes CHECKSUM/DATASUM for the current HDU (call after
  /// the HDU's data is complete). Throws FitsError.
  void write_checksum();

  /// The path given at open/create (the target path for created files).
  const std::string& path() const noexcept { return path_; }
  /// Raw CFITSIO handle for the other fits_io modules. Throws
  /// std::logic_error if the file is closed.
  fitsfile* handle() const;

 private:
  struct MemBuffer {
    void* ptr;
    size_t size;
    std::vector<char> padded;  // owned, record-padded copy of the caller's bytes
  };
  FitsFile() = default;
  void release() noexcept;

  fitsfile* fptr_ = nullptr;
  std::string path_;
  AtomicOutput output_;  // pending only for uncommitted created files
  // CFITSIO keeps the addresses of the buffer pointer and size of a memory
  // file; they must not move when the FitsFile does.
  std::unique_ptr<MemBuffer> mem_;
};

}  // namespace gml::fits

#include "fits_io/fits_file.h"

#include <fitsio.h>
#include <sys/stat.h>

#include <cstring>
#include <stdexcept>
#include <system_error>
#include <utility>

#include "fits_io/structure_check.h"

namespace gml::fits {
namespace {

using detail::check_fits;

HduType to_hdu_type(int t) {
  switch (t) {
    case IMAGE_HDU: return HduType::Image;
    case ASCII_TBL: return HduType::AsciiTable;
    default: return HduType::BinaryTable;
  }
}

}  // namespace

FitsFile FitsFile::open(const std::string& path, Mode mode) {
  if (path.empty()) throw std::invalid_argument("FitsFile::open: empty path");
  const int iomode = mode == Mode::ReadOnly ? READONLY : READWRITE;
  // A file that exists under exactly this name is that file, even when the
  // name holds CFITSIO's extended-syntax characters ("run[3].fits" would
  // otherwise be read as HDU 3 of "run"); FitsFile::create writes names
  // literally too, so every file the library writes can be read back.
  // Compressed files go through CFITSIO's parser, which decompresses them.
  struct stat st {};
  const bool special = path.find_first_of("[(") != std::string::npos;
  const bool gz = path.size() > 3 && path.compare(path.size() - 3, 3, ".gz") == 0;
  const bool literal = special && !gz && ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
  // CFITSIO must never parse a malformed header (it can abort the process
  // on some), so the file it will read is checked first. A name that does
  // not exist is left to CFITSIO, whose error names the path.
  const std::string checked = literal ? path : detail::fits_base_file(path);
  if (!checked.empty()) check_fits_file_structure(checked);
  FitsFile f;
  f.path_ = path;
  int status = 0;
  if (literal) {
    fits_open_diskfile(&f.fptr_, path.c_str(), iomode, &status);
  } else {
    fits_open_file(&f.fptr_, path.c_str(), iomode, &status);
  }
  if (status != 0) {
    f.fptr_ = nullptr;
    check_fits(status, path, "open");
  }
  return f;
}

FitsFile FitsFile::open_memory(const void* data, size_t size, const std::string& label) {
  if (data == nullptr && size != 0) {
    throw std::invalid_argument("FitsFile::open_memory: null data with non-zero size");
  }
  if (size % 2880 != 0) {
    // The disk driver reports a partial final record as READ_ERROR, but
    // the memory driver would read past it; refuse it here the same way.
    throw FitsError(READ_ERROR, "open in-memory FITS '" + label + "': " + std::to_string(size) +
                                    " bytes is not a whole number of 2880-byte FITS records "
                                    "(truncated?)");
  }
  check_fits_structure(data, size, label);
  FitsFile f;
  f.path_ = label;
  // CFITSIO 4.2 can read the record that starts exactly at the end of a
  // memory file; an owned copy with one zeroed guard record keeps such
  // reads inside memory we own.
  f.mem_ = std::make_unique<MemBuffer>();
  f.mem_->padded.assign(size + 2880, '\0');
  if (size != 0) std::memcpy(f.mem_->padded.data(), data, size);
  f.mem_->ptr = f.mem_->padded.data();
  f.mem_->size = size;
  int status = 0;
  fits_open_memfile(&f.fptr_, "mem.fits", READONLY, &f.mem_->ptr, &f.mem_->size, 0, nullptr,
                    &status);
  if (status != 0) {
    f.fptr_ = nullptr;
    check_fits(status, label, "open in-memory FITS");
  }
  // The memory driver does not notice data that runs past the buffer (it
  // would read the guard record), so check every HDU's extent up front.
  for (int hdu = 1;; ++hdu) {
    int type = 0;
    fits_movabs_hdu(f.fptr_, hdu, &type, &status);
    if (status != 0) break;
    LONGLONG head = 0, data_start = 0, data_end = 0;
    fits_get_hduaddrll(f.fptr_, &head, &data_start, &data_end, &status);
    if (status == 0 && data_end > static_cast<LONGLONG>(size)) {
      throw FitsError(READ_ERROR, "open in-memory FITS '" + label + "': HDU " +
                                      std::to_string(hdu) + " ends at byte " +
                                      std::to_string(data_end) + " but the buffer has " +
                                      std::to_string(size) + " bytes (truncated)");
    }
  }
  detail::clear_fits_errors();
  status = 0;
  fits_movabs_hdu(f.fptr_, 1, nullptr, &status);
  check_fits(status, label, "open in-memory FITS");
  return f;
}

FitsFile FitsFile::create(const std::string& path) {
  if (path.empty()) throw std::invalid_argument("FitsFile::create: empty path");
  FitsFile f;
  f.path_ = path;
  f.output_ = AtomicOutput(path);
  int status = 0;
  // The disk-file variant takes the name literally: no "!" or "[...]"
  // parsing, so any path the OS accepts is usable.
  fits_create_diskfile(&f.fptr_, f.output_.temp_path().c_str(), &status);
  if (status != 0) {
    f.fptr_ = nullptr;
    const std::string tmp = f.output_.temp_path();
    f.output_.discard();
    throw FitsError(status,
                    detail::cfitsio_message(status, path, "create (temporary file '" + tmp + "')"));
  }
  return f;
}

FitsFile::FitsFile(FitsFile&& other) noexcept
    : fptr_(std::exchange(other.fptr_, nullptr)),
      path_(std::move(other.path_)),
      output_(std::move(other.output_)),
      mem_(std::move(other.mem_)) {}

FitsFile& FitsFile::operator=(FitsFile&& other) noexcept {
  if (this != &other) {
    release();
    fptr_ = std::exchange(other.fptr_, nullptr);
    path_ = std::move(other.path_);
    output_ = std::move(other.output_);
    mem_ = std::move(other.mem_);
  }
  return *this;
}

FitsFile::~FitsFile() {
  release();
}

void FitsFile::release() noexcept {
  if (fptr_ != nullptr) {
    int status = 0;
    if (output_.pending()) {
      fits_delete_file(fptr_, &status);
    } else {
      fits_close_file(fptr_, &status);
    }
    fptr_ = nullptr;
    detail::clear_fits_errors();
  }
  output_.discard();  // in case delete failed half-way
  mem_.reset();
}

void FitsFile::commit() {
  if (fptr_ == nullptr) throw std::logic_error("FitsFile::commit: file is closed");
  if (!output_.pending()) {
    throw std::logic_error("FitsFile::commit: '" + path_ + "' was not made by FitsFile::create");
  }
  int status = 0;
  fits_close_file(fptr_, &status);
  fptr_ = nullptr;
  if (status != 0) {
    std::string msg = detail::cfitsio_message(status, path_, "commit (close temporary file)");
    output_.discard();
    throw FitsError(status, msg);
  }
  try {
    output_.commit();
  } catch (const std::system_error& e) {
    throw FitsError(FILE_NOT_CREATED, "commit '" + path_ + "': " + e.what());
  }
}

void FitsFile::close() {
  if (fptr_ == nullptr) return;
  if (output_.pending()) {
    throw std::logic_error("FitsFile::close: '" + path_ + "' was created; use commit()");
  }
  int status = 0;
  fits_close_file(fptr_, &status);
  fptr_ = nullptr;
  mem_.reset();
  check_fits(status, path_, "close");
}

fitsfile* FitsFile::handle() const {
  if (fptr_ == nullptr) throw std::logic_error("FitsFile: '" + path_ + "' is closed");
  return fptr_;
}

int FitsFile::num_hdus() const {
  int n = 0, status = 0;
  fits_get_num_hdus(handle(), &n, &status);
  check_fits(status, path_, "count HDUs");
  return n;
}

int FitsFile::current_hdu() const {
  int n = 0;
  fits_get_hdu_num(handle(), &n);
  return n;
}

HduType FitsFile::move_to(int hdu_number) {
  if (hdu_number < 1) {
    throw std::invalid_argument("FitsFile::move_to: HDU numbers start at 1 (primary), got " +
                                std::to_string(hdu_number));
  }
  int type = 0, status = 0;
  fits_movabs_hdu(handle(), hdu_number, &type, &status);
  check_fits(status, path_, "move to HDU " + std::to_string(hdu_number));
  return to_hdu_type(type);
}

HduType FitsFile::move_to(const std::string& extname) {
  const int original = current_hdu();
  int status = 0;
  std::string name = extname;
  fits_movnam_hdu(handle(), ANY_HDU, &name[0], 0, &status);
  if (status == 0) return hdu_type();
  detail::clear_fits_errors();
  // List what is there so the caller can fix a typo without a FITS viewer.
  std::string available;
  int n = 0, s2 = 0;
  fits_get_num_hdus(fptr_, &n, &s2);
  for (int i = 1; i <= n && s2 == 0; ++i) {
    int type = 0;
    fits_movabs_hdu(fptr_, i, &type, &s2);
    char value[FLEN_VALUE] = {0};
    int s3 = 0;
    fits_read_key(fptr_, TSTRING, "EXTNAME", value, nullptr, &s3);
    if (!available.empty()) available += ", ";
    available += std::to_string(i) + (s3 == 0 ? std::string(":") + value : std::string(":-"));
  }
  detail::clear_fits_errors();
  s2 = 0;
  fits_movabs_hdu(fptr_, original, nullptr, &s2);
  detail::clear_fits_errors();
  throw FitsError(status, "move to HDU '" + extname + "' in '" + path_ +
                              "': no HDU with that EXTNAME (available HDU:EXTNAME: " + available +
                              ")");
}

HduType FitsFile::hdu_type() const {
  int type = 0, status = 0;
  fits_get_hdu_type(handle(), &type, &status);
  check_fits(status, path_, "get HDU type");
  return to_hdu_type(type);
}

ChecksumStatus FitsFile::verify_checksum() const {
  int dataok = 0, hduok = 0, status = 0;
  fits_verify_chksum(handle(), &dataok, &hduok, &status);
  check_fits(status, path_, "verify checksum");
  return ChecksumStatus{static_cast<ChecksumStatus::State>(hduok),
                        static_cast<ChecksumStatus::State>(dataok)};
}

void FitsFile::write_checksum() {
  int status = 0;
  fits_write_chksum(handle(), &status);
  check_fits(status, path_, "write checksum");
}

}  // namespace gml::fits

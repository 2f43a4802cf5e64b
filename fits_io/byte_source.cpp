#include "fits_io/byte_source.h"

#include <fitsio.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

#include "fits_io/errors.h"

namespace gml::fits::detail {
namespace {

class MemorySource : public ByteSource {
 public:
  MemorySource(const void* data, size_t size)
      : data_(static_cast<const char*>(data)), size_(size) {}
  size_t read(char* buf, size_t n) override {
    n = std::min(n, size_ - pos_);
    if (n != 0) std::memcpy(buf, data_ + pos_, n);
    pos_ += n;
    return n;
  }
  uint64_t skip(uint64_t n) override {
    n = std::min<uint64_t>(n, size_ - pos_);
    pos_ += static_cast<size_t>(n);
    return n;
  }

 private:
  const char* data_;
  size_t size_;
  size_t pos_ = 0;
};

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};
using FilePtr = std::unique_ptr<std::FILE, FileCloser>;

class PlainFileSource : public ByteSource {
 public:
  PlainFileSource(FilePtr f, std::string path, uint64_t size)
      : f_(std::move(f)), path_(std::move(path)), size_(size) {}
  size_t read(char* buf, size_t n) override {
    const size_t got = std::fread(buf, 1, n, f_.get());
    if (got < n && std::ferror(f_.get())) {
      throw FitsError(READ_ERROR, "read '" + path_ + "': " + std::strerror(errno));
    }
    pos_ += got;
    return got;
  }
  uint64_t skip(uint64_t n) override {
    // Seeking, not reading: the data units of a large file are never read.
    n = std::min(n, size_ - std::min(pos_, size_));
    pos_ += n;
    if (fseeko(f_.get(), static_cast<off_t>(pos_), SEEK_SET) != 0) {
      throw FitsError(READ_ERROR, "seek in '" + path_ + "': " + std::strerror(errno));
    }
    return n;
  }

 private:
  FilePtr f_;
  std::string path_;
  uint64_t size_;
  uint64_t pos_ = 0;
};

class GzipSource : public ByteSource {
 public:
  GzipSource(FilePtr f, std::string path) : f_(std::move(f)), path_(std::move(path)), in_(65536) {
    // 16 + MAX_WBITS: gzip wrapper only, as CFITSIO's own decompressor.
    if (inflateInit2(&z_, 16 + MAX_WBITS) != Z_OK) {
      throw FitsError(MEMORY_ALLOCATION, "decompress '" + path_ + "': zlib initialisation failed");
    }
  }
  ~GzipSource() override { inflateEnd(&z_); }
  GzipSource(const GzipSource&) = delete;
  GzipSource& operator=(const GzipSource&) = delete;

  size_t read(char* buf, size_t n) override {
    size_t done = 0;
    while (done < n && !finished_) {
      if (z_.avail_in == 0) refill();
      z_.next_out = reinterpret_cast<Bytef*>(buf + done);
      const size_t want = std::min<size_t>(n - done, 1u << 30);
      z_.avail_out = static_cast<uInt>(want);
      const int rc = inflate(&z_, Z_NO_FLUSH);
      done += want - z_.avail_out;
      if (rc == Z_STREAM_END) {
        finished_ = true;
      } else if (rc == Z_BUF_ERROR && z_.avail_in == 0 && eof_) {
        throw FitsError(READ_ERROR, "decompress '" + path_ + "': gzip stream is truncated");
      } else if (rc != Z_OK && rc != Z_BUF_ERROR) {
        throw FitsError(READ_ERROR, "decompress '" + path_ + "': corrupt gzip data (" +
                                        (z_.msg ? z_.msg : "zlib error " + std::to_string(rc)) +
                                        ")");
      }
    }
    return done;
  }
  uint64_t skip(uint64_t n) override {
    std::vector<char> scratch(static_cast<size_t>(std::min<uint64_t>(n, 1u << 20)));
    uint64_t done = 0;
    while (done < n) {
      const size_t want = static_cast<size_t>(std::min<uint64_t>(n - done, scratch.size()));
      const size_t got = read(scratch.data(), want);
      done += got;
      if (got < want) break;
    }
    return done;
  }

 private:
  void refill() {
    if (eof_) return;
    const size_t got = std::fread(in_.data(), 1, in_.size(), f_.get());
    if (got < in_.size()) {
      if (std::ferror(f_.get())) {
        throw FitsError(READ_ERROR, "read '" + path_ + "': " + std::strerror(errno));
      }
      eof_ = true;
    }
    z_.next_in = reinterpret_cast<Bytef*>(in_.data());
    z_.avail_in = static_cast<uInt>(got);
  }

  FilePtr f_;
  std::string path_;
  std::vector<char> in_;
  z_stream z_{};
  bool eof_ = false;
  bool finished_ = false;
};

// Compression formats CFITSIO recognises by their leading bytes.
const char* other_compression(const unsigned char* m, size_t n) {
  if (n >= 2 && m[0] == 0x1f && m[1] == 0x9d) return "Unix compress (.Z)";
  if (n >= 2 && m[0] == 0x1f && m[1] == 0x1e) return "pack (.z)";
  if (n >= 2 && m[0] == 0x1f && m[1] == 0xa0) return "LZH";
  if (n >= 2 && m[0] == 'P' && m[1] == 'K') return "PKZIP (.zip)";
  if (n >= 3 && m[0] == 'B' && m[1] == 'Z' && m[2] == 'h') return "bzip2";
  return nullptr;
}

}  // namespace

std::unique_ptr<ByteSource> memory_source(const void* data, size_t size) {
  return std::make_unique<MemorySource>(data, size);
}

std::unique_ptr<ByteSource> file_source(const std::string& path) {
  FilePtr f(std::fopen(path.c_str(), "rb"));
  if (!f) {
    throw FitsError(FILE_NOT_OPENED, "open '" + path + "': could not open the named file (" +
                                         std::strerror(errno) + ")");
  }
  unsigned char magic[3] = {0, 0, 0};
  const size_t n = std::fread(magic, 1, sizeof magic, f.get());
  if (fseeko(f.get(), 0, SEEK_END) != 0) {
    throw FitsError(READ_ERROR, "seek in '" + path + "': " + std::strerror(errno));
  }
  const off_t size = ftello(f.get());
  std::rewind(f.get());
  if (size < 0) throw FitsError(READ_ERROR, "size of '" + path + "': " + std::strerror(errno));
  if (n >= 2 && magic[0] == 0x1f && magic[1] == 0x8b) {
    return std::make_unique<GzipSource>(std::move(f), path);
  }
  if (const char* kind = other_compression(magic, n)) {
    throw FitsError(FILE_NOT_OPENED, "open '" + path + "': the file is compressed with " + kind +
                                         ", which cannot be validated before reading; only "
                                         "gzip-compressed FITS files are accepted (decompress "
                                         "it first)");
  }
  return std::make_unique<PlainFileSource>(std::move(f), path, static_cast<uint64_t>(size));
}

}  // namespace gml::fits::detail

// Sequential byte streams over the places a FITS file can come from (a
// memory buffer, a plain file, a gzip-compressed file), so the structure
// check can walk any of them once, front to back, in bounded memory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace gml::fits::detail {

class ByteSource {
 public:
  virtual ~ByteSource() = default;
  /// Reads up to n bytes into buf; returns fewer only at the end of the
  /// stream. Throws FitsError on an I/O or decompression failure.
  virtual size_t read(char* buf, size_t n) = 0;
  /// Skips up to n bytes; returns fewer only at the end of the stream.
  virtual uint64_t skip(uint64_t n) = 0;
};

/// The bytes [data, data + size), which must outlive the source.
std::unique_ptr<ByteSource> memory_source(const void* data, size_t size);

/// The file at `path` as CFITSIO would read it: gzip streams (magic bytes
/// 1f 8b, whatever the name) are decompressed on the fly, only their first
/// member, as CFITSIO does. Throws FitsError if the file cannot be read, or
/// is compressed in a format CFITSIO would decode but we cannot check
/// (Unix compress, pack, LZH, PKZIP, bzip2).
std::unique_ptr<ByteSource> file_source(const std::string& path);

}  // namespace gml::fits::detail

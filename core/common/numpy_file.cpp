#include "core/common/numpy_file.h"

#include <zlib.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <fstream>
#include <limits>

#include "core/common/error.h"

namespace gml {
namespace {

[[noreturn]] void bad(const std::string& where, const std::string& what) {
  fail(Status::Format, where + ": " + what);
}

uint64_t le(const unsigned char* p, int bytes) {
  uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

// The value of 'key' in the header's Python dict literal, as written by
// numpy.lib.format (a quoted string, True/False, or a tuple).
std::string dict_value(const std::string& header, const std::string& key,
                       const std::string& where) {
  const std::string quoted[2] = {"'" + key + "'", "\"" + key + "\""};
  size_t at = std::string::npos;
  for (const auto& q : quoted) {
    at = header.find(q);
    if (at != std::string::npos) {
      at += q.size();
      break;
    }
  }
  if (at == std::string::npos) bad(where, "the .npy header has no '" + key + "'");
  at = header.find(':', at);
  if (at == std::string::npos) bad(where, "malformed .npy header");
  ++at;
  while (at < header.size() && std::isspace(static_cast<unsigned char>(header[at]))) ++at;
  if (at >= header.size()) bad(where, "malformed .npy header");
  const char open = header[at];
  if (open == '\'' || open == '"') {
    const size_t end = header.find(open, at + 1);
    if (end == std::string::npos) bad(where, "malformed .npy header");
    return header.substr(at + 1, end - at - 1);
  }
  if (open == '(') {
    const size_t end = header.find(')', at);
    if (end == std::string::npos) bad(where, "malformed .npy header");
    return header.substr(at + 1, end - at - 1);
  }
  size_t end = at;
  while (end < header.size() && std::isalnum(static_cast<unsigned char>(header[end]))) ++end;
  return header.substr(at, end - at);
}

template <typename T>
T load(const unsigned char* p, bool swap) {
  unsigned char b[sizeof(T)];
  std::memcpy(b, p, sizeof(T));
  if (swap) std::reverse(b, b + sizeof(T));
  T v;
  std::memcpy(&v, b, sizeof(T));
  return v;
}

using Convert = double (*)(const unsigned char*, bool);
template <typename T>
double convert(const unsigned char* p, bool swap) {
  return static_cast<double>(load<T>(p, swap));
}

}  // namespace

NumpyArray parse_npy(const std::string& bytes, const std::string& where) {
  const auto* u = reinterpret_cast<const unsigned char*>(bytes.data());
  if (bytes.size() < 10 || std::memcmp(bytes.data(), "\x93NUMPY", 6) != 0) {
    bad(where, "not a NumPy .npy array (no \\x93NUMPY magic)");
  }
  const int major = u[6];
  if (major < 1 || major > 3) bad(where, ".npy format version " + std::to_string(major));
  const size_t len_bytes = major == 1 ? 2 : 4;
  if (bytes.size() < 8 + len_bytes) bad(where, "truncated .npy header");
  const uint64_t header_len = le(u + 8, static_cast<int>(len_bytes));
  const uint64_t data_at = 8 + len_bytes + header_len;
  if (data_at > bytes.size()) bad(where, "truncated .npy header");
  const std::string header = bytes.substr(8 + len_bytes, header_len);

  const std::string descr = dict_value(header, "descr", where);
  const std::string order = dict_value(header, "fortran_order", where);
  if (order != "True" && order != "False") bad(where, "fortran_order is '" + order + "'");
  const bool fortran = order == "True";
  NumpyArray a;
  {
    const std::string dims = dict_value(header, "shape", where);
    size_t i = 0;
    while (i < dims.size()) {
      while (i < dims.size() &&
             (std::isspace(static_cast<unsigned char>(dims[i])) || dims[i] == ','))
        ++i;
      if (i >= dims.size()) break;
      size_t end = i;
      while (end < dims.size() && std::isdigit(static_cast<unsigned char>(dims[end]))) ++end;
      if (end == i || end - i > 18) bad(where, "shape (" + dims + ") is not a tuple of sizes");
      a.shape.push_back(std::stoll(dims.substr(i, end - i)));
      i = end;
      if (i < dims.size() && dims[i] == 'L') ++i;  // Python 2 longs
    }
    if (a.shape.size() > 32) bad(where, "more than 32 dimensions");
  }

  if (descr.size() < 3) bad(where, "dtype '" + descr + "' is not a number type");
  const char byte_order = descr[0];
  const char kind = descr[1];
  int size = 0;
  try {
    size = std::stoi(descr.substr(2));
  } catch (const std::exception&) {
    bad(where, "dtype '" + descr + "' is not a number type");
  }
  const bool little_host = [] {
    const uint16_t one = 1;
    unsigned char b;
    std::memcpy(&b, &one, 1);
    return b == 1;
  }();
  if (byte_order != '<' && byte_order != '>' && byte_order != '|' && byte_order != '=') {
    bad(where, "dtype '" + descr + "' has no byte order");
  }
  const bool swap = (byte_order == '<' && !little_host) || (byte_order == '>' && little_host);
  Convert conv = nullptr;
  switch (kind) {
    case 'f': conv = size == 8 ? convert<double> : size == 4 ? convert<float> : nullptr; break;
    case 'i':
      conv = size == 8   ? convert<int64_t>
             : size == 4 ? convert<int32_t>
             : size == 2 ? convert<int16_t>
             : size == 1 ? convert<int8_t>
                         : nullptr;
      break;
    case 'u':
      conv = size == 8   ? convert<uint64_t>
             : size == 4 ? convert<uint32_t>
             : size == 2 ? convert<uint16_t>
             : size == 1 ? convert<uint8_t>
                         : nullptr;
      break;
    case 'b': conv = size == 1 ? convert<uint8_t> : nullptr; break;
    default: break;
  }
  if (!conv) {
    bad(where,
        "dtype '" + descr + "' is not read (float64/32, signed or unsigned integers and bool are)");
  }

  // Element count against the bytes present before allocating.
  uint64_t count = 1;
  for (int64_t d : a.shape) {
    if (d != 0 && count > (bytes.size() - data_at) / static_cast<uint64_t>(d)) {
      bad(where, "the shape claims more data than the file holds (truncated?)");
    }
    count *= static_cast<uint64_t>(d);
  }
  if (count * static_cast<uint64_t>(size) > bytes.size() - data_at) {
    bad(where, "the shape claims more data than the file holds (truncated?)");
  }
  a.values.resize(count);
  const unsigned char* data = u + data_at;
  if (!fortran || a.shape.size() < 2) {
    for (uint64_t i = 0; i < count; ++i) a.values[i] = conv(data + i * size, swap);
    return a;
  }
  // Fortran order: walk the C-order index and track the F-order offset.
  const size_t rank = a.shape.size();
  std::vector<uint64_t> f_stride(rank, 1);
  for (size_t k = 1; k < rank; ++k) f_stride[k] = f_stride[k - 1] * a.shape[k - 1];
  std::vector<int64_t> idx(rank, 0);
  uint64_t f = 0;
  for (uint64_t i = 0; i < count; ++i) {
    a.values[i] = conv(data + f * size, swap);
    for (size_t k = rank; k-- > 0;) {
      if (++idx[k] < a.shape[k]) {
        f += f_stride[k];
        break;
      }
      f -= f_stride[k] * static_cast<uint64_t>(a.shape[k] - 1);
      idx[k] = 0;
    }
  }
  return a;
}

namespace {

std::string read_range(std::ifstream& in, uint64_t offset, uint64_t n, const std::string& where) {
  std::string out(n, '\0');
  in.clear();
  in.seekg(static_cast<std::streamoff>(offset));
  in.read(out.data(), static_cast<std::streamsize>(n));
  if (!in) bad(where, "truncated archive");
  return out;
}

struct ZipMember {
  std::string name;
  uint16_t method = 0;
  uint32_t crc = 0;
  uint64_t compressed = 0, size = 0, header_offset = 0;
};

std::ifstream open_file(const std::string& path, uint64_t& size) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) fail(Status::Io, path + ": cannot be opened");
  size = static_cast<uint64_t>(in.tellg());
  return in;
}

// The central directory of a ZIP archive, ZIP64 included.
std::vector<ZipMember> zip_members(std::ifstream& in, uint64_t file_size,
                                   const std::string& where) {
  const uint64_t tail_len = std::min<uint64_t>(file_size, 65535 + 22);
  const std::string tail = read_range(in, file_size - tail_len, tail_len, where);
  const auto* t = reinterpret_cast<const unsigned char*>(tail.data());
  int64_t eocd = -1;
  for (int64_t i = static_cast<int64_t>(tail_len) - 22; i >= 0; --i) {
    if (le(t + i, 4) == 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) bad(where, "not an .npz archive (no ZIP end record)");
  uint64_t entries = le(t + eocd + 10, 2);
  uint64_t dir_size = le(t + eocd + 12, 4);
  uint64_t dir_offset = le(t + eocd + 16, 4);
  if (entries == 0xFFFF || dir_size == 0xFFFFFFFF || dir_offset == 0xFFFFFFFF) {
    // ZIP64: the locator sits just before the end record.
    const uint64_t eocd_at = file_size - tail_len + static_cast<uint64_t>(eocd);
    if (eocd_at < 20) bad(where, "damaged ZIP64 archive");
    const std::string loc = read_range(in, eocd_at - 20, 20, where);
    const auto* l = reinterpret_cast<const unsigned char*>(loc.data());
    if (le(l, 4) != 0x07064b50) bad(where, "damaged ZIP64 archive (no locator)");
    const uint64_t rec_at = le(l + 8, 8);
    if (rec_at > file_size || file_size - rec_at < 56) bad(where, "damaged ZIP64 archive");
    const std::string rec = read_range(in, rec_at, 56, where);
    const auto* r = reinterpret_cast<const unsigned char*>(rec.data());
    if (le(r, 4) != 0x06064b50) bad(where, "damaged ZIP64 archive (no end record)");
    entries = le(r + 32, 8);
    dir_size = le(r + 40, 8);
    dir_offset = le(r + 48, 8);
  }
  if (dir_offset > file_size || dir_size > file_size - dir_offset) {
    bad(where, "damaged archive (central directory outside the file)");
  }
  const std::string dir = read_range(in, dir_offset, dir_size, where);
  const auto* d = reinterpret_cast<const unsigned char*>(dir.data());
  std::vector<ZipMember> members;
  uint64_t at = 0;
  for (uint64_t e = 0; e < entries; ++e) {
    if (dir_size - at < 46 || le(d + at, 4) != 0x02014b50) {
      bad(where, "damaged archive (central directory entry " + std::to_string(e) + ")");
    }
    ZipMember m;
    m.method = static_cast<uint16_t>(le(d + at + 10, 2));
    m.crc = static_cast<uint32_t>(le(d + at + 16, 4));
    m.compressed = le(d + at + 20, 4);
    m.size = le(d + at + 24, 4);
    const uint64_t name_len = le(d + at + 28, 2), extra_len = le(d + at + 30, 2),
                   comment_len = le(d + at + 32, 2);
    m.header_offset = le(d + at + 42, 4);
    if (dir_size - at - 46 < name_len + extra_len + comment_len) bad(where, "damaged archive");
    m.name = dir.substr(at + 46, name_len);
    // ZIP64 extra field: the 64-bit values of the fields set to 0xFFFFFFFF.
    for (uint64_t x = at + 46 + name_len; x + 4 <= at + 46 + name_len + extra_len;) {
      const uint64_t id = le(d + x, 2), len = le(d + x + 2, 2);
      if (x + 4 + len > at + 46 + name_len + extra_len) bad(where, "damaged archive");
      if (id == 0x0001) {
        uint64_t y = x + 4;
        for (uint64_t* field : {&m.size, &m.compressed, &m.header_offset}) {
          if (*field != 0xFFFFFFFF) continue;
          if (y + 8 > x + 4 + len) bad(where, "damaged ZIP64 extra field");
          *field = le(d + y, 8);
          y += 8;
        }
      }
      x += 4 + len;
    }
    members.push_back(std::move(m));
    at += 46 + name_len + extra_len + comment_len;
  }
  return members;
}

}  // namespace

NumpyArray read_npy(const std::string& path) {
  uint64_t size = 0;
  std::ifstream in = open_file(path, size);
  return parse_npy(read_range(in, 0, size, path), path);
}

std::vector<std::string> npz_keys(const std::string& path) {
  uint64_t size = 0;
  std::ifstream in = open_file(path, size);
  std::vector<std::string> keys;
  for (const ZipMember& m : zip_members(in, size, path)) {
    if (m.name.size() > 4 && m.name.compare(m.name.size() - 4, 4, ".npy") == 0) {
      keys.push_back(m.name.substr(0, m.name.size() - 4));
    }
  }
  return keys;
}

NumpyArray read_npz_member(const std::string& path, const std::string& key) {
  uint64_t size = 0;
  std::ifstream in = open_file(path, size);
  const std::string where = path + "[" + key + "]";
  const std::vector<ZipMember> members = zip_members(in, size, path);
  const auto it = std::find_if(members.begin(), members.end(),
                               [&](const ZipMember& m) { return m.name == key + ".npy"; });
  if (it == members.end()) {
    std::string have;
    for (const ZipMember& m : members) have += (have.empty() ? "" : ", ") + m.name;
    fail(Status::Format, path + " has no array '" + key + "' (it holds: " + have + ")");
  }
  const ZipMember& m = *it;
  if (m.header_offset > size || size - m.header_offset < 30) bad(where, "damaged archive");
  const std::string local = read_range(in, m.header_offset, 30, where);
  const auto* l = reinterpret_cast<const unsigned char*>(local.data());
  if (le(l, 4) != 0x04034b50) bad(where, "damaged archive (no local header)");
  const uint64_t data_at = m.header_offset + 30 + le(l + 26, 2) + le(l + 28, 2);
  if (data_at > size || m.compressed > size - data_at) bad(where, "truncated archive");
  std::string stored = read_range(in, data_at, m.compressed, where);
  std::string bytes;
  if (m.method == 0) {
    bytes = std::move(stored);
  } else if (m.method == 8) {
    // Deflate expands at most about 1032:1; a larger claim is a damaged or
    // hostile header, refused before allocating.
    if (m.size > m.compressed * 1032 + 1024) bad(where, "implausible uncompressed size");
    bytes.assign(m.size, '\0');
    z_stream z{};
    if (inflateInit2(&z, -MAX_WBITS) != Z_OK) fail(Status::Internal, "zlib: inflateInit2 failed");
    z.next_in = reinterpret_cast<Bytef*>(stored.data());
    z.next_out = reinterpret_cast<Bytef*>(bytes.data());
    uint64_t in_left = stored.size(), out_left = bytes.size();
    int rc = Z_OK;
    while (rc == Z_OK) {
      const uInt in_chunk = static_cast<uInt>(std::min<uint64_t>(in_left, 1u << 30));
      const uInt out_chunk = static_cast<uInt>(std::min<uint64_t>(out_left, 1u << 30));
      z.avail_in = in_chunk;
      z.avail_out = out_chunk;
      rc = inflate(&z, Z_NO_FLUSH);
      in_left -= in_chunk - z.avail_in;
      out_left -= out_chunk - z.avail_out;
      if (rc == Z_OK && in_chunk == z.avail_in && out_chunk == z.avail_out) break;
    }
    inflateEnd(&z);
    if (rc != Z_STREAM_END || out_left != 0) bad(where, "damaged compressed data");
  } else {
    bad(where, "compression method " + std::to_string(m.method) +
                   " is not read (numpy writes stored or deflate)");
  }
  if (bytes.size() != m.size) bad(where, "damaged archive (size mismatch)");
  uLong crc = crc32(0L, Z_NULL, 0);
  for (uint64_t off = 0; off < bytes.size(); off += 1u << 30) {
    const uInt n = static_cast<uInt>(std::min<uint64_t>(bytes.size() - off, 1u << 30));
    crc = crc32(crc, reinterpret_cast<const Bytef*>(bytes.data() + off), n);
  }
  if (crc != m.crc) bad(where, "CRC mismatch (damaged archive)");
  return parse_npy(bytes, where);
}

}  // namespace gml

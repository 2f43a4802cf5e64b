// NumPy's own file formats, read without Python: .npy (format versions 1 to
// 3) and the .npz archives numpy.savez (stored) and numpy.savez_compressed
// (deflate) write, ZIP64 included. Numbers only: float64/32, int64/32/16/8,
// uint8..64 and bool, either byte order, C or Fortran order, converted to
// float64 in C order.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace gml {

struct NumpyArray {
  std::vector<int64_t> shape;  // () for a scalar
  std::vector<double> values;  // C order
};

// Error(Io) when the file cannot be read, Error(Format) naming the file (and
// the member) for anything malformed, truncated or not numeric. Sizes are
// checked against the bytes present before anything is allocated.
NumpyArray read_npy(const std::string& path);
NumpyArray read_npz_member(const std::string& path, const std::string& key);
// The array names of an .npz archive ("theta" for the member theta.npy).
std::vector<std::string> npz_keys(const std::string& path);

// Parses one .npy image held in memory; `where` names it in errors.
NumpyArray parse_npy(const std::string& bytes, const std::string& where);

}  // namespace gml

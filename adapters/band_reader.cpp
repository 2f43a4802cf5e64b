#include "adapters/band_reader.h"

#include <algorithm>
#include <stdexcept>

#include "fits_io/image.h"

namespace gml::adapters {

Band open_band(const std::string& path) {
  Band band{path, fits::FitsFile::open(path), 0, 0};
  fits::FitsFile& f = band.file;
  auto has_data = [&] {
    return f.hdu_type() == fits::HduType::Image && !fits::image_info(f).naxes.empty();
  };
  if (f.current_hdu() == 1 && !has_data()) {
    const int n = f.num_hdus();
    for (int h = 2; h <= n; ++h) {
      if (f.move_to(h) == fits::HduType::Image && has_data()) break;
    }
  }
  if (f.hdu_type() != fits::HduType::Image) {
    throw std::invalid_argument("cutouts: '" + path + "' HDU " + std::to_string(f.current_hdu()) +
                                " is a table, not an image");
  }
  const fits::ImageInfo info = fits::image_info(f);
  bool planar = info.naxes.size() >= 2;
  for (size_t i = 2; i < info.naxes.size(); ++i) planar = planar && info.naxes[i] == 1;
  if (!planar || info.naxes[0] < 1 || info.naxes[1] < 1) {
    std::string shape;
    for (int64_t d : info.naxes) shape += (shape.empty() ? "" : " x ") + std::to_string(d);
    throw std::invalid_argument("cutouts: '" + path + "' HDU " + std::to_string(f.current_hdu()) +
                                " is not a 2-D image (shape " +
                                (shape.empty() ? std::string("empty") : shape) +
                                "); give one 2-D image HDU per band");
  }
  band.nx = info.naxes[0];
  band.ny = info.naxes[1];
  return band;
}

BandReader::BandReader(std::vector<Band>* bands, int64_t chunk_rows)
    : bands_(bands),
      nx_(bands->front().nx),
      ny_(bands->front().ny),
      chunk_(std::max<int64_t>(chunk_rows, 1)),
      buf_(bands->size()) {}

void BandReader::require(int64_t lo, int64_t hi) {
  lo = std::clamp<int64_t>(lo, 0, ny_);
  hi = std::clamp<int64_t>(hi, lo, ny_);
  if (lo < lo_) throw std::logic_error("BandReader::require: rows requested out of order");
  if (lo >= hi_) {
    // Nothing resident is needed any more; skip the rows in between unread.
    for (auto& b : buf_) b.clear();
    base_ = lo_ = hi_ = lo;
  }
  lo_ = lo;
  if (hi > hi_) {
    // Released rows are compacted away only when the window grows, so the
    // cost is paid once per chunk read rather than once per stamp.
    if (lo_ > base_) {
      const auto drop = static_cast<std::ptrdiff_t>((lo_ - base_) * nx_);
      for (auto& b : buf_) b.erase(b.begin(), b.begin() + drop);
      base_ = lo_;
    }
    read_rows(hi_, std::min(ny_, std::max(hi, hi_ + chunk_)));
  }
}

void BandReader::read_rows(int64_t first, int64_t last) {
  const size_t n = static_cast<size_t>((last - first) * nx_);
  for (size_t b = 0; b < bands_->size(); ++b) {
    Band& band = (*bands_)[b];
    const fits::ImageInfo info = fits::image_info(band.file);
    std::vector<int64_t> f(info.naxes.size(), 1), l(info.naxes.size(), 1);
    f[0] = 1;
    l[0] = nx_;
    f[1] = first + 1;
    l[1] = last;
    std::vector<float>& dst = buf_[b];
    const size_t old = dst.size();
    dst.resize(old + n);
    fits::read_section(band.file, f, l, dst.data() + old);
  }
  rows_read_ += last - first;
  hi_ = last;
}

const float* BandReader::row(int b, int64_t y) const {
  return buf_[static_cast<size_t>(b)].data() + (y - base_) * nx_;
}

}  // namespace gml::adapters

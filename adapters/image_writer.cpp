#include "adapters/image_writer.h"

#include <fitsio.h>

#include <cmath>
#include <limits>
#include <stdexcept>
#include <utility>

#include "fits_io/header.h"
#include "fits_io/image.h"
#include "fits_io/table.h"

namespace gml::adapters {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

void check(int status, fits::FitsFile& f, const std::string& op) {
  fits::detail::check_fits(status, f.path(), op);
}

void write_cards(fits::FitsFile& f, const std::string& cards) {
  int status = 0;
  for (size_t k = 0; k + 80 <= cards.size(); k += 80) {
    std::string card = cards.substr(k, 80);
    if (card.rfind("END     ", 0) == 0) break;
    if (card.find_first_not_of(' ') == std::string::npos) continue;
    fits_write_record(f.handle(), card.c_str(), &status);
  }
  check(status, f, "write WCS cards");
}

void create_image(fits::FitsFile& f, int bitpix, const std::vector<LONGLONG>& dims) {
  int status = 0;
  fits_create_imgll(f.handle(), bitpix, static_cast<int>(dims.size()),
                    const_cast<LONGLONG*>(dims.data()), &status);
  check(status, f, "create image HDU");
}

void write_pixels(fits::FitsFile& f, int type, std::vector<LONGLONG> first, int64_t n,
                  const void* data) {
  int status = 0;
  fits_write_pixll(f.handle(), type, first.data(), n, const_cast<void*>(data), &status);
  check(status, f, "write image data");
}

}  // namespace

struct StampWriter::Impl {
  Impl(fits::FitsFile f, const CutoutSource& s, const CutoutPlan& p, int64_t count, StampLayout l,
       bool with_mask)
      : file(std::move(f)), src(s), plan(p), n(count), layout(l), mask(with_mask) {}
  fits::FitsFile file;
  const CutoutSource& src;
  CutoutPlan plan;
  int64_t n;
  StampLayout layout;
  bool mask;
  int64_t next = 0;
  // Table columns, filled as stamps arrive.
  std::vector<int64_t> id, x0, y0, hdu, flags;
  std::vector<double> ra, dec, x, y, crpix1, crpix2;

  std::vector<LONGLONG> stamp_dims() const {
    std::vector<LONGLONG> d{plan.out_w, plan.out_h};
    if (src.n_bands() > 1) d.push_back(src.n_bands());
    return d;
  }

  void describe(const CutoutSpec& spec) {
    fits::write_key_string(file, "GMLKIND", "CUTOUTS", "postage stamps written by galaxyml");
    fits::write_key_int(file, "NSTAMPS", n, "number of stamps");
    fits::write_key_int(file, "NBANDS", src.n_bands(), "bands per stamp");
    for (int b = 0; b < src.n_bands(); ++b) {
      fits::write_key_string(file, "BAND" + std::to_string(b + 1), src.paths()[b],
                             "source image of band");
    }
    fits::write_key_int(file, "STAMPW", plan.out_w, "stamp width (pixels)");
    fits::write_key_int(file, "STAMPH", plan.out_h, "stamp height (pixels)");
    fits::write_key_int(file, "SRCW", plan.src_w, "stamp width in source image pixels");
    fits::write_key_int(file, "SRCH", plan.src_h, "stamp height in source image pixels");
    fits::write_key_string(file, "RESAMPLE", to_string(spec.resample), "resampling mode");
    fits::write_key_double(file, "SCALE", plan.scale, "source pixels per stamp pixel");
    fits::write_key_string(file, "LAYOUT", layout == StampLayout::Cube ? "CUBE" : "HDU_PER_STAMP",
                           "one HDU per stamp, or one (N, C, H, W) cube");
    fits::write_history(file, "Pixel convention of astropy.nddata.Cutout2D(mode='partial').");
  }
};

StampWriter::StampWriter(const std::string& path, const CutoutSource& src, const CutoutPlan& plan,
                         const CutoutSpec& spec, int64_t n, StampLayout layout, bool write_mask)
    : impl_(
          std::make_unique<Impl>(fits::FitsFile::create(path), src, plan, n, layout, write_mask)) {
  Impl& m = *impl_;
  if (layout == StampLayout::Cube) {
    std::vector<LONGLONG> dims{plan.out_w, plan.out_h, src.n_bands(), std::max<int64_t>(n, 1)};
    create_image(m.file, FLOAT_IMG, dims);
    m.describe(spec);
    if (write_mask) {
      create_image(m.file, BYTE_IMG, dims);
      fits::write_key_string(m.file, "EXTNAME", "MASK", "1 = fill value (no valid data)");
    }
    if (src.wcs()) {
      create_image(m.file, BYTE_IMG, {});
      fits::write_key_string(m.file, "EXTNAME", "STAMPWCS", "WCS of a stamp at image origin");
      write_cards(m.file, src.stamp_header(StampInfo{0, 0, 0, 0, 0}, plan));
    }
  } else {
    fits::write_empty_primary(m.file);
    m.describe(spec);
  }
}

StampWriter::~StampWriter() = default;

void StampWriter::write(int64_t first, const std::vector<StampInfo>& infos, const float* stamps,
                        const uint8_t* mask, const double* ra, const double* dec) {
  Impl& m = *impl_;
  if (first != m.next || first + static_cast<int64_t>(infos.size()) > m.n) {
    throw std::logic_error("StampWriter::write: stamps out of order");
  }
  const int64_t per_stamp = m.plan.out_w * m.plan.out_h * m.src.n_bands();
  const auto k = static_cast<int64_t>(infos.size());
  const fits::Wcs* wcs = m.src.wcs();
  for (int64_t j = 0; j < k; ++j) {
    const StampInfo& s = infos[static_cast<size_t>(j)];
    const int64_t i = first + j;
    double c1 = kNaN, c2 = kNaN;
    if (wcs && s.located()) {
      const auto crpix = wcs->crpix();
      c1 = (crpix[0] - static_cast<double>(s.x0 + 1) + 0.5) / m.plan.scale + 0.5;
      c2 = (crpix[1] - static_cast<double>(s.y0 + 1) + 0.5) / m.plan.scale + 0.5;
    }
    m.id.push_back(i);
    m.ra.push_back(ra[j]);
    m.dec.push_back(dec[j]);
    m.x.push_back(s.x);
    m.y.push_back(s.y);
    m.x0.push_back(s.x0);
    m.y0.push_back(s.y0);
    m.crpix1.push_back(c1);
    m.crpix2.push_back(c2);
    m.flags.push_back(s.flags);
    m.hdu.push_back(i + 1);
    if (m.layout == StampLayout::Cube) continue;

    const std::string wcs_cards = wcs && s.located() ? m.src.stamp_header(s, m.plan) : "";
    auto annotate = [&](const char* extname) {
      fits::write_key_string(m.file, "EXTNAME", extname);
      fits::write_key_int(m.file, "EXTVER", i + 1, "stamp number (1-based)");
      write_cards(m.file, wcs_cards);
      fits::write_key_int(m.file, "STAMPID", i, "0-based row of the input catalog");
      if (std::isfinite(ra[j]) && std::isfinite(dec[j])) {
        fits::write_key_double(m.file, "RA_OBJ", ra[j], "requested position", "deg");
        fits::write_key_double(m.file, "DEC_OBJ", dec[j], "requested position", "deg");
      }
      if (std::isfinite(s.x) && std::isfinite(s.y)) {
        fits::write_key_double(m.file, "X_IMG", s.x, "0-based centre in the source image");
        fits::write_key_double(m.file, "Y_IMG", s.y, "0-based centre in the source image");
      }
      fits::write_key_int(m.file, "GMLFLAGS", s.flags,
                          "1 partial 2 off-image 4 bad coord 8 WCS failed 16 NaN");
    };
    create_image(m.file, FLOAT_IMG, m.stamp_dims());
    annotate("STAMP");
    write_pixels(m.file, TFLOAT, std::vector<LONGLONG>(m.stamp_dims().size(), 1), per_stamp,
                 stamps + j * per_stamp);
    if (m.mask) {
      create_image(m.file, BYTE_IMG, m.stamp_dims());
      annotate("MASK");
      write_pixels(m.file, TBYTE, std::vector<LONGLONG>(m.stamp_dims().size(), 1), per_stamp,
                   mask + j * per_stamp);
    }
  }
  if (m.layout == StampLayout::Cube && k > 0) {
    m.file.move_to(1);
    write_pixels(m.file, TFLOAT, {1, 1, 1, first + 1}, k * per_stamp, stamps);
    if (m.mask) {
      m.file.move_to(2);
      write_pixels(m.file, TBYTE, {1, 1, 1, first + 1}, k * per_stamp, mask);
    }
  }
  m.next += k;
}

void StampWriter::commit() {
  Impl& m = *impl_;
  if (m.next != m.n) throw std::logic_error("StampWriter::commit: not every stamp was written");
  using fits::ColumnType;
  fits::Table t = fits::create_table(m.file, "STAMPS",
                                     {{"ID", ColumnType::Int64, 1, "", {}},
                                      {"RA", ColumnType::Float64, 1, "deg", {}},
                                      {"DEC", ColumnType::Float64, 1, "deg", {}},
                                      {"X", ColumnType::Float64, 1, "pix", {}},
                                      {"Y", ColumnType::Float64, 1, "pix", {}},
                                      {"X0", ColumnType::Int64, 1, "pix", {}},
                                      {"Y0", ColumnType::Int64, 1, "pix", {}},
                                      {"CRPIX1", ColumnType::Float64, 1, "pix", {}},
                                      {"CRPIX2", ColumnType::Float64, 1, "pix", {}},
                                      {"FLAGS", ColumnType::Int32, 1, "", {}},
                                      {"HDU", ColumnType::Int64, 1, "", {}}});
  if (m.n > 0) {
    t.write_column("ID", 0, m.n, m.id.data());
    t.write_column("RA", 0, m.n, m.ra.data());
    t.write_column("DEC", 0, m.n, m.dec.data());
    t.write_column("X", 0, m.n, m.x.data());
    t.write_column("Y", 0, m.n, m.y.data());
    t.write_column("X0", 0, m.n, m.x0.data());
    t.write_column("Y0", 0, m.n, m.y0.data());
    t.write_column("CRPIX1", 0, m.n, m.crpix1.data());
    t.write_column("CRPIX2", 0, m.n, m.crpix2.data());
    t.write_column("FLAGS", 0, m.n, m.flags.data());
    t.write_column("HDU", 0, m.n, m.hdu.data());
  }
  m.file.commit();
}

CubeShape cutout_cube_shape(const std::string& path) {
  fits::FitsFile f = fits::FitsFile::open(path);
  auto has_data = [&] {
    return f.hdu_type() == fits::HduType::Image && !fits::image_info(f).naxes.empty();
  };
  if (f.current_hdu() == 1 && !has_data()) {
    for (int h = 2; h <= f.num_hdus(); ++h) {
      if (f.move_to(h) == fits::HduType::Image && has_data()) break;
    }
  }
  if (f.hdu_type() != fits::HduType::Image) {
    throw std::invalid_argument("cutout cube '" + path + "': HDU " +
                                std::to_string(f.current_hdu()) + " is a table, not an image");
  }
  const auto ax = fits::image_info(f).naxes;
  for (size_t i = 4; i < ax.size(); ++i) {
    if (ax[i] != 1) {
      throw std::invalid_argument("cutout cube '" + path + "' has " + std::to_string(ax.size()) +
                                  " axes; expected 2 to 4 (W, H, bands, stamps)");
    }
  }
  if (ax.size() < 2) {
    throw std::invalid_argument("cutout cube '" + path + "': HDU " +
                                std::to_string(f.current_hdu()) + " holds no 2-D image data");
  }
  CubeShape s;
  s.w = ax[0];
  s.h = ax[1];
  s.c = ax.size() >= 4 ? ax[2] : 1;
  s.n = ax.size() >= 4 ? ax[3] : (ax.size() == 3 ? ax[2] : 1);
  return s;
}

CubeShape read_cutout_cube(const std::string& path, float* out, int64_t capacity) {
  const CubeShape s = cutout_cube_shape(path);
  if (capacity < s.size()) throw std::invalid_argument("read_cutout_cube: buffer too small");
  fits::FitsFile f = fits::FitsFile::open(path);
  if (f.current_hdu() == 1 && fits::image_info(f).naxes.empty()) {
    for (int h = 2; h <= f.num_hdus(); ++h) {
      if (f.move_to(h) == fits::HduType::Image && !fits::image_info(f).naxes.empty()) break;
    }
  }
  const auto ax = fits::image_info(f).naxes;
  std::vector<int64_t> first(ax.size(), 1), last(ax.begin(), ax.end());
  fits::read_section(f, first, last, out);
  return s;
}

}  // namespace gml::adapters

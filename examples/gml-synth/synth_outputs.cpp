#include "synth_outputs.h"

#include <fitsio.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli.h"
#include "plot.h"

namespace gml_tools {
namespace {

// Closes and deletes a half-written FITS file on every way out.
struct FitsOutput {
  fitsfile* f = nullptr;
  std::string path;
  bool keep = false;
  ~FitsOutput() {
    int status = 0;
    if (f) fits_close_file(f, &status);
    if (!keep) std::remove(path.c_str());
  }
};

void fits_check(int status, const std::string& what) {
  if (status == 0) return;
  char text[FLEN_STATUS];
  fits_get_errstatus(status, text);
  die("writing " + what + ": CFITSIO " + text);
}

void key_text(fitsfile* f, const char* key, const std::string& value, const char* comment) {
  int status = 0;
  // Long strings (prompts, paths) as CONTINUE cards: the HEASARC convention.
  fits_write_key_longstr(f, key, value.c_str(), comment, &status);
  fits_check(status, std::string("keyword ") + key);
}

template <typename T>
void key_number(fitsfile* f, int type, const char* key, T value, const char* comment) {
  int status = 0;
  fits_write_key(f, type, key, &value, comment, &status);
  fits_check(status, std::string("keyword ") + key);
}

}  // namespace

std::string describe_model(const gml_model* model) {
  size_t length = 0;
  gml_diffusion_describe(model, nullptr, 0, &length);
  std::string text(length + 1, '\0');
  check(gml_diffusion_describe(model, text.data(), text.size(), &length), "describe");
  text.resize(length);
  return text;
}

std::string replace_extension(const std::string& path, const std::string& extension) {
  const size_t slash = path.find_last_of('/');
  const size_t dot = path.find_last_of('.');
  if (dot == std::string::npos || (slash != std::string::npos && dot < slash))
    return path + extension;
  return path.substr(0, dot) + extension;
}

void write_synth_fits(const std::string& path, const std::vector<float>& images,
                      const int64_t shape[4], const SynthRun& run) {
  const nlohmann::json model = nlohmann::json::parse(run.model_description, nullptr, false);
  const std::string checksum =
      model.is_object() && model.contains("checksum") ? model["checksum"].get<std::string>() : "";
  FitsOutput out;
  out.path = path + ".tmp" + std::to_string(::getpid());
  int status = 0;
  std::remove(out.path.c_str());
  fits_create_file(&out.f, out.path.c_str(), &status);
  fits_check(status, path);
  long naxes[4] = {static_cast<long>(shape[3]), static_cast<long>(shape[2]),
                   static_cast<long>(shape[1]), static_cast<long>(shape[0])};
  fits_create_img(out.f, FLOAT_IMG, 4, naxes, &status);
  fits_check(status, path);
  fitsfile* f = out.f;
  const gml_diffusion_options& o = run.options;
  key_text(f, "CREATOR", "gml-synth (galaxyml)", "software that made the images");
  key_text(f, "CHANNELS", "RGB", "axis 3: decoded channels, values in [0, 1]");
  key_text(f, "PROMPT", run.prompts.front(), "prompt of the first images ({tag:w} weights)");
  key_number<long>(f, TLONG, "NPROMPT", static_cast<long>(run.prompts.size()),
                   "prompts (each prompt's images in turn)");
  key_number<long>(f, TLONG, "NPERPRMT", static_cast<long>(o.n_per_prompt), "images per prompt");
  key_text(f, "NEGPRMT", run.negative_prompt, "negative prompt");
  key_number<unsigned long long>(f, TULONGLONG, "SEED", static_cast<unsigned long long>(run.seed),
                                 "image i is drawn from SEED + i");
  key_text(f, "SCHEDULR", run.scheduler, "sampler");
  key_number<long>(f, TLONG, "STEPS", static_cast<long>(o.steps), "denoising steps");
  key_number<double>(f, TDOUBLE, "GUIDANCE", o.guidance, "classifier-free guidance scale");
  key_number<double>(f, TDOUBLE, "ETA", o.eta, "DDIM eta");
  key_number<int>(f, TLOGICAL, "RESTMEAN", o.restore_mean ? 1 : 0,
                  "embedding mean restored after weighting");
  key_text(f, "PRECISN", run.precision, "dtype of the UNet and VAE");
  key_number<int>(f, TLOGICAL, "CHANLAST", o.channels_last ? 1 : 0,
                  "convolutions in channels-last layout");
  key_text(f, "MODEL", run.model_path, "diffusion model (diffusers folder or galaxyml file)");
  key_text(f, "MODELSUM", checksum, "model checksum (galaxyml model file format)");
  if (!run.reference_path.empty()) {
    key_text(f, "REFIMG", run.reference_path, "img2img reference");
    key_number<double>(f, TDOUBLE, "STRENGTH", o.strength, "img2img: noise level of reference");
    key_number<int>(f, TLOGICAL, "REFSCALE", run.reference_rescaled ? 1 : 0,
                    "reference min-max scaled to [0, 1]");
  }
  const long long n = static_cast<long long>(images.size());
  fits_write_img(f, TFLOAT, 1, n, const_cast<float*>(images.data()), &status);
  fits_check(status, path);

  // One row per image: which prompt and which seed made it.
  char* names[] = {const_cast<char*>("IMAGE"), const_cast<char*>("PROMPT_INDEX"),
                   const_cast<char*>("PROMPT"), const_cast<char*>("SEED")};
  size_t longest = 1;
  for (const std::string& p : run.prompts) longest = std::max(longest, p.size());
  const std::string prompt_form = std::to_string(longest) + "A";
  char* forms[] = {const_cast<char*>("K"), const_cast<char*>("K"),
                   const_cast<char*>(prompt_form.c_str()), const_cast<char*>("K")};
  fits_create_tbl(f, BINARY_TBL, 0, 4, names, forms, nullptr, "IMAGES", &status);
  fits_check(status, path);
  for (int64_t i = 0; i < shape[0]; ++i) {
    long long image = i, prompt = i / o.n_per_prompt,
              seed = static_cast<long long>(run.seed + static_cast<uint64_t>(i));
    char* text = const_cast<char*>(run.prompts[static_cast<size_t>(prompt)].c_str());
    fits_write_col(f, TLONGLONG, 1, i + 1, 1, 1, &image, &status);
    fits_write_col(f, TLONGLONG, 2, i + 1, 1, 1, &prompt, &status);
    fits_write_col(f, TSTRING, 3, i + 1, 1, 1, &text, &status);
    fits_write_col(f, TLONGLONG, 4, i + 1, 1, 1, &seed, &status);
  }
  fits_check(status, path);
  fits_close_file(out.f, &status);
  out.f = nullptr;
  fits_check(status, path);
  if (std::rename(out.path.c_str(), path.c_str()) != 0) die("cannot rename onto " + path);
  out.keep = true;
}

void write_synth_png(const std::string& path, const std::vector<float>& images,
                     const int64_t shape[4], const SynthRun& run) {
  const int64_t n = shape[0], c = shape[1], h = shape[2], w = shape[3];
  const int64_t per_prompt = run.options.n_per_prompt;
  const int cols = static_cast<int>(std::min<int64_t>(per_prompt, 8));
  const int rows = static_cast<int>(run.prompts.size());
  const int cell = static_cast<int>(std::clamp<int64_t>(std::max(h, w), 96, 256));
  Figure fig(cols * (cell + 8) + 8, rows * (cell + 24) + 40);
  std::string title;
  for (const std::string& p : run.prompts) title += (title.empty() ? "" : " | ") + p;
  if (title.size() > 90) title = title.substr(0, 87) + "...";
  fig.title(title + " (" + run.scheduler + ", " + std::to_string(run.options.steps) + " steps)");
  const size_t image = static_cast<size_t>(c * h * w);
  for (int r = 0; r < rows; ++r) {
    for (int k = 0; k < cols; ++k) {
      const int64_t i = r * per_prompt + k;
      if (i >= n) continue;
      Panel p = fig.panel(rows, cols, r, k);
      std::vector<float> pixels(images.begin() + static_cast<std::ptrdiff_t>(i * image),
                                images.begin() + static_cast<std::ptrdiff_t>((i + 1) * image));
      p.image(pixels, static_cast<int>(w), static_cast<int>(h), static_cast<int>(c), 0.0, 1.0);
      p.set_labels("", "", "seed " + std::to_string(run.seed + static_cast<uint64_t>(i)));
    }
  }
  fig.save(path);
}

void write_image_set_png(const std::string& fits_path, const std::string& png_path,
                         int max_images) {
  fitsfile* f = nullptr;
  int status = 0;
  auto read_check = [&](const std::string& what) {
    if (status == 0) return;
    char text[FLEN_STATUS];
    fits_get_errstatus(status, text);
    die("reading " + fits_path + " (" + what + "): CFITSIO " + text);
  };
  fits_open_file(&f, fits_path.c_str(), READONLY, &status);
  read_check("open");
  int naxis = 0;
  long naxes[4] = {1, 1, 1, 1};
  fits_get_img_dim(f, &naxis, &status);
  fits_get_img_size(f, 4, naxes, &status);
  read_check("cube");
  const long w = naxes[0], h = naxes[1], bands = naxis == 4 ? naxes[2] : 1;
  const long n = std::min<long>(naxis == 4 ? naxes[3] : naxes[2], max_images);
  std::vector<float> cube(static_cast<size_t>(w * h * bands * n));
  long first[4] = {1, 1, 1, 1};
  fits_read_pix(f, TFLOAT, first, static_cast<LONGLONG>(cube.size()), nullptr, cube.data(), nullptr,
                &status);
  read_check("pixels");
  fits_movnam_hdu(f, BINARY_TBL, const_cast<char*>("GALAXIES"), 0, &status);
  int column = 0;
  fits_get_colnum(f, CASEINSEN, const_cast<char*>("CAPTION"), &column, &status);
  long repeat = 0, width = 0;
  int type = 0;
  fits_get_coltype(f, column, &type, &repeat, &width, &status);
  read_check("captions");
  std::vector<std::string> captions;
  std::vector<char> text(static_cast<size_t>(repeat) + 1);
  for (long i = 0; i < n; ++i) {
    char* cell = text.data();
    fits_read_col(f, TSTRING, column, i + 1, 1, 1, nullptr, &cell, nullptr, &status);
    captions.emplace_back(cell);
  }
  read_check("captions");
  fits_close_file(f, &status);

  // Per band: the sky noise (from the median absolute deviation) softens
  // the stretch, the 99.5th percentile is white.
  const size_t plane = static_cast<size_t>(w * h);
  std::vector<double> soft(static_cast<size_t>(bands)), top(static_cast<size_t>(bands));
  for (long b = 0; b < bands; ++b) {
    std::vector<float> v;
    for (long i = 0; i < n; ++i) {
      const float* p = cube.data() + (static_cast<size_t>(i * bands + b)) * plane;
      v.insert(v.end(), p, p + plane);
    }
    std::vector<float> sorted = v;
    std::sort(sorted.begin(), sorted.end());
    const double median = sorted[sorted.size() / 2];
    for (float& x : v) x = static_cast<float>(std::fabs(x - median));
    std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2), v.end());
    soft[static_cast<size_t>(b)] = std::max(1e-12, 1.4826 * v[v.size() / 2]);
    top[static_cast<size_t>(b)] =
        std::max(10.0 * soft[static_cast<size_t>(b)],
                 static_cast<double>(sorted[static_cast<size_t>(0.995 * (sorted.size() - 1))]));
  }
  const int cols = static_cast<int>(std::min<long>(n, 8));
  const int rows = static_cast<int>((n + cols - 1) / cols);
  // Square images: Figure::panel() keeps 62 px of each cell's width and
  // 44 px of its height for margins.
  const int cell = static_cast<int>(std::clamp<long>(2 * std::max(w, h), 128, 192));
  Figure fig(cols * (cell + 62), 30 + rows * (cell + 44));
  const size_t title_chars = static_cast<size_t>(cell + 40) / 6;
  fig.title(fits_path);
  for (long i = 0; i < n; ++i) {
    std::vector<float> rgb(3 * plane);
    for (int c = 0; c < 3; ++c) {
      // Red is the reddest band: bands are stored bluest first.
      const long b = bands >= 3 ? bands - 1 - c : 0;
      const float* p = cube.data() + static_cast<size_t>(i * bands + b) * plane;
      const double s = soft[static_cast<size_t>(b)];
      const double range = std::asinh(top[static_cast<size_t>(b)] / s);
      for (long y = 0; y < h; ++y)  // FITS row 1 is the bottom
        for (long x = 0; x < w; ++x)
          rgb[static_cast<size_t>(c) * plane + static_cast<size_t>(y * w + x)] = static_cast<float>(
              std::asinh(p[static_cast<size_t>((h - 1 - y) * w + x)] / s) / range);
    }
    Panel panel = fig.panel(rows, cols, static_cast<int>(i / cols), static_cast<int>(i % cols));
    panel.image(rgb, static_cast<int>(w), static_cast<int>(h), 3, 0.0, 1.0);
    std::string title = captions[static_cast<size_t>(i)];
    if (title.rfind("procedural, ", 0) == 0) title = title.substr(12);
    if (title.size() > title_chars) title = title.substr(0, title_chars - 2) + "..";
    panel.set_labels("", "", title);
  }
  fig.save(png_path);
}

}  // namespace gml_tools

// gml-synth: GalaxySD-style synthesis of galaxy images on a Stable Diffusion
// 1.x checkpoint (a diffusers folder or a galaxyml model file).
//
//   gml-synth convert galaxysd/ --out galaxysd.h5
//   gml-synth sample --model galaxysd.h5 --prompt "a {barred:1.2} spiral galaxy" --n 16
//       --scheduler euler_a --steps 40 --guidance 6.5 --out synth.fits
//   gml-synth sample --model galaxysd/ --prompt "..." --ref gz2.fits --strength 0.6 --out s.fits
//   gml-synth tokens --model galaxysd.h5 --prompt "a {barred:1.2} spiral galaxy"
//   gml-synth procedural --n 4000 --tags "disk, spiral" --out spirals.fits
#include <boost/program_options.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "cli.h"
#include "commands.h"
#include "options.h"
#include "outputs.h"
#include "synth_outputs.h"

namespace po = boost::program_options;
using namespace gml_tools;

namespace {

// Diffusion runs on the CPU in this version: "auto" must not pick a GPU
// the model would then refuse.
std::string synth_device(const std::string& device) {
  return device == "auto" ? "cpu" : device;
}

int cmd_convert(int argc, char** argv) {
  Common c;
  std::string dir, out;
  po::options_description d("gml-synth convert");
  add_common(d, c);
  d.add_options()("dir", po::value(&dir)->required(), "diffusers pipeline folder")(
      "out,o", po::value(&out)->required(), "galaxyml model file to write (.h5)");
  if (!parse(argc, argv, d,
             "Writes a diffusers Stable Diffusion 1.x folder as one galaxyml model file "
             "(float32 weights, tokenizer and configs inside, checksummed).\n"
             "usage: gml-synth convert --dir DIR --out model.h5"))
    return 0;
  require_output_file(out, {dir}, "--out", c.overwrite);
  check(gml_diffusion_convert(dir.c_str(), out.c_str()), "convert");
  gml_model_info info;
  info.struct_size = sizeof info;
  check(gml_model_file_inspect(out.c_str(), "diffusion", &info), "written model");
  if (!c.quiet)
    std::fprintf(stderr, "wrote %s (%lld parameters, %s)\n", out.c_str(),
                 static_cast<long long>(info.n_parameters), info.checksum);
  return 0;
}

// A reference cube scaled to [0, 1] where it lies outside: survey images
// are fluxes, the VAE reads pixel values.
ReferenceImages read_reference(const std::string& path) {
  ReferenceImages ref;
  int64_t shape[4];
  check(gml_cutouts_read_shape(path.c_str(), shape), "--ref");
  ref.n = shape[0];
  ref.c = shape[1];
  ref.h = shape[2];
  ref.w = shape[3];
  ref.pixels.resize(static_cast<size_t>(ref.n * ref.c * ref.h * ref.w));
  check(gml_cutouts_read(path.c_str(), ref.pixels.data(), ref.pixels.size()), "--ref");
  const size_t per_image = static_cast<size_t>(ref.c * ref.h * ref.w);
  for (int64_t i = 0; i < ref.n; ++i) {
    float* p = ref.pixels.data() + static_cast<size_t>(i) * per_image;
    float lo = INFINITY, hi = -INFINITY;
    for (size_t k = 0; k < per_image; ++k) {
      if (!std::isfinite(p[k]))
        die("--ref '" + path + "': image " + std::to_string(i) + " holds NaN or infinite pixels");
      lo = std::min(lo, p[k]);
      hi = std::max(hi, p[k]);
    }
    if (lo >= 0.0f && hi <= 1.0f) continue;
    ref.rescaled = true;
    const float span = hi > lo ? hi - lo : 1.0f;
    for (size_t k = 0; k < per_image; ++k) p[k] = (p[k] - lo) / span;
  }
  return ref;
}

int cmd_sample(int argc, char** argv) {
  Common c;
  SynthRun run;
  std::string model_path, out, png, ref_path;
  std::vector<std::string> prompts;
  gml_diffusion_options o;
  gml_diffusion_options_default(&o);
  po::options_description d("gml-synth sample");
  add_common(d, c);
  d.add_options()("model,m", po::value(&model_path)->required(),
                  "diffusers folder or galaxyml diffusion model file")(
      "prompt,p", po::value(&prompts)->required(),
      "prompt; \"{tag:w}\" weights a tag (GalaxySD's Eq. 4); repeat for several")(
      "negative", po::value(&run.negative_prompt), "negative prompt")(
      "n", po::value(&o.n_per_prompt)->default_value(o.n_per_prompt), "images per prompt")(
      "height", po::value(&o.height)->default_value(0), "pixels, a multiple of 8 (0: the model's)")(
      "width", po::value(&o.width)->default_value(0), "pixels, a multiple of 8 (0: the model's)")(
      "steps", po::value(&o.steps)->default_value(o.steps), "denoising steps")(
      "scheduler", po::value(&run.scheduler)->default_value("euler_a"),
      "euler_a, euler, ddim, dpmpp_2m, dpmpp_2m_karras, ddpm or pndm")(
      "guidance", po::value(&o.guidance)->default_value(o.guidance), "classifier-free guidance")(
      "eta", po::value(&o.eta)->default_value(o.eta), "DDIM's eta")(
      "batch", po::value(&o.batch_size)->default_value(o.batch_size), "images per network batch")(
      "precision", po::value(&run.precision)->default_value("float32"),
      "dtype of the UNet and VAE: float32, bfloat16 or float16")(
      "channels-last", "convolutions in channels-last memory layout")(
      "restore-mean", "after weighting, restore the prompt embedding's mean (web-UI style)")(
      "ref", po::value(&ref_path),
      "img2img reference: a FITS image or cube (1 or N images; scaled to [0, 1] when outside)")(
      "strength", po::value(&o.strength)->default_value(o.strength),
      "img2img: how far the reference is noised, in [0, 1]")(
      "out,o", po::value(&out)->required(), "FITS cube to write [N, C, H, W] in [0, 1]")(
      "png", po::value(&png), "PNG grid of the images (default: --out with .png)");
  if (!parse(argc, argv, d, "Generates galaxy images from text prompts.")) return 0;
  for (int i = 0; i < argc; ++i) {
    if (std::string(argv[i]) == "--restore-mean") o.restore_mean = 1;
    if (std::string(argv[i]) == "--channels-last") o.channels_last = 1;
  }
  if (png.empty()) png = replace_extension(out, ".png");
  require_output_file(out, {model_path, ref_path}, "--out", c.overwrite);
  require_output_file(png, {model_path, ref_path, out}, "--png", c.overwrite);

  ReferenceImages ref;
  if (!ref_path.empty()) {
    ref = read_reference(ref_path);
    if (o.height == 0) o.height = ref.h;
    if (o.width == 0) o.width = ref.w;
  }
  // A seed is always recorded: without --seed one is drawn here, so the
  // header can reproduce the images.
  if (c.seed == 0) c.seed = (static_cast<uint64_t>(std::random_device{}()) << 20) + 1;
  Session s(synth_device(c.device), c.threads, c.seed, c.quiet);
  gml_model* model = nullptr;
  check(gml_model_load(s.ctx, model_path.c_str(), "diffusion", &model), "--model");
  o.scheduler = run.scheduler.c_str();
  o.precision = run.precision.c_str();
  o.negative_prompt = run.negative_prompt.c_str();
  o.seed = c.seed;
  std::vector<const char*> prompt_ptrs;
  for (const std::string& p : prompts) prompt_ptrs.push_back(p.c_str());
  const int64_t n_prompts = static_cast<int64_t>(prompt_ptrs.size());
  int64_t shape[4];
  check(gml_diffusion_image_shape(model, &o, n_prompts, shape), "sample");
  std::vector<float> images(static_cast<size_t>(shape[0] * shape[1] * shape[2] * shape[3]));
  if (ref_path.empty()) {
    check(gml_diffusion_txt2img(s.ctx, model, prompt_ptrs.data(), n_prompts, &o, images.data(),
                                images.size()),
          "sample");
  } else {
    check(gml_diffusion_img2img(s.ctx, model, prompt_ptrs.data(), n_prompts, ref.pixels.data(),
                                ref.n, ref.c, ref.h, ref.w, &o, images.data(), images.size()),
          "sample");
  }
  s.bar.close();

  run.prompts = prompts;
  run.options = o;
  run.model_path = model_path;
  run.reference_path = ref_path;
  run.reference_rescaled = ref.rescaled;
  run.seed = c.seed;
  run.model_description = describe_model(model);
  gml_model_free(model);
  write_synth_fits(out, images, shape, run);
  write_synth_png(png, images, shape, run);
  if (!c.quiet)
    std::fprintf(stderr, "wrote %lld images of %lld x %lld to %s and %s\n",
                 static_cast<long long>(shape[0]), static_cast<long long>(shape[2]),
                 static_cast<long long>(shape[3]), out.c_str(), png.c_str());
  return 0;
}

int cmd_tokens(int argc, char** argv) {
  Common c;
  std::string model_path, prompt;
  po::options_description d("gml-synth tokens");
  add_common(d, c);
  d.add_options()("model,m", po::value(&model_path)->required(), "diffusion model")(
      "prompt,p", po::value(&prompt)->required(), "prompt");
  if (!parse(argc, argv, d, "Prints the token ids and Eq. 4 weights the text encoder reads."))
    return 0;
  Session s(synth_device(c.device), c.threads, c.seed, c.quiet);
  gml_model* model = nullptr;
  check(gml_model_load(s.ctx, model_path.c_str(), "diffusion", &model), "--model");
  size_t length = 0;
  check(gml_diffusion_tokenize(model, prompt.c_str(), nullptr, nullptr, 0, &length), "tokens");
  std::vector<int64_t> ids(length);
  std::vector<float> weights(length);
  check(gml_diffusion_tokenize(model, prompt.c_str(), ids.data(), weights.data(), length, &length),
        "tokens");
  gml_model_free(model);
  std::printf("position\tid\tweight\n");
  for (size_t i = 0; i < length; ++i) {
    std::printf("%zu\t%lld\t%g\n", i, static_cast<long long>(ids[i]), weights[i]);
    if (i > 0 && ids[i] == ids[length - 1] && i + 1 < length && ids[i + 1] == ids[i]) {
      std::printf("...\t(padding to %zu)\n", length);
      break;
    }
  }
  return 0;
}

int cmd_procedural(int argc, char** argv) {
  Common c;
  std::string tags, out, png;
  int64_t n = 0;
  gml_diffusion_procedural_options o;
  gml_diffusion_procedural_options_default(&o);
  po::options_description d("gml-synth procedural");
  add_common(d, c);
  d.add_options()("n", po::value(&n)->required(), "galaxies to draw")(
      "tags", po::value(&tags),
      "morphology every galaxy must have, comma-separated (e.g. \"disk, 2 arms, bar\"); "
      "default: all drawn from the mix")("size", po::value(&o.size)->default_value(o.size),
                                         "pixels per side")(
      "pixel-scale", po::value(&o.pixel_scale)->default_value(o.pixel_scale), "arcsec per pixel")(
      "mag-min", po::value(&o.magnitude_min)->default_value(o.magnitude_min),
      "brightest total r magnitude")("mag-max",
                                     po::value(&o.magnitude_max)->default_value(o.magnitude_max),
                                     "faintest total r magnitude")(
      "p-dust-lane-smooth", po::value(&o.p_dust_lane_smooth)->default_value(o.p_dust_lane_smooth),
      "probability of a dust lane on a smooth galaxy (0 holds the rare combination out)")(
      "first", po::value(&o.first)->default_value(o.first),
      "index of the first galaxy (galaxy i is drawn from seed + i)")("no-noise",
                                                                     "noiseless images")(
      "out,o", po::value(&out)->required(),
      "galaxy image set to write: FITS cube in nanomaggies and a GALAXIES caption table")(
      "png", po::value(&png), "PNG grid of the first 48 (default: --out with .png)");
  if (!parse(argc, argv, d,
             "Draws procedural galaxies (SDSS g, r, i; docs/synthesis.md) with their "
             "morphology captions, to train or test a synthesis model.\n"
             "usage: gml-synth procedural --n 1000 [--tags \"edge-on disk, dust lane\"] --out "
             "set.fits"))
    return 0;
  for (int i = 0; i < argc; ++i)
    if (std::string(argv[i]) == "--no-noise") o.noise = 0;
  if (png.empty()) png = replace_extension(out, ".png");
  require_output_file(out, {}, "--out", c.overwrite);
  require_output_file(png, {out}, "--png", c.overwrite);
  // A seed is always recorded, as for sample.
  if (c.seed == 0) c.seed = (static_cast<uint64_t>(std::random_device{}()) << 20) + 1;
  Session s(synth_device(c.device), c.threads, c.seed, c.quiet);
  o.seed = c.seed;
  check(gml_diffusion_procedural_galaxies(s.ctx, tags.empty() ? nullptr : tags.c_str(), n, &o,
                                          out.c_str()),
        "procedural");
  s.bar.close();
  write_image_set_png(out, png, 48);
  if (!c.quiet)
    std::fprintf(stderr, "wrote %lld galaxies of %lld x %lld (seed %llu) to %s and %s\n",
                 static_cast<long long>(n), static_cast<long long>(o.size),
                 static_cast<long long>(o.size), static_cast<unsigned long long>(c.seed),
                 out.c_str(), png.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  g_tool_name = "gml-synth";
  const Tool tool{
      "gml-synth",
      "GalaxySD-style text-to-image and img2img synthesis of galaxy images on Stable Diffusion "
      "1.x checkpoints.",
      {{"convert", "a diffusers folder as one galaxyml model file", cmd_convert},
       {"sample", "images from prompts: a FITS cube with provenance and a PNG grid", cmd_sample},
       {"tokens", "the tokens and weights of a prompt", cmd_tokens},
       {"procedural", "procedural galaxies with morphology captions: a training set",
        cmd_procedural}}};
  return dispatch(tool, argc, argv);
}

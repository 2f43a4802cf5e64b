/*
 * galaxyml/diffusion.h — the diffusion family (GalaxySD): text-conditioned
 * synthesis of galaxy images on a Stable Diffusion 1.x engine.
 *
 * Part of the galaxyml C ABI. galaxyml/galaxyml.h includes it, and it may be
 * included alone: it includes galaxyml/galaxyml.h, whose conventions (status,
 * memory, strings, arrays, options, seeds, devices, threads, handles) hold
 * for every function here.
 *
 *     gml_model* sd = NULL;
 *     gml_diffusion_options o;
 *     int64_t shape[4];
 *     const char* prompt = "a {barred:1.2} spiral galaxy, face-on";
 *
 *     gml_model_load(ctx, "galaxysd/", NULL, &sd);      // diffusers folder
 *     gml_diffusion_options_default(&o);
 *     o.height = o.width = 424;                           // GalaxySD's size
 *     o.guidance = 6.5;
 *     gml_diffusion_image_shape(sd, &o, 1, shape);        // [N, C, H, W]
 *     float* images = malloc(shape[0] * shape[1] * shape[2] * shape[3] * 4);
 *     gml_diffusion_txt2img(ctx, sd, &prompt, 1, &o, images,
 *                           shape[0] * shape[1] * shape[2] * shape[3]);
 */
#ifndef GALAXYML_DIFFUSION_H
#define GALAXYML_DIFFUSION_H

#include "galaxyml/galaxyml.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * A diffusion model is a Stable Diffusion 1.x checkpoint: a CLIP text
 * encoder and its BPE tokenizer, a UNet2DConditionModel, an AutoencoderKL
 * and a scheduler config, as diffusers lays them out. gml_model_load()
 * reads either
 *   - a diffusers pipeline folder (model_index.json, unet/, vae/,
 *     text_encoder/, tokenizer/, scheduler/; weights as .safetensors in
 *     float32, float16 or bfloat16), e.g. GalaxySD's published fine-tune or
 *     Stable Diffusion 1.5 itself, or
 *   - a galaxyml model file of family "diffusion" written by
 *     gml_diffusion_convert().
 * Both load the same way and make the same images; the checksum that
 * gml_diffusion_describe() reports is the one the converted file carries
 * (a folder's is computed on the first such call, as it reads every
 * weight: seconds for SD-1.5). Computation is on the
 * CPU (a context on another device is refused with GML_ERR_DEVICE at load),
 * in float32 unless the options ask for bfloat16 or float16. Images are float32 in [0, 1], C-order
 * [N, C, H, W] (C = 3 for RGB checkpoints).
 *
 * Thread-safety: a model may be used from several threads at once, each
 * with its own context; progress and gml_cancel() act on the context.
 *
 * Prompts may weight tags as GalaxySD does (its Eq. 4): "{tag:w}" scales
 * the contextual embeddings of the tag's tokens by w in (0, 4] before
 * cross-attention; groups nest and their weights multiply; "\{", "\}",
 * "\:" and "\\" are the characters themselves.
 */

/** Options of gml_diffusion_txt2img() and gml_diffusion_img2img(). */
typedef struct gml_diffusion_options {
  uint32_t struct_size; /**< sizeof(gml_diffusion_options) */
  /** What guidance steers away from ("{tag:w}" allowed); NULL (default):
      the empty prompt. Borrowed during the call. */
  const char* negative_prompt;
  int64_t n_per_prompt; /**< images per prompt; default 1 */
  int64_t height;       /**< pixels, a multiple of 8; 0 (default): the
                             model's native size (512 for SD-1.5) */
  int64_t width;        /**< as height */
  int64_t steps;        /**< denoising steps; default 40 */
  /** "euler_a" (NULL, the default: GalaxySD's), "euler", "ddim",
      "dpmpp_2m", "dpmpp_2m_karras", "ddpm", "pndm"; the noise schedule is
      the checkpoint's scheduler config, read as diffusers' from_config
      reads it. Borrowed during the call. */
  const char* scheduler;
  double guidance;      /**< classifier-free guidance scale; default 7.5;
                             <= 1 runs without guidance */
  double eta;           /**< DDIM's share of fresh noise in [0, 1]; default 0 */
  double strength;      /**< img2img: how far the reference is noised, in
                             [0, 1]; default 0.8 */
  uint64_t seed;        /**< 0: the context's seed. Image i of a call is
                             drawn from seed + i alone, whatever n and
                             batch_size are */
  int64_t batch_size;   /**< images per network batch (memory grows with
                             it, the images do not change); default 1 */
  int32_t restore_mean; /**< non-zero: after Eq. 4 weighting, rescale the
                             prompt's embedding to its unweighted mean (as
                             common web UIs do); default 0 */
  /** The dtype the UNet and VAE compute in: "float32" (NULL, the default),
      "bfloat16" or "float16". The first call with another dtype converts a
      copy of the UNet and VAE, kept with the model (a 16-bit copy adds half
      the float32 weights' memory). The text encoder, the scheduler and the
      latents between steps stay float32. Images differ from float32's by
      the 16-bit rounding (about 1e-2 in [0, 1]). Borrowed during the call. */
  const char* precision;
  /** non-zero: the convolutions run in channels-last memory layout, faster
      on some CPUs and GPUs (a converted copy, as for precision); images
      equal the default layout's to float32 rounding. Default 0. */
  int32_t channels_last;
} gml_diffusion_options;

/** Fills opts with the defaults above. NULL is a no-op. */
GML_API void gml_diffusion_options_default(gml_diffusion_options* opts);

/**
 * The shape of the images a call will make.
 * Given:    model (family "diffusion"); opts (NULL: defaults); n_prompts >= 1.
 * Returned: shape  [4]: N = n_prompts * n_per_prompt, C, H, W (for img2img
 *           with a height or width of 0 in opts, use the reference's).
 * Errors:   GML_ERR_INVALID_ARGUMENT (NULL, sizes not multiples of 8,
 *           n_per_prompt < 1, an image count that overflows),
 *           GML_ERR_FAMILY.
 * Thread-safety: any thread.
 */
GML_API gml_status gml_diffusion_image_shape(const gml_model* model,
                                             const gml_diffusion_options* opts, int64_t n_prompts,
                                             int64_t* shape);

/**
 * Text-to-image: n_per_prompt images for each prompt, in prompt order.
 * Given:    ctx (device, progress in steps, cancel); model; prompts
 *           [n_prompts] UTF-8 strings; opts (NULL: defaults);
 *           capacity  floats available in images.
 * Returned: images  [N, C, H, W] float32 in [0, 1] (gml_diffusion_image_shape()).
 * Errors:   GML_ERR_INVALID_ARGUMENT (NULL, a prompt the weight parser
 *           refuses: the message names the position, an unknown scheduler
 *           or precision, steps < 1, sizes not multiples of 8), GML_ERR_CAPACITY (the
 *           message states the floats needed), GML_ERR_FAMILY,
 *           GML_ERR_DEVICE, GML_ERR_CANCELLED.
 * Memory:   one batch of images at a time; on an error after the first
 *           batch, the start of images may hold finished images.
 * Progress: the context's progress callback counts denoising steps over
 *           all batches (N / batch_size * steps, fewer for img2img).
 */
GML_API gml_status gml_diffusion_txt2img(gml_context* ctx, const gml_model* model,
                                         const char* const* prompts, int64_t n_prompts,
                                         const gml_diffusion_options* opts, float* images,
                                         size_t capacity);

/**
 * img2img (GalaxySD's remedy for over-bright images): each image starts
 * from the reference encoded by the VAE and noised to opts->strength, and
 * runs the last int(steps * strength) steps, as diffusers' img2img does.
 * Given:    as gml_diffusion_txt2img(), plus
 *           reference  [n_reference, channels, height, width] float32 in
 *           [0, 1]; n_reference 1 (one reference for every image) or N (one
 *           per image); channels the model's (3 for RGB); height and width
 *           the output's (opts->height and width of 0 take the reference's).
 * Errors:   as gml_diffusion_txt2img(), plus GML_ERR_INVALID_ARGUMENT for
 *           strength outside [0, 1] or leaving no step, a reference of the
 *           wrong count, band count or size, or NaN/Inf in it.
 */
GML_API gml_status gml_diffusion_img2img(gml_context* ctx, const gml_model* model,
                                         const char* const* prompts, int64_t n_prompts,
                                         const float* reference, int64_t n_reference,
                                         int64_t channels, int64_t height, int64_t width,
                                         const gml_diffusion_options* opts, float* images,
                                         size_t capacity);

/**
 * The tokens the text encoder sees for a prompt, for inspection: CLIP BPE
 * ids with start, end and padding tokens (77 for SD-1.x), and the Eq. 4
 * weight of each.
 * Given:    model; prompt (UTF-8, "{tag:w}" syntax); capacity  elements in
 *           ids and in weights.
 * Returned: ids  [length] int64; weights  [length] float32 (either may be
 *           NULL); length  the encoder's context length.
 * Errors:   GML_ERR_INVALID_ARGUMENT (NULL prompt or length, a prompt the
 *           parser refuses, invalid UTF-8), GML_ERR_CAPACITY (capacity below
 *           the context length, with ids or weights given), GML_ERR_FAMILY.
 * Thread-safety: any thread.
 */
GML_API gml_status gml_diffusion_tokenize(const gml_model* model, const char* prompt, int64_t* ids,
                                          float* weights, size_t capacity, size_t* length);

/**
 * The conditioning a prompt gives the UNet (the text encoder's output after
 * Eq. 4 weighting).
 * Given:    ctx; model; prompt; restore_mean (as the option);
 *           capacity  floats available in embedding.
 * Returned: embedding  [n_tokens, width] float32 (NULL: only the sizes);
 *           n_tokens, width (either may be NULL).
 * Errors:   as gml_diffusion_tokenize(), plus GML_ERR_DEVICE, GML_ERR_CAPACITY.
 */
GML_API gml_status gml_diffusion_encode_prompt(gml_context* ctx, const gml_model* model,
                                               const char* prompt, int32_t restore_mean,
                                               float* embedding, size_t capacity, int64_t* n_tokens,
                                               int64_t* width);

/**
 * Writes a diffusers pipeline folder as one galaxyml model file (family
 * "diffusion", float32 weights, the tokenizer and configs inside, a
 * checksum), which gml_model_load() reads like the folder.
 * Given:    diffusers_dir; out_path (written atomically: on any error no
 *           file is left). Every part is read and checked before writing.
 * Errors:   GML_ERR_INVALID_ARGUMENT, GML_ERR_NOT_FOUND (a missing part or
 *           file), GML_ERR_FORMAT (a checkpoint this engine does not run:
 *           the message names the file and key), GML_ERR_IO.
 */
GML_API gml_status gml_diffusion_convert(const char* diffusers_dir, const char* out_path);

/**
 * A loaded diffusion model as JSON: where it came from, its parts' main
 * dimensions, the scheduler config and the native image size.
 * Strings-out convention.
 */
GML_API gml_status gml_diffusion_describe(const gml_model* model, char* buf, size_t capacity,
                                          size_t* length);

/*
 * Procedural galaxies: survey cutouts from a documented generator
 * (docs/synthesis.md), each captioned with its morphology in Galaxy Zoo 2
 * style tags, to train and test synthesis models with no downloads. Images
 * are in nanomaggies per pixel, band by band, with a Moffat PSF and sky and
 * shot noise per band.
 */

/** Options of gml_diffusion_procedural_galaxies(). */
typedef struct gml_diffusion_procedural_options {
  uint32_t struct_size; /**< sizeof(gml_diffusion_procedural_options) */
  int64_t size;         /**< pixels per side, 16..1024; default 64 */
  double pixel_scale;   /**< arcsec per pixel; default 0.396 (SDSS) */
  /** Bands: 0 (default) for SDSS g, r, i (median seeing, the sky noise of
      the survey's point-source depths); otherwise the length of the
      band_* arrays below, which are then required (band_electrons may stay
      NULL: no shot noise). Borrowed during the call. */
  int32_t n_bands;
  const char* band_names;           /**< comma-separated, n_bands names */
  const double* band_wavelength;    /**< [n_bands] effective wavelength, Angstrom */
  const double* band_psf_fwhm;      /**< [n_bands] Moffat FWHM, arcsec (0: none) */
  const double* band_sky_sigma;     /**< [n_bands] sky noise per pixel, nanomaggies */
  const double* band_electrons;     /**< [n_bands] electrons per nanomaggy, or NULL */
  double reference_wavelength;      /**< where magnitudes apply; default 6231 (r) */
  double magnitude_min;             /**< total AB magnitudes drawn uniformly in */
  double magnitude_max;             /**<   [min, max]; default 14.5, 17.5 */
  int32_t oversample;               /**< sub-pixels per side, 1..8; default 3 */
  double moffat_beta;               /**< PSF wings; default 3.5 */
  int32_t noise;                    /**< non-zero (default): add noise */
  /** Class weights where the tags leave the class open (need not sum to
      one); defaults 0.35, 0.15, 0.40, 0.10. */
  double mix_smooth, mix_edge_on_disk, mix_disk, mix_merger;
  /** Probabilities where the tags leave an answer open. p_dust_lane_smooth
      (default 0.05) is GalaxySD's rare combination: 0 holds it out of a
      training set. Defaults: edge-on dust lane 0.4, spiral 0.8, bar 0.35,
      ring 0.15. */
  double p_dust_lane_smooth, p_dust_lane_edge_on, p_spiral, p_bar, p_ring;
  uint64_t seed; /**< 0 (default): the context's. Galaxy i of a run is drawn
                      from seed + i alone */
  int64_t first; /**< index of the first galaxy; default 0 (a run can be
                      continued or split across processes) */
} gml_diffusion_procedural_options;

/** Fills opts with the defaults above. NULL is a no-op. */
GML_API void gml_diffusion_procedural_options_default(gml_diffusion_procedural_options* opts);

/**
 * Draws procedural galaxies and writes them as a galaxy image set: a FITS
 * file with the float32 cube (numpy shape (N, bands, size, size),
 * BUNIT = 'nanomaggy', BANDn, PIXSCALE and the options in the header) and
 * a 'GALAXIES' table (CAPTION, CLASS, MAG, CENTER_X, CENTER_Y, PA, RE,
 * AXIS_RATIO, SERSIC_N, BULGE_FRAC, PITCH, DUST_TAU), one row per image.
 * The file appears atomically; an existing file is replaced.
 * Given:    ctx       progress ("procedural", galaxies) and cancellation.
 *           tags      comma-separated morphology the galaxies must have,
 *                     e.g. "disk, spiral, 2 arms, bar"; NULL or "" leaves
 *                     everything to the mix. Borrowed during the call.
 *           n_galaxies  galaxies, 1..10^7.
 *           opts      NULL for defaults.
 *           out_path  FITS file to create.
 * Errors:   GML_ERR_INVALID_ARGUMENT  ctx or out_path NULL; an unknown tag
 *                                     (the message names the nearest and
 *                                     lists the vocabulary); two tags that
 *                                     exclude each other; a bad option
 *                                     (named).
 *           GML_ERR_IO                the file cannot be written.
 *           GML_ERR_CANCELLED         cancelled; no file is left.
 * Memory:   the whole cube (n_galaxies x bands x size^2 floats) is held until
 *           written.
 */
GML_API gml_status gml_diffusion_procedural_galaxies(gml_context* ctx, const char* tags,
                                                     int64_t n_galaxies,
                                                     const gml_diffusion_procedural_options* opts,
                                                     const char* out_path);

#ifdef __cplusplus
}
#endif

#endif /* GALAXYML_DIFFUSION_H */

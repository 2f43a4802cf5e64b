"""The diffusion family (GalaxySD): text-conditioned galaxy images.

    sd = ctx.load_model("galaxysd/")          # a diffusers folder or a converted file
    images = sd.txt2img(["a {barred:1.2} spiral galaxy, face-on"], steps=30,
                        height=424, width=424, guidance=6.5, seed=1)
    # images: (n, 3, H, W) float32 in [0, 1]

Options are the fields of gml_diffusion_options as keywords
(negative_prompt, n_per_prompt, height, width, steps, scheduler, guidance,
eta, strength, seed, batch_size, restore_mean, precision, channels_last).
Reference images of img2img are float32 (n_reference, channels, H, W);
float64 is refused (pass .astype(np.float32)).
"""
import ctypes
import json

import numpy as np

from ._arrays import as_input, empty, ptr
from ._lib import check, encode, lib, text_out
from .context import Model, _FAMILY_CLASSES, default_options


def _prompts(prompts):
    if isinstance(prompts, (str, bytes)):
        prompts = [prompts]
    encoded = [encode(p) for p in prompts]
    if not encoded:
        raise ValueError("prompts must not be empty")
    return encoded, (ctypes.c_char_p * len(encoded))(*encoded)


class DiffusionModel(Model):
    """A Stable Diffusion 1.x checkpoint (diffusers folder or converted)."""

    def describe(self):
        """Origin, parts' dimensions, scheduler config and native size."""
        return json.loads(text_out(lib.gml_diffusion_describe, self.handle))

    def _options(self, options, keep):
        return default_options("gml_diffusion_options", options, keep)

    def image_shape(self, n_prompts=1, **options):
        """(N, C, H, W) of the images a call with these options makes."""
        keep = []
        o = self._options(options, keep)
        shape = (ctypes.c_int64 * 4)()
        check(lib.gml_diffusion_image_shape(self.handle, ctypes.byref(o), n_prompts, shape))
        return tuple(shape)

    def txt2img(self, prompts, **options):
        """n_per_prompt images per prompt, in prompt order: (N, C, H, W)
        float32 in [0, 1]."""
        encoded, arr = _prompts(prompts)
        keep = []
        o = self._options(options, keep)
        shape = (ctypes.c_int64 * 4)()
        check(lib.gml_diffusion_image_shape(self.handle, ctypes.byref(o), len(encoded), shape))
        images = empty(tuple(shape), np.float32)
        self._run(lib.gml_diffusion_txt2img, self.context.handle, self.handle, arr,
                  len(encoded), ctypes.byref(o), ptr(images), images.size)
        return images

    def img2img(self, prompts, reference, **options):
        """Images started from reference (1 or N, C, H, W) float32 in
        [0, 1], noised to options['strength']."""
        encoded, arr = _prompts(prompts)
        ref = as_input(reference, np.float32, "reference", (None, None, None, None))
        keep = []
        o = self._options(options, keep)
        if o.height == 0 and o.width == 0:
            o.height, o.width = ref.shape[2], ref.shape[3]
        shape = (ctypes.c_int64 * 4)()
        check(lib.gml_diffusion_image_shape(self.handle, ctypes.byref(o), len(encoded), shape))
        images = empty(tuple(shape), np.float32)
        self._run(lib.gml_diffusion_img2img, self.context.handle, self.handle, arr,
                  len(encoded), ptr(ref), ref.shape[0], *ref.shape[1:], ctypes.byref(o),
                  ptr(images), images.size)
        return images

    def tokenize(self, prompt):
        """CLIP token ids (int64) and their Eq. 4 weights (float32), padded
        to the encoder's context length."""
        n = ctypes.c_size_t()
        check(lib.gml_diffusion_tokenize(self.handle, encode(prompt), None, None, 0,
                                         ctypes.byref(n)))
        ids, weights = empty((n.value,), np.int64), empty((n.value,), np.float32)
        check(lib.gml_diffusion_tokenize(self.handle, encode(prompt), ptr(ids), ptr(weights),
                                         n.value, ctypes.byref(n)))
        return ids, weights

    def encode_prompt(self, prompt, restore_mean=False):
        """The conditioning the UNet sees: (n_tokens, width) float32."""
        t, w = ctypes.c_int64(), ctypes.c_int64()
        self._run(lib.gml_diffusion_encode_prompt, self.context.handle, self.handle,
                  encode(prompt), int(bool(restore_mean)), None, 0, ctypes.byref(t),
                  ctypes.byref(w))
        emb = empty((t.value, w.value), np.float32)
        self._run(lib.gml_diffusion_encode_prompt, self.context.handle, self.handle,
                  encode(prompt), int(bool(restore_mean)), ptr(emb), emb.size, ctypes.byref(t),
                  ctypes.byref(w))
        return emb


_FAMILY_CLASSES["diffusion"] = DiffusionModel


def convert(diffusers_dir, out_path):
    """Writes a diffusers folder as one galaxyml model file (atomic)."""
    check(lib.gml_diffusion_convert(encode(diffusers_dir), encode(out_path)))


def procedural_galaxies(ctx, out_path, n_galaxies, tags=None, bands=None, **options):
    """Draws `n_galaxies` procedural galaxies (docs/synthesis.md) and writes them
    as a galaxy image set: a FITS cube (n_galaxies, bands, size, size) in
    nanomaggies and a GALAXIES table whose CAPTION column holds each
    galaxy's morphology tags. tags: comma-separated tags every galaxy must
    have ("edge-on disk, dust lane"), None to draw all from the mix.
    bands: None for SDSS g, r, i, or a list of dicts with name, wavelength
    (Angstrom), psf_fwhm (arcsec), sky_sigma (nanomaggies per pixel) and
    optionally electrons (per nanomaggy). options: the other fields of
    gml_diffusion_procedural_options (size, pixel_scale,
    reference_wavelength, magnitude_min, magnitude_max, oversample,
    moffat_beta, noise, mix_smooth, mix_edge_on_disk, mix_disk, mix_merger,
    p_dust_lane_smooth, p_dust_lane_edge_on, p_spiral, p_bar, p_ring, seed,
    first)."""
    keep = []
    o = default_options("gml_diffusion_procedural_options", options, keep)
    if bands is not None:
        bands = list(bands)
        names = encode(",".join(b["name"] for b in bands))
        columns = {key: np.ascontiguousarray([float(b[key]) for b in bands])
                   for key in ("wavelength", "psf_fwhm", "sky_sigma")}
        keep += [names, *columns.values()]
        o.n_bands = len(bands)
        o.band_names = names
        o.band_wavelength = ptr(columns["wavelength"])
        o.band_psf_fwhm = ptr(columns["psf_fwhm"])
        o.band_sky_sigma = ptr(columns["sky_sigma"])
        if any("electrons" in b for b in bands):
            electrons = np.ascontiguousarray([float(b.get("electrons", 0.0)) for b in bands])
            keep.append(electrons)
            o.band_electrons = ptr(electrons)
    ctx.run(lib.gml_diffusion_procedural_galaxies, ctx.handle,
            None if tags is None else encode(tags), int(n_galaxies), ctypes.byref(o),
            encode(out_path))

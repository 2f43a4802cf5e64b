"""Postage stamps from survey images (astropy Cutout2D's pixel convention).

    stamps, mask, flags = galaxyml.cutouts.extract(
        ["sdss_g.fits.gz", "sdss_r.fits.gz"], ra, dec, width=64, height=64)
    # stamps (n, n_bands, 64, 64) float32, mask uint8, flags int32

Options are the fields of gml_cutout_options as keywords (position_type,
width, height, size_arcsec, out_width, out_height, resample, fill_value,
layout, write_mask, chunk_rows). Positions are 1-D float64 arrays (lossless
casts and C-order copies are made).
"""
import ctypes

import numpy as np

from ._arrays import as_input, empty, ptr
from ._lib import check, encode, lib
from .context import default_options


def _paths(image_paths):
    if isinstance(image_paths, (str, bytes)) or hasattr(image_paths, "__fspath__"):
        image_paths = [image_paths]
    encoded = [encode(p) for p in image_paths]
    if not encoded:
        raise ValueError("image_paths must name at least one band")
    return encoded, (ctypes.c_char_p * len(encoded))(*encoded)


def _positions(ra, dec):
    ra = as_input(ra, np.float64, "ra", (None,))
    dec = as_input(dec, np.float64, "dec", (ra.shape[0],))
    return ra, dec


def shape(image_paths, **options):
    """(height, width) of the stamps extract() delivers."""
    keep = []
    o = default_options("gml_cutout_options", options, keep)
    encoded, arr = _paths(image_paths)
    h, w = ctypes.c_int64(), ctypes.c_int64()
    check(lib.gml_cutouts_shape(arr, len(encoded), ctypes.byref(o), ctypes.byref(h),
                                ctypes.byref(w)))
    return h.value, w.value


def extract(image_paths, ra, dec, context=None, **options):
    """Cuts a stamp per position from every band: stamps (n, n_bands, H,
    W) float32, mask (same shape) uint8 (1 = fill) and flags (n,) int32 of
    GML_CUTOUT_* bits. context: progress and cancellation."""
    keep = []
    o = default_options("gml_cutout_options", options, keep)
    encoded, arr = _paths(image_paths)
    ra, dec = _positions(ra, dec)
    h, w = ctypes.c_int64(), ctypes.c_int64()
    check(lib.gml_cutouts_shape(arr, len(encoded), ctypes.byref(o), ctypes.byref(h),
                                ctypes.byref(w)))
    n = ra.shape[0]
    stamps = empty((n, len(encoded), h.value, w.value), np.float32)
    mask = empty(stamps.shape, np.uint8)
    flags = empty((n,), np.int32)
    args = (arr, len(encoded), ptr(ra), ptr(dec), n, ctypes.byref(o), ptr(stamps), stamps.size,
            ptr(mask), ptr(flags))
    if context is not None:
        context.run(lib.gml_cutouts_extract, context.handle, *args)
    else:
        check(lib.gml_cutouts_extract(None, *args))
    return stamps, mask, flags


def write(image_paths, ra, dec, output_path, context=None, **options):
    """Cuts stamps like extract() and writes them with a WCS each to a FITS
    file in options['layout']; returns flags (n,) int32."""
    keep = []
    o = default_options("gml_cutout_options", options, keep)
    encoded, arr = _paths(image_paths)
    ra, dec = _positions(ra, dec)
    flags = empty((ra.shape[0],), np.int32)
    args = (arr, len(encoded), ptr(ra), ptr(dec), ra.shape[0], ctypes.byref(o),
            encode(output_path), ptr(flags))
    if context is not None:
        context.run(lib.gml_cutouts_write, context.handle, *args)
    else:
        check(lib.gml_cutouts_write(None, *args))
    return flags


def read_shape(path):
    """(N, C, H, W) of a cutout cube."""
    s = (ctypes.c_int64 * 4)()
    check(lib.gml_cutouts_read_shape(encode(path), s))
    return tuple(s)


def read(path):
    """A cutout cube as (N, C, H, W) float32, BLANK and NaN as NaN."""
    out = empty(read_shape(path), np.float32)
    check(lib.gml_cutouts_read(encode(path), ptr(out), out.size))
    return out

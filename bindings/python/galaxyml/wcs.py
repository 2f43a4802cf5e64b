"""Celestial WCS of FITS headers (WCSLIB, distortions included).

    with galaxyml.Wcs("image.fits") as w:
        ra, dec = w.pix2sky(x, y)               # 0-based pixels, degrees
        x, y = w.sky2pix(ra, dec)

Coordinates are 1-D float64 arrays of equal length (lossless casts and
C-order copies are made); failed points are NaN, and return_status=True
adds the per-point GML_WCS_POINT_* codes (int32).
"""
import ctypes
import weakref

import numpy as np

from . import _abi
from ._arrays import as_input, empty, ptr
from ._lib import check, encode, lib, text_out


def _free_wcs(handle):
    lib.gml_wcs_free(handle)


def _alt_char(alt):
    if alt is None:
        return b" "
    alt = encode(alt)
    if len(alt) != 1:
        raise ValueError(f"alt must be one character ' ' or 'A'..'Z'; got {alt!r}")
    return alt


class Wcs:
    """A WCS handle (gml_wcs). Wcs(path, hdu=None, alt=None) reads one HDU
    of a FITS file; Wcs.from_header(text) parses header cards."""

    def __init__(self, path, hdu=None, alt=None):
        handle = _abi.gml_wcs_p()
        if alt is None:
            check(lib.gml_wcs_open(encode(path), encode(hdu), ctypes.byref(handle)))
        else:
            check(lib.gml_wcs_open_alternate(encode(path), encode(hdu), _alt_char(alt),
                                             ctypes.byref(handle)))
        self._adopt(handle)

    def _adopt(self, handle):
        self._h = handle
        self._finalizer = weakref.finalize(self, _free_wcs, handle)

    @classmethod
    def from_header(cls, header, alt=None):
        """Parses FITS header cards (80-character records, no separators);
        a str or bytes whose length is a multiple of 80."""
        text = encode(header)
        handle = _abi.gml_wcs_p()
        if alt is None:
            check(lib.gml_wcs_open_header(text, len(text), ctypes.byref(handle)))
        else:
            check(lib.gml_wcs_open_header_alternate(text, len(text), _alt_char(alt),
                                                    ctypes.byref(handle)))
        self = cls.__new__(cls)
        self._adopt(handle)
        return self

    @property
    def handle(self):
        if not self._finalizer.alive:
            raise ValueError("the WCS is closed")
        return self._h

    def _convert(self, fn, a, b, names, origin, return_status):
        a = as_input(a, np.float64, names[0], (None,))
        b = as_input(b, np.float64, names[1], (a.shape[0],))
        n = a.shape[0]
        out1, out2, status = empty((n,), np.float64), empty((n,), np.float64), empty((n,),
                                                                                       np.int32)
        check(fn(self.handle, ptr(a), ptr(b), n, origin, ptr(out1), ptr(out2), ptr(status)))
        return (out1, out2, status) if return_status else (out1, out2)

    def pix2sky(self, x, y, origin=0, return_status=False):
        """Pixel -> (ra, dec) degrees; origin 0 (numpy) or 1 (FITS)."""
        return self._convert(lib.gml_wcs_pix2sky, x, y, ("x", "y"), origin, return_status)

    def sky2pix(self, ra, dec, origin=0, return_status=False):
        """(ra, dec) degrees -> pixel (x, y) in the origin convention."""
        return self._convert(lib.gml_wcs_sky2pix, ra, dec, ("ra", "dec"), origin,
                             return_status)

    @property
    def pixel_scale(self):
        """Mean pixel scale at the reference point, arcsec per pixel."""
        s = ctypes.c_double()
        check(lib.gml_wcs_pixel_scale(self.handle, ctypes.byref(s)))
        return s.value

    def header(self):
        """The WCS as FITS header cards (80-character records, no END)."""
        return text_out(lib.gml_wcs_header, self.handle)

    def close(self):
        self._finalizer()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

"""10,000 stamps of 64 x 64 from a 4096 x 4096 TAN image: galaxyml's
gml_cutouts_extract (through its C ABI, ctypes) against a loop of astropy's
Cutout2D, in one process on the same machine and thread count.

Usage: bench_cutouts.py LIBGALAXYML [--n 10000] [--size 64] [--repeat 3]
"""
import argparse
import ctypes as C
import os
import sys
import tempfile
import time
import warnings

import numpy as np
from astropy.coordinates import SkyCoord
from astropy.io import fits
from astropy.nddata import Cutout2D
from astropy.wcs import WCS
import astropy
import astropy.units as u


class CutoutOptions(C.Structure):
    _fields_ = [("struct_size", C.c_uint32), ("position_type", C.c_int32),
                ("width", C.c_int64), ("height", C.c_int64), ("size_arcsec", C.c_double),
                ("out_width", C.c_int64), ("out_height", C.c_int64), ("resample", C.c_int32),
                ("fill_value", C.c_float), ("layout", C.c_int32), ("write_mask", C.c_int32),
                ("chunk_rows", C.c_int64)]


def make_image(path, n=4096, seed=1):
    rng = np.random.default_rng(seed)
    data = rng.normal(0.0, 1.0, (n, n)).astype(np.float32)
    yy, xx = np.mgrid[-8:9, -8:9]
    psf = np.exp(-(xx**2 + yy**2) / (2 * 2.0**2)).astype(np.float32)
    for x, y in rng.uniform(10, n - 10, (3000, 2)).astype(int):
        data[y - 8:y + 9, x - 8:x + 9] += rng.uniform(5, 500) * psf
    h = fits.Header()
    h.update(CTYPE1="RA---TAN", CTYPE2="DEC--TAN", CRPIX1=n / 2 + 0.5, CRPIX2=n / 2 + 0.5,
             CRVAL1=150.0, CRVAL2=2.0, CD1_1=-0.262 / 3600, CD1_2=0.0, CD2_1=0.0,
             CD2_2=0.262 / 3600, RADESYS="ICRS")
    fits.PrimaryHDU(data, h).writeto(path, overwrite=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("lib")
    ap.add_argument("--n", type=int, default=10000)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    warnings.simplefilter("ignore")

    tmp = tempfile.mkdtemp(prefix="gml_bench_cutout_")
    img = os.path.join(tmp, "image_4k.fits")
    make_image(img)
    hdr = fits.getheader(img)
    wcs = WCS(hdr)
    rng = np.random.default_rng(2)
    # Positions over the image and a margin around it (partial stamps too).
    px = rng.uniform(-20, 4096 + 20, (args.n, 2))
    ra, dec = wcs.all_pix2world(px[:, 0], px[:, 1], 0)
    ra = np.ascontiguousarray(ra, dtype=np.float64)
    dec = np.ascontiguousarray(dec, dtype=np.float64)

    lib = C.CDLL(args.lib)
    lib.gml_cutout_options_default.argtypes = [C.POINTER(CutoutOptions)]
    lib.gml_cutouts_extract.restype = C.c_int32
    lib.gml_cutouts_extract.argtypes = [
        C.c_void_p, C.POINTER(C.c_char_p), C.c_int32, C.POINTER(C.c_double),
        C.POINTER(C.c_double), C.c_int64, C.POINTER(CutoutOptions), C.POINTER(C.c_float),
        C.c_size_t, C.POINTER(C.c_uint8), C.POINTER(C.c_int32)]
    lib.gml_last_error.restype = C.c_char_p
    opts = CutoutOptions()
    lib.gml_cutout_options_default(C.byref(opts))
    opts.width = opts.height = args.size
    paths = (C.c_char_p * 1)(img.encode())
    out = np.empty((args.n, 1, args.size, args.size), np.float32)
    mask = np.empty(out.shape, np.uint8)
    flags = np.empty(args.n, np.int32)

    def run_gml():
        st = lib.gml_cutouts_extract(
            None, paths, 1, ra.ctypes.data_as(C.POINTER(C.c_double)),
            dec.ctypes.data_as(C.POINTER(C.c_double)), args.n, C.byref(opts),
            out.ctypes.data_as(C.POINTER(C.c_float)), out.size,
            mask.ctypes.data_as(C.POINTER(C.c_uint8)), flags.ctypes.data_as(C.POINTER(C.c_int32)))
        if st != 0:
            sys.exit("galaxyml: " + lib.gml_last_error().decode())

    def run_astropy_sky():
        with fits.open(img, memmap=False) as h:
            data, w = h[0].data, WCS(h[0].header)
            coords = SkyCoord(ra * u.deg, dec * u.deg)
            res = []
            for k in range(args.n):
                try:
                    res.append(Cutout2D(data, coords[k], args.size, wcs=w, mode="partial",
                                        fill_value=np.nan).data)
                except Exception:  # NoOverlapError
                    res.append(None)
        return res

    def run_astropy_pixel():
        with fits.open(img, memmap=False) as h:
            data, w = h[0].data, WCS(h[0].header)
            x, y = w.all_world2pix(ra, dec, 0)
            res = []
            for k in range(args.n):
                try:
                    res.append(Cutout2D(data, (x[k], y[k]), args.size, wcs=w, mode="partial",
                                        fill_value=np.nan).data)
                except Exception:
                    res.append(None)
        return res

    def best(fn):
        times, result = [], None
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            result = fn()
            times.append(time.perf_counter() - t0)
        return min(times), result

    t_gml, _ = best(run_gml)
    t_sky, ref = best(run_astropy_sky)
    t_pix, _ = best(run_astropy_pixel)
    # The comparison only counts if the stamps are the same.
    mism = 0
    for k in range(args.n):
        r = ref[k] if ref[k] is not None else np.full((args.size, args.size), np.nan, np.float32)
        if not np.array_equal(r, out[k, 0], equal_nan=True):
            mism += 1
    print(f"image 4096x4096 float32 (TAN), {args.n} stamps of {args.size}x{args.size}, "
          f"best of {args.repeat}; astropy {astropy.__version__}, numpy {np.__version__}")
    print(f"threads: OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}, "
          f"GML_NUM_THREADS={os.environ.get('GML_NUM_THREADS')}; cpu count {os.cpu_count()}")
    print(f"galaxyml gml_cutouts_extract (file read included): {t_gml:8.3f} s "
          f"({args.n / t_gml:9.0f} stamps/s)")
    print(f"astropy Cutout2D loop, SkyCoord positions:         {t_sky:8.3f} s "
          f"({args.n / t_sky:9.0f} stamps/s)  -> galaxyml {t_sky / t_gml:5.1f}x faster")
    print(f"astropy Cutout2D loop, pixel positions:            {t_pix:8.3f} s "
          f"({args.n / t_pix:9.0f} stamps/s)  -> galaxyml {t_pix / t_gml:5.1f}x faster")
    print(f"stamps differing from astropy: {mism} of {args.n}; "
          f"flags: {int((flags == 0).sum())} inside, {int((flags & 1).astype(bool).sum())} partial, "
          f"{int((flags & 2).astype(bool).sum())} off-image")
    os.remove(img)
    os.rmdir(tmp)


if __name__ == "__main__":
    main()

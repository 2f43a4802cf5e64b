#!/usr/bin/env python3
"""Reference values for the fits_io tests, computed with astropy.

Run from the repository root:
    .deps/venv/bin/python tests/golden/make_fits_golden.py
Writes tests/golden/fits/ (layout in tests/golden/fits/README.md). The C++
tests read only these outputs; they never run Python.
"""
import hashlib
import json
import sys
import warnings
from pathlib import Path

import astropy
import numpy as np
from astropy.io import fits
from astropy.nddata import Cutout2D
from astropy.wcs import WCS, FITSFixedWarning

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "data"
OUT = ROOT / "tests" / "golden" / "fits"
GRID = 32  # 32 x 32 = 1024 pixels per file

warnings.simplefilter("ignore", FITSFixedWarning)

WCS_FILES = [
    "wcs/1904-66_ARC.fits", "wcs/1904-66_HPX.fits", "wcs/1904-66_STG.fits",
    "wcs/1904-66_TAN.fits", "wcs/1904-66_TSC.fits", "wcs/1904-66_ZEA.fits",
    "wcs/1904-66_ZPN.fits", "wcs/DECam_00154912_12_header.fits", "wcs/sipsample.fits",
    "wcs/tnx.fits", "wcs/tpv.fits", "wcs/zpx.fits", "images/sdss_g.fits.gz",
    "images/147246.0_150.416558_1.998697_masknoise.fits",
]

# GalSim's reference positions (data/README.md): file, x, y (1-based), RA, Dec.
GALSIM_REFS = [
    ("1904-66_HPX.fits", 114, 180, "19:39:16.551671", "-63:42:47.346862"),
    ("1904-66_HPX.fits", 144, 30, "18:19:35.761589", "-63:46:08.860203"),
    ("1904-66_TAN.fits", 117, 178, "19:39:30.753119", "-63:42:59.217527"),
    ("1904-66_TAN.fits", 153, 35, "18:19:18.652839", "-63:49:03.833411"),
    ("1904-66_TSC.fits", 113, 161, "19:39:39.996553", "-63:41:14.585586"),
    ("1904-66_TSC.fits", 141, 48, "18:19:05.985494", "-63:49:05.781036"),
    ("1904-66_STG.fits", 112, 172, "19:39:14.752140", "-63:44:20.882465"),
    ("1904-66_STG.fits", 147, 38, "18:19:37.824461", "-63:46:24.483497"),
    ("1904-66_ZEA.fits", 110, 170, "19:39:26.871566", "-63:43:26.059526"),
    ("1904-66_ZEA.fits", 144, 39, "18:19:34.480902", "-63:46:40.038427"),
    ("1904-66_ARC.fits", 111, 171, "19:39:28.622018", "-63:41:53.658982"),
    ("1904-66_ARC.fits", 145, 39, "18:19:47.020701", "-63:46:22.381334"),
    ("1904-66_ZPN.fits", 95, 151, "19:39:24.948254", "-63:46:43.636138"),
    ("1904-66_ZPN.fits", 122, 48, "18:19:24.149409", "-63:49:37.453404"),
    ("sipsample.fits", 242, 75, "13:30:01.474154", "47:12:51.794474"),
    ("sipsample.fits", 12, 106, "13:29:43.747626", "47:09:13.879660"),
    ("tpv.fits", 418, 78, "03:30:09.340034", "-28:43:50.811107"),
    ("tpv.fits", 148, 393, "03:30:15.728999", "-28:45:01.488629"),
    ("zpx.fits", 418, 78, "21:24:12.094326", "37:10:34.575917"),
    ("zpx.fits", 148, 393, "21:24:05.350816", "37:11:44.596579"),
    ("tnx.fits", 32, 91, "17:46:53.214511", "-30:08:47.895372"),
    ("tnx.fits", 246, 326, "17:46:58.100741", "-30:07:50.121787"),
]


def sexa_to_deg(s, hours):
    sign = -1.0 if s.strip().startswith("-") else 1.0
    h, m, sec = (abs(float(p)) for p in s.split(":"))
    v = h + m / 60.0 + sec / 3600.0
    return sign * v * (15.0 if hours else 1.0)


def sep_mas(ra1, dec1, ra2, dec2):
    """Angular separation (haversine), milliarcseconds."""
    r1, d1, r2, d2 = (np.radians(np.asarray(a, dtype=float)) for a in (ra1, dec1, ra2, dec2))
    a = np.sin((d2 - d1) / 2) ** 2 + np.cos(d1) * np.cos(d2) * np.sin((r2 - r1) / 2) ** 2
    return np.degrees(2 * np.arcsin(np.sqrt(np.minimum(a, 1.0)))) * 3.6e6


def fnv1a64(data: bytes) -> str:
    h = 0xCBF29CE484222325
    for b in data:
        h ^= b
        h = (h * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return f"{h:016x}"


def wcs_grids():
    entries = []
    for rel in WCS_FILES:
        hdr = fits.getheader(DATA / rel, 0)
        w = WCS(hdr)
        if rel.startswith("wcs/DECam"):
            nx, ny = 2048, 4096  # header-only file; the CCD it describes
        else:
            nx, ny = hdr["NAXIS1"], hdr["NAXIS2"]
        xs = np.linspace(1.0, float(nx), GRID)
        ys = np.linspace(1.0, float(ny), GRID)
        x, y = np.meshgrid(xs, ys)  # x varies fastest
        x, y = x.ravel(), y.ravel()
        ra, dec = w.all_pix2world(x, y, 1)
        ra = np.mod(ra, 360.0)
        name = Path(rel).name.replace(".fits.gz", "").replace(".fits", "")
        out = f"wcs_{name}.bin"
        np.concatenate([ra, dec]).astype("<f8").tofile(OUT / out)
        entries.append({"file": rel, "nx": int(nx), "ny": int(ny), "grid": GRID, "bin": out,
                        "nan_count": int(np.sum(~np.isfinite(ra)))})
        print(f"{rel}: {GRID}x{GRID} grid over {nx}x{ny}, ctype {w.wcs.ctype[0]}, "
              f"sip={w.sip is not None}")
    return entries


def galsim_refs():
    rows = []
    worst = 0.0
    for name, x, y, ras, decs in GALSIM_REFS:
        ra_ref, dec_ref = sexa_to_deg(ras, True), sexa_to_deg(decs, False)
        w = WCS(fits.getheader(DATA / "wcs" / name, 0))
        ra, dec = w.all_pix2world([x], [y], 1)
        s = float(sep_mas(ra[0], dec[0], ra_ref, dec_ref))
        worst = max(worst, s)
        rows.append({"file": "wcs/" + name, "x": x, "y": y, "ra": ra_ref, "dec": dec_ref,
                     "astropy_ra": float(ra[0]) % 360.0, "astropy_dec": float(dec[0]),
                     "astropy_sep_mas": s})
    print(f"GalSim references: astropy worst separation {worst:.4f} mas")
    return rows


def catalog():
    path = DATA / "sdss" / "gst_tests_small.fits"
    with fits.open(path) as hdul:
        t = hdul[1]
        cols = []
        sample_rows = [0, 1, 2, 4999, 9998, 9999]
        for c in t.columns:
            arr = np.asarray(t.data[c.name])
            le = arr.astype(arr.dtype.newbyteorder("<"))
            kind = {"f4": "float32", "f8": "float64"}[arr.dtype.str[1:]]
            repeat = int(np.prod(arr.shape[1:])) if arr.ndim > 1 else 1
            flat = le.reshape(len(le), -1)
            cols.append({
                "name": c.name, "type": kind, "repeat": repeat,
                "fnv1a64": fnv1a64(le.tobytes()),
                "sha256": hashlib.sha256(le.tobytes()).hexdigest(),
                "samples": {str(r): [float(v) for v in flat[r]] for r in sample_rows},
                "nan_count": int(np.isnan(flat).sum()),
            })
        return {"file": "sdss/gst_tests_small.fits", "hdu": 2, "extname": t.name,
                "nrows": len(t.data), "columns": cols}


def cutouts():
    path = DATA / "images" / "sdss_r.fits.gz"
    with fits.open(path) as hdul:
        data = hdul[0].data.astype(np.float32)
        w = WCS(hdul[0].header)
    ny, nx = data.shape
    size = 64
    # 0-based (x, y) centres: interior, fractional, near each edge/corner,
    # partially off-image on every side, and one wholly off-image.
    positions = [
        (341.0, 248.0), (100.3, 200.7), (500.5, 400.5), (31.5, 31.5), (650.0, 464.0),
        (0.0, 248.0), (681.0, 248.0), (341.0, 0.0), (341.0, 495.0), (10.2, 10.8),
        (675.4, 490.6), (-20.0, 100.0), (700.0, 300.0), (200.0, -25.0), (400.0, 515.0),
        (-30.0, -30.0), (710.0, 520.0), (32.0, 480.0), (123.9, 456.1), (-500.0, -500.0),
    ]
    stamp_pix = [(0.0, 0.0), (63.0, 0.0), (0.0, 63.0), (63.0, 63.0), (31.5, 31.5), (10.0, 50.0)]
    meta, arrays = [], []
    for px, py in positions:
        try:
            c = Cutout2D(data, (px, py), (size, size), wcs=w, mode="partial", fill_value=np.nan)
            arr = c.data.astype(np.float32)
            xs, ys = zip(*stamp_pix)
            ra, dec = c.wcs.all_pix2world(np.array(xs), np.array(ys), 0)
            entry = {
                "position": [px, py], "overlaps": True,
                # Pixel (0, 0) of the stamp in the original image, 0-based;
                # negative or past the edge for partial cutouts.
                "origin_original": [int(c.origin_original[0]), int(c.origin_original[1])],
                "stamp_origin_in_original": [int(c.slices_original[1].start - c.slices_cutout[1].start),
                                             int(c.slices_original[0].start - c.slices_cutout[0].start)],
                "slices_original": [[c.slices_original[1].start, c.slices_original[1].stop],
                                    [c.slices_original[0].start, c.slices_original[0].stop]],
                "slices_cutout": [[c.slices_cutout[1].start, c.slices_cutout[1].stop],
                                  [c.slices_cutout[0].start, c.slices_cutout[0].stop]],
                "crpix": [float(v) for v in c.wcs.wcs.crpix],
                "stamp_pixels_0based": [list(p) for p in stamp_pix],
                "stamp_world": [[float(r) % 360.0, float(d)] for r, d in zip(ra, dec)],
                "nan_count": int(np.isnan(arr).sum()),
            }
        except Exception as e:  # NoOverlapError for the wholly-off stamp
            arr = np.full((size, size), np.nan, np.float32)
            entry = {"position": [px, py], "overlaps": False, "error": type(e).__name__,
                     "nan_count": size * size}
        meta.append(entry)
        arrays.append(arr)
    np.stack(arrays).astype("<f4").tofile(OUT / "cutouts_sdss_r.bin")
    return {"file": "images/sdss_r.fits.gz", "image_shape_numpy": [ny, nx], "size": [size, size],
            "mode": "partial", "fill_value": "nan", "bin": "cutouts_sdss_r.bin",
            "cutouts": meta}


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    doc = {
        "generator": "tests/golden/make_fits_golden.py",
        "astropy_version": astropy.__version__,
        "numpy_version": np.__version__,
        "wcs_grids": wcs_grids(),
        "galsim_refs": galsim_refs(),
    }
    (OUT / "wcs.json").write_text(json.dumps(doc, indent=1) + "\n")
    cat = catalog()
    cat["astropy_version"] = astropy.__version__
    (OUT / "catalog.json").write_text(json.dumps(cat, indent=1) + "\n")
    cut = cutouts()
    cut["astropy_version"] = astropy.__version__
    (OUT / "cutouts.json").write_text(json.dumps(cut, indent=1) + "\n")
    total = sum(p.stat().st_size for p in OUT.iterdir())
    print(f"wrote {OUT} ({total} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

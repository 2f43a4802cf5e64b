#!/usr/bin/env python3
"""Reference values for the WCS conventions beyond WCSLIB's own: lookup-table
distortions (CPDISj/D2IMDISj 'Lookup'), -TAB coordinates, and the header
repairs astropy makes (SCAMP PV next to SIP, pre-2012 SCAMP TAN, a DSS
header with a malformed card). Computed with astropy.

Run from the repository root:
    .deps/venv/bin/python tests/golden/make_wcs_distortion_golden.py
Writes tests/golden/fits/wcs_distortion.json and wcs_dist_<name>.bin (layout
in tests/golden/fits/README.md). The C++ tests read only these outputs.
"""
import gzip
import json
import re
import sys
import warnings
from pathlib import Path

import astropy
import numpy as np
from astropy.io import fits
from astropy.wcs import WCS

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "data"
OUT = ROOT / "tests" / "golden" / "fits"
GRID = 24  # 24 x 24 = 576 points per case
# all_world2pix is run far below astropy's default tolerance (1e-4 pixel)
# so that the reference is the exact inverse, not astropy's stopping point.
WORLD2PIX_TOL = 1e-11

SIP_CARD = re.compile(r"^[AB]P?_(ORDER|\d+_\d+)$")


def header_text(path):
    return path.read_bytes().decode("ascii")


def primary_header_of_gz(path):
    """The primary header cards of a gzip FITS file, up to END, as text."""
    raw = gzip.decompress(path.read_bytes())
    cards = []
    for i in range(0, len(raw), 80):
        card = raw[i:i + 80].decode("ascii")
        cards.append(card)
        if card.startswith("END") and card[3:].strip() == "":
            break
    return "".join(cards)


def composite_header(base, sip_from, ctype):
    """`base` with the SIP cards of `sip_from` appended and CTYPE1/2 set."""
    cards = [header_text(DATA / base)[i:i + 80]
             for i in range(0, len(header_text(DATA / base)), 80)]
    cards = [c for c in cards if not (c.startswith("END") and c[3:].strip() == "")]
    sip_text = header_text(DATA / sip_from)
    sip_cards = [sip_text[i:i + 80] for i in range(0, len(sip_text), 80)
                 if SIP_CARD.match(sip_text[i:i + 8].strip())]
    out = []
    for c in cards:
        key = c[:8].strip()
        if key == "CTYPE1":
            c = f"CTYPE1  = '{ctype[0]:<8}'".ljust(80)
        elif key == "CTYPE2":
            c = f"CTYPE2  = '{ctype[1]:<8}'".ljust(80)
        out.append(c)
    return "".join(out + sip_cards)


def pixel_grid(xr, yr, zs=()):
    xs = np.linspace(xr[0], xr[1], GRID)
    ys = np.linspace(yr[0], yr[1], GRID)
    x, y = np.meshgrid(xs, ys)  # x varies fastest
    cols = [x.ravel(), y.ravel()]
    for z in zs:
        cols.append(np.full(x.size, float(z)))
    return np.column_stack(cols)


def sep_mas(ra1, dec1, ra2, dec2):
    r1, d1, r2, d2 = (np.radians(np.asarray(a, dtype=float)) for a in (ra1, dec1, ra2, dec2))
    a = np.sin((d2 - d1) / 2) ** 2 + np.cos(d1) * np.cos(d2) * np.sin((r2 - r1) / 2) ** 2
    return np.degrees(2 * np.arcsin(np.sqrt(np.minimum(a, 1.0)))) * 3.6e6


def make_wcs(case):
    """The astropy WCS of a case and the warnings astropy gave."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        src = case["source"]
        if src == "file":
            hdul = fits.open(DATA / case["file"])
            w = WCS(hdul[case["hdu"] - 1].header, hdul)
        elif src == "header":
            w = WCS(header_text(DATA / case["file"]))
        elif src == "gz_primary_header":
            w = WCS(fits.Header.fromstring(primary_header_of_gz(DATA / case["file"])))
        elif src == "composite":
            w = WCS(fits.Header.fromstring(
                composite_header(case["file"], case["sip_from"], case["set_ctype"])))
        else:
            raise ValueError(src)
    messages = sorted({str(m.message).splitlines()[0] for m in caught
                       if "FITSFixedWarning" in type(m.message).__name__
                       or "VerifyWarning" in type(m.message).__name__})
    return w, messages


CASES = [
    # HST ACS/WFC chip: D2IM + CPDIS lookup tables + 4th-order SIP. The grid
    # runs 40 pixels past the 4096 x 2048 chip to exercise the clamping of
    # the tables at their edges.
    {"name": "acs_lookup", "source": "file", "file": "wcs/dist_lookup.fits.gz", "hdu": 2,
     "x": [-40.25, 4136.75], "y": [-20.5, 2068.5], "lookup": True},
    # HST WFC3/UVIS: D2IM lookup tables only, no SIP.
    {"name": "wfc3_d2im", "source": "file", "file": "wcs/ie6d07ujq_wcs.fits", "hdu": 1,
     "x": [-30.5, 4126.5], "y": [-10.25, 2061.25], "lookup": True},
    # 3-axis WCS whose third (time) axis is -TAB; the time pixel is 1.
    {"name": "tab_time", "source": "file", "file": "wcs/tab-time-last-axis.fits", "hdu": 1,
     "x": [1.0, 64.0], "y": [1.0, 32.0], "z": [1.0]},
    # DSS plate header with a malformed SKEW card (skipped).
    {"name": "dss", "source": "gz_primary_header", "file": "wcs/dss.14.29.56-62.41.05.fits.gz",
     "x": [1.0, 100.0], "y": [1.0, 100.0]},
    # SIP header that also carries SCAMP PV1_0..PV2_16 (PV dropped).
    {"name": "too_many_pv", "source": "header", "file": "wcs/too_many_pv.hdr",
     "x": [1.0, 2048.0], "y": [1.0, 4096.0]},
    # TPV header.
    {"name": "tpvonly", "source": "header", "file": "wcs/tpvonly.hdr",
     "x": [1.0, 2048.0], "y": [1.0, 4096.0]},
    # TPV header plus the SIP cards of the same image: SIP dropped.
    {"name": "tpv_plus_sip", "source": "composite", "file": "wcs/tpvonly.hdr",
     "sip_from": "wcs/siponly.hdr", "set_ctype": ["RA---TPV", "DEC--TPV"],
     "x": [1.0, 2048.0], "y": [1.0, 4096.0]},
    # Pre-2012 SCAMP: CTYPE TAN with PV1_5.. and SIP cards: read as TPV,
    # SIP dropped.
    {"name": "scamp_tan", "source": "composite", "file": "wcs/tpvonly.hdr",
     "sip_from": "wcs/siponly.hdr", "set_ctype": ["RA---TAN", "DEC--TAN"],
     "x": [1.0, 2048.0], "y": [1.0, 4096.0]},
    # TAN-SIP with the PV cards of the TPV solution: PV dropped, SIP used.
    {"name": "sip_plus_scamp_pv", "source": "composite", "file": "wcs/tpvonly.hdr",
     "sip_from": "wcs/siponly.hdr", "set_ctype": ["RA---TAN-SIP", "DEC--TAN-SIP"],
     "x": [1.0, 2048.0], "y": [1.0, 4096.0]},
]


def run_case(case):
    w, messages = make_wcs(case)
    naxis = w.wcs.naxis
    pix = pixel_grid(case["x"], case["y"], case.get("z", ()))
    assert pix.shape[1] == naxis, (case["name"], naxis)
    world = w.all_pix2world(pix, 1)
    world[:, 0] = np.mod(world[:, 0], 360.0)
    back = w.all_world2pix(world, 1, tolerance=WORLD2PIX_TOL, maxiter=100, quiet=True)
    n = pix.shape[0]
    out = f"wcs_dist_{case['name']}.bin"
    np.concatenate([pix.T.ravel(), world.T.ravel(), back.T.ravel()]).astype("<f8").tofile(OUT / out)
    entry = {k: v for k, v in case.items() if k not in ("x", "y", "z", "lookup")}
    entry.update({"naxis": int(naxis), "n": int(n), "bin": out,
                  "astropy_ctype": [str(c) for c in w.wcs.ctype],
                  "astropy_has_sip": w.sip is not None,
                  "astropy_pv": [[int(i), int(m), float(v)] for i, m, v in w.wcs.get_pv()],
                  "astropy_warnings": messages,
                  "world2pix_max_residual_px": float(np.abs(back - pix).max())})
    if case.get("lookup"):
        # The same WCS without its lookup tables: how much they move positions.
        bare = w.deepcopy()
        bare.cpdis1 = bare.cpdis2 = None
        bare.det2im1 = bare.det2im2 = None
        world0 = bare.all_pix2world(pix, 1)
        effect = sep_mas(world[:, 0], world[:, 1], world0[:, 0], world0[:, 1])
        entry["lookup_effect_max_mas"] = float(effect.max())
        entry["lookup_effect_mean_mas"] = float(effect.mean())
        entry["tables"] = {
            name: None if t is None else {
                "shape_numpy": list(t.data.shape), "crpix": [float(v) for v in t.crpix],
                "crval": [float(v) for v in t.crval], "cdelt": [float(v) for v in t.cdelt]}
            for name, t in (("det2im1", w.det2im1), ("det2im2", w.det2im2),
                            ("cpdis1", w.cpdis1), ("cpdis2", w.cpdis2))}
        print(f"{case['name']}: lookup tables move positions by up to "
              f"{entry['lookup_effect_max_mas']:.3f} mas (mean {entry['lookup_effect_mean_mas']:.3f})")
    print(f"{case['name']}: naxis {naxis}, ctype {w.wcs.ctype}, sip={w.sip is not None}, "
          f"world2pix residual {entry['world2pix_max_residual_px']:.2e} px, warnings {messages}")
    return entry


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    doc = {
        "generator": "tests/golden/make_wcs_distortion_golden.py",
        "astropy_version": astropy.__version__,
        "numpy_version": np.__version__,
        "grid": GRID,
        "world2pix_tolerance": WORLD2PIX_TOL,
        "cases": [run_case(c) for c in CASES],
    }
    (OUT / "wcs_distortion.json").write_text(json.dumps(doc, indent=1) + "\n")
    total = sum((OUT / e["bin"]).stat().st_size for e in doc["cases"])
    print(f"wrote {OUT / 'wcs_distortion.json'} and {len(doc['cases'])} bin files ({total} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

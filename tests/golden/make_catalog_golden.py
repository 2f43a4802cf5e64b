#!/usr/bin/env python3
"""Reference values for the catalog adapter's unit conversions.

Run from the repository root:
    .deps/venv/bin/python tests/golden/make_catalog_golden.py
Writes tests/golden/catalog/conversions.json (see tests/golden/catalog/README.md).
Inputs come from astropy's reading of data/sdss/gst_tests_small.fits; the
conversions are evaluated with numpy in float64 on the float32 inputs:
    mag    = 22.5 - 2.5 log10(f)
    magerr = (2.5 / ln 10) / (f sqrt(ivar))
    sigma  = 1 / sqrt(ivar)
    nmgy   = 10 ** ((22.5 - m) / 2.5)      (of the r-band mag above)
Values whose inputs are outside the domain are null (JSON null).
"""
import json
import sys
from pathlib import Path

import astropy
import numpy as np
from astropy.io import fits

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "tests" / "golden" / "catalog"


def main():
    with fits.open(ROOT / "data" / "sdss" / "gst_tests_small.fits") as hdul:
        d = hdul[1].data
        flux = np.asarray(d["MODELFLUX"], dtype=np.float64)
        ivar = np.asarray(d["MODELFLUX_IVAR"], dtype=np.float64)
        z = np.asarray(d["Z"], dtype=np.float64)
    n = len(flux)
    bad_u = np.nonzero(flux[:, 0] <= 0)[0]
    rows = sorted(set([0, 1, 2, 17, 123, 4999, 7777, 9998, 9999] + [int(r) for r in bad_u]))
    with np.errstate(divide="ignore", invalid="ignore"):
        mag = np.where(flux > 0, 22.5 - 2.5 * np.log10(flux), np.nan)
        magerr = np.where((flux > 0) & (ivar > 0),
                          (2.5 / np.log(10)) / (flux * np.sqrt(ivar)), np.nan)
        sigma = np.where(ivar > 0, 1 / np.sqrt(ivar), np.nan)
        nmgy_r = 10 ** ((22.5 - mag[:, 2]) / 2.5)

    def col(a):
        return [None if not np.isfinite(v) else float(v) for v in a]

    out = {
        "file": "sdss/gst_tests_small.fits",
        "mapping": ("u=mag(MODELFLUX[0]),g=mag(MODELFLUX[1]),r=mag(MODELFLUX[2]),"
                    "i=mag(MODELFLUX[3]),z=mag(MODELFLUX[4]),"
                    "du=magerr(MODELFLUX[0],MODELFLUX_IVAR[0]),"
                    "dr=magerr(MODELFLUX[2],MODELFLUX_IVAR[2]),"
                    "sr=sigma(MODELFLUX_IVAR[2]),zred=Z"),
        "nrows": n,
        "rows_u_flux_nonpositive": [int(r) for r in bad_u],
        "rows": rows,
        "outputs": {
            "u": col(mag[rows, 0]), "g": col(mag[rows, 1]), "r": col(mag[rows, 2]),
            "i": col(mag[rows, 3]), "z": col(mag[rows, 4]),
            "du": col(magerr[rows, 0]), "dr": col(magerr[rows, 2]),
            "sr": col(sigma[rows, 2]), "zred": col(z[rows]),
        },
        "nmgy_of_r_mag": col(nmgy_r[rows]),
        "r_flux": col(flux[rows, 2]),
        "astropy_version": astropy.__version__,
        "numpy_version": np.__version__,
    }
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "conversions.json").write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {OUT / 'conversions.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

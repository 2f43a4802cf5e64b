#!/usr/bin/env python3
"""Writes the benchmark catalog: N rows (default 1,000,000) of an SDSS-like
binary table with 10 columns (ID K, RA D, DEC D, Z E, FLUX 5E, FLUX_IVAR 5E,
FLUX_R E, IVAR_R E, EBV E, CLASS 6A); 5 of its numeric columns are read by
the benchmark. Deterministic (seed 1)."""
import sys

import numpy as np
from astropy.io import fits


def main(path, n):
    rng = np.random.default_rng(1)
    flux = rng.lognormal(4.0, 1.0, size=(n, 5)).astype(np.float32)
    cols = [
        fits.Column("ID", "K", array=np.arange(n, dtype=np.int64)),
        fits.Column("RA", "D", array=rng.uniform(0, 360, n)),
        fits.Column("DEC", "D", array=rng.uniform(-20, 70, n)),
        fits.Column("Z", "E", array=rng.uniform(0, 0.4, n).astype(np.float32)),
        fits.Column("FLUX", "5E", unit="nanomaggy", array=flux),
        fits.Column("FLUX_IVAR", "5E", array=rng.uniform(0.1, 5, (n, 5)).astype(np.float32)),
        fits.Column("FLUX_R", "E", unit="nanomaggy", array=flux[:, 2]),
        fits.Column("IVAR_R", "E", array=rng.uniform(0.1, 5, n).astype(np.float32)),
        fits.Column("EBV", "E", array=rng.uniform(0, 0.2, n).astype(np.float32)),
        fits.Column("CLASS", "6A", array=np.array(["GALAXY"] * n)),
    ]
    fits.BinTableHDU.from_columns(cols, name="BENCH").writeto(path, overwrite=True)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000)

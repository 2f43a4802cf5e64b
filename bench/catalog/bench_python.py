#!/usr/bin/env python3
"""Python peers of bench_catalog.cpp: read 5 numeric columns of the whole
table into one float32 [n_rows, 5] array, best of R repeats.

  astropy-fits   fits.open(path) (memmap) + column access + astype(float32)
  astropy-table  Table.read(path, hdu=1) + column access + astype(float32)
  fitsio         fitsio.read(path, columns=...) + astype(float32)
"""
import sys
import time
import warnings

import numpy as np

# 'nanomaggy' is not a FITS unit; astropy warns on every read.
warnings.filterwarnings("ignore", message=".*did not parse as fits unit.*")

COLS = ["RA", "DEC", "Z", "FLUX_R", "IVAR_R"]


def fill(get, n):
    out = np.empty((n, len(COLS)), dtype=np.float32)
    for j, c in enumerate(COLS):
        out[:, j] = np.asarray(get(c), dtype=np.float32)
    return out


def astropy_fits(path):
    from astropy.io import fits
    with fits.open(path) as hdul:
        d = hdul[1].data
        return fill(lambda c: d[c], len(d))


def astropy_table(path):
    from astropy.table import Table
    t = Table.read(path, hdu=1)
    return fill(lambda c: t[c], len(t))


def fitsio_read(path):
    import fitsio
    d = fitsio.read(path, ext=1, columns=COLS)
    return fill(lambda c: d[c], len(d))


def best_of(fn, path, repeats):
    times, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn(path)
        times.append(time.perf_counter() - t0)
    return min(times), float(np.median(times)), out


def main(path, repeats):
    peers = [("astropy-fits", astropy_fits), ("astropy-table", astropy_table)]
    try:
        import fitsio  # noqa: F401
        peers.append(("fitsio", fitsio_read))
    except ImportError:
        print("fitsio\tSKIPPED (pip install fitsio; scripts/bootstrap.sh installs it)")
    for name, fn in peers:
        best, med, out = best_of(fn, path, repeats)
        print(f"{name}\t{best:.4f}\t{med:.4f}\t{out.shape[0]}\t{float(out[:, 4].sum()):.6e}")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 5)

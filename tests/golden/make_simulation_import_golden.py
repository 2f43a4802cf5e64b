"""Simulation files as numpy, h5py, astropy and Python's csv write them, for
the import of simulations (core/posterior/simulation_import.h).

Every file holds the same 40 simulations, built from exact binary fractions
so that float32 copies are exact too:
    theta[i, j] = (i + 1) / 4 - j        (2 columns: mass, age)
    x[i, k]     = (i - 2 k) / 8           (3 columns: f0, f1, f2)
with x[7, 1] = NaN (a failed simulation the import drops and counts).
The C++ test recomputes these values, so it needs no Python. Run from the
repository root:

    .deps/venv/bin/python tests/golden/make_simulation_import_golden.py

writes tests/golden/posterior/import/.
"""
import csv
import pathlib

import h5py
import numpy as np
from astropy.io import fits

OUT = pathlib.Path(__file__).parent / "posterior" / "import"
N = 40


def arrays():
    i = np.arange(N, dtype=np.float64)[:, None]
    theta = (i + 1) / 4 - np.arange(2)[None, :]
    x = (i - 2 * np.arange(3)[None, :]) / 8
    x[7, 1] = np.nan
    return theta, x


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    theta, x = arrays()
    # HDF5 without any galaxyml attribute; nested dataset names; x as float32.
    with h5py.File(OUT / "sims.h5", "w") as f:
        f["theta"] = theta
        f["x"] = x
        g = f.create_group("run1")
        g["params"] = theta
        g["obs"] = x.astype(np.float32)
    # FITS: theta as two scalar columns (float64, int-scaled would lose the
    # fractions), x as one float32 vector column.
    cols = [
        fits.Column(name="mass", format="D", array=theta[:, 0]),
        fits.Column(name="age", format="E", array=theta[:, 1].astype(np.float32)),
        fits.Column(name="FLUX", format="3D", array=x),
    ]
    fits.BinTableHDU.from_columns(cols, name="SIMS").writeto(OUT / "sims.fits", overwrite=True)
    np.savez(OUT / "sims.npz", theta=theta, x=x)
    np.savez_compressed(OUT / "sims_compressed.npz", params=theta.astype(np.float32), obs=x)
    # .npy: theta little-endian float64; x big-endian float32 in Fortran order.
    np.save(OUT / "theta.npy", theta)
    np.save(OUT / "x.npy", np.asfortranarray(x.astype(">f4")))
    with open(OUT / "sims.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["mass", "age", "f0", "f1", "f2"])
        for t, o in zip(theta, x):
            w.writerow([repr(float(v)) for v in t] + ["" if np.isnan(v) else repr(float(v)) for v in o])
    # numpy.savetxt: blank-separated, header as a '#' comment.
    np.savetxt(OUT / "sims.txt", np.hstack([theta, x]), header="mass age f0 f1 f2")


if __name__ == "__main__":
    main()

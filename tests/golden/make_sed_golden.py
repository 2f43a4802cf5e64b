#!/usr/bin/env python3
"""Reference values for the SED forward model (core/posterior/sed/).

Run from the repository root:
    .deps/venv/bin/python tests/golden/make_sed_golden.py
Writes tests/golden/sed/sed_golden.json, read by tests/posterior/test_sed_golden.cpp.

An independent implementation with numpy/scipy/astropy of the model in
docs/sed_model.md (it shares no code with the C++ and nothing of kcorrect's):
  * luminosity distances from astropy.cosmology.FlatLambdaCDM(H0=70, Om0=0.3);
  * filter normalisations int R dl/l by scipy.integrate.quad on each segment
    of the piecewise-linear response (the C++ uses the closed form);
  * band fluxes from the redshifted, dimmed observed-frame spectrum with
    np.trapezoid on the spectrum's samples and np.interp for R (0 outside
    the filter table), the definition in docs/sed_model.md (the C++ works
    in the rest frame with precomputed per-sample weights);
  * stick-breaking weights, formed-mass coefficients and the Calzetti/Noll
    dust law written out again with numpy.
"""
import json
import sys
from pathlib import Path

import astropy
import astropy.units as u
import numpy as np
import scipy
from astropy.cosmology import FlatLambdaCDM
from astropy.io import fits
from scipy.integrate import quad

ROOT = Path(__file__).resolve().parents[2]
SED = ROOT / "data" / "sed"
OUT = ROOT / "tests" / "golden" / "sed"

C_AA = 2.99792458e18          # speed of light, Angstrom/s
AB_FNU = 3631.0e-23           # erg/s/cm^2/Hz
PC_MPC = 1.0e-6
BANDS = "ugriz"
COSMO = FlatLambdaCDM(H0=70.0, Om0=0.3)


def trapezoid(y, x):
    f = getattr(np, "trapezoid", None) or np.trapz
    return float(f(y, x))


def read_filter(band):
    names, rows = None, []
    for line in open(SED / "filters" / f"sdss_{band}0.dat"):
        s = line.strip()
        if not s or s.startswith("#"):
            continue
        cells = [c.strip() for c in s.strip("|").split("|")]
        if names is None:
            names = cells
            continue
        rows.append([float(c) for c in cells])
    a = np.array(rows)
    return a[:, 0], a[:, names.index("pass")]


def filter_norm(lam, r):
    """int R(l)/l dl for piecewise-linear R, segment by segment with quad."""
    total = 0.0
    for k in range(len(lam) - 1):
        a, b, ra, rb = lam[k], lam[k + 1], r[k], r[k + 1]
        val, _ = quad(lambda l: (ra + (rb - ra) * (l - a) / (b - a)) / l, a, b,
                      epsabs=0, epsrel=1e-13)
        total += val
    return total


def filter_pivot(lam, r):
    num = sum(quad(lambda l, k=k: (r[k] + (r[k + 1] - r[k]) * (l - lam[k]) /
                                   (lam[k + 1] - lam[k])) * l, lam[k], lam[k + 1],
                   epsabs=0, epsrel=1e-13)[0] for k in range(len(lam) - 1))
    return float(np.sqrt(num / filter_norm(lam, r)))


FILTERS = {b: read_filter(b) for b in BANDS}
NORMS = {b: filter_norm(*FILTERS[b]) for b in BANDS}


def ab_nmgy(wave_obs, flam_obs, band):
    lam, r = FILTERS[band]
    resp = np.interp(wave_obs, lam, r, left=0.0, right=0.0)
    num = trapezoid(flam_obs * wave_obs * resp, wave_obs) / C_AA
    return 1e9 * num / (AB_FNU * NORMS[band])


def calzetti_k(lam_aa):
    x = 1e4 / np.asarray(lam_aa, dtype=np.float64)
    blue = 2.659 * (-2.156 + 1.509 * x - 0.198 * x**2 + 0.011 * x**3) + 4.05
    red = 2.659 * (-1.857 + 1.040 * x) + 4.05
    return np.clip(np.where(np.asarray(lam_aa) < 6300.0, blue, red), 0.0, None)


def dust_mag(lam_aa, tau_v, delta):
    return 1.086 * tau_v / 4.05 * calzetti_k(lam_aa) * (np.asarray(lam_aa) / 5500.0) ** delta


def stick_breaking(beta):
    k = len(beta) + 1
    w = np.zeros(k)
    left = 1.0
    for i in range(k - 1):
        frac = 1.0 - beta[i] ** (1.0 / (k - 1 - i))
        w[i] = frac * left
        left -= w[i]
    w[-1] = left
    return w


def observe(wave_rest, flam_rest_10pc, z):
    dl = COSMO.luminosity_distance(z).to(u.Mpc).value
    return wave_rest * (1 + z), flam_rest_10pc * (10 * PC_MPC / dl) ** 2 / (1 + z)


def main():
    with fits.open(SED / "kcorrect-default-v4.fits") as h:
        wave = np.asarray(h["FLUX"].data["wave"][0], dtype=np.float64)
        flux = np.asarray(h["FLUX"].data["flux"][0], dtype=np.float64)  # (5, nwave)
        mremain = np.asarray(h["MREMAIN"].data, dtype=np.float64)
        mets = np.asarray(h["METS"].data, dtype=np.float64)
        m300 = np.asarray(h["M300"].data, dtype=np.float64)
        m1000 = np.asarray(h["M1000"].data, dtype=np.float64)

    zs = [0.001, 0.01, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0, 2.0, 3.0]
    distances = {"z": zs,
                 "dl_mpc": [float(COSMO.luminosity_distance(z).to(u.Mpc).value) for z in zs],
                 "dc_mpc": [float(COSMO.comoving_distance(z).to(u.Mpc).value) for z in zs]}

    filters = {"bands": list(BANDS),
               "ab_norm": [NORMS[b] for b in BANDS],
               "pivot_aa": [filter_pivot(*FILTERS[b]) for b in BANDS]}

    templates = []
    for z in (0.05, 0.15):
        for i in range(flux.shape[0]):
            wo, fo = observe(wave, flux[i], z)
            templates.append({"template": i, "z": z,
                              "nmgy": [ab_nmgy(wo, fo, b) for b in BANDS]})

    theta = [10.5, 0.3, 0.6, 0.2, 0.8, 0.7, -0.5]
    z = 0.12
    w = stick_breaking(np.array(theta[1:5]))
    coef = 10 ** theta[0] * w / np.sum(w * mremain)
    rest = (coef[:, None] * flux).sum(axis=0) * 10 ** (-0.4 * dust_mag(wave, theta[5], theta[6]))
    wo, fo = observe(wave, rest, z)
    full = {"theta": theta, "z": z, "weights": w.tolist(), "coef": coef.tolist(),
            "mass_formed": float(coef.sum()),
            "metallicity": float((coef * mets).sum() / coef.sum()),
            "mass_300myr": float((coef * m300).sum()),
            "mass_1gyr": float((coef * m1000).sum()),
            "nmgy": [ab_nmgy(wo, fo, b) for b in BANDS]}
    # The same theta without dust, to pin the size of the attenuation.
    rest0 = (coef[:, None] * flux).sum(axis=0)
    wo0, fo0 = observe(wave, rest0, z)
    full["nmgy_no_dust"] = [ab_nmgy(wo0, fo0, b) for b in BANDS]

    dust_l = [1500.0, 2500.0, 3500.0, 5500.0, 6300.0, 8000.0, 12000.0, 30000.0]
    dust = {"lambda_aa": dust_l, "calzetti_k": calzetti_k(dust_l).tolist(),
            "tau_v": 1.3, "delta": -0.7,
            "a_mag": dust_mag(dust_l, 1.3, -0.7).tolist()}

    with fits.open(SED / "kc96" / "sb_template.fits") as h:
        kw = np.asarray(h[1].data["WAVELENGTH"], dtype=np.float64)
        kf = np.asarray(h[1].data["FLUX"], dtype=np.float64)
    kc96 = {"file": "sed/kc96/sb_template.fits",
            "wave_range_aa": [float(kw[0]), float(kw[-1])],
            "note": "z = 0, no distance scaling; spectrum taken as 0 outside its samples "
                    "(the z band extends past its red end)",
            "nmgy": [ab_nmgy(kw, kf, b) for b in BANDS]}

    out = {
        "generator": "tests/golden/make_sed_golden.py",
        "versions": {"python": sys.version.split()[0], "numpy": np.__version__,
                     "scipy": scipy.__version__, "astropy": astropy.__version__},
        "cosmology": {"H0": 70.0, "Om0": 0.3, "Tcmb0": 0.0},
        "distances": distances,
        "filters": filters,
        "templates": templates,
        "full_theta": full,
        "dust": dust,
        "kc96": kc96,
    }
    OUT.mkdir(parents=True, exist_ok=True)
    with open(OUT / "sed_golden.json", "w") as fh:
        json.dump(out, fh, indent=1)
        fh.write("\n")
    print("wrote", OUT / "sed_golden.json")


if __name__ == "__main__":
    main()

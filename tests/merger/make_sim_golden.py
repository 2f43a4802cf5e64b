#!/usr/bin/env python3
"""Golden values for the merger simulator tests (tests/merger/test_sim_*.cpp).

Writes tests/golden/merger/sim_golden.txt: one quantity per line, as
"name v1 v2 ...", read by tests/merger/test_sim_golden.h. Every value comes
from an implementation independent of core/merger:

  gravity        astropy.constants.G in kpc^3 / (1e10 Msun Myr^2)
  hernquist_*    M(<r) and Phi(r) by scipy.integrate.quad over the Hernquist
  plummer_*      / Plummer densities (not the closed forms the C++ uses)
  chandra_*      Chandrasekhar's G(X) with scipy.special.erf
  orbit_*        the relative orbit of two galaxy centres (mutual potential of
                 sim/orbit.h) by scipy.integrate.solve_ivp (DOP853, rtol 1e-11),
                 without and with dynamical friction as a continuous ODE
  cic_*          cloud-in-cell deposit with numpy.add.at
  blur_*         scipy.ndimage.gaussian_filter (mode constant, truncate 4)

Run with the project's venv (numpy, scipy, astropy):
  .deps/venv/bin/python tests/merger/make_sim_golden.py
"""
import math
import os

import numpy as np
from astropy import constants as const
from astropy import units as u
from scipy import integrate, ndimage, special

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "golden", "merger",
                   "sim_golden.txt")

G = const.G.to(u.kpc**3 / (1e10 * u.Msun * u.Myr**2)).value

# Default galaxy 1 of MergerSimConfig (sim/config.h).
HALO_M, HALO_A = 50.0, 12.0
BULGE_M, BULGE_A = 1.0, 0.7
SOFT = 0.2


def rho_hernquist(r, m, a):
    return m * a / (2 * math.pi * r * (r + a) ** 3)


def rho_plummer(r, m, a):
    return 3 * m / (4 * math.pi * a**3) * (1 + r * r / (a * a)) ** -2.5


def enclosed(rho, r, m, a):
    return integrate.quad(lambda s: 4 * math.pi * s * s * rho(s, m, a), 0, r, epsabs=0,
                          epsrel=1e-12, limit=200)[0]


def potential(rho, r, m, a):
    # Phi(r) = -G [M(<r)/r + 4 pi int_r^inf rho(s) s ds]
    outer = integrate.quad(lambda s: 4 * math.pi * s * rho(s, m, a), r, np.inf, epsabs=0,
                           epsrel=1e-12, limit=200)[0]
    return -G * (enclosed(rho, r, m, a) / r + outer)


RADII = [0.05, 0.3, 0.7, 1.0, 2.5, 5.0, 12.0, 30.0, 100.0]


def profile_lines(name, rho, m, a):
    menc = [enclosed(rho, r, m, a) for r in RADII]
    return {
        f"{name}_mass": [m],
        f"{name}_scale": [a],
        f"{name}_r": RADII,
        f"{name}_rho": [rho(r, m, a) for r in RADII],
        f"{name}_menc": menc,
        f"{name}_phi": [potential(rho, r, m, a) for r in RADII],
        f"{name}_vc": [math.sqrt(G * mm / r) for mm, r in zip(menc, RADII)],
    }


# ---- two-body orbit of the centres (Hernquist defaults, q = 0.5) ----------
Q = 0.5
F = Q ** (1.0 / 3.0)
M1 = HALO_M + BULGE_M
M2 = Q * M1
A12 = math.hypot(HALO_A, HALO_A * F)
MTOT = M1 + M2
MU = M1 * M2 / MTOT
RP, ECC, SEP0 = 6.0, 0.9, 60.0
FRICTION = 0.1


def phi_rel(r):
    return -G * MTOT / (math.sqrt(r * r + SOFT * SOFT) + A12)


def dphi_rel(r):
    d = math.sqrt(r * r + SOFT * SOFT)
    return G * MTOT * r / (d * (d + A12) ** 2)


def orbit_start():
    ra = RP * (1 + ECC) / (1 - ECC)
    l2 = 2 * (phi_rel(ra) - phi_rel(RP)) / (1 / RP**2 - 1 / ra**2)
    eps = phi_rel(RP) + l2 / (2 * RP**2)
    d = min(SEP0, ra)
    vt = math.sqrt(l2) / d
    vr = -math.sqrt(max(0.0, 2 * (eps - phi_rel(d)) - l2 / d**2))
    return d, vr, vt


def galaxy_density(r, m_halo, a_halo, m_bulge, a_bulge):
    return rho_hernquist(r, m_halo, a_halo) + rho_hernquist(r, m_bulge, a_bulge)


def galaxy_vc(r, m_halo, a_halo, m_bulge, a_bulge):
    m = m_halo * r * r / (r + a_halo) ** 2 + m_bulge * r * r / (r + a_bulge) ** 2
    return math.sqrt(G * m / r)


def chandra(x):
    return special.erf(x) - 2 * x / math.sqrt(math.pi) * math.exp(-x * x)


def friction_gamma(r, v):
    d = math.sqrt(r * r + SOFT * SOFT)
    g1 = (HALO_M, HALO_A, BULGE_M, BULGE_A)
    g2 = (Q * HALO_M, F * HALO_A, Q * BULGE_M, F * BULGE_A)
    total = 0.0
    for host, sat, msat in ((g1, g2, M2), (g2, g1, M1)):
        vc = galaxy_vc(d, *host)
        lnl = math.log(1 + d / sat[1])
        total += msat**2 * lnl * galaxy_density(d, *host) * chandra(v / vc) / v**3
    return 4 * math.pi * G * G * FRICTION * total / MU


def orbit_rhs(friction):
    def rhs(_t, y):
        x, yy, vx, vy = y
        r = math.hypot(x, yy)
        a = -dphi_rel(r) / r
        ax, ay = a * x, a * yy
        if friction:
            g = friction_gamma(r, math.hypot(vx, vy))
            ax -= g * vx
            ay -= g * vy
        return [vx, vy, ax, ay]
    return rhs


ORBIT_TIMES = [50.0, 100.0, 150.0, 200.0, 300.0, 400.0, 600.0]


def orbit_lines():
    d, vr, vt = orbit_start()
    y0 = [d, 0.0, vr, vt]
    out = {"orbit_params": [Q, RP, ECC, SEP0, FRICTION], "orbit_start": [d, vr, vt],
           "orbit_times": ORBIT_TIMES}
    for name, fr in (("orbit_sep_nofriction", False), ("orbit_sep_friction", True)):
        sol = integrate.solve_ivp(orbit_rhs(fr), (0, ORBIT_TIMES[-1]), y0, method="DOP853",
                                  t_eval=ORBIT_TIMES, rtol=1e-11, atol=1e-12)
        out[name] = [math.hypot(x, y) for x, y in zip(sol.y[0], sol.y[1])]
    return out


# ---- rendering -------------------------------------------------------------
def cic_lines():
    rng = np.random.default_rng(7)
    size = 16
    n = 40
    uu = rng.uniform(-1.5, size + 1.5, n)  # some fall partly or wholly outside
    vv = rng.uniform(-1.5, size + 1.5, n)
    ww = rng.uniform(0.5, 2.0, n)
    img = np.zeros((size, size))
    pu, pv = uu - 0.5, vv - 0.5
    i0, j0 = np.floor(pu).astype(int), np.floor(pv).astype(int)
    fu, fv = pu - i0, pv - j0
    for di, dj, w in ((0, 0, (1 - fu) * (1 - fv)), (1, 0, fu * (1 - fv)), (0, 1, (1 - fu) * fv),
                      (1, 1, fu * fv)):
        ii, jj = i0 + di, j0 + dj
        ok = (ii >= 0) & (ii < size) & (jj >= 0) & (jj < size)
        np.add.at(img, (jj[ok], ii[ok]), (w * ww)[ok])
    return {"cic_size": [size], "cic_u": uu.tolist(), "cic_v": vv.tolist(), "cic_w": ww.tolist(),
            "cic_image": img.ravel().tolist()}


def blur_lines():
    size = 24
    fwhm = 2.5
    img = np.zeros((size, size))
    img[12, 12] = 1.0
    img[0, 3] = 2.0     # bottom edge
    img[20, 23] = 0.5   # right edge
    img[5, 7] = 1.5
    sigma = fwhm / (2 * math.sqrt(2 * math.log(2)))
    out = ndimage.gaussian_filter(img, sigma, mode="constant", cval=0.0, truncate=4.0)
    return {"blur_size": [size], "blur_fwhm": [fwhm], "blur_input": img.ravel().tolist(),
            "blur_output": out.ravel().tolist()}


def main():
    lines = {"gravity": [G]}
    lines.update(profile_lines("hernquist", rho_hernquist, HALO_M, HALO_A))
    lines.update(profile_lines("plummer", rho_plummer, BULGE_M, BULGE_A))
    xs = [0.0, 0.01, 0.05, 0.099, 0.1, 0.101, 0.3, 1.0, 2.0, 5.0]
    lines["chandra_x"] = xs
    lines["chandra_g"] = [chandra(x) for x in xs]
    lines.update(orbit_lines())
    lines.update(cic_lines())
    lines.update(blur_lines())
    with open(OUT, "w") as f:
        f.write("# Golden values for tests/merger/test_sim_*.cpp, written by\n")
        f.write("# tests/merger/make_sim_golden.py (astropy, scipy, numpy). Do not edit.\n")
        for name, values in lines.items():
            f.write(name + " " + " ".join(repr(float(v)) for v in values) + "\n")
    print("wrote", os.path.normpath(OUT))


if __name__ == "__main__":
    main()

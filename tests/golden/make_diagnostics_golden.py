"""Golden values for the posterior family's calibration diagnostics.

Independent implementations of core/posterior/diagnostics.h in numpy/scipy:
SBC ranks with scipy.stats.kstest, expected coverage with np.quantile, TARP
written out from Lemos et al. (2023) with the `tarp` package's normalisation
and sbi's ATC. The random numbers (KS jitter, TARP reference points) are
drawn here and stored, so the C++ side is compared on the seed-free path.

Kolmogorov p-values get two references: scipy.stats.kstwo.sf (what kstest
reports in its exact/auto mode; itself an approximation in parts of the
range, Simard & L'Ecuyer 2011) and a 60-digit mpmath evaluation of the
Durbin matrix (Marsaglia, Tsang & Wang 2003), or, where that matrix is too
large and p < 1e-3, of twice the exact one-sided Smirnov tail (relative
error below (p/2)^3). Run from the repository root:

    .deps/venv/bin/python tests/golden/make_diagnostics_golden.py

writes tests/golden/posterior/diagnostics_golden.json.
"""
import json
import pathlib

import mpmath
import numpy as np
import scipy
from scipy import stats

OUT = pathlib.Path(__file__).resolve().parent / "posterior" / "diagnostics_golden.json"
mpmath.mp.dps = 60


# ---------------------------------------------------------------------------
# Kolmogorov distribution in high precision.

def mtw_cdf_mp(n, d):
    """P(D_n < d): n!/n^n (H^n)_kk (Durbin 1968; Marsaglia, Tsang, Wang 2003)."""
    d = mpmath.mpf(d)
    nd = n * d
    if nd <= mpmath.mpf(1) / 2:
        return mpmath.mpf(0)
    k = int(mpmath.ceil(nd))
    h = k - nd
    m = 2 * k - 1
    H = mpmath.matrix(m, m)
    for i in range(m):
        for j in range(m):
            if i - j + 1 >= 0:
                H[i, j] = 1 / mpmath.factorial(i - j + 1)
    for i in range(m):
        H[i, 0] = (1 - h ** (i + 1)) / mpmath.factorial(i + 1)
        H[m - 1, i] = (1 - h ** (m - i)) / mpmath.factorial(m - i)
    corner = (2 * h - 1) ** m if 2 * h - 1 > 0 else 0
    H[m - 1, 0] = (1 - 2 * h ** m + corner) / mpmath.factorial(m)
    P = H ** n
    return mpmath.factorial(n) / mpmath.mpf(n) ** n * P[k - 1, k - 1]


def smirnov_sf_mp(n, d):
    """P(D_n^+ >= d), Birnbaum & Tingey (1951)."""
    d = mpmath.mpf(d)
    total = mpmath.mpf(0)
    for j in range(int(mpmath.floor(n * (1 - d))) + 1):
        a = 1 - d - mpmath.mpf(j) / n
        if a <= 0:
            continue
        total += mpmath.binomial(n, j) * a ** (n - j) * (d + mpmath.mpf(j) / n) ** (j - 1)
    return d * total


def kolmogorov_sf_reference(n, d, kmax=15):
    """High-precision P(D_n >= d), or None where neither method is cheap and exact."""
    if n * d <= 0.5:
        return 1.0
    if d >= 1:
        return 0.0
    if d < 0.5 and int(np.ceil(n * d)) <= kmax:
        return float(1 - mtw_cdf_mp(n, d))
    if n > 20000:  # the Smirnov sum takes seconds per point in mpmath
        return None
    tail = 2 * smirnov_sf_mp(n, d)
    if d >= 0.5:
        return float(tail)
    if tail < mpmath.mpf("1e-3"):
        return float(tail)
    return None


# ---------------------------------------------------------------------------
# The diagnostics.

def ks_uniform(x):
    r = stats.kstest(x, "uniform", method="exact")
    r_auto = stats.kstest(x, "uniform")
    assert r.pvalue == r_auto.pvalue
    return (float(r.statistic), float(r.pvalue),
            kolmogorov_sf_reference(len(x), float(r.statistic), kmax=60))


def sbc(samples, theta, jitter):
    M, L, D = samples.shape
    ranks = (samples < theta[:, None, :]).sum(axis=1)
    out = {"ranks": ranks.flatten().tolist(), "ks_statistic": [], "ks_pvalue_scipy": [],
           "ks_pvalue_exact": []}
    for j in range(D):
        s, p, exact = ks_uniform((ranks[:, j] + jitter[:, j]) / (L + 1))
        out["ks_statistic"].append(s)
        out["ks_pvalue_scipy"].append(p)
        out["ks_pvalue_exact"].append(exact)
    return out


def coverage(samples, theta, lp_samples, lp_true, levels):
    M, L, D = samples.shape
    nominal = np.arange(1, levels + 1) / (levels + 1)
    emp = np.empty((levels, D + 1))
    for a, alpha in enumerate(nominal):
        lo = np.quantile(samples, (1 - alpha) / 2, axis=1, method="linear")
        hi = np.quantile(samples, (1 + alpha) / 2, axis=1, method="linear")
        emp[a, :D] = ((lo <= theta) & (theta <= hi)).mean(axis=0)
        thr = np.quantile(lp_samples, 1 - alpha, axis=1, method="linear")
        emp[a, D] = (lp_true >= thr).mean()
    return {"nominal": nominal.tolist(), "empirical": emp.flatten().tolist()}


def tarp(samples, theta, lower, upper, bins, refs, jitter):
    M, L, D = samples.shape
    if lower is None:  # the `tarp` package with norm=True (and sbi)
        lo = theta.min(axis=0)
        width = theta.max(axis=0) - lo + 1e-10
    else:
        lo = lower
        width = upper - lower
    s = (samples - lo) / width
    t = (theta - lo) / width
    r = (refs - lo) / width
    ds = np.zeros((M, L))
    dt = np.zeros(M)
    for j in range(D):  # summed in dimension order, as the C++ does
        ds = ds + (s[:, :, j] - r[:, None, j]) ** 2
        dt = dt + (t[:, j] - r[:, j]) ** 2
    counts = (ds < dt[:, None]).sum(axis=1)
    f = counts / L
    alpha = np.arange(bins + 1) / bins
    # f < alpha decided in integers: f = c / L, alpha = k / bins.
    ecp = (counts[:, None] * bins < np.arange(bins + 1)[None, :] * L).mean(axis=0)
    # sbi's histogram form agrees away from the points where f and alpha
    # coincide (where floating-point bin edges decide either way).
    hist, _ = np.histogram(f, bins=bins, range=(0.0, 1.0))
    sbi_ecp = np.concatenate([[0.0], np.cumsum(hist) / hist.sum()])
    on_edge = np.array([np.any(counts * bins == k * L) for k in range(bins + 1)])
    assert np.array_equal(ecp[~on_edge][:-1], sbi_ecp[~on_edge][:-1])
    mid = alpha.shape[0] // 2  # sbi's check_tarp
    atc = float(np.sum(ecp[mid:] - alpha[mid:]))
    ks_s, ks_p, ks_exact = ks_uniform((counts + jitter) / (L + 1))
    return {"alpha": alpha.tolist(), "ecp": ecp.tolist(), "fractions": f.tolist(), "atc": atc,
            "ks_statistic": ks_s, "ks_pvalue_scipy": ks_p, "ks_pvalue_exact": ks_exact}


def make_case(rng, name, M, L, D, spread, bias, levels, bins):
    """Gaussian posteriors N(mu_i, sigma_i^2) per simulation; the estimator
    draws from N(mu_i + bias sigma_i, (spread sigma_i)^2) per dimension."""
    lower, upper = np.full(D, -4.0), np.full(D, 4.0)
    mu = rng.uniform(-2.5, 2.5, size=(M, D))
    sigma = rng.uniform(0.2, 0.6, size=(M, D))
    theta = np.round(mu + sigma * rng.standard_normal((M, D)), 6)
    qm = mu + np.asarray(bias) * sigma
    qs = np.asarray(spread) * sigma
    samples = np.round(qm[:, None, :] + qs[:, None, :] * rng.standard_normal((M, L, D)), 6)

    def log_q(x, m, s):
        return (-0.5 * ((x - m) / s) ** 2 - np.log(s) - 0.5 * np.log(2 * np.pi)).sum(axis=-1)

    lp_samples = np.round(log_q(samples, qm[:, None, :], qs[:, None, :]), 6)
    lp_true = np.round(log_q(theta, qm, qs), 6)
    sbc_jitter = rng.uniform(size=(M, D))
    refs_box = rng.uniform(lower, upper, size=(M, D))
    refs_auto = rng.uniform(theta.min(axis=0), theta.max(axis=0), size=(M, D))
    tarp_jitter = rng.uniform(size=M)
    return {
        "name": name, "M": M, "L": L, "D": D, "levels": levels, "bins": bins,
        "samples": samples.flatten().tolist(), "theta": theta.flatten().tolist(),
        "log_prob_samples": lp_samples.flatten().tolist(), "log_prob_true": lp_true.tolist(),
        "lower": lower.tolist(), "upper": upper.tolist(),
        "sbc_jitter": sbc_jitter.flatten().tolist(),
        "references_box": refs_box.flatten().tolist(),
        "references_auto": refs_auto.flatten().tolist(),
        "tarp_jitter": tarp_jitter.tolist(),
        "sbc": sbc(samples, theta, sbc_jitter),
        "coverage": coverage(samples, theta, lp_samples, lp_true, levels),
        "tarp_box": tarp(samples, theta, lower, upper, bins, refs_box, tarp_jitter),
        "tarp_auto": tarp(samples, theta, None, None, bins, refs_auto, tarp_jitter),
    }


def kolmogorov_table():
    rows = []
    for n in [1, 2, 3, 5, 10, 37, 100, 140, 141, 200, 500, 1000, 3000, 20000, 100000]:
        ds = set()
        for lam in [0.3, 0.5, 0.7, 0.85, 1.0, 1.2, 1.36, 1.63, 2.0, 2.5, 3.5, 5.0, 8.0]:
            ds.add(lam / np.sqrt(n))
        ds.update([0.5 / n + 1e-9, 0.75 / n, 1.0 / n, 0.3, 0.5, 0.7, 0.99])
        for d in sorted(ds):
            if not 0 < d < 1:
                continue
            rows.append({"n": n, "d": float(d), "scipy": float(stats.kstwo.sf(d, n)),
                         "exact": kolmogorov_sf_reference(n, float(d))})
    return rows


def main():
    rng = np.random.default_rng(20250113)
    # One calibrated dimension, one over-confident, one biased: p-values
    # from moderate to tiny in a single file.
    cases = [make_case(rng, "mixed", 200, 100, 3, [1.0, 0.7, 1.0], [0.0, 0.0, 0.5], 19, 20),
             make_case(rng, "small", 37, 7, 2, [1.0, 1.3], [0.0, 0.0], 4, 7)]
    table = kolmogorov_table()
    for row in table:  # the mpmath reference itself, against scipy
        if row["exact"] is not None and row["exact"] > 1e-250:
            rel = abs(row["scipy"] - row["exact"]) / row["exact"]
            assert rel < 1e-4, (row, rel)
    doc = {"generator": "tests/golden/make_diagnostics_golden.py",
           "numpy": np.__version__, "scipy": scipy.__version__, "mpmath": mpmath.__version__,
           "cases": cases, "kolmogorov": table}
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(doc, separators=(",", ":")) + "\n")
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main()

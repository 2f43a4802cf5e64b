"""Golden log densities and supports of the posterior family's priors
(core/posterior/prior.h), from scipy.stats: an implementation independent
of the library's.

    .deps/venv/bin/python tests/golden/make_prior_golden.py

writes tests/golden/posterior/prior_golden.json.
"""
import json
import pathlib

import numpy as np
from scipy import stats

OUT = pathlib.Path(__file__).parent / "posterior" / "prior_golden.json"


def independent_logpdf(marginals, theta):
    total = np.zeros(len(theta))
    for j, m in enumerate(marginals):
        c = theta[:, j]
        if m["kind"] == "uniform":
            lp = stats.uniform(loc=m["lower"], scale=m["upper"] - m["lower"]).logpdf(c)
        elif m["kind"] == "normal":
            lp = stats.norm(loc=m["mean"], scale=m["std"]).logpdf(c)
        else:
            # ln theta ~ N(mean, std): scipy's lognorm with s = std, scale = e^mean.
            with np.errstate(divide="ignore"):
                lp = stats.lognorm(s=m["std"], scale=np.exp(m["mean"])).logpdf(c)
        total += lp
    return total


def main():
    rng = np.random.default_rng(11)
    cases = []
    box = {"kind": "uniform", "lower": [-1.0, 0.0, 2.0], "upper": [1.0, 0.5, 7.0]}
    marg_box = [{"kind": "uniform", "lower": a, "upper": b} for a, b in zip(box["lower"], box["upper"])]
    theta = rng.uniform(-1.5, 7.5, size=(12, 3))
    theta[0] = [0.0, 0.25, 3.0]
    theta[1] = [1.0, 0.5, 7.0]  # on the upper edge: inside
    cases.append(("box", box, marg_box, theta))

    normal = {"kind": "normal", "mean": [0.5, -2.0], "std": [2.0, 0.3]}
    marg_n = [{"kind": "normal", "mean": a, "std": b} for a, b in zip(normal["mean"], normal["std"])]
    cases.append(("normal", normal, marg_n, rng.normal(0, 2, size=(10, 2))))

    lognormal = {"kind": "lognormal", "mean": [0.0, 1.5], "std": [0.5, 1.0]}
    marg_l = [{"kind": "lognormal", "mean": a, "std": b} for a, b in zip(lognormal["mean"], lognormal["std"])]
    th = rng.lognormal(0.5, 1.0, size=(10, 2))
    th[0, 0] = -0.5  # outside: theta <= 0
    th[1, 1] = 0.0
    cases.append(("lognormal", lognormal, marg_l, th))

    mixed_m = [
        {"kind": "uniform", "lower": 8.0, "upper": 12.0},
        {"kind": "normal", "mean": 0.1, "std": 0.05},
        {"kind": "lognormal", "mean": -1.0, "std": 0.25},
    ]
    mixed = {"kind": "independent", "marginals": mixed_m}
    th = np.column_stack([rng.uniform(7.5, 12.5, 10), rng.normal(0.1, 0.1, 10), rng.lognormal(-1, 0.5, 10)])
    cases.append(("independent", mixed, mixed_m, th))

    out = []
    for name, spec, marg, theta in cases:
        lp = independent_logpdf(marg, theta)
        out.append({
            "name": name,
            "prior": spec,
            "theta": theta.tolist(),
            "log_prob": [x if np.isfinite(x) else None for x in lp],
            "inside": [bool(np.isfinite(x)) for x in lp],
            "mean": [float(stats_mean(m)) for m in marg],
            "std": [float(stats_std(m)) for m in marg],
        })

    mean = np.array([1.0, -1.0, 0.5])
    a = rng.normal(size=(3, 3))
    cov = a @ a.T + 0.5 * np.eye(3)
    theta = rng.multivariate_normal(mean, cov, size=10)
    lp = stats.multivariate_normal(mean, cov).logpdf(theta)
    out.append({
        "name": "mvn",
        "prior": {"kind": "mvn", "mean": mean.tolist(), "cov": cov.tolist()},
        "theta": theta.tolist(),
        "log_prob": lp.tolist(),
        "inside": [True] * len(theta),
        "mean": mean.tolist(),
        "std": np.sqrt(np.diag(cov)).tolist(),
    })
    OUT.write_text(json.dumps({"generator": "scipy " + __import__("scipy").__version__, "cases": out}, indent=1))
    print("wrote", OUT)


def stats_mean(m):
    if m["kind"] == "uniform":
        return 0.5 * (m["lower"] + m["upper"])
    if m["kind"] == "normal":
        return m["mean"]
    return stats.lognorm(s=m["std"], scale=np.exp(m["mean"])).mean()


def stats_std(m):
    if m["kind"] == "uniform":
        return (m["upper"] - m["lower"]) / np.sqrt(12)
    if m["kind"] == "normal":
        return m["std"]
    return stats.lognorm(s=m["std"], scale=np.exp(m["mean"])).std()


if __name__ == "__main__":
    main()

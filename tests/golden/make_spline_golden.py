#!/usr/bin/env python3
"""Golden values for the rational-quadratic spline (core/common/rq_spline).

The reference is nflows' unconstrained_rational_quadratic_spline with
tails="linear" and tail_bound=3, on random parameters and inputs that cover
the interior, the exact bounds and the identity tails. Inputs and parameters
are exactly representable in float32, and the reference is evaluated both in
float64 ("forward", "inverse") and in float32 ("forward_float32",
"inverse_float32"), so each precision is compared like with like. The C++ test (tests/flow/test_rq_spline.cpp) reads the JSON
written here and needs no Python.

Usage: .deps/venv/bin/python tests/golden/make_spline_golden.py
Writes tests/golden/flow/rq_spline_golden.json.
"""
import json
import os

import numpy as np
import torch
import importlib.metadata
from nflows.transforms.splines.rational_quadratic import (
    unconstrained_rational_quadratic_spline,
)

TAIL_BOUND = 3.0
SEED = 20230611


def make_case(rng, name, n, d, k, scale):
    f32 = lambda a: a.astype(np.float32).astype(np.float64)
    widths = f32(rng.normal(0.0, scale, size=(n, d, k)))
    heights = f32(rng.normal(0.0, scale, size=(n, d, k)))
    derivs = f32(rng.normal(0.0, scale, size=(n, d, k - 1)))
    x = rng.uniform(-1.4 * TAIL_BOUND, 1.4 * TAIL_BOUND, size=(n, d))
    # Exact bounds and just inside/outside them exercise the tail switch.
    special = [-TAIL_BOUND, TAIL_BOUND, -TAIL_BOUND + 1e-4, TAIL_BOUND - 1e-4,
               -TAIL_BOUND - 1e-4, TAIL_BOUND + 1e-4, 0.0, 10.0, -10.0]
    x.flat[: len(special)] = special
    x = f32(x)
    out = {}
    for suffix, dtype in (("", torch.float64), ("_float32", torch.float32)):
        t = lambda a: torch.tensor(a, dtype=dtype)
        for direction, inverse in (("forward", False), ("inverse", True)):
            y, lad = unconstrained_rational_quadratic_spline(
                t(x), t(widths), t(heights), t(derivs), inverse=inverse,
                tails="linear", tail_bound=TAIL_BOUND)
            out[direction + suffix] = {
                "outputs": y.double().numpy().ravel().tolist(),
                "logabsdet": lad.double().numpy().ravel().tolist()}
    return {
        "name": name, "n": n, "d": d, "num_bins": k, "tail_bound": TAIL_BOUND,
        "inputs": x.ravel().tolist(),
        "unnormalized_widths": widths.ravel().tolist(),
        "unnormalized_heights": heights.ravel().tolist(),
        "unnormalized_derivatives": derivs.ravel().tolist(),
        **out,
    }


def main():
    rng = np.random.default_rng(SEED)
    cases = [
        make_case(rng, "k10_mild", 96, 3, 10, 1.0),
        make_case(rng, "k10_sharp", 96, 3, 10, 2.5),
        make_case(rng, "k4", 64, 2, 4, 1.5),
    ]
    doc = {
        "generator": "tests/golden/make_spline_golden.py",
        "reference": "nflows.transforms.splines.rational_quadratic."
                     "unconstrained_rational_quadratic_spline (tails='linear')",
        "nflows_version": importlib.metadata.version("nflows"),
        "torch_version": torch.__version__,
        "layout": "row-major; inputs (n,d), widths/heights (n,d,K), derivatives (n,d,K-1)",
        "min_bin_width": 1e-3, "min_bin_height": 1e-3, "min_derivative": 1e-3,
        "cases": cases,
    }
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "flow",
                        "rq_spline_golden.json")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(doc, f, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()

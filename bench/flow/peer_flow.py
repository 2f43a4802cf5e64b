#!/usr/bin/env python3
"""Plain-PyTorch peer of galaxyml's GalacticFlow model, for benchmarking.

The same architecture written directly in PyTorch, the way a Python user
would write it: per block an LU-parametrised 1x1 linear layer followed by a
double rational-quadratic spline coupling whose parameters come from the
elementwise product of an MLP of the other half of the data and an MLP of the
galaxy condition; log10 + z-score normalisation in front. It reads the
weights from a galaxyml model file (plain HDF5) with h5py, so both sides
compute the same function, and checks that before any timing.

Usage:
  peer_flow.py --model m.h5 --conditions c0,c1,.. --threads 2 --n 1000000
               [--check stars.f32 log_prob.f64]
Prints one JSON line with stars/s for sampling and log_prob.
"""
import argparse
import json
import math
import time

import h5py
import numpy as np
import torch
import torch.nn.functional as F

CHUNK = 65536


def mlp(x, layers, slope):
    for i, (w, b) in enumerate(layers):
        x = F.linear(x, w, b)
        if i + 1 < len(layers):
            x = F.leaky_relu(x, slope)
    return x


def knots(logits, min_size, bound):
    k = logits.shape[-1]
    sizes = min_size + (1 - min_size * k) * torch.softmax(logits, -1)
    cum = F.pad(torch.cumsum(sizes, -1), (1, 0))
    cum = 2 * bound * cum - bound
    cum[..., 0] = -bound
    cum[..., -1] = bound
    return cum, cum[..., 1:] - cum[..., :-1]


def rq_spline(x_in, params, inverse, cfg):
    """Rational-quadratic spline (Durkan et al. 2019) with identity tails."""
    k = cfg["num_bins"]
    bound = cfg["tail_bound"]
    inside = (x_in >= -bound) & (x_in <= bound)
    x = x_in.clamp(-bound, bound)
    cw, w = knots(params[..., :k], cfg["min_bin_width"], bound)
    ch, h = knots(params[..., k:2 * k], cfg["min_bin_height"], bound)
    d = cfg["min_derivative"] + F.softplus(params[..., 2 * k:])
    d = F.pad(d, (1, 1), value=1.0)
    loc = ch if inverse else cw
    idx = (x.unsqueeze(-1) >= loc[..., 1:k]).sum(-1, keepdim=True)

    def g(t, off=0):
        return t[..., off:].gather(-1, idx).squeeze(-1) if off else t.gather(-1, idx).squeeze(-1)

    xk, wk, yk, hk = g(cw), g(w), g(ch), g(h)
    s = hk / wk
    d0, d1 = g(d), g(d, 1)
    ssum = d0 + d1 - 2 * s
    if inverse:
        dy = x - yk
        a = dy * ssum + hk * (s - d0)
        b = hk * d0 - dy * ssum
        c = -s * dy
        disc = (b * b - 4 * a * c).clamp_min(0)
        theta = 2 * c / (-b - disc.sqrt())
        out = theta * wk + xk
    else:
        theta = (x - xk) / wk
        tt = theta * (1 - theta)
        out = yk + hk * (s * theta * theta + d0 * tt) / (s + ssum * tt)
    tt = theta * (1 - theta)
    lad = torch.log(s * s * (d1 * theta * theta + 2 * s * tt + d0 * (1 - theta) ** 2)) - 2 * torch.log(
        s + ssum * tt)
    if inverse:
        lad = -lad
    return torch.where(inside, out, x_in), torch.where(inside, lad, torch.zeros_like(lad))


class PeerFlow:
    def __init__(self, path):
        with h5py.File(path, "r") as f:
            self.cfg = json.loads(f.attrs["config"])
            t = {k: torch.from_numpy(np.asarray(v)) for k, v in f["tensors"].items()}
            n = {k: torch.from_numpy(np.asarray(v)) for k, v in f["normalization"].items()}
        c = self.cfg
        self.d = c["data_dim"]
        self.d1 = self.d // 2
        self.slope = c["leaky_relu_slope"]
        self.data_mean = n["data_mean"].float()
        self.data_std = n["data_std"].float()
        self.data_log = n["data_log10"].bool()
        self.cond_mean = n["condition_mean"].float()
        self.cond_std = n["condition_std"].float()
        self.cond_log = n["condition_log10"].bool()
        self.blocks = []
        d = self.d
        tril = torch.tril_indices(d, d, -1)
        triu = torch.triu_indices(d, d, 1)
        for i in range(c["num_blocks"]):
            p = f"blocks.{i}."
            lower = torch.eye(d)
            lower[tril[0], tril[1]] = t[p + "linear.lower"].float()
            upper = torch.diag(t[p + "linear.sign_s"].float() * t[p + "linear.log_s"].float().exp())
            upper[triu[0], triu[1]] = t[p + "linear.upper"].float()
            perm = t[p + "linear.permutation"].float()
            weight = perm @ lower @ upper
            nets = {}
            for half in ("first", "second"):
                for kind in ("data_net", "condition_net"):
                    layers = []
                    for j in range(0, 2 * c["hidden_layers"] + 1, 2):
                        q = f"{p}coupling.{half}.{kind}.{j}."
                        layers.append((t[q + "weight"].float(), t[q + "bias"].float()))
                    nets[(half, kind)] = layers
            self.blocks.append({"weight": weight, "inv_weight": torch.linalg.inv(weight),
                                "logdet": t[p + "linear.log_s"].float().sum(), "nets": nets})

    def norm_condition(self, cond):
        c = torch.where(self.cond_log, torch.log10(cond.clamp_min(1e-30)), cond)
        return (c - self.cond_mean) / self.cond_std

    def coupling_params(self, block, half, given, cond):
        nets = block["nets"]
        return (mlp(given, nets[(half, "data_net")], self.slope) *
                mlp(cond, nets[(half, "condition_net")], self.slope)).view(given.shape[0], -1,
                                                                            3 * self.cfg["num_bins"] - 1)

    def log_prob(self, x, cond):
        c = self.norm_condition(cond)
        pos = (x > 0) | ~self.data_log
        safe = torch.where(self.data_log & (x > 0), x, torch.ones_like(x))
        v = torch.where(self.data_log, torch.log10(safe), x)
        u = (v - self.data_mean) / self.data_std
        logdet = torch.where(self.data_log, -torch.log(safe) - math.log(math.log(10)),
                             torch.zeros_like(x)).sum(-1) - self.data_std.log().sum()
        for b in self.blocks:
            u = u @ b["weight"].T
            logdet = logdet + b["logdet"]
            u1, u2 = u[:, :self.d1], u[:, self.d1:]
            y2, l2 = rq_spline(u2, self.coupling_params(b, "second", u1, c), False, self.cfg)
            y1, l1 = rq_spline(u1, self.coupling_params(b, "first", y2, c), False, self.cfg)
            u = torch.cat([y1, y2], 1)
            logdet = logdet + l1.sum(-1) + l2.sum(-1)
        lp = -0.5 * (u * u).sum(-1) - 0.5 * self.d * math.log(2 * math.pi) + logdet
        return torch.where(pos.all(-1), lp, torch.full_like(lp, -math.inf))

    def sample(self, z, cond):
        c = self.norm_condition(cond)
        u = z
        for b in reversed(self.blocks):
            y1, y2 = u[:, :self.d1], u[:, self.d1:]
            x1, _ = rq_spline(y1, self.coupling_params(b, "first", y2, c), True, self.cfg)
            x2, _ = rq_spline(y2, self.coupling_params(b, "second", x1, c), True, self.cfg)
            u = torch.cat([x1, x2], 1) @ b["inv_weight"].T
        v = u * self.data_std + self.data_mean
        return torch.where(self.data_log, 10 ** v, v)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--conditions", required=True, help="comma-separated galaxy conditions")
    ap.add_argument("--check", nargs=2, metavar=("STARS_NPY", "LOGPROB_NPY"),
                    help="raw float32 stars [n, d] and float64 galaxyml log_prob [n] to reproduce")
    ap.add_argument("--repeat", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    flow = PeerFlow(args.model)
    cond = torch.tensor([float(v) for v in args.conditions.split(",")]).view(1, -1)
    out = {"threads": torch.get_num_threads(), "n": args.n, "torch": torch.__version__}
    with torch.inference_mode():
        if args.check:
            stars = torch.from_numpy(np.fromfile(args.check[0], np.float32).reshape(-1, flow.d))
            ref = np.fromfile(args.check[1], np.float64)
            lp = flow.log_prob(stars, cond).double().numpy()
            err = float(np.max(np.abs(lp - ref) / (1 + np.abs(ref))))
            out["check_max_rel_err"] = err
            if not err < 1e-3:
                raise SystemExit(f"peer log_prob differs from galaxyml's: max rel err {err}")
        gen = torch.Generator().manual_seed(0)
        best_s = best_l = math.inf
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            samples = []
            for first in range(0, args.n, CHUNK):
                m = min(CHUNK, args.n - first)
                samples.append(flow.sample(torch.randn(m, flow.d, generator=gen), cond))
            best_s = min(best_s, time.perf_counter() - t0)
            x = torch.cat(samples)
            t0 = time.perf_counter()
            for first in range(0, args.n, CHUNK):
                flow.log_prob(x[first:first + CHUNK], cond)
            best_l = min(best_l, time.perf_counter() - t0)
        out["sample_stars_per_s"] = args.n / best_s
        out["log_prob_stars_per_s"] = args.n / best_l
        out["sample_s"] = best_s
        out["log_prob_s"] = best_l
    print(json.dumps(out))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""sbi peer of galaxyml's posterior family (SEDflow), for benchmarking.

Builds the density estimator the way SEDflow does with sbi,
posterior_nn("maf", hidden_features=500, num_transforms=15) (nflows MAF,
2 MADE blocks of tanh units, a RandomPermutation after each, z-scored theta
and x), wraps it in a DirectPosterior with the BoxUniform SED prior, and
copies galaxyml's trained weights, permutations and z-scores into it from the
model file (plain HDF5, read with h5py), so both compute the same function.
Before any timing it recomputes galaxyml's log_prob of galaxyml's draws.

Usage:
  peer_sbi.py --export-x TRAIN.h5 N OUT.f64     first N rows of /x, raw float64
  peer_sbi.py --model m.h5 --train t.h5 --x-file x.f64 --threads 2 ...
Prints one JSON line (times, rates, the agreement figure).
"""
import argparse
import importlib.metadata
import json
import math
import time
import warnings

import h5py
import numpy as np
import torch


def export_x(train, n, out):
    with h5py.File(train, "r") as f:
        x = np.asarray(f["x"][:n], dtype=np.float64)
    if x.shape[0] < n:
        raise SystemExit(f"{train} has only {x.shape[0]} rows")
    x.tofile(out)


def build_posterior(model_path, train_path):
    from sbi.inference import DirectPosterior
    from sbi.neural_nets import posterior_nn
    from sbi.utils import BoxUniform
    from nflows.transforms import (MaskedAffineAutoregressiveTransform, PointwiseAffineTransform,
                                   RandomPermutation)

    with h5py.File(model_path, "r") as f:
        cfg = json.loads(f.attrs["config"])
        t = {k: torch.from_numpy(np.asarray(v)) for k, v in f["tensors"].items()}
        norm = {k: torch.from_numpy(np.asarray(v)) for k, v in f["normalization"].items()}
    assert cfg["estimator"] == "maf" and cfg["activation"] == "tanh", cfg
    with h5py.File(train_path, "r") as f:
        theta_b = torch.as_tensor(np.asarray(f["theta"][:2000]), dtype=torch.float32)
        x_b = torch.as_tensor(np.asarray(f["x"][:2000]), dtype=torch.float32)
    # SEDflow's sbi estimator; the batches only size it and seed its z-scores,
    # which are overwritten with galaxyml's below.
    build = posterior_nn(model="maf", hidden_features=cfg["hidden_width"],
                         num_transforms=cfg["num_blocks"], num_blocks=cfg["made_blocks"])
    est = build(theta_b, x_b)
    flow = est.net
    tr = list(flow._transform._transforms)
    with torch.no_grad():
        # z-score of theta: a PointwiseAffineTransform (shift -m/s, scale 1/s).
        za = tr[0]
        assert isinstance(za, PointwiseAffineTransform)
        m, s = norm["theta_mean"], norm["theta_std"]
        za._shift.copy_((-m / s).float())
        za._scale.copy_((1 / s).float())
        # z-score of x: Standardize in front of the (identity) embedding net.
        std_x = flow._embedding_net[0]
        std_x._mean.copy_(norm["x_mean"].float())
        std_x._std.copy_(norm["x_std"].float())
        b = 0
        for layer in tr[1:]:
            if isinstance(layer, RandomPermutation):
                layer._permutation.copy_(t[f"permutation{b}"].round().long())
                b += 1
                continue
            assert isinstance(layer, MaskedAffineAutoregressiveTransform)
            net = layer.autoregressive_net
            names = {"input": net.initial_layer, "output": net.final_layer,
                     "context": net.context_layer}
            for i, blk in enumerate(net.blocks):
                names[f"block{i}"] = blk.linear
            for name, lin in names.items():
                w = t[f"blocks.{b}.{name}_weight"]
                assert lin.weight.shape == w.shape, (name, lin.weight.shape, w.shape)
                lin.weight.copy_(w)
                lin.bias.copy_(t[f"blocks.{b}.{name}_bias"])
                if name != "context":
                    # Same sequential masks on both sides.
                    assert torch.equal(lin.mask.float(), t[f"blocks.{b}.{name}_mask"]), name
        assert b == cfg["num_blocks"]
    est.eval()
    prior = BoxUniform(low=torch.tensor(cfg["prior_lower"], dtype=torch.float32),
                       high=torch.tensor(cfg["prior_upper"], dtype=torch.float32))
    return DirectPosterior(posterior_estimator=est, prior=prior), est, cfg


def summaries(s):
    """Median, 16th/84th percentiles, mean, std per galaxy and parameter, as
    gml_posterior_summarize returns them: s (n, G, D) -> (G, D, 5)."""
    q = torch.quantile(s, torch.tensor([0.5, 0.16, 0.84]), dim=0)
    return torch.cat([q.permute(1, 2, 0), s.mean(0).unsqueeze(-1), s.std(0).unsqueeze(-1)], -1)


def best_of(repeat, fn):
    best = math.inf
    out = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--export-x", nargs=3, metavar=("TRAIN", "N", "OUT"))
    ap.add_argument("--model")
    ap.add_argument("--train")
    ap.add_argument("--x-file")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--n-samples", type=int, default=10000, help="(a) draws for one x")
    ap.add_argument("--catalog-galaxies", type=int, default=20,
                    help="(b) galaxies the peer samples (its rate is per galaxy)")
    ap.add_argument("--catalog-samples", type=int, default=1000)
    ap.add_argument("--loop-galaxies", type=int, default=5,
                    help="(b) galaxies for the posterior.sample loop (0: skip)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--catalog-repeat", type=int, default=1)
    ap.add_argument("--check", nargs=2, metavar=("THETA_F64", "LOGPROB_F64"))
    args = ap.parse_args()
    if args.export_x:
        export_x(args.export_x[0], int(args.export_x[1]), args.export_x[2])
        return
    torch.set_num_threads(args.threads)
    warnings.filterwarnings("ignore")
    posterior, est, cfg = build_posterior(args.model, args.train)
    d, c = cfg["theta_dim"], cfg["x_dim"]
    n_gal = max(args.catalog_galaxies, args.loop_galaxies, 1)
    xs = torch.from_numpy(np.fromfile(args.x_file, np.float64)[: n_gal * c].reshape(n_gal, c)).float()
    x0 = xs[:1]
    out = {"impl": "sbi", "sbi": importlib.metadata.version("sbi"),
           "nflows": importlib.metadata.version("nflows"), "torch": torch.__version__,
           "threads": torch.get_num_threads(), "n_samples": args.n_samples}
    with torch.no_grad():
        if args.check:
            theta = torch.from_numpy(np.fromfile(args.check[0], np.float64).reshape(-1, d))
            ref = np.fromfile(args.check[1], np.float64)
            lp = est.log_prob(theta.float().unsqueeze(1), x0).squeeze(1).double().numpy()
            diff = np.abs(lp - ref)
            out["check_rows"] = int(ref.size)
            out["check_max_rel_err"] = float(np.max(diff / np.abs(ref)))
            out["check_max_rel_err_1p"] = float(np.max(diff / (1 + np.abs(ref))))
            out["check_max_abs_err"] = float(np.max(diff))
            if not out["check_max_rel_err_1p"] < 1e-3:
                raise SystemExit(f"sbi log_prob differs from galaxyml's: {out}")

        # (a) one observation: what users call (rejection outside the prior) ...
        torch.manual_seed(0)
        t, s = best_of(args.repeat, lambda: posterior.sample(
            (args.n_samples,), x=x0, show_progress_bars=False))
        assert s.shape == (args.n_samples, d)
        out["sample_s"] = t
        out["sample_draws_per_s"] = args.n_samples / t
        # ... and the raw flow, no rejection (the same work as galaxyml's call).
        t, s = best_of(args.repeat, lambda: est.sample((args.n_samples,), condition=x0))
        out["raw_sample_s"] = t
        out["raw_sample_draws_per_s"] = args.n_samples / t
        low = torch.tensor(cfg["prior_lower"])
        high = torch.tensor(cfg["prior_upper"])
        s = s[:, 0]
        out["raw_outside_fraction"] = float((~((s >= low) & (s <= high)).all(-1)).float().mean())

        # (c) log q(theta | x0) of the draws, rows/s: the estimator (the same
        # function as gml_posterior_log_prob) and the user call.
        theta = s.unsqueeze(1).contiguous()
        t, _ = best_of(args.repeat, lambda: est.log_prob(theta, x0))
        out["log_prob_rows"] = args.n_samples
        out["log_prob_s"] = t
        out["log_prob_rows_per_s"] = args.n_samples / t
        t, _ = best_of(args.repeat, lambda: posterior.log_prob(s, x=x0, norm_posterior=False))
        out["posterior_log_prob_rows_per_s"] = args.n_samples / t

        # (b) catalog: sample_batched (vectorised over observations in sbi
        # 0.27, with rejection) over a subset; the rate is per galaxy.
        g = args.catalog_galaxies
        if g > 0:
            def batched():
                s = posterior.sample_batched((args.catalog_samples,), x=xs[:g],
                                             show_progress_bars=False)
                assert s.shape == (args.catalog_samples, g, d)
                return summaries(s)
            t, _ = best_of(args.catalog_repeat, batched)
            out["catalog_galaxies"] = g
            out["catalog_samples"] = args.catalog_samples
            out["catalog_s"] = t
            out["catalog_galaxies_per_s"] = g / t
            # The same without rejection (draws outside the prior kept, as
            # galaxyml draws them): the flow's own cost, free of the leakage
            # of the galaxy with the lowest acceptance, which paces the
            # batched rejection loop.
            def batched_raw():
                s = posterior.sample_batched((args.catalog_samples,), x=xs[:g],
                                             show_progress_bars=False,
                                             reject_outside_prior=False)
                summaries(s)
                return s
            t, s = best_of(args.catalog_repeat, batched_raw)
            out["catalog_raw_s"] = t
            out["catalog_raw_galaxies_per_s"] = g / t
            low = torch.tensor(cfg["prior_lower"])
            high = torch.tensor(cfg["prior_upper"])
            acc = ((s >= low) & (s <= high)).all(-1).float().mean(0)  # per galaxy
            out["catalog_acceptance_mean"] = float(acc.mean())
            out["catalog_acceptance_min"] = float(acc.min())
        g = args.loop_galaxies
        if g > 0:
            def loop():
                for i in range(g):
                    summaries(posterior.sample((args.catalog_samples,), x=xs[i:i + 1],
                                               show_progress_bars=False).unsqueeze(1))
            t, _ = best_of(args.catalog_repeat, loop)
            out["loop_galaxies"] = g
            out["loop_s"] = t
            out["loop_galaxies_per_s"] = g / t
    print(json.dumps(out))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""A posterior trained by sbi, sampled by sbi and by galaxyml after import.

Trains sbi's NPE (the density estimator "maf", or with --estimator nsf
sbi's spline couplings, with sbi's defaults: 5 transforms of 50 hidden
units, z-scored theta and x) on a 5-parameter,
8-observable linear-Gaussian simulator with a BoxUniform prior, converts
it with galaxyml.convert.sbi, and times in one process, on the same
threads:
  (a) 10,000 draws for one observation: sbi's DirectPosterior.sample
      (rejecting draws outside the prior, its default) and without
      rejection (its raw estimator), and galaxyml's gml_posterior_sample;
  (b) catalog throughput: 1,000 draws for each of N observations
      (sbi: sample_batched with rejection, and its raw estimator batched
      over the observations; galaxyml: one gml_posterior_sample call);
  (c) log q of 10,000 (theta, x) pairs.
Before timing it checks that both compute the same log q on galaxyml's
draws. Prints a Markdown table row per measurement and one JSON line.

    bench/posterior/imported_sbi.py [--threads 2] [--sims 20000] [--obs 200] [--repeats 3]
                                    [--estimator maf|nsf]
"""
import argparse
import json
import os
import statistics
import sys
import tempfile
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "bindings", "python"))


def simulator(theta, gen):
    """x = A theta + 0.1 noise, a fixed 8 x 5 mixing matrix."""
    a = torch.tensor(np.random.default_rng(3).normal(size=(8, 5)), dtype=torch.float32)
    return theta @ a.T + 0.1 * torch.randn(theta.shape[0], 8, generator=gen)


def median_time(fn, repeats):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--sims", type=int, default=20000)
    ap.add_argument("--obs", type=int, default=200)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--estimator", choices=("maf", "nsf"), default="maf")
    args = ap.parse_args()

    import galaxyml
    from galaxyml.convert import sbi as gsbi
    from sbi.inference import NPE
    from sbi.utils import BoxUniform

    galaxyml.init(num_threads=args.threads)
    torch.set_num_threads(args.threads)
    gen = torch.Generator().manual_seed(1)
    torch.manual_seed(1)
    prior = BoxUniform(low=-2 * torch.ones(5), high=2 * torch.ones(5))
    theta = prior.sample((args.sims,))
    x = simulator(theta, gen)
    work = tempfile.mkdtemp(prefix="gml_bench_imported_sbi_")
    os.chdir(work)  # sbi writes its training logs to ./sbi-logs
    npe = NPE(prior=prior, density_estimator=args.estimator, show_progress_bars=False)
    t0 = time.perf_counter()
    estimator = npe.append_simulations(theta, x).train(max_num_epochs=60)
    train_s = time.perf_counter() - t0
    posterior = npe.build_posterior(estimator)
    model_path = os.path.join(work, "npe.h5")
    gsbi.convert(posterior, model_path, x_train=x.numpy())

    x_obs = simulator(prior.sample((args.obs,)), gen)
    x0 = x_obs[:1]
    n_one = 10000
    with galaxyml.Context(device="cpu", seed=5) as ctx:
        model = ctx.load_model(model_path, family="posterior")
        # Both compute the same function: sbi's log q of galaxyml's draws.
        draws = model.sample(x0.numpy().astype(np.float64), 2000, seed=7)[0]
        lp_g = model.log_prob(draws, x0.numpy().astype(np.float64))
        with torch.no_grad():
            lp_s = estimator.log_prob(torch.as_tensor(draws, dtype=torch.float32).unsqueeze(1),
                                      condition=x0).squeeze(1).numpy()
        agreement = float(np.max(np.abs(lp_g - lp_s) / (1 + np.abs(lp_s))))

        rows = []

        def row(what, peer, t_peer, t_gml, unit):
            rows.append({"measurement": what, "sbi": peer, "sbi_s": t_peer, "galaxyml_s": t_gml,
                         "speedup": t_peer / t_gml, "unit": unit})

        xo = x0.numpy().astype(np.float64)
        t_g = median_time(lambda: model.sample(xo, n_one, seed=11), args.repeats)
        t_s = median_time(lambda: posterior.sample((n_one,), x=x0, show_progress_bars=False),
                          args.repeats)
        with torch.no_grad():
            t_raw = median_time(lambda: estimator.sample((n_one,), condition=x0), args.repeats)
        row("(a) 10,000 draws, one x", "DirectPosterior.sample (rejection)", t_s, t_g, "s")
        row("(a) 10,000 draws, one x", "estimator.sample (no rejection)", t_raw, t_g, "s")

        xs = x_obs.numpy().astype(np.float64)
        t_g = median_time(lambda: model.sample(xs, 1000, seed=13), args.repeats)
        t_s = median_time(lambda: posterior.sample_batched((1000,), x=x_obs,
                                                           show_progress_bars=False),
                          args.repeats)
        row(f"(b) 1,000 draws x {args.obs} x", "DirectPosterior.sample_batched (rejection)",
            t_s, t_g, "s")
        with torch.no_grad():
            t_raw = median_time(lambda: estimator.sample((1000,), condition=x_obs), args.repeats)
        row(f"(b) 1,000 draws x {args.obs} x", "estimator.sample (no rejection)", t_raw, t_g, "s")

        th = prior.sample((n_one,))
        xl = simulator(th, gen)
        th64, xl64 = th.numpy().astype(np.float64), xl.numpy().astype(np.float64)
        t_g = median_time(lambda: model.log_prob(th64, xl64), args.repeats)
        with torch.no_grad():
            t_s = median_time(lambda: estimator.log_prob(th.unsqueeze(0), condition=xl),
                              args.repeats)
        row("(c) log q of 10,000 pairs", "estimator.log_prob", t_s, t_g, "s")

    import sbi
    print(f"sbi {sbi.__version__}, torch {torch.__version__}, galaxyml {galaxyml.version()}, "
          f"{args.threads} threads; NPE trained in {train_s:.1f} s on {args.sims} simulations; "
          f"log q agreement {agreement:.2e} of 1 + |log q|")
    print("| measurement | sbi call | sbi (s) | galaxyml (s) | galaxyml speed-up |")
    print("|---|---|---:|---:|---:|")
    for r in rows:
        print(f"| {r['measurement']} | {r['sbi']} | {r['sbi_s']:.4f} | {r['galaxyml_s']:.4f} | "
              f"{r['speedup']:.2f}x |")
    print(json.dumps({"agreement": agreement, "train_s": train_s, "rows": rows}))
    return 0 if agreement < 1e-4 else 1


if __name__ == "__main__":
    sys.exit(main())

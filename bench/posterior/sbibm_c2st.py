#!/usr/bin/env python3
"""NPE accuracy on sbibm's tasks: galaxyml against sbi on the same simulations.

For each task, simulation budget and training seed, the task's prior and
simulator (sbibm 1.1.0) make one set of simulations; sbi's NPE and
galaxyml's posterior family are trained on exactly those (theta, x), with
each library's defaults for a generic simulator (sbi: 5 MADE transforms of
50 hidden units, z-scored, batch 200; galaxyml: the same sizes, chosen by
the training set, docs/posterior.md "Defaults"), once with a MAF and once
with an NSF. Each posterior gives 10,000 draws for each of the task's
observations, truncated to the prior (sbi's DirectPosterior default, and
galaxyml's gml_posterior_draw default), compared with sbibm's reference
posterior by sbibm's C2ST (0.5: indistinguishable). Training CPU time and
sampling time are measured side by side, in one process, on the same
threads.

Appends one JSON line per (task, budget, seed, estimator, library) to the
results file and skips those already there, so the grid (hours of CPU) can
be run a piece at a time; then prints a Markdown table of every row in the
file: the mean C2ST over observations and seeds, with the seed spread.

    # sbibm 1.1.0 pins sbi < 0.22 and pulls ABC packages; only its tasks and
    # metrics are used here, next to sbi 0.27:
    .deps/venv/bin/pip install --no-deps sbibm==1.1.0 pyro-ppl pyro-api opt_einsum
    .deps/venv/bin/pip install future autograd pandas scikit-learn
    bench/posterior/sbibm_c2st.py --tasks two_moons,gaussian_linear,slcp,bernoulli_glm \\
        --budgets 1000,10000,100000 --estimators maf,nsf --seeds 0,1,2 --observations 10
    bench/posterior/sbibm_c2st.py --table   # the table of what has been run
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

# Lueckmann et al. (2021), NPE: mean C2ST over the 10 observations, from
# the paper's results table (github.com/sbi-benchmark/results,
# benchmarking_sbi/results/main_paper.csv, algorithm "NPE").
PUBLISHED_NPE = {
    ("two_moons", 1000): 0.725, ("two_moons", 10000): 0.606, ("two_moons", 100000): 0.542,
    ("gaussian_linear", 1000): 0.694, ("gaussian_linear", 10000): 0.552,
    ("gaussian_linear", 100000): 0.506,
    ("slcp", 1000): 0.975, ("slcp", 10000): 0.901, ("slcp", 100000): 0.831,
    ("bernoulli_glm", 1000): 0.863, ("bernoulli_glm", 10000): 0.678,
    ("bernoulli_glm", 100000): 0.559,
}


def prior_of(task):
    """The task's prior as sbi wants it (a torch distribution) and as
    galaxyml stores it (JSON, docs/posterior.md "Priors")."""
    from sbi.utils import BoxUniform
    p = task.get_prior_params()
    if "low" in p:
        low, high = p["low"].float(), p["high"].float()
        return BoxUniform(low=low, high=high), {"kind": "uniform", "lower": low.tolist(),
                                                 "upper": high.tolist()}
    cov = task.get_prior_dist().covariance_matrix.double()
    loc = p["loc"].double()
    torch_prior = torch.distributions.MultivariateNormal(loc.float(), covariance_matrix=cov.float())
    if torch.count_nonzero(cov - torch.diag(torch.diagonal(cov))) == 0:
        return torch_prior, {"kind": "normal", "mean": loc.tolist(),
                             "std": torch.sqrt(torch.diagonal(cov)).tolist()}
    return torch_prior, {"kind": "mvn", "mean": loc.tolist(), "cov": cov.tolist()}


def run_sbi(prior, theta, x, estimator, seed, observations, n_draws, work):
    from sbi.inference import NPE
    from sbi.neural_nets import posterior_nn
    torch.manual_seed(seed)
    os.chdir(work)  # sbi writes its training logs to ./sbi-logs
    npe = NPE(prior=prior, density_estimator=posterior_nn(model=estimator),
              show_progress_bars=False)
    c0, t0 = time.process_time(), time.perf_counter()
    est = npe.append_simulations(theta, x).train()
    train_cpu, train_wall = time.process_time() - c0, time.perf_counter() - t0
    posterior = npe.build_posterior(est)
    draws, t0 = [], time.perf_counter()
    for xo in observations:
        draws.append(posterior.sample((n_draws,), x=xo, show_progress_bars=False))
    epochs = npe.summary.get("epochs_trained", [-1])[-1] if hasattr(npe, "summary") else -1
    return draws, train_cpu, train_wall, time.perf_counter() - t0, epochs


def run_galaxyml(ctx, prior_json, theta, x, estimator, seed, observations, n_draws, work,
                 train_options=None):
    import galaxyml.posterior as gp
    sims, model_path = os.path.join(work, "sims.h5"), os.path.join(work, "model.h5")
    gp.write_training_set(ctx, theta.double().numpy(), x.double().numpy(), sims, prior=prior_json)
    c0, t0 = time.process_time(), time.perf_counter()
    gp.train(ctx, sims, model_path, estimator=estimator, seed=seed + 1, **(train_options or {}))
    train_cpu, train_wall = time.process_time() - c0, time.perf_counter() - t0
    model = ctx.load_model(model_path, family="posterior")
    epochs = -1  # logged by the library (GML_LOG_INFO), not returned
    draws, t0 = [], time.perf_counter()
    for i, xo in enumerate(observations):
        d = model.draw(xo.double().numpy().reshape(1, -1), n_draws, seed=100 + i)
        draws.append(torch.as_tensor(d.theta[0], dtype=torch.float32))
    return draws, train_cpu, train_wall, time.perf_counter() - t0, epochs


def read_results(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def read_done(path):
    return {(r["task"], r["budget"], r["seed"], r["estimator"], r["library"])
            for r in read_results(path)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tasks", default="two_moons,gaussian_linear,slcp,bernoulli_glm")
    ap.add_argument("--budgets", default="1000,10000,100000")
    ap.add_argument("--estimators", default="maf,nsf")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--observations", type=int, default=10)
    ap.add_argument("--draws", type=int, default=10000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--libraries", default="galaxyml,sbi")
    ap.add_argument("--results", default=os.path.join(HERE, "sbibm_results.jsonl"),
                    help="JSON lines, appended to; rows already there are not rerun")
    ap.add_argument("--table", action="store_true", help="only print the results' table")
    ap.add_argument("--galaxyml-options", default="{}",
                    help="JSON of extra gml_posterior_train_options fields (a variant; give it "
                         "its own --results file)")
    args = ap.parse_args()
    args.results = os.path.abspath(args.results)  # sbi's run changes directory

    results = read_results(args.results)
    if args.table:
        print_table(results)
        return 0
    done = read_done(args.results)

    import galaxyml
    import sbi
    import sbibm
    from sbibm.metrics import c2st
    from threadpoolctl import threadpool_limits

    galaxyml.init(num_threads=args.threads)
    torch.set_num_threads(args.threads)
    threadpool_limits(args.threads)  # the C2ST classifier's BLAS
    libraries = args.libraries.split(",")
    versions = {"sbibm": sbibm.__version__, "sbi": sbi.__version__, "torch": torch.__version__,
                "galaxyml": galaxyml.version(), "threads": args.threads}
    work = tempfile.mkdtemp(prefix="gml_bench_sbibm_")
    print(f"sbibm {sbibm.__version__}, sbi {sbi.__version__}, torch {torch.__version__}, "
          f"galaxyml {galaxyml.version()}, {args.threads} threads", flush=True)
    with galaxyml.Context(device="cpu", seed=1) as ctx:
        for task_name in args.tasks.split(","):
            task = sbibm.get_task(task_name)
            torch_prior, prior_json = prior_of(task)
            simulator = task.get_simulator()
            obs = [task.get_observation(num_observation=i)
                   for i in range(1, args.observations + 1)]
            refs = [task.get_reference_posterior_samples(num_observation=i)[:args.draws]
                    for i in range(1, args.observations + 1)]
            for budget in map(int, args.budgets.split(",")):
                for seed in map(int, args.seeds.split(",")):
                    todo = [(e, lib) for e in args.estimators.split(",") for lib in libraries
                            if (task_name, budget, seed, e, lib) not in done]
                    if not todo:
                        continue
                    torch.manual_seed(seed)
                    theta = task.get_prior()(num_samples=budget)
                    x = simulator(theta)
                    for estimator, lib in todo:
                        if (task_name, budget, seed, estimator, lib) in read_done(args.results):
                            continue  # another process of this script ran it meanwhile
                        if lib == "sbi":
                            out = run_sbi(torch_prior, theta, x, estimator, seed, obs,
                                          args.draws, work)
                        else:
                            out = run_galaxyml(ctx, prior_json, theta, x, estimator, seed, obs,
                                               args.draws, work,
                                               json.loads(args.galaxyml_options))
                        draws, train_cpu, train_wall, sample_s, epochs = out
                        scores = [float(c2st(r, d.float())) for r, d in zip(refs, draws)]
                        row = {"task": task_name, "budget": budget, "seed": seed,
                               "estimator": estimator, "library": lib,
                               "c2st": statistics.mean(scores), "c2st_per_obs": scores,
                               "train_cpu_s": train_cpu, "train_wall_s": train_wall,
                               "sample_s": sample_s, "epochs": epochs,
                               "observations": len(obs), "draws": args.draws,
                               "theta_sum": float(theta.double().sum()), **versions}
                        if lib == "galaxyml" and json.loads(args.galaxyml_options):
                            row["galaxyml_options"] = json.loads(args.galaxyml_options)
                        with open(args.results, "a") as f:
                            f.write(json.dumps(row) + "\n")
                        print(json.dumps(row), flush=True)
    print_table(read_results(args.results))
    return 0


def print_table(results):
    print("\nC2ST: mean over observations and seeds ± spread over seeds (number of seeds).")
    print("\n| task | sims | estimator | galaxyml C2ST | sbi C2ST | published NPE | "
          "train CPU galaxyml / sbi (s) | sampling galaxyml / sbi (s) |")
    print("|---|---:|---|---:|---:|---:|---:|---:|")
    keys = sorted({(r["task"], r["budget"], r["estimator"]) for r in results})
    for task_name, budget, estimator in keys:
        cell = {}
        for lib in ("galaxyml", "sbi"):
            rows = [r for r in results if (r["task"], r["budget"], r["estimator"], r["library"])
                    == (task_name, budget, estimator, lib)]
            if not rows:
                cell[lib] = ("-", "-", "-")
                continue
            c = [r["c2st"] for r in rows]
            spread = f" ± {statistics.stdev(c):.3f}" if len(c) > 1 else ""
            cell[lib] = (f"{statistics.mean(c):.3f}{spread} ({len(c)})",
                         f"{statistics.mean(r['train_cpu_s'] for r in rows):.0f}",
                         f"{statistics.mean(r['sample_s'] for r in rows):.1f}")
        pub = PUBLISHED_NPE.get((task_name, budget))
        print(f"| {task_name} | {budget} | {estimator} | {cell['galaxyml'][0]} | "
              f"{cell['sbi'][0]} | {pub if pub else '-'} | {cell['galaxyml'][1]} / "
              f"{cell['sbi'][1]} | {cell['galaxyml'][2]} / {cell['sbi'][2]} |")


if __name__ == "__main__":
    sys.exit(main())

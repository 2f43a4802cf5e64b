"""Priors other than a box, from numpy simulations to truncated draws: the
prior given as a dict (or JSON text) where a training set is made, stored in
the model, and the draws restricted to its support (sbi's truncation), also
by a Python log density."""
import json

import h5py
import numpy as np
import pytest

import galaxyml

# Stellar-mass fraction in [0, 1] and an unbounded log-metallicity offset:
# bounded on one axis only, so truncation has something to cut on axis 0
# and nothing on axis 1.
MIXED_PRIOR = {"kind": "independent",
               "marginals": [{"kind": "uniform", "lower": 0, "upper": 1},
                             {"kind": "normal", "mean": 0, "std": 1}]}
NORMAL_PRIOR = {"kind": "normal", "mean": [0.5, 0.0], "std": [0.3, 1.0]}

# Observations at the edge of the bounded axis (most mass of the flow spills
# past 0 or 1) and one in the middle.
X_OBS = np.array([[0.98, 0.5, 0.49], [0.02, -1.0, -0.02], [0.5, 0.0, 0.0]])


def photometry(theta, rng):
    """x = a noisy, slightly non-linear view of theta."""
    n = theta.shape[0]
    return np.column_stack([theta[:, 0] + 0.05 * rng.standard_normal(n),
                            theta[:, 1] + 0.05 * rng.standard_normal(n),
                            theta[:, 0] * theta[:, 1] + 0.05 * rng.standard_normal(n)])


def trained(ctx, folder, theta, x, prior, name):
    sims, model = folder / f"{name}_sims.h5", folder / f"{name}.h5"
    report = galaxyml.posterior.write_training_set(ctx, theta, x, sims, prior=prior,
                                                   theta_names=["frac", "dz"])
    assert report.rows_written == theta.shape[0]
    # The default for a simulator other than the SED model: a flow on theta
    # as it is (as sbi), which leaks beyond the uniform fraction's bounds,
    # what truncation is tested on here.
    galaxyml.posterior.train(ctx, sims, model, num_blocks=2, hidden_width=16, max_epochs=20,
                             batch_size=100, learning_rate=5e-3, seed=2)
    return ctx.load_model(model, family="posterior")


def test_a_bounded_prior_is_modelled_inside_its_bounds_when_asked(ctx, tmp_path):
    rng = np.random.default_rng(5)
    theta = np.column_stack([rng.uniform(0, 1, 2000), rng.normal(0, 1, 2000)])
    sims, path = tmp_path / "sims.h5", tmp_path / "bounded.h5"
    galaxyml.posterior.write_training_set(ctx, theta, photometry(theta, rng), sims,
                                          prior=MIXED_PRIOR)
    galaxyml.posterior.train(ctx, sims, path, num_blocks=2, hidden_width=16, max_epochs=5,
                             batch_size=100, learning_rate=5e-3, seed=2, bounded_theta=1)
    with ctx.load_model(path, family="posterior") as model:
        d = model.describe()
        assert d["config"]["bounded_theta"] is True
        assert d["provenance"]["calibration"]["n_sims"] == 200
        plain = model.sample(X_OBS, 500, seed=4)
        assert np.all((plain[..., 0] > 0) & (plain[..., 0] < 1))
        _, _, n_proposed = model.draw(X_OBS, 500, seed=4)
        assert np.all(n_proposed == 500)


@pytest.fixture(scope="module")
def mixed(ctx, tmp_path_factory):
    rng = np.random.default_rng(1)
    theta = np.column_stack([rng.uniform(0, 1, 2000), rng.normal(0, 1, 2000)])
    return trained(ctx, tmp_path_factory.mktemp("mixed"), theta, photometry(theta, rng),
                   MIXED_PRIOR, "mixed")


@pytest.fixture(scope="module")
def normal(ctx, tmp_path_factory):
    rng = np.random.default_rng(2)
    theta = rng.normal(NORMAL_PRIOR["mean"], NORMAL_PRIOR["std"], size=(1000, 2))
    # JSON text rather than a dict: both forms are accepted.
    return trained(ctx, tmp_path_factory.mktemp("normal"), theta, photometry(theta, rng),
                   json.dumps(NORMAL_PRIOR), "normal")


def test_prior_round_trips_into_the_model(mixed, normal):
    d = mixed.describe()
    assert d["prior"] == MIXED_PRIOR
    assert d["prior_lower"] == [0.0, None] and d["prior_upper"] == [1.0, None]
    d = normal.describe()
    assert d["prior"] == NORMAL_PRIOR
    assert d["prior_lower"] == [None, None] and d["prior_upper"] == [None, None]


def test_write_training_set_counts_theta_outside_a_json_prior(ctx, tmp_path):
    theta = np.array([[0.5, 1.0], [1.5, 0.0], [-0.1, 9.0], [0.2, -3.0]])
    x = photometry(theta, np.random.default_rng(0))
    lognormal = {"kind": "lognormal", "mean": np.zeros(2), "std": np.ones(2)}
    r = galaxyml.posterior.write_training_set(ctx, theta, x, tmp_path / "a.h5", prior=MIXED_PRIOR)
    assert r.rows_outside_prior == 2  # 1.5 and -0.1 of the uniform fraction
    r = galaxyml.posterior.write_training_set(ctx, theta, x, tmp_path / "b.h5", prior=lognormal)
    assert r.rows_outside_prior == 3  # ln theta needs theta > 0: only the first row has it
    with pytest.raises(galaxyml.InvalidArgumentError):
        galaxyml.posterior.write_training_set(ctx, theta, x, tmp_path / "c.h5", prior=MIXED_PRIOR,
                                              prior_lower=[0, 0], prior_upper=[1, 1])
    np.savez(tmp_path / "sims.npz", theta=theta, x=x)
    r = galaxyml.posterior.import_simulations(ctx, tmp_path / "sims.npz", tmp_path / "d.h5",
                                              prior=json.dumps(MIXED_PRIOR))
    assert r.rows_outside_prior == 2


def test_draw_truncates_to_the_support(mixed):
    n = 500
    theta, n_accepted, n_proposed = mixed.draw(X_OBS, n, seed=4)
    assert theta.shape == (3, n, 2)
    assert np.all((theta[..., 0] >= 0) & (theta[..., 0] <= 1))
    assert np.all(n_accepted == n)
    # The edge observations needed replacements, the central one none.
    assert n_proposed[0] > n and n_proposed[1] > n and n_proposed[2] == n
    # The first proposals are sample()'s draws: those inside are all kept.
    plain = mixed.sample(X_OBS, n, seed=4)
    for i in range(3):
        inside = plain[i][(plain[i][:, 0] >= 0) & (plain[i][:, 0] <= 1)]
        assert n_proposed[i] - n >= n - len(inside)
        assert {tuple(r) for r in inside} <= {tuple(r) for r in theta[i]}
    again = mixed.draw(X_OBS, n, seed=4, truncate="auto")
    assert np.array_equal(again.theta, theta) and np.array_equal(again.n_proposed, n_proposed)


def test_truncate_off_is_sample_and_auto_leaves_an_unbounded_prior_alone(mixed, normal):
    for model in (mixed, normal):
        plain = model.sample(X_OBS, 64, seed=9)
        for off in ("off", "OFF", 0, False):
            theta, n_accepted, n_proposed = model.draw(X_OBS, 64, seed=9, truncate=off)
            assert np.array_equal(theta, plain)
            assert np.all(n_accepted == 64) and np.all(n_proposed == 64)
    theta, _, n_proposed = normal.draw(X_OBS, 64, seed=9)
    assert np.array_equal(theta, normal.sample(X_OBS, 64, seed=9)) and np.all(n_proposed == 64)
    # "on" rejects only non-finite draws under a normal prior: none here.
    assert np.array_equal(normal.draw(X_OBS, 64, seed=9, truncate="on").theta, theta)
    with pytest.raises(ValueError, match="truncate must be one of"):
        normal.draw(X_OBS, 4, truncate="sometimes")
    with pytest.raises(galaxyml.InvalidArgumentError, match="min_acceptance"):
        normal.draw(X_OBS, 4, min_acceptance=2.0)


def test_prior_log_prob_callback_decides_the_support(mixed):
    seen = []

    def positive_offset(theta):
        seen.append((theta.shape, theta.flags.writeable))
        return np.where(theta[:, 1] >= 0, 0.0, -np.inf)

    x = X_OBS[[0, 2]]
    theta, n_accepted, n_proposed = mixed.draw(x, 200, seed=4, prior_log_prob=positive_offset)
    assert np.all(theta[..., 1] >= 0) and np.all(n_accepted == 200)
    # The first sits at an offset of +0.5, the second at 0, half of it cut.
    assert n_proposed[0] == 200 and n_proposed[1] > 300
    assert seen and all(shape[1] == 2 and not writeable for shape, writeable in seen)
    # The host prior replaces the model's: axis 0 is no longer cut to [0, 1].
    assert np.any(theta[0, :, 0] > 1)
    # A support mask works as well as a log density.
    masked = mixed.draw(x, 200, seed=4, prior_log_prob=lambda t: t[:, 1] >= 0)
    assert np.array_equal(masked.theta, theta)


def test_prior_log_prob_failures_are_raised(mixed):
    def broken(theta):
        raise RuntimeError("no dust map here")

    with pytest.raises(galaxyml.CallbackError) as e:
        mixed.draw(X_OBS, 8, prior_log_prob=broken)
    assert isinstance(e.value.__cause__, RuntimeError)
    with pytest.raises(galaxyml.CallbackError, match="must return"):
        mixed.draw(X_OBS, 8, prior_log_prob=lambda t: np.zeros((len(t), 2)))


def test_low_acceptance_leaves_nan_rows(mixed):
    theta, n_accepted, n_proposed = mixed.draw(X_OBS, 50, seed=4, min_acceptance=0.5,
                                               prior_log_prob=lambda t: t[:, 1] > 50)
    assert np.all(n_accepted == 0) and np.all(n_proposed == 100)
    assert np.all(np.isnan(theta))


def test_draw_to_file_streams_the_same_draws(mixed, tmp_path):
    theta, _, _ = mixed.draw(X_OBS, 100, seed=6)
    mixed.draw_to_file(X_OBS, 100, tmp_path / "draws.npy", seed=6)
    assert np.array_equal(np.load(tmp_path / "draws.npy"), theta)
    cut = mixed.draw(X_OBS, 100, seed=6, prior_log_prob=lambda t: t[:, 1] < 0.5)
    mixed.draw_to_file(X_OBS, 100, tmp_path / "cut.npy", seed=6,
                       prior_log_prob=lambda t: t[:, 1] < 0.5)
    assert np.array_equal(np.load(tmp_path / "cut.npy"), cut.theta, equal_nan=True)


def test_catalog_run_truncate_and_min_acceptance(mixed, tmp_path):
    catalog = tmp_path / "obs.fits"
    with galaxyml.TableWriter(catalog) as w:
        for i in range(3):
            w.add_column(f"X{i}", galaxyml.COLUMN_FLOAT64)
        w.append(*X_OBS.T)
        w.commit()

    def run(**options):
        out = tmp_path / "run.fits"
        mixed.run_catalog(catalog, "X0,X1,X2", out, n_samples=200, seed=4, **options)
        with galaxyml.Catalog(out) as cat:
            values, _ = cat.read("FLAGS,N_OUTSIDE,N_DRAWS", dtype=np.float64)
        return values.astype(np.int64).T

    flags, n_outside, n_draws = run(truncate="on")
    _, n_accepted, n_proposed = mixed.draw(X_OBS, 200, seed=4)
    assert np.all(flags == 0) and np.all(n_draws == 200)
    assert np.array_equal(n_outside, n_proposed - n_accepted)
    flags, _, n_draws = run(truncate=1, min_acceptance=0.9)
    low = galaxyml.POSTERIOR_FLAG_LOW_ACCEPTANCE
    assert list(flags & low) == [low, low, 0]
    assert n_draws[0] < 200 and n_draws[1] < 200 and n_draws[2] == 200
    with pytest.raises(ValueError, match="truncate must be one of"):
        run(truncate="maybe")


def test_simulate_with_a_json_prior_and_a_python_prior(ctx, tmp_path):
    def simulator(theta, x):
        x[:, 0] = theta[:, 0] + theta[:, 1]
        x[:, 1] = theta[:, 0] - theta[:, 1]

    path = tmp_path / "normal.h5"
    galaxyml.posterior.simulate(ctx, simulator, None, None, 2, 4000, path, prior=NORMAL_PRIOR,
                                seed=1, batch_size=1000)
    with h5py.File(path, "r") as f:
        theta = f["theta"][...]
    assert theta.shape == (4000, 2)
    assert np.allclose(theta.mean(axis=0), NORMAL_PRIOR["mean"], atol=0.05)
    assert np.allclose(theta.std(axis=0), NORMAL_PRIOR["std"], rtol=0.05)

    # A host prior: a grid in the training-set row, on the support [0, 1] x
    # [0, 10], so the file can be checked exactly.
    calls = []

    def grid(theta, first_row, seed):
        calls.append((first_row, len(theta), seed))
        rows = np.arange(first_row, first_row + len(theta))
        theta[:, 0] = (rows % 10) / 10
        theta[:, 1] = rows / 100

    path = tmp_path / "grid.h5"
    galaxyml.posterior.simulate(ctx, simulator, [0, 0], [1, 10], 2, 250, path, prior_sample=grid,
                                seed=7, batch_size=100)
    assert calls == [(0, 100, 7), (100, 100, 7), (200, 50, 7)]
    with h5py.File(path, "r") as f:
        theta, x = f["theta"][...], f["x"][...]
    rows = np.arange(250)
    assert np.array_equal(theta, np.column_stack([(rows % 10) / 10, rows / 100]))
    assert np.array_equal(x[:, 0], theta[:, 0] + theta[:, 1])

    # Returning the draws works as well as filling them in place; a draw
    # outside the declared support stops the generation.
    galaxyml.posterior.simulate(ctx, simulator, [-np.inf, 0], [np.inf, 1], 2, 20,
                                tmp_path / "ret.h5", theta_dim=2, seed=1,
                                prior_sample=lambda t, first, seed: np.full(t.shape, 0.5))
    assert galaxyml.posterior.training_set_info(tmp_path / "ret.h5") == (2, 2, 20)
    with pytest.raises(galaxyml.CallbackError):
        galaxyml.posterior.simulate(ctx, simulator, [0, 0], [1, 1], 2, 20, tmp_path / "bad.h5",
                                    prior_sample=lambda t, first, seed: np.full(t.shape, 2.0))
    with pytest.raises(ValueError, match="theta_dim is unknown"):
        galaxyml.posterior.simulate(ctx, simulator, None, None, 2, 20, tmp_path / "no.h5",
                                    prior="not json")

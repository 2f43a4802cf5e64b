"""Simulations made outside galaxyml, brought in from numpy arrays and from
the files numpy and h5py write, then trained and sampled."""
import numpy as np
import pytest

import galaxyml
from galaxyml.errors import FormatError, InvalidArgumentError


def gaussian_linear(n, seed):
    rng = np.random.default_rng(seed)
    theta = rng.uniform(-1, 1, size=(n, 2))
    x = np.column_stack([theta[:, 0] + 0.1 * rng.standard_normal(n),
                         theta[:, 1] + 0.1 * rng.standard_normal(n),
                         theta[:, 0] - theta[:, 1] + 0.1 * rng.standard_normal(n)])
    return theta, x


def test_arrays_in_model_out(ctx, tmp_path):
    theta, x = gaussian_linear(400, 1)
    x[3, 1] = np.nan
    theta[5, 0] = 1.5  # outside the box below
    path = tmp_path / "sims.h5"
    report = galaxyml.posterior.write_training_set(
        ctx, theta, x, str(path), prior_lower=[-1, -1], prior_upper=[1, 1],
        theta_names=["a", "b"])
    assert (report.theta_dim, report.x_dim) == (2, 3)
    assert (report.rows_read, report.rows_written) == (400, 399)
    assert report.rows_nonfinite == 1
    assert report.rows_outside_prior == 1
    assert galaxyml.posterior.training_set_info(str(path)) == (2, 3, 399)

    model_path = tmp_path / "post.h5"
    galaxyml.posterior.train(ctx, str(path), str(model_path), num_blocks=2, hidden_width=16,
                             max_epochs=100, batch_size=50, seed=2,
                             learning_rate=5e-3)
    with ctx.load_model(str(model_path), family="posterior") as post:
        desc = post.describe()
        assert desc["theta"] == ["a", "b"]
        assert desc["prior_upper"] == [1.0, 1.0]
        draws = post.sample(np.array([[0.5, -0.5, 1.0]]), 2000, seed=4)[0]
    # x = theta + noise, theta0 - theta1 + noise: the posterior sits near
    # (0.5, -0.5) with a spread of about 0.1 / sqrt(1.5).
    assert np.allclose(draws.mean(axis=0), [0.5, -0.5], atol=0.1)
    assert np.all(draws.std(axis=0) < 0.2)

    with pytest.raises(InvalidArgumentError, match="the first is row 3"):
        galaxyml.posterior.write_training_set(ctx, theta, x, str(tmp_path / "r.h5"),
                                              reject_nonfinite=True)
    assert not (tmp_path / "r.h5").exists()


def test_files_numpy_and_h5py_wrote(ctx, tmp_path):
    theta, x = gaussian_linear(50, 3)
    np.savez_compressed(tmp_path / "sims.npz", params=theta, obs=x.astype(np.float32))
    np.save(tmp_path / "theta.npy", theta)
    np.save(tmp_path / "x.npy", np.asfortranarray(x))
    np.savetxt(tmp_path / "sims.csv", np.hstack([theta, x]), delimiter=",",
               header="m,t,u,g,r", comments="")
    expected = galaxyml.posterior.write_training_set(ctx, theta, x, str(tmp_path / "ref.h5"))
    for name, kwargs in [("sims.npz", dict(theta="params", x="obs")),
                         ("theta.npy", dict(x_path=tmp_path / "x.npy")),
                         ("sims.csv", dict(theta="m,t", x="*"))]:
        out = tmp_path / (name + ".h5")
        r = galaxyml.posterior.import_simulations(ctx, tmp_path / name, out, **kwargs)
        assert r == expected, name
        assert galaxyml.posterior.training_set_info(str(out)) == (2, 3, 50)

    with pytest.raises(FormatError) as e:
        galaxyml.posterior.import_simulations(ctx, tmp_path / "sims.npz", tmp_path / "no.h5")
    assert "no array 'theta'" in str(e.value) and "no array 'x'" in str(e.value)
    assert "Bring your own simulations" in str(e.value)
    assert not (tmp_path / "no.h5").exists()

"""galaxyml.torch: model files as PyTorch modules and back.

The modules must compute the library's densities (compared with the C ABI
through the binding on a few thousand points), write back byte-identical
files (same checksum), write a changed module that the library loads and
evaluates as the module does, and sample the library's distribution (a
classifier two-sample test against the C library's samples)."""
import copy

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import galaxyml  # noqa: E402
import galaxyml.torch as gtorch  # noqa: E402
from galaxyml import model_file  # noqa: E402

COND = np.array([[10.9, 7.0, 2.5, 0.014]])
# The published GalacticFlow spline and conditioner, not the defaults.
NON_DEFAULT_FLOW = {"num_blocks": 2, "hidden_width": 16, "hidden_layers": 2, "num_bins": 6,
                    "min_bin_width": 0, "min_bin_height": 0, "min_derivative": 0,
                    "conditioner_output_activation": True}
N_POINTS = 2500


def relative_error(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.max(np.abs(a - b) / np.maximum(1.0, np.abs(b))))


def classifier_accuracy(a, b, seed=0):
    """Cross-validated accuracy of a quadratic logistic classifier telling
    sample a from sample b (a classifier two-sample test): about 0.5 when
    both come from one distribution, higher when their means or
    covariances differ."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_score
    x = np.concatenate([a, b]).astype(np.float64)
    x = (x - x.mean(0)) / x.std(0)
    x = np.concatenate([x, x ** 2], axis=1)
    y = np.r_[np.zeros(len(a)), np.ones(len(b))]
    order = np.random.default_rng(seed).permutation(len(x))
    return cross_val_score(LogisticRegression(max_iter=500), x[order], y[order], cv=5).mean()


@pytest.fixture(scope="module")
def non_default_flow(ctx, tmp_path_factory):
    folder = tmp_path_factory.mktemp("torch_flow")
    stars = folder / "stars.h5"
    galaxyml.flow.simulate(ctx, stars, n_galaxies=3, n_stars=150,
                           conditions=[[10.5, 6, 2, 0.01], [10.9, 7, 2.5, 0.014],
                                       [11.1, 8, 3, 0.02]], seed=5)
    path = folder / "flow.h5"
    galaxyml.flow.train(ctx, stars, path, steps=10, batch_size=64, config=NON_DEFAULT_FLOW,
                        seed=7, validation_galaxies=1)
    return path


@pytest.fixture(scope="module")
def nsf_posterior(ctx, tmp_path_factory):
    def simulator(theta, x):
        x[:, 0] = theta[:, 0] + theta[:, 1]
        x[:, 1] = theta[:, 0] - theta[:, 1] * theta[:, 2]
        x[:, 2] = theta[:, 2] ** 2

    folder = tmp_path_factory.mktemp("torch_posterior")
    sims, path = folder / "sims.h5", folder / "nsf.h5"
    galaxyml.posterior.simulate(ctx, simulator, [0, 0, -1], [1, 1, 1], 3, 1000, sims, seed=1,
                                batch_size=500)
    galaxyml.posterior.train(ctx, sims, path, estimator="nsf", num_bins=5, num_blocks=2,
                             hidden_width=16, batch_size=256, max_epochs=2, seed=1)
    return path


def flow_points(c_model, n=N_POINTS):
    """Stars of the model itself, some outside the support (Z <= 0), and a
    second galaxy per row for the per-row conditions."""
    stars = c_model.sample(COND, n, seed=2)
    stars[:5, 6] = [0.0, -1e-3, -2.0, 0.0, -5.0]
    conds = np.repeat(COND, n, axis=0) * np.linspace(0.97, 1.03, n)[:, None]
    return stars, conds


@pytest.mark.parametrize("which", ["reference", "non_default"])
def test_flow_log_prob_equals_c_abi(ctx, ref, which, non_default_flow):
    path = ref.path(ref["flow"]["model"]) if which == "reference" else non_default_flow
    with ctx.load_model(path, family="flow") as c_model:
        stars, conds = flow_points(c_model)
        c_one = c_model.log_prob(stars, COND)
        c_rows = c_model.log_prob(stars, conds)
    module = gtorch.load(path)
    assert isinstance(module, gtorch.FlowModule) and isinstance(module, torch.nn.Module)
    if which == "non_default":
        assert module.cfg["conditioner_output_activation"] and module.cfg["min_derivative"] == 0
        assert isinstance(module.blocks[0].coupling.first.data_net[-1], torch.nn.LeakyReLU)
    with torch.no_grad():
        for m in (module, copy.deepcopy(module).double()):
            for stars_in in (stars, stars.astype(np.float64), torch.from_numpy(stars)):
                got = m.log_prob(stars_in, COND).numpy()
                assert np.array_equal(np.isinf(got), np.isinf(c_one))
                assert np.isneginf(got[:5]).all() and np.isfinite(got[5:]).all()
                assert relative_error(got[5:], c_one[5:]) <= 1e-5
            got = m.log_prob(stars, conds).numpy()
            assert np.isneginf(got[:5]).all()
            assert relative_error(got[5:], c_rows[5:]) <= 1e-5


def test_reference_flow_log_prob_array(ref):
    """The C program's own log_prob output, not only this process's."""
    r = ref["flow"]["log_prob"]
    module = gtorch.load(ref.path(ref["flow"]["model"])).double()
    with torch.no_grad():
        got = module.log_prob(ref.array(r["stars"]), ref.array(r["conditions"])).numpy()
    want = ref.array(r["log_prob"])
    finite = np.isfinite(want)
    assert np.array_equal(finite, np.isfinite(got))
    assert relative_error(got[finite], want[finite]) <= 1e-5


@pytest.mark.parametrize("which", ["reference_flow", "non_default_flow", "reference_posterior",
                                   "nsf_posterior"])
def test_round_trip_keeps_checksum(ref, tmp_path, which, non_default_flow, nsf_posterior):
    path = {"reference_flow": ref.path(ref["flow"]["model"]),
            "non_default_flow": non_default_flow,
            "reference_posterior": ref.path(ref["posterior"]["model"]),
            "nsf_posterior": nsf_posterior}[which]
    original = model_file.read(path)
    module = gtorch.load(path)
    assert set(module.state_dict()) == set(original.tensors) | set(original.normalization)
    # A module computing in float64 is written back in the stored dtypes.
    checksum = module.double().save(tmp_path / "copy.h5")
    assert checksum == original.checksum
    again = model_file.read(tmp_path / "copy.h5")
    assert again.checksum == checksum and again.config == original.config
    assert again.provenance == original.provenance
    for name, a in original.extra.items():
        assert np.array_equal(again.extra[name], a)
    # state_dict() into a module built from the config alone gives the same.
    fresh = type(module)(original.config, training_range=True)
    fresh.load_state_dict(module.state_dict())
    fresh._init_file(original, str(path))
    assert fresh.save(tmp_path / "fresh.h5") == original.checksum


def test_changed_flow_saves_what_it_computes(ctx, ref, tmp_path):
    module = gtorch.load(ref.path(ref["flow"]["model"]))
    with torch.no_grad():
        module.blocks[1].coupling.second.condition_net[0].bias.add_(0.25)
        module.blocks[0].linear.log_s.mul_(1.1)
    out = tmp_path / "changed.h5"
    checksum = module.save(out, provenance={"note": "perturbed"})
    assert checksum != model_file.read(ref.path(ref["flow"]["model"])).checksum
    assert model_file.read(out).provenance == {"note": "perturbed"}
    with ctx.load_model(out, family="flow") as c_model:
        stars = c_model.sample(COND, N_POINTS, seed=4)
        want = c_model.log_prob(stars, COND)
    with torch.no_grad():
        got = module.double().log_prob(stars, COND).numpy()
    assert relative_error(got, want) <= 1e-5


def test_flow_fine_tuning_gradients(non_default_flow, ref, ctx):
    for path in (ref.path(ref["flow"]["model"]), non_default_flow):
        module = gtorch.load(path).train()
        with ctx.load_model(path, family="flow") as c_model:
            stars = c_model.sample(COND, 512, seed=6)
        loss = -module.log_prob(stars, COND).mean()
        loss.backward()
        grads = [p.grad for p in module.parameters()]
        assert all(g is not None and torch.isfinite(g).all() for g in grads)
        assert sum(float(g.abs().sum()) for g in grads) > 0
        before = float(loss.detach())
        opt = torch.optim.Adam(module.parameters(), lr=1e-3)
        for _ in range(5):
            opt.zero_grad()
            loss = -module.log_prob(stars, COND).mean()
            loss.backward()
            opt.step()
        assert float(loss.detach()) < before
        # Samples are differentiable too (reparametrised).
        s = module.sample(COND, 64, generator=torch.Generator().manual_seed(1))
        s.pow(2).mean().backward()
        assert torch.isfinite(module.blocks[0].linear.lower.grad).all()


def test_flow_samples_match_c_library(ctx, ref, non_default_flow):
    two = np.array([[10.9, 7.0, 2.5, 0.014], [10.6, 6.5, 2.2, 0.012]])
    for path in (ref.path(ref["flow"]["model"]), non_default_flow):
        module = gtorch.load(path)
        with ctx.load_model(path, family="flow") as c_model:
            c_same = c_model.sample(two, 1000, seed=8)
            c_other = c_model.sample(COND, 2000, seed=21)
        with torch.no_grad():
            # The library's seed draws the same latent points: the same stars.
            same = module.sample(two, 1000, generator=torch.Generator().manual_seed(8)).numpy()
            t_stars = module.sample(COND, 2000, generator=torch.Generator().manual_seed(5))
            # Sampling inverts log_prob's map: back to the same latent.
            z = torch.randn(300, 10, generator=torch.Generator().manual_seed(9))
            x, ld_inv = module.double().from_latent(z, COND)
            z_back, ld, _ = module.to_latent(x, COND)
        assert same.shape == (2000, 10)
        # float32 through inverse splines (a different kernel in the
        # library): rounding grows to about 1e-4.
        assert relative_error(same, c_same) <= 1e-3
        assert torch.allclose(z_back, z.double(), atol=1e-6)
        assert torch.allclose(ld, -ld_inv, atol=1e-6)
        t_stars = t_stars.numpy()
        assert t_stars.shape == (2000, 10) and np.isfinite(t_stars).all()
        # Independent draws: one distribution for a classifier.
        assert classifier_accuracy(c_other, t_stars) < 0.55
    # The two-sample test can fail: a wider normalisation is told apart.
    wide = gtorch.load(ref.path(ref["flow"]["model"]))
    wide.data_std.mul_(1.3)
    with ctx.load_model(ref.path(ref["flow"]["model"]), family="flow") as c_model:
        c_other = c_model.sample(COND, 2000, seed=21)
    with torch.no_grad():
        t_stars = wide.sample(COND, 2000, generator=torch.Generator().manual_seed(5)).numpy()
    assert classifier_accuracy(c_other, t_stars) > 0.6


@pytest.mark.parametrize("which", ["maf", "nsf"])
def test_posterior_equals_c_abi(ctx, ref, tmp_path, which, nsf_posterior):
    path = ref.path(ref["posterior"]["model"]) if which == "maf" else nsf_posterior
    module = gtorch.load(path)
    assert isinstance(module, gtorch.PosteriorModule) and module.cfg["estimator"] == which
    theta_dim, x_dim = module.dims
    x = np.random.default_rng(1).normal(0.5, 0.3, size=(1, x_dim))
    xs = np.random.default_rng(2).normal(0.5, 0.3, size=(N_POINTS, x_dim))
    with ctx.load_model(path, family="posterior") as c_model:
        c_theta = c_model.sample(x, N_POINTS, seed=3)[0]
        c_one = c_model.log_prob(c_theta, x)
        c_rows = c_model.log_prob(c_theta, xs)
    with torch.no_grad():
        for m in (module, copy.deepcopy(module).double()):
            assert relative_error(m.log_prob(c_theta, x).numpy(), c_one) <= 1e-5
            assert relative_error(m.log_prob(c_theta, xs).numpy(), c_rows) <= 1e-5
        t_theta = module.double().sample(x, N_POINTS,
                                         generator=torch.Generator().manual_seed(4))
        # The library's per-observation streams: the same draws.
        same = module.sample(np.r_[x, xs[:2]], 300, seed=3)
    with ctx.load_model(path, family="posterior") as c_model:
        assert relative_error(same, c_model.sample(np.r_[x, xs[:2]], 300, seed=3)) <= 1e-5
    assert t_theta.shape == (1, N_POINTS, theta_dim)
    assert classifier_accuracy(c_theta, t_theta[0].numpy()) < 0.55
    # ... and a 30% wider posterior is told apart.
    wide = t_theta[0].numpy()
    wide = (wide - wide.mean(0)) * 1.3 + wide.mean(0)
    assert classifier_accuracy(c_theta, wide) > 0.56
    assert np.array_equal(module.prior_lower.numpy(), module.cfg["prior_lower"])
    assert module.outside_prior(t_theta).shape == (1, N_POINTS)

    # Fine-tune a step, save, and the library computes what the module does.
    module = gtorch.load(path).train()
    loss = -module.log_prob(c_theta, x).mean()
    loss.backward()
    assert all(torch.isfinite(p.grad).all() for p in module.parameters())
    torch.optim.SGD(module.parameters(), lr=0.05).step()
    out = tmp_path / "tuned.h5"
    assert module.save(out) != model_file.read(path).checksum
    with ctx.load_model(out, family="posterior") as c_model:
        want = c_model.log_prob(c_theta, x)
    with torch.no_grad():
        assert relative_error(module.double().log_prob(c_theta, x).numpy(), want) <= 1e-5


def test_wrong_family_and_unknown_config(ref, tmp_path):
    with pytest.raises(galaxyml.FamilyError, match="'posterior' model"):
        gtorch.FlowModule.load(ref.path(ref["posterior"]["model"]))
    with pytest.raises(galaxyml.FamilyError, match="'flow' model"):
        gtorch.PosteriorModule.load(ref.path(ref["flow"]["model"]))
    if "merger" not in gtorch.MODULES:
        with pytest.raises(galaxyml.InvalidArgumentError, match="'merger' model"):
            gtorch.load(ref.path(ref["merger"]["model"]))
    for family in ("flow", "posterior"):
        m = model_file.read(ref.path(ref[family]["model"]))
        path = tmp_path / f"{family}_future.h5"
        model_file.write(path, family, dict(m.config, spline_kind="cubic"), m.tensors,
                         m.normalization, m.extra)
        with pytest.raises(galaxyml.FormatError, match="unknown config key.*spline_kind"):
            gtorch.load(path)
    # A config that does not describe the stored arrays.
    m = model_file.read(ref.path(ref["flow"]["model"]))
    path = tmp_path / "mismatch.h5"
    model_file.write(path, "flow", dict(m.config, hidden_width=17), m.tensors, m.normalization)
    with pytest.raises(galaxyml.FormatError, match="has shape"):
        gtorch.load(path)
    with pytest.raises(galaxyml.FileError):
        gtorch.load(tmp_path / "absent.h5")


def test_bad_inputs_raise():
    module = gtorch.FlowModule({"data_dim": 4, "condition_dim": 2, "num_blocks": 1,
                                "hidden_width": 8, "hidden_layers": 1})
    with pytest.raises(ValueError, match=r"stars must be \(N, 4\)"):
        module.log_prob(np.zeros((3, 5)), [[1.0, 2.0]])
    with pytest.raises(ValueError, match="conditions must be"):
        module.log_prob(np.zeros((3, 4)), np.zeros((2, 2)))
    with pytest.raises(TypeError, match="real array"):
        module.log_prob(np.zeros((3, 4), dtype=np.complex64), [[1.0, 2.0]])

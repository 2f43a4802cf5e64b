"""sbi / nflows posterior estimators converted to galaxyml posterior files.

The converted file must compute what sbi computes: log q(theta | x) through
the C ABI against sbi's estimator on 2,000 points, and galaxyml's draws
against sbi's in a classifier two-sample test; every architecture galaxyml
cannot represent must be refused with a message naming it.
"""
import os
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("sbi")
pytest.importorskip("nflows")
pytest.importorskip("sklearn")

import galaxyml  # noqa: E402
from galaxyml import model_file  # noqa: E402
from galaxyml.convert import nflows as gnflows  # noqa: E402
from galaxyml.convert import sbi as gsbi  # noqa: E402

warnings.filterwarnings("ignore", module="sbi")


def test_sbi_version_is_the_one_asked_for():
    # ctest runs this file against sbi 0.27 (the venv) and 0.26 (.deps/sbi-0.26).
    import sbi
    expected = os.environ.get("GALAXYML_EXPECT_SBI")
    if expected is None:
        pytest.skip("GALAXYML_EXPECT_SBI is not set (ctest sets it for the older sbi)")
    assert sbi.__version__ == expected and os.environ["PYTHONPATH"] in sbi.__file__

THETA_DIM, X_DIM = 3, 4
# Offsets and scales far from 0 and 1, so that a lost or inverted z-score
# changes log q.
LOW = np.array([-1.0, 0.0, 2.0])
HIGH = np.array([1.0, 3.0, 5.0])
X_SCALE = np.array([1.0, 10.0, 0.1, 100.0])
X_OFFSET = np.array([5.0, -20.0, 0.3, 400.0])
N_POINTS = 2000
# |log q_galaxyml - log q_sbi| / (1 + |log q_sbi|): both run in float32.
LOG_PROB_TOL = 1e-4


def simulate(theta, rng):
    t = np.asarray(theta, dtype=np.float64)
    x = np.stack([t[:, 0] + t[:, 1], t[:, 1] * t[:, 2], np.sin(3 * t[:, 0]), t[:, 2] ** 2], 1)
    x = x + 0.1 * rng.standard_normal(x.shape)
    return x * X_SCALE + X_OFFSET


def box_prior():
    from sbi.utils import BoxUniform
    return BoxUniform(torch.tensor(LOW, dtype=torch.float32),
                      torch.tensor(HIGH, dtype=torch.float32))


@pytest.fixture(scope="module")
def simulations():
    rng = np.random.default_rng(3)
    theta = LOW + (HIGH - LOW) * rng.random((600, THETA_DIM))
    x = simulate(theta, rng)
    return torch.tensor(theta, dtype=torch.float32), torch.tensor(x, dtype=torch.float32)


def build(model, simulations, perturb=0.3, seed=0, **kwargs):
    """posterior_nn(model) sized and z-scored on the simulations, its
    weights moved away from nflows' near-identity start."""
    from sbi.neural_nets import posterior_nn
    torch.manual_seed(seed)
    kw = dict(hidden_features=16, num_transforms=3)
    kw.update(kwargs)
    est = posterior_nn(model, **kw)(*simulations)
    with torch.no_grad():
        for p in est.parameters():
            p.add_(perturb * torch.randn_like(p))
    return est.eval()


def points(est, simulations, n=N_POINTS, seed=1):
    """theta drawn from the estimator itself at n simulated x, one x each."""
    rng = np.random.default_rng(seed)
    theta0 = LOW + (HIGH - LOW) * rng.random((n, THETA_DIM))
    x = torch.tensor(simulate(theta0, rng), dtype=torch.float32)
    torch.manual_seed(seed)
    with torch.no_grad():
        theta = est.sample((1,), condition=x)[0]
    return theta, x


def sbi_log_prob(est, theta, x):
    with torch.no_grad():
        return est.log_prob(theta.unsqueeze(0), x)[0].double().numpy()


def galaxyml_log_prob(ctx, path, theta, x):
    with ctx.load_model(path, family="posterior") as model:
        return model.log_prob(theta.double().numpy(), x.double().numpy())


def rel_diff(ours, ref):
    return np.abs(ours - ref) / (1.0 + np.abs(ref))


def c2st(a, b, seed=0):
    """Cross-validated accuracy of a k-nearest-neighbour classifier telling
    a from b (both (n, D), z-scored together); 0.5 when indistinguishable."""
    from sklearn.model_selection import cross_val_score
    from sklearn.neighbors import KNeighborsClassifier
    data = np.concatenate([a, b])
    data = (data - data.mean(0)) / data.std(0)
    labels = np.r_[np.zeros(len(a)), np.ones(len(b))]
    perm = np.random.default_rng(seed).permutation(len(data))
    clf = KNeighborsClassifier(n_neighbors=25)
    return float(np.mean(cross_val_score(clf, data[perm], labels[perm], cv=5)))


# The C2ST null, measured on the trained estimator below: over 20 pairs of
# independent 2,000-draw sbi sample sets the accuracy had mean 0.500 and
# standard deviation 0.010 (range 0.476-0.518); galaxyml against sbi over
# 10 seed pairs, mean 0.505, sd 0.013, at most 0.536. The tolerance 0.05 is
# five null standard deviations. Shifting one parameter by half its
# marginal standard deviation gives 0.557-0.591 (5 seeds), beyond it
# (test_c2st_detects_a_shift), so the check can fail on a real difference.
C2ST_TOL = 0.05


@pytest.mark.parametrize("model,estimator", [("maf", "maf"), ("maf_rqs", "nsf"), ("nsf", "nsf")])
def test_random_estimator_log_prob_matches(ctx, tmp_path, simulations, model, estimator):
    est = build(model, simulations, num_bins=6, tail_bound=2.5)
    out = str(tmp_path / f"{model}.h5")
    checksum = gsbi.convert(est, out, prior=box_prior(), theta_names=["a", "b", "c"],
                            x_names=["s", "p", "w", "q"])
    m = model_file.read(out)
    assert m.checksum == checksum and m.family == "posterior"
    assert m.config["estimator"] == estimator and m.config["num_blocks"] == 3
    assert m.config["prior_lower"] == LOW.tolist() and m.config["prior_upper"] == HIGH.tolist()
    if estimator == "nsf":
        assert m.config["num_bins"] == 6 and m.config["tail_bound"] == 2.5
    # sbi's "nsf" is spline couplings with LU layers; "maf_rqs" is autoregressive.
    assert m.config.get("coupling", False) == (model == "nsf")
    # The z-scores are sbi's, not trivial.
    np.testing.assert_allclose(m.normalization["x_std"], simulations[1].double().std(0),
                               rtol=1e-5)
    theta, x = points(est, simulations)
    ref = sbi_log_prob(est, theta, x)
    ours = galaxyml_log_prob(ctx, out, theta, x)
    assert np.all(np.isfinite(ref)) and ref.std() > 0.5
    assert rel_diff(ours, ref).max() <= LOG_PROB_TOL


@pytest.fixture(scope="module", params=["maf", "nsf"])
def trained(simulations, tmp_path_factory, request):
    """A briefly trained sbi NPE (MAF, and sbi's coupling NSF) and its
    converted file."""
    from sbi.inference import NPE
    from sbi.neural_nets import posterior_nn
    from sbi.utils.tracking import TensorBoardTracker
    from torch.utils.tensorboard import SummaryWriter
    torch.manual_seed(5)
    theta, x = simulations
    folder = tmp_path_factory.mktemp("sbi")
    # sbi logs to ./sbi-logs unless told otherwise.
    tracker = TensorBoardTracker(SummaryWriter(str(folder / "logs")))
    inference = NPE(prior=box_prior(), show_progress_bars=False, tracker=tracker,
                    density_estimator=posterior_nn(request.param, hidden_features=24,
                                                   num_transforms=3))
    with warnings.catch_warnings():
        # "not yet fully converged": a few epochs are all this test needs.
        warnings.simplefilter("ignore")
        inference.append_simulations(theta, x).train(max_num_epochs=25, training_batch_size=100,
                                                     show_train_summary=False)
    posterior = inference.build_posterior()
    out = str(folder / "npe.h5")
    gsbi.convert(posterior, out, theta_names=["a", "b", "c"], x_train=x.double().numpy())
    return posterior, out


def test_trained_posterior_log_prob_matches(ctx, trained, simulations):
    posterior, out = trained
    est = posterior.posterior_estimator.eval()
    theta, x = points(est, simulations, seed=2)
    ref = sbi_log_prob(est, theta, x)
    ours = galaxyml_log_prob(ctx, out, theta, x)
    assert rel_diff(ours, ref).max() <= LOG_PROB_TOL
    with ctx.load_model(out, family="posterior") as model:
        d = model.describe()
    # The prior came from the DirectPosterior, the x range from x_train.
    assert d["prior_lower"] == LOW.tolist() and d["theta"] == ["a", "b", "c"]
    cfg = model_file.read(out)
    np.testing.assert_array_equal(cfg.normalization["x_train_min"],
                                  simulations[1].double().numpy().min(0))


def draws_at_one_x(ctx, trained, n=2000):
    posterior, out = trained
    est = posterior.posterior_estimator.eval()
    rng = np.random.default_rng(9)
    x0 = simulate(np.array([[0.3, 1.2, 3.1]]), rng)
    torch.manual_seed(4)
    with torch.no_grad():
        ref = est.sample((n,), condition=torch.tensor(x0, dtype=torch.float32))[:, 0].numpy()
    with ctx.load_model(out, family="posterior") as model:
        ours = model.sample(x0, n_samples=n, seed=17)[0]
    return ours, ref.astype(np.float64)


def test_trained_posterior_draws_match(ctx, trained):
    ours, ref = draws_at_one_x(ctx, trained)
    acc = c2st(ours, ref)
    assert abs(acc - 0.5) < C2ST_TOL, acc


def test_c2st_detects_a_shift(ctx, trained):
    ours, ref = draws_at_one_x(ctx, trained)
    shifted = ours.copy()
    shifted[:, 0] += 0.5 * ours[:, 0].std()
    assert c2st(shifted, ref) > 0.5 + C2ST_TOL


def test_nflows_flow_with_explicit_zscores(ctx, tmp_path, simulations):
    from nflows.distributions.normal import StandardNormal
    from nflows.flows.base import Flow
    from nflows.transforms import (CompositeTransform, MaskedAffineAutoregressiveTransform,
                                   ReversePermutation)
    torch.manual_seed(8)
    layers = []
    for _ in range(2):
        layers += [MaskedAffineAutoregressiveTransform(
            features=THETA_DIM, hidden_features=12, context_features=X_DIM, num_blocks=1,
            use_residual_blocks=False, activation=torch.relu), ReversePermutation(THETA_DIM)]
    # The last block without a permutation: galaxyml's identity permutation.
    layers.append(MaskedAffineAutoregressiveTransform(
        features=THETA_DIM, hidden_features=12, context_features=X_DIM, num_blocks=1,
        use_residual_blocks=False, activation=torch.relu))
    flow = Flow(CompositeTransform(layers), StandardNormal([THETA_DIM])).eval()
    with torch.no_grad():
        for p in flow.parameters():
            p.add_(0.3 * torch.randn_like(p))
    tm, ts = (LOW + HIGH) / 2, (HIGH - LOW) / 3
    theta, x = simulations
    xm, xs = x.double().numpy().mean(0), x.double().numpy().std(0)
    out = str(tmp_path / "nflows.h5")
    gnflows.convert(flow, out, theta_mean=tm, theta_std=ts, x_mean=xm, x_std=xs,
                    prior_lower=LOW, prior_upper=HIGH)
    cfg = model_file.read(out).config
    assert cfg["activation"] == "relu" and cfg["made_blocks"] == 1
    u = torch.tensor((theta.double().numpy() - tm) / ts, dtype=torch.float32)
    c = torch.tensor((x.double().numpy() - xm) / xs, dtype=torch.float32)
    with torch.no_grad():
        ref = flow.log_prob(u, context=c).double().numpy() - np.log(ts).sum()
    ours = galaxyml_log_prob(ctx, out, theta, x)
    assert rel_diff(ours, ref).max() <= LOG_PROB_TOL


def test_gaussian_prior_stores_no_box(tmp_path, simulations):
    est = build("maf", simulations)
    prior = torch.distributions.MultivariateNormal(torch.zeros(THETA_DIM), torch.eye(THETA_DIM))
    out = str(tmp_path / "gauss.h5")
    gsbi.convert(est, out, prior=prior)
    cfg = model_file.read(out).config
    assert cfg["prior_lower"] == [] and cfg["prior_upper"] == []


# Refusals: each names the module and says what is supported; nothing is written.

def refused(tmp_path, obj, match, **kwargs):
    out = tmp_path / "refused.h5"
    with pytest.raises(gsbi.UnsupportedModel if kwargs.pop("unsupported", True)
                       else galaxyml.InvalidArgumentError, match=match) as info:
        gsbi.convert(obj, str(out), **kwargs)
    assert not out.exists() and os.listdir(tmp_path) == []
    assert isinstance(info.value, ValueError)
    return str(info.value)


def test_refuses_mdn(tmp_path, simulations):
    msg = refused(tmp_path, build("mdn", simulations, perturb=0.0), "MixtureDensityEstimator")
    assert "posterior_nn('maf')" in msg


def test_one_dimensional_nsf_log_prob_matches(ctx, tmp_path, simulations):
    # sbi's NSF on one parameter: the spline comes from x alone (ContextSplineMap).
    theta, x = simulations
    est = build("nsf", (theta[:, 1:2], x), num_bins=5)
    out = str(tmp_path / "nsf_1d.h5")
    gsbi.convert(est, out)
    assert model_file.read(out).config["theta_dim"] == 1
    rng = np.random.default_rng(4)
    t = torch.tensor(LOW[1] + (HIGH[1] - LOW[1]) * rng.random((500, 1)), dtype=torch.float32)
    xs = torch.tensor(simulate(LOW + (HIGH - LOW) * rng.random((500, 3)), rng),
                      dtype=torch.float32)
    ref = sbi_log_prob(est, t, xs)
    assert rel_diff(galaxyml_log_prob(ctx, out, t, xs), ref).max() <= LOG_PROB_TOL


def test_refuses_coupling_on_other_columns(tmp_path):
    # Couplings that do not alternate as sbi's do (even blocks 0, 2, ...).
    from nflows.distributions.normal import StandardNormal
    from nflows.flows.base import Flow
    from nflows.nn.nets import ResidualNet
    from nflows.transforms import PiecewiseRationalQuadraticCouplingTransform
    t = PiecewiseRationalQuadraticCouplingTransform(
        mask=torch.tensor([1, 1, 0]), tails="linear",
        transform_net_create_fn=lambda i, o: ResidualNet(i, o, 8, context_features=X_DIM))
    msg = refused(tmp_path, Flow(t, StandardNormal([THETA_DIM])), "transforms columns \\[0, 1\\]")
    assert "supported:" in msg


def test_refuses_zuko_maf(tmp_path, simulations):
    import zuko
    refused(tmp_path, build("zuko_maf", simulations, perturb=0.0), "ZukoFlow.*zuko")
    # A zuko flow of one's own, outside sbi.
    refused(tmp_path, zuko.flows.MAF(THETA_DIM, X_DIM, transforms=2), "zuko.*MAF.*exp\\(s")


def test_refuses_embedding_net(tmp_path, simulations):
    from sbi.neural_nets.embedding_nets import FCEmbedding
    est = build("maf", simulations, perturb=0.0,
                embedding_net=FCEmbedding(input_dim=X_DIM, output_dim=5))
    refused(tmp_path, est, "embedding net \\(FCEmbedding\\)")


def test_refuses_residual_made(tmp_path):
    from nflows.distributions.normal import StandardNormal
    from nflows.flows.base import Flow
    from nflows.transforms import MaskedAffineAutoregressiveTransform
    t = MaskedAffineAutoregressiveTransform(features=THETA_DIM, hidden_features=8,
                                            context_features=X_DIM, use_residual_blocks=True)
    refused(tmp_path, Flow(t, StandardNormal([THETA_DIM])), "residual blocks")


def test_refuses_bounded_non_box_prior(tmp_path, simulations):
    est = build("maf", simulations, perturb=0.0)
    prior = torch.distributions.Independent(
        torch.distributions.LogNormal(torch.zeros(THETA_DIM), torch.ones(THETA_DIM)), 1)
    msg = refused(tmp_path, est, "prior Independent", prior=prior)
    assert "prior=False" in msg
    # prior=False stores no box on purpose.
    gsbi.convert(est, str(tmp_path / "nobox.h5"), prior=False)
    assert model_file.read(str(tmp_path / "nobox.h5")).config["prior_lower"] == []


def test_refuses_wrong_dimensions(tmp_path, simulations):
    from sbi.utils import BoxUniform
    est = build("maf", simulations, perturb=0.0)
    refused(tmp_path, est, "wrong dimension", unsupported=False,
            prior=BoxUniform(torch.zeros(2), torch.ones(2)))
    refused(tmp_path, est, "theta_names needs 3 names", unsupported=False,
            theta_names=["a", "b"])
    refused(tmp_path, est, "x_train must be", unsupported=False, x_train=np.zeros((5, 3)))


def test_refuses_mcmc_posterior(tmp_path, simulations, trained):
    from sbi.inference import MCMCPosterior
    from sbi.inference.potentials import posterior_estimator_based_potential
    posterior, _ = trained
    potential, transform = posterior_estimator_based_potential(
        posterior.posterior_estimator, box_prior(), x_o=simulations[1][:1])
    mcmc = MCMCPosterior(potential, proposal=box_prior(), theta_transform=transform)
    refused(tmp_path, mcmc, "MCMCPosterior: only DirectPosterior")


def test_verification_refuses_a_different_function(tmp_path, simulations):
    """A transform that passes every structural check but computes another
    affine scale (nflows' older sigmoid) is caught by the log q comparison."""
    est = build("maf", simulations)
    block = est.net._transform._transforms[1]

    def sigmoid_scale(inputs, params):
        s, shift = block._unconstrained_scale_and_shift(params)
        scale = torch.sigmoid(s + 2.0) + 1e-3
        return scale * inputs + shift, torch.log(scale).sum(-1)
    block._elementwise_forward = sigmoid_scale
    refused(tmp_path, est, "differs from the source")

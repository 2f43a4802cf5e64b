"""GalacticFlow checkpoints converted to galaxyml flow files, checked against
an independent implementation of the published model
(galacticflow_reference.py): densities in user units point by point,
samples by a classifier two-sample test, and every refused architecture."""
import copy
import datetime
import os
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("scipy")
sklearn_ensemble = pytest.importorskip("sklearn.ensemble")
from sklearn.model_selection import cross_val_score  # noqa: E402

import galaxyml  # noqa: E402
from galaxyml.convert import galacticflow  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import galacticflow_reference as gf  # noqa: E402

# Full per-star array: 6 columns, the conditions at 4 and 1 (in that order),
# so the data columns are 0, 2, 3, 5; log10 on data column 3 and on
# condition column 1.
COND_INDS = [4, 1]
LOG_COLUMNS = [1, 3]
GALAXIES = np.array([[0.5, 2.0], [-0.5, 0.5]])  # (condition of column 4, of column 1)
N_POINTS = 2000
# Relative agreement of log densities: float32 arithmetic in galaxyml against
# the float64 reference, through 3 blocks.
DENSITY_RTOL = 1e-4
# C2ST: 5-fold accuracy on 2,000 + 2,000 points has a standard deviation of
# about sqrt(0.25 / 4000) = 0.008 when the two samples agree; 0.04 is 5 of
# them. The same classifier separates a model whose first data column is 30%
# wider (the power check below), so the bound can fail.
C2ST_TOL = 0.04


def synthetic_stars(n, seed):
    """Galaxy-dependent stars in the full column layout: positive values in
    the log10 columns, a heavy tail in column 5."""
    rng = np.random.default_rng(seed)
    c_mass = 10 ** rng.uniform(-0.5, 0.5, n)        # column 1, log10
    c_shift = rng.uniform(-1, 1, n)                  # column 4
    x0 = rng.normal(c_shift, 1.0)
    x1 = 0.5 * x0 + rng.normal(0, 0.5, n)
    metals = 10 ** rng.normal(0.3 * np.log10(c_mass), 0.4)  # column 3, log10
    x3 = rng.standard_t(5, n) + c_shift
    return np.stack([x0, c_mass, x1, metals, c_shift, x3], 1)


@pytest.fixture(scope="module")
def full():
    return synthetic_stars(4000, seed=1)


@pytest.fixture(scope="module")
def prep(full):
    return gf.Preprocessing.fit(full, COND_INDS, LOG_COLUMNS)


@pytest.fixture(scope="module")
def perturbed(prep):
    flow = gf.NSFlow(3, 4, 2, K=6, B=3.0, network_args=(16, 3, 0.2), seed=0)
    return gf.Reference(flow.perturb(0.1, seed=1), prep)


@pytest.fixture(scope="module")
def trained(prep, full):
    flow = gf.NSFlow(2, 4, 2, K=5, B=3.0, network_args=(12, 2, 0.1), seed=2)
    ref = gf.Reference(flow, prep)
    losses = gf.train(ref, full[:, prep.data_inds], full[:, COND_INDS], steps=40,
                      batch_size=256, lr=5e-3, seed=3)
    assert losses[-1] < losses[0] - 0.3, "the reference did not train"
    return ref, losses


def _converted(ctx, ref, path, **overrides):
    definition = ref.checkpoint(**overrides)
    torch.save(definition, path)
    checksum = galacticflow.convert(path, str(path) + ".h5")
    model = ctx.load_model(str(path) + ".h5", family="flow")
    return model, checksum


def _density_agreement(model, ref, full, prep):
    stars = full[:N_POINTS, prep.data_inds].astype(np.float32)
    conds = full[:N_POINTS, COND_INDS]
    ours = model.log_prob(stars, conds)
    theirs = ref.log_prob(stars.astype(np.float64), conds)
    assert np.all(np.isfinite(theirs)) and np.all(np.isfinite(ours))
    rel = np.abs(ours - theirs) / np.maximum(np.abs(theirs), 1.0)
    return rel.max(), np.abs(ours - theirs).max()


def c2st(a, b, prep):
    """5-fold accuracy of a boosted-tree classifier telling galaxy-labelled
    samples a from b (in the flow's normalised coordinates)."""
    n = len(a) // len(GALAXIES)
    label = np.repeat(np.arange(len(GALAXIES)), n)[:, None]
    x = np.vstack([np.hstack([prep.data(a), label]), np.hstack([prep.data(b), label])])
    y = np.r_[np.zeros(len(a)), np.ones(len(b))]
    clf = sklearn_ensemble.HistGradientBoostingClassifier(max_iter=100, random_state=0)
    return cross_val_score(clf, x, y, cv=5).mean()


def test_densities_match_the_published_model(ctx, perturbed, full, prep, tmp_path):
    model, checksum = _converted(ctx, perturbed, tmp_path / "perturbed.pth")
    assert galaxyml.inspect_model(str(tmp_path / "perturbed.pth.h5")).checksum == checksum
    cfg = galaxyml.model_config(str(tmp_path / "perturbed.pth.h5"))
    assert cfg["log_columns"] == [2] and cfg["condition_log_columns"] == [1]
    assert cfg["conditioner_output_activation"] is True and cfg["min_bin_width"] == 0
    rel, diff = _density_agreement(model, perturbed, full, prep)
    print(f"perturbed model: max relative log-density difference {rel:.2e} (abs {diff:.2e}) "
          f"on {N_POINTS} points")
    assert rel <= DENSITY_RTOL
    # The splines are far from the identity: the flow's log-determinant
    # varies by several nats over the points.
    u = torch.from_numpy(prep.data(full[:N_POINTS, prep.data_inds]))
    c = torch.from_numpy(prep.conditions(full[:N_POINTS, COND_INDS]))
    with torch.no_grad():
        _, logdet = copy.deepcopy(perturbed.flow).double()(u, c)
    assert logdet.std() > 1.0


def test_samples_match_the_published_inverse_pass(ctx, perturbed, prep, tmp_path):
    model, _ = _converted(ctx, perturbed, tmp_path / "samples.pth")
    ours = model.sample(GALAXIES, n_per_galaxy=1000, seed=3).astype(np.float64)
    theirs = perturbed.sample(GALAXIES, 1000, seed=4)
    acc = c2st(ours, theirs, prep)
    u = prep.data(theirs)
    u[:, 0] *= 1.3
    acc_wider = c2st(ours, prep.data_inverse(u), prep)
    print(f"C2ST accuracy {acc:.4f} (a 30% wider column: {acc_wider:.4f})")
    assert abs(acc - 0.5) < C2ST_TOL
    assert acc_wider > 0.5 + C2ST_TOL


def test_trained_model(ctx, trained, full, prep, tmp_path):
    ref, losses = trained
    history = torch.tensor(losses + [1.5])  # the API appends the training time
    model, _ = _converted(ctx, ref, tmp_path / "trained.pth", loss_history=history)
    rel, diff = _density_agreement(model, ref, full, prep)
    ours = model.sample(GALAXIES, n_per_galaxy=1000, seed=5).astype(np.float64)
    acc = c2st(ours, ref.sample(GALAXIES, 1000, seed=6), prep)
    print(f"trained model ({len(losses)} Adam steps, loss {losses[0]:.3f} -> {losses[-1]:.3f}): "
          f"max relative log-density difference {rel:.2e} (abs {diff:.2e}), C2ST {acc:.4f}")
    assert rel <= DENSITY_RTOL
    assert abs(acc - 0.5) < C2ST_TOL
    record = galaxyml.model_file.read(str(tmp_path / "trained.pth.h5")).extra["training"]
    assert b'"loss_history"' in record.tobytes()


def test_numpy_loss_history_and_split_transformations(ctx, perturbed, full, prep, tmp_path):
    # The API has also stored the loss history as a numpy array, and a
    # checkpoint may list log10 twice with separate index sets.
    prep_args = {"transformation_functions": ("np.log10", "np.log10"),
                 "transformation_indices": (torch.tensor([3]), torch.tensor([1])),
                 "inverse_transformations": ("10**x", "10 ** x")}
    model, _ = _converted(ctx, perturbed, tmp_path / "numpy.pth",
                          loss_history=np.array([3.0, 2.5, 12.0]), data_prep_args=prep_args)
    rel, _ = _density_agreement(model, perturbed, full, prep)
    assert rel <= DENSITY_RTOL


def test_published_density_equations_are_offset(ctx, perturbed, full, prep, tmp_path):
    """What the published processor's equations imply, against galaxyml's
    normalised density: the condition columns' -sum(log std) is subtracted
    too, and the log10 Jacobian taken at log10(x) is NaN where x < 1."""
    model, _ = _converted(ctx, perturbed, tmp_path / "published.pth")
    stars = full[:N_POINTS, prep.data_inds]
    conds = full[:N_POINTS, COND_INDS]
    published = perturbed.published_log_prob(stars, conds)
    ours = model.log_prob(stars.astype(np.float32), conds)
    below_one = stars[:, 2] < 1
    assert below_one.any() and np.all(np.isnan(published[below_one]))
    log_term = np.log(np.log10(stars[~below_one, 2]) / stars[~below_one, 2])
    offset = published[~below_one] - ours[~below_one] + log_term
    expected = -np.sum(np.log(prep.std[COND_INDS]))
    assert np.allclose(offset, expected, rtol=0, atol=1e-3)


def _refused(ref, match, tmp_path, **overrides):
    out = tmp_path / "refused.h5"
    with pytest.raises(galaxyml.InvalidArgumentError, match=match):
        galacticflow.convert(ref.checkpoint(**overrides), str(out))
    assert not out.exists() and os.listdir(tmp_path) == []


def _hyper(ref, **changes):
    return dict(ref.flow.hyper, **changes)


def test_refuses_nsf_cl(perturbed, tmp_path):
    _refused(perturbed, "CL = 'NSF_CL'.*only 'NSF_CL2'", tmp_path,
             flow_hyper=_hyper(perturbed, CL="NSF_CL"))


def test_refuses_other_networks(perturbed, tmp_path):
    _refused(perturbed, "network = 'ResNet'.*only 'MLP'", tmp_path,
             flow_hyper=_hyper(perturbed, network="ResNet"))


def test_refuses_other_transformations(perturbed, tmp_path):
    prep_args = {"transformation_functions": ("np.log",),
                 "transformation_indices": (torch.tensor([3]),),
                 "inverse_transformations": ("np.exp",)}
    _refused(perturbed, "'np.log' is not supported.*np.log10", tmp_path,
             data_prep_args=prep_args)
    prep_args = {"transformation_functions": ("np.log10",),
                 "transformation_indices": (torch.tensor([3]),),
                 "inverse_transformations": ("np.exp",)}
    _refused(perturbed, "inverse transformation 'np.exp'", tmp_path, data_prep_args=prep_args)


def test_refuses_odd_data_dimension(perturbed, tmp_path):
    _refused(perturbed, "dim_notcond = 5 is odd", tmp_path,
             flow_hyper=_hyper(perturbed, dim_notcond=5))


def test_refuses_unconditional_flows(perturbed, tmp_path):
    _refused(perturbed, "dim_cond = 0.*unconditional", tmp_path,
             flow_hyper=_hyper(perturbed, dim_cond=0))


def test_refuses_unknown_architecture_keys(perturbed, tmp_path):
    _refused(perturbed, r"flow_hyper has unknown key\(s\) \['split'\]", tmp_path,
             flow_hyper=_hyper(perturbed, split=0.5))
    _refused(perturbed, "data_prep_args has unknown key.*transformation_logdets", tmp_path,
             data_prep_args=dict(perturbed.checkpoint()["data_prep_args"],
                                 transformation_logdets=("logdet_log10",)))
    _refused(perturbed, r"unknown key\(s\) \['weights_ema'\]", tmp_path, weights_ema={})
    _refused(perturbed, "processor 'Processor' is not supported", tmp_path,
             processor="Processor")


def test_refuses_a_state_dict_that_does_not_match(perturbed, tmp_path):
    state = perturbed.checkpoint()["flow_dict"]
    missing = {k: v for k, v in state.items() if k != "layers.3.net2.network.4.bias"}
    _refused(perturbed, r"flow_dict does not match.*missing \['layers.3.net2.network.4.bias'\]",
             tmp_path, flow_dict=missing)
    _refused(perturbed, r"unexpected \['layers.6.S'\]", tmp_path,
             flow_dict=dict(state, **{"layers.6.S": torch.ones(4)}))
    reshaped = dict(state, **{"layers.1.net_cond1.network.0.weight": torch.zeros(16, 3)})
    _refused(perturbed, r"'layers.1.net_cond1.network.0.weight'\] has shape \(16, 3\)",
             tmp_path, flow_dict=reshaped)
    # More blocks in flow_hyper than the state_dict holds.
    _refused(perturbed, "missing", tmp_path, flow_hyper=_hyper(perturbed, n_layers=4))
    _refused(perturbed, r"network_args n_layers = 1", tmp_path,
             flow_hyper=_hyper(perturbed, network_args=(16, 1, 0.2)))


def test_refuses_unloadable_and_later_formats(tmp_path):
    path = tmp_path / "code.pth"
    # An arbitrary Python object: loading it would need pickle's code execution.
    torch.save({"created": datetime.date(2023, 7, 7)}, path)
    with pytest.raises(galaxyml.InvalidArgumentError, match="weights_only=True"):
        galacticflow.convert(path, tmp_path / "out.h5")
    with pytest.raises(galaxyml.InvalidArgumentError, match="named-column format"):
        galacticflow.convert({"mu_vals": torch.zeros(3), "component_names": {}},
                             tmp_path / "out.h5")
    assert sorted(os.listdir(tmp_path)) == ["code.pth"]

"""sbi neural posterior estimators -> galaxyml posterior model files.

    from galaxyml.convert import sbi as gsbi
    posterior = NPE(prior=prior, density_estimator="maf").append_simulations(theta, x) \
        ... .build_posterior()
    gsbi.convert(posterior, "posterior.h5", theta_names=["logM", "Z", "tau"])

Supported (sbi 0.27 and 0.26, each tested; nflows 0.14): a DirectPosterior, or the density
estimator itself (NFlowsFlow, or the nflows Flow it holds), built by
posterior_nn("maf"), posterior_nn("maf_rqs") or posterior_nn("nsf") with any
hidden_features, num_transforms, num_blocks (MADE depth, or residual blocks
of the NSF's conditioners), num_bins and tail_bound, z-scoring
of theta and x "independent", "structured" or "none", no embedding net
(nn.Identity), and a BoxUniform prior (stored as galaxyml's prior box) or a
prior with unbounded support (no box). Both compute exactly galaxyml's
posterior flow (docs/posterior.md), so the file gives the same log q and the
same distribution of draws.

Refused, with a message naming the module: "mdn", "made", the zuko_* flows (their MADE feeds
x linearly into the first layer and their affine scale is
exp(s / (1 + |s / log 1e-3|)), neither of which galaxyml computes), flow
matching and score estimators, embedding nets other than z-scoring, batch
norm, residual MADE blocks, posteriors other than DirectPosterior (MCMC,
rejection, VI, importance sampling, ensembles, filtered/NPE-A posteriors),
and priors with bounded support that is not a box (pass prior=False to
store no box).
"""
import numpy as np

from ..errors import InvalidArgumentError
from . import nflows as _nflows
from .nflows import UnsupportedModel

__all__ = ["convert", "posterior_parts", "prior_box", "UnsupportedModel"]

SUPPORTED = ("sbi DirectPosterior or density estimator from posterior_nn('maf'), "
             "posterior_nn('maf_rqs') or posterior_nn('nsf') (tails='linear'), z_score "
             "'independent', 'structured' "
             "or 'none', no embedding net, a BoxUniform or unbounded prior")


def _refuse(what):
    raise UnsupportedModel(f"{what}; supported: {SUPPORTED}")


def _estimator_and_prior(obj):
    """(nflows Flow, prior or None) of a DirectPosterior, an NFlowsFlow or
    a bare nflows Flow."""
    import torch
    from nflows.flows.base import Flow
    prior = None
    try:
        from sbi.inference.posteriors.base_posterior import NeuralPosterior
        from sbi.inference.posteriors.direct_posterior import DirectPosterior
    except ImportError:  # sbi without these modules: only bare flows can come
        NeuralPosterior = DirectPosterior = ()
    if NeuralPosterior and isinstance(obj, NeuralPosterior):
        if type(obj) is not DirectPosterior:
            _refuse(f"sbi.{type(obj).__name__}: only DirectPosterior (NPE) holds a posterior "
                    "density estimator galaxyml can run on its own")
        prior = obj.prior
        obj = obj.posterior_estimator
    if isinstance(obj, Flow):
        return obj, prior
    name = f"{type(obj).__module__}.{type(obj).__name__}"
    try:
        from sbi.neural_nets.estimators import NFlowsFlow
    except ImportError:
        NFlowsFlow = ()
    if NFlowsFlow and isinstance(obj, NFlowsFlow):
        if len(obj.input_shape) != 1 or len(obj.condition_shape) != 1:
            _refuse(f"{name} with theta shape {tuple(obj.input_shape)} and x shape "
                    f"{tuple(obj.condition_shape)}: galaxyml's theta and x are vectors")
        return obj.net, prior
    hints = {
        "ZukoFlow": "the zuko flows (posterior_nn('zuko_*')) are not representable: their "
                    "MADE feeds x linearly into the first layer and their affine scale is "
                    "exp(s / (1 + |s / log 1e-3|)); use posterior_nn('maf'), 'maf_rqs' or 'nsf'",
        "MixtureDensityEstimator": "a mixture density network (posterior_nn('mdn')) is not "
                                   "a flow galaxyml has",
        "FlowMatchingEstimator": "flow matching estimators are not density flows galaxyml has",
    }
    for cls, hint in hints.items():
        if type(obj).__name__ == cls:
            _refuse(f"{name}: {hint}")
    if type(obj).__module__.split(".")[0] == "zuko":
        _refuse(f"{name}: {hints['ZukoFlow']}")
    if isinstance(obj, torch.nn.Module):
        _refuse(f"{name} is not an sbi MAF density estimator")
    raise InvalidArgumentError(f"{name} is neither an sbi posterior nor a density estimator; "
                               f"supported: {SUPPORTED}")


def _embedding_zscore(flow, x_dim):
    """x_mean, x_std of sbi's z-scoring embedding (Standardize before an
    identity), or (None, None) for an identity; refuses anything else."""
    import torch
    try:
        from sbi.utils.sbiutils import Standardize
    except ImportError:
        Standardize = ()

    def leaves(m):
        if isinstance(m, torch.nn.Sequential):
            out = []
            for sub in m:
                out += leaves(sub)
            return out
        return [m]

    mods = [m for m in leaves(flow._embedding_net) if not isinstance(m, torch.nn.Identity)]
    zs = [m for m in mods if Standardize and isinstance(m, Standardize)]
    rest = [m for m in mods if m not in zs]
    if rest:
        names = ", ".join(type(m).__name__ for m in rest)
        _refuse(f"embedding net ({names}): galaxyml's posterior has no embedding network, it "
                "feeds the z-scored x to every MADE; train with embedding_net=nn.Identity()")
    if len(zs) > 1:
        _refuse("embedding net with more than one Standardize layer")
    if not zs:
        return None, None
    mean = zs[0]._mean.detach().cpu().double().numpy()
    std = zs[0]._std.detach().cpu().double().numpy()
    try:
        mean = np.broadcast_to(mean, (x_dim,)).copy()
        std = np.broadcast_to(std, (x_dim,)).copy()
    except ValueError:
        _refuse(f"Standardize layer of shape {mean.shape} for x of {x_dim} values")
    return mean, std


def prior_box(prior, theta_dim):
    """(lower, upper) float64 arrays of a box prior, None for a prior with
    unbounded support (nothing to count as outside); anything else is
    refused."""
    import torch
    from torch.distributions import Independent, Uniform, constraints
    if prior is None or prior is False:
        return None
    if not isinstance(prior, torch.distributions.Distribution):
        raise InvalidArgumentError(f"prior: {type(prior).__name__} is not a torch "
                                   "Distribution (BoxUniform expected)")
    base = prior
    if isinstance(prior, Independent):
        base = prior.base_dist
    if isinstance(base, Uniform):
        lo = base.low.detach().cpu().double().numpy().reshape(-1)
        hi = base.high.detach().cpu().double().numpy().reshape(-1)
        scalar = theta_dim == 1 and tuple(prior.event_shape) == ()
        if (tuple(prior.event_shape) != (theta_dim,) and not scalar) or lo.shape != (theta_dim,):
            raise InvalidArgumentError(
                f"prior: box of event shape {tuple(prior.event_shape)} for theta of "
                f"{theta_dim} values (wrong dimension)")
        return lo, hi
    support = prior.support
    unbounded = support is constraints.real or support is constraints.real_vector or (
        isinstance(support, constraints.independent) and support.base_constraint is
        constraints.real)
    if unbounded:
        if tuple(prior.event_shape) not in ((theta_dim,), ()):
            raise InvalidArgumentError(f"prior: event shape {tuple(prior.event_shape)} for "
                                       f"theta of {theta_dim} values")
        return None
    _refuse(f"prior {type(prior).__name__} with support {support}: galaxyml's prior is a box "
            "(BoxUniform) or absent; pass prior=False to store no box (draws are then never "
            "counted as outside the prior)")


def posterior_parts(estimator):
    """(config, tensors, normalization, flow, prior) of an sbi posterior or
    estimator: galaxyml's parts (config without prior box and names), the
    nflows Flow they came from and the posterior's prior (None for an
    estimator)."""
    flow, prior = _estimator_and_prior(estimator)
    # The conditioner's context width is x's dimension once the embedding
    # is known to be a z-score.
    x_dim = None
    for t in _nflows._flatten(flow._transform):
        net = getattr(t, "autoregressive_net", None)
        if net is not None and hasattr(net, "context_layer"):
            x_dim = net.context_layer.in_features
            break
        net = getattr(t, "transform_net", None)  # sbi's NSF
        if getattr(net, "context_features", None):
            x_dim = net.context_features
            break
        first = getattr(net, "spline_predictor", [None])[0]  # its one-dimensional form
        if isinstance(getattr(first, "in_features", None), int):
            x_dim = first.in_features
            break
    if x_dim is None:
        # posterior_parts below names the offending transform.
        x_mean = x_std = None
    else:
        x_mean, x_std = _embedding_zscore(flow, x_dim)
    parts = _nflows.posterior_parts(flow, x_mean=x_mean, x_std=x_std, embedding_checked=True)
    return (*parts, flow, prior)


def convert(estimator_or_posterior, out_path, prior=None, theta_names=None, x_names=None,
            x_train=None, verify=True):
    """Writes an sbi NPE (DirectPosterior, or its "maf", "maf_rqs" or "nsf"
    density estimator) as a galaxyml posterior model file; returns its checksum.

    prior: None takes the posterior's own prior (none for a bare
    estimator); a BoxUniform gives the prior box; False stores no box.
    theta_names, x_names: labels (theta_names become the column prefixes
    of `gml-posterior run`). x_train: the training x (n, x_dim), optional,
    whose per-column range flags catalog rows outside it. verify: load the
    file with galaxyml and compare log q with sbi's on 256 points before
    out_path is written. Raises UnsupportedModel (an InvalidArgumentError)
    for what galaxyml cannot represent.
    """
    config, tensors, norm, flow, own_prior = posterior_parts(estimator_or_posterior)
    box = prior_box(own_prior if prior is None else prior, config["theta_dim"])
    lower, upper = box if box is not None else (None, None)

    check = None
    if verify:
        theta, x, ref = _nflows.self_check(
            lambda t, c: _nflows.float64_log_prob(flow, t, c), config, norm)

        def check(tmp):
            _nflows.verify_log_prob(tmp, ref, theta, x)
    provenance = {"converted_from": "sbi", "versions": _nflows._versions("sbi", "nflows",
                                                                         "torch"),
                  "estimator": config["estimator"] if config["estimator"] == "maf" or
                  config.get("coupling") else "maf_rqs",
                  "command": "galaxyml.convert.sbi.convert"}
    return _nflows.write_posterior(out_path, (config, tensors, norm), lower, upper, theta_names,
                                   x_names, x_train, provenance, check)

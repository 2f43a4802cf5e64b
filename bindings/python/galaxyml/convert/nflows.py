"""nflows masked autoregressive flows -> galaxyml posterior model files.

    import galaxyml.convert.nflows as gcn
    gcn.convert(flow, "posterior.h5", x_mean=xm, x_std=xs,
                prior_lower=[0, 0, 0], prior_upper=[1, 1, 1])

galaxyml's posterior family (docs/posterior.md) is nflows 0.14's
conditional MAF layer for layer: per block a MADE with sequential degrees,
no residual blocks, a context layer feeding the first hidden layer through
its own activation, tanh or ReLU units, and either the affine transform
(scale softplus(s) + 1e-3) or the rational-quadratic spline with linear
tails; then a fixed permutation. This module maps such an nflows ``Flow``
(the object sbi's "maf" and "maf_rqs" estimators hold) onto the model
file's config, tensors and normalisation, and refuses everything galaxyml
cannot compute exactly: residual MADE blocks, random masks, batch norm,
coupling layers, other base distributions, embedding networks.

The z-scores of theta and x are either part of the flow (a leading
``PointwiseAffineTransform`` for theta, as sbi builds it) or given
explicitly: theta_mean/theta_std when the flow models (theta - mean) / std,
x_mean/x_std when it is conditioned on (x - mean) / std. Either way
log q(theta | x) in user units includes the -sum(log std) of the theta
z-score, as it does in nflows with the leading affine transform.
"""
import importlib.metadata
import os

import numpy as np

from ..errors import InvalidArgumentError

__all__ = ["convert", "posterior_parts", "verify_log_prob", "write_posterior"]

SUPPORTED = ("an nflows Flow of MaskedAffineAutoregressiveTransform or "
             "MaskedPiecewiseRationalQuadraticAutoregressiveTransform(tails='linear') blocks "
             "(MADE with sequential masks, no residual blocks, no batch norm, tanh or relu, "
             "context features), each optionally followed by one Permutation, an optional "
             "leading PointwiseAffineTransform (the theta z-score), a StandardNormal base and "
             "no embedding net")

# nflows' rational_quadratic defaults, which galaxyml's spline has fixed.
_SPLINE_MINIMUM = 1e-3


class UnsupportedModel(InvalidArgumentError):
    """The source model uses an architecture or option galaxyml cannot
    represent exactly; the message names it and what is supported."""


def _refuse(what):
    raise UnsupportedModel(f"{what}; supported: {SUPPORTED}")


def _np(t, dtype=np.float64):
    return t.detach().cpu().numpy().astype(dtype)


def _activation_name(act):
    import torch
    import torch.nn.functional as F
    if act in (torch.tanh, F.tanh) or isinstance(act, torch.nn.Tanh):
        return "tanh"
    if act in (torch.relu, F.relu) or isinstance(act, torch.nn.ReLU):
        return "relu"
    _refuse(f"MADE activation {act!r} is not representable (galaxyml has tanh and relu)")


def _hidden_degrees(hidden, features):
    hi = max(1, features - 1)
    lo = min(1, features - 1)
    return np.arange(hidden) % hi + lo


def _sequential_masks(features, hidden, made_blocks, multiplier):
    """galaxyml's masks (core/posterior/made.cpp): input, blocks..., output."""
    inp = np.arange(1, features + 1)
    hid = _hidden_degrees(hidden, features)
    out = np.repeat(inp, multiplier)
    masks = [(hid[:, None] >= inp[None, :])]
    masks += [(hid[:, None] >= hid[None, :])] * made_blocks
    masks.append(out[:, None] > hid[None, :])
    return [m.astype(np.float32) for m in masks]


def _flatten(transform):
    from nflows.transforms import CompositeTransform
    if isinstance(transform, CompositeTransform):
        out = []
        for t in transform._transforms:
            out += _flatten(t)
        return out
    return [transform]


def _check_spline(index, transform):
    """Refuses splines other than galaxyml's: linear tails, nflows' minima."""
    name = type(transform).__name__
    if transform.tails != "linear":
        _refuse(f"block {index} ({name}): tails={transform.tails!r}; galaxyml's spline has "
                "linear (identity) tails, tails='linear'")
    for attr in ("min_bin_width", "min_bin_height", "min_derivative"):
        if getattr(transform, attr) != _SPLINE_MINIMUM:
            _refuse(f"block {index} ({name}): {attr}={getattr(transform, attr)}; galaxyml's "
                    f"spline uses {_SPLINE_MINIMUM}")


def _made_block(index, transform, kind):
    """Architecture and tensors of one MADE-based transform."""
    from nflows.transforms import made as made_module
    net = transform.autoregressive_net
    name = type(transform).__name__
    if type(net) is not made_module.MADE:
        _refuse(f"block {index} ({name}): conditioner {type(net).__name__} is not "
                "nflows.transforms.made.MADE")
    if any(isinstance(b, made_module.MaskedResidualBlock) for b in net.blocks):
        _refuse(f"block {index} ({name}): MADE with residual blocks "
                "(use_residual_blocks=True) is not representable")
    for b in net.blocks:
        if type(b) is not made_module.MaskedFeedforwardBlock:
            _refuse(f"block {index} ({name}): MADE block {type(b).__name__}")
        if b.batch_norm is not None:
            _refuse(f"block {index} ({name}): MADE with batch norm (use_batch_norm=True)")
    if not hasattr(net, "context_layer"):
        _refuse(f"block {index} ({name}): MADE without context features (an unconditional "
                "flow); a posterior needs x")
    if hasattr(net, "hidden_features"):
        # nflows would then rescale the spline logits by 1/sqrt(hidden).
        _refuse(f"block {index} ({name}): MADE with a hidden_features attribute (rescaled "
                "spline parameters)")
    features = net.initial_layer.in_features
    hidden = net.initial_layer.out_features
    multiplier = net.final_layer.out_features // features
    layers = [("input", net.initial_layer)]
    layers += [(f"block{i}", b.linear) for i, b in enumerate(net.blocks)]
    layers.append(("output", net.final_layer))
    masks = _sequential_masks(features, hidden, len(net.blocks), multiplier)
    for (lname, layer), mask in zip(layers, masks):
        if layer.weight.shape != mask.shape or not np.array_equal(
                _np(layer.mask, np.float32), mask):
            _refuse(f"block {index} ({name}): MADE layer '{lname}' does not have sequential "
                    "masks (random_mask=True or a custom degree order)")
    arch = {"features": features, "hidden_width": hidden, "made_blocks": len(net.blocks),
            "activation": _activation_name(net.activation),
            "context": net.context_layer.in_features}
    if kind == "maf":
        if multiplier != 2 or getattr(transform, "_epsilon", None) != 1e-3:
            _refuse(f"block {index} ({name}): affine MAF other than nflows 0.14's "
                    "softplus(s) + 1e-3 scale")
    else:
        _check_spline(index, transform)
        if multiplier != 3 * transform.num_bins - 1:
            _refuse(f"block {index} ({name}): {multiplier} spline parameters per feature")
        arch["num_bins"] = int(transform.num_bins)
        arch["tail_bound"] = float(transform.tail_bound)
    tensors = {}
    for (lname, layer), mask in zip(layers, masks):
        tensors[f"blocks.{index}.{lname}_weight"] = _np(layer.weight, np.float32)
        tensors[f"blocks.{index}.{lname}_bias"] = _np(layer.bias, np.float32)
        tensors[f"blocks.{index}.{lname}_mask"] = mask
    tensors[f"blocks.{index}.context_weight"] = _np(net.context_layer.weight, np.float32)
    tensors[f"blocks.{index}.context_bias"] = _np(net.context_layer.bias, np.float32)
    return arch, tensors


def _coupling_block(index, transform, lu, features):
    """Architecture and tensors of one spline coupling of sbi's NSF
    (core/posterior/spline_coupling.h) and the LULinear after it."""
    import torch
    from nflows.nn.nets import ResidualNet
    name = type(transform).__name__
    _check_spline(index, transform)
    if transform.unconditional_transform is not None:
        _refuse(f"block {index} ({name}): an unconditional transform of the identity half "
                "(apply_unconditional_transform=True)")
    ident = transform.identity_features.tolist()
    moved = transform.transform_features.tolist()
    want = list(range(features)) if features == 1 else \
        [i for i in range(features) if (i % 2 == 0) == (index % 2 == 0)]
    if moved != want:
        _refuse(f"block {index} ({name}): transforms columns {moved}; galaxyml's couplings "
                "alternate, even blocks 0, 2, ..., odd blocks 1, 3, ... (sbi's masks)")
    net = transform.transform_net
    tensors = {}

    def put(lname, layer):
        tensors[f"blocks.{index}.{lname}_weight"] = _np(layer.weight, np.float32)
        tensors[f"blocks.{index}.{lname}_bias"] = _np(layer.bias, np.float32)

    arch = {"features": features, "num_bins": int(transform.num_bins),
            "tail_bound": float(transform.tail_bound)}
    if ident:
        if type(net) is not ResidualNet or net.context_features is None:
            _refuse(f"block {index} ({name}): conditioner {type(net).__name__} is not an "
                    "nflows ResidualNet with context features")
        for b in net.blocks:
            if b.use_batch_norm:
                _refuse(f"block {index} ({name}): ResidualNet with batch norm")
        arch.update(hidden_width=net.hidden_features, made_blocks=len(net.blocks),
                    context=net.context_features,
                    activation=_activation_name(net.blocks[0].activation) if net.blocks
                    else "relu")
        put("initial", net.initial_layer)
        for k, b in enumerate(net.blocks):
            put(f"residual{k}_context", b.context_layer)
            put(f"residual{k}_first", b.linear_layers[0])
            put(f"residual{k}_second", b.linear_layers[1])
        put("final", net.final_layer)
        if lu is None:
            _refuse(f"block {index} ({name}): no LULinear after the coupling (sbi's NSF has "
                    "one after every coupling)")
        if lu.eps != 1e-3:
            _refuse(f"block {index}: LULinear with eps={lu.eps} (galaxyml's is 1e-3)")
        tensors[f"blocks.{index}.lu_lower"] = _np(lu.lower_entries, np.float32)
        tensors[f"blocks.{index}.lu_upper"] = _np(lu.upper_entries, np.float32)
        tensors[f"blocks.{index}.lu_diag"] = _np(lu.unconstrained_upper_diag, np.float32)
        tensors[f"blocks.{index}.lu_bias"] = _np(lu.bias, np.float32)
    else:
        seq = getattr(net, "spline_predictor", None)
        kinds = [type(m) for m in seq] if isinstance(seq, torch.nn.Sequential) else []
        lin, relu = torch.nn.Linear, torch.nn.ReLU
        if kinds != [lin, relu, lin, relu, lin]:
            _refuse(f"block {index} ({name}): one-dimensional conditioner "
                    f"{type(net).__name__} is not sbi's ContextSplineMap with one hidden layer")
        arch.update(hidden_width=seq[0].out_features, made_blocks=2,
                    context=seq[0].in_features, activation="relu")
        put("initial", seq[0])
        put("hidden", seq[2])
        put("final", seq[4])
        if lu is not None:
            _refuse(f"block {index}: LULinear on one dimension")
    return arch, tensors


def _same_shape(index, arch, arch0, what):
    """Block 0's architecture, after refusing a block that differs from it:
    a galaxyml model has one block shape."""
    if arch0 is None:
        return arch
    if arch != arch0:
        diff = sorted(k for k in arch if arch[k] != arch0.get(k))
        _refuse(f"block {index} differs from block 0 in {', '.join(diff)} (galaxyml uses one "
                f"{what} shape for every block)")
    return arch0


def _vector(name, value, n):
    if value is None:
        return None
    a = np.asarray(value, dtype=np.float64)
    if a.ndim == 0:
        a = np.full(n, float(a))
    if a.shape != (n,):
        raise InvalidArgumentError(f"{name} needs {n} values (one per dimension), got shape "
                                   f"{a.shape}")
    if not np.all(np.isfinite(a)):
        raise InvalidArgumentError(f"{name} has non-finite values")
    return a


def posterior_parts(flow, theta_mean=None, theta_std=None, x_mean=None, x_std=None,
                    embedding_checked=False):
    """(config, tensors, normalization) of galaxyml's posterior family for an
    nflows Flow; raises UnsupportedModel for what galaxyml cannot represent.
    The config has no prior box and no names (see write_posterior).
    embedding_checked: the caller has already reduced the flow's embedding
    net to z-scores (x_mean, x_std) and an identity."""
    import torch
    from nflows.distributions.normal import StandardNormal
    from nflows.flows.base import Flow
    from nflows.transforms import (MaskedAffineAutoregressiveTransform,
                                   MaskedPiecewiseRationalQuadraticAutoregressiveTransform,
                                   Permutation, PiecewiseRationalQuadraticCouplingTransform,
                                   PointwiseAffineTransform)
    if not isinstance(flow, Flow):
        _refuse(f"{type(flow).__module__}.{type(flow).__name__} is not an nflows Flow")
    if not embedding_checked and not isinstance(flow._embedding_net, torch.nn.Identity):
        _refuse(f"embedding net {type(flow._embedding_net).__name__}: galaxyml's posterior "
                "feeds x to every MADE directly (z-scored); pass x_mean/x_std for a "
                "z-score and an nflows Flow with embedding_net=None")
    dist = flow._distribution
    if type(dist) is not StandardNormal:
        _refuse(f"base distribution {type(dist).__name__} (galaxyml's is a standard normal)")

    layers = _flatten(flow._transform)
    if layers and isinstance(layers[0], PointwiseAffineTransform):
        affine = layers.pop(0)
        if theta_mean is not None or theta_std is not None:
            raise InvalidArgumentError(
                "the flow already z-scores theta (a leading PointwiseAffineTransform); "
                "theta_mean/theta_std must not be given as well")
        scale = _np(affine._scale)
        shift = _np(affine._shift)
        # x * scale + shift = (x - mean) / std
        theta_std = 1.0 / scale
        theta_mean = -shift / scale
    kinds = {MaskedAffineAutoregressiveTransform: "maf",
             MaskedPiecewiseRationalQuadraticAutoregressiveTransform: "nsf"}
    if layers and isinstance(layers[0], PiecewiseRationalQuadraticCouplingTransform):
        return _coupling_parts(layers, dist, theta_mean, theta_std, x_mean, x_std)
    blocks = []
    i = 0
    while i < len(layers):
        t = layers[i]
        kind = kinds.get(type(t))
        if kind is None:
            what = type(t).__name__
            if isinstance(t, PointwiseAffineTransform):
                what += " after the first transform"
            elif "Coupling" in what:
                what += " (a coupling layer in a flow of autoregressive blocks)"
            _refuse(f"transform {i} is {what}")
        perm = None
        if i + 1 < len(layers) and isinstance(layers[i + 1], Permutation):
            p = layers[i + 1]
            if p._dim != 1:
                _refuse(f"transform {i + 1}: permutation along dim {p._dim}")
            perm = p._permutation.detach().cpu().numpy().astype(np.int64)
            i += 1
        blocks.append((kind, t, perm))
        i += 1
    if not blocks:
        _refuse("the flow has no autoregressive transform")
    if len({k for k, _, _ in blocks}) != 1:
        _refuse("the flow mixes affine and spline blocks (galaxyml has one estimator type "
                "per model)")

    kind = blocks[0][0]
    tensors = {}
    arch0 = None
    for b, (_, t, perm) in enumerate(blocks):
        arch, block_tensors = _made_block(b, t, kind)
        arch0 = _same_shape(b, arch, arch0, "MADE")
        tensors.update(block_tensors)
        d = arch["features"]
        if perm is None:
            perm = np.arange(d)
        if sorted(perm.tolist()) != list(range(d)):
            _refuse(f"block {b}: {perm.tolist()} is not a permutation of {d} features")
        # Stored as exact small floats (posterior_flow.cpp).
        tensors[f"permutation{b}"] = perm.astype(np.float32)
    d, c = arch0["features"], arch0["context"]
    if tuple(dist._shape) != (d,):
        _refuse(f"base distribution of shape {tuple(dist._shape)} for {d} features")

    config = {"estimator": kind, "theta_dim": d, "x_dim": c, "num_blocks": len(blocks),
              "hidden_width": arch0["hidden_width"], "made_blocks": arch0["made_blocks"],
              "activation": arch0["activation"], "num_bins": arch0.get("num_bins", 8),
              "tail_bound": arch0.get("tail_bound", 3.0), "observation": ""}
    return config, tensors, _normalization(d, c, theta_mean, theta_std, x_mean, x_std)


def _coupling_parts(layers, dist, theta_mean, theta_std, x_mean, x_std):
    """posterior_parts of sbi's NSF: [coupling, LULinear] per block (a
    coupling alone on one dimension)."""
    from nflows.transforms import LULinear, PiecewiseRationalQuadraticCouplingTransform
    tensors, arch0, index, i = {}, None, 0, 0
    while i < len(layers):
        t = layers[i]
        if type(t) is not PiecewiseRationalQuadraticCouplingTransform:
            _refuse(f"transform {i} is {type(t).__name__} in a flow of spline couplings "
                    "(sbi's NSF: coupling, LULinear, coupling, ...)")
        lu = None
        if i + 1 < len(layers) and type(layers[i + 1]) is LULinear:
            lu = layers[i + 1]
            i += 1
        arch, block_tensors = _coupling_block(index, t, lu, t.features)
        arch0 = _same_shape(index, arch, arch0, "coupling")
        tensors.update(block_tensors)
        index += 1
        i += 1
    d, c = arch0["features"], arch0["context"]
    if tuple(dist._shape) != (d,):
        _refuse(f"base distribution of shape {tuple(dist._shape)} for {d} features")
    config = {"estimator": "nsf", "coupling": True, "theta_dim": d, "x_dim": c,
              "num_blocks": index, "hidden_width": arch0["hidden_width"],
              "made_blocks": arch0["made_blocks"], "activation": arch0["activation"],
              "num_bins": arch0["num_bins"], "tail_bound": arch0["tail_bound"],
              "observation": ""}
    return config, tensors, _normalization(d, c, theta_mean, theta_std, x_mean, x_std)


def _normalization(d, c, theta_mean, theta_std, x_mean, x_std):
    theta_mean = _vector("theta_mean", theta_mean, d)
    theta_std = _vector("theta_std", theta_std, d)
    x_mean = _vector("x_mean", x_mean, c)
    x_std = _vector("x_std", x_std, c)
    for name, s in (("theta_std", theta_std), ("x_std", x_std)):
        if s is not None and not np.all(s > 0):
            raise InvalidArgumentError(f"{name} must be positive")
    return {"theta_mean": np.zeros(d) if theta_mean is None else theta_mean,
            "theta_std": np.ones(d) if theta_std is None else theta_std,
            "x_mean": np.zeros(c) if x_mean is None else x_mean,
            "x_std": np.ones(c) if x_std is None else x_std}


def _names(label, names, n):
    if names is None:
        return []
    names = [str(s) for s in names]
    if len(names) != n:
        raise InvalidArgumentError(f"{label} needs {n} names, got {len(names)}")
    if any(not s or "," in s or "=" in s for s in names):
        raise InvalidArgumentError(f"{label}: names must be non-empty without ',' or '='")
    return names


# galaxyml runs in float32; against a float64 evaluation of the source its
# rounding stays below 1e-4 of (1 + |log q|) even for peaked densities,
# while a different function (another scale, spline or mask) is off by far
# more than 1e-3.
VERIFY_RTOL = 1e-3


def verify_log_prob(path, source_log_prob, theta, x, rtol=VERIFY_RTOL):
    """Loads the written model with galaxyml and compares log q(theta | x)
    with the source's (float64) on the given points; returns the largest
    |difference| / (1 + |log q|) and raises UnsupportedModel above rtol."""
    from ..context import Context
    with Context(device="cpu", seed=1) as ctx:
        with ctx.load_model(path, family="posterior") as model:
            ours = model.log_prob(theta, x)
    ref = np.asarray(source_log_prob, dtype=np.float64)
    err = np.max(np.abs(ours - ref) / (1.0 + np.abs(ref)))
    if not err <= rtol:
        raise UnsupportedModel(
            f"the converted model's log q differs from the source's by {err:.3g} (relative); "
            "the source computes something galaxyml does not represent")
    return float(err)


def write_posterior(out_path, parts, prior_lower=None, prior_upper=None, theta_names=None,
                    x_names=None, x_train=None, provenance=None, check=None):
    """Writes the model file of `parts` (posterior_parts' result) with a
    prior box, names and the training range of x. check(tmp_path) runs on
    the complete file before it replaces out_path; it raises to refuse."""
    from .. import model_file
    config, tensors, norm = parts
    config = dict(config)
    norm = dict(norm)
    d, c = config["theta_dim"], config["x_dim"]
    if (prior_lower is None) != (prior_upper is None):
        raise InvalidArgumentError("give both prior_lower and prior_upper, or neither")
    if prior_lower is not None:
        lo = _vector("prior_lower", prior_lower, d)
        hi = _vector("prior_upper", prior_upper, d)
        if not np.all(lo < hi):
            raise InvalidArgumentError("prior box needs prior_lower < prior_upper in every "
                                       "dimension")
        config["prior_lower"], config["prior_upper"] = lo.tolist(), hi.tolist()
    else:
        config["prior_lower"], config["prior_upper"] = [], []
    config["theta_names"] = _names("theta_names", theta_names, d)
    config["x_names"] = _names("x_names", x_names, c)
    if x_train is not None:
        xt = np.asarray(x_train, dtype=np.float64)
        if xt.ndim != 2 or xt.shape[1] != c or xt.shape[0] < 1:
            raise InvalidArgumentError(f"x_train must be (n, {c}), got shape {xt.shape}")
        if not np.all(np.isfinite(xt)):
            raise InvalidArgumentError("x_train has non-finite values")
        norm["x_train_min"], norm["x_train_max"] = xt.min(0), xt.max(0)
    out_path = os.fspath(out_path)
    folder = os.path.dirname(os.path.abspath(out_path))
    tmp = os.path.join(folder, f".{os.path.basename(out_path)}.convert.{os.getpid()}.h5")
    try:
        checksum = model_file.write(tmp, "posterior", config, tensors, norm,
                                    provenance=provenance)
        if check is not None:
            check(tmp)
        os.replace(tmp, out_path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return checksum


def _versions(*packages):
    out = {}
    for p in packages:
        try:
            out[p] = importlib.metadata.version(p)
        except importlib.metadata.PackageNotFoundError:
            pass
    return out


def float64_log_prob(flow, theta, x):
    """log q of an nflows Flow (with its embedding net) evaluated on a
    float64 copy in eval mode, so that the reference carries no float32
    rounding of its own."""
    import copy

    import torch
    ref = copy.deepcopy(flow).to("cpu", torch.float64).eval()
    with torch.no_grad():
        return ref.log_prob(torch.as_tensor(theta, dtype=torch.float64),
                            context=torch.as_tensor(x, dtype=torch.float64)).numpy()


def self_check(flow_log_prob, config, norm, n=256, seed=0):
    """Points for the conversion check: theta around the z-score of theta,
    x around that of x (wide enough to reach the spline tails), and the
    source's log q at them, computed by flow_log_prob(theta, x) (float64
    arrays in, float64 array out)."""
    rng = np.random.default_rng(seed)
    d, c = config["theta_dim"], config["x_dim"]
    theta = norm["theta_mean"] + norm["theta_std"] * rng.standard_normal((n, d)) * 1.5
    x = norm["x_mean"] + norm["x_std"] * rng.standard_normal((n, c))
    return theta, x, flow_log_prob(theta, x)


def convert(flow, out_path, theta_mean=None, theta_std=None, x_mean=None, x_std=None,
            prior_lower=None, prior_upper=None, theta_names=None, x_names=None, x_train=None,
            verify=True):
    """Writes an nflows conditional MAF/NSF as a galaxyml posterior model
    file and returns its checksum ("fnv1a64:...").

    flow: nflows.flows.Flow (see SUPPORTED); theta_mean/theta_std,
    x_mean/x_std: the z-scores the flow was trained behind (omit theta's
    when the flow starts with a PointwiseAffineTransform); prior_lower,
    prior_upper: the prior box (optional); theta_names, x_names: labels
    (optional; theta_names name the output columns of catalog runs);
    x_train: training x (n, x_dim), whose per-column range flags catalog
    rows outside it (optional). verify: load the file with galaxyml and
    compare log q with the flow's on 256 points before writing out_path.
    """
    parts = posterior_parts(flow, theta_mean, theta_std, x_mean, x_std)
    config, _, norm = parts
    explicit_theta = theta_mean is not None or theta_std is not None

    def flow_log_prob(theta, x):
        u = (theta - norm["theta_mean"]) / norm["theta_std"] if explicit_theta else theta
        ctx = (x - norm["x_mean"]) / norm["x_std"]
        lp = float64_log_prob(flow, u, ctx)
        if explicit_theta:
            lp = lp - np.log(norm["theta_std"]).sum()
        return lp

    check = None
    if verify:
        theta, x, ref = self_check(flow_log_prob, config, norm)

        def check(tmp):
            verify_log_prob(tmp, ref, theta, x)
    provenance = {"converted_from": "nflows", "versions": _versions("nflows", "torch"),
                  "command": "galaxyml.convert.nflows.convert"}
    return write_posterior(out_path, parts, prior_lower, prior_upper, theta_names, x_names,
                           x_train, provenance, check)

"""GalacticFlow checkpoints (github.com/luwo9/GalacticFlow) as galaxyml flow
model files.

    from galaxyml.convert import galacticflow
    checksum = galacticflow.convert("mw_model.pth", "mw_flow.h5")
    flow = ctx.load_model("mw_flow.h5", family="flow")

A checkpoint is the `definition` dict its API saves with torch.save: the
processor's per-column mean and std over the full per-star array (data and
condition columns, after the log10 of the transformed columns), the
condition column indices, the flow's hyperparameters and its state_dict.
The flow NSFlow alternates GLOW 1x1 convolutions with NSF_CL2 double spline
couplings whose spline parameters are the product of two MLPs, one of a data
half and one of the conditions. galaxyml's flow family has the same
structure; with zero spline floors and the LeakyReLU after each MLP's last
layer (docs/flow.md) it computes the same function:

    GalacticFlow                         galaxyml
    layers.{2i}  (conv: y = x W)         blocks.{i}.linear (y = x W_g^T, W_g = W^T
                                         refactorised as P L (U + diag(s)))
    layers.{2i+1}.net1 / net_cond1       blocks.{i}.coupling.second.data_net /
                                         condition_net (transforms columns [D/2, D))
    layers.{2i+1}.net2 / net_cond2       blocks.{i}.coupling.first.data_net /
                                         condition_net (transforms columns [0, D/2))
    mean, std, log10 columns             normalization/data_*, condition_*

Everything that would make the file compute something else is refused with
galaxyml.InvalidArgumentError naming the option: another coupling than
NSF_CL2, another network than MLP, transformations other than log10,
an odd number of data columns, an unconditional flow, unknown keys, and a
state_dict that does not match the hyperparameters.
"""
import json
import os

import numpy as np

from ..errors import InvalidArgumentError
from .. import model_file

__all__ = ["convert", "flow_file_contents", "load_checkpoint"]

SOURCE = "GalacticFlow (github.com/luwo9/GalacticFlow)"

_TOP_LEVEL_KEYS = {"processor", "processor_args", "processor_data", "cond_inds", "flow_hyper",
                   "data_prep_args", "std", "mean", "flow_dict", "subset_params",
                   "loss_history"}
_REQUIRED_KEYS = ("processor", "cond_inds", "flow_hyper", "data_prep_args", "std", "mean",
                  "flow_dict")
_FLOW_HYPER_KEYS = {"n_layers", "dim_notcond", "dim_cond", "CL", "K", "B", "network",
                    "network_args"}
# NSF_CL2's defaults for what flow_hyper may leave out (NSFlow passes the
# rest of flow_hyper to the coupling layer as keyword arguments).
_CL2_DEFAULTS = {"K": 8, "B": 3, "network": "MLP", "network_args": (16, 4, 0.2)}
_DATA_PREP_KEYS = {"transformation_functions", "transformation_indices",
                   "inverse_transformations"}
# The API resolves these names through its own table; log10 with 10**x as
# its inverse is the only transformation galaxyml's flow preprocessing has.
_LOG10_NAMES = {"np.log10", "numpy.log10"}
_INVERSE_NAMES = {"10**x"}

# The LU refactorisation must reproduce the published weight matrix to
# rounding of float64 before anything is rounded to float32.
_LU_TOLERANCE = 1e-12


def _refuse(message):
    raise InvalidArgumentError(f"GalacticFlow checkpoint: {message}")


def _numpy_globals():
    """numpy types a checkpoint may hold (the API stores loss_history as a
    numpy array), allowed in torch.load(weights_only=True): data, no code."""
    names = []
    core = getattr(np, "_core", None) or np.core
    names.append(core.multiarray._reconstruct)
    if hasattr(core.multiarray, "scalar"):
        names.append(core.multiarray.scalar)
    names += [np.ndarray, np.dtype]
    dtypes = getattr(np, "dtypes", None)
    if dtypes is not None:
        names += [getattr(dtypes, n) for n in dir(dtypes) if n.endswith("DType")]
    return names


def load_checkpoint(path):
    """The checkpoint dict, loaded without executing code
    (torch.load(weights_only=True); numpy arrays allowed)."""
    import torch
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"GalacticFlow checkpoint '{path}' does not exist")
    with torch.serialization.safe_globals(_numpy_globals()):
        try:
            definition = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as e:  # pickle, zip and torch errors alike
            _refuse(f"'{path}' cannot be loaded with torch.load(weights_only=True): "
                    f"{str(e).splitlines()[0] if str(e) else type(e).__name__}")
    if not isinstance(definition, dict):
        _refuse(f"'{path}' holds a {type(definition).__name__}, not the definition dict that "
                "GalacticFlow's API saves")
    return definition


def _array(value, what):
    if hasattr(value, "detach"):
        value = value.detach().cpu()
        if value.is_floating_point() and value.element_size() < 4:
            value = value.float()  # float16/bfloat16 have no numpy twin
        value = value.numpy()
    try:
        return np.asarray(value)
    except Exception as e:
        _refuse(f"{what} is not an array ({e})")


def _integer(value, what, low, high):
    v = value.item() if hasattr(value, "item") else value
    # The API casts network_args with int(), so 512.0 means 512.
    if isinstance(v, (float, np.floating)) and float(v).is_integer():
        v = int(v)
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or not low <= v <= high:
        _refuse(f"{what} = {value!r}; galaxyml supports integers in [{low}, {high}]")
    return int(v)


def _real(value, what):
    v = value.item() if hasattr(value, "item") else value
    if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)) \
            or not np.isfinite(v):
        _refuse(f"{what} = {value!r} is not a finite number")
    return float(v)


def _name_of(value):
    # Names as the API's safe mode stores them; a class or function object
    # (unsafe mode) is named by its __name__.
    return value if isinstance(value, str) else getattr(value, "__name__", repr(value))


def _architecture(hyper):
    if not isinstance(hyper, dict):
        _refuse("flow_hyper is not a dict")
    unknown = sorted(set(hyper) - _FLOW_HYPER_KEYS)
    if unknown:
        _refuse(f"flow_hyper has unknown key(s) {unknown}; supported are "
                f"{sorted(_FLOW_HYPER_KEYS)}")
    for key in ("n_layers", "dim_notcond", "dim_cond", "CL"):
        if key not in hyper:
            _refuse(f"flow_hyper has no '{key}'")
    h = dict(_CL2_DEFAULTS, **hyper)
    cl = _name_of(h["CL"])
    if cl != "NSF_CL2":
        _refuse(f"coupling layer CL = '{cl}' is not supported; galaxyml represents only "
                "'NSF_CL2' (both halves transformed in each block)")
    network = _name_of(h["network"])
    if network != "MLP":
        _refuse(f"network = '{network}' is not supported; galaxyml represents only 'MLP'")
    dim_cond = _integer(h["dim_cond"], "flow_hyper dim_cond", 0, 1024)
    if dim_cond == 0:
        _refuse("dim_cond = 0: an unconditional flow is not supported; galaxyml flows model "
                "stars given at least one galaxy condition")
    dim = _integer(h["dim_notcond"], "flow_hyper dim_notcond", 2, 1024)
    if dim % 2:
        _refuse(f"dim_notcond = {dim} is odd; NSF_CL2 is defined for an even number of data "
                "columns only (its networks assume two equal halves), so only even "
                "dim_notcond is supported")
    args = h["network_args"]
    if not isinstance(args, (tuple, list)) or len(args) != 3:
        _refuse(f"network_args = {args!r}; MLP expects (n_hidden, n_layers, neg_slope)")
    n_hidden = _integer(args[0], "network_args n_hidden", 1, 8192)
    n_mlp_layers = _integer(args[1], "network_args n_layers", 1, 65)
    if n_mlp_layers < 2:
        _refuse(f"network_args n_layers = {n_mlp_layers}: galaxyml's MLPs have at least one "
                "hidden layer, so n_layers >= 2 is supported")
    slope = _real(args[2], "network_args neg_slope")
    if not 0 <= slope < 1:
        _refuse(f"network_args neg_slope = {slope}; galaxyml supports slopes in [0, 1)")
    tail_bound = _real(h["B"], "flow_hyper B")
    if tail_bound <= 0:
        _refuse(f"B = {tail_bound}; the spline interval [-B, B] needs B > 0")
    return {
        "num_blocks": _integer(h["n_layers"], "flow_hyper n_layers", 1, 256),
        "data_dim": dim,
        "condition_dim": dim_cond,
        "num_bins": _integer(h["K"], "flow_hyper K", 2, 1024),
        "tail_bound": tail_bound,
        "hidden_width": n_hidden,
        "n_mlp_layers": n_mlp_layers,
        "leaky_relu_slope": slope,
    }


def _expected_state(a):
    """Names and shapes of NSFlow's state_dict for architecture `a`."""
    d, c, k = a["data_dim"], a["condition_dim"], a["num_bins"]
    half, out = d // 2, (3 * k - 1) * (d // 2)
    shapes = {}
    for i in range(a["num_blocks"]):
        conv = f"layers.{2 * i}."
        shapes.update({conv + "P": (d, d), conv + "S": (d,), conv + "L": (d, d),
                       conv + "U": (d, d)})
        for net, n_in in (("net1", half), ("net2", half), ("net_cond1", c), ("net_cond2", c)):
            widths = [n_in] + [a["hidden_width"]] * (a["n_mlp_layers"] - 1) + [out]
            for j in range(a["n_mlp_layers"]):
                p = f"layers.{2 * i + 1}.{net}.network.{2 * j}."
                shapes[p + "weight"] = (widths[j + 1], widths[j])
                shapes[p + "bias"] = (widths[j + 1],)
    return shapes


def _state(flow_dict, a):
    if not hasattr(flow_dict, "keys"):
        _refuse("flow_dict is not a state_dict")
    expected = _expected_state(a)
    got = {str(k): _array(v, f"flow_dict[{k!r}]") for k, v in flow_dict.items()}
    missing = sorted(set(expected) - set(got))
    extra = sorted(set(got) - set(expected))
    summary = (f"n_layers={a['num_blocks']}, dim_notcond={a['data_dim']}, "
               f"dim_cond={a['condition_dim']}, K={a['num_bins']}, "
               f"network_args=({a['hidden_width']}, {a['n_mlp_layers']}, ...)")
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"missing {missing[:4]}{' ...' if len(missing) > 4 else ''}")
        if extra:
            parts.append(f"unexpected {extra[:4]}{' ...' if len(extra) > 4 else ''}")
        _refuse(f"flow_dict does not match flow_hyper ({summary}): {'; '.join(parts)}")
    for name, shape in expected.items():
        if tuple(got[name].shape) != shape:
            _refuse(f"flow_dict['{name}'] has shape {tuple(got[name].shape)} but flow_hyper "
                    f"({summary}) implies {shape}")
        if not np.issubdtype(got[name].dtype, np.floating) or not np.all(np.isfinite(got[name])):
            _refuse(f"flow_dict['{name}'] is not a finite floating-point array")
    return got


def _preprocessing(definition, dim, dim_cond):
    """Data and condition columns, their mean/std and log10 flags."""
    total = dim + dim_cond
    cond_inds = _array(definition["cond_inds"], "cond_inds").reshape(-1)
    if not np.issubdtype(cond_inds.dtype, np.integer):
        _refuse(f"cond_inds has dtype {cond_inds.dtype}; integer column indices are expected")
    cond_inds = [int(i) for i in cond_inds]
    if len(cond_inds) != dim_cond or len(set(cond_inds)) != dim_cond or \
            not all(0 <= i < total for i in cond_inds):
        _refuse(f"cond_inds = {cond_inds} must be {dim_cond} distinct column indices in "
                f"[0, {total}) (dim_notcond + dim_cond columns)")
    data_cols = [i for i in range(total) if i not in set(cond_inds)]

    prep = definition["data_prep_args"]
    if not isinstance(prep, dict):
        _refuse("data_prep_args is not a dict")
    unknown = sorted(set(prep) - _DATA_PREP_KEYS)
    if unknown:
        _refuse(f"data_prep_args has unknown key(s) {unknown}; supported are "
                f"{sorted(_DATA_PREP_KEYS)}")
    fns = tuple(prep.get("transformation_functions", ()))
    inds = tuple(prep.get("transformation_indices", ()))
    invs = tuple(prep.get("inverse_transformations", ()))
    if not len(fns) == len(inds) == len(invs):
        _refuse("data_prep_args: transformation_functions, transformation_indices and "
                "inverse_transformations differ in length")
    log_cols = set()
    for fn, ind, inv in zip(fns, inds, invs):
        name, inverse = _name_of(fn), _name_of(inv)
        if name not in _LOG10_NAMES:
            _refuse(f"transformation function '{name}' is not supported; galaxyml's flow "
                    "preprocessing has only 'np.log10' (with inverse '10**x')")
        if inverse.replace(" ", "") not in _INVERSE_NAMES:
            _refuse(f"inverse transformation '{inverse}' of '{name}' is not supported; "
                    "only '10**x' inverts 'np.log10'")
        for i in _array(ind, "transformation_indices").reshape(-1):
            i = int(i)
            if not 0 <= i < total:
                _refuse(f"transformation index {i} outside [0, {total})")
            if i in log_cols:
                _refuse(f"column {i} is log10-transformed twice; galaxyml applies log10 at "
                        "most once per column")
            log_cols.add(i)

    for key in ("mean", "std"):
        if definition[key] is None:
            _refuse(f"{key} is None: the model was saved before its data were prepared, so "
                    "its normalisation is unknown")
    mean = _array(definition["mean"], "mean").astype(np.float64).reshape(-1)
    std = _array(definition["std"], "std").astype(np.float64).reshape(-1)
    for what, v in (("mean", mean), ("std", std)):
        if v.shape != (total,):
            _refuse(f"{what} has {v.size} entries; the processor's statistics cover all "
                    f"{total} columns (dim_notcond + dim_cond)")
        if not np.all(np.isfinite(v)):
            _refuse(f"{what} is not finite")
    if not np.all(std > 0):
        _refuse("std has a non-positive entry")
    return {
        "data_columns": data_cols,
        "condition_columns": cond_inds,
        "data_mean": mean[data_cols],
        "data_std": std[data_cols],
        "data_log10": np.array([i in log_cols for i in data_cols], dtype=np.uint8),
        "condition_mean": mean[cond_inds],
        "condition_std": std[cond_inds],
        "condition_log10": np.array([i in log_cols for i in cond_inds], dtype=np.uint8),
    }


def _lu_layer(P, S, L, U):
    """galaxyml's LU parameters of the conv layer (P, S, L, U): its weight is
    W = P tril(L, -1)+I (triu(U, 1) + diag(S)), applied as x W, so galaxyml's
    W_g (applied as x W_g^T) is W^T, factorised anew as P_g L_g U_g."""
    import scipy.linalg
    d = S.shape[0]
    P, S, L, U = (np.asarray(t, dtype=np.float64) for t in (P, S, L, U))
    if np.any(S == 0):
        _refuse("a GLOW convolution has a zero entry in S (singular weight)")
    w_ref = P @ (np.tril(L, -1) + np.eye(d)) @ (np.triu(U, 1) + np.diag(S))
    target = w_ref.T
    p, lower, upper = scipy.linalg.lu(target)
    diag = np.diag(upper)
    scale = max(np.abs(target).max(), 1.0)
    err = np.abs(p @ lower @ upper - target).max()
    if not err <= _LU_TOLERANCE * scale or np.any(diag == 0):
        _refuse(f"a GLOW convolution's weight cannot be refactorised (residual {err:.3g})")
    logdet_ref = np.sum(np.log(np.abs(S)))
    logdet = np.sum(np.log(np.abs(diag)))
    if abs(logdet - logdet_ref) > 1e-9 * max(1.0, abs(logdet_ref)):
        _refuse(f"a GLOW convolution's log-determinant is not reproduced ({logdet} vs "
                f"{logdet_ref})")
    li, ui = np.tril_indices(d, -1), np.triu_indices(d, 1)
    tensors = {
        "permutation": p.astype(np.float32),
        "lower": lower[li].astype(np.float32),
        "upper": upper[ui].astype(np.float32),
        "sign_s": np.sign(diag).astype(np.float32),
        "log_s": np.log(np.abs(diag)).astype(np.float32),
    }
    return tensors, float(err / scale)


def flow_file_contents(definition, column_names=None, condition_names=None):
    """(config, tensors, normalization, report) of the galaxyml flow file for
    a checkpoint dict; refuses what galaxyml cannot represent exactly."""
    if not isinstance(definition, dict):
        _refuse(f"expected the definition dict, got {type(definition).__name__}")
    if "mu_vals" in definition or "component_names" in definition:
        _refuse("this is the named-column format of GalacticFlow's later API (mu_vals, "
                "std_vals, component_names); only the format with cond_inds, mean and std "
                "(API.py of July-August 2023) is supported")
    unknown = sorted(set(map(str, definition)) - _TOP_LEVEL_KEYS)
    if unknown:
        _refuse(f"unknown key(s) {unknown}; known are {sorted(_TOP_LEVEL_KEYS)}")
    for key in _REQUIRED_KEYS:
        if key not in definition:
            _refuse(f"no '{key}'")
    processor = _name_of(definition["processor"])
    if processor != "Processor_cond":
        _refuse(f"processor '{processor}' is not supported; only 'Processor_cond' "
                "(conditional flows) is")
    a = _architecture(definition["flow_hyper"])
    state = _state(definition["flow_dict"], a)
    prep = _preprocessing(definition, a["data_dim"], a["condition_dim"])

    tensors = {}
    worst_lu = 0.0
    for i in range(a["num_blocks"]):
        conv = f"layers.{2 * i}."
        lu, err = _lu_layer(state[conv + "P"], state[conv + "S"], state[conv + "L"],
                            state[conv + "U"])
        worst_lu = max(worst_lu, err)
        for name, value in lu.items():
            tensors[f"blocks.{i}.linear.{name}"] = value
        coupling = f"layers.{2 * i + 1}."
        for source, half, net in (("net1", "second", "data_net"),
                                  ("net_cond1", "second", "condition_net"),
                                  ("net2", "first", "data_net"),
                                  ("net_cond2", "first", "condition_net")):
            for j in range(a["n_mlp_layers"]):
                for p in ("weight", "bias"):
                    tensors[f"blocks.{i}.coupling.{half}.{net}.{2 * j}.{p}"] = \
                        state[f"{coupling}{source}.network.{2 * j}.{p}"].astype(np.float32)

    d, c = a["data_dim"], a["condition_dim"]
    for what, names, n in (("column_names", column_names, d),
                           ("condition_names", condition_names, c)):
        if names is not None and (len(names) != n or not all(isinstance(s, str) for s in names)):
            _refuse(f"{what} must be {n} strings")
    config = {
        "data_dim": d,
        "condition_dim": c,
        "num_blocks": a["num_blocks"],
        "num_bins": a["num_bins"],
        "tail_bound": a["tail_bound"],
        "hidden_width": a["hidden_width"],
        "hidden_layers": a["n_mlp_layers"] - 1,
        "leaky_relu_slope": a["leaky_relu_slope"],
        "conditioner_output_activation": True,
        "min_bin_width": 0.0,
        "min_bin_height": 0.0,
        "min_derivative": 0.0,
        "log_columns": [int(i) for i in np.flatnonzero(prep["data_log10"])],
        "condition_log_columns": [int(i) for i in np.flatnonzero(prep["condition_log10"])],
        "column_names": list(column_names or []),
        "condition_names": list(condition_names or []),
    }
    normalization = {k: prep[k] for k in ("data_mean", "data_std", "data_log10",
                                          "condition_mean", "condition_std",
                                          "condition_log10")}
    report = {"data_columns": prep["data_columns"],
              "condition_columns": prep["condition_columns"],
              "lu_relative_residual": worst_lu}
    return config, tensors, normalization, report


def _training_record(definition, report):
    record = {"source": SOURCE,
              "source_data_columns": report["data_columns"],
              "source_condition_columns": report["condition_columns"]}
    history = definition.get("loss_history")
    if history is not None:
        h = _array(history, "loss_history").astype(np.float64).reshape(-1)
        record["loss_history"] = [float(v) if np.isfinite(v) else None for v in h]
    for key in ("processor_args", "subset_params"):
        if key in definition:
            record[key] = _jsonable(definition[key])
    return record


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "tolist"):
        return value.tolist() if not hasattr(value, "detach") else value.detach().tolist()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return repr(value)


def convert(checkpoint, out_path, provenance=None, column_names=None, condition_names=None):
    """Writes the galaxyml flow model file of a GalacticFlow checkpoint and
    returns its checksum ("fnv1a64:<16 hex>").

    checkpoint: path of the torch.save()d definition dict (loaded with
    weights_only=True), or the dict itself. Data columns keep the order of
    the full per-star array with the condition columns (cond_inds) taken
    out; the conditions follow cond_inds. provenance: dict merged into the
    file's provenance. column_names / condition_names: optional labels.
    Raises galaxyml.InvalidArgumentError for what galaxyml cannot represent
    exactly; nothing is written then."""
    source = None
    if isinstance(checkpoint, (str, os.PathLike)):
        source = os.path.abspath(os.fspath(checkpoint))
        definition = load_checkpoint(checkpoint)
    else:
        definition = checkpoint
    config, tensors, normalization, report = flow_file_contents(definition, column_names,
                                                                condition_names)
    record = _training_record(definition, report)
    prov = {"data": source or "GalacticFlow definition dict",
            "command": "galaxyml.convert.galacticflow.convert",
            "source": SOURCE}
    if provenance:
        prov.update(provenance)
    extra = {"training": np.frombuffer(json.dumps(record).encode("utf-8"), dtype=np.uint8)}
    return model_file.write(out_path, "flow", config, tensors, normalization, extra,
                            provenance=prov)

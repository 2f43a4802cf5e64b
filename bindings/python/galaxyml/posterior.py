"""The posterior family (SEDflow): amortized posteriors q(theta | x).

    def simulator(theta, x):            # theta (n, 2) view, x (n, 3) to fill
        x[:, 0] = theta[:, 0] + theta[:, 1]
        ...
    galaxyml.posterior.simulate(ctx, simulator, lower, upper, x_dim=3, n=5000,
                                path="sims.h5", seed=1)
    galaxyml.posterior.train(ctx, "sims.h5", "posterior.h5", max_epochs=5, seed=1)

Simulations made elsewhere come in as arrays or files:

    galaxyml.posterior.write_training_set(ctx, theta, x, "sims.h5",
                                          prior_lower=lower, prior_upper=upper)
    galaxyml.posterior.import_simulations(ctx, "my_sims.npz", "sims.h5")
    post = ctx.load_model("posterior.h5", family="posterior")
    theta = post.sample(x, n_samples=1000, seed=3)      # (n_obs, 1000, theta_dim)

Priors other than a box are given as a dict (or its JSON text) wherever a
training set is made, e.g. prior={"kind": "lognormal", "mean": [0, 1],
"std": [0.5, 0.5]} (kinds uniform, normal, lognormal, independent, mvn;
docs/posterior.md, "Priors"). A flow puts some mass outside a bounded
prior, where no simulation came from; draw() rejects those draws and
replaces them (sbi's truncation):

    theta, n_accepted, n_proposed = post.draw(x, 1000, seed=3)

Arrays follow the package's policy (galaxyml._arrays): float64 throughout;
lossless casts and C-order copies are made, wrong shapes are refused.
"""
import ctypes
import json
import os
from dataclasses import dataclass, fields
from typing import NamedTuple

import numpy as np

from . import _abi
from ._arrays import as_input, empty, ptr
from ._lib import check, encode, lib, text_out
from .context import Model, _FAMILY_CLASSES, default_options

SUMMARY_COLUMNS = ("median", "p16", "p84", "mean", "std")

# gml_posterior_sample_options.truncate and gml_posterior_run_options.truncate.
TRUNCATE_MODES = {"auto": -1, "on": 1, "off": 0}


def _truncate_mode(truncate):
    """"auto"/"on"/"off" (or -1/1/0, None for auto) -> the C field's value."""
    if truncate is None:
        return TRUNCATE_MODES["auto"]
    if isinstance(truncate, str):
        mode = TRUNCATE_MODES.get(truncate.lower())
        if mode is None:
            raise ValueError(f"truncate must be one of {', '.join(TRUNCATE_MODES)} (or -1, 1, "
                             f"0); got {truncate!r}")
        return mode
    if isinstance(truncate, (bool, np.bool_)):
        return 1 if truncate else 0
    if isinstance(truncate, (int, np.integer)) and int(truncate) in (-1, 0, 1):
        return int(truncate)
    raise ValueError(f"truncate must be one of {', '.join(TRUNCATE_MODES)} (or -1, 1, 0); "
                     f"got {truncate!r}")


def _jsonable(value):
    # numpy arrays and scalars in a prior dict (means, covariances)
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"a prior holds {type(value).__name__}, which has no JSON form")


def _prior_json(prior):
    """A prior as the JSON text the library reads: a dict is dumped, text
    passes as is, None stays NULL."""
    if prior is None or isinstance(prior, (str, bytes)):
        return prior
    return json.dumps(prior, default=_jsonable)


def _prior_dim(prior_text):
    """theta_dim of a prior's JSON text, as the library will read it; None
    when the text does not say (the library then reports what is wrong)."""
    try:
        p = json.loads(prior_text)
        kind = p["kind"]
        if kind == "independent":
            return len(p["marginals"])
        return len(p["lower"] if kind == "uniform" else p["mean"])
    except (ValueError, KeyError, TypeError):
        return None


@dataclass
class ImportReport:
    """What write_training_set / import_simulations wrote."""
    theta_dim: int
    x_dim: int
    rows_read: int
    rows_written: int
    rows_nonfinite: int      # dropped for NaN or infinity
    rows_outside_prior: int  # kept, but outside the prior's support


class Draws(NamedTuple):
    """What PosteriorModel.draw returns (a tuple: theta, n_accepted,
    n_proposed = post.draw(...))."""
    theta: np.ndarray       # (n_obs, n_samples, theta_dim); NaN rows after the accepted
    n_accepted: np.ndarray  # (n_obs,) int64: n_samples unless the acceptance fell short
    n_proposed: np.ndarray  # (n_obs,) int64: draws made; n_accepted / n_proposed = acceptance


@dataclass
class Diagnostics:
    """Calibration of a posterior on held-out simulations."""
    ranks: np.ndarray         # (n_sims, theta_dim) int64: SBC ranks
    sbc_pvalue: np.ndarray    # (theta_dim,)
    coverage: np.ndarray      # (levels, theta_dim + 1); last column: HDR
    tarp_ecp: np.ndarray      # (levels + 1,)
    tarp_summary: np.ndarray  # (2,): ATC, KS p-value


class PosteriorModel(Model):
    """A posterior model q(theta | x)."""

    @property
    def dims(self):
        """(theta_dim, x_dim)."""
        t, x = ctypes.c_int64(), ctypes.c_int64()
        check(lib.gml_posterior_dims(self.handle, ctypes.byref(t), ctypes.byref(x)))
        return t.value, x.value

    def describe(self):
        """Labels, prior, training range of x and the architecture: "prior"
        is the prior as a dict (None without one); "prior_lower" and
        "prior_upper" its support, None where a side is unbounded."""
        return json.loads(text_out(lib.gml_posterior_describe, self.handle))

    def _x(self, x, name="x"):
        return as_input(x, np.float64, name, (None, self.dims[1]))

    def sample(self, x, n_samples, seed=0, return_outside=False):
        """Posterior draws: x (n_obs, x_dim) float64 -> theta (n_obs,
        n_samples, theta_dim) float64; with return_outside also (n_obs,)
        int64 counts of draws outside the prior's support (kept in theta;
        draw() replaces them)."""
        theta_dim, _ = self.dims
        xa = self._x(x)
        theta = empty((xa.shape[0], n_samples, theta_dim), np.float64)
        outside = empty((xa.shape[0],), np.int64)
        self._run(lib.gml_posterior_sample, self.context.handle, self.handle, ptr(xa),
                  xa.shape[0], n_samples, seed, ptr(theta), theta.size, ptr(outside))
        return (theta, outside) if return_outside else theta

    def sample_to_file(self, x, n_samples, path, seed=0):
        """sample()'s draws streamed to a file (atomic write), for sample
        sizes beyond memory; the extension picks the format: .h5 (datasets
        samples and x, float32), .fits (one row per draw: OBS, a column per
        parameter, INSIDE) or .npy (float64 [n_obs, n_samples, theta_dim])."""
        xa = self._x(x)
        self._run(lib.gml_posterior_sample_to_file, self.context.handle, self.handle, ptr(xa),
                  xa.shape[0], n_samples, seed, encode(os.fspath(path)))

    def _sample_options(self, truncate, min_acceptance, prior_log_prob, keep):
        o = default_options("gml_posterior_sample_options")
        o.truncate = _truncate_mode(truncate)
        if min_acceptance is not None:
            o.min_acceptance = min_acceptance
        if prior_log_prob is not None:
            state = self.context._state

            def trampoline(theta_p, n, theta_dim, log_prob_p, user):
                try:
                    if state.interrupted:
                        return 1
                    theta = np.ctypeslib.as_array(theta_p, shape=(n, theta_dim))
                    theta.flags.writeable = False
                    lp = np.asarray(prior_log_prob(theta))
                    # A support mask is the natural answer for a truncation
                    # prior, but True/False as 1.0/0.0 would accept every draw.
                    if lp.dtype == np.bool_:
                        lp = np.where(lp, 0.0, -np.inf)
                    if lp.shape != (n,):
                        raise ValueError(f"prior_log_prob returned shape {lp.shape} for {n} "
                                         f"thetas; it must return ({n},)")
                    np.ctypeslib.as_array(log_prob_p, shape=(n,))[:] = lp
                    return 0
                except BaseException as e:  # noqa: B902 - never unwind into C
                    state.record(e)
                    return 1

            # The library holds only the C pointer: the ctypes object must
            # outlive the call, or the pointer dangles mid-draw.
            fn = _abi.gml_prior_log_prob_fn(trampoline)
            keep.append(fn)
            o.prior_log_prob = fn
        return o

    def draw(self, x, n_samples, seed=0, truncate="auto", min_acceptance=None,
             prior_log_prob=None):
        """Posterior draws truncated to the prior's support (sbi's rejection
        sampling): draws outside it are rejected and replaced, so each
        observation gets n_samples draws from the posterior restricted to
        the prior. Returns Draws(theta, n_accepted, n_proposed): theta
        (n_obs, n_samples, theta_dim) float64, an observation's
        n_accepted draws first and NaN rows after them where its acceptance
        fell below min_acceptance (default 1e-3; then fewer were kept).

        truncate: "auto" (where the model's prior has a bound), "on"
        (always; non-finite draws are rejected too) or "off" (exactly
        sample()'s draws); or -1, 1, 0.
        prior_log_prob: a callable theta (n, theta_dim) float64 (read only)
        -> (n,) log density; a draw where it is not finite (-inf, NaN) is
        rejected instead of one outside the model's prior. A bool array is
        taken as the support (False: rejected). It runs on the calling
        thread; an exception stops the call and is raised as CallbackError
        caused by it.
        Observation i's draws depend only on (seed, i)."""
        theta_dim, _ = self.dims
        xa = self._x(x)
        keep = []
        o = self._sample_options(truncate, min_acceptance, prior_log_prob, keep)
        n_obs = xa.shape[0]
        d = Draws(empty((n_obs, n_samples, theta_dim), np.float64), empty((n_obs,), np.int64),
                  empty((n_obs,), np.int64))
        self._run(lib.gml_posterior_draw, self.context.handle, self.handle, ptr(xa), n_obs,
                  n_samples, seed, ctypes.byref(o), ptr(d.theta), d.theta.size,
                  ptr(d.n_accepted), ptr(d.n_proposed))
        return d

    def draw_to_file(self, x, n_samples, path, seed=0, truncate="auto", min_acceptance=None,
                     prior_log_prob=None):
        """draw()'s draws streamed to a file (atomic write), in the formats
        of sample_to_file(); an observation left short has NaN rows after
        its accepted draws (in FITS with INSIDE 0)."""
        xa = self._x(x)
        keep = []
        o = self._sample_options(truncate, min_acceptance, prior_log_prob, keep)
        self._run(lib.gml_posterior_draw_to_file, self.context.handle, self.handle, ptr(xa),
                  xa.shape[0], n_samples, seed, ctypes.byref(o), encode(os.fspath(path)))

    def summarize(self, x, n_samples, seed=0, return_outside=False):
        """(n_obs, theta_dim, 5) float64: median, p16, p84, mean, std of
        n_samples draws inside the prior's support (SUMMARY_COLUMNS order;
        draw() with its defaults); return_outside adds the (n_obs,) counts
        of draws rejected outside it."""
        theta_dim, _ = self.dims
        xa = self._x(x)
        summary = empty((xa.shape[0], theta_dim, _abi.GML_SUMMARY_COLUMNS), np.float64)
        outside = empty((xa.shape[0],), np.int64)
        self._run(lib.gml_posterior_summarize, self.context.handle, self.handle, ptr(xa),
                  xa.shape[0], n_samples, seed, ptr(summary), summary.size, ptr(outside))
        return (summary, outside) if return_outside else summary

    def log_prob(self, theta, x):
        """log q(theta | x): theta (n, theta_dim); x (1, x_dim) or (n,
        x_dim). Returns (n,) float64."""
        theta_dim, _ = self.dims
        t = as_input(theta, np.float64, "theta", (None, theta_dim))
        xa = self._x(x)
        out = empty((t.shape[0],), np.float64)
        self._run(lib.gml_posterior_log_prob, self.context.handle, self.handle, ptr(t),
                  t.shape[0], ptr(xa), xa.shape[0], ptr(out))
        return out

    def run_catalog(self, catalog_path, mapping, out_path, **options):
        """Posterior summaries of every row of a FITS catalog, written as a
        FITS table (ROW, FLAGS, N_OUTSIDE, N_DRAWS, X, per-parameter
        summaries). options: fields of gml_posterior_run_options
        (n_samples, seed, hdu, samples_path, chunk_rows, first_row,
        max_rows, truncate as in draw(), min_acceptance: rows below it are
        flagged LOW_ACCEPTANCE)."""
        if "truncate" in options:
            options["truncate"] = _truncate_mode(options["truncate"])
        keep = []
        o = default_options("gml_posterior_run_options", options, keep)
        self._run(lib.gml_posterior_run_catalog, self.context.handle, self.handle,
                  encode(catalog_path), encode(mapping), ctypes.byref(o), encode(out_path))

    def diagnose(self, simulations_path, n_sims, n_samples, levels, first_row=0, seed=0):
        """SBC ranks and p-values, expected coverage and TARP on held-out
        simulations (gml_posterior_diagnose)."""
        theta_dim, _ = self.dims
        d = Diagnostics(empty((n_sims, theta_dim), np.int64), empty((theta_dim,), np.float64),
                        empty((levels, theta_dim + 1), np.float64),
                        empty((levels + 1,), np.float64), empty((2,), np.float64))
        self._run(lib.gml_posterior_diagnose, self.context.handle, self.handle,
                  encode(simulations_path), first_row, n_sims, n_samples, levels, seed,
                  ptr(d.ranks), ptr(d.sbc_pvalue), ptr(d.coverage), ptr(d.tarp_ecp),
                  ptr(d.tarp_summary))
        return d

    def diagnose_batch(self, simulations_path, n_sims, n_samples, levels, first_row=0, seed=0,
                       ranks=True, coverage=True, tarp=True):
        """As diagnose(), through the request/result form; the parts not
        asked for (ranks, coverage, tarp=False) are not computed into
        arrays and come back as None."""
        theta_dim, _ = self.dims
        req = _abi.gml_posterior_diagnose_request()
        req.struct_size = ctypes.sizeof(req)
        path = encode(simulations_path)
        req.simulations_path = path
        req.first_row, req.n_sims, req.n_samples = first_row, n_sims, n_samples
        req.levels, req.seed = levels, seed
        d = Diagnostics(empty((n_sims, theta_dim), np.int64) if ranks else None,
                        empty((theta_dim,), np.float64),
                        empty((levels, theta_dim + 1), np.float64) if coverage else None,
                        empty((levels + 1,), np.float64) if tarp else None,
                        empty((2,), np.float64) if tarp else None)
        res = _abi.gml_posterior_diagnose_result()
        res.struct_size = ctypes.sizeof(res)
        for name in ("ranks", "sbc_pvalue", "coverage", "tarp_ecp", "tarp_summary"):
            a = getattr(d, name)
            if a is not None:
                setattr(res, name, ptr(a))
                setattr(res, name + "_capacity", a.size)
        self._run(lib.gml_posterior_diagnose_batch, self.context.handle, self.handle,
                  ctypes.byref(req), ctypes.byref(res))
        return d


_FAMILY_CLASSES["posterior"] = PosteriorModel


def _simulate_options(options, keep, theta_names=None, x_names=None):
    if theta_names is not None and not isinstance(theta_names, str):
        theta_names = ",".join(theta_names)
    if x_names is not None and not isinstance(x_names, str):
        x_names = ",".join(x_names)
    if theta_names is not None:
        options["theta_names"] = theta_names
    if x_names is not None:
        options["x_names"] = x_names
    return default_options("gml_posterior_simulate_options", options, keep)


def simulate(ctx, simulator, prior_lower, prior_upper, x_dim, n, path, theta_names=None,
             x_names=None, prior=None, prior_sample=None, theta_dim=None, **options):
    """Writes a training set (HDF5) with a Python forward model.

    simulator(theta, x) receives numpy views of the library's buffers:
    theta (b, theta_dim) float64 (read only; drawn from the prior) and x
    (b, x_dim) float64 to fill in place. It is called on the calling
    thread; an exception stops the generation (rows of earlier batches
    stay in the file) and is raised as CallbackError caused by it. A
    non-None, non-zero return value also stops it.

    The prior is one of: the box [prior_lower, prior_upper]; prior, a dict
    or its JSON text (prior_lower = prior_upper = None); or prior_sample, a
    Python prior: prior_sample(theta, first_row, seed) fills theta (b,
    theta_dim) in place (or returns such an array) with the draws of
    training-set rows first_row.. (derive the stream from seed and
    first_row, so a resumed run repeats an uninterrupted one), and
    prior_lower/prior_upper are then its support (None, or +-inf where
    unbounded). It is stored with the set and the models trained on it.
    theta_dim: needed only when neither the bounds nor the prior say it.
    options: fields of gml_posterior_simulate_options (batch_size, seed,
    resume).
    """
    prior = _prior_json(prior)
    lower = upper = None
    if prior_lower is not None:
        lower = as_input(prior_lower, np.float64, "prior_lower", (theta_dim,))
        theta_dim = lower.shape[0]
    if prior_upper is not None:
        upper = as_input(prior_upper, np.float64, "prior_upper", (theta_dim,))
        theta_dim = upper.shape[0]
    if theta_dim is None and prior is not None:
        theta_dim = _prior_dim(prior)
    if theta_dim is None:
        raise ValueError("theta_dim is unknown: give prior_lower and prior_upper, a prior that "
                         "states its dimension, or theta_dim")
    state = ctx._state

    def trampoline(theta_p, b, x_p, user):
        try:
            if state.interrupted:
                return 1
            theta = np.ctypeslib.as_array(theta_p, shape=(b, theta_dim))
            theta.flags.writeable = False
            x = np.ctypeslib.as_array(x_p, shape=(b, x_dim))
            ret = simulator(theta, x)
            return int(ret) if ret else 0
        except BaseException as e:  # noqa: B902 - never unwind into C
            state.record(e)
            return 1

    def prior_trampoline(first_row, b, d, seed, theta_p, user):
        try:
            if state.interrupted:
                return 1
            theta = np.ctypeslib.as_array(theta_p, shape=(b, d))
            ret = prior_sample(theta, first_row, seed)
            if isinstance(ret, np.ndarray) or (ret is not None and not np.isscalar(ret)):
                theta[...] = ret
                return 0
            return int(ret) if ret else 0
        except BaseException as e:  # noqa: B902 - never unwind into C
            state.record(e)
            return 1

    fn = _abi.gml_simulator_fn(trampoline)
    keep = [fn]
    if prior is not None:
        options["prior"] = prior
    o = _simulate_options(options, keep, theta_names, x_names)
    if prior_sample is not None:
        sample_fn = _abi.gml_prior_sample_fn(prior_trampoline)
        keep.append(sample_fn)
        o.prior_sample = sample_fn
    ctx.run(lib.gml_posterior_simulate, ctx.handle, fn, None, theta_dim, x_dim, ptr(lower),
            ptr(upper), n, ctypes.byref(o), encode(path))


def simulate_sed(ctx, n, path, data_dir=None, **options):
    """Writes a training set with the built-in SED forward model (SDSS
    ugriz); data_dir holds sed/ and sdss/ (None: $GML_DATA_DIR, else the
    source tree's data/)."""
    keep = []
    o = _simulate_options(options, keep)
    ctx.run(lib.gml_posterior_simulate_sed, ctx.handle, encode(data_dir), n, ctypes.byref(o),
            encode(path))


def training_set_info(path):
    """(theta_dim, x_dim, rows) of a training set file."""
    t, x, r = ctypes.c_int64(), ctypes.c_int64(), ctypes.c_int64()
    check(lib.gml_posterior_training_set_info(encode(path), ctypes.byref(t), ctypes.byref(x),
                                              ctypes.byref(r)))
    return t.value, x.value, r.value


def train(ctx, training_set_path, model_path, **options):
    """Trains a posterior estimator and writes the model file. options:
    fields of gml_posterior_train_options (estimator, num_blocks,
    hidden_width, made_blocks, activation, num_bins, batch_size,
    learning_rate, max_epochs, patience, validation_fraction,
    checkpoint_path, resume, seed, max_rows, lr_plateau, lr_factor,
    calibration_sims, calibration_samples, bounded_theta). The model keeps the calibration
    on its validation simulations: describe()["provenance"]["calibration"]."""
    keep = []
    o = default_options("gml_posterior_train_options", options, keep)
    ctx.run(lib.gml_posterior_train, ctx.handle, encode(training_set_path), ctypes.byref(o),
            encode(model_path))


def _import_options(keep, prior_lower, prior_upper, theta_names, x_names, reject_nonfinite,
                    theta_dim=None, prior=None, **named):
    options = {k: v for k, v in named.items() if v is not None}
    if prior is not None:
        options["prior"] = _prior_json(prior)
    for key, names in (("theta_names", theta_names), ("x_names", x_names)):
        if names is not None:
            options[key] = names if isinstance(names, str) else ",".join(names)
    options["reject_nonfinite"] = 1 if reject_nonfinite else 0
    o = default_options("gml_posterior_import_options", options, keep)
    if (prior_lower is None) != (prior_upper is None):
        raise ValueError("give both prior_lower and prior_upper, or neither")
    if prior_lower is not None:
        lower = as_input(prior_lower, np.float64, "prior_lower", (theta_dim,))
        upper = as_input(prior_upper, np.float64, "prior_upper", (lower.shape[0],))
        keep += [lower, upper]
        o.prior_dim = lower.shape[0]
        o.prior_lower = ptr(lower)
        o.prior_upper = ptr(upper)
    return o


def _report():
    r = _abi.gml_posterior_import_report()
    r.struct_size = ctypes.sizeof(r)
    return r


def _import_report(r):
    return ImportReport(*(getattr(r, f.name) for f in fields(ImportReport)))


def write_training_set(ctx, theta, x, path, prior_lower=None, prior_upper=None,
                       theta_names=None, x_names=None, reject_nonfinite=False, prior=None):
    """Writes simulations made elsewhere as a training set (HDF5) that
    train() reads, atomically. theta (n, theta_dim) and x (n, x_dim)
    float64. The prior the simulations were drawn from is optional: the
    box (prior_lower, prior_upper), or prior, a dict or its JSON text
    (docs/posterior.md, "Priors"), not both; it is stored with the set and
    later the model. Rows with NaN or infinity are dropped and counted
    (reject_nonfinite=True: refused). Returns an ImportReport;
    rows_outside_prior counts theta outside the prior's support."""
    t = as_input(theta, np.float64, "theta", (None, None))
    xs = as_input(x, np.float64, "x", (t.shape[0], None))
    keep = []
    o = _import_options(keep, prior_lower, prior_upper, theta_names, x_names, reject_nonfinite,
                        theta_dim=t.shape[1], prior=prior)
    r = _report()
    ctx.run(lib.gml_posterior_training_set_write, ctx.handle, ptr(t), ptr(xs), t.shape[0],
            t.shape[1], xs.shape[1], ctypes.byref(o), encode(path), ctypes.byref(r))
    return _import_report(r)


def import_simulations(ctx, theta_path, path, x_path=None, theta=None, x=None, hdu=None,
                       prior_lower=None, prior_upper=None, theta_names=None, x_names=None,
                       reject_nonfinite=False, prior=None):
    """Imports simulations from files as a training set, atomically: .h5
    (datasets `theta`, `x`), .fits (columns, comma-separated; x="*" takes
    the rest), .npy (theta_path and x_path), .npz (keys) or .csv/.txt (a
    header naming the columns). The prior as for write_training_set().
    Returns an ImportReport. Problems with the files are raised together in
    one FormatError."""
    keep = []
    o = _import_options(keep, prior_lower, prior_upper, theta_names, x_names, reject_nonfinite,
                        theta=theta, x=x, hdu=None if hdu is None else str(hdu), prior=prior)
    r = _report()
    ctx.run(lib.gml_posterior_import, ctx.handle, encode(os.fspath(theta_path)),
            None if x_path is None else encode(os.fspath(x_path)), ctypes.byref(o),
            encode(os.fspath(path)), ctypes.byref(r))
    return _import_report(r)

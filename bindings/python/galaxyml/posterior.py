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

Arrays follow the package's policy (galaxyml._arrays): float64 throughout;
lossless casts and C-order copies are made, wrong shapes are refused.
"""
import ctypes
import json
import os
from dataclasses import dataclass, fields

import numpy as np

from . import _abi
from ._arrays import as_input, empty, ptr
from ._lib import check, encode, lib, text_out
from .context import Model, _FAMILY_CLASSES, default_options

SUMMARY_COLUMNS = ("median", "p16", "p84", "mean", "std")


@dataclass
class ImportReport:
    """What write_training_set / import_simulations wrote."""
    theta_dim: int
    x_dim: int
    rows_read: int
    rows_written: int
    rows_nonfinite: int      # dropped for NaN or infinity
    rows_outside_prior: int  # kept, but outside the prior box


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
        """Labels, prior box, training range of x and the architecture."""
        return json.loads(text_out(lib.gml_posterior_describe, self.handle))

    def _x(self, x, name="x"):
        return as_input(x, np.float64, name, (None, self.dims[1]))

    def sample(self, x, n_samples, seed=0, return_outside=False):
        """Posterior draws: x (n_obs, x_dim) float64 -> theta (n_obs,
        n_samples, theta_dim) float64; with return_outside also (n_obs,)
        int64 counts of draws outside the prior box (kept in theta)."""
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

    def summarize(self, x, n_samples, seed=0, return_outside=False):
        """(n_obs, theta_dim, 5) float64: median, p16, p84, mean, std of
        the draws inside the prior box (SUMMARY_COLUMNS order)."""
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
        FITS table. options: fields of gml_posterior_run_options
        (n_samples, seed, hdu, samples_path, chunk_rows, first_row,
        max_rows)."""
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
             x_names=None, **options):
    """Writes a training set (HDF5) with a Python forward model.

    simulator(theta, x) receives numpy views of the library's buffers:
    theta (b, theta_dim) float64 (read only; drawn uniformly in the prior
    box) and x (b, x_dim) float64 to fill in place. It is called on the
    calling thread; an exception stops the generation (rows of earlier
    batches stay in the file) and is raised as CallbackError caused by it.
    A non-None, non-zero return value also stops it.
    options: fields of gml_posterior_simulate_options (batch_size, seed,
    resume).
    """
    lower = as_input(prior_lower, np.float64, "prior_lower", (None,))
    theta_dim = lower.shape[0]
    upper = as_input(prior_upper, np.float64, "prior_upper", (theta_dim,))
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

    fn = _abi.gml_simulator_fn(trampoline)
    keep = []
    o = _simulate_options(options, keep, theta_names, x_names)
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
    checkpoint_path, resume, seed, max_rows, lr_plateau, lr_factor)."""
    keep = []
    o = default_options("gml_posterior_train_options", options, keep)
    ctx.run(lib.gml_posterior_train, ctx.handle, encode(training_set_path), ctypes.byref(o),
            encode(model_path))


def _import_options(keep, prior_lower, prior_upper, theta_names, x_names, reject_nonfinite,
                    theta_dim=None, **named):
    options = {k: v for k, v in named.items() if v is not None}
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
                       theta_names=None, x_names=None, reject_nonfinite=False):
    """Writes simulations made elsewhere as a training set (HDF5) that
    train() reads, atomically. theta (n, theta_dim) and x (n, x_dim)
    float64; the box prior (prior_lower, prior_upper) is optional and is
    stored with the set and later the model. Rows with NaN or infinity are
    dropped and counted (reject_nonfinite=True: refused). Returns an
    ImportReport; rows_outside_prior counts theta outside the box."""
    t = as_input(theta, np.float64, "theta", (None, None))
    xs = as_input(x, np.float64, "x", (t.shape[0], None))
    keep = []
    o = _import_options(keep, prior_lower, prior_upper, theta_names, x_names, reject_nonfinite,
                        theta_dim=t.shape[1])
    r = _report()
    ctx.run(lib.gml_posterior_training_set_write, ctx.handle, ptr(t), ptr(xs), t.shape[0],
            t.shape[1], xs.shape[1], ctypes.byref(o), encode(path), ctypes.byref(r))
    return _import_report(r)


def import_simulations(ctx, theta_path, path, x_path=None, theta=None, x=None, hdu=None,
                       prior_lower=None, prior_upper=None, theta_names=None, x_names=None,
                       reject_nonfinite=False):
    """Imports simulations from files as a training set, atomically: .h5
    (datasets `theta`, `x`), .fits (columns, comma-separated; x="*" takes
    the rest), .npy (theta_path and x_path), .npz (keys) or .csv/.txt (a
    header naming the columns). Returns an ImportReport. Problems with the
    files are raised together in one FormatError."""
    keep = []
    o = _import_options(keep, prior_lower, prior_upper, theta_names, x_names, reject_nonfinite,
                        theta=theta, x=x, hdu=None if hdu is None else str(hdu))
    r = _report()
    ctx.run(lib.gml_posterior_import, ctx.handle, encode(os.fspath(theta_path)),
            None if x_path is None else encode(os.fspath(x_path)), ctypes.byref(o),
            encode(os.fspath(path)), ctypes.byref(r))
    return _import_report(r)

"""The flow family (GalacticFlow): conditional normalizing flows of stars.

    stars_path = "galaxies.h5"
    galaxyml.flow.simulate(ctx, stars_path, n_galaxies=8, n_stars=500, seed=7)
    galaxyml.flow.train(ctx, stars_path, "flow.h5", steps=200, seed=7)
    flow = ctx.load_model("flow.h5", family="flow")
    stars = flow.sample([[10.8, 7.0, 2.5, 0.014]], n_per_galaxy=1000, seed=42)
    logp = flow.log_prob(stars, [[10.8, 7.0, 2.5, 0.014]])

Arrays follow the package's policy (galaxyml._arrays): stars are float32,
conditions float64; lossless casts and C-order copies are made, lossy
casts and wrong shapes are refused.
"""
import ctypes
import json

import numpy as np

from . import _abi
from ._arrays import as_input, empty, ptr
from ._lib import check, encode, lib, text_out
from .context import Model, _FAMILY_CLASSES, default_options


class FlowModel(Model):
    """A flow model: p(stars | galaxy conditions)."""

    @property
    def dims(self):
        """(data_dim, condition_dim)."""
        d, c = ctypes.c_int64(), ctypes.c_int64()
        check(lib.gml_flow_dims(self.handle, ctypes.byref(d), ctypes.byref(c)))
        return d.value, c.value

    def describe(self):
        """Column names and training range of the conditions, as a dict."""
        return json.loads(text_out(lib.gml_flow_describe, self.handle))

    def _conditions(self, conditions):
        return as_input(conditions, np.float64, "conditions", (None, self.dims[1]))

    def sample(self, conditions, n_per_galaxy, seed=0, return_outside=False):
        """Stars of each galaxy.

        conditions: (n_galaxies, condition_dim) float64.
        Returns stars (n_galaxies * n_per_galaxy, data_dim) float32, galaxy
        by galaxy; with return_outside, also (n_galaxies,) float64: how far
        each galaxy lies outside the training range (0 inside).
        """
        data_dim, _ = self.dims
        cond = self._conditions(conditions)
        stars = empty((cond.shape[0] * n_per_galaxy, data_dim), np.float32)
        outside = empty((cond.shape[0],), np.float64)
        self._run(lib.gml_flow_sample, self.context.handle, self.handle, ptr(cond),
                  cond.shape[0], n_per_galaxy, seed, ptr(stars), stars.size, ptr(outside))
        return (stars, outside) if return_outside else stars

    def sample_to_file(self, conditions, n_per_galaxy, path, seed=0):
        """As sample(), streamed to an .h5 or .fits file (atomic write)."""
        cond = self._conditions(conditions)
        self._run(lib.gml_flow_sample_to_file, self.context.handle, self.handle, ptr(cond),
                  cond.shape[0], n_per_galaxy, seed, encode(path))

    def log_prob(self, stars, conditions):
        """log p(star | galaxy): stars (n, data_dim) float32; conditions
        (1, condition_dim) for one galaxy or (n, condition_dim) float64.
        Returns (n,) float64."""
        data_dim, _ = self.dims
        x = as_input(stars, np.float32, "stars", (None, data_dim))
        cond = self._conditions(conditions)
        out = empty((x.shape[0],), np.float64)
        self._run(lib.gml_flow_log_prob, self.context.handle, self.handle, ptr(x), x.shape[0],
                  ptr(cond), cond.shape[0], ptr(out))
        return out

    def evaluate(self, stars_path, galaxy_id, n_samples, seed=0):
        """MMD between n_samples stars drawn for galaxy galaxy_id's
        conditions and every galaxy of a star table. Returns a dict of
        (n_galaxies,) arrays: galaxy_ids (int64), delta_log_mass, mmd."""
        n = ctypes.c_int64()
        self._run(lib.gml_flow_evaluate, self.context.handle, self.handle, encode(stars_path),
                  galaxy_id, n_samples, seed, None, None, None, 0, ctypes.byref(n))
        ids = empty((n.value,), np.int64)
        dlm = empty((n.value,), np.float64)
        mmd = empty((n.value,), np.float64)
        self._run(lib.gml_flow_evaluate, self.context.handle, self.handle, encode(stars_path),
                  galaxy_id, n_samples, seed, ptr(ids), ptr(dlm), ptr(mmd), n.value,
                  ctypes.byref(n))
        return {"galaxy_ids": ids, "delta_log_mass": dlm, "mmd": mmd}


_FAMILY_CLASSES["flow"] = FlowModel


def simulate(ctx, path, n_galaxies, n_stars, conditions=None, seed=0):
    """Writes a star table (.h5 or .fits) of synthetic galaxies.
    conditions: None (random plausible galaxies) or (n_galaxies, 4) float64."""
    cond = None
    if conditions is not None:
        cond = as_input(conditions, np.float64, "conditions", (n_galaxies, 4))
    ctx.run(lib.gml_flow_simulate, ctx.handle, n_galaxies, n_stars, ptr(cond), seed,
            encode(path))


def train(ctx, stars_path, model_path, config=None, **options):
    """Trains a flow on a star table and writes the model file.

    options: fields of gml_flow_train_options (steps, batch_size,
    learning_rate, validation_galaxies, eval_every, checkpoint_path,
    checkpoint_every, resume, seed, max_stars_per_galaxy); config: a dict
    of architecture overrides (num_blocks, hidden_width, ...).
    """
    keep = []
    if config is not None:
        options["config_json"] = json.dumps(config)
    o = default_options("gml_flow_train_options", options, keep)
    ctx.run(lib.gml_flow_train, ctx.handle, encode(stars_path), ctypes.byref(o),
            encode(model_path))


def read_galaxy(path, galaxy_id):
    """Stars (n_stars, data_dim) float32 and conditions (condition_dim,)
    float64 of one galaxy of a star table."""
    n, d = ctypes.c_int64(), ctypes.c_int64()
    check(lib.gml_flow_read_galaxy(encode(path), galaxy_id, None, 0, ctypes.byref(n),
                                   ctypes.byref(d), None, 0))
    stars = empty((n.value, d.value), np.float32)
    # The library states no condition count; the smallest capacity it
    # accepts is that count (it refuses a smaller one without writing).
    for n_cond in range(1, 1025):
        cond = empty((n_cond,), np.float64)
        status = lib.gml_flow_read_galaxy(encode(path), galaxy_id, ptr(stars), stars.size,
                                          ctypes.byref(n), ctypes.byref(d), ptr(cond), n_cond)
        if status != _abi.GML_ERR_CAPACITY:
            check(status)
            break
    else:
        check(status)
    return stars, cond


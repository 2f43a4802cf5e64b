"""Contexts and models: Python objects over the C handles."""
import ctypes

import numpy as np

from . import _lib as L


def _f64(a):
    return np.ascontiguousarray(a, dtype=np.float64)


class Context:
    """A device, seed and progress/cancel scope (galaxyml.h: gml_context).

    One thread at a time may use a context; use one per thread.
    """

    def __init__(self, device="auto", seed=None, backend="none"):
        self._h = None
        opts = L.ContextOptions()
        L.gml_context_options_default(ctypes.byref(opts))
        opts.device = device.encode()
        opts.backend = backend.encode()
        if seed is not None:
            opts.seed = seed
            opts.seed_from_init = 0
        handle = ctypes.c_void_p()
        L.check(L.gml_context_create(ctypes.byref(opts), ctypes.byref(handle)))
        self._h = handle

    @property
    def device(self):
        n = ctypes.c_size_t()
        L.check(L.gml_context_device(self._h, None, 0, ctypes.byref(n)))
        buf = ctypes.create_string_buffer(n.value)
        L.check(L.gml_context_device(self._h, buf, n.value, ctypes.byref(n)))
        return buf.value.decode()

    def cancel(self):
        """Stops the running call and every later one until reset_cancel()."""
        L.check(L.gml_cancel(self._h))

    def reset_cancel(self):
        L.check(L.gml_cancel_reset(self._h))

    def load_model(self, path, family=None):
        return Model(self, path, family)

    def simulate_galaxies(self, path, n_galaxies, n_stars, seed=0, conditions=None):
        cond = None
        if conditions is not None:
            c = _f64(conditions).reshape(n_galaxies, 4)
            cond = c.ctypes.data_as(L.c_f64_p)
        L.check(L.gml_flow_simulate(self._h, n_galaxies, n_stars, cond, seed, str(path).encode()))

    def close(self):
        if self._h:
            L.gml_context_free(self._h)
            self._h = None

    def __del__(self):
        self.close()


class Model:
    """A loaded model (gml_model); flow methods need family "flow"."""

    def __init__(self, ctx, path, family=None):
        self._h = None
        self._ctx = ctx  # keeps the context alive as long as the model
        handle = ctypes.c_void_p()
        L.check(L.gml_model_load(ctx._h, str(path).encode(),
                                 family.encode() if family else None, ctypes.byref(handle)))
        self._h = handle
        d, c = ctypes.c_int64(), ctypes.c_int64()
        L.check(L.gml_flow_dims(self._h, ctypes.byref(d), ctypes.byref(c)))
        self.data_dim, self.condition_dim = d.value, c.value

    def sample(self, conditions, n, seed=0):
        """Stars of each galaxy: conditions (G, C) or (C,) -> (G*n, D) float32."""
        cond = _f64(conditions).reshape(-1, self.condition_dim)
        out = np.empty((cond.shape[0] * n, self.data_dim), dtype=np.float32)
        L.check(L.gml_flow_sample(self._ctx._h, self._h, cond.ctypes.data_as(L.c_f64_p),
                                  cond.shape[0], n, seed, out.ctypes.data_as(L.c_f32_p),
                                  out.size, None))
        return out

    def log_prob(self, stars, conditions):
        """log p(star | galaxy): stars (N, D); conditions (C,), (1, C) or (N, C)."""
        x = np.ascontiguousarray(stars, dtype=np.float32).reshape(-1, self.data_dim)
        cond = _f64(conditions).reshape(-1, self.condition_dim)
        out = np.empty(x.shape[0], dtype=np.float64)
        L.check(L.gml_flow_log_prob(self._ctx._h, self._h, x.ctypes.data_as(L.c_f32_p),
                                    x.shape[0], cond.ctypes.data_as(L.c_f64_p), cond.shape[0],
                                    out.ctypes.data_as(L.c_f64_p)))
        return out

    def close(self):
        if self._h:
            L.gml_model_free(self._h)
            self._h = None

    def __del__(self):
        self.close()


def inspect_model(path, family=None):
    """Verifies a model file (family, format version, checksum) -> dict."""
    info = L.ModelInfo()
    info.struct_size = ctypes.sizeof(L.ModelInfo)
    L.check(L.gml_model_file_inspect(str(path).encode(), family.encode() if family else None,
                                     ctypes.byref(info)))
    return {"family": info.family.decode(), "format_version": info.format_version,
            "library_version": info.library_version.decode(), "checksum": info.checksum.decode(),
            "n_tensors": info.n_tensors, "n_parameters": info.n_parameters}

"""Python binding of galaxyml over its C ABI (ctypes; no compiled extension).

    import numpy as np, galaxyml
    ctx = galaxyml.Context(device="auto", seed=1)
    flow = ctx.load_model("flow_model.h5", family="flow")
    stars = flow.sample([10.8, 7.0, 2.5, 0.014], n=1000, seed=42)   # (1000, 10) float32
    logp = flow.log_prob(stars, [10.8, 7.0, 2.5, 0.014])              # (1000,) float64

The shared library is found through $GALAXYML_LIBRARY, else
libgalaxyml.so.1 on the loader's path. Errors raise galaxyml.Error with the
library's own message and status name. The library is never unloaded.
"""
from ._lib import Error, abi_version, build_info, version
from .context import Context, Model, inspect_model

__all__ = ["Context", "Model", "Error", "inspect_model", "version", "abi_version", "build_info"]

"""Python binding of galaxyml over its C ABI (ctypes; no compiled extension).

    import numpy as np, galaxyml
    with galaxyml.Context(device="cpu", seed=1) as ctx:
        flow = ctx.load_model("flow_model.h5", family="flow")
        stars = flow.sample([[10.8, 7.0, 2.5, 0.014]], n_per_galaxy=1000, seed=42)
        logp = flow.log_prob(stars, [[10.8, 7.0, 2.5, 0.014]])

The shared library is found through $GALAXYML_LIBRARY, else the install
prefix, the source tree's build/lib or the loader's path (galaxyml._lib
lists the order). Failures raise a subclass of galaxyml.GalaxymlError
carrying the library's message and status name. The library is never
unloaded.
"""
from . import _abi
from ._lib import library_path
from .catalog import Catalog, TableWriter
from .context import (Context, Model, ModelInfo, Progress, abi_version, build_info, clear_error,
                      init, inspect_model, last_error, model_config, num_threads, status_name,
                      version)
from .diffusion import DiffusionModel
from .errors import (BackendError, CallbackError, CancelledError, CapacityError, ChecksumError,
                     DeviceError, FamilyError, FileError, FitsError, FormatError, GalaxymlError,
                     InternalError, InvalidArgumentError, NotFoundError, OutOfMemoryError,
                     VersionError, WcsError)
from .flow import FlowModel
from .merger import MergerModel
from .posterior import PosteriorModel
from .progress import TqdmProgress
from .wcs import Wcs
from . import cutouts, diffusion, flow, merger, posterior  # noqa: F401,E402
from . import convert, model_file  # noqa: F401,E402

Error = GalaxymlError

# The enum constants without their GML_ prefix: galaxyml.COLUMN_FLOAT64, ...
for _name in dir(_abi):
    if _name.startswith("GML_") and not _name.startswith("GML_ERR_") and _name != "GML_OK":
        globals()[_name[4:]] = getattr(_abi, _name)
del _name

__version__ = version()

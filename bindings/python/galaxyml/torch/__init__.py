"""galaxyml model files as plain PyTorch modules, and back.

    import galaxyml.torch
    flow = galaxyml.torch.load("flow.h5")        # FlowModule (torch.nn.Module)
    opt = torch.optim.Adam(flow.parameters(), lr=1e-4)
    loss = -flow.log_prob(stars, conditions).mean()
    loss.backward(); opt.step()
    checksum = flow.save("tuned.h5")             # loads in gml-flow / the C ABI

The modules are pure PyTorch: no call into libgalaxyml computes anything
(the library is asked only for its version string when a file is written).
Parameter and buffer names, dtypes and shapes are those of the model file,
so a module loaded and saved unchanged gives the same checksum. This
subpackage needs torch; `import galaxyml` does not import it.
"""
from .. import model_file
from ..errors import FileError, FormatError, InvalidArgumentError
from .flow import FlowModule
from .posterior import PosteriorModule

__all__ = ["load", "FlowModule", "PosteriorModule", "MODULES"]

MODULES = {"flow": FlowModule, "posterior": PosteriorModule}


def load(path, verify=True):
    """The module of a model file, chosen by its family: FlowModule or
    PosteriorModule. The checksum is verified unless verify=False. A family
    without a PyTorch module here raises InvalidArgumentError."""
    family = _family_of(path)
    if family not in MODULES:
        raise InvalidArgumentError(
            f"galaxyml.torch: model file '{path}' holds a '{family}' model; modules exist "
            f"for {', '.join(sorted(MODULES))}")
    mf = model_file.read_family(path, family, verify=verify)
    return MODULES[family].from_model_file(mf, str(path))


def _family_of(path):
    # The family attribute alone, so that a file of a family without a
    # module is refused before its arrays are read and hashed.
    import os
    import h5py
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileError(f"model file '{path}' does not exist or is not a regular file")
    if not h5py.is_hdf5(path):
        raise FormatError(f"model file '{path}' is not an HDF5 file")
    with h5py.File(path, "r") as f:
        if "gml_family" not in f.attrs:
            raise FormatError(f"model file '{path}': required attribute 'gml_family' is missing")
        return model_file._attr_value(f.attrs["gml_family"])

"""Converters from other libraries' trained models to galaxyml model files.

Each source library has its own module (galaxyml.convert.galacticflow,
galaxyml.convert.sbi, ...), imported on first use so that `import galaxyml`
needs none of their dependencies (PyTorch, scipy). A converter writes a file
only when galaxyml computes exactly what the source model computes; an
architecture it cannot represent raises galaxyml.InvalidArgumentError
naming the option and what is supported.
"""
import importlib
import importlib.util


def __getattr__(name):
    # galaxyml.convert.<source> without an explicit import of the submodule.
    if not name.startswith("_") and importlib.util.find_spec(f"{__name__}.{name}") is not None:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

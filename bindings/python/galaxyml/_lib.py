"""Loading libgalaxyml and checking that it matches the declarations.

The library is looked for, in order:
  1. $GALAXYML_LIBRARY, the path of the shared library (nothing else is
     tried when it is set);
  2. the path recorded next to the package when CMake installed it
     (galaxyml/_library_path.txt, relative to the package folder);
  3. $GALAXYML_PREFIX/lib{,64}/libgalaxyml.so.1, then sys.prefix's lib/;
  4. the build tree when the package runs from the source tree
     (<source>/build/lib);
  5. ctypes.util.find_library("galaxyml"), then the loader's own search
     (LD_LIBRARY_PATH, the ld.so cache) for libgalaxyml.so.1.
It is loaded once and never unloaded: LibTorch does not survive dlclose().
"""
import ctypes
import ctypes.util
import os
import sys

from . import _abi
from .errors import error_for_status

SONAME = f"libgalaxyml.so.{_abi.ABI_VERSION}"
_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


def _candidates():
    """(how it was found, path) pairs, in the order they are tried."""
    recorded = os.path.join(_PACKAGE_DIR, "_library_path.txt")
    if os.path.exists(recorded):
        with open(recorded, encoding="utf-8") as f:
            path = f.read().strip()
        yield "path recorded at install", os.path.normpath(os.path.join(_PACKAGE_DIR, path))
    prefixes = []
    if os.environ.get("GALAXYML_PREFIX"):
        prefixes.append(("$GALAXYML_PREFIX", os.environ["GALAXYML_PREFIX"]))
    prefixes.append(("sys.prefix", sys.prefix))
    for label, prefix in prefixes:
        for libdir in ("lib", "lib64"):
            yield label, os.path.join(prefix, libdir, SONAME)
    # <source>/bindings/python/galaxyml -> <source>/build/lib
    source = os.path.dirname(os.path.dirname(os.path.dirname(_PACKAGE_DIR)))
    yield "source tree build", os.path.join(source, "build", "lib", SONAME)
    found = ctypes.util.find_library("galaxyml")
    if found:
        yield "ctypes.util.find_library", found
    yield "loader search path", SONAME


def _load():
    explicit = os.environ.get("GALAXYML_LIBRARY")
    if explicit:
        try:
            return ctypes.CDLL(explicit), explicit
        except OSError as e:
            raise ImportError(f"galaxyml: cannot load $GALAXYML_LIBRARY={explicit}: {e}") from e
    tried = []
    for how, path in _candidates():
        if os.path.isabs(path) and not os.path.exists(path):
            tried.append(f"  {how}: {path} (no such file)")
            continue
        try:
            return ctypes.CDLL(path), path
        except OSError as e:
            tried.append(f"  {how}: {path} ({e})")
    raise ImportError("galaxyml: libgalaxyml not found. Set GALAXYML_LIBRARY to the path of "
                      f"{SONAME} (or GALAXYML_PREFIX to its install prefix). Tried:\n"
                      + "\n".join(tried))


lib, library_path = _load()
_abi.declare(lib)


def check(status):
    """Raises the GalaxymlError subclass of a failed status, with the
    library's message for the calling thread."""
    if status != _abi.GML_OK:
        raise error_for_status(status, lib.gml_status_name(status).decode(),
                               lib.gml_last_error().decode("utf-8", "replace"))


# Each options struct and the function that fills it with its defaults.
OPTIONS_DEFAULT_FNS = {
    "gml_init_options": lib.gml_init_options_default,
    "gml_context_options": lib.gml_context_options_default,
    "gml_table_writer_options": lib.gml_table_writer_options_default,
    "gml_cutout_options": lib.gml_cutout_options_default,
    "gml_diffusion_options": lib.gml_diffusion_options_default,
    "gml_diffusion_procedural_options": lib.gml_diffusion_procedural_options_default,
    "gml_flow_train_options": lib.gml_flow_train_options_default,
    "gml_merger_simulate_options": lib.gml_merger_simulate_options_default,
    "gml_merger_train_options": lib.gml_merger_train_options_default,
    "gml_posterior_simulate_options": lib.gml_posterior_simulate_options_default,
    "gml_posterior_train_options": lib.gml_posterior_train_options_default,
    "gml_posterior_run_options": lib.gml_posterior_run_options_default,
    "gml_posterior_import_options": lib.gml_posterior_import_options_default,
    "gml_posterior_sample_options": lib.gml_posterior_sample_options_default,
}


def check_struct_sizes():
    """Every options struct as declared here has the size that the library's
    *_options_default() writes into struct_size: a mismatch means _abi.py
    and the library come from different headers."""
    bad = []
    missing = set(_abi.OPTIONS_DEFAULTS) - set(OPTIONS_DEFAULT_FNS)
    if missing:
        raise ImportError(f"galaxyml: no defaults function wired for {sorted(missing)}")
    for struct_name, fill in OPTIONS_DEFAULT_FNS.items():
        cls = getattr(_abi, struct_name)
        opts = cls()
        fill(ctypes.byref(opts))
        if opts.struct_size != ctypes.sizeof(cls):
            bad.append(f"{struct_name}: library {opts.struct_size} bytes, "
                       f"binding {ctypes.sizeof(cls)}")
    if bad:
        raise ImportError(f"galaxyml: {library_path} does not match the binding's declarations "
                          "(regenerate _abi.py or load the matching library): " + "; ".join(bad))


check_struct_sizes()
if lib.gml_abi_version() != _abi.ABI_VERSION:
    raise ImportError(f"galaxyml: {library_path} has ABI version {lib.gml_abi_version()}, "
                      f"the binding {_abi.ABI_VERSION}")


def text_out(fn, *args):
    """Calls a strings-out function (buf, capacity, length): size query,
    then the text."""
    n = ctypes.c_size_t()
    check(fn(*args, None, 0, ctypes.byref(n)))
    buf = ctypes.create_string_buffer(n.value)
    check(fn(*args, buf, n.value, ctypes.byref(n)))
    return buf.value.decode("utf-8")


def encode(s):
    """str/path -> bytes for a const char* argument; None stays NULL."""
    if s is None:
        return None
    if isinstance(s, bytes):
        return s
    return os.fsencode(s) if isinstance(s, os.PathLike) else str(s).encode("utf-8")

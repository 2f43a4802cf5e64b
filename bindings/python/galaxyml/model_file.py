"""Reading and writing galaxyml model files from Python (docs/model_format.md).

    from galaxyml import model_file
    checksum = model_file.write("flow.h5", "flow", config, tensors, normalization)
    m = model_file.read("flow.h5")          # verifies the checksum
    m.config["num_blocks"], m.tensors["blocks.0.linear.lower"].shape

The files are byte-compatible with the C++ writer: the same attributes (as
fixed-length UTF-8 strings and an int32 format version), the same groups,
the dtype of every array kept, and the same FNV-1a `checksum` and
`metadata_checksum`, so a file written here loads through ctx.load_model()
(which verifies both) and a file read here and written back keeps its
checksum. Only h5py and numpy are needed; the library is asked for its
version string, which goes into `gml_library_version`.
"""
import itertools
import json
import os
import time
from dataclasses import dataclass, field

import numpy as np

from .errors import ChecksumError, FamilyError, FileError, FormatError, InvalidArgumentError, \
    VersionError

__all__ = ["ModelFile", "write", "read", "model_checksum", "metadata_checksum",
           "FORMAT_VERSION", "FAMILIES"]

FORMAT_VERSION = 2
FAMILIES = ("flow", "posterior", "merger", "diffusion")
GROUPS = ("tensors", "normalization", "extra")

# LibTorch ScalarType codes: part of the checksum, so they must be these.
_DTYPE_CODES = {
    np.dtype(np.uint8): 0,
    np.dtype(np.int8): 1,
    np.dtype(np.int16): 2,
    np.dtype(np.int32): 3,
    np.dtype(np.int64): 4,
    np.dtype(np.float32): 6,
    np.dtype(np.float64): 7,
}

_FNV_OFFSET = 14695981039346656037
_FNV_PRIME = 1099511628211
_MASK = (1 << 64) - 1

# A temporary left by a killed writer is removed by a later write of the
# same path once its process is gone and it is this old (the C++ rule).
_STALE_TEMP_AGE_S = 600.0
_temp_counter = itertools.count()


@dataclass
class ModelFile:
    """The content of one model file. Arrays are numpy arrays of the stored
    dtype (booleans come back as uint8)."""
    family: str
    format_version: int
    config: dict
    tensors: dict
    normalization: dict = field(default_factory=dict)
    extra: dict = field(default_factory=dict)
    checksum: str = ""
    attrs: dict = field(default_factory=dict)

    @property
    def provenance(self):
        text = self.attrs.get("provenance", "{}")
        try:
            return json.loads(text)
        except ValueError:
            return text


class _Fnv1a64:
    """FNV-1a 64. Each byte depends on the hash of the previous ones, so the
    loop cannot be vectorised; iterating a bytes object keeps it at a few
    million bytes per second, ample for flow and posterior models."""

    def __init__(self):
        self.h = _FNV_OFFSET

    def update(self, data):
        h = self.h
        for b in bytes(data):
            h = ((h ^ b) * _FNV_PRIME) & _MASK
        self.h = h

    def text(self):
        return "fnv1a64:%016x" % self.h


def _as_stored(name, value):
    """The array as the file stores it: C-order, little-endian, bool as
    uint8; anything else is refused with the dtypes that are supported."""
    a = np.asarray(value)
    if a.dtype == np.bool_:
        a = a.astype(np.uint8)
    key = a.dtype.newbyteorder("=") if a.dtype.byteorder not in ("=", "|") else a.dtype
    if key not in _DTYPE_CODES:
        raise InvalidArgumentError(
            f"model file: tensor '{name}' has dtype {a.dtype}; supported are float32, float64, "
            "int8, int16, int32, int64, uint8 and bool")
    # np.array, not ascontiguousarray: the latter makes a scalar 1-d.
    return np.array(a, dtype=key.newbyteorder("<"), order="C", copy=None)


def _check_name(name):
    if not isinstance(name, str) or not name or "/" in name or name in (".", ".."):
        raise InvalidArgumentError(
            f"model file: invalid tensor name {name!r} (empty, '.', '..' or contains '/')")


def _sorted_items(group):
    # std::map<std::string> order: byte-wise on the UTF-8 text.
    return sorted(group.items(), key=lambda kv: kv[0].encode("utf-8"))


def model_checksum(family, format_version, config_text, groups):
    """The `checksum` attribute for these contents. `groups` maps
    "tensors"/"normalization"/"extra" to dicts of arrays; `config_text` is the
    JSON text exactly as stored."""
    h = _Fnv1a64()
    if format_version >= 2:
        h.update(b"attributes\0")
        for name, value in (("gml_family", family), ("gml_format_version", str(format_version)),
                            ("config", config_text)):
            h.update(name.encode() + b"\0" + value.encode("utf-8") + b"\0")
    for g in GROUPS:
        h.update(g.encode() + b"\0")
        for name, value in _sorted_items(groups.get(g) or {}):
            a = _as_stored(name, value)
            h.update(name.encode("utf-8") + b"\0")
            h.update(np.int8(_DTYPE_CODES[a.dtype.newbyteorder("=")]).tobytes())
            h.update(np.asarray(a.shape, dtype="<i8").tobytes())
            h.update(a.tobytes())
    return h.text()


def metadata_checksum(library_version, created, provenance_text):
    """The `metadata_checksum` attribute (format version 2)."""
    h = _Fnv1a64()
    for name, value in (("gml_library_version", library_version), ("created", created),
                        ("provenance", provenance_text)):
        h.update(name.encode() + b"\0" + value.encode("utf-8") + b"\0")
    return h.text()


def _library_version():
    from .context import version
    return version()


def _write_string_attr(h5obj, name, value):
    import h5py
    data = value.encode("utf-8")
    # Fixed-length UTF-8 of at least one byte, as the C++ writer stores it.
    h5obj.attrs.create(name, np.array(data or b"\0", dtype=f"S{max(len(data), 1)}"),
                       dtype=h5py.string_dtype("utf-8", max(len(data), 1)))


def _remove_stale_temps(path):
    folder = os.path.dirname(path) or "."
    prefix = os.path.basename(path) + ".tmp."
    try:
        names = os.listdir(folder)
    except OSError:
        return
    now = time.time()
    for name in names:
        if not name.startswith(prefix):
            continue
        pid, _, n = name[len(prefix):].partition(".")
        if not (pid.isdigit() and n.isdigit()):
            continue
        try:
            os.kill(int(pid), 0)
            continue  # still running
        except PermissionError:
            continue
        except (ProcessLookupError, OverflowError, ValueError):
            pass
        full = os.path.join(folder, name)
        try:
            if os.path.isfile(full) and now - os.path.getmtime(full) >= _STALE_TEMP_AGE_S:
                os.remove(full)
        except OSError:
            pass


def _json_text(value):
    # Compact, as the library writes its own configs.
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))


def write(path, family, config, tensors, normalization=None, extra=None, provenance=None):
    """Writes a format version 2 model file atomically (temporary file in the
    same folder, then rename; on failure nothing is left and an existing
    file is untouched). Returns its checksum, "fnv1a64:<16 hex>".

    config: dict (stored as JSON text) or JSON text; tensors, normalization,
    extra: dicts name -> array (float32/64, int8..64, uint8; bool is stored
    as uint8); provenance: dict (JSON) or None. Raises InvalidArgumentError
    for a bad family, name or dtype, FileError when the folder is not
    writable."""
    import h5py
    path = os.fspath(path)
    if not path:
        raise InvalidArgumentError("model file: empty output path")
    if not isinstance(family, str) or not family or len(family) >= 32:
        raise InvalidArgumentError(
            "model file: family must be a non-empty name shorter than 32 characters")
    if family not in FAMILIES:
        raise InvalidArgumentError(
            f"model file: unknown family '{family}'; known are {', '.join(FAMILIES)}")
    config_text = _json_text(config)
    provenance_text = "{}" if provenance is None else _json_text(provenance)
    groups = {"tensors": dict(tensors or {}), "normalization": dict(normalization or {}),
              "extra": dict(extra or {})}
    for g in GROUPS:
        for name in groups[g]:
            _check_name(name)
    library_version = _library_version()
    created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())

    _remove_stale_temps(path)
    tmp = f"{path}.tmp.{os.getpid()}.{next(_temp_counter)}"
    try:
        try:
            f = h5py.File(tmp, "w")
        except OSError as e:
            raise FileError(f"model file: cannot create '{tmp}' for '{path}': {e}") from e
        with f:
            _write_string_attr(f, "gml_family", family)
            f.attrs.create("gml_format_version", np.int32(FORMAT_VERSION), dtype="<i4")
            _write_string_attr(f, "gml_library_version", library_version)
            _write_string_attr(f, "config", config_text)
            # Filled after the arrays are converted (the conversion is what
            # refuses a bad dtype, after the temporary file exists).
            stored = {}
            for g in GROUPS:
                grp = f.create_group(g)
                stored[g] = {}
                for name, value in _sorted_items(groups[g]):
                    a = _as_stored(name, value)
                    stored[g][name] = a
                    grp.create_dataset(name, data=a)
            checksum = model_checksum(family, FORMAT_VERSION, config_text, stored)
            _write_string_attr(f, "checksum", checksum)
            _write_string_attr(f, "created", created)
            _write_string_attr(f, "provenance", provenance_text)
            _write_string_attr(f, "metadata_checksum",
                               metadata_checksum(library_version, created, provenance_text))
            f.flush()
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.replace(tmp, path)
        except OSError as e:
            raise FileError(f"model file: cannot rename '{tmp}' to '{path}': {e}") from e
    except BaseException:
        try:
            os.remove(tmp)
        except OSError:
            pass
        raise
    return checksum


def _attr_value(value):
    if isinstance(value, (bytes, np.bytes_)):
        text = bytes(value).decode("utf-8", "replace")
        # The C++ reader stops at the first NUL of a fixed-length string.
        return text.split("\0", 1)[0]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray) and value.shape == ():
        return _attr_value(value[()])
    return value


def read(path, verify=True):
    """Reads a model file. verify=True checks the format version, then the
    metadata_checksum (version 2) and the checksum, raising ChecksumError on
    a mismatch. Raises FileError when the file is missing, FormatError when
    it is not a model file, VersionError for a newer format."""
    import h5py
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileError(f"model file '{path}' does not exist or is not a regular file")
    if not h5py.is_hdf5(path):
        raise FormatError(f"model file '{path}' is not an HDF5 file")
    try:
        f = h5py.File(path, "r")
    except OSError as e:
        raise FormatError(f"model file '{path}' (truncated or damaged HDF5 file): {e}") from e
    with f:
        attrs = {k: _attr_value(v) for k, v in f.attrs.items()}
        for required in ("gml_family", "gml_format_version", "gml_library_version", "config",
                         "checksum"):
            if required not in attrs:
                raise FormatError(
                    f"model file '{path}': required attribute '{required}' is missing")
        groups = {}
        for g in GROUPS:
            if g not in f:
                if g == "tensors":
                    raise FormatError(f"model file '{path}' has no /tensors group")
                groups[g] = {}
                continue
            groups[g] = {name: ds[()] if ds.shape == () else ds[...]
                         for name, ds in f[g].items()}
            groups[g] = {k: np.asarray(v) for k, v in groups[g].items()}
    family = attrs["gml_family"]
    version = int(attrs["gml_format_version"])
    if version > FORMAT_VERSION or version < 1:
        raise VersionError(f"model file '{path}' has format version {version}; this reader "
                           f"reads versions 1 to {FORMAT_VERSION}")
    config_text = attrs["config"]
    if verify:
        if version >= 2:
            stored = attrs.get("metadata_checksum")
            actual = metadata_checksum(attrs["gml_library_version"], attrs.get("created", ""),
                                       attrs.get("provenance", "{}"))
            if stored != actual:
                raise ChecksumError(
                    f"model file '{path}' is corrupt: stored metadata_checksum {stored} but "
                    f"gml_library_version, created and provenance hash to {actual}")
        actual = model_checksum(family, version, config_text, groups)
        if actual != attrs["checksum"]:
            covered = "family, version, config and tensors" if version >= 2 else "tensors"
            raise ChecksumError(
                f"model file '{path}' is corrupt: stored checksum {attrs['checksum']} but the "
                f"{covered} hash to {actual}")
    try:
        config = json.loads(config_text)
    except ValueError as e:
        raise FormatError(f"model file '{path}': config is not JSON: {e}") from e
    return ModelFile(family=family, format_version=version, config=config,
                     tensors=groups["tensors"], normalization=groups["normalization"],
                     extra=groups["extra"], checksum=attrs["checksum"], attrs=attrs)


def read_family(path, family, verify=True):
    """read(), refusing a file of another family (FamilyError)."""
    m = read(path, verify=verify)
    if m.family != family:
        raise FamilyError(f"model file '{path}' holds a '{m.family}' model, but a '{family}' "
                          "model is needed")
    return m

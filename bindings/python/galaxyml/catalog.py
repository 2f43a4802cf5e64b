"""FITS catalogs in (column mappings), result tables out.

    with galaxyml.Catalog("gst.fits") as cat:
        print(cat.n_rows, [c["name"] for c in cat.columns()])
        values, flags = cat.read("u=mag(MODELFLUX[0]),z=Z")   # (rows, 2) float32

    with galaxyml.TableWriter("out.fits", extname="RESULTS") as w:
        w.add_column("ID", galaxyml.COLUMN_INT64)
        w.add_column("MASS", galaxyml.COLUMN_FLOAT64, unit="dex")
        w.append(ID=ids, MASS=mass)
        w.commit()
"""
import ctypes
import json
import weakref

import numpy as np

from . import _abi
from ._arrays import as_input, empty, ptr
from ._lib import check, encode, lib, text_out


def _free_catalog(handle):
    lib.gml_catalog_free(handle)


class Catalog:
    """An open table HDU of a FITS file (gml_catalog); one thread at a time."""

    def __init__(self, path, hdu=None):
        handle = _abi.gml_catalog_p()
        check(lib.gml_catalog_open(encode(path), encode(hdu), ctypes.byref(handle)))
        self._h = handle
        self._finalizer = weakref.finalize(self, _free_catalog, handle)

    @property
    def handle(self):
        if not self._finalizer.alive:
            raise ValueError("the catalog is closed")
        return self._h

    @property
    def n_rows(self):
        n = ctypes.c_int64()
        check(lib.gml_catalog_num_rows(self.handle, ctypes.byref(n)))
        return n.value

    def __len__(self):
        return self.n_rows

    def columns(self):
        """The table's columns: [{"name", "type", "repeat", "unit",
        "numeric"}, ...] in table order."""
        return json.loads(text_out(lib.gml_catalog_columns_json, self.handle))

    def describe_mapping(self, mapping):
        """Checks a mapping; its outputs as [{"name", "expr", "unit"}, ...]."""
        return json.loads(text_out(lib.gml_catalog_describe_mapping, self.handle,
                                   encode(mapping)))

    def read(self, mapping, first_row=0, n_rows=None, dtype=np.float32):
        """Rows [first_row, first_row + n_rows) through a mapping: values
        (n_rows, n_outputs) of dtype float32 or float64 (exact for float64
        columns such as RA/DEC), NaN where flagged, and flags (n_rows,)
        int32 of GML_ROW_* bits."""
        dtype = np.dtype(dtype)
        fn = {np.dtype(np.float32): lib.gml_catalog_read,
              np.dtype(np.float64): lib.gml_catalog_read_f64}.get(dtype)
        if fn is None:
            raise TypeError(f"dtype must be float32 or float64; got {dtype}")
        if n_rows is None:
            n_rows = self.n_rows - first_row
        m = encode(mapping)
        n_out = ctypes.c_int64()
        check(fn(self.handle, m, first_row, n_rows, None, 0, None, ctypes.byref(n_out)))
        values = empty((n_rows, n_out.value), dtype)
        flags = empty((n_rows,), np.int32)
        check(fn(self.handle, m, first_row, n_rows, ptr(values), values.size, ptr(flags),
                 ctypes.byref(n_out)))
        return values, flags

    def stream(self, mapping, consumer, first_row=0, n_rows=-1, chunk_rows=0, context=None):
        """Streams rows through a mapping in blocks of bounded memory:
        consumer(first_row, values, flags) gets numpy views (values
        (rows, n_outputs) float32, flags (rows,) int32) valid only during
        the call (copy what must outlive it). A true return value stops the
        stream (CancelledError); an exception stops it and is raised.
        context: a Context whose progress callable and cancel() apply."""
        from .context import _CallState

        state = context._state if context is not None else _CallState()

        def trampoline(first, rows, n_outputs, values_p, flags_p, user):
            try:
                if state.interrupted:
                    return 1
                values = np.ctypeslib.as_array(values_p, shape=(rows, n_outputs))
                flags = np.ctypeslib.as_array(flags_p, shape=(rows,))
                values.flags.writeable = False
                flags.flags.writeable = False
                return 1 if consumer(int(first), values, flags) else 0
            except BaseException as e:  # noqa: B902 - never unwind into C
                state.record(e)
                return 1

        fn = _abi.gml_catalog_chunk_fn(trampoline)
        args = (context.handle if context is not None else None, self.handle, encode(mapping),
                first_row, n_rows, chunk_rows, fn, None)
        if context is not None:
            context.run(lib.gml_catalog_stream, *args)
            return
        state.pending = None
        status = lib.gml_catalog_stream(*args)
        if state.pending is not None:
            raise state.pending
        check(status)

    def close(self):
        self._finalizer()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


_COLUMN_DTYPES = {
    _abi.GML_COLUMN_FLOAT32: np.float32,
    _abi.GML_COLUMN_FLOAT64: np.float64,
    _abi.GML_COLUMN_INT32: np.int32,
    _abi.GML_COLUMN_INT64: np.int64,
}


def _free_writer(handle):
    lib.gml_table_writer_free(handle)


class TableWriter:
    """A FITS result table written block by block and committed atomically
    (gml_table_writer). Leaving a `with` block without commit() leaves the
    target path untouched.

    Options: extname ("RESULTS"), input_file, command_line, model_checksum
    (provenance keywords), checksum (CHECKSUM/DATASUM, default on).
    """

    def __init__(self, path, **options):
        from .context import default_options

        keep = []
        o = default_options("gml_table_writer_options", options, keep)
        handle = _abi.gml_table_writer_p()
        check(lib.gml_table_writer_create(encode(path), ctypes.byref(o), ctypes.byref(handle)))
        self._h = handle
        self._finalizer = weakref.finalize(self, _free_writer, handle)
        self._columns = []

    @property
    def handle(self):
        if not self._finalizer.alive:
            raise ValueError("the table writer is closed")
        return self._h

    def add_column(self, name, type, repeat=1, unit=None):
        """Declares the next column: type one of COLUMN_FLOAT32, _FLOAT64,
        _INT32, _INT64, _STRING; repeat elements per row (string width in
        bytes for strings)."""
        check(lib.gml_table_writer_add_column(self.handle, encode(name), type, repeat,
                                              encode(unit)))
        self._columns.append((name, type, repeat))

    def set_keyword(self, key, value, comment=None):
        check(lib.gml_table_writer_set_keyword(self.handle, encode(key), encode(value),
                                               encode(comment)))

    def append(self, *columns, **by_name):
        """Appends rows: one array per declared column, in order or by
        name, each (n_rows,) or (n_rows, repeat) of the column's dtype
        (lossless casts are made); strings as a sequence of str/bytes or a
        numpy 'S' array."""
        if columns and by_name:
            raise TypeError("give the columns either in order or by name")
        if by_name:
            missing = [c[0] for c in self._columns if c[0] not in by_name]
            extra = set(by_name) - {c[0] for c in self._columns}
            if missing or extra:
                raise ValueError(f"append needs exactly the columns {[c[0] for c in self._columns]}"
                                 f"; missing {missing}, unknown {sorted(extra)}")
            columns = [by_name[c[0]] for c in self._columns]
        if len(columns) != len(self._columns):
            raise ValueError(f"append needs {len(self._columns)} columns; got {len(columns)}")
        arrays, n_rows = [], None
        for (name, ctype, repeat), data in zip(self._columns, columns):
            if ctype == _abi.GML_COLUMN_STRING:
                a = np.asarray([encode(s) for s in data] if not isinstance(data, np.ndarray)
                               else data, dtype=f"S{repeat}")
                if a.ndim != 1:
                    raise ValueError(f"column {name}: strings must be 1-D; got shape {a.shape}")
                a = np.ascontiguousarray(a)
                rows = a.shape[0]
            else:
                dt = _COLUMN_DTYPES[ctype]
                shape = (None,) if repeat == 1 and np.ndim(data) == 1 else (None, repeat)
                a = as_input(data, dt, name, shape)
                rows = a.shape[0]
            if n_rows is None:
                n_rows = rows
            elif rows != n_rows:
                raise ValueError(f"column {name} has {rows} rows; the first has {n_rows}")
            arrays.append(a)
        ptrs = (ctypes.c_void_p * len(arrays))(*(a.ctypes.data for a in arrays))
        check(lib.gml_table_writer_append(self.handle, n_rows or 0, ptrs))

    @property
    def n_rows(self):
        n = ctypes.c_int64()
        check(lib.gml_table_writer_num_rows(self.handle, ctypes.byref(n)))
        return n.value

    def commit(self):
        """Finishes the file and renames it onto the target path."""
        check(lib.gml_table_writer_commit(self.handle))

    def close(self):
        self._finalizer()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

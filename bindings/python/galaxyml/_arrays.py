"""numpy arrays in and out of the C ABI.

Policy for array inputs, the same for every function of the package:
  - rank and fixed dimensions are checked, never guessed: a wrong rank or
    shape is a ValueError naming the argument and the expected shape;
  - an ndarray of the required dtype (native byte order) that is C-contiguous
    and aligned is passed as is, without a copy;
  - an ndarray of another dtype is converted (a copy) only when the cast is
    lossless (numpy "safe": float32 -> float64, int32 -> int64, big-endian
    '>f4' as read from FITS -> float32); a lossy cast (float64 -> float32,
    float -> int) is a TypeError: convert explicitly with .astype();
  - a non-C-contiguous ndarray (a slice, a transpose, Fortran order) is
    copied to C order;
  - other sequences (lists, tuples) are converted to the required dtype.
Outputs are new C-order arrays allocated with the shape the library states.
"""
import ctypes

import numpy as np

_CTYPES = {
    np.dtype(np.float32): ctypes.c_float,
    np.dtype(np.float64): ctypes.c_double,
    np.dtype(np.int32): ctypes.c_int32,
    np.dtype(np.int64): ctypes.c_int64,
    np.dtype(np.uint8): ctypes.c_uint8,
}


def as_input(a, dtype, name, shape):
    """The array to pass for argument `name`: dtype as required, C order,
    shape checked against `shape` (a tuple of ints, or None for a free
    dimension)."""
    dtype = np.dtype(dtype)
    if isinstance(a, np.ndarray):
        if a.dtype != dtype:
            if not np.can_cast(a.dtype, dtype, "safe"):
                raise TypeError(f"{name} must be {dtype.name}; got {a.dtype} (a lossy conversion "
                                f"is not made implicitly: pass {name}.astype(np.{dtype.name}))")
    else:
        try:
            a = np.asarray(a, dtype=dtype)
        except (TypeError, ValueError) as e:
            raise TypeError(f"{name} must be an array of {dtype.name}: {e}") from None
    if a.ndim != len(shape):
        want = ", ".join("n" if d is None else str(d) for d in shape)
        raise ValueError(f"{name} must be {len(shape)}-D with shape ({want}"
                         f"{',' if len(shape) == 1 else ''}); got shape {a.shape}")
    for axis, (got, want) in enumerate(zip(a.shape, shape)):
        if want is not None and got != want:
            raise ValueError(f"{name} must have {want} entries along axis {axis}; "
                             f"got shape {a.shape}")
    return np.require(a, dtype=dtype, requirements=["C_CONTIGUOUS", "ALIGNED"])


def ptr(a):
    """Typed C pointer to the data of a C-contiguous array (None for None)."""
    if a is None:
        return None
    return a.ctypes.data_as(ctypes.POINTER(_CTYPES[a.dtype]))


def empty(shape, dtype):
    return np.empty(tuple(int(d) for d in shape), dtype=dtype)

"""Loading libgalaxyml and declaring the C functions the binding uses."""
import ctypes
import os

_PATH = os.environ.get("GALAXYML_LIBRARY", "libgalaxyml.so.1")
# RTLD_GLOBAL is not needed; the library is self-contained. It is never
# dlclose()d: LibTorch does not survive being unloaded.
lib = ctypes.CDLL(_PATH)

c_status = ctypes.c_int32
c_size_p = ctypes.POINTER(ctypes.c_size_t)
c_i64_p = ctypes.POINTER(ctypes.c_int64)
c_f64_p = ctypes.POINTER(ctypes.c_double)
c_f32_p = ctypes.POINTER(ctypes.c_float)


class Error(RuntimeError):
    """A galaxyml call failed; .status is the GML_ERR_* name."""

    def __init__(self, status, message):
        self.status = status
        super().__init__(f"{message} [{status}]")


class ContextOptions(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_uint32), ("device", ctypes.c_char_p),
                ("seed", ctypes.c_uint64), ("seed_from_init", ctypes.c_int32),
                ("backend", ctypes.c_char_p)]


class ModelInfo(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_uint32), ("family", ctypes.c_char * 32),
                ("format_version", ctypes.c_int32), ("library_version", ctypes.c_char * 32),
                ("checksum", ctypes.c_char * 48), ("n_tensors", ctypes.c_int64),
                ("n_parameters", ctypes.c_int64)]


def _fn(name, restype, *argtypes):
    f = getattr(lib, name)
    f.restype = restype
    f.argtypes = list(argtypes)
    return f


gml_last_error = _fn("gml_last_error", ctypes.c_char_p)
gml_status_name = _fn("gml_status_name", ctypes.c_char_p, c_status)
gml_version_string = _fn("gml_version_string", ctypes.c_char_p)
gml_build_info = _fn("gml_build_info", ctypes.c_char_p)
gml_abi_version = _fn("gml_abi_version", ctypes.c_int32)
gml_context_options_default = _fn("gml_context_options_default", None,
                                  ctypes.POINTER(ContextOptions))
gml_context_create = _fn("gml_context_create", c_status, ctypes.POINTER(ContextOptions),
                         ctypes.POINTER(ctypes.c_void_p))
gml_context_free = _fn("gml_context_free", None, ctypes.c_void_p)
gml_context_device = _fn("gml_context_device", c_status, ctypes.c_void_p, ctypes.c_char_p,
                         ctypes.c_size_t, c_size_p)
gml_cancel = _fn("gml_cancel", c_status, ctypes.c_void_p)
gml_cancel_reset = _fn("gml_cancel_reset", c_status, ctypes.c_void_p)
gml_model_file_inspect = _fn("gml_model_file_inspect", c_status, ctypes.c_char_p,
                             ctypes.c_char_p, ctypes.POINTER(ModelInfo))
gml_model_load = _fn("gml_model_load", c_status, ctypes.c_void_p, ctypes.c_char_p,
                     ctypes.c_char_p, ctypes.POINTER(ctypes.c_void_p))
gml_model_free = _fn("gml_model_free", None, ctypes.c_void_p)
gml_flow_dims = _fn("gml_flow_dims", c_status, ctypes.c_void_p, c_i64_p, c_i64_p)
gml_flow_sample = _fn("gml_flow_sample", c_status, ctypes.c_void_p, ctypes.c_void_p, c_f64_p,
                      ctypes.c_int64, ctypes.c_int64, ctypes.c_uint64, c_f32_p, ctypes.c_size_t,
                      c_f64_p)
gml_flow_log_prob = _fn("gml_flow_log_prob", c_status, ctypes.c_void_p, ctypes.c_void_p, c_f32_p,
                        ctypes.c_int64, c_f64_p, ctypes.c_int64, c_f64_p)
gml_flow_simulate = _fn("gml_flow_simulate", c_status, ctypes.c_void_p, ctypes.c_int64,
                        ctypes.c_int64, c_f64_p, ctypes.c_uint64, ctypes.c_char_p)


def check(status):
    if status != 0:
        raise Error(gml_status_name(status).decode(), gml_last_error().decode("utf-8", "replace"))


def version():
    return gml_version_string().decode()


def abi_version():
    return int(gml_abi_version())


def build_info():
    return gml_build_info().decode()

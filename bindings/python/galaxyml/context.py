"""Process settings, contexts, progress, cancellation and model handles."""
import ctypes
import json
import os
import signal
import threading
import weakref
from dataclasses import dataclass

from . import _abi
from ._lib import OPTIONS_DEFAULT_FNS, check, encode, lib, text_out
from .errors import CallbackError

# The log sink of gml_init() lives as long as the process (the library may
# call it at any time after registration).
_log_sink = None


def version():
    """Library version, e.g. "0.1.0"."""
    return lib.gml_version_string().decode()


def abi_version():
    """ABI version of the loaded library (N of libgalaxyml.so.N)."""
    return int(lib.gml_abi_version())


def build_info():
    """Library, LibTorch, HDF5, CFITSIO and WCSLIB versions of the build."""
    return lib.gml_build_info().decode()


def num_threads():
    """Intra-op CPU threads in use; 0 before initialisation."""
    return int(lib.gml_num_threads())


def status_name(code):
    """Constant name of a status value, e.g. 7 -> "GML_ERR_DEVICE"."""
    return lib.gml_status_name(code).decode()


def last_error():
    """The calling thread's last error message ("" if none)."""
    return lib.gml_last_error().decode("utf-8", "replace")


def clear_error():
    """Empties the calling thread's last error message."""
    lib.gml_clear_error()


def set_options(struct, options, keep):
    """Sets struct fields from keyword options. Strings are encoded and the
    bytes appended to `keep`, which the caller holds until the C call
    returns (the library borrows them)."""
    names = {f[0] for f in type(struct)._fields_} - {"struct_size"}
    for key, value in options.items():
        if key not in names:
            raise TypeError(f"unknown option '{key}' of {type(struct).__name__}; "
                            f"known: {', '.join(sorted(names))}")
        ftype = dict(type(struct)._fields_)[key]
        if ftype is ctypes.c_char_p:
            value = encode(value)
            keep.append(value)
        setattr(struct, key, value)
    return struct


def default_options(struct_name, options=None, keep=None):
    """An options struct filled by its *_options_default(), then `options`."""
    cls = getattr(_abi, struct_name)
    s = cls()
    OPTIONS_DEFAULT_FNS[struct_name](ctypes.byref(s))
    if options:
        set_options(s, options, keep if keep is not None else [])
    return s


def init(num_threads=None, log_level=None, log=None, seed=None):
    """Process-wide settings (gml_init); optional, the first Context
    initialises with defaults. The thread count is fixed by the first call.

    log: None for stderr, or a callable log(level, message) (level a
    GML_LOG_* value), called on the thread that made the library call.
    """
    global _log_sink
    o = default_options("gml_init_options")
    if num_threads is not None:
        o.num_threads = num_threads
    if log_level is not None:
        o.log_level = log_level
    if seed is not None:
        o.seed = seed
    sink = None
    if log is not None:
        def sink_fn(level, message, user):
            try:
                log(int(level), message.decode("utf-8", "replace"))
            except BaseException:  # a log sink must never unwind into C
                pass
        sink = _abi.gml_log_fn(sink_fn)
        o.log_fn = sink
    check(lib.gml_init(ctypes.byref(o)))
    # The previous sink may still be referenced by the library until the
    # call above replaced it; only now may it go.
    _log_sink = sink


@dataclass
class Progress:
    """One progress report of a long call (gml_progress)."""
    stage: str
    done: int
    total: int
    unit: str
    elapsed_s: float
    rate: float
    eta_s: float
    metric: float
    metric_name: str
    detail: str


def _text(p):
    return p.decode("utf-8", "replace") if p else ""


class _CallState:
    """What a callback trampoline saw during one library call: the first
    exception a Python callback raised (KeyboardInterrupt included)."""

    def __init__(self):
        self.progress = None
        self.pending = None
        self.interrupted = False

    def record(self, exc):
        if self.pending is None:
            self.pending = exc


def _make_progress_trampoline(state):
    def on_progress(p_ptr, user):
        try:
            if state.interrupted:
                return 1
            if state.progress is None:
                return 0
            p = p_ptr.contents
            report = Progress(_text(p.stage), p.done, p.total, _text(p.unit), p.elapsed_s,
                              p.rate, p.eta_s, p.metric, _text(p.metric_name), _text(p.detail))
            return 1 if state.progress(report) else 0
        except BaseException as e:  # noqa: B902 - Ctrl-C lands here while C runs
            state.record(e)
            return 1
    return _abi.gml_progress_fn(on_progress)


def _free_context(handle, keep_alive):
    lib.gml_context_free(handle)


class Context:
    """A device, a seed and a progress/cancellation scope (gml_context).

        with galaxyml.Context(device="cpu", seed=7) as ctx:
            ...

    One thread at a time may use a context (use one per thread); cancel()
    may be called from any thread. Every long call on the context reports to
    `progress` (a callable taking a Progress; a true return value stops the
    call with CancelledError), and Ctrl-C during a long call stops it and
    raises KeyboardInterrupt once the library has returned.
    """

    def __init__(self, device="auto", seed=None, backend="none", progress=None):
        o = default_options("gml_context_options")
        dev, back = encode(device), encode(backend)
        o.device, o.backend = dev, back
        if seed is not None:
            o.seed = seed
            o.seed_from_init = 0
        handle = _abi.gml_context_p()
        check(lib.gml_context_create(ctypes.byref(o), ctypes.byref(handle)))
        self._h = handle
        self._state = _CallState()
        self._state.progress = progress
        # The trampoline is always registered: it is where a pending Ctrl-C
        # is seen while the library runs on this thread.
        self._trampoline = _make_progress_trampoline(self._state)
        self._finalizer = weakref.finalize(self, _free_context, handle, self._trampoline)
        check(lib.gml_context_set_progress(handle, self._trampoline, None))
        self._lock = threading.Lock()

    @property
    def handle(self):
        if not self._finalizer.alive:
            raise ValueError("the context is closed")
        return self._h

    @property
    def progress(self):
        return self._state.progress

    @progress.setter
    def progress(self, fn):
        """A callable(Progress) -> bool (true stops the call), or None."""
        self._state.progress = fn

    @property
    def device(self):
        """"cpu" or "cuda:N"."""
        return text_out(lib.gml_context_device, self.handle)

    @property
    def rank(self):
        """(rank, size) of the distributed backend; (0, 1) without one."""
        r, s = ctypes.c_int32(), ctypes.c_int32()
        check(lib.gml_context_rank(self.handle, ctypes.byref(r), ctypes.byref(s)))
        return r.value, s.value

    def cancel(self):
        """Raises the cancel flag (from any thread): the running call and
        every later long call stop with CancelledError until reset_cancel()."""
        check(lib.gml_cancel(self.handle))

    def reset_cancel(self):
        """Lowers the cancel flag, once the cancelled call has returned."""
        check(lib.gml_cancel_reset(self.handle))

    def selftest(self, n_steps=10):
        """A small computation on the device that reports progress; returns
        its checksum (deterministic for the context's seed)."""
        out = ctypes.c_double()
        self.run(lib.gml_context_selftest, self.handle, n_steps, ctypes.byref(out))
        return out.value

    def run(self, fn, *args):
        """Calls a long library function with this context and turns its
        status into an exception. An exception raised by a Python callback
        during the call (the progress callable, a simulator, a catalog
        chunk consumer; they record it in the context) is raised after the
        call: KeyboardInterrupt as itself, a failing host callback as
        CallbackError caused by it."""
        state = self._state
        state.pending = None
        state.interrupted = False
        # Ctrl-C while the library runs: Python runs signal handlers only
        # between bytecodes of the main thread, i.e. in a callback, and a
        # KeyboardInterrupt raised on entry to a ctypes callback cannot be
        # caught there. So SIGINT is only recorded during the call; the
        # callbacks see the record and stop the call, and KeyboardInterrupt
        # is raised once the library has returned.
        previous = None
        if (threading.current_thread() is threading.main_thread()
                and signal.getsignal(signal.SIGINT) is signal.default_int_handler):
            def on_sigint(signum, frame):
                state.interrupted = True
            previous = signal.signal(signal.SIGINT, on_sigint)
        try:
            status = fn(*args)
        finally:
            if previous is not None:
                signal.signal(signal.SIGINT, previous)
        exc, state.pending = state.pending, None
        if state.interrupted:
            state.interrupted = False
            raise KeyboardInterrupt
        if exc is not None:
            if isinstance(exc, (KeyboardInterrupt, SystemExit)) or status == _abi.GML_OK:
                raise exc
            if status == _abi.GML_ERR_CALLBACK:
                raise CallbackError(f"{last_error()}: {type(exc).__name__}: {exc}",
                                    "GML_ERR_CALLBACK", status) from exc
            raise exc
        check(status)
        return status

    def load_model(self, path, family=None):
        """Loads a model file (or a diffusers folder) onto the context's
        device; returns a FlowModel, PosteriorModel, MergerModel or
        DiffusionModel according to its family (family=None accepts any)."""
        handle = _abi.gml_model_p()
        check(lib.gml_model_load(self.handle, encode(path), encode(family), ctypes.byref(handle)))
        fam = text_out(lib.gml_model_family, handle)
        cls = _FAMILY_CLASSES.get(fam, Model)
        return cls(self, handle, os.fspath(path), fam)

    def close(self):
        """Releases the context (models loaded with it keep it alive)."""
        self._finalizer()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


_FAMILY_CLASSES = {}


def _free_model(handle):
    lib.gml_model_free(handle)


class Model:
    """A loaded model (gml_model). Keeps its Context alive; close() or the
    end of a `with` block frees it."""

    def __init__(self, ctx, handle, path, family):
        self.context = ctx
        self._h = handle
        self.path = path
        self.family = family
        self._finalizer = weakref.finalize(self, _free_model, handle)

    @property
    def handle(self):
        if not self._finalizer.alive:
            raise ValueError("the model is closed")
        return self._h

    def _run(self, fn, *args, **kw):
        return self.context.run(fn, *args, **kw)

    def close(self):
        self._finalizer()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        return f"<galaxyml.{type(self).__name__} {self.path!r}>"


@dataclass
class ModelInfo:
    family: str
    format_version: int
    library_version: str
    checksum: str
    n_tensors: int
    n_parameters: int


def inspect_model(path, family=None):
    """Reads and fully verifies a model file without loading it; raises
    FamilyError when family is given and differs."""
    info = _abi.gml_model_info()
    info.struct_size = ctypes.sizeof(info)
    check(lib.gml_model_file_inspect(encode(path), encode(family), ctypes.byref(info)))
    return ModelInfo(info.family.decode(), info.format_version, info.library_version.decode(),
                     info.checksum.decode(), info.n_tensors, info.n_parameters)


def model_config(path):
    """The model file's config (architecture and training settings) as a
    dict."""
    return json.loads(text_out(lib.gml_model_file_config, encode(path)))

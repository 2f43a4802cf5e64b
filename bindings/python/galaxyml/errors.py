"""Exceptions: one class per gml_status, all derived from GalaxymlError.

Each carries .status (the constant's name, e.g. "GML_ERR_IO"), .code (its
value) and .message (the library's gml_last_error() text). Where a Python
built-in exception means the same, the class derives from it too, so that
`except OSError` or `except ValueError` catch what they would expect.
"""


class GalaxymlError(Exception):
    """A galaxyml call failed."""

    status = "GML_ERR_UNKNOWN"
    code = -1

    def __init__(self, message, status=None, code=None):
        if status is not None:
            self.status = status
        if code is not None:
            self.code = code
        self.message = message
        super().__init__(message)

    def __str__(self):
        return f"{self.message} [{self.status}]"


class InvalidArgumentError(GalaxymlError, ValueError):
    """An argument is NULL, out of range, malformed or inconsistent."""
    status, code = "GML_ERR_INVALID_ARGUMENT", 1


class FileError(GalaxymlError, OSError):
    """A file cannot be opened, read, written or renamed (GML_ERR_IO)."""
    status, code = "GML_ERR_IO", 2

    def __init__(self, message, status=None, code=None):
        GalaxymlError.__init__(self, message, status, code)

    def __str__(self):
        return GalaxymlError.__str__(self)


class FormatError(GalaxymlError):
    """A file is not in the expected format."""
    status, code = "GML_ERR_FORMAT", 3


class FamilyError(GalaxymlError):
    """A model belongs to another family than the one asked for."""
    status, code = "GML_ERR_FAMILY", 4


class VersionError(GalaxymlError):
    """A model file was written by a newer format version."""
    status, code = "GML_ERR_VERSION", 5


class ChecksumError(GalaxymlError):
    """A model file's tensors do not match its checksum."""
    status, code = "GML_ERR_CHECKSUM", 6


class DeviceError(GalaxymlError):
    """Unknown or absent device, or a model on another device."""
    status, code = "GML_ERR_DEVICE", 7


class BackendError(GalaxymlError):
    """The distributed backend cannot be loaded, or a rank failed."""
    status, code = "GML_ERR_BACKEND", 8


class CancelledError(GalaxymlError):
    """The call was cancelled (Context.cancel() or a progress callback)."""
    status, code = "GML_ERR_CANCELLED", 9


class CapacityError(GalaxymlError):
    """An output buffer is smaller than the result."""
    status, code = "GML_ERR_CAPACITY", 10


class NotFoundError(GalaxymlError, LookupError):
    """A named item (tensor, column, HDU, keyword) does not exist."""
    status, code = "GML_ERR_NOT_FOUND", 11


class OutOfMemoryError(GalaxymlError, MemoryError):
    """Memory could not be allocated."""
    status, code = "GML_ERR_OUT_OF_MEMORY", 12


class FitsError(GalaxymlError):
    """A CFITSIO error; the message carries CFITSIO's text."""
    status, code = "GML_ERR_FITS", 13


class WcsError(GalaxymlError):
    """A WCSLIB error, or no celestial WCS where one is needed."""
    status, code = "GML_ERR_WCS", 14


class InternalError(GalaxymlError):
    """An unexpected internal failure of the library."""
    status, code = "GML_ERR_INTERNAL", 15


class CallbackError(GalaxymlError):
    """A Python callback (e.g. a simulator) failed or returned invalid
    values; the original exception is the __cause__."""
    status, code = "GML_ERR_CALLBACK", 16


_BY_CODE = {cls.code: cls for cls in (
    InvalidArgumentError, FileError, FormatError, FamilyError, VersionError, ChecksumError,
    DeviceError, BackendError, CancelledError, CapacityError, NotFoundError, OutOfMemoryError,
    FitsError, WcsError, InternalError, CallbackError)}


def error_for_status(code, status_name, message):
    cls = _BY_CODE.get(code, GalaxymlError)
    return cls(message, status_name, code)

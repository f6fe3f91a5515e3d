"""The C library behind graphseq: its declarations (include/graphseq.h,
preprocessed when the package was built) in cffi's ABI mode, the shared
library found and version-checked at import, and the helpers every wrapper
uses: status checks, array checks, owned handles.

Library search order: $GRAPHSEQ_LIBRARY (a path, and then nothing else); a
library bundled into the package at build time; pkg-config's libdir for
graphseq; the dynamic loader's search path (LD_LIBRARY_PATH, ld.so.cache);
/usr/local/lib.
"""
import os
import re
import subprocess
from pathlib import Path

import cffi
import numpy as np

from .errors import (ClosedError, GraphSeqError, InternalError, InvalidArgumentError,
                     InvalidGraphError, LibraryError, NotConvergedError, OutOfMemoryError,
                     UnsupportedError)

_HERE = Path(__file__).resolve().parent

_DECLARATIONS = (_HERE / "graphseq_cdef.h").read_text()
ffi = cffi.FFI()
ffi.cdef(_DECLARATIONS)


def _constant(name):
    return int(re.search(rf"^#define {name} (\d+)$", _DECLARATIONS, re.MULTILINE).group(1))


#: The version of the header this package was built with, encoded as GSQ_VERSION.
HEADER_VERSION = (_constant("GSQ_VERSION_MAJOR") * 10000 + _constant("GSQ_VERSION_MINOR") * 100
                  + _constant("GSQ_VERSION_PATCH"))
_SONAME = f"libgraphseq.so.{HEADER_VERSION // 10000}"


def _candidates():
    explicit = os.environ.get("GRAPHSEQ_LIBRARY")
    if explicit:
        yield Path(explicit)
        return
    yield _HERE / "native" / "lib" / _SONAME
    try:
        libdir = subprocess.run(["pkg-config", "--variable=libdir", "graphseq"],
                                capture_output=True, text=True, timeout=30).stdout.strip()
        if libdir:
            yield Path(libdir) / _SONAME
    except (OSError, subprocess.SubprocessError):
        pass
    yield _SONAME  # a bare name: the dynamic loader searches
    yield Path("/usr/local/lib") / _SONAME


def _load():
    tried = []
    for candidate in _candidates():
        if isinstance(candidate, Path) and not candidate.exists():
            tried.append(f"{candidate}: no such file")
            continue
        try:
            return ffi.dlopen(str(candidate)), str(candidate)
        except OSError as error:
            tried.append(f"{candidate}: {error}")
    raise LibraryError("graphseq: cannot load the GraphSeq library; install it with "
                       "`make install` (and set PKG_CONFIG_PATH for a custom PREFIX) or set "
                       "GRAPHSEQ_LIBRARY to its path. Tried:\n  " + "\n  ".join(tried))


lib, library_path = _load()
if lib.gsq_version() // 100 != HEADER_VERSION // 100:  # GSQ_VERSION_COMPATIBLE
    raise LibraryError(f"graphseq: {library_path} has version {lib.gsq_version()}, but this "
                       f"package was built for {HEADER_VERSION} (major and minor must agree); "
                       "reinstall one of them")

_ERRORS = {
    lib.GSQ_ERR_INVALID_ARGUMENT: InvalidArgumentError,
    lib.GSQ_ERR_OUT_OF_MEMORY: OutOfMemoryError,
    lib.GSQ_ERR_INVALID_GRAPH: InvalidGraphError,
    lib.GSQ_ERR_UNSUPPORTED: UnsupportedError,
    lib.GSQ_ERR_NOT_CONVERGED: NotConvergedError,
    lib.GSQ_ERR_INTERNAL: InternalError,
}


def check(status):
    """Raises the exception of a failed status, with gsq_last_error()'s message."""
    if status != lib.GSQ_SUCCESS:
        message = ffi.string(lib.gsq_last_error()).decode("utf-8", "replace")
        raise _ERRORS.get(status, GraphSeqError)(message, status)


def enum_values(ctype, prefix):
    """{'name': value} of a C enum's constants, named in lower case without
    their common prefix: enum_values('gsq_laplacian_t', 'GSQ_LAPLACIAN_')."""
    return {name[len(prefix):].lower(): value
            for value, name in ffi.typeof(ctype).elements.items()}


def choose(what, name, choices):
    try:
        return choices[name]
    except (KeyError, TypeError):
        raise InvalidArgumentError(f"{what} = {name!r} is not one of {sorted(choices)}") from None


_CTYPES = {np.dtype(np.float32): "float[]", np.dtype(np.int64): "int64_t[]",
           np.dtype(np.int32): "int32_t[]", np.dtype(np.uint8): "uint8_t[]"}


def as_float32(x):
    """A C-contiguous float32 copy of x (x itself when it already is one):
    the explicit conversion graphseq never does on its own."""
    return np.ascontiguousarray(x, dtype=np.float32)


def pointer(name, x, dtype=np.float32, shape=None, writable=False, optional=False):
    """A zero-copy C pointer into the numpy array x, after checking that it is
    C-contiguous, of exactly `dtype`, of `shape` (when given) and writable
    (when C writes it). None gives NULL when optional. The pointer keeps x
    alive while it is referenced."""
    if x is None:
        if optional:
            return ffi.NULL
        raise InvalidArgumentError(f"{name} is required")
    dtype = np.dtype(dtype)
    if not isinstance(x, np.ndarray) or x.dtype != dtype or not x.flags.c_contiguous:
        got = (f"a {'' if x.flags.c_contiguous else 'non-contiguous '}{x.dtype} array"
               if isinstance(x, np.ndarray) else type(x).__name__)
        hint = "graphseq.as_float32(x)" if dtype == np.float32 else f"np.ascontiguousarray(x, np.{dtype})"
        raise InvalidArgumentError(f"{name} must be a C-contiguous {dtype} numpy array, got {got} "
                                   f"(convert it explicitly, e.g. {hint}, which copies)")
    if shape is not None and x.shape != tuple(shape):
        raise InvalidArgumentError(f"{name} has shape {x.shape}, expected {tuple(shape)}")
    if writable and not x.flags.writeable:
        raise InvalidArgumentError(f"{name} is read-only, but GraphSeq writes it")
    return ffi.from_buffer(_CTYPES[dtype], x, require_writable=writable)


def matrix(name, x):
    """The shape of x, which must be a 2-D array."""
    if isinstance(x, np.ndarray) and x.ndim == 2:
        return x.shape
    got = f"a {x.ndim}-D array" if isinstance(x, np.ndarray) else type(x).__name__
    raise InvalidArgumentError(f"{name} must be a 2-D array, got {got}")


def output(name, x, shape, dtype=np.float32):
    """x checked as a writable output of `shape`, or a new array when None.
    Returns (array, pointer)."""
    if x is None:
        x = np.empty(shape, dtype)
    return x, pointer(name, x, dtype, shape, writable=True)


def csr_pointers(row_ptr, col_idx, values):
    """(nrows, pointers) of checked CSR arrays: nrows + 1 int64 offsets, nnz
    int32 column indices, nnz float32 values or None (all ones). The C side
    validates the contents; the sizes, which it cannot see, are checked here."""
    if not isinstance(row_ptr, np.ndarray) or row_ptr.ndim != 1 or row_ptr.size == 0:
        raise InvalidArgumentError("row_ptr must be a 1-D array of nrows + 1 offsets")
    pr = pointer("row_ptr", row_ptr, np.int64)
    nnz = getattr(col_idx, "size", -1)
    pi = pointer("col_idx", col_idx, np.int32, (nnz,))
    pv = pointer("values", values, np.float32, (nnz,), optional=True)
    if row_ptr[-1] != nnz:  # C reads row_ptr[nrows] column indices and values
        raise InvalidArgumentError(f"row_ptr ends at {row_ptr[-1]}, but there are {nnz} columns")
    return row_ptr.size - 1, pr, pi, pv


def copy_out(data, shape):
    """A numpy copy of `shape` float32 values at the C pointer data (owned by
    the library, so never handed out as a view)."""
    count = int(np.prod(shape, dtype=np.int64))
    if count == 0:
        return np.zeros(shape, np.float32)
    return np.frombuffer(ffi.buffer(data, 4 * count), np.float32).reshape(shape).copy()


class Handle:
    """An owned C handle: freed by close(), at the end of a with block, or
    when garbage collected, whichever comes first. Using it after close()
    raises ClosedError."""

    _handle = None

    def __init__(self, handle, destroy):
        self._handle = ffi.gc(handle, destroy)

    @property
    def handle(self):
        """The C handle (gsq_graph_t, gsq_model_t, gsq_optimizer_t)."""
        if self._handle is None:
            raise ClosedError(f"this {type(self).__name__} is closed")
        return self._handle

    @property
    def closed(self):
        return self._handle is None

    def close(self):
        """Frees the C object now; further calls are no-ops."""
        if self._handle is not None:
            ffi.release(self._handle)
            self._handle = None

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

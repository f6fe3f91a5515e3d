"""The exceptions graphseq raises: one per gsq_status_t failure, plus closed
handles and an unusable library."""


class GraphSeqError(Exception):
    """Any failure reported by GraphSeq. `status` is the C status code
    (gsq_status_t), or None for errors detected in Python."""

    def __init__(self, message, status=None):
        super().__init__(message)
        self.status = status


class InvalidArgumentError(GraphSeqError, ValueError):
    """GSQ_ERR_INVALID_ARGUMENT: a bad array, shape, size or option; also an
    array of the wrong dtype or layout, detected before the call."""


class InvalidGraphError(InvalidArgumentError):
    """GSQ_ERR_INVALID_GRAPH: CSR/COO arrays that are not well formed."""


class OutOfMemoryError(GraphSeqError, MemoryError):
    """GSQ_ERR_OUT_OF_MEMORY: an allocation failed; nothing was written."""


class UnsupportedError(GraphSeqError):
    """GSQ_ERR_UNSUPPORTED: a valid request this build or CPU cannot serve."""


class NotConvergedError(GraphSeqError):
    """GSQ_ERR_NOT_CONVERGED: an iterative estimate (lambda_max) did not converge."""


class InternalError(GraphSeqError):
    """GSQ_ERR_INTERNAL: a bug in GraphSeq; please report it."""


class ClosedError(GraphSeqError, ValueError):
    """A graph, model or optimiser used after close()."""


class LibraryError(GraphSeqError, ImportError):
    """The shared library was not found, or its version does not match the
    header this package was built with."""

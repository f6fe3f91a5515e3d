"""GraphSeq for Python: the C ABI of libgraphseq (include/graphseq.h) on
numpy arrays, through cffi.

Arrays go to C without copies and must be C-contiguous with the exact dtype
(float32 data, int64 CSR offsets, int32 indices); anything else raises
InvalidArgumentError, and as_float32(x) is the explicit copy. Graphs,
models and optimisers own C handles: close() them or use `with`. Failures
raise the exceptions of graphseq.errors.

Importing checks that the loaded library serves the header this package was
built with (see library_path, version()).
"""
from . import losses
from ._library import HEADER_VERSION, as_float32, ffi, lib, library_path
from .errors import (ClosedError, GraphSeqError, InternalError, InvalidArgumentError,
                     InvalidGraphError, LibraryError, NotConvergedError, OutOfMemoryError,
                     UnsupportedError)
from .graph import Graph
from .kernels import (cheb_basis, cheb_basis_backward, gru_cell_backward, gru_cell_forward,
                      gru_rb_gates_backward, gru_rb_gates_forward, gru_rb_output_backward,
                      gru_rb_output_forward, lstm_cell_backward, lstm_cell_forward,
                      rnn_cell_backward, rnn_cell_forward, sgemm, spmm_csr)
from .model import KINDS, OPTIMIZERS, Model, Optimizer
from .runtime import (cpu_isa, get_num_threads, isa, max_isa, set_max_isa, set_num_threads,
                      set_verbose, version, version_string)

__version__ = version_string()

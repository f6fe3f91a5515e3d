"""Graph: a validated, immutable CSR matrix owned by the library (gsq_graph_t)."""
import numpy as np

from ._library import (Handle, check, choose, copy_out, csr_pointers, enum_values, ffi, lib, matrix,
                       output, pointer)
from .errors import InvalidArgumentError

LAPLACIANS = enum_values("gsq_laplacian_t", "GSQ_LAPLACIAN_")  # none, sym, rw


class Graph(Handle):
    """A sparse nrows x ncols matrix. Row i holds the weights with which node
    i aggregates its neighbours j (y = A x gives y_i = sum_j A_ij x_j): in
    PyTorch Geometric terms, an edge j -> i. Build one with from_coo,
    from_csr or from_dense; input arrays are copied."""

    def __init__(self, _handle):
        super().__init__(_handle, lib.gsq_graph_destroy)
        out = ffi.new("int64_t[3]")
        check(lib.gsq_graph_shape(self.handle, out, out + 1, out + 2))
        self.shape = (out[0], out[1])
        self.nnz = out[2]

    @classmethod
    def _create(cls, create, *args):
        out = ffi.new("gsq_graph_t *")
        check(create(out, *args))
        return cls(out[0])

    @classmethod
    def from_coo(cls, rows, cols, values=None, *, shape):
        """From nnz (rows[k], cols[k], values[k]) triples in any order
        (int32, int32, float32 or None for ones); duplicates are summed."""
        nnz = getattr(rows, "size", -1)
        return cls._create(lib.gsq_graph_create_coo, shape[0], shape[1], nnz,
                           pointer("rows", rows, np.int32, (nnz,)),
                           pointer("cols", cols, np.int32, (nnz,)),
                           pointer("values", values, np.float32, (nnz,), optional=True))

    @classmethod
    def from_csr(cls, row_ptr, col_idx, values=None, *, ncols=None):
        """From CSR arrays: nrows + 1 int64 offsets starting at 0, int32
        column indices strictly increasing within each row, float32 values
        (None: ones). ncols defaults to nrows."""
        nrows, pr, pi, pv = csr_pointers(row_ptr, col_idx, values)
        return cls._create(lib.gsq_graph_create_csr, nrows, nrows if ncols is None else ncols,
                           pr, pi, pv)

    @classmethod
    def from_dense(cls, a):
        """From the non-zero entries of a 2-D array (any real dtype; the
        values are stored as float32)."""
        a = np.asarray(a)
        matrix("a", a)
        rows, cols = np.nonzero(a)
        return cls.from_coo(rows.astype(np.int32), cols.astype(np.int32),
                            a[rows, cols].astype(np.float32), shape=a.shape)

    def csr(self):
        """Copies of the CSR arrays: (row_ptr int64, col_idx int32, values float32)."""
        row_ptr, col_idx, values = (ffi.new("const int64_t **"), ffi.new("const int32_t **"),
                                    ffi.new("const float **"))
        check(lib.gsq_graph_csr(self.handle, row_ptr, col_idx, values))
        nrows, nnz = self.shape[0], self.nnz
        return (np.frombuffer(ffi.buffer(row_ptr[0], 8 * (nrows + 1)), np.int64).copy(),
                np.frombuffer(ffi.buffer(col_idx[0], 4 * nnz), np.int32).copy() if nnz
                else np.zeros(0, np.int32),
                copy_out(values[0], (nnz,)))

    def to_dense(self):
        """The matrix as a dense float32 array."""
        row_ptr, col_idx, values = self.csr()
        dense = np.zeros(self.shape, np.float32)
        dense[np.repeat(np.arange(self.shape[0]), np.diff(row_ptr)), col_idx] = values
        return dense

    def is_symmetric(self):
        out = ffi.new("int *")
        check(lib.gsq_graph_is_symmetric(self.handle, out))
        return bool(out[0])

    def transpose(self):
        """A new Graph holding the transpose."""
        return Graph._create(lib.gsq_graph_transpose, self.handle)

    def gcn_norm(self):
        """GCN renormalisation D^-1/2 (A + I) D^-1/2 (PyTorch Geometric's gcn_norm)."""
        return Graph._create(lib.gsq_graph_gcn_norm, self.handle)

    def laplacian(self, normalization="sym"):
        """The Laplacian: 'none' D - A, 'sym' I - D^-1/2 A D^-1/2, 'rw' I - D^-1 A."""
        return Graph._create(lib.gsq_graph_laplacian, self.handle,
                             choose("normalization", normalization, LAPLACIANS))

    def lambda_max(self):
        """The largest eigenvalue (Lanczos for symmetric matrices, else power iteration)."""
        out = ffi.new("float *")
        check(lib.gsq_graph_lambda_max(self.handle, out))
        return out[0]

    def scaled_laplacian(self, normalization="sym", lambda_max=None):
        """2 L / lambda_max - I, the operator of Chebyshev filters; lambda_max
        None estimates it (PyTorch Geometric uses 2.0 for 'sym' and 'rw')."""
        return Graph._create(lib.gsq_graph_scaled_laplacian, self.handle,
                             choose("normalization", normalization, LAPLACIANS),
                             0.0 if lambda_max is None else lambda_max)

    def spmm(self, x, y=None, *, alpha=1.0, beta=0.0, transpose=False):
        """y := alpha * op(A) @ x + beta * y, op(A) = A.T when transpose.
        Returns y (new when None, which needs beta == 0)."""
        rows, cols = self.shape[::-1] if transpose else self.shape
        n, nfeat = matrix("x", x)
        if n != cols:
            raise InvalidArgumentError(f"x has {n} rows, op(A) has {cols} columns")
        if y is None and beta != 0:
            raise InvalidArgumentError("beta != 0 needs y")
        y, py = output("y", y, (rows, nfeat))
        check(lib.gsq_graph_spmm(self.handle, int(transpose), nfeat, alpha, pointer("x", x), nfeat,
                                 beta, py, nfeat))
        return y

    def __repr__(self):
        state = "closed" if self.closed else f"{self.shape[0]}x{self.shape[1]}, nnz={self.nnz}"
        return f"Graph({state})"

"""The kernels of graphseq.h on numpy arrays: SGEMM, CSR SpMM, the Chebyshev
basis and the fused recurrent cell steps, forward and backward.

Arrays are C-contiguous float32 (int64 row offsets, int32 column indices) and
are passed to C without copies; outputs are new arrays unless given. Where
the C kernel works in place (the gate buffers of the cells), so does the
function, as its docstring says. Sizes are taken from the arrays' shapes.
"""
import numpy as np

from ._library import check, choose, csr_pointers, enum_values, lib, matrix, output, pointer
from .errors import InvalidArgumentError
from .graph import Graph

_ACTIVATIONS = enum_values("gsq_activation_t", "GSQ_ACTIVATION_")


def sgemm(a, b, c=None, *, alpha=1.0, beta=0.0, trans_a=False, trans_b=False):
    """c := alpha * op(a) @ op(b) + beta * c, op = transpose when asked
    (BLAS sgemm, row-major). Returns c (new when None, which needs beta == 0)."""
    m, k = matrix("a", a)[::-1] if trans_a else matrix("a", a)
    k_b, n = matrix("b", b)[::-1] if trans_b else matrix("b", b)
    if k_b != k:
        raise InvalidArgumentError(f"op(a) is {m}x{k} but op(b) is {k_b}x{n}")
    if c is None and beta != 0:
        raise InvalidArgumentError("beta != 0 needs c")
    c, pc = output("c", c, (m, n))
    if np.may_share_memory(c, a) or np.may_share_memory(c, b):  # the kernel does not check
        raise InvalidArgumentError("c must not overlap a or b")
    check(lib.gsq_sgemm(int(trans_a), int(trans_b), m, n, k, alpha, pointer("a", a), a.shape[1],
                        pointer("b", b), b.shape[1], beta, pc, n))
    return c


def spmm_csr(row_ptr, col_idx, values, x, y=None, *, alpha=1.0, beta=0.0):
    """y := alpha * A @ x + beta * y for the CSR matrix A (nrows x x.shape[0])
    given by row_ptr, col_idx and values (None: all ones). The arrays are
    validated on every call; a Graph validates once. Returns y."""
    ncols, nfeat = matrix("x", x)
    nrows, pr, pi, pv = csr_pointers(row_ptr, col_idx, values)
    if y is None and beta != 0:
        raise InvalidArgumentError("beta != 0 needs y")
    y, py = output("y", y, (nrows, nfeat))
    check(lib.gsq_spmm_csr_f32(nrows, ncols, pr, pi, pv, nfeat, alpha, pointer("x", x), nfeat,
                               beta, py, nfeat))
    return y


def _operator(lhat, nodes):
    if not isinstance(lhat, Graph):
        raise InvalidArgumentError(f"lhat must be a Graph, got {type(lhat).__name__}")
    if lhat.shape != (nodes, nodes):
        raise InvalidArgumentError(f"lhat is {lhat.shape}, expected ({nodes}, {nodes})")
    return lhat.handle


def cheb_basis(lhat, K, x, basis=None):
    """The Chebyshev basis [T_0 x, ..., T_{K-1} x] of x (n x f) for the
    operator lhat (usually a scaled Laplacian): T_0 = x, T_1 = L x,
    T_k = 2 L T_{k-1} - T_{k-2}. Node-major: basis is n x K*f with T_k in
    columns k*f .. (k+1)*f - 1. Returns basis."""
    n, f = matrix("x", x)
    handle = _operator(lhat, n)
    basis, pb = output("basis", basis, (n, K * f))
    check(lib.gsq_cheb_basis(handle, K, f, pointer("x", x), f, pb, K * f))
    return basis


def cheb_basis_backward(lhat, K, dbasis, dx=None, *, beta=0.0):
    """The adjoint of cheb_basis: dx := sum_k T_k(L)^T G_k + beta * dx for
    dbasis = [G_0, ..., G_{K-1}] (n x K*f), which is used as scratch and
    overwritten. Returns dx (n x f; new when None, which needs beta == 0)."""
    n, width = matrix("dbasis", dbasis)
    if K < 1 or width % K:
        raise InvalidArgumentError(f"dbasis has {width} columns, not a multiple of K = {K}")
    handle = _operator(lhat, n)
    if dx is None and beta != 0:
        raise InvalidArgumentError("beta != 0 needs dx")
    f = width // K
    pg = pointer("dbasis", dbasis, writable=True)
    dx, pdx = output("dx", dx, (n, f))
    check(lib.gsq_cheb_basis_backward(handle, K, f, pg, width, beta, pdx, f))
    return dx


def _gates(name, gates, count):
    """(batch, hidden) of a batch x count*hidden gate buffer."""
    batch, width = matrix(name, gates)
    if width % count:
        raise InvalidArgumentError(f"{name} has {width} columns, not a multiple of {count}")
    return batch, width // count


def _vector(name, x, size, writable=False):
    return pointer(name, x, shape=(size,), writable=writable, optional=True)


def _lstm_flags(peephole, coupled):
    return ((lib.GSQ_LSTM_PEEPHOLE if peephole is not None else 0)
            | (lib.GSQ_LSTM_COUPLED if coupled else 0))


def lstm_cell_forward(gates, c_prev=None, bias=None, peephole=None, *, coupled=False):
    """One LSTM step. gates (batch x 4*hidden, order i, f, g, o) holds the
    pre-activations and is overwritten with the activations (what backward
    needs). bias: 4*hidden; peephole: 3*hidden (w_ci, w_cf, w_co), enabling
    peepholes; c_prev: batch x hidden; None means zeros / off. coupled: i = 1 - f.
    Returns (c, h)."""
    batch, hidden = _gates("gates", gates, 4)
    state = (batch, hidden)
    c, pc = output("c", None, state)
    h, ph = output("h", None, state)
    check(lib.gsq_lstm_cell_forward(
        batch, hidden, _lstm_flags(peephole, coupled), pointer("gates", gates, writable=True),
        _vector("bias", bias, 4 * hidden), _vector("peephole", peephole, 3 * hidden),
        pointer("c_prev", c_prev, shape=state, optional=True), pc, ph))
    return c, h


def lstm_cell_backward(gates, c, dh, c_prev=None, dc=None, peephole=None, *, coupled=False,
                       dpeephole=None, dbias=None):
    """Backward of lstm_cell_forward, from the activations it left in gates,
    its c, and dh = dLoss/dh, dc = dLoss/dc from later steps (None: zeros).
    Adds into dpeephole (3*hidden) and dbias (4*hidden) when given. Returns
    (dgates, dc_prev): gradients w.r.t. the pre-activations and c_prev."""
    batch, hidden = _gates("gates", gates, 4)
    state = (batch, hidden)
    if dpeephole is not None and peephole is None:
        raise InvalidArgumentError("dpeephole needs peephole")
    dgates, pdg = output("dgates", None, gates.shape)
    dc_prev, pdc = output("dc_prev", None, state)
    check(lib.gsq_lstm_cell_backward(
        batch, hidden, _lstm_flags(peephole, coupled), pointer("gates", gates),
        _vector("peephole", peephole, 3 * hidden),
        pointer("c_prev", c_prev, shape=state, optional=True), pointer("c", c, shape=state),
        pointer("dh", dh, shape=state), pointer("dc", dc, shape=state, optional=True), pdg, pdc,
        _vector("dpeephole", dpeephole, 3 * hidden, True), _vector("dbias", dbias, 4 * hidden, True)))
    return dgates, dc_prev


def gru_cell_forward(gx, gh, h_prev=None, b_ih=None, b_hh=None):
    """One GRU step, linear-before-reset (PyTorch) form, gate order r, z, n.
    gx = x W_ih^T and gh = h_prev W_hh^T (batch x 3*hidden, without biases)
    are overwritten: gx with r, z, n and gh's n slot with gh_n + b_hn.
    Returns h."""
    batch, hidden = _gates("gx", gx, 3)
    h, ph = output("h", None, (batch, hidden))
    check(lib.gsq_gru_cell_forward(
        batch, hidden, pointer("gx", gx, writable=True),
        pointer("gh", gh, shape=gx.shape, writable=True), _vector("b_ih", b_ih, 3 * hidden),
        _vector("b_hh", b_hh, 3 * hidden),
        pointer("h_prev", h_prev, shape=(batch, hidden), optional=True), ph))
    return h


def gru_cell_backward(gx, gh, dh, h_prev=None, *, db_ih=None, db_hh=None):
    """Backward of gru_cell_forward from the gx, gh it left. Adds into db_ih
    and db_hh (3*hidden) when given. Returns (dgx, dgh, dh_prev), dh_prev
    being only the direct path z * dh."""
    batch, hidden = _gates("gx", gx, 3)
    state = (batch, hidden)
    dgx, pdgx = output("dgx", None, gx.shape)
    dgh, pdgh = output("dgh", None, gx.shape)
    dh_prev, pdh = output("dh_prev", None, state)
    check(lib.gsq_gru_cell_backward(
        batch, hidden, pointer("gx", gx), pointer("gh", gh, shape=gx.shape),
        pointer("h_prev", h_prev, shape=state, optional=True), pointer("dh", dh, shape=state),
        pdgx, pdgh, pdh, _vector("db_ih", db_ih, 3 * hidden, True),
        _vector("db_hh", db_hh, 3 * hidden, True)))
    return dgx, dgh, dh_prev


def gru_rb_gates_forward(gates, h_prev=None, bias=None):
    """Phase 1 of a reset-before-product GRU step (Cho et al.; GConvGRU):
    the r and z slots of gates (batch x 3*hidden) hold summed
    pre-activations and become r, z in place. Returns rh = r * h_prev."""
    batch, hidden = _gates("gates", gates, 3)
    rh, prh = output("rh", None, (batch, hidden))
    check(lib.gsq_gru_rb_gates_forward(
        batch, hidden, pointer("gates", gates, writable=True), _vector("bias", bias, 3 * hidden),
        pointer("h_prev", h_prev, shape=(batch, hidden), optional=True), prh))
    return rh


def gru_rb_output_forward(gates, h_prev=None, bias=None):
    """Phase 2: the n slot holds W_n x + U_n (r * h_prev) and becomes
    n = tanh(. + b_n) in place. Returns h = (1 - z) * n + z * h_prev."""
    batch, hidden = _gates("gates", gates, 3)
    h, ph = output("h", None, (batch, hidden))
    check(lib.gsq_gru_rb_output_forward(
        batch, hidden, pointer("gates", gates, writable=True), _vector("bias", bias, 3 * hidden),
        pointer("h_prev", h_prev, shape=(batch, hidden), optional=True), ph))
    return h


def gru_rb_output_backward(gates, dh, h_prev=None, *, dbias=None):
    """Backward of phase 2 from dh: returns (dgates, dh_prev) with the z and
    n slots of dgates set (r slot zero until gru_rb_gates_backward) and
    dh_prev = z * dh. Adds into dbias's z and n slots when given."""
    batch, hidden = _gates("gates", gates, 3)
    state = (batch, hidden)
    dgates = np.zeros(gates.shape, np.float32)
    dh_prev, pdh = output("dh_prev", None, state)
    check(lib.gsq_gru_rb_output_backward(
        batch, hidden, pointer("gates", gates), pointer("h_prev", h_prev, shape=state, optional=True),
        pointer("dh", dh, shape=state), pointer("dgates", dgates, writable=True), pdh,
        _vector("dbias", dbias, 3 * hidden, True)))
    return dgates, dh_prev


def gru_rb_gates_backward(gates, drh, dgates, dh_prev, h_prev=None, *, dbias=None):
    """Backward of phase 1 from drh = dLoss/d(r * h_prev): writes the r slot
    of dgates and adds r * drh to dh_prev, both in place; adds into dbias's
    r slot when given."""
    batch, hidden = _gates("gates", gates, 3)
    state = (batch, hidden)
    check(lib.gsq_gru_rb_gates_backward(
        batch, hidden, pointer("gates", gates), pointer("h_prev", h_prev, shape=state, optional=True),
        pointer("drh", drh, shape=state), pointer("dgates", dgates, shape=gates.shape, writable=True),
        pointer("dh_prev", dh_prev, shape=state, writable=True),
        _vector("dbias", dbias, 3 * hidden, True)))


def rnn_cell_forward(pre, bias=None, activation="tanh"):
    """A vanilla RNN step: returns h = act(pre + bias), act 'tanh' or 'relu'."""
    batch, hidden = matrix("pre", pre)
    h, ph = output("h", None, pre.shape)
    check(lib.gsq_rnn_cell_forward(batch, hidden, choose("activation", activation, _ACTIVATIONS),
                                   pointer("pre", pre), _vector("bias", bias, hidden), ph))
    return h


def rnn_cell_backward(h, dh, activation="tanh", *, dbias=None):
    """Backward of rnn_cell_forward from its h: returns dpre = dh * act'(.);
    adds into dbias (hidden) when given."""
    batch, hidden = matrix("h", h)
    dpre, pdp = output("dpre", None, h.shape)
    check(lib.gsq_rnn_cell_backward(batch, hidden, choose("activation", activation, _ACTIVATIONS),
                                    pointer("h", h), pointer("dh", dh, shape=h.shape), pdp,
                                    _vector("dbias", dbias, hidden, True)))
    return dpre

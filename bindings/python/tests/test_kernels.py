"""The kernels against NumPy: GEMM, SpMM, the Chebyshev recursion and its
adjoint, and the cell steps (backward by central differences of a float64
NumPy forward)."""
import itertools

import numpy as np
import pytest
from reference import numerical_gradient, randn, ring, sigmoid

import graphseq as gsq


@pytest.mark.parametrize("m,n,k", [(1, 1, 1), (7, 17, 33), (33, 7, 17), (100, 33, 7)])
@pytest.mark.parametrize("trans_a,trans_b", list(itertools.product([False, True], repeat=2)))
def test_sgemm_matches_numpy(rng, m, n, k, trans_a, trans_b):
    a = randn(rng, *((k, m) if trans_a else (m, k)))
    b = randn(rng, *((n, k) if trans_b else (k, n)))
    c0 = randn(rng, m, n)
    op_a, op_b = (a.T if trans_a else a), (b.T if trans_b else b)
    np.testing.assert_allclose(gsq.sgemm(a, b, trans_a=trans_a, trans_b=trans_b),
                               op_a.astype(np.float64) @ op_b, rtol=1e-5, atol=1e-5 * k)
    c = c0.copy()
    result = gsq.sgemm(a, b, c, alpha=0.5, beta=2.0, trans_a=trans_a, trans_b=trans_b)
    assert result is c  # written in place, no copy
    np.testing.assert_allclose(c, 0.5 * (op_a.astype(np.float64) @ op_b) + 2 * c0,
                               rtol=1e-5, atol=1e-5 * k)


def test_sgemm_rejects_what_it_cannot_pass_without_a_copy(rng):
    a, b = randn(rng, 4, 3), randn(rng, 3, 5)
    with pytest.raises(gsq.InvalidArgumentError, match="float32"):
        gsq.sgemm(a.astype(np.float64), b)
    with pytest.raises(gsq.InvalidArgumentError, match="non-contiguous"):
        gsq.sgemm(randn(rng, 3, 4).T, b)
    with pytest.raises(gsq.InvalidArgumentError, match="list"):
        gsq.sgemm(a.tolist(), b)
    with pytest.raises(gsq.InvalidArgumentError, match="op\\(a\\) is 4x3"):
        gsq.sgemm(a, randn(rng, 4, 5))
    with pytest.raises(gsq.InvalidArgumentError, match="shape"):
        gsq.sgemm(a, b, np.zeros((4, 4), np.float32))
    frozen = np.zeros((4, 5), np.float32)
    frozen.flags.writeable = False
    with pytest.raises(gsq.InvalidArgumentError, match="read-only"):
        gsq.sgemm(a, b, frozen)
    with pytest.raises(gsq.InvalidArgumentError, match="beta"):
        gsq.sgemm(a, b, beta=1.0)
    # the explicit conversion is the way through
    np.testing.assert_allclose(gsq.sgemm(gsq.as_float32(a.astype(np.float64)), b), a @ b, rtol=1e-5)


def test_outputs_overlapping_inputs_are_refused(rng):
    buffer = randn(rng, 4, 4)
    with pytest.raises(gsq.InvalidArgumentError, match="overlap"):
        gsq.sgemm(buffer, buffer, buffer)
    with gsq.Graph.from_dense(ring(4)) as a, pytest.raises(gsq.InvalidArgumentError) as error:
        a.spmm(buffer, buffer)  # found by the library
    assert error.value.status == gsq.lib.GSQ_ERR_INVALID_ARGUMENT
    assert "gsq_graph_spmm" in str(error.value)


def csr_of(dense):
    rows, cols = np.nonzero(dense)
    row_ptr = np.concatenate([[0], np.cumsum(np.count_nonzero(dense, axis=1))]).astype(np.int64)
    return row_ptr, cols.astype(np.int32), dense[rows, cols].astype(np.float32)


def sparse(rng, n, m, density=0.2):
    return (randn(rng, n, m) * (rng.random((n, m)) < density)).astype(np.float32)


def test_spmm_csr_matches_dense_product(rng):
    a = sparse(rng, 17, 33)
    x, y0 = randn(rng, 33, 7), randn(rng, 17, 7)
    row_ptr, col_idx, values = csr_of(a)
    np.testing.assert_allclose(gsq.spmm_csr(row_ptr, col_idx, values, x), a @ x, rtol=1e-5, atol=1e-5)
    y = y0.copy()
    gsq.spmm_csr(row_ptr, col_idx, None, x, y, alpha=2.0, beta=-1.0)  # values None: ones
    np.testing.assert_allclose(y, 2 * ((a != 0) @ x) - y0, rtol=1e-5, atol=1e-5)


def test_spmm_csr_rejects_inconsistent_arrays(rng):
    row_ptr, col_idx, values = csr_of(sparse(rng, 5, 6, 0.5))
    x = randn(rng, 6, 2)
    with pytest.raises(gsq.InvalidArgumentError, match="row_ptr ends"):
        gsq.spmm_csr(row_ptr, col_idx[:-1], values[:-1], x)
    bad = col_idx.copy()
    bad[0] = 6
    with pytest.raises(gsq.InvalidGraphError, match="not in"):
        gsq.spmm_csr(row_ptr, bad, values, x)
    with pytest.raises(gsq.InvalidArgumentError, match="int32"):
        gsq.spmm_csr(row_ptr, col_idx.astype(np.int64), values, x)


def chebyshev_polynomials(lhat, K):
    """T_0(L) .. T_{K-1}(L) as dense float64 matrices."""
    terms = [np.eye(len(lhat)), lhat.astype(np.float64)]
    while len(terms) < K:
        terms.append(2 * lhat @ terms[-1] - terms[-2])
    return terms[:K]


@pytest.mark.parametrize("K", [1, 2, 3, 5])
def test_cheb_basis_follows_the_recursion(rng, K):
    n, f = 17, 3
    with gsq.Graph.from_dense(sparse(rng, n, n, 0.3)) as a, a.scaled_laplacian("rw") as lhat:
        x = randn(rng, n, f)
        expected = np.hstack([t @ x for t in chebyshev_polynomials(lhat.to_dense(), K)])
        np.testing.assert_allclose(gsq.cheb_basis(lhat, K, x), expected, rtol=1e-4, atol=1e-4)

        grads = randn(rng, n, K * f)
        dx0 = randn(rng, n, f)
        adjoint = sum(t.T @ grads[:, k * f:(k + 1) * f]
                      for k, t in enumerate(chebyshev_polynomials(lhat.to_dense(), K)))
        dx = dx0.copy()
        gsq.cheb_basis_backward(lhat, K, grads.copy(), dx, beta=0.5)
        np.testing.assert_allclose(dx, adjoint + 0.5 * dx0, rtol=1e-4, atol=1e-4)


def test_cheb_basis_checks_the_operator(rng):
    with gsq.Graph.from_dense(ring(5)) as a:
        with pytest.raises(gsq.InvalidArgumentError, match="lhat is"):
            gsq.cheb_basis(a, 2, randn(rng, 4, 2))
        with pytest.raises(gsq.InvalidArgumentError, match="Graph"):
            gsq.cheb_basis(ring(5), 2, randn(rng, 5, 2))


def lstm_reference(pre, c_prev, bias, peephole, coupled):
    """i, f, g, o activations, c and h of one LSTM step in float64."""
    ai, af, ag, ao = np.split(pre + bias, 4, axis=1)
    wci, wcf, wco = np.split(peephole, 3)
    f = sigmoid(af + wcf * c_prev)
    i = 1 - f if coupled else sigmoid(ai + wci * c_prev)
    g = np.tanh(ag)
    c = f * c_prev + i * g
    o = sigmoid(ao + wco * c)
    return (i, f, g, o), c, o * np.tanh(c)


@pytest.mark.parametrize("coupled", [False, True])
def test_lstm_cell_forward_and_backward(rng, coupled):
    batch, hidden = 3, 5
    pre, c_prev = randn(rng, batch, 4 * hidden), randn(rng, batch, hidden)
    bias, peephole = randn(rng, 4 * hidden), randn(rng, 3 * hidden)
    gates = pre.copy()
    c, h = gsq.lstm_cell_forward(gates, c_prev, bias, peephole, coupled=coupled)
    acts, c_ref, h_ref = lstm_reference(pre, c_prev, bias, peephole, coupled)
    np.testing.assert_allclose(c, c_ref, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(h, h_ref, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(gates[:, hidden:], np.hstack(acts[1:]), rtol=1e-5, atol=1e-6)

    wh, wc = randn(rng, batch, hidden), randn(rng, batch, hidden)
    dpeephole, dbias = np.zeros(3 * hidden, np.float32), np.zeros(4 * hidden, np.float32)
    dgates, dc_prev = gsq.lstm_cell_backward(gates, c, wh, c_prev, wc, peephole, coupled=coupled,
                                             dpeephole=dpeephole, dbias=dbias)

    def loss(pre=pre, c_prev=c_prev, peephole=peephole):
        _, c, h = lstm_reference(pre, c_prev, bias, peephole, coupled)
        return np.sum(wh * h + wc * c)

    expected = numerical_gradient(lambda p: loss(pre=p), pre)
    np.testing.assert_allclose(dgates, expected, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(dc_prev, numerical_gradient(lambda c: loss(c_prev=c), c_prev),
                               rtol=1e-4, atol=1e-5)
    d_peep = numerical_gradient(lambda p: loss(peephole=p), peephole)
    checked = slice(hidden, None) if coupled else slice(None)  # coupled leaves w_ci's unchanged
    np.testing.assert_allclose(dpeephole[checked], d_peep[checked], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(dbias, expected.sum(axis=0), rtol=1e-4, atol=1e-5)


def gru_reference(gx, gh, h_prev, b_ih, b_hh):
    (xr, xz, xn), (hr, hz, hn) = np.split(gx + b_ih, 3, axis=1), np.split(gh + b_hh, 3, axis=1)
    r, z = sigmoid(xr + hr), sigmoid(xz + hz)
    n = np.tanh(xn + r * hn)
    return (1 - z) * n + z * h_prev, z


def test_gru_cell_forward_and_backward(rng):
    batch, hidden = 4, 3
    gx, gh, h_prev = randn(rng, batch, 3 * hidden), randn(rng, batch, 3 * hidden), randn(rng, batch, hidden)
    b_ih, b_hh = randn(rng, 3 * hidden), randn(rng, 3 * hidden)
    gx_work, gh_work = gx.copy(), gh.copy()
    h = gsq.gru_cell_forward(gx_work, gh_work, h_prev, b_ih, b_hh)
    h_ref, z = gru_reference(gx, gh, h_prev, b_ih, b_hh)
    np.testing.assert_allclose(h, h_ref, rtol=1e-5, atol=1e-6)

    wh = randn(rng, batch, hidden)
    db_ih, db_hh = np.zeros(3 * hidden, np.float32), np.zeros(3 * hidden, np.float32)
    dgx, dgh, dh_prev = gsq.gru_cell_backward(gx_work, gh_work, wh, h_prev, db_ih=db_ih, db_hh=db_hh)
    loss = lambda gx_, gh_: np.sum(wh * gru_reference(gx_, gh_, h_prev, b_ih, b_hh)[0])
    np.testing.assert_allclose(dgx, numerical_gradient(lambda v: loss(v, gh), gx), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(dgh, numerical_gradient(lambda v: loss(gx, v), gh), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(dh_prev, z * wh, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(db_ih, dgx.sum(axis=0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(db_hh, dgh.sum(axis=0), rtol=1e-5, atol=1e-6)


def test_gru_reset_before_product_phases(rng):
    batch, hidden = 3, 4
    pre, h_prev, bias = randn(rng, batch, 3 * hidden), randn(rng, batch, hidden), randn(rng, 3 * hidden)
    wh, drh = randn(rng, batch, hidden), randn(rng, batch, hidden)

    def forward(pre, h_prev):
        r, z, n = np.split(pre + bias, 3, axis=1)
        r, z, n = sigmoid(r), sigmoid(z), np.tanh(n)
        return r * h_prev, (1 - z) * n + z * h_prev

    gates = pre.copy()
    rh = gsq.gru_rb_gates_forward(gates, h_prev, bias)
    h = gsq.gru_rb_output_forward(gates, h_prev, bias)
    rh_ref, h_ref = forward(pre, h_prev)
    np.testing.assert_allclose(rh, rh_ref, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(h, h_ref, rtol=1e-5, atol=1e-6)

    # Backward with the candidate's pre-activation taken as given: the loss
    # sum(wh * h) + sum(drh * rh) has every gradient the two phases produce.
    dgates, dh_prev = gsq.gru_rb_output_backward(gates, wh, h_prev)
    gsq.gru_rb_gates_backward(gates, drh, dgates, dh_prev, h_prev)
    loss = lambda p, hp: sum(np.sum(w * v) for w, v in zip((drh, wh), forward(p, hp)))
    np.testing.assert_allclose(dgates, numerical_gradient(lambda p: loss(p, h_prev), pre),
                               rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(dh_prev, numerical_gradient(lambda hp: loss(pre, hp), h_prev),
                               rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_rnn_cell(rng, activation):
    pre, bias, dh = randn(rng, 5, 6), randn(rng, 6), randn(rng, 5, 6)
    act = np.tanh if activation == "tanh" else (lambda v: np.maximum(v, 0))
    h = gsq.rnn_cell_forward(pre, bias, activation)
    np.testing.assert_allclose(h, act(pre + bias), rtol=1e-5, atol=1e-6)
    dbias = np.zeros(6, np.float32)
    dpre = gsq.rnn_cell_backward(h, dh, activation, dbias=dbias)
    slope = 1 - h.astype(np.float64) ** 2 if activation == "tanh" else (h > 0)
    np.testing.assert_allclose(dpre, dh * slope, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(dbias, dpre.sum(axis=0), rtol=1e-5, atol=1e-6)
    with pytest.raises(gsq.InvalidArgumentError, match="activation"):
        gsq.rnn_cell_forward(pre, bias, "sigmoid")


def test_cells_check_shapes(rng):
    with pytest.raises(gsq.InvalidArgumentError, match="multiple of 4"):
        gsq.lstm_cell_forward(randn(rng, 2, 7))
    with pytest.raises(gsq.InvalidArgumentError, match="c_prev has shape"):
        gsq.lstm_cell_forward(randn(rng, 2, 8), randn(rng, 2, 3))
    with pytest.raises(gsq.InvalidArgumentError, match="b_ih has shape"):
        gsq.gru_cell_forward(randn(rng, 2, 6), randn(rng, 2, 6), None, randn(rng, 5))


def test_settings():
    threads = gsq.get_num_threads()
    gsq.set_num_threads(1)
    assert gsq.get_num_threads() == 1
    gsq.set_num_threads(0)
    assert gsq.get_num_threads() == threads
    gsq.set_max_isa("generic")
    assert gsq.isa() == "generic" and gsq.max_isa() == "generic"
    gsq.set_max_isa("avx512")
    assert gsq.isa() == gsq.cpu_isa()
    with pytest.raises(gsq.InvalidArgumentError):
        gsq.set_num_threads(-1)

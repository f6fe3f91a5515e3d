"""Graph: construction, the normalisations against their NumPy formulas,
SpMM, validation and the handle's life cycle."""
import numpy as np
import pytest
from reference import randn, ring

import graphseq as gsq


def weighted_symmetric(rng, n, density=0.3):
    upper = np.triu(rng.random((n, n)) * (rng.random((n, n)) < density), 1)
    return (upper + upper.T).astype(np.float32)


def test_from_coo_sums_duplicates_and_round_trips():
    rows = np.array([0, 2, 0, 1], np.int32)
    cols = np.array([1, 0, 1, 2], np.int32)
    values = np.array([1, 2, 3, 4], np.float32)
    with gsq.Graph.from_coo(rows, cols, values, shape=(3, 4)) as g:
        assert g.shape == (3, 4) and g.nnz == 3
        expected = np.zeros((3, 4), np.float32)
        expected[0, 1], expected[2, 0], expected[1, 2] = 4, 2, 4
        np.testing.assert_array_equal(g.to_dense(), expected)
        row_ptr, col_idx, vals = g.csr()
        np.testing.assert_array_equal(row_ptr, [0, 1, 2, 3])
        with gsq.Graph.from_csr(row_ptr, col_idx, vals, ncols=4) as same:
            np.testing.assert_array_equal(same.to_dense(), expected)


def test_normalisations_match_their_formulas(rng):
    a = weighted_symmetric(rng, 12)
    a[3, 3] = 0.5  # a self loop: kept by gcn_norm, ignored by the Laplacian
    eye = np.eye(12)
    with gsq.Graph.from_dense(a) as g:
        assert g.is_symmetric()
        loops = a + np.diag(np.where(np.diag(a) == 0, 1, 0))
        d = loops.sum(axis=1) ** -0.5
        with g.gcn_norm() as norm:
            np.testing.assert_allclose(norm.to_dense(), d[:, None] * loops * d, rtol=1e-5, atol=1e-6)

        off = a - np.diag(np.diag(a))
        degree = off.sum(axis=1)
        laplacians = {"none": np.diag(degree) - off,
                      "sym": eye - off / np.sqrt(np.outer(degree, degree)),
                      "rw": eye - off / degree[:, None]}
        for name, expected in laplacians.items():
            with g.laplacian(name) as lap:
                np.testing.assert_allclose(lap.to_dense(), expected, rtol=1e-5, atol=1e-6)

        with g.laplacian("sym") as lap:
            lam = np.linalg.eigvalsh(laplacians["sym"]).max()
            assert lap.lambda_max() == pytest.approx(lam, rel=1e-4)
        with g.scaled_laplacian("sym") as estimated, g.scaled_laplacian("sym", 2.0) as given:
            np.testing.assert_allclose(estimated.to_dense(), 2 * laplacians["sym"] / lam - eye,
                                       rtol=1e-4, atol=1e-5)
            np.testing.assert_allclose(given.to_dense(), laplacians["sym"] - eye, rtol=1e-5, atol=1e-6)


def test_transpose_and_spmm(rng):
    a = (randn(rng, 9, 6) * (rng.random((9, 6)) < 0.4)).astype(np.float32)
    with gsq.Graph.from_dense(a) as g, g.transpose() as t:
        assert not g.is_symmetric()
        np.testing.assert_array_equal(t.to_dense(), a.T)
        x, y0 = randn(rng, 6, 4), randn(rng, 9, 4)
        np.testing.assert_allclose(g.spmm(x), a @ x, rtol=1e-5, atol=1e-6)
        y = y0.copy()
        g.spmm(x, y, alpha=2.0, beta=0.5)
        np.testing.assert_allclose(y, 2 * a @ x + 0.5 * y0, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(g.spmm(y0, transpose=True), a.T @ y0, rtol=1e-5, atol=1e-6)
        with pytest.raises(gsq.InvalidArgumentError, match="x has 9 rows"):
            g.spmm(y0)


def test_bad_graphs_are_reported():
    with pytest.raises(gsq.InvalidGraphError, match="decreases"):
        gsq.Graph.from_csr(np.array([0, 2, 1, 2], np.int64), np.array([0, 1], np.int32))
    with pytest.raises(gsq.InvalidGraphError):
        gsq.Graph.from_coo(np.array([0], np.int32), np.array([5], np.int32), shape=(3, 3))
    with pytest.raises(gsq.InvalidArgumentError, match="int32"):
        gsq.Graph.from_coo(np.array([0]), np.array([1]), shape=(3, 3))  # int64 indices
    with gsq.Graph.from_dense(ring(3)) as g, pytest.raises(gsq.InvalidArgumentError, match="lambda_max"):
        g.scaled_laplacian("sym", float("nan"))
    with pytest.raises(gsq.InvalidArgumentError, match="normalization"):
        gsq.Graph.from_dense(ring(3)).laplacian("symmetric")


def test_a_closed_graph_refuses_use():
    g = gsq.Graph.from_dense(ring(4))
    g.close()
    g.close()  # a second close does nothing
    assert g.closed and "closed" in repr(g)
    with pytest.raises(gsq.ClosedError):
        g.spmm(np.ones((4, 1), np.float32))
    with pytest.raises(gsq.ClosedError):
        gsq.cheb_basis(g, 2, np.ones((4, 1), np.float32))
    with gsq.Graph.from_dense(ring(4)) as h:
        pass
    assert h.closed

"""The losses and their gradients against NumPy formulas."""
import numpy as np
import pytest
from reference import randn, sigmoid

import graphseq as gsq


def test_mse(rng):
    pred, target = randn(rng, 4, 5), randn(rng, 4, 5)
    loss, grad = gsq.losses.mse(pred, target)
    assert loss == pytest.approx(np.mean((pred - target.astype(np.float64)) ** 2), rel=1e-6)
    np.testing.assert_allclose(grad, 2 * (pred - target) / pred.size, rtol=1e-5)
    assert gsq.losses.mse(pred, target, grad=False)[1] is None


def test_mae_counts_only_the_masked_entries(rng):
    pred, target = randn(rng, 10), randn(rng, 10)
    mask = (rng.random(10) < 0.6).astype(np.float32)
    target[mask == 0] = np.nan  # missing readings are allowed where masked out
    loss, grad = gsq.losses.mae(pred, target, mask)
    kept = mask == 1
    assert loss == pytest.approx(np.abs(pred[kept] - target[kept]).mean(), rel=1e-6)
    np.testing.assert_allclose(grad, np.where(kept, np.sign(pred - np.nan_to_num(target)), 0) / kept.sum(),
                               rtol=1e-6)


def test_softmax_cross_entropy_with_a_boolean_mask(rng):
    logits = randn(rng, 6, 4)
    labels = rng.integers(0, 4, 6).astype(np.int32)
    mask = np.array([1, 0, 1, 1, 0, 1], bool)
    labels[~mask] = -1  # masked-out labels may hold anything
    loss, grad = gsq.losses.softmax_cross_entropy(logits, labels, mask)
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    rows = np.flatnonzero(mask)
    assert loss == pytest.approx(-np.log(p[rows, labels[rows]]).mean(), rel=1e-5)
    expected = p.copy()
    expected[rows, labels[rows]] -= 1
    expected[~mask] = 0
    np.testing.assert_allclose(grad, expected / mask.sum(), rtol=1e-5, atol=1e-7)


def test_bce_with_logits(rng):
    logits, targets = randn(rng, 8) * 5, rng.random(8).astype(np.float32)
    loss, grad = gsq.losses.bce_with_logits(logits, targets)
    x = logits.astype(np.float64)
    expected = np.mean(np.maximum(x, 0) - x * targets + np.log1p(np.exp(-np.abs(x))))
    assert loss == pytest.approx(expected, rel=1e-5)
    np.testing.assert_allclose(grad, (sigmoid(x) - targets) / 8, rtol=1e-5, atol=1e-7)


def test_bad_input(rng):
    with pytest.raises(gsq.InvalidArgumentError, match="target has shape"):
        gsq.losses.mse(randn(rng, 3), randn(rng, 4))
    with pytest.raises(gsq.InvalidArgumentError, match="int32"):
        gsq.losses.softmax_cross_entropy(randn(rng, 2, 3), np.array([0, 1]))
    with pytest.raises(gsq.InvalidArgumentError, match="label 3"):  # found by the library
        gsq.losses.softmax_cross_entropy(randn(rng, 2, 3), np.array([0, 3], np.int32))

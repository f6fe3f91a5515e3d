"""Independent NumPy references and helpers for the tests."""
import numpy as np


def randn(rng, *shape):
    return rng.standard_normal(shape).astype(np.float32)


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def numerical_gradient(f, x, eps=1e-6):
    """Central differences of the scalar float64 function f at x (float64)."""
    x = x.astype(np.float64)
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        saved = x[i]
        x[i] = saved + eps
        up = f(x)
        x[i] = saved - eps
        down = f(x)
        x[i] = saved
        grad[i] = (up - down) / (2 * eps)
    return grad


def ring(n):
    """The adjacency of a ring of n nodes, dense float32."""
    a = np.zeros((n, n), np.float32)
    for i in range(n):
        a[i, (i + 1) % n] = a[(i + 1) % n, i] = 1
    return a

#!/usr/bin/env python3
"""Times the PyTorch / SciPy peers on the shapes of `graphseq bench kernels`.

Optional: needs torch (and scipy for the SciPy SpMM); never a dependency of
GraphSeq or its tests. Prints one JSON object per line, names prefixed with the
peer, e.g. {"name": "torch.mm_sgemm_2048x2048x2048", "median_ms": ...}. Run it
right after `scripts/bench --threads 1` so both see the same machine state:

    python3 scripts/peers.py --threads 1
"""
import argparse
import json
import statistics
import time
import warnings

import numpy as np
import torch


def median_ms(fn, reps):
    fn()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def emit(name, ms, **extra):
    print(json.dumps({"name": name, "threads": torch.get_num_threads(), "median_ms": ms, **extra}),
          flush=True)


def random_csr(n, deg, seed):
    """Uniform random columns, `deg` distinct per row, weights in [0, 1)."""
    rng = np.random.default_rng(seed)
    cols = np.sort(np.stack([rng.choice(n, deg, replace=False) for _ in range(n)]), axis=1)
    row_ptr = np.arange(0, n * deg + 1, deg, dtype=np.int64)
    vals = rng.random(n * deg, dtype=np.float32)
    return row_ptr, cols.reshape(-1).astype(np.int64), vals


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--reps", type=int, default=9)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    warnings.filterwarnings("ignore", category=UserWarning)  # sparse CSR 'beta' notices
    g = torch.Generator().manual_seed(0)

    for m, n, k in [(2048, 2048, 2048), (13248, 198, 256), (13248, 192, 256), (2048, 512, 1024)]:
        a, b = torch.rand(m, k, generator=g), torch.rand(k, n, generator=g)
        ms = median_ms(lambda: torch.mm(a, b), args.reps)
        emit(f"torch.mm_sgemm_{m}x{n}x{k}", ms, gflops=2 * m * n * k / (ms * 1e6))

    n, deg, f = 100_000, 16, 64
    row_ptr, cols, vals = random_csr(n, deg, seed=1)
    x = torch.rand(n, f, generator=g)
    a = torch.sparse_csr_tensor(torch.from_numpy(row_ptr), torch.from_numpy(cols),
                                torch.from_numpy(vals), size=(n, n))
    emit(f"torch.sparse.mm_spmm_csr_N{n}_deg{deg}_F{f}",
         median_ms(lambda: torch.sparse.mm(a, x), args.reps))
    try:
        import scipy.sparse as sp
        a_sp = sp.csr_matrix((vals, cols, row_ptr), shape=(n, n))
        x_np = x.numpy()
        emit(f"scipy_spmm_csr_N{n}_deg{deg}_F{f}", median_ms(lambda: a_sp @ x_np, args.reps))
    except ImportError:
        pass


if __name__ == "__main__":
    main()

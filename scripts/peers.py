#!/usr/bin/env python3
"""Times the PyTorch / PyG / PyG-Temporal / SciPy peers on GraphSeq's benchmark shapes.

Optional tool: needs torch (and scipy; torch_geometric and torch_geometric_temporal
for the `layers` family). It is never a dependency of GraphSeq or its tests.
Prints one JSON object per line, the record format of `graphseq bench`
({"name", "threads", "median_ms", ...}; see BenchmarkRecord.jsonLine).
Run it right after the matching `graphseq bench` so both see the same machine state:

    python3 scripts/peers.py [kernels] --threads 1      # GEMM / SpMM peers, names prefixed
                                                        # with the peer, e.g. torch.mm_sgemm_...
    python3 scripts/peers.py layers --threads 1         # layer peers, full shapes (slow: ~30 min)
    python3 scripts/peers.py layers --quick             # tiny shapes, smoke test (seconds)
    python3 scripts/peers.py layers --only 'gconv.*N207' --reps 5

Options: --threads N (torch.set_num_threads), --reps R (median of R timed runs after
one untimed warm-up; runs whose warm-up takes > 2 s use at most 3 reps), --quick,
--only REGEX (run only records whose name matches).

`layers` records carry GraphSeq's own names (lstm_fwd_T64_B32_I256_H256,
chebconv_fwdbwd_N100000_F64_K3, gconvlstm_fwd_N207_B64_T12_F2_H64_K3, ...) so they
join with `graphseq bench layers` by name, plus a "peer" field naming the peer, e.g.
{"name": "gru_fwd_T64_B32_I256_H256", "threads": 1, "median_ms": 31.8,
 "peer": "torch.nn.GRU"}.
Conventions, matching GraphSeq's benchmark:
  * `_fwd_` is forward only, under torch.no_grad() (inference, as GraphSeq's forward
    without a later backward); `_fwdbwd_` is forward with autograd + backward of
    out.sum() (GCRN: of the sum of all T step outputs), the inputs requiring grad so
    the input gradient is computed as GraphSeq's backward does; parameter grads are
    reset (set to None) inside each timed run.
  * Sequence layers are time-major (batch_first=False), zero initial states.
  * ChebConv/GCNConv: 64->64 on N=100k, 16 uniform random columns per row, weights in
    [0, 1) (the graph of the kernels family); ChebConv normalization="sym", lambda_max=2
    passed explicitly; GCNConv with PyG defaults (cached=False, i.e. it renormalises
    per call, the normal usage; GraphSeq caches the operator per graph).
  * GCRN (GConvLSTM/GConvGRU, PyG-Temporal): random geometric graph, see
    geometric_graph(). PyG-Temporal cells have no batch dimension; batch B runs as a
    block-diagonal graph of B copies, X_t [B*N, F] — the standard PyG(-Temporal)
    batching and the faster choice (measured, GConvLSTM forward N=207 B=8 T=2 H=16,
    1 thread: B-loop 283 ms, block-diagonal 103 ms; the loop makes 8*B ChebConv calls
    per step instead of 8, so the gap grows with B).
    Per step one cell call carrying (H, C); default lambda_max (users pass none).
  * gconvlstm_train_peakmem_*: peak memory of ONE GConvLSTM training step (forward over
    T steps + backward of the sum of outputs) measured in a fresh subprocess: after the
    model, graph and inputs are built, the kernel's RSS high-water mark is reset
    (writing "5" to /proc/self/clear_refs), the step runs, and
    peak_bytes = VmHWM(after) - VmRSS(before) (fallback without clear_refs:
    ru_maxrss delta). Large blocks are mmap'ed (MALLOC_MMAP_THRESHOLD_=65536) so freed
    memory leaves RSS. The record adds "peak_bytes" (int, bytes) and "peak_method";
    median_ms is the time of that (first, cold) step.
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time
import warnings

import numpy as np
import torch

from pygt import import_pygt

PEAK_MARK = "__PEAKMEM__"


def median_ms(fn, reps):
    t0 = time.perf_counter()
    fn()  # warm-up
    warm = time.perf_counter() - t0
    if warm > 2.0:
        reps = min(reps, 3)
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


def geometric_graph(n, k=8, seed=0):
    """Random geometric graph of the GCRN paper: points uniform in the unit square,
    k nearest neighbours, Gaussian weights exp(-d^2/sigma^2) with sigma = mean kNN
    distance, symmetrised by max. Returns (edge_index int64 [2, E], edge_weight f32 [E]),
    both directions present, no self-loops."""
    import scipy.sparse as sp
    from scipy.spatial import cKDTree
    rng = np.random.default_rng(seed)
    pts = rng.random((n, 2))
    d, idx = cKDTree(pts).query(pts, k=k + 1)
    d, idx = d[:, 1:], idx[:, 1:]  # drop self
    sigma = d.mean()
    w = np.exp(-(d ** 2) / sigma ** 2)
    a = sp.csr_matrix((w.ravel(), (np.repeat(np.arange(n), k), idx.ravel())), shape=(n, n))
    a = a.maximum(a.T).tocoo()
    ei = np.stack([a.row, a.col]).astype(np.int64)
    return torch.from_numpy(ei), torch.from_numpy(a.data.astype(np.float32))


def block_diagonal(edge_index, edge_weight, n, b):
    """B disjoint copies of a graph: node (copy c, node i) is c*n + i."""
    off = (torch.arange(b, dtype=torch.int64) * n).repeat_interleave(edge_index.size(1))
    return edge_index.repeat(1, b) + off, edge_weight.repeat(b)


# ---------------------------------------------------------------- kernels family

def kernels(args):
    warnings.filterwarnings("ignore", category=UserWarning)  # sparse CSR 'beta' notices
    only = re.compile(args.only) if args.only else None
    g = torch.Generator().manual_seed(0)

    for m, n, k in [(2048, 2048, 2048), (13248, 198, 256), (13248, 192, 256), (2048, 512, 1024)]:
        name = f"torch.mm_sgemm_{m}x{n}x{k}"
        if only and not only.search(name):
            continue
        a, b = torch.rand(m, k, generator=g), torch.rand(k, n, generator=g)
        ms = median_ms(lambda: torch.mm(a, b), args.reps)
        emit(name, ms, gflops=2 * m * n * k / (ms * 1e6))

    n, deg, f = 100_000, 16, 64
    shape = f"spmm_csr_N{n}_deg{deg}_F{f}"
    if only and not only.search("torch.sparse.mm_" + shape):
        return
    row_ptr, cols, vals = random_csr(n, deg, seed=1)
    x = torch.rand(n, f, generator=g)
    a = torch.sparse_csr_tensor(torch.from_numpy(row_ptr), torch.from_numpy(cols),
                                torch.from_numpy(vals), size=(n, n))
    emit("torch.sparse.mm_" + shape, median_ms(lambda: torch.sparse.mm(a, x), args.reps))
    try:
        import scipy.sparse as sp
        a_sp = sp.csr_matrix((vals, cols, row_ptr), shape=(n, n))
        x_np = x.numpy()
        emit("scipy_" + shape, median_ms(lambda: a_sp @ x_np, args.reps))
    except ImportError:
        pass


# ---------------------------------------------------------------- layers family

def fwd_fwdbwd(fwd, params_module, inputs):
    """Returns (forward-only fn, forward+backward fn) for a forward returning one tensor."""
    def f():
        with torch.no_grad():
            fwd()

    def fb():
        params_module.zero_grad(set_to_none=True)
        for t in inputs:
            t.grad = None
        fwd().sum().backward()
    return f, fb


def layer_cases(quick):
    """Yields (name, peer, thunk) where thunk() builds and returns the timed function
    (built lazily so --only skips the setup of unselected cases)."""
    from torch_geometric.nn import ChebConv, GCNConv
    g = torch.Generator().manual_seed(0)

    # Sequence layers.
    t, b, i, h = (4, 2, 8, 8) if quick else (64, 32, 256, 256)
    for cell, cls in [("lstm", torch.nn.LSTM), ("gru", torch.nn.GRU)]:
        def build(cls=cls):
            torch.manual_seed(0)
            m = cls(i, h)  # time-major, 1 layer, zero initial state
            x = torch.rand(t, b, i, generator=g, requires_grad=True)
            return fwd_fwdbwd(lambda: m(x)[0], m, [x])
        shape = f"T{t}_B{b}_I{i}_H{h}"
        yield f"{cell}_fwd_{shape}", f"torch.nn.{cls.__name__}", lambda build=build: build()[0]
        yield f"{cell}_fwdbwd_{shape}", f"torch.nn.{cls.__name__}", lambda build=build: build()[1]

    # Graph convolutions on the uniform random graph of the kernels family.
    n, deg, f, k = (1000, 16, 8, 3) if quick else (100_000, 16, 64, 3)
    cache = {}

    def graph():
        if "g" not in cache:
            row_ptr, cols, vals = random_csr(n, deg, seed=1)
            rows = np.repeat(np.arange(n, dtype=np.int64), deg)
            cache["g"] = (torch.from_numpy(np.stack([rows, cols])), torch.from_numpy(vals))
        return cache["g"]

    def build_cheb():
        ei, ew = graph()
        torch.manual_seed(0)
        m = ChebConv(f, f, K=k, normalization="sym")
        x = torch.rand(n, f, generator=g, requires_grad=True)
        return fwd_fwdbwd(lambda: m(x, ei, ew, lambda_max=2.0), m, [x])

    def build_gcn():
        ei, ew = graph()
        torch.manual_seed(0)
        m = GCNConv(f, f)
        x = torch.rand(n, f, generator=g, requires_grad=True)
        return fwd_fwdbwd(lambda: m(x, ei, ew), m, [x])
    for nm, peer, bld, shape in [("chebconv", "torch_geometric.nn.ChebConv", build_cheb, f"N{n}_F{f}_K{k}"),
                                 ("gcnconv", "torch_geometric.nn.GCNConv", build_gcn, f"N{n}_F{f}")]:
        yield f"{nm}_fwd_{shape}", peer, lambda bld=bld: bld()[0]
        yield f"{nm}_fwdbwd_{shape}", peer, lambda bld=bld: bld()[1]

    # GCRN cells (PyG-Temporal), batch as a block-diagonal graph.
    gcrn_shapes = ([(20, 2, 3, 2, 4, 3), (200, 2, 3, 2, 4, 3)] if quick
                   else [(207, 64, 12, 2, 64, 3), (10_000, 8, 12, 2, 32, 3)])
    for (n, b, t, f, h, k) in gcrn_shapes:
        for cell in ["GConvLSTM", "GConvGRU"]:
            def build(n=n, b=b, t=t, f=f, h=h, k=k, cell=cell):
                m, step_fn, xs = gcrn_setup(cell, n, b, t, f, h, k)
                return fwd_fwdbwd(lambda: torch.stack(step_fn()), m, [xs])
            shape = f"N{n}_B{b}_T{t}_F{f}_H{h}_K{k}"
            peer = f"torch_geometric_temporal.{cell}(block-diagonal batch)"
            yield f"{cell.lower()}_fwd_{shape}", peer, lambda build=build: build()[0]
            yield f"{cell.lower()}_fwdbwd_{shape}", peer, lambda build=build: build()[1]


def gcrn_setup(cell, n, b, t, f, h, k, seed=0):
    """Model, a function running the T steps (returning the list of step outputs) and
    the input X [T, B*N, F] (requires grad)."""
    cls = import_pygt(cell)
    ei, ew = block_diagonal(*geometric_graph(n, seed=seed), n, b)
    torch.manual_seed(seed)
    m = cls(f, h, k, normalization="sym")
    xs = torch.rand(t, b * n, f, generator=torch.Generator().manual_seed(seed), requires_grad=True)
    lstm = cell == "GConvLSTM"

    def steps():
        hs, c, outs = None, None, []
        for s in range(t):
            if lstm:
                hs, c = m(xs[s], ei, ew, H=hs, C=c)
            else:
                hs = m(xs[s], ei, ew, H=hs)
            outs.append(hs)
        return outs
    return m, steps, xs


def layers(args):
    only = re.compile(args.only) if args.only else None
    for name, peer, thunk in layer_cases(args.quick):
        if only and not only.search(name):
            continue
        fn = thunk()
        emit(name, median_ms(fn, args.reps), peer=peer)

    n, b, t, f, h, k = (20, 2, 3, 2, 4, 3) if args.quick else (207, 64, 12, 2, 64, 3)
    name = f"gconvlstm_train_peakmem_N{n}_B{b}_T{t}_F{f}_H{h}_K{k}"
    if only and not only.search(name):
        return
    env = dict(os.environ, MALLOC_MMAP_THRESHOLD_="65536")
    cmd = [sys.executable, os.path.abspath(__file__), "_peakmem", "--threads", str(args.threads),
           "--shape", ",".join(map(str, (n, b, t, f, h, k)))]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True)
    lines = [l for l in out.stdout.splitlines() if l.startswith(PEAK_MARK)]
    if out.returncode != 0 or not lines:
        sys.stderr.write(out.stderr)
        raise SystemExit(f"peak-memory subprocess failed ({out.returncode})")
    r = json.loads(lines[-1][len(PEAK_MARK):])
    emit(name, r["ms"], peer="torch_geometric_temporal.GConvLSTM(block-diagonal batch)",
         peak_bytes=r["peak_bytes"], peak_method=r["method"])


def rss_kib(field):
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise KeyError(field)


def peakmem(args):
    """Child process: one GConvLSTM training step, prints PEAK_MARK + JSON."""
    import gc
    import resource
    n, b, t, f, h, k = map(int, args.shape.split(","))
    m, steps, xs = gcrn_setup("GConvLSTM", n, b, t, f, h, k)
    gc.collect()
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")  # reset VmHWM to the current RSS
        method = "VmHWM_after_clear_refs_minus_VmRSS_before"
        before = rss_kib("VmRSS")
    except OSError:
        method = "ru_maxrss_delta"
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    torch.stack(steps()).sum().backward()
    ms = (time.perf_counter() - t0) * 1e3
    after = rss_kib("VmHWM") if method.startswith("VmHWM") else \
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(PEAK_MARK + json.dumps({"ms": ms, "peak_bytes": (after - before) * 1024, "method": method}),
          flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("family", nargs="?", default="kernels", choices=["kernels", "layers", "_peakmem"])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--reps", type=int, default=9)
    ap.add_argument("--quick", action="store_true", help="tiny shapes (smoke test)")
    ap.add_argument("--only", help="regex: run only records whose name matches")
    ap.add_argument("--shape", help=argparse.SUPPRESS)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    if args.family == "kernels":
        kernels(args)
    elif args.family == "layers":
        warnings.filterwarnings("ignore")
        layers(args)
    else:
        warnings.filterwarnings("ignore")
        peakmem(args)


if __name__ == "__main__":
    main()

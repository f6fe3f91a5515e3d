"""How long the GEMMs of one GConvGRU or GConvLSTM training step, at the
shapes of `graphseq bench layers` (N=207 B=64 H=64, or N=10000 B=8 H=32;
T=12 F=2 K=3), take on their own, in GraphSeq and in MKL (torch.mm), alternated in
one process on one thread: a floor under the layer's training step, since no
implementation of the layer does fewer of these products.

Each product runs on contiguous operands, one copy per step as in the layer
(12 copies, so they come from memory, not cache): the forward gate products
[basis] (N*B rows, K*F + K*H columns) by the stacked weights (GConvGRU:
2H columns for z and r, then H for the candidate; GConvLSTM: 4H) for the 11
steps that have a hidden state; the basis gradients dG W^T for the 12
steps; the weight gradients basis^T dG over all steps at once.
The sum of the better of the two per product is compared with the budget a
speed-up goal leaves, given the peer layer's time:

    swift build -c release --product GraphSeqC
    <python with torch> scripts/gcrn-product-floor.py --cell gconvgru --nodes 207 --peer-ms 5306 --goal 15
"""
import argparse
import ctypes
import statistics
import time
from pathlib import Path

import numpy as np
import torch

STEPS, F, K = 12, 2, 3
SHAPES = {207: (64, 64), 10000: (8, 32)}  # N: (B, H)


def load_graphseq():
    lib = ctypes.CDLL(str(Path(__file__).resolve().parent.parent / ".build/release/libGraphSeqC.so"))
    i64, f32, ptr = ctypes.c_int64, ctypes.c_float, ctypes.c_void_p
    lib.gsq_sgemm.argtypes = [ctypes.c_int, ctypes.c_int, i64, i64, i64, f32, ptr, i64, ptr, i64, f32,
                              ptr, i64]
    lib.gsq_sgemm.restype = ctypes.c_int
    lib.gsq_last_error.restype = ctypes.c_char_p
    if lib.gsq_set_num_threads(1) != 0:
        raise SystemExit(lib.gsq_last_error().decode())
    return lib


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cell", choices=["gconvgru", "gconvlstm"], default="gconvgru")
    ap.add_argument("--nodes", type=int, choices=sorted(SHAPES), default=207)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--peer-ms", type=float, help="the peer layer's training step, ms")
    ap.add_argument("--goal", type=float, default=15.0, help="the speed-up goal")
    args = ap.parse_args()
    torch.set_num_threads(1)
    lib = load_graphseq()
    rng = np.random.default_rng(0)
    batch, hidden = SHAPES[args.nodes]
    rows, kb, wg_rows = args.nodes * batch, K * F + K * hidden, args.nodes * batch * (STEPS - 1)
    widths = (2 * hidden, hidden) if args.cell == "gconvgru" else (4 * hidden,)  # gate columns

    def rand(*shape):
        return rng.random(shape, dtype=np.float32)

    basis = [rand(rows, kb) for _ in range(STEPS)]
    dg = {n: [rand(rows, n) for _ in range(STEPS)] for n in widths}
    w = {n: rand(kb, n) for n in widths}
    wg_basis, wg_grad = rand(wg_rows, kb), {n: rand(wg_rows, n) for n in widths}
    out = np.empty(rows * max(kb, *widths), np.float32)  # both sides write into one output
    tb, tw, tout = [torch.from_numpy(x) for x in basis], {n: torch.from_numpy(x) for n, x in w.items()}, \
        torch.from_numpy(out)
    tdg = {n: [torch.from_numpy(x) for x in v] for n, v in dg.items()}
    twb, twg = torch.from_numpy(wg_basis), {n: torch.from_numpy(x) for n, x in wg_grad.items()}

    def ours(trans_a, trans_b, m, n, k, a, b):
        p = lambda x: x.ctypes.data
        s = lib.gsq_sgemm(trans_a, trans_b, m, n, k, 1.0, p(a), a.shape[1], p(b), b.shape[1], 0.0, p(out), n)
        if s != 0:
            raise SystemExit(lib.gsq_last_error().decode())

    # name, calls, flops per call, GraphSeq's call, torch's call (t = step index)
    products = []
    for n in widths:
        products.append((f"forward {rows}x{n}x{kb}", range(1, STEPS), 2.0 * rows * n * kb,
                         lambda t, n=n: ours(0, 0, rows, n, kb, basis[t], w[n]),
                         lambda t, n=n: torch.mm(tb[t], tw[n], out=tout[:rows * n].view(rows, n))))
    for n in widths:
        products.append((f"basis gradient {rows}x{kb}x{n}", range(STEPS), 2.0 * rows * kb * n,
                         lambda t, n=n: ours(0, 1, rows, kb, n, dg[n][t], w[n]),
                         lambda t, n=n: torch.mm(tdg[n][t], tw[n].t(), out=tout[:rows * kb].view(rows, kb))))
    for n in widths:
        products.append((f"weight gradient {n}x{kb}x{wg_rows}", range(1), 2.0 * n * kb * wg_rows,
                         lambda t, n=n: ours(1, 0, n, kb, wg_rows, wg_grad[n], wg_basis),
                         lambda t, n=n: torch.mm(twg[n].t(), twb, out=tout[:n * kb].view(n, kb))))

    for name, steps, _, *calls in products:  # both sides compute the same product
        results = []
        for call in calls:
            call(steps[0])
            results.append(out.copy())
        if not np.allclose(*results, rtol=1e-3, atol=1e-3):
            raise SystemExit(f"{name}: GraphSeq and torch disagree")

    times = {(name, side): [] for name, *_ in products for side in (0, 1)}
    for r in range(args.rounds + 1):  # round 0 warms up
        for name, steps, _, *calls in products:
            for side in ((0, 1) if r % 2 else (1, 0)):
                t0 = time.perf_counter()
                for t in steps:
                    calls[side](t)
                if r:
                    times[(name, side)].append((time.perf_counter() - t0) * 1e3)

    print(f"{args.cell} training step at N={args.nodes}, one thread, medians of {args.rounds} alternated rounds")
    print(f"{'product (calls)':42} {'GraphSeq ms':>12} {'MKL ms':>9} {'best GFLOP/s':>13}")
    floor = 0.0
    for name, steps, flops, *_ in products:
        g, m = (statistics.median(times[(name, s)]) for s in (0, 1))
        floor += min(g, m)
        print(f"{name + f' ({len(steps)})':42} {g:12.1f} {m:9.1f} {flops * len(steps) / min(g, m) / 1e6:13.1f}")
    print(f"sum of the better median per product: {floor:.1f} ms")
    if args.peer_ms:
        budget = args.peer_ms / args.goal
        print(f"budget for the whole step at {args.goal:g}x a {args.peer_ms:.0f} ms peer: {budget:.1f} ms "
              f"({floor / budget:.0%} of it taken by these products alone)")


if __name__ == "__main__":
    main()

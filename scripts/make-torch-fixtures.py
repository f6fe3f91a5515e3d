#!/usr/bin/env python3
"""Writes the PyTorch-compatibility fixtures in Tests/Fixtures/pytorch/.

Optional tool (needs torch, torch_geometric, torch_geometric_temporal, safetensors);
the fixtures it writes are committed, so GraphSeq's tests never need torch:

    python3 scripts/make-torch-fixtures.py            # (re)writes Tests/Fixtures/pytorch/*.safetensors
    python3 scripts/make-torch-fixtures.py --print-keys   # also prints every state_dict key/shape

For each model <name>:
  <name>.state.safetensors  safetensors.torch.save_file(model.state_dict(), path), exactly
                            as a PyTorch user saves a checkpoint for GraphSeq;
  <name>.io.safetensors     float32 inputs and expected outputs; __metadata__ holds the
                            config (sizes, K, normalization, lambda_max, layout notes) as
                            strings, plus "config" = the same as one JSON string.
Everything is seeded and deterministic (float32, 1 thread). See the README written
next to the fixtures for the key names.
"""
import argparse
import json
import os
import warnings

import numpy as np
import torch
from safetensors.torch import save_file

from pygt import import_pygt

warnings.filterwarnings("ignore")
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Fixtures", "pytorch")
T, B, LENGTHS = 5, 3, [5, 2, 4]
N, GT = 6, 3


def fill_zero_params(model, gen):
    """PyG/PyG-Temporal initialise biases (and b_*) to zero, which would make the
    fixtures blind to a wrong bias mapping: give every all-zero parameter random values."""
    with torch.no_grad():
        for p in model.parameters():
            if torch.count_nonzero(p) == 0:
                p.copy_(torch.rand(p.shape, generator=gen) - 0.5)


def canonicalize(path):
    """safetensors writes __metadata__ from a Rust HashMap, in random order; rewrite the
    JSON header with sorted keys (same tensors, offsets are relative to the data) so
    regenerating the fixtures gives identical bytes."""
    import struct
    with open(path, "rb") as fh:
        raw = fh.read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    text = json.dumps(header, sort_keys=True, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)  # keep the data 8-byte aligned, as safetensors does
    with open(path, "wb") as fh:
        fh.write(struct.pack("<Q", len(text)) + text + raw[8 + n:])


def write(name, model, tensors, meta, print_keys):
    sd = model.state_dict()
    save_file(sd, os.path.join(ROOT, f"{name}.state.safetensors"))
    tensors = {k: v.detach().to(torch.float32).contiguous() for k, v in tensors.items()}
    meta = {k: (v if isinstance(v, str) else json.dumps(v)) for k, v in meta.items()}
    meta["config"] = json.dumps({k: v for k, v in meta.items()})
    meta["state_keys"] = json.dumps({k: list(v.shape) for k, v in sd.items()})
    save_file(tensors, os.path.join(ROOT, f"{name}.io.safetensors"), metadata=meta)
    canonicalize(os.path.join(ROOT, f"{name}.io.safetensors"))
    if print_keys:
        print(f"== {name}: {type(model).__module__}.{type(model).__name__}")
        for k, v in sd.items():
            print(f"  {k:28s} {list(v.shape)}")
        print("  io:", ", ".join(f"{k} {list(v.shape)}" for k, v in tensors.items()))


def sequence_fixture(name, model, input_size, print_keys, note):
    gen = torch.Generator().manual_seed(1)
    model.eval()
    d = 2 if model.bidirectional else 1
    out_size = model.proj_size if getattr(model, "proj_size", 0) > 0 else model.hidden_size
    lstm = isinstance(model, torch.nn.LSTM)
    x = torch.rand(T, B, input_size, generator=gen) * 2 - 1
    h0 = torch.rand(model.num_layers * d, B, out_size, generator=gen) * 2 - 1
    c0 = torch.rand(model.num_layers * d, B, model.hidden_size, generator=gen) * 2 - 1
    state = (h0, c0) if lstm else h0
    with torch.no_grad():
        out, st = model(x, state)
        packed = torch.nn.utils.rnn.pack_padded_sequence(
            x, torch.tensor(LENGTHS), enforce_sorted=False)
        pout, pst = model(packed, state)
        pout, _ = torch.nn.utils.rnn.pad_packed_sequence(pout, total_length=T)
    tensors = {"x": x, "h0": h0, "output": out, "lengths": torch.tensor(LENGTHS, dtype=torch.float32),
               "packed_output": pout}
    if lstm:
        tensors.update(c0=c0, h_n=st[0], c_n=st[1], packed_h_n=pst[0], packed_c_n=pst[1])
    else:
        tensors.update(h_n=st, packed_h_n=pst)
    meta = {"model": f"torch.nn.{type(model).__name__}", "input_size": input_size,
            "hidden_size": model.hidden_size, "num_layers": model.num_layers,
            "bidirectional": model.bidirectional, "bias": model.bias,
            "batch_first": model.batch_first, "T": T, "B": B, "lengths": LENGTHS,
            "layout": ("time-major: x [T, B, input_size], output [T, B, directions*out_size], "
                       "h0/h_n [num_layers*directions, B, out_size], c0/c_n [num_layers*directions, B, "
                       "hidden_size] (layer-major, direction minor); packed_*: same x, h0, c0 run as "
                       "pack_padded_sequence(x, lengths, enforce_sorted=False), packed_output padded "
                       "with zeros past each length (pad_packed_sequence), packed_h_n/c_n = state at "
                       "each sequence's length (reverse direction: at t=0), original batch order"),
            "note": note}
    if isinstance(model, torch.nn.RNN):
        meta["nonlinearity"] = model.nonlinearity
    if lstm:
        meta["proj_size"] = model.proj_size
    write(name, model, tensors, meta, print_keys)


def small_graph():
    """Random weighted symmetric graph on N=6 nodes: a ring (no isolated nodes) plus
    random chords, weights uniform [0.5, 1.5), both directions listed, no self-loops."""
    rng = np.random.default_rng(7)
    w = np.zeros((N, N))
    for i in range(N):
        w[i, (i + 1) % N] = 1
    w = np.triu(np.maximum(w, w.T) + np.triu(rng.random((N, N)) < 0.35, 1), 1) > 0
    w = w * rng.uniform(0.5, 1.5, (N, N))
    w = w + w.T
    r, c = np.nonzero(w)
    ei = torch.tensor(np.stack([r, c]), dtype=torch.int64)
    return ei, torch.tensor(w[r, c], dtype=torch.float32)


GRAPH_LAYOUT = ("edge_index [2, E] float32 holding integer node ids (row 0 = source j, row 1 = "
                "target i; PyG messages flow j -> i; the graph is symmetric so both directions "
                "are listed), edge_weight [E] (symmetric weights); no self-loops")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--print-keys", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(1)
    os.makedirs(ROOT, exist_ok=True)
    pk = args.print_keys

    # Sequence models (PyTorch's own init: uniform +-1/sqrt(hidden_size) everywhere).
    torch.manual_seed(0)
    sequence_fixture("lstm_l2_bidir", torch.nn.LSTM(3, 4, num_layers=2, bidirectional=True), 3, pk,
                     "torch.nn.LSTM(3, 4, num_layers=2, bidirectional=True)")
    torch.manual_seed(1)
    sequence_fixture("lstm_proj", torch.nn.LSTM(3, 4, proj_size=2), 3, pk,
                     "torch.nn.LSTM(3, 4, proj_size=2): h is [.., 2], c is [.., 4]")
    torch.manual_seed(2)
    sequence_fixture("gru_bidir", torch.nn.GRU(3, 4, bidirectional=True), 3, pk,
                     "torch.nn.GRU(3, 4, bidirectional=True); PyTorch's GRU is the "
                     "linear-before-reset form: n = tanh(W_in x + b_in + r*(W_hn h + b_hn))")
    torch.manual_seed(3)
    sequence_fixture("rnn_tanh_l2", torch.nn.RNN(3, 4, num_layers=2, nonlinearity="tanh"), 3, pk,
                     "torch.nn.RNN(3, 4, num_layers=2, nonlinearity='tanh')")

    # Graph convolutions.
    from torch_geometric.nn import ChebConv, GCNConv
    ei, ew = small_graph()
    gen = torch.Generator().manual_seed(11)
    x = torch.rand(N, 3, generator=gen) * 2 - 1
    graph_t = {"edge_index": ei.to(torch.float32), "edge_weight": ew, "x": x}

    torch.manual_seed(4)
    gcn = GCNConv(3, 4)
    fill_zero_params(gcn, gen)
    with torch.no_grad():
        y = gcn(x, ei, ew)
    write("gcnconv", gcn, {**graph_t, "output": y},
          {"model": "torch_geometric.nn.GCNConv", "in_channels": 3, "out_channels": 4, "N": N,
           "normalization": "renormalised: D~^-1/2 (A + I) D~^-1/2 with weighted degrees, self-loop weight 1 "
                            "(improved=False, add_self_loops=True, normalize=True)",
           "layout": "x [N, in], output [N, out]; " + GRAPH_LAYOUT,
           "note": "bias was zero-initialised by PyG and set to random values for the fixture"}, pk)

    torch.manual_seed(5)
    cheb = ChebConv(3, 4, K=3, normalization="sym")
    fill_zero_params(cheb, gen)
    with torch.no_grad():
        y = cheb(x, ei, ew, lambda_max=2.0)
    write("chebconv", cheb, {**graph_t, "output": y},
          {"model": "torch_geometric.nn.ChebConv", "in_channels": 3, "out_channels": 4, "K": 3, "N": N,
           "normalization": "sym", "lambda_max": 2.0,
           "layout": "x [N, in], output [N, out]; " + GRAPH_LAYOUT + "; L^ = 2 L_sym / lambda_max - I",
           "note": "bias was zero-initialised by PyG and set to random values for the fixture; "
                   "in GraphSeq pass lambdaMax: 2 (PyG's default, 2*max Laplacian entry, is 2 for sym)"}, pk)

    # GCRN cells (PyG-Temporal), T=3 steps from zero states, no batch dimension.
    xg = torch.rand(GT, N, 2, generator=gen) * 2 - 1
    for name, cell, seed in [("gconvlstm", "GConvLSTM", 6), ("gconvgru", "GConvGRU", 7)]:
        torch.manual_seed(seed)
        m = import_pygt(cell)(2, 4, 3, normalization="sym")
        fill_zero_params(m, gen)
        h, c, outs = None, None, []
        with torch.no_grad():
            for s in range(GT):
                if cell == "GConvLSTM":
                    h, c = m(xg[s], ei, ew, H=h, C=c)
                else:
                    h = m(xg[s], ei, ew, H=h)
                outs.append(h)
        tensors = {"edge_index": ei.to(torch.float32), "edge_weight": ew, "x": xg,
                   "output": torch.stack(outs), "h_n": h}
        if c is not None:
            tensors["c_n"] = c
        write(name, m, tensors,
              {"model": f"torch_geometric_temporal.nn.recurrent.{cell}", "in_channels": 2,
               "out_channels": 4, "K": 3, "N": N, "T": GT, "normalization": "sym", "lambda_max": 2.0,
               "layout": ("x [T, N, F] (one PyG-Temporal call per step, x[t] is [N, F], no batch "
                          "dimension; GraphSeq's layout is [T, N, B, F] with B=1), output [T, N, H] "
                          "= H after each step, h_n" + (", c_n" if c is not None else "") +
                          " [N, H]; initial states zero (H=None); " + GRAPH_LAYOUT),
               "note": ("PyG-Temporal called without lambda_max: ChebConv's default 2*max(L) = 2.0 "
                        "for sym; zero-initialised parameters (ChebConv biases"
                        + (", b_i/b_f/b_c/b_o" if c is not None else "")
                        + ") set to random values for the fixture")}, pk)

    for f in sorted(os.listdir(ROOT)):
        if f.endswith(".safetensors"):
            size = os.path.getsize(os.path.join(ROOT, f))
            assert size < 50_000, f
            print(f"{size:6d}  Tests/Fixtures/pytorch/{f}")


if __name__ == "__main__":
    main()

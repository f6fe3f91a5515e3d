"""Trains a GConvGRU on the bundled influenza data and compares its test MAE
with a historical-average baseline.

Data: weekly influenza counts of 140 districts of Bavaria and
Baden-Wuerttemberg, 2001-2008, and the districts' adjacency (data/flu-bybw).
Task: from 8 weeks of log1p(counts) of every district, predict the next
week's; windows whose target falls in the last 104 weeks (2007-2008) are the
test set. Model: GConvGRU (Chebyshev order 2, 16 features) over the district
graph, its last hidden state read out per district by a Linear layer; Adam on
the MSE of standardised values. Baselines, in cases per district-week: the
historical average (each district's mean count in the same week of the year
over the training years) and persistence (next week = this week).

    python bindings/python/examples/train_flu.py [--epochs 20] [--seed 0]

Progress goes to stderr, results to stdout.
"""
import argparse
import sys
import time
from pathlib import Path

import numpy as np

import graphseq as gsq

WINDOW, TEST_WEEKS, WEEKS_PER_YEAR, HIDDEN, BATCH = 8, 104, 52, 16, 32
DATA = Path(__file__).resolve().parents[3] / "data" / "flu-bybw"


def read_table(path):
    """A whitespace-separated table: a header of quoted district ids, then
    rows of a quoted label and one number per district."""
    lines = Path(path).read_text().splitlines()
    width = len(lines[0].split())
    table = []
    for number, line in enumerate(lines[1:], start=2):
        fields = line.split()
        try:
            if len(fields) != width + 1 or not fields[0].startswith('"'):
                raise ValueError(f"expected a quoted label and {width} numbers")
            table.append([float(v) for v in fields[1:]])
        except ValueError as error:
            sys.exit(f"{path}:{number}: {error}")
    return np.array(table)


def windows(z, targets):
    """Inputs [WINDOW, districts, batch, 1] and targets [districts, batch]."""
    x = np.stack([z[t - WINDOW:t] for t in targets], axis=2)[..., None]
    return np.ascontiguousarray(x, np.float32), np.ascontiguousarray(z[targets].T, np.float32)


class Forecaster:
    """GConvGRU whose last hidden state a Linear layer reads out per district."""

    def __init__(self, adjacency, seed):
        self.graph = gsq.Graph.from_dense(adjacency)
        self.gru = gsq.Model("gconv_gru", 1, HIDDEN, order=2, seed=seed)
        self.readout = gsq.Model("linear", HIDDEN, output_size=1, seed=seed + 1)
        self.optimizers = [gsq.Optimizer(m, "adam", lr=0.01) for m in (self.gru, self.readout)]

    def forward(self, x):
        self.hidden = self.gru.forward(x, self.graph)
        last = self.hidden[-1].reshape(-1, HIDDEN)  # [districts * batch, HIDDEN], contiguous
        return self.readout.forward(last).reshape(x.shape[1:3])

    def train_step(self, x, target):
        loss, grad = gsq.losses.mse(self.forward(x), target)
        for model in (self.gru, self.readout):
            model.zero_grad()
        self.readout.backward(grad.reshape(-1, 1))
        dhidden = np.zeros_like(self.hidden)
        dhidden[-1] = self.readout.tensor("grad_input").reshape(dhidden.shape[1:])
        self.gru.backward(dhidden)
        for model, optimizer in zip((self.gru, self.readout), self.optimizers):
            model.clip_grad_norm(1.0)
            optimizer.step()
        return loss

    def close(self):
        for handle in (*self.optimizers, self.readout, self.gru, self.graph):
            handle.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=DATA, type=Path, help="the flu-bybw folder")
    parser.add_argument("--epochs", default=20, type=int)
    parser.add_argument("--seed", default=0, type=int)
    args = parser.parse_args()

    counts = read_table(args.data / "counts_flu_BYBW.txt")
    adjacency = read_table(args.data / "neighbourhood_BYBW.txt")
    weeks, districts = counts.shape
    first_test = weeks - TEST_WEEKS
    logs = np.log1p(counts)
    mean, std = logs[:first_test].mean(), logs[:first_test].std()
    z = (logs - mean) / std
    train_targets, test_targets = np.arange(WINDOW, first_test), np.arange(first_test, weeks)

    rng = np.random.default_rng(args.seed)
    model = Forecaster(adjacency, args.seed)
    print(f"GConvGRU(1 -> {HIDDEN}, K=2) + Linear on flu-bybw: {districts} districts, "
          f"{len(train_targets)} training windows, {TEST_WEEKS} test weeks, seed {args.seed}")
    start = time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        order = rng.permutation(train_targets)
        losses = [model.train_step(*windows(z, order[i:i + BATCH])) * len(order[i:i + BATCH])
                  for i in range(0, len(order), BATCH)]
        print(f"epoch {epoch:2d}  train MSE {sum(losses) / len(order):.4f}  "
              f"{time.perf_counter() - start:.1f}s", file=sys.stderr)

    model.gru.eval()
    predicted = np.concatenate([model.forward(windows(z, test_targets[i:i + BATCH])[0])
                                for i in range(0, TEST_WEEKS, BATCH)], axis=1).T
    forecast = np.expm1(np.maximum(predicted * std + mean, 0))
    actual = counts[test_targets]
    season = np.array([counts[t % WEEKS_PER_YEAR:first_test:WEEKS_PER_YEAR].mean(axis=0)
                       for t in test_targets])
    mae = {"GConvGRU": np.abs(forecast - actual).mean(),
           "historical average": np.abs(season - actual).mean(),
           "persistence": np.abs(counts[test_targets - 1] - actual).mean()}
    print("test MAE, cases per district-week: "
          + ", ".join(f"{name} {value:.4f}" for name, value in mae.items()))
    model.close()


if __name__ == "__main__":
    main()

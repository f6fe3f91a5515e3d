"""Models, optimisers and checkpoints: outputs against a NumPy LSTM, optimiser
steps against torch.optim's formulas in NumPy, clipping, training, save and
load, and the errors of each."""
import numpy as np
import pytest
from reference import randn, ring, sigmoid

import graphseq as gsq


def lstm_reference(x, p, h, c, lengths):
    """torch.nn.LSTM (one layer, time-major) in float64, with sequence lengths."""
    out = np.zeros(x.shape[:2] + (h.shape[-1],))
    for t in range(len(x)):
        gates = x[t] @ p["weight_ih_l0"].T + p["bias_ih_l0"] + h @ p["weight_hh_l0"].T + p["bias_hh_l0"]
        i, f, g, o = np.split(gates, 4, axis=1)
        c_new = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
        h_new = sigmoid(o) * np.tanh(c_new)
        running = (t < lengths)[:, None]
        h, c = np.where(running, h_new, h), np.where(running, c_new, c)
        out[t] = np.where(running, h_new, 0)
    return out, h, c


def test_lstm_matches_numpy(rng):
    T, B, I, H = 5, 3, 4, 6
    x, h0, c0 = randn(rng, T, B, I), randn(rng, 1, B, H), randn(rng, 1, B, H)
    lengths = np.array([5, 2, 4], np.int64)
    with gsq.Model("lstm", I, H, seed=3) as model:
        y = model.forward(x, lengths=lengths, h0=h0, c0=c0)
        out, h, c = lstm_reference(x, model.state_dict(), h0[0], c0[0], lengths)
        np.testing.assert_allclose(y, out, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(model.tensor("state_h")[0], h, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(model.tensor("state_c")[0], c, rtol=1e-5, atol=1e-6)


def linear_step(rng, optimizer_kind, **options):
    """Parameters before, gradients, and parameters after one and two steps
    of a Linear model with the same gradients."""
    model = gsq.Model("linear", 5, output_size=3, seed=1)
    x, target = randn(rng, 8, 5), randn(rng, 8, 3)
    _, dy = gsq.losses.mse(model.forward(x), target)
    model.zero_grad()
    model.backward(dy)
    optimizer = gsq.Optimizer(model, optimizer_kind, **options)
    before, grads = model.state_dict(), model.gradients()
    optimizer.step()
    once = model.state_dict()
    optimizer.step()  # gradients are not cleared by a step
    return before, grads, once, model.state_dict()


def test_adam_steps_follow_torch_formulas(rng):
    lr, (b1, b2), eps, wd = 0.01, (0.8, 0.95), 1e-6, 0.1
    before, grads, once, twice = linear_step(rng, "adam", lr=lr, betas=(b1, b2), eps=eps,
                                             weight_decay=wd)
    for name, p in before.items():
        p, m, v = p.astype(np.float64), 0, 0
        for step, after in ((1, once), (2, twice)):
            g = grads[name] + wd * p
            m, v = b1 * m + (1 - b1) * g, b2 * v + (1 - b2) * g * g
            p = p - lr * (m / (1 - b1 ** step)) / (np.sqrt(v / (1 - b2 ** step)) + eps)
            np.testing.assert_allclose(after[name], p, rtol=1e-5, atol=1e-7)


def test_sgd_nesterov_steps_follow_torch_formulas(rng):
    lr, momentum = 0.1, 0.9
    before, grads, once, twice = linear_step(rng, "sgd", lr=lr, momentum=momentum, nesterov=True)
    for name, p in before.items():
        g, buf = grads[name], grads[name]
        p1 = p - lr * (g + momentum * buf)
        buf = momentum * buf + g
        np.testing.assert_allclose(once[name], p1, rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(twice[name], p1 - lr * (g + momentum * buf), rtol=1e-6, atol=1e-7)


def test_clip_grad_norm(rng):
    with gsq.Model("gru", 3, 4, seed=2) as model:
        y = model.forward(randn(rng, 6, 2, 3))
        model.backward(np.ones_like(y))
        norm = np.sqrt(sum(np.sum(g.astype(np.float64) ** 2) for g in model.gradients().values()))
        assert model.clip_grad_norm(norm / 2) == pytest.approx(norm, rel=1e-5)
        clipped = np.sqrt(sum(np.sum(g.astype(np.float64) ** 2) for g in model.gradients().values()))
        assert clipped == pytest.approx(norm / 2, rel=1e-4)


def graph_sequence(rng, n=6, steps=4, batch=2):
    return gsq.Graph.from_dense(ring(n)), randn(rng, steps, n, batch, 1)


def test_gconv_gru_learns(rng):
    graph, x = graph_sequence(rng)
    target = np.tanh(np.cumsum(x, axis=0)).repeat(4, axis=3).astype(np.float32)
    with graph, gsq.Model("gconv_gru", 1, 4, order=2, seed=5) as model:
        optimizer = gsq.Optimizer(model, "adam", lr=0.05)
        losses = []
        for _ in range(30):
            loss, grad = gsq.losses.mse(model.forward(x, graph), target)
            model.zero_grad()
            model.backward(grad)
            model.clip_grad_norm(5.0)
            optimizer.step()
            losses.append(loss)
        assert model.tensor("grad_input").shape == x.shape
        assert losses[-1] < 0.5 * losses[0]


def test_optimizer_state_resumes_exactly(rng, tmp_path):
    graph, x = graph_sequence(rng)
    target = np.zeros((x.shape[0], x.shape[1], x.shape[2], 3), np.float32)

    def train(model, optimizer, steps):
        for _ in range(steps):
            _, grad = gsq.losses.mse(model.forward(x, graph), target)
            model.zero_grad()
            model.backward(grad)
            optimizer.step()

    with graph, gsq.Model("gconv_gru", 1, 3, seed=4) as a, gsq.Model("gconv_gru", 1, 3, seed=9) as b:
        opt_a, opt_b = gsq.Optimizer(a, "adam", lr=0.05), gsq.Optimizer(b, "adam", lr=0.05)
        train(a, opt_a, 3)
        a.save(tmp_path / "m.safetensors")
        opt_a.save(tmp_path / "o.safetensors")
        b.load(tmp_path / "m.safetensors")
        opt_b.load(tmp_path / "o.safetensors")
        train(a, opt_a, 2)
        train(b, opt_b, 2)
        for name, value in a.state_dict().items():
            np.testing.assert_array_equal(b.state_dict()[name], value)  # bit for bit
        with pytest.raises(gsq.GraphSeqError):
            gsq.Optimizer(b, "sgd", lr=0.1, momentum=0.9).load(tmp_path / "o.safetensors")


def test_checkpoint_round_trip(rng, tmp_path):
    graph, x = graph_sequence(rng)
    path = tmp_path / "model.safetensors"
    with graph, gsq.Model("gconv_lstm", 1, 5, peephole=True, seed=1) as trained, \
            gsq.Model("gconv_lstm", 1, 5, peephole=True, seed=2) as restored:
        y = trained.forward(x, graph)
        trained.save(path)
        assert not np.array_equal(restored.forward(x, graph), y)
        restored.load(path)
        np.testing.assert_array_equal(restored.forward(x, graph), y)  # bit for bit
        for name, value in trained.state_dict().items():
            np.testing.assert_array_equal(restored.state_dict()[name], value)

        with gsq.Model("gconv_lstm", 1, 6, peephole=True) as other:
            kept = other.state_dict()
            with pytest.raises(gsq.InvalidArgumentError):
                other.load(path)  # other shapes
            for name, value in other.state_dict().items():
                np.testing.assert_array_equal(value, kept[name])
        with pytest.raises(gsq.GraphSeqError):
            restored.load(tmp_path / "missing.safetensors")


def test_load_state_dict(rng):
    with gsq.Model("linear", 3, output_size=2, seed=1) as a, gsq.Model("linear", 3, output_size=2, seed=2) as b:
        b.load_state_dict(a.state_dict())
        x = randn(rng, 4, 3)
        np.testing.assert_array_equal(a.forward(x), b.forward(x))
        kept = b.state_dict()
        with pytest.raises(gsq.InvalidArgumentError, match="unknown"):
            b.load_state_dict({"weights": kept["weight"]})
        with pytest.raises(gsq.InvalidArgumentError, match="bias has shape"):
            b.load_state_dict({"weight": kept["weight"] + 1, "bias": np.zeros(3, np.float32)})
        np.testing.assert_array_equal(b.state_dict()["weight"], kept["weight"])  # nothing changed


def test_model_errors(rng):
    with pytest.raises(gsq.InvalidArgumentError, match="kind"):
        gsq.Model("transformer", 3)
    with pytest.raises(gsq.InvalidArgumentError, match="input_size"):
        gsq.Model("lstm", -1, 3)
    graph, x = graph_sequence(rng)
    with graph, gsq.Model("gconv_lstm", 1, 3) as model:
        with pytest.raises(gsq.InvalidArgumentError, match="graph"):
            model.forward(x)
        with pytest.raises(gsq.InvalidArgumentError):
            model.forward(randn(rng, 4, 6, 2, 2), graph)  # two features, not one
        with pytest.raises(gsq.InvalidArgumentError, match="h0 has shape"):
            model.forward(x, graph, h0=randn(rng, 6, 2, 4))
        with pytest.raises(gsq.InvalidArgumentError, match="lengths"):
            model.forward(x, graph, lengths=np.array([1, 2], np.int64))
        with pytest.raises(gsq.InvalidArgumentError, match="no forward"):
            model.backward(np.zeros((4, 6, 2, 3), np.float32))
        y = model.forward(x, graph)
        with pytest.raises(gsq.InvalidArgumentError, match="doutput has shape"):
            model.backward(y[:-1].copy())
        with pytest.raises(gsq.InvalidArgumentError, match="which"):
            model.tensor("hidden")
    with gsq.Model("linear", 2, output_size=1) as linear:
        with pytest.raises(gsq.InvalidArgumentError, match="no initial state"):
            linear.forward(randn(rng, 3, 2), h0=randn(rng, 3, 1))


def test_closed_handles():
    model = gsq.Model("linear", 2, output_size=1, seed=1)
    optimizer = gsq.Optimizer(model, "sgd", lr=0.1)
    x = np.ones((1, 2), np.float32)
    model.forward(x)
    model.backward(np.ones((1, 1), np.float32))
    model.close()
    with pytest.raises(gsq.ClosedError):
        model.forward(x)
    with pytest.raises(gsq.ClosedError):
        gsq.Optimizer(model)
    optimizer.step()  # the optimiser keeps the parameters alive
    optimizer.lr = 0.01
    assert optimizer.lr == 0.01
    with pytest.raises(gsq.InvalidArgumentError):
        optimizer.lr = -1.0
    optimizer.close()
    with pytest.raises(gsq.ClosedError):
        optimizer.step()

"""Against PyTorch itself, when it is installed (skipped otherwise; it is
never a dependency): layers loaded with the same state dict give torch's
outputs and gradients, an optimiser follows torch.optim, losses follow
torch.nn.functional."""
import numpy as np
import pytest
from reference import randn

import graphseq as gsq

torch = pytest.importorskip("torch")
F = torch.nn.functional


def tensors(state):
    return {name: torch.from_numpy(value) for name, value in state.items()}


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_stacked_bidirectional_layers_match_torch(rng, kind):
    T, B, I, H = 7, 3, 4, 5
    with gsq.Model(kind, I, H, num_layers=2, bidirectional=True, batch_first=True, seed=4) as model:
        peer = getattr(torch.nn, kind.upper())(I, H, num_layers=2, bidirectional=True, batch_first=True)
        peer.load_state_dict(tensors(model.state_dict()))
        x = randn(rng, B, T, I)
        y = model.forward(x)
        x_peer = torch.from_numpy(x).requires_grad_()
        y_peer, _ = peer(x_peer)
        np.testing.assert_allclose(y, y_peer.detach().numpy(), rtol=1e-4, atol=1e-5)

        w = randn(rng, *y.shape)
        model.backward(w)
        (y_peer * torch.from_numpy(w)).sum().backward()
        np.testing.assert_allclose(model.tensor("grad_input"), x_peer.grad.numpy(), rtol=1e-4, atol=1e-5)
        gradients = model.gradients()
        for name, parameter in peer.named_parameters():
            np.testing.assert_allclose(gradients[name], parameter.grad.numpy(), rtol=1e-4, atol=1e-5)


def test_adamw_training_matches_torch(rng):
    options = dict(lr=0.01, weight_decay=0.05, amsgrad=True)
    with gsq.Model("linear", 5, output_size=3, seed=1) as model:
        optimizer = gsq.Optimizer(model, "adamw", **options)
        peer = torch.nn.Linear(5, 3)
        peer.load_state_dict(tensors(model.state_dict()))
        peer_optimizer = torch.optim.AdamW(peer.parameters(), **options)
        for _ in range(5):
            x, target = randn(rng, 8, 5), randn(rng, 8, 3)
            _, grad = gsq.losses.mse(model.forward(x), target)
            model.zero_grad()
            model.backward(grad)
            optimizer.step()
            peer_optimizer.zero_grad()
            F.mse_loss(peer(torch.from_numpy(x)), torch.from_numpy(target)).backward()
            peer_optimizer.step()
        for name, value in peer.state_dict().items():
            np.testing.assert_allclose(model.state_dict()[name], value.numpy(), rtol=1e-5, atol=1e-6)


def test_losses_match_torch(rng):
    pred, target = randn(rng, 4, 6), randn(rng, 4, 6)
    labels = rng.integers(0, 6, 4).astype(np.int32)
    cases = [
        (gsq.losses.mse(pred, target), F.mse_loss, (target,)),
        (gsq.losses.mae(pred, target), F.l1_loss, (target,)),
        (gsq.losses.softmax_cross_entropy(pred, labels), F.cross_entropy, (labels.astype(np.int64),)),
        (gsq.losses.bce_with_logits(pred, np.abs(np.tanh(target))),
         F.binary_cross_entropy_with_logits, (np.abs(np.tanh(target)),)),
    ]
    for (loss, grad), function, args in cases:
        p = torch.from_numpy(pred).requires_grad_()
        expected = function(p, *map(torch.from_numpy, args))
        expected.backward()
        assert loss == pytest.approx(expected.item(), rel=1e-5)
        np.testing.assert_allclose(grad, p.grad.numpy(), rtol=1e-5, atol=1e-7)

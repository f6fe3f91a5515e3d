"""Losses (PyTorch's, mean reduction): each returns (loss, grad), grad being
dLoss/dpred (or dLoss/dlogits) in pred's shape, or None when grad=False."""
import numpy as np

from ._library import check, ffi, lib, matrix, pointer


def _run(function, pred, *args, grad):
    loss = ffi.new("float *")
    g = np.empty(pred.shape, np.float32) if grad else None
    check(function(*args, loss, pointer("grad", g, optional=True, writable=True)))
    return loss[0], g


def mse(pred, target, *, grad=True):
    """mean((pred - target)^2) (torch.nn.functional.mse_loss)."""
    p = pointer("pred", pred)
    return _run(lib.gsq_loss_mse, pred, pred.size, p, pointer("target", target, shape=pred.shape),
                grad=grad)


def mae(pred, target, mask=None, *, grad=True):
    """mean |pred - target| over the entries whose mask is 1 (float32 0/1 in
    pred's shape, None: all); masked-out targets may be NaN. 0 when nothing
    is counted (torch.nn.functional.l1_loss on the masked entries)."""
    p = pointer("pred", pred)
    return _run(lib.gsq_loss_mae, pred, pred.size, p, pointer("target", target, shape=pred.shape),
                pointer("mask", mask, shape=pred.shape, optional=True), grad=grad)


def softmax_cross_entropy(logits, labels, mask=None, *, grad=True):
    """Cross-entropy of softmax(logits) (rows x classes) against int32 labels,
    averaged over the rows whose mask (bool or uint8, rows) is non-zero
    (torch.nn.functional.cross_entropy on the masked rows)."""
    rows, classes = matrix("logits", logits)
    if isinstance(mask, np.ndarray) and mask.dtype == np.bool_:
        mask = mask.view(np.uint8)  # the same bytes, 0 or 1
    return _run(lib.gsq_loss_softmax_cross_entropy, logits, rows, classes,
                pointer("logits", logits), pointer("labels", labels, np.int32, (rows,)),
                pointer("mask", mask, np.uint8, (rows,), optional=True), grad=grad)


def bce_with_logits(logits, targets, *, grad=True):
    """Binary cross-entropy of sigmoid(logits) against targets in [0, 1]
    (torch.nn.functional.binary_cross_entropy_with_logits)."""
    p = pointer("logits", logits)
    return _run(lib.gsq_loss_bce_with_logits, logits, logits.size, p,
                pointer("targets", targets, shape=logits.shape), grad=grad)


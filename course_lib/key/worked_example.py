"""The lectures' worked 2-2-1 network, step by step (lecture 001, notebook 03).

Per-sample, no biases, sigmoid units, loss ½(t − y)². This module keeps the
**lecture's sign**: δ = −∂L/∂net, so δ_out = (t − y)·y(1 − y) and
∂L/∂W = −δ ⊗ input. (The rest of course_lib uses dZ = +∂L/∂Z.)
Shapes follow NOTATION.md: W¹ (2, 2), W² (1, 2); any sizes work.
"""

from __future__ import annotations

import numpy as np

from .activations import sigmoid

__all__ = ["forward_221", "gd_step", "hidden_delta", "output_delta", "weight_gradients"]


def forward_221(x, W1, W2):
    """h = σ(W¹x), y = σ(W²h). x (n0,), W1 (n1, n0), W2 (n2, n1) -> h (n1,), y (n2,)."""
    x, W1, W2 = (np.asarray(v, dtype=np.float64) for v in (x, W1, W2))
    h = sigmoid(W1 @ x)
    return h, sigmoid(W2 @ h)


def output_delta(t, y):
    """δ_out = (t − y)·σ'(net) = (t − y)·y(1 − y); shape of y."""
    t, y = np.asarray(t, dtype=np.float64), np.asarray(y, dtype=np.float64)
    return (t - y) * y * (1.0 - y)


def hidden_delta(h, W2, delta_out):
    """δ_hidden = h(1 − h) ⊙ (W²ᵀ δ_out): each hidden unit collects from every unit it feeds."""
    h, W2, delta_out = (np.asarray(v, dtype=np.float64) for v in (h, W2, delta_out))
    return h * (1.0 - h) * (W2.T @ np.atleast_1d(delta_out))


def weight_gradients(x, h, delta_hidden, delta_out):
    """∂L/∂W¹ = −δ_hidden xᵀ (n1, n0) and ∂L/∂W² = −δ_out hᵀ (n2, n1)."""
    x, h, dh, do = (np.atleast_1d(np.asarray(v, dtype=np.float64)) for v in (x, h, delta_hidden, delta_out))
    return -np.outer(dh, x), -np.outer(do, h)


def gd_step(W, dW, lr):
    """One gradient-descent step: W − η·∂L/∂W (a new array)."""
    return np.asarray(W, dtype=np.float64) - lr * np.asarray(dW, dtype=np.float64)

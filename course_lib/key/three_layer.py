"""Reference answers of notebook 07: lecture 004's n-3-2-1 sigmoid network with the log loss, and its training.

Batch form (rows are samples, NOTATION.md): X (N, n), W of shape (n_out, n_in),
Zˡ = Aˡ⁻¹ Wˡᵀ + bˡ, sigmoid in every layer, the output a3 = σ(z3) of shape
(N,). The loss is the mean log loss over the batch, so the backward pass
starts from δ3 = (a3 − y)/N (lecture 004: ∂L/∂z3 = a3 − y per sample).
"""

from __future__ import annotations

import numpy as np

from .activations import sigmoid

__all__ = ["count_params", "log_loss", "minibatches", "three_layer_forward", "three_layer_grads",
           "weight_decay_step"]


def count_params(sizes):
    """Weights plus biases of a fully connected network with layer sizes [n_0, ..., n_L]."""
    return int(sum(n_in * n_out + n_out for n_in, n_out in zip(sizes, sizes[1:])))


def log_loss(z, y):
    """Mean log loss of ŷ = σ(z) and its gradient in z.

    z, y : (N,) pre-activations and labels in {0, 1}. Per sample
    −[y log σ(z) + (1 − y) log(1 − σ(z))] = max(z, 0) − y z + log(1 + e^(−|z|)),
    which takes no log of 0 and no exp of a large number.
    Returns (loss, dz) with dz = (σ(z) − y)/N, shape (N,).
    """
    z = np.asarray(z, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    n = z.shape[0]
    loss = float(np.sum(np.maximum(z, 0.0) - y * z + np.log1p(np.exp(-np.abs(z))))) / n
    return loss, (sigmoid(z) - y) / n


def three_layer_forward(params, X):
    """a3 (N,) of the sigmoid network params = [(W1, b1), (W2, b2), (W3, b3)], and the cache (X, A1, A2, a3)."""
    (W1, b1), (W2, b2), (W3, b3) = params
    A1 = sigmoid(X @ W1.T + b1)
    A2 = sigmoid(A1 @ W2.T + b2)
    a3 = sigmoid(A2 @ W3.T + b3)[:, 0]
    return a3, (X, A1, A2, a3)


def three_layer_grads(params, X, y):
    """[(dW1, db1), (dW2, db2), (dW3, db3)] of the mean log loss, each shaped like its parameter."""
    (W1, _), (W2, _), (W3, _) = params
    _, (X, A1, A2, a3) = three_layer_forward(params, X)
    d3 = ((a3 - y) / len(X))[:, None]  # δ3 (N, 1): the log loss and the sigmoid's σ' cancel
    d2 = (d3 @ W3) * A2 * (1 - A2)  # δ2 (N, 2): lecture 004's W3ᵀ ∘ g'(z2) (a3 − y), one row per sample
    d1 = (d2 @ W2) * A1 * (1 - A1)  # δ1 (N, 3): the same step again, reusing δ2
    return [(d1.T @ X, d1.sum(axis=0)), (d2.T @ A1, d2.sum(axis=0)), (d3.T @ A2, d3.sum(axis=0))]


def minibatches(N, batch_size, seed):
    """np.random.default_rng(seed).permutation(N) cut into consecutive batches of batch_size (the last may be smaller)."""
    order = np.random.default_rng(seed).permutation(N)
    return [order[start:start + batch_size] for start in range(0, N, batch_size)]


def weight_decay_step(W, dW, lr, lam, N):
    """One L2-regularized step, W − lr·(dW + (lam/N)·W) = (1 − lr·lam/N)·W − lr·dW."""
    return (1 - lr * lam / N) * np.asarray(W, dtype=np.float64) - lr * np.asarray(dW, dtype=np.float64)

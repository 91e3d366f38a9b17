"""Layers as forward/backward pairs (notebook 05): the batch form of backprop, one piece at a time.

Every forward returns ``(out, cache)``; every backward takes the upstream
gradient and that cache and returns the gradients of its inputs. Caches
hold exactly what the backward pass needs, in a fixed form the notebooks
state: affine ``(X, W, b)``, sigmoid ``A`` (its output), ReLU and leaky ReLU
``Z`` (the input), ELU ``(Z, A, alpha)``, maxout ``(X, W1, b1, W2, b2)``. Shapes follow NOTATION.md: X (N, n_in), W (n_out, n_in), b (n_out,),
Z = X Wᵀ + b (N, n_out).

``mlp_forward`` and ``mlp_loss_and_grads`` compose them into the network of
``course_lib.network`` (sigmoid hidden layers, softmax + cross-entropy
output); the tests check that the two agree.
"""

from __future__ import annotations

import numpy as np

from .activations import elu, leaky_relu, sigmoid, softmax
from .losses import softmax_cross_entropy

__all__ = [
    "affine_backward",
    "affine_forward",
    "elu_backward",
    "elu_forward",
    "leaky_relu_backward",
    "leaky_relu_forward",
    "maxout_backward",
    "maxout_forward",
    "mlp_forward",
    "mlp_loss_and_grads",
    "relu_backward",
    "relu_forward",
    "sigmoid_backward",
    "sigmoid_forward",
]


def affine_forward(X, W, b):
    """Z = X Wᵀ + b.  X (N, n_in), W (n_out, n_in), b (n_out,) -> Z (N, n_out), cache (X, W, b)."""
    X, W, b = (np.asarray(v, dtype=np.float64) for v in (X, W, b))
    return X @ W.T + b, (X, W, b)


def affine_backward(dZ, cache):
    """dZ (N, n_out) -> dX (N, n_in) = dZ W,  dW (n_out, n_in) = dZᵀ X,  db (n_out,) = Σ_rows dZ."""
    X, W, _ = cache
    dZ = np.asarray(dZ, dtype=np.float64)
    return dZ @ W, dZ.T @ X, dZ.sum(axis=0)


def sigmoid_forward(Z):
    """A = σ(Z), any shape; the cache is A (σ' = A(1 − A) needs only the output)."""
    A = sigmoid(Z)
    return A, A


def sigmoid_backward(dA, cache):
    """dZ = dA ⊙ A(1 − A)."""
    A = cache
    return np.asarray(dA, dtype=np.float64) * A * (1.0 - A)


def relu_forward(Z):
    """A = max(Z, 0), any shape; the cache is Z (the mask is Z > 0)."""
    Z = np.asarray(Z, dtype=np.float64)
    return np.maximum(Z, 0.0), Z


def relu_backward(dA, cache):
    """dZ = dA where Z > 0, else 0 (the kink Z = 0 gets 0)."""
    Z = cache
    return np.where(Z > 0, np.asarray(dA, dtype=np.float64), 0.0)


def leaky_relu_forward(Z):
    """A = max(0.1 Z, Z) (lecture 001's leaky ReLU); cache Z."""
    return leaky_relu(Z, 0.1), np.asarray(Z, dtype=np.float64)


def leaky_relu_backward(dA, cache):
    """dZ = dA where Z > 0, else 0.1·dA (the kink Z = 0 takes the left slope, as ReLU's takes 0)."""
    Z = cache
    return np.asarray(dA, dtype=np.float64) * np.where(Z > 0, 1.0, 0.1)


def elu_forward(Z, alpha=1.0):
    """A = Z for Z > 0, α(e^Z − 1) otherwise; cache (Z, A, alpha)."""
    Z = np.asarray(Z, dtype=np.float64)
    A = elu(Z, alpha)
    return A, (Z, A, alpha)


def elu_backward(dA, cache):
    """dZ = dA for Z > 0, dA·α e^Z = dA·(A + α) otherwise."""
    Z, A, alpha = cache
    return np.asarray(dA, dtype=np.float64) * np.where(Z > 0, 1.0, A + alpha)


def maxout_forward(X, W1, b1, W2, b2):
    """A = max(X W1ᵀ + b1, X W2ᵀ + b2) elementwise, (N, n_out); cache (X, W1, b1, W2, b2)."""
    return np.maximum(X @ W1.T + b1, X @ W2.T + b2), (X, W1, b1, W2, b2)


def maxout_backward(dA, cache):
    """(dX, dW1, db1, dW2, db2): a max gate routes dA to the winning piece (a tie to the first), then affine."""
    X, W1, b1, W2, b2 = cache
    first = (X @ W1.T + b1) >= (X @ W2.T + b2)
    dZ1, dZ2 = np.where(first, dA, 0.0), np.where(first, 0.0, dA)
    return dZ1 @ W1 + dZ2 @ W2, dZ1.T @ X, dZ1.sum(axis=0), dZ2.T @ X, dZ2.sum(axis=0)


def mlp_forward(params, X):
    """Sigmoid hidden layers, softmax output.

    Returns probs (N, k) and caches: one (affine cache, sigmoid cache) per
    hidden layer, then the last layer's (affine cache, logits).
    """
    caches = []
    A = np.asarray(X, dtype=np.float64)
    for W, b in params[:-1]:
        Z, affine_cache = affine_forward(A, W, b)
        A, act_cache = sigmoid_forward(Z)
        caches.append((affine_cache, act_cache))
    logits, affine_cache = affine_forward(A, *params[-1])
    caches.append((affine_cache, logits))
    return softmax(logits), caches


def mlp_loss_and_grads(params, X, y, reg=0.0):
    """Mean cross-entropy + (reg / 2N) Σ‖W‖² and the gradient of every (W, b), biases unregularized."""
    _, caches = mlp_forward(params, X)
    N = np.asarray(X).shape[0]
    affine_cache, logits = caches[-1]
    loss, dZ = softmax_cross_entropy(logits, y)  # dZ = (softmax − onehot) / N
    loss += 0.5 * reg / N * sum(float(np.sum(np.asarray(W) ** 2)) for W, _ in params)
    grads = [None] * len(params)
    for l in range(len(params) - 1, -1, -1):
        affine_cache = caches[l][0]
        dA, dW, db = affine_backward(dZ, affine_cache)
        grads[l] = (dW + reg / N * affine_cache[1], db)
        if l > 0:
            dZ = sigmoid_backward(dA, caches[l - 1][1])
    return loss, grads

"""Loss functions, each returning ``(loss, grad)``.

One rule for every loss: it **sums over a sample's outputs and averages over
the batch's rows**. So a batch of shape (N, k) gives
L = (1/N) Σ_n ℓ(row n), and ``grad`` = ∂L/∂(first argument), with the shape
of the first argument. A 1-D input of shape (k,) is one sample (N = 1) and a
scalar is one sample with one output.

Class labels are integers; for a batch they have shape (N,), for one sample
they are a scalar.

Lectures: 001 and 003 (squared error ½(t − y)², softmax and cross-entropy,
∇_a L = ŷ − e(ℓ)), 004 (log loss). Notation: NOTATION.md.
"""

from __future__ import annotations

import numpy as np

from .activations import sigmoid

__all__ = [
    "LOSSES",
    "binary_cross_entropy",
    "check_labels",
    "cross_entropy",
    "one_hot",
    "sigmoid_binary_cross_entropy",
    "softmax_cross_entropy",
    "softmax_cross_entropy_grad",
    "squared_error",
]

# Probabilities are kept inside the open interval (0, 1) before a log, so a
# confident mistake costs a large finite loss instead of inf/NaN. The bounds
# are the closest doubles to 0 and 1: no probability a network can produce in
# float64 is changed by them.
_P_MIN = np.finfo(np.float64).tiny
_P_MAX = np.nextafter(1.0, 0.0)


def _batch_size(x):
    """N for a batch of rows; 1 for one sample (1-D) or a scalar."""
    return x.shape[0] if x.ndim >= 2 else 1


def _same_shape(name_a, a, name_b, b):
    if a.shape != b.shape:
        raise ValueError(
            f"{name_a} has shape {a.shape} but {name_b} has shape {b.shape}; they must match"
        )


def check_labels(scores, labels, fn="labels"):
    """Integer labels checked against scores of shape (N, k) or (k,); returns them.

    ``fn`` names the caller in the error message.
    """
    labels = np.asarray(labels)
    if scores.ndim not in (1, 2):
        raise ValueError(f"{fn} takes scores of shape (N, k) or (k,), got shape {scores.shape}")
    if not np.issubdtype(labels.dtype, np.integer):
        if labels.size and np.all(np.mod(labels, 1) == 0):
            labels = labels.astype(np.int64)
        else:
            raise TypeError(f"{fn} takes integer class labels, got dtype {labels.dtype}")
    expected = scores.shape[:-1]
    if labels.shape != expected:
        raise ValueError(
            f"{fn}: scores of shape {scores.shape} need labels of shape {expected}, "
            f"got {labels.shape}"
        )
    k = scores.shape[-1]
    if labels.size and (labels.min() < 0 or labels.max() >= k):
        raise ValueError(f"{fn}: labels must lie in 0..{k - 1}, got {labels.min()}..{labels.max()}")
    return labels


def one_hot(labels, k):
    """e(ℓ): rows of the identity. labels shape (N,) -> (N, k); scalar -> (k,)."""
    labels = np.asarray(labels)
    return np.eye(k, dtype=np.float64)[labels]


def squared_error(y_hat, t):
    """L = (1/N) Σ_n ½ Σ_k (t_nk − ŷ_nk)²  (the lectures' ½(t − y)²).

    Parameters
    ----------
    y_hat, t : arrays of the same shape, (N, k), (k,) or scalars

    Returns
    -------
    loss : float
    grad : array like y_hat, ∂L/∂ŷ = (ŷ − t)/N
    """
    y_hat = np.asarray(y_hat, dtype=np.float64)
    t = np.asarray(t, dtype=np.float64)
    _same_shape("y_hat", y_hat, "t", t)
    n = _batch_size(y_hat)
    diff = y_hat - t
    return 0.5 * float(np.sum(diff * diff)) / n, diff / n


def binary_cross_entropy(p, t):
    """L = −(1/N) Σ_n Σ_k [t log p + (1 − t) log(1 − p)].

    Parameters
    ----------
    p : array, (N, k), (k,) or scalar; predicted probabilities in [0, 1]
    t : array like p; targets in [0, 1]

    Returns
    -------
    loss : float
    grad : array like p, ∂L/∂p = (p − t) / (p(1 − p)) / N
    """
    p = np.asarray(p, dtype=np.float64)
    t = np.asarray(t, dtype=np.float64)
    _same_shape("p", p, "t", t)
    n = _batch_size(p)
    q = np.clip(p, _P_MIN, _P_MAX)
    loss = -float(np.sum(t * np.log(q) + (1.0 - t) * np.log1p(-q))) / n
    return loss, (q - t) / (q * (1.0 - q)) / n


def sigmoid_binary_cross_entropy(z, t):
    """Binary cross-entropy of σ(z), computed from the logits z stably.

    ℓ = log(1 + e^z) − t·z = max(z, 0) − t·z + log(1 + e^(−|z|)), which never
    takes the log of 0. Same batch rule as every loss.

    Returns
    -------
    loss : float
    grad : array like z, ∂L/∂z = (σ(z) − t)/N
    """
    z = np.asarray(z, dtype=np.float64)
    t = np.asarray(t, dtype=np.float64)
    _same_shape("z", z, "t", t)
    n = _batch_size(z)
    loss = float(np.sum(np.maximum(z, 0.0) - t * z + np.log1p(np.exp(-np.abs(z))))) / n
    return loss, (sigmoid(z) - t) / n


def cross_entropy(probs, labels):
    """L = −(1/N) Σ_n log ŷ_n,ℓ_n  (probability given to the true class).

    Parameters
    ----------
    probs : array, (N, k) or (k,); rows of class probabilities
    labels : int array, (N,) or a scalar

    Returns
    -------
    loss : float
    grad : array like probs, ∂L/∂ŷ = −e(ℓ) / ŷ / N (zero off the true class)
    """
    probs = np.asarray(probs, dtype=np.float64)
    labels = check_labels(probs, labels, "cross_entropy")
    n = _batch_size(probs)
    picked = np.clip(np.take_along_axis(probs, labels[..., None], axis=-1), _P_MIN, None)
    grad = np.zeros_like(probs)
    np.put_along_axis(grad, labels[..., None], -1.0 / (picked * n), axis=-1)
    return -float(np.sum(np.log(picked))) / n, grad


def softmax_cross_entropy(logits, labels):
    """Cross-entropy of softmax(logits), computed stably from the logits.

    ℓ = log Σ_j e^(a_j) − a_ℓ, with the row maximum subtracted first.

    Parameters
    ----------
    logits : array, (N, k) or (k,)
    labels : int array, (N,) or a scalar

    Returns
    -------
    loss : float
    grad : array like logits, ∂L/∂a = (softmax(a) − e(ℓ)) / N
    """
    a = np.asarray(logits, dtype=np.float64)
    labels = check_labels(a, labels, "softmax_cross_entropy")
    n = _batch_size(a)
    shifted = a - a.max(axis=-1, keepdims=True)
    log_norm = np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    log_probs = shifted - log_norm
    loss = -float(np.sum(np.take_along_axis(log_probs, labels[..., None], axis=-1))) / n
    grad = np.exp(log_probs) - one_hot(labels, a.shape[-1])  # softmax(a) − e(ℓ)
    return loss, grad / n


def softmax_cross_entropy_grad(a, labels):
    """∂L/∂a for L = cross-entropy of softmax(a): ŷ − e(ℓ) for one sample, (ŷ − onehot)/N for a batch."""
    return softmax_cross_entropy(a, labels)[1]


# name -> loss function of (output, target) returning (loss, grad).
LOSSES = {
    "squared_error": squared_error,
    "binary_cross_entropy": binary_cross_entropy,
    "cross_entropy": cross_entropy,
}

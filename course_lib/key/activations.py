"""Activation functions and their derivatives.

Every elementwise function takes the pre-activation ``z`` (a scalar or an
array of any shape) and returns a float64 array of the same shape. Every
``*_grad`` also takes the *pre-activation* z, not the activation: the lectures
write σ'(net) = σ(net)(1 − σ(net)), a function of net.

All functions stay finite and silent (no overflow warning, no NaN) for inputs
up to |z| = 1000 and beyond (see ``sigmoid`` for the one silenced overflow).

Lectures: 001 (activation zoo, softmax), 002 and 003 (sigmoid and tanh
derivatives). Notation: NOTATION.md.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "ACTIVATIONS",
    "elu",
    "elu_grad",
    "identity",
    "identity_grad",
    "leaky_relu",
    "leaky_relu_grad",
    "relu",
    "relu_grad",
    "sigmoid",
    "sigmoid_grad",
    "sigmoid_into",
    "softmax",
    "softmax_jacobian",
    "tanh",
    "tanh_grad",
]


def _as_float(z):
    return np.asarray(z, dtype=np.float64)


def sigmoid(z):
    """σ(z) = 1 / (1 + e^(−z)), elementwise; any shape.

    This plain formula keeps full relative precision for z ≥ −709: for
    z < 0, e^(−z) is large but exact to rounding, and so are 1 + e^(−z) and
    its reciprocal. Below z ≈ −709.8, e^(−z) overflows to inf and the result
    is 1/inf = 0, where the true value is a subnormal number below 1e−308
    (σ(−720) ≈ 2e−313); 0 is within 1e−308 of it, and no activation that
    small changes any sum it enters, so the overflow warning is silenced
    rather than avoided. Unlike the two-branch form with
    ``np.where``, this needs one exp and no data-dependent branch, which
    makes it about 3× faster on a (256, 128) batch.
    """
    return sigmoid_into(_as_float(z), None)


def sigmoid_into(z, out):
    """σ(z) written into ``out`` (a float64 array like z, or None for a new one).

    The building block of ``sigmoid``; ``out`` may be z itself.
    """
    if out is None:
        out = np.empty_like(z)  # keeps 0-d inputs as arrays, so out= works
    np.negative(z, out=out)
    with np.errstate(over="ignore"):
        np.exp(out, out=out)
    out += 1.0
    return np.divide(1.0, out, out=out)


def sigmoid_grad(z):
    """σ'(z) = σ(z)(1 − σ(z)); any shape."""
    s = sigmoid(z)
    return s * (1.0 - s)


def tanh(z):
    """tanh(z), elementwise; any shape."""
    return np.tanh(_as_float(z))


def tanh_grad(z):
    """tanh'(z) = 1 − tanh²(z); any shape."""
    t = np.tanh(_as_float(z))
    return 1.0 - t * t


def relu(z):
    """max(z, 0), elementwise; any shape."""
    return np.maximum(_as_float(z), 0.0)


def relu_grad(z):
    """1 where z > 0, else 0. At the kink z = 0 we take 0 (a subgradient)."""
    return (_as_float(z) > 0).astype(np.float64)


def leaky_relu(z, alpha=0.1):
    """z for z > 0, α·z otherwise; any shape."""
    z = _as_float(z)
    return np.where(z > 0, z, alpha * z)


def leaky_relu_grad(z, alpha=0.1):
    """1 for z > 0, α otherwise (α at the kink z = 0)."""
    z = _as_float(z)
    return np.where(z > 0, 1.0, alpha)


def elu(z, alpha=1.0):
    """z for z > 0, α(e^z − 1) otherwise; any shape.

    ``expm1`` keeps precision for small negative z; the exponent is clipped at
    0 so that the unused branch of ``where`` cannot overflow for large z.
    """
    z = _as_float(z)
    return np.where(z > 0, z, alpha * np.expm1(np.minimum(z, 0.0)))


def elu_grad(z, alpha=1.0):
    """1 for z > 0, α·e^z otherwise; any shape."""
    z = _as_float(z)
    return np.where(z > 0, 1.0, alpha * np.exp(np.minimum(z, 0.0)))


def identity(z):
    """z itself (the linear output unit used with squared error)."""
    return _as_float(z).copy()


def identity_grad(z):
    """1 everywhere."""
    return np.ones_like(_as_float(z))


def softmax(a):
    """Softmax along the last axis: ŷ_k = e^(a_k) / Σ_j e^(a_j).

    Parameters
    ----------
    a : array, shape (..., k)
        Scores (logits), one row per sample; any number of leading axes.

    Returns
    -------
    array, shape (..., k)
        Probabilities; each row is positive and sums to 1.

    Subtracting the row maximum first leaves the result unchanged
    (softmax(a) = softmax(a − c)) and makes every exponent ≤ 0, so nothing
    overflows.
    """
    a = _as_float(a)
    if a.ndim == 0:
        raise ValueError("softmax needs at least one axis of scores, got a scalar")
    e = np.exp(a - a.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def softmax_jacobian(a):
    """Jacobian of softmax at one score vector: J = diag(ŷ) − ŷ ŷᵀ.

    Parameters
    ----------
    a : array, shape (k,)

    Returns
    -------
    array, shape (k, k)
        J[i, j] = ∂ŷ_i / ∂a_j = ŷ_i (1[i = j] − ŷ_j).
    """
    a = _as_float(a)
    if a.ndim != 1:
        raise ValueError(f"softmax_jacobian takes one score vector of shape (k,), got shape {a.shape}")
    y = softmax(a)
    return np.diag(y) - np.outer(y, y)


# name -> (f, f_grad); f_grad takes the pre-activation. Softmax is not here:
# it is not elementwise, so it has a Jacobian rather than a derivative.
ACTIVATIONS = {
    "sigmoid": (sigmoid, sigmoid_grad),
    "tanh": (tanh, tanh_grad),
    "relu": (relu, relu_grad),
    "leaky_relu": (leaky_relu, leaky_relu_grad),
    "elu": (elu, elu_grad),
    "identity": (identity, identity_grad),
}

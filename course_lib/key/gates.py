"""Gates of a computational graph, forward and backward (lectures 000 and 002).

Each backward function takes the upstream gradient ``dout`` = ∂L/∂(gate
output) and returns ∂L/∂(each input) = local gradient × dout. All work
elementwise on numpy arrays as well as on floats.
"""

from __future__ import annotations

import numpy as np

from .activations import sigmoid

__all__ = [
    "add_gate_backward",
    "max_gate_backward",
    "mul_add_forward_backward",
    "mul_gate_backward",
    "neuron_forward_backward",
    "neuron_gate_by_gate",
    "staged_forward_backward",
]


def add_gate_backward(dout):
    """x + y: a distributor, both inputs get dout unchanged."""
    dout = np.asarray(dout, dtype=np.float64)
    return dout.copy(), dout.copy()


def mul_gate_backward(x, y, dout):
    """x · y: each input gets the *other* input times dout (a swap)."""
    x, y, dout = (np.asarray(v, dtype=np.float64) for v in (x, y, dout))
    return y * dout, x * dout


def max_gate_backward(x, y, dout):
    """max(x, y): a router, the larger input gets dout, the other 0; a tie goes to x."""
    x, y, dout = (np.asarray(v, dtype=np.float64) for v in (x, y, dout))
    x_wins = x >= y
    return np.where(x_wins, dout, 0.0), np.where(x_wins, 0.0, dout)


def mul_add_forward_backward(x, y, z):
    """f = (x + y)·z and its gradients, through q = x + y.

    Returns (f, (df/dx, df/dy, df/dz)).
    """
    x, y, z = (np.asarray(v, dtype=np.float64) for v in (x, y, z))
    q = x + y
    f = q * z
    dq, dz = mul_gate_backward(q, z, 1.0)
    dx, dy = add_gate_backward(dq)
    return f, (dx, dy, dz)


def neuron_forward_backward(w, x):
    """f = σ(w₀x₀ + w₁x₁ + ... + w_n), the last weight a bias.

    Parameters
    ----------
    w : array, shape (n + 1,)
    x : array, shape (n,)

    Returns
    -------
    f : float, the neuron's output
    dw : array (n + 1,), ∂f/∂w = (x, 1) · σ'(dot)
    dx : array (n,), ∂f/∂x = w[:n] · σ'(dot)
    """
    w = np.asarray(w, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64)
    if w.shape != (x.size + 1,):
        raise ValueError(f"w needs one weight per input plus a bias: x has shape {x.shape}, w {w.shape}")
    dot = w[:-1] @ x + w[-1]
    f = float(sigmoid(dot))
    ddot = f * (1.0 - f)  # σ' = σ(1 − σ), from the forward value
    return f, np.append(x, 1.0) * ddot, w[:-1] * ddot


def neuron_gate_by_gate(w, x):
    """The neuron σ(w·x + bias) through primitive gates: ·, +, ·(−1), exp, +1, 1/x (lecture 002's table).

    Returns (f, dw, dx, upstream): as ``neuron_forward_backward``, and the
    gradient of f at the input of the 1/x, +1, exp and ·(−1) gates, in that
    (backward) order: (−0.53, −0.53, −0.20, 0.20) at the lecture's point.
    """
    w = np.asarray(w, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64)
    dot = w[:-1] @ x + w[-1]
    e = np.exp(-dot)
    den = 1.0 + e
    f = 1.0 / den
    dden = -1.0 / den**2  # 1/x gate: local gradient −1/x², upstream 1
    de = 1.0 * dden  # +1 gate
    dneg = e * dden  # exp gate: its own output
    ddot = -1.0 * dneg  # ·(−1) gate
    return float(f), np.append(x, 1.0) * ddot, w[:-1] * ddot, np.array([dden, de, dneg, ddot])


def staged_forward_backward(x, y):
    """f = (x + σ(y)) / (σ(x) + (x + y)²), staged as in lecture 002.

    Returns (f, df/dx, df/dy); x and y may be arrays (elementwise).
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    # forward, one simple operation per line
    sigy = sigmoid(y)
    num = x + sigy
    sigx = sigmoid(x)
    xpy = x + y
    xpysqr = xpy**2
    den = sigx + xpysqr
    invden = 1.0 / den
    f = num * invden
    # backward, in reverse; x and y get gradient from several places: +=
    dnum = invden
    dinvden = num
    dden = -1.0 / den**2 * dinvden
    dsigx = dden
    dxpysqr = dden
    dxpy = 2.0 * xpy * dxpysqr
    dx = dxpy.copy()
    dy = dxpy.copy()
    dx += sigx * (1.0 - sigx) * dsigx
    dx += dnum
    dsigy = dnum
    dy += sigy * (1.0 - sigy) * dsigy
    return f, dx, dy

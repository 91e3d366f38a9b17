"""Gradient checking: is an analytic gradient right?

Centered differences estimate ∂f/∂x_i ≈ (f(x + εe_i) − f(x − εe_i)) / 2ε with
an error of O(ε²) (truncation) plus O(u/ε) (round-off, u ≈ 1e-16 in float64);
ε = 1e-6 balances the two for functions of size ~1. We compare with the
*relative* error, because an absolute error of 1e-8 is excellent for a
gradient of size 1 and useless for one of size 1e-9.

Lecture 002 (gradient checking). Notation: NOTATION.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..checks import verdict

__all__ = [
    "GradCheckReport",
    "ParamCheck",
    "check_gradients",
    "check_network_gradients",
    "directional_check",
    "network_numerical_gradients",
    "noise_floor",
    "numerical_gradient",
    "relative_error",
    "verdict",
]

def numerical_gradient(f, x, eps=1e-6):
    """Centered-difference gradient of a scalar function at every element of x.

    Parameters
    ----------
    f : callable
        Takes no argument or x itself, and returns a scalar. It is evaluated
        while one element of x is nudged in place, so f may read x from its
        closure (the usual way to check a parameter array of a network).
    x : float array, any shape (0-d included)
        Perturbed in place during the check and restored exactly afterwards,
        even if f raises.
    eps : float
        The step ε.

    Returns
    -------
    array like x: (f(x + εe_i) − f(x − εe_i)) / 2ε for every index i.
    """
    if not isinstance(x, np.ndarray) or not np.issubdtype(x.dtype, np.floating):
        raise TypeError(
            "numerical_gradient nudges x in place, so x must be a float numpy array "
            f"(got {type(x).__name__}{'' if not isinstance(x, np.ndarray) else ' of dtype ' + str(x.dtype)})"
        )
    call = _caller(f, x)
    grad = np.zeros_like(x)
    flat_x, flat_g = x.reshape(-1), grad.reshape(-1)
    if not np.shares_memory(flat_x, x):
        raise ValueError("x must be contiguous so that it can be nudged in place")
    for i in range(flat_x.size):
        old = flat_x[i]
        try:
            flat_x[i] = old + eps
            f_plus = call()
            flat_x[i] = old - eps
            f_minus = call()
        finally:
            flat_x[i] = old
        flat_g[i] = (float(f_plus) - float(f_minus)) / (2 * eps)
    return grad


def _caller(f, x):
    """f() if f takes no argument, else f(x)."""
    import inspect

    try:
        n_required = sum(
            1
            for p in inspect.signature(f).parameters.values()
            if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        )
    except (TypeError, ValueError):
        n_required = 1
    return f if n_required == 0 else (lambda: f(x))


def relative_error(a, b, floor=0.0):
    """max_i |a_i − b_i| / max(|a_i| + |b_i|, floor, tiny): 0 when equal, ≤ 1 always.

    Elements where both are exactly 0 count as agreeing. Shapes must match
    (no broadcasting: a shape mismatch is a bug worth hearing about).
    ``floor`` > 0 turns the comparison absolute for elements smaller than it
    (see ``noise_floor``).
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"cannot compare gradients of shapes {a.shape} and {b.shape}")
    if a.size == 0:
        return 0.0
    denom = np.maximum(np.abs(a) + np.abs(b), max(floor, np.finfo(np.float64).tiny))
    return float(np.max(np.abs(a - b) / denom))


def noise_floor(f_value, eps):
    """Gradient size below which centered differences cannot give a relative error < 1e-7.

    Each evaluation of f carries a round-off of a few u·|f| (u ≈ 1.1e-16), so
    the difference quotient carries about u·|f|/ε. An element of size g then
    shows a relative error near (u·|f|/ε)/g from round-off alone: at
    |f| ≈ 2, ε = 1e-6, a perfectly right element of size 1e-7 shows 2e-3.
    Below this floor, ``check_gradients`` compares differences against the
    floor instead, so round-off never reads as a bug, while a real bug — a
    transpose, a factor, a sign — still shows in the larger elements.
    """
    u = np.finfo(np.float64).eps / 2
    return 1e8 * u * max(abs(float(f_value)), 1.0) / eps


@dataclass
class ParamCheck:
    """One parameter's check."""

    name: str
    shape: tuple
    rel_error: float
    verdict: str
    why: str


@dataclass
class GradCheckReport:
    """Per-parameter relative errors with verdicts; prints as a table."""

    checks: list = field(default_factory=list)

    @property
    def max_error(self):
        return max((c.rel_error for c in self.checks), default=0.0)

    @property
    def ok(self):
        """True when every parameter is at least 'probably correct'."""
        return all(c.verdict in ("correct", "probably correct") for c in self.checks)

    def __str__(self):
        rows = [f"{'parameter':<12} {'shape':<12} {'rel. error':>10}  verdict"]
        for c in self.checks:
            rows.append(f"{c.name:<12} {str(c.shape):<12} {c.rel_error:>10.2e}  {c.verdict}: {c.why}")
        return "\n".join(rows)

    def _repr_pretty_(self, p, cycle):  # IPython shows the table
        p.text(str(self))


def check_gradients(f, arrays, grads, names=None, eps=1e-6):
    """Compare analytic gradients with centered differences, array by array.

    Parameters
    ----------
    f : callable () -> float
        The loss, reading ``arrays`` (which are nudged in place).
    arrays : list of float arrays
        The parameters.
    grads : list of arrays
        Your analytic gradients, same shapes as ``arrays``.
    names : list of str, optional
        Labels for the report (default p0, p1, ...).

    Returns
    -------
    GradCheckReport
    """
    arrays, grads = list(arrays), list(grads)
    if len(arrays) != len(grads):
        raise ValueError(f"{len(arrays)} parameter arrays but {len(grads)} gradients")
    names = list(names) if names is not None else [f"p{i}" for i in range(len(arrays))]
    report = GradCheckReport()
    floor = noise_floor(f(), eps)
    for name, x, g in zip(names, arrays, grads):
        numeric = numerical_gradient(lambda: f(), x, eps) if np.shape(g) == x.shape else None
        report.checks.append(_compare(name, x, g, numeric, floor))
    return report


def _compare(name, x, g, numeric, floor):
    """One report row: the analytic gradient g of parameter x against ``numeric``."""
    g = np.asarray(g, dtype=np.float64)
    if g.shape != x.shape:
        hint = " (looks transposed)" if g.shape == x.shape[::-1] else ""
        return ParamCheck(name, x.shape, np.inf, "wrong", f"gradient has shape {g.shape}, parameter {x.shape}{hint}")
    err = relative_error(g, numeric, floor)
    return ParamCheck(name, x.shape, err, *verdict(err))


def _network_arrays(params):
    """The parameter arrays of a network, made float64 so they can be nudged."""
    out = []
    for W, b in params:
        out.append((np.array(W, dtype=np.float64), np.array(b, dtype=np.float64)))
    return out


def network_numerical_gradients(params, X, y, eps=1e-6, hidden="sigmoid", output="softmax", loss=None, reg=0.0):
    """Centered differences of a network's loss for every weight and bias.

    The same numbers as ``numerical_gradient`` on each array (up to
    round-off), computed with far less work. Nudging Wˡ[i, j] by ±ε moves
    only column i of Zˡ, by ±ε·Aˡ⁻¹[:, j] (and bˡ[i] moves it by ±ε). So the
    layers before l are not recomputed at all, column i of Aˡ is the only
    change in layer l, and the next layer's pre-activation changes by a
    rank-1 term: Zˡ⁺¹ + (Δ column i of Aˡ) ⊗ Wˡ⁺¹[:, i]. From there the
    forward pass runs as usual. The L2 penalty changes only by
    (reg / 2N)((w ± ε)² − w²).

    Returns
    -------
    list of (dW, db) shaped like params: (loss(θ + εe) − loss(θ − εe)) / 2ε
    """
    from . import network

    X = np.asarray(X, dtype=np.float64)
    _, cache = network.forward(params, X, hidden, output)
    layers = cache.layers
    N, L = X.shape[0], len(params)
    c = reg / (2 * N)
    g = network.ACTIVATIONS[hidden][0]
    kw = dict(hidden=hidden, output=output, loss=loss)

    def loss_with_column(l, i, z_col):
        """Data loss when column i of Zˡ is replaced by z_col."""
        if l == L - 1:
            Z = layers[l].Z.copy()
            Z[:, i] = z_col
            return network.loss_from_layer(params, l, Z, y, **kw)
        W_next = np.asarray(params[l + 1][0], dtype=np.float64)
        delta = g(z_col) - layers[l].A[:, i]
        Z_next = layers[l + 1].Z + np.outer(delta, W_next[:, i])
        return network.loss_from_layer(params, l + 1, Z_next, y, **kw)

    grads = []
    for l, (W, b) in enumerate(params):
        W = np.asarray(W, dtype=np.float64)
        A_prev, Z = layers[l].A_prev, layers[l].Z
        dW, db = np.empty_like(W), np.empty(W.shape[0])
        for i in range(W.shape[0]):
            col = Z[:, i]
            for j in range(W.shape[1]):
                w = W[i, j]
                up = loss_with_column(l, i, col + eps * A_prev[:, j]) + c * ((w + eps) ** 2 - w * w)
                down = loss_with_column(l, i, col - eps * A_prev[:, j]) + c * ((w - eps) ** 2 - w * w)
                dW[i, j] = (up - down) / (2 * eps)
            db[i] = (loss_with_column(l, i, col + eps) - loss_with_column(l, i, col - eps)) / (2 * eps)
        grads.append((dW, db))
    return grads


def check_network_gradients(params, X, y, grads=None, eps=1e-6, **net_kwargs):
    """Per-element check of a network's gradients, one report row per W and b.

    ``grads`` defaults to ``network.loss_and_grads``; pass your own to check
    them. ``net_kwargs`` (hidden, output, loss, reg) go to the network. The
    finite differences come from ``network_numerical_gradients`` (every
    element, two losses each, each recomputed only from the layer it changes).
    """
    from . import network

    params = _network_arrays(params)
    if grads is None:
        _, grads = network.loss_and_grads(params, X, y, **net_kwargs)
    numeric = network_numerical_gradients(params, X, y, eps, **net_kwargs)
    floor = noise_floor(network.loss_value(params, X, y, **net_kwargs), eps)
    report = GradCheckReport()
    for l, ((W, b), (dW, db), (nW, nb)) in enumerate(zip(params, grads, numeric), start=1):
        for name, x, g, n in ((f"W{l}", W, dW, nW), (f"b{l}", b, db, nb)):
            report.checks.append(_compare(name, x, g, n, floor))
    return report


def directional_check(f, arrays, grads, n_directions=3, eps=1e-6, seed=0):
    """Cheap check along random directions: 2 evaluations of f per direction.

    For a random unit direction u over all parameters, the slope
    (f(θ + εu) − f(θ − εu)) / 2ε must equal ⟨∇f, u⟩. A wrong gradient fails
    this for almost every u, so a few directions catch what a per-element
    check catches, at the cost of a few forward passes instead of two per
    parameter. It cannot say *which* parameter is wrong: use
    ``check_gradients`` for that.

    Returns
    -------
    (max relative error, list of (numeric slope, analytic slope))
    """
    arrays, grads = list(arrays), [np.asarray(g, dtype=np.float64) for g in grads]
    for x, g in zip(arrays, grads):
        if g.shape != x.shape:
            raise ValueError(f"gradient of shape {g.shape} for a parameter of shape {x.shape}")
    rng = np.random.default_rng(seed)
    slopes = []
    originals = [x.copy() for x in arrays]
    try:
        for _ in range(n_directions):
            dirs = [rng.standard_normal(x.shape) for x in arrays]
            norm = np.sqrt(sum(float(np.vdot(d, d)) for d in dirs))
            dirs = [d / norm for d in dirs]
            values = []
            for sign in (1.0, -1.0):
                for x, x0, d in zip(arrays, originals, dirs):
                    np.add(x0, sign * eps * d, out=x)
                values.append(float(f()))
            numeric = (values[0] - values[1]) / (2 * eps)
            analytic = sum(float(np.vdot(g, d)) for g, d in zip(grads, dirs))
            slopes.append((numeric, analytic))
    finally:
        for x, x0 in zip(arrays, originals):
            x[...] = x0
    worst = max(relative_error(n, a) for n, a in slopes)
    return worst, slopes

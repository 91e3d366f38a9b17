"""Figures for the workbook, all in one look (``STYLE``).

Every function draws into ``ax`` when given one and returns the Figure, so a
notebook can compose panels or show one plot per cell.
"""

from __future__ import annotations

import matplotlib
import matplotlib.pyplot as plt
import numpy as np

from .graph import nodes as graph_nodes

# Load the backend now, outside any rc_context. In a Jupyter kernel, loading
# the inline backend is what switches interactive mode on; had it happened
# inside the rc_context of our first figure, leaving the context would switch
# it off again, and every later figure would silently not be shown.
plt.switch_backend(matplotlib.get_backend())

__all__ = [
    "COLORS",
    "STYLE",
    "draw_graph",
    "plot_activations",
    "plot_decision_boundary",
    "plot_digits",
    "plot_history",
]

# Forward values in green above the edges, gradients in red below: the
# lectures' colour code for computational graphs.
COLORS = {"value": "#2a7f3f", "grad": "#c0392b", "node": "#eef2f7", "edge": "#4a4a4a"}

STYLE = {
    "figure.figsize": (6.0, 3.6),
    "figure.dpi": 100,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "font.size": 10,
    "axes.prop_cycle": matplotlib.cycler(color=["#1f5aa6", "#c0392b", "#2a7f3f", "#8e44ad", "#d68910"]),
}


def _axes(ax, figsize=None):
    if ax is not None:
        return ax.figure, ax
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=figsize or STYLE["figure.figsize"])
    return fig, ax


def plot_history(history, ax=None):
    """Loss (left axis) and accuracy (right axis) per epoch from ``train.train``."""
    with plt.rc_context(STYLE):
        fig, ax = _axes(ax)
        epochs = np.arange(1, len(history["loss"]) + 1)
        ax.plot(epochs, history["loss"], label="training loss")
        if "val_loss" in history:
            ax.plot(epochs, history["val_loss"], "--", label="held-out loss")
        ax.set_xlabel("epoch")
        ax.set_ylabel("loss")
        lines = ax.get_lines()
        acc = [a for a in history.get("accuracy", []) if np.isfinite(a)]
        if acc:
            ax2 = ax.twinx()
            ax2.grid(False)
            ax2.plot(epochs, history["accuracy"], color=COLORS["value"], label="training accuracy")
            if "val_accuracy" in history:
                ax2.plot(epochs, history["val_accuracy"], ":", color=COLORS["value"], label="held-out accuracy")
            ax2.set_ylabel("accuracy")
            ax2.set_ylim(0, 1.02)
            lines = lines + ax2.get_lines()
        ax.legend(lines, [ln.get_label() for ln in lines], loc="center right")
    return fig


def plot_decision_boundary(predict, X, y, ax=None, resolution=200, title=None):
    """Colour the plane by ``predict`` and scatter the 2-D points X by label y.

    ``predict`` maps an (M, 2) array to M class labels.
    """
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"decision boundaries need 2-D points of shape (N, 2), got {X.shape}")
    with plt.rc_context(STYLE):
        fig, ax = _axes(ax, figsize=(4.5, 4.5))
        pad = 0.1 * (X.max(axis=0) - X.min(axis=0)) + 1e-9
        lo, hi = X.min(axis=0) - pad, X.max(axis=0) + pad
        gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], resolution), np.linspace(lo[1], hi[1], resolution))
        labels = np.asarray(predict(np.column_stack([gx.ravel(), gy.ravel()]))).reshape(gx.shape)
        ax.contourf(gx, gy, labels, alpha=0.25, cmap="coolwarm")
        ax.scatter(X[:, 0], X[:, 1], c=y, cmap="coolwarm", edgecolors="k", linewidths=0.4, s=18)
        ax.set_xlim(lo[0], hi[0])
        ax.set_ylim(lo[1], hi[1])
        ax.set_aspect("equal")
        ax.grid(False)
        if title:
            ax.set_title(title)
    return fig


def _activation_curves(z):
    """{name: (g(z), g'(z))} on the grid z, for the figure only (the exercises are the student's to write)."""
    with np.errstate(over="ignore"):
        s = 1.0 / (1.0 + np.exp(-z))
        t = np.tanh(z)
        e = np.expm1(np.minimum(z, 0.0))
    return {
        "sigmoid": (s, s * (1.0 - s)),
        "tanh": (t, 1.0 - t * t),
        "relu": (np.maximum(z, 0.0), (z > 0).astype(float)),
        "leaky_relu": (np.where(z > 0, z, 0.1 * z), np.where(z > 0, 1.0, 0.1)),
        "elu": (np.where(z > 0, z, e), np.where(z > 0, 1.0, e + 1.0)),
        "identity": (z.copy(), np.ones_like(z)),
    }


def plot_activations(names=None, z=None):
    """Each activation g (solid) with its derivative g' (dashed), one panel each."""
    names = list(names or ["sigmoid", "tanh", "relu", "leaky_relu", "elu"])
    z = np.linspace(-4, 4, 401) if z is None else np.asarray(z, dtype=np.float64)
    curves = _activation_curves(z)
    unknown = [n for n in names if n not in curves]
    if unknown:
        raise ValueError(f"unknown activation {unknown[0]!r}: choose from {sorted(curves)}")
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(1, len(names), figsize=(2.6 * len(names), 2.6), sharey=True, squeeze=False)
        for ax, name in zip(axes[0], names):
            g, g_grad = curves[name]
            ax.plot(z, g, label=name)
            ax.plot(z, g_grad, "--", label=f"{name}'")
            ax.axhline(0, color="0.6", lw=0.6)
            ax.axvline(0, color="0.6", lw=0.6)
            ax.set_title(name)
            ax.set_xlabel("z")
            ax.legend(loc="upper left", fontsize=8)
        fig.tight_layout()
    return fig


def plot_digits(images, labels=None, predicted=None, n_cols=10, ax=None):
    """A grid of 8×8 digits; titles show the label (and the prediction if given).

    images : (M, 64) or (M, 8, 8)
    """
    images = np.asarray(images, dtype=np.float64).reshape(-1, 8, 8)
    n = len(images)
    n_rows = max(1, int(np.ceil(n / n_cols)))
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(n_rows, n_cols, figsize=(1.0 * n_cols, 1.15 * n_rows), squeeze=False)
        for i, ax in enumerate(axes.ravel()):
            ax.axis("off")
            if i >= n:
                continue
            ax.imshow(images[i], cmap="gray_r", interpolation="nearest")
            title = "" if labels is None else f"{labels[i]}"
            if predicted is not None:
                title += f"→{predicted[i]}"
            ax.set_title(title, fontsize=9, color=COLORS["grad"] if predicted is not None and labels is not None
                         and predicted[i] != labels[i] else "black")
        fig.tight_layout()
    return fig


def _layout(rows):
    """x by depth (longest path from an input), y spread within each depth."""
    depth = {}
    for r in rows:  # rows are in topological order
        depth[r.index] = 1 + max((depth[p] for p in r.parents), default=-1)
    columns = {}
    for r in rows:
        columns.setdefault(depth[r.index], []).append(r.index)
    pos = {}
    for d, members in columns.items():
        for k, i in enumerate(members):
            pos[i] = (float(d), (len(members) - 1) / 2.0 - k)
    return pos


def draw_graph(root, ax=None, show_grad=True, title=None):
    """Draw the computational graph ending at ``root``, as the lectures do.

    Each node shows its name or operation; each edge carries the forward
    value of the node it leaves (green, above) and that node's gradient
    (red, below). Call ``root.backward()`` first to see gradients.
    """
    rows = graph_nodes(root)
    pos = _layout(rows)
    depth = max(x for x, _ in pos.values()) + 1
    height = max(abs(y) for _, y in pos.values()) * 2 + 1
    with plt.rc_context(STYLE):
        fig, ax = _axes(ax, figsize=(1.9 * depth + 1.0, 1.1 * height + 0.8))
        ax.set_axis_off()
        for r in rows:
            x1, y1 = pos[r.index]
            for p in r.parents:
                x0, y0 = pos[p]
                ax.annotate("", xy=(x1 - 0.16, y1), xytext=(x0 + 0.16, y0),
                            arrowprops=dict(arrowstyle="->", color=COLORS["edge"], lw=1.0))
                src = rows[p]
                mx, my = (x0 + x1) / 2, (y0 + y1) / 2
                ax.text(mx, my + 0.09, f"{src.value:.4g}", color=COLORS["value"], ha="center", va="bottom", fontsize=9)
                if show_grad:
                    ax.text(mx, my - 0.09, f"{src.grad:.4g}", color=COLORS["grad"], ha="center", va="top", fontsize=9)
            text = r.label if not r.op or r.op == "const" else r.op
            ax.text(x1, y1, text, ha="center", va="center", fontsize=10,
                    bbox=dict(boxstyle="circle,pad=0.3", fc=COLORS["node"], ec=COLORS["edge"]))
        out = rows[-1]
        xo, yo = pos[out.index]
        ax.text(xo + 0.3, yo + 0.09, f"{out.value:.4g}", color=COLORS["value"], va="bottom", fontsize=9)
        if show_grad:
            ax.text(xo + 0.3, yo - 0.09, f"{out.grad:.4g}", color=COLORS["grad"], va="top", fontsize=9)
        ax.set_xlim(-0.5, depth - 0.2)
        ax.set_ylim(-height / 2, height / 2)
        if title:
            ax.set_title(title)
    return fig

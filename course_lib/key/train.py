"""Mini-batch gradient descent over ``network`` (lecture 004: GD, SGD, mini-batch)."""

from __future__ import annotations

import sys

import numpy as np
from tqdm import tqdm  # the text bar: tqdm.auto would need ipywidgets in notebooks

from . import network

__all__ = ["accuracy", "train"]


def accuracy(params, X, y, hidden="sigmoid", output="softmax"):
    """Fraction of rows whose prediction equals y (class labels)."""
    pred = network.predict(params, X, hidden, output)
    return float(np.mean(pred == np.asarray(y).reshape(pred.shape)))


def train(
    params,
    X,
    y,
    *,
    hidden="sigmoid",
    output="softmax",
    loss=None,
    reg=0.0,
    lr=0.5,
    epochs=20,
    batch_size=32,
    seed=0,
    X_val=None,
    y_val=None,
    progress=True,
):
    """Train with mini-batch gradient descent: W ← W − η ∂L/∂W.

    Parameters
    ----------
    params : list of (W, b); not modified (a trained copy is returned)
    X : array (N, n_in); y : targets as ``network.loss_and_grads`` takes them
    hidden, output, loss, reg : as in ``network.loss_and_grads``
    lr : learning rate η
    epochs : passes over the data; each visits the rows in a new random order
    batch_size : rows per step (N for full-batch GD, 1 for SGD)
    seed : seed of the shuffling
    X_val, y_val : optional held-out data, evaluated after each epoch
    progress : show a progress bar (on stdout, so notebooks stay stderr-free)

    Returns
    -------
    params : list of (W, b), the trained copy
    history : dict of lists, one entry per epoch: "loss" and "accuracy" on
        the training data (plus "val_loss", "val_accuracy" with X_val);
        accuracy is recorded for softmax and sigmoid outputs only
    """
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y)
    params = [(np.array(W, dtype=np.float64), np.array(b, dtype=np.float64)) for W, b in params]
    if X.ndim != 2 or len(X) != len(y):
        raise ValueError(f"X must be (N, n_in) with one target per row: got X {X.shape} and y {y.shape}")
    if int(batch_size) < 1 or int(epochs) < 0:
        raise ValueError(f"batch_size must be at least 1 and epochs at least 0, got {batch_size} and {epochs}")
    rng = np.random.default_rng(seed)
    N = len(X)
    batch_size = min(int(batch_size), N)
    net_kw = dict(hidden=hidden, output=output)
    classifies = output in ("softmax", "sigmoid")
    history = {"loss": [], "accuracy": []}
    if X_val is not None:
        history.update(val_loss=[], val_accuracy=[])

    bar = tqdm(range(epochs), desc="training", unit="epoch", disable=not progress, file=sys.stdout)
    for _ in bar:
        order = rng.permutation(N)
        for start in range(0, N, batch_size):
            rows = order[start : start + batch_size]
            _, grads = network.loss_and_grads(params, X[rows], y[rows], loss=loss, reg=reg, **net_kw)
            for (W, b), (dW, db) in zip(params, grads):
                W -= lr * dW
                b -= lr * db
        history["loss"].append(network.loss_value(params, X, y, loss=loss, reg=reg, **net_kw))
        history["accuracy"].append(accuracy(params, X, y, **net_kw) if classifies else float("nan"))
        if X_val is not None:
            history["val_loss"].append(network.loss_value(params, X_val, y_val, loss=loss, reg=reg, **net_kw))
            history["val_accuracy"].append(
                accuracy(params, X_val, y_val, **net_kw) if classifies else float("nan")
            )
        bar.set_postfix(loss=f"{history['loss'][-1]:.4f}", acc=f"{history['accuracy'][-1]:.3f}")
    return params, history

"""Data sets: real handwritten digits shipped in the package, and toy 2-D sets.

The digits are the 8×8 images of the UCI "Optical Recognition of Handwritten
Digits" data set (E. Alpaydin and C. Kaynak, 1998; the 1,797-image test part,
as distributed with scikit-learn), licensed CC BY 4.0:
https://doi.org/10.24432/C50P49 . Each pixel counts, 0..16, how many pixels of
a 4×4 block of the original 32×32 bitmap were set. They are stored in
``course_lib/datasets/digits.npz`` and loaded from disk: no network needed.
"""

from __future__ import annotations

from importlib import resources

import numpy as np

__all__ = ["STARTING_SIZES", "load_digits", "load_starting_weights", "make_spirals", "make_xor", "train_test_split"]

DIGITS_SOURCE = (
    "UCI Optical Recognition of Handwritten Digits (Alpaydin & Kaynak, 1998), "
    "CC BY 4.0, https://doi.org/10.24432/C50P49"
)


def load_digits(flatten=True, scale=True):
    """The 1,797 handwritten digits.

    Parameters
    ----------
    flatten : bool
        True: X has shape (1797, 64), one image per row (the network's
        layout). False: images of shape (1797, 8, 8) for plotting.
    scale : bool
        True: pixels divided by 16, into [0, 1]. False: the raw counts 0..16.

    Returns
    -------
    X : float64 array, (1797, 64) or (1797, 8, 8)
    y : int64 array, (1797,), the digit 0..9 each image shows
    """
    with resources.files("course_lib").joinpath("datasets/digits.npz").open("rb") as fh:
        with np.load(fh) as data:
            images, labels = data["images"], data["labels"]
    X = images.astype(np.float64)
    if scale:
        X /= 16.0
    if flatten:
        X = X.reshape(len(X), -1)
    return X, labels.astype(np.int64)


# The networks notebook 05 trains, by layer sizes [n_0, n_1, n_2].
STARTING_SIZES = ((64, 16, 10), (64, 64, 10))


def load_starting_weights(sizes):
    """Notebook 05's starting weights: [(W1, b1), (W2, b2)] for sizes [64, 16, 10] or [64, 64, 10].

    Xavier-normal weights W of shape (n_out, n_in), drawn once with seed 0 and
    stored in ``course_lib/datasets/starting_weights.npz``; zero biases.
    Notebook 06 has you write the initializer that draws them; until then,
    notebook 05 starts from these. Returns fresh copies.
    """
    key = "-".join(str(int(n)) for n in sizes)
    if tuple(int(n) for n in sizes) not in STARTING_SIZES:
        known = ", ".join(str(list(s)) for s in STARTING_SIZES)
        raise ValueError(f"no stored starting weights for sizes {list(sizes)}: there are {known}")
    with resources.files("course_lib").joinpath("datasets/starting_weights.npz").open("rb") as fh:
        with np.load(fh) as stored:
            return [(stored[f"{key}/W{l}"].copy(), np.zeros(stored[f"{key}/W{l}"].shape[0]))
                    for l in range(1, len(sizes))]


def train_test_split(X, y, test_fraction=0.25, seed=0):
    """Shuffle and split, keeping each class's share equal in both parts.

    Returns X_train, X_test, y_train, y_test.
    """
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must lie strictly between 0 and 1, got {test_fraction}")
    X, y = np.asarray(X), np.asarray(y)
    if len(X) != len(y):
        raise ValueError(f"X has {len(X)} rows but y has {len(y)} labels")
    rng = np.random.default_rng(seed)
    test = []
    for c in np.unique(y):
        members = rng.permutation(np.flatnonzero(y == c))
        test.extend(members[: int(round(test_fraction * len(members)))])
    is_test = np.zeros(len(y), dtype=bool)
    is_test[test] = True
    if is_test.all() or not is_test.any():
        raise ValueError(
            f"{len(y)} samples are too few to split with test_fraction={test_fraction}: "
            "one of the two parts would be empty"
        )
    train_idx = rng.permutation(np.flatnonzero(~is_test))
    test_idx = rng.permutation(np.flatnonzero(is_test))
    return X[train_idx], X[test_idx], y[train_idx], y[test_idx]


def make_xor(n=200, noise=0.2, seed=0):
    """Points around the four corners (±1, ±1); class 1 where the signs differ.

    Not separable by a line, so a network needs a hidden layer.
    Returns X (n, 2) float64 and y (n,) int64.
    """
    rng = np.random.default_rng(seed)
    corners = rng.choice([-1.0, 1.0], size=(n, 2))
    X = corners + noise * rng.standard_normal((n, 2))
    y = (corners[:, 0] != corners[:, 1]).astype(np.int64)
    return X, y


def make_spirals(n_per_class=100, n_classes=3, noise=0.2, seed=0):
    """Interleaved spiral arms, one per class.

    Returns X (n_per_class·n_classes, 2) float64 and y int64 labels 0..n_classes−1.
    """
    rng = np.random.default_rng(seed)
    X, y = [], []
    for c in range(n_classes):
        r = np.linspace(0.0, 1.0, n_per_class)
        theta = np.linspace(c * 4.0, (c + 1) * 4.0, n_per_class) + noise * rng.standard_normal(n_per_class)
        X.append(np.column_stack([r * np.sin(theta), r * np.cos(theta)]))
        y.append(np.full(n_per_class, c))
    return np.concatenate(X), np.concatenate(y).astype(np.int64)

"""Data sets (course_lib.data): the shipped digits and the toy 2-D sets.

Oracles: the file's sha256 and the class counts of the 1,797-image UCI
digits test set (hard-coded), the construction rules of the toy sets
re-derived here (XOR sign rule, spiral radius), and set properties of the
split computed with an id column. Comparisons are exact unless stated.
"""

import hashlib
import socket
from importlib import resources

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from course_lib import data

# sha256 of course_lib/datasets/digits.npz as shipped; a change to the file
# (re-export, different compression, edited pixels) must be deliberate.
DIGITS_SHA256 = "b2dab7b501728c22e9119ad76740b2e17c77a231e42d1e592380d90886f1a05e"
# Images per digit 0..9 in the 1,797-image UCI test set.
DIGITS_CLASS_COUNTS = [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]


@pytest.fixture(scope="module")
def digits_raw():
    return data.load_digits(flatten=False, scale=False)


# ------------------------------------------------------------------ digits


def test_shipped_digits_file_has_the_recorded_checksum():
    blob = resources.files("course_lib").joinpath("datasets/digits.npz").read_bytes()
    assert hashlib.sha256(blob).hexdigest() == DIGITS_SHA256


def test_load_digits_flat_has_shape_1797_by_64_float64_and_int64_labels():
    X, y = data.load_digits()
    assert X.shape == (1797, 64) and X.dtype == np.float64
    assert y.shape == (1797,) and y.dtype == np.int64


def test_load_digits_images_have_shape_1797_by_8_by_8(digits_raw):
    X, y = digits_raw
    assert X.shape == (1797, 8, 8) and X.dtype == np.float64
    assert y.shape == (1797,) and y.dtype == np.int64


def test_flat_rows_are_the_images_read_row_by_row(digits_raw):
    X_flat, y_flat = data.load_digits(flatten=True, scale=False)
    X_img, y_img = digits_raw
    assert np.array_equal(X_flat, X_img.reshape(1797, 64))
    assert np.array_equal(y_flat, y_img)


def test_scaled_pixels_lie_in_0_1_and_raw_pixels_are_counts_0_to_16(digits_raw):
    X_raw, _ = digits_raw
    X_scaled, _ = data.load_digits(flatten=False, scale=True)
    assert np.all(X_raw == np.round(X_raw))  # whole numbers
    assert X_raw.min() == 0 and X_raw.max() == 16
    assert set(np.unique(X_raw).tolist()) <= set(range(17))
    assert X_scaled.min() == 0.0 and X_scaled.max() == 1.0
    # division by 16 is exact in binary floating point
    assert np.array_equal(X_scaled * 16.0, X_raw)


def test_each_digit_has_between_174_and_183_images(digits_raw):
    _, y = digits_raw
    assert set(np.unique(y).tolist()) == set(range(10))
    counts = np.bincount(y, minlength=10)
    assert counts.sum() == 1797
    assert counts.min() >= 174 and counts.max() <= 183
    assert counts.tolist() == DIGITS_CLASS_COUNTS


def test_each_load_returns_fresh_arrays_the_caller_may_change():
    X1, y1 = data.load_digits()
    X1[:] = -1.0
    y1[:] = -1
    X2, y2 = data.load_digits()
    assert X2.min() == 0.0 and y2.min() == 0


def test_load_digits_works_with_networking_disabled(monkeypatch):
    def no_network(*args, **kwargs):
        raise OSError("network disabled in this test")

    monkeypatch.setattr(socket, "socket", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    with pytest.raises(OSError):
        socket.socket()  # the patch is in force
    X, y = data.load_digits()
    assert X.shape == (1797, 64) and y.shape == (1797,)


# ------------------------------------------------------- train_test_split


def _with_ids(n, n_features=3, seed=0):
    """X whose column 0 is the row id, so rows can be traced through the split."""
    rng = np.random.default_rng(seed)
    return np.column_stack([np.arange(n, dtype=np.float64), rng.standard_normal((n, n_features))])


def _check_split(X, y, fraction, parts):
    X_tr, X_te, y_tr, y_te = parts
    ids_tr, ids_te = X_tr[:, 0].astype(int), X_te[:, 0].astype(int)
    # disjoint and complete
    assert len(set(ids_tr) & set(ids_te)) == 0
    assert np.array_equal(np.sort(np.concatenate([ids_tr, ids_te])), np.arange(len(y)))
    # rows travel whole: features and labels stay with their id
    assert np.array_equal(X_tr, X[ids_tr]) and np.array_equal(X_te, X[ids_te])
    assert np.array_equal(y_tr, y[ids_tr]) and np.array_equal(y_te, y[ids_te])
    # stratified: each class's test share within one image of the target
    for c in np.unique(y):
        n_c = int(np.sum(y == c))
        assert abs(int(np.sum(y_te == c)) - fraction * n_c) <= 1.0


def test_split_of_the_digits_is_stratified_disjoint_and_complete():
    X, y = data.load_digits(scale=False)
    X = np.column_stack([np.arange(len(y)), X])
    parts = data.train_test_split(X, y, test_fraction=0.25, seed=0)
    _check_split(X, y, 0.25, parts)
    # overall size: per class round(0.25·n_c), summed
    assert len(parts[1]) == sum(int(round(0.25 * n)) for n in DIGITS_CLASS_COUNTS)


@given(
    labels=st.lists(st.integers(0, 4), min_size=2, max_size=60),
    fraction=st.floats(0.05, 0.95),
    seed=st.integers(0, 2**32 - 1),
)
def test_split_is_stratified_disjoint_and_complete_for_any_labels(labels, fraction, seed):
    y = np.array(labels)
    X = _with_ids(len(y))
    n_test = sum(int(round(fraction * np.sum(y == c))) for c in np.unique(y))
    if n_test in (0, len(y)):  # one part would be empty: refused with a message
        with pytest.raises(ValueError, match="too few to split"):
            data.train_test_split(X, y, test_fraction=fraction, seed=seed)
        return
    _check_split(X, y, fraction, data.train_test_split(X, y, test_fraction=fraction, seed=seed))


def test_same_seed_gives_the_same_split_and_another_seed_a_different_one():
    y = np.repeat(np.arange(3), 40)
    X = _with_ids(len(y))
    a = data.train_test_split(X, y, test_fraction=0.3, seed=7)
    b = data.train_test_split(X, y, test_fraction=0.3, seed=7)
    c = data.train_test_split(X, y, test_fraction=0.3, seed=8)
    for pa, pb in zip(a, b):
        assert np.array_equal(pa, pb)
    # 120 rows: two seeds choosing the same 36 test ids in the same order is
    # astronomically unlikely (and seeds 7, 8 are fixed, so this is deterministic)
    assert not np.array_equal(a[1][:, 0], c[1][:, 0])
    assert set(a[1][:, 0]) != set(c[1][:, 0])


@pytest.mark.parametrize("bad", [0.0, 1.0, -0.1, 1.5])
def test_test_fraction_outside_0_1_raises_value_error(bad):
    X = _with_ids(10)
    with pytest.raises(ValueError, match="test_fraction"):
        data.train_test_split(X, np.zeros(10, dtype=int), test_fraction=bad)


def test_split_with_mismatched_lengths_raises_value_error():
    with pytest.raises(ValueError):
        data.train_test_split(_with_ids(10), np.zeros(9, dtype=int))


# ------------------------------------------------------------- toy sets


def test_make_xor_has_shapes_dtypes_and_binary_labels():
    X, y = data.make_xor(n=50, noise=0.2, seed=1)
    assert X.shape == (50, 2) and X.dtype == np.float64
    assert y.shape == (50,) and y.dtype == np.int64
    assert set(np.unique(y).tolist()) <= {0, 1}


@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 80))
def test_make_xor_without_noise_puts_points_on_corners_labelled_by_the_sign_rule(seed, n):
    X, y = data.make_xor(n=n, noise=0.0, seed=seed)
    assert set(np.abs(X).ravel().tolist()) == {1.0}  # exactly the corners (±1, ±1)
    # class 1 exactly where the two coordinates have different signs
    assert np.array_equal(y, (np.sign(X[:, 0]) != np.sign(X[:, 1])).astype(np.int64))
    assert np.array_equal(y == 1, X[:, 0] * X[:, 1] < 0)


def test_make_xor_with_small_noise_keeps_the_sign_rule():
    # noise 0.2 moves a point by > 1 (changing a sign) with probability ~1e-6 per coordinate
    X, y = data.make_xor(n=400, noise=0.2, seed=3)
    agree = np.mean(y == (X[:, 0] * X[:, 1] < 0))
    assert agree == 1.0


def test_make_xor_is_deterministic_by_seed():
    a, b, c = (data.make_xor(n=30, seed=s) for s in (5, 5, 6))
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0])


def test_make_spirals_has_shapes_dtypes_and_balanced_labels():
    X, y = data.make_spirals(n_per_class=40, n_classes=4, noise=0.1, seed=0)
    assert X.shape == (160, 2) and X.dtype == np.float64
    assert y.shape == (160,) and y.dtype == np.int64
    assert np.bincount(y).tolist() == [40] * 4


@given(seed=st.integers(0, 2**32 - 1), noise=st.floats(0, 1), k=st.integers(1, 5))
def test_spiral_points_lie_at_radius_linspace_0_1_whatever_the_angle_noise(seed, noise, k):
    n = 25
    X, y = data.make_spirals(n_per_class=n, n_classes=k, noise=noise, seed=seed)
    # each arm is (r sin θ, r cos θ) with r = 0..1 evenly: |point| = r (rtol 1e-12)
    radius = np.hypot(X[:, 0], X[:, 1])
    for c in range(k):
        np.testing.assert_allclose(radius[y == c], np.linspace(0, 1, n), rtol=1e-12, atol=1e-15)


def test_spirals_without_noise_follow_their_angle_range():
    n = 30
    X, y = data.make_spirals(n_per_class=n, n_classes=3, noise=0.0, seed=0)
    r = np.linspace(0, 1, n)
    for c in range(3):
        theta = np.linspace(4.0 * c, 4.0 * (c + 1), n)
        np.testing.assert_allclose(X[y == c], np.column_stack([r * np.sin(theta), r * np.cos(theta)]),
                                   rtol=1e-12, atol=1e-15)


def test_make_spirals_is_deterministic_by_seed():
    a, b, c = (data.make_spirals(n_per_class=20, seed=s) for s in (2, 2, 3))
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0])


def test_a_split_that_would_leave_a_part_empty_is_refused():
    from course_lib import data as d
    with pytest.raises(ValueError, match="too few to split"):
        d.train_test_split(np.arange(2)[:, None], np.array([0, 1]), 0.25)


def test_notebook_05_starting_weights_are_xavier_draws_with_zero_biases():
    from course_lib import data as d
    from course_lib.key.network import init_params

    for sizes in d.STARTING_SIZES:
        stored = d.load_starting_weights(list(sizes))
        drawn = init_params(list(sizes), "xavier", seed=0)  # the answer key's initializer, seed 0
        assert len(stored) == len(sizes) - 1
        for (W, b), (W_ref, b_ref) in zip(stored, drawn):
            assert W.shape == W_ref.shape and np.array_equal(W, W_ref) and np.array_equal(b, np.zeros_like(b_ref))
    first = d.load_starting_weights([64, 16, 10])
    first[0][0][:] = 0.0  # a copy each time: changing one does not change the next
    assert np.any(d.load_starting_weights([64, 16, 10])[0][0] != 0)
    with pytest.raises(ValueError, match=r"no stored starting weights for sizes \[3, 4, 2\]"):
        d.load_starting_weights([3, 4, 2])

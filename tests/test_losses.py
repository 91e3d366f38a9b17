"""Losses against independent oracles.

Oracles: per-row Python loops with the math module (the definitions written
out), centered finite differences of the loss for every grad, and hand values.
Tolerances: values rtol 1e-12; gradients vs finite differences atol 1e-8.
"""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from course_lib.key import losses
from course_lib.key.activations import sigmoid, softmax
from course_lib.key.gradcheck import numerical_gradient


def _batch(draw_seed, n, k, kind):
    rng = np.random.default_rng(draw_seed)
    if kind == "probs":
        return rng.uniform(0.05, 0.95, size=(n, k))
    if kind == "simplex":
        return softmax(rng.normal(size=(n, k)))
    return rng.normal(size=(n, k))


shapes = st.tuples(st.integers(1, 6), st.integers(1, 5), st.integers(0, 2**31))


def _fd_check(loss_fn, x, *rest):
    value, grad = loss_fn(x, *rest)
    assert grad.shape == x.shape
    numeric = numerical_gradient(lambda: loss_fn(x, *rest)[0], x)
    np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-8)
    return value


@given(shapes)
def test_squared_error_is_half_the_summed_square_averaged_over_rows(nks):
    n, k, seed = nks
    y_hat, t = _batch(seed, n, k, "normal"), _batch(seed + 1, n, k, "normal")
    oracle = sum(0.5 * sum((t[i, j] - y_hat[i, j]) ** 2 for j in range(k)) for i in range(n)) / n
    assert _fd_check(losses.squared_error, y_hat, t) == pytest.approx(oracle, rel=1e-12)


@given(shapes)
def test_binary_cross_entropy_sums_outputs_and_averages_rows(nks):
    n, k, seed = nks
    p = _batch(seed, n, k, "probs")
    t = (np.random.default_rng(seed + 2).random((n, k)) < 0.5).astype(float)
    oracle = -sum(
        t[i, j] * math.log(p[i, j]) + (1 - t[i, j]) * math.log(1 - p[i, j]) for i in range(n) for j in range(k)
    ) / n
    assert _fd_check(losses.binary_cross_entropy, p, t) == pytest.approx(oracle, rel=1e-12)


@given(shapes)
def test_sigmoid_binary_cross_entropy_equals_bce_of_sigmoid(nks):
    n, k, seed = nks
    z = _batch(seed, n, k, "normal") * 3
    t = np.random.default_rng(seed).uniform(size=(n, k))
    value = _fd_check(losses.sigmoid_binary_cross_entropy, z, t)
    assert value == pytest.approx(losses.binary_cross_entropy(sigmoid(z), t)[0], rel=1e-11)


def test_sigmoid_binary_cross_entropy_is_finite_for_confident_mistakes():
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        value, grad = losses.sigmoid_binary_cross_entropy(np.array([[1000.0], [-1000.0]]), np.array([[0.0], [1.0]]))
    assert value == pytest.approx(1000.0)  # −log σ(−1000) = 1000 for each row, averaged
    np.testing.assert_allclose(grad, [[0.5], [-0.5]])


@given(shapes)
def test_cross_entropy_is_mean_negative_log_of_the_true_class(nks):
    n, k, seed = nks
    probs = _batch(seed, n, k, "simplex")
    labels = np.random.default_rng(seed).integers(0, k, n)
    oracle = -sum(math.log(probs[i, labels[i]]) for i in range(n)) / n
    assert _fd_check(losses.cross_entropy, probs, labels) == pytest.approx(oracle, rel=1e-12)


@given(shapes)
def test_softmax_cross_entropy_gradient_is_probs_minus_onehot_over_n(nks):
    n, k, seed = nks
    logits = _batch(seed, n, k, "normal") * 4
    labels = np.random.default_rng(seed).integers(0, k, n)
    value = _fd_check(losses.softmax_cross_entropy, logits, labels)
    assert value == pytest.approx(losses.cross_entropy(softmax(logits), labels)[0], rel=1e-11)
    expected = (softmax(logits) - np.eye(k)[labels]) / n
    np.testing.assert_allclose(losses.softmax_cross_entropy(logits, labels)[1], expected, rtol=1e-12, atol=1e-17)


def test_one_sample_is_a_batch_of_one():
    a = np.array([2.0, 1.0, 0.1])
    v1, g1 = losses.softmax_cross_entropy(a, 0)
    vb, gb = losses.softmax_cross_entropy(a[None, :], np.array([0]))
    assert v1 == pytest.approx(vb, rel=1e-15)
    np.testing.assert_allclose(g1, gb[0])
    # ŷ − e(ℓ) for one sample (lecture 003: ∇_a L = −(e(ℓ) − ŷ))
    np.testing.assert_allclose(g1, softmax(a) - np.array([1.0, 0, 0]), rtol=1e-14)
    v, g = losses.squared_error(0.69, 0.5)
    assert v == pytest.approx(0.5 * 0.19**2) and float(g) == pytest.approx(0.19)


def test_softmax_cross_entropy_survives_extreme_logits():
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        value, grad = losses.softmax_cross_entropy(np.array([[1000.0, -1000.0]]), np.array([1]))
    assert value == pytest.approx(2000.0)
    np.testing.assert_allclose(grad, [[1.0, -1.0]])


def test_cross_entropy_of_a_zero_probability_is_large_but_finite():
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        value, grad = losses.cross_entropy(np.array([[1.0, 0.0]]), np.array([1]))
    assert math.isfinite(value) and value > 700
    assert np.all(np.isfinite(grad))


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: losses.squared_error(np.zeros((2, 3)), np.zeros((3, 2))), r"shape \(2, 3\).*shape \(3, 2\)"),
        (lambda: losses.cross_entropy(np.full((2, 3), 1 / 3), np.array([0, 3])), r"labels must lie in 0\.\.2"),
        (lambda: losses.cross_entropy(np.full((2, 3), 1 / 3), np.array([0, 1, 2])), r"labels of shape \(2,\)"),
        (lambda: losses.softmax_cross_entropy(np.zeros((2, 3)), np.array([0.5, 1])), "integer class labels"),
        (lambda: losses.softmax_cross_entropy(np.zeros((2, 3, 4)), np.zeros((2, 3), int)), r"\(N, k\) or \(k,\)"),
    ],
)
def test_bad_input_gets_a_message_naming_the_problem(call, message):
    with pytest.raises((ValueError, TypeError), match=message):
        call()


def test_integer_valued_float_labels_are_accepted():
    value, _ = losses.cross_entropy(np.full((2, 2), 0.5), np.array([0.0, 1.0]))
    assert value == pytest.approx(math.log(2))


def test_registry_maps_names_to_the_losses():
    assert losses.LOSSES == {
        "squared_error": losses.squared_error,
        "binary_cross_entropy": losses.binary_cross_entropy,
        "cross_entropy": losses.cross_entropy,
    }

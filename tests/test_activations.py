"""Activations against independent oracles.

Oracles: Python's math module evaluated per element (closed forms), centered
finite differences of the function itself (for every *_grad), and the
defining properties of softmax. Tolerances: closed forms rtol 1e-12;
derivatives vs finite differences atol 1e-8 (ε = 1e-6 on O(1) functions
gives round-off ~1e-10 and truncation ~1e-12).
"""

import math
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays

from course_lib.key import activations as act

finite = st.floats(-30, 30, allow_nan=False, allow_infinity=False)
z_arrays = arrays(np.float64, array_shapes(min_dims=0, max_dims=3, max_side=5), elements=finite)


def _math_sigmoid(v):
    return 1.0 / (1.0 + math.exp(-v)) if v >= 0 else math.exp(v) / (1.0 + math.exp(v))


SCALAR_ORACLES = {
    "sigmoid": _math_sigmoid,
    "tanh": math.tanh,
    "relu": lambda v: max(v, 0.0),
    "leaky_relu": lambda v: v if v > 0 else 0.1 * v,
    "elu": lambda v: v if v > 0 else math.expm1(v),
    "identity": lambda v: v,
}


@pytest.mark.parametrize("name", sorted(SCALAR_ORACLES))
@given(z=z_arrays)
def test_activation_matches_its_closed_form_elementwise(name, z):
    f, _ = act.ACTIVATIONS[name]
    expected = np.vectorize(SCALAR_ORACLES[name], otypes=[float])(z) if z.size else z
    got = f(z)
    assert got.shape == z.shape
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-300)


def _away_from_kinks(z, name):
    # ReLU-type functions have a kink at 0: finite differences straddling it
    # measure the average of the two slopes, not either derivative.
    if name in ("relu", "leaky_relu", "elu"):
        return np.where(np.abs(z) < 1e-3, 0.5, z)
    return z


@pytest.mark.parametrize("name", sorted(act.ACTIVATIONS))
@given(z=arrays(np.float64, array_shapes(min_dims=1, max_dims=2, max_side=6), elements=st.floats(-8, 8)))
def test_derivative_matches_centered_differences(name, z):
    f, f_grad = act.ACTIVATIONS[name]
    z = _away_from_kinks(z, name)
    eps = 1e-6
    numeric = (f(z + eps) - f(z - eps)) / (2 * eps)
    np.testing.assert_allclose(f_grad(z), numeric, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("name", sorted(act.ACTIVATIONS))
def test_no_overflow_warning_or_nan_up_to_a_thousand(name):
    f, f_grad = act.ACTIVATIONS[name]
    z = np.array([-1000.0, -745.0, -709.9, -50.0, 0.0, 50.0, 709.9, 745.0, 1000.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any RuntimeWarning fails the test
        with np.errstate(over="raise", divide="raise", invalid="raise"):
            values, grads = f(z), f_grad(z)
    assert np.all(np.isfinite(values)) and np.all(np.isfinite(grads))


def test_sigmoid_limits_and_symmetry():
    z = np.array([-1000.0, -40.0, -5.0, 0.0, 5.0, 40.0, 1000.0])
    s = act.sigmoid(z)
    assert s[0] == 0.0 and s[-1] == 1.0 and s[3] == 0.5
    # σ(−z) = 1 − σ(z); for large negative z, σ keeps full *relative* precision
    np.testing.assert_allclose(act.sigmoid(-z[1:-1]), 1 - s[1:-1], rtol=1e-12, atol=1e-16)
    assert act.sigmoid(-40.0) == pytest.approx(math.exp(-40.0) / (1 + math.exp(-40.0)), rel=1e-14)


def test_sigmoid_grad_is_sigma_times_one_minus_sigma_at_the_lecture_point():
    # Lecture 002: the neuron's dot product is 1; σ(1) = 0.73, σ'(1) = 0.20.
    s = 1 / (1 + math.exp(-1))
    assert float(act.sigmoid(1.0)) == pytest.approx(s, rel=1e-15)
    assert float(act.sigmoid_grad(1.0)) == pytest.approx(s * (1 - s), rel=1e-15)
    assert round(float(act.sigmoid(1.0)), 2) == 0.73
    assert round(float(act.sigmoid_grad(1.0)), 2) == 0.20


def test_relu_derivative_at_the_kink_is_zero_and_leaky_is_alpha():
    assert float(act.relu_grad(0.0)) == 0.0
    assert float(act.leaky_relu_grad(0.0, alpha=0.2)) == 0.2
    assert float(act.leaky_relu(-2.0, alpha=0.2)) == pytest.approx(-0.4)
    assert float(act.elu(-1.0, alpha=2.0)) == pytest.approx(2 * math.expm1(-1.0))
    assert float(act.elu_grad(-1.0, alpha=2.0)) == pytest.approx(2 * math.exp(-1.0))


def test_scalars_lists_and_ints_are_accepted():
    assert act.sigmoid(0).shape == ()
    np.testing.assert_allclose(act.tanh([0, 1]), [0.0, math.tanh(1)], rtol=1e-15)
    assert act.relu(np.array([1, -1])).dtype == np.float64


# --------------------------------------------------------------- softmax


@given(a=arrays(np.float64, array_shapes(min_dims=1, max_dims=3, max_side=6), elements=st.floats(-50, 50)))
def test_softmax_rows_are_distributions_matching_the_naive_formula(a):
    y = act.softmax(a)
    assert y.shape == a.shape
    np.testing.assert_allclose(y.sum(axis=-1), 1.0, rtol=1e-13)
    assert np.all(y > 0)
    naive = np.exp(a) / np.exp(a).sum(axis=-1, keepdims=True)  # safe: |a| ≤ 50
    np.testing.assert_allclose(y, naive, rtol=1e-12)


@given(a=arrays(np.float64, (4,), elements=st.floats(-5, 5)), c=st.floats(-500, 500))
def test_softmax_is_unchanged_by_adding_a_constant(a, c):
    np.testing.assert_allclose(act.softmax(a + c), act.softmax(a), rtol=1e-9)


def test_softmax_of_huge_scores_neither_overflows_nor_nans():
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        y = act.softmax(np.array([[1000.0, 0.0, -1000.0], [1000.0, 1000.0, 1000.0]]))
    np.testing.assert_allclose(y[0], [1.0, 0.0, 0.0], atol=1e-300)
    np.testing.assert_allclose(y[1], [1 / 3] * 3, rtol=1e-15)


@given(a=arrays(np.float64, st.integers(1, 6), elements=st.floats(-6, 6)))
def test_softmax_jacobian_matches_centered_differences(a):
    J = act.softmax_jacobian(a)
    k = a.size
    eps = 1e-6
    numeric = np.empty((k, k))
    for j in range(k):
        step = np.zeros(k)
        step[j] = eps
        numeric[:, j] = (act.softmax(a + step) - act.softmax(a - step)) / (2 * eps)
    np.testing.assert_allclose(J, numeric, atol=1e-9)
    np.testing.assert_allclose(J, J.T, rtol=0, atol=1e-17)  # diag(ŷ) − ŷŷᵀ is symmetric
    np.testing.assert_allclose(J.sum(axis=0), 0.0, atol=1e-15)  # probabilities keep summing to 1


def test_softmax_jacobian_rejects_a_batch_with_a_clear_message():
    with pytest.raises(ValueError, match=r"shape \(k,\)"):
        act.softmax_jacobian(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="scalar"):
        act.softmax(1.0)


def test_registry_lists_every_elementwise_activation_with_its_derivative():
    assert set(act.ACTIVATIONS) == {"sigmoid", "tanh", "relu", "leaky_relu", "elu", "identity"}
    assert act.ACTIVATIONS["sigmoid"] == (act.sigmoid, act.sigmoid_grad)
    assert act.ACTIVATIONS["elu"] == (act.elu, act.elu_grad)

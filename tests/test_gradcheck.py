"""The gradient checker: right answers on known functions, and it flags planted bugs."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays

from course_lib.key import gradcheck as gc
from course_lib.key import network as net


@given(x=arrays(np.float64, array_shapes(min_dims=0, max_dims=3, max_side=4), elements=st.floats(-3, 3)),
       seed=st.integers(0, 1000))
def test_numerical_gradient_of_a_quadratic_is_exact_up_to_round_off(x, seed):
    # f(x) = ½ xᵀAx + cᵀx has ∇f = ½(A + Aᵀ)x + c; centered differences have no
    # truncation error on a quadratic, so only round-off remains: a few
    # u·(size of the terms) per evaluation, divided by ε (u = 2.2e-16, ε = 1e-6).
    rng = np.random.default_rng(seed)
    n = x.size
    A, c = rng.normal(size=(n, n)), rng.normal(size=n)

    def f():
        v = x.reshape(-1)
        return 0.5 * v @ A @ v + c @ v

    expected = (0.5 * (A + A.T) @ x.reshape(-1) + c).reshape(x.shape)
    got = gc.numerical_gradient(f, x)
    assert got.shape == x.shape
    v = np.abs(x.reshape(-1))
    magnitude = 0.5 * v @ np.abs(A) @ v + np.abs(c) @ v  # size of the terms f sums
    round_off = 50 * np.finfo(float).eps * max(magnitude, 1.0) / 1e-6
    np.testing.assert_allclose(got, expected, rtol=0, atol=round_off)


def test_x_is_restored_exactly_even_when_f_raises():
    x = np.array([[0.1, 0.2], [0.3, 1e-300]])
    original = x.copy()
    gc.numerical_gradient(lambda: np.sum(np.sin(x)), x)
    assert np.array_equal(x, original) and x.tobytes() == original.tobytes()
    calls = []

    def explode():
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("boom")
        return float(x.sum())

    with pytest.raises(RuntimeError):
        gc.numerical_gradient(explode, x)
    assert x.tobytes() == original.tobytes()


def test_f_may_take_x_as_its_argument():
    x = np.array([1.0, 2.0, 3.0])
    np.testing.assert_allclose(gc.numerical_gradient(lambda v: np.sum(v**3), x), 3 * x**2, rtol=1e-8)


def test_numerical_gradient_refuses_what_it_cannot_nudge():
    with pytest.raises(TypeError, match="float numpy array"):
        gc.numerical_gradient(lambda: 0.0, [1.0, 2.0])
    with pytest.raises(TypeError, match="dtype int64"):
        gc.numerical_gradient(lambda: 0.0, np.arange(3))


def test_relative_error_definition():
    assert gc.relative_error([1.0, 2.0], [1.0, 2.0]) == 0.0
    assert gc.relative_error([0.0], [0.0]) == 0.0  # both exactly zero: agreement
    assert gc.relative_error([1.0], [-1.0]) == 1.0  # flipped sign: the maximum
    assert gc.relative_error([1.0, 100.0], [1.1, 100.0]) == pytest.approx(0.1 / 2.1)  # the max element
    assert gc.relative_error(3.0, 3.0) == 0.0
    with pytest.raises(ValueError, match=r"shapes \(2,\) and \(3,\)"):
        gc.relative_error(np.zeros(2), np.zeros(3))


@pytest.mark.parametrize("err, word", [(1e-9, "correct"), (1e-6, "probably correct"), (1e-4, "suspicious"),
                                       (0.3, "wrong"), (np.nan, "wrong")])
def test_verdicts_follow_the_thresholds(err, word):
    assert gc.verdict(err)[0] == word


# -------------------------------------------------- planted bugs are flagged


def _square_net():
    # Square weight matrices, so that a transposed gradient keeps its shape
    # and only the numbers can give it away.
    rng = np.random.default_rng(0)
    params = net.init_params([4, 4, 4], seed=0)
    X, y = rng.normal(size=(6, 4)), rng.integers(0, 4, 6)
    return params, X, y


def _planted(grads, bug):
    out = []
    for l, (dW, db) in enumerate(grads):
        if l == 0:
            dW, db = {"transposed": (dW.T, db), "missing 1/N": (dW * 6, db * 6), "flipped sign": (-dW, -db)}[bug]
        out.append((dW, db))
    return out


def test_correct_gradients_are_reported_correct():
    params, X, y = _square_net()
    report = gc.check_network_gradients(params, X, y)
    assert report.ok and report.max_error < 1e-7
    assert [c.verdict for c in report.checks] == ["correct"] * 4
    assert "W1" in str(report) and "correct" in str(report)


@pytest.mark.parametrize("bug", ["transposed", "missing 1/N", "flipped sign"])
def test_planted_bugs_are_reported_wrong(bug):
    params, X, y = _square_net()
    _, grads = net.loss_and_grads(params, X, y)
    report = gc.check_network_gradients(params, X, y, grads=_planted(grads, bug))
    assert not report.ok
    assert report.checks[0].verdict == "wrong"  # W1 carries the bug
    assert all(c.verdict == "correct" for c in report.checks[2:])  # layer 2 is untouched


def test_a_transposed_non_square_gradient_is_named_as_such():
    params = net.init_params([3, 5, 2], seed=0)
    X, y = np.random.default_rng(0).normal(size=(4, 3)), np.array([0, 1, 1, 0])
    _, grads = net.loss_and_grads(params, X, y)
    grads[0] = (grads[0][0].T, grads[0][1])
    report = gc.check_network_gradients(params, X, y, grads=grads)
    assert report.checks[0].verdict == "wrong" and "looks transposed" in report.checks[0].why


def test_round_off_on_tiny_gradients_does_not_read_as_a_bug():
    # The benchmark network: many W¹ elements are ~1e-8, where
    # float64 centered differences carry ~1e-10 of round-off. A plain max
    # relative error reports ~1e-3 ("wrong") for the *right* gradient.
    params = net.init_params([64, 128, 64, 10], seed=0)
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(4, 64)), rng.integers(0, 10, 4)
    _, grads = net.loss_and_grads(params, X, y)
    f = lambda: net.loss_value(params, X, y)  # noqa: E731
    plain = gc.relative_error(grads[0][0], gc.numerical_gradient(f, params[0][0]))
    assert plain > 1e-5  # the problem is real
    report = gc.check_network_gradients(params, X, y)
    assert report.ok, str(report)
    assert [c.verdict for c in report.checks] == ["correct"] * 6


# ------------------------------------------------- random-direction check


def _flat(params_or_grads):
    return [a for layer in params_or_grads for a in layer]


def test_directional_check_passes_right_gradients_and_restores_params():
    params, X, y = _square_net()
    params = [(W.copy(), b.copy()) for W, b in params]
    before = [a.copy() for a in _flat(params)]
    _, grads = net.loss_and_grads(params, X, y)
    err, slopes = gc.directional_check(lambda: net.loss_value(params, X, y), _flat(params), _flat(grads))
    assert err < 1e-7 and len(slopes) == 3
    for a, b in zip(_flat(params), before):
        assert a.tobytes() == b.tobytes()


@pytest.mark.parametrize("bug", ["transposed", "missing 1/N", "flipped sign"])
def test_directional_check_catches_planted_bugs(bug):
    params, X, y = _square_net()
    _, grads = net.loss_and_grads(params, X, y)
    err, _ = gc.directional_check(lambda: net.loss_value(params, X, y), _flat(params), _flat(_planted(grads, bug)))
    assert err > 1e-3


def test_directional_check_costs_two_evaluations_per_direction():
    x = np.array([1.0, 2.0])
    calls = []

    def f():
        calls.append(1)
        return float(x @ x)

    gc.directional_check(f, [x], [2 * x], n_directions=5)
    assert len(calls) == 10


@given(seed=st.integers(0, 2**31), depth=st.integers(1, 4),
       setup=st.sampled_from([("sigmoid", "softmax", None), ("tanh", "sigmoid", None), ("elu", "identity", None),
                              ("leaky_relu", "sigmoid", "squared_error"), ("tanh", "softmax", "squared_error")]),
       reg=st.sampled_from([0.0, 0.5]))
def test_layer_wise_differences_equal_plain_differences(seed, depth, setup, reg):
    # network_numerical_gradients recomputes only from the nudged layer on; it
    # must give the numbers numerical_gradient gets from full forward passes,
    # up to round-off.
    hidden, output, loss = setup
    rng = np.random.default_rng(seed)
    sizes = [3] + [4] * (depth - 1) + [3]
    params = [(W, rng.normal(size=b.shape)) for W, b in net.init_params(sizes, seed=seed % 1000)]
    X = rng.normal(size=(5, 3))
    y = rng.integers(0, 3, 5) if (output, loss) == ("softmax", None) else rng.uniform(size=(5, 3))
    kw = dict(hidden=hidden, output=output, loss=loss, reg=reg)
    fast = gc.network_numerical_gradients(params, X, y, **kw)
    # both carry round-off of a few u·|f|/ε; |f| can reach ~100 for a squared error
    round_off = 100 * np.finfo(float).eps * max(abs(net.loss_value(params, X, y, **kw)), 1.0) / 1e-6
    for (W, b), (fW, fb) in zip(params, fast):
        for arr, got in ((W, fW), (b, fb)):
            plain = gc.numerical_gradient(lambda: net.loss_value(params, X, y, **kw), arr)
            np.testing.assert_allclose(got, plain, rtol=0, atol=round_off)

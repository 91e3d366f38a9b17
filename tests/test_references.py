"""Reference answers of the part-1 exercises against independent oracles.

Oracles: centered differences (atol 1e-6 on O(1)–O(1e4) values, rtol 1e-7),
the scalar computational graph (course_lib.graph, itself tested against
finite differences), and the network's batch gradients.
"""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from course_lib import examples
from course_lib.key import calculus, gates, network
from course_lib.key import worked_example as we
from course_lib.graph import Value
from course_lib.key.losses import softmax_cross_entropy, softmax_cross_entropy_grad

reals = st.floats(-3, 3, allow_nan=False)


def _fd(f, x, eps=1e-6):
    return (f(x + eps) - f(x - eps)) / (2 * eps)


@given(reals)
def test_chain_rule_derivative_matches_finite_differences(x):
    y = lambda v: 5 * (v**3 + 7) ** 4  # noqa: E731
    assert float(calculus.chain_rule_derivative(x)) == pytest.approx(_fd(y, x), rel=1e-6, abs=1e-3)


@given(reals)
def test_two_path_derivative_matches_finite_differences(s):
    z = lambda v: v**2 * math.sin(v)  # noqa: E731
    assert float(calculus.two_path_derivative(s)) == pytest.approx(_fd(z, s), rel=1e-6, abs=1e-8)


def test_chain_rule_answers_work_elementwise_on_arrays():
    x = np.array([-1.0, 0.0, 1.0])
    np.testing.assert_allclose(calculus.chain_rule_derivative(x), [60 * 216, 0, 60 * 512])


@given(reals, reals, reals)
def test_mul_add_matches_the_graph(x, y, z):
    X, Y, Z = Value(x), Value(y), Value(z)
    f = (X + Y) * Z
    f.backward()
    val, (dx, dy, dz) = gates.mul_add_forward_backward(x, y, z)
    assert float(val) == pytest.approx(f.data)
    assert (float(dx), float(dy), float(dz)) == pytest.approx((X.grad, Y.grad, Z.grad))


@given(reals, reals, reals)
def test_gates_route_gradients_like_the_graph(x, y, dout):
    for op, backward in [(lambda a, b: a * b, lambda: gates.mul_gate_backward(x, y, dout)),
                         (lambda a, b: a.max(b), lambda: gates.max_gate_backward(x, y, dout)),
                         (lambda a, b: a + b, lambda: gates.add_gate_backward(dout))]:
        X, Y = Value(x), Value(y)
        out = op(X, Y)
        out.backward()
        dx, dy = backward()
        assert (float(dx), float(dy)) == pytest.approx((X.grad * dout, Y.grad * dout))


def test_a_max_tie_routes_to_x():
    assert tuple(map(float, gates.max_gate_backward(2.0, 2.0, 5.0))) == (5.0, 0.0)


def test_neuron_matches_the_lecture_and_the_graph():
    w, x = examples.NEURON["w"], examples.NEURON["x"]
    f, dw, dx = gates.neuron_forward_backward(w, x)
    W = [Value(v) for v in w]
    Xv = [Value(v) for v in x]
    out = (W[0] * Xv[0] + W[1] * Xv[1] + W[2]).sigmoid()
    out.backward()
    assert f == pytest.approx(out.data, rel=1e-15)
    np.testing.assert_allclose(dw, [v.grad for v in W], rtol=1e-14)
    np.testing.assert_allclose(dx, [v.grad for v in Xv], rtol=1e-14)
    assert round(f, 2) == examples.NEURON["published"]["f"]


@given(st.floats(-4, 4), st.floats(-4, 4))
def test_staged_function_matches_the_graph(x, y):
    X, Y = Value(x), Value(y)
    f = (X + Y.sigmoid()) / (X.sigmoid() + (X + Y) ** 2)
    f.backward()
    val, dx, dy = gates.staged_forward_backward(x, y)
    assert (float(val), float(dx), float(dy)) == pytest.approx((f.data, X.grad, Y.grad), rel=1e-10, abs=1e-12)


def test_worked_example_equals_the_network_with_the_lecture_sign():
    e = examples.NETWORK_221
    h, y = we.forward_221(e["x"], e["W1"], e["W2"])
    d_out = we.output_delta(e["t"], y)
    d_hid = we.hidden_delta(h, e["W2"], d_out)
    dW1, dW2 = we.weight_gradients(e["x"], h, d_hid, d_out)
    params = [(np.array(e["W1"]), np.zeros(2)), (np.array(e["W2"]), np.zeros(1))]
    _, grads = network.loss_and_grads(params, e["x"][None, :], np.array([[e["t"]]]),
                                      output="sigmoid", loss="squared_error")
    np.testing.assert_allclose(dW1, grads[0][0], rtol=1e-13)
    np.testing.assert_allclose(dW2, grads[1][0], rtol=1e-13)
    assert dW1[0, 0] == pytest.approx(0.000929071160810, rel=1e-9)
    np.testing.assert_allclose(we.gd_step(e["W1"], dW1, e["lr"]), e["W1"] - dW1)
    assert h.shape == (2,) and y.shape == (1,) and d_hid.shape == (2,)


def test_softmax_cross_entropy_grad_is_probs_minus_onehot():
    a = np.array([1.0, 2.0, 0.5])
    np.testing.assert_array_equal(softmax_cross_entropy_grad(a, 1), softmax_cross_entropy(a, 1)[1])

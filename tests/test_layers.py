"""Layer pairs against centered differences, and the composed MLP against course_lib.network.

Oracle for each backward: centered differences of ⟨forward(inputs), G⟩ for
a random upstream gradient G (so ∂/∂inputs = backward(G)); atol 1e-7 on
O(1) values. The MLP must equal network.loss_and_grads (a separate
implementation tested against extended-precision differences) to 1e-12.
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from course_lib.key import layers, network
from course_lib.key.gradcheck import numerical_gradient

dims = st.tuples(st.integers(1, 5), st.integers(1, 5), st.integers(1, 5), st.integers(0, 2**31))


@given(dims)
def test_affine_backward_matches_finite_differences(d):
    n, n_in, n_out, seed = d
    rng = np.random.default_rng(seed)
    X, W, b = rng.normal(size=(n, n_in)), rng.normal(size=(n_out, n_in)), rng.normal(size=n_out)
    G = rng.normal(size=(n, n_out))
    Z, cache = layers.affine_forward(X, W, b)
    np.testing.assert_allclose(Z, X @ W.T + b, rtol=1e-13)
    dX, dW, db = layers.affine_backward(G, cache)
    f = lambda: float(np.sum(layers.affine_forward(X, W, b)[0] * G))  # noqa: E731
    for got, arr in ((dX, X), (dW, W), (db, b)):
        assert got.shape == arr.shape
        np.testing.assert_allclose(got, numerical_gradient(f, arr), atol=1e-7)


@pytest.mark.parametrize("forward, backward", [(layers.sigmoid_forward, layers.sigmoid_backward),
                                               (layers.relu_forward, layers.relu_backward)])
@given(seed=st.integers(0, 2**31))
def test_activation_backward_matches_finite_differences(forward, backward, seed):
    rng = np.random.default_rng(seed)
    Z = rng.normal(size=(4, 3))
    Z = np.where(np.abs(Z) < 1e-3, 0.5, Z)  # keep ReLU's kink out of the differences
    G = rng.normal(size=Z.shape)
    _, cache = forward(Z)
    numeric = numerical_gradient(lambda: float(np.sum(forward(Z)[0] * G)), Z)
    np.testing.assert_allclose(backward(G, cache), numeric, atol=1e-7)


def test_relu_gives_no_gradient_at_the_kink():
    _, cache = layers.relu_forward(np.array([[0.0, 1.0, -1.0]]))
    np.testing.assert_array_equal(layers.relu_backward(np.ones((1, 3)), cache), [[0.0, 1.0, 0.0]])


@given(seed=st.integers(0, 2**31), depth=st.integers(1, 4), reg=st.sampled_from([0.0, 0.7]))
def test_mlp_equals_the_network_module(seed, depth, reg):
    rng = np.random.default_rng(seed)
    sizes = [int(v) for v in rng.integers(1, 6, size=depth)] + [3]
    sizes = [4] + sizes[1:] if depth > 1 else [4, 3]
    params = [(W, rng.normal(size=b.shape)) for W, b in network.init_params(sizes, seed=seed % 997)]
    X, y = rng.normal(size=(6, 4)), rng.integers(0, 3, 6)
    probs, caches = layers.mlp_forward(params, X)
    out, _ = network.forward(params, X, hidden="sigmoid", output="softmax")
    np.testing.assert_allclose(probs, out, rtol=1e-12)
    assert len(caches) == len(params)
    v1, g1 = layers.mlp_loss_and_grads(params, X, y, reg=reg)
    v2, g2 = network.loss_and_grads(params, X, y, hidden="sigmoid", output="softmax", reg=reg)
    assert v1 == pytest.approx(v2, rel=1e-12)
    for (a, b), (c, d) in zip(g1, g2):
        np.testing.assert_allclose(a, c, rtol=1e-10, atol=1e-15)
        np.testing.assert_allclose(b, d, rtol=1e-10, atol=1e-15)

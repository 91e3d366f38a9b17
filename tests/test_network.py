"""The network against an independent oracle.

The oracle below is a second, deliberately plain implementation of the
forward pass and loss, written generically over the float type. Evaluated in
extended precision (np.longdouble, 64-bit mantissa on x86-64), its centered
differences with ε = 1e-7 are accurate to ~1e-12 absolute (round-off
~1e-19/ε, truncation ~ε²), so comparing our float64 gradients with them at a
relative error below 1e-7 tests the gradients, not the round-off of the test.
"""

import concurrent.futures
import itertools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from course_lib.key import losses
from course_lib.key import network as net
from course_lib.key.gradcheck import relative_error

LD = np.longdouble

# ------------------------------------------------------------------ oracle


def _g(name, z):
    one = z.dtype.type(1)
    return {
        "sigmoid": lambda: one / (one + np.exp(-z)),
        "tanh": lambda: np.tanh(z),
        "relu": lambda: np.where(z > 0, z, 0 * z),
        "leaky_relu": lambda: np.where(z > 0, z, z.dtype.type("0.1") * z),
        "elu": lambda: np.where(z > 0, z, np.expm1(np.minimum(z, 0))),
        "identity": lambda: z,
    }[name]()


def oracle_outputs(params, X, hidden, output):
    """Plain forward pass: returns the last pre-activation Z and output."""
    A = X
    for l, (W, b) in enumerate(params):
        Z = A @ W.T + b
        if l < len(params) - 1:
            A = _g(hidden, Z)
    if output == "softmax":
        e = np.exp(Z - Z.max(axis=1, keepdims=True))
        return Z, e / e.sum(axis=1, keepdims=True)
    return Z, _g(output, Z)


def oracle_loss(params, X, y, hidden, output, loss, reg):
    Z, out = oracle_outputs(params, X, hidden, output)
    N = X.shape[0]
    if loss == "cross_entropy":
        value = -np.sum(np.log(out[np.arange(N), y])) / N
    elif loss == "binary_cross_entropy":
        value = -np.sum(y * np.log(out) + (1 - y) * np.log(1 - out)) / N
    else:
        value = np.sum((y - out) ** 2) / 2 / N
    return value + reg / (2 * N) * sum(np.sum(W * W) for W, _ in params)


def oracle_gradients(params, X, y, hidden, output, loss, reg, eps=1e-7):
    """Centered differences of the oracle loss, in long double."""
    P = [(W.astype(LD), b.astype(LD)) for W, b in params]
    XL = X.astype(LD)
    yL = y if loss == "cross_entropy" else y.astype(LD)
    grads = []
    for W, b in P:
        layer = []
        for arr in (W, b):
            g = np.zeros(arr.shape, dtype=LD)
            for idx in np.ndindex(arr.shape):
                old = arr[idx]
                arr[idx] = old + LD(eps)
                up = oracle_loss(P, XL, yL, hidden, output, loss, reg)
                arr[idx] = old - LD(eps)
                down = oracle_loss(P, XL, yL, hidden, output, loss, reg)
                arr[idx] = old
                g[idx] = (up - down) / (2 * LD(eps))
            layer.append(g.astype(np.float64))
        grads.append(tuple(layer))
    return grads


# ----------------------------------------------------------- the big matrix

HIDDEN = ["sigmoid", "tanh", "relu", "leaky_relu", "elu"]
# (output unit, loss passed in, the loss it means)
PAIRINGS = [
    ("softmax", None, "cross_entropy"),
    ("sigmoid", None, "binary_cross_entropy"),
    ("identity", None, "squared_error"),
    ("sigmoid", "squared_error", "squared_error"),
    ("softmax", "squared_error", "squared_error"),
]
DEPTHS = [1, 2, 3, 4]  # number of weight layers (depth 1: no hidden layer)


def _problem(hidden, output, loss_name, depth, seed):
    """A small random network and batch whose ReLU-type units sit away from kinks."""
    for attempt in itertools.count():
        rng = np.random.default_rng([seed, attempt])
        sizes = [3] + [4] * (depth - 1) + [3]
        params = net.init_params(sizes, init="xavier", seed=int(rng.integers(2**31)))
        params = [(W, rng.normal(0, 0.3, size=b.shape)) for W, b in params]
        X = rng.normal(size=(5, 3))
        if loss_name == "cross_entropy":
            y = rng.integers(0, 3, 5)
        elif output == "softmax":  # squared error on a softmax: targets are one-hot rows
            y = np.eye(3)[rng.integers(0, 3, 5)]
        elif output == "sigmoid":
            y = rng.uniform(size=(5, 3))
        else:
            y = rng.normal(size=(5, 3))
        _, cache = net.forward(params, X, hidden, output)
        hidden_Z = [layer.Z for layer in cache.layers[:-1]]
        # Premise of a finite-difference test: no pre-activation within 1e-4 of a kink.
        if hidden not in ("relu", "leaky_relu") or all(np.min(np.abs(Z)) > 1e-4 for Z in hidden_Z):
            return params, X, y


@pytest.mark.parametrize("reg", [0.0, 0.3], ids=["noreg", "reg"])
@pytest.mark.parametrize("depth", DEPTHS)
@pytest.mark.parametrize("output, loss, loss_name", PAIRINGS, ids=[f"{o}+{n}" for o, _, n in PAIRINGS])
@pytest.mark.parametrize("hidden", HIDDEN)
def test_gradients_match_extended_precision_finite_differences(hidden, output, loss, loss_name, depth, reg):
    params, X, y = _problem(hidden, output, loss_name, depth, seed=depth)
    value, grads = net.loss_and_grads(params, X, y, hidden=hidden, output=output, loss=loss, reg=reg)
    expected = oracle_gradients(params, X, y, hidden, output, loss_name, reg)
    assert value == pytest.approx(
        float(oracle_loss([(W.astype(LD), b.astype(LD)) for W, b in params], X.astype(LD),
                          y if loss_name == "cross_entropy" else y.astype(LD), hidden, output, loss_name, reg)),
        rel=1e-12,
    )
    for l, ((dW, db), (eW, eb), (W, b)) in enumerate(zip(grads, expected, params), start=1):
        assert dW.shape == W.shape and db.shape == b.shape
        assert relative_error(dW, eW) < 1e-7, f"dW{l}"
        assert relative_error(db, eb) < 1e-7, f"db{l}"


# --------------------------------------------------------------- forward


@given(seed=st.integers(0, 2**31), depth=st.integers(1, 4), n=st.integers(1, 9))
def test_forward_matches_the_plain_oracle(seed, depth, n):
    rng = np.random.default_rng(seed)
    sizes = list(rng.integers(1, 7, size=depth + 1))
    params = net.init_params(sizes, init="he", seed=seed)
    X = rng.normal(size=(n, sizes[0]))
    for hidden, output in [("tanh", "softmax"), ("sigmoid", "sigmoid"), ("elu", "identity")]:
        out, cache = net.forward(params, X, hidden, output)
        _, expected = oracle_outputs(params, X, hidden, output)
        assert out.shape == (n, sizes[-1])
        np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-15)
        assert len(cache.layers) == depth
        assert cache.layers[0].A_prev is not None


def test_affine_convention_is_Z_equals_X_W_transposed_plus_b():
    W = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])  # (n_out=2, n_in=3)
    b = np.array([0.5, -0.5])
    X = np.array([[1.0, 0.0, -1.0]])  # one sample as a row
    out, cache = net.forward([(W, b)], X, output="identity")
    # by hand: z_1 = 1 − 3 + 0.5, z_2 = 4 − 6 − 0.5
    np.testing.assert_array_equal(out, [[-1.5, -2.5]])


# ------------------------------------------------- pairings and the natural path


@pytest.mark.parametrize("output, loss_fn", [("softmax", losses.cross_entropy),
                                              ("sigmoid", losses.binary_cross_entropy),
                                              ("identity", losses.squared_error)])
def test_natural_shortcut_equals_the_general_chain_rule(output, loss_fn):
    # Passing the loss as a function forces the general path (dOut, then the
    # activation's derivative or the softmax Jacobian); the natural path
    # uses (output − target)/N directly. They must agree.
    rng = np.random.default_rng(3)
    params = net.init_params([4, 5, 3], seed=1)
    X = rng.normal(size=(6, 4))
    y = rng.integers(0, 3, 6) if output == "softmax" else rng.uniform(size=(6, 3))
    v1, g1 = net.loss_and_grads(params, X, y, hidden="tanh", output=output)
    v2, g2 = net.loss_and_grads(params, X, y, hidden="tanh", output=output, loss=loss_fn)
    assert v1 == pytest.approx(v2, rel=1e-12)
    for a, b in zip(itertools.chain(*g1), itertools.chain(*g2)):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-15)


def test_regularization_adds_to_weights_only():
    rng = np.random.default_rng(0)
    params = net.init_params([3, 4, 2], seed=0)
    X, y = rng.normal(size=(5, 3)), rng.integers(0, 2, 5)
    v0, g0 = net.loss_and_grads(params, X, y)
    v1, g1 = net.loss_and_grads(params, X, y, reg=0.7)
    penalty = 0.7 / (2 * 5) * sum(np.sum(W**2) for W, _ in params)
    assert v1 - v0 == pytest.approx(penalty, rel=1e-12)
    for (W, _), (dW0, db0), (dW1, db1) in zip(params, g0, g1):
        np.testing.assert_allclose(dW1 - dW0, 0.7 / 5 * W, rtol=1e-10, atol=1e-16)
        np.testing.assert_array_equal(db1, db0)  # biases are not regularized


def test_labels_for_a_squared_error_on_k_outputs_become_one_hot_rows():
    rng = np.random.default_rng(1)
    params = net.init_params([3, 3], seed=2)
    X, labels = rng.normal(size=(4, 3)), np.array([0, 2, 1, 2])
    a = net.loss_and_grads(params, X, labels, output="sigmoid", loss="squared_error")
    b = net.loss_and_grads(params, X, np.eye(3)[labels], output="sigmoid", loss="squared_error")
    assert a[0] == b[0]


# ------------------------------------------------------------------- init


@pytest.mark.parametrize("init, std", [("normal", 0.01), ("xavier", np.sqrt(2 / (400 + 300))), ("he", np.sqrt(2 / 400))])
def test_init_draws_with_the_lecture_spread(init, std):
    (W, b), = net.init_params([400, 300], init=init, seed=5)
    assert W.shape == (300, 400) and b.shape == (300,)
    assert np.all(b == 0)
    # 120,000 draws: the sample std is within 1 % of σ with overwhelming probability
    assert W.std() == pytest.approx(std, rel=0.01)
    assert abs(W.mean()) < 4 * std / np.sqrt(W.size)


def test_same_seed_same_draw_other_seed_other_draw():
    a = net.init_params([5, 4, 3], seed=1)
    b = net.init_params([5, 4, 3], seed=1)
    c = net.init_params([5, 4, 3], seed=2)
    assert all(np.array_equal(x[0], y[0]) for x, y in zip(a, b))
    assert not np.array_equal(a[0][0], c[0][0])


@pytest.mark.parametrize("init", ["zeros", "constant"])
def test_symmetric_inits_keep_hidden_units_identical(init):
    # Lecture 004: with equal weights every hidden unit computes the same
    # thing and receives the same gradient, so training can never split them.
    params = net.init_params([3, 5, 2], init=init, seed=0)
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(8, 3)), rng.integers(0, 2, 8)
    _, grads = net.loss_and_grads(params, X, y)
    dW1 = grads[0][0]
    np.testing.assert_allclose(dW1, np.broadcast_to(dW1[0], dW1.shape), rtol=1e-12, atol=1e-18)
    if init == "constant":
        assert np.all(params[0][0] == 0.1)


def test_init_rejects_unknown_names_and_bad_sizes():
    with pytest.raises(ValueError, match="unknown init 'glorot'"):
        net.init_params([2, 2], init="glorot")
    with pytest.raises(ValueError, match="at least one layer"):
        net.init_params([3])


# ------------------------------------------------------ vectors and predict


@given(sizes=st.lists(st.integers(1, 5), min_size=2, max_size=5), seed=st.integers(0, 100))
def test_flatten_then_unflatten_gives_the_params_back(sizes, seed):
    params = net.init_params(sizes, seed=seed)
    theta = net.flatten_params(params)
    assert theta.shape == (sum(o * i + o for i, o in zip(sizes[:-1], sizes[1:])),)
    for like in (params, sizes):
        back = net.unflatten_params(theta, like)
        for (W, b), (W2, b2) in zip(params, back):
            np.testing.assert_array_equal(W, W2)
            np.testing.assert_array_equal(b, b2)
    with pytest.raises(ValueError, match="vector of"):
        net.unflatten_params(theta[:-1], sizes)


def test_predict_returns_labels():
    W = np.array([[1.0, 0.0], [0.0, 1.0]])
    params = [(W, np.zeros(2))]
    X = np.array([[2.0, 1.0], [0.0, 3.0]])
    np.testing.assert_array_equal(net.predict(params, X), [0, 1])
    one = [(np.array([[1.0, -1.0]]), np.zeros(1))]
    np.testing.assert_array_equal(net.predict(one, X, output="sigmoid"), [1, 0])
    np.testing.assert_array_equal(net.predict(params, X, output="identity"), X)


# ------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(params=[(np.zeros((3, 2)), np.zeros(2))]), r"looks transposed"),
        (dict(X=np.zeros(3)), r"shape \(N, n_in\)"),
        (dict(hidden="swish"), "unknown hidden activation 'swish'"),
        (dict(output="tanh"), "unknown output 'tanh'"),
        (dict(loss="hinge"), "unknown loss 'hinge'"),
        (dict(params=[(np.zeros((2, 3)), np.zeros(3))]), r"b must have shape \(2,\)"),
        (dict(params=[]), "params is empty"),
    ],
)
def test_bad_input_gets_a_clear_message(kwargs, message):
    args = dict(params=[(np.zeros((2, 3)), np.zeros(2))], X=np.zeros((4, 3)), y=np.zeros(4, int))
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        net.loss_and_grads(args.pop("params"), args.pop("X"), args.pop("y"), **args)


# ------------------------------------------- scratch reuse must be invisible


def test_results_do_not_alias_reused_scratch_memory():
    rng = np.random.default_rng(0)
    params = net.init_params([6, 8, 8, 3], seed=0)
    X1, y1 = rng.normal(size=(7, 6)), rng.integers(0, 3, 7)
    X2, y2 = rng.normal(size=(7, 6)), rng.integers(0, 3, 7)
    v1, g1 = net.loss_and_grads(params, X1, y1)
    saved = [(dW.copy(), db.copy()) for dW, db in g1]
    net.loss_and_grads(params, X2, y2)  # same shapes: reuses the scratch buffers
    net.loss_and_grads(params, X2[:3], y2[:3])  # other shapes
    for (dW, db), (sW, sb) in zip(g1, saved):
        np.testing.assert_array_equal(dW, sW)
        np.testing.assert_array_equal(db, sb)
    assert net.loss_and_grads(params, X1, y1)[0] == v1


def test_threads_get_the_same_answers_as_one_thread():
    rng = np.random.default_rng(1)
    jobs = []
    for i in range(12):
        n = 3 + i % 4
        params = net.init_params([5, 6 + i % 3, 4], seed=i)
        jobs.append((params, rng.normal(size=(n, 5)), rng.integers(0, 4, n)))
    sequential = [net.loss_and_grads(*job)[1] for job in jobs]
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        threaded = list(pool.map(lambda job: net.loss_and_grads(*job)[1], jobs * 5))
    for k, grads in enumerate(threaded):
        for (a, b), (c, d) in zip(grads, sequential[k % len(jobs)]):
            np.testing.assert_array_equal(a, c)
            np.testing.assert_array_equal(b, d)


def test_inputs_are_left_unchanged():
    rng = np.random.default_rng(2)
    params = net.init_params([4, 5, 3], seed=0)
    X, y = rng.normal(size=(6, 4)), rng.integers(0, 3, 6)
    copies = [(W.copy(), b.copy()) for W, b in params], X.copy()
    net.loss_and_grads(params, X, y, reg=0.1)
    for (W, b), (W0, b0) in zip(params, copies[0]):
        np.testing.assert_array_equal(W, W0)
        np.testing.assert_array_equal(b, b0)
    np.testing.assert_array_equal(X, copies[1])

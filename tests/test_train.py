"""Mini-batch gradient descent (course_lib.train).

Oracles: the lecture 001 worked 2-2-1 example (one full-batch step with η = 1
must give the exact updated weights, hard-coded to 12 digits from the
independent computation in test_examples.py), one manual step W − η·dW from
``network.loss_and_grads`` whose gradients are themselves checked by
centered differences here, hand-counted accuracies, and learning outcomes
(accuracy thresholds) on XOR and the shipped digits.

Tolerances: one step vs manual step atol 1e-12 (train shuffles the rows, so
the batch sums are added in another order: a few ulps); hard-coded
12-digit constants rel 1e-10; loss_and_grads vs centered differences
(ε = 1e-6) relative error < 1e-7 (gradcheck's 'correct').
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from course_lib import data, examples
from course_lib.key import gradcheck, network, train


def _copy(params):
    return [(W.copy(), b.copy()) for W, b in params]


def _params_equal(a, b):
    return all(np.array_equal(Wa, Wb) and np.array_equal(ba, bb) for (Wa, ba), (Wb, bb) in zip(a, b))


@pytest.fixture(scope="module")
def xor():
    return data.make_xor(n=200, noise=0.2, seed=0)


def _train_xor(X, y, seed=0, epochs=30, **kw):
    params = network.init_params([2, 8, 2], seed=seed)
    kw = dict(dict(hidden="tanh", lr=0.5, batch_size=16, seed=seed, progress=False), **kw)
    return train.train(params, X, y, epochs=epochs, **kw)


# ---------------------------------------------------------------- learning


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_tanh_network_learns_xor_to_95_percent_in_30_epochs(xor, seed):
    X, y = xor
    trained, history = _train_xor(X, y, seed=seed)
    assert train.accuracy(trained, X, y, hidden="tanh") >= 0.95
    assert history["accuracy"][-1] >= 0.95


def test_loss_history_decreases_overall(xor):
    X, y = xor
    _, history = _train_xor(X, y)
    assert history["loss"][-1] < history["loss"][0]
    assert history["loss"][-1] < 0.5 * history["loss"][0]


def test_small_network_reaches_90_percent_test_accuracy_on_the_shipped_digits():
    X, y = data.load_digits()
    X_tr, X_te, y_tr, y_te = data.train_test_split(X, y, test_fraction=0.25, seed=0)
    params = network.init_params([64, 32, 10], seed=0)
    trained, history = train.train(
        params, X_tr, y_tr, hidden="tanh", lr=0.2, epochs=10, batch_size=32, seed=0,
        X_val=X_te, y_val=y_te, progress=False,
    )
    test_acc = train.accuracy(trained, X_te, y_te, hidden="tanh")
    assert test_acc >= 0.90
    assert history["val_accuracy"][-1] == test_acc


# ----------------------------------------------------------------- history


def test_history_has_loss_and_accuracy_per_epoch(xor):
    X, y = xor
    trained, history = _train_xor(X, y, epochs=4)
    assert set(history) == {"loss", "accuracy"}
    assert len(history["loss"]) == len(history["accuracy"]) == 4
    # the last entry is the loss of the returned parameters on the training data
    assert history["loss"][-1] == pytest.approx(network.loss_value(trained, X, y, hidden="tanh"), rel=1e-12)


def test_history_adds_val_series_when_held_out_data_is_given(xor):
    X, y = xor
    X_val, y_val = data.make_xor(n=40, noise=0.2, seed=99)
    trained, history = _train_xor(X, y, epochs=3, X_val=X_val, y_val=y_val)
    assert set(history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert all(len(v) == 3 for v in history.values())
    # accuracy counted by hand from the predictions
    pred = network.predict(trained, X_val, hidden="tanh")
    hand = sum(int(p == t) for p, t in zip(pred.tolist(), y_val.tolist())) / len(y_val)
    assert history["val_accuracy"][-1] == hand


def test_accuracy_is_nan_for_an_identity_output():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((20, 3))
    y = X @ np.array([[1.0], [-2.0], [0.5]])
    params = network.init_params([3, 4, 1], seed=0)
    _, history = train.train(params, X, y, hidden="tanh", output="identity", lr=0.05, epochs=3, progress=False)
    assert np.all(np.isnan(history["accuracy"]))
    assert np.all(np.isfinite(history["loss"]))


def test_accuracy_counts_rows_whose_argmax_equals_the_label():
    # one linear softmax layer with W = I: the prediction is the argmax of x
    params = [(np.eye(3), np.zeros(3))]
    X = np.array([[3.0, 1, 0], [0, 2, 1], [0, 0, 5], [4, 0, 1]])
    y = np.array([0, 1, 1, 2])  # predictions are 0, 1, 2, 0: two right
    assert train.accuracy(params, X, y, hidden="sigmoid", output="softmax") == 0.5


# ------------------------------------------------------- copies and seeds


def test_params_passed_in_are_not_modified(xor):
    X, y = xor
    params = network.init_params([2, 8, 2], seed=0)
    before = _copy(params)
    trained, _ = train.train(params, X, y, hidden="tanh", lr=0.5, epochs=2, progress=False)
    assert _params_equal(params, before)
    assert not _params_equal(trained, before)
    for (W, b), (Wt, bt) in zip(params, trained):
        assert not np.shares_memory(W, Wt) and not np.shares_memory(b, bt)


def test_read_only_params_can_be_trained():
    net = examples.NETWORK_221  # its arrays are read-only
    params = [(net["W1"], np.zeros(2)), (net["W2"], np.zeros(1))]
    trained, _ = train.train(params, net["x"][None, :], [[net["t"]]], output="sigmoid",
                             loss="squared_error", lr=1.0, epochs=1, progress=False)
    assert trained[0][0].flags.writeable


def test_same_seed_gives_identical_results(xor):
    X, y = xor
    a_params, a_hist = _train_xor(X, y, seed=3, epochs=5)
    b_params, b_hist = _train_xor(X, y, seed=3, epochs=5)
    assert a_hist == b_hist
    assert _params_equal(a_params, b_params)


def test_a_different_shuffle_seed_gives_different_results(xor):
    X, y = xor
    params = network.init_params([2, 8, 2], seed=0)  # same start, only the shuffling differs
    kw = dict(hidden="tanh", lr=0.5, epochs=3, batch_size=16, progress=False)
    a_params, a_hist = train.train(params, X, y, seed=0, **kw)
    b_params, b_hist = train.train(params, X, y, seed=1, **kw)
    assert not _params_equal(a_params, b_params)
    assert a_hist["loss"] != b_hist["loss"]


# ------------------------------------------------------------- progress bar


def test_progress_bar_goes_to_stdout_and_nothing_to_stderr(xor, capsys):
    X, y = xor
    _train_xor(X, y, epochs=3, progress=True)
    out, err = capsys.readouterr()
    assert "training" in out and "3/3" in out and "epoch" in out
    assert err == ""


def test_no_progress_bar_prints_nothing(xor, capsys):
    X, y = xor
    _train_xor(X, y, epochs=2, progress=False)
    assert capsys.readouterr() == ("", "")


# ------------------------------------------------ one step of gradient descent


@given(seed=st.integers(0, 2**31 - 1), lr=st.floats(0.01, 2.0), hidden=st.sampled_from(["sigmoid", "tanh", "relu"]))
def test_one_full_batch_epoch_is_one_manual_step(seed, lr, hidden):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((7, 3))
    y = rng.integers(0, 3, size=7)
    params = network.init_params([3, 4, 3], seed=seed)
    _, grads = network.loss_and_grads(params, X, y, hidden=hidden)
    expected = [(W - lr * dW, b - lr * db) for (W, b), (dW, db) in zip(params, grads)]
    trained, _ = train.train(params, X, y, hidden=hidden, lr=lr, epochs=1, batch_size=len(X), seed=seed,
                             progress=False)
    for (W, b), (We, be) in zip(trained, expected):
        np.testing.assert_allclose(W, We, rtol=0, atol=1e-12)
        np.testing.assert_allclose(b, be, rtol=0, atol=1e-12)


def test_the_manual_step_uses_gradients_that_match_finite_differences():
    # Anchors the previous test: the dW it subtracts is the true gradient.
    rng = np.random.default_rng(1)
    X = rng.standard_normal((7, 3))
    y = rng.integers(0, 3, size=7)
    params = network.init_params([3, 4, 3], seed=1)
    report = gradcheck.check_network_gradients(params, X, y, hidden="tanh")
    assert report.max_error < 1e-7, str(report)


def test_one_full_batch_step_on_the_lecture_network_gives_the_exact_updated_weights():
    net = examples.NETWORK_221
    params = [(net["W1"], np.zeros(2)), (net["W2"], np.zeros(1))]
    trained, _ = train.train(params, net["x"][None, :], [[net["t"]]], hidden="sigmoid", output="sigmoid",
                             loss="squared_error", lr=net["lr"], epochs=1, batch_size=1, progress=False)
    # W − η ∂L/∂W with the exact gradients (not the slide's rounded 0.0991, ...)
    np.testing.assert_allclose(trained[0][0], [[0.0990709288392, 0.797610959872],
                                               [0.397139924228, 0.592645519442]], rtol=1e-10)
    np.testing.assert_allclose(trained[1][0], [[0.272325965061, 0.872998363009]], rtol=1e-10)
    # The slide printed 4 decimals computed from rounded gradients; the exact
    # weights stay within 1e-4 of them (largest gap W¹₂₂: 0.592646 vs 0.5926).
    published = np.array(net["published"]["W1_new"])
    assert np.max(np.abs(trained[0][0] - published)) < 1e-4


@pytest.mark.parametrize("X, y, kw, message", [
    (np.zeros((3, 2)), np.array([0, 1]), {}, r"one target per row: got X \(3, 2\) and y \(2,\)"),
    (np.zeros((4, 2)), np.array([0, 1, 0, 1]), {"batch_size": 0}, "batch_size must be at least 1"),
])
def test_bad_arguments_get_a_clear_message(X, y, kw, message):
    from course_lib.key import network, train as training
    with pytest.raises(ValueError, match=message):
        training.train(network.init_params([2, 2]), X, y, progress=False, **kw)

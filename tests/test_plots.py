"""Figures (course_lib.plots): each returns a Figure holding the expected artists.

Oracles: the data handed in (line data must equal it exactly), hand-written
derivative formulas for the activation panels (rtol 1e-12), and the lecture
graph f = (x + y)·z at (-2, 5, -4) for draw_graph (values printed with
4 significant digits, so exact small integers appear as "-2", "-12", ...).
"""

import math

import matplotlib

matplotlib.use("Agg")  # conftest sets MPLBACKEND too; no display in tests

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.collections import PathCollection  # noqa: E402
from matplotlib.colors import to_hex  # noqa: E402
from matplotlib.contour import ContourSet  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from course_lib import plots  # noqa: E402
from course_lib.graph import Value, nodes  # noqa: E402

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _saves_png(fig, path):
    fig.savefig(path)
    blob = path.read_bytes()
    assert len(blob) > 1000 and blob.startswith(PNG_MAGIC)


def _curves(ax):
    """Lines with a real label (axhline/axvline get matplotlib's '_child' names)."""
    return [ln for ln in ax.get_lines() if not ln.get_label().startswith("_")]


# ------------------------------------------------------------ plot_history


def test_plot_history_draws_loss_and_accuracy_one_line_each(tmp_path):
    history = {"loss": [1.0, 0.6, 0.4, 0.3], "accuracy": [0.5, 0.7, 0.8, 0.9]}
    fig = plots.plot_history(history)
    assert isinstance(fig, Figure)
    ax_loss, ax_acc = fig.axes  # loss on the left axis, accuracy on a twin
    assert [ln.get_ydata().tolist() for ln in _curves(ax_loss)] == [history["loss"]]
    assert [ln.get_ydata().tolist() for ln in _curves(ax_acc)] == [history["accuracy"]]
    assert _curves(ax_loss)[0].get_xdata().tolist() == [1, 2, 3, 4]  # epochs count from 1
    legend = [t.get_text() for t in ax_loss.get_legend().get_texts()]
    assert len(legend) == 2
    _saves_png(fig, tmp_path / "history.png")


def test_plot_history_adds_the_held_out_series_when_present(tmp_path):
    history = {
        "loss": [1.0, 0.5, 0.3],
        "accuracy": [0.4, 0.7, 0.9],
        "val_loss": [1.1, 0.7, 0.6],
        "val_accuracy": [0.3, 0.6, 0.8],
    }
    fig = plots.plot_history(history)
    ax_loss, ax_acc = fig.axes
    loss_lines, acc_lines = _curves(ax_loss), _curves(ax_acc)
    assert [ln.get_ydata().tolist() for ln in loss_lines] == [history["loss"], history["val_loss"]]
    assert [ln.get_ydata().tolist() for ln in acc_lines] == [history["accuracy"], history["val_accuracy"]]
    assert len(ax_loss.get_legend().get_texts()) == 4
    _saves_png(fig, tmp_path / "history_val.png")


def test_plot_history_without_accuracy_draws_only_the_loss_axis():
    # a regression net records accuracy as NaN
    fig = plots.plot_history({"loss": [3.0, 2.0, 1.5], "accuracy": [math.nan] * 3})
    assert len(fig.axes) == 1
    assert [ln.get_ydata().tolist() for ln in _curves(fig.axes[0])] == [[3.0, 2.0, 1.5]]


def test_plot_history_draws_into_a_given_axes():
    fig, ax = plt.subplots()
    out = plots.plot_history({"loss": [1.0, 0.5], "accuracy": [0.5, 1.0]}, ax=ax)
    assert out is fig
    assert _curves(ax)[0].get_ydata().tolist() == [1.0, 0.5]


# --------------------------------------------------------- plot_activations


def _s(v):
    return 1.0 / (1.0 + math.exp(-v))


# Hand-written f and f' per activation (leaky slope 0.1, ELU α = 1).
HAND = {
    "sigmoid": (_s, lambda v: _s(v) * (1 - _s(v))),
    "tanh": (math.tanh, lambda v: 1 - math.tanh(v) ** 2),
    "relu": (lambda v: max(v, 0.0), lambda v: 1.0 if v > 0 else 0.0),
    "leaky_relu": (lambda v: v if v > 0 else 0.1 * v, lambda v: 1.0 if v > 0 else 0.1),
    "elu": (lambda v: v if v > 0 else math.expm1(v), lambda v: 1.0 if v > 0 else math.exp(v)),
}


def test_plot_activations_draws_each_function_solid_and_its_derivative_dashed(tmp_path):
    z = np.array([-3.5, -1.2, -0.3, 0.25, 0.9, 2.7])  # away from the kink at 0
    names = list(HAND)
    fig = plots.plot_activations(names, z=z)
    assert isinstance(fig, Figure)
    assert len(fig.axes) == len(names)
    for ax, name in zip(fig.axes, names):
        f, f_prime = HAND[name]
        curves = _curves(ax)
        assert len(curves) == 2, name
        solid = [ln for ln in curves if ln.get_linestyle() == "-"]
        dashed = [ln for ln in curves if ln.get_linestyle() == "--"]
        assert len(solid) == 1 and len(dashed) == 1, name
        np.testing.assert_allclose(solid[0].get_xdata(), z, rtol=0)
        np.testing.assert_allclose(solid[0].get_ydata(), [f(v) for v in z], rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(dashed[0].get_ydata(), [f_prime(v) for v in z], rtol=1e-12, atol=1e-15)
        assert ax.get_title() == name
    _saves_png(fig, tmp_path / "activations.png")


def test_plot_activations_dashed_line_is_the_slope_of_the_solid_line():
    # Independent of any formula: the dashed curve must match centered
    # differences of the solid curve on a fine grid (h = 1e-3, error ~h²·|f'''|
    # < 1e-6; grid points adjacent to the kink of relu types are skipped).
    fig = plots.plot_activations(z=np.linspace(-4, 4, 8001))
    for ax in fig.axes:
        solid, dashed = _curves(ax)
        z, f = solid.get_xdata(), solid.get_ydata()
        slope = (f[2:] - f[:-2]) / (z[2:] - z[:-2])
        away = np.abs(z[1:-1]) > 2e-3
        np.testing.assert_allclose(dashed.get_ydata()[1:-1][away], slope[away], atol=1e-6)


def test_plot_activations_defaults_to_five_panels():
    fig = plots.plot_activations()
    assert [ax.get_title() for ax in fig.axes] == ["sigmoid", "tanh", "relu", "leaky_relu", "elu"]
    assert all(len(_curves(ax)) == 2 for ax in fig.axes)


# --------------------------------------------------- plot_decision_boundary


@pytest.mark.parametrize("shape", [(10,), (10, 3), (10, 1), (2, 5, 2)])
def test_plot_decision_boundary_rejects_points_that_are_not_2d(shape):
    X = np.zeros(shape)
    with pytest.raises(ValueError):
        plots.plot_decision_boundary(lambda P: np.zeros(len(P)), X, np.zeros(shape[0]))


def test_plot_decision_boundary_draws_filled_contour_and_scatter(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, size=(40, 2))
    y = (X[:, 0] * X[:, 1] < 0).astype(int)
    asked = []

    def predict(P):
        asked.append(P.shape)
        return (P[:, 0] * P[:, 1] < 0).astype(int)

    fig = plots.plot_decision_boundary(predict, X, y, resolution=30, title="xor")
    assert isinstance(fig, Figure)
    (ax,) = fig.axes
    assert asked == [(30 * 30, 2)]  # one call on the whole grid
    contours = [c for c in ax.collections if isinstance(c, ContourSet)]
    assert len(contours) == 1 and contours[0].filled
    scatters = [c for c in ax.collections if isinstance(c, PathCollection) and not isinstance(c, ContourSet)]
    assert len(scatters) == 1
    np.testing.assert_array_equal(scatters[0].get_offsets(), X)
    # the view contains every point
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    assert x0 < X[:, 0].min() and X[:, 0].max() < x1 and y0 < X[:, 1].min() and X[:, 1].max() < y1
    assert ax.get_title() == "xor"
    _saves_png(fig, tmp_path / "boundary.png")


# --------------------------------------------------------------- draw_graph


def _lecture_graph():
    x, y, z = Value(-2.0, "x"), Value(5.0, "y"), Value(-4.0, "z")
    f = (x + y) * z
    f.backward()
    return f


def _texts_by_colour(ax):
    out = {}
    for t in ax.texts:
        if t.get_text():  # the arrows are empty annotations
            out.setdefault(to_hex(t.get_color()), []).append(t.get_text())
    return out


def test_draw_graph_shows_forward_values_and_gradients_of_the_lecture_graph(tmp_path):
    f = _lecture_graph()
    fig = plots.draw_graph(f, title="f = (x + y) z")
    assert isinstance(fig, Figure)
    (ax,) = fig.axes
    texts = _texts_by_colour(ax)
    values = texts[to_hex(plots.COLORS["value"])]
    grads = texts[to_hex(plots.COLORS["grad"])]
    # forward values: x=-2, y=5, z=-4, q=3, f=-12 (lecture 000)
    assert {"-2", "5", "-4", "3", "-12"} <= set(values)
    # gradients: dx = dy = dq = -4, dz = 3, df = 1
    assert {"-4", "3"} <= set(grads)
    assert sorted(grads) == sorted(["-4", "-4", "3", "-4", "1"])  # x, y, z edges, q edge, output
    _saves_png(fig, tmp_path / "graph.png")


def test_draw_graph_has_one_node_label_per_node():
    f = _lecture_graph()
    fig = plots.draw_graph(f)
    (ax,) = fig.axes
    boxed = [t.get_text() for t in ax.texts if t.get_bbox_patch() is not None]
    assert len(boxed) == len(nodes(f)) == 5
    assert sorted(boxed) == sorted(["x", "y", "z", "+", "*"])


def test_draw_graph_without_gradients_shows_values_only():
    f = _lecture_graph()
    fig = plots.draw_graph(f, show_grad=False)
    texts = _texts_by_colour(fig.axes[0])
    assert to_hex(plots.COLORS["grad"]) not in texts
    assert "-12" in texts[to_hex(plots.COLORS["value"])]


# -------------------------------------------------------------- plot_digits


def test_plot_digits_makes_a_grid_with_one_image_per_digit(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 17, size=(12, 64)).astype(float)
    labels = np.arange(12) % 10
    fig = plots.plot_digits(images, labels, n_cols=5)
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 15  # 3 rows of 5
    shown = [ax for ax in fig.axes if ax.images]
    assert len(shown) == 12
    for i, ax in enumerate(shown):
        np.testing.assert_array_equal(ax.images[0].get_array(), images[i].reshape(8, 8))
        assert ax.get_title() == str(labels[i])
    _saves_png(fig, tmp_path / "digits.png")


def test_plot_digits_marks_wrong_predictions_in_the_gradient_colour():
    images = np.zeros((3, 8, 8))
    fig = plots.plot_digits(images, labels=[1, 2, 3], predicted=[1, 5, 3], n_cols=3)
    titles = [ax.title for ax in fig.axes]
    assert [t.get_text() for t in titles] == ["1→1", "2→5", "3→3"]
    colours = [to_hex(t.get_color()) for t in titles]
    assert colours[1] == to_hex(plots.COLORS["grad"])
    assert colours[0] == colours[2] == to_hex("black")


def test_every_figure_shows_in_a_jupyter_kernel(tmp_path, monkeypatch):
    # Regression: the inline backend switches interactive mode on when it
    # loads; if that happened inside plots' rc_context, every figure after the
    # first silently did not display.
    import nbformat
    from nbclient import NotebookClient

    from course_lib.cli import ipc_kernel_config

    cells = ["from course_lib import plots\nfrom course_lib.graph import Value",
             "plots.plot_activations(['sigmoid']);",
             "x, y = Value(1.0, 'x'), Value(2.0, 'y')\nf = x * y\nf.backward()\nplots.draw_graph(f);",
             "plots.draw_graph(f);"]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    monkeypatch.delenv("MPLBACKEND")  # the kernel must pick Jupyter's inline backend, as for a student
    NotebookClient(nb, kernel_name="python3", config=ipc_kernel_config(tmp_path), timeout=120).execute()
    images = [sum("image/png" in o.get("data", {}) for o in c.outputs) for c in nb.cells]
    assert images == [0, 1, 1, 1]

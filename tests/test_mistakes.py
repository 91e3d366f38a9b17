"""The check cells name mistakes in the hidden tests' words (course_lib.mistakes, checks.exercise).

The catalogue itself is tested end to end in test_notebooks.py (every planted
bug against its check cell) and kept current by the `--check` run there; here
are its parts: the encoding, the exercise block, and the two judges shared by
the visible checks and the hidden tests.
"""

import math
import textwrap
from pathlib import Path

import nbformat
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from nbclient import NotebookClient

from course_lib import checks, mistakes
from course_lib.checks import CheckFailed
from course_lib.cli import ipc_kernel_config
from course_lib.key.hidden import INIT_STD, check_initializer

ROOT = Path(__file__).resolve().parents[1]

# ------------------------------------------------------------ the encoding

_floats = hnp.arrays(np.float64, hnp.array_shapes(min_dims=0, max_dims=3, max_side=4),
                     elements=st.floats(allow_nan=False, width=64))
_ints = hnp.arrays(np.int64, hnp.array_shapes(min_dims=1, max_dims=2, max_side=4), elements=st.integers(-9, 9))
_leaves = st.one_of(_floats, _ints, st.floats(allow_nan=False), st.integers(-10**6, 10**6))
_values = st.recursive(_leaves, lambda inner: st.one_of(st.tuples(inner, inner), st.lists(inner, max_size=3)),
                       max_leaves=6)


def _equal(a, b):
    if isinstance(a, (tuple, list)):
        return type(a) is type(b) and len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b))
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and a.dtype.kind == b.dtype.kind and np.array_equal(a, b)
    return a == b and type(a) is type(b)


@given(_values)
def test_encoding_round_trips_structure_dtype_and_every_bit(value):
    import json

    assert _equal(mistakes.decode(json.loads(json.dumps(mistakes.encode(value)))), value)


def test_a_function_argument_is_left_out_and_matches_any_function():
    encoded = mistakes.encode((np.sum, np.array([1.0, 2.0])))
    assert encoded["tuple"][0] is None
    assert mistakes._same(mistakes.encode((len, np.array([1.0, 2.0]))), encoded)
    assert not mistakes._same(mistakes.encode((len, np.array([1.0, 2.5]))), encoded)


def test_inputs_match_up_to_the_last_bits_only():
    stored = mistakes.encode((0.1, np.array([0.7, -2.3])))
    assert mistakes._same(mistakes.encode((0.1 * (1 + 1e-15), np.array([0.7, -2.3]))), stored)
    assert not mistakes._same(mistakes.encode((0.1 * (1 + 1e-9), np.array([0.7, -2.3]))), stored)


# ------------------------------------------------------- the exercise block


def _notebook_namespace(**functions):
    """A notebook's globals after its setup cell, with the student's functions."""
    namespace = {"np": np, "math": math, "checks": checks}
    for name, source in functions.items():
        exec(textwrap.dedent(source), namespace)
    return namespace


SIGMOID = "def sigmoid(z):\n    return 1 / (1 + np.exp(-np.asarray(z, dtype=float)))\n"
SIGMOID_GRAD_CHECK = '''
with checks.exercise("sigmoid_grad"):
    checks.expect_close(round(float(sigmoid_grad(1.0)), 2), 0.20, what="sigmoid_grad(1), rounded", source="the lecture")
    checks.expect_derivative(lambda z: 1 / (1 + np.exp(-z)), sigmoid_grad, np.linspace(-6, 6, 13), what="sigmoid_grad")
'''


def _check(namespace, check=SIGMOID_GRAD_CHECK):
    exec(check, namespace)


def test_a_known_mistake_is_named_in_the_hidden_tests_words():
    # The catalogue has sigmoid_grad's hints at the check cell's own inputs (1.0 and the 13 points).
    ns = _notebook_namespace(sigmoid=SIGMOID, sigmoid_grad="def sigmoid_grad(z):\n    return sigmoid(z) * (1 - z)\n")
    with pytest.raises(CheckFailed) as failed:
        _check(ns)
    assert str(failed.value) == ("sigmoid_grad: you computed σ(z)·(1 − z): the second factor is 1 − σ(z), "
                                 "not 1 − z.")


def test_a_right_answer_passes_and_the_notebook_keeps_its_own_function(capsys):
    ns = _notebook_namespace(sigmoid=SIGMOID, sigmoid_grad="def sigmoid_grad(z):\n    s = sigmoid(z)\n    return s * (1 - s)\n")
    own = ns["sigmoid_grad"]
    _check(ns)
    assert ns["sigmoid_grad"] is own  # the recording wrapper lives only inside the block
    assert capsys.readouterr().out.count("✔") == 2


def test_different_inputs_with_one_answer_are_called_typed_in():
    ns = _notebook_namespace(sigmoid=SIGMOID, sigmoid_grad="def sigmoid_grad(z):\n    return 0.19661193324148185\n")
    with pytest.raises(CheckFailed, match="typed in rather than computed"):
        _check(ns)


def test_an_unknown_mistake_keeps_the_checks_own_diagnosis_with_the_exercise_name():
    ns = _notebook_namespace(sigmoid=SIGMOID, sigmoid_grad="def sigmoid_grad(z):\n    s = sigmoid(z)\n    return s * (1 - s) + 0.3\n")
    with pytest.raises(CheckFailed, match=r"^sigmoid_grad\(1\), rounded is wrong"):  # names the exercise already
        _check(ns)


def test_the_students_own_errors_reach_them_unchanged():
    ns = _notebook_namespace(sigmoid=SIGMOID, sigmoid_grad="def sigmoid_grad(z):\n    return undefined_name * z\n")
    with pytest.raises(NameError, match="undefined_name"):
        _check(ns)
    ns = _notebook_namespace(sigmoid=SIGMOID, sigmoid_grad="def sigmoid_grad(z):\n    raise NotImplementedError\n")
    with pytest.raises(NotImplementedError):
        _check(ns)


def test_a_shape_error_becomes_the_named_mistake_when_another_input_shows_it():
    # X W + b raises on the hand-made (2, 3) batch with a (2, 3) W, and is named from the check's square W.
    path = next((ROOT / "solutions" / "05_mlp_backprop").glob("*.ipynb"))
    nb = nbformat.read(path, as_version=4)
    check = next(c.source for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "affine_forward_check")
    ns = _notebook_namespace(affine_forward="def affine_forward(X, W, b):\n    return X @ W + b, (X, W, b)\n")
    ns["rng"] = np.random.default_rng(0)
    with pytest.raises(CheckFailed, match=r"you computed X W \+ b.*raised ValueError"):
        _check(ns, check)


def test_a_warning_and_a_call_into_course_lib_fail_as_in_the_hidden_test():
    ns = _notebook_namespace(sigmoid=SIGMOID, sigmoid_grad="def sigmoid_grad(z):\n    return np.exp(1000.0 * z) * 0\n")
    with pytest.raises(CheckFailed, match="raised a warning: 'overflow"):
        _check(ns)
    ns = _notebook_namespace(sigmoid=SIGMOID, sigmoid_grad="from course_lib.key.activations import sigmoid_grad\n")
    with pytest.raises(CheckFailed, match="calls course_lib"):
        _check(ns)


def test_an_exercise_that_is_not_defined_yet_says_which_cell_to_run():
    with pytest.raises(NameError, match="run the exercise's cell above"):
        _check(_notebook_namespace())


def test_a_failed_check_shows_its_message_not_a_traceback_into_the_library(tmp_path):
    # In a real kernel, as JupyterLab shows it: IPython renders CheckFailed by its _render_traceback_.
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("import numpy as np, math\nfrom course_lib import checks\n" + SIGMOID),
        nbformat.v4.new_code_cell("def sigmoid_grad(z):\n    return sigmoid(z) * (1 - z)"),
        nbformat.v4.new_code_cell(SIGMOID_GRAD_CHECK)])
    NotebookClient(nb, kernel_name="python3", timeout=60, allow_errors=True, config=ipc_kernel_config(tmp_path)).execute()
    (error,) = [o for o in nb.cells[2].outputs if o.output_type == "error"]
    assert error.ename == "CheckFailed"  # nbgrader still sees an error, and the message
    assert error.evalue.startswith("sigmoid_grad: you computed σ(z)·(1 − z)")
    assert error.traceback == [f"✘ {error.evalue}"]


# ----------------------------------------------- judges shared with the hidden tests


def test_restored_exactly_nudged_and_off_by_rounding_are_told_apart(capsys):
    before = np.array([0.7, -2.3, 3.0])
    checks.expect_restored(before, before.copy(), name="numerical_gradient", eps=1e-6)
    assert "exactly" in capsys.readouterr().out
    with pytest.raises(CheckFailed, match=checks.LEFT_NUDGED):
        checks.expect_restored(before, before - 1e-6, name="numerical_gradient", eps=1e-6)
    drifted = before.copy()
    for i in range(3):  # x + ε − 2ε + ε: not always x
        drifted[i] += 1e-6
        drifted[i] -= 2e-6
        drifted[i] += 1e-6
    assert drifted.tobytes() != before.tobytes()
    with pytest.raises(CheckFailed, match="does not restore x exactly"):
        checks.expect_restored(before, drifted, name="numerical_gradient", eps=1e-6)


def _init(use=lambda init: init, sizes=(300, 400, 10)):
    # the spreads as plain numbers: the student's function may not call into course_lib
    spread = {(init, i, o): f(i, o) for init, f in INIT_STD.items() for i, o in zip(sizes, sizes[1:])}

    def init_params(sizes, init, seed):
        rng = np.random.default_rng(seed)
        return [(np.zeros((o, i)) if init == "zeros" else rng.normal(0, spread[use(init), i, o], (o, i)), np.zeros(o))
                for i, o in zip(sizes, sizes[1:])]

    return init_params


def test_the_visible_initializer_check_and_the_hidden_test_say_the_same():
    right = _init()
    he_for_xavier = _init(lambda init: "he" if init == "xavier" else init)
    spreads = {init: f(300, 400) for init, f in INIT_STD.items()}
    checks.expect_initializer(right, spreads)
    check_initializer(right)
    with pytest.raises(CheckFailed) as visible:
        checks.expect_initializer(he_for_xavier, spreads)
    with pytest.raises(CheckFailed) as hidden:
        check_initializer(he_for_xavier)
    assert str(visible.value) == str(hidden.value)
    assert "that is the spread of 'he'" in str(visible.value)

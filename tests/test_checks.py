"""The exercise checks: right answers pass silently, typical mistakes get named."""

import numpy as np
import pytest

from course_lib import checks
from course_lib.key.activations import sigmoid, sigmoid_grad
from course_lib.checks import CheckFailed, diagnose
from course_lib.key.hidden import check_function


@pytest.mark.parametrize("got, expected, words", [
    (np.ones((2, 3)), np.ones((3, 2)), "looks transposed"),
    (np.ones(6), np.ones((2, 3)), "right number of elements"),
    (np.array([1.0, np.inf]), np.array([1.0, 2.0]), "NaN or inf"),
    (np.array([-1.0, 2.0]), np.array([1.0, -2.0]), "wrong sign"),
    (np.array([2.0, 4.0]), np.array([1.0, 2.0]), "a missing ½"),
    (np.array([8.0, 16.0]), np.array([1.0, 2.0]), "a missing 1/N"),
    (np.array([0.000945]), np.array([0.000929]), "is wrong"),
    (np.array([0.6800]), np.array([0.680267]), "close but not exact"),
    (None, 1.0, "`return` missing"),
    ("0.5", 0.5, None),
    ({"a": 1}, 0.5, "number or an array"),
])
def test_diagnose_names_the_mistake(got, expected, words):
    message = diagnose(got, expected)
    if words is None:
        assert message is None
    else:
        assert words in message


def test_any_correct_form_of_a_scalar_passes():
    for got in (0.5, np.float64(0.5), np.array(0.5), np.array([0.5]), [0.5]):
        assert diagnose(got, 0.5) is None


def test_passing_check_prints_one_line_to_stdout_and_nothing_to_stderr(capsys):
    check_function(lambda z: 1 / (1 + np.exp(-z)), sigmoid, [(0.0,), (np.linspace(-5, 5, 7),)], name="sigmoid")
    out, err = capsys.readouterr()
    assert out.count("\n") == 1 and "passed all 2" in out and err == ""


def test_calling_the_reference_is_refused_even_through_an_alias():
    alias = sigmoid_grad  # as if made in another cell
    table = {"f": sigmoid}
    for student in (lambda z: alias(z), lambda z: table["f"](z) * (1 - table["f"](z))):
        with pytest.raises(CheckFailed, match=r"calls course_lib \(course_lib\.activations\.sigmoid"):
            check_function(student, sigmoid_grad, [(1.0,)], name="sigmoid_grad")


def test_a_hard_coded_answer_is_named():
    with pytest.raises(CheckFailed, match="typed in rather than computed"):
        check_function(lambda z: 0.19661193324148185, sigmoid_grad, [(1.0,), (2.0,)], name="sigmoid_grad",
                       lecture_cases=1)


def test_a_known_wrong_formula_gets_its_hint():
    wrong = lambda z: sigmoid(z) * (1 - z)  # noqa: E731
    with pytest.raises(CheckFailed, match="use σ"):
        check_function(lambda z: (1 / (1 + np.exp(-z))) * (1 - z), sigmoid_grad, [(0.5,)], name="sigmoid_grad",
                       hints=[(wrong, "you wrote σ(z)(1 − z): use σ(z) in the second factor")])


def test_warnings_from_student_code_fail_with_a_message_and_stay_off_stderr(capsys):
    naive = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731  overflows for z = −1000
    with pytest.raises(CheckFailed, match="overflow"):
        check_function(naive, sigmoid, [(np.array([-1000.0, 0.0]),)], name="sigmoid")
    assert capsys.readouterr().err == ""


def test_errors_and_unwritten_functions_are_reported_plainly():
    def unwritten(z):
        raise NotImplementedError()

    with pytest.raises(CheckFailed, match="not written yet"):
        check_function(unwritten, sigmoid, [(0.0,)], name="sigmoid")
    with pytest.raises(CheckFailed, match=r"raised ZeroDivisionError"):
        check_function(lambda z: 1 / 0, sigmoid, [(0.0,)], name="sigmoid")


def test_tuples_must_have_the_contract_length():
    with pytest.raises(CheckFailed, match="tuple of 2 values"):
        check_function(lambda x, y: (x,), lambda x, y: (x, y), [(1.0, 2.0)], name="pair")
    check_function(lambda x, y: [x, y], lambda x, y: (x, y), [(1.0, 2.0)], name="pair")  # a list is fine


def test_a_student_function_that_changes_its_input_cannot_fool_the_reference():
    def mutating(z):
        z *= 0
        return sigmoid_grad_by_hand(z)

    def sigmoid_grad_by_hand(z):
        s = 1 / (1 + np.exp(-z))
        return s * (1 - s)

    with pytest.raises(CheckFailed):
        check_function(mutating, sigmoid_grad, [(np.array([1.0, 2.0]),)], name="sigmoid_grad")


def test_visible_checks_compare_with_lecture_numbers_and_finite_differences(capsys):
    checks.expect_close(0.7310585786300049, 0.7310585786300049, what="σ(1)")
    checks.expect_derivative(lambda z: 1 / (1 + np.exp(-z)), lambda z: sigmoid(z) * (1 - sigmoid(z)),
                             np.linspace(-3, 3, 5), what="sigmoid_grad")
    assert capsys.readouterr().out.count("✔") == 2
    with pytest.raises(CheckFailed, match="centered differences"):
        checks.expect_derivative(np.sin, np.sin, np.array([0.3]), what="d sin")


def test_given_functions_stand_in_for_the_students_and_are_restored():
    namespace = {"np": np}
    exec("def sigmoid(z):\n    return 0 * z\n\ndef grad(z):\n    s = sigmoid(z)\n    return s * (1 - s)", namespace)
    with pytest.raises(CheckFailed):
        check_function(namespace["grad"], sigmoid_grad, [(1.0,)], name="grad")
    check_function(namespace["grad"], sigmoid_grad, [(1.0,)], name="grad", given={"sigmoid": sigmoid})
    assert namespace["sigmoid"](3.0) == 0  # the student's own function is back


def test_negative_factors_are_not_called_a_missing_average():
    message = diagnose(np.array([-4.0, -8.0]), np.array([1.0, 2.0]))
    assert "1/N" not in message and "division" not in message
    assert "1/N" in diagnose(np.array([4.0, 8.0]), np.array([1.0, 2.0]))


def test_a_named_mistake_on_a_later_case_beats_an_early_crash():
    def student(z):
        z = np.asarray(z, dtype=float)
        if z.ndim == 0:
            raise ValueError("scalars not handled")
        s = 1 / (1 + np.exp(-z))
        return s * (1 - z)

    wrong = lambda z: sigmoid(z) * (1 - z)  # noqa: E731
    with pytest.raises(CheckFailed, match="use σ in the second factor"):
        check_function(student, sigmoid_grad, [(1.0,), (np.array([0.5, 1.5]),)], name="sigmoid_grad",
                       hints=[(wrong, "use σ in the second factor")])
    with pytest.raises(CheckFailed, match="raised ValueError: scalars not handled"):
        check_function(student, sigmoid_grad, [(1.0,), (np.array([0.5, 1.5]),)], name="sigmoid_grad")


def test_initializer_check_accepts_the_lecture_spreads_and_names_mistakes():
    from course_lib.key import network
    from course_lib.key.hidden import check_initializer

    check_initializer(_outside_course_lib(lambda sizes, init, seed: network.init_params(sizes, init, seed + 1000)))

    def he_for_xavier(sizes, init, seed):
        return network.init_params(sizes, "he" if init == "xavier" else init, seed + 1)

    def transposed(sizes, init, seed):
        return [(W.T, b) for W, b in network.init_params(sizes, init, seed + 1)]

    def fixed_seed(sizes, init, seed):
        return network.init_params(sizes, init, 7)

    def too_wide(sizes, init, seed):
        return network.init_params(sizes, init, seed + 1, scale=1.0 if init == "normal" else None)

    for bad, words in ((he_for_xavier, "the spread of 'he'"), (transposed, "looks transposed"),
                       (too_wide, r"standard deviation 0\.01, got 0\.99"),
                       (fixed_seed, "another seed must give other weights")):
        with pytest.raises(CheckFailed, match=words):
            check_initializer(_outside_course_lib(bad))


def _outside_course_lib(fn):
    """fn's answers computed beforehand, so the check's reference guard sees no course_lib call."""
    results = {}

    def wrapper(sizes, init, seed):
        return results[(tuple(sizes), init, seed)]

    for init in ("zeros", "normal", "xavier", "he"):
        for seed in (0, 1):
            results[((300, 400, 10), init, seed)] = fn([300, 400, 10], init, seed)
    return wrapper


def test_an_ordinary_bug_is_not_called_typed_in():
    # Right at the worked example, wrong (by a warning or a value) elsewhere, but not constant.
    def two_branch(z):
        z = np.asarray(z, dtype=float)
        return np.where(z >= 0, 1 / (1 + np.exp(-z)), np.exp(z) / (1 + np.exp(z)))

    with pytest.raises(CheckFailed) as err:
        check_function(two_branch, sigmoid, [(1.0,), (np.array([-1000.0, 1000.0]),)], name="sigmoid",
                       lecture_cases=1)
    assert "typed in" not in str(err.value) and "overflow" in str(err.value)


def test_course_lib_operators_count_as_calling_the_reference():
    from course_lib.graph import Value

    def uses_graph(x):
        v = Value(x)
        return (v * v).data

    with pytest.raises(CheckFailed) as err:
        check_function(uses_graph, lambda x: x * x, [(3.0,)], name="square")
    assert "calls course_lib (course_lib.graph)" in str(err.value)


def test_a_warning_in_a_visible_derivative_check_becomes_a_message():
    with pytest.raises(CheckFailed, match="overflow"):
        checks.expect_derivative(np.tanh, lambda z: 1 / np.cosh(z) ** 2, np.array([1000.0]), what="tanh_grad")


def test_uneven_arguments_and_list_results_are_handled():
    from course_lib.key import layers

    rng = np.random.default_rng(0)
    X, W, b = rng.normal(size=(4, 3)), rng.normal(size=(2, 3)), rng.normal(size=2)
    dZ = rng.normal(size=(4, 2))
    # a cache tuple of differently shaped arrays as an argument (np.asarray would fail on it)
    with pytest.raises(CheckFailed, match=r"\(<array of shape \(4, 3\)>, <array of shape \(2, 3\)>, \["):
        check_function(lambda d, c: (d, d, d), layers.affine_backward, [(dZ, (X, W, b))], name="affine_backward")
    # a reference returning a list of (dW, db) pairs: compared pair by pair
    grads = [(np.ones((2, 3)), np.ones(2))]
    check_function(lambda: [(np.ones((2, 3)), np.ones(2))], lambda: grads, [()], name="grads")
    # a visible check of a function returning (probs, caches)
    out = checks.expect_silent(lambda: (np.ones(3) / 3, [("cache", np.zeros(2))]), what="forward")
    assert len(out) == 2


def test_a_nested_list_of_numbers_is_an_array_not_a_structure():
    checks.expect_close(np.array([[1.0, 2.0], [3.0, 4.0]]), [[1.0, 2.0], [3.0, 4.0]], what="Z")


# ------------------------------------------------------------------ expect_gradient


def test_expect_gradient_passes_a_right_gradient_and_restores_x_bit_for_bit(capsys):
    x = np.array([[1.0, 2.0, -0.5], [0.3, -1.7, 4.0]])
    before = x.copy()
    checks.expect_gradient(3 * x**2, lambda v: np.sum(v**3), x, what="d Σx³")   # f takes x
    checks.expect_gradient(3 * x**2, lambda: np.sum(x**3), x, what="d Σx³")     # f reads x from its closure
    assert x.tobytes() == before.tobytes()
    assert capsys.readouterr().out.count("✔ d Σx³ matches centered differences (largest relative difference") == 2


@pytest.mark.parametrize("wrong, words", [
    (lambda x: 6 * x**2, "is exactly 2 times the right answer"),
    (lambda x: -3 * x**2, "has the wrong sign"),
    (lambda x: (3 * x**2).T, "looks transposed"),
    (lambda x: 3 * x**2 + np.eye(2, 3), "is wrong at index (0, 0)"),
])
def test_expect_gradient_names_the_mistake(wrong, words):
    x = np.array([[1.0, 2.0, -0.5], [0.3, -1.7, 4.0]])
    with pytest.raises(CheckFailed, match=r"centered differences") as err:
        checks.expect_gradient(wrong(x), lambda v: np.sum(v**3), x, what="dx")
    assert words in str(err.value)


def test_expect_gradient_restores_x_when_f_raises_and_refuses_integer_arrays():
    x = np.array([1.0, 2.0])

    def broken(v):
        raise ValueError("bug")

    with pytest.raises(ValueError):
        checks.expect_gradient(np.zeros(2), broken, x, what="dx")
    assert x.tolist() == [1.0, 2.0]
    with pytest.raises(TypeError, match="float numpy array"):
        checks.expect_gradient(np.zeros(2), lambda v: 0.0, np.array([1, 2]), what="dx")

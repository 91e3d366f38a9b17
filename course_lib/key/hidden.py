"""Hidden tests' helpers: a student's function against the reference (instructor side).

``check_function`` calls the student's function on the lecture's inputs and on
random ones and compares it with the reference answer at stated tolerances;
``check_initializer`` tests an initializer by its distribution. Every failure
is worded by ``course_lib.checks.diagnose``, the same words the visible checks
use. The student's function may not call into ``course_lib`` (that would
compare the reference with itself), and an answer right only at the lecture's
inputs is reported as hard-coded.

Only the hidden tests (in the grader, or in nbgrader's kernel) import this.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from ..checks import ATOL, RTOL, CheckFailed, _compare, _ok, _run_student, _show, diagnose

__all__ = ["INIT_STD", "check_function", "check_initializer"]


def check_function(student, reference, cases, *, name, lecture_cases=0, hints=(), given=None, rtol=RTOL, atol=ATOL):
    """Hidden test: the student's function agrees with the reference on every case.

    Parameters
    ----------
    student, reference : callables taking the same arguments
    cases : list of argument tuples; the first ``lecture_cases`` are the
        lecture's inputs, the rest random ones
    name : how to call the function in messages, e.g. "sigmoid_grad"
    hints : pairs (wrong_formula, message): when the student's answer
        matches what ``wrong_formula`` returns on a failing case, the message
        names that mistake
    given : {name: function} the student's function may call, bound to
        correct stand-ins during the test, so that an exercise is graded on
        its own (a wrong ``sigmoid`` costs the sigmoid exercise only)
    rtol, atol : tolerances of the comparison

    Raises CheckFailed with the diagnosis of the first failing case.
    """
    __tracebackhide__ = True  # IPython hides this frame from a traceback unless the error is raised in it
    cases = [tuple(c) for c in cases]
    prefetch = getattr(student, "prefetch", None)
    if prefetch is not None:  # a function in a sandboxed kernel (course grade): all cases in one round trip
        prefetch([_copies(args) for args in cases], given or {})
    failures = []
    answers = {}  # case index -> the student's answer
    for k, args in enumerate(cases):
        # Each call gets its own copies, so a function that changes its
        # inputs cannot change what the reference sees.
        expected = reference(*_copies(args))
        try:
            got = _run_student(student, _copies(args), name, given)
        except CheckFailed as err:  # an error or a warning on this case: keep looking at the others
            if err.final:
                raise
            failures.append((k, args, _ERRORED, str(err)))
            continue
        answers[k] = got
        problem = _compare(got, expected, f"{name}{_show(args)}", rtol, atol)
        if problem:
            failures.append((k, args, got, problem))
    if not failures:
        _ok(f"{name} passed all {len(cases)} hidden cases.")
        return
    # A named mistake on any case says more than the first generic failure.
    for k, args, got, problem in failures:
        if got is _ERRORED:
            continue
        for wrong, message in hints:
            if _matches(got, wrong, args, rtol, atol):
                raise CheckFailed(f"{name}: {message}")
    k, args, got, problem = failures[0]
    if lecture_cases and all(j >= lecture_cases for j, *_ in failures) and _constant(answers, failures, lecture_cases):
        raise CheckFailed(
            f"{name} gives the worked example's answer for other inputs too ({problem}). "
            "Is the answer typed in rather than computed from the arguments?"
        )
    raise CheckFailed(problem)


def _constant(answers, failures, lecture_cases):
    """True when a failing case got exactly the answer of a worked-example case (a typed-in answer)."""
    examples = [answers[j] for j in range(lecture_cases) if j in answers]
    for _, _, got, _ in failures:
        if got is not _ERRORED and any(_compare(got, _frozen(e), "", 1e-12, 0.0) is None for e in examples):
            return True
    return False


def _frozen(answer):
    """A student's answer as ``_compare`` expects the *expected* side: tuples of float arrays."""
    if isinstance(answer, (tuple, list)) and any(isinstance(a, (tuple, list, np.ndarray)) for a in answer):
        return tuple(_frozen(a) for a in answer)
    try:
        return np.asarray(answer, dtype=np.float64)
    except (TypeError, ValueError):
        return tuple(_frozen(a) for a in answer)


# The spreads of lecture 004, as functions of (n_in, n_out).
INIT_STD = {
    "normal": lambda n_in, n_out: 0.01,
    "xavier": lambda n_in, n_out: math.sqrt(2.0 / (n_in + n_out)),
    "he": lambda n_in, n_out: math.sqrt(2.0 / n_in),
}


def check_initializer(init_params, inits=("zeros", "normal", "xavier", "he"), *, name="init_params",
                      sizes=(300, 400, 10), rtol=0.03):
    """Hidden test of ``init_params(sizes, init, seed)``: the distribution, never one random stream.

    For each init: one (W, b) per layer with W (n_out, n_in) and b (n_out,)
    of zeros; "zeros" gives zero weights; the others have mean ≈ 0 and the
    lecture's standard deviation within ``rtol`` on the 400 × 300 layer
    (120,000 draws: the sample spread is within 0.3 % of σ); the same seed
    gives the same draw and another seed another.
    """
    __tracebackhide__ = True  # IPython hides this frame from a traceback unless the error is raised in it
    n_in, n_out = sizes[0], sizes[1]
    for init in inits:
        params = _run_student(init_params, (list(sizes), init, 0), f"{name}(..., {init!r}, seed=0)")
        if not isinstance(params, (list, tuple)) or len(params) != len(sizes) - 1:
            raise CheckFailed(f"{name} should return one (W, b) pair per layer: {len(sizes) - 1} for sizes {list(sizes)}")
        for l, (layer, fan_in, fan_out) in enumerate(zip(params, sizes[:-1], sizes[1:]), start=1):
            W, b = layer
            for what, got, shape in (("W", W, (fan_out, fan_in)), ("b", b, (fan_out,))):
                problem = diagnose(got, np.zeros(shape), name=f"{what}{l} of {init!r}") if np.shape(got) != shape else None
                if problem:
                    raise CheckFailed(f"{problem} (weights are (n_out, n_in), biases (n_out,))")
            if np.any(np.asarray(b) != 0):
                raise CheckFailed(f"{name}({init!r}): the biases should start at 0")
        W = np.asarray(params[0][0], dtype=np.float64)
        if init == "zeros":
            if np.any(W != 0):
                raise CheckFailed(f"{name}('zeros') should give weights that are all 0")
            continue
        expected = INIT_STD[init](n_in, n_out)
        std, mean = float(W.std()), float(W.mean())
        if not math.isclose(std, expected, rel_tol=rtol):
            others = [k for k, f in INIT_STD.items() if k != init and math.isclose(std, f(n_in, n_out), rel_tol=rtol)]
            why = (f" — that is the spread of {others[0]!r}" if others else
                   " — the variance used as the standard deviation?" if math.isclose(std, expected**2, rel_tol=rtol)
                   else "")
            raise CheckFailed(f"{name}({init!r}) for a {n_in} → {n_out} layer should have standard deviation "
                              f"{expected:.4g}, got {std:.4g}{why}")
        # the spread is right, so the mean of 120,000 draws lies within 5σ/√n of 0
        if abs(mean) > 5 * expected / math.sqrt(W.size):
            raise CheckFailed(f"{name}({init!r}): the weights should have mean 0, got {mean:.3g}")
        again = _run_student(init_params, (list(sizes), init, 0), name)
        other = _run_student(init_params, (list(sizes), init, 1), name)
        if not np.array_equal(np.asarray(again[0][0]), W):
            raise CheckFailed(f"{name}({init!r}): the same seed must give the same weights (use np.random.default_rng(seed))")
        if np.array_equal(np.asarray(other[0][0]), W):
            raise CheckFailed(f"{name}({init!r}): another seed must give other weights (is the seed ignored?)")
    _ok(f"{name} draws every init with the right shapes, zero biases, spread and seeding.")


_ERRORED = object()  # marks a case on which the student's function raised or warned


def _matches(got, wrong, args, rtol, atol):
    """Does the student's answer equal what the known-wrong formula gives?"""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with np.errstate(all="ignore"):
            try:
                return _compare(got, wrong(*_copies(args)), "", rtol, atol) is None
            except Exception:
                return False


def _copies(args):
    return tuple(a.copy() if isinstance(a, np.ndarray) else a for a in args)

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

from ..checks import ATOL, RTOL, TYPED_IN, CheckFailed, _compare, _ok, _run_student, _show, _typed_in, expect_initializer
from ..mistakes import identical

__all__ = ["INIT_STD", "check_function", "check_initializer"]


def check_function(student, reference, cases, *, name, lecture_cases=0, hints=(), given=None, rtol=RTOL, atol=ATOL,
                   as_called=None):
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
    as_called : (to_case, part), when the cases are not the function's own
        arguments or answers: ``to_case(*args)`` turns the arguments of a call
        in the check cell into a case (None: they are one), and the test
        compares ``answer[part]`` (or the whole answer when part is None). Not used here: the check cell's
        copy of the hints (course_lib.grading.mistakes) needs it.

    The hints are this exercise's catalogue of mistakes: the visible check
    cell names them in the same words, from their answers at its own inputs.

    Raises CheckFailed with the diagnosis of the first failing case.
    """
    __tracebackhide__ = True  # IPython hides this frame from a traceback unless the error is raised in it
    cases = [tuple(c) for c in cases]
    prefetch = getattr(student, "prefetch", None)
    if prefetch is not None:  # a function in a sandboxed kernel (course grade): all cases in one round trip
        prefetch([_copies(args) for args in cases], given or {})
    failures = []
    answers, right = {}, {}  # case index -> the student's answer, the reference's
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
        answers[k], right[k] = got, expected
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
    same = _same_answer(cases, answers, right)
    if same:
        raise CheckFailed(_typed_in(name, *same))
    k, args, got, problem = failures[0]
    if lecture_cases and all(j >= lecture_cases for j, *_ in failures) and _constant(answers, failures, lecture_cases):
        raise CheckFailed(
            f"{name} gives the worked example's answer for other inputs too ({problem}). {TYPED_IN}"
        )
    raise CheckFailed(problem)


def _same_answer(cases, answers, right):
    """(args, args) of two cases with different right answers where the student's answers are identical."""
    done = sorted(answers)
    for i, k in enumerate(done):
        for j in done[i + 1:]:
            if _compare(right[j], _frozen(right[k]), "", 1e-12, 0.0) is not None and identical(answers[k], answers[j]):
                return cases[k], cases[j]
    return None


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

    The lecture's spreads (INIT_STD) on the first layer of ``sizes``, judged
    by the same code as the visible check (``checks.expect_initializer``),
    with the student's calls guarded as in every hidden test.
    """
    __tracebackhide__ = True  # IPython hides this frame from a traceback unless the error is raised in it
    spreads = {init: f(sizes[0], sizes[1]) for init, f in INIT_STD.items()}
    call = lambda *args: _run_student(init_params, args, f"{name}(..., {args[1]!r}, seed={args[2]})")  # noqa: E731
    expect_initializer(call, spreads, inits=inits, name=name, sizes=sizes, rtol=rtol)


_ERRORED = object()  # marks a case on which the student's function raised or warned


def wrong_answer(wrong, args):
    """What a hint's wrong formula gives at ``args`` (on copies, silently); None where it does not apply.

    Also used by course_lib.grading.mistakes, which stores these answers for the check cells.
    """
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            return wrong(*_copies(args))
        except Exception:  # a formula written for other shapes of input
            return None


def _matches(got, wrong, args, rtol, atol):
    """Does the student's answer equal what the known-wrong formula gives?"""
    answer = wrong_answer(wrong, args)
    return answer is not None and _compare(got, answer, "", rtol, atol) is None


def _copies(args):
    return tuple(a.copy() if isinstance(a, np.ndarray) else a for a in args)

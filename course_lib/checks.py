"""Checks for the workbook's exercises, with messages that say what is probably wrong.

Two kinds of check, both raising ``CheckFailed`` (an AssertionError, so
nbgrader scores the cell as failed) with a message in plain words:

* **visible checks** (``expect_close``, ``expect_derivative``): compare a
  student's answer with a number printed in the lectures, or a derivative
  with centered differences. They never use the reference answer.
* **hidden tests** (``check_function``): call the student's function on the
  lecture's inputs and on random ones, and compare with ``course_lib``'s
  reference at stated tolerances. The student's function may not call into
  ``course_lib`` (that would compare the reference with itself), and an
  answer right only at the lecture's inputs is reported as hard-coded.

Every failure goes through ``diagnose``, which recognises the usual
mistakes: a wrong shape (and a transposed one), a flipped sign, a constant
factor (a missing ½ or 1/N), NaN or inf from an unstable formula, and values
that are close but not exact (rounded intermediates). Exercise-specific
mistakes can be named with ``hints``: known wrong formulas and what to say
when the answer matches one of them.

A passing check prints one line to stdout and nothing to stderr.
"""

from __future__ import annotations

import contextlib
import contextvars
import math
import sys
import warnings
from pathlib import Path

import numpy as np

__all__ = [
    "CheckFailed",
    "check_function",
    "check_initializer",
    "current_call",
    "diagnose",
    "expect_close",
    "expect_derivative",
    "expect_silent",
    "reference_forbidden",
]

RTOL = 1e-7  # relative tolerance of every comparison unless stated otherwise
ATOL = 1e-10  # absolute tolerance, for answers that are (nearly) zero

_LIBRARY = Path(__file__).resolve().parent
_THIS_FILE = str(Path(__file__).resolve())
_GRADER = str(_LIBRARY / "grading")  # the grader's own plumbing (kernel proxies) is not "the reference"

# The call the grader is making right now: (given, called), read by the grader's
# proxies for functions that live in a sandboxed kernel (course_lib.grading.replay).
_CURRENT_CALL = contextvars.ContextVar("course_lib_checks_call", default=None)


class CheckFailed(AssertionError):
    """A check did not pass; the message says why in plain words.

    ``final`` marks failures that end a hidden test at once (the function is
    not written, or calls the reference), whatever the other cases give.
    """

    def __init__(self, message, final=False):
        super().__init__(message)
        self.final = final


# ------------------------------------------------------------------ diagnose


def _as_numbers(value, name):
    if value is None:
        return None, f"{name} is None: is a `return` missing?"
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        return None, f"{name} should be a number or an array of numbers, but it is a {type(value).__name__}"
    return arr, None


def _factor_message(c):
    for k, text in ((2.0, "a missing ½"), (0.5, "an extra ½ (or a missing factor 2)")):
        if math.isclose(c, k, rel_tol=1e-6):
            return f"is exactly {c:g} times the right answer: {text}?"
    if c > 2 and math.isclose(c, round(c), rel_tol=1e-6):
        return f"is exactly {round(c)} times the right answer: a missing 1/N (an average over the batch)?"
    if 0 < c < 0.5 and math.isclose(1 / c, round(1 / c), rel_tol=1e-6):
        return f"is exactly 1/{round(1 / c)} of the right answer: an extra division (by N?)"
    return None


def diagnose(got, expected, *, name="your answer", rtol=RTOL, atol=ATOL):
    """None if ``got`` matches ``expected``; otherwise what is probably wrong.

    Scalars may be Python floats, numpy scalars, 0-d or one-element arrays;
    lists and tuples of numbers count as arrays.
    """
    g, problem = _as_numbers(got, name)
    if problem:
        return problem
    e = np.asarray(expected, dtype=np.float64)
    if g.shape != e.shape:
        if e.size == 1 and g.size == 1:
            g = g.reshape(e.shape)
        elif g.ndim == 2 and g.shape == e.shape[::-1]:
            return f"{name} has shape {g.shape} but should have shape {e.shape}: it looks transposed"
        elif g.size == e.size:
            return (f"{name} has shape {g.shape} but should have shape {e.shape} "
                    "(the right number of elements: a reshape, or a missing/extra axis?)")
        else:
            return f"{name} has shape {g.shape} but should have shape {e.shape}"
    bad = ~np.isfinite(g) & np.isfinite(e)
    if bad.any():
        return (f"{name} contains NaN or inf where the right answer is finite: an unstable formula? "
                "(for example, exp of a large number overflows)")
    if np.allclose(g, e, rtol=rtol, atol=atol):
        return None
    if np.allclose(g, -e, rtol=rtol, atol=atol):
        return f"{name} has the wrong sign: every value is flipped"
    if g.ndim == 2 and g.shape[0] == g.shape[1] and np.allclose(g, e.T, rtol=rtol, atol=atol):
        return f"{name} looks transposed: rows and columns are swapped"
    big = np.abs(e) > 1e3 * atol
    if big.any():
        ratios = g[big] / e[big]
        c = float(np.median(ratios))
        if np.allclose(ratios, c, rtol=1e-6) and np.allclose(g, c * e, rtol=rtol, atol=atol):
            telltale = _factor_message(c)
            if telltale:
                return f"{name} {telltale}"
            if big.sum() >= 2 and abs(c - 1) > 1e-2:  # one element always has "a factor"
                return f"{name} is the right answer times {c:.6g}: a wrong constant factor?"
    scale = np.maximum(np.abs(e), atol)
    worst = np.unravel_index(int(np.argmax(np.abs(g - e) / scale)), e.shape) if e.ndim else ()
    rel = float(np.max(np.abs(g - e) / scale))
    where = f" at index {tuple(int(i) for i in worst)}" if e.ndim else ""
    if rel < 1e-2:
        return (f"{name} is close but not exact (relative error {rel:.1e}{where}): "
                "did you use rounded numbers, such as the slide's printed intermediates?")
    return f"{name} is wrong{where}: expected {float(e[worst]):.6g}, got {float(g[worst]):.6g}"


def _compare(got, expected, name, rtol, atol):
    """diagnose(), recursing through tuples: the student's lists and tuples both fit."""
    if isinstance(expected, list) and _ragged(expected):
        expected = tuple(expected)  # e.g. a list of (dW, db) pairs: compared pair by pair
    if isinstance(expected, tuple):
        if not isinstance(got, (tuple, list)) or len(got) != len(expected):
            kind = type(got).__name__
            size = f" of length {len(got)}" if isinstance(got, (tuple, list)) else ""
            return f"{name} should be a tuple of {len(expected)} values, but it is a {kind}{size}"
        for i, (g, e) in enumerate(zip(got, expected)):
            problem = _compare(g, e, f"{name}[{i}]", rtol, atol)
            if problem:
                return problem
        return None
    return diagnose(got, expected, name=name, rtol=rtol, atol=atol)


# ----------------------------------------------------------- visible checks


def _ok(message):
    print(f"✔ {message}")


def expect_close(got, expected, *, what, rtol=RTOL, atol=ATOL, source="the lecture"):
    """Visible check: ``got`` equals a value worked out in the lectures."""
    __tracebackhide__ = True  # IPython hides this frame from a traceback unless the error is raised in it
    problem = _compare(got, expected, what, rtol, atol)
    if problem:
        raise CheckFailed(f"{problem}. (Checked against {source}.)")
    _ok(f"{what} matches {source}.")


def expect_derivative(f, df, x, *, what, eps=1e-6, rtol=1e-6, atol=1e-8):
    """Visible check: ``df(x)`` equals centered differences of ``f`` at x (elementwise f)."""
    __tracebackhide__ = True  # IPython hides this frame from a traceback unless the error is raised in it
    x = np.asarray(x, dtype=np.float64)
    numeric = (np.asarray(f(x + eps), dtype=np.float64) - np.asarray(f(x - eps), dtype=np.float64)) / (2 * eps)
    got = expect_silent(df, x, what=what, quiet=True)
    problem = _compare(got, numeric, what, rtol, atol)
    if problem:
        raise CheckFailed(f"{problem}. (Checked against centered differences (f(x+ε) − f(x−ε))/2ε.)")
    _ok(f"{what} matches centered differences at {x.size} point{'s' if x.size != 1 else ''}.")


def expect_silent(fn, *args, what, quiet=False):
    """Visible check: fn(*args) runs without a RuntimeWarning (overflow, division by 0, ...); returns its result."""
    __tracebackhide__ = True  # IPython hides this frame from a traceback unless the error is raised in it
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = fn(*args)
    runtime = [w for w in caught if issubclass(w.category, RuntimeWarning)]
    if runtime:
        message = str(runtime[0].message)
        raise CheckFailed(f"{what} raised a warning: '{message}'. {_warning_cause(message)}")
    if quiet:
        return result
    if not all(np.all(np.isfinite(part)) for part in _numeric_parts(result)):
        raise CheckFailed(f"{what} returned NaN or inf: an unstable formula?")
    _ok(f"{what} runs without warnings and stays finite.")
    return result


# ------------------------------------------------------------ hidden tests


@contextlib.contextmanager
def reference_forbidden(trusted=()):
    """Record every course_lib function that runs inside the block.

    Uses the interpreter's profiler hook, so it catches the reference however
    it was reached: ``course_lib.activations.sigmoid``, an alias made in
    another cell, a function stored in a list, or an operator of
    ``course_lib.graph.Value``. Calls made from inside a ``trusted``
    function (the stand-ins of ``check_function(given=...)``) are not
    recorded. Yields the list of (module, function) pairs.
    """
    called = []
    trusted_codes = {getattr(f, "__code__", None) for f in trusted} - {None}
    depth = [0]  # > 0 while inside a trusted function

    def profiler(frame, event, arg):
        code = frame.f_code
        if code in trusted_codes:
            depth[0] += 1 if event == "call" else -1 if event == "return" else 0
            return
        if event == "call" and depth[0] == 0:
            filename = code.co_filename
            if filename != _THIS_FILE and filename.startswith(str(_LIBRARY)) and not filename.startswith(_GRADER):
                called.append((Path(filename).stem, code.co_name))

    previous = sys.getprofile()
    sys.setprofile(profiler)
    try:
        yield called
    finally:
        sys.setprofile(previous)


@contextlib.contextmanager
def _bound(fn, given):
    """Temporarily bind ``given`` names in the namespace fn reads its globals from."""
    namespace = getattr(fn, "__globals__", None)
    if not given or namespace is None:
        yield
        return
    missing = object()
    saved = {name: namespace.get(name, missing) for name in given}
    namespace.update(given)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is missing:
                namespace.pop(name, None)
            else:
                namespace[name] = value


def _run_student(fn, args, name, given=None):
    """Call the student's function; turn warnings and errors into messages."""
    __tracebackhide__ = True  # IPython hides this frame from a traceback unless the error is raised in it
    given = given or {}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with np.errstate(all="warn", under="ignore"), _bound(fn, given):
            with reference_forbidden(given.values()) as called:
                token = _CURRENT_CALL.set((given, called))
                try:
                    result = fn(*args)
                except NotImplementedError:
                    raise CheckFailed(f"{name} is not written yet (it raises NotImplementedError).", final=True) from None
                except Exception as err:  # the student's bug: say which and where
                    raise CheckFailed(f"{name}{_show(args)} raised {type(err).__name__}: {err}") from None
                finally:
                    _CURRENT_CALL.reset(token)
    if called:
        # Name the public functions reached; a helper or an operator (Value.__mul__) names its module.
        public = {f"course_lib.{m}.{f}" for m, f in called if not f.startswith(("_", "<"))}
        used = ", ".join(sorted(public or {f"course_lib.{m}" for m, _ in called}))
        raise CheckFailed(
            f"{name} calls course_lib ({used}). Your answer is checked against course_lib, so calling it "
            "proves nothing: write the computation yourself (numpy is fine).", final=True
        )
    runtime = [w for w in caught if issubclass(w.category, RuntimeWarning)]
    if runtime:
        raise CheckFailed(
            f"{name}{_show(args)} raised a warning: '{runtime[0].message}'. A correct formula stays silent here: "
            f"{_warning_cause(str(runtime[0].message))[0].lower()}{_warning_cause(str(runtime[0].message))[1:]}"
        )
    return result


def current_call():
    """(given, called) of the student call in progress, or None: how a proxy for a function in a
    sandboxed kernel learns which stand-ins to bind there and where to report course_lib calls."""
    return _CURRENT_CALL.get()


def _warning_cause(message):
    """What usually produces a numpy RuntimeWarning, in words."""
    if "overflow" in message:
        return "An unstable formula? (exp of a large number overflows; subtract the maximum, or use exp(−|z|))"
    if "divide by zero" in message:
        return "A division by a number that can be 0 (a probability or a denominator): can it be avoided?"
    if "invalid value" in message:
        return "A 0/0, ∞ − ∞ or a log/sqrt of a negative number produced NaN: an unstable formula?"
    return "An unstable formula?"


def _show(args):
    """The arguments as a short readable string: small values in full, big arrays by shape."""

    def short(a):
        if isinstance(a, (tuple, list)):  # e.g. a cache (X, W, b) or a params list: element by element
            inner = ", ".join(short(x) for x in a)
            return f"({inner})" if isinstance(a, tuple) else f"[{inner}]"
        if isinstance(a, np.ndarray):
            return f"<array of shape {a.shape}>" if a.size > 4 else repr(a.tolist())
        return repr(a)

    return "(" + ", ".join(short(a) for a in args) + ")"


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


def _ragged(values):
    """True for a list that is a structure (pairs of differently shaped arrays), not an array of numbers."""
    try:
        np.asarray(values, dtype=np.float64)
        return False
    except (TypeError, ValueError):
        return True


def _numeric_parts(value):
    """The float arrays inside a result that may be a tuple such as (probs, caches)."""
    if isinstance(value, (tuple, list)):
        try:
            return [np.asarray(value, dtype=np.float64)]
        except (TypeError, ValueError):
            return [part for v in value for part in _numeric_parts(v)]
    try:
        return [np.asarray(value, dtype=np.float64)]
    except (TypeError, ValueError):
        return []


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

"""Visible checks for the workbook's exercises, with messages that say what is probably wrong.

Part of the student library: the check cells call these right after each
exercise. They compare a student's answer with a number printed in the
lectures (``expect_close``), a derivative or a gradient with centered
differences (``expect_derivative``, ``expect_gradient``), and make sure a
formula stays silent (``expect_silent``). They never use the reference answer
(that lives on the instructor's side, ``course_lib.key``), and nothing here
answers an exercise as it is posed.

Every failure raises ``CheckFailed`` (an AssertionError, so nbgrader scores the
cell as failed) with a message from ``diagnose``, which recognises the usual
mistakes: a wrong shape (and a transposed one), a flipped sign, a constant
factor (a missing ½ or 1/N), NaN or inf from an unstable formula, and values
that are close but not exact (rounded intermediates). The hidden tests
(``course_lib.key.hidden``) word their failures with the same ``diagnose``.

The call guard (``reference_forbidden``, ``current_call``) is here too: the
grader's agent runs it inside a student's kernel, where only this library is.

A passing check prints one line to stdout and nothing to stderr.
"""

from __future__ import annotations

import contextlib
import contextvars
import inspect
import math
import sys
import warnings
from pathlib import Path

import numpy as np

__all__ = [
    "CheckFailed",
    "current_call",
    "diagnose",
    "expect_close",
    "expect_derivative",
    "expect_gradient",
    "expect_silent",
    "reference_forbidden",
    "verdict",
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


def expect_gradient(got, f, x, *, what, eps=1e-6, rtol=1e-6, atol=1e-8):
    """Visible check: ``got`` is the gradient of the scalar function ``f`` at the float array ``x``.

    ``f`` takes x itself or no argument (it may read x from its closure): each
    element of x is nudged by ±ε in place, one at a time, and written back
    exactly, and ``got`` (the shape of x) is compared with the centered
    differences (f(x + εeᵢ) − f(x − εeᵢ)) / 2ε. Prints the worst relative
    error when it passes.
    """
    __tracebackhide__ = True  # IPython hides this frame from a traceback unless the error is raised in it
    if not isinstance(x, np.ndarray) or not np.issubdtype(x.dtype, np.floating) or not x.flags.c_contiguous:
        raise TypeError("expect_gradient nudges x in place: pass a contiguous float numpy array")
    try:
        takes_x = any(p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
                      for p in inspect.signature(f).parameters.values())
    except (TypeError, ValueError):
        takes_x = True
    numeric = np.zeros(x.shape)
    flat, out = x.reshape(-1), numeric.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        try:
            flat[i] = old + eps
            up = float(f(x) if takes_x else f())
            flat[i] = old - eps
            down = float(f(x) if takes_x else f())
        finally:
            flat[i] = old
        out[i] = (up - down) / (2 * eps)
    problem = _compare(got, numeric, what, rtol, atol)
    if problem:
        raise CheckFailed(f"{problem}. (Checked against centered differences (f(x+ε) − f(x−ε))/2ε.)")
    g = np.asarray(got, dtype=np.float64)
    worst = float(np.max(np.abs(g - numeric) / np.maximum(np.abs(g) + np.abs(numeric), np.finfo(float).tiny)))
    _ok(f"{what} matches centered differences (largest relative difference {worst:.1e}).")


# Thresholds on the relative error of a gradient check, and what each means to a student.
_VERDICTS = (
    (1e-7, "correct", "agrees with finite differences"),
    (1e-5, "probably correct", "fine if the function has kinks (ReLU, max); otherwise look closer"),
    (1e-3, "suspicious", "likely a small bug, or a kink right at this input"),
    (np.inf, "wrong", "the gradient does not match: look for a transpose, a missing 1/N or a sign"),
)


def verdict(rel_error):
    """(short verdict, explanation) for the relative error of a gradient check."""
    if not np.isfinite(rel_error):
        return "wrong", "the gradient or the loss is NaN or infinite"
    for limit, short, why in _VERDICTS:
        if rel_error < limit:
            return short, why
    raise AssertionError("unreachable")


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


# ------------------------------------------------- the call guard (hidden tests)


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

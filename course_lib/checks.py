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
import copy
import functools
import inspect
import math
import sys
import warnings
from pathlib import Path

import numpy as np

from . import mistakes

__all__ = [
    "CheckFailed",
    "current_call",
    "diagnose",
    "exercise",
    "expect_close",
    "expect_derivative",
    "expect_gradient",
    "expect_initializer",
    "expect_restored",
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

    def _render_traceback_(self):
        # IPython shows these lines in place of a traceback: a student reads the
        # message, not frames inside this library ("the library crashed").
        # The error output keeps ename CheckFailed and the message as evalue.
        return [f"✘ {self}"]


# The words for mistakes the visible checks and the hidden tests both recognise.
TYPED_IN = "Is the answer typed in rather than computed from the arguments?"


def _typed_in(name, args_a, args_b):
    """The message for a function that gave the very same answer for different inputs."""
    return f"{name} gives the same answer for {_show(args_a)} and {_show(args_b)}. {TYPED_IN}"


def _calls_library(name, called):
    """The message for a student's function that reached into course_lib."""
    # Name the public functions reached; a helper or an operator (Value.__mul__) names its module.
    public = {f"course_lib.{m}.{f}" for m, f in called if not f.startswith(("_", "<"))}
    used = ", ".join(sorted(public or {f"course_lib.{m}" for m, _ in called}))
    return (f"{name} calls course_lib ({used}). Your answer is checked against course_lib, so calling it "
            "proves nothing: write the computation yourself (numpy is fine).")


def _warned(name, args, warning):
    """The message for a student's function that raised a RuntimeWarning."""
    cause = _warning_cause(str(warning))
    return (f"{name}{_show(args)} raised a warning: '{warning}'. A correct formula stays silent here: "
            f"{cause[0].lower()}{cause[1:]}")


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


def expect_initializer(init_params, spreads, inits=("zeros", "normal", "xavier", "he"), *, name="init_params",
                       sizes=(300, 400, 10), rtol=0.03):
    """Visible check (and the hidden test's judge) of ``init_params(sizes, init, seed)``: the distribution.

    ``spreads`` maps each init to its standard deviation on the first layer,
    sizes[0] → sizes[1], as plain numbers. For each init: one (W, b) per layer
    with W (n_out, n_in) and b (n_out,) of zeros; "zeros" gives zero
    weights; the others have mean ≈ 0 and their spread within ``rtol`` (on a
    400 × 300 layer, 120,000 draws, the sample spread is within 0.3 % of σ);
    the same seed gives the same draw and another seed another.
    """
    __tracebackhide__ = True  # IPython hides this frame from a traceback unless the error is raised in it
    n_in, n_out = sizes[0], sizes[1]
    for init in inits:
        params = init_params(list(sizes), init, 0)
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
        expected = spreads[init]
        std, mean = float(W.std()), float(W.mean())
        if not math.isclose(std, expected, rel_tol=rtol):
            others = [k for k, s in spreads.items() if k != init and math.isclose(std, s, rel_tol=rtol)]
            why = (f" — that is the spread of {others[0]!r}" if others else
                   " — the variance used as the standard deviation?" if math.isclose(std, expected**2, rel_tol=rtol)
                   else "")
            raise CheckFailed(f"{name}({init!r}) for a {n_in} → {n_out} layer should have standard deviation "
                              f"{expected:.4g}, got {std:.4g}{why}")
        # the spread is right, so the mean of 120,000 draws lies within 5σ/√n of 0
        if abs(mean) > 5 * expected / math.sqrt(W.size):
            raise CheckFailed(f"{name}({init!r}): the weights should have mean 0, got {mean:.3g}")
        again = init_params(list(sizes), init, 0)
        other = init_params(list(sizes), init, 1)
        if not np.array_equal(np.asarray(again[0][0]), W):
            raise CheckFailed(f"{name}({init!r}): the same seed must give the same weights (use np.random.default_rng(seed))")
        if np.array_equal(np.asarray(other[0][0]), W):
            raise CheckFailed(f"{name}({init!r}): another seed must give other weights (is the seed ignored?)")
    _ok(f"{name} draws every init with the right shapes, zero biases, spread and seeding.")


LEFT_NUDGED = "you left each element nudged after its two evaluations: put the old value back."


def expect_restored(before, after, *, name, eps):
    """Visible check (and hidden): an array the function nudged in place is exactly as it was."""
    __tracebackhide__ = True  # IPython hides this frame from a traceback unless the error is raised in it
    before, after = np.asarray(before), np.asarray(after)
    if before.tobytes() == after.tobytes():
        _ok(f"{name} leaves x exactly as it found it.")
        return
    moved = np.abs(after - before)[after != before]
    if np.allclose(moved, eps, rtol=1e-3):
        raise CheckFailed(f"{name}: {LEFT_NUDGED}")
    raise CheckFailed(f"{name} does not restore x exactly: some elements differ after the call "
                      "(x + ε − ε is not always x in floating point). Save the old value and write it back.")


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


# ------------------------------------------------ one exercise's check cell


class exercise:
    """The checks of one exercise: ``with checks.exercise("sigmoid_grad"): ...`` around a check cell.

    Inside the block, the notebook's function ``name`` answers as usual, but
    each call is recorded (its inputs and answer) and held to the hidden
    test's rules: it may not call course_lib, and a RuntimeWarning
    (overflow, division by 0) fails the check. Errors in the student's code
    reach the student unchanged, with their traceback.

    When a check in the block fails, its message is sharpened before the
    student reads it: if an answer equals a known mistake of the exercise at
    the same inputs (``course_lib.mistakes``, the hidden test's hints
    evaluated there), the message is the hidden test's sentence for it; if
    different inputs gave the same answer, it asks whether the answer is typed
    in; otherwise the check's own diagnosis stays, prefixed with the exercise.
    """

    def __init__(self, name):
        self.name = name
        self.calls = []  # (inputs, answer) of every call, in order

    def __enter__(self):
        self._namespace = sys._getframe(1).f_globals  # the notebook's namespace, where the function lives
        function = self._namespace.get(self.name)
        if not callable(function):
            raise NameError(f"{self.name} is not defined yet: run the exercise's cell above, then this one.")
        self._function = function
        self._namespace[self.name] = self._recording(function)
        return self

    def __exit__(self, kind, error, traceback):
        self._namespace[self.name] = self._function
        for observe in _OBSERVERS:  # course_lib.grading.mistakes records the probes of the instructor's run
            observe(self)
        if isinstance(error, CheckFailed) and not error.final:
            raise CheckFailed(self.explain(str(error))) from None
        if isinstance(error, Exception) and not isinstance(error, (CheckFailed, NotImplementedError)):
            # The student's code raised: its traceback says where. If the answers at
            # the other inputs show a known mistake, that says more.
            says = self._named(self._answers())
            if says:
                raise CheckFailed(f"{self.name}: {says} (On one of the check's inputs it raised "
                                  f"{type(error).__name__}: {error})") from error
        return False

    def _recording(self, function):
        @functools.wraps(function)
        def recorded(*args, **kwargs):
            __tracebackhide__ = True  # IPython hides this frame from a traceback unless the error is raised in it
            inputs = copy.deepcopy(_positional(function, args, kwargs))  # f(10, 4, seed=0) is the probe (10, 4, 0)
            answer = _call_visible(function, args, kwargs, self.name)
            self.calls.append((inputs, copy.deepcopy(answer)))
            return answer

        return recorded

    def _answers(self):
        """The student's answers at the exercise's stored probes: the calls made, and the others asked now."""
        replay = lambda args: _call_visible(self._function, copy.deepcopy(args), {}, self.name)  # noqa: E731
        with warnings.catch_warnings(), contextlib.redirect_stdout(None):
            warnings.simplefilter("ignore")
            return mistakes.seen(self.name, self.calls, replay)

    def _named(self, answers):
        """The hidden test's sentence for a known mistake these answers show, or None."""
        return mistakes.named(self.name, answers, lambda got, wrong: _compare(got, wrong, "", RTOL, ATOL))

    def explain(self, message):
        """The message a failed check of this exercise shows."""
        answers = self._answers()
        says = self._named(answers)
        if says:
            return f"{self.name}: {says}"
        same = mistakes.entry(self.name).typed_in and mistakes.same_answer(answers)
        if same:
            return _typed_in(self.name, *same)
        return message if message.startswith(self.name) else f"{self.name}: {message}"


_OBSERVERS = []  # callables given each finished ``exercise`` block


def _positional(function, args, kwargs):
    """The arguments of a call as a tuple, keyword arguments put in their places."""
    if not kwargs:
        return args
    try:
        bound = inspect.signature(function).bind(*args, **kwargs)
    except (TypeError, ValueError):  # the call itself will fail, and say why
        return args
    return bound.args


def _call_visible(function, args, kwargs, name):
    """Call the student's function under the hidden test's rules; their own errors pass through."""
    __tracebackhide__ = True  # IPython hides this frame from a traceback unless the error is raised in it
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with np.errstate(all="warn", under="ignore"), reference_forbidden() as called:
            answer = function(*args, **kwargs)
    _judge_call(name, args, called, caught)
    for w in caught:  # other warnings (a DeprecationWarning, say) are the student's to see
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return answer


def _judge_call(name, args, called, caught):
    """The hidden test's rules for a call that returned: no course_lib reached, no RuntimeWarning."""
    __tracebackhide__ = True  # IPython hides this frame from a traceback unless the error is raised in it
    if called:
        raise CheckFailed(_calls_library(name, called), final=True)
    runtime = [w for w in caught if issubclass(w.category, RuntimeWarning)]
    if runtime:
        raise CheckFailed(_warned(name, args, runtime[0].message))


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
    _judge_call(name, args, called, caught)
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

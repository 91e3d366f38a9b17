"""Run a grade cell in the grader's own process, with the student's functions called in their kernel.

nbgrader runs hidden tests inside the student's kernel, where student code
can rewrite them (IPython input transformers), fake a pass (an object whose
``__eq__`` is always true) or patch the comparisons (``np.allclose``, the
check helpers). Here the hidden test never reaches the kernel: its source
runs in the grader, in a namespace where every name the test does not define
itself is looked up in the kernel:

* a module is imported afresh in the grader (the genuine one, whatever the
  kernel holds under that name);
* a function becomes a ``Proxy``: calling it sends the arguments to the
  kernel, which calls the student's function and returns plain data;
* plain data (numbers, strings, arrays, lists ...) is copied over.

So every comparison, and the verdict, is computed by grader code on plain
values. A name the grader cannot bring over (an object that is not plain
data) makes the cell ``Unsupported``: the caller then runs it in the kernel
the nbgrader way and flags the verdict as not tamper-proof.
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import importlib
import importlib.util
import io
import json
import sys
import types
import warnings
from pathlib import Path

import numpy as np

from .. import checks
from . import wire
from .agent import MIME
from .triage import explain

__all__ = ["CallTimedOut", "KernelStopped", "NoReply", "Proxy", "Unsupported", "run_grade_cell", "trusted_prelude"]

_AGENT = "__import__('course_lib.grading.agent', fromlist=['agent'])"
_MESSAGE_LIMIT = 5000
_PACKAGE = __name__.split(".")[0]  # course_lib
# Modules a test may take by the name the kernel reports (the instructor's own imports are run in the grader).
_MODULE_ROOTS = {_PACKAGE, "numpy", "math", "cmath", "statistics", "fractions", "decimal", "random", "collections",
                 "itertools", "functools", "operator", "string", "re", "scipy", "pandas"}
# Where the grader may import a module from: the interpreter, the environment and course_lib.
_TRUSTED_ROOTS = tuple({str(Path(p).resolve()) for p in (sys.base_prefix, sys.prefix)}
                       | {str(Path(checks.__file__).resolve().parent)})


class KernelStopped(BaseException):
    """The kernel is gone: "timeout" (the notebook's wall clock ran out) or "crashed".

    A BaseException, so that no ``except Exception`` in a test (or in
    ``checks``) can mistake it for the student's function failing.
    """


class CallTimedOut(Exception):
    """A call into the kernel ran past the cell time limit and was interrupted (the student's loop)."""


class Unsupported(Exception):
    """The cell needs something that cannot leave the kernel as plain data."""


class NoReply(Exception):
    """The kernel ran the grader's request but did not answer it (tampering, or a crash in the agent)."""

    def __str__(self):
        return what_happened(super().__str__())


def what_happened(detail):
    """The kernel's failure to answer, in words an instructor can act on, with the raw detail after it.

    A sandbox limit it shows (processes, memory, disk ...) is said as the report says it (``triage.explain``).
    """
    explained = explain(detail)
    if explained is not None:
        return f"{explained.what} [{detail}]"
    if detail == "no reply":
        return ("the notebook's kernel did not answer the grader (its code took over the kernel's output "
                "or broke IPython; look at the notebook)")
    return f"the notebook's kernel did not answer the grader [{detail}]"


def ask(kernel, code):
    """Run one agent snippet in the kernel; the decoded JSON envelope of its reply.

    What the student's code printed meanwhile is printed here too: in nbgrader
    it would be the test cell's output, and a test cell with stderr output
    scores 0 there.
    """
    outputs = kernel.run(code)
    for out in outputs:
        if out.get("output_type") == "stream" and isinstance(out.get("text"), str):
            print(out["text"][:_MESSAGE_LIMIT], end="", file=sys.stderr if out.get("name") == "stderr" else sys.stdout)
    for out in reversed(outputs):
        if out.get("output_type") == "display_data" and MIME in out.get("data", {}):
            text = out["data"][MIME]
            if not isinstance(text, str) or len(text) > wire.MAX_BYTES:
                raise NoReply("an oversized or malformed reply")
            try:
                return json.loads(text)
            except ValueError:
                raise NoReply("a reply that is not JSON") from None
    errors = [f"{o.get('ename')}: {o.get('evalue')}" for o in outputs if o.get("output_type") == "error"]
    raise NoReply(errors[0] if errors else "no reply")


def _exception_class(name):
    cls = getattr(builtins, name, None)
    if isinstance(cls, type) and issubclass(cls, Exception):
        return cls
    # SystemExit, KeyboardInterrupt and the student's own classes: an ordinary error with that name
    return type(name if name.isidentifier() else "Error", (Exception,), {})


def _warning_class(name):
    cls = getattr(builtins, name, None)
    return cls if isinstance(cls, type) and issubclass(cls, Warning) else UserWarning


class Proxy:
    """A student's function that lives in the kernel; calling it is a round trip with plain data."""

    def __init__(self, kernel, name, names=None):
        self._kernel, self.__name__ = kernel, name
        self._names = names  # the test's namespace (KernelNames): its changes go along with each call
        self._ahead = []  # [(request, reply)] fetched by prefetch(), in the order they will be asked
        self._timed_out = None  # once a call loops, the test's later calls fail at once (one time limit per test)

    def __repr__(self):
        return f"<student function {self.__name__}>"

    @property
    def __wire_ref__(self):
        return self.__name__  # passed back to the kernel (an argument, a rebound name): its own function

    def __reduce__(self):
        # inside a test's stand-in shipped by pickle (``lambda n: orig(n) + 1``): the kernel's own function
        from .agent import resolve

        return resolve, (self.__name__,)

    def _changes(self):
        return self._names.changes() if self._names is not None else {}

    def _encode(self, payload, changes):
        try:
            return wire.dumps({**payload, **changes}, pickle_unknown=True)
        except Exception as err:  # an argument cloudpickle cannot ship
            raise Unsupported(f"an argument of {self.__name__} cannot be sent to the kernel ({err})") from None

    def _request(self, args, kwargs, given, changes):
        return self._encode({"name": self.__name__, "args": list(args), "kwargs": kwargs, "given": dict(given)},
                            changes)

    def _ask(self, code):
        if self._timed_out:
            raise TimeoutError(self._timed_out)
        try:
            return ask(self._kernel, code)
        except CallTimedOut as err:
            self._timed_out = str(err)
            raise TimeoutError(str(err)) from None  # the student's function looped: its error, not tampering
        except NoReply as err:
            suspect = "" if explain(err.args[0] if err.args else "") else "tampering suspected: "
            getattr(self._kernel, "notes", []).append(f"{suspect}{self.__name__} could not be tested: {err}")
            raise RuntimeError(f"{self.__name__} could not be tested: {err}") from None

    def prefetch(self, arg_lists, given):
        """Run the calls a test is about to make, in that order, in one round trip.

        Each later call with the same arguments (and stand-ins) takes its
        reply from here, in order; any other call goes to the kernel as usual.
        The kernel runs the same calls in the same order either way.
        """
        changes = self._changes()  # the test makes none between these calls: read them once
        requests = [self._request(args, {}, given, changes) for args in arg_lists]
        batch = self._encode({"name": self.__name__, "calls": [{"args": list(a), "kwargs": {}} for a in arg_lists],
                              "given": dict(given)}, changes)
        try:
            replies = self._ask(f"{_AGENT}.call_many({batch!r})").get("replies", [])
        except (RuntimeError, TimeoutError):
            return  # each call will ask (and fail) on its own
        self._ahead = list(zip(requests, replies))

    def __call__(self, *args, **kwargs):
        given, called = checks.current_call() or ({}, None)
        request = self._request(args, kwargs, given, self._changes())
        if self._ahead and self._ahead[0][0] == request:
            reply = self._ahead.pop(0)[1]
        else:
            self._ahead = []
            reply = self._ask(f"{_AGENT}.call({request!r})")
        if called is not None:
            called.extend(tuple(c) for c in reply.get("called", []))
        for category, message in reply.get("warnings", []):
            warnings.warn(message, _warning_class(category), stacklevel=2)
        for index, value in reply.get("mutated", {}).items():
            self._write_back(args, int(index), wire.decode(value))
        if "raised" in reply:
            name, message = reply["raised"]
            raise _exception_class(str(name))(str(message))
        return wire.decode(reply.get("ok"))

    @staticmethod
    def _write_back(args, index, value):
        """The student's function changed an array argument: change the grader's copy the same way."""
        if index < len(args) and isinstance(args[index], np.ndarray) and isinstance(value, np.ndarray):
            target = args[index]
            if target.shape == value.shape and target.flags.writeable:
                np.copyto(target, value, casting="unsafe")


def _trusted_module(name):
    """The grader's own copy of a module the kernel names, or None.

    The kernel names the module, so the name is the student's choice: only
    public modules of a few packages (``_MODULE_ROOTS``) installed with the
    grader are imported, never a student's file, ``__main__`` or a private
    part: importing ``pip.__main__`` would run pip, ``antigravity`` opens a browser.
    """
    if not isinstance(name, str) or not name:
        return None
    parts = name.split(".")
    if parts[0] not in _MODULE_ROOTS or any(not p.isidentifier() or p.startswith("_") for p in parts):
        return None
    if name in sys.modules:
        return sys.modules[name]
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    origin = str(Path(spec.origin).resolve()) if spec and spec.origin else ""
    if spec is None or not origin.startswith(_TRUSTED_ROOTS):
        return None
    return importlib.import_module(name)


class KernelNames(dict):
    """The test's namespace: names it does not define come from the kernel, as described above.

    It also keeps what the test changes that the student's code would see in
    nbgrader, where the test runs in the notebook's own namespace: names it
    deletes or binds that the kernel has, and attributes of modules it patches
    (``np.dot = ...``). ``changes()`` says what they are, and every call into
    the kernel makes them there for its duration. Only the test's own
    statements count: ``track()`` starts after the instructor's prelude.
    """

    def __init__(self, kernel, source_tree=None):
        super().__init__(__name__="__course_replay__", __builtins__=builtins)
        self._kernel = kernel
        self._fetched = {}  # name -> the value it was brought over as
        self._changed = None  # names the test bound or deleted (None: not tracking yet)
        self._kernel_has = {}  # name -> does the kernel have it (for names the test binds)
        self._modules = _module_snapshot() if source_tree is not None and _patches(source_tree) else None

    def track(self):
        self._changed = set()

    def __setitem__(self, name, value):
        if self._changed is not None:
            self._changed.add(name)
        dict.__setitem__(self, name, value)

    def __delitem__(self, name):
        if not dict.__contains__(self, name):
            self[name]  # a kernel name deleted before the test read it (KeyError, i.e. NameError, if none)
        if self._changed is not None:
            self._changed.add(name)
        dict.__delitem__(self, name)

    def _same_as_kernel(self, name):
        """True when the name, as the test now has it, is what the kernel has under it (nothing to send)."""
        if not dict.__contains__(self, name):
            return False
        value = dict.__getitem__(self, name)
        if name in self._fetched and value is self._fetched[name]:
            return True
        return isinstance(value, types.ModuleType) or getattr(value, "__wire_ref__", None) == name

    def _kernel_names(self, names):
        """Which of ``names`` the kernel has (one round trip for those not asked before)."""
        unknown = sorted(n for n in names if n not in self._kernel_has)
        if unknown:
            has = set(ask(self._kernel, f"{_AGENT}.has({unknown!r})").get("has", []))
            self._kernel_has.update({n: n in has for n in unknown})
        return {n for n in names if self._kernel_has[n]}

    def changes(self):
        """{"bound": {name: value}, "removed": [names], "patched": [[module, attribute(, value)]]}, non-empty parts."""
        bound, removed = self._name_changes()
        patched = _module_changes(self._modules) if self._modules is not None else []
        for value in [*bound.values(), *(p[2] for p in patched if len(p) == 3)]:
            self._refuse_recorders(value)
        return _non_empty(bound=bound, removed=removed, patched=patched)

    def leftovers(self):
        """The test's changes to the notebook's names as the cell ends: in nbgrader they outlive it.

        Only names deleted, or bound to one of the kernel's own functions or to
        plain data; a function of the test's own is not left in the kernel.
        """
        bound, removed = self._name_changes()
        bound = {n: v for n, v in bound.items() if getattr(v, "__wire_ref__", None) or wire.is_plain(v)}
        return _non_empty(bound=bound, removed=removed)

    def _name_changes(self):
        bound, removed = {}, []
        changed = {n for n in self._fetched.keys() | (self._changed or set()) if not self._same_as_kernel(n)}
        own = {n for n in changed if n not in self._fetched}  # bound by the test without reading it first
        if own:  # only those the notebook also has: the test's own names are not the student's code's business
            changed -= own - self._kernel_names(own)
        for name in sorted(changed):
            if dict.__contains__(self, name):
                bound[name] = dict.__getitem__(self, name)
            else:
                removed.append(name)
        return bound, removed

    def _refuse_recorders(self, value):
        """A stand-in of the test's own that keeps state in the test (``calls.append(n)``) cannot be sent.

        It would run in the kernel, on the kernel's copy of ``calls``, and the
        test, reading its own ``calls``, would score a right answer wrong.
        """
        code = getattr(value, "__code__", None)
        if code is None or getattr(value, "__globals__", None) is not self:
            return
        kept = [n for n in code.co_names if isinstance(dict.get(self, n), (list, dict, set, bytearray))]
        if kept:
            raise Unsupported(f"the test's stand-in {getattr(value, '__name__', '?')} keeps its state in "
                              f"{', '.join(kept)}, which cannot follow it into the kernel")

    def __missing__(self, name):
        value = self._fetch(name)
        self._fetched[name] = value
        return value

    def _fetch(self, name):
        if name in vars(builtins):
            raise KeyError(name)  # Python goes on to the builtins
        reply = ask(self._kernel, f"{_AGENT}.lookup({name!r})")
        kind = reply.get("kind")
        if kind == "missing":
            raise KeyError(name)
        if kind == "module":
            value = _trusted_module(reply.get("module"))
            if value is None:
                raise Unsupported(f"{name} is a module the grader does not have ({reply.get('module')})")
        elif kind == "class":
            # Only course_lib's own classes (Value ...) are taken as the genuine article: calling a class
            # the kernel merely names (subprocess.Popen?) in the grader would run it here.
            module_name = str(reply.get("module"))
            module = _trusted_module(module_name) if module_name.split(".")[0] == _PACKAGE else None
            value = getattr(module, str(reply.get("qualname")), None) if module else None
            if not isinstance(value, type):
                raise Unsupported(f"the test uses {name}, a class ({module_name}) that cannot leave the kernel")
        elif kind == "function":
            value = Proxy(self._kernel, name, names=self)
        elif kind == "value":
            value = wire.decode(reply["value"])
        else:
            raise Unsupported(f"the test uses {name}, a {reply.get('type', 'object')} that cannot leave the kernel")
        dict.__setitem__(self, name, value)
        return value


def _non_empty(**parts):
    return {k: v for k, v in parts.items() if v}


def _patches(tree):
    """Could the cell change a module's attributes? (an attribute assigned or deleted, setattr, a mock)"""
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.ctx, (ast.Store, ast.Del)):
            return True
        if isinstance(node, ast.Name) and node.id in ("setattr", "delattr", "patch", "mock", "monkeypatch"):
            return True
        if isinstance(node, ast.Attribute) and node.attr in ("patch", "setattr", "delattr"):
            return True
    return False


def _watched_modules():
    return {name: module for name, module in list(sys.modules.items())
            if isinstance(module, types.ModuleType) and name.split(".")[0] in _MODULE_ROOTS | {"builtins"}
            and not any(part.startswith("_") for part in name.split("."))}


def _module_snapshot():
    """{module name: (module, copy of its attributes)} of the modules a test may patch for the kernel."""
    return {name: (module, dict(vars(module))) for name, module in _watched_modules().items()}


_GONE = object()


def _module_changes(snapshot):
    """[[module, attribute, new value]] or [[module, attribute]] (deleted) since the snapshot."""
    changes = []
    for name, (module, before) in snapshot.items():
        now = vars(module)
        for attr in before.keys() | now.keys():
            if attr.startswith("__"):
                continue
            old, new = before.get(attr, _GONE), now.get(attr, _GONE)
            if old is new or (old is _GONE and isinstance(new, types.ModuleType)):
                continue  # unchanged, or a submodule imported since
            changes.append([name, attr] if new is _GONE else [name, attr, new])
    return changes


def trusted_prelude(sources):
    """The imports and definitions of the instructor's locked cells, compiled for the grader.

    Run before each grade cell, they bind ``np``, ``checks``, ``math`` and the
    instructor's helper functions in the grader itself, so a student who rebinds
    one of those names in the kernel (``checks = Fake()``) changes nothing.
    Statements that compute (load data, plot) are left to the kernel.
    """
    codes = []
    for source in sources:
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        for node in tree.body:
            if isinstance(node, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.ClassDef)):
                codes.append(compile(ast.Module([node], type_ignores=[]), "<locked cell>", "exec"))
    return codes


def _split_last_expression(tree):
    """(module body, last expression or None): like IPython, a cell's last expression is its result."""
    if tree.body and isinstance(tree.body[-1], ast.Expr):
        last = ast.Expression(tree.body[-1].value)
        return ast.Module(tree.body[:-1], type_ignores=[]), last
    return tree, None


def _error_output(err):
    ename, evalue = type(err).__name__, str(err)[:_MESSAGE_LIMIT]
    # No traceback: it would show the hidden test's lines to the student.
    return {"output_type": "error", "ename": ename, "evalue": evalue, "traceback": [f"{ename}: {evalue}"]}


def run_grade_cell(source, kernel, prelude=()):
    """Run a grade cell's source here, against the notebook's kernel.

    ``kernel.run(code)`` executes a snippet in the kernel and returns its
    outputs (nbformat dicts). Returns the cell's outputs as nbformat dicts;
    raises ``Unsupported`` when the cell cannot be run outside the kernel.
    ``prelude``: code from ``trusted_prelude``, run first in the test's namespace.
    Errors of the kernel itself (a timeout, a death) propagate.
    """
    try:
        tree = ast.parse(source)
    except SyntaxError as err:
        raise Unsupported(f"the test is not plain Python ({err.msg}, line {err.lineno})") from None
    body, last = _split_last_expression(tree)
    names = KernelNames(kernel, tree)
    for code in prelude:
        try:
            exec(code, names)
        except Exception:  # e.g. a module the grader lacks: that name comes from the kernel, as before
            pass
    names.track()
    stdout, stderr = io.StringIO(), io.StringIO()
    outputs, result, error = [], None, None
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr), warnings.catch_warnings():
        warnings.simplefilter("default")
        try:
            exec(compile(body, "<grade cell>", "exec"), names)
            if last is not None:
                result = eval(compile(last, "<grade cell>", "eval"), names)
        except (Unsupported, KernelStopped, KeyboardInterrupt):
            raise
        except NoReply as err:  # the kernel, not the test, failed: say what happened to it
            error = RuntimeError(f"the test could not run: {err}")
        except BaseException as err:  # the test failed (SystemExit included): that is the verdict
            error = err
    _keep(names, kernel)
    if stdout.getvalue():
        outputs.append({"output_type": "stream", "name": "stdout", "text": stdout.getvalue()[-_MESSAGE_LIMIT:]})
    if stderr.getvalue():
        outputs.append({"output_type": "stream", "name": "stderr", "text": stderr.getvalue()[-_MESSAGE_LIMIT:]})
    if error is not None:
        outputs.append(_error_output(error))
    elif result is not None and not _silenced(source):
        outputs.append({"output_type": "execute_result", "execution_count": None, "metadata": {},
                        "data": {"text/plain": _plain_text(result)[:_MESSAGE_LIMIT]}})
    return outputs


def _keep(names, kernel):
    """Make the test's lasting changes to the notebook's names there, as nbgrader's in-kernel run would."""
    try:  # which names are the notebook's may itself be a question to the kernel
        leftovers = names.leftovers()
        if leftovers:
            ask(kernel, f"{_AGENT}.keep({wire.dumps(leftovers)!r})")
    except NoReply:  # the kernel did not answer: later tests see the names as they were
        pass


def _plain_text(value):
    """The text IPython would show for a cell's result (nbgrader reads partial credit from it)."""
    from IPython.lib.pretty import pretty

    try:
        return pretty(value, max_width=79)
    except Exception:
        return repr(value)


def _silenced(source):
    """A last line ending in ";" hides the cell's result in IPython (so nbgrader sees none)."""
    lines = [line.split("#")[0].rstrip() for line in source.rstrip().splitlines()]
    return bool(lines) and lines[-1].endswith(";")

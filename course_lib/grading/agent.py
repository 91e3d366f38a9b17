"""The grader's agent inside a student's (sandboxed) kernel.

The grader never runs a hidden test in the student's kernel. It asks the
kernel two things only, through short code snippets that call this module:

* ``lookup(name)``: what a name in the notebook is (a module, a class, a
  function, plain data, or missing);
* ``call(request)``: call one of the student's functions on arguments the
  grader sends, and hand back the result as plain data, with the warnings it
  raised, the course_lib functions it reached and the arrays it changed.

Replies are published as display data of type ``MIME``: the grader reads
them from the kernel's messages. Everything here runs in the student's
process, so it can be tampered with; the grader trusts nothing from it
except plain data, which it compares with the reference itself.
"""

from __future__ import annotations

import contextlib
import importlib
import types
import warnings

import numpy as np

from . import wire

MIME = "text/x-course-grade-reply"

__all__ = ["MIME", "call", "call_many", "has", "keep", "lookup", "resolve"]


def _reply(payload):
    """Publish a JSON envelope; values inside it are already wire-encoded."""
    import json

    from IPython.display import publish_display_data

    publish_display_data({MIME: json.dumps(payload)})


def _namespace():
    from IPython import get_ipython

    return get_ipython().user_ns


def lookup(name):
    """Describe the notebook's ``name`` for the grader."""
    ns = _namespace()
    if name not in ns:
        return _reply({"kind": "missing"})
    value = ns[name]
    if isinstance(value, types.ModuleType):
        return _reply({"kind": "module", "module": str(getattr(value, "__name__", ""))})
    if isinstance(value, type):
        return _reply({"kind": "class", "module": str(getattr(value, "__module__", "")),
                       "qualname": str(getattr(value, "__qualname__", ""))})
    if callable(value):
        return _reply({"kind": "function"})
    try:
        encoded = wire.encode(value)
    except wire.WireError as err:
        return _reply({"kind": "object", "type": type(value).__name__, "why": str(err)})
    if isinstance(encoded, dict) and "o" in encoded:
        return _reply({"kind": "object", "type": type(value).__name__})
    return _reply({"kind": "value", "value": encoded})


def has(names):
    """Which of ``names`` the notebook defines."""
    ns = _namespace()
    return _reply({"has": [n for n in names if isinstance(n, str) and n in ns]})


def keep(request):
    """A test's lasting changes: names it bound (plain data, or the notebook's own functions) or deleted."""
    _rename(_namespace(), _request(request))
    _reply({})


def _rename(ns, req):
    """Bind the request's ``bound`` names in ``ns`` and delete its ``removed`` ones."""
    ns.update(req.get("bound", {}))
    for name in req.get("removed", []):
        ns.pop(name, None)


def resolve(name):
    """The notebook's object called ``name`` (a grader's reference to it, unpickled here)."""
    return _namespace()[name]


def _request(text):
    return wire.loads(text, allow_pickle=True, resolve=resolve)


def call(request):
    """Call the student's function as the request says; reply with its result as plain data."""
    req = _request(request)
    with _test_changes(req):
        _reply(_call_one(_namespace()[req["name"]], req["args"], req["kwargs"], req["given"]))


def call_many(request):
    """Several calls of one function in a row (a hidden test's cases): one reply, a list."""
    req = _request(request)
    fn = _namespace()[req["name"]]
    with _test_changes(req):
        _reply({"replies": [_call_one(fn, c["args"], c["kwargs"], req["given"]) for c in req["calls"]]})


_ABSENT = object()


@contextlib.contextmanager
def _test_changes(req):
    """What the test changed in its namespace, made here for the call, then undone.

    nbgrader runs a test in the notebook's namespace, so a test that deletes
    ``squares`` (to check that ``sum_of_squares`` uses it), rebinds a name or
    patches ``np.dot`` changes what the student's function sees. The test
    runs in the grader instead; the grader sends its changes with each call:
    ``bound`` (names rebound), ``removed`` (names deleted) and ``patched``
    ([module, attribute, value or absent]).
    """
    ns = _namespace()
    saved_names = {name: ns.get(name, _ABSENT) for name in [*req.get("bound", {}), *req.get("removed", [])]}
    saved_attrs = []
    try:
        _rename(ns, req)
        for module_name, attr, *value in req.get("patched", []):
            module = importlib.import_module(module_name)
            saved_attrs.append((module, attr, getattr(module, attr, _ABSENT)))
            if value:
                setattr(module, attr, value[0])
            elif hasattr(module, attr):
                delattr(module, attr)
        yield
    finally:
        for module, attr, old in reversed(saved_attrs):
            if old is _ABSENT:
                if hasattr(module, attr):
                    delattr(module, attr)
            else:
                setattr(module, attr, old)
        for name, old in saved_names.items():
            if old is _ABSENT:
                ns.pop(name, None)
            else:
                ns[name] = old


def _call_one(fn, args, kwargs, given):
    from course_lib import checks

    args, kwargs, given = list(args), dict(kwargs), dict(given)
    before = {i: a.copy() for i, a in enumerate(args) if isinstance(a, np.ndarray)}
    reply = {}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with np.errstate(all="warn", under="ignore"), checks._bound(fn, given):
            with checks.reference_forbidden(given.values()) as called:
                try:
                    result = fn(*args, **kwargs)
                except KeyboardInterrupt:
                    raise
                except BaseException as err:  # the student's error, SystemExit included: reported, not raised
                    reply["raised"] = [type(err).__name__, str(err)[:2000]]
    if "raised" not in reply:
        try:
            reply["ok"] = wire.encode(result)
        except (wire.WireError, RecursionError) as err:
            reply["ok"] = {"o": type(result).__name__, "r": f"<unreadable: {err}>"}
    reply["warnings"] = [[w.category.__name__, str(w.message)[:500]] for w in caught]
    reply["called"] = [list(c) for c in called[:20]]
    reply["mutated"] = {str(i): wire.encode(args[i]) for i, old in before.items()
                        if isinstance(args[i], np.ndarray) and args[i].tobytes() != old.tobytes()}
    return reply

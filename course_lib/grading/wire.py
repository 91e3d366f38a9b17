"""The plain-data codec between the grader and a sandboxed kernel.

Values cross as JSON: numbers, strings, None, tuples, lists, dicts and
numeric numpy arrays (raw little-endian bytes, base64). Decoding never runs
code, so nothing a student's kernel sends back can act in the grader: an
object that is not plain data arrives as an ``Opaque`` stand-in that only
knows its type name (``np.asarray`` of it fails, so a check says "it is a
FancyFloat, not a number").

In the other direction (grader → kernel) a value that is not plain data,
such as a test function passed as an argument, may be shipped as a pickle
(``allow_pickle=True`` on the kernel's side only).
"""

from __future__ import annotations

import base64
import json

import numpy as np

__all__ = ["Opaque", "WireError", "decode", "dumps", "encode", "is_plain", "loads"]

MAX_DEPTH = 32
MAX_BYTES = 256 * 2**20  # a reply bigger than this is refused, not parsed
_NUMERIC_KINDS = "biufc"


class WireError(ValueError):
    """A message that is not valid wire data (too big, too deep, unknown tag)."""


class Opaque:
    """Stands for a kernel object that is not plain data; only its type name and a short repr cross."""

    def __init__(self, type_name, text):
        self.type_name, self.text = type_name, text

    def __repr__(self):
        return self.text


def _opaque_class(type_name):
    # A class carrying the student's type name, so messages read "it is a FancyFloat".
    name = type_name if type_name.isidentifier() else "object"
    return type(name, (Opaque,), {})


def encode(value, *, pickle_unknown=False, _depth=0):
    """value → JSON-able structure. Exact type checks: subclasses of builtins are not trusted."""
    if _depth > MAX_DEPTH:
        raise WireError("value nested too deeply")
    t = type(value)
    if value is None or t in (bool, int, str):
        return value
    if t is float:
        return {"f": repr(value)}  # repr round-trips exactly, NaN and inf included
    if t is complex:
        return {"c": [repr(value.real), repr(value.imag)]}
    if t in (tuple, list):
        return {"t" if t is tuple else "l": [encode(v, pickle_unknown=pickle_unknown, _depth=_depth + 1) for v in value]}
    if t is dict:
        return {"d": [[encode(k, pickle_unknown=pickle_unknown, _depth=_depth + 1),
                       encode(v, pickle_unknown=pickle_unknown, _depth=_depth + 1)] for k, v in value.items()]}
    if isinstance(value, (np.ndarray, np.generic)):
        arr = np.asarray(value)
        if arr.dtype.kind in _NUMERIC_KINDS:
            data = np.ascontiguousarray(arr, dtype=arr.dtype.newbyteorder("<"))
            tag = "a" if isinstance(value, np.ndarray) else "s"
            return {tag: base64.b64encode(data.tobytes()).decode("ascii"), "dtype": data.dtype.str,
                    "shape": list(arr.shape)}
    ref = getattr(value, "__wire_ref__", None)
    if isinstance(ref, str):  # the grader's stand-in for one of the kernel's own objects: sent by name
        return {"k": ref}
    if pickle_unknown:
        return {"p": base64.b64encode(_pickled(value)).decode("ascii")}
    try:
        text = object.__repr__(value)
    except Exception:  # pragma: no cover - object.__repr__ does not fail in practice
        text = "<object>"
    return {"o": getattr(t, "__name__", "object"), "r": text[:200]}


def is_plain(value):
    """True when ``value`` crosses as plain data or by name (no object stand-in; nothing is pickled here)."""
    def plain(data):
        if isinstance(data, dict):
            return "o" not in data and all(plain(v) for v in data.values())
        if isinstance(data, list):
            return all(plain(v) for v in data)
        return True

    try:
        return plain(encode(value))
    except (WireError, RecursionError):
        return False


def _pickled(value):
    """cloudpickle of a test argument the grader sends to the kernel, the answer key's functions as code.

    The kernel cannot import ``course_lib.key`` (the sandbox hides it), yet a hidden test's stand-ins
    (``given``: the reference of an earlier exercise, bound while a later one is tested) must run there,
    where the student's function calls them. So they travel by value, and only while that test runs.
    """
    import cloudpickle

    from .. import key

    cloudpickle.register_pickle_by_value(key)  # a set: registering again changes nothing
    return cloudpickle.dumps(value)


def decode(data, *, allow_pickle=False, resolve=None, _depth=0):
    """JSON-able structure → value. Only plain types and numeric arrays are built.

    ``resolve(name)``: on the kernel's side, the object a ``{"k": name}`` reference
    (one of the kernel's own names) stands for; without it a reference is refused.
    """
    if _depth > MAX_DEPTH:
        raise WireError("value nested too deeply")
    if data is None or type(data) in (bool, int, str):
        return data
    if type(data) is not dict or not data:
        raise WireError(f"not wire data: {type(data).__name__}")
    tag = next(iter(data))
    if tag == "f":
        return float(data["f"])
    if tag == "c":
        return complex(float(data["c"][0]), float(data["c"][1]))
    if tag in ("t", "l"):
        items = [decode(v, allow_pickle=allow_pickle, resolve=resolve, _depth=_depth + 1) for v in data[tag]]
        return tuple(items) if tag == "t" else items
    if tag == "d":
        inner = {"allow_pickle": allow_pickle, "resolve": resolve, "_depth": _depth + 1}
        return {decode(k, **inner): decode(v, **inner) for k, v in data["d"]}
    if tag in ("a", "s"):
        dtype = np.dtype(data["dtype"])
        if dtype.kind not in _NUMERIC_KINDS:
            raise WireError(f"array of dtype {dtype} refused")
        shape = tuple(int(n) for n in data["shape"])
        arr = np.frombuffer(base64.b64decode(data[tag]), dtype=dtype)
        if arr.size != int(np.prod(shape)):
            raise WireError("array bytes do not match its shape")
        arr = arr.reshape(shape).astype(dtype.newbyteorder("="), copy=True)
        return arr if tag == "a" else arr[()]
    if tag == "o":
        return _opaque_class(str(data["o"]))(str(data["o"]), str(data.get("r", ""))[:200])
    if tag == "k" and resolve is not None:
        return resolve(str(data["k"]))
    if tag == "p" and allow_pickle:
        import pickle

        return pickle.loads(base64.b64decode(data["p"]))
    raise WireError(f"unknown wire tag {tag!r}")


def dumps(value, **kwargs):
    return json.dumps(encode(value, **kwargs))


def loads(text, **kwargs):
    if len(text) > MAX_BYTES:
        raise WireError(f"reply of {len(text) / 2**20:.0f} MB refused (limit {MAX_BYTES // 2**20} MB)")
    return decode(json.loads(text), **kwargs)

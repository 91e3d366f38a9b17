"""The known mistakes of each exercise, as the visible checks see them (student library).

Each hidden test declares its exercise's typical mistakes once, as ``hints``:
a wrong formula and the sentence that names it. The check cell must not hold
those formulas (some are one character away from the answer), so
``python -m course_lib.grading.mistakes`` evaluates them at the very inputs
the check cell uses and stores only the results, beside the sentences, in
``mistakes.json``. When a check fails, ``named`` compares the student's
answers with those stored numbers: a match names the mistake in the hidden
test's own words. Nothing here computes anything from new inputs, so it
answers no exercise.

The file maps an exercise name (the graded function) to ``{"part": ...,
"typed_in": ..., "probes": [...]}``, the probes in the order the check cell calls the
function: ``{"args": ..., "answer_id": ..., "mistakes": [{"says": ...,
"answer": ...}]}``, with arrays, tuples and lists encoded by ``encode``. A
mistake is stored at a probe only where it differs from the right answer;
the right answers are not stored, only which probes share one.
"""

from __future__ import annotations

import functools
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["DATA", "Entry", "Mistake", "Probe", "decode", "encode", "entry", "has_function", "identical", "named", "same_answer", "seen"]

DATA = Path(__file__).with_name("mistakes.json")
ARGS_RTOL = 1e-12  # inputs computed in the check cell may differ from the stored ones in the last bits


@dataclass(frozen=True)
class Mistake:
    says: str  # the hidden test's sentence for it
    answer: object  # what the mistaken function returns at the probe (arrays, tuples, lists, floats)


@dataclass(frozen=True)
class Probe:
    args: object  # the encoded inputs of one call the check cell makes (a function argument is None)
    answer_id: int  # probes whose right answers are equal share an id (the answers themselves are not stored)
    mistakes: tuple[Mistake, ...]


@dataclass(frozen=True)
class Entry:
    part: int | None  # the hidden test compares answer[part] (e.g. probs of (probs, caches)), or the whole answer
    typed_in: bool  # the hidden test asks "typed in?" of equal answers to different inputs (check_function does)
    probes: tuple[Probe, ...]


@functools.lru_cache(maxsize=1)
def _catalogue():
    if not DATA.exists():
        return {}
    raw = json.loads(DATA.read_text(encoding="utf-8"))
    return {name: Entry(e["part"], e["typed_in"], tuple(
        Probe(p["args"], p["answer_id"], tuple(Mistake(m["says"], decode(m["answer"])) for m in p["mistakes"]))
        for p in e["probes"])) for name, e in raw.items()}


def entry(exercise):
    """The stored probes of an exercise, in the order its check cell calls the function."""
    return _catalogue().get(exercise, Entry(None, False, ()))


def seen(exercise, calls, replay=None):
    """[(probe, answer)]: the student's answers at the exercise's probes.

    ``calls`` are the (args, answer) pairs the check cell recorded, in order; a
    probe no call reached is asked of ``replay(args)`` (the student's function)
    when its inputs are all numbers. A replay that fails is left out.
    """
    stored = entry(exercise).probes
    found, used = [], set()
    for k, (args, answer) in enumerate(calls):
        encoded = encode(args)
        order = ([k] if k < len(stored) else []) + list(range(len(stored)))  # the same position first
        i = next((i for i in order if i not in used and _same(encoded, stored[i].args)), None)
        if i is not None:
            used.add(i)
            found.append((stored[i], answer))
    for i, probe in enumerate(stored):
        if replay is None or i in used or has_function(probe.args):
            continue
        try:
            found.append((probe, replay(decode(probe.args))))
        except Exception:  # the student's function fails there: the check says so in its own words
            continue
    return found


def named(exercise, answers, compare):
    """The sentence of the first known mistake the answers show, or None.

    ``answers`` come from ``seen``; ``compare(got, expected)`` is None when the
    two agree (checks._compare). Where several mistakes agree with an answer,
    the closest one is named.
    """
    part = entry(exercise).part
    for probe, answer in answers:
        got = _part(answer, part)
        matches = [m for m in probe.mistakes if compare(got, m.answer) is None]
        if matches:
            return min(matches, key=lambda m: _distance(got, m.answer)).says
    return None


def same_answer(answers):
    """(args, args) of two probes with different right answers where the student's answers are identical."""
    for i, (probe_i, answer_i) in enumerate(answers):
        for probe_j, answer_j in answers[i + 1:]:
            if probe_i.answer_id != probe_j.answer_id and identical(answer_i, answer_j):
                return decode(probe_i.args), decode(probe_j.args)
    return None


def _part(answer, part):
    if part is None:
        return answer
    try:
        return answer[part]
    except (TypeError, IndexError, KeyError):
        return answer


def _numbers(encoded):
    """The floats of an encoded value, in order (None for a function)."""
    if isinstance(encoded, dict):
        if "shape" in encoded:
            return encoded.get("values", encoded.get("ints"))
        return [x for v in next(iter(encoded.values())) for x in _numbers(v)]
    return [encoded]


def has_function(encoded):
    """True when an encoded value holds something that is not a number (a function argument)."""
    return None in _numbers(encoded)


def identical(a, b):
    """The very same numbers in the same structure (a typed-in answer repeats itself bit for bit)."""
    ea, eb = encode(a), encode(b)
    return ea == eb and not has_function(ea)


def _distance(got, answer):
    try:
        g, a = np.array(_numbers(encode(got)), dtype=float), np.array(_numbers(encode(answer)), dtype=float)
        return float(np.max(np.abs(g - a))) if g.shape == a.shape and g.size else math.inf
    except (TypeError, ValueError):
        return math.inf


# ------------------------------------------------------------ the encoding


def encode(value):
    """A JSON-able form of numbers, arrays, tuples and lists; anything else (a function) is None."""
    if isinstance(value, tuple):
        return {"tuple": [encode(v) for v in value]}
    if isinstance(value, list):
        return {"list": [encode(v) for v in value]}
    if isinstance(value, (bool, int, np.integer, np.bool_)):
        return int(value)  # labels and indices stay integers, so that a replayed call can index with them
    if isinstance(value, (float, np.floating)):
        return float(value)
    if isinstance(value, np.ndarray) and value.dtype.kind in "biu":
        return {"shape": list(value.shape), "ints": value.astype(np.int64).ravel().tolist()}
    if isinstance(value, np.ndarray) and value.dtype.kind == "f":
        return {"shape": list(value.shape), "values": value.astype(np.float64).ravel().tolist()}
    return None


def decode(obj):
    """The inverse of ``encode``: tuples, lists, float64 arrays and floats."""
    if isinstance(obj, dict):
        if "tuple" in obj:
            return tuple(decode(v) for v in obj["tuple"])
        if "list" in obj:
            return [decode(v) for v in obj["list"]]
        if "ints" in obj:
            return np.array(obj["ints"], dtype=np.int64).reshape(obj["shape"])
        return np.array(obj["values"], dtype=np.float64).reshape(obj["shape"])
    return obj


def _same(a, b):
    """Encoded inputs equal up to ARGS_RTOL; a stored None (a function argument) matches anything."""
    if b is None:
        return True
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return math.isclose(a, b, rel_tol=ARGS_RTOL) or (math.isnan(a) and math.isnan(b))
    if isinstance(a, dict) and isinstance(b, dict):
        if a.keys() != b.keys():
            return False
        if "shape" in a:
            return a["shape"] == b["shape"] and all(_same(x, y) for x, y in zip(*(_numbers(v) for v in (a, b))))
        (key,) = a.keys()
        return len(a[key]) == len(b[key]) and all(_same(x, y) for x, y in zip(a[key], b[key]))
    return False

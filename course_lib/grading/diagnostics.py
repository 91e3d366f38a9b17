"""The most frequent diagnostics of an exercise: messages grouped without losing a formula's constants.

Diagnostics are grouped by ``normalise``, which masks the data in a message
(measured values, shapes, indices) and keeps the small constants of a
formula ("1 − σ(z)", "divide by 2ε"); ``frequent_diagnostics`` counts the
groups of one exercise over all records.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .records import by_student, exercises_of, outcome, to_grade_by_hand

__all__ = ["DiagnosticGroup", "TOP_DIAGNOSTICS", "frequent_diagnostics", "normalise"]

TOP_DIAGNOSTICS = 5     # groups shown per exercise

# A number as Python, NumPy or a student's print() writes it: 3, -0.25, 1e-3, .5, nan, inf; not the
# digits of a name (W1) nor a coefficient written against its symbol (2ε, 3n).
_NUM = r"[-+−]?(?:\d+(?:\.\d+)?|\.\d+)(?:[eE][-+]?\d+)?"
_NUM_ITEM = r"[-+−]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"   # in an array NumPy writes 1. for 1.0
_NUMBER = re.compile(rf"(?<![\w.]){_NUM}(?!\w|\.\d)|(?<![\w.])(?:nan|inf)(?!\w)", re.IGNORECASE)
_HEX = re.compile(r"\b0x[0-9a-fA-F]+\b")
# A bracket holding numbers only: a shape "(3, 2)", an index "[0]", an array "[[1. 2.] [3. 4.]]".
_ITEM = rf"(?:{_NUM_ITEM}|nan|inf|#|\[#\]|\.\.\.|…)"
_GROUP_NUMBER = re.compile(rf"{_NUM_ITEM}|nan|inf", re.IGNORECASE)
_GROUP = re.compile(rf"([(\[])\s*({_ITEM}(?:[\s,;]*{_ITEM})*[\s,]*)([)\]])", re.IGNORECASE)
# Where a number is a measured value: after these words or signs ...
_DATA_BEFORE = re.compile(r"(?:\b(?:got|expected|gave|gives|returned|returns|index|indices|length|line|size|"
                          r"shape|row|column|element|position|be|is|was|are|were)|[=<>≈≠≤≥])\s*:?\s*$",
                          re.IGNORECASE)
# ... or before a unit;
_UNIT_AFTER = re.compile(r"\s?(?:ms|µs|s|MB|KB|kB|GB|MiB|KiB|GiB|seconds?|bytes?|points?|pts)(?!\w)|\s?%")
# but not when a formula goes on after it ("is 1 − σ(z)", "= 1/(1 + e^(−z))").
_FORMULA_AFTER = re.compile(r"\s?[−\-+·×*/^]")


def _mask_group(match):
    opening, inside, closing = match.groups()
    if opening == "[":
        return "[#]"   # an array's values and length are data alike
    return opening + _GROUP_NUMBER.sub("#", inside) + closing   # a tuple keeps its arity


def _mask_number(match):
    token, text = match.group(), match.string
    digits = token.lstrip("+-−").lstrip("0")
    if any(c in token for c in ".eE") or token.lower().lstrip("+-−") in ("nan", "inf") or len(digits) >= 3:
        return "#"   # a measured value: decimals, exponents, long numbers
    after = text[match.end():]
    if _UNIT_AFTER.match(after):
        return "#"   # "3 s", "4 MB", "50%"
    if _DATA_BEFORE.search(text[:match.start()]) and not _FORMULA_AFTER.match(after):
        return "#"   # "got 0", "index 3", "= 2"
    return token     # a small constant of the wording or the formula: "1 − z", "Exercise 4", "by 0"


def normalise(message):
    """A diagnostic with its data masked as '#', so that messages differing only in data group together.

    Masked: numbers with a decimal point or an exponent, numbers of three or
    more digits, numbers after "got", "expected", "=", "index" and the like,
    numbers before a unit ("3 s"), and brackets holding numbers only (shapes
    keep their arity, arrays become ``[#]``). Kept: small integers that belong
    to the wording or a formula ("1 − σ(z)", "2ε", "divide by 0", "Exercise 4").

    >>> normalise("expected 0.2, got -1e-3 at [1 2 3]")
    'expected #, got # at [#]'
    >>> normalise("you computed σ(z)·(1 − z): the second factor is 1 − σ(z), not 1 − z.")
    'you computed σ(z)·(1 − z): the second factor is 1 − σ(z), not 1 − z.'
    >>> normalise("dW has shape (3, 2) but should have shape (2, 3)")
    'dW has shape (#, #) but should have shape (#, #)'
    """
    text = _HEX.sub("#", str(message))
    for _ in range(4):   # nested arrays, innermost first
        text, n = _GROUP.subn(_mask_group, text)
        if not n:
            break
    text = _NUMBER.sub(_mask_number, text)
    return " ".join(text.split())


@dataclass(frozen=True)
class DiagnosticGroup:
    """Failure messages of one exercise that differ only in their data."""

    pattern: str            # the message as ``normalise`` writes it
    count: int
    example: str            # one real message of the group: the first by student id
    students: tuple         # student ids, sorted


def frequent_diagnostics(records, key, top=TOP_DIAGNOSTICS):
    """The most frequent failure messages of one exercise: ``[DiagnosticGroup]``, most frequent first.

    Only failed exercises (score below points, not left to grade by hand) with a message count.
    """
    students, examples = {}, {}
    for record in sorted(records, key=by_student):
        ex = exercises_of(record).get(key)
        if ex is None or not ex.get("message") or outcome(ex) in ("full", "not run") or to_grade_by_hand(ex):
            continue
        pattern = normalise(str(ex["message"]))
        students.setdefault(pattern, []).append(str(record.get("student_id", "")))
        examples.setdefault(pattern, str(ex["message"]))
    ranked = sorted(students.items(), key=lambda item: (-len(item[1]), item[0]))[:top]
    return [DiagnosticGroup(pattern, len(ids), examples[pattern], tuple(ids)) for pattern, ids in ranked]


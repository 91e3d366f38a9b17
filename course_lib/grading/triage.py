"""Triage: what happened to a submission and what to do; which submissions need a look first.

Grader internals ("NoReply: ...", "RuntimeError: can't start new thread",
"MemoryError") are explained by ``explain``, a registry of patterns
(``INTERNAL_FAILURES``): what happened to the submission and what to do, the
raw text kept as a detail. ``reasons_to_look`` gives a record's reasons to
open it (``Reason``, each of a kind in ``URGENCY``), and ``needs_a_look``
the submissions that have one, most urgent first.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from .records import exercise_title, exercises_of, fmt_number, outcome, to_grade_by_hand

__all__ = [
    "INTERNAL_FAILURES",
    "KIND_LABELS",
    "LOW_SCORE",
    "URGENCY",
    "Explanation",
    "Look",
    "Reason",
    "explain",
    "hand_graded_everywhere",
    "needs_a_look",
    "reasons_to_look",
]

LOW_SCORE = 0.4         # a graded submission below this fraction of the points is listed (last)

# Why a submission needs a look, most urgent first, and how the report labels each kind.
URGENCY = ("crashed", "timeout", "invalid", "review", "by hand", "note", "low score")
KIND_LABELS = {"crashed": "crashed", "timeout": "timed out", "invalid": "not gradable", "review": "review",
               "by hand": "grade by hand", "note": "note", "low score": "low score"}


# ----------------------------------------------------------------------------- grader internals in words

@dataclass(frozen=True)
class Explanation:
    """What happened to a submission, and what the instructor can do, in plain words."""

    what: str
    todo: str


def _failure(pattern, what, todo):
    return re.compile(pattern, re.IGNORECASE), what, todo


# Grader internals, most specific first: (pattern, what happened, what to do). In "what", {memory},
# {cpu}, {nproc}, {fsize} become the record's limit as " (limit 2048 MB)", and {memory_of} ... as
# " of 2048 MB"; both are empty when the record does not give it.
INTERNAL_FAILURES = (
    _failure(r"can't start new thread|Resource temporarily unavailable|BlockingIOError|\[Errno 11\]|\bEAGAIN\b"
             r"|fork(?:ing)? failed",
             "the notebook hit the sandbox's limit on processes and threads{nproc}",
             "look at the notebook: it starts threads or processes (threading, multiprocessing, joblib, a pool); "
             "grade what it could not run by hand"),
    _failure(r"MemoryError|Cannot allocate memory|out of memory|Unable to allocate|\bENOMEM\b|\bOOM\b",
             "the notebook ran out of memory{memory}",
             "if the assignment needs that much, re-grade it with a higher --memory; otherwise look at the "
             "notebook: it builds a very large array?"),
    _failure(r"\bKilled\b|SIGKILL|signal 9\b",
             "the notebook's kernel was killed, most often by the memory limit{memory_of} or the CPU-time "
             "limit{cpu_of}",
             "re-grade it with a higher --memory (or --timeout) to see whether it then finishes; otherwise look "
             "at the notebook"),
    _failure(r"CPU time limit|SIGXCPU",
             "the notebook used up its CPU time{cpu}",
             "if the code is only slow, re-grade it with a higher --timeout; otherwise look for an endless loop"),
    _failure(r"File too large|No space left|Disk quota",
             "the notebook wrote more to disk than the sandbox allows{fsize}",
             "look at the notebook: it writes large files"),
    _failure(r"kernel died|DeadKernelError",
             "the notebook's kernel died: the student's code exited (os._exit, sys.exit) or crashed, or it hit "
             "the memory limit{memory_of} or the CPU-time limit{cpu_of}",
             "look at the cell the grader names in the autograded notebook; if it ran out of memory, re-grade "
             "it with a higher --memory"),
    _failure(r"kernel could not start",
             "the grader could not start a kernel for this notebook (the machine was short of memory or "
             "processes?)",
             "re-grade it, with fewer --workers if it happens again"),
    _failure(r"NoReply|no answer from the notebook's kernel|did not answer the grader",
             "the grader asked the notebook's kernel to run a check and got no answer: the kernel was busy or "
             "crashed, or the student's code interfered with the grader",
             "re-grade it with fewer --workers; if it happens again, read the notebook for code that touches "
             "the grader, and grade the exercise by hand"),
    _failure(r"Network is unreachable|Temporary failure in name resolution|Name or service not known"
             r"|\[Errno 101\]",
             "the notebook tried to use the network, which the sandbox blocks",
             "look at the notebook: it downloads something? Data the assignment needs must come with it"),
    _failure(r"the machine was busy",
             "the grading machine was overloaded while this notebook ran: it may have run out of time unfairly",
             "re-grade it with fewer --workers (or on a quieter machine)"),
    _failure(r"the grader failed",
             "the grader itself failed on this submission (a fault of the grader, not of the student)",
             "run `course grade` again: it grades this submission again by itself; if it fails again, report "
             "it with the record's grader_error"),
)
_LIMITS = (("memory", "memory_mb", " MB"), ("cpu", "cpu_s", " s"), ("nproc", "nproc", ""),
           ("fsize", "fsize_mb", " MB per file"))


def _limit_words(limits):
    """The record's sandbox limits as INTERNAL_FAILURES' sentences quote them."""
    words = {}
    for name, key, unit in _LIMITS:
        value = (limits or {}).get(key)
        words[name] = f" (limit {fmt_number(value)}{unit})" if value else ""
        words[f"{name}_of"] = f" of {fmt_number(value)}{unit}" if value else ""
    return words


# Where the grader says it happened ("stopped at the cell of 'tanh_grad'"): kept in the explanation.
_WHERE = re.compile(r"\bat (the cell of '[^']*'|a cell after exercise '[^']*'|a cell before the first exercise"
                    r"|start-up)")


def explain(text, limits=None):
    """The ``Explanation`` of a message holding grader internals, or None when it reads plainly.

    ``limits``: the record's sandbox limits (``memory_mb``, ``cpu_s``,
    ``nproc``, ``fsize_mb``), quoted in the explanation when known.

    >>> explain("RuntimeError: can't start new thread", {"nproc": 256}).what
    "the notebook hit the sandbox's limit on processes and threads (limit 256)"
    """
    for pattern, what, todo in INTERNAL_FAILURES:
        if pattern.search(str(text)):
            what = what.format(**_limit_words(limits))
            where = _WHERE.search(str(text))
            return Explanation(f"{what}; at {where.group(1)}" if where else what, todo)
    return None


# ----------------------------------------------------------------------------- why a submission needs a look

@dataclass(frozen=True)
class Reason:
    """One reason to open a submission: ``kind`` (one of ``URGENCY``), plain words, what to do, and the
    grader's own text when ``text`` rephrases it."""

    kind: str
    text: str
    todo: str = ""
    raw: str = ""

    @property
    def urgency(self):
        return URGENCY.index(self.kind)


@dataclass(frozen=True)
class Look:
    """A submission that needs a look: its record and its reasons, most urgent first."""

    record: dict
    reasons: tuple

    @property
    def urgency(self):
        return min(r.urgency for r in self.reasons)

    @property
    def student_id(self):
        return str(self.record.get("student_id", ""))


_STATUS_TODO = {
    "crashed": "open the autograded notebook at the cell the grader names; re-grade it once that is fixed",
    "timeout": "look at the cell it names (an infinite loop?); if the code is only slow, re-grade it with a "
               "higher --timeout or --cell-timeout",
    "invalid": "ask the student for a notebook that opens, then grade it",
}
_TAMPER_TODO = ("read the quoted code in the autograded notebook; grade the exercises by hand if the score "
                "cannot be trusted")
_HELD_TODO = "grade it by hand (nbgrader's formgrader); it counts 0 until then"
_KERNEL_TODO = "check this score by hand if it matters: the student's code could have changed it"


def _status_reason(status, message, limits):
    meaning = explain(message, limits)
    kind = status if status in URGENCY else "crashed"
    if meaning is None:
        return Reason(kind, message, _STATUS_TODO.get(kind, ""))
    return Reason(kind, meaning.what, meaning.todo, raw=message)


def _with_titles(note, titles):
    """A note that starts with a grade id, starting with the exercise's title instead (the id kept)."""
    gid, _, rest = note.partition(" ")
    title = titles.get(gid)
    return f"{title} ({gid}) {rest}" if title and title != gid else note


def _note_reason(note, titles, limits):
    meaning = explain(note, limits)
    if note.startswith("tampering suspected"):
        return Reason("review", note, meaning.todo if meaning else _TAMPER_TODO)
    if " is held for grading by hand" in note:
        return Reason("review", _with_titles(note, titles), _HELD_TODO)
    if meaning is not None:
        return Reason("note", meaning.what, meaning.todo, raw=note)
    if " was graded inside the student's kernel" in note:
        return Reason("note", _with_titles(note, titles), _KERNEL_TODO)
    return Reason("note", note)


def reasons_to_look(record, low_score=LOW_SCORE, everywhere=frozenset()):
    """Why an instructor should open this submission, most urgent first (empty: no reason).

    In order: a status other than "graded" (crashed, timeout, invalid), with
    grader internals explained; tampering and held-for-review notes, and
    exercises whose message shows a failure of the grader or sandboxing; the
    exercises a person must still grade, except those in ``everywhere`` (keys
    ``(notebook, grade_id)`` of exercises graded by hand in every submission,
    which the report names once); the other ``needs_review`` notes and the
    exercises scored inside the student's kernel (which the student's code
    could have influenced); a graded submission below ``low_score`` of the
    points the grader gave (those still to grade by hand left out).
    """
    limits = record.get("limits") or {}
    found = exercises_of(record)
    notes = [str(n) for n in record.get("needs_review") or []]
    reasons = [*_status_reasons(record, notes, limits), *_exercise_reasons(found, notes, everywhere, limits),
               *_low_score_reasons(record, found.values(), low_score)]
    unique = {}
    for reason in sorted(reasons, key=lambda r: r.urgency):   # stable: the record's order within a kind
        unique.setdefault(reason.text, reason)   # a note that repeats the status says nothing new
    return list(unique.values())


def _status_reasons(record, notes, limits):
    """The record's and its notebooks' status, and the grader's notes."""
    status = record.get("status", "graded")
    said = str(record.get("message") or "")   # the worker joins the notebooks' messages
    if status != "graded":
        yield _status_reason(status, said or "no message", limits)
    for nb in record.get("notebooks") or []:
        if nb.get("status", "graded") != "graded" and str(nb.get("message") or "") not in said:
            yield _status_reason(nb["status"], f"{nb.get('name')}: {nb.get('message') or 'no message'}", limits)
    titles = {ex["grade_id"]: exercise_title(ex) for ex in exercises_of(record).values()}
    for note in notes:
        if status == "graded" or note not in said:   # a note the status message quotes is said already
            yield _note_reason(note, titles, limits)


def _exercise_reasons(found, notes, everywhere, limits):
    """Exercises to grade by hand, with grader internals in their message, or scored in the kernel."""
    noted = "\n".join(notes)
    by_hand = [ex for key, ex in found.items() if to_grade_by_hand(ex) and key not in everywhere
               and f"{ex['grade_id']} is held for grading by hand" not in noted]
    if by_hand:
        names = ", ".join(f"{exercise_title(ex)} ({fmt_number(ex.get('points'))} pts)" for ex in by_hand)
        yield Reason("by hand", f"{len(by_hand)} exercise{'s' * (len(by_hand) != 1)} to grade by hand: {names}",
                     "grade them in nbgrader's formgrader")
    for ex in found.values():
        meaning = explain(ex.get("message") or "", limits) if ex.get("verdict") != "not run" else None
        if meaning is not None:   # its score may be unfair
            yield Reason("review", f"{exercise_title(ex)}: {meaning.what}", meaning.todo, raw=str(ex["message"]))
        if ex.get("verdict") == "kernel" and f"{ex['grade_id']} was graded inside the student's kernel" not in noted:
            yield Reason("note", f"{exercise_title(ex)}: scored inside the student's kernel, not by the grader", _KERNEL_TODO)


def _low_score_reasons(record, exercises, low_score):
    """A graded submission below ``low_score`` of the points the grader gave (not those left to a person)."""
    pending = sum(float(ex.get("points") or 0) for ex in exercises if to_grade_by_hand(ex))
    graded = float(record.get("max_score") or 0) - pending
    score = float(record.get("score") or 0)
    if record.get("status", "graded") == "graded" and graded > 0 and score < low_score * graded:
        zero = [exercise_title(ex) for ex in exercises if outcome(ex) == "zero" and not to_grade_by_hand(ex)]
        yield Reason("low score", f"low score: {fmt_number(record.get('score'))} of "
                                  f"{fmt_number(record.get('max_score'))} points"
                                  + (f" ({fmt_number(pending)} still to grade by hand)" if pending else "")
                                  + (f"; no points for {', '.join(zero)}" if zero else ""),
                     "see the diagnostics of those exercises below")


def hand_graded_everywhere(records):
    """Keys ``(notebook, grade_id)`` of the exercises left to grade by hand in every submission that ran them
    (a written answer, a task): work for the assignment, named once rather than per submission."""
    seen, pending = Counter(), Counter()
    for record in records:
        for key, ex in exercises_of(record).items():
            if ex.get("verdict") != "not run":
                seen[key] += 1
                pending[key] += to_grade_by_hand(ex)
    return frozenset(key for key, n in seen.items() if n >= 2 and pending[key] == n)


def needs_a_look(records, low_score=LOW_SCORE):
    """The submissions with a reason to look, most urgent first, then lowest score, then by student id."""
    everywhere = hand_graded_everywhere(records)
    looks = [Look(r, tuple(reasons)) for r in records if (reasons := reasons_to_look(r, low_score, everywhere))]
    return sorted(looks, key=lambda look: (look.urgency, _fraction(look.record), look.student_id))


def _fraction(record):
    """Score as a fraction of the points (0 when there are none)."""
    top = float(record.get("max_score") or 0)
    return float(record.get("score") or 0) / top if top > 0 else 0.0

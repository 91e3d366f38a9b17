"""What the instructor reads after ``course grade``: ``grades.csv`` and ``report.html``.

Both are built from the grader's *records*, one JSON-able dict per student and
assignment (see ``worker``): ``status`` (graded | timeout | crashed |
invalid), ``score`` / ``max_score``, ``needs_review`` reasons, and per
notebook the ``exercises`` with ``grade_id``, ``points``, ``score``, the
diagnostic ``message`` and the ``verdict`` (where the score was computed).
Newer records also give an exercise its ``title`` (how the notebook names it,
"Exercise 4 · neuron_forward_backward"), ``auto_score`` and
``needs_manual_grade``; older ones lack them and the report falls back to the
``grade_id`` and the ``verdict``.

* ``write_grades_csv`` — one row per record, one column per exercise (by
  grade id: the columns stay stable for spreadsheets and scripts).
* ``write_report_html`` — one self-contained page, in the order an instructor
  acts on it: the submissions that need a look, most urgent first, each with
  its reasons in plain words, what to do, and a link to its details; counts
  and scores; a bar chart and a table per exercise; the most frequent
  diagnostics per exercise; the details of every listed submission.

Grader internals ("NoReply: ...", "RuntimeError: can't start new thread",
"MemoryError") are explained by ``explain``, a registry of patterns
(``INTERNAL_FAILURES``): what happened to the submission and what to do, the
raw text kept as a detail. Diagnostics are grouped by ``normalise``, which
masks the data in a message (measured values, shapes, indices) and keeps the
small constants of a formula ("1 − σ(z)", "divide by 2ε").

Every string that comes from a submission (messages, diagnostics, student
ids) may hold anything a student's code printed: the page escapes it, and the
CSV defuses text a spreadsheet would run as a formula.
"""

from __future__ import annotations

import base64
import csv
import html
import io
import re
import statistics
import textwrap
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote


__all__ = [
    "INTERNAL_FAILURES",
    "DiagnosticGroup",
    "Explanation",
    "Look",
    "Reason",
    "exercise_columns",
    "exercise_titles",
    "explain",
    "fmt_number",
    "frequent_diagnostics",
    "hand_graded_everywhere",
    "needs_a_look",
    "normalise",
    "outcome",
    "reasons_to_look",
    "to_grade_by_hand",
    "write_grades_csv",
    "write_report_html",
]

STATUSES = ("graded", "timeout", "crashed", "invalid")
FIXED_COLUMNS = ("student_id", "assignment", "score", "max_score", "status")
OUTCOMES = ("zero", "partial", "full", "not run")
OUTCOME_COLORS = {"zero": "#c0392b", "partial": "#d68910", "full": "#2a7f3f", "to grade": "#6c4fb3",
                  "not run": "#9aa3ad"}
TOP_DIAGNOSTICS = 5     # groups shown per exercise
CLIP = 400              # characters of a student-derived text shown in the page
LOW_SCORE = 0.4         # a graded submission below this fraction of the points is listed (last)
STUDENTS_SHOWN = 6      # student ids named per diagnostic group
HAND_GRADED = ("manual", "held", "task")   # verdicts whose points a person gives

# Why a submission needs a look, most urgent first.
URGENCY = ("crashed", "timeout", "invalid", "review", "by hand", "note", "low score")
KIND_LABELS = {"crashed": "crashed", "timeout": "timed out", "invalid": "not gradable", "review": "review",
               "by hand": "grade by hand", "note": "note", "low score": "low score"}
VERDICT_WORDS = {"grader": "checked by the grader", "kernel": "checked in the student's kernel",
                 "held": "held: grade by hand", "manual": "graded by hand", "task": "task: grade by hand",
                 "not run": "not run"}

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


# ----------------------------------------------------------------------------- shared

def fmt_number(x):
    """A score without float noise: 7.0 -> '7', 7.5 -> '7.5', 0.1 + 0.2 -> '0.3'; None -> ''."""
    if x is None:
        return ""
    text = f"{float(x):.6f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def exercise_columns(records):
    """Column name per exercise, in notebook order: ``[((notebook, grade_id), name), ...]``.

    The name is the ``grade_id``, or ``notebook/grade_id`` when two notebooks
    of the assignment use the same id (nbgrader ids are unique per notebook
    only) or the id collides with a fixed column.
    """
    keys = []
    for record in sorted(records, key=_sort_key):
        for nb in record.get("notebooks") or []:
            for ex in nb.get("exercises") or []:
                key = (nb.get("name", ""), ex["grade_id"])
                if key not in keys:
                    keys.append(key)
    uses = Counter(grade_id for _, grade_id in keys)
    reserved = set(FIXED_COLUMNS) | {"needs_review", "message"}
    return [((nb, gid), gid if uses[gid] == 1 and gid not in reserved else f"{nb}/{gid}")
            for nb, gid in keys]


def exercise_titles(records):
    """``{(notebook, grade_id): title}``: how the notebooks name their exercises.

    The first ``title`` any record gives, else the ``grade_id`` (old records);
    the notebook's name is added when two notebooks' exercises read alike.
    """
    titles = {}
    for record in sorted(records, key=_sort_key):
        for key, ex in _exercises(record).items():
            if not titles.get(key) or titles[key] == key[1]:
                titles[key] = _title(ex)
    uses = Counter(titles.values())
    return {key: title if uses[title] == 1 else f"{title} ({key[0]})" for key, title in titles.items()}


def _title(exercise):
    return str(exercise.get("title") or exercise.get("grade_id", ""))


def to_grade_by_hand(exercise):
    """True when a person still has to give this exercise's points (nbgrader's needs_manual_grade)."""
    if exercise.get("needs_manual_grade") is not None:
        return bool(exercise["needs_manual_grade"])
    return exercise.get("verdict") in HAND_GRADED   # records written before the field existed


def _sort_key(record):
    return (str(record.get("student_id", "")), str(record.get("assignment", "")))


def _exercises(record):
    """``{(notebook, grade_id): exercise}`` of one record."""
    return {(nb.get("name", ""), ex["grade_id"]): ex
            for nb in record.get("notebooks") or [] for ex in nb.get("exercises") or []}


def _fraction(record):
    """Score as a fraction of the points (0 when there are none)."""
    top = float(record.get("max_score") or 0)
    return float(record.get("score") or 0) / top if top > 0 else 0.0


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
    found = _exercises(record)
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
    titles = {ex["grade_id"]: _title(ex) for ex in _exercises(record).values()}
    for note in notes:
        if status == "graded" or note not in said:   # a note the status message quotes is said already
            yield _note_reason(note, titles, limits)


def _exercise_reasons(found, notes, everywhere, limits):
    """Exercises to grade by hand, with grader internals in their message, or scored in the kernel."""
    noted = "\n".join(notes)
    by_hand = [ex for key, ex in found.items() if to_grade_by_hand(ex) and key not in everywhere
               and f"{ex['grade_id']} is held for grading by hand" not in noted]
    if by_hand:
        names = ", ".join(f"{_title(ex)} ({fmt_number(ex.get('points'))} pts)" for ex in by_hand)
        yield Reason("by hand", f"{len(by_hand)} exercise{'s' * (len(by_hand) != 1)} to grade by hand: {names}",
                     "grade them in nbgrader's formgrader")
    for ex in found.values():
        meaning = explain(ex.get("message") or "", limits) if ex.get("verdict") != "not run" else None
        if meaning is not None:   # its score may be unfair
            yield Reason("review", f"{_title(ex)}: {meaning.what}", meaning.todo, raw=str(ex["message"]))
        if ex.get("verdict") == "kernel" and f"{ex['grade_id']} was graded inside the student's kernel" not in noted:
            yield Reason("note", f"{_title(ex)}: scored inside the student's kernel, not by the grader", _KERNEL_TODO)


def _low_score_reasons(record, exercises, low_score):
    """A graded submission below ``low_score`` of the points the grader gave (not those left to a person)."""
    pending = sum(float(ex.get("points") or 0) for ex in exercises if to_grade_by_hand(ex))
    graded = float(record.get("max_score") or 0) - pending
    score = float(record.get("score") or 0)
    if record.get("status", "graded") == "graded" and graded > 0 and score < low_score * graded:
        zero = [_title(ex) for ex in exercises if outcome(ex) == "zero" and not to_grade_by_hand(ex)]
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
        for key, ex in _exercises(record).items():
            if ex.get("verdict") != "not run":
                seen[key] += 1
                pending[key] += to_grade_by_hand(ex)
    return frozenset(key for key, n in seen.items() if n >= 2 and pending[key] == n)


def needs_a_look(records, low_score=LOW_SCORE):
    """The submissions with a reason to look, most urgent first, then lowest score, then by student id."""
    everywhere = hand_graded_everywhere(records)
    looks = [Look(r, tuple(reasons)) for r in records if (reasons := reasons_to_look(r, low_score, everywhere))]
    return sorted(looks, key=lambda look: (look.urgency, _fraction(look.record), look.student_id))


# ----------------------------------------------------------------------------- CSV

def write_grades_csv(records, path):
    """Write one row per record, sorted by student id.

    Columns: ``student_id, assignment, score, max_score, status``, one column
    per exercise (its score; empty when the exercise was not found), then
    ``needs_review`` (reasons joined with "; ") and ``message``.
    """
    columns = exercise_columns(records)
    header = [*FIXED_COLUMNS, *(name for _, name in columns), "needs_review", "message"]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        for record in sorted(records, key=_sort_key):
            writer.writerow(_csv_row(record, columns))


def _csv_row(record, columns):
    exercises = _exercises(record)
    scores = [fmt_number(exercises[key].get("score")) if key in exercises else ""
              for key, _ in columns]
    text = _csv_text
    return [text(record.get("student_id", "")), text(record.get("assignment", "")),
            fmt_number(record.get("score")), fmt_number(record.get("max_score")),
            text(record.get("status", "")), *scores,
            text("; ".join(map(str, record.get("needs_review") or []))),
            text(record.get("message", ""))]


def _csv_text(value):
    """Student text, defused so that a spreadsheet shows it instead of running it as a formula."""
    value = "" if value is None else str(value)
    return "'" + value if value.startswith(_FORMULA_START) else value


# ----------------------------------------------------------------------------- figures

def _png_data_uri(fig):
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _new_axes(figsize):
    """A Figure of its own (no pyplot, no global state) and its one Axes."""
    from matplotlib.figure import Figure  # imported here: `course grade` starts 0.2 s sooner
    from matplotlib.ticker import MaxNLocator

    fig = Figure(figsize=figsize, dpi=100, layout="constrained")
    ax = fig.add_subplot()
    ax.spines[["top", "right"]].set_visible(False)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    return fig, ax


def outcome(exercise):
    """'zero', 'partial', 'full' or 'not run' for one exercise dict (None: not found)."""
    if exercise is None or exercise.get("verdict") == "not run":
        return "not run"
    score, points = exercise.get("score") or 0.0, exercise.get("points") or 0.0
    if score >= points - 1e-9:
        return "full"
    return "partial" if score > 1e-9 else "zero"


def _chart_outcome(exercise):
    """``outcome``, or 'to grade' while a person has still to give the points."""
    return "to grade" if exercise is not None and to_grade_by_hand(exercise) else outcome(exercise)


def _exercise_chart(title, detail, outcomes, categories):
    """Bar chart: how many submissions got zero, partial, full points, are to grade, or did not run."""
    fig, ax = _new_axes((3.25, 2.4))
    counts = [outcomes[o] for o in categories]
    bars = ax.bar(categories, counts, color=[OUTCOME_COLORS[o] for o in categories])
    ax.bar_label(bars, fontsize=8)
    ax.set_title(textwrap.fill(title, 38), fontsize=9)
    ax.set_xlabel(detail, fontsize=7, color="#666666")
    ax.set_ylabel("submissions", fontsize=8)
    ax.tick_params(labelsize=8)
    return _png_data_uri(fig)


def _total_histogram(scores, max_score):
    """Histogram of total scores, one bin per point up to 20 bins."""
    fig, ax = _new_axes((5.0, 2.6))
    top = max([max_score, *scores, 1.0])
    ax.hist(scores, bins=max(1, min(20, round(top))), range=(0, top), color="#1f5aa6",
            edgecolor="white")
    ax.set_xlabel(f"total score (out of {fmt_number(max_score)})", fontsize=8)
    ax.set_ylabel("submissions", fontsize=8)
    ax.tick_params(labelsize=8)
    return _png_data_uri(fig)


# ----------------------------------------------------------------------------- diagnostics

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
    for record in sorted(records, key=_sort_key):
        ex = _exercises(record).get(key)
        if ex is None or not ex.get("message") or outcome(ex) in ("full", "not run") or to_grade_by_hand(ex):
            continue
        pattern = normalise(str(ex["message"]))
        students.setdefault(pattern, []).append(str(record.get("student_id", "")))
        examples.setdefault(pattern, str(ex["message"]))
    ranked = sorted(students.items(), key=lambda item: (-len(item[1]), item[0]))[:top]
    return [DiagnosticGroup(pattern, len(ids), examples[pattern], tuple(ids)) for pattern, ids in ranked]


# ----------------------------------------------------------------------------- HTML

_CSS = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 72em; padding: 0 1em; color: #222; }
h1 { font-size: 1.5em; margin-bottom: .2em; } h2 { font-size: 1.2em; margin-top: 2em; border-bottom: 1px solid #ddd; }
h3 { font-size: 1em; margin: 1.2em 0 .3em; }
nav { color: #555; } nav a { margin-right: 1em; }
a { color: #1f5aa6; }
table { border-collapse: collapse; margin: .5em 0; }
th, td { border: 1px solid #ddd; padding: .3em .6em; text-align: left; vertical-align: top; }
th { background: #f3f5f8; } td.count { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.charts { display: flex; flex-wrap: wrap; gap: 1em; }
.example, .raw { color: #555; font-family: ui-monospace, monospace; font-size: .9em; white-space: pre-wrap;
  overflow-wrap: anywhere; }
.none { color: #777; font-style: italic; }
.gid, .pattern, .hint { color: #666; font-size: .85em; }
.gid { font-family: ui-monospace, monospace; }
.todo { color: #1d5a2c; } .todo::before { content: "→ "; }
.plain { font-weight: 600; }
ul.reasons { margin: 0; padding-left: 1.1em; } ul.reasons li { margin-bottom: .35em; }
details summary { cursor: pointer; color: #666; font-size: .85em; }
.badge { display: inline-block; border-radius: .6em; padding: 0 .5em; font-size: .8em; color: #fff;
  background: #777; white-space: nowrap; }
.badge.crashed { background: #a31515; } .badge.timeout { background: #b35900; }
.badge.invalid { background: #7d3c98; } .badge.review { background: #c0392b; }
.badge.by-hand { background: #6c4fb3; } .badge.note { background: #5d6d7e; }
.badge.low-score { background: #9a7d0a; }
table.look td:first-child { white-space: nowrap; }
section.student { border-top: 1px solid #eee; margin-top: 1.2em; }
table.submission, table.diagnostics { width: 100%; } table.submission { table-layout: fixed; }
table.submission th:nth-child(1) { width: 30%; } table.submission th:nth-child(2) { width: 7em; }
table.submission th:nth-child(3) { width: 12em; }
p.everywhere .todo { display: block; }
section.student:target { background: #fffbe6; }
tr.to-grade td, tr.held td { background: #f4f0fb; } tr.zero td.count { color: #a31515; }
"""


def _e(value):
    return html.escape(str(value), quote=True)


def _clip(text, n=CLIP):
    text = str(text)
    return text if len(text) <= n else text[: n - 1] + "…"


def _img(uri, alt):
    return f'<img src="{uri}" alt="{_e(alt)}">'


def _anchor(student_id):
    """An HTML id for a student's details: any text, made safe and unique."""
    return "student-" + re.sub(r"[^A-Za-z0-9_-]", lambda m: f".{ord(m.group()):x}", str(student_id))


def _badge(kind):
    return f'<span class="badge {kind.replace(" ", "-")}">{_e(KIND_LABELS.get(kind, kind))}</span>'


def _exercise_name(title, grade_id):
    """An exercise as the page names it: its title, the grade id as a detail."""
    detail = f' <span class="gid">{_e(grade_id)}</span>' if title != grade_id else ""
    return f"{_e(title)}{detail}"


def _summary_section(records):
    counts = Counter(r.get("status", "graded") for r in records)
    statuses = [*STATUSES, *sorted(set(counts) - set(STATUSES))]
    rows = "".join(f"<tr><th>{_e(s)}</th><td class=\"count\">{counts[s]}</td></tr>"
                   for s in statuses)
    scores = [float(r["score"]) for r in records if r.get("score") is not None]
    max_score = max((float(r.get("max_score") or 0) for r in records), default=0.0)
    line = "no scores"
    if scores:
        mean, median = round(statistics.mean(scores), 2), statistics.median(scores)
        line = (f"score over all {len(scores)} submissions: mean {fmt_number(mean)}, "
                f"median {fmt_number(median)} (out of {fmt_number(max_score)})")
    return (f"<h2 id=\"summary\">Summary</h2><p>{len(records)} submissions; {_e(line)}.</p>"
            f"<table class=\"statuses\"><tr><th>status</th><th>submissions</th></tr>{rows}</table>"
            + _img(_total_histogram(scores, max_score), "histogram of total scores"))


def _exercise_section(records, columns, titles):
    found = {key: [_exercises(r).get(key) for r in records] for key, _ in columns}
    hand = any(ex is not None and to_grade_by_hand(ex) for exs in found.values() for ex in exs)
    categories = ("zero", "partial", "full", "to grade", "not run") if hand else OUTCOMES
    charts, rows = [], []
    for key, _ in columns:
        exercises = found[key]
        points = max((ex.get("points") or 0 for ex in exercises if ex), default=0)
        outcomes = Counter(_chart_outcome(ex) for ex in exercises)
        scores = [float(ex.get("score") or 0) for ex in exercises if _chart_outcome(ex) not in ("to grade", "not run")]
        title = titles[key]
        detail = f"{key[1]} · {fmt_number(points)} pts"
        shown = [o for o in categories if o != "to grade" or outcomes[o]]   # the bar only where there is one
        charts.append(_img(_exercise_chart(title, detail, outcomes, shown), f"scores for {title}"))
        mean = fmt_number(round(statistics.mean(scores), 2)) if scores else ""
        rows.append(f"<tr><td>{_exercise_name(title, key[1])}</td><td class=\"count\">{fmt_number(points)}</td>"
                    f"<td class=\"count\">{mean}</td>"
                    + "".join(f"<td class=\"count\">{outcomes[o]}</td>" for o in categories) + "</tr>")
    head = "".join(f"<th>{_e(o)}</th>" for o in categories)
    return ("<h2 id=\"exercises\">Scores per exercise</h2>"
            "<table class=\"exercises\"><tr><th>exercise</th><th>points</th><th>mean score where it ran</th>"
            f"{head}</tr>{''.join(rows)}</table>"
            "<div class=\"charts\">" + "".join(charts) + "</div>")


def _diagnostics_section(records, columns, titles, anchors, everywhere):
    tables = [_diagnostics_table(titles[key], key[1], frequent_diagnostics(records, key), anchors,
                                 by_hand=key in everywhere)
              for key, _ in columns]
    return ("<h2 id=\"diagnostics\">Most frequent diagnostics</h2><p class=\"hint\">Messages that differ only "
            "in their data (values, shapes, indices) are counted together; one real message of each group is "
            "shown.</p>" + "".join(tables))


def _student_link(student_id, anchors):
    if student_id in anchors:
        return f'<a href="#{anchors[student_id]}">{_e(student_id)}</a>'
    return _e(student_id)


def _explained(text, limits=None):
    """A student-derived message as HTML: grader internals explained first, the raw text kept."""
    meaning = explain(text, limits)
    raw = f"<div class=\"example\">{_e(_clip(text))}</div>"
    if meaning is None:
        return raw
    return (f"<div class=\"plain\">{_e(meaning.what)}</div><div class=\"todo\">{_e(meaning.todo)}</div>"
            f"<details><summary>the grader's message</summary>{raw}</details>")


def _diagnostics_table(title, grade_id, groups, anchors, by_hand=False):
    name = _exercise_name(title, grade_id)
    if not groups:
        why = "graded by hand: no diagnostics" if by_hand else "no failures with a message"
        return f"<h3>{name}</h3><p class=\"none\">{why}</p>"
    rows = []
    for group in groups:
        shown = ", ".join(_student_link(s, anchors) for s in group.students[:STUDENTS_SHOWN])
        more = len(group.students) - STUDENTS_SHOWN
        pattern = (f"<div class=\"pattern\">grouped as: {_e(_clip(group.pattern))}</div>"
                   if group.count > 1 and group.pattern != " ".join(group.example.split()) else "")
        rows.append(f"<tr><td class=\"count\">{group.count}</td><td>{_explained(group.example)}{pattern}</td>"
                    f"<td>{shown}{f' and {more} more' if more > 0 else ''}</td></tr>")
    return (f"<h3>{name}</h3><table class=\"diagnostics\"><tr><th>count</th><th>message (one of the group)</th>"
            f"<th>students</th></tr>{''.join(rows)}</table>")


def _score(record):
    return f"{fmt_number(record.get('score'))} / {fmt_number(record.get('max_score'))}"


def _reason_html(reason):
    todo = f"<div class=\"todo\">{_e(reason.todo)}</div>" if reason.todo else ""
    raw = (f"<details><summary>the grader's message</summary><div class=\"raw\">{_e(_clip(reason.raw))}</div>"
           "</details>" if reason.raw else "")
    return f"<li>{_badge(reason.kind)} {_e(_clip(reason.text))}{todo}{raw}</li>"


def _look_section(looks, anchors, everywhere):
    """``everywhere``: ``[(title, points)]`` of the exercises every submission has to be graded by hand on."""
    title = f"<h2 id=\"look\">Needs a look first ({len(looks)})</h2>"
    if everywhere:
        names = ", ".join(f"{t} ({fmt_number(p)} pts)" for t, p in everywhere)
        title += (f"<p class=\"everywhere\">{_badge('by hand')} In every submission, to grade by hand: {_e(names)}"
                  "<span class=\"todo\">grade them in nbgrader's formgrader</span></p>")
    if not looks:
        return title + "<p class=\"none\">none: every submission was graded without a problem</p>"
    rows = "".join(
        f"<tr><td><a href=\"#{anchors[look.student_id]}\">{_e(look.student_id)}</a></td>"
        f"<td>{_e(look.record.get('status', ''))}</td><td class=\"count\">{_score(look.record)}</td>"
        f"<td><ul class=\"reasons\">{''.join(_reason_html(r) for r in look.reasons)}</ul></td></tr>"
        for look in looks)
    return (title + "<p class=\"hint\">Most urgent first: crashed, timed out and ungradable submissions; signs of "
            "tampering and tests held for review; exercises to grade by hand; other notes; low scores. To grade one "
            "submission again, delete its <code>records/&lt;student&gt;.json</code> and run the same "
            "<code>course grade</code> command (with the option named, if any): only submissions without a record "
            "are graded.</p>"
            "<table class=\"look\"><tr><th>student</th><th>status</th><th>score</th><th>why, and what to do</th></tr>"
            + rows + "</table>")


def _files(base, record, assignment):
    """Links to the submission's files next to the report (feedback pages, autograded notebooks, record)."""
    if base is None:
        return ""
    sid = str(record.get("student_id", ""))
    links = []
    for nb in record.get("notebooks") or []:
        name = str(nb.get("name", ""))
        for folder, suffix, label in (("feedback", ".html", "feedback"), ("autograded", ".ipynb", "autograded")):
            parts = (folder, sid, assignment, name + suffix)
            if (base.joinpath(*parts)).is_file():
                links.append(f"<a href=\"{'/'.join(quote(p, safe='') for p in parts)}\">{_e(label)} {_e(name)}</a>")
    if (base / "records" / f"{sid}.json").is_file():
        links.append(f"<a href=\"records/{quote(sid + '.json', safe='')}\">record</a>")
    return f"<p>{' · '.join(links)}</p>" if links else ""


def _verdict_words(exercise):
    if to_grade_by_hand(exercise):
        return "to grade by hand"
    return VERDICT_WORDS.get(exercise.get("verdict"), str(exercise.get("verdict", "")))


def _details_section(looks, anchors, titles, base, assignment):
    if not looks:
        return ""
    parts = ["<h2 id=\"details\">Submissions in detail</h2>"]
    for look in looks:
        record, sid = look.record, look.student_id
        parts.append(f"<section class=\"student\" id=\"{anchors[sid]}\"><h3>{_e(sid)} "
                     f"<span class=\"hint\">{_e(record.get('status', ''))} · {_score(record)}</span></h3>"
                     + _files(base, record, assignment))
        if record.get("message"):
            parts.append(f"<div>{_explained(record['message'], record.get('limits'))}</div>")
        rows = []
        for nb in record.get("notebooks") or []:
            for ex in nb.get("exercises") or []:
                key = (nb.get("name", ""), ex["grade_id"])
                kind = "to-grade" if to_grade_by_hand(ex) else outcome(ex).replace(" ", "-")
                score = "to grade" if to_grade_by_hand(ex) and not ex.get("score") else fmt_number(ex.get("score"))
                message = ("" if not ex.get("message") else
                           f"<div class=\"example\">{_e(_clip(ex['message'], 160))}</div>"
                           if ex.get("verdict") == "not run" else   # the notebook's reason, explained above
                           _explained(ex["message"], record.get("limits")))
                rows.append(f"<tr class=\"{kind}\"><td>{_exercise_name(titles.get(key, _title(ex)), ex['grade_id'])}"
                            f"</td><td class=\"count\">{score} / {fmt_number(ex.get('points'))}</td>"
                            f"<td>{_e(_verdict_words(ex))}</td>"
                            f"<td>{message}</td></tr>")
        if rows:
            parts.append("<table class=\"submission\"><tr><th>exercise</th><th>score</th><th>how it was scored</th>"
                         f"<th>message</th></tr>{''.join(rows)}</table>")
        notes = record.get("needs_review") or []
        if notes:
            parts.append("<p class=\"hint\">notes of the grader:</p><ul>"
                         + "".join(f"<li class=\"raw\">{_e(_clip(n))}</li>" for n in notes) + "</ul>")
        parts.append("<p><a href=\"#look\">back to the list</a></p></section>")
    return "".join(parts)


def write_report_html(records, path, *, assignment, course=""):
    """Write the instructor's report: one self-contained HTML file (figures inline).

    Links to the feedback pages, autograded notebooks and records are added
    for the files that exist beside ``path`` (``course grade`` writes them all
    into its ``--out`` folder).
    """
    path = Path(path)
    title = f"{course} — {assignment}" if course else assignment
    if records:
        looks, everywhere = needs_a_look(records), hand_graded_everywhere(records)
        anchors = {look.student_id: _anchor(look.student_id) for look in looks}
        columns, titles = exercise_columns(records), exercise_titles(records)
        by_hand = [(titles[key], max(float(_exercises(r).get(key, {}).get("points") or 0) for r in records))
                   for key, _ in columns if key in everywhere]
        counts = Counter(r.get("status", "graded") for r in records)
        lede = (f"{len(records)} submissions: " + ", ".join(f"{counts[s]} {s}" for s in STATUSES if counts[s])
                + f"; {len(looks)} need{'s' * (len(looks) == 1)} a look.")
        nav = ("<nav><a href=\"#look\">Needs a look</a><a href=\"#summary\">Summary</a>"
               "<a href=\"#exercises\">Exercises</a><a href=\"#diagnostics\">Diagnostics</a>"
               + ("<a href=\"#details\">Details</a>" if looks else "") + "</nav>")
        body = (f"<p>{_e(lede)}</p>{nav}" + _look_section(looks, anchors, by_hand) + _summary_section(records)
                + _exercise_section(records, columns, titles)
                + _diagnostics_section(records, columns, titles, anchors, everywhere)
                + _details_section(looks, anchors, titles, path.parent, assignment))
    else:
        body = "<p class=\"none\">no submissions</p>"
    page = (f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{_e(title)}: grading report</title><style>{_CSS}</style></head>"
            f"<body><h1>{_e(title)}: grading report</h1>{body}</body></html>\n")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")

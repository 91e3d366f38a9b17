"""What the instructor reads after ``course grade``: ``grades.csv`` and ``report.html``.

Both are built from the grader's *records*, one JSON-able dict per student and
assignment (see ``worker``): ``status`` (graded | timeout | crashed |
invalid), ``score`` / ``max_score``, ``needs_review`` reasons, and per
notebook the ``exercises`` with ``grade_id``, ``points``, ``score``, the
diagnostic ``message`` and the ``verdict`` (where the score was computed).

* ``write_grades_csv`` — one row per record, one column per exercise.
* ``write_report_html`` — one self-contained page: counts and scores, a bar
  chart per exercise (zero / partial / full points), a histogram of totals,
  the most frequent diagnostics per exercise, and the submissions that need a
  look, each with its reason.

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
from collections import Counter
from pathlib import Path


__all__ = [
    "exercise_columns",
    "fmt_number",
    "frequent_diagnostics",
    "normalise",
    "outcome",
    "reasons_to_look",
    "write_grades_csv",
    "write_report_html",
]

STATUSES = ("graded", "timeout", "crashed", "invalid")
FIXED_COLUMNS = ("student_id", "assignment", "score", "max_score", "status")
OUTCOMES = ("zero", "partial", "full", "not run")
OUTCOME_COLORS = {"zero": "#c0392b", "partial": "#d68910", "full": "#2a7f3f", "not run": "#9aa3ad"}
TOP_DIAGNOSTICS = 5     # groups shown per exercise
CLIP = 400              # characters of a student-derived text shown in the page

# A number as Python, NumPy or a student's print() writes it: 3, -0.25, 1e-3, .5, nan, inf.
_NUMBER = re.compile(r"(?<![\w.])[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|\b(?:nan|inf)\b",
                     re.IGNORECASE)   # not the digits of a name such as W1
_NUMBER_RUN = re.compile(r"#(?:[\s,]+#)+")   # "[# # #]" and "[#, #]" read alike
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


def _sort_key(record):
    return (str(record.get("student_id", "")), str(record.get("assignment", "")))


def _exercises(record):
    """``{(notebook, grade_id): exercise}`` of one record."""
    return {(nb.get("name", ""), ex["grade_id"]): ex
            for nb in record.get("notebooks") or [] for ex in nb.get("exercises") or []}


def reasons_to_look(record):
    """Why an instructor should open this submission, in plain words (empty: no reason).

    A status other than "graded", each ``needs_review`` reason, and every
    exercise whose verdict was computed inside the student's kernel (which
    the student's code could have influenced).
    """
    reasons = []
    status = record.get("status", "graded")
    if status != "graded":
        reasons.append(f"{status}: {record.get('message') or 'no message'}")
    reasons += [str(r) for r in record.get("needs_review") or []]
    for nb in record.get("notebooks") or []:
        said = str(record.get("message") or "")   # the worker joins the notebooks' messages
        if nb.get("status", "graded") != "graded" and str(nb.get("message") or "") not in said:
            reasons.append(f"{nb.get('name')}: {nb['status']}: {nb.get('message') or 'no message'}")
        reasons += [f"{ex['grade_id']}: scored inside the student's kernel, not by the grader"
                    for ex in nb.get("exercises") or [] if ex.get("verdict") == "kernel"]
    return reasons


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


def _exercise_chart(name, points, outcomes):
    """Bar chart: how many submissions got zero, partial, full points, or did not run."""
    fig, ax = _new_axes((3.4, 2.3))
    counts = [outcomes[o] for o in OUTCOMES]
    bars = ax.bar(OUTCOMES, counts, color=[OUTCOME_COLORS[o] for o in OUTCOMES])
    ax.bar_label(bars, fontsize=8)
    ax.set_title(f"{name} ({fmt_number(points)} pts)", fontsize=9)
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

def normalise(message):
    """A diagnostic with its numbers replaced by '#', so variants group together.

    >>> normalise("expected 0.2, got -1e-3 at [1 2 3]")
    'expected #, got # at [#]'
    """
    text = _NUMBER_RUN.sub("#", _NUMBER.sub("#", message))
    return " ".join(text.split())


def frequent_diagnostics(records, key, top=TOP_DIAGNOSTICS):
    """The most frequent failure messages of one exercise: ``[(pattern, count, example)]``.

    Only failed exercises (score below points) with a message count; the
    example is the first message (by student id) of its group.
    """
    counts, examples = Counter(), {}
    for record in sorted(records, key=_sort_key):
        ex = _exercises(record).get(key)
        if ex is None or not ex.get("message") or outcome(ex) in ("full", "not run"):
            continue
        pattern = normalise(str(ex["message"]))
        counts[pattern] += 1
        examples.setdefault(pattern, str(ex["message"]))
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:top]
    return [(pattern, n, examples[pattern]) for pattern, n in ranked]


# ----------------------------------------------------------------------------- HTML

_CSS = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 68em; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2em; border-bottom: 1px solid #ddd; }
h3 { font-size: 1em; margin-bottom: .3em; }
table { border-collapse: collapse; margin: .5em 0; }
th, td { border: 1px solid #ddd; padding: .25em .6em; text-align: left; vertical-align: top; }
th { background: #f3f5f8; } td.count { text-align: right; font-variant-numeric: tabular-nums; }
.charts { display: flex; flex-wrap: wrap; gap: 1em; }
.example { color: #555; font-family: ui-monospace, monospace; font-size: .9em; white-space: pre-wrap; }
.none { color: #777; font-style: italic; }
"""


def _e(value):
    return html.escape(str(value), quote=True)


def _clip(text, n=CLIP):
    text = str(text)
    return text if len(text) <= n else text[: n - 1] + "…"


def _img(uri, alt):
    return f'<img src="{uri}" alt="{_e(alt)}">'


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
    return (f"<h2>Summary</h2><p>{len(records)} submissions; {_e(line)}.</p>"
            f"<table><tr><th>status</th><th>submissions</th></tr>{rows}</table>"
            + _img(_total_histogram(scores, max_score), "histogram of total scores"))


def _exercise_section(records, columns):
    charts, tables = [], []
    for key, name in columns:
        exercises = [_exercises(r).get(key) for r in records]
        points = max((ex.get("points") or 0 for ex in exercises if ex), default=0)
        outcomes = Counter(outcome(ex) for ex in exercises)
        charts.append(_img(_exercise_chart(name, points, outcomes), f"scores for {name}"))
        tables.append(_diagnostics_table(name, frequent_diagnostics(records, key)))
    return ("<h2>Scores per exercise</h2><div class=\"charts\">" + "".join(charts) + "</div>"
            "<h2>Most frequent diagnostics</h2>" + "".join(tables))


def _diagnostics_table(name, groups):
    if not groups:
        return f"<h3>{_e(name)}</h3><p class=\"none\">no failures with a message</p>"
    rows = "".join(f"<tr><td class=\"count\">{n}</td><td>{_e(_clip(pattern))}</td>"
                   f"<td class=\"example\">{_e(_clip(example))}</td></tr>"
                   for pattern, n, example in groups)
    return (f"<h3>{_e(name)}</h3><table class=\"diagnostics\"><tr><th>count</th>"
            f"<th>message (numbers as #)</th><th>example</th></tr>{rows}</table>")


def _look_section(records):
    rows = []
    for record in sorted(records, key=_sort_key):
        reasons = reasons_to_look(record)
        if reasons:
            items = "".join(f"<li>{_e(_clip(r))}</li>" for r in reasons)
            rows.append(f"<tr><td>{_e(record.get('student_id', ''))}</td>"
                        f"<td>{_e(record.get('status', ''))}</td>"
                        f"<td class=\"count\">{fmt_number(record.get('score'))}</td>"
                        f"<td><ul>{items}</ul></td></tr>")
    if not rows:
        return "<h2>Submissions needing a look</h2><p class=\"none\">none</p>"
    return ("<h2>Submissions needing a look</h2><table class=\"look\"><tr><th>student</th>"
            "<th>status</th><th>score</th><th>reasons</th></tr>" + "".join(rows) + "</table>")


def write_report_html(records, path, *, assignment, course=""):
    """Write the instructor's report: one self-contained HTML file (figures inline)."""
    title = f"{course} — {assignment}" if course else assignment
    if records:
        body = (_summary_section(records) + _exercise_section(records, exercise_columns(records))
                + _look_section(records))
    else:
        body = "<p class=\"none\">no submissions</p>"
    page = (f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{_e(title)}: grading report</title><style>{_CSS}</style></head>"
            f"<body><h1>{_e(title)}: grading report</h1>{body}</body></html>\n")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")

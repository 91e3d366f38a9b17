"""What the instructor reads after ``course grade``: ``grades.csv`` and ``report.html``.

Both are built from the grader's *records*, one per student and assignment
(their fields: see ``records``).

* ``write_grades_csv`` — one row per record, one column per exercise (by
  grade id: the columns stay stable for spreadsheets and scripts).
* ``write_report_html`` — one self-contained page, in the order an instructor
  acts on it: the submissions that need a look, most urgent first, each with
  its reasons in plain words, what to do, and a link to its details
  (``triage``); counts and scores; a bar chart and a table per exercise; the
  most frequent diagnostics per exercise (``diagnostics``); the details of
  every listed submission.

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
from pathlib import Path
from urllib.parse import quote

from .diagnostics import frequent_diagnostics
from .records import by_student, exercise_name_html, exercise_title, exercises_of, fmt_number, outcome, to_grade_by_hand
from .triage import KIND_LABELS, explain, hand_graded_everywhere, needs_a_look

__all__ = [
    "exercise_columns",
    "titles_by_grade_id",
    "write_grades_csv",
    "write_report_html",
]

STATUSES = ("graded", "timeout", "crashed", "invalid")
FIXED_COLUMNS = ("student_id", "assignment", "score", "max_score", "status")
OUTCOMES = ("zero", "partial", "full", "not run")
OUTCOME_COLORS = {"zero": "#c0392b", "partial": "#d68910", "full": "#2a7f3f", "to grade": "#6c4fb3",
                  "not run": "#9aa3ad"}
CLIP = 400              # characters of a student-derived text shown in the page
STUDENTS_SHOWN = 6      # student ids named per diagnostic group
VERDICT_WORDS = {"grader": "checked by the grader", "kernel": "checked in the student's kernel",
                 "held": "held: grade by hand", "manual": "graded by hand", "task": "task: grade by hand",
                 "not run": "not run"}

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


# ----------------------------------------------------------------------------- exercises across records

def exercise_columns(records):
    """Column name per exercise, in notebook order: ``[((notebook, grade_id), name), ...]``.

    The name is the ``grade_id``, or ``notebook/grade_id`` when two notebooks
    of the assignment use the same id (nbgrader ids are unique per notebook
    only) or the id collides with a fixed column.
    """
    keys = []
    for record in sorted(records, key=by_student):
        for nb in record.get("notebooks") or []:
            for ex in nb.get("exercises") or []:
                key = (nb.get("name", ""), ex["grade_id"])
                if key not in keys:
                    keys.append(key)
    uses = Counter(grade_id for _, grade_id in keys)
    reserved = set(FIXED_COLUMNS) | {"needs_review", "message"}
    return [((nb, gid), gid if uses[gid] == 1 and gid not in reserved else f"{nb}/{gid}")
            for nb, gid in keys]


def titles_by_grade_id(records):
    """``{(notebook, grade_id): title}``: how the notebooks name their exercises.

    The first ``title`` any record gives, else the ``grade_id`` (old records);
    the notebook's name is added when two notebooks' exercises read alike.
    """
    titles = {}
    for record in sorted(records, key=by_student):
        for key, ex in exercises_of(record).items():
            if not titles.get(key) or titles[key] == key[1]:
                titles[key] = exercise_title(ex)
    uses = Counter(titles.values())
    return {key: title if uses[title] == 1 else f"{title} ({key[0]})" for key, title in titles.items()}


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
        for record in sorted(records, key=by_student):
            writer.writerow(_csv_row(record, columns))


def _csv_row(record, columns):
    exercises = exercises_of(record)
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
.grade-id, .pattern, .hint { color: #666; font-size: .85em; }
.grade-id { font-family: ui-monospace, monospace; white-space: nowrap; }
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
    found = {key: [exercises_of(r).get(key) for r in records] for key, _ in columns}
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
        rows.append(f"<tr><td>{exercise_name_html(title, key[1])}</td><td class=\"count\">{fmt_number(points)}</td>"
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
    name = exercise_name_html(title, grade_id)
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
                name = exercise_name_html(titles.get(key, exercise_title(ex)), ex["grade_id"])
                rows.append(f"<tr class=\"{kind}\"><td>{name}</td>"
                            f"<td class=\"count\">{score} / {fmt_number(ex.get('points'))}</td>"
                            f"<td>{_e(_verdict_words(ex))}</td><td>{message}</td></tr>")
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
        columns, titles = exercise_columns(records), titles_by_grade_id(records)
        by_hand = [(titles[key], max(float(exercises_of(r).get(key, {}).get("points") or 0) for r in records))
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

"""An assignment's grades as a learning management system imports them: Canvas or Moodle CSV.

``course export ASSIGNMENT --out OUT --roster ROSTER.csv --format canvas|moodle [--to FILE]``
reads the records ``course grade`` wrote (``OUT/records/<student>.json``) and
the course's *roster*, which maps the student ids of the submissions to the
LMS's identities, and writes one CSV:

* Canvas (Grades → Import): the columns of Canvas's own gradebook export,
  ``Student, ID, SIS User ID, SIS Login ID, Section``, then one column for
  the assignment, and a ``Points Possible`` row under the header. Canvas
  finds a student by ``ID``, then ``SIS User ID``, then ``SIS Login ID``, then
  the name. A header holding just a name makes a new assignment; the header
  of an existing one, as Canvas's export writes it (``Name (12345)``: the
  number is Canvas's assignment id, not the points), updates it. An empty
  cell changes nothing.
* Moodle (Grades → Import → CSV file): ``Full name`` and the identity
  columns the roster fills (``Email address``, ``Username``, ``ID number``,
  ``User ID``), then one column for the assignment. Moodle asks which column
  identifies the user and which grade item the assignment column goes to;
  it stops at a row whose user it cannot find, and reads an empty grade as
  "no grade" (erasing one given by hand): students without a grade are left
  out of its file.

The roster is a CSV file with a header row; its columns, in any order (only
``student_id`` is required):

=============  ==========================================================
student_id     the id ``course grade`` used: the submission's folder name,
               or the prefix of its LMS file name
name           the student's name as the LMS shows it
email          Moodle's "Email address"
lms_id         the LMS's own numeric user id: Canvas's "ID", Moodle's "User ID"
sis_id         the institution's id: Canvas's "SIS User ID", Moodle's "ID number"
login_id       the login: Canvas's "SIS Login ID", Moodle's "Username"
section        Canvas's "Section"
=============  ==========================================================

A student with a record but no roster row stops the export (the grade would
be lost); a roster student without a record gets no grade (Canvas: an empty
cell; Moodle: no row) and is reported. A record whose grading failed inside
the grader has no grade either. Scores that may still change (crashed, timed
out, held for review, exercises left to grade by hand) are exported and
listed.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path

from .records import fmt_number
from .triage import reasons_to_look

__all__ = ["FORMATS", "Export", "ExportError", "Grade", "RosterEntry", "export", "load_grades", "read_roster"]

ROSTER_COLUMNS = ("student_id", "name", "email", "lms_id", "sis_id", "login_id", "section")
CANVAS_COLUMNS = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
MOODLE_IDENTITIES = (("email", "Email address"), ("login_id", "Username"), ("sis_id", "ID number"),
                     ("lms_id", "User ID"))
UNSETTLED = ("crashed", "timeout", "invalid", "review", "by hand")   # reasons_to_look kinds: the score may change
LISTED = 10   # names quoted in one message


class ExportError(ValueError):
    """The export cannot be written as asked; the message says why and what to do."""


@dataclass(frozen=True)
class RosterEntry:
    """One student of the roster: the course's id and the LMS's identities ("" when not given)."""

    student_id: str
    name: str = ""
    email: str = ""
    lms_id: str = ""
    sis_id: str = ""
    login_id: str = ""
    section: str = ""


@dataclass(frozen=True)
class Grade:
    """An assignment's grade of one student, as the grader recorded it."""

    student_id: str
    score: float | None     # None: the grader failed on this submission, there is no grade
    max_score: float
    status: str
    unsettled: tuple = ()   # why the score may still change, in plain words

    @classmethod
    def from_record(cls, record):
        failed = "grader_error" in record
        why = tuple(r.text for r in reasons_to_look(record) if r.kind in UNSETTLED)
        return cls(student_id=str(record["student_id"]),
                   score=None if failed else float(record.get("score") or 0.0),
                   max_score=float(record.get("max_score") or 0.0), status=str(record.get("status", "")),
                   unsettled=("the grader failed on it: grade it again", *why) if failed else why)


@dataclass
class Export:
    """The CSV rows of one export, and what the instructor should know before importing them."""

    lms: str
    header: list
    rows: list                                      # one per student, the grade last ("": none)
    roster: list                                    # RosterEntry, all of them
    preamble: list = field(default_factory=list)    # rows between header and students: Canvas's Points Possible
    no_record: list = field(default_factory=list)   # RosterEntry: on the roster, not graded
    unsettled: list = field(default_factory=list)   # Grade: may still change (score None: no grade)

    @property
    def scored(self):
        """How many students have a grade in the file."""
        return sum(row[-1] != "" for row in self.rows)

    def write(self, path):
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerows([self.header, *self.preamble, *self.rows])
        return path


def _listed(names):
    names = list(names)
    more = len(names) - LISTED
    return ", ".join(names[:LISTED]) + (f" and {more} more" if more > 0 else "")


# ----------------------------------------------------------------------------- inputs

def read_roster(path):
    """The roster's entries, in its order; ``ExportError`` for a missing file, unknown columns, a row
    without a student_id, or a student_id given twice."""
    path = Path(path)
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:   # -sig: the byte-order mark Excel writes
            rows = list(csv.reader(f))
    except FileNotFoundError:
        raise ExportError(f"no roster at {path}") from None
    except (UnicodeDecodeError, csv.Error) as err:
        raise ExportError(f"the roster {path} is not a UTF-8 CSV file ({err})") from None
    if not rows:
        raise ExportError(f"the roster {path} is empty: it needs a header row, e.g. {','.join(ROSTER_COLUMNS)}")
    header = [h.strip().lower().replace(" ", "_") for h in rows[0]]
    unknown = [h for h in header if h not in ROSTER_COLUMNS]
    if "student_id" not in header or unknown:
        raise ExportError(f"the roster {path} has the columns {', '.join(rows[0])}; it needs student_id, and may "
                          f"have {', '.join(ROSTER_COLUMNS[1:])}"
                          + (f" (unknown: {', '.join(unknown)})" if unknown else ""))
    entries, lines = [], {}
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        values = {h: (row[i].strip() if i < len(row) else "") for i, h in enumerate(header)}
        if not values["student_id"]:
            raise ExportError(f"the roster {path}, line {number}: no student_id")
        lines.setdefault(values["student_id"], []).append(number)
        entries.append(RosterEntry(**values))
    twice = {sid: n for sid, n in lines.items() if len(n) > 1}
    if twice:
        raise ExportError(f"the roster {path} gives a student_id more than once: "
                          + _listed(f"{sid} (lines {', '.join(map(str, n))})" for sid, n in twice.items()))
    return entries


def load_grades(out, assignment):
    """The grades of ``assignment`` in ``OUT/records/``, by student id; ``ExportError`` when there are none."""
    folder = Path(out) / "records"
    files = sorted(folder.glob("*.json")) if folder.is_dir() else []
    if not files:
        raise ExportError(f"no records in {folder}: grade the assignment first (course grade {assignment} "
                          f"--submissions ... --out {out})")
    grades, others = {}, set()
    for file in files:
        try:
            record = json.loads(file.read_text(encoding="utf-8"))
            if record.get("assignment") != assignment:
                others.add(str(record.get("assignment")))
                continue
            grade = Grade.from_record(record)
        except (ValueError, KeyError, TypeError, AttributeError) as err:
            raise ExportError(f"{file} is not a record of course grade ({type(err).__name__}: {err})") from None
        grades[grade.student_id] = grade
    if not grades:
        raise ExportError(f"no record of {assignment} in {folder}"
                          + (f"; its records are of {', '.join(sorted(others))}" if others else ""))
    return grades


# ----------------------------------------------------------------------------- formats

def _canvas(roster, grades, column, points):
    missing = [e.student_id for e in roster if not (e.lms_id or e.sis_id or e.login_id or e.name)]
    if missing:
        raise ExportError("Canvas finds a student by lms_id, sis_id, login_id or name; the roster gives none of "
                          f"them for {_listed(missing)}")
    header = [*CANVAS_COLUMNS, column]
    rows = [[e.name, e.lms_id, e.sis_id, e.login_id, e.section, _score(grades.get(e.student_id))] for e in roster]
    return header, [["Points Possible", "", "", "", "", fmt_number(points)]], rows


def _moodle(roster, grades, column, points):
    filled = [(key, title) for key, title in MOODLE_IDENTITIES if all(getattr(e, key) for e in roster)]
    if not filled:
        lacking = "; ".join(f"{key} for {_listed(e.student_id for e in roster if not getattr(e, key))}"
                            for key, _ in MOODLE_IDENTITIES)
        raise ExportError("Moodle finds students by one column filled for every student (email, login_id, "
                          f"sis_id or lms_id); the roster lacks {lacking}")
    given = [(key, title) for key, title in MOODLE_IDENTITIES if any(getattr(e, key) for e in roster)]
    header = ["Full name", *(title for _, title in given), column]
    rows = [[e.name, *(getattr(e, key) for key, _ in given), _score(grades.get(e.student_id))] for e in roster]
    return header, [], [row for row in rows if row[-1] != ""]   # an empty grade would erase one in Moodle


def _score(grade):
    return "" if grade is None else fmt_number(grade.score)


# format name -> function(roster, grades, column, points) -> (header, preamble rows, student rows)
FORMATS = {"canvas": _canvas, "moodle": _moodle}


def export(out, assignment, roster, lms, column=None):
    """The LMS import of ``assignment``'s grades in ``OUT/records/``, one row per roster student in its order.

    Parameters
    ----------
    out : path
        The ``--out`` folder of ``course grade``.
    assignment : str
        The assignment's name, as graded.
    roster : path
        The roster CSV (see the module's documentation).
    lms : {"canvas", "moodle"}
    column : str, optional
        The header of the grade column; default: the assignment's name.

    Raises ``ExportError`` when a graded student is not on the roster (all of
    them are named), or the roster cannot identify its students in the LMS.
    """
    if lms not in FORMATS:
        raise ExportError(f"unknown format {lms!r}: {', '.join(FORMATS)}")
    grades = load_grades(out, assignment)
    entries = read_roster(roster)
    listed = {e.student_id for e in entries}
    strangers = sorted(set(grades) - listed)
    if strangers:
        raise ExportError(f"{len(strangers)} graded student{'s are' if len(strangers) > 1 else ' is'} not on the "
                          f"roster {roster}: {_listed(strangers)}. Add a row for each (their student_id as in "
                          "the records), or remove their records, then export again")
    points = max(g.max_score for g in grades.values())
    header, preamble, rows = FORMATS[lms](entries, grades, column or assignment, points)
    return Export(lms=lms, header=header, rows=rows, roster=entries, preamble=preamble,
                  no_record=[e for e in entries if e.student_id not in grades],
                  unsettled=[grades[e.student_id] for e in entries
                             if e.student_id in grades and grades[e.student_id].unsettled])

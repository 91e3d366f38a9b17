"""`course export`: an assignment's grades as Canvas's and Moodle's gradebook import CSV."""

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

from course_lib.grading.lms import ExportError, export, load_grades, read_roster

COURSE = str(Path(sys.executable).parent / "course")
ASSIGNMENT = "02_sigmoid_gates"
ROSTER = """student_id,name,email,lms_id,sis_id,login_id,section
alice,"Liddell, Alice",alice@uni.example,1001,S-1,aliddell,Lab A
bob,Bob Builder,bob@uni.example,1002,S-2,bbuilder,Lab B
carol,Carol Danvers,carol@uni.example,1003,S-3,cdanvers,Lab A
dave,Dave Lister,dave@uni.example,1004,S-4,dlister,Lab B
erin,Erin Brockovich,erin@uni.example,1005,S-5,ebrock,Lab A
"""


def exercise(grade_id, points, score, verdict="grader", **new_fields):
    return {"grade_id": grade_id, "points": points, "score": score, "message": "", "verdict": verdict,
            **new_fields}


def record(student_id, exercises, status="graded", message="", needs_review=(), assignment=ASSIGNMENT, **extra):
    score = sum(ex["score"] for ex in exercises)
    return {"student_id": student_id, "assignment": assignment, "status": status, "message": message,
            "score": score, "max_score": 11.0, "needs_review": list(needs_review),
            "notebooks": [{"name": assignment, "status": status, "message": message, "score": score,
                           "max_score": 11.0, "exercises": exercises}], "limits": {"memory_mb": 2048}, **extra}


def records():
    """alice and bob graded (bob's score with float noise), carol's kernel died, dave has an answer to grade
    by hand; erin, on the roster, has no record."""
    return [
        record("alice", [exercise("sigmoid_tests", 2, 2.0), exercise("gate_tests", 9, 9.0)]),
        record("bob", [exercise("sigmoid_tests", 2, 0.1 + 0.2), exercise("gate_tests", 9, 7.2)]),
        record("carol", [exercise("sigmoid_tests", 2, 2.0), exercise("gate_tests", 9, 0.0, "not run")],
               status="crashed", message="the kernel died at the cell of 'gate_tests' (os._exit, a crash, or a "
                                         "resource limit: memory 2048 MB, CPU 15 s)"),
        record("dave", [exercise("sigmoid_tests", 2, 2.0),
                        exercise("gate_tests", 9, 0.0, "manual", needs_manual_grade=True, auto_score=None)]),
    ]


def write_out(tmp_path, recs, roster=ROSTER):
    out = tmp_path / "out"
    (out / "records").mkdir(parents=True)
    for rec in recs:
        (out / "records" / f"{rec['student_id']}.json").write_text(json.dumps(rec, indent=1))
    (tmp_path / "roster.csv").write_text(roster, encoding="utf-8")
    return out, tmp_path / "roster.csv"


def read_rows(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.reader(f))


# ----------------------------------------------------------------------------- Canvas

def test_is_the_canvas_file_canvas_gradebook_layout_with_points_possible(tmp_path):
    out, roster = write_out(tmp_path, records())
    path = export(out, ASSIGNMENT, roster, "canvas").write(tmp_path / "canvas.csv")
    rows = read_rows(path)
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", ASSIGNMENT]
    assert rows[1] == ["Points Possible", "", "", "", "", "11"]
    assert rows[2:] == [["Liddell, Alice", "1001", "S-1", "aliddell", "Lab A", "11"],
                        ["Bob Builder", "1002", "S-2", "bbuilder", "Lab B", "7.5"],    # 0.1 + 0.2 + 7.2, no noise
                        ["Carol Danvers", "1003", "S-3", "cdanvers", "Lab A", "2"],
                        ["Dave Lister", "1004", "S-4", "dlister", "Lab B", "2"],
                        ["Erin Brockovich", "1005", "S-5", "ebrock", "Lab A", ""]]    # no record: no change


def test_does_a_named_column_update_an_existing_canvas_assignment(tmp_path):
    out, roster = write_out(tmp_path, records())
    result = export(out, ASSIGNMENT, roster, "canvas", column="Sigmoid gates (48213)")
    assert result.header[-1] == "Sigmoid gates (48213)"


def test_does_the_export_say_which_scores_may_still_change(tmp_path):
    out, roster = write_out(tmp_path, records())
    result = export(out, ASSIGNMENT, roster, "canvas")
    assert [e.student_id for e in result.no_record] == ["erin"]
    unsettled = {g.student_id: g.unsettled for g in result.unsettled}
    assert set(unsettled) == {"carol", "dave"}
    assert "kernel died" in unsettled["carol"][0]
    assert unsettled["dave"] == ("1 exercise to grade by hand: gate_tests (9 pts)",)
    assert result.scored == 4


def test_is_a_submission_the_grader_failed_on_left_empty(tmp_path):
    failed = record("alice", [], status="crashed", message="the grader failed on this submission: OSError: x",
                    grader_error="Traceback ...")
    out, roster = write_out(tmp_path, [failed, *records()[1:]])
    result = export(out, ASSIGNMENT, roster, "canvas")
    assert result.rows[0][-1] == ""                   # no grade rather than a 0 it never earned
    (alice,) = [g for g in result.unsettled if g.student_id == "alice"]
    assert alice.score is None and alice.unsettled[0] == "the grader failed on it: grade it again"


def test_does_canvas_need_an_identity_for_every_student(tmp_path):
    out, roster = write_out(tmp_path, records(), roster="student_id,section\nalice,A\nbob,B\ncarol,A\ndave,B\n")
    with pytest.raises(ExportError, match="lms_id, sis_id, login_id or name; .* alice, bob, carol, dave"):
        export(out, ASSIGNMENT, roster, "canvas")


# ----------------------------------------------------------------------------- Moodle

def test_is_the_moodle_file_identity_columns_and_one_grade_column(tmp_path):
    roster = "student_id,name,email\nalice,Alice Liddell,alice@uni.example\nbob,Bob Builder,bob@uni.example\n" \
             "carol,Carol Danvers,carol@uni.example\ndave,Dave Lister,dave@uni.example\n"
    out, roster = write_out(tmp_path, records(), roster=roster)
    rows = read_rows(export(out, ASSIGNMENT, roster, "moodle").write(tmp_path / "moodle.csv"))
    assert rows[0] == ["Full name", "Email address", ASSIGNMENT]
    assert rows[1:3] == [["Alice Liddell", "alice@uni.example", "11"], ["Bob Builder", "bob@uni.example", "7.5"]]


def test_is_a_student_without_a_grade_left_out_of_the_moodle_file(tmp_path):
    out, roster = write_out(tmp_path, records())      # erin has no record
    result = export(out, ASSIGNMENT, roster, "moodle")
    assert [row[0] for row in result.rows] == ["Liddell, Alice", "Bob Builder", "Carol Danvers", "Dave Lister"]
    assert result.header == ["Full name", "Email address", "Username", "ID number", "User ID", ASSIGNMENT]
    assert [e.student_id for e in result.no_record] == ["erin"]


def test_does_moodle_need_one_identity_column_filled_for_everyone(tmp_path):
    roster = "student_id,email,login_id\nalice,alice@uni.example,\nbob,,bbuilder\ncarol,c@x,c\ndave,d@x,d\n"
    out, roster = write_out(tmp_path, records(), roster=roster)
    with pytest.raises(ExportError, match=r"lacks email for bob; login_id for alice; sis_id for alice, bob"):
        export(out, ASSIGNMENT, roster, "moodle")


# ----------------------------------------------------------------------------- roster and records

def test_is_every_graded_student_missing_from_the_roster_named(tmp_path):
    extra = [record(s, [exercise("sigmoid_tests", 2, 2.0)]) for s in ("zed", "frank")]
    out, roster = write_out(tmp_path, records() + extra)
    with pytest.raises(ExportError, match=r"^2 graded students are not on the roster .*: frank, zed\. Add a row"):
        export(out, ASSIGNMENT, roster, "canvas")


def test_does_the_roster_read_excels_csv_with_spaced_headers(tmp_path):
    path = tmp_path / "roster.csv"
    path.write_text("\ufeffStudent ID,Name,Email\nalice,Alice,a@x\n\n  bob , Bob ,\n", encoding="utf-8")
    assert [(e.student_id, e.name, e.email) for e in read_roster(path)] == [("alice", "Alice", "a@x"),
                                                                             ("bob", "Bob", "")]


@pytest.mark.parametrize("text, problem", [
    ("name,email\nAlice,a@x\n", "it needs student_id"),
    ("student_id,nmae\nalice,Alice\n", r"\(unknown: nmae\)"),
    ("student_id,name\nalice,A\n,B\n", "line 3: no student_id"),
    ("student_id,name\nalice,A\nbob,B\nalice,C\n", r"more than once: alice \(lines 2, 4\)"),
    ("", "is empty"),
])
def test_is_a_malformed_roster_refused_with_its_reason(tmp_path, text, problem):
    path = tmp_path / "roster.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ExportError, match=problem):
        read_roster(path)


def test_are_only_the_assignments_records_read(tmp_path):
    other = record("zed", [exercise("sigmoid_tests", 2, 2.0)], assignment="03_worked_example")
    out, _ = write_out(tmp_path, [*records(), other])
    assert sorted(load_grades(out, ASSIGNMENT)) == ["alice", "bob", "carol", "dave"]
    with pytest.raises(ExportError, match="no record of 09_nothing .*; its records are of 02_sigmoid_gates, "
                                          "03_worked_example"):
        load_grades(out, "09_nothing")


def test_is_a_missing_or_broken_record_folder_explained(tmp_path):
    with pytest.raises(ExportError, match="no records in .*: grade the assignment first"):
        load_grades(tmp_path, ASSIGNMENT)
    (tmp_path / "records").mkdir()
    (tmp_path / "records" / "x.json").write_text("{not json")
    with pytest.raises(ExportError, match=r"x\.json is not a record of course grade"):
        load_grades(tmp_path, ASSIGNMENT)


# ----------------------------------------------------------------------------- the command

def course(*args):
    return subprocess.run([COURSE, *map(str, args)], capture_output=True, text=True, timeout=120)


def test_does_course_export_write_the_canvas_file_and_report_what_to_check(tmp_path):
    out, roster = write_out(tmp_path, records())
    run = course("export", ASSIGNMENT, "--out", out, "--roster", roster, "--format", "canvas")
    assert run.returncode == 0, run.stderr
    path = out / f"{ASSIGNMENT}-canvas.csv"
    assert run.stdout.strip() == (f"{path}: 4 of 5 students have a score; the others are left empty (Canvas "
                                  "keeps what it has). Import it into Canvas's gradebook.")
    assert read_rows(path)[1] == ["Points Possible", "", "", "", "", "11"]
    assert "no record, no grade: erin" in run.stderr
    assert "to check before publishing: carol: the notebook's kernel died" in run.stderr
    assert "to check before publishing: dave: 1 exercise to grade by hand" in run.stderr


def test_does_course_export_stop_on_a_student_missing_from_the_roster(tmp_path):
    out, roster = write_out(tmp_path, [*records(), record("frank", [exercise("sigmoid_tests", 2, 2.0)])])
    target = tmp_path / "grades-moodle.csv"
    run = course("export", ASSIGNMENT, "--out", out, "--roster", roster, "--format", "moodle", "--to", target)
    assert run.returncode == 2 and not target.exists()
    assert run.stderr.startswith("course export: 1 graded student is not on the roster") and "frank" in run.stderr

"""`course grade --course` gives the gradebook `nbgrader autograde` gives, cell by cell, on any course.

Each course of ``fidelity_courses`` is built twice from the same release and
submissions: one copy is graded by the real ``nbgrader autograde`` command,
the other by the real ``course grade`` command (sandboxed kernels, hidden
tests replayed in the grader). Then the two gradebooks are compared, every
grade cell of every submission: auto score, manual score, "needs manual
grade", maximum; and each notebook's and assignment's score and maximum.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor

import pytest

import fidelity_courses as fc
from test_grade import needs_sandbox


# (name, how to build it, assignment, students, hidden-test lines no feedback may show)
CASES = [(c.name, (lambda root, c=c: fc.build(c, root)), fc.ASSIGNMENT, sorted(c.answers), c.hidden)
         for c in fc.COURSES]
CASES.append(("nbgrader_example", fc.nbgrader_example, "ps1", ["bitdiddle", "hacker"], ()))
IDS = [case[0] for case in CASES]


def _nbgrader_autograde(root, assignment):
    done = subprocess.run([str(fc.BIN / "nbgrader"), "autograde", assignment, "--force"], cwd=root, env=fc.env(),
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]


def _course_grade(root, assignment, out):
    done = subprocess.run([str(fc.BIN / "course"), "grade", assignment, "--course", str(root), "--submissions",
                           str(root / "submitted"), "--out", str(out), "--workers", "2", "--quiet"],
                          env=fc.env(), capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]


def _grade_both(case, tmp):
    _, build, assignment, _, _ = case
    built = build(tmp / "built")
    by_nbgrader, by_course = tmp / "nbgrader", tmp / "course"
    shutil.copytree(built, by_nbgrader)
    shutil.copytree(built, by_course)
    _nbgrader_autograde(by_nbgrader, assignment)
    _course_grade(by_course, assignment, tmp / "out")
    records = {p.stem: json.loads(p.read_text()) for p in (tmp / "out" / "records").glob("*.json")}
    return {"nbgrader": fc.gradebook(by_nbgrader, assignment), "course": fc.gradebook(by_course, assignment),
            "records": records, "out": tmp / "out"}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Every course graded both ways (a few courses at a time: each waits mostly on its kernels)."""
    tmp = tmp_path_factory.mktemp("fidelity")
    with ThreadPoolExecutor(max_workers=3) as pool:
        futures = {case[0]: pool.submit(_grade_both, case, tmp / case[0]) for case in CASES}
        results = {name: f.result() for name, f in futures.items()}
    print("\n" + side_by_side(results))
    return results


def side_by_side(results):
    """course, student: nbgrader's score / max next to course grade's."""
    lines = [f"{'course':<20}{'student':<16}{'nbgrader autograde':>20}{'course grade':>16}"]
    for name, result in results.items():
        for student, (_, score, most) in result["nbgrader"][1].items():
            mine = result["course"][1].get(student)
            lines.append(f"{name:<20}{student:<16}{f'{score:g} / {most:g}':>20}"
                         f"{f'{mine[1]:g} / {mine[2]:g}' if mine else 'missing':>16}")
    return "\n".join(lines)


@needs_sandbox
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_every_cell_scores_as_nbgrader_autograde_scores_it(graded, case):
    name, _, _, students, _ = case
    nbgrader_cells, nbgrader_totals = graded[name]["nbgrader"]
    course_cells, course_totals = graded[name]["course"]
    assert sorted(nbgrader_totals) == students  # every submission was graded by nbgrader
    differ = {key: (value, course_cells.get(key)) for key, value in nbgrader_cells.items()
              if course_cells.get(key) != value}
    assert not differ, f"(auto, manual, needs manual grade, max) nbgrader vs course grade: {differ}"
    assert course_totals == nbgrader_totals


@needs_sandbox
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_hidden_tests_stay_in_the_grader_and_out_of_the_feedback(graded, case):
    name, _, _, students, hidden = case
    result = graded[name]
    for record in result["records"].values():
        verdicts = {e["grade_id"]: e["verdict"] for nb in record["notebooks"] for e in nb["exercises"]}
        assert "held" not in verdicts.values() and "kernel" not in verdicts.values(), verdicts
    pages = [p.read_text() for p in (result["out"] / "feedback").rglob("*.html")]
    assert len({p.parent.parent.name for p in (result["out"] / "feedback").rglob("*.html")}) == len(students)
    for line in hidden:
        assert not any(line in page for page in pages), line


@needs_sandbox
def test_the_courses_really_differ_between_students(graded):
    """The comparison above is not between two empty gradebooks: nbgrader's own scores, as expected."""
    scores = {name: {s: t[1] for s, t in r["nbgrader"][1].items()} for name, r in graded.items()}
    assert scores["uses_helper"] == {"honest": 5, "inline": 2, "numpy": 4, "blank": 0}
    assert scores["task_and_written"] == {"answered": 1, "untouched": 1, "wrong": 0}
    assert scores["partial_credit"] == {"right": 7, "half": 5.5, "wrong": 4}
    assert scores["own_config"] == {"honest": 3, "noisy": 2, "slow": 1}
    assert scores["data_file"] == {"honest": 2, "median": 0, "second_column": 0}
    assert scores["two_hidden_blocks"] == {"honest": 3, "no_zero": 0, "no_negative": 0}
    assert scores["lasting_changes"] == {"honest": 2, "inline": 3}  # next_of deleted for good by test_above
    assert scores["nbgrader_example"] == {"bitdiddle": 1.5, "hacker": 3}  # written answers and the task: by hand
    maxima = {name: {t[2] for t in r["nbgrader"][1].values()} for name, r in graded.items()}
    assert maxima["task_and_written"] == {7}  # 1 + task 3 + written 2 + 1
    assert maxima["nbgrader_example"] == {13}


def test_the_side_by_side_table_names_missing_submissions():
    table = side_by_side({"c": {"nbgrader": ({}, {"s": ({}, 1, 2)}), "course": ({}, {})}})
    assert "missing" in table and "1 / 2" in table

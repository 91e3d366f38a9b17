"""The grader's records, read alike by every page: an exercise's outcome, who gives its points, its title.

A *record* is one JSON-able dict per student and assignment (see
``worker``): ``status`` (graded | timeout | crashed | invalid), ``score`` /
``max_score``, ``needs_review`` reasons, and per notebook the ``exercises``
with ``grade_id``, ``points``, ``score``, the diagnostic ``message`` and the
``verdict`` (where the score was computed). Newer records also give an
exercise its ``title`` (how the notebook names it, "Exercise 4 ·
neuron_forward_backward"), ``auto_score`` and ``needs_manual_grade``; older
ones lack them and these helpers fall back to the ``grade_id`` and the
``verdict``.
"""

from __future__ import annotations

import html

__all__ = ["HAND_GRADED", "by_student", "exercise_name_html", "exercise_title", "exercises_of", "fmt_number",
           "outcome", "to_grade_by_hand"]

HAND_GRADED = ("manual", "held", "task")   # verdicts whose points a person gives


def fmt_number(x):
    """A score without float noise: 7.0 -> '7', 7.5 -> '7.5', 0.1 + 0.2 -> '0.3'; None -> ''."""
    if x is None:
        return ""
    text = f"{float(x):.6f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def outcome(exercise):
    """'zero', 'partial', 'full' or 'not run' for one exercise dict (None: not found)."""
    if exercise is None or exercise.get("verdict") == "not run":
        return "not run"
    score, points = exercise.get("score") or 0.0, exercise.get("points") or 0.0
    if score >= points - 1e-9:
        return "full"
    return "partial" if score > 1e-9 else "zero"


def to_grade_by_hand(exercise):
    """True when a person still has to give this exercise's points (nbgrader's needs_manual_grade)."""
    if exercise.get("needs_manual_grade") is not None:
        return bool(exercise["needs_manual_grade"])
    return exercise.get("verdict") in HAND_GRADED   # records written before the field existed


def exercise_title(exercise):
    """How the notebook names the exercise, else its ``grade_id`` (records written before titles)."""
    return str(exercise.get("title") or exercise.get("grade_id", ""))


def exercise_name_html(title, grade_id):
    """An exercise as every page names it: its title, the grade id as a detail (class ``grade-id``); escaped."""
    title, grade_id = str(title or grade_id), str(grade_id)
    if title == grade_id:
        return html.escape(grade_id)
    return (f"{html.escape(title)} "
            f"<span class=\"grade-id\" title=\"grade cell id\">({html.escape(grade_id)})</span>")


def exercises_of(record):
    """``{(notebook, grade_id): exercise}`` of one record."""
    return {(nb.get("name", ""), ex["grade_id"]): ex
            for nb in record.get("notebooks") or [] for ex in nb.get("exercises") or []}


def by_student(record):
    """Sort key of a record: by student id, then assignment."""
    return (str(record.get("student_id", "")), str(record.get("assignment", "")))

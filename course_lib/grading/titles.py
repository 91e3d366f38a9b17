"""How a notebook names its exercises: "Exercise 4 · neuron_forward_backward", not ``neuron_tests``.

A grade id is the instructor's label for nbgrader; students and instructors
know an exercise by the number the notebook gives it and by the function it
asks for. For a graded cell, this module reads both from the cells before it:

* the number: the last "Exercise 4", "Question 2b", "Problem 3", "Task 1" or
  "Part B" a markdown cell before it says;
* the name: the first function (or else the first name) the nearest answer
  cell after that label defines.

Several tests of one exercise share its title; a task or a written answer is
named by its own label, or the label before it.
"""

from __future__ import annotations

import ast
import re

__all__ = ["exercise_titles"]

_LABEL = re.compile(r"\b(Exercise|Question|Problem|Task|Part)\s*([0-9]+(?:\.[0-9]+)*[a-z]?|[A-Z])\b")


def _label(markdown):
    found = _LABEL.findall(markdown)
    return " ".join(found[-1]) if found else ""


def _defined_name(source):
    """The first function a cell defines, else the first name it assigns ("" if none or not Python)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return ""
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            return node.name
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            return node.targets[0].id
    return ""


def _meta(cell):
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def exercise_titles(cells):
    """{grade_id: title} for every graded cell (grade or task) of a notebook's cells (nbformat dicts)."""
    titles, label, name = {}, "", ""
    for cell in cells:
        meta = _meta(cell)
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else source
        gid = str(meta.get("grade_id", ""))
        if meta.get("task") or (meta.get("grade") and cell.get("cell_type") == "markdown"):
            titles[gid] = _label(source) or label or gid  # a task or a written answer: no function to name
            continue
        if cell.get("cell_type") == "markdown" and _label(source):
            label, name = _label(source), ""  # a new exercise starts here
        if meta.get("solution") and cell.get("cell_type") == "code":
            name = _defined_name(source) or name
        if meta.get("grade"):
            titles[gid] = " · ".join(p for p in (label, name) if p) or gid
    return titles

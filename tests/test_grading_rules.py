"""The course's own nbgrader settings (rules.py) and how exercises are named (titles.py)."""

from __future__ import annotations

import nbformat
import pytest
from traitlets.config import Config

from course_lib.grading.rules import NBGRADER_CELL_TIMEOUT, CourseRules, Markers
from course_lib.grading.titles import exercise_titles


def config(**sections):
    c = Config()
    for section, values in sections.items():
        for key, value in values.items():
            setattr(getattr(c, section), key, value)
    return c


def test_without_settings_the_rules_are_nbgraders_defaults():
    rules = CourseRules.from_config(Config())
    assert rules == CourseRules()
    assert rules.markers.begin_hidden == "BEGIN HIDDEN TESTS" and rules.cell_timeout == NBGRADER_CELL_TIMEOUT
    assert rules.ignore_stderr == ""


def test_a_course_sets_its_markers_timeout_and_ignored_stderr():
    rules = CourseRules.from_config(config(
        ClearHiddenTests={"begin_test_delimeter": "SECRET START", "end_test_delimeter": "SECRET STOP"},
        ClearSolutions={"begin_solution_delimeter": "START ANSWER"},
        Execute={"timeout": 4}, IgnorePattern={"enabled": True, "pattern": "old API"}))
    assert rules.markers == Markers("SECRET START", "SECRET STOP", "START ANSWER", "END SOLUTION")
    assert rules.cell_timeout == 4.0 and rules.ignore_stderr == "old API"


@pytest.mark.parametrize("timeout, expected", [(None, None), (-1, None), (0, None), (90, 90.0)])
def test_nbgraders_no_limit_settings_mean_no_cell_limit(timeout, expected):
    assert CourseRules.from_config(config(Execute={"timeout": timeout})).cell_timeout == expected


def test_execute_overrides_nbconverts_execute_preprocessor():
    c = config(ExecutePreprocessor={"timeout": 10}, Execute={"timeout": 20})
    assert CourseRules.from_config(c).cell_timeout == 20.0
    assert CourseRules.from_config(config(ExecutePreprocessor={"timeout": 10})).cell_timeout == 10.0


def test_an_ignore_pattern_counts_only_when_enabled():
    assert CourseRules.from_config(config(IgnorePattern={"pattern": "x"})).ignore_stderr == ""


def test_ignored_stderr_is_dropped_and_other_output_kept():
    rules = CourseRules(ignore_stderr=r"DeprecationWarning: old API")
    outputs = [{"output_type": "stream", "name": "stderr", "text": "DeprecationWarning: old API\n"},
               {"output_type": "stream", "name": "stderr", "text": "debug: x = 1\n"},
               {"output_type": "stream", "name": "stdout", "text": "DeprecationWarning: old API\n"}]
    assert rules.drop_ignored_stderr(outputs) == outputs[1:]
    assert CourseRules().drop_ignored_stderr(outputs) == outputs


def test_hidden_regions_go_with_the_courses_markers_and_nbgraders():
    markers = Markers(begin_hidden="SECRET START", end_hidden="SECRET STOP")
    source = ("assert f(1) == 2\n# SECRET START\nassert f(2) == 4\n# SECRET STOP\nassert f(3) == 6\n"
              "### BEGIN HIDDEN TESTS\nassert f(4) == 8\n### END HIDDEN TESTS\n")
    assert markers.strip_hidden(source) == "assert f(1) == 2\nassert f(3) == 6\n"
    assert markers.has_hidden(source) and not markers.has_hidden("assert f(1) == 2\n")


def test_a_missing_end_marker_hides_the_rest_and_other_spacing_still_counts():
    assert Markers().strip_hidden("a\n###  begin hidden   tests\nsecret\n") == "a\n"


def _nb(*cells):
    return nbformat.v4.new_notebook(cells=list(cells)).cells


def _graded(source, gid, markdown=False, **flags):
    make = nbformat.v4.new_markdown_cell if markdown else nbformat.v4.new_code_cell
    return make(source, metadata={"nbgrader": {"grade_id": gid, **flags}})


def test_an_exercise_is_named_by_the_notebooks_number_and_the_function_asked_for():
    cells = _nb(nbformat.v4.new_markdown_cell("**Exercise 4.** Write `neuron_forward_backward(w, x)`."),
                _graded("import numpy as np\n\ndef neuron_forward_backward(w, x):\n    pass", "neuron", solution=True),
                nbformat.v4.new_code_cell("# a check cell"),
                _graded("assert True", "neuron_tests", grade=True),
                nbformat.v4.new_markdown_cell("## Question 2b\nWhy?"),
                _graded("YOUR ANSWER HERE", "why", markdown=True, grade=True, solution=True),
                _graded("## Task 3\nPlot it.", "plot", markdown=True, task=True),
                _graded("assert True", "bare_tests", grade=True))
    assert exercise_titles(cells) == {"neuron_tests": "Exercise 4 · neuron_forward_backward",
                                      "why": "Question 2b", "plot": "Task 3", "bare_tests": "Question 2b"}


def test_every_test_of_an_exercise_has_its_title_and_a_notebook_without_labels_its_grade_ids():
    cells = _nb(nbformat.v4.new_markdown_cell("## Exercise 1"),
                _graded("def f():\n    pass", "f", solution=True),
                _graded("assert f() is None", "f_tests", grade=True),
                _graded("assert f() is None", "f_more_tests", grade=True))
    assert exercise_titles(cells) == {"f_tests": "Exercise 1 · f", "f_more_tests": "Exercise 1 · f"}
    assert exercise_titles(cells[2:]) == {"f_tests": "f_tests", "f_more_tests": "f_more_tests"}

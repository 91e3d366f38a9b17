"""Small nbgrader courses, each exercising one part of nbgrader's grading semantics.

None of them knows anything of course_lib: they are written the way any
instructor writes an nbgrader course (plain asserts, nbgrader's classic "does
it use the helper" test, task cells, partial credit ...). Each ``Course``
holds its source notebook, its ``nbgrader_config.py`` additions, files
shipped with the assignment, and the students' answers by grade id.
``build`` writes it to disk, runs ``nbgrader generate_assignment`` and puts
the submissions in nbgrader's layout (``submitted/<student>/<assignment>/``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

BIN = Path(sys.executable).parent
ASSIGNMENT = "hw"
NOTEBOOK = "hw"


def env():
    return {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}


# ------------------------------------------------------------------ cells


def _cell(source, grade_id, *, grade=False, solution=False, locked=False, task=False, points=None, markdown=False):
    meta = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": 3, "solution": solution,
            "task": task, **({"points": points} if points is not None else {})}
    make = nbformat.v4.new_markdown_cell if markdown else nbformat.v4.new_code_cell
    return make(source, metadata={"nbgrader": meta})


def text(source):
    return nbformat.v4.new_markdown_cell(source)


def setup(source, grade_id="setup"):
    return _cell(source, grade_id, locked=True)


def answer(source, grade_id):
    return _cell(source, grade_id, solution=True)


def test(source, grade_id, points):
    return _cell(source, grade_id, grade=True, locked=True, points=points)


def task(source, grade_id, points):
    return _cell(source, grade_id, task=True, locked=True, points=points, markdown=True)


def written(source, grade_id, points, markdown=True):
    """An answer graded by hand (nbgrader: solution and grade cell)."""
    return _cell(source, grade_id, grade=True, solution=True, points=points, markdown=markdown)


@dataclass
class Course:
    name: str
    what: str  # the grading semantics it exercises, in a few words
    cells: list
    answers: dict  # {student: {grade_id: source}}; a grade id left out keeps the released cell
    config: str = ""  # lines added to nbgrader_config.py
    files: dict = field(default_factory=dict)  # {relative path: text} shipped with the assignment
    hidden: tuple = ()  # lines of hidden tests that no feedback page may show


# ------------------------------------------------------------------ the courses

SQUARES = "def squares(n):\n    return [i * i for i in range(1, n + 1)]"

USES_HELPER = Course(
    "uses_helper", "a test deletes, rebinds or patches a name the student's function uses",
    [
        setup("import numpy as np"),
        text("## Exercise 1\n\nWrite `squares(n)`: the squares of 1 … n."),
        answer("def squares(n):\n    ### BEGIN SOLUTION\n    return [i * i for i in range(1, n + 1)]\n"
               "    ### END SOLUTION", "squares"),
        test("assert squares(3) == [1, 4, 9]", "test_squares", 1),
        text("## Exercise 2\n\nWrite `sum_of_squares(n)` **using** `squares`."),
        answer("def sum_of_squares(n):\n    ### BEGIN SOLUTION\n    return sum(squares(n))\n    ### END SOLUTION",
               "sum_of_squares"),
        # nbgrader's documentation's own pattern: delete the helper, expect a NameError, restore it
        test("assert sum_of_squares(3) == 14\n### BEGIN HIDDEN TESTS\norig_squares = squares\ndel squares\ntry:\n"
             "    sum_of_squares(2)\nexcept NameError:\n    pass\nelse:\n"
             "    raise AssertionError('sum_of_squares does not use squares')\nfinally:\n"
             "    squares = orig_squares\n### END HIDDEN TESTS", "test_uses_squares", 2),
        # the helper replaced by a stand-in of the test's own
        test("### BEGIN HIDDEN TESTS\nsaved = squares\nsquares = lambda n: [10] * n\ntry:\n"
             "    assert sum_of_squares(3) == 30, 'sum_of_squares adds what squares returns'\nfinally:\n"
             "    squares = saved\n### END HIDDEN TESTS", "test_stand_in", 1),
        # a library function patched for the duration of the test
        test("### BEGIN HIDDEN TESTS\noriginal = np.sum\n\n\ndef forbidden(*args, **kwargs):\n"
             "    raise AssertionError('np.sum is not allowed here')\n\n\nnp.sum = forbidden\ntry:\n"
             "    assert sum_of_squares(4) == 30\nfinally:\n    np.sum = original\n### END HIDDEN TESTS",
             "test_no_np_sum", 1),
    ],
    {"honest": {"squares": SQUARES, "sum_of_squares": "def sum_of_squares(n):\n    return sum(squares(n))"},
     "inline": {"squares": SQUARES,
                "sum_of_squares": "def sum_of_squares(n):\n    return sum(i * i for i in range(1, n + 1))"},
     "numpy": {"squares": SQUARES,
               "sum_of_squares": "def sum_of_squares(n):\n    return int(np.sum(np.array(squares(n))))"},
     "blank": {}},
    hidden=("del squares", "lambda n: [10] * n", "def forbidden"),
)

TASK_AND_WRITTEN = Course(
    "task_and_written", "a task cell and answers graded by hand (markdown and code)",
    [
        text("## Exercise 1\n\nWrite `double(x)`."),
        answer("def double(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION", "double"),
        test("assert double(3) == 6", "test_double", 1),
        task("## Task 2\n\nPlot `double` on [0, 1] and describe the line (graded by hand).", "task_plot", 3),
        text("## Question 3\n\nWhy is `double` linear?"),
        written("YOUR ANSWER HERE", "why_linear", 2),
        text("## Exercise 4\n\nShow a call of `double` of your choice (graded by hand)."),
        written("### BEGIN SOLUTION\ndouble(21)\n### END SOLUTION", "show_double", 1, markdown=False),
    ],
    {"answered": {"double": "def double(x):\n    return 2 * x", "why_linear": "Because 2(a + b) = 2a + 2b.",
                  "show_double": "double(4)"},
     "untouched": {"double": "def double(x):\n    return 2 * x"},
     "wrong": {"double": "def double(x):\n    return x + 2", "why_linear": "It is not."}},
)

PARTIAL = Course(
    "partial_credit", "partial credit from a test's result (execute_result), silenced and unreadable results",
    [
        text("## Exercise 1\n\nWrite `clip01(x)`: x clipped to [0, 1]."),
        answer("def clip01(x):\n    ### BEGIN SOLUTION\n    return min(1.0, max(0.0, x))\n    ### END SOLUTION", "clip01"),
        test("earned = 0.0\n### BEGIN HIDDEN TESTS\nif clip01(-1) == 0.0:\n    earned += 1.5\nif clip01(2) == 1.0:\n"
             "    earned += 1.5\nif clip01(0.25) == 0.25:\n    earned += 1\n### END HIDDEN TESTS\nearned",
             "test_partial", 4),
        # IPython shows no result after a trailing ";": nbgrader then gives full credit
        test("share = 0.0 if clip01(2) != 1.0 else 0.5\nshare;", "test_silenced", 1),
        # a result that is not a number: nbgrader gives full credit (and logs a warning)
        test("clip01(0.5) * 0 + np.float64(0.5)", "test_unreadable", 2),
    ],
    {"right": {"clip01": "def clip01(x):\n    return min(1.0, max(0.0, x))"},
     "half": {"clip01": "def clip01(x):\n    return max(0.0, x)"},
     "wrong": {"clip01": "def clip01(x):\n    return x"}},
)
PARTIAL.cells.insert(0, setup("import numpy as np"))

DELIMITERS = Course(
    "own_config", "the course's own delimiters, cell time limit and stderr ignore pattern",
    [
        setup("import sys"),
        text("## Exercise 1\n\nWrite `double(x)`."),
        answer("def double(x):\n    # START ANSWER\n    return 2 * x\n    # STOP ANSWER", "double"),
        test("assert double(1) == 2\n# SECRET START\nassert double(21) == 42\n# SECRET STOP", "test_double", 2),
        text("## Exercise 2\n\nWrite `next_of(x)` with the old API's warning."),
        answer("def next_of(x):\n    # START ANSWER\n    print('DeprecationWarning: old API', file=sys.stderr)\n"
               "    return x + 1\n    # STOP ANSWER", "next_of"),
        test("# SECRET START\nassert next_of(1) == 2\n# SECRET STOP", "test_next_of", 1),
    ],
    {"honest": {"double": "def double(x):\n    return 2 * x",
                "next_of": "def next_of(x):\n    print('DeprecationWarning: old API', file=sys.stderr)\n    return x + 1"},
     "noisy": {"double": "def double(x):\n    return 2 * x",
               "next_of": "def next_of(x):\n    print('debug: x =', x, file=sys.stderr)\n    return x + 1"},
     "slow": {"double": "import time\ntime.sleep(30)\n\n\ndef double(x):\n    return 2 * x",
              "next_of": "def next_of(x):\n    return x + 1"}},
    config="\n".join([
        'c.ClearSolutions.begin_solution_delimeter = "START ANSWER"',
        'c.ClearSolutions.end_solution_delimeter = "STOP ANSWER"',
        'c.ClearHiddenTests.begin_test_delimeter = "SECRET START"',
        'c.ClearHiddenTests.end_test_delimeter = "SECRET STOP"',
        "c.Execute.timeout = 4",
        "c.IgnorePattern.enabled = True",
        'c.IgnorePattern.pattern = r"DeprecationWarning: old API"',
    ]),
    hidden=("double(21) == 42", "next_of(1) == 2"),
)

DATA_FILE = Course(
    "data_file", "a test reading a data file shipped with the assignment",
    [
        setup("import numpy as np"),
        text("## Exercise 1\n\nWrite `column_mean(path)`: the mean of the first column of a CSV file."),
        answer("def column_mean(path):\n    ### BEGIN SOLUTION\n    return float(np.loadtxt(path, delimiter=',')[:, 0].mean())\n"
               "    ### END SOLUTION", "column_mean"),
        test("assert abs(column_mean('measurements.csv') - 2.5) < 1e-12\n### BEGIN HIDDEN TESTS\n"
             "expected = np.loadtxt('measurements.csv', delimiter=',')\n"
             "assert abs(column_mean('measurements.csv') - expected[:, 0].mean()) < 1e-12\n"
             "assert expected.shape == (4, 2)\n### END HIDDEN TESTS", "test_column_mean", 2),
    ],
    {"honest": {"column_mean": "def column_mean(path):\n    return float(np.loadtxt(path, delimiter=',')[:, 0].mean())"},
     "median": {"column_mean": "def column_mean(path):\n"
                               "    return float(np.median(np.loadtxt(path, delimiter=',')[:, 0]) + 0.5)"},
     "second_column": {"column_mean": "def column_mean(path):\n"
                                      "    return float(np.loadtxt(path, delimiter=',')[:, 1].mean())"}},
    files={"measurements.csv": "1,10\n2,20\n3,30\n4,40\n"},
    hidden=("expected.shape == (4, 2)",),
)

TWO_BLOCKS = Course(
    "two_hidden_blocks", "one test cell with two hidden-test blocks between visible lines",
    [
        text("## Exercise 1\n\nWrite `sign(x)`: −1, 0 or 1."),
        answer("def sign(x):\n    ### BEGIN SOLUTION\n    return (x > 0) - (x < 0)\n    ### END SOLUTION", "sign"),
        test("assert sign(5) == 1\n### BEGIN HIDDEN TESTS\nassert sign(-7) == -1\n### END HIDDEN TESTS\n"
             "assert sign(3) == 1\n### BEGIN HIDDEN TESTS\nassert sign(0) == 0\n### END HIDDEN TESTS", "test_sign", 3),
    ],
    {"honest": {"sign": "def sign(x):\n    return (x > 0) - (x < 0)"},
     "no_zero": {"sign": "def sign(x):\n    return 1 if x >= 0 else -1"},
     "no_negative": {"sign": "def sign(x):\n    return 1 if x > 0 else 0"}},
    hidden=("sign(-7) == -1", "sign(0) == 0"),
)

LASTING = Course(
    "lasting_changes", "a test that deletes or rebinds a notebook's name and does not restore it",
    [
        text("## Exercise 1\n\nWrite `above(x)`: is x above `threshold`? And `twice_next(x)` using `next_of`."),
        answer("threshold = 5\n\n\ndef above(x):\n    ### BEGIN SOLUTION\n    return x > threshold\n"
               "    ### END SOLUTION\n\n\ndef next_of(x):\n    return x + 1\n\n\ndef twice_next(x):\n"
               "    ### BEGIN SOLUTION\n    return 2 * next_of(x)\n    ### END SOLUTION", "above"),
        test("assert above(6)\n### BEGIN HIDDEN TESTS\nthreshold = 10\ndel next_of\n### END HIDDEN TESTS",
             "test_above", 1),
        # in nbgrader the test above changed the notebook for good: threshold is 10, next_of is gone
        test("assert not above(7)", "test_after_threshold", 1),
        test("assert twice_next(1) == 4", "test_after_deletion", 1),
    ],
    {"honest": {"above": "threshold = 5\n\n\ndef above(x):\n    return x > threshold\n\n\ndef next_of(x):\n"
                         "    return x + 1\n\n\ndef twice_next(x):\n    return 2 * next_of(x)"},
     "inline": {"above": "threshold = 5\n\n\ndef above(x):\n    return x > threshold\n\n\ndef next_of(x):\n"
                         "    return x + 1\n\n\ndef twice_next(x):\n    return 2 * (x + 1)"}},
    hidden=("del next_of",),
)

COURSES = (USES_HELPER, TASK_AND_WRITTEN, PARTIAL, DELIMITERS, DATA_FILE, TWO_BLOCKS, LASTING)


# ------------------------------------------------------------------ on disk


def build(course, root):
    """The course at ``root``, released, with its submissions. Returns ``root``."""
    source = root / "source" / ASSIGNMENT
    source.mkdir(parents=True)
    nb = nbformat.v4.new_notebook(cells=course.cells, metadata={
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    nbformat.write(nb, source / f"{NOTEBOOK}.ipynb")
    for rel, data in course.files.items():
        (source / rel).write_text(data)
    (root / "nbgrader_config.py").write_text(
        f'c = get_config()\nc.CourseDirectory.course_id = "{course.name}"\n{course.config}\n')
    subprocess.run([str(BIN / "nbgrader"), "generate_assignment", ASSIGNMENT, "--force"], cwd=root, env=env(),
                   check=True, capture_output=True, timeout=300)
    release = root / "release" / ASSIGNMENT
    for student, answers in course.answers.items():
        nb = nbformat.read(release / f"{NOTEBOOK}.ipynb", as_version=4)
        for cell in nb.cells:
            gid = cell.metadata.get("nbgrader", {}).get("grade_id")
            if gid in answers:
                cell.source = answers[gid]
        folder = root / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        nbformat.write(nb, folder / f"{NOTEBOOK}.ipynb")
        for rel in course.files:  # the student's copy of the assignment's files, as nbgrader collects them
            (folder / rel).write_bytes((release / rel).read_bytes())
    return root


def gradebook(root, assignment=ASSIGNMENT):
    """What a gradebook holds for the course's submissions, by (student, notebook, grade_id) and by student.

    Returns ({(student, notebook, grade_id): (auto_score, manual_score, needs_manual_grade, max_score)},
             {student: (notebook scores and maxima by notebook, assignment score, assignment max)}).
    """
    from nbgrader.api import Gradebook

    cells, totals = {}, {}
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        for student in sorted(s.id for s in gb.students):
            sub = gb.find_submission(assignment, student)
            notebooks = {}
            for nb in sorted(sub.notebooks, key=lambda n: n.name):
                for grade in nb.grades:
                    cells[(student, nb.name, grade.name)] = (grade.auto_score, grade.manual_score,
                                                             grade.needs_manual_grade, grade.max_score)
                notebooks[nb.name] = (nb.score, nb.max_score)
            totals[student] = (notebooks, sub.score, sub.max_score)
    return cells, totals


NBGRADER_EXAMPLE = Path(__import__("nbgrader").__file__).parent / "docs" / "source" / "user_guide"


def nbgrader_example(root):
    """nbgrader's own example course (its documentation's ps1, with Ben Bitdiddle's and Alyssa Hacker's
    submissions), as an instructor would set it up: nobody here wrote it. Returns ``root``."""
    (root / "source").mkdir(parents=True)
    shutil.copytree(NBGRADER_EXAMPLE / "source" / "ps1", root / "source" / "ps1")
    (root / "nbgrader_config.py").write_text('c = get_config()\nc.CourseDirectory.course_id = "example_course"\n')
    subprocess.run([str(BIN / "nbgrader"), "generate_assignment", "ps1", "--force"], cwd=root, env=env(),
                   check=True, capture_output=True, timeout=300)
    for student in ("bitdiddle", "hacker"):
        shutil.copytree(NBGRADER_EXAMPLE / "submitted" / student / "ps1", root / "submitted" / student / "ps1")
    return root


def describe(course):
    return json.dumps({"course": course.name, "students": sorted(course.answers)})

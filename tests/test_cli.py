"""The `course` command, run as a user runs it (the installed console script)."""

import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from notebook_helpers import completed

ROOT = Path(__file__).resolve().parents[1]
COURSE = str(Path(sys.executable).parent / "course")
STUDENT_02 = ROOT / "notebooks" / "02_sigmoid_gates" / "02_sigmoid_gates.ipynb"


def course(*args, timeout=300):
    return subprocess.run([COURSE, *map(str, args)], capture_output=True, text=True, timeout=timeout)


def _filled(tmp_path, replace=None, extra_cell=None):
    """The student notebook 02 with every exercise solved from the instructor version, one perhaps replaced."""
    nb = completed(STUDENT_02, ROOT / "solutions" / "02_sigmoid_gates" / "02_sigmoid_gates.ipynb", **(replace or {}))
    if extra_cell:
        nb.cells.insert(2, nbformat.v4.new_code_cell(extra_cell))
    path = tmp_path / "02_sigmoid_gates.ipynb"
    nbformat.write(nb, path)
    return path


def test_a_complete_notebook_passes_with_exit_0(tmp_path):
    run = course("check", _filled(tmp_path))
    assert run.returncode == 0, run.stdout + run.stderr
    assert "6 of 6 exercises pass their checks." in run.stdout


def test_an_untouched_notebook_lists_what_is_not_written_and_exits_1():
    run = course("check", STUDENT_02)
    assert run.returncode == 1
    assert run.stdout.count("not written") == 6 and "0 of 6" in run.stdout


def test_a_wrong_answer_is_named_with_its_diagnosis(tmp_path):
    wrong = "def sigmoid_grad(z):\n    s = sigmoid(z)\n    return s * (1 - z)"
    run = course("check", _filled(tmp_path, {"sigmoid_grad": wrong}))
    assert run.returncode == 1
    line = next(ln for ln in run.stdout.splitlines() if "sigmoid_grad " in ln)
    assert "failed" in line
    # the hidden test's sentence for this mistake, named by the check cell from course_lib/mistakes.json
    assert "sigmoid_grad: you computed σ(z)·(1 − z): the second factor is 1 − σ(z), not 1 − z." in run.stdout
    assert "5 of 6" in run.stdout


def test_an_infinite_loop_is_stopped_with_a_message(tmp_path):
    run = course("check", _filled(tmp_path, extra_cell="while True:\n    pass"), "--timeout", "3", timeout=120)
    assert run.returncode == 1
    assert "longer than 3" in run.stdout
    # the loop sits before the first exercise: nothing after it ran, so nothing may be reported as passing
    assert "0 of 6 exercises pass" in run.stdout and run.stdout.count("not run") == 6


@pytest.mark.parametrize("content, words", [("{not json", "not a valid notebook"), (None, "no notebook at")])
def test_a_file_that_is_not_a_notebook_exits_2(tmp_path, content, words):
    path = tmp_path / "broken.ipynb"
    if content is not None:
        path.write_text(content)
    run = course("check", path)
    assert run.returncode == 2 and words in run.stdout


def test_release_regenerates_into_a_course(tmp_path):
    import shutil

    shutil.copy(ROOT / "nbgrader_config.py", tmp_path)
    shutil.copytree(ROOT / "solutions" / "02_sigmoid_gates", tmp_path / "solutions" / "02_sigmoid_gates")
    run = course("release", "--course", tmp_path)
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "notebooks" / "02_sigmoid_gates" / "02_sigmoid_gates.ipynb").exists()

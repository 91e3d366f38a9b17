"""The tamper scan: every instructor answer passes unflagged, every trick below is flagged."""

from pathlib import Path

import nbformat
import pytest

from course_lib.grading.scan import tamper_signs

ROOT = Path(__file__).resolve().parents[1]


def notebook(*sources):
    return nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])


@pytest.mark.parametrize("path", sorted((ROOT / "solutions").glob("*/*.ipynb")), ids=lambda p: p.stem)
def test_the_instructors_answers_raise_no_flag(path):
    nb = nbformat.read(path, as_version=4)
    answers = [c.source for c in nb.cells if c.get("metadata", {}).get("nbgrader", {}).get("solution")]
    assert answers
    assert tamper_signs(notebook(*answers)) == []


@pytest.mark.parametrize("source", [
    "get_ipython().input_transformers_cleanup.append(lambda lines: lines)",
    "ip = get_ipython()\nip.ast_transformers.append(object())",
    "get_ipython().events.register('pre_run_cell', print)",
    "import importlib\n_g = importlib.import_module('course_lib.grad' + 'ing.agent')",
    "setattr(mod, 'ca' + 'll', fake)",
    "exec(code, {})",
    "import inspect\nsrc = inspect.getsource(f)",
    "np.allclose = lambda *a, **k: True",
    "numpy.testing.assert_allclose = print",
    "checks.check_function = lambda *a, **k: None",
    "class A(float):\n    def __eq__(self, other):\n        return True",
    "import sys\nsys.setprofile(None)",
    "import sys\nsys.modules['numpy'] = None",
    "from course_lib.key.activations import sigmoid",
    "import course_lib.key.gates as g",
    "f.__code__ = g.__code__",
    "import ctypes",
    "__builtins__.len = lambda x: 0",
    "%time x = 1\nimport course_lib.grading.agent",
])
def test_tricks_are_flagged(source):
    signs = tamper_signs(notebook(source))
    assert signs and all(s.startswith("tampering suspected: a cell ") for s in signs)


def test_locked_cells_are_the_instructors_and_not_scanned():
    nb = notebook("import course_lib.key.activations as _ref")
    nb.cells[0].metadata["nbgrader"] = {"locked": True, "grade_id": "setup", "grade": False, "solution": False}
    assert tamper_signs(nb) == []

"""The nbgrader course in JupyterLab, in a real browser: instructor notebooks, Validate, formgrader."""

from pathlib import Path

import nbformat
from playwright.sync_api import expect

from course_lib.grading.release import assignments
from lab_ui import ERRORS, RAN, click_menu, open_notebook, wait_idle
from notebook_helpers import completed

ROOT = Path(__file__).resolve().parents[2]
WORKED_EXAMPLE = "solutions/03_worked_example/03_worked_example.ipynb"
SIGMOID_GATES = "02_sigmoid_gates/02_sigmoid_gates.ipynb"
WRONG_SIGMOID_GRAD = "def sigmoid_grad(z):\n    s = sigmoid(z)\n    return s * (1 - z)"

def test_instructor_notebook_runs_all_cells_from_the_run_menu(course_page, course_lab):
    page = course_page
    cells = nbformat.read(course_lab.root / WORKED_EXAMPLE, as_version=4).cells
    code_cells = sum(c.cell_type == "code" for c in cells)
    open_notebook(page, WORKED_EXAMPLE)
    click_menu(page, "Run", "Run All Cells")
    prompts = page.locator(".jp-Notebook .jp-CodeCell .jp-InputPrompt")
    expect(prompts.filter(has_text=RAN)).to_have_count(code_cells, timeout=90_000)
    wait_idle(page)
    expect(page.locator(f".jp-Notebook {ERRORS}")).to_have_count(0)
    loss_cell = page.locator(".jp-Notebook .jp-Cell", has_text="after 150 updates: y =")  # its printed line
    loss_plot = loss_cell.locator(".jp-OutputArea img")
    expect(loss_plot).to_be_visible()
    loss_plot.scroll_into_view_if_needed()
    assert loss_plot.evaluate("img => img.complete && img.naturalWidth") > 0


def _validate(page, lab, name, nb):
    """Write the student's notebook ``name`` into the course, open it, press Validate; return the results' text."""
    nbformat.write(nb, lab.root / "notebooks" / "02_sigmoid_gates" / name)
    open_notebook(page, f"notebooks/02_sigmoid_gates/{name}")
    page.get_by_role("button", name="Validate", exact=True).click()
    dialog = page.locator(".jp-Dialog")
    expect(dialog.locator(".jp-Dialog-header")).to_have_text("Validation Results", timeout=60_000)
    return dialog.locator(".jp-Dialog-body").inner_text()  # the dialog opens with its results complete


def _student_notebook(lab, **answers):
    return completed(lab.root / "notebooks" / SIGMOID_GATES, lab.root / "solutions" / SIGMOID_GATES, **answers)


def test_validate_reports_success_on_a_completed_notebook(course_page, course_lab):
    result = _validate(course_page, course_lab, "completed.ipynb", _student_notebook(course_lab))
    assert result.strip() == "Success! Your notebook passes all the tests."


def test_validate_names_the_failing_check_cell_of_a_wrong_notebook(course_page, course_lab):
    # Needs `c.Validator.validate_all = True` (nbgrader_config.py): the check cells are not
    # grade cells, and a student version's grade cells hold only a docstring.
    wrong = _student_notebook(course_lab, sigmoid_grad=WRONG_SIGMOID_GRAD)
    result = _validate(course_page, course_lab, "wrong.ipynb", wrong)
    assert "Success" not in result
    assert result.count("The following cell failed:") == 1, result
    assert "# Check: the lecture's rounded value, and centered differences of σ at 13 points." in result
    assert "sigmoid_grad: you computed σ(z)·(1 − z): the second factor is 1 − σ(z), not 1 − z." in result
    assert "checks.py" not in result  # the check's message, not a traceback into the library


def test_formgrader_lists_the_assignments(course_page, course_lab):
    page = course_page
    click_menu(page, "Nbgrader", "Formgrader")
    names = page.frame_locator("#formgrader iframe").locator("table tbody tr td:first-child")
    expected = assignments(course_lab.root)  # the course's source folders: 01_chain_rule, 02_sigmoid_gates, …
    assert expected[:4] == ["01_chain_rule", "02_sigmoid_gates", "03_worked_example", "04_softmax"]
    expect(names).to_have_text(expected)

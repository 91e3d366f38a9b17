"""A student who was handed the bundle: its README's two commands, then JupyterLab in a real browser."""

from pathlib import Path

from playwright.sync_api import expect

from course_lib.grading.release import assignments
from lab_ui import ERRORS, cell_index, open_notebook, run_cell, set_cell_source

ROOT = Path(__file__).resolve().parents[2]
SIGMOID_GATES = "02_sigmoid_gates/02_sigmoid_gates.ipynb"


def test_the_bundle_opens_in_jupyterlab_on_the_students_own_kernel_without_the_answer_key(
        bundle_page, bundle_lab, student_folder):
    page = bundle_page
    folders = page.locator('.jp-DirListing-item[data-isdir="true"] .jp-DirListing-itemText')
    expect(folders).to_have_text(assignments(ROOT))
    open_notebook(page, SIGMOID_GATES)
    notebook = bundle_lab.root / SIGMOID_GATES
    expect(run_cell(page, cell_index(notebook, "setup")).locator(ERRORS)).to_have_count(0)  # the student library
    exercise = cell_index(notebook, "sigmoid")  # where the student types the first answer
    set_cell_source(page, exercise, "import importlib.util, sys\nprint('kernel:', sys.prefix)\n"
                                    "print('answer key:', importlib.util.find_spec('course_lib.key'))")
    output = run_cell(page, exercise)
    expect(output).to_contain_text(f"kernel: {student_folder / '.venv'}")
    expect(output).to_contain_text("answer key: None")
    expect(output.locator(ERRORS)).to_have_count(0)

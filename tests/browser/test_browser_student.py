"""A student in JupyterLab (started as `make lab` starts it), in a real browser."""

from pathlib import Path

from playwright.sync_api import expect

from lab_ui import ERRORS, cell_index, open_notebook, run_cell, set_cell_source
from notebook_helpers import solutions

ROOT = Path(__file__).resolve().parents[2]
SIGMOID_GATES = "02_sigmoid_gates/02_sigmoid_gates.ipynb"

WRONG_SIGMOID_GRAD = '''def sigmoid_grad(z):
    s = sigmoid(z)
    return s * (1 - z)'''
RIGHT_SIGMOID_GRAD = '''def sigmoid_grad(z):
    s = sigmoid(z)
    return s * (1 - s)'''


def test_file_browser_lists_the_notebooks_and_one_opens_with_an_idle_kernel(student_page, student_lab):
    page = student_page
    released = sorted(p.name for p in student_lab.root.iterdir() if p.is_dir())
    assert released[:4] == ["01_chain_rule", "02_sigmoid_gates", "03_worked_example", "04_softmax"]
    folders = page.locator('.jp-DirListing-item[data-isdir="true"] .jp-DirListing-itemText')
    expect(folders).to_have_text(released)
    open_notebook(page, SIGMOID_GATES)
    expect(page.get_by_role("tab", name="02_sigmoid_gates.ipynb")).to_be_visible()
    expect(page.locator(".jp-Notebook .jp-Cell").first).to_contain_text("02 · Sigmoid gates")


def test_a_wrong_sigmoid_grad_gets_a_diagnosis_and_a_right_one_a_tick(student_page, student_lab):
    page = student_page
    student = student_lab.root / SIGMOID_GATES
    index = {g: cell_index(student, g) for g in ("setup", "sigmoid", "sigmoid_grad", "sigmoid_grad_check")}
    open_notebook(page, SIGMOID_GATES)
    run_cell(page, index["setup"])
    exercise_1 = solutions(ROOT / "solutions" / SIGMOID_GATES)["sigmoid"]
    set_cell_source(page, index["sigmoid"], exercise_1)  # a working sigmoid first
    expect(run_cell(page, index["sigmoid"]).locator(ERRORS)).to_have_count(0)

    set_cell_source(page, index["sigmoid_grad"], WRONG_SIGMOID_GRAD)  # σ(z)(1 − z)
    run_cell(page, index["sigmoid_grad"])
    output = run_cell(page, index["sigmoid_grad_check"])
    # the hidden test's sentence for this mistake, and only that: no traceback into course_lib
    expect(output.locator(ERRORS)).to_have_text(
        "✘ sigmoid_grad: you computed σ(z)·(1 − z): the second factor is 1 − σ(z), not 1 − z.")
    for library_frame in ("Traceback", "checks.py", "course_lib/", "File "):
        expect(output.locator(ERRORS)).not_to_contain_text(library_frame)

    set_cell_source(page, index["sigmoid_grad"], RIGHT_SIGMOID_GRAD)
    run_cell(page, index["sigmoid_grad"])
    output = run_cell(page, index["sigmoid_grad_check"])
    expect(output).to_contain_text("✔ sigmoid_grad(1), rounded matches the lecture (0.20).")
    expect(output).to_contain_text("✔ sigmoid_grad matches centered differences at 13 points.")
    expect(output.locator(ERRORS)).to_have_count(0)

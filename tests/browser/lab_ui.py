"""What a person does in JupyterLab, as Playwright steps; every wait is for something on the page."""

import re
from pathlib import Path

import nbformat
from playwright.sync_api import expect

STATUS_BAR = "#jp-main-statusbar"
ERRORS = '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'  # tracebacks and stderr
RAN = re.compile(r"\[\d+\]:")  # an input prompt after its cell ran ("[*]:" while it runs)


def wait_idle(page):
    """Wait for the kernel to be connected and idle (the toolbar's indicator says idle too early)."""
    expect(page.locator(STATUS_BAR)).to_contain_text("| Idle")


def open_notebook(page, path):
    """Double-click through the file browser to ``path`` (folders/…/name.ipynb); wait for an idle kernel."""
    for name in Path(path).parts:
        page.locator(".jp-DirListing-itemText").get_by_text(name, exact=True).dblclick()
    expect(page.locator(".jp-NotebookPanel .jp-Notebook")).to_be_visible()
    wait_idle(page)


def cell(page, index):
    """The notebook's cell at ``index`` (0-based, as in the .ipynb)."""
    return page.locator(f'.jp-Notebook .jp-Cell[data-windowed-list-index="{index}"]')


def set_cell_source(page, index, source):
    """Click into the cell's editor, select everything, and put ``source`` in its place."""
    editor = cell(page, index).locator(".cm-content")
    editor.click()
    page.keyboard.press("Control+A")
    page.keyboard.insert_text(source)
    expect(editor).to_contain_text(source.splitlines()[-1].strip())


def run_cell(page, index):
    """Run the cell with Shift+Enter, wait until it has run; return its output area."""
    target = cell(page, index)
    prompt = target.locator(".jp-InputPrompt")
    before = prompt.inner_text()
    target.locator(".cm-content").click()
    page.keyboard.press("Shift+Enter")
    expect(prompt).not_to_have_text(before)
    expect(prompt).to_have_text(RAN)
    return target.locator(".jp-OutputArea")


def click_menu(page, menu, item):
    page.get_by_role("menuitem", name=menu, exact=True).click()
    page.get_by_role("menuitem", name=item, exact=True).click()


# ------------------------------------------------------------------ notebooks on disk


def _grade_id(cell):
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def cell_index(path, grade_id):
    """Index of the cell with nbgrader ``grade_id`` in the notebook at ``path``."""
    return [_grade_id(c) for c in nbformat.read(path, as_version=4).cells].index(grade_id)


def _without_markers(source):
    return "\n".join(line for line in source.splitlines() if "### BEGIN SOLUTION" not in line
                     and "### END SOLUTION" not in line)


def solutions(path):
    """The instructor's answers in the notebook at ``path``, by grade_id, without nbgrader's markers."""
    return {_grade_id(c): _without_markers(c.source) for c in nbformat.read(path, as_version=4).cells
            if c.metadata.get("nbgrader", {}).get("solution")}


def completed(release_path, solution_path, **answers):
    """The student notebook with every solution cell filled in: ``answers[grade_id]`` or the instructor's."""
    nb = nbformat.read(release_path, as_version=4)
    answers = {**solutions(solution_path), **answers}
    for c in nb.cells:
        if c.metadata.get("nbgrader", {}).get("solution"):
            c.source = answers[_grade_id(c)]
    return nb

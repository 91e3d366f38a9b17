"""What a person does in JupyterLab, as Playwright steps; every wait is for something on the page."""

import re
from pathlib import Path

import nbformat
from playwright.sync_api import expect

from notebook_helpers import grade_id

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




def cell_index(path, wanted):
    """Index of the cell with nbgrader grade_id ``wanted`` in the notebook at ``path``."""
    return [grade_id(c) for c in nbformat.read(path, as_version=4).cells].index(wanted)



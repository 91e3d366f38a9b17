"""A student's feedback page (``course grade``'s feedback/), opened from disk in a real browser."""

import pytest
from nbformat import v4
from playwright.sync_api import expect

from course_lib.grading.feedback import feedback_html

SCREENSHOT = "/tmp/feedback_page.png"
LECTURE = r"""# 04 · A neuron, forward and backward
The logistic function squashes the pre-activation $z = w^\top x + b$:
$$\sigma(z) = \frac{1}{1 + e^{-z}}.$$
Backpropagation carries the error $\delta^{(L)} = \nabla_a C \odot \sigma'(z^{(L)})$ back one layer
at a time, and the gradient of a bias is its error: \(\partial C / \partial b^{(l)} = \delta^{(l)}\).
"""
LONG_LINE = ("dW = (dZ.T @ X) / X.shape[0]  # one row per output unit, one column per input: "
             "the shape of W, (n_out, n_in), as in the lectures and in PyTorch's nn.Linear" * 2)
RECORD = {"name": "04_neuron", "status": "graded", "message": "", "score": 2.0, "max_score": 7.0,
          "exercises": [
              {"grade_id": "neuron_tests", "title": "Exercise 4 · neuron_forward_backward", "points": 4.0,
               "score": 2.0, "auto_score": 2.0, "needs_manual_grade": False, "verdict": "grader",
               "message": "db has shape (1, 3), expected (3,): sum over the batch axis only"},
              {"grade_id": "explain_tests", "title": "Exercise 5 · why the gradient vanishes", "points": 3.0,
               "score": 0.0, "auto_score": None, "needs_manual_grade": True, "verdict": "task",
               "message": "graded by hand"}]}


def feedback_page_file(folder):
    nb = v4.new_notebook(cells=[
        v4.new_markdown_cell(LECTURE),
        v4.new_code_cell(LONG_LINE, outputs=[v4.new_output("stream", text="loss " + "0.693147 " * 40 + "\n")]),
    ])
    path = folder / "04_neuron.html"
    path.write_text(feedback_html(nb, RECORD, student_id="bob", assignment="04_neuron"), encoding="utf-8")
    return path


@pytest.fixture
def feedback_page(browser, request, tmp_path):
    """A browser page with nothing open, narrower than the lab's: a laptop's window."""
    context = browser.new_context(viewport={"width": 1000, "height": 900})
    page = context.new_page()
    request.node.browser_page = page, tmp_path / "screenshot.png"  # for the screenshot on failure
    yield page
    context.close()


def test_the_feedback_page_shows_formulas_as_math_and_wraps_code_with_nothing_from_outside(
        feedback_page, tmp_path):
    page = feedback_page
    outside = []
    page.on("request", lambda r: r.url.startswith(("file:", "data:")) or outside.append(r.url))
    page.goto(feedback_page_file(tmp_path).as_uri())
    formulas = page.locator("math")
    expect(formulas).to_have_count(4)
    display = page.locator('math[display="block"]')
    expect(display).to_be_visible()
    box = display.bounding_box()
    assert box["width"] > 50 and box["height"] > 20, box
    # laid out as MathML, not as a line of text: the fraction's numerator sits above its denominator
    numerator, denominator = (page.locator("mfrac > *").nth(i).bounding_box() for i in (0, 1))
    assert numerator["y"] + numerator["height"] <= denominator["y"] + 1, (numerator, denominator)
    text = page.evaluate("document.body.innerText")
    assert "$$" not in text and "\\frac" not in text and "\\delta" not in text
    assert "Exercise 4 · neuron_forward_backward (neuron_tests)" in text
    assert "graded by your instructor" in text
    for pre in page.locator(".notebook pre").all():  # code and outputs wrap: no horizontal scrolling
        widths = pre.evaluate("e => [e.scrollWidth, e.clientWidth]")
        assert widths[0] <= widths[1], widths
    code = page.locator(".input_area pre")
    assert code.evaluate("e => e.clientHeight > 2 * parseFloat(getComputedStyle(e).lineHeight)")  # wrapped
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert outside == []
    page.screenshot(path=SCREENSHOT, full_page=True)

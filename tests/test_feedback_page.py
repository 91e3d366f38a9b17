"""The student's feedback page reads well: formulas as MathML, code wrapped, exercises by their titles."""

import base64
import re

import pytest
from bs4 import BeautifulSoup
from nbconvert import HTMLExporter
from nbformat import v4

from course_lib.grading.feedback import feedback_html, make_exporter, sanitized
from course_lib.grading.mathml import MAX_TEX

ASSIGNMENT = NOTEBOOK = "04_neuron"
# As the lectures write it: display math on its own line, inline math in a sentence.
LECTURE = r"""# The neuron $\sigma(Wx + b)$
The logistic function
$$\sigma(z) = \frac{1}{1 + e^{-z}}.$$
Its derivative is \(\sigma'(z) = \sigma(z)(1 - \sigma(z))\), and the error of the last layer is
$\delta^{(L)} = \nabla_a C \odot \sigma'(z^{(L)})$:
\[ \frac{\partial C}{\partial b^{(l)}} = \delta^{(l)} \]
"""
# What latex2mathml's own string output would pass on: a script, a link, a style, a class.
HOSTILE_TEX = [r"\text{<script>alert(1)</script>}", r"\href{javascript:alert(2)}{x}",
               r"\style{background:url(https://example.com/t.png)}{y}", r"\class{anchor-link}{z}",
               r'\color{red" onmouseover="alert(3)}{w}']
MATHML_TAGS = {"math", "mrow", "mi", "mn", "mo", "ms", "mtext", "mspace", "msub", "msup", "msubsup",
               "mfrac", "msqrt", "mroot", "mstyle", "mpadded", "mphantom", "menclose", "mover", "munder",
               "munderover", "mmultiscripts", "mprescripts", "none", "mtable", "mtr", "mtd", "merror"}


def page_of(*cells, exercises=(), **record):
    rec = {"name": NOTEBOOK, "status": "graded", "message": "", "score": 0.0, "max_score": 0.0,
           "exercises": list(exercises), **record}
    return feedback_html(v4.new_notebook(cells=list(cells)), rec, student_id="bob", assignment=ASSIGNMENT)


def notebook_part(page):
    return BeautifulSoup(page, features="html.parser").find("div", class_="notebook")


def text_outside_code(tag):
    for code in tag.find_all("code"):
        code.decompose()
    return tag.get_text()


def exercise(grade_id, score, points=2.0, verdict="grader", message="", **fields):
    return {"grade_id": grade_id, "points": points, "score": score, "auto_score": score,
            "needs_manual_grade": False, "message": message, "verdict": verdict, **fields}


# ----------------------------------------------------------------------------- formulas

def test_are_the_lectures_inline_and_display_formulas_mathml():
    notebook = notebook_part(page_of(v4.new_markdown_cell(LECTURE)))
    formulas = notebook.find_all("math")
    assert [f["display"] for f in formulas] == ["inline", "block", "inline", "inline", "block"]
    assert formulas[1].find("mfrac") is not None   # \frac{1}{1 + e^{-z}}
    assert formulas[3].find("msup").find("mi").get_text() == "δ"
    text = text_outside_code(notebook)
    assert not re.search(r"\$|\\frac|\\\(|\\\[|\\sigma|\ue000|\ue001", text), text


def test_does_a_heading_with_a_formula_keep_a_plain_id():
    heading = notebook_part(page_of(v4.new_markdown_cell(LECTURE))).find("h1")
    assert heading.find("math") is not None
    assert heading["id"] == "The-neuron-%5Csigma(Wx-%2B-b)"   # the TeX, percent-encoded
    assert heading.find("a", class_="anchor-link")["href"] == "#" + heading["id"]


def test_does_a_formula_latex2mathml_cannot_read_stay_as_tex_in_code():
    long_tex = "x+" * MAX_TEX + "x"
    page = page_of(v4.new_markdown_cell(r"Broken $\frac{1}{$ then fine $a$." + f"\n\n$${long_tex}$$"))
    fallbacks = notebook_part(page).find_all("code", class_="tex")
    assert [c.get_text() for c in fallbacks] == [r"$\frac{1}{$", f"$${long_tex}$$"]
    assert len(notebook_part(page).find_all("math")) == 1


def test_is_currency_not_math():
    notebook = notebook_part(page_of(v4.new_markdown_cell("The GPU costs $5 and the TPU $6 an hour.")))
    assert notebook.find("math") is None
    assert "The GPU costs $5 and the TPU $6 an hour." in notebook.get_text()


def test_is_tex_in_code_left_as_it_is():
    markdown = "Type `$\\frac{1}{2}$` or\n\n```\n$$\\frac{1}{2}$$\n```\n\n    $$\\alpha$$\n"
    code = "label = r'$\\frac{1}{2}$'  # $$\\beta$$"
    cells = [v4.new_markdown_cell(markdown),
             v4.new_code_cell(code, outputs=[v4.new_output("stream", text="$$\\gamma$$\n")])]
    notebook = notebook_part(page_of(*cells))
    assert notebook.find("math") is None
    assert [c.get_text() for c in notebook.find_all("code")] == [
        "$\\frac{1}{2}$", "$$\\frac{1}{2}$$\n", "$$\\alpha$$"]
    text = notebook.get_text()
    assert "r'$\\frac{1}{2}$'  # $$\\beta$$" in text and "$$\\gamma$$" in text


def test_is_the_page_with_formulas_the_stock_exporters_without_its_soup_pass():
    nb = sanitized(v4.new_notebook(cells=[v4.new_markdown_cell(LECTURE)]))
    fast, _ = make_exporter().from_notebook_node(nb)
    stock, _ = make_exporter(HTMLExporter).from_notebook_node(nb)
    assert "<math" in fast and str(BeautifulSoup(fast, features="html.parser")) == stock


# ----------------------------------------------------------------------------- safety

def test_is_a_students_own_mathml_link_or_script_still_neutralised():
    markdown = ('<math><maction actiontype="statusline#javascript:alert(1)"><mi>x</mi></maction></math>\n\n'
                '<a href="javascript:alert(2)">click</a> <script>alert(3)</script> $y$')
    page = page_of(v4.new_markdown_cell(markdown),
                   v4.new_code_cell("", outputs=[v4.new_output("display_data", data={
                       "text/html": "<math><mi href='javascript:alert(4)'>z</mi></math>", "text/plain": "z"})]))
    notebook = notebook_part(page)
    assert not notebook.find_all(["maction", "script"]) and "<script" not in page
    assert not [e for e in notebook.find_all(True) if any("javascript:" in str(v) for v in e.attrs.values())]
    assert [m.get_text() for m in notebook.find_all("math")] == ["y"]   # only the formula, as MathML
    assert "&lt;math&gt;&lt;maction" in page and "&lt;math&gt;&lt;mi" in page


def test_does_hostile_tex_give_only_plain_mathml():
    page = page_of(v4.new_markdown_cell(" and ".join(f"${tex}$" for tex in HOSTILE_TEX)))
    notebook = notebook_part(page)
    assert len(notebook.find_all("math")) == len(HOSTILE_TEX)
    for formula in notebook.find_all("math"):
        for element in [formula, *formula.find_all(True)]:
            assert element.name in MATHML_TAGS
            assert not {"href", "style", "class", "onmouseover", "id"} & set(element.attrs), element
    assert "<script" not in page and "javascript:" not in page and "example.com" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page   # \text{...} shown, escaped


def test_does_a_forged_formula_token_neither_crash_nor_inject():
    hostile = base64.urlsafe_b64encode(br"\text{<img src=x onerror=alert(1)>}").decode()
    html_output = f"<p>\ue000i!!\ue001 \ue000bAAAA/\ue001 \ue000b{hostile}\ue001 \ue000i\xff\ue001</p>"
    page = page_of(v4.new_code_cell("", outputs=[v4.new_output("display_data", data={
        "text/html": html_output, "text/plain": "x"})]))
    notebook = notebook_part(page)
    assert notebook.find("img") is None and not notebook.find_all(attrs={"onerror": True})
    assert notebook.find("mtext").get_text().replace("\xa0", " ") == "<img src=x onerror=alert(1)>"


# ----------------------------------------------------------------------------- layout

def test_does_code_wrap_instead_of_scrolling():
    page = page_of(v4.new_code_cell("x = 1  # " + "long " * 100))
    css = BeautifulSoup(page, features="html.parser").find("style").get_text()
    rules = [(selector.strip(), body) for selector, body in re.findall(r"([^{}]+)\{([^}]*)\}", css)]
    assert ".notebook pre" in dict(rules)
    assert "white-space: pre-wrap" in dict(rules)[".notebook pre"]
    assert "overflow-wrap: anywhere" in dict(rules)[".notebook pre"]
    assert not [s for s, body in rules if re.search(r"\bpre\b", s) and "overflow-x" in body]


# ----------------------------------------------------------------------------- summary

def test_is_each_exercise_named_by_its_title_with_the_grade_id_as_a_detail():
    page = page_of(exercises=[exercise("neuron_tests", 2.0, title="Exercise 4 · neuron_forward_backward"),
                              exercise("old_record_tests", 0.0, message="expected 0.5, got 0.7")])
    rows = BeautifulSoup(page, features="html.parser").select("table.summary tr")[1:]
    name = rows[0].find("td")
    assert name.get_text() == "Exercise 4 · neuron_forward_backward (neuron_tests)"
    assert name.find(class_="grade-id").get_text() == "(neuron_tests)"
    assert str(rows[1].find("td")) == "<td>old_record_tests</td>"   # no title: the grade id


@pytest.mark.parametrize("verdict", ["task", "manual"])
def test_does_work_graded_by_hand_read_as_pending_not_as_failed(verdict):
    page = page_of(exercises=[exercise("explain_tests", 0.0, points=3.0, verdict=verdict, auto_score=None,
                                       needs_manual_grade=True, message="graded by hand",
                                       title="Exercise 5 · explain the vanishing gradient"),
                              exercise("neuron_tests", 2.0)],
                   score=2.0, max_score=5.0)
    soup = BeautifulSoup(page, features="html.parser")
    row = soup.select("table.summary tr")[1]
    assert row["class"] == ["instructor"]
    assert [td.get_text() for td in row.find_all("td")[1:]] == ["3", "–", "graded by your instructor"]
    assert "2 / 5; 3 of these points are graded by your instructor" in soup.find("p").get_text()


def test_does_a_test_held_for_review_keep_its_explanation():
    message = "this test could not be run safely (open); your instructor will grade it by hand"
    page = page_of(exercises=[exercise("backward_tests", 0.0, verdict="held", needs_manual_grade=True,
                                       message=message)])
    row = BeautifulSoup(page, features="html.parser").select("table.summary tr")[1]
    assert row["class"] == ["instructor"] and row.find("td", class_="message").get_text() == message


def test_are_old_records_without_the_manual_flag_read_by_their_verdict():
    task = exercise("essay", 0.0, verdict="task")
    del task["needs_manual_grade"], task["auto_score"]
    row = BeautifulSoup(page_of(exercises=[task]), features="html.parser").select("table.summary tr")[1]
    assert row["class"] == ["instructor"]

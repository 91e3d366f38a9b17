"""grades.csv, report.html and the students' feedback pages, written to real files."""

import base64
import copy
import csv
import re

import nbformat
import pytest
from nbformat import v4

from bs4 import BeautifulSoup
from nbconvert import HTMLExporter

from course_lib.grading.feedback import feedback_html, make_exporter, sanitized, strip_hidden
from course_lib.grading.report import normalise, write_grades_csv, write_report_html

ASSIGNMENT = "02_sigmoid_gates"
NOTEBOOK = "02_sigmoid_gates"
POINTS = {"sigmoid_tests": 2.0, "gate_tests": 4.0, "backward_tests": 5.0}
SCRIPT = "<script>alert(1)</script>"
TIMEOUT_MESSAGE = "the notebook ran longer than 60 s (an infinite loop?): stopped"
TAMPERING = "tampering suspected: np.allclose was replaced"
# 1x1 PNG
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="


def exercise(grade_id, score, message="", verdict="grader"):
    return {"grade_id": grade_id, "points": POINTS[grade_id], "score": score,
            "message": message, "verdict": verdict}


def record(student_id, exercises, status="graded", message="", needs_review=()):
    score = sum(ex["score"] for ex in exercises)
    notebooks = [] if status == "invalid" else [{
        "name": NOTEBOOK, "sha256": "0" * 64, "status": status, "message": message,
        "score": score, "max_score": 11.0, "exercises": exercises,
        "timings": {"kernel_start_s": 0.6, "execute_s": 1.2}}]
    return {"student_id": student_id, "assignment": ASSIGNMENT, "status": status,
            "message": message, "score": score, "max_score": 11.0,
            "needs_review": list(needs_review), "notebooks": notebooks, "seed": 0,
            "limits": {"timeout_s": 60, "memory_mb": 2048}, "timings": {"total_s": 2.1},
            "sandbox": "namespaces"}


def not_run():
    return [exercise(gid, 0.0, verdict="not run") for gid in POINTS]


@pytest.fixture
def records():
    """Seven students; bob, carol and dave fail gate_tests with messages differing only in numbers."""
    return [
        record("frank", not_run(), status="crashed", message=f"kernel died after printing {SCRIPT}"),
        record("alice", [exercise("sigmoid_tests", 2.0), exercise("gate_tests", 4.0),
                         exercise("backward_tests", 5.0)]),
        record("bob", [exercise("sigmoid_tests", 2.0),
                       exercise("gate_tests", 0.0, "AND gate: expected 0.2, got 0"),
                       exercise("backward_tests", 2.5, "dW has shape (3, 2), expected (2, 3)")]),
        record("carol", [exercise("sigmoid_tests", 2.0, verdict="kernel"),
                         exercise("gate_tests", 0.0, "AND gate: expected 0.7311, got 0.5"),
                         exercise("backward_tests", 0.0, SCRIPT)]),
        record("dave", [exercise("sigmoid_tests", 0.1 + 0.2, "sigmoid(0) should be 0.5"),
                        exercise("gate_tests", 0.0, "AND gate: expected -1e-3, got 12"),
                        exercise("backward_tests", 5.0)],
               needs_review=[TAMPERING, "same sha256 as bob"]),
        record("erin", not_run(), status="timeout", message=TIMEOUT_MESSAGE),
        record("grace", [], status="invalid", message="no notebook named 02_sigmoid_gates.ipynb"),
    ]


# ----------------------------------------------------------------------------- CSV

def read_csv(path):
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        return reader.fieldnames, list(reader)


def test_does_the_csv_have_the_fixed_columns_then_one_per_exercise(tmp_path, records):
    write_grades_csv(records, tmp_path / "grades.csv")
    header, rows = read_csv(tmp_path / "grades.csv")
    assert header == ["student_id", "assignment", "score", "max_score", "status",
                      "sigmoid_tests", "gate_tests", "backward_tests", "needs_review", "message"]
    assert [r["student_id"] for r in rows] == sorted(r["student_id"] for r in records)


def test_are_csv_values_printed_without_float_noise(tmp_path, records):
    write_grades_csv(records, tmp_path / "grades.csv")
    rows = {r["student_id"]: r for r in read_csv(tmp_path / "grades.csv")[1]}
    assert (rows["alice"]["score"], rows["alice"]["max_score"], rows["alice"]["status"]) == ("11", "11", "graded")
    assert (rows["bob"]["score"], rows["bob"]["backward_tests"], rows["bob"]["gate_tests"]) == ("4.5", "2.5", "0")
    assert rows["dave"]["sigmoid_tests"] == "0.3"          # 0.1 + 0.2 = 0.30000000000000004
    assert rows["dave"]["needs_review"] == f"{TAMPERING}; same sha256 as bob"
    assert rows["erin"]["status"] == "timeout" and rows["erin"]["message"] == TIMEOUT_MESSAGE
    assert rows["grace"]["status"] == "invalid" and rows["grace"]["gate_tests"] == ""
    assert SCRIPT in rows["frank"]["message"]               # a CSV is data: kept as written


def test_does_the_csv_defuse_spreadsheet_formulas(tmp_path):
    write_grades_csv([record("mallory", [], status="crashed", message="=HYPERLINK(\"x\")")],
                     tmp_path / "grades.csv")
    (row,) = read_csv(tmp_path / "grades.csv")[1]
    assert row["message"] == "'=HYPERLINK(\"x\")"


def test_does_an_empty_csv_have_just_the_header(tmp_path):
    write_grades_csv([], tmp_path / "grades.csv")
    header, rows = read_csv(tmp_path / "grades.csv")
    assert header[:5] == ["student_id", "assignment", "score", "max_score", "status"] and rows == []


# ----------------------------------------------------------------------------- report

@pytest.fixture
def report(tmp_path, records):
    write_report_html(records, tmp_path / "report.html", assignment=ASSIGNMENT, course="Backprop")
    return (tmp_path / "report.html").read_text(encoding="utf-8")


def test_does_the_report_embed_one_chart_per_exercise_and_a_histogram(report):
    images = re.findall(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"', report)
    assert len(images) == len(POINTS) + 1
    assert all(base64.b64decode(img).startswith(b"\x89PNG\r\n\x1a\n") for img in images)
    assert not re.search(r'(src|href)="(https?:)?//', report)      # self-contained


def test_does_the_report_count_statuses_and_scores(report):
    for status, n in [("graded", 4), ("timeout", 1), ("crashed", 1), ("invalid", 1)]:
        assert f'<th>{status}</th><td class="count">{n}</td>' in report
    # totals 11, 4.5, 2, 5.3 and three zeros: mean 22.8 / 7 = 3.257..., shown as 3.26; median 2
    assert "mean 3.26, median 2 (out of 11)" in report


def test_are_diagnostics_differing_only_in_numbers_grouped(report):
    rows = re.findall(r'<tr><td class="count">(\d+)</td><td>(AND gate[^<]*)</td>'
                      r'<td class="example">([^<]*)</td></tr>', report)
    assert rows == [("3", "AND gate: expected #, got #", "AND gate: expected 0.2, got 0")]
    assert "expected 0.7311" not in report                  # the other variants are counted only


def test_does_the_report_list_every_submission_needing_a_look_with_its_reason(report):
    look = report.split("Submissions needing a look", 1)[1]
    for student, reason in [("erin", f"timeout: {TIMEOUT_MESSAGE}"),
                            ("frank", "crashed: kernel died"),
                            ("grace", "invalid: no notebook named"),
                            ("dave", TAMPERING),
                            ("carol", "sigmoid_tests: scored inside the student&#x27;s kernel")]:
        assert re.search(f"<td>{student}</td>.*?{re.escape(reason)}.*?</tr>", look), student
    assert "<td>alice</td>" not in look and "<td>bob</td>" not in look


def test_is_student_text_escaped_in_the_report(report):
    assert SCRIPT not in report and "<script" not in report
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in report


def test_does_the_report_render_without_submissions(tmp_path):
    write_report_html([], tmp_path / "report.html", assignment=ASSIGNMENT)
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "no submissions" in page and ASSIGNMENT in page and "<img" not in page


def test_does_normalising_replace_numbers_but_not_names():
    assert normalise("expected 0.2, got -1e-3 at [1 2 3]") == "expected #, got # at [#]"
    assert normalise("dW1 got nan") == "dW1 got #"


# ----------------------------------------------------------------------------- feedback

GRADE_SOURCE = '''"""Check sigmoid at 0 and at large inputs."""
assert sigmoid(0) == 0.5
### BEGIN HIDDEN TESTS
assert secret_value == 42
### END HIDDEN TESTS
print("visible tail")
'''
TRACEBACK = ["\x1b[0;31m---------------------------------------------------------------------------\x1b[0m",
             "\x1b[0;31mAssertionError\x1b[0m  Traceback (most recent call last)",
             "Cell \x1b[0;32mIn[3], line 4\x1b[0m\n\x1b[0;32m----> 4\x1b[0m \x1b[38;5;28;01massert\x1b[39;00m "
             "secret_value \x1b[38;5;241m==\x1b[39m \x1b[38;5;241m42\x1b[39m",
             "\x1b[0;31mAssertionError\x1b[0m: "]


@pytest.fixture
def notebook():
    return v4.new_notebook(cells=[
        v4.new_markdown_cell(f"# Sigmoid gates\nA *gate* is a neuron. {SCRIPT}\n\n"
                             "![pixel](https://example.com/pixel.png) [run](javascript:alert(2)) "
                             '<img src="https://example.com/raw.png"> <a href="data:text/html,x">d</a>'),
        v4.new_code_cell(f"plot_gate()  # {SCRIPT}", outputs=[
            v4.new_output("display_data", data={"image/png": PNG, "text/plain": "<Figure size 640x480>"}),
            v4.new_output("display_data", data={"text/html": f"<b>bold</b>{SCRIPT}", "text/plain": "x"})]),
        v4.new_code_cell(GRADE_SOURCE, outputs=[v4.new_output(
            "error", ename="AssertionError", evalue="sigmoid is off", traceback=TRACEBACK)]),
    ])


@pytest.fixture
def notebook_record():
    return {"name": NOTEBOOK, "status": "graded", "message": "", "score": 5.0, "max_score": 7.0,
            "exercises": [exercise("sigmoid_tests", 0.0, "sigmoid(0) should be 0.5, got <b>0.7</b>"),
                          exercise("backward_tests", 5.0)]}


def test_does_feedback_show_summary_notebook_and_image(notebook, notebook_record):
    page = feedback_html(notebook, notebook_record, student_id="bob", assignment=ASSIGNMENT)
    assert "<table class=\"summary\">" in page and "<td>sigmoid_tests</td>" in page
    assert "sigmoid(0) should be 0.5, got &lt;b&gt;0.7&lt;/b&gt;" in page
    assert "5 / 7" in page and "bob" in page
    assert f'src="data:image/png;base64,{PNG}"' in page
    assert re.search(r"<h1[^>]*>Sigmoid gates", page) and "&lt;h1" not in page   # markdown as HTML
    assert "<em>gate</em>" in page and "<b>bold</b>" in page and "visible tail" in page
    assert "AssertionError: sigmoid is off" in page


def test_does_feedback_never_show_hidden_tests_or_tracebacks(notebook, notebook_record):
    page = feedback_html(notebook, notebook_record, student_id="bob", assignment=ASSIGNMENT)
    assert "secret_value" not in page and "HIDDEN TESTS" not in page
    assert "most recent call last" not in page


def test_is_student_text_escaped_in_feedback(notebook, notebook_record):
    page = feedback_html(notebook, notebook_record, student_id="bob", assignment=ASSIGNMENT)
    assert SCRIPT not in page and "<script" not in page and "<b>0.7" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_does_feedback_load_nothing_from_outside(notebook, notebook_record):
    page = feedback_html(notebook, notebook_record, student_id="bob", assignment=ASSIGNMENT)
    assert not re.search(r'(src|href)="(https?:)?//', page)
    assert "javascript:" not in page and 'href="data:' not in page


def test_is_the_fast_exporter_nbconverts_page_without_its_soup_pass(notebook):
    nb = sanitized(notebook)
    fast, _ = make_exporter().from_notebook_node(nb)
    stock, _ = make_exporter(HTMLExporter).from_notebook_node(nb)
    no_alt = ' alt="No description has been provided for this image"'   # the soup's only change
    assert no_alt in stock
    assert str(BeautifulSoup(fast, features="html.parser")) == stock.replace(no_alt, "")


def test_does_feedback_leave_the_callers_notebook_unchanged(notebook, notebook_record):
    before = copy.deepcopy(notebook)
    feedback_html(notebook, notebook_record, student_id="bob", assignment=ASSIGNMENT)
    assert notebook == before and "secret_value" in nbformat.writes(notebook)


def test_does_feedback_show_why_a_notebook_was_not_graded(notebook):
    rec = {"name": NOTEBOOK, "status": "timeout", "message": TIMEOUT_MESSAGE, "score": 0.0,
           "max_score": 7.0, "exercises": [exercise("sigmoid_tests", 0.0, verdict="not run")]}
    page = feedback_html(notebook, rec, student_id="erin", assignment=ASSIGNMENT)
    assert f"timeout: {TIMEOUT_MESSAGE}" in page and "not run" in page


def test_is_a_hidden_region_without_an_end_marker_cut_to_the_end_of_the_cell():
    assert strip_hidden("a = 1\n### BEGIN HIDDEN TESTS\nassert secret_value\n") == "a = 1\n"
    assert strip_hidden("x\n### BEGIN HIDDEN TESTS\ny\n### END HIDDEN TESTS\nz") == "x\nz"

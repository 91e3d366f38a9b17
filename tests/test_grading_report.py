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
from course_lib.grading import report as report_module
from course_lib.grading.diagnostics import normalise
from course_lib.grading.report import write_grades_csv, write_report_html
from course_lib.grading.triage import explain, needs_a_look, reasons_to_look

ASSIGNMENT = "02_sigmoid_gates"
NOTEBOOK = "02_sigmoid_gates"
POINTS = {"sigmoid_tests": 2.0, "gate_tests": 4.0, "backward_tests": 5.0}
SCRIPT = "<script>alert(1)</script>"
TIMEOUT_MESSAGE = "the notebook ran longer than 60 s (an infinite loop?): stopped"
TAMPERING = "tampering suspected: np.allclose was replaced"
# 1x1 PNG
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="


def exercise(grade_id, score, message="", verdict="grader", **new_fields):
    """An exercise as the grader records it; ``new_fields``: title, auto_score, needs_manual_grade."""
    return {"grade_id": grade_id, "points": POINTS.get(grade_id, 3.0), "score": score,
            "message": message, "verdict": verdict, **new_fields}


def record(student_id, exercises, status="graded", message="", needs_review=(), max_score=11.0):
    score = sum(ex["score"] for ex in exercises)
    notebooks = [] if status == "invalid" else [{
        "name": NOTEBOOK, "sha256": "0" * 64, "status": status, "message": message,
        "score": score, "max_score": max_score, "exercises": exercises,
        "timings": {"kernel_start_s": 0.6, "execute_s": 1.2}}]
    return {"student_id": student_id, "assignment": ASSIGNMENT, "status": status,
            "message": message, "score": score, "max_score": max_score,
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


def soup_of(page):
    return BeautifulSoup(page, features="html.parser")


def section(page, heading_id):
    """The HTML from the <h2> with this id to the next <h2>."""
    rest = page.split(f'<h2 id="{heading_id}">', 1)[1]
    return rest.split("<h2", 1)[0]


def look_rows(page):
    """[(student, [reason texts])] of the needs-a-look table, in page order."""
    table = soup_of(page).find("table", class_="look")
    return [(tr.td.get_text(), [li.get_text(" ", strip=True) for li in tr.find_all("li")])
            for tr in (table.find_all("tr")[1:] if table else [])]


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


def test_does_the_exercise_table_count_outcomes(report):
    table = soup_of(report).find("table", class_="exercises")
    rows = {tr.td.get_text(): [td.get_text() for td in tr.find_all("td")[1:]] for tr in table.find_all("tr")[1:]}
    # points, mean score where it ran, zero, partial, full, not run (frank, erin, grace: not run or not found)
    assert rows["gate_tests"] == ["4", "1", "3", "0", "1", "3"]
    assert rows["backward_tests"] == ["5", "3.12", "1", "1", "2", "3"]   # (5 + 2.5 + 0 + 5) / 4


def test_are_diagnostics_differing_only_in_numbers_grouped(report):
    diagnostics = section(report, "diagnostics")
    table = soup_of(diagnostics).find("h3", string="gate_tests").find_next("table")
    (row,) = table.find_all("tr")[1:]
    count, message, students = row.find_all("td")
    assert count.get_text() == "3"
    assert message.find(class_="example").get_text() == "AND gate: expected 0.2, got 0"   # a real message
    assert message.find(class_="pattern").get_text() == "grouped as: AND gate: expected #, got #"
    assert [a.get_text() for a in students.find_all("a")] == ["carol", "dave"]   # listed below: linked
    assert students.get_text() == "bob, carol, dave"
    assert "expected 0.7311" not in diagnostics                 # the other variants are counted only


def test_does_the_report_list_every_submission_needing_a_look_with_its_reason(report):
    rows = dict(look_rows(report))
    for student, reason in [("erin", f"timed out {TIMEOUT_MESSAGE}"),        # its badge, then the reason
                            ("frank", "crashed the notebook's kernel died"),
                            ("grace", "not gradable no notebook named"),
                            ("dave", TAMPERING),
                            ("dave", "same sha256 as bob"),
                            ("carol", "sigmoid_tests: scored inside the student's kernel")]:
        assert any(reason in r for r in rows[student]), (student, rows[student])
    assert "alice" not in rows and "bob" not in rows             # bob: 4.5 of 11, above the low-score line


def test_is_the_most_urgent_submission_listed_first(report):
    # crashed, timed out, not gradable, tampering, a note; a tie would go to the lower score
    assert [student for student, _ in look_rows(report)] == ["frank", "erin", "grace", "dave", "carol"]
    assert report.index('id="look"') < report.index('id="summary"')   # at the top of the page


def test_does_each_listed_submission_link_to_its_details(report):
    soup = soup_of(report)
    for link in soup.find("table", class_="look").find_all("a"):
        details = soup.find(id=link["href"].removeprefix("#"))
        assert details is not None and details.h3.get_text().startswith(link.get_text())
    frank = soup.find(id="student-frank")
    rows = [[td.get_text() for td in tr.find_all("td")] for tr in frank.find("table").find_all("tr")[1:]]
    assert [r[0] for r in rows] == list(POINTS) and {r[2] for r in rows} == {"not run"}


def test_are_grader_internals_explained_with_the_raw_text_kept(tmp_path):
    internals = [("NoReply: no reply from kernel", "got no answer", "fewer --workers"),
                 ("RuntimeError: can't start new thread", "limit on processes and threads (limit 256)",
                  "starts threads or processes"),
                 ("BlockingIOError: [Errno 11] Resource temporarily unavailable",
                  "limit on processes and threads", "starts threads or processes"),
                 ("MemoryError", "ran out of memory (limit 2048 MB)", "higher --memory"),
                 ("the kernel died at the cell of 'tanh_grad' (os._exit, a crash, or a resource limit: "
                  "memory 2048 MB, CPU 15 s)", "kernel died", "at the cell of 'tanh_grad'"),
                 ("Killed", "was killed", "higher --memory")]
    records = []
    for i, (message, what, todo) in enumerate(internals):
        rec = record(f"s{i}", not_run(), status="crashed", message=message)
        rec["limits"] = {"memory_mb": 2048, "cpu_s": 15, "nproc": 256}
        records.append(rec)
    write_report_html(records, tmp_path / "report.html", assignment=ASSIGNMENT)
    look = soup_of((tmp_path / "report.html").read_text(encoding="utf-8")).find("table", class_="look")
    for i, (message, what, todo) in enumerate(internals):
        item = look.find("a", string=f"s{i}").find_parent("tr").li
        assert what in item.get_text() and todo in item.get_text(), item.get_text()
        assert item.find("details").find(class_="raw").get_text() == message   # the raw text, as a detail


def test_is_an_exercise_the_grader_lost_contact_with_listed_for_review():
    lost = "RuntimeError: no answer from the notebook's kernel for and_gate (no reply)"
    rec = record("gil", [exercise("sigmoid_tests", 2.0), exercise("gate_tests", 0.0, lost),
                         exercise("backward_tests", 5.0)])
    (reason,) = reasons_to_look(rec)
    assert reason.kind == "review" and reason.raw == lost
    assert reason.text.startswith("gate_tests: the grader asked the notebook's kernel to run a check")


def test_does_explain_leave_plain_messages_alone():
    assert explain("AND gate: expected 0.2, got 0") is None
    assert explain(TIMEOUT_MESSAGE) is None
    assert "fewer --workers" in explain("the machine was busy: its kernel waited 870.5 s for a CPU").todo
    assert "network" in explain("sigmoid(1.0) raised OSError: [Errno 101] Network is unreachable").what
    assert explain("MemoryError").what == "the notebook ran out of memory"   # no limits known: none quoted


def titled_records():
    """Records of the new format: exercises with titles, a task and an answer to grade by hand."""
    def ex(gid, score, title, **kw):
        return exercise(gid, score, title=title, auto_score=None if kw.get("verdict") in ("task", "manual")
                        else score, **kw)
    full = [ex("sigmoid_tests", 2.0, "Exercise 1 · sigmoid"),
            ex("gate_tests", 4.0, "Exercise 2 · AND gate"),
            ex("explain_tests", 0.0, "Exercise 3 · explain the gradient", verdict="manual", needs_manual_grade=True)]
    partial = [ex("sigmoid_tests", 2.0, "Exercise 1 · sigmoid"),
               ex("gate_tests", 0.0, "Exercise 2 · AND gate", message="AND gate: expected 0.2, got 0"),
               ex("explain_tests", 2.0, "Exercise 3 · explain the gradient", verdict="manual",
                  needs_manual_grade=False)]   # already graded by hand
    return [record("ann", full, max_score=9.0), record("ben", partial, max_score=9.0)]


def test_are_exercises_named_by_their_titles_with_the_grade_id_as_a_detail(tmp_path, monkeypatch):
    charted = []
    chart = report_module._exercise_chart
    monkeypatch.setattr(report_module, "_exercise_chart", lambda title, detail, *a: charted.append(
        (title, detail)) or chart(title, detail, *a))
    write_report_html(titled_records(), tmp_path / "report.html", assignment=ASSIGNMENT)
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert charted[1] == ("Exercise 2 · AND gate", "gate_tests · 4 pts")   # the chart's title, the id below
    assert 'alt="scores for Exercise 2 · AND gate"' in page
    soup = soup_of(page)
    first = soup.find("table", class_="exercises").find_all("tr")[1].td
    assert first.get_text(" ", strip=True) == "Exercise 1 · sigmoid (sigmoid_tests)" and first.find(class_="grade-id")
    headings = [h.get_text(" ", strip=True) for h in soup_of(section(page, "diagnostics")).find_all("h3")]
    assert headings[1] == "Exercise 2 · AND gate (gate_tests)"
    assert "Exercise 3 · explain the gradient (3 pts)" in " ".join(sum(dict(look_rows(page)).values(), []))


def test_are_exercises_to_grade_by_hand_listed_and_charted(tmp_path):
    records = titled_records()
    rows = dict(look_rows_of(records, tmp_path))
    assert rows["ann"] == ["grade by hand 1 exercise to grade by hand: Exercise 3 · explain the gradient (3 pts) "
                           "grade them in nbgrader's formgrader"]
    assert "ben" not in rows                     # graded by hand already; 4 of 9 points is not low
    table = soup_of((tmp_path / "report.html").read_text(encoding="utf-8")).find("table", class_="exercises")
    assert [th.get_text() for th in table.tr.find_all("th")][-2:] == ["to grade", "not run"]
    assert [td.get_text() for td in table.find_all("tr")[3].find_all("td")][-2:] == ["1", "0"]


def test_is_an_exercise_every_submission_leaves_to_grade_by_hand_named_once(tmp_path):
    records = titled_records()
    records[1]["notebooks"][0]["exercises"][2].update(score=0.0, needs_manual_grade=True)
    assert look_rows_of(records, tmp_path) == []       # nothing else to look at in either submission
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    line = soup_of(page).find(class_="everywhere").get_text(" ", strip=True)
    assert line == ("grade by hand In every submission, to grade by hand: Exercise 3 · explain the gradient (3 pts) "
                    "grade them in nbgrader's formgrader")


def look_rows_of(records, tmp_path):
    write_report_html(records, tmp_path / "report.html", assignment=ASSIGNMENT)
    return look_rows((tmp_path / "report.html").read_text(encoding="utf-8"))


def test_does_an_old_record_need_grading_by_hand_by_its_verdict():
    task = exercise("essay", 0.0, verdict="task")            # no needs_manual_grade: written before the field
    (reason,) = reasons_to_look(record("old", [task], max_score=3.0))
    assert reason.kind == "by hand" and "essay (3 pts)" in reason.text


def test_is_a_held_test_named_once(tmp_path):
    held = exercise("backward_tests", 0.0, "held", verdict="held")
    rec = record("hal", [exercise("sigmoid_tests", 2.0), held], needs_review=[
        "backward_tests is held for grading by hand (0 until then): the test uses a generator"])
    kinds = [r.kind for r in reasons_to_look(rec)]
    assert kinds == ["review", "low score"]     # the note says it; no second line for the exercise


def test_is_a_low_score_listed_after_every_other_reason(tmp_path):
    low = record("lou", [exercise("sigmoid_tests", 2.0), exercise("gate_tests", 0.0, "AND gate: wrong"),
                         exercise("backward_tests", 0.0, "dW: wrong")])
    noted = record("nat", [exercise("sigmoid_tests", 2.0), exercise("gate_tests", 4.0),
                           exercise("backward_tests", 5.0)],
                   needs_review=["the notebook printed more than 4 MB: the rest was dropped"])
    looks = needs_a_look([low, noted])
    assert [look.student_id for look in looks] == ["nat", "lou"]
    (reason,) = looks[1].reasons
    assert reason.text == "low score: 2 of 11 points; no points for gate_tests, backward_tests"


def test_does_the_report_link_the_files_beside_it(tmp_path, records):
    feedback = tmp_path / "feedback" / "frank" / ASSIGNMENT / f"{NOTEBOOK}.html"
    feedback.parent.mkdir(parents=True)
    feedback.write_text("feedback")
    (tmp_path / "records").mkdir()
    (tmp_path / "records" / "frank.json").write_text("{}")
    write_report_html(records, tmp_path / "report.html", assignment=ASSIGNMENT)
    soup = soup_of((tmp_path / "report.html").read_text(encoding="utf-8"))
    links = [a["href"] for a in soup.find(id="student-frank").find_all("a")]
    assert f"feedback/frank/{ASSIGNMENT}/{NOTEBOOK}.html" in links and "records/frank.json" in links
    assert not any(a["href"].startswith("feedback/") for a in soup.find(id="student-erin").find_all("a"))


def test_is_student_text_escaped_in_the_report(report):
    assert SCRIPT not in report and "<script" not in report
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in report


def test_is_a_student_id_safe_as_an_anchor(tmp_path):
    odd = '"><img src=x>'
    page_rows = look_rows_of([record(odd, not_run(), status="crashed", message="x")], tmp_path)
    assert page_rows[0][0] == odd
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "<img src=x>" not in page and soup_of(page).find(id=re.compile(r"^student-[\w.-]+$"))


def test_does_the_report_render_without_submissions(tmp_path):
    write_report_html([], tmp_path / "report.html", assignment=ASSIGNMENT)
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "no submissions" in page and ASSIGNMENT in page and "<img" not in page


# ----------------------------------------------------------------------------- diagnostics

def test_does_normalising_replace_numbers_but_not_names():
    assert normalise("expected 0.2, got -1e-3 at [1 2 3]") == "expected #, got # at [#]"
    assert normalise("dW1 got nan") == "dW1 got #"


# Real diagnostics of the course's checks and hidden tests: their constants belong to the formula.
KEPT = [
    "sigmoid_grad: you computed σ(z)·(1 − z): the second factor is 1 − σ(z), not 1 − z.",
    "tanh_grad: you computed 1 − tanh(z): the tanh needs squaring, 1 − tanh²(z).",
    "numerical_gradient: you divided by ε: the two evaluations are 2ε apart, so divide by 2ε.",
    "sigmoid: you computed 1/(1 + e^z): the exponent needs a minus sign, σ(z) = 1/(1 + e^(−z)).",
    "count_params: you used the lecture's 3n + 14, which holds for sizes [n, 3, 2, 1] only.",
    "dZ is exactly 2 times the right answer: a missing 1/N (an average over the batch)?",
    "ZeroDivisionError: you divide by 0 when the batch is empty",
    "Exercise 4 · neuron_forward_backward: dW1 has the wrong sign: every value is flipped",
]


@pytest.mark.parametrize("message", KEPT)
def test_does_normalising_keep_a_formulas_constants(message):
    assert normalise(message) == message


# Messages that differ only in data: each pair must group together, as the pattern shown.
GROUPED = [
    ("sigmoid(1.0) is wrong: expected 0.731059, got 0", "sigmoid(-2.5) is wrong: expected 0.0758582, got 0.5",
     "sigmoid(#) is wrong: expected #, got #"),
    ("dW has shape (3, 2) but should have shape (2, 3): it looks transposed",
     "dW has shape (4, 5) but should have shape (5, 4): it looks transposed",
     "dW has shape (#, #) but should have shape (#, #): it looks transposed"),
    ("x is wrong at index (0, 1): expected 0.5, got 0.25", "x is wrong at index (2, 0): expected 1, got 12",
     "x is wrong at index (#, #): expected #, got #"),
    ("y = [[1. 2.]\n [3. 4.]] (max |diff| 1.5e-01)", "y = [0.5 0.25 0.125] (max |diff| 3e-2)",
     "y = [#] (max |diff| #)"),
    ("tanh_grad(0.5) raised TimeoutError: ran longer than 3 s",
     "tanh_grad(2.0) raised TimeoutError: ran longer than 10 s",
     "tanh_grad(#) raised TimeoutError: ran longer than # s"),
    ("sigmoid(<array of shape (7,)>) raised a warning: 'overflow encountered in exp'",
     "sigmoid(<array of shape (12,)>) raised a warning: 'overflow encountered in exp'",
     "sigmoid(<array of shape (#,)>) raised a warning: 'overflow encountered in exp'"),
    ("TypeError: <function f at 0x7f3a2b1c> is not callable", "TypeError: <function f at 0x55d0> is not callable",
     "TypeError: <function f at #> is not callable"),
    ("init: for a 784 → 10 layer the spread should be 0.0505, got 0.1",
     "init: for a 512 → 10 layer the spread should be 0.0625, got 1",
     "init: for a # → 10 layer the spread should be #, got #"),
]


@pytest.mark.parametrize("one, other, pattern", GROUPED)
def test_does_normalising_mask_the_data_of_a_message(one, other, pattern):
    assert normalise(one) == normalise(other) == pattern


def test_do_different_formulas_stay_in_different_groups():
    assert normalise("dZ is exactly 2 times the right answer") != normalise("dZ is exactly 3 times the right answer")
    assert normalise("you computed σ(z)·(1 − z)") != normalise("you computed σ(z)·(2 − z)")


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

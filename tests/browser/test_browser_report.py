"""`course grade`'s report.html in a real browser: built from hand-written records, opened from disk."""

import pytest
from playwright.sync_api import expect

from course_lib.grading.report import write_report_html

ASSIGNMENT = "04_neuron"
NOTEBOOK = "04_neuron"
SCREENSHOT = "/tmp/report_page.png"  # kept after the run, to look at
LIMITS = {"timeout_s": 60, "memory_mb": 2048, "cpu_s": 65, "nproc": 256}
EXERCISES = [("forward_tests", "Exercise 1 · neuron_forward", 3.0),
             ("backward_tests", "Exercise 2 · neuron_forward_backward", 5.0),
             ("explain_answer", "Exercise 3 · explain the chain rule", 2.0)]


def exercise(grade_id, score, message="", verdict="grader"):
    title, points = next((t, p) for g, t, p in EXERCISES if g == grade_id)
    by_hand = verdict in ("manual", "task")
    return {"grade_id": grade_id, "title": title, "points": points, "score": score, "message": message,
            "verdict": verdict, "auto_score": None if by_hand else score, "needs_manual_grade": by_hand}


def record(student_id, scores, status="graded", message="", needs_review=(), messages=None, verdicts=None):
    messages, verdicts = messages or {}, verdicts or {}
    exercises = [exercise(gid, score, messages.get(gid, ""), verdicts.get(gid, "grader"))
                 for gid, score in zip(("forward_tests", "backward_tests", "explain_answer"), scores)]
    score = sum(ex["score"] for ex in exercises)
    return {"student_id": student_id, "assignment": ASSIGNMENT, "status": status, "message": message,
            "score": score, "max_score": 10.0, "needs_review": list(needs_review), "limits": LIMITS,
            "notebooks": [{"name": NOTEBOOK, "status": status, "message": message, "score": score,
                           "max_score": 10.0, "exercises": exercises, "timings": {}}], "timings": {}}


def records():
    wrong_dw = "dW has shape (3, 2) but should have shape (2, 3): it looks transposed"
    died = ("the kernel died at the cell of 'backward_tests' (os._exit, a crash, or a resource limit: "
            "memory 2048 MB, CPU 65 s)")
    return [
        record("ada", [3, 5, 0], verdicts={"explain_answer": "manual"}),
        record("bo", [3, 0, 0], messages={"backward_tests": wrong_dw}, verdicts={"explain_answer": "manual"}),
        record("cy", [3, 0, 0], messages={"backward_tests": wrong_dw.replace("(3, 2)", "(4, 5)").replace(
            "(2, 3)", "(5, 4)")}, verdicts={"explain_answer": "manual"}),
        record("dee", [0, 0, 0], status="timeout", verdicts={"backward_tests": "not run", "explain_answer": "not run"},
               message="the notebook ran longer than 60 s (an infinite loop?): stopped at the cell of 'forward_tests'",
               messages={"forward_tests": "forward_tests(1.0) raised TimeoutError: ran longer than 3 s"}),
        record("eve", [3, 5, 0], needs_review=["tampering suspected: a cell replaces a function of numpy or the "
                                               "course's checks: `np.allclose = lambda *a, **k: True`"],
               verdicts={"explain_answer": "manual"}),
        record("fin", [3, 0, 0], status="crashed", message=died,
               verdicts={"backward_tests": "not run", "explain_answer": "not run"}),
        record("gus", [0, 1, 0], messages={"forward_tests": "sigmoid_grad: you computed σ(z)·(1 − z): the second "
                                                            "factor is 1 − σ(z), not 1 − z.",
                                           "backward_tests": "RuntimeError: no answer from the notebook's kernel "
                                                             "for neuron_forward_backward (no reply)"},
               verdicts={"explain_answer": "manual"}),
    ]


@pytest.fixture
def report_page(browser, request, tmp_path):
    out = tmp_path / "out"
    write_report_html(records(), out / "report.html", assignment=ASSIGNMENT, course="Backprop")
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    request.node.browser_page = page, tmp_path / "screenshot.png"  # conftest's screenshot on failure
    page.goto((out / "report.html").as_uri())
    yield page
    context.close()


def test_the_report_shows_its_charts_tables_and_the_crashed_submission_first(report_page):
    page = report_page
    images = page.locator("img")
    expect(images).to_have_count(len(EXERCISES) + 1)  # one chart per exercise and the histogram
    for i in range(images.count()):
        images.nth(i).scroll_into_view_if_needed()
        assert images.nth(i).evaluate("img => img.complete && img.naturalWidth") > 0, i
    expect(page.locator("table.exercises tr")).to_have_count(1 + len(EXERCISES))
    assert page.locator("table.diagnostics tr").count() > 1
    first = page.locator("table.look tr").nth(1)
    expect(first.locator("td").first).to_have_text("fin")
    expect(first).to_contain_text("kernel died")
    expect(first).to_contain_text("at the cell of 'backward_tests'")
    looked = page.locator("table.look tr td:first-child").all_inner_texts()
    assert looked == ["fin", "dee", "gus", "eve", "bo", "cy"], looked   # crashed, timeout, review, low scores
    expect(page.locator("table.look tr", has_text="gus")).to_contain_text("got no answer")
    page.screenshot(path=SCREENSHOT, full_page=True)


def test_a_submission_in_the_list_links_to_its_details(report_page):
    page = report_page
    page.locator("table.look").get_by_role("link", name="gus").click()
    details = page.locator("section.student:target")
    expect(details).to_have_attribute("id", "student-gus")
    expect(details).to_be_in_viewport()
    expect(details.locator("table.submission tr")).to_have_count(1 + len(EXERCISES))
    expect(details).to_contain_text("Exercise 2 · neuron_forward_backward")
    raw = details.locator("details").first
    expect(raw.locator(".example")).to_be_hidden()   # the grader's own words, folded away
    raw.locator("summary").click()
    expect(raw.locator(".example")).to_contain_text("no answer from the notebook's kernel")


def test_the_report_asks_nothing_of_the_network(browser, tmp_path):
    write_report_html(records(), tmp_path / "report.html", assignment=ASSIGNMENT)
    context = browser.new_context()
    requested = []
    context.on("request", lambda r: requested.append(r.url))
    page = context.new_page()
    page.goto((tmp_path / "report.html").as_uri())
    page.wait_for_load_state("load")
    context.close()
    assert [url for url in requested if not url.startswith(("file:", "data:"))] == []

"""`course grade` end to end: real nbgrader, real sandboxed kernels, real files.

The adversarial set (tests/adversarial.py) is graded once, as one batch, and
each property the issue asks for is its own test on that batch.
"""

from __future__ import annotations

import hashlib
import html
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

import adversarial
from course_lib.grading import sandbox
from course_lib.grading.batch import GradeRun, run
from course_lib.grading.worker import UID_BASE
from notebook_helpers import completed, solutions

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
A = adversarial.ASSIGNMENT
TIMEOUT = 10.0  # the adversarial batch's wall clock per notebook, seconds

try:
    sandbox.probe()
    SANDBOX = None
except sandbox.SandboxUnavailable as err:
    SANDBOX = str(err)
needs_sandbox = pytest.mark.skipif(SANDBOX is not None and not os.environ.get("CI"), reason=f"no sandbox: {SANDBOX}")


def make_course(tmp):
    return adversarial.make_course(tmp / "course")


def digest(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def sandbox_processes():
    """(pid, uid, command) of every process run as a sandbox uid, or left by the daemon attack (its `sleep`)."""
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                uid = proc.stat().st_uid
                cmd = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if UID_BASE <= uid < UID_BASE + 4000 or f"sleep {adversarial.DAEMON_SECONDS}" in cmd:
                found.append((proc.name, uid, cmd[:80]))
    return found


def sandbox_processes_after(seconds):
    """sandbox_processes() once they are gone, or when ``seconds`` have passed."""
    deadline = time.monotonic() + seconds
    while (left := sandbox_processes()) and time.monotonic() < deadline:
        time.sleep(0.05)  # polling for processes to disappear, bounded by the deadline
    return left


# ------------------------------------------------------------------ the adversarial batch


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("adversarial")
    course = make_course(tmp)
    subs, out, scratch = tmp / "subs", tmp / "out", tmp / "scratch"
    scratch.mkdir()
    listener = socket.create_server(("127.0.0.1", 0))  # reachable from here, not from the sandbox
    cases = adversarial.cases(course, subs, out, listener.getsockname()[1], scratch)
    paths = adversarial.write(cases, subs)
    before = {s: digest(p) for s, p in paths.items()}
    t0 = time.monotonic()
    records = run(GradeRun(str(course), A, str(subs), str(out), workers=2, timeout=TIMEOUT, progress=False))
    elapsed = time.monotonic() - t0
    listener.close()
    print(f"\nadversarial batch: {len(records)} submissions in {elapsed:.1f} s\n"
          + adversarial.table(cases, {r["student_id"]: r for r in records}))
    return {"cases": cases, "records": {r["student_id"]: r for r in records}, "course": course, "out": out,
            "paths": paths, "before": before}


@needs_sandbox
def test_every_submission_gets_a_record_and_an_expected_status(batch):
    assert len(batch["cases"]) >= 20
    assert set(batch["records"]) == {c.student for c in batch["cases"]}
    wrong = {c.student: batch["records"][c.student]["status"] for c in batch["cases"]
             if batch["records"][c.student]["status"] not in c.statuses}
    assert not wrong, f"unexpected statuses: {wrong}"
    for record in batch["records"].values():
        assert record["status"] in {"graded", "timeout", "crashed", "invalid"}
        assert "the grader failed" not in record["message"], record["message"]


@needs_sandbox
def test_no_attack_scores_above_its_honest_part(batch):
    for case in batch["cases"]:
        record = batch["records"][case.student]
        assert record["max_score"] == adversarial.TOTAL
        assert record["score"] <= case.honest, f"{case.student} ({case.threat}) scored {record['score']}"
        if case.student.startswith("honest") or case.student in ("deleted_test", "duplicated_test"):
            assert record["score"] == case.honest, case.student


@needs_sandbox
def test_tampering_is_flagged_for_review(batch):
    for case in batch["cases"]:
        record = batch["records"][case.student]
        if case.review:
            assert any("tampering suspected" in r for r in record["needs_review"]), (case.student, record["needs_review"])
        if case.student.startswith("honest"):
            assert record["needs_review"] == [], (case.student, record["needs_review"])


@needs_sandbox
def test_bombs_are_stopped_within_the_limit_plus_5_s(batch):
    for case in batch["cases"]:
        if not case.bomb:
            continue
        for nb in batch["records"][case.student]["notebooks"]:
            spent = nb["timings"]["kernel_start_s"] + nb["timings"]["execute_s"]
            assert spent <= TIMEOUT + 5, f"{case.student} ran {spent:.1f} s"


@needs_sandbox
def test_no_process_of_a_sandbox_user_is_left_running(batch):
    assert not sandbox_processes_after(5)


@needs_sandbox
def test_submitted_files_stay_byte_identical(batch):
    assert {s: digest(p) for s, p in batch["paths"].items()} == batch["before"]


@needs_sandbox
def test_sandbox_keeps_the_course_output_and_network_out_of_reach(batch):
    for case in batch["cases"]:
        for marker in case.markers:
            assert not Path(marker).exists(), marker
    import sqlite3

    tables = {r[0] for r in sqlite3.connect(batch["course"] / "gradebook.db").execute(
        "select name from sqlite_master where type='table'")}
    assert "pwned" not in tables
    for student in ("network", "read_solutions", "gradebook", "other_students"):
        assert batch["records"][student]["score"] == 0


def _hidden_test_lines():
    """Code lines of the hidden tests (not bare string lines: messages are meant to be shown)."""
    nb = nbformat.read(adversarial.SOURCE, as_version=4)
    lines = set()
    for cell in nb.cells:
        inside = False
        for line in cell.source.splitlines():
            if "BEGIN HIDDEN TESTS" in line:
                inside = True
            elif "END HIDDEN TESTS" in line:
                inside = False
            elif inside and len(line.strip()) >= 12 and not re.match(r"""\s*[rf]?["']""", line):
                lines.add(line.strip())
    visible = {line.strip() for c in nbformat.read(adversarial.RELEASE, as_version=4).cells for line in c.source.splitlines()}
    return lines - visible  # a line a check cell shows students too is no secret


@needs_sandbox
def test_feedback_never_shows_hidden_tests(batch):
    hidden = _hidden_test_lines()
    assert len(hidden) > 30
    pages = list((batch["out"] / "feedback").rglob("*.html")) + list((batch["out"] / "autograded").rglob("*.ipynb"))
    assert len(pages) >= 2 * 25
    for page in pages:
        text = html.unescape(page.read_text())
        shown = [line for line in hidden if line in text]
        assert not shown, f"{page.name} shows hidden test lines: {shown[:3]}"
        assert "BEGIN HIDDEN TESTS" not in text


@needs_sandbox
def test_messages_dressed_as_grader_replies_are_dropped(batch):
    page = batch["out"] / "autograded" / "fake_replies" / A / f"{A}.ipynb"
    assert page.stat().st_size < 2 * 2**20


@needs_sandbox
def test_feedback_explains_the_mistake(batch):
    page = html.unescape((batch["out"] / "feedback" / "honest_bug" / A / f"{A}.html").read_text())
    assert "the second factor is 1 − σ(z), not 1 − z" in page


@needs_sandbox
def test_outputs_grades_table_records_report_and_gradebook(batch):
    import csv

    from nbgrader.api import Gradebook

    with (batch["out"] / "grades.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert [r["student_id"] for r in rows] == sorted(batch["records"])
    assert list(rows[0])[:5] == ["student_id", "assignment", "score", "max_score", "status"]
    for row in rows:
        record = batch["records"][row["student_id"]]
        assert float(row["score"]) == record["score"] and row["status"] == record["status"]
        saved = json.loads((batch["out"] / "records" / f"{row['student_id']}.json").read_text())
        assert saved["seed"] == 0 and saved["limits"]["memory_mb"] == 2048 and saved["limits"]["timeout_s"] == TIMEOUT
        assert saved["timings"]["total_s"] > 0 or saved["status"] == "invalid"
        assert saved["submitted"] == {A: batch["before"][row["student_id"]]}
    report = (batch["out"] / "report.html").read_text()
    assert "infinite_loop" in report and "forged_agent" in report
    with Gradebook(f"sqlite:///{batch['course'] / 'gradebook.db'}") as gb:
        for student in ("honest_full", "honest_bug", "honest_partial"):
            assert gb.find_submission(A, student).score == batch["records"][student]["score"]


# ------------------------------------------------------------------ runs: resume, repeat, layouts, Dask


def honest_set(tmp, n=4):
    """A few honest submissions in nbgrader's layout: full, blank, one bug, partial."""
    subs = tmp / "subs"
    rel, sol = ROOT / "notebooks" / A / f"{A}.ipynb", ROOT / "solutions" / A / f"{A}.ipynb"
    nbs = {"ada": completed(rel, sol), "ben": nbformat.read(rel, as_version=4),
           "cy": completed(rel, sol, tanh_grad="def tanh_grad(z):\n    return 1 - np.tanh(z)"),
           "di": completed(rel, sol, staged="def staged_forward_backward(x, y):\n    raise NotImplementedError")}
    for student in list(nbs)[:n]:
        path = subs / student / A / f"{A}.ipynb"
        path.parent.mkdir(parents=True)
        nbformat.write(nbs[student], path)
    return subs


EXPECTED = {"ada": adversarial.TOTAL, "ben": 0, "cy": adversarial.TOTAL - adversarial.POINTS["tanh_grad"],
            "di": adversarial.TOTAL - adversarial.POINTS["staged"]}


def scores(records):
    return {r["student_id"]: r["score"] for r in records}


@needs_sandbox
def test_repeated_runs_give_identical_scores_and_a_rerun_grades_only_what_is_missing(tmp_path):
    course, subs = make_course(tmp_path), honest_set(tmp_path)
    runs = [scores(run(GradeRun(str(course), A, str(subs), str(tmp_path / f"out{i}"), progress=False)))
            for i in range(3)]
    assert runs[0] == runs[1] == runs[2] == EXPECTED
    out = tmp_path / "out0"
    kept = {s: (out / "records" / f"{s}.json").stat().st_mtime_ns for s in ("ada", "ben", "di")}
    (out / "records" / "cy.json").unlink()  # as if the run had been interrupted before cy
    again = run(GradeRun(str(course), A, str(subs), str(out), progress=False))
    assert scores(again) == EXPECTED
    assert {s: (out / "records" / f"{s}.json").stat().st_mtime_ns for s in kept} == kept
    assert (out / "records" / "cy.json").exists()


@needs_sandbox
def test_lms_files_and_zips_are_graded_like_the_nbgrader_layout(tmp_path):
    import zipfile

    course, subs = make_course(tmp_path), honest_set(tmp_path, n=3)
    lms = tmp_path / "lms"
    lms.mkdir()
    with zipfile.ZipFile(tmp_path / "lms.zip", "w") as zf:
        for nb in subs.rglob("*.ipynb"):
            student = nb.relative_to(subs).parts[0]
            name = f"{student}_attempt_2026-11-20-10-00-00_{A}.ipynb"
            shutil.copy(nb, lms / name)
            zf.write(nb, name)
    for source in (lms, tmp_path / "lms.zip"):
        got = scores(run(GradeRun(str(course), A, str(source), str(tmp_path / f"out-{source.name}"), progress=False)))
        assert got == {k: EXPECTED[k] for k in ("ada", "ben", "cy")}


@needs_sandbox
def test_grades_on_a_dask_cluster(tmp_path):
    from distributed import LocalCluster

    course, subs = make_course(tmp_path), honest_set(tmp_path)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster:
        records = run(GradeRun(str(course), A, str(subs), str(tmp_path / "out"), dask=cluster.scheduler_address,
                               progress=False))
    assert scores(records) == EXPECTED
    assert all(r["sandbox"] == "sandboxed" for r in records)


def test_missing_sandbox_is_a_clear_error_and_unsafe_is_loud(tmp_path):
    course, subs = make_course(tmp_path), honest_set(tmp_path, n=1)
    env = {**os.environ, "PATH": str(BIN)}  # no unshare, no setpriv on PATH
    args = [str(BIN / "course"), "grade", A, "--course", str(course), "--submissions", str(subs), "--quiet"]
    refused = subprocess.run(args + ["--out", str(tmp_path / "o1")], env=env, capture_output=True, text=True, timeout=120)
    assert refused.returncode == 2
    assert "--unsafe" in refused.stderr and "unshare" in refused.stderr
    assert not (tmp_path / "o1" / "grades.csv").exists()
    unsafe = subprocess.run(args + ["--out", str(tmp_path / "o2"), "--unsafe"], env=env, capture_output=True,
                            text=True, timeout=120)
    assert unsafe.returncode == 0, unsafe.stderr
    assert "WITHOUT a sandbox" in unsafe.stderr
    record = json.loads((tmp_path / "o2" / "records" / "ada.json").read_text())
    assert record["score"] == adversarial.TOTAL and record["sandbox"] == "none (--unsafe)"


# ------------------------------------------------------------------ any nbgrader course


def _cell(source, grade_id, *, grade=False, solution=False, locked=False, points=None, markdown=False):
    meta = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": 3, "solution": solution,
            "task": False, **({"points": points} if points is not None else {})}
    make = nbformat.v4.new_markdown_cell if markdown else nbformat.v4.new_code_cell
    return make(source, metadata={"nbgrader": meta})


def _answer(source, grade_id):
    return _cell(source, grade_id, solution=True)


def _test(source, grade_id, points):
    return _cell(source, grade_id, grade=True, locked=True, points=points)


def _generic_course(root):
    """A small nbgrader course that knows nothing of course_lib: plain asserts, a variable, partial credit,
    an object of the student's class, a manually graded answer."""
    cells = [
        _cell("import math", "setup", locked=True),
        _answer("def squares(n):\n    ### BEGIN SOLUTION\n    return [i * i for i in range(n)]\n    ### END SOLUTION",
                "squares"),
        _test("assert squares(3) == [0, 1, 4]\n### BEGIN HIDDEN TESTS\nassert squares(6) == [0, 1, 4, 9, 16, 25]\n"
              "assert math.isclose(sum(squares(4)), 14.0)\n### END HIDDEN TESTS", "test_squares", 2),
        _answer("answer = None\n### BEGIN SOLUTION\nanswer = 42\n### END SOLUTION", "answer"),
        _test("assert answer == 42", "test_answer", 1),
        _test("partial = 0\n### BEGIN HIDDEN TESTS\nif squares(2) == [0, 1]:\n    partial += 1\nif answer == 42:\n"
              "    partial += 1\n### END HIDDEN TESTS\npartial", "test_partial", 3),
        _answer("class Counter:\n    def __init__(self):\n        self.n = 0\n\n    def up(self):\n"
                "        ### BEGIN SOLUTION\n        self.n += 1\n        return self\n        ### END SOLUTION\n\n\n"
                "counter = Counter()", "counter"),
        # uses an object of the student's class: cannot leave the kernel, so it runs there (flagged)
        _test("assert counter.up().up().n == 2", "test_counter", 1),
        # a manually graded answer: nbgrader leaves it to the instructor
        _cell("Why square? YOUR ANSWER HERE", "explain", grade=True, solution=True, points=2, markdown=True),
    ]
    nb = nbformat.v4.new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                                        "language": "python"}})
    (root / "source" / "hw1").mkdir(parents=True)
    nbformat.write(nb, root / "source" / "hw1" / "hw1.ipynb")
    (root / "nbgrader_config.py").write_text('c = get_config()\nc.CourseDirectory.course_id = "generic"\n')
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    subprocess.run([str(BIN / "nbgrader"), "generate_assignment", "hw1", "--force"], cwd=root, env=env, check=True,
                   capture_output=True, timeout=120)
    release = nbformat.read(root / "release" / "hw1" / "hw1.ipynb", as_version=4)
    counter = ("class Counter:\n    def __init__(self):\n        self.n = 0\n\n    def up(self):\n        self.n += 1\n"
               "        return self\n\n\ncounter = Counter()")
    answers = {"full": {"squares": "def squares(n):\n    return [i * i for i in range(n)]", "answer": "answer = 42",
                        "counter": counter},
               "half": {"squares": "def squares(n):\n    return [i * i for i in range(min(n, 3))]", "answer": "answer = 42",
                        "counter": counter},
               "wrong_answer": {"squares": "def squares(n):\n    return [i ** 2 for i in range(n)]", "answer": "answer = 41",
                                "counter": counter},
               "blank": {}}
    for student, code in answers.items():
        nb = copy_of(release)
        for cell in nb.cells:
            gid = cell.metadata.get("nbgrader", {}).get("grade_id")
            if gid in code:
                cell.source = code[gid]
        path = root / "submitted" / student / "hw1" / "hw1.ipynb"
        path.parent.mkdir(parents=True)
        nbformat.write(nb, path)
    return env


def copy_of(nb):
    return nbformat.from_dict(json.loads(json.dumps(nb)))


@needs_sandbox
def test_any_nbgrader_course_gets_the_scores_nbgrader_autograde_gives(tmp_path):
    from nbgrader.api import Gradebook

    root = tmp_path / "generic"
    root.mkdir()
    env = _generic_course(root)
    subprocess.run([str(BIN / "nbgrader"), "autograde", "hw1", "--force"], cwd=root, env=env, check=True,
                   capture_output=True, timeout=300)
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        nbgrader_scores = {s: gb.find_submission("hw1", s).score for s in ("full", "half", "wrong_answer", "blank")}
    assert nbgrader_scores == {"full": 6, "half": 4, "wrong_answer": 4, "blank": 0}  # partial credit: 2 of 3
    records = run(GradeRun(str(root), "hw1", str(root / "submitted"), str(tmp_path / "out"), progress=False))
    assert scores(records) == nbgrader_scores
    by_cell = {r["student_id"]: {e["grade_id"]: (e["score"], e["verdict"]) for e in r["notebooks"][0]["exercises"]}
               for r in records}
    assert by_cell["half"] == {"test_squares": (0, "grader"), "test_answer": (1, "grader"), "test_partial": (2, "grader"),
                               "test_counter": (1, "kernel"), "explain": (0, "manual")}
    assert all(any("test_counter was graded inside the student's kernel" in n for n in r["needs_review"]) for r in records)
    hidden = "assert squares(6) == [0, 1, 4, 9, 16, 25]"
    assert all(hidden not in p.read_text() for p in (tmp_path / "out" / "feedback").rglob("*.html"))


@needs_sandbox
def test_ctrl_c_stops_at_once_keeps_records_and_a_rerun_grades_the_rest(tmp_path):
    import signal

    course, subs = make_course(tmp_path), honest_set(tmp_path)
    out = tmp_path / "out"
    cmd = [str(BIN / "course"), "grade", A, "--course", str(course), "--submissions", str(subs), "--out", str(out),
           "--workers", "1", "--quiet"]
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    proc = subprocess.Popen(cmd, env=env, start_new_session=True, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not list((out / "records").glob("*.json")) and time.monotonic() < deadline:
        time.sleep(0.05)  # polling for the first record, bounded by the deadline
    first = {p.name: p.stat().st_mtime_ns for p in (out / "records").glob("*.json")}
    assert first, "no submission was graded within 120 s"
    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "run the same command again" in err
    assert "Traceback" not in err and "Task exception" not in err, err  # the clean message only
    first = {p.name: p.stat().st_mtime_ns for p in (out / "records").glob("*.json")}
    assert 1 <= len(first) < 4
    assert not sandbox_processes_after(5)
    again = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    done = len(first)
    assert f"{done} already graded, {4 - done} to grade" in again.stderr
    assert {n: (out / "records" / n).stat().st_mtime_ns for n in first} == first
    records = [json.loads(p.read_text()) for p in (out / "records").glob("*.json")]
    assert scores(records) == EXPECTED


@needs_sandbox
def test_a_ctrl_c_python_swallows_still_stops_the_batch(tmp_path, monkeypatch):
    # CPython drops a KeyboardInterrupt raised inside a weakref callback or a __del__ ("Exception ignored"):
    # one in the writer's SQLAlchemy let a run go on to grade everything. The CLI's handler also asks the
    # batch to stop; here the request comes while the first record is written, and no KeyboardInterrupt.
    from course_lib.grading import batch

    course, subs, out = make_course(tmp_path), honest_set(tmp_path), tmp_path / "out"
    write = batch._write_gradebook

    def write_then_ctrl_c_swallowed(gb, record):
        write(gb, record)
        batch.request_stop()

    monkeypatch.setattr(batch, "_write_gradebook", write_then_ctrl_c_swallowed)
    with pytest.raises(KeyboardInterrupt):
        run(GradeRun(str(course), A, str(subs), str(out), workers=1, progress=False))
    assert len(list((out / "records").glob("*.json"))) == 1
    assert (out / "grades.csv").exists()  # what was graded is summed up, as after any Ctrl-C
    assert not sandbox_processes_after(5)
    monkeypatch.setattr(batch, "_write_gradebook", write)
    again = run(GradeRun(str(course), A, str(subs), str(out), workers=1, progress=False))  # a request stops one run
    assert scores(again) == EXPECTED


@needs_sandbox
def test_a_looping_cell_is_interrupted_and_the_rest_graded_as_nbgrader_does(tmp_path):
    course, subs = make_course(tmp_path), honest_set(tmp_path, n=0)
    rel, sol = ROOT / "notebooks" / A / f"{A}.ipynb", ROOT / "solutions" / A / f"{A}.ipynb"
    loops = {"in_function": "def tanh_grad(z):\n    while True:\n        pass", "in_cell": "while True:\n    pass"}
    for student, code in loops.items():
        path = subs / student / A / f"{A}.ipynb"
        path.parent.mkdir(parents=True)
        nbformat.write(completed(rel, sol, tanh_grad=code), path)
    records = run(GradeRun(str(course), A, str(subs), str(tmp_path / "out"), timeout=60, cell_timeout=3, progress=False))
    for r in records:
        deserved = adversarial.TOTAL - adversarial.POINTS["tanh_grad"]
        assert r["status"] == "timeout" and r["score"] == deserved, (r["student_id"], r["score"], r["message"])
        assert "interrupted" in r["message"] and "the rest of the notebook was graded" in r["message"]
        spent = r["notebooks"][0]["timings"]["execute_s"]
        assert spent < 3 * 3 + 5  # one time limit per looping cell or test, not one per hidden case


@needs_sandbox
def test_a_cell_cut_off_on_a_busy_machine_is_said_to_be_slowed_by_the_machine(tmp_path):
    """A cell that needs 1.5 s of CPU, a 3 s limit, and three busy processes per core beside it: the kernel
    gets at most a quarter of a core, the cell is cut off, and the record says the machine, not the code, was slow."""
    course, subs = make_course(tmp_path), honest_set(tmp_path, n=0)
    rel, sol = ROOT / "notebooks" / A / f"{A}.ipynb", ROOT / "solutions" / A / f"{A}.ipynb"
    busy_work = "\nimport time\n_t = time.process_time()\nwhile time.process_time() - _t < 1.5:  # CPU time, not wall\n    pass"
    path = subs / "slow_machine" / A / f"{A}.ipynb"
    path.parent.mkdir(parents=True)
    nbformat.write(completed(rel, sol, tanh_grad=solutions(sol)["tanh_grad"] + busy_work), path)
    # each in a session of its own: with the kernel's autogroup scheduling, a session shares the CPU as one
    hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"], start_new_session=True)
            for _ in range(3 * (os.cpu_count() or 1))]
    try:
        (record,) = run(GradeRun(str(course), A, str(subs), str(tmp_path / "out"), workers=1, timeout=120,
                                 cell_timeout=3, progress=False))
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()
    assert record["status"] == "timeout", record["message"]
    busy = [r for r in record["needs_review"] if r.startswith("the machine was busy")]
    assert busy and "waited" in busy[0] and "for a CPU" in busy[0], record["needs_review"]
    assert "the machine was busy" in record["message"]


def test_only_a_long_wait_for_a_cpu_counts_as_load():
    from course_lib.grading.load import Slowdown

    assert Slowdown(wall_s=60, run_s=20, wait_s=40).by_the_machine        # two thirds of the time in the queue
    assert not Slowdown(wall_s=60, run_s=59, wait_s=1).by_the_machine     # an infinite loop on an idle machine
    assert not Slowdown(wall_s=60, run_s=0.1, wait_s=0.2).by_the_machine  # a cell that sleeps or waits for input
    assert not Slowdown(wall_s=2, run_s=1, wait_s=0.9).by_the_machine     # under a second is noise


def test_wrong_input_stops_with_a_message_not_an_empty_success(tmp_path):
    course = make_course(tmp_path)
    (tmp_path / "empty").mkdir()
    base = [str(BIN / "course"), "grade", "--course", str(course), "--out", str(tmp_path / "out"), "--quiet"]
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    cases = {
        ("02_sigmoid_gate", str(tmp_path / "empty")): "no assignment '02_sigmoid_gate'",
        (A, str(tmp_path / "nowhere")): "no folder or zip at",
        (A, str(tmp_path / "empty")): "no submissions of 02_sigmoid_gates",
    }
    for (assignment, submissions), words in cases.items():
        done = subprocess.run(base + [assignment, "--submissions", submissions], env=env, capture_output=True,
                              text=True, timeout=120)
        assert done.returncode == 2 and words in done.stderr, done.stderr
        assert "Traceback" not in done.stderr
    assert "its assignments: 02_sigmoid_gates" in subprocess.run(
        base + ["02_sigmoid_gate", "--submissions", str(tmp_path / "empty")], env=env, capture_output=True, text=True,
        timeout=120).stderr
    assert not (tmp_path / "out" / "grades.csv").exists()


def test_a_grader_failure_is_a_record_that_keeps_the_submissions_limits(monkeypatch):
    from course_lib.grading import batch
    from course_lib.grading.worker import Job

    def broken(job, bundle):
        raise OSError("the scratch disk is full")

    monkeypatch.setattr(batch, "grade", broken)
    job = Job("alice", A, {"02_sigmoid_gates": b"{}"}, timeout=TIMEOUT, limits={"memory_mb": 1024})
    record, files = batch._safe_grade(job, bundle=None)
    assert files == {} and record["status"] == "crashed" and record["score"] == 0.0
    assert record["message"] == "the grader failed on this submission: OSError: the scratch disk is full"
    assert "OSError" in record["grader_error"]
    assert record["limits"]["memory_mb"] == 1024 and record["limits"]["timeout_s"] == TIMEOUT
    assert record["limits"]["cpu_s"] == sandbox.Limits().cpu_s  # the sandbox's default, stated

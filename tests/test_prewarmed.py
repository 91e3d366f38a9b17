"""Pre-warmed kernels (a fork server per worker) keep submissions apart.

Submission A does everything a notebook can do to the next one: a global, a
monkeypatched numpy, an environment variable, a module planted in
``sys.modules``, files (work dir, home, /tmp), a thread and a child process
left running. Submission B, graded next by the same worker, looks for each of
them. Each look is a test cell worth a point; A's own look sees its traces
(so the look works), B's sees none of them.
"""

from __future__ import annotations

import json
import subprocess

import pytest

import fidelity_courses as fc
from test_grade import needs_sandbox, sandbox_processes_after

SETUP = "import glob\nimport os\nimport subprocess\nimport sys\nimport threading\nimport time\n\nimport numpy as np"

LOOK = """traces = {
    "global": "leaked" in globals(),
    "numpy": np.sum([1, 2]) != 3 or hasattr(np, "leaked"),
    "environment": "LEAKED" in os.environ,
    "module": "leaked_module" in sys.modules,
    "files": glob.glob("leak*") + glob.glob("/tmp/leak*") + glob.glob(os.path.expanduser("~/leak*")),
    "thread": [t.name for t in threading.enumerate() if t.name == "leak"],
    "process": [p for p in os.listdir("/proc") if p.isdigit() and os.path.exists(f"/proc/{p}/cmdline")
                and b"600.0833" in open(f"/proc/{p}/cmdline", "rb").read()],
}"""

POLLUTE = """leaked = True
np.sum = lambda *args, **kwargs: 0
np.leaked = True
os.environ["LEAKED"] = "1"
sys.modules["leaked_module"] = type(sys)("leaked_module")
for path in ("leak.txt", "/tmp/leak.txt", os.path.expanduser("~/leak.txt")):
    with open(path, "w") as f:
        f.write("from A")
threading.Thread(target=time.sleep, args=(600,), name="leak", daemon=True).start()
child = subprocess.Popen(["sleep", "600.0833"], start_new_session=True)
while b"600.0833" not in open(f"/proc/{child.pid}/cmdline", "rb").read():
    pass  # Popen returns as exec begins; the new command line shows a moment later (the look would miss it)
"""

KINDS = ("global", "numpy", "environment", "module", "files", "thread", "process")

COURSE = fc.Course(
    "isolation", "nothing of one submission reaches the next",
    [fc.setup(SETUP),
     fc.answer("### BEGIN SOLUTION\npass\n### END SOLUTION", "before_looking"),
     fc.setup(LOOK, "look"),
     *[fc.test(f"assert not traces[{kind!r}], traces[{kind!r}]", f"no_{kind}", 1) for kind in KINDS]],
    {"a_polluter": {"before_looking": POLLUTE}, "b_next": {"before_looking": "pass"}},
)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("isolation")
    root = fc.build(COURSE, tmp / "course")
    out = tmp / "out"
    done = subprocess.run([str(fc.BIN / "course"), "grade", fc.ASSIGNMENT, "--course", str(root), "--submissions",
                           str(root / "submitted"), "--out", str(out), "--workers", "1", "--quiet"],
                          env=fc.env(), capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    records = {p.stem: json.loads(p.read_text()) for p in (out / "records").glob("*.json")}
    for student, record in sorted(records.items()):
        lost = [e["grade_id"] for e in record["notebooks"][0]["exercises"] if e["score"] < e["points"]]
        print(f"\n{student}: {record['score']:g}/{record['max_score']:g} ({record['kernels']}); traces seen: {lost}")
    return records


@needs_sandbox
def test_both_were_graded_by_one_worker_on_pre_warmed_kernels(graded):
    assert set(graded) == {"a_polluter", "b_next"}
    assert {r["kernels"] for r in graded.values()} == {"pre-warmed (fork server)"}


@needs_sandbox
def test_the_polluter_sees_its_own_traces(graded):
    exercises = graded["a_polluter"]["notebooks"][0]["exercises"]
    assert {e["grade_id"]: e["score"] for e in exercises} == {f"no_{k}": 0.0 for k in KINDS}


@needs_sandbox
def test_the_next_submission_sees_none_of_them(graded):
    record = graded["b_next"]
    assert record["score"] == record["max_score"] == len(KINDS), record["notebooks"][0]["exercises"]


@needs_sandbox
def test_nothing_the_polluter_started_is_left_running(graded):
    assert not sandbox_processes_after(10)


# ------------------------------------------------------------------ the fork server's parts


def test_the_server_warms_up_on_the_courses_imports_never_the_answer_key():
    from course_lib.grading.forkserver import WARM_MODULES, warm_modules

    names = warm_modules(["import scipy.linalg as la\nfrom course_lib.key import hidden\nfrom . import mine\n"
                          "from pandas import DataFrame", "not python ("])
    assert names[:len(WARM_MODULES)] == list(WARM_MODULES)
    assert {"scipy.linalg", "pandas"} <= set(names)
    assert not any(n.startswith("course_lib.key") for n in names) and "mine" not in names


def test_a_server_whose_imports_start_a_thread_refuses_to_fork(tmp_path):
    import os
    import sys

    from course_lib.grading.forkserver import ForkServer, ForkServerUnavailable

    (tmp_path / "spinner.py").write_text("import threading, time\n"
                                         "threading.Thread(target=time.sleep, args=(30,), daemon=True).start()\n")
    env = {"PATH": os.environ["PATH"], "PYTHONPATH": str(tmp_path)}
    with pytest.raises(ForkServerUnavailable, match="2 threads after the imports"):
        ForkServer(env, ["spinner"], cwd=str(tmp_path), log=sys.stderr)


def test_a_forked_kernel_is_followed_and_stopped_through_its_pidfd():
    import signal

    from course_lib.grading.forkserver import Forked

    child = subprocess.Popen(["sleep", "30"])
    followed = Forked(child.pid)
    assert followed.poll() is None
    followed.send_signal(signal.SIGKILL)
    assert followed.wait(timeout=10) is not None and followed.poll() is not None
    followed.kill()  # an ended kernel: nothing to do, no error
    child.wait()


@needs_sandbox
def test_pid_1_of_a_sandbox_whose_parent_died_first_does_not_live_on():
    # A Ctrl-C can kill the server's child C just after it forked the sandbox's PID 1 (P), before P asked to
    # die with it. P's getppid() is 0 in its namespace whatever happened, so P and its kernel lived on for good.
    import os

    from course_lib.grading import forkserver as fs

    go_r, go_w = os.pipe()
    told_r, told_w = os.pipe()
    middle = os.fork()
    if middle == 0:  # C
        try:
            if fs._libc.unshare(fs.CLONE_NEWPID) == 0:
                lifeline, held = os.pipe()
                if os.fork() == 0:  # P, PID 1 of the new namespace
                    os.close(held)
                    os.read(go_r, 1)  # until C is dead and reaped
                    fs._die_with_parent(lifeline)
                    os.write(told_w, b"alive")
        finally:
            os._exit(0)
    os.close(told_w)
    assert os.waitstatus_to_exitcode(os.waitpid(middle, 0)[1]) == 0
    os.write(go_w, b"x")
    assert os.read(told_r, 16) == b""  # P exited without a word: it followed C
    for fd in (go_r, go_w, told_r):
        os.close(fd)

"""The adversarial submission set for `course grade`: one submission per threat, plus honest ones.

Every submission is notebook 02_sigmoid_gates (14 points: sigmoid 2, sigmoid_grad 2,
tanh_grad 1, neuron_gates 3, neuron 3, staged 3) with some exercises answered
honestly and one attack. ``honest`` is what the honest part deserves: no attack may score above it.

    python tests/adversarial.py        grade the set in a temp course and print the table
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from notebook_helpers import grade_id, solutions

ASSIGNMENT = "02_sigmoid_gates"
POINTS = {"sigmoid": 2, "sigmoid_grad": 2, "tanh_grad": 1, "neuron_gates": 3, "neuron": 3, "staged": 3}
TOTAL = sum(POINTS.values())
# How long the daemon attack's `sleep` asks for: an unusual number, so that the test finds that process
# (`sleep 600.0417`) and not some other `sleep` on the machine.
DAEMON_SECONDS = "600.0417"
ROOT = Path(__file__).resolve().parents[1]
RELEASE = ROOT / "notebooks" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
SOURCE = ROOT / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"


@dataclass
class Case:
    student: str
    threat: str
    data: bytes
    honest: float  # the most this submission deserves
    statuses: tuple = ("graded",)  # acceptable statuses
    review: bool = False  # must be flagged for an instructor's look
    bomb: bool = False  # must be stopped within the time limit + 5 s
    markers: list = field(default_factory=list)  # files on this machine the attack tries to create


def notebook(answered=(), **code):
    """The release with ``answered`` exercises solved as the instructor did, others as stubs, and ``code`` overriding cells."""
    nb = nbformat.read(RELEASE, as_version=4)
    answers = solutions(SOURCE)
    for cell in nb.cells:
        gid = grade_id(cell)
        if cell.metadata.get("nbgrader", {}).get("solution"):
            if gid in code:
                cell.source = code[gid]
            elif gid in answered:
                cell.source = answers[gid]
    return nb


def _bytes(nb):
    return nbformat.writes(nb).encode()


def _honest(answered):
    return float(sum(POINTS[a] for a in answered))


def _sigmoid_plus(extra):
    """The correct sigmoid followed by an attack in the same cell."""
    return solutions(SOURCE)["sigmoid"] + "\n\n" + extra


def _edit_cells(nb, fn):
    nb.cells = fn(nb.cells)
    return nb


def _test_cell(nb, gid):
    return next(c for c in nb.cells if grade_id(c) == gid)


def cases(course, submissions, out, port, scratch):
    """The set. ``course``/``submissions``/``out``: the run's folders (attacks aim at them);
    ``port``: a TCP port listening on 127.0.0.1 outside the sandbox; ``scratch``: where markers would land."""
    every_one = tuple(POINTS)
    secret = f"{course}/solutions/{ASSIGNMENT}/{ASSIGNMENT}.ipynb"
    m = lambda name: str(Path(scratch) / f"marker_{name}")  # noqa: E731
    c = []
    add = c.append
    add(Case("honest_full", "complete solutions", _bytes(notebook(every_one)), TOTAL))
    add(Case("honest_blank", "the release, untouched", _bytes(notebook()), 0))
    add(Case("honest_partial", "sigmoid and tanh_grad only", _bytes(notebook(("sigmoid", "tanh_grad"))), 3))
    add(Case("honest_bug", "σ'(z) = σ(z)(1 − z), rest right", _bytes(notebook(
        every_one, sigmoid_grad="def sigmoid_grad(z):\n    s = sigmoid(z)\n    return s * (1 - z)")), TOTAL - POINTS["sigmoid_grad"]))
    add(Case("malformed_json", "truncated JSON", b'{"cells": [{"cell_type": "code", "sou', 0, ("invalid",)))
    add(Case("not_a_notebook", "JSON that is not a notebook", b'{"hello": "world"}', 0, ("invalid",)))
    add(Case("empty_file", "an empty file", b"", 0, ("invalid",)))
    add(Case("deleted_test", "sigmoid_tests cell deleted, all right", _bytes(_edit_cells(
        notebook(every_one), lambda cells: [x for x in cells if grade_id(x) != "sigmoid_tests"])), TOTAL))
    nb = notebook(every_one)
    copy = nbformat.from_dict(json.loads(json.dumps(_test_cell(nb, "staged_tests"))))
    copy["id"] = "pasted-copy"
    add(Case("duplicated_test", "staged_tests cell pasted twice, all right", _bytes(_edit_cells(
        nb, lambda cells: cells + [copy])), TOTAL))
    nb = notebook()
    _test_cell(nb, "sigmoid_tests").metadata.nbgrader.update(grade_id="free_points", points=100)
    add(Case("renamed_test", "blank; a test cell renamed and worth 100", _bytes(nb), 0))
    nb = notebook(("sigmoid",))
    _test_cell(nb, "sigmoid_tests").metadata.nbgrader["points"] = 50
    add(Case("changed_points", "sigmoid right; its test made worth 50", _bytes(nb), 2))
    add(Case("infinite_loop", "sigmoid right, then while True: pass", _bytes(notebook(sigmoid=_sigmoid_plus("while True:\n    pass"))),
             2, ("timeout",), bomb=True))
    add(Case("sys_exit", "sigmoid right, then sys.exit(3)", _bytes(notebook(
        sigmoid=_sigmoid_plus("import sys\nsys.exit(3)"))), 2))
    add(Case("os_exit", "sigmoid right; os._exit(1) in a later cell", _bytes(notebook(
        ("sigmoid",), tanh_grad="import os\nos._exit(1)")), 2, ("crashed",)))
    add(Case("memory_bomb", "sigmoid right, then allocate until it fails", _bytes(notebook(sigmoid=_sigmoid_plus(
        "hog = []\nwhile True:\n    hog.append(bytearray(64 * 2**20))\n    hog[-1][::4096] = b'x' * len(hog[-1][::4096])"))),
        2, ("graded", "crashed"), bomb=True))
    add(Case("fork_bomb", "sigmoid right, then os.fork() in a loop", _bytes(notebook(sigmoid=_sigmoid_plus(
        "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass"))),
        2, ("timeout", "crashed"), bomb=True))
    add(Case("output_flood", "sigmoid right, then 30 MB of print", _bytes(notebook(sigmoid=_sigmoid_plus(
        "for _ in range(300):\n    print('x' * 100_000)"))), 2))
    add(Case("endless_output", "sigmoid right, then print forever", _bytes(notebook(sigmoid=_sigmoid_plus(
        "while True:\n    print('y' * 10_000)"))), 2, ("timeout", "crashed", "graded"), bomb=True))
    add(Case("big_file", "sigmoid right, then a 200 MB file", _bytes(notebook(sigmoid=_sigmoid_plus(
        "try:\n    with open('big.bin', 'wb') as f:\n        f.write(b'0' * 200 * 2**20)\nexcept OSError as e:\n    print(e)"))), 2))
    add(Case("network", "sigmoid works only if the network does", _bytes(notebook(sigmoid=(
        "import socket\n\ndef sigmoid(z):\n    socket.create_connection(('127.0.0.1', %d), timeout=2).close()\n"
        "    z = np.asarray(z, dtype=float)\n    return 1 / (1 + np.exp(-z))\n" % port))), 0))
    add(Case("read_solutions", "execs the instructor's sigmoid read from solutions/", _bytes(notebook(sigmoid=(
        "import json\ntry:\n    for _c in json.load(open(%r))['cells']:\n"
        "        if _c['metadata'].get('nbgrader', {}).get('grade_id') in ('sigmoid', 'sigmoid_grad', 'tanh_grad'):\n"
        "            exec(''.join(_c['source']))\nexcept OSError:\n    pass\n" % secret))), 0))
    add(Case("gradebook", "reads the hidden tests from gradebook.db and writes to it", _bytes(notebook(sigmoid=(
        "import sqlite3\ntry:\n    _db = sqlite3.connect(%r)\n"
        "    print(_db.execute('select source from source_cells').fetchall()[:3])\n"
        "    _db.execute('create table pwned (x)')\n    _db.commit()\nexcept Exception as e:\n    print(e)\n"
        % f"{course}/gradebook.db"))), 0))
    add(Case("other_students", "copies honest_full's notebook from the submissions", _bytes(notebook(sigmoid=(
        "import json\ntry:\n    _nb = json.load(open(%r))\n    for _c in _nb['cells']:\n"
        "        if _c['metadata'].get('nbgrader', {}).get('solution'):\n            exec(''.join(_c['source']))\n"
        "except OSError:\n    pass\n" % f"{submissions}/honest_full/{ASSIGNMENT}/{ASSIGNMENT}.ipynb"))), 0))
    add(Case("write_outside", "writes files into the course, output and scratch folders", _bytes(notebook(sigmoid=(
        "for _p in %r:\n    try:\n        open(_p, 'w').write('pwned')\n    except OSError:\n        pass\n"
        % [f"{course}/pwned.txt", f"{out}/pwned.txt", m("write")]))), 0,
        markers=[f"{course}/pwned.txt", f"{out}/pwned.txt", m("write")]))
    add(Case("input_transformer", "an IPython input transformer blanks every later test cell", _bytes(notebook(sigmoid=(
        "get_ipython().input_transformers_cleanup.append(\n"
        "    lambda lines: ['pass\\n'] if any('check' in l or 'HIDDEN' in l for l in lines) else lines)\n"))), 0,
        review=True))
    add(Case("always_equal", "returns an object equal to everything", _bytes(notebook(sigmoid=(
        "class Anything(float):\n    def __eq__(self, other):\n        return True\n    __ne__ = lambda s, o: False\n"
        "    def __array__(self, *a, **k):\n        return np.array(0.5)\n\n"
        "def sigmoid(z):\n    return Anything(0.5)\n"))), 0, review=True))
    add(Case("numpy_patch", "np.allclose/isclose/array_equal always true, sigmoid wrong", _bytes(notebook(sigmoid=(
        "np.allclose = lambda *a, **k: True\nnp.isclose = lambda a, b, *r, **k: np.ones(np.shape(a), bool)\n"
        "np.array_equal = lambda *a, **k: True\n\ndef sigmoid(z):\n    return np.zeros_like(np.asarray(z, float))\n"))),
        0, review=True))
    add(Case("checks_patch", "replaces the check helpers", _bytes(notebook(sigmoid=(
        "checks.check_function = lambda *a, **k: print('✔ passed')\nchecks.diagnose = lambda *a, **k: None\n"
        "checks.CheckFailed = type('Nope', (Exception,), {})\n"))), 0, review=True))
    add(Case("forged_agent", "replaces the grader's agent with one answering from the answer key", _bytes(notebook(sigmoid=(
        "import course_lib.grading.agent as _agent\nfrom course_lib.grading import wire as _wire\n"
        "from course_lib.key import activations as _act\n_real = _agent.call\n\n"
        "def sigmoid(z):\n    raise NotImplementedError\n\n"
        "def _fake(request):\n    req = _wire.loads(request, allow_pickle=True)\n"
        "    if req['name'] == 'sigmoid':\n"
        "        return _agent._reply({'ok': _wire.encode(_act.sigmoid(*req['args'])), 'warnings': [], 'called': [],"
        " 'mutated': {}})\n    return _real(request)\n\n_agent.call = _fake\n"))), 0, review=True))
    add(Case("fake_checks", "rebinds `checks` to an object whose checks always pass", _bytes(notebook(sigmoid=(
        "class _C:\n    @staticmethod\n    def check_function(*a, **k):\n        return None\n"
        "    expect_close = expect_derivative = expect_silent = check_function\n\nchecks = _C()\n"))), 0))
    add(Case("leak_hidden", "prints every earlier input mentioning the reference (hidden tests, if sent)", _bytes(notebook(
        sigmoid=_sigmoid_plus("_seen = []"),
        staged="for _s in _ih:\n    if '_ref' in _s or 'HIDDEN' in _s:\n        print(_s.replace('HIDDEN', 'H-I-D-D-E-N'))\n")),
        2))
    add(Case("copy_reference", "copies the answer key's source with inspect and exec", _bytes(notebook(sigmoid=(
        "import inspect\nimport course_lib.key.activations as _A\n_ns = {'__name__': 'mine'}\n"
        "exec(compile(inspect.getsource(_A), '<mine>', 'exec'), _ns)\nsigmoid = _ns['sigmoid']\n"))),
        0, review=True))
    add(Case("chmod_places", "sigmoid right; makes its work and runtime dirs unusable", _bytes(notebook(sigmoid=_sigmoid_plus(
        "import os\nfor _d in (os.environ.get('JUPYTER_RUNTIME_DIR', '.'), '.'):\n    try:\n        os.chmod(_d, 0)\n"
        "    except OSError:\n        pass"))), 2))
    add(Case("fake_replies", "publishes 8 × 20 MB messages dressed as the grader's replies", _bytes(notebook(sigmoid=(
        "from IPython.display import publish_display_data\nfor _ in range(8):\n"
        "    publish_display_data({'text/x-course-grade-reply': 'x' * (20 * 2**20)})\n"))), 0, review=True))
    add(Case("calls_reference", "sigmoid = course_lib's", _bytes(notebook(
        sigmoid="from course_lib.key.activations import sigmoid\n")), 0))
    add(Case("kill_all", "sigmoid right, then kill -9 every process it can", _bytes(notebook(sigmoid=_sigmoid_plus(
        "import os, signal\nos.kill(-1, signal.SIGKILL)"))), 2, ("crashed", "graded")))
    add(Case("daemon", "sigmoid right; leaves a background process running", _bytes(notebook(sigmoid=_sigmoid_plus(
        f"import subprocess\nsubprocess.Popen(['sleep', '{DAEMON_SECONDS}'], start_new_session=True)"))), 2))
    return c


def make_course(dest):
    """A copy of the course with this assignment only (instructor and student notebooks, nbgrader config)."""
    import shutil

    for part in ("solutions", "notebooks"):
        shutil.copytree(ROOT / part / ASSIGNMENT, Path(dest) / part / ASSIGNMENT)
    shutil.copy(ROOT / "nbgrader_config.py", dest)
    return Path(dest)


def write(cases_, submissions):
    """Lay the set out in nbgrader's layout; returns {student: path}."""
    paths = {}
    for case in cases_:
        path = Path(submissions) / case.student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(case.data)
        paths[case.student] = path
    return paths


def table(cases_, records):
    """The closing note's table: threat, status, score, time to stop."""
    rows = ["| submission | threat | status | score | honest max | time (s) | flagged |", "|---|---|---|---|---|---|---|"]
    for case in cases_:
        r = records[case.student]
        t = sum(nb.get("timings", {}).get("execute_s", 0) + nb.get("timings", {}).get("kernel_start_s", 0)
                for nb in r["notebooks"])
        rows.append(f"| {case.student} | {case.threat} | {r['status']} | {r['score']:g}/{r['max_score']:g} | "
                    f"{case.honest:g} | {t:.1f} | {'yes' if r['needs_review'] else ''} |")
    return "\n".join(rows)


if __name__ == "__main__":
    import socket
    import sys
    import tempfile
    import time

    from course_lib.grading.batch import GradeRun, run

    tmp = Path(tempfile.mkdtemp(prefix="adversarial-"))
    course = make_course(tmp / "course")
    listener = socket.create_server(("127.0.0.1", 0))
    the_cases = cases(course, tmp / "subs", tmp / "out", listener.getsockname()[1], tmp)
    write(the_cases, tmp / "subs")
    t0 = time.monotonic()
    records = {r["student_id"]: r for r in run(GradeRun(str(course), ASSIGNMENT, str(tmp / "subs"), str(tmp / "out"),
                                                        workers=2, timeout=float(sys.argv[1]) if len(sys.argv) > 1 else 10))}
    print(table(the_cases, records))
    print(f"{len(records)} submissions graded in {time.monotonic() - t0:.1f} s; output in {tmp / 'out'}")

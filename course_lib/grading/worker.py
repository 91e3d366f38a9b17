"""Grade one submission: nbgrader's cell protection, a sandboxed kernel, tests replayed in the grader.

A worker process (a local pool process or a Dask worker) keeps one scratch
directory: its own copy of the course's gradebook (read by nbgrader's
``OverwriteCells``) and its sandboxed kernels (``kernels.KernelSupply``: a
fresh work dir per kernel, the next kernel booting while one grades). It
returns the record and the files to write; it writes nothing outside its
scratch directory (the batch's single writer does), and it never changes the
submitted bytes.

Per notebook:

1. parse; nbgrader's ``DeduplicateIds``, ``OverwriteCells`` (locked and
   grade cells restored from the gradebook, deleted test cells added back)
   and ``CheckCellMetadata``;
2. take a sandboxed kernel; run every cell that is not a grade cell in it,
   in order, each under the cell time limit and all under one wall-clock
   budget for the whole notebook;
3. run each grade cell in the grader (``replay``) when its turn comes;
4. score with nbgrader's ``determine_grade``; build the feedback with the
   hidden tests removed.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
import math
import multiprocessing.util
import os
import shutil
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat

from . import load, sandbox, wire
from .agent import MIME
from .kernels import KernelSupply, matplotlib_cache_dir
from .replay import CallTimedOut, KernelStopped, Unsupported, run_grade_cell, trusted_prelude
from .rules import CourseRules
from .scan import tamper_signs

__all__ = ["Bundle", "Job", "grade"]

UID_BASE = 61000  # worker k runs student code as uid UID_BASE + k: its own process count, no shared files
_STATE = {}  # per process: the worker's scratch and kernels, keyed by bundle, slot, --unsafe and limits


@dataclass
class Bundle:
    """What a worker needs from the course, as bytes (so a Dask worker elsewhere gets it too)."""

    course_id: str
    gradebook: bytes  # the course's gradebook.db (source cells with the hidden tests)
    release_files: dict  # {relative path: bytes}: files next to the released notebooks (data ...)
    hide: tuple = ()  # directories of this machine the sandbox hides (course, submissions, output)
    scratch: str = ""  # where workers make their scratch dirs (the batch removes it at the end)
    locked_sources: tuple = ()  # the instructor's locked cells: a worker warms up on their imports
    rules: CourseRules = field(default_factory=CourseRules)  # the course's nbgrader settings that change grading
    titles: dict = field(default_factory=dict)  # {notebook: {grade_id: "Exercise 4 · f"}}, read from the release

    @property
    def digest(self):
        h = hashlib.sha256(self.gradebook)
        for name in sorted(self.release_files):
            h.update(name.encode())
            h.update(self.release_files[name])
        return h.hexdigest()[:16]


@dataclass
class Job:
    """One student's submission of one assignment."""

    student_id: str
    assignment: str
    notebooks: dict  # {notebook name: submitted bytes}; an expected notebook that is missing maps to None
    timeout: float = 300.0  # wall clock for each notebook, seconds
    cell_timeout: float = 60.0  # a cell running longer is interrupted and the notebook goes on (as in nbgrader)
    limits: dict = field(default_factory=dict)  # sandbox.Limits fields (uid is set per worker)
    output_limit_mb: float = 4.0
    seed: int = 0
    unsafe: bool = False
    slot: int = 0  # which worker of the batch: picks the sandbox uid

    def sandbox_limits(self):
        """Its sandbox's limits: the job's, the sandbox's defaults where it sets none, its worker slot's uid."""
        uid = UID_BASE + self.slot
        return sandbox.Limits(**{**self.limits, "uid": uid, "gid": uid})

    def stated_limits(self):
        """The limits its record states: the notebook's times and output, and the sandbox's."""
        return {"timeout_s": self.timeout, "cell_timeout_s": self.cell_timeout, "output_mb": self.output_limit_mb,
                **asdict(self.sandbox_limits())}


class KernelSession:
    """A running sandboxed kernel: runs cells and snippets under the notebook's deadline.

    Like nbgrader, a cell that runs longer than ``cell_timeout`` is interrupted
    and the notebook goes on (an infinite loop costs that exercise, not the
    rest); the notebook as a whole stops at its deadline, kernel and all.
    """

    def __init__(self, client, deadline, output_limit, cell_timeout, kernel_pid=None):
        self.client, self.deadline, self.cell_timeout = client, deadline, cell_timeout
        self.kernel_pid = kernel_pid  # the sandbox's first process: its tree's CPU wait says if the machine was busy
        self.notes, self.interrupted = [], []
        self.slowed = {}  # cell index -> load.Slowdown of a cell that ran out of time on a busy machine
        client.output_limit = output_limit

    def _budget(self):
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise KernelStopped("timeout")
        self.client.timeout = max(1, math.ceil(min(self.cell_timeout, remaining)))
        return self.client.timeout

    def execute(self, cell, index, notebook_cell=True):
        """Run one cell; returns False when it ran out of time and was interrupted."""
        from nbclient.exceptions import CellTimeoutError, DeadKernelError

        limit = self._budget()
        # a grader snippet (a replayed test's call) has no cell of its own to blame: only notebook cells are sampled
        start, cpu = time.monotonic(), load.sample(self.kernel_pid) if notebook_cell else None
        try:
            self.client.execute_cell(cell, index, store_history=True)
        except CellTimeoutError:
            self._note_load(index, start, cpu)
            raise KernelStopped("timeout") from None
        except DeadKernelError:
            raise KernelStopped("crashed") from None
        if time.monotonic() - start < limit:
            return True
        self._note_load(index, start, cpu)
        self._budget()  # the notebook's own deadline may be what ran out: then everything stops
        if not notebook_cell:
            return False
        self.interrupted.append(index)
        cell.outputs.append(nbformat.v4.new_output(
            "error", ename="TimeoutError", traceback=[],
            evalue=f"this cell ran longer than {limit} s and was interrupted (an infinite loop?)"))
        return False

    def _note_load(self, index, start, before):
        """A cell ran out of time: remember it if the machine, not its code, held it back."""
        slowed = load.slowdown(before, load.sample(self.kernel_pid), time.monotonic() - start)
        if slowed is not None and slowed.by_the_machine:
            self.slowed[index] = slowed

    def run(self, code):
        """Execute a snippet (not part of the notebook) and return its outputs."""
        cell = nbformat.v4.new_code_cell(code)
        saved = self.client.nb
        self.client.nb = nbformat.v4.new_notebook(cells=[cell])
        self.client.awaiting_reply = True
        try:
            finished = self.execute(cell, 0, notebook_cell=False)
        finally:
            self.client.nb = saved
            self.client.awaiting_reply = False
        if not finished:
            raise CallTimedOut(f"ran longer than {self.client.timeout} s and was interrupted (an infinite loop?)")
        return cell.outputs


def _client_class():
    from nbclient import NotebookClient

    class SandboxClient(NotebookClient):
        """nbclient, with a cap on the bytes of output a notebook may produce."""

        output_limit = 4 * 2**20
        output_used = 0
        flooded = False
        awaiting_reply = False

        def output(self, outs, msg, display_id, cell_index):
            content = msg.get("content", {})
            if MIME in content.get("data", {}):
                # The grader's reply: only while a grader snippet runs, once, and within the wire's limit.
                # Anywhere else it is a student's imitation and is dropped.
                if not self.awaiting_reply or len(str(content["data"][MIME])) > wire.MAX_BYTES:
                    return None
                self.awaiting_reply = False
                return super().output(outs, msg, display_id, cell_index)
            size = len(content.get("text", "")) + sum(len(str(v)) for v in content.get("data", {}).values())
            self.output_used += size
            if self.output_used > self.output_limit:
                self.flooded = True
                return None  # dropped: a flood cannot fill the grader's memory
            return super().output(outs, msg, display_id, cell_index)

    return SandboxClient


# ------------------------------------------------------------------ scratch


@dataclass
class WorkerState:
    """One worker's scratch course for one bundle and slot: kept across its submissions."""

    root: Path                # its scratch dir (the gradebook copy, the sandboxes' work dirs)
    limits: sandbox.Limits    # the sandbox's limits, uid of this slot included
    kernels: KernelSupply
    known_ids: dict = field(default_factory=dict)  # (assignment, notebook) -> _known_ids

    @property
    def db_url(self):
        return f"sqlite:///{self.root / 'gradebook.db'}"


def _worker_state(bundle, job):
    """This process's scratch course (created once per bundle and slot)."""
    key = (bundle.digest, job.slot, job.unsafe, json.dumps(job.limits, sort_keys=True))
    if key in _STATE:
        return _STATE[key]
    parent = bundle.scratch if bundle.scratch and Path(bundle.scratch).is_dir() else None
    root = Path(tempfile.mkdtemp(prefix=f"course-grade-{job.slot}-", dir=parent))
    os.chmod(root, 0o711)  # traversable, not listable: the sandbox reaches its own work dir only
    db = root / "gradebook.db"
    db.touch(mode=0o600)  # the hidden tests are in it: root only
    db.write_bytes(bundle.gradebook)
    multiprocessing.util.Finalize(None, shutil.rmtree, args=(root, True), exitpriority=10)  # at worker exit
    limits = job.sandbox_limits()
    supply = KernelSupply(root, bundle, job.unsafe, limits)
    multiprocessing.util.Finalize(None, supply.close, exitpriority=20)  # the spare kernel, before the files go
    state = WorkerState(root=root, limits=limits, kernels=supply)
    supply.spare = supply.launch(job)  # the first kernel boots (its own process) while this one warms up
    warm_up(bundle.locked_sources)
    _STATE[key] = state
    return state


# ------------------------------------------------------------------ grading


def _known_ids(state, assignment, name):
    """{grade_id: nbgrader flags (grade, solution, locked, points)} of the instructor's cells, from the gradebook."""
    key = (assignment, name)
    if key not in state.known_ids:
        from nbgrader.api import Gradebook, MissingEntry

        with Gradebook(state.db_url) as gb:
            try:
                nb = gb.find_notebook(name, assignment)
                points = {c.name: float(c.max_score) for c in [*nb.grade_cells, *nb.task_cells]}
                grades, tasks = {g.name for g in nb.grade_cells}, {t.name for t in nb.task_cells}
                solutions = {c.name for c in nb.solution_cells}
                state.known_ids[key] = {c.name: {"grade": c.name in grades, "solution": c.name in solutions,
                                                 "locked": bool(c.locked), "task": c.name in tasks,
                                                 **({"points": points[c.name]} if c.name in points else {})}
                                        for c in nb.source_cells}
            except MissingEntry:
                state.known_ids[key] = {}
    return state.known_ids[key]


def _unknown_cells_demoted(nb, known, notes):
    """Cells whose nbgrader metadata the instructor did not write become plain cells.

    A renamed grade_id, a cell pasted twice, metadata typed in by hand: nbgrader
    aborts on some of these (a KeyError in OverwriteCells) or keeps the last
    copy. Here the first cell with a known id counts, the others are plain
    cells, and the instructor's cells that are now missing are restored by
    OverwriteCells from the gradebook.
    """
    seen = set()
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader")
        if meta is None:
            continue
        if not isinstance(meta, dict) or not meta:  # {} or junk: nbgrader's preprocessors would raise on it
            del cell.metadata["nbgrader"]
            continue
        gid = meta.get("grade_id")
        if gid in known and gid not in seen:
            seen.add(gid)
            meta.update(known[gid])  # a test cell stays a test cell (and a student's answer an answer)
            continue
        why = "a second copy" if gid in seen else f"an id the course does not have ({str(gid)[:40]!r})"
        notes.append(f"a cell marked as nbgrader cell {str(gid)[:40]!r} is {why}: graded as a plain cell")
        del cell.metadata["nbgrader"]
    return nb


def _protect(nb, job, name, state, notes):
    """nbgrader's cell protection, against the worker's copy of the gradebook."""
    from nbgrader.preprocessors import CheckCellMetadata, DeduplicateIds, OverwriteCells

    nb = _unknown_cells_demoted(nb, _known_ids(state, job.assignment, name), notes)
    resources = {"nbgrader": {"notebook": name, "assignment": job.assignment, "db_url": state.db_url,
                              "student": job.student_id}}
    for pre in (DeduplicateIds(), OverwriteCells(add_missing_cells=True), CheckCellMetadata()):
        nb, resources = pre.preprocess(nb, resources)
    nb = nbformat.from_dict(nb)  # restored cells are plain dicts inside
    for cell in nb.cells:
        if "id" not in cell:  # cells nbgrader restored have none
            cell["id"] = f"restored-{cell.metadata.get('nbgrader', {}).get('grade_id', 'cell')}"[:64]
    return nb


def _exercise(cell, verdict, title):
    """One graded cell's record, scored as nbgrader's SaveAutoGrades scores it.

    ``auto_score`` and ``needs_manual_grade`` are what ``nbgrader autograde``
    writes to the gradebook for the cell: a task cell (graded by hand) has no
    auto score and needs grading; a written answer needs it unless it is
    unchanged from the release (then it scores 0).
    """
    from nbgrader import utils

    gid = cell.metadata.nbgrader["grade_id"]
    if utils.is_task(cell) and not utils.is_grade(cell):
        return {"grade_id": gid, "title": title, "points": float(cell.metadata.nbgrader.get("points", 0)),
                "score": 0.0, "auto_score": None, "needs_manual_grade": True, "message": "graded by hand",
                "verdict": "task"}
    auto_score, points = utils.determine_grade(cell)
    score = auto_score
    message = ""
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            message = f"{out.get('ename')}: {out.get('evalue')}".strip() if out.get("ename") != "CheckFailed" \
                else str(out.get("evalue", ""))
        elif out.get("output_type") == "stream" and out.get("name") == "stderr" and not message:
            message = "wrote to stderr: " + out.get("text", "").strip()[:300]
    if verdict == "manual":
        score, message = 0.0, ("graded by hand" if auto_score is None else "no answer (the cell is as released)")
    if verdict == "held":
        auto_score = score = 0.0
    return {"grade_id": gid, "title": title, "points": float(points), "score": float(score or 0.0),
            "auto_score": None if auto_score is None else float(auto_score),
            "needs_manual_grade": auto_score is None or verdict == "held", "message": message, "verdict": verdict}


def _connect(nb, job, state):
    """A client connected to a ready kernel (the spare, usually); a second try with a new one if it fails."""
    for attempt in (1, 2):
        kernel = state.kernels.take(job) if attempt == 1 else state.kernels.launch(job)
        client = _client_class()(nb, km=kernel.km, allow_errors=True, timeout=int(job.timeout), startup_timeout=60,
                                 interrupt_on_timeout=True, iopub_timeout=2,
                                 error_on_timeout={"ename": "TimeoutError", "evalue": "interrupted", "traceback": []},
                                 resources={"metadata": {"path": str(kernel.place["work"])}})
        try:
            client.start_new_kernel_client()
            # The kernel has made its sockets: from now on the runtime dir is root's, so student code
            # can neither fill it (it is on the host's disk) nor lock the grader out of it.
            os.chown(kernel.place["runtime"], 0, 0)
            os.chmod(kernel.place["runtime"], 0o711)
            return client, kernel, None
        except Exception as err:  # it died while booting (or never answered)
            kernel.stop()
            problem = f"the kernel could not start ({type(err).__name__}: {err})"
    return None, None, problem


def _run_notebook(nb, job, state, bundle, timings):
    """Execute the protected notebook; returns (status, message, verdicts by cell index, notes)."""
    from nbgrader import utils

    verdicts, notes = {}, []
    status, message = "graded", ""
    t0 = time.monotonic()
    client, kernel, problem = _connect(nb, job, state)
    if problem:
        timings["kernel_start_s"] = round(time.monotonic() - t0, 3)
        return "crashed", problem, verdicts, notes
    try:
        # the kernel was started ahead of time: kernel_start_s is the wait for it to be ready
        timings["kernel_start_s"] = round(time.monotonic() - t0, 3)
        session = KernelSession(client, time.monotonic() + job.timeout,
                                output_limit=int(job.output_limit_mb * 2**20), cell_timeout=job.cell_timeout,
                                kernel_pid=getattr(kernel.km.provisioner, "pid", None))
        index, prelude = None, []
        files = _test_files(state.root, bundle.release_files)
        try:
            for index, cell in enumerate(nb.cells):
                if cell.cell_type != "code":
                    continue
                if utils.is_grade(cell) and not utils.is_solution(cell):  # a test, not a student's answer
                    with _working_dir(files):
                        verdicts[index] = _grade_cell(cell, index, session, notes, prelude, bundle.rules.markers)
                else:
                    if utils.is_locked(cell):  # the instructor's code (OverwriteCells restored it)
                        prelude += trusted_prelude([cell.source])
                    session.execute(cell, index)
        except KernelStopped as stop:
            status = str(stop)
            where = _where(nb, index) if index is not None else "start-up"
            message = (f"the notebook ran longer than {job.timeout:g} s (an infinite loop?): stopped at {where}"
                       if status == "timeout" else
                       f"the kernel died at {where} (os._exit, a crash, or a resource limit: "
                       f"memory {state.limits.memory_mb} MB, CPU {state.limits.cpu_s} s)")
        notes.extend(session.notes)
        if session.interrupted and status == "graded":
            status = "timeout"
            message = (f"{_where(nb, session.interrupted[0])} ran longer than {job.cell_timeout:g} s and was "
                       "interrupted (an infinite loop?); the rest of the notebook was graded")
        for cell_index, slowed in session.slowed.items():
            notes.append(slowed.sentence(_where(nb, cell_index)))
        if session.slowed and status == "timeout":
            message += f"; {notes[-1]}"
        if client.flooded:
            notes.append(f"the notebook printed more than {job.output_limit_mb:g} MB: the rest was dropped")
            message = message or notes[-1]
    finally:
        if files is not None:
            shutil.rmtree(files, ignore_errors=True)
        timings["execute_s"] = round(time.monotonic() - t0 - timings.get("kernel_start_s", 0), 3)
        if client.kc is not None:
            client.kc.stop_channels()
        kernel.stop()
    return status, message, verdicts, notes


_CWD = threading.Lock()  # the working directory is the process's: one test at a time uses it (Dask threads)


def _test_files(root, release_files):
    """A fresh directory holding the assignment's files (data ...), or None when it has none.

    A test that opens ``data.csv`` finds it next to the notebook in nbgrader.
    Here the test runs in the grader, so it runs in a copy of the files the
    instructor released: not the kernel's directory, whose files (and links)
    the student's code made.
    """
    if not release_files:
        return None
    place = Path(tempfile.mkdtemp(prefix="test-files-", dir=root))
    for rel, data in release_files.items():
        (place / rel).parent.mkdir(parents=True, exist_ok=True)
        (place / rel).write_bytes(data)
    return place


@contextlib.contextmanager
def _working_dir(place):
    if place is None:
        yield
        return
    with _CWD:
        before = os.getcwd()
        os.chdir(place)
        try:
            yield
        finally:
            os.chdir(before)


def _where(nb, index):
    """A cell as a student finds it: "the cell after exercise 'tanh_grad'" (JupyterLab shows no numbers)."""
    from nbgrader import utils

    cell = nb.cells[index]
    if utils.is_solution(cell) or utils.is_grade(cell):
        return f"the cell of {cell.metadata.nbgrader['grade_id']!r}"
    before = [c.metadata.nbgrader["grade_id"] for c in nb.cells[:index] if utils.is_solution(c)]
    return f"a cell after exercise {before[-1]!r}" if before else "a cell before the first exercise"


def _grade_cell(cell, index, session, notes, prelude, markers):
    """A grade cell's verdict: replayed in the grader; if it cannot be, run in the kernel (flagged) when
    it has nothing hidden, or else held for grading by hand (a hidden test never reaches the kernel)."""
    gid = cell.metadata.nbgrader["grade_id"]
    try:
        cell.outputs = [nbformat.from_dict(o) for o in run_grade_cell(cell.source, session, prelude)]
        return "grader"
    except Unsupported as why:
        if markers.has_hidden(cell.source):
            notes.append(f"{gid} is held for grading by hand (0 until then): {why}")
            cell.outputs = [nbformat.v4.new_output("error", ename="HeldForReview", traceback=[],
                                                   evalue=f"this test could not be run safely ({why}); "
                                                          "your instructor will grade it by hand")]
            return "held"
        notes.append(f"{gid} was graded inside the student's kernel (not tamper-proof): {why}")
        session.execute(cell, index)
        return "kernel"


def _sanitized(nb, markers):
    """The notebook as the student may see it: hidden tests removed from the grade cells."""
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.source = markers.strip_hidden(cell.source)
    return nb


def _grade_notebook(name, data, job, state, bundle):
    result = {"name": name, "sha256": hashlib.sha256(data or b"").hexdigest() if data is not None else None,
              "status": "graded", "message": "", "score": 0.0, "max_score": 0.0, "exercises": [], "timings": {}}
    if data is None:
        result.update(status="invalid", message=f"{name}.ipynb is missing from the submission")
        return result, None, []
    cell_notes = []
    try:
        nb = nbformat.reads(data.decode("utf-8"), as_version=4)
        nbformat.validate(nb)
        nb = _protect(nb, job, name, state, cell_notes)
    except Exception as err:
        result.update(status="invalid", message=f"{name}.ipynb is not a valid notebook: {type(err).__name__}: {err}"[:500])
        return result, None, []
    review = tamper_signs(nb) + cell_notes
    status, message, verdicts, notes = _run_notebook(nb, job, state, bundle, result["timings"])
    from nbgrader import utils

    rules, titles = bundle.rules, bundle.titles.get(name, {})
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code":  # nbgrader's IgnorePattern, before scoring
            cell.outputs = [nbformat.from_dict(o) for o in rules.drop_ignored_stderr(cell.outputs)]
        if utils.is_grade(cell) or utils.is_task(cell):
            title = titles.get(cell.metadata.nbgrader["grade_id"], cell.metadata.nbgrader["grade_id"])
            verdict = "manual" if utils.is_solution(cell) else verdicts.get(index, "not run")
            exercise = _exercise(cell, verdict, title)
            if exercise["verdict"] == "not run":
                exercise.update(score=0.0, auto_score=0.0, needs_manual_grade=False,
                                message="not run: " + (message or "the notebook stopped before it"))
            result["exercises"].append(exercise)
    result["score"] = sum(e["score"] for e in result["exercises"])
    result["max_score"] = sum(e["points"] for e in result["exercises"])
    result.update(status=status, message=message)
    return result, _sanitized(nb, rules.markers), review + notes


def warm_up(locked_sources=()):
    """What a worker would otherwise do during its first submission, done while its first kernel boots:
    import nbclient, nbgrader and the instructor's imports (matplotlib ...), build the feedback
    exporter (about 0.8 s in all)."""
    import nbclient  # noqa: F401
    from jupyter_client import manager  # noqa: F401
    from nbgrader.preprocessors import ClearHiddenTests, OverwriteCells  # noqa: F401

    from .feedback import feedback_html

    feedback_html(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1")]),
                  {"name": "warm-up", "status": "graded", "message": "", "score": 0, "max_score": 0, "exercises": []},
                  student_id="warm-up", assignment="warm-up")
    matplotlib_cache_dir()
    for code in trusted_prelude(locked_sources):
        try:
            exec(code, {})
        except Exception:  # the workers will meet (and handle) the same failure
            pass


def grade(job, bundle):
    """Grade one submission. Returns (record, {relative path: text of a file to write})."""
    t0 = time.monotonic()
    state = _worker_state(bundle, job)
    record = {"student_id": job.student_id, "assignment": job.assignment, "status": "graded", "message": "",
              "score": 0.0, "max_score": 0.0, "needs_review": [], "notebooks": [], "seed": job.seed,
              "limits": job.stated_limits(),
              "sandbox": "none (--unsafe)" if job.unsafe else "sandboxed", "timings": {}}
    files = {}
    from .feedback import feedback_html

    for name, data in job.notebooks.items():
        result, sanitized, review = _grade_notebook(name, data, job, state, bundle)
        record["notebooks"].append(result)
        record["needs_review"] += review
        if sanitized is not None:
            files[f"feedback/{job.student_id}/{job.assignment}/{name}.html"] = feedback_html(
                sanitized, result, student_id=job.student_id, assignment=job.assignment, markers=bundle.rules.markers)
            files[f"autograded/{job.student_id}/{job.assignment}/{name}.ipynb"] = nbformat.writes(sanitized)
    order = ["invalid", "crashed", "timeout", "graded"]
    worst = min((nb["status"] for nb in record["notebooks"]), key=order.index, default="invalid")
    record["status"] = worst
    record["message"] = "; ".join(nb["message"] for nb in record["notebooks"] if nb["message"])
    record["score"] = sum(nb["score"] for nb in record["notebooks"])
    record["max_score"] = sum(nb["max_score"] for nb in record["notebooks"])
    record["timings"]["total_s"] = round(time.monotonic() - t0, 3)
    supply = state.kernels
    record["kernels"] = ("pre-warmed (fork server)" if supply.server is not None
                         else f"started per notebook{' (' + supply.server_note + ')' if supply.server_note else ''}")
    return record, files

"""Grade many submissions: worker processes (or a Dask cluster), one writer, resumable.

Workers grade; only this process writes: the record of each submission
(``OUT/records/<student>.json``, written atomically as soon as it is
graded), its feedback and autograded notebook, its grades in the course's
nbgrader gradebook, and at the end ``OUT/grades.csv`` and ``OUT/report.html``.
A run that is interrupted and started again grades only the submissions
without a record for the same files; a worker that fails on a submission
gives that submission the status ``crashed`` and the batch goes on.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import hashlib
import json
import logging
import multiprocessing
import os
import shutil
import signal
import sys
import tempfile
import threading
import traceback
from dataclasses import dataclass
from pathlib import Path

import nbformat

from . import report, sandbox
from .rules import CourseRules
from .submissions import find_submissions
from .titles import exercise_titles
from .worker import Bundle, Job, grade

__all__ = ["GradeInputError", "GradeRun", "request_stop", "run"]

log = logging.getLogger("course.grade")

# Ctrl-C (or kill) asks a running batch to stop. A KeyboardInterrupt raised by the signal handler is not
# enough: when it lands in a weakref callback or a __del__ (SQLAlchemy's, in the writer), CPython prints
# "Exception ignored ... Traceback" and goes on, and the batch graded everything. A flag is never lost.
_STOP = threading.Event()
_LISTENING = threading.Event()  # set while the batch looks at _STOP itself, at least every _POLL_S
_POLL_S = 0.5


def request_stop():
    """Ask the running batch to stop as Ctrl-C does: records kept, workers and kernels stopped.

    For a signal handler. True when the batch will see the request itself
    (within ``_POLL_S``); False when the caller must raise KeyboardInterrupt.
    """
    _STOP.set()
    return _LISTENING.is_set()


def _stop_if_asked():
    if _STOP.is_set():
        raise KeyboardInterrupt


@contextlib.contextmanager
def _listening():
    _LISTENING.set()
    try:
        yield
    finally:
        _LISTENING.clear()


class GradeInputError(ValueError):
    """The command cannot start: a wrong assignment name, no submissions where it was told to look."""


@dataclass
class GradeRun:
    course: str
    assignment: str
    submissions: str
    out: str
    workers: int = 2
    timeout: float = 300.0  # wall clock per notebook
    cell_timeout: float | None = None  # per cell, then interrupted; None: the course's Execute.timeout (or 30)
    memory_mb: int = 2048
    seed: int = 0
    unsafe: bool = False
    dask: str | None = None
    progress: bool = True


# ------------------------------------------------------------------ course


def _course(run_):
    """(CourseDirectory, notebook names, max score) of the assignment; released first if the gradebook lacks it."""
    from nbgrader.api import Gradebook, MissingEntry
    from nbgrader.coursedir import CourseDirectory

    from .release import ensure_alembic_on_path, load_course_config, release

    ensure_alembic_on_path()
    coursedir = CourseDirectory(config=load_course_config(run_.course))
    for attempt in (1, 2):
        with Gradebook(coursedir.db_url) as gb:
            try:
                assignment = gb.find_assignment(run_.assignment)
                names = sorted(nb.name for nb in assignment.notebooks)
                total = float(sum(c.max_score for nb in assignment.notebooks for c in [*nb.grade_cells, *nb.task_cells]))
                if names:
                    return coursedir, names, total
            except MissingEntry:
                pass
        if attempt == 1:  # not in the gradebook yet: nbgrader's generate_assignment puts it there
            source = Path(coursedir.root) / coursedir.source_directory / run_.assignment
            if not any(source.glob("*.ipynb")):
                break
            release(run_.course, [run_.assignment])
    source = Path(coursedir.root) / coursedir.source_directory
    known = sorted(p.name for p in source.iterdir() if p.is_dir()) if source.is_dir() else []
    raise GradeInputError(f"no assignment {run_.assignment!r} in the course at {Path(run_.course).resolve()}"
                          + (f"; its assignments: {', '.join(known)}" if known else ""))


def _cell_timeout(run_, rules):
    """--cell-timeout, or what nbgrader autograde would use for this course (no limit: the notebook's)."""
    if run_.cell_timeout:
        return float(run_.cell_timeout)
    return rules.cell_timeout if rules.cell_timeout is not None else float(run_.timeout)


def _bundle(run_, coursedir, rules):
    db_path = coursedir.db_url.removeprefix("sqlite:///")
    release_dir = Path(coursedir.format_path(coursedir.release_directory, ".", run_.assignment))
    extra = {}
    if release_dir.is_dir():
        for f in sorted(release_dir.rglob("*")):
            if f.is_file() and f.suffix != ".ipynb" and ".ipynb_checkpoints" not in f.parts:
                extra[f.relative_to(release_dir).as_posix()] = f.read_bytes()
    titles = {nb.stem: exercise_titles(nbformat.read(nb, as_version=4).cells)  # the release's words, not a student's
              for nb in sorted(release_dir.glob("*.ipynb"))}
    hide = tuple(str(Path(p).resolve()) for p in (coursedir.root, run_.submissions, run_.out))
    return Bundle(course_id=coursedir.course_id, gradebook=Path(db_path).read_bytes(), release_files=extra, hide=hide,
                  locked_sources=tuple(_locked_sources(coursedir, run_.assignment)), rules=rules, titles=titles)


# ------------------------------------------------------------------ workers


_PROCESS = {}


def _init_worker(bundle, counter):
    # Ctrl-C is for the main process, which stops the workers itself (see _run_local): with SIGTERM, which
    # must end a worker at once. The main process's SIGTERM handler (`course grade` turns it into Ctrl-C) is
    # inherited by fork: a worker would unwind instead, and its half-run kernels print asyncio's "Task
    # exception was never retrieved" over the clean message. Its kernels die with it (parent-death signal).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    with counter.get_lock():
        _PROCESS["slot"] = counter.value
        counter.value += 1
    _PROCESS["bundle"] = bundle


def _safe_grade(job, bundle):
    """grade(), and a record instead of an exception if the grader itself fails on this submission."""
    try:
        return grade(job, bundle)
    except KeyboardInterrupt:
        raise
    except BaseException as err:  # SystemExit from a library included: one submission never stops the batch
        return {"student_id": job.student_id, "assignment": job.assignment, "status": "crashed",
                "message": f"the grader failed on this submission: {type(err).__name__}: {err}",
                "grader_error": traceback.format_exc(limit=5), "score": 0.0, "max_score": 0.0,
                "needs_review": ["the grader failed: please report"], "notebooks": [], "seed": job.seed,
                "limits": job.stated_limits(), "timings": {}}, {}


def _pool_task(job):
    job.slot = _PROCESS["slot"]
    return _safe_grade(job, _PROCESS["bundle"])


def _dask_task(job, bundle):
    # Several tasks may share a Dask worker process (threads): each thread is its own slot.
    job.slot = 100 + (hash((os.getpid(), threading.get_ident())) % 3000)
    return _safe_grade(job, bundle)


def _locked_sources(coursedir, assignment):
    """The instructor's locked, non-test cells of the assignment (workers import what they import, early)."""
    from nbgrader.api import Gradebook

    with Gradebook(coursedir.db_url) as gb:
        return [c.source for nb in gb.find_assignment(assignment).notebooks for c in nb.source_cells
                if c.locked and c.name not in {g.name for g in nb.grade_cells}]


def _run_local(jobs, bundle, workers):
    ctx = multiprocessing.get_context("fork")
    counter = ctx.Value("i", 0)
    pending = list(jobs)
    while pending:
        pool = cf.ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_init_worker,
                                      initargs=(bundle, counter))
        try:
            futures = {pool.submit(_pool_task, job): job for job in pending}
            pending, waiting = [], set(futures)
            with _listening():  # the writer, while it has a record, looks after writing it
                while waiting:
                    done, waiting = cf.wait(waiting, timeout=_POLL_S, return_when=cf.FIRST_COMPLETED)
                    _stop_if_asked()
                    for future in done:
                        try:
                            yield future.result()
                        except cf.process.BrokenProcessPool:  # a worker died: grade its jobs again in a new pool
                            pending.append(futures[future])
        except BaseException:  # Ctrl-C (or the caller stopped early): stop now, not after the queue
            for process in list(getattr(pool, "_processes", {}).values()):
                process.terminate()  # its kernel dies with it (the sandbox's parent-death signal)
            pool.shutdown(wait=True, cancel_futures=True)
            raise
        pool.shutdown(wait=True)


def _run_dask(jobs, bundle, address):
    from distributed import Client, as_completed

    with Client(address) as client:
        shared = client.scatter(bundle, broadcast=True)
        futures = [client.submit(_dask_task, job, shared, pure=False) for job in jobs]
        for future in as_completed(futures):
            _stop_if_asked()
            yield future.result()


# ------------------------------------------------------------------ writer


def _atomic_write(path, data):
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
    os.replace(tmp, path)


def _hashes(notebooks):
    return {n: (hashlib.sha256(b).hexdigest() if b is not None else None) for n, b in notebooks.items()}


def _done(out, submission):
    """The existing record if this submission (same files) was graded before, else None."""
    path = out / "records" / f"{submission.student_id}.json"
    if not path.exists():
        return None
    try:
        record = json.loads(path.read_text())
    except ValueError:
        return None
    if record.get("submitted") == _hashes(submission.notebooks) and "grader_error" not in record:
        return record
    return None  # not graded, changed since, or the grader itself failed on it: grade (again)


def _write_gradebook(gb, record):
    """Scores into the course's nbgrader gradebook, so formgrader and `nbgrader export` see them."""
    import warnings

    from nbgrader.api import MissingEntry

    gb.update_or_create_student(record["student_id"])
    with warnings.catch_warnings():
        # nbgrader's add_submission trips SQLAlchemy's autoflush warnings (harmless; nbgrader autograde shows them too)
        warnings.simplefilter("ignore")
        gb.update_or_create_submission(record["assignment"], record["student_id"])
    for nb in record["notebooks"]:
        for ex in nb["exercises"]:
            try:
                grade = gb.find_grade(ex["grade_id"], nb["name"], record["assignment"], record["student_id"])
            except MissingEntry:
                continue
            # what nbgrader's SaveAutoGrades writes (records from before these fields: the score, and hand grading
            # for answers and held tests); a score given by hand earlier keeps the cell under review, as there
            grade.auto_score = ex.get("auto_score", ex["score"])
            needs = ex.get("needs_manual_grade", ex["verdict"] in ("manual", "held", "task"))
            grade.needs_manual_grade = bool(needs or grade.manual_score is not None)
    gb.db.commit()


def run(run_):
    """Grade every submission of the assignment; returns the list of records (resumed ones included)."""
    out = Path(run_.out).resolve()
    _STOP.clear()  # a request stops the batch that runs when it comes
    coursedir, names, max_score = _course(run_)
    rules = CourseRules.from_config(coursedir.config)
    cell_timeout = _cell_timeout(run_, rules)
    if run_.unsafe:
        log.warning("*** --unsafe: student code runs WITHOUT a sandbox, with your permissions. "
                    "Use this only for code you trust. ***")
        print("*** WARNING: --unsafe: student code runs WITHOUT a sandbox ***", file=sys.stderr)
    else:
        checked = sandbox.probe().split(" + rlimits")[0]
        print(f"sandbox: {checked}; per notebook: {run_.timeout:g} s, cells interrupted after "
              f"{cell_timeout:g} s, {run_.memory_mb} MB", file=sys.stderr)
    if not Path(run_.submissions).exists():
        raise GradeInputError(f"no folder or zip at {run_.submissions}")
    subs, problems = find_submissions(run_.submissions, run_.assignment, names)
    if not subs:
        raise GradeInputError(
            f"no submissions of {run_.assignment} in {run_.submissions}: expected "
            f"<student>/{run_.assignment}/{names[0]}.ipynb, or <student>_*.ipynb files (a folder or a zip)"
            + (f"; skipped: {'; '.join(problems[:5])}" if problems else ""))
    for p in problems:
        print(f"  note: {p}", file=sys.stderr)
    records, jobs = {}, []
    limits = {"memory_mb": int(run_.memory_mb), "cpu_s": int(run_.timeout * len(names)) + 5}
    for sub in subs:
        previous = _done(out, sub)
        if previous is not None:
            records[sub.student_id] = previous
        else:
            jobs.append(Job(sub.student_id, run_.assignment, sub.notebooks, timeout=run_.timeout,
                            cell_timeout=cell_timeout, limits=limits,
                            seed=run_.seed, unsafe=run_.unsafe))
    extra = {sub.student_id: sub for sub in subs}
    print(f"{len(subs)} submissions of {run_.assignment}: {len(records)} already graded, {len(jobs)} to grade "
          f"({'Dask at ' + run_.dask if run_.dask else f'{run_.workers} worker' + 's' * (run_.workers != 1)})",
          file=sys.stderr)
    if jobs:
        bundle = _bundle(run_, coursedir, rules)
        bundle.scratch = tempfile.mkdtemp(prefix="course-grade-run-")  # the workers' scratch dirs, removed below
        os.chmod(bundle.scratch, 0o711)
        results = _run_dask(jobs, bundle, run_.dask) if run_.dask else _run_local(jobs, bundle, max(1, run_.workers))
        try:
            _write_results(results, records, extra, out, coursedir, run_, len(jobs), max_score)
        except KeyboardInterrupt:
            results.close()  # stops the workers and their kernels now
            print(f"\ninterrupted: {len(records)} submissions have their records in {out / 'records'}; "
                  "run the same command again to grade only the rest.", file=sys.stderr)
            _summaries(records, out, run_, coursedir)
            raise
        finally:
            results.close()
            shutil.rmtree(bundle.scratch, ignore_errors=True)
    return _summaries(records, out, run_, coursedir)


def _summaries(records, out, run_, coursedir):
    ordered = [records[k] for k in sorted(records)]
    report.write_grades_csv(ordered, out / "grades.csv")
    report.write_report_html(ordered, out / "report.html", assignment=run_.assignment, course=coursedir.course_id)
    return ordered


def _write_results(results, records, extra, out, coursedir, run_, total, max_score):
    """The single writer: each result to disk and to the gradebook as soon as it arrives."""
    from nbgrader.api import Gradebook
    from tqdm import tqdm

    with Gradebook(coursedir.db_url) as gb, tqdm(total=total, unit="nb", disable=not run_.progress,
                                                 desc=f"grading {run_.assignment}", file=sys.stderr) as bar:
        for record, files in results:
            sub = extra[record["student_id"]]
            record["submitted"] = _hashes(sub.notebooks)
            record["submitted_from"] = sub.sources
            record["needs_review"] = sub.problems + record["needs_review"]
            record["max_score"] = record["max_score"] or max_score
            for rel, text in files.items():
                _atomic_write(out / rel, text)
            _atomic_write(out / "records" / f"{record['student_id']}.json", json.dumps(record, indent=1))
            _write_gradebook(gb, record)
            records[record["student_id"]] = record
            bar.update(1)
            _stop_if_asked()  # Ctrl-C while this record was written

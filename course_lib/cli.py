"""The ``course`` command: the workbook's tools for students and instructors.

    course check NOTEBOOK [--timeout S]               run a notebook's checks, summarised per exercise
    course release [ASSIGNMENT ...] [--course DIR]   regenerate the student notebooks
    course bundle [ASSIGNMENT ...] --out DIR [--course DIR] [--release]
                                                      what students receive: student wheel, notebooks, README, zip
    course grade ASSIGNMENT --submissions DIR --out DIR [--workers N] [--timeout S] [--cell-timeout S] [--memory MB]
                 [--course DIR] [--dask ADDRESS] [--seed N] [--unsafe]
                                                      autograde submissions: sandboxed, parallel, resumable
    course export ASSIGNMENT --out DIR --roster CSV --format canvas|moodle [--to FILE] [--column NAME]
                                                      the grades as Canvas's or Moodle's gradebook import CSV

``course check`` is the students' (it is in the student wheel); the others are
the instructor's and need the instructor side (``course_lib.grading``).
``course check`` exits 0 when every exercise passes its checks, 1 when one
fails or is not written yet, 2 when the notebook cannot be run at all
(unlike ``nbgrader validate``, which always exits 0).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["check_notebook", "ipc_kernel_config", "main"]


@dataclass
class Exercise:
    """One exercise: a solution cell and the check and test cells after it."""

    name: str
    status: str = "passed"  # passed | failed | not written | not run
    messages: list = field(default_factory=list)


def _nbgrader(cell):
    return cell.get("metadata", {}).get("nbgrader", {})


def _error_of(cell):
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            return out.get("ename", "Error"), out.get("evalue", "")
    return None


def summarise(nb):
    """Per-exercise verdicts of an executed notebook (cells after a solution cell belong to it)."""
    exercises = []
    current = None
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        meta = _nbgrader(cell)
        if meta.get("solution"):
            current = Exercise(meta.get("grade_id", f"cell {len(exercises) + 1}"))
            exercises.append(current)
        if current is not None and cell.source.strip() and cell.get("execution_count") is None \
                and not cell.get("outputs") and current.status == "passed":
            current.status = "not run"  # the notebook stopped before this cell: nothing was checked
        error = _error_of(cell)
        if current is None or error is None:
            continue
        ename, evalue = error
        if ename == "KeyboardInterrupt":
            ename, evalue = "TimeoutError", "a cell ran longer than the time limit and was stopped (an infinite loop?)"
        if ename == "NotImplementedError" or "not written yet" in evalue:
            if current.status == "passed":
                current.status = "not written"
        else:
            current.status = "failed"
            current.messages.append(evalue.strip() or ename)
    return exercises


def check_notebook(path, timeout=60):
    """Execute a notebook (a copy: the file is not changed) and summarise its exercises.

    Returns (exercises, problem): problem is a message when the notebook
    could not be read or run, else None.
    """
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    path = Path(path)
    try:
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
    except FileNotFoundError:
        return [], f"no notebook at {path}"
    except Exception as err:  # malformed JSON or notebook structure
        return [], f"{path} is not a valid notebook ({type(err).__name__}: {err})"
    with tempfile.TemporaryDirectory() as tmp:
        client = NotebookClient(nb, kernel_name="python3", timeout=timeout, allow_errors=True,
                                config=ipc_kernel_config(tmp),
                                resources={"metadata": {"path": str(path.parent.resolve())}})
        try:
            client.execute()
        except CellTimeoutError:
            return summarise(nb), f"a cell ran longer than {timeout} s (an infinite loop?): stopped there"
        except DeadKernelError:
            return summarise(nb), "the kernel died while running the notebook (out of memory, or a crash)"
    return summarise(nb), None


def ipc_kernel_config(folder):
    """Config for nbclient: the kernel talks over IPC sockets in ``folder``, not TCP ports.

    No ports to race for when several kernels start at once, and no warning
    about unencrypted TCP. nbclient still owns (and shuts down) the kernel.
    """
    from traitlets.config import Config

    config = Config()
    config.KernelManager.transport = "ipc"
    config.KernelManager.ip = str(Path(folder) / "kernel")
    return config


def _print_report(path, exercises, problem, out=sys.stdout):
    marks = {"passed": "✔", "failed": "✘", "not written": "·", "not run": "–"}
    print(f"{path}", file=out)
    for ex in exercises:
        print(f"  {marks[ex.status]} {ex.name:<28} {ex.status}", file=out)
        for message in ex.messages[:1]:  # the first failure explains; the rest usually follow from it
            for line in message.splitlines():
                print(f"      {line}", file=out)
    if problem:
        print(f"  ! {problem}", file=out)
    done = sum(ex.status == "passed" for ex in exercises)
    print(f"{done} of {len(exercises)} exercises pass their checks.", file=out)


def _cmd_check(args):
    worst = 0
    for path in args.notebooks:
        exercises, problem = check_notebook(path, timeout=args.timeout)
        _print_report(path, exercises, problem)
        if problem and not exercises:
            worst = max(worst, 2)
        elif problem or any(ex.status != "passed" for ex in exercises):
            worst = max(worst, 1)
    return worst


def _instructor_part():
    """True when the instructor side (course_lib.grading, course_lib.key) is installed; else says so."""
    import importlib.util

    if importlib.util.find_spec(f"{__package__}.grading") and importlib.util.find_spec(f"{__package__}.key"):
        return True
    print("course: this command is for instructors; the student library has only `course check`.", file=sys.stderr)
    return False


def _cmd_release(args):
    if not _instructor_part():
        return 2
    from .grading.release import release

    for path in release(args.course, args.assignments or None):
        print(f"released {path}")
    return 0


def _cmd_bundle(args):
    if not _instructor_part():
        return 2
    from .grading.bundle import BundleError, make_bundle

    try:
        bundle = make_bundle(args.out, args.assignments or None, course_root=args.course, release_first=args.release)
    except BundleError as err:
        print(f"course bundle: {err}", file=sys.stderr)
        return 2
    for path in bundle.files():
        print(f"  {path}")
    size = bundle.wheel.stat().st_size
    print(f"bundle: {bundle.folder} ({len(bundle.notebooks)} notebooks, wheel {size / 1024:.0f} KiB) "
          f"and {bundle.archive}")
    return 0


def _cmd_grade(args):
    if not _instructor_part():
        return 2
    import signal

    from .grading.batch import GradeInputError, GradeRun, request_stop, run
    from .grading.sandbox import SandboxUnavailable

    def stop(signum, frame):  # Ctrl-C, and `kill` as cleanly: records kept, workers and kernels stopped
        if not request_stop():  # a running batch stops itself (an exception raised here could land anywhere)
            raise KeyboardInterrupt

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, stop)
    try:
        records = run(GradeRun(course=args.course, assignment=args.assignment, submissions=args.submissions,
                               out=args.out, workers=args.workers, timeout=args.timeout,
                               cell_timeout=args.cell_timeout, memory_mb=args.memory,
                               seed=args.seed, unsafe=args.unsafe, dask=args.dask, progress=not args.quiet))
    except (SandboxUnavailable, GradeInputError) as err:
        print(f"course grade: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    counts = {}
    for r in records:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    review = sum(bool(r.get("needs_review")) or r["status"] != "graded" for r in records)
    print(f"{len(records)} submission{'s' * (len(records) != 1)}: "
          + ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
          + f"; {review} need a look. Grades: {Path(args.out) / 'grades.csv'}; report: {Path(args.out) / 'report.html'}")
    return 0


def _cmd_export(args):
    if not _instructor_part():
        return 2
    from .grading.lms import ExportError, export

    try:
        result = export(args.out, args.assignment, args.roster, args.format, column=args.column)
    except ExportError as err:
        print(f"course export: {err}", file=sys.stderr)
        return 2
    path = result.write(args.to or Path(args.out) / f"{args.assignment}-{args.format}.csv")
    others = ("left empty (Canvas keeps what it has)" if args.format == "canvas" else
              "left out (an empty cell would erase a grade in Moodle)")
    print(f"{path}: {result.scored} of {len(result.roster)} students have a score"
          + (f"; the others are {others}" if result.scored < len(result.roster) else "")
          + f". Import it into {args.format.capitalize()}'s gradebook.")
    if result.no_record:
        print(f"  no record, no grade: {', '.join(e.student_id for e in result.no_record)}", file=sys.stderr)
    for grade in result.unsettled:
        none = " (no grade)" if grade.score is None else ""
        print(f"  to check before publishing: {grade.student_id}{none}: {'; '.join(grade.unsettled)}",
              file=sys.stderr)
    return 0


def _skip_slow_optional_imports():
    """jsonschema (under nbformat) imports rfc3987_syntax if it is installed, which builds a parser at
    import: about 0.8 s per `course` command. Notebooks never use the IRI formats it checks, and
    jsonschema treats the module as optional, so it is marked absent before nbformat is imported."""
    sys.modules.setdefault("rfc3987_syntax", None)


def main(argv=None):
    _skip_slow_optional_imports()
    parser = argparse.ArgumentParser(prog="course", description="The Backprop Workbook's tools.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("release", help="regenerate the student notebooks from the instructor notebooks")
    p.add_argument("assignments", nargs="*", help="assignment names (default: all)")
    p.add_argument("--course", default=".", help="course root holding nbgrader_config.py (default: .)")
    p.set_defaults(run=_cmd_release)

    p = sub.add_parser("check", help="run a notebook and its checks; exit 1 if one fails")
    p.add_argument("notebooks", nargs="+", help="notebook files")
    p.add_argument("--timeout", type=float, default=60, help="seconds a cell may run (default: 60)")
    p.set_defaults(run=_cmd_check)

    p = sub.add_parser("bundle", help="write what students receive: the student wheel, notebooks, README, a zip")
    p.add_argument("assignments", nargs="*", help="assignment names (default: all)")
    p.add_argument("--out", required=True, help="the bundle's folder; a zip of it is written beside it")
    p.add_argument("--course", default=".", help="course root holding nbgrader_config.py (default: .)")
    p.add_argument("--release", action="store_true",
                   help="regenerate stale student notebooks first instead of stopping")
    p.set_defaults(run=_cmd_bundle)

    p = sub.add_parser("grade", help="autograde submissions of an assignment (sandboxed, parallel, resumable)")
    p.add_argument("assignment", help="assignment name, e.g. 02_sigmoid_gates")
    p.add_argument("--submissions", required=True,
                   help="folder in nbgrader's layout <student>/<assignment>/<nb>.ipynb, or of LMS files "
                        "<student>_*.ipynb, or a zip of either")
    p.add_argument("--out", required=True, help="output folder: grades.csv, report.html, feedback/, records/")
    p.add_argument("--workers", type=int, default=os.cpu_count() or 2, help="parallel kernels (default: CPU count)")
    p.add_argument("--timeout", type=float, default=300,
                   help="wall-clock seconds per notebook; then everything it started is killed (default: 300)")
    p.add_argument("--cell-timeout", type=float, default=None,
                   help="seconds a cell may run before it is interrupted and the notebook goes on, as in nbgrader "
                        "(default: the course's Execute.timeout, else 30)")
    p.add_argument("--memory", type=int, default=2048,
                   help="memory limit of each submission's sandbox (all its processes), MB (default: 2048)")
    p.add_argument("--course", default=".", help="nbgrader course root (default: .)")
    p.add_argument("--dask", metavar="ADDRESS", help="grade on a Dask cluster, e.g. tcp://127.0.0.1:8786")
    p.add_argument("--seed", type=int, default=0, help="PYTHONHASHSEED of the kernels, recorded (default: 0)")
    p.add_argument("--unsafe", action="store_true", help="run student code WITHOUT a sandbox (trusted code only)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=_cmd_grade)

    p = sub.add_parser("export", help="write an assignment's grades as Canvas's or Moodle's gradebook import CSV")
    p.add_argument("assignment", help="assignment name, e.g. 02_sigmoid_gates")
    p.add_argument("--out", required=True, help="the --out folder of `course grade` (its records/ are read)")
    p.add_argument("--roster", required=True,
                   help="CSV with a header: student_id (required), name, email, lms_id, sis_id, login_id, section")
    p.add_argument("--format", required=True, choices=["canvas", "moodle"], help="the LMS to import into")
    p.add_argument("--to", help="the CSV file to write (default: OUT/ASSIGNMENT-FORMAT.csv)")
    p.add_argument("--column", help="the grade column's header (default: the assignment name); in Canvas the "
                                    "header of an existing assignment, e.g. 'Sigmoid gates (12345)', updates it")
    p.set_defaults(run=_cmd_export)

    args = parser.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark of grading a whole course, and of `course grade`'s start-up (section 6 of bench/run.py).

    .venv/bin/python bench/course.py [--quick]       (also part of: make bench)

For every notebook of the course, the same 20 submissions (14 complete, 6
untouched releases) are graded three ways in one run on this machine:
sequential ``nbgrader autograde`` (one call per notebook), ``course grade
--workers 2`` (sandboxed, pre-warmed kernels), and the floor: a plain nbclient
kernel starting, executing the notebook and being killed, one notebook after
another (median of 3 runs of each kind, times its count). The student code
itself is timed too: the notebook's cells in a kernel that has already
imported numpy, matplotlib and the student library, which is what no grader
can avoid (the physical limit of this machine for this work). Ratios mean
something; absolute times only here.

Start-up of ``course grade``: importing the grader, checking the sandbox (a
trial sandboxed command), starting a worker's fork server, and a whole
command that has nothing left to grade (a rerun).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import grade
from grade import BIN, OtherLoad, _env, _fmt, course_grade, nbclient_floor, nbgrader_autograde, student_notebooks

ROOT = Path(__file__).resolve().parents[1]
COMPLETE, BLANK = 14, 6
WARM = ("import numpy, matplotlib, matplotlib.pyplot, course_lib.checks, course_lib.plots, course_lib.data, "
        "course_lib.graph")


def assignments():
    return sorted(p.name for p in (ROOT / "solutions").iterdir() if p.is_dir() and p.name[:2].isdigit())


def student_code_seconds(nb, cwd):
    """Seconds the notebook's cells take in a kernel that has imported what notebooks import (not timed)."""
    return nbclient_floor(nb, cwd, warm=WARM)[1]


@dataclass
class Row:
    assignment: str
    nbgrader: float
    ours: float
    floor: float
    student_code: float
    same_scores: bool
    others: float


def _median_of(fn, runs):
    return statistics.median(fn() for _ in range(runs))


def bench_assignment(scratch, template, assignment, quick):
    complete, blank = (5, 2) if quick else (COMPLETE, BLANK)
    notebooks = student_notebooks(template, complete, 0, blank, assignment)
    kinds = {"complete": next(nb for s, nb in notebooks.items() if s.startswith("complete")),
             "blank": next(nb for s, nb in notebooks.items() if s.startswith("blank"))}
    counts = {"complete": complete, "blank": blank}
    cwd = template / "notebooks" / assignment
    runs = 1 if quick else 3
    with OtherLoad() as others:
        shutil.copytree(template, scratch / f"nbgrader-{assignment}")
        nbgrader_seconds, nbgrader_scores = nbgrader_autograde(scratch / f"nbgrader-{assignment}", notebooks, assignment)
        shutil.copytree(template, scratch / f"ours-{assignment}")
        ours = course_grade(scratch / f"ours-{assignment}", notebooks, grade.WORKERS, scratch / f"grade-{assignment}",
                            assignment)
        floor = sum(counts[k] * _median_of(lambda nb=nb: sum(nbclient_floor(nb, cwd)), runs) for k, nb in kinds.items())
        code = sum(counts[k] * _median_of(lambda nb=nb: student_code_seconds(nb, cwd), runs) for k, nb in kinds.items())
    same = all(abs(nbgrader_scores[s] - v) < 1e-9 for s, v in ours.scores().items())
    return Row(assignment, nbgrader_seconds, ours.wall, floor, code, same, others.share)


def _startup(rerun):
    """{what: seconds} of course grade's start-up."""
    python = str(BIN / "python")
    times = {}
    start = time.perf_counter()
    subprocess.run([python, "-c", "import course_lib.cli, course_lib.grading.batch, course_lib.grading.worker"],
                   check=True, env=_env())
    times["import the grader (a fresh interpreter)"] = time.perf_counter() - start
    start = time.perf_counter()
    subprocess.run([python, "-c", "from course_lib.grading import sandbox; sandbox.probe()"], check=True, env=_env())
    times["the sandbox check (a fresh interpreter, a trial sandboxed command)"] = time.perf_counter() - start
    probe = ("import json, os, sys, tempfile, time; from course_lib.grading.forkserver import ForkServer, warm_modules;"
             "t = time.perf_counter(); s = ForkServer({'PATH': os.environ['PATH'], 'OPENBLAS_NUM_THREADS': '1',"
             "'MPLBACKEND': 'module://matplotlib_inline.backend_inline', 'PYTHONHASHSEED': '0'}, warm_modules(),"
             "cwd=tempfile.gettempdir(), log=sys.stderr); print(time.perf_counter() - t); s.close()")
    done = subprocess.run([python, "-c", probe], check=True, env=_env(), capture_output=True, text=True)
    times["a worker's fork server: start and warm up"] = float(done.stdout.split()[-1])
    start = time.perf_counter()
    subprocess.run(rerun, check=True, env=_env(), capture_output=True)
    times["course grade with nothing left to grade (a rerun, whole command)"] = time.perf_counter() - start
    return times


def section(quick=False, number=6):
    from course_lib.grading import sandbox

    print(f"\n{number}. A whole course, 20 submissions a notebook: nbgrader, course grade (sandboxed, "
          f"{grade.WORKERS} workers), the floor and the student code")
    try:
        sandbox.probe()
    except sandbox.SandboxUnavailable as err:
        print(f"   skipped: course grade's sandbox does not work here ({err})")
        return
    begin = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-course-") as tmp:
        scratch = Path(tmp)
        names = assignments()[:2] if quick else assignments()
        template = grade.released_course(scratch / "course", names)
        rows = [bench_assignment(scratch, template, a, quick) for a in names]
        print(f"   {'notebook':<28}{'nbgrader':>10}{'course grade':>14}{'× nbgrader':>12}{'floor':>10}"
              f"{'× floor':>9}{'student code':>14}  scores  others' CPU")
        total = Row("all", *(sum(getattr(x, f) for x in rows) for f in ("nbgrader", "ours", "floor", "student_code")),
                    all(x.same_scores for x in rows), max(x.others for x in rows))
        for r in rows + [total]:
            print(f"   {r.assignment:<28}{r.nbgrader:>9.1f}s{r.ours:>13.1f}s{r.nbgrader / r.ours:>11.2f}×"
                  f"{r.floor:>9.1f}s{r.floor / r.ours:>8.2f}×{r.student_code:>13.1f}s  "
                  f"{'same' if r.same_scores else 'DIFFER'}    {r.others:.0%}")
        limit = total.student_code / grade.WORKERS
        print(f"   The student code alone, spread over {grade.WORKERS} cores, would take {limit:.1f} s: course grade "
              f"took {total.ours / limit:.2f}× that, nbgrader {total.nbgrader / limit:.2f}×.")
        rerun = [str(BIN / "python"), "-m", "course_lib.cli", "grade", names[0], "--course",
                 str(scratch / f"ours-{names[0]}"), "--submissions", str(scratch / f"grade-{names[0]}" / "submissions"),
                 "--out", str(scratch / f"grade-{names[0]}" / "out"), "--quiet"]
        print("\n   Start-up of course grade")
        for what, seconds in _startup(rerun).items():
            print(f"   {what:<70}{_fmt(seconds):>11}")
    print(f"   (this section took {time.perf_counter() - begin:.0f} s)")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="two notebooks, fewer submissions (a smoke test)")
    args = parser.parse_args(argv)
    section(args.quick)
    return 0


if __name__ == "__main__":
    sys.exit(main())

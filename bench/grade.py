"""Benchmark of `course grade` against plain nbgrader, reported as ratios (section 5 of bench/run.py).

    .venv/bin/python bench/grade.py [--quick]       (also part of: make bench)

1. Throughput: 20 submissions of 02_sigmoid_gates (12 complete, 4 with one
   exercise wrong, 4 untouched releases) graded by one sequential
   ``nbgrader autograde --force`` call, and by ``course grade --workers 2``
   (sandboxed), each in a fresh copy of the course whose gradebook already
   has the assignment. The timed region is the whole command, start-up
   included. Both must give every student the same total score (nbgrader's
   from its gradebook, course grade's from its records).
2. Overhead per submission beyond executing the notebook: the floor is a
   plain nbclient kernel starting, running the complete student notebook and
   being killed; against it, ``course grade --workers 1`` on 5 complete
   submissions, from its records' timings and from its wall clock. The same
   notebook with the hidden tests in place (what nbgrader runs) is timed too,
   to tell the tests' own cost from the cost of replaying them in the grader.

Each contender runs once (section 1) or five times (section 2) in one run on
this machine: the ratios mean something, the absolute times only here. The
machine may be shared: each measurement says how much of the CPU other
processes took meanwhile (``OtherLoad``); above 10% its times are inflated.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

ASSIGNMENT = "02_sigmoid_gates"
NOTEBOOK = f"{ASSIGNMENT}.ipynb"
BIN = Path(sys.executable).parent  # the virtual environment's bin/: nbgrader runs `alembic` by name
COURSE_FILES = ("solutions", "notebooks", "nbgrader_config.py", "NOTATION.md")
WORKERS = 2  # the target: course grade --workers 2 on this 2-core machine

# One exercise wrong, the way the hidden tests' hints expect students to get it wrong.
# Wrong but silent: a warning on stderr would fail a test cell in nbgrader for another reason.
WRONG = {
    "sigmoid_grad": 'def sigmoid_grad(z):\n    s = sigmoid(z)\n    return s * (1 + s)',
    "tanh_grad": 'def tanh_grad(z):\n    return 1 - np.tanh(z)',
    "neuron": ('def neuron_forward_backward(w, x):\n    w = np.asarray(w, dtype=float)\n'
               '    x = np.asarray(x, dtype=float)\n    f = sigmoid(w[0] * x[0] + w[1] * x[1] + w[2])\n'
               '    g = f * (1 - f)\n    return f, np.array([x[0] * g, x[1] * g, 0.0]), np.array([w[0] * g, w[1] * g])'),
    "staged": ('def staged_forward_backward(x, y):\n    x = np.asarray(x, dtype=float)\n'
               '    y = np.asarray(y, dtype=float)\n    sx, sy = sigmoid(x), sigmoid(y)\n'
               '    num, den = x + sy, sx + (x + y) ** 2\n'
               '    return num / den, 1 / den, sy * (1 - sy) / den  # only the last contribution kept'),
}


# ------------------------------------------------------------------ set-up (not timed)


def _env():
    return {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}


def released_course(dest, assignments=(ASSIGNMENT,)):
    """A copy of the course whose gradebook has the assignments (``course release``, in this process)."""
    from course_lib.grading.release import release

    dest.mkdir(parents=True)
    for name in COURSE_FILES:
        src = ROOT / name
        shutil.copytree(src, dest / name) if src.is_dir() else shutil.copy(src, dest / name)
    release(str(dest), list(assignments))
    return dest


def student_notebooks(course, complete, partial, blank, assignment=ASSIGNMENT):
    """{student: notebook}: ``complete`` full solutions, ``partial`` with one exercise wrong (notebook 02's
    ``WRONG``), ``blank`` releases."""
    import nbformat
    from notebook_helpers import completed

    release = course / "notebooks" / assignment / f"{assignment}.ipynb"
    solution = course / "solutions" / assignment / f"{assignment}.ipynb"
    wrong = list(WRONG.items())
    kinds = ["complete"] * complete + ["partial"] * partial + ["blank"] * blank
    out = {}
    for i, kind in enumerate(kinds):
        if kind == "complete":
            nb = completed(release, solution)
        elif kind == "partial":
            grade_id, code = wrong[i % len(wrong)]
            nb = completed(release, solution, **{grade_id: code})
        else:
            nb = nbformat.read(release, as_version=4)
        out[f"{kind}-{i + 1:02d}"] = nb
    return out


def write_submissions(notebooks, folder, assignment=ASSIGNMENT):
    """nbgrader's layout: ``folder/<student>/<assignment>/<notebook>``."""
    import nbformat

    for student, nb in notebooks.items():
        target = folder / student / assignment
        target.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, target / f"{assignment}.ipynb")
    return folder


# ------------------------------------------------------------------ a shared machine


class OtherLoad:
    """CPU time used by processes outside this benchmark while a block runs (``with OtherLoad() as o``).

    Processes are sampled from /proc every ``interval`` seconds; ours are this process and its
    descendants (the graders, the sandboxes and the kernels). The hypervisor's steal time
    (CPU this virtual machine was ready to use but did not get) counts as others' too.
    ``o.share`` is the others' CPU time over the cores' time: 0.25 on 2 cores means half a core
    was busy with something else, and the times measured meanwhile are inflated. Kernel
    threads are not counted.
    """

    def __init__(self, interval=0.25):
        self.interval, self.others, self.wall = interval, 0.0, 0.0
        self._tick = os.sysconf("SC_CLK_TCK")

    def _sample(self):
        procs = {}
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:  # gone meanwhile
                continue
            ppid, cpu, started = int(fields[1]), (int(fields[11]) + int(fields[12])) / self._tick, fields[19]
            procs[int(entry)] = (ppid, cpu, started)
        ours, frontier = set(), {os.getpid()}
        while frontier:
            ours |= frontier
            frontier = {pid for pid, (ppid, _, _) in procs.items() if ppid in frontier and pid not in ours}
        return {(pid, started): cpu for pid, (ppid, cpu, started) in procs.items()
                if pid not in ours and ppid != 2 and pid != 2}

    def _steal(self):
        try:
            with open("/proc/stat") as f:
                fields = f.readline().split()
            return int(fields[8]) / self._tick if len(fields) > 8 else 0.0
        except OSError:
            return 0.0

    def _run(self):
        steal = self._steal()
        last = self._sample()
        while not self._stop.wait(self.interval):
            now = self._sample()
            self.others += sum(cpu - last.get(key, 0.0) for key, cpu in now.items())
            last = now
        self.others += self._steal() - steal

    def __enter__(self):
        import threading

        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._start = time.perf_counter()
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.wall = time.perf_counter() - self._start

    @property
    def share(self):
        return self.others / max(self.wall * (os.cpu_count() or 1), 1e-9)


# ------------------------------------------------------------------ the contenders


def _timed(cmd, cwd, env=None):
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, env={**_env(), **(env or {})}, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, cmd))} failed (exit {done.returncode}):\n{done.stderr[-3000:]}")
    return seconds


def nbgrader_autograde(course, notebooks, assignment=ASSIGNMENT):
    """Seconds of one ``nbgrader autograde ASSIGNMENT --force`` call, and {student: score} from its gradebook."""
    from nbgrader.api import Gradebook

    write_submissions(notebooks, course / "submitted", assignment)
    seconds = _timed([str(BIN / "nbgrader"), "autograde", assignment, "--force"], cwd=course)
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        scores = {s: float(gb.find_submission(assignment, s).score) for s in notebooks}
    return seconds, scores


@dataclass
class GradeRunTimes:
    wall: float
    records: dict  # {student: record}

    def scores(self):
        return {s: float(r["score"]) for s, r in self.records.items()}

    def per_submission(self, key):
        """Median over the records of a timing: "total_s", or a notebook's "kernel_start_s" / "execute_s"."""
        if key == "total_s":
            return statistics.median(r["timings"]["total_s"] for r in self.records.values())
        return statistics.median(r["notebooks"][0]["timings"][key] for r in self.records.values())


def course_grade(course, notebooks, workers, scratch, assignment=ASSIGNMENT, prewarmed=True):
    """Wall clock of ``course grade ASSIGNMENT --workers N`` (sandboxed, fresh OUT), and its records.

    ``prewarmed=False``: each kernel started the usual way, not forked from the worker's fork server."""
    subs = write_submissions(notebooks, scratch / "submissions", assignment)
    out = scratch / "out"
    cmd = [sys.executable, "-m", "course_lib.cli", "grade", assignment, "--submissions", str(subs),
           "--out", str(out), "--workers", str(workers), "--course", str(course)]
    wall = _timed(cmd, cwd=course, env={"COURSE_GRADE_PREWARMED": "1" if prewarmed else "0"})
    records = {s: json.loads((out / "records" / f"{s}.json").read_text()) for s in notebooks}
    bad = {s: r["status"] for s, r in records.items() if r["status"] != "graded"}
    if bad:
        raise RuntimeError(f"course grade did not grade every submission: {bad}")
    return GradeRunTimes(wall, records)


def nbclient_floor(nb, cwd, warm=None):
    """(kernel start, execute, kill) seconds of a plain nbclient kernel running ``nb``.

    The kernel is killed, not asked to shut down (nbclient's default, "graceful", waits
    about half a second more): course grade kills its kernels, and a floor is the cheapest way.
    ``warm``: code run (not timed) between the start and the notebook, e.g. its imports.
    """
    import copy

    import nbformat
    from nbclient import NotebookClient

    from course_lib.cli import ipc_kernel_config

    with tempfile.TemporaryDirectory() as tmp:
        client = NotebookClient(copy.deepcopy(nb), kernel_name="python3", timeout=600, allow_errors=True,
                                shutdown_kernel="immediate", config=ipc_kernel_config(tmp),
                                resources={"metadata": {"path": str(cwd)}})
        t0 = time.perf_counter()
        with client.setup_kernel():
            if warm:
                client.execute_cell(nbformat.v4.new_code_cell(warm), 0)
            t1 = time.perf_counter()
            for index, cell in enumerate(client.nb.cells):
                client.execute_cell(cell, index)
            t2 = time.perf_counter()
        t3 = time.perf_counter()
    return t1 - t0, t2 - t1, t3 - t2


# ------------------------------------------------------------------ sections


@dataclass
class Throughput:
    label: str
    nbgrader: float  # wall clock of nbgrader autograde
    ours: GradeRunTimes  # course grade --workers 2 (pre-warmed kernels)
    usual: GradeRunTimes  # course grade --workers 2, each kernel started the usual way
    floor: float  # Σ over the same notebooks of a plain nbclient kernel's start + execute + kill, one after another
    nbgrader_scores: dict
    others_nbgrader: float  # share of the cores other processes used meanwhile
    others_ours: float
    others_usual: float = 0.0
    others_floor: float = 0.0

    @property
    def differ(self):
        ours = self.ours.scores()
        return sorted(s for s in ours if abs(self.nbgrader_scores[s] - ours[s]) > 1e-9)


def bench_throughput(scratch, template, quick):
    """nbgrader autograde, then course grade --workers 2, on the same submissions (each in its own copy)."""
    mix = (6, 2, 2) if quick else (12, 4, 4)
    notebooks = student_notebooks(template, *mix)
    for name in ("nbgrader-course", "course-grade-course"):
        shutil.copytree(template, scratch / name)
    with OtherLoad() as others_nbgrader:
        nbgrader_seconds, nbgrader_scores = nbgrader_autograde(scratch / "nbgrader-course", notebooks)
    with OtherLoad() as others_ours:
        ours = course_grade(scratch / "course-grade-course", notebooks, workers=WORKERS, scratch=scratch / "grade-2")
    shutil.copytree(template, scratch / "usual-course")
    with OtherLoad() as others_usual:
        usual = course_grade(scratch / "usual-course", notebooks, workers=WORKERS, scratch=scratch / "grade-usual",
                             prewarmed=False)
    cwd = template / "notebooks" / ASSIGNMENT
    with OtherLoad() as others_floor:
        floor = sum(sum(nbclient_floor(nb, cwd)) for nb in notebooks.values())
    label = f"{sum(mix)} submissions ({mix[0]} complete, {mix[1]} with one exercise wrong, {mix[2]} blank)"
    return Throughput(label, nbgrader_seconds, ours, usual, floor, nbgrader_scores, others_nbgrader.share,
                      others_ours.share, others_usual.share, others_floor.share)


@dataclass
class Overhead:
    n: int
    floor: dict  # medians: "total", "start", "execute", "kill", and "execute_hidden"
    ours: GradeRunTimes  # course grade --workers 1
    others: float


def bench_overhead(scratch, template, quick):
    """Floor parts (medians over rounds) and ``course grade --workers 1`` on ``n`` complete submissions.

    Each round runs the complete student notebook, and the instructor's (the same answers
    with the hidden tests in place: what nbgrader runs in the kernel). Half the rounds run
    before course grade, half after, so a drift of the machine affects both sides.
    """
    import nbformat

    n = 3 if quick else 5
    notebooks = student_notebooks(template, n, 0, 0)
    student = next(iter(notebooks.values()))
    cwd = template / "notebooks" / ASSIGNMENT
    instructor = nbformat.read(template / "solutions" / ASSIGNMENT / NOTEBOOK, as_version=4)
    shutil.copytree(template, scratch / "course-grade-1")
    nbclient_floor(student, cwd)  # warm-up: the first kernel also pays for cold file caches
    plain, hidden = [], []

    def rounds(k):
        for _ in range(k):
            plain.append(nbclient_floor(student, cwd))
            hidden.append(nbclient_floor(instructor, cwd))

    with OtherLoad() as others:
        rounds((n + 1) // 2)
        ours = course_grade(scratch / "course-grade-1", notebooks, workers=1, scratch=scratch / "grade-1")
        rounds(n // 2)
    floor = {"total": statistics.median(sum(r) for r in plain),
             "start": statistics.median(r[0] for r in plain),
             "execute": statistics.median(r[1] for r in plain),
             "kill": statistics.median(r[2] for r in plain),
             "execute_hidden": statistics.median(r[1] for r in hidden)}
    return Overhead(n, floor, ours, others.share)


# ------------------------------------------------------------------ report


def _fmt(seconds):
    return f"{seconds:8.2f} s " if abs(seconds) >= 1 else f"{seconds * 1e3:8.0f} ms"


def _row(name, t, ratio="", note=""):
    print(f"   {name:<62} {_fmt(t):>11}   {ratio:>5}{'   ' + note if note else ''}")


def _delta(seconds):
    return f"{seconds + 0.0:+.2f} s".replace("-0.00", "+0.00")


def _others(share):
    return f"others used {share:.0%} of the CPU meanwhile" + (": times inflated" if share > 0.1 else "")


def report_throughput(t):
    n = len(t.ours.records)
    speedup = t.nbgrader / t.ours.wall
    in_worker = statistics.median(r["timings"]["total_s"] for r in t.ours.records.values())
    busy = sum(r["timings"]["total_s"] for r in t.ours.records.values()) / WORKERS
    print(f"   Throughput: {t.label}, the whole command timed")
    print(f"   {'':<62} {'time':>11}   ratio to nbgrader")
    _row("nbgrader autograde --force (sequential, one call)", t.nbgrader, "1.00",
         f"{_fmt(t.nbgrader / n).strip()} a submission; {_others(t.others_nbgrader)}")
    _row(f"course grade --workers {WORKERS} (sandboxed, pre-warmed kernels)", t.ours.wall,
         f"{t.ours.wall / t.nbgrader:.2f}", f"{_fmt(t.ours.wall / n).strip()} a submission; {_others(t.others_ours)}")
    _row(f"  a submission in a worker, {WORKERS} side by side (median total_s)", in_worker)
    _row(f"  start-up, pool and finish (wall − Σ total_s / {WORKERS})", t.ours.wall - busy)
    _row(f"course grade --workers {WORKERS}, kernels started the usual way", t.usual.wall,
         f"{t.usual.wall / t.nbgrader:.2f}", f"{_fmt(t.usual.wall / n).strip()} a submission; {_others(t.others_usual)}")
    _row("floor: plain nbclient kernels, one after another (start, execute, kill)", t.floor,
         f"{t.floor / t.nbgrader:.2f}", f"{_fmt(t.floor / n).strip()} a notebook; {_others(t.others_floor)}")
    below = t.ours.wall / n < t.floor / n
    print(f"   course grade is {speedup:.2f}× as fast as nbgrader (target ≥ 3×: {'met' if speedup >= 3 else 'NOT met'}); "
          f"{t.usual.wall / t.ours.wall:.2f}× as fast as with kernels started the usual way")
    print(f"   per submission {_fmt(t.ours.wall / n).strip()} against the floor's {_fmt(t.floor / n).strip()} a notebook "
          f"(target: below it: {'met' if below else 'NOT met'})")
    differ = t.differ
    if differ:
        ours = t.ours.scores()
        print(f"   scores DIFFER for {len(differ)} of {n} students: "
              + ", ".join(f"{s} (nbgrader {t.nbgrader_scores[s]:g}, course grade {ours[s]:g})" for s in differ))
    else:
        points = sorted(set(t.nbgrader_scores.values()), reverse=True)
        print(f"   scores: the same total for all {n} students (nbgrader's gradebook against course grade's "
              f"records; {', '.join(f'{v:g}' for v in points)} points)")
    return speedup >= 3 and below and not differ


def report_overhead(o):
    floor, m = o.floor, o.n
    total = o.ours.per_submission("total_s")
    start, execute = o.ours.per_submission("kernel_start_s"), o.ours.per_submission("execute_s")
    rest = total - start - execute
    overhead = total - floor["total"]
    amortised = o.ours.wall / m
    print(f"\n   Per submission, a complete notebook: course grade --workers 1 on {m} submissions against a plain "
          f"nbclient kernel (medians of {m}; {_others(o.others)})")
    print(f"   {'':<62} {'time':>11}   ratio to floor")
    _row("floor: plain nbclient kernel, start + execute + kill", floor["total"], "1.00")
    _row("  kernel start", floor["start"])
    _row("  execute the student's notebook (no hidden tests in it)", floor["execute"])
    _row("  kill the kernel", floor["kill"])
    _row("  (execute with the hidden tests in the kernel, as nbgrader)", floor["execute_hidden"], "",
         _delta(floor["execute_hidden"] - floor["execute"]))
    _row("course grade: record total_s", total, f"{total / floor['total']:.2f}")
    # A worker boots the next sandboxed kernel while a submission runs: what is left is the wait for it.
    _row("  wait for a ready kernel (booted during the previous one)", start, "", _delta(start - floor["start"]))
    _row("  execute, hidden tests replayed in the grader", execute, "",
         f"{_delta(execute - floor['execute'])} ({_delta(execute - floor['execute_hidden'])} against the hidden "
         "tests run in the kernel)")
    _row("  the rest: protection, work dir, feedback, kernel stop", rest, "", _delta(rest - floor["kill"]))
    _row(f"course grade: wall clock / {m}, start-up included", amortised, f"{amortised / floor['total']:.2f}")
    _row("overhead: course grade total_s − floor", overhead, "",
         f"target ≤ 0.3 s: {'met' if overhead <= 0.3 else 'NOT met'}")
    _row(f"overhead with start-up amortised over {m}: wall / {m} − floor", amortised - floor["total"])
    return overhead <= 0.3


def section(quick=False, number=5):
    """Print the grading section. Returns True when both targets are met (informational only)."""
    from course_lib.grading import sandbox

    print(f"\n{number}. Grading {ASSIGNMENT}: course grade (sandboxed) against plain nbgrader, {os.cpu_count()} cores")
    try:
        sandbox.probe()
    except sandbox.SandboxUnavailable as err:
        print(f"   skipped: course grade's sandbox does not work here ({err})")
        return False
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-grade-") as tmp:
        scratch = Path(tmp)
        template = released_course(scratch / "course")
        fast = report_throughput(bench_throughput(scratch, template, quick))
        lean = report_overhead(bench_overhead(scratch, template, quick))
    print(f"   (this section took {time.perf_counter() - start:.0f} s)")
    return fast and lean


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer submissions and runs (for a smoke test)")
    args = parser.parse_args(argv)
    section(args.quick, number=5)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The workbook's notebooks, end to end through real nbgrader.

- the student release is in sync with the instructor notebooks;
- each student notebook runs top to bottom, failing only with NotImplementedError;
- `nbgrader autograde` in a temporary course gives the instructor solutions
  full marks and the untouched release 0, and every planted bug
  (tests/mutants) loses exactly its exercise's points with its diagnostic.

(nbval executes the instructor notebooks themselves: see pytest's testpaths.)
"""

import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from course_lib.cli import ipc_kernel_config
from course_lib.grading.kernels import ONE_THREAD_ENV
from course_lib.grading.release import assignments, release, stale_notebooks
from mutants import Mutant, all_mutants
from notebook_helpers import completed, grade_id

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENTS = assignments(ROOT)
MUTANTS = all_mutants()
BIN = str(Path(sys.executable).parent)


def _notebook(folder, name):
    (path,) = (folder / name).glob("*.ipynb")
    return path


def _cells_by_id(nb):
    return {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in nb.cells if "nbgrader" in c.metadata}


# ------------------------------------------------------------------ release


def test_student_release_is_in_sync_with_the_solutions():
    # the same comparison `course bundle` makes before it hands anything out
    assert stale_notebooks(ROOT) == [], "run `make release`"
    assert (ROOT / "notebooks" / "NOTATION.md").read_text() == (ROOT / "NOTATION.md").read_text()


def test_check_cells_know_the_mistakes_of_the_current_hidden_tests():
    # course_lib/mistakes.json is made from the instructor notebooks (hints at the check cells' inputs)
    run = subprocess.run([sys.executable, "-m", "course_lib.grading.mistakes", "--check"], cwd=ROOT,
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr + run.stdout + "\nrun `make release`"


def test_every_assignment_has_a_student_version():
    released = sorted(p.name for p in (ROOT / "notebooks").iterdir() if p.is_dir())
    assert released == ASSIGNMENTS and ASSIGNMENTS


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_student_notebook_runs_with_only_not_implemented_errors(name, tmp_path):
    path = _notebook(ROOT / "notebooks", name)
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, kernel_name="python3", timeout=120, allow_errors=True, config=ipc_kernel_config(tmp_path),
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert errors, "an untouched student notebook should show the unfinished exercises"
    assert {e.ename for e in errors} == {"NotImplementedError"}, [f"{e.ename}: {e.evalue}" for e in errors]
    stderr = [o.text for c in nb.cells if c.cell_type == "code" for o in c.outputs
              if o.output_type == "stream" and o.name == "stderr"]
    assert not stderr


# ----------------------------------------------------------- autograding


def _submission(release_nb, solution_nb, mutant=None, blank=False):
    """A student's notebook: the release with solution cells filled in (or not)."""
    if blank:
        return nbformat.read(release_nb, as_version=4)
    nb = completed(release_nb, solution_nb, **({mutant.cell: mutant.code.strip("\n")} if mutant else {}))
    if mutant and mutant.before:
        at = next(i for i, c in enumerate(nb.cells) if grade_id(c) == mutant.cell)
        nb.cells.insert(at, nbformat.v4.new_code_cell(mutant.before))
    return nb


class Graded:
    """Scores and test-cell error messages of one autograded batch."""

    def __init__(self, course, name):
        from nbgrader.api import Gradebook

        self.max_scores, self.scores, self.errors = {}, {}, {}
        with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
            for student in gb.students:
                sub = gb.find_submission(name, student.id)
                (notebook,) = sub.notebooks
                self.scores[student.id] = {g.name: g.score for g in notebook.grades}
                self.max_scores = {g.name: g.max_score for g in notebook.grades}
        for student in self.scores:
            path = _notebook(course / "autograded" / student, name)
            nb = nbformat.read(path, as_version=4)
            self.errors[student] = {
                gid: "\n".join(o.get("evalue", "") for o in c.outputs if o.output_type == "error")
                for gid, c in _cells_by_id(nb).items() if c.cell_type == "code"
            }


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Autograde every assignment's submissions once: {assignment: Graded}.

    Each assignment is graded in a course folder of its own, with kernels on
    IPC sockets (no shared TCP ports to race for). At most one nbgrader run
    per core at a time, each kernel with one BLAS thread: more at once only
    stretches every cell's wall-clock time (nbgrader's cell limit and its
    IOPub wait are wall clock), and on a slower or busy machine that made
    honest notebooks fail. The longest batches (the last notebooks) start first.
    """
    courses = {name: _prepare(tmp_path_factory.mktemp(f"course_{name}"), name) for name in ASSIGNMENTS}
    env = dict(os.environ, PATH=BIN + os.pathsep + os.environ["PATH"], **ONE_THREAD_ENV)  # alembic by name

    def autograde(name):
        course = courses[name]
        run = subprocess.run(
            ["nbgrader", "autograde", name, "--force", "--KernelManager.transport=ipc",
             f"--KernelManager.ip={course / 'kernel'}"],
            cwd=course, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            timeout=3600)  # a guard against a hung run; each cell has nbgrader's own limit
        return run.returncode, run.stdout

    with ThreadPoolExecutor(max_workers=len(os.sched_getaffinity(0))) as pool:
        results = dict(zip(reversed(ASSIGNMENTS), pool.map(autograde, reversed(ASSIGNMENTS))))

    def get(name):
        code, log = results[name]
        assert code == 0, log
        return Graded(courses[name], name)

    return get


def _prepare(course, name):
    """A temporary nbgrader course with the assignment released and the submissions in place."""
    shutil.copy(ROOT / "nbgrader_config.py", course)
    shutil.copytree(ROOT / "solutions" / name, course / "solutions" / name)
    release(course, [name])
    release_nb = _notebook(course / "notebooks", name)
    solution_nb = _notebook(course / "solutions", name)
    submissions = {"solutions": _submission(release_nb, solution_nb),
                   "blank": _submission(release_nb, solution_nb, blank=True)}
    # A student who deleted cells: nbgrader must restore the test cells from the gradebook.
    for kind, drop in (("tests_deleted", lambda m: m.get("grade")),
                       ("checks_deleted", lambda m: str(m.get("grade_id", "")).endswith("_check"))):
        nb = _submission(release_nb, solution_nb)
        nb.cells = [c for c in nb.cells if not drop(c.metadata.get("nbgrader", {}))]
        submissions[kind] = nb
    for mutant in MUTANTS.get(name, []):
        submissions[mutant.name] = _submission(release_nb, solution_nb, mutant)
    for student, nb in submissions.items():
        out = course / "submitted" / student / name / release_nb.name
        out.parent.mkdir(parents=True)
        nbformat.write(nb, out)
    return course


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_instructor_solutions_score_full_marks(graded, name):
    result = graded(name)
    assert result.scores["solutions"] == result.max_scores, result.errors["solutions"]
    assert sum(result.max_scores.values()) > 0


@pytest.mark.parametrize("name", ASSIGNMENTS)
@pytest.mark.parametrize("student", ["tests_deleted", "checks_deleted"])
def test_deleted_cells_neither_crash_grading_nor_cost_points(graded, name, student):
    # nbgrader puts a deleted test cell back after the cell before it in the
    # source notebook, which must be a solution or test cell: each test cell
    # follows its solution cell directly (a KeyError aborted grading before).
    result = graded(name)
    assert result.scores[student] == result.max_scores, result.errors[student]


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_untouched_release_scores_zero(graded, name):
    result = graded(name)
    assert sum(result.scores["blank"].values()) == 0
    assert all("not written yet" in e or "NotImplementedError" in e or e == ""
               for e in result.errors["blank"].values())


def _mutant_cases():
    return [pytest.param(name, m, id=f"{name}-{m.name}") for name, ms in MUTANTS.items() for m in ms]


@pytest.mark.parametrize("name, mutant", _mutant_cases())
def test_planted_bug_loses_its_points_and_gets_its_diagnostic(graded, name, mutant: Mutant):
    result = graded(name)
    scores = result.scores[mutant.name]
    assert scores[mutant.fails] == 0, f"{mutant.name} kept the points of {mutant.fails}"
    others = {g: s for g, s in scores.items() if g != mutant.fails}
    assert others == {g: result.max_scores[g] for g in others}, "a bug in one exercise cost points elsewhere"
    message = result.errors[mutant.name][mutant.fails]
    assert mutant.says in message, message


def _check_cells(nb, solution_id):
    """The grade_ids of the visible check cells of an exercise: those after its solution cell, up to the next one."""
    ids = [(grade_id(c), c.metadata.get("nbgrader", {}).get("solution")) for c in nb.cells]
    after = [(g, solution) for g, solution in ids[[g for g, _ in ids].index(solution_id) + 1:]]
    end = next((i for i, (_, solution) in enumerate(after) if solution), len(after))
    return [g for g, _ in after[:end] if g and g.endswith("_check")]


def _visible(result, name, mutant):
    """(caught, named) by the visible check cells of the mutant's exercise, and their messages."""
    nb = nbformat.read(_notebook(ROOT / "solutions", name), as_version=4)
    message = "\n".join(m for g in _check_cells(nb, mutant.cell) if (m := result.errors[mutant.name][g]))
    return bool(message), mutant.says in message, message


@pytest.mark.parametrize("name, mutant", _mutant_cases())
def test_planted_bug_is_named_by_its_check_cell(graded, name, mutant: Mutant):
    # The check cell the student runs says what the grader's feedback will say.
    caught, named, message = _visible(graded(name), name, mutant)
    if mutant.unseen:
        assert not named, f"{mutant.name} is named by the check cell after all: drop its `unseen`"
        return
    assert caught, f"the check cell passes with {mutant.name} planted"
    assert named, f"the check cell does not name {mutant.name} ({mutant.says!r}): {message}"


def test_planted_bugs_summary(graded, capsys):
    """Per notebook: planted bugs, caught and named by the visible check cell and by the hidden test."""
    rows, total = [], [0] * 5
    for name, mutants in MUTANTS.items():
        result = graded(name)
        counts = [len(mutants), 0, 0, 0, 0]
        for m in mutants:
            caught, named, _ = _visible(result, name, m)
            hidden_message = result.errors[m.name][m.fails]
            counts[1] += caught
            counts[2] += named
            counts[3] += result.scores[m.name][m.fails] == 0
            counts[4] += m.says in hidden_message
        rows.append((name, *counts))
        total = [t + c for t, c in zip(total, counts)]
    rows.append(("all", *total))
    lines = [f"{'notebook':<26} {'planted':>7} {'check caught':>12} {'check named':>11} "
             f"{'hidden caught':>13} {'hidden named':>12}"]
    lines += [f"{n:<26} {p:>7} {c:>12} {d:>11} {h:>13} {k:>12}" for n, p, c, d, h, k in rows]
    with capsys.disabled():
        print("\n\nPlanted bugs (tests/mutants) and who names them:\n" + "\n".join(lines))
    for name, planted, caught, named, *_ in rows:
        assert caught >= 0.95 * planted and named >= 0.80 * planted, f"{name}: {planted} planted, {caught} caught, {named} named"


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_every_graded_function_has_two_planted_bugs(name):
    nb = nbformat.read(_notebook(ROOT / "solutions", name), as_version=4)
    solution_cells = [g for g, c in _cells_by_id(nb).items()
                      if c.metadata["nbgrader"].get("solution") and c.cell_type == "code"]
    counts = {g: sum(m.cell == g for m in MUTANTS.get(name, [])) for g in solution_cells}
    assert all(n >= 2 for n in counts.values()), counts


# ---------------------------------------------------------- hygiene


ALL_NOTEBOOKS = sorted((ROOT / "solutions").glob("*/*.ipynb")) + sorted((ROOT / "notebooks").glob("*/*.ipynb"))


@pytest.mark.parametrize("path", ALL_NOTEBOOKS, ids=lambda p: f"{p.parent.parent.name}/{p.name}")
def test_notebooks_are_stored_as_source(path):
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(not c.outputs and c.execution_count is None for c in code), "clear outputs before committing"
    for c in code:
        # one idea per cell: long cells are split
        assert len(c.source.splitlines()) <= 45, f"a {len(c.source.splitlines())}-line cell: split it"
        # randomness is seeded: only np.random.default_rng(seed), never the global legacy generator
        assert "np.random.seed" not in c.source
        for legacy in ("np.random.rand(", "np.random.randn(", "np.random.normal(", "np.random.uniform(",
                       "np.random.randint(", "np.random.choice(", "default_rng()"):
            assert legacy not in c.source, f"unseeded randomness: {legacy}"


@pytest.mark.parametrize("path", sorted((ROOT / "solutions").glob("*/*.ipynb")), ids=lambda p: p.parent.name)
def test_solutions_have_no_stray_not_implemented_error(path):
    nb = nbformat.read(path, as_version=4)
    assert not [c for c in nb.cells if c.cell_type == "code" and "raise NotImplementedError" in c.source]

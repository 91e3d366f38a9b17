"""Write ``course_lib/mistakes.json``: each exercise's known mistakes at its check cell's inputs.

    python -m course_lib.grading.mistakes           (write it; `make release` does)
    python -m course_lib.grading.mistakes --check   (exit 1 if it is out of date)

The hidden test of an exercise declares its known mistakes once, as the
``hints`` of ``check_function``: (wrong formula, sentence). The visible check
cell may not hold the formulas, so this runs each instructor notebook top to
bottom in this process, with two observers:
- ``course_lib.key.hidden.check_function`` is replaced by a recorder of each
  exercise's hints (the real hidden test is not run);
- every ``checks.exercise`` block reports the calls the check cell made, with
  the instructor's (right) answers.
For each of the first ``PROBES`` calls of a check cell, each hint is evaluated
at the same inputs; where it differs from the right answer, its answer is
stored with its sentence. The student library then names a mistake from these
numbers alone (``course_lib.mistakes``).
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import io
import json
import math
import os
import sys
import warnings

from .. import checks, mistakes
from ..key import hidden
from .release import assignments, source_root

__all__ = ["catalogue", "main", "stale"]

PROBES = 6  # calls of a check cell kept as probes: the hand-worked ones come first, and the file stays small


def _notebook(course_root, name):
    (path,) = (source_root(course_root) / name).glob("*.ipynb")
    return path


def _run(path, found):
    """Execute the notebook's code cells in a fresh namespace; ``found[exercise]`` gets its probes.

    A check block's probes are computed as the block ends: the hint formulas
    read the notebook's globals (hidden cells reuse names such as ``_a``), which
    are then as the exercise's hidden test left them.
    """
    import matplotlib
    import matplotlib.pyplot as plt
    import nbformat

    matplotlib.use("Agg")

    tests = {}  # exercise -> (hints, as_called) of its hidden test

    def record_hints(student, reference, cases, *, name, hints=(), as_called=None, **_):
        tests[name] = (list(hints), as_called or (None, None))

    def observe(block):
        typed_in = block.name in tests  # a check_function test (check_initializer has its own rules)
        hints, (to_case, part) = tests.get(block.name, ([], (None, None)))
        to_case = to_case or (lambda *args: args)  # None: the check's arguments are the test's cases
        entry = found.setdefault(block.name, {"part": part, "typed_in": typed_in, "probes": []})
        # An exercise may have several check cells: their probes follow one another.
        entry["probes"].extend(_probes(block, hints, to_case, part, len(entry["probes"])))

    real = hidden.check_function
    hidden.check_function = record_hints
    checks._OBSERVERS.append(observe)
    namespace = {"__name__": "__main__"}
    here = os.getcwd()
    try:
        os.chdir(path.parent)
        for i, cell in enumerate(nbformat.read(path, as_version=4).cells):
            if cell.cell_type != "code":
                continue
            with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                exec(compile(_python(cell.source), f"{path.name}, cell {i}", "exec"), namespace)  # our own notebook
            plt.close("all")
    finally:
        os.chdir(here)
        checks._OBSERVERS.remove(observe)
        hidden.check_function = real


def _python(source):
    """The cell as plain Python: IPython's line magics (``%matplotlib inline``) do nothing here."""
    return "\n".join("pass" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines())


def _probes(block, hints, to_case, part, first):
    """The encoded probes of one check block: inputs, and each hint that differs from the right answer there.

    Probes numbered from ``first`` on; each gets the number of the first probe with the same right answer.
    """
    found, rights = [], []
    for args, right in block.calls[:PROBES]:
        right = right if part is None else right[part]
        same = next((k for k, other in rights if checks._compare(right, other, "", 1e-12, 0.0) is None), None)
        rights.append((first + len(rights), hidden._frozen(right)))
        stored = []
        for wrong, says in hints:
            answer = hidden.wrong_answer(wrong, to_case(*copy.deepcopy(args)))
            encoded = mistakes.encode(answer)
            if encoded is None or mistakes.has_function(encoded):  # not numbers throughout
                continue
            if checks._compare(answer, right, "", checks.RTOL, checks.ATOL) is None:
                continue  # the mistake makes no difference at these inputs
            stored.append({"says": says, "answer": encoded})
        found.append({"args": mistakes.encode(args), "answer_id": first + len(found) if same is None else same,
                      "mistakes": stored})
    return found


def catalogue(course_root="."):
    """{exercise: [probe, ...]} for every assignment of the course, ready for JSON."""
    result = {}
    for name in assignments(course_root):
        _run(_notebook(course_root, name).resolve(), result)
    return result


def _text(found):
    return json.dumps(found, ensure_ascii=False, indent=1, sort_keys=True) + "\n"


def _close(a, b):
    """Two catalogues agree: the same sentences and inputs, numbers to 1e-12 (another BLAS may round differently)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_close(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_close(x, y) for x, y in zip(a, b))
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-300) or (math.isnan(a) and math.isnan(b))
    return a == b


def stale(course_root="."):
    """True when ``course_lib/mistakes.json`` differs from a fresh catalogue of the course."""
    if not mistakes.DATA.exists():
        return True
    return not _close(json.loads(mistakes.DATA.read_text(encoding="utf-8")), json.loads(_text(catalogue(course_root))))


def main(argv=None):
    parser = argparse.ArgumentParser(description="Write course_lib/mistakes.json from the instructor notebooks.")
    parser.add_argument("--course", default=".", help="course root holding nbgrader_config.py (default: .)")
    parser.add_argument("--check", action="store_true", help="only say whether the file is up to date")
    args = parser.parse_args(argv)
    if args.check:
        if stale(args.course):
            print(f"{mistakes.DATA} is out of date: run `make release`", file=sys.stderr)
            return 1
        print(f"{mistakes.DATA} is up to date")
        return 0
    found = catalogue(args.course)
    mistakes.DATA.write_text(_text(found), encoding="utf-8")
    stored = sum(len(p["mistakes"]) for entry in found.values() for p in entry["probes"])
    print(f"wrote {mistakes.DATA}: {len(found)} exercises, {stored} mistakes at their check inputs")
    return 0


if __name__ == "__main__":
    sys.exit(main())

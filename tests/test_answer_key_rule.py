"""The answer-key rule: nothing a student receives answers a graded exercise.

No function of the built student wheel, and no function defined by a release
notebook's own provided cells, reproduces the answer of a graded exercise of
that notebook or of a later one, as posed: called with that exercise's hidden-
test inputs, it does not pass that exercise's hidden test.

How: the instructor notebooks run once in a kernel whose hidden-test helpers
record every exercise they grade (the reference, the cases, the stand-ins);
the student wheel is built as ``course bundle`` builds it and loaded from its
files under another package name; every candidate function that can be called
with an exercise's arguments is then put through that exercise's real hidden
test (``course_lib.key.hidden``). Passing it is a violation.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import inspect
import io
import re
import signal
import sys
import types
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path

import cloudpickle
import nbformat
import pytest
from nbclient import NotebookClient

from course_lib.cli import ipc_kernel_config
from course_lib.grading.bundle import build_student_wheel
from course_lib.key import hidden

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(p.parent.name for p in (ROOT / "solutions").glob("*/*.ipynb"))
ALIAS = "wheel_course_lib"  # the wheel's course_lib, loaded beside the instructor's own

RECORDER = """\
import cloudpickle as _cp
import course_lib.key.hidden as _hidden_mod
_records, _real_cf, _real_ci = [], _hidden_mod.check_function, _hidden_mod.check_initializer

def _record_function(student, reference, cases, *, name, **kw):
    _records.append({"kind": "function", "name": name, "reference": reference, "cases": [tuple(c) for c in cases],
                     "given": kw.get("given"), "rtol": kw.get("rtol", _hidden_mod.RTOL),
                     "atol": kw.get("atol", _hidden_mod.ATOL)})
    return _real_cf(student, reference, cases, name=name, **kw)

def _record_initializer(init_params, *args, **kw):
    _records.append({"kind": "initializer", "name": kw.get("name", "init_params"), "args": args, "kw": kw})
    return _real_ci(init_params, *args, **kw)

_hidden_mod.check_function, _hidden_mod.check_initializer = _record_function, _record_initializer
"""


@dataclass
class Exercise:
    notebook: str
    record: dict

    @property
    def name(self):
        return self.record["name"]


@pytest.fixture(scope="module")
def exercises(tmp_path_factory):
    """Every graded exercise of the instructor notebooks, with the inputs its hidden test uses."""
    found = []
    for notebook in NOTEBOOKS:
        path = next((ROOT / "solutions" / notebook).glob("*.ipynb"))
        nb = nbformat.read(path, as_version=4)
        out = tmp_path_factory.mktemp(f"record_{notebook}") / "records.pkl"
        nb.cells.insert(0, nbformat.v4.new_code_cell(RECORDER))
        nb.cells.append(nbformat.v4.new_code_cell(f"with open({str(out)!r}, 'wb') as _f:\n    _cp.dump(_records, _f)"))
        NotebookClient(nb, kernel_name="python3", timeout=300, config=ipc_kernel_config(out.parent),
                       resources={"metadata": {"path": str(path.parent)}}).execute()
        found += [Exercise(notebook, r) for r in cloudpickle.loads(out.read_bytes())]
    return found


def _load_wheel(folder):
    """Import the wheel's course_lib (extracted in ``folder``) as ALIAS, every module of it."""
    package = folder / "course_lib"
    spec = importlib.util.spec_from_file_location(ALIAS, package / "__init__.py",
                                                  submodule_search_locations=[str(package)])
    module = importlib.util.module_from_spec(spec)
    sys.modules[ALIAS] = module
    spec.loader.exec_module(module)
    return [importlib.import_module(f"{ALIAS}.{p.stem}") for p in sorted(package.glob("*.py")) if p.stem != "__init__"]


def _functions_of(namespace, owner):
    """The functions defined in a module or a notebook namespace, methods of its classes included."""
    for value in list(vars(namespace).values() if isinstance(namespace, types.ModuleType) else namespace.values()):
        if inspect.isfunction(value) and _defined_in(value, owner):
            yield value
        elif inspect.isclass(value) and value.__module__ == getattr(owner, "__name__", None):
            yield from (f for f in vars(value).values() if inspect.isfunction(f))
            yield from (f.__func__ for f in vars(value).values() if isinstance(f, (staticmethod, classmethod)))


def _defined_in(fn, owner):
    if isinstance(owner, types.ModuleType):
        return fn.__module__ == owner.__name__
    return fn.__globals__ is owner


@pytest.fixture(scope="module")
def wheel_functions(tmp_path_factory):
    """{qualified name: function} of every module of the built student wheel."""
    tmp = tmp_path_factory.mktemp("student_wheel")
    wheel = build_student_wheel(tmp)
    with zipfile.ZipFile(wheel) as zf:
        zf.extractall(tmp / "site")
        names = zf.namelist()
    assert not [n for n in names if n.startswith(("course_lib/key/", "course_lib/grading/"))], names
    modules = _load_wheel(tmp / "site")
    return {f"{m.__name__.replace(ALIAS, 'course_lib')}.{f.__qualname__}": f for m in modules for f in _functions_of(m, m)}


def _provided_functions(notebook):
    """{name: function} defined by the provided (non-solution) code cells of the student release of ``notebook``."""
    path = next((ROOT / "notebooks" / notebook).glob("*.ipynb"))
    namespace = {"__name__": f"release_{notebook}"}
    for cell in nbformat.read(path, as_version=4).cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type != "code" or meta.get("solution"):
            continue
        source = "\n".join(line for line in cell.source.splitlines() if not line.lstrip().startswith(("%", "!")))
        source = re.sub(r"\bcourse_lib\b", ALIAS, source)  # the student's library is the wheel's
        with contextlib.suppress(Exception), warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            exec(compile(source, f"<{notebook} provided cell>", "exec"), namespace)
    return {f"{notebook}: {f.__qualname__}": f for f in _functions_of(namespace, namespace)}


class _TookTooLong(Exception):
    pass


@contextlib.contextmanager
def _time_limit(seconds):
    def stop(signum, frame):
        raise _TookTooLong

    previous = signal.signal(signal.SIGALRM, stop)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _callable_as_posed(fn, exercise):
    """Can fn be called with the exercise's arguments at all (its signature binds them)?"""
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):
        return False
    record = exercise.record
    calls = record["cases"] if record["kind"] == "function" else [([300, 400, 10], "xavier", 0)]
    try:
        for args in calls:
            signature.bind(*args)
    except TypeError:
        return False
    return True


def _reproduces(fn, exercise):
    """Does fn pass the exercise's own hidden test?"""
    r = exercise.record
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        try:
            with _time_limit(20):
                if r["kind"] == "function":
                    hidden.check_function(fn, r["reference"], r["cases"], name=r["name"], given=r["given"],
                                          rtol=r["rtol"], atol=r["atol"])
                else:
                    hidden.check_initializer(fn, *r["args"], **r["kw"])
        except (Exception, SystemExit):  # CheckFailed, or whatever the wrong function raised (a CLI exits)
            return False
    return True


def _violations(exercises, candidates_by_notebook):
    """[(exercise, candidate name)] for every candidate that reproduces an exercise it may not."""
    found = []
    for exercise in exercises:
        k = NOTEBOOKS.index(exercise.notebook)
        for scope, candidates in candidates_by_notebook.items():
            if scope != "wheel" and NOTEBOOKS.index(scope) > k:
                continue  # a later notebook may contain answers of earlier ones (released after their deadline)
            for name, fn in candidates.items():
                if _callable_as_posed(fn, exercise) and _reproduces(fn, exercise):
                    found.append((f"{exercise.notebook}: {exercise.name}", name))
    return found


def test_the_rule_catches_a_copied_answer(exercises, monkeypatch):
    """The check can fail: the reference itself, put in the student's hands, is found."""
    from course_lib import checks
    from course_lib.key import activations, network

    monkeypatch.setattr(checks, "_LIBRARY", ROOT / "no such library")  # as if it came from elsewhere

    planted = {"course_lib.activations.sigmoid": activations.sigmoid,
               "course_lib.network.init_params": network.init_params}
    chosen = [e for e in exercises if e.name in ("sigmoid", "init_params")]
    assert {e.name for e in chosen} == {"sigmoid", "init_params"}
    found = _violations(chosen, {"wheel": planted})
    assert sorted(set(found)) == [("02_sigmoid_gates: sigmoid", "course_lib.activations.sigmoid"),
                             ("06_gradient_checking: init_params", "course_lib.network.init_params")]


def test_nothing_a_student_receives_answers_a_graded_exercise(exercises, wheel_functions):
    provided = {nb: _provided_functions(nb) for nb in NOTEBOOKS}
    graded = sorted({(e.notebook, e.name) for e in exercises})
    found = _violations(exercises, {"wheel": wheel_functions, **provided})
    scanned = len(wheel_functions) + sum(map(len, provided.values()))
    print(f"\nanswer-key rule: {len(graded)} graded functions checked ({len(exercises)} hidden tests), "
          f"{scanned} functions scanned ({len(wheel_functions)} in the student wheel, "
          f"{scanned - len(wheel_functions)} defined by the release notebooks' provided cells): "
          f"{len(found)} answering")
    assert len(graded) >= 32, graded
    assert not found, "\n".join(f"{name} answers {exercise}" for exercise, name in found)

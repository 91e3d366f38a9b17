"""A replayed test's changes to the namespace reach the student's functions, as in nbgrader.

nbgrader runs a test cell in the notebook's own namespace: ``del squares``
there makes ``sum_of_squares`` fail with a NameError. ``course grade`` runs
the test in the grader, so ``replay`` sends the test's changes with every
call into the kernel. Here the "kernel" is this process: ``LocalKernel`` runs
the agent's snippets against a plain dict standing for the notebook's
namespace (the real, sandboxed kernel is exercised by tests/test_fidelity.py).
"""

from __future__ import annotations

import ast
import contextlib
import io
import json
import statistics

import pytest

from course_lib.grading import agent, replay
from course_lib.grading.agent import MIME

NOTEBOOK = """
threshold = 5

def squares(n):
    return [i * i for i in range(1, n + 1)]

def cubes(n):
    return [i ** 3 for i in range(1, n + 1)]

def sum_of_squares(n):
    return sum(squares(n))

def noisy(x):
    import sys
    print("working on", x)
    print("careful!", file=sys.stderr)
    return x
"""


class LocalKernel:
    """The agent's side, run in this process; ``ns`` is the notebook's namespace."""

    def __init__(self, source=NOTEBOOK):
        self.ns, self.notes, self.snippets = {}, [], []
        exec(source, self.ns)

    def run(self, code):
        self.snippets.append(code)
        outputs, out, err = [], io.StringIO(), io.StringIO()
        saved = agent._namespace, agent._reply
        agent._namespace = lambda: self.ns
        agent._reply = lambda payload: outputs.append(
            {"output_type": "display_data", "data": {MIME: json.dumps(payload)}, "metadata": {}})
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                exec(code, {})
        except Exception as e:
            outputs.append({"output_type": "error", "ename": type(e).__name__, "evalue": str(e)})
        finally:
            agent._namespace, agent._reply = saved
        return [{"output_type": "stream", "name": n, "text": s.getvalue()}
                for n, s in (("stdout", out), ("stderr", err)) if s.getvalue()] + outputs


def outcome(source, kernel=None):
    kernel = kernel or LocalKernel()
    return replay.run_grade_cell(source, kernel), kernel


NBGRADER_STYLE = """
assert sum_of_squares(3) == 14
orig_squares = squares
del squares
try:
    sum_of_squares(2)
except NameError:
    pass
else:
    raise AssertionError("sum_of_squares does not use squares")
finally:
    squares = orig_squares
"""


def test_a_deleted_helper_is_missing_where_the_students_function_runs():
    outputs, kernel = outcome(NBGRADER_STYLE)
    assert outputs == []
    assert kernel.ns["squares"](2) == [1, 4]  # the test restored it: the notebook has it again


def test_a_function_that_does_not_use_the_helper_is_caught():
    kernel = LocalKernel(NOTEBOOK.replace("return sum(squares(n))", "return sum(i * i for i in range(1, n + 1))"))
    outputs, _ = outcome(NBGRADER_STYLE, kernel)
    assert outputs[-1]["ename"] == "AssertionError" and "does not use squares" in outputs[-1]["evalue"]


def test_a_helper_deleted_before_it_was_read_is_deleted_too():
    outputs, kernel = outcome("del squares\ntry:\n    sum_of_squares(2)\n    ok = False\nexcept NameError:\n"
                              "    ok = True\nassert ok")
    assert outputs == [] and "squares" not in kernel.ns  # not restored: gone for later cells, as in nbgrader


def test_changes_a_test_leaves_behind_outlive_it_except_its_own_functions():
    outputs, kernel = outcome("threshold = 10\nsquares = cubes\nsum_of_squares = lambda n: 0\nexpected = [1]")
    assert outputs == []
    assert kernel.ns["threshold"] == 10 and kernel.ns["squares"] is kernel.ns["cubes"]
    assert kernel.ns["sum_of_squares"].__name__ == "sum_of_squares"  # the test's own function is not left there
    assert kernel.ns["sum_of_squares"](2) == 1 + 8  # and it now sums cubes
    assert "expected" not in kernel.ns  # nor a name the notebook never had


def test_deleting_a_name_the_notebook_does_not_have_is_a_name_error_as_in_the_kernel():
    outputs, _ = outcome("del no_such_name")
    assert outputs[-1]["ename"] == "NameError"


def test_a_stand_in_of_the_tests_own_replaces_the_helper_during_the_call():
    outputs, kernel = outcome("saved = squares\nsquares = lambda n: [10] * n\ntry:\n"
                              "    assert sum_of_squares(3) == 30\nfinally:\n    squares = saved")
    assert outputs == []
    assert kernel.ns["sum_of_squares"](3) == 14


def test_a_stand_in_may_call_the_notebooks_own_function():
    outputs, _ = outcome("orig = squares\nsquares = lambda n: [x + 1 for x in orig(n)]\n"
                         "assert sum_of_squares(2) == 7\nsquares = orig")
    assert outputs == []


def test_rebinding_to_another_function_of_the_notebook_sends_the_notebooks_own():
    outputs, kernel = outcome("squares = cubes\nassert sum_of_squares(2) == 9")
    assert outputs == []
    assert '"k": "cubes"' in kernel.snippets[-1]  # by name, not a copy


def test_names_of_the_tests_own_are_not_sent():
    outputs, kernel = outcome("expected = [1, 4]\nassert squares(2) == expected")
    assert outputs == []
    assert "expected" not in kernel.snippets[-1].split("call(")[-1]


def test_a_stand_in_that_records_its_calls_in_the_test_cannot_be_replayed():
    source = "calls = []\n\n\ndef spy(n):\n    calls.append(n)\n    return [1] * n\n\n\nsquares = spy\nsum_of_squares(2)\n"
    with pytest.raises(replay.Unsupported, match="keeps its state in calls"):
        outcome(source)


def test_a_patched_module_attribute_is_seen_as_a_change():
    tree = ast.parse("statistics.mean = None")
    snapshot = replay._module_snapshot()
    original = statistics.mean
    try:
        statistics.mean = len
        assert replay._patches(tree)
        assert ["statistics", "mean", len] in replay._module_changes(snapshot)
    finally:
        statistics.mean = original
    assert not any(change[:2] == ["statistics", "mean"] for change in replay._module_changes(snapshot))
    assert not replay._patches(ast.parse("x = statistics.mean([1, 2])"))


def test_the_kernel_applies_a_patch_for_the_call_only(monkeypatch):
    monkeypatch.setattr(agent, "_namespace", dict)
    original = statistics.fmean
    request = {"patched": [["statistics", "fmean", len], ["statistics", "no_such_attr"]]}
    with agent._test_changes(request):
        assert statistics.fmean is len
    assert statistics.fmean is original and not hasattr(statistics, "no_such_attr")


def test_what_the_students_function_prints_is_the_test_cells_output():
    outputs, _ = outcome("noisy(3)")
    streams = {o["name"]: o["text"] for o in outputs if o["output_type"] == "stream"}
    assert streams == {"stdout": "working on 3\n", "stderr": "careful!\n"}  # nbgrader scores stderr 0


@pytest.mark.parametrize("source, text", [
    ("0.5 * 3", "1.5"),
    ("score = 2\nscore;", None),  # IPython shows nothing after a trailing ";"
    ("score = 2\nscore  # the result", "2"),
    ("list(range(40))", None),  # long: IPython wraps it over lines; checked below
])
def test_a_cells_result_reads_as_ipython_shows_it(source, text):
    outputs, _ = outcome(source)
    results = [o["data"]["text/plain"] for o in outputs if o["output_type"] == "execute_result"]
    if source.startswith("list"):
        from IPython.lib.pretty import pretty

        assert results == [pretty(list(range(40)))] and "\n" in results[0]
    else:
        assert results == ([text] if text else [])


def test_a_kernel_that_cannot_answer_is_explained():
    assert "process" in replay.what_happened("RuntimeError: can't start new thread")
    assert "memory" in replay.what_happened("MemoryError: ")
    assert "did not answer" in replay.what_happened("no reply")
    assert "[" not in replay.what_happened("no reply")


class SilencedKernel(LocalKernel):
    """A kernel whose output the student's code took over after ``answers`` replies (endless printing)."""

    def __init__(self, answers):
        super().__init__()
        self.answers = answers

    def run(self, code):
        self.answers -= 1
        return super().run(code) if self.answers >= 0 else [{"output_type": "stream", "name": "stdout", "text": "y"}]


@pytest.mark.parametrize("answers", [0, 1, 2, 3])
def test_a_kernel_that_stops_answering_fails_the_test_not_the_grader(answers):
    # the test binds a name of its own (at the end, the grader asks the kernel whether the notebook has it)
    outputs, _ = outcome("z = 3\nassert squares(z) == [1, 4, 9]", SilencedKernel(answers))
    errors = [o for o in outputs if o["output_type"] == "error"]
    # asked in turn: the lookup of squares, whether the notebook has a z (z goes with the call), the call
    assert len(errors) == (answers < 3)
    if errors:
        assert "did not answer" in errors[0]["evalue"]

"""The grader's side of the kernel protocol, against hostile replies.

A real kernel is exercised end to end in test_grade.py; here a scripted
"kernel" sends exactly the replies a student who controls the kernel could
send, and the grader must neither run code nor believe anything but data.
"""

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from course_lib.grading import replay, wire
from course_lib.grading.agent import MIME


class ScriptedKernel:
    """Answers every request with the next scripted reply (a dict, or raw outputs)."""

    def __init__(self, *replies):
        self.replies, self.requests, self.notes = list(replies), [], []

    def run(self, code):
        self.requests.append(code)
        reply = self.replies.pop(0)
        if isinstance(reply, list):
            return reply
        return [{"output_type": "display_data", "data": {MIME: json.dumps(reply)}, "metadata": {}}]


# ------------------------------------------------------------------ wire

plain = st.recursive(
    st.none() | st.booleans() | st.integers(-2**62, 2**62) | st.floats(allow_nan=True) | st.text(max_size=20)
    | hnp.arrays(st.sampled_from([np.float64, np.int64, np.bool_, np.complex128]), hnp.array_shapes(max_dims=3, max_side=4)),
    lambda inner: st.lists(inner, max_size=4) | st.lists(inner, max_size=4).map(tuple),
    max_leaves=12)


def same(a, b):
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()
    if isinstance(a, float) and math.isnan(a):
        return isinstance(b, float) and math.isnan(b)
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


@settings(max_examples=200, deadline=None)
@given(plain)
def test_plain_data_crosses_exactly(value):
    assert same(wire.loads(wire.dumps(value)), value)


def test_objects_arrive_as_opaque_stand_ins_that_are_not_numbers():
    class FancyFloat(float):
        def __eq__(self, other):
            return True

    back = wire.loads(wire.dumps(FancyFloat(0.5)))
    assert type(back).__name__ == "FancyFloat" and isinstance(back, wire.Opaque)
    assert back != 0.5
    with pytest.raises(TypeError):
        np.asarray(back, dtype=np.float64)


def test_the_grader_never_unpickles_what_a_kernel_sends():
    sent = wire.dumps(lambda: 1, pickle_unknown=True)  # the grader may ship a function *to* a kernel
    assert wire.loads(sent, allow_pickle=True)() == 1
    with pytest.raises(wire.WireError):
        wire.loads(sent)  # but reading a reply, a pickle is refused


@pytest.mark.parametrize("bad", [{"a": "AAAA", "dtype": "|O", "shape": [1]}, {"a": "AAAA", "dtype": "<f8", "shape": [7]},
                                 {"zz": 1}, [1, 2], {"t": [{"l": [{"d": [[{"x": 0}, 1]]}]}]}])
def test_malformed_wire_data_is_refused(bad):
    with pytest.raises((wire.WireError, ValueError)):
        wire.decode(bad)


def test_deep_nesting_is_refused():
    deep = 0
    for _ in range(wire.MAX_DEPTH + 5):
        deep = [deep]
    with pytest.raises(wire.WireError):
        wire.encode(deep)


# ------------------------------------------------------------------ replay against a hostile kernel


def lookup(kind, **extra):
    return {"kind": kind, **extra}


def test_a_passing_test_is_computed_by_the_grader_from_plain_values():
    kernel = ScriptedKernel(lookup("function"), {"ok": wire.encode(np.array([0.5, 0.75]))})
    outputs = replay.run_grade_cell("import numpy as np\nassert np.allclose(f(1.0), [0.5, 0.75])", kernel)
    assert outputs == []
    assert "lookup('f')" in kernel.requests[0] and ".call(" in kernel.requests[1]


def test_a_kernel_cannot_make_a_wrong_answer_pass():
    # the student's function returns 0.25; the kernel cannot change how the grader compares
    kernel = ScriptedKernel(lookup("function"), {"ok": wire.encode(0.25)})
    outputs = replay.run_grade_cell("assert f(1.0) == 0.5, 'f(1) should be 0.5'", kernel)
    assert outputs[-1]["output_type"] == "error" and outputs[-1]["evalue"] == "f(1) should be 0.5"
    assert outputs[-1]["traceback"] == ["AssertionError: f(1) should be 0.5"]  # no hidden source lines


@pytest.mark.parametrize("module", ["pip.__main__", "antigravity", "this", "os.path.__dict__", "", "__main__"])
def test_modules_named_by_the_kernel_are_imported_only_if_the_grader_already_has_them(module):
    kernel = ScriptedKernel(lookup("module", module=module))
    with pytest.raises(replay.Unsupported):
        replay.run_grade_cell("m.x", kernel)


def test_a_module_the_grader_has_is_the_genuine_one():
    kernel = ScriptedKernel(lookup("module", module="numpy"))
    outputs = replay.run_grade_cell("np.allclose(1.0, 1.0)", kernel)
    assert outputs[0]["data"]["text/plain"] == "True"


@pytest.mark.parametrize("module, qualname", [("subprocess", "Popen"), ("builtins", "eval"), ("os", "system")])
def test_a_class_named_by_the_kernel_is_never_called_in_the_grader(module, qualname):
    kernel = ScriptedKernel(lookup("class", module=module, qualname=qualname))
    with pytest.raises(replay.Unsupported):
        replay.run_grade_cell("greet('touch /tmp/pwned')", kernel)


def test_student_errors_come_back_as_errors_with_their_name():
    kernel = ScriptedKernel(lookup("function"), {"raised": ["NotImplementedError", ""]},
                            lookup("function"), {"raised": ["SystemExit", "3"]})
    out = replay.run_grade_cell("f(1)", kernel)
    assert out[-1]["ename"] == "NotImplementedError"
    out = replay.run_grade_cell("g(1)", kernel)
    assert out[-1]["ename"] == "SystemExit" and out[-1]["evalue"] == "3"


def test_no_reply_is_a_failed_call_and_a_note_for_review():
    kernel = ScriptedKernel(lookup("function"), [])  # the kernel swallowed the request
    out = replay.run_grade_cell("f(1)", kernel)
    assert out[-1]["output_type"] == "error" and "could not be tested" in out[-1]["evalue"]
    assert "did not answer the grader" in out[-1]["evalue"]
    assert any("tampering suspected" in n for n in kernel.notes)


def test_in_place_changes_of_array_arguments_come_back():
    # e.g. a numerical gradient that must leave x exactly as it found it
    kernel = ScriptedKernel(lookup("function"), {"has": []},  # the notebook has no x of its own
                            {"ok": wire.encode(None), "mutated": {"0": wire.encode(np.ones(3))}})
    out = replay.run_grade_cell("import numpy as np\nx = np.zeros(3)\nf(x)\nx.tolist()", kernel)
    assert out[-1]["data"]["text/plain"] == "[1.0, 1.0, 1.0]"


def test_a_hidden_tests_cases_go_to_the_kernel_in_one_round_trip():
    cases = [(0.0,), (1.0,), (np.array([-2.0, 2.0]),)]
    expected = [1 / (1 + np.exp(-np.asarray(c[0]))) for c in cases]
    replies = [{"ok": wire.encode(e), "warnings": [], "called": [], "mutated": {}} for e in expected]
    replies[1]["ok"] = wire.encode(0.7)  # one wrong answer
    kernel = ScriptedKernel(lookup("function"), {"replies": replies})
    source = ("from course_lib.key import activations, hidden\n"
              "hidden.check_function(sigmoid, activations.sigmoid, [(0.0,), (1.0,), (np.array([-2.0, 2.0]),)], name='sigmoid')")
    out = replay.run_grade_cell("import numpy as np\n" + source, kernel)
    assert len(kernel.requests) == 2 and ".call_many(" in kernel.requests[1]
    assert out[-1]["ename"] == "CheckFailed" and "sigmoid(1.0) is wrong" in out[-1]["evalue"]

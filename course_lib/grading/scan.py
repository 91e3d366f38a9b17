"""Signs of tampering in a submission's code, read by the grader (never trusted to the kernel).

The verdicts do not depend on the student's kernel behaving (see ``replay``),
with one exception no grader can rule out from outside: a kernel that
answers the grader's requests with course_lib's reference computed inside
it. Doing that takes code no exercise needs, so it is looked for here: the
submission is listed under "needs a look" with the line that did it. This is
a net, not a wall: a determined student can write code this does not
recognise. It reads the syntax tree, so spacing, aliases and string
concatenation do not hide a call to ``exec`` or ``setattr``.
"""

from __future__ import annotations

import ast
import re

__all__ = ["tamper_signs"]

# Calls and names no exercise needs, and what they are used for when they appear.
_CALLS = {
    "exec": "runs code built at run time", "eval": "runs code built at run time", "compile": "compiles code at run time",
    "__import__": "imports by computed name", "setattr": "replaces attributes by name",
    "delattr": "deletes attributes by name", "import_module": "imports by computed name",
    "getsource": "reads library source code", "setprofile": "installs a profiler", "settrace": "installs a tracer",
    "publish_display_data": "publishes raw display messages", "get_referrers": "reaches into the interpreter",
}
_NAMES = {
    "input_transformers_cleanup": "changes how IPython runs later cells",
    "input_transformers_post": "changes how IPython runs later cells",
    "ast_transformers": "changes how IPython runs later cells", "register_magic_function": "defines magics",
    "events": None,  # only as get_ipython().events.register
    "ctypes": "reaches into the interpreter", "__code__": "rewrites function code",
    "__globals__": "reaches into function globals", "__builtins__": "changes builtins", "builtins": "changes builtins",
    "modules": None,  # only as sys.modules
    "__eq__": "defines __eq__ (an answer that equals anything?)",
    "_reply": "touches the grader's agent", "agent": "touches the grader's agent",
}
_IMPORTS = {"ctypes": "reaches into the interpreter", "gc": "reaches into the interpreter",
            "inspect": "reads library source code", "importlib": "imports by computed name",
            "builtins": "changes builtins"}
_MODULES_PATCHED = {"np", "numpy", "checks", "math", "course_lib", "plt", "plots", "scipy"}
_TEXT = re.compile(r"grading|agent|_reply|transformers|course_lib\.(key|activations|gates|layers|calculus|worked_example|"
                   r"network|losses)")


def _line(source, node):
    lines = source.splitlines()
    n = getattr(node, "lineno", 1) - 1
    return lines[n].strip()[:120] if 0 <= n < len(lines) else ""


def _root(node):
    while isinstance(node, ast.Attribute):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _signs_in(tree, source):
    for node in ast.walk(tree):
        what = None
        if isinstance(node, ast.Call):
            fn = node.func
            name = fn.id if isinstance(fn, ast.Name) else fn.attr if isinstance(fn, ast.Attribute) else None
            what = _CALLS.get(name)
            if name == "register" and isinstance(fn, ast.Attribute) and isinstance(fn.value, ast.Attribute) \
                    and fn.value.attr == "events":
                what = "hooks IPython's cell events"
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name in _NAMES:
            what = _NAMES[node.name]
        elif isinstance(node, (ast.Name, ast.Attribute)):
            name = node.id if isinstance(node, ast.Name) else node.attr
            what = _NAMES.get(name)
            if name == "modules" and isinstance(node, ast.Attribute) and _root(node) == "sys":
                what = "reaches into sys.modules"
        elif isinstance(node, (ast.Assign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Attribute) and _root(t) in _MODULES_PATCHED for t in targets):
                what = "replaces a function of numpy or the course's checks"
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [a.name for a in node.names] + [getattr(node, "module", None) or ""]
            if any(_TEXT.search(n or "") for n in names):
                what = "imports the grader's or the reference's modules"
            elif any(n.split(".")[0] in _IMPORTS for n in names if n):
                what = next(_IMPORTS[n.split(".")[0]] for n in names if n and n.split(".")[0] in _IMPORTS)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and _TEXT.search(node.value):
            what = "names the grader's or the reference's modules"
        if what:
            yield f"tampering suspected: a cell {what}: `{_line(source, node)}`"


def tamper_signs(nb):
    """Reasons to look at a submission, from the cells a student could edit (after nbgrader's cell protection)."""
    from nbgrader import utils

    found = []
    for cell in nb.cells:
        if cell.cell_type != "code" or utils.is_locked(cell):
            continue
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:  # IPython syntax (magics, !shell): read it as Python without those lines
            cleaned = "\n".join("" if l.lstrip().startswith(("%", "!")) else l for l in cell.source.splitlines())
            try:
                tree = ast.parse(cleaned)
            except SyntaxError:
                continue
        found.extend(_signs_in(tree, cell.source))
    return list(dict.fromkeys(found))

"""course_lib: the Backprop Workbook's library, in three sides.

- **The student library** (this package's own modules; what students install
  from the bundle's wheel): ``checks`` (the check cells), ``graph`` (a scalar
  computational graph with ``backward()``), ``plots``, ``data`` (the 8×8
  digits, toy sets, the starting weights of notebook 05), ``examples`` (the
  lectures' worked numbers) and ``cli`` (``course check``). Nothing here
  answers a graded exercise.
- **The answer key**, ``course_lib.key``: the reference answers the hidden
  tests compare against (activations, losses, the network, the gradient
  checker, ...). Instructor side only.
- **The grader**, ``course_lib.grading``: release, bundle, ``course grade``,
  its sandbox and reports. Instructor side only.

Imports run one way: the grader uses the answer key, the answer key uses the
student library, never the reverse. Importing the package is cheap:
submodules load when first used.
"""

import importlib

__version__ = "0.1.0"

_SUBMODULES = ("checks", "data", "examples", "graph", "plots")


def __getattr__(name):
    # Lazy submodules: `import course_lib` stays fast (no matplotlib)
    # while `course_lib.plots` still works without a separate import.
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_SUBMODULES))

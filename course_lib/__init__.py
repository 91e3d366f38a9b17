"""course_lib: the reference implementation behind the Backprop Workbook.

Modules (each with one job; NOTATION.md fixes the symbols):

- ``activations`` — sigmoid, tanh, ReLU, leaky ReLU, ELU, softmax and derivatives
- ``losses`` — squared error, (binary) cross-entropy, softmax cross-entropy
- ``graph`` — a scalar computational graph with ``backward()``
- ``network`` — a vectorized fully connected network: forward, loss and gradients
- ``gradcheck`` — finite differences, relative error, gradient reports
- ``train`` — mini-batch gradient descent with a progress bar
- ``examples`` — the lectures' worked examples and their printed numbers
- ``data`` — the 8×8 digits (shipped) and toy 2-D sets
- ``plots`` — figures in one consistent style (imported on demand: it loads matplotlib)
- ``calculus``, ``gates``, ``worked_example`` — reference answers of the part-1 exercises
- ``layers`` — forward/backward pairs (affine, sigmoid, ReLU) and the MLP built from them (part 2)
- ``checks`` — the exercises' checks and their diagnoses of typical mistakes

Importing the package is cheap: submodules load when first used.
"""

import importlib

__version__ = "0.1.0"

_SUBMODULES = (
    "activations", "calculus", "checks", "data", "examples", "gates", "gradcheck", "graph", "layers", "losses",
    "network", "plots", "train", "worked_example",
)


def __getattr__(name):
    # Lazy submodules: `import course_lib` stays fast (no matplotlib, no tqdm)
    # while `course_lib.network` still works without a separate import.
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_SUBMODULES))

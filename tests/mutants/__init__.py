"""Planted bugs for the notebooks' hidden tests (mutation testing).

Each notebook has a module here (``nb01``, ``nb02``, ...) with a list
``MUTANTS``. A mutant replaces one solution cell of an otherwise complete
submission with typical wrong code; autograding it must cost exactly that
exercise's points and show the expected diagnostic, and the exercise's visible
check cell must fail with the same words (``says``), unless ``unseen`` says why
the check cannot see that bug at its inputs.
"""

from dataclasses import dataclass
from importlib import import_module
from pathlib import Path


@dataclass(frozen=True)
class Mutant:
    name: str  # short id; also the student id of the submission
    cell: str  # grade_id of the solution cell it replaces
    code: str  # the wrong cell source
    fails: str  # grade_id of the test cell that must lose its points
    says: str  # words the diagnostic must contain
    before: str = ""  # an extra cell inserted before ``cell`` (e.g. an alias made elsewhere)
    unseen: str = ""  # why the visible check cannot catch or name this bug (then only the hidden test does)


def all_mutants():
    """{assignment name: [Mutant, ...]} for every nbXX module present."""
    found = {}
    for path in sorted(Path(__file__).parent.glob("nb*.py")):
        module = import_module(f"{__name__}.{path.stem}")
        found[module.ASSIGNMENT] = module.MUTANTS
    return found

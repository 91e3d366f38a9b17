"""Shared test settings.

Tolerances used across the suite (float64 everywhere):
- closed-form against closed-form: rtol 1e-12 (a few ulps of accumulated rounding);
- analytic gradients against centered differences: relative error < 1e-7,
  with the oracle evaluated in extended precision (np.longdouble) where the
  function is deep enough for float64 round-off (u·|f|/ε ≈ 1e-10) to matter.
"""

import os

os.environ.setdefault("MPLBACKEND", "Agg")  # no display in tests

from course_lib.grading.kernels import ONE_THREAD_ENV

# Every kernel the suite starts (nbval, nbclient, nbgrader) inherits one BLAS
# thread, as `course grade` gives its kernels: kernels side by side then do
# not spin against each other, and a cell's time does not depend on load.
os.environ.update(ONE_THREAD_ENV)

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "default", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("ci", max_examples=60, deadline=None, derandomize=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("ci" if os.environ.get("CI") else "default")



@pytest.fixture(scope="session")
def bundle(tmp_path_factory):
    """What an instructor hands to students: `course bundle` of the whole course."""
    from student_bundle import handout

    return handout(tmp_path_factory.mktemp("handout"))


@pytest.fixture(scope="session")
def student_folder(bundle, tmp_path_factory):
    """The bundle unzipped in a fresh folder outside the repository, its README's install command run there."""
    from student_bundle import student_folder as install

    return install(bundle, tmp_path_factory.mktemp("student_home"))

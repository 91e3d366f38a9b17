"""The project's promises about itself: set-up files agree, README commands and code work."""

import re
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


def _requirement(spec):
    """'numpy>=1.26' -> ('numpy', '>=1.26'); names normalised as pip does."""
    m = re.fullmatch(r"\s*([A-Za-z0-9_.\-]+)\s*(.*)", spec)
    return m.group(1).lower().replace("_", "-"), m.group(2).replace(" ", "")


def test_environment_yml_mirrors_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = dict(_requirement(s) for s in project["dependencies"] + project["optional-dependencies"]["test"])
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = dict(_requirement(s) for s in env["dependencies"] if isinstance(s, str))
    python = conda.pop("python")
    conda.pop("pip")
    assert conda == wanted
    assert python == project["requires-python"]
    pip_part = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert pip_part == ["-e ."]  # the package itself, installed from this folder


STUDENT_PROJECT = ROOT / "course_lib" / "grading" / "student" / "pyproject.toml"


def test_student_wheel_needs_a_subset_of_the_instructors_dependencies():
    instructor = dict(_requirement(s) for s in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"])
    student = dict(_requirement(s) for s in tomllib.loads(STUDENT_PROJECT.read_text())["project"]["dependencies"])
    assert {name: instructor.get(name) for name in student} == student  # the same names, the same versions
    # what a student needs is the notebooks' run time, not the grader's or the test suite's stack
    assert not set(student) & {"nbgrader", "nbval", "pytest", "dask", "distributed", "cloudpickle", "hypothesis",
                               "playwright", "tqdm", "threadpoolctl", "setuptools"}


def test_readme_starts_with_the_two_commands():
    first = (ROOT / "README.md").read_text().splitlines()[:5]
    text = "\n".join(first)
    assert "make lab" in text and "make test" in text


def test_ci_runs_the_readme_test_command():
    run = (ROOT / ".ci" / "run").read_text()
    assert re.search(r"^make test$", run, re.M)


def test_makefile_targets_use_the_repo_venv():
    make = (ROOT / "Makefile").read_text()
    for target in ("lab", "test", "bench", "release"):
        assert re.search(rf"^{target}: \$\(STAMP\)", make, re.M), target
    assert "-m venv $(VENV)" in make and 'pip install --quiet -e ".[test]"' in make


def test_readme_example_runs_and_reaches_the_accuracy_it_claims(capsys):
    readme = (ROOT / "README.md").read_text()
    code = re.search(r"```python\n(.*?)```", readme, re.S).group(1)
    claimed = float(re.search(r"≈ (0\.\d+)", code).group(1))
    lines = code.strip().splitlines()
    *body, last = lines
    scope = {}
    exec("\n".join(body), scope)  # the README's own lines
    accuracy = eval(last.split("#")[0], scope)
    assert accuracy == pytest.approx(claimed, abs=0.01)


def test_the_benchmark_compares_like_with_like():
    # The calibration row must compute exactly what course_lib computes.
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        import run as bench
    finally:
        sys.path.pop(0)
    import numpy as np

    from course_lib.key import network

    params, X, y = bench._problem(16)
    ours, grads = network.loss_and_grads(params, X, y)
    plain, plain_grads = bench.plain_numpy_step(params, X, y)
    assert plain == pytest.approx(ours, rel=1e-12)
    for (a, b), (c, d) in zip(grads, plain_grads):
        np.testing.assert_allclose(a, c, rtol=1e-9, atol=1e-16)
        np.testing.assert_allclose(b, d, rtol=1e-9, atol=1e-16)
    # 2·N·(64·128 + 128·64 + 64·10) forward, the same for dW, 2·N·(128·64 + 64·10) for dA
    assert bench.step_flops(256) == 2 * 256 * (17024 * 2 + 8832)


def test_digits_file_is_packaged():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "datasets/*" in project["tool"]["setuptools"]["package-data"]["course_lib"]

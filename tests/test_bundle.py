"""`course bundle`: what students receive holds no answer key, and is enough to do the workbook.

The bundle is made as an instructor makes it; its README's two commands are
then run as a student runs them, in a fresh virtual environment in a folder
outside the repository: the wheel installs, JupyterLab serves the notebooks,
the answer key is not importable, and every notebook with its exercises
solved passes every check (`course check`, exit 0) with no error and nothing
on stderr.
"""

from __future__ import annotations

import json
import re
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
import zipfile
from pathlib import Path

import nbformat
import pytest
from notebook_helpers import completed
from student_bundle import STUDENT_ENV, readme_commands

from course_lib.grading.release import assignments

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENTS = assignments(ROOT)


def test_the_bundle_holds_the_notebooks_the_wheel_and_the_readme_and_nothing_else(bundle):
    files = {str(p) for p in bundle.files()}
    expected = {"README.md", "NOTATION.md", "notebooks/NOTATION.md", bundle.wheel.name,
                *(f"notebooks/{name}/{name}.ipynb" for name in ASSIGNMENTS)}
    assert files == expected
    with zipfile.ZipFile(bundle.archive) as zf:
        assert sorted(zf.namelist()) == sorted(f"workbook/{f}" for f in files)
    with zipfile.ZipFile(bundle.wheel) as zf:
        modules = sorted(n for n in zf.namelist() if n.endswith(".py"))
        assert "course_lib/mistakes.json" in zf.namelist()  # what the check cells know of each exercise's mistakes
    assert modules == ["course_lib/__init__.py", "course_lib/checks.py", "course_lib/cli.py", "course_lib/data.py",
                       "course_lib/examples.py", "course_lib/graph.py", "course_lib/mistakes.py", "course_lib/plots.py"]
    for nb in bundle.notebooks:
        text = nb.read_text()
        for marker in ("BEGIN HIDDEN TESTS", "BEGIN SOLUTION", "END SOLUTION", "course_lib.key", "check_function"):
            assert marker not in text, (nb.name, marker)


def test_a_stale_release_stops_the_bundle(tmp_path):
    course = tmp_path / "course"
    for part in ("nbgrader_config.py", "NOTATION.md"):
        (course / part).parent.mkdir(parents=True, exist_ok=True)
        (course / part).write_bytes((ROOT / part).read_bytes())
    for folder in ("solutions", "notebooks"):
        src = ROOT / folder / "02_sigmoid_gates"
        (course / folder / "02_sigmoid_gates").mkdir(parents=True)
        for f in src.glob("*.ipynb"):
            (course / folder / "02_sigmoid_gates" / f.name).write_bytes(f.read_bytes())
    (course / "notebooks" / "NOTATION.md").write_bytes((ROOT / "NOTATION.md").read_bytes())
    source = course / "solutions" / "02_sigmoid_gates" / "02_sigmoid_gates.ipynb"
    nb = nbformat.read(source, as_version=4)
    nb.cells[0].source += "\n\nA sentence added after the last release."
    nbformat.write(nb, source)
    run = subprocess.run([str(Path(sys.executable).parent / "course"), "bundle", "--course", str(course),
                          "--out", str(tmp_path / "out")], capture_output=True, text=True, timeout=300)
    assert run.returncode == 2
    assert "out of date with the source notebook" in run.stderr and "make release" in run.stderr
    assert not (tmp_path / "out").exists()


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_student_environment_has_the_library_and_not_the_answer_key(student_folder):
    probe = ("import importlib.util, json, course_lib\n"
             "print(json.dumps([course_lib.__file__, *[importlib.util.find_spec('course_lib.' + m) is not None"
             " for m in ('checks', 'plots', 'data', 'graph', 'key', 'grading')]]))")
    run = subprocess.run([str(student_folder / ".venv" / "bin" / "python"), "-c", probe], cwd="/",
                         env=STUDENT_ENV, capture_output=True, text=True, timeout=60)
    path, *present = json.loads(run.stdout)
    assert path.startswith(str(student_folder / ".venv")), path
    assert present == [True, True, True, True, False, False]
    freeze = subprocess.run([str(student_folder / ".venv" / "bin" / "python"), "-m", "pip", "freeze"],
                            env=STUDENT_ENV, capture_output=True, text=True, timeout=60).stdout.lower()
    for grader_only in ("nbgrader", "nbval", "dask", "distributed", "pytest", "hypothesis", "playwright"):
        assert not re.search(rf"^{grader_only}==", freeze, re.M), grader_only


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_every_notebook_solved_passes_every_check_in_the_student_environment(student_folder, name, tmp_path):
    released = student_folder / "notebooks" / name / f"{name}.ipynb"
    solved = completed(released, ROOT / "solutions" / name / f"{name}.ipynb")
    path = tmp_path / released.name
    nbformat.write(solved, path)
    (tmp_path / "NOTATION.md").write_text("")  # the notebook's own folder, as in the bundle
    run = subprocess.run([str(student_folder / ".venv" / "bin" / "course"), "check", str(path)], cwd=tmp_path,
                         env=STUDENT_ENV, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    assert re.search(r"(\d+) of \1 exercises pass their checks\.", run.stdout), run.stdout


def test_a_mistake_is_named_in_the_student_environment_too(student_folder, tmp_path):
    # no answer key there: the check cell names the slip from the numbers in course_lib/mistakes.json
    name = "02_sigmoid_gates"
    released = student_folder / "notebooks" / name / f"{name}.ipynb"
    path = tmp_path / released.name
    nbformat.write(completed(released, ROOT / "solutions" / name / f"{name}.ipynb",
                             sigmoid_grad="def sigmoid_grad(z):\n    return sigmoid(z) * (1 - z)"), path)
    run = subprocess.run([str(student_folder / ".venv" / "bin" / "course"), "check", str(path)], cwd=tmp_path,
                         env=STUDENT_ENV, capture_output=True, text=True, timeout=600)
    assert run.returncode == 1
    assert "sigmoid_grad: you computed σ(z)·(1 − z): the second factor is 1 − σ(z), not 1 − z." in run.stdout, run.stdout


def test_the_readme_opens_jupyterlab_on_the_notebooks(student_folder, tmp_path):
    _, lab, *_ = readme_commands((student_folder / "README.md").read_text())
    assert lab == ".venv/bin/jupyter lab notebooks/"
    port, token = _free_port(), secrets.token_hex(8)
    extra = (f" --no-browser --ServerApp.ip=127.0.0.1 --ServerApp.port={port} --ServerApp.port_retries=0"
             f" --IdentityProvider.token={token} --ServerApp.allow_root=True --LabApp.news_url=None")
    log = tmp_path / "jupyter.log"
    with open(log, "w") as out:
        server = subprocess.Popen(["bash", "-c", f"exec {lab}{extra}"], cwd=student_folder, env=STUDENT_ENV,
                                  stdout=out, stderr=subprocess.STDOUT)
    try:
        listing, deadline = None, time.monotonic() + 120
        while listing is None and time.monotonic() < deadline and server.poll() is None:
            request = urllib.request.Request(f"http://127.0.0.1:{port}/api/contents/",
                                             headers={"Authorization": f"token {token}"})
            try:
                with urllib.request.urlopen(request, timeout=5) as response:
                    listing = json.load(response)
            except OSError:
                time.sleep(0.5)
        assert listing is not None, log.read_text()[-3000:]
        names = sorted(item["name"] for item in listing["content"])
        assert names == sorted([*ASSIGNMENTS, "NOTATION.md"])
        with urllib.request.urlopen(urllib.request.Request(
                f"http://127.0.0.1:{port}/lab", headers={"Authorization": f"token {token}"}), timeout=10) as page:
            assert page.status == 200 and b"JupyterLab" in page.read()
    finally:
        server.terminate()
        server.wait(timeout=30)

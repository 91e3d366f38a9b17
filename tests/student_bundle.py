"""A student's copy of the workbook, as `course bundle` hands it out, installed the way its README says.

Used by tests/test_bundle.py and the browser tests (one install per test session, see conftest.py).
"""

from __future__ import annotations

import os
import subprocess
import zipfile
from pathlib import Path

from course_lib.grading.bundle import make_bundle

ROOT = Path(__file__).resolve().parents[1]
# The environment of a student's terminal: nothing of this repository's (no .venv on PATH, no PYTHONPATH).
STUDENT_ENV = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
STUDENT_ENV["PATH"] = os.pathsep.join(p for p in os.environ["PATH"].split(os.pathsep) if not p.startswith(str(ROOT)))


def readme_commands(readme):
    """The indented command lines of the students' README, in order."""
    return [line.strip() for line in readme.splitlines() if line.startswith("    ") and line.strip()]


def student_folder(bundle, home):
    """Unzip ``bundle``'s archive into ``home`` and run its README's install command there; the folder."""
    with zipfile.ZipFile(bundle.archive) as zf:
        zf.extractall(home)
    folder = Path(home) / bundle.folder.name
    install, *_ = readme_commands((folder / "README.md").read_text())
    assert install.startswith("python3 -m venv .venv") and ".whl" in install, install
    run = subprocess.run(["bash", "-c", install], cwd=folder, env=STUDENT_ENV, capture_output=True, text=True,
                         timeout=900)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return folder


def handout(tmp):
    """``course bundle`` of the whole course into ``tmp``/workbook (and workbook.zip)."""
    return make_bundle(Path(tmp) / "workbook", course_root=ROOT, log=lambda *a: None)

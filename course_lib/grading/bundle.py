"""``course bundle``: what an instructor hands to students, with no answer key in it.

    course bundle [ASSIGNMENT ...] --out DIR

writes DIR/ and DIR.zip holding

* ``backprop_workbook-<version>-py3-none-any.whl``: the student library, built
  from this code base with only its student side (``course_lib`` without
  ``course_lib.key`` and ``course_lib.grading``) and only the student
  dependencies (``student/pyproject.toml`` beside this module);
* ``notebooks/<assignment>/*.ipynb``: the student versions of the chosen
  assignments (default: all), as released in the course's release directory;
* ``NOTATION.md`` and ``README.md`` (the students' two commands).

Nothing from the source notebooks (``solutions/``), no hidden tests, no
gradebook. When the release directory is out of date with the source
notebooks the bundle stops and says so, unless asked to release first.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from .release import assignments, load_course_config, release, release_root, stale_notebooks

__all__ = ["BundleError", "Bundle", "build_student_wheel", "make_bundle", "STUDENT_PROJECT"]

STUDENT_PROJECT = Path(__file__).resolve().parent / "student"  # pyproject.toml and README.md for students
PACKAGE = Path(__file__).resolve().parents[1]  # course_lib/
INSTRUCTOR_ONLY = ("key", "grading")  # subpackages of course_lib that never reach a student


class BundleError(RuntimeError):
    """The bundle cannot be made; the message says why and what to do."""


@dataclass
class Bundle:
    folder: Path
    archive: Path
    wheel: Path
    notebooks: list[Path] = field(default_factory=list)

    def files(self):
        """Every file of the bundle, relative to its folder, sorted."""
        return sorted(p.relative_to(self.folder) for p in self.folder.rglob("*") if p.is_file())


def _student_tree(target):
    """Copy the student side of course_lib into ``target``/course_lib (no caches, no instructor parts)."""
    skip = shutil.ignore_patterns("__pycache__", "*.pyc", *INSTRUCTOR_ONLY)
    shutil.copytree(PACKAGE, Path(target) / "course_lib", ignore=skip)


def build_student_wheel(out_dir):
    """Build the student library's wheel into ``out_dir``; return its path.

    Uses the installed setuptools without build isolation, so it works offline.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="course-wheel-") as tmp:
        stage = Path(tmp) / "project"
        stage.mkdir()
        shutil.copy(STUDENT_PROJECT / "pyproject.toml", stage)
        _student_tree(stage)
        built = Path(tmp) / "dist"
        run = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                              "--disable-pip-version-check", "--quiet", "-w", str(built), str(stage)],
                             capture_output=True, text=True)
        wheels = sorted(built.glob("*.whl")) if built.exists() else []
        if run.returncode != 0 or len(wheels) != 1:
            raise BundleError(f"building the student wheel failed:\n{run.stdout}{run.stderr}")
        for old in out_dir.glob("backprop_workbook-*.whl"):
            old.unlink()
        return Path(shutil.move(str(wheels[0]), out_dir / wheels[0].name))


def make_bundle(out, names=None, course_root=".", release_first=False, log=print):
    """Write the bundle folder ``out`` and ``out``.zip; return a ``Bundle``.

    Raises BundleError (nothing written) for an unknown assignment or a release
    directory that is out of date with the source notebooks (unless
    ``release_first``, which regenerates it and says so).
    """
    config = load_course_config(course_root)
    root = Path(config.CourseDirectory.root)
    known = assignments(course_root)
    names = list(names or known)
    unknown = [n for n in names if n not in known]
    if unknown:
        raise BundleError(f"no assignment {unknown[0]!r} in this course; there are: {', '.join(known)}")
    stale = stale_notebooks(course_root, names)
    if stale and not release_first:
        raise BundleError("the student notebooks are out of date with the source notebooks:\n  "
                          + "\n  ".join(stale) + "\nrun `make release` (or `course bundle --release`) first")
    if stale:
        log("releasing first: " + "; ".join(stale))
        release(course_root, names)
    released = release_root(course_root)
    out = Path(out).resolve()
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    wheel = build_student_wheel(out)
    notebooks = []
    for name in names:
        for nb in sorted((released / name).glob("*.ipynb")):
            target = out / "notebooks" / name / nb.name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(nb, target)
            notebooks.append(target)
    shutil.copy(root / "NOTATION.md", out / "NOTATION.md")
    shutil.copy(root / "NOTATION.md", out / "notebooks" / "NOTATION.md")  # JupyterLab opens on notebooks/
    shutil.copy(STUDENT_PROJECT / "README.md", out / "README.md")
    archive = out.with_name(out.name + ".zip")
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(out.rglob("*")):
            if path.is_file():
                zf.write(path, Path(out.name) / path.relative_to(out))
    return Bundle(folder=out, archive=archive, wheel=wheel, notebooks=notebooks)

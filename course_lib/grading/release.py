"""Generate the student notebooks from the instructor notebooks, with nbgrader.

    python -m course_lib.grading.release    (what `make release` runs)

Each assignment folder in the source directory (``solutions/``) becomes a
student version in the release directory (``notebooks/``): solutions replaced
by stubs, hidden tests removed, outputs cleared. NOTATION.md is copied there
too, so that students can open it from JupyterLab; for this repository's own
course, ``course_lib/mistakes.json`` is rewritten too (what the check cells
know of each exercise's mistakes: course_lib.grading.mistakes). This calls
nbgrader's own ``generate_assignment`` in one process (one nbgrader command costs about 3 s
of start-up per assignment); the course's ``nbgrader_config.py`` applies.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

__all__ = ["assignments", "load_course_config", "release", "release_root", "source_root", "stale_notebooks"]


def load_course_config(course_root, **overrides):
    """The traitlets Config of a course: its nbgrader_config.py plus ``overrides``.

    ``overrides`` are CourseDirectory settings, e.g. release_directory="/tmp/x".
    """
    from traitlets.config import Config
    from traitlets.config.loader import PyFileConfigLoader

    root = Path(course_root).resolve()
    config = Config()
    if (root / "nbgrader_config.py").exists():
        config.merge(PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config())
    config.CourseDirectory.root = str(root)
    for key, value in overrides.items():
        setattr(config.CourseDirectory, key, value)
    return config


def source_root(course_root="."):
    """The course's source directory (instructor notebooks)."""
    config = load_course_config(course_root)
    return Path(config.CourseDirectory.root) / config.CourseDirectory.get("source_directory", "source")


def assignments(course_root="."):
    """Names of the assignment folders in the course's source directory."""
    return sorted(p.name for p in source_root(course_root).iterdir() if p.is_dir() and any(p.glob("*.ipynb")))


def ensure_alembic_on_path():
    """nbgrader creates a gradebook by running `alembic` by name; find it next to this Python.

    Without this, `.venv/bin/course` (or any call from a non-activated
    environment) fails with "No such file or directory: 'alembic'".
    """
    if shutil.which("alembic") is None:
        here = str(Path(sys.executable).parent)
        os.environ["PATH"] = here + os.pathsep + os.environ.get("PATH", "")


def _course_directory(course_root, **overrides):
    """nbgrader's CourseDirectory of the course (its configuration, nbgrader's defaults), and that Config."""
    from nbgrader.coursedir import CourseDirectory

    config = load_course_config(course_root, **overrides)
    return CourseDirectory(config=config), config


def release_root(course_root=".", **overrides):
    """The course's release directory (student versions), as nbgrader resolves it."""
    coursedir, _ = _course_directory(course_root, **overrides)
    return Path(coursedir.format_path(coursedir.release_directory, ".", ""))


def release(course_root=".", names=None, **overrides):
    """Run nbgrader's generate_assignment for each assignment; return the notebooks written.

    Raises RuntimeError with nbgrader's log when an assignment fails.
    """
    from nbgrader.apps import NbGraderAPI

    ensure_alembic_on_path()
    coursedir, config = _course_directory(course_root, **overrides)
    api = NbGraderAPI(coursedir=coursedir, config=config)
    written = []
    for name in names or assignments(course_root):
        result = api.generate_assignment(name, force=True, create=True)
        if not result["success"]:
            raise RuntimeError(f"generate_assignment {name} failed:\n{result.get('error') or result.get('log')}")
        out = Path(coursedir.format_path(coursedir.release_directory, ".", name))
        written.extend(sorted(out.glob("*.ipynb")))
    # The notebooks point students to the notation page; JupyterLab opens on the
    # release folder, so a copy goes there.
    notation = Path(coursedir.root) / "NOTATION.md"
    if notation.exists():
        target = release_root(course_root, **overrides) / "NOTATION.md"
        target.write_text(notation.read_text())
        written.append(target)
    return written


def _normalised(path):
    """A notebook's JSON with sorted keys: what matters when two releases are compared."""
    return json.dumps(json.loads(Path(path).read_text()), sort_keys=True, indent=1)


def stale_notebooks(course_root=".", names=None):
    """The release directory's files that differ from a fresh release of the source notebooks.

    Releases into a temporary folder (nbgrader's generate_assignment, the course's
    own configuration) and compares notebook by notebook, NOTATION.md included.
    Returns a list of sentences, one per stale or missing file: empty when in sync.
    """
    committed = release_root(course_root)
    problems = []
    with tempfile.TemporaryDirectory(prefix="course-release-") as tmp:
        fresh_dir = Path(tmp) / "release"
        for fresh in release(course_root, names, release_directory=str(fresh_dir),
                             db_url=f"sqlite:///{Path(tmp) / 'gradebook.db'}"):
            ours = committed / fresh.relative_to(fresh_dir)
            if not ours.exists():
                problems.append(f"{ours} is missing")
            elif fresh.suffix == ".ipynb" and _normalised(fresh) != _normalised(ours):
                problems.append(f"{ours} is out of date with the source notebook")
            elif fresh.suffix != ".ipynb" and fresh.read_bytes() != ours.read_bytes():
                problems.append(f"{ours} is out of date")
    return problems


def main(argv=None):
    parser = argparse.ArgumentParser(description="Regenerate the student notebooks from the instructor notebooks.")
    parser.add_argument("assignments", nargs="*", help="assignment names (default: all in the source directory)")
    parser.add_argument("--course", default=".", help="course root holding nbgrader_config.py (default: .)")
    args = parser.parse_args(argv)
    for path in release(args.course, args.assignments or None):
        print(f"released {path}")
    if Path(args.course).resolve() == Path(__file__).resolve().parents[2]:
        # This course's check cells name mistakes from course_lib/mistakes.json, made from the same notebooks.
        from . import mistakes

        mistakes.main(["--course", args.course])
    return 0


if __name__ == "__main__":
    sys.exit(main())

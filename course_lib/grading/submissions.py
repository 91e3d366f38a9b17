"""Find the submissions of one assignment: nbgrader's layout, LMS downloads, or a zip of either.

* nbgrader: ``DIR/<student_id>/<assignment>/<notebook>.ipynb``
* LMS downloads (as ``nbgrader zip_collect`` collects them): ``DIR/<student_id>_<anything>.ipynb``;
  the notebook is the assignment's only notebook, or the one whose name the file name contains.
* a ``.zip`` file holding either layout.

Files are only read, never written or moved: what was submitted stays byte-for-byte as it was.
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

__all__ = ["Submission", "find_submissions"]

MAX_NOTEBOOK_BYTES = 50 * 2**20  # bigger files are reported, not read (a zip bomb, a notebook full of video)
_STUDENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@+-]*")


@dataclass
class Submission:
    student_id: str
    notebooks: dict  # {notebook name: bytes, or None when missing}
    sources: dict = field(default_factory=dict)  # {notebook name: where it came from}
    problems: list = field(default_factory=list)  # e.g. "2 files for 02_sigmoid_gates: the last one is graded"


def _members(path):
    """(relative posix path, reader) of every .ipynb under a folder or inside a zip."""
    path = Path(path)
    if path.is_file() and zipfile.is_zipfile(path):
        archive = zipfile.ZipFile(path)
        for info in archive.infolist():
            name = PurePosixPath(info.filename)
            if info.is_dir() or name.suffix != ".ipynb" or "__MACOSX" in name.parts:
                continue
            yield name, info.file_size, (lambda info=info: archive.read(info))
        return
    for file in sorted(path.rglob("*.ipynb")):
        if ".ipynb_checkpoints" in file.parts:
            continue
        yield PurePosixPath(file.relative_to(path).as_posix()), file.stat().st_size, file.read_bytes


def _notebook_for(filename, notebook_names):
    if len(notebook_names) == 1:
        return notebook_names[0]
    matches = [n for n in notebook_names if n in filename]
    return max(matches, key=len) if matches else None


def find_submissions(path, assignment, notebook_names):
    """The submissions under ``path`` (folder or zip), sorted by student id; and problems found on the way."""
    found, problems = {}, []
    for rel, size, read in _members(path):
        parts = rel.parts
        if len(parts) >= 3 and parts[-2] == assignment:  # nbgrader layout (possibly inside a top folder)
            student, notebook = parts[-3], rel.stem
        elif len(parts) >= 3:
            continue  # another assignment's folder
        else:  # LMS download: <student_id>_<anything>.ipynb
            student = rel.stem.split("_", 1)[0]
            notebook = _notebook_for(rel.stem, notebook_names)
        if not _STUDENT_ID.fullmatch(student or ""):
            problems.append(f"{rel}: cannot tell the student id from the file name (skipped)")
            continue
        if notebook not in notebook_names:
            problems.append(f"{rel}: not a notebook of {assignment} ({', '.join(notebook_names)}) (skipped)")
            continue
        sub = found.setdefault(student, Submission(student, {n: None for n in notebook_names}))
        if sub.notebooks[notebook] is not None:
            sub.problems.append(f"several files for {notebook}: graded {rel} (the last by name)")
        if size > MAX_NOTEBOOK_BYTES:
            sub.problems.append(f"{rel} is {size / 2**20:.0f} MB, over the {MAX_NOTEBOOK_BYTES // 2**20} MB limit")
            sub.notebooks[notebook] = b"{}"  # graded as an invalid notebook, with that message
        else:
            sub.notebooks[notebook] = read()
        sub.sources[notebook] = str(rel)
    return [found[k] for k in sorted(found)], problems

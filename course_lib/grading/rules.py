"""The grading rules a course's own nbgrader configuration sets: the one place they are read.

``nbgrader autograde`` reads them from the course's ``nbgrader_config.py``;
``course grade`` must grade by the same ones, or the two give different
scores on the same course:

* the hidden-test markers (``ClearHiddenTests.begin_test_delimeter`` /
  ``end_test_delimeter``; nbgrader spells it "delimeter"): which lines of a
  test cell never reach the student's kernel nor a feedback page;
* the solution markers (``ClearSolutions``): how the release was made;
* the time limit of a cell (``Execute.timeout``; ``None`` there means none);
* stderr lines that do not fail a test cell (``IgnorePattern``).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

__all__ = ["CourseRules", "Markers"]

NBGRADER_CELL_TIMEOUT = 30.0  # nbgrader's Execute.timeout default, seconds


@functools.lru_cache(maxsize=64)  # a batch asks of every cell of every submission, with the same few markers
def _lenient(marker):
    """A marker as a regex that also matches other spacing and case (``### begin  hidden tests``)."""
    words = marker.split()
    return re.compile(r"\s+".join(re.escape(w) for w in words), re.IGNORECASE) if words else None


@dataclass(frozen=True)
class Markers:
    """nbgrader's delimiters of a course (defaults: nbgrader's own)."""

    begin_hidden: str = "BEGIN HIDDEN TESTS"
    end_hidden: str = "END HIDDEN TESTS"
    begin_solution: str = "BEGIN SOLUTION"
    end_solution: str = "END SOLUTION"

    def _pattern(self, which):
        # Matched leniently: deciding that a line is hidden errs on the side of hiding it.
        # A course's own markers and nbgrader's defaults both count, so a cell written
        # before a course changed its markers is still protected.
        default = getattr(Markers, which)
        markers = {getattr(self, which), default}
        return [p for p in map(_lenient, markers) if p is not None]

    def has_hidden(self, source):
        """True when the source has a hidden-test region (a begin marker on some line)."""
        begin = self._pattern("begin_hidden")
        return any(p.search(line) for line in source.splitlines() for p in begin)

    def strip_hidden(self, source):
        """``source`` without its hidden-test regions, marker lines included.

        A region runs from a begin line to the next end line, or to the end of
        the cell when the end marker is missing (nbgrader refuses such a cell;
        here nothing after the begin marker is shown).
        """
        begin, end = self._pattern("begin_hidden"), self._pattern("end_hidden")
        kept, hidden = [], False
        for line in source.splitlines(keepends=True):
            if not hidden and any(p.search(line) for p in begin):
                hidden = True
            elif hidden and any(p.search(line) for p in end):
                hidden = False
            elif not hidden:
                kept.append(line)
        return "".join(kept)


@dataclass(frozen=True)
class CourseRules:
    """What of a course's nbgrader configuration changes grading."""

    markers: Markers = Markers()
    cell_timeout: float | None = NBGRADER_CELL_TIMEOUT  # None: no limit per cell (nbgrader's timeout = None)
    ignore_stderr: str = ""  # a regex: stderr outputs it matches are dropped before scoring (IgnorePattern)

    @classmethod
    def from_config(cls, config):
        """The rules of a traitlets ``Config`` (``release.load_course_config``)."""
        hidden, solutions = config.get("ClearHiddenTests", {}), config.get("ClearSolutions", {})
        markers = Markers(
            begin_hidden=hidden.get("begin_test_delimeter", Markers.begin_hidden),
            end_hidden=hidden.get("end_test_delimeter", Markers.end_hidden),
            begin_solution=solutions.get("begin_solution_delimeter", Markers.begin_solution),
            end_solution=solutions.get("end_solution_delimeter", Markers.end_solution))
        timeout = NBGRADER_CELL_TIMEOUT
        for section in ("ExecutePreprocessor", "Execute"):  # nbgrader's Execute overrides nbconvert's
            if "timeout" in config.get(section, {}):
                value = config[section].timeout
                timeout = float(value) if value is not None and value > 0 else None
        pattern = config.get("IgnorePattern", {})
        ignore = str(pattern.get("pattern", "")) if pattern.get("enabled", False) else ""
        return cls(markers=markers, cell_timeout=timeout, ignore_stderr=ignore)

    def drop_ignored_stderr(self, outputs):
        """``outputs`` without the stderr streams nbgrader's IgnorePattern would remove."""
        if not self.ignore_stderr:
            return list(outputs)
        pattern = re.compile(self.ignore_stderr)
        return [o for o in outputs if not (o.get("output_type") == "stream" and o.get("name") == "stderr"
                                           and pattern.search(o.get("text", "")))]

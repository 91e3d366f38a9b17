"""What a student reads after ``course grade``: one feedback page per notebook.

``feedback_html`` puts a summary table on top (each exercise, its points, the
score and the diagnostic) and the student's executed notebook below,
rendered by nbconvert's ``basic`` template: the fastest of the built-in HTML
templates and the only one without ~280 KiB of inlined CSS and links to
require.js and MathJax on a CDN; the page adds a few lines of its own CSS.
Markdown is shown as written (no MathJax: the page is self-contained).

The grader has already removed hidden tests and tracebacks; this module
removes them again, as a second line of defence, from a copy of the
notebook:

* every region of a cell from a line containing ``BEGIN HIDDEN TESTS`` to
  the next line containing ``END HIDDEN TESTS`` (to the end of the cell when
  the end marker is missing);
* every traceback, which may quote hidden lines: an error output keeps only
  ``ename: evalue``.

Markdown and HTML output written by the student are sanitized (nbconvert's
``sanitize_html``: scripts and unknown tags are escaped), and every text of
the summary is escaped.
"""

from __future__ import annotations

import copy
import functools
import html
import logging
import re
import threading

from nbconvert import HTMLExporter
from pygments.formatters import HtmlFormatter

__all__ = ["feedback_html", "sanitized", "strip_hidden"]

TEMPLATE = "basic"
_BEGIN = re.compile(r"BEGIN\s+HIDDEN\s+TESTS", re.IGNORECASE)
_END = re.compile(r"END\s+HIDDEN\s+TESTS", re.IGNORECASE)
_IMAGE_TYPES = ("image/png", "image/jpeg", "image/svg+xml")
_local = threading.local()   # one exporter per thread: its filters are not thread-safe
_log = logging.getLogger(__name__)


# ----------------------------------------------------------------------------- sanitizing

def strip_hidden(source):
    """``source`` without its hidden-test regions (marker lines included)."""
    kept, hidden = [], False
    for line in source.splitlines(keepends=True):
        if not hidden and _BEGIN.search(line):
            hidden = True
        elif hidden and _END.search(line):
            hidden = False
        elif not hidden:
            kept.append(line)
    return "".join(kept)


def _sanitize_output(output):
    if output.get("output_type") == "error":
        output["traceback"] = [f"{output.get('ename', 'Error')}: {output.get('evalue', '')}"]
    for mime in _IMAGE_TYPES:   # alt text (nbconvert logs a warning per image without one)
        if mime in output.get("data", {}):
            meta = output.setdefault("metadata", {}).setdefault(mime, {})
            meta.setdefault("alt", "figure output")


def sanitized(nb):
    """A deep copy of ``nb`` without hidden tests and tracebacks; ``nb`` is not changed."""
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        source = cell.get("source", "")
        cell["source"] = strip_hidden("".join(source) if isinstance(source, list) else source)
        for output in cell.get("outputs", []):
            _sanitize_output(output)
    return nb


# ----------------------------------------------------------------------------- rendering

def _exporter():
    if not hasattr(_local, "exporter"):
        _local.exporter = HTMLExporter(template_name=TEMPLATE, sanitize_html=True, log=_log)
    return _local.exporter


@functools.lru_cache(maxsize=1)
def _page_css():
    return _CSS + HtmlFormatter(style="default").get_style_defs(".highlight")


_CSS = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 60em; color: #222; }
h1 { font-size: 1.4em; }
table.summary { border-collapse: collapse; margin: 1em 0 2em; }
table.summary th, table.summary td { border: 1px solid #ddd; padding: .3em .6em; text-align: left;
  vertical-align: top; }
table.summary th { background: #f3f5f8; } td.num { text-align: right; }
tr.full td.num { color: #2a7f3f; } tr.partial td.num { color: #d68910; }
tr.zero td.num, tr.not-run td.num { color: #c0392b; }
td.message, .problem { white-space: pre-wrap; font-family: ui-monospace, monospace; font-size: .9em; }
.problem { background: #fdecea; padding: .6em; border-left: 4px solid #c0392b; }
.cell { margin: .6em 0; }
.input_area { background: #f7f7f7; border: 1px solid #e3e3e3; border-radius: 3px; padding: .2em .6em; }
.input_area pre, .output_area pre { margin: .3em 0; overflow-x: auto; }
.prompt { display: none; }
.output_area { padding: 0 .6em; }
.output_stderr, .output_error { background: #fdecea; }
.output_png img, .output_jpeg img, .output_svg img { max-width: 100%; }
"""


def _e(value):
    return html.escape(str(value), quote=True)


def _num(x):
    if x is None:
        return ""
    text = f"{float(x):.6f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _row_class(ex):
    if ex.get("verdict") == "not run":
        return "not-run"
    score, points = ex.get("score") or 0.0, ex.get("points") or 0.0
    return "full" if score >= points - 1e-9 else ("partial" if score > 1e-9 else "zero")


def _summary(notebook_record):
    """Header lines and the exercise table, every student text escaped."""
    rec = notebook_record
    parts = [f"<p>Score: <strong>{_num(rec.get('score'))} / {_num(rec.get('max_score'))}</strong></p>"]
    if rec.get("status", "graded") != "graded":
        parts.append(f"<p class=\"problem\">{_e(rec.get('status'))}: {_e(rec.get('message', ''))}</p>")
    rows = "".join(
        f"<tr class=\"{_row_class(ex)}\"><td>{_e(ex.get('grade_id', ''))}</td>"
        f"<td class=\"num\">{_num(ex.get('points'))}</td><td class=\"num\">{_num(ex.get('score'))}</td>"
        f"<td class=\"message\">{_e(ex.get('message') or ('not run' if ex.get('verdict') == 'not run' else ''))}"
        f"</td></tr>" for ex in rec.get("exercises") or [])
    if rows:
        parts.append("<table class=\"summary\"><tr><th>exercise</th><th>points</th><th>score</th>"
                     f"<th>diagnostic</th></tr>{rows}</table>")
    return "".join(parts)


def feedback_html(nb, notebook_record, *, student_id, assignment):
    """The feedback page of one notebook: a summary table, then the notebook.

    Parameters
    ----------
    nb : nbformat.NotebookNode
        The executed notebook (v4), as the grader sanitized it. Not modified.
    notebook_record : dict
        One entry of ``record["notebooks"]``: ``name``, ``status``,
        ``message``, ``score``, ``max_score``, ``exercises``.
    student_id, assignment : str

    Returns
    -------
    str
        A complete HTML page; images are embedded, nothing is loaded from outside.
    """
    name = notebook_record.get("name", "")
    body, _ = _exporter().from_notebook_node(sanitized(nb))
    title = f"{assignment} / {name}: feedback for {student_id}"
    return (f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{_e(title)}</title><style>{_page_css()}</style></head><body>"
            f"<h1>{_e(title)}</h1>{_summary(notebook_record)}"
            f"<div class=\"notebook\">{body}</div></body></html>\n")

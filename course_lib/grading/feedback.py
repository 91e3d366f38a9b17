r"""What a student reads after ``course grade``: one feedback page per notebook.

``feedback_html`` puts a summary table on top (each exercise, its points, the
score and the diagnostic) and the student's executed notebook below,
rendered by nbconvert's ``HTMLExporter`` with the ``basic`` template: the
only built-in HTML template without ~280 KiB of inlined CSS and links to
require.js and MathJax on a CDN (the page adds a few lines of CSS of its own,
and code wraps instead of scrolling). Each exercise is named by its
``title`` (as the notebook names it) when the record has one. Formulas are
MathML, drawn by the browser with nothing loaded from outside (``mathml``).

The grader has already removed hidden tests and tracebacks; this module
removes them again, as a second line of defence, from a copy of the
notebook:

* every region of a cell from a line containing the course's begin marker
  of hidden tests (``BEGIN HIDDEN TESTS`` unless its configuration says
  otherwise) to the next end marker (to the end of the cell when the end
  marker is missing): ``rules.Markers.strip_hidden``;
* every traceback, which may quote hidden lines: an error output keeps only
  ``ename: evalue``.

Markdown cells and HTML outputs are the student's HTML: they are sanitized
(``_clean_html``: tags outside an allowlist are shown escaped, links only to
http(s), mailto and anchors, images only as inline ``data:image/`` URIs, so
the page loads nothing from outside); scripts and widgets are not rendered;
code and text outputs are escaped by nbconvert, and every text of the
summary by this module. MathML is not on the allowlist: formulas are
inserted after the sanitizer, as ``mathml`` explains.

Speed (30-cell notebook of this course, one figure): ~45 ms a page once the
exporter is warm (the first page of a process takes ~0.3 s: templates and
lexers load). Two things make it four times faster than a stock
``HTMLExporter``: code cells are not passed through bleach (pygments has
escaped them already), and the BeautifulSoup pass that re-parses the whole
page to add alt texts and tab stops for the ``lab`` template is skipped.
"""

from __future__ import annotations

import copy
import functools
import html
import logging
import re
import threading

import bleach
import jinja2
from nbconvert import HTMLExporter
from nbconvert.exporters import TemplateExporter
from nbconvert.filters.highlight import Highlight2HTML
from pygments.formatters import HtmlFormatter

from .mathml import insert_math, markdown2html
from .records import exercise_name_html, fmt_number, outcome, to_grade_by_hand
from .rules import Markers

__all__ = ["feedback_html", "make_exporter", "sanitized", "strip_hidden"]

TEMPLATE = "basic"
_IMAGE_TYPES = ("image/png", "image/jpeg", "image/svg+xml")
_local = threading.local()   # one exporter per thread: its filters are not thread-safe
_log = logging.getLogger(__name__)


# ----------------------------------------------------------------------------- sanitizing

def strip_hidden(source, markers=Markers()):
    """``source`` without its hidden-test regions (marker lines included)."""
    return markers.strip_hidden(source)


def _sanitize_output(output):
    if output.get("output_type") == "error":
        output["traceback"] = [f"{output.get('ename', 'Error')}: {output.get('evalue', '')}"]
    metadata = output.get("metadata", {})
    metadata.pop("filenames", None)  # nbconvert would link them as <img src=...>: a tracking pixel
    for mime_meta in metadata.values():
        if isinstance(mime_meta, dict):
            mime_meta.pop("filenames", None)
            mime_meta.pop("svg_filename", None)
    for mime in _IMAGE_TYPES:   # an alt text, for screen readers
        if mime in output.get("data", {}):
            meta = output.setdefault("metadata", {}).setdefault(mime, {})
            meta.setdefault("alt", "figure output")


def sanitized(nb, markers=Markers()):
    """A deep copy of ``nb`` without hidden tests and tracebacks; ``nb`` is not changed."""
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        source = cell.get("source", "")
        cell["source"] = markers.strip_hidden("".join(source) if isinstance(source, list) else source)
        for output in cell.get("outputs", []):
            _sanitize_output(output)
    return nb


# ----------------------------------------------------------------------------- rendering

# basic's template, with code cells no longer passed through ``clean_html``:
# pygments escapes them, and bleach was half of the rendering time.
_TEMPLATE = """{%- extends 'index.html.j2' -%}
{% block input %}
<div class="inner_cell">
<div class="input_area">
{{ cell.source | highlight_code(metadata=cell.metadata) }}
</div>
</div>
{%- endblock input %}
"""
_TAGS = frozenset(bleach.ALLOWED_TAGS) | {
    "h1", "h2", "h3", "h4", "h5", "h6", "p", "br", "hr", "div", "span", "pre", "code", "img",
    "table", "thead", "tbody", "tr", "th", "td", "sup", "sub", "del", "s", "dl", "dt", "dd", "kbd"}
_PLAIN_ATTRIBUTES = frozenset({"class", "id", "title", "alt", "width", "height", "align",
                               "colspan", "rowspan"})
_URI_NOISE = re.compile(r"[`\x00-\x20\x7f-\U0010ffff]+")   # what browsers ignore in a URI


def _allowed_attribute(tag, name, value):
    """bleach's attribute filter: plain attributes, links, and only inline images."""
    if name in _PLAIN_ATTRIBUTES:
        return True
    uri = _URI_NOISE.sub("", html.unescape(value)).lower()
    if name == "href":
        return not uri.startswith("data:")
    return name == "src" and tag == "img" and uri.startswith("data:image/")


def _clean_html(text):
    """The student's HTML (rendered markdown, HTML outputs), safe to show, formulas as MathML.

    Replaces nbconvert's ``clean_html``, whose allowlist escapes headings and
    paragraphs, so that a rendered markdown cell would read ``<h1>...``.
    Formulas are inserted after bleach, which never sees MathML.
    """
    text = text.decode() if isinstance(text, bytes) else str(text)
    return insert_math(bleach.clean(text, tags=_TAGS, attributes=_allowed_attribute,
                                    protocols={"http", "https", "mailto", "data"}))


class _FeedbackExporter(HTMLExporter):
    """``HTMLExporter`` without its BeautifulSoup pass over the finished page.

    That pass adds alt texts (``sanitized`` gives every image one) and tab
    stops for the ``lab`` template's classes (absent from ``basic``), and took
    more time than rendering the notebook. The test suite checks that the
    page is otherwise the same as ``HTMLExporter``'s.
    """

    def from_notebook_node(self, nb, resources=None, **kw):
        lang = nb.metadata.get("language_info", {})
        lexer = lang.get("pygments_lexer", lang.get("name"))
        self.register_filter("highlight_code", Highlight2HTML(pygments_lexer=lexer, parent=self))
        # TemplateExporter's, not HTMLExporter's: the same minus the soup.
        return TemplateExporter.from_notebook_node(self, nb, resources, **kw)


def make_exporter(cls=_FeedbackExporter):
    """A new exporter for feedback pages (``cls=HTMLExporter``: the stock one, same options)."""
    return cls(template_name=TEMPLATE, template_file="feedback.html.j2", sanitize_html=True,
               extra_loaders=[jinja2.DictLoader({"feedback.html.j2": _TEMPLATE})],
               filters={"clean_html": _clean_html, "markdown2html": markdown2html}, log=_log)


def _exporter():
    if not hasattr(_local, "exporter"):
        _local.exporter = make_exporter()
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
tr.full td.score { color: #2a7f3f; } tr.partial td.score { color: #d68910; }
tr.zero td.score, tr.not-run td.score { color: #c0392b; } tr.instructor td.score { color: #5b6b7b; }
.grade-id { color: #6b7280; font-size: .85em; white-space: nowrap; }
td.message, .problem { white-space: pre-wrap; overflow-wrap: anywhere;
  font-family: ui-monospace, monospace; font-size: .9em; }
.problem { background: #fdecea; padding: .6em; border-left: 4px solid #c0392b; }
.cell { margin: .6em 0; }
.input_area { background: #f7f7f7; border: 1px solid #e3e3e3; border-radius: 3px;
  padding: .2em .6em; }
.input_area pre, .output_area pre { margin: .3em 0; }
.notebook pre { white-space: pre-wrap; overflow-wrap: anywhere; }
.output_html { overflow-x: auto; }
math { font-family: "STIX Two Math", "Latin Modern Math", "Cambria Math", math; font-size: 1.1em; }
math[display="block"] { margin: .6em 0; overflow-x: auto; overflow-y: hidden; }
code.tex { background: #f3f5f8; }
.prompt { display: none; }
.output_area { padding: 0 .6em; }
.output_stderr, .output_error { background: #fdecea; }
a.anchor-link { display: none; }
.output_png img, .output_jpeg img, .output_svg img { max-width: 100%; }
"""


def _e(value):
    return html.escape(str(value), quote=True)


def _exercise_row(ex):
    if to_grade_by_hand(ex):   # a score of 0 until then: not a failure
        kind, score = "instructor", "<span title=\"not graded yet\">&ndash;</span>"
        diagnostic = (ex.get("verdict") == "held" and ex.get("message")) or "graded by your instructor"
    else:
        kind, score = outcome(ex).replace(" ", "-"), fmt_number(ex.get("score"))
        diagnostic = ex.get("message") or ("not run" if ex.get("verdict") == "not run" else "")
    return (f"<tr class=\"{kind}\"><td>{exercise_name_html(ex.get('title'), ex.get('grade_id', ''))}</td>"
            f"<td class=\"num\">{fmt_number(ex.get('points'))}</td><td class=\"num score\">{score}</td>"
            f"<td class=\"message\">{_e(diagnostic)}</td></tr>")


def _summary(rec):
    """Score, why the notebook was not graded (if so), the exercise table; all text escaped."""
    exercises = rec.get("exercises") or []
    pending = sum(ex.get("points") or 0.0 for ex in exercises if to_grade_by_hand(ex))
    parts = [f"<p>Score: <strong>{fmt_number(rec.get('score'))} / "
             f"{fmt_number(rec.get('max_score'))}</strong>"
             + (f"; {fmt_number(pending)} of these points are graded by your instructor" if pending else "")
             + "</p>"]
    if rec.get("status", "graded") != "graded":
        parts.append(f"<p class=\"problem\">{_e(rec['status'])}: {_e(rec.get('message', ''))}</p>")
    rows = "".join(_exercise_row(ex) for ex in exercises)
    if rows:
        parts.append("<table class=\"summary\"><tr><th>exercise</th><th>points</th><th>score</th>"
                     f"<th>diagnostic</th></tr>{rows}</table>")
    return "".join(parts)


def feedback_html(nb, notebook_record, *, student_id, assignment, markers=Markers()):
    """The feedback page of one notebook: a summary table, then the notebook.

    Parameters
    ----------
    nb : nbformat.NotebookNode
        The executed notebook (v4), as the grader sanitized it. Not modified.
    notebook_record : dict
        One entry of ``record["notebooks"]``: ``name``, ``status``,
        ``message``, ``score``, ``max_score``, ``exercises`` (each with
        ``grade_id``, ``title``, ``points``, ``score``, ``message``,
        ``verdict``, ``needs_manual_grade``; ``title`` and
        ``needs_manual_grade`` may be missing from older records).
    student_id, assignment : str
    markers : rules.Markers
        The course's hidden-test markers.

    Returns
    -------
    str
        A complete HTML page; images are embedded, nothing is loaded from outside.
    """
    name = notebook_record.get("name", "")
    body, _ = _exporter().from_notebook_node(sanitized(nb, markers))
    title = f"{assignment} / {name}: feedback for {student_id}"
    return (f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{_e(title)}</title><style>{_page_css()}</style></head><body>"
            f"<h1>{_e(title)}</h1>{_summary(notebook_record)}"
            f"<div class=\"notebook\">{body}</div></body></html>\n")

r"""What a student reads after ``course grade``: one feedback page per notebook.

``feedback_html`` puts a summary table on top (each exercise, its points, the
score and the diagnostic) and the student's executed notebook below,
rendered by nbconvert's ``HTMLExporter`` with the ``basic`` template: the
only built-in HTML template without ~280 KiB of inlined CSS and links to
require.js and MathJax on a CDN (the page adds a few lines of CSS of its own,
and code wraps instead of scrolling). Each exercise is named by its
``title`` (as the notebook names it) when the record has one.

Formulas are MathML, written when the page is built (``latex2mathml``), so
that the browser draws them with nothing loaded from outside: ``$...$`` and
``\(...\)`` inline, ``$$...$$``, ``\[...\]`` and ``\begin{env}`` as
blocks, wherever nbconvert's markdown parser sees math (never in code
spans or code blocks; ``$5 and $6`` is not math). A formula it cannot
convert stays as its TeX, in a ``<code>``.

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
summary by this module. MathML is not on the allowlist: a student's own
``<math>`` is shown escaped like any other unknown tag. The markdown
renderer leaves a token where each formula was; the token goes through the
sanitizer as plain text, and only then becomes MathML, serialized by this
module from ``latex2mathml``'s element tree with allowlists of MathML
elements and attributes (``latex2mathml``'s own string output is not
safe: ``\text{<script>}`` comes out as a ``<script>``, ``\href`` as an
``href``).

Speed (30-cell notebook of this course, one figure): ~45 ms a page once the
exporter is warm (the first page of a process takes ~0.3 s: templates and
lexers load). Two things make it four times faster than a stock
``HTMLExporter``: code cells are not passed through bleach (pygments has
escaped them already), and the BeautifulSoup pass that re-parses the whole
page to add alt texts and tab stops for the ``lab`` template is skipped.
A formula costs ~1 ms the first time a process meets it (a lecture notebook
has 90-150 of them) and nothing after: ``_formula_html`` is cached, and
every student's copy of a notebook holds the same lecture.
"""

from __future__ import annotations

import base64
import copy
import functools
import html
import logging
import re
import threading
from urllib.parse import quote

import bleach
import jinja2
from latex2mathml.converter import convert_to_element
from nbconvert import HTMLExporter
from nbconvert.exporters import TemplateExporter
from nbconvert.filters.highlight import Highlight2HTML
from nbconvert.filters.markdown_mistune import MISTUNE_V3, IPythonRenderer, MarkdownWithMath, MathInlineParser
from pygments.formatters import HtmlFormatter

from .report import fmt_number, outcome, to_grade_by_hand
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


# ----------------------------------------------------------------------------- formulas

MAX_TEX = 5000   # characters of one formula; a longer one is shown as TeX
# What latex2mathml writes, minus what could run, link or restyle the page
# (maction, href, class, style, and any element or attribute not listed).
_MATHML_TAGS = frozenset({
    "math", "mrow", "mi", "mn", "mo", "ms", "mtext", "mspace", "msub", "msup", "msubsup", "mfrac",
    "msqrt", "mroot", "mstyle", "mpadded", "mphantom", "menclose", "mover", "munder",
    "munderover", "mmultiscripts", "mprescripts", "none", "mtable", "mtr", "mtd", "merror"})
_MATHML_ATTRIBUTES = frozenset({
    "display", "mathvariant", "mathsize", "mathcolor", "mathbackground", "displaystyle",
    "scriptlevel", "stretchy", "fence", "separator", "largeop", "movablelimits", "accent",
    "accentunder", "form", "lspace", "rspace", "minsize", "maxsize", "symmetric", "width",
    "height", "depth", "voffset", "linethickness", "notation", "columnalign", "rowalign",
    "columnspacing", "rowspacing", "columnlines", "rowlines", "frame", "framespacing"})
_MATHML_VALUE = re.compile(r"[\w.#%+\- ,()]{0,64}")   # names, lengths, colours: no quote, no colon
# Where a formula was: \ue000, "b" (block) or "i" (inline), its TeX in base64, \ue001. Private-use
# characters, which markdown and bleach keep as they are.
_TOKEN = re.compile("\ue000([bi])([A-Za-z0-9_=-]*)\ue001")
# A tag of bleach's output (its attribute values are double-quoted and may hold ">"), or a token.
_TAG_OR_TOKEN = re.compile(r'(<(?:[^>"]|"[^"]*")*>)|' + _TOKEN.pattern)


def _write_mathml(element, out):
    """Append ``element`` to ``out`` as HTML: allowed tags and attributes only, all text escaped."""
    tag = element.tag if element.tag in _MATHML_TAGS else "mrow"
    attributes = "".join(f' {name}="{html.escape(value)}"' for name, value in element.attrib.items()
                         if name in _MATHML_ATTRIBUTES and _MATHML_VALUE.fullmatch(value))
    # latex2mathml writes symbols as character references ("&#x003C3;"), and a \text{} as it is.
    out.append(f"<{tag}{attributes}>{html.escape(html.unescape(element.text or ''), quote=False)}")
    for child in element:
        _write_mathml(child, out)
    out.append(f"</{tag}>{html.escape(html.unescape(element.tail or ''), quote=False)}")


@functools.lru_cache(maxsize=4096)   # every student's copy of a notebook has the lecture's formulas
def _formula_html(tex, display=False):
    """One formula as MathML (``<math display="block">`` if ``display``), or as ``<code>`` TeX.

    The fallback, for TeX that latex2mathml cannot convert (or longer than
    ``MAX_TEX``), shows the formula's source with its delimiters, escaped.
    """
    try:
        if len(tex) > MAX_TEX:
            raise ValueError("formula too long")
        out = []
        _write_mathml(convert_to_element(tex, display="block" if display else "inline"), out)
        return "".join(out)
    except Exception:   # latex2mathml raises many kinds (and RecursionError); the page must not fail
        delimiter = "$$" if display else "$"
        return f'<code class="tex" title="formula not rendered">{_e(delimiter + tex + delimiter)}</code>'


def _math_token(tex, display):
    return f"\ue000{'b' if display else 'i'}{base64.urlsafe_b64encode(tex.encode()).decode()}\ue001"


def _token_tex(encoded):
    """The TeX of a token (``None`` if it is not one of ours: a student may type anything)."""
    try:
        return base64.urlsafe_b64decode(encoded).decode()
    except ValueError:   # binascii.Error and UnicodeDecodeError are ValueErrors
        return None


def _insert_math(text):
    """Sanitized HTML with each formula token made MathML (in a tag's attribute: its TeX)."""
    if "\ue000" not in text:
        return text

    def replace(match):
        tag, kind, encoded = match.groups()
        if tag is not None:   # a heading's id or an alt text holding a formula
            return _TOKEN.sub(lambda m: _e(_token_tex(m.group(2)) or ""), tag)
        tex = _token_tex(encoded)
        return "" if tex is None else _formula_html(tex, display=kind == "b")

    return _TAG_OR_TOKEN.sub(replace, text)


class _MathRenderer(IPythonRenderer):
    """nbconvert's markdown renderer, with a token (see ``_insert_math``) for each formula."""

    # nbconvert gives headings an id and an anchor link through ElementTree, which writes the
    # tokens' private-use characters as character references in the text, percent-encoded in the id.
    _WRITTEN_TOKEN = re.compile("&#57344;([bi][A-Za-z0-9_=-]*)&#57345;")
    _ID_TOKEN = re.compile("%EE%80%80[bi]([A-Za-z0-9_=-]*)%EE%80%81")

    def heading(self, text, level, **attrs):
        out = super().heading(text, level, **attrs)
        out = self._ID_TOKEN.sub(lambda m: quote((_token_tex(m.group(1)) or "").replace(" ", "-"),
                                                 safe="()"), out)   # id="Sigmoid-%5Csigma-gates"
        return self._WRITTEN_TOKEN.sub(lambda m: f"\ue000{m.group(1)}\ue001", out)

    def block_math(self, body):
        return _math_token(body, display=True)

    def latex_environment(self, name, body):
        return _math_token(f"\\begin{{{name}}}{body}\\end{{{name}}}", display=True)

    def inline_math(self, body):
        return _math_token(body, display=False)


class _MathInlineParser(MathInlineParser):
    r"""nbconvert's inline parser, with two changes to what is math.

    * ``\(...\)`` and ``\[...\]`` as Jupyter writes them (nbconvert's parser
      wants ``\\(...\\)``, markdown's escape for a backslash: a single one is
      read as an escaped parenthesis and the formula shown as text);
    * ``$`` as pandoc reads it, so that ``$5 and $6`` is not math: the opening
      ``$`` has a non-space on its right, the closing one a non-space on its
      left and no digit after it; and a formula has no backtick, so that
      ``$6, see `$x$` `` leaves the code span alone.
    """

    SPECIFICATION = {
        **MathInlineParser.SPECIFICATION,
        "block_math_latex": r"(?s:(?<!\\)\\{1,2}\[(?P<math_block_latex>.*?)(?<!\\)\\{1,2}\])",
        "inline_math_latex": r"(?s:(?<!\\)\\{1,2}\((?P<math_inline_latex>.*?)(?<!\\)\\{1,2}\))",
    }

    def parse_inline_math_tex(self, m, state):
        body, end = m.group("math_inline_tex"), m.end()
        if (body[:1].isspace() or body[-1:].isspace() or "`" in body
                or state.src[end:end + 1].isdigit()):
            return None   # mistune then reads the "$" as text and goes on after it
        return super().parse_inline_math_tex(m, state)


@jinja2.pass_context
def _markdown2html(context, source):
    """``HTMLExporter.markdown2html`` (default options), with formula tokens."""
    cell = context.get("cell", {})
    renderer = _MathRenderer(escape=False, attachments=cell.get("attachments", {}),
                             path=context.get("resources", {}).get("metadata", {}).get("path", ""))
    inline = _MathInlineParser(hard_wrap=False) if MISTUNE_V3 else None
    return MarkdownWithMath(renderer=renderer, inline=inline).render(source)


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
    return _insert_math(bleach.clean(text, tags=_TAGS, attributes=_allowed_attribute,
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
               filters={"clean_html": _clean_html, "markdown2html": _markdown2html}, log=_log)


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


def _exercise_name(ex):
    """The exercise's title (as the notebook names it), its grade id as a detail; escaped."""
    grade_id = str(ex.get("grade_id", ""))
    title = ex.get("title") or grade_id
    if title == grade_id:
        return _e(grade_id)
    return f"{_e(title)} <span class=\"grade-id\" title=\"grade cell id\">({_e(grade_id)})</span>"


def _exercise_row(ex):
    if to_grade_by_hand(ex):   # a score of 0 until then: not a failure
        kind, score = "instructor", "<span title=\"not graded yet\">&ndash;</span>"
        diagnostic = (ex.get("verdict") == "held" and ex.get("message")) or "graded by your instructor"
    else:
        kind, score = outcome(ex).replace(" ", "-"), fmt_number(ex.get("score"))
        diagnostic = ex.get("message") or ("not run" if ex.get("verdict") == "not run" else "")
    return (f"<tr class=\"{kind}\"><td>{_exercise_name(ex)}</td>"
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

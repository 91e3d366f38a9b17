r"""TeX to MathML for the feedback pages: formulas the browser draws, safe among the student's HTML.

Formulas are MathML, written when the page is built (``latex2mathml``), so
that the browser draws them with nothing loaded from outside: ``$...$`` and
``\(...\)`` inline, ``$$...$$``, ``\[...\]`` and ``\begin{env}`` as
blocks, wherever nbconvert's markdown parser sees math (never in code
spans or code blocks; ``$5 and $6`` is not math). A formula it cannot
convert stays as its TeX, in a ``<code>``.

Safety: the page's sanitizer (``feedback._clean_html``) knows no MathML: a
student's own ``<math>`` is shown escaped like any other unknown tag. So the
markdown renderer (``markdown2html``) leaves a token where each formula was;
the token goes through the sanitizer as plain text, and only then
``insert_math`` makes it MathML, serialized by this module from
``latex2mathml``'s element tree with allowlists of MathML elements and
attributes (``latex2mathml``'s own string output is not safe:
``\text{<script>}`` comes out as a ``<script>``, ``\href`` as an ``href``).

A formula costs ~1 ms the first time a process meets it (a lecture notebook
has 90-150 of them) and nothing after: ``_formula_html`` is cached, and
every student's copy of a notebook holds the same lecture.
"""

from __future__ import annotations

import base64
import functools
import html
import re
from urllib.parse import quote

import jinja2
from latex2mathml.converter import convert_to_element
from nbconvert.filters.markdown_mistune import MISTUNE_V3, IPythonRenderer, MarkdownWithMath, MathInlineParser

__all__ = ["MAX_TEX", "insert_math", "markdown2html"]

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
        return f'<code class="tex" title="formula not rendered">{html.escape(delimiter + tex + delimiter)}</code>'


def _math_token(tex, display):
    return f"\ue000{'b' if display else 'i'}{base64.urlsafe_b64encode(tex.encode()).decode()}\ue001"


def _token_tex(encoded):
    """The TeX of a token (``None`` if it is not one of ours: a student may type anything)."""
    try:
        return base64.urlsafe_b64decode(encoded).decode()
    except ValueError:   # binascii.Error and UnicodeDecodeError are ValueErrors
        return None


def insert_math(text):
    """Sanitized HTML with each formula token made MathML (in a tag's attribute: its TeX)."""
    if "\ue000" not in text:
        return text

    def replace(match):
        tag, kind, encoded = match.groups()
        if tag is not None:   # a heading's id or an alt text holding a formula
            return _TOKEN.sub(lambda m: html.escape(_token_tex(m.group(2)) or ""), tag)
        tex = _token_tex(encoded)
        return "" if tex is None else _formula_html(tex, display=kind == "b")

    return _TAG_OR_TOKEN.sub(replace, text)


class _MathRenderer(IPythonRenderer):
    """nbconvert's markdown renderer, with a token (see ``insert_math``) for each formula."""

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
def markdown2html(context, source):
    """``HTMLExporter.markdown2html`` (default options), with formula tokens."""
    cell = context.get("cell", {})
    renderer = _MathRenderer(escape=False, attachments=cell.get("attachments", {}),
                             path=context.get("resources", {}).get("metadata", {}).get("path", ""))
    inline = _MathInlineParser(hard_wrap=False) if MISTUNE_V3 else None
    return MarkdownWithMath(renderer=renderer, inline=inline).render(source)

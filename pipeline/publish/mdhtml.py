"""Safe markdown to HTML for a hand-edited detail file shown on the site.

Everything is escaped; only a little markup is kept: ``#`` headings, ``*``/``-`` list items,
paragraphs, ``**bold**``, ``code``, backslash escapes, entity references (shown as the
characters they stand for) and links whose target is arXiv over http(s). Anything else, raw
HTML and other links included, is shown as the text it is.
"""

from __future__ import annotations

import html
import re

from markupsafe import Markup

_ARXIV_URL = re.compile(r"https?://(?:www\.|export\.)?arxiv\.org/[A-Za-z0-9./_-]*")
_INLINE = re.compile(
    r"\\([!-/:-@\[-`{-~])"  # backslash escape
    r"|\*\*(.+?)\*\*"  # bold
    r"|`([^`]+)`"  # code
    r"|\[([^\]]*)\]\(([^()\s]*)\)"  # link
)
_HEADING = re.compile(r"(#{1,6})\s+(.*)")
_ITEM = re.compile(r"[*+-]\s+(.*)")


def _text(raw: str) -> str:
    return html.escape(html.unescape(raw))


def arxiv_url(url: str) -> bool:
    """True for an http(s) link to arxiv.org: the only kind of link taken from data."""
    return bool(_ARXIV_URL.fullmatch(url))


def _token(m: re.Match[str]) -> str:
    if m[1] is not None:
        return html.escape(m[1])
    if m[2] is not None:
        return f"<strong>{inline(m[2])}</strong>"
    if m[3] is not None:
        return f"<code>{html.escape(m[3])}</code>"
    if arxiv_url(m[5]):
        return f'<a href="{html.escape(m[5])}">{inline(m[4])}</a>'
    return _text(m[0])


def inline(text: str) -> str:
    """One line of markdown as escaped HTML with bold, code and arXiv links kept."""
    out, pos = [], 0
    for m in _INLINE.finditer(text):
        out.append(_text(text[pos : m.start()]))
        out.append(_token(m))
        pos = m.end()
    out.append(_text(text[pos:]))
    return "".join(out)


def to_html(markdown: str) -> Markup:
    """A markdown document as safe HTML blocks: headings, lists and paragraphs."""
    blocks: list[str] = []
    para: list[str] = []
    items: list[str] = []

    def flush() -> None:
        if para:
            blocks.append("<p>" + "\n".join(para) + "</p>")
        if items:
            blocks.append("<ul>\n" + "\n".join(f"<li>{i}</li>" for i in items) + "\n</ul>")
        para.clear()
        items.clear()

    for line in markdown.splitlines():
        stripped = line.strip()
        heading, item = _HEADING.fullmatch(stripped), _ITEM.fullmatch(stripped)
        if not stripped or heading or (item and para) or (not item and items):
            flush()
        if heading:
            level = len(heading[1])
            blocks.append(f"<h{level}>{inline(heading[2].rstrip('#').strip())}</h{level}>")
        elif item:
            items.append(inline(item[1]))
        elif stripped:
            para.append(inline(stripped))
    flush()
    return Markup("\n".join(blocks) + ("\n" if blocks else ""))


def inline_markup(text: str) -> Markup:
    """``inline`` for a jinja2 template: the user's own notes (bold kept, nothing live)."""
    return Markup(inline(text))

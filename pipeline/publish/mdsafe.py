"""Make text safe for the generated markdown (README table, bullets, detail files).

Text from the LLM and from arXiv metadata is untrusted: ``inline`` and ``cell`` turn it into one
line of literal markdown (no HTML, links, emphasis, headings or table breaks). ``trusted_cell``
is for the user's own config text, which keeps its markdown but still cannot break a table row.
``wrap`` breaks text by display width (CJK characters count double), following the Chinese rule
that closing punctuation never starts a line. (The file-name rules are in
``pipeline/names.py``.) Every function is pure and deterministic; all are meant to
be registered as jinja2 filters (with autoescape off: the escaping is done here).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from functools import lru_cache
from typing import NamedTuple

__all__ = [
    "BR",
    "cell",
    "display_width",
    "inline",
    "plain",
    "trusted_cell",
    "wrap",
]

BR = "<br />"

# Kinsoku: may not start a line (CJK closing punctuation, plus ASCII closers).
_NO_LINE_START = frozenset("，。、；：！？）」』”’．〕］｝》〉】〗〙〛…‥,.;:!?)]}%")
# May not end a line (opening punctuation).
_NO_LINE_END = frozenset("（「『“‘《〈【〔［｛〖〘〚([{")

# Invisible characters that can reorder or hide text (bidi embeddings/overrides/isolates, BOM).
_DROP = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\ufeff")

# One pass, so nothing is escaped twice.  ("@" is left alone: escaping it does not stop GFM's
# e-mail autolinks, which can only be mailto:/xmpp: links.)
_ESCAPES = str.maketrans(
    {
        "\\": "\\\\",
        "&": "&amp;",
        "<": "&lt;",
        ">": "&gt;",
        "`": "\\`",
        "*": "\\*",
        "_": "\\_",
        "[": "\\[",
        "]": "\\]",
        "|": "\\|",
        "~": "\\~",
    }
)
_WWW = re.compile(r"(www)\.", re.IGNORECASE)
_LEADING_MARKER = re.compile(r"^(?:([#+=-])|(\d+)([.)]))")
_UNESCAPED_PIPE = re.compile(r"(\\*)\|")
_TRAILING_BACKSLASHES = re.compile(r"\\+$")
_HYPHEN_CHUNK = re.compile(r"[^-/]*[-/]+|[^-/]+")
_NEWLINES = re.compile(r"\r\n|[\r\n\v\f\x85\u2028\u2029]")


# --- display width --------------------------------------------------------------------------


@lru_cache(maxsize=8192)
def _char_width(ch: str) -> int:
    """2 for East Asian Wide/Fullwidth, 0 for combining marks and invisible controls, else 1."""
    if unicodedata.category(ch) in ("Mn", "Me", "Cf", "Cc") or unicodedata.combining(ch):
        return 0
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def display_width(text: str) -> int:
    """Columns the text takes in a monospaced CJK-aware layout."""
    return sum(_char_width(ch) for ch in text)


# --- wrapping -------------------------------------------------------------------------------


class _Unit(NamedTuple):
    """A piece of text placed as a whole if it fits; else split into ``parts`` (if any)."""

    sep: str  # "" or " ": what stands between this unit and the previous one
    text: str
    parts: tuple[_Unit, ...]


def _is_wide(ch: str) -> bool:
    return _char_width(ch) == 2


def _atoms(text: str) -> list[tuple[str, str]]:
    """Split into (separator, atom): Latin runs stay whole, each CJK char is its own atom."""
    atoms: list[list[str]] = []
    sep = ""
    for ch in text:
        if ch == " ":
            sep = " "
            continue
        if atoms and not sep and _continues(atoms[-1][1], ch):
            atoms[-1][1] += ch
        else:
            atoms.append([sep, ch])
        sep = ""
    return [(s, a) for s, a in atoms]


def _continues(atom: str, ch: str) -> bool:
    """True if ch belongs to atom: a zero-width mark, or Latin following Latin."""
    return _char_width(ch) == 0 or not (_is_wide(ch) or _is_wide(atom[0]))


def _segments(atoms: list[tuple[str, str]]) -> list[list[tuple[str, str]]]:
    """Group atoms so no break falls before closing or after opening punctuation."""
    segments: list[list[tuple[str, str]]] = []
    for sep, atom in atoms:
        if segments and (atom[0] in _NO_LINE_START or segments[-1][-1][1][-1] in _NO_LINE_END):
            segments[-1].append((sep, atom))
        else:
            segments.append([(sep, atom)])
    return segments


def _clusters(text: str) -> tuple[_Unit, ...]:
    """Last-resort split points: every character, keeping combining marks with their base."""
    chars: list[str] = []
    for ch in text:
        if chars and _char_width(ch) == 0:
            chars[-1] += ch
        else:
            chars.append(ch)
    return tuple(_Unit("", c, ()) for c in chars) if len(chars) > 1 else ()


def _atom_unit(sep: str, atom: str) -> _Unit:
    """An over-long Latin word breaks after "-" or "/" first, then anywhere."""
    chunks = _HYPHEN_CHUNK.findall(atom)
    if len(chunks) > 1:
        return _Unit(sep, atom, tuple(_Unit("", c, _clusters(c)) for c in chunks))
    return _Unit(sep, atom, _clusters(atom))


def _segment_unit(segment: list[tuple[str, str]]) -> _Unit:
    parts = tuple(_atom_unit(sep, atom) for sep, atom in segment)
    if len(parts) == 1:
        return parts[0]
    text = parts[0].text + "".join(p.sep + p.text for p in parts[1:])
    return _Unit(parts[0].sep, text, parts)


def _hangs(current: str, unit: _Unit, width: int) -> bool:
    """A single closing mark may overhang a line that is not already over the width."""
    return (
        bool(current)
        and len(unit.text) == 1
        and unit.text in _NO_LINE_START
        and display_width(current) <= width
    )


def _pack(units: Sequence[_Unit], width: int) -> list[str]:
    """Greedy fill; a unit wider than a whole line is split into its parts.

    Closing punctuation that finds no room is hung past the margin (one mark per line) rather
    than starting the next line; this only happens once a segment had to be split.
    """
    lines: list[str] = []
    current = ""
    used = 0  # display_width(current), kept up to date (widths add up)
    for unit in units:
        unit_width = display_width(unit.text)
        if current:
            joined, joined_width = f"{current}{unit.sep}{unit.text}", used + len(unit.sep)
        else:
            joined, joined_width = unit.text, 0
        joined_width += unit_width
        if joined_width <= width or _hangs(current, unit, width):
            current, used = joined, joined_width
            continue
        if current:
            lines.append(current)
        if unit_width <= width or not unit.parts:
            current, used = unit.text, unit_width
            continue
        *done, current = _pack(unit.parts, width)
        used = display_width(current)
        lines.extend(done)
    if current:
        lines.append(current)
    return lines


def wrap(text: str, width: int) -> list[str]:
    """Greedy wrap to ``width`` display columns; whitespace runs become single spaces.

    Breaks at spaces or next to CJK characters, never inside a Latin word unless the word alone
    is wider than a line (then after "-" or "/" if possible). Closing punctuation never starts a
    line, opening punctuation never ends one. Lines have no leading or trailing spaces and join
    back to the normalised text with "" or " " at each break. A line is never wider than
    ``width`` except for a single character wider than ``width``, or one closing punctuation
    mark hung past the margin where a word too long for a line left it no room (e.g. a
    20-column word followed by "，" at width 20 gives one 22-column line, not a line "，").
    """
    if width < 1:
        raise ValueError(f"wrap width must be >= 1, got {width}")
    flat = " ".join(text.split())
    return _pack([_segment_unit(s) for s in _segments(_atoms(flat))], width)


# --- untrusted text -------------------------------------------------------------------------


def _dropped(ch: str) -> bool:
    """Control characters, lone surrogates and bidi overrides are removed outright."""
    return unicodedata.category(ch) in ("Cc", "Cs") or ch in _DROP


def _flatten(text: str) -> str:
    """Remove controls, turn every whitespace run (newlines included) into one space, strip."""
    if text.isprintable():  # nothing to drop: controls, surrogates and bidi marks are not
        kept = text
    else:
        kept = "".join(ch for ch in text if ch.isspace() or not _dropped(ch))
    return " ".join(kept.split())


def plain(text: str) -> str:
    """Untrusted text as one clean line: controls and bidi overrides dropped, whitespace collapsed
    (for HTML and XML, which escape it themselves)."""
    return _flatten(text)


def _escape(line: str) -> str:
    """Escape one already-flattened line so it renders literally."""
    out = line.translate(_ESCAPES)
    out = out.replace("](", "]\\(")
    out = out.replace("://", ":\\/\\/")
    out = _WWW.sub(r"\1\\.", out)
    return _LEADING_MARKER.sub(_escape_marker, out)


def _escape_marker(match: re.Match[str]) -> str:
    if match[1]:
        return "\\" + match[1]
    return f"{match[2]}\\{match[3]}"


def inline(text: str) -> str:
    """Untrusted text as one line of literal markdown: no HTML, links, emphasis or table breaks."""
    return _escape(_flatten(text))


def cell(text: str, width: int | None = None) -> str:
    """Like ``inline``; with ``width``, wrapped and joined with ``<br />`` (the only HTML)."""
    flat = _flatten(text)
    lines = [flat] if width is None else wrap(flat, width)
    return BR.join(_escape(line) for line in lines)


# --- trusted (user-written) text ------------------------------------------------------------


def _escape_pipes(line: str) -> str:
    """Make every "|" escaped (odd number of backslashes before it); "\\|" stays as it is."""

    def fix(match: re.Match[str]) -> str:
        slashes = match[1]
        return slashes + ("|" if len(slashes) % 2 else "\\|")

    return _UNESCAPED_PIPE.sub(fix, line)


def _close_backslash(line: str) -> str:
    """A line ending in an odd run of backslashes would escape what follows it."""
    match = _TRAILING_BACKSLASHES.search(line)
    return line + "\\" if match and len(match[0]) % 2 else line


def trusted_cell(text: str) -> str:
    """User config text (notes) for a table cell: markdown kept, no raw HTML, no table break."""
    text = _NEWLINES.sub("\n", text)
    text = "".join(ch for ch in text if ch.isspace() or not _dropped(ch))
    lines = [" ".join(line.split()) for line in text.strip().split("\n")]
    return BR.join(_close_backslash(_escape_pipes(line.replace("<", "&lt;"))) for line in lines)

"""Find a PDF's captioned figures: each one's number, page, caption and crop box.

A figure is found by its caption: a line of the page's own text that starts with `Figure N` or
`Fig. N` followed by `:`, `.` or `|` (an in-text reference such as "as shown in Figure 3" does not
start a line, and "Figure 3 shows" has no punctuation). The caption's block (the lines under it
at paragraph spacing) is the caption. The drawing is on one side of it, in a band as wide as the
caption's column (or the whole text area, for a caption wider than one column; halves, for two
captions side by side) that reaches to the nearest line of running text, another caption, or the
text area's edge (`layout.mark_body`). Whatever ink lies in that band is the figure: plots, images,
the labels drawn in it, sub-figures and their "(a)" lines. The side is the one the document's
captions use (a vote: most have ink above, so a caption sits under its figure), or the other when
that one is blank. The crop box is the figure with its caption, a little padding, never reaching
a line of running text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.figures.ink import InkMap
from pipeline.figures.layout import (
    Box,
    Line,
    TextArea,
    mark_body,
    overlaps_x,
    page_lines,
    text_extent,
    union,
)
from pipeline.figures.layout import text_area as find_text_area

__all__ = ["CAPTION", "Figure", "find_figures"]

CAPTION = re.compile(r"(?:Figure|FIGURE|Fig\.)\s*(\d{1,3})\s*[:.|]")
ANY_CAPTION = re.compile(
    r"(?:Figure|FIGURE|Fig\.|Table|TABLE|Algorithm|Listing)\s*[A-Z]?\d{1,3}\s*[:.|]"
)
_PAGE_HAS_CAPTION = re.compile(r"(?:^|\n)\s*(?:Figure|FIGURE|Fig\.)\s*\d{1,3}\s*[:.|]")
PAD = 4.0  # points of white around the crop
INSET = 2.0  # points kept clear of a caption or wall when looking for ink (anti-aliased glyphs)
MIN_SIZE = (24.0, 12.0)  # a drawing narrower or lower than this (points) is no figure


@dataclass(frozen=True)
class Figure:
    """A captioned figure: its number, its page (from 1), its crop box in PDF points (figure and
    caption), its caption text, and the boxes of other text that strays into the crop (a page
    number beside the caption's last line) to paint white."""

    number: int
    page: int
    box: Box
    caption: str
    caption_box: Box
    masks: tuple[Box, ...] = ()

    def to_dict(self) -> dict[str, object]:
        return {
            "number": self.number,
            "page": self.page,
            "box": _rounded(self.box),
            "caption": self.caption,
            "caption_box": _rounded(self.caption_box),
            "masks": [_rounded(m) for m in self.masks],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Figure:
        """The inverse of `to_dict`; raises KeyError, TypeError or ValueError on a bad record."""
        return cls(
            int(data["number"]),
            int(data["page"]),
            _box4(data["box"]),
            str(data["caption"]),
            _box4(data["caption_box"]),
            tuple(_box4(m) for m in data.get("masks", [])),
        )


def _rounded(box: Box) -> list[float]:
    return [round(v, 2) for v in box]


def _box4(values: Any) -> Box:
    x0, y0, x1, y1 = (float(v) for v in values)
    return (x0, y0, x1, y1)


@dataclass
class _Candidate:
    """A caption on a page, the band its figure may take, the drawing found above and below it
    (None: blank), and the lines the crop must not cover."""

    number: int
    page: int
    lines: list[Line]
    band: tuple[float, float] = (0.0, 0.0)
    walls: list[Box] = field(default_factory=list)
    above: Box | None = None
    below: Box | None = None
    limits: tuple[float, float] = (0.0, 0.0)  # the crop stays between these y

    @property
    def box(self) -> Box:
        return _box(self.lines)

    @property
    def caption(self) -> str:
        text = ""
        for line in self.lines:  # a word broken at a line end: "con-" "ventional", "Live-" "Code"
            if text.endswith("-") and text[-2:-1].isalpha() and line.text[:1].isalpha():
                text = (text[:-1] if line.text[0].islower() else text) + line.text
            else:
                text = f"{text} {line.text}" if text else line.text
        return text


def _box(lines: list[Line]) -> Box:
    box = lines[0].box
    for line in lines[1:]:
        box = union(box, line.box)
    return box


def _band(caption: Box, area: TextArea, width: float) -> tuple[float, float]:
    """The horizontal extent a caption's figure may take: its column, or the whole text area
    (and a little of the margins)."""
    margin = min(18.0, 0.5 * min(area.x0, width - area.x1))
    left, right = area.x0 - margin, area.x1 + margin
    centre = (caption[0] + caption[2]) / 2
    if area.two_columns and caption[2] - caption[0] <= 1.15 * area.column:
        middle = (area.x0 + area.x1) / 2
        left, right = (left, middle) if centre < middle else (middle, right)
    return left, right


def _gutter(empty: list[float], fallback: float) -> float:
    """The middle of the widest run of ink-free pixel columns, else `fallback`."""
    best: tuple[float, float] | None = None
    start = prev = None
    for x in [*empty, float("inf")]:
        if prev is not None and x - prev > 1.5:
            if best is None or prev - start > best[1] - best[0]:  # type: ignore[operator]
                best = (start, prev)  # type: ignore[assignment]
            start = None
        start = x if start is None else start
        prev = x
    return fallback if best is None else (best[0] + best[1]) / 2


def _split(cand: _Candidate, beside: list[Box], ink: InkMap) -> None:
    """Where another caption sits beside this one (side-by-side figures), narrow the band at
    the widest blank gap between the two captions' centres."""
    left, right = cand.band
    low, high = cand.limits
    mine = (cand.box[0] + cand.box[2]) / 2
    for other in beside:
        theirs = (other[0] + other[2]) / 2
        lo, hi = min(mine, theirs), max(mine, theirs)
        cut = _gutter(ink.empty_columns((lo, low, hi, high)), (lo + hi) / 2)
        left, right = (max(left, cut), right) if theirs < mine else (left, min(right, cut))
    cand.band = (left, right)


def _limits(cand: _Candidate, area: TextArea) -> None:
    """The nearest walls above and below the caption, in its band."""
    first_top, last_bottom = cand.lines[0].box[3], cand.lines[-1].box[1]
    span = (cand.band[0], 0.0, cand.band[1], 0.0)
    near = [w for w in cand.walls if overlaps_x(w, span, 1.0)]
    slack = 0.5 * area.line_height
    top = min(
        (w[1] for w in near if w[1] >= first_top - 1), default=max(area.y1, first_top) + slack
    )
    bottom = max(
        (w[3] for w in near if w[3] <= last_bottom + 1), default=min(area.y0, last_bottom) - slack
    )
    cand.limits = (min(bottom + 0.5, last_bottom), max(top - 0.5, first_top))


def _drawing(ink: InkMap, box: Box) -> Box | None:
    found = ink.bbox(box)
    if found is None or found[2] - found[0] < MIN_SIZE[0] or found[3] - found[1] < MIN_SIZE[1]:
        return None
    return found


def _measure(cand: _Candidate, beside: list[Box], area: TextArea, ink: InkMap) -> None:
    """Find the drawing above and below the caption, up to the nearest walls in its band."""
    _limits(cand, area)
    if beside:
        _split(cand, beside, ink)
        _limits(cand, area)
    left, right = cand.band
    low, high = cand.limits
    first_top, last_bottom = cand.lines[0].box[3], cand.lines[-1].box[1]
    cand.above = _drawing(ink, (left, first_top + INSET, right, high - INSET))
    cand.below = _drawing(ink, (left, low + INSET, right, last_bottom - INSET))


def _beside(box: Box, others: list[Box]) -> list[Box]:
    return [o for o in others if min(box[3], o[3]) - max(box[1], o[1]) > 0]


def _page_candidates(
    page: object, number: int, area: TextArea, lines: list[Line]
) -> list[_Candidate]:
    """The figure captions of one page, each measured."""
    width, height = page.get_size()  # type: ignore[attr-defined]
    found = mark_body(lines, area, height, ANY_CAPTION)
    captions = [block for block in found if ANY_CAPTION.match(block[0].text)]
    result: list[_Candidate] = []
    ink: InkMap | None = None
    for block in captions:
        match = CAPTION.match(block[0].text)
        if match is None:
            continue
        cand = _Candidate(int(match.group(1)), number, block)
        cand.band = _band(cand.box, area, width)
        cand.walls = [x.box for x in lines if x.page_text and x.body and x not in block]
        cand.walls += [x.box for b in captions if b is not block for x in b]
        ink = ink or InkMap(page)
        others = [_box(b) for b in captions if b is not block]
        _measure(cand, _beside(cand.box, others), area, ink)
        result.append(cand)
    return result


def _crop(cand: _Candidate, drawing: Box) -> tuple[Box, tuple[Box, ...]]:
    """The crop box (drawing and caption, padded, within the band and the walls) and the walls
    it still touches."""
    x0, y0, x1, y1 = union(drawing, cand.box)
    low, high = cand.limits
    left, right = cand.band
    box = (max(left, x0 - PAD), max(low, y0 - PAD), min(right, x1 + PAD), min(high, y1 + PAD))
    masks = tuple(
        w for w in cand.walls if w[0] < box[2] and box[0] < w[2] and w[1] < box[3] and box[1] < w[3]
    )
    return box, masks


def _choose(cands: list[_Candidate]) -> list[Figure]:
    """One figure per number: the first caption with a drawing on the document's usual side."""
    ups = sum(1 for c in cands if c.above and not c.below)
    downs = sum(1 for c in cands if c.below and not c.above)
    below_first = downs > ups
    figures: dict[int, Figure] = {}
    for cand in cands:
        sides = (cand.below, cand.above) if below_first else (cand.above, cand.below)
        drawing = sides[0] or sides[1]
        if drawing is None or cand.number in figures:
            continue
        box, masks = _crop(cand, drawing)
        figures[cand.number] = Figure(cand.number, cand.page, box, cand.caption, cand.box, masks)
    return [figures[n] for n in sorted(figures)]


def find_figures(pdf_path: Path) -> list[Figure]:
    """The captioned figures of a PDF, by number. Pages PDFium cannot read are skipped."""
    import pypdfium2 as pdfium  # imported here: a cached build never needs it

    doc = pdfium.PdfDocument(str(pdf_path))
    try:
        pages: list[tuple[int, object, list[Line]]] = []
        low, high = float("inf"), float("-inf")
        for index in range(len(doc)):
            page = doc[index]
            if page.get_rotation() % 360:
                continue
            textpage = page.get_textpage()
            if found := text_extent(textpage, page.get_height()):
                low, high = min(low, found[0]), max(high, found[1])
            if _PAGE_HAS_CAPTION.search(textpage.get_text_range()):
                pages.append((index + 1, page, page_lines(page, textpage)))
        heights = [(lines, page.get_height()) for _, page, lines in pages]  # type: ignore[attr-defined]
        area = find_text_area(heights, (0.0, low, 0.0, high) if low <= high else None)
        if area is None:
            return []
        cands = [c for n, page, lines in pages for c in _page_candidates(page, n, area, lines)]
        return _choose(cands)
    finally:
        doc.close()

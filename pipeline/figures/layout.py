"""A page's text lines and what they are: the page's own text (body, headings, captions) or labels
drawn inside a figure.

PDFium gives text as runs ("rects"); `page_lines` joins the runs of one baseline into lines. A run
belongs to the page's own text when a top-level text object holds it; text inside a form XObject
(an included PDF drawing) or enclosed by a drawn frame on the page is a figure's label. Among the
page's own lines, `mark_body` finds the running text: blocks of lines with one as wide as a text
column, headings, titles; everything else (sub-figure labels, a table beside a plot) may belong to
a figure.

Coordinates are PDF points with the origin at the page's bottom-left: a box is (x0, y0, x1, y1).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from pipeline.text.sections import parse_heading

Box = tuple[float, float, float, float]

_TEXT, _PATH, _IMAGE = 1, 2, 3  # PDFium page object types (FPDF_PAGEOBJ_*)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_SPACES = re.compile(r"\s+")
_SUBCAPTION = re.compile(r"\([a-z]\)\s")  # "(a) Accuracy on ...": a sub-figure's caption


@dataclass
class Line:
    """One line of text on a page (or a run of it, where a wide gap splits a table row)."""

    box: Box
    text: str
    page_text: bool  # a top-level text object of the page, not a label inside a drawing
    body: bool = False  # running text, a heading or furniture: never inside a figure's crop
    parts: list[Box] = field(default_factory=list, repr=False)

    @property
    def width(self) -> float:
        return self.box[2] - self.box[0]

    @property
    def height(self) -> float:
        return self.box[3] - self.box[1]


def union(a: Box, b: Box) -> Box:
    return (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))


def overlaps_x(a: Box, b: Box, slack: float = 0.0) -> bool:
    return a[0] < b[2] - slack and b[0] < a[2] - slack


def inside(inner: Box, outer: Box, slack: float = 1.0) -> bool:
    return (
        inner[0] >= outer[0] - slack
        and inner[1] >= outer[1] - slack
        and inner[2] <= outer[2] + slack
        and inner[3] <= outer[3] + slack
    )


def clean(text: str) -> str:
    """One line of PDF text as a reader sees it: NFKC, no control characters, single spaces."""
    text = unicodedata.normalize("NFKC", text.replace("\x02", "-"))
    return _SPACES.sub(" ", _CONTROL.sub(" ", text)).strip()


# --- the page's own text versus labels in drawings --------------------------------------------


def _top_level_boxes(page: object) -> tuple[list[Box], list[Box]]:
    """Boxes of the page's top-level text objects, and of its drawn frames (paths or images at
    least 40 x 16 pt and under half the page): text enclosed by a frame is a figure's."""
    width, height = page.get_size()  # type: ignore[attr-defined]
    texts: list[Box] = []
    frames: list[Box] = []
    for obj in page.get_objects(max_depth=0):  # type: ignore[attr-defined]
        if obj.type == _TEXT:
            texts.append(obj.get_bounds())
        elif obj.type in (_PATH, _IMAGE):
            x0, y0, x1, y1 = obj.get_bounds()
            w, h = x1 - x0, y1 - y0
            if w >= 40 and h >= 16 and w * h < 0.5 * width * height:
                frames.append((x0, y0, x1, y1))
    return texts, frames


def _centre_in(box: Box, boxes: list[Box], slack: float = 0.5) -> bool:
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    return any(
        b[0] - slack <= cx <= b[2] + slack and b[1] - slack <= cy <= b[3] + slack for b in boxes
    )


# --- runs to lines ---------------------------------------------------------------------------


def _same_line(line: Line, box: Box, gap: float) -> bool:
    low, high = max(line.box[1], box[1]), min(line.box[3], box[3])
    shorter = min(line.height, box[3] - box[1])
    if shorter <= 0 or high - low < 0.5 * shorter:
        return False
    return -2.0 <= box[0] - line.box[2] <= gap


def page_lines(page: object, textpage: object) -> list[Line]:
    """The text lines of a page, top to bottom, left to right."""
    texts, frames = _top_level_boxes(page)
    runs: list[tuple[Box, str, bool]] = []
    for i in range(textpage.count_rects()):  # type: ignore[attr-defined]
        box = textpage.get_rect(i)  # type: ignore[attr-defined]
        text = textpage.get_text_bounded(*box)  # type: ignore[attr-defined]
        if not text.strip():
            continue
        own = _centre_in(box, texts) and not any(inside(box, f, 0.5) for f in frames)
        runs.append((box, text, own))
    runs.sort(key=lambda r: (r[0][0], -r[0][3]))
    lines: list[Line] = []
    for box, text, own in runs:
        gap = min(14.0, 1.3 * (box[3] - box[1]))
        for line in reversed(lines):
            if line.page_text == own and _same_line(line, box, gap):
                line.box = union(line.box, box)
                line.text += text
                line.parts.append(box)
                break
        else:
            lines.append(Line(box, text, own, parts=[box]))
    for line in lines:
        line.text = clean(line.text)
    lines.sort(key=lambda x: (-round(x.box[3]), x.box[0]))
    return lines


# --- running text ----------------------------------------------------------------------------


def blocks(lines: list[Line], starts: re.Pattern[str]) -> list[list[Line]]:
    """The page's own lines grouped into paragraphs: each line joins the block whose lowest line
    sits just above it (a gap under 0.7 line heights, the taller of the two: PDFium's boxes are
    tight, "on screen." is lower than "Figure") and overlaps it sideways; a line matching
    `starts` (a caption) or a heading starts a block of its own."""
    found: list[list[Line]] = []
    for line in lines:
        if not line.page_text:
            continue
        fresh = starts.match(line.text) or parse_heading(line.text)
        home = None
        if not fresh:
            for block in reversed(found):
                last = block[-1]
                gap = last.box[1] - line.box[3]
                if -1.0 <= gap <= 0.7 * max(last.height, line.height) and overlaps_x(
                    last.box, line.box
                ):
                    home = block
                    break
        if home is None:
            found.append([line])
        else:
            home.append(line)
    return found


@dataclass(frozen=True)
class TextArea:
    """Where a document's running text goes: its left and right edges, top and bottom, the
    width of one column, and the usual height of a body line."""

    x0: float
    x1: float
    y0: float
    y1: float
    column: float
    line_height: float

    @property
    def two_columns(self) -> bool:
        return self.column < 0.6 * (self.x1 - self.x0)


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def text_area(pages: list[tuple[list[Line], float]], extent: Box | None = None) -> TextArea | None:
    """The text area from the page's own lines of several pages (lines, page height), leaving
    out the top and bottom 7% of each page (running heads, page numbers). `extent` (the text's
    lowest bottom and highest top on every page) widens it: pages with captions often have a
    figure, not text, at the top."""
    kept = [
        line
        for lines, height in pages
        for line in lines
        if line.page_text and 0.07 * height < line.box[1] and line.box[3] < 0.93 * height
    ]
    if len(kept) < 5:
        return None
    heights = [x.height for x in kept if len(x.text) > 20] or [x.height for x in kept]
    widths = [x.width for x in kept]
    y0, y1 = min(x.box[1] for x in kept), max(x.box[3] for x in kept)
    if extent is not None:
        y0, y1 = min(y0, extent[1]), max(y1, extent[3])
    return TextArea(
        x0=_quantile([x.box[0] for x in kept], 0.05),
        x1=_quantile([x.box[2] for x in kept], 0.95),
        y0=y0,
        y1=y1,
        column=_quantile(widths, 0.9),
        line_height=_quantile(heights, 0.5),
    )


def text_extent(textpage: object, height: float) -> tuple[float, float] | None:
    """The lowest bottom and highest top of a page's text between its top and bottom 7%."""
    low, high = float("inf"), float("-inf")
    for i in range(textpage.count_rects()):  # type: ignore[attr-defined]
        _, y0, _, y1 = textpage.get_rect(i)  # type: ignore[attr-defined]
        if 0.07 * height < y0 and y1 < 0.93 * height:
            low, high = min(low, y0), max(high, y1)
    return (low, high) if low <= high else None


def _furniture(line: Line, height: float) -> bool:
    """A running head or foot (the top or bottom 7% of the page) or a page number (digits alone
    in the top or bottom 10%)."""
    if line.box[1] > 0.93 * height or line.box[3] < 0.07 * height:
        return True
    edge = line.box[1] > 0.9 * height or line.box[3] < 0.1 * height
    return edge and line.text.isdigit() and len(line.text) <= 4


def mark_body(
    lines: list[Line], area: TextArea, height: float, starts: re.Pattern[str]
) -> list[list[Line]]:
    """Set `body` on the lines of running text: a block with a line at least 60% of a column
    wide (unless it starts like a sub-figure's caption, "(a) ..."), a heading, a title (taller
    than 1.3 body lines), and furniture (`_furniture`). Returns the blocks."""
    found = blocks(lines, starts)
    for block in found:
        sub = _SUBCAPTION.match(block[0].text) is not None
        wide = not sub and any(x.width >= 0.6 * area.column for x in block)
        heading = parse_heading(block[0].text) is not None and len(block) <= 2
        tall = any(x.height > 1.3 * area.line_height and len(x.text) > 3 for x in block)
        for line in block:
            line.body = wide or heading or tall or _furniture(line, height)
    return found

"""Finding and cropping figures: the six real papers, drawn layouts (two columns, a caption above,
side-by-side figures, sub-figures), deterministic small images, the cache."""

from __future__ import annotations

import functools
import re
from pathlib import Path

import pytest

from pipeline.figures import cache
from pipeline.figures.crop import MAX_BYTES, WIDTH, render_figure
from pipeline.figures.find import Figure, find_figures
from pipeline.figures.layout import Box, page_lines
from tests.support.figgen import one_column_pdf, two_column_pdf
from tests.support.pdfgen import paper_pdf

PDF_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures" / "pdfs"

# The captioned figures of each fixture paper, (number, page), as read off the PDFs.
EXPECTED = {
    "2401.06066": [(1, 2), (2, 5), (3, 12), (4, 13), (5, 14), (6, 14), (7, 33)],
    "2405.04434": [(1, 1), (2, 5), (3, 7), (4, 13), (5, 34)],
    "2406.11931": [(1, 1), (2, 6), (3, 7)],
    "2408.08152": [(1, 1), (2, 3), (3, 7), (4, 9), (5, 18)],
    "2501.12948": [(1, 1), (2, 7), (3, 8)],
    "2501.17811": [(1, 1), (2, 2), (3, 3), (4, 8)],
}

_WORD = re.compile(r"[A-Za-z]{2,}")
_SUBCAPTION = re.compile(r"\([a-z]\)\s")


def fixture(paper: str) -> Path:
    if not PDF_DIR.is_dir():
        pytest.skip(f"fixture PDFs not found at {PDF_DIR} (../shared missing)")
    return PDF_DIR / f"{paper}.pdf"


@functools.cache
def figures_of(path: Path) -> list[Figure]:
    return find_figures(path)


def text_lines(path: Path, page_number: int) -> list[tuple[Box, str, bool]]:
    """(box, text, the page's own text) of each text line of a page."""
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(str(path))
    try:
        page = doc[page_number - 1]
        return [(x.box, x.text, x.page_text) for x in page_lines(page, page.get_textpage())]
    finally:
        doc.close()


def body_text(lines: list[tuple[Box, str, bool]], caption: Box) -> list[tuple[Box, str]]:
    """The page's running text (and other captions): lines of its own text, not drawn inside a
    figure, with eight words or more, other than this figure's caption and a sub-figure's
    caption ("(a) ...")."""
    return [
        (box, text)
        for box, text, own in lines
        if own
        and len(_WORD.findall(text)) >= 8
        and not _SUBCAPTION.match(text)
        and not within(box, caption)
    ]


def within(inner: Box, outer: Box, slack: float = 1.0) -> bool:
    return (
        inner[0] >= outer[0] - slack
        and inner[1] >= outer[1] - slack
        and inner[2] <= outer[2] + slack
        and inner[3] <= outer[3] + slack
    )


def overlap(a: Box, b: Box, slack: float = 0.5) -> bool:
    return min(a[2], b[2]) - max(a[0], b[0]) > slack and min(a[3], b[3]) - max(a[1], b[1]) > slack


def assert_clean_crop(path: Path, figure: Figure) -> None:
    """The crop holds the caption line ("Figure N ...") and its caption, and no body text."""
    lines = text_lines(path, figure.page)
    start = re.compile(rf"(?:Figure|Fig\.)\s*{figure.number}\s*[:.|]")
    caption_lines = [box for box, text, own in lines if own and start.match(text)]
    assert caption_lines, f"figure {figure.number}: no caption line on page {figure.page}"
    assert any(within(box, figure.box) for box in caption_lines), figure
    assert within(figure.caption_box, figure.box), figure
    inside = [
        text for box, text in body_text(lines, figure.caption_box) if overlap(box, figure.box)
    ]
    assert inside == [], f"figure {figure.number} crop holds body text: {inside}"


@pytest.mark.parametrize("paper", sorted(EXPECTED))
def test_fixture_paper_figures_and_clean_crops(paper: str) -> None:
    path = fixture(paper)
    figures = figures_of(path)
    assert [(f.number, f.page) for f in figures] == EXPECTED[paper]
    for figure in figures:
        assert figure.caption.startswith(f"Figure {figure.number} |")
        assert_clean_crop(path, figure)


def test_in_text_references_are_not_captions() -> None:
    path = fixture("2406.11931")
    lines = text_lines(path, 7)
    assert any(text.startswith("Figure 3, in our in-house") for _, text, _ in lines)
    figure3 = [f for f in figures_of(path) if f.number == 3]
    assert figure3[0].caption == "Figure 3 | Performances of Different Methods"


def test_crops_are_deterministic_small_and_about_1200_px_wide() -> None:
    path = fixture("2406.11931")
    figure = figures_of(path)[0]
    first, second = render_figure(path, figure), render_figure(path, figure)
    assert first == second
    data, extension = first
    assert extension == "png" and len(data) < MAX_BYTES
    assert abs(int.from_bytes(data[16:20], "big") - WIDTH) <= 2  # the PNG header's width


def test_a_photograph_heavy_figure_stays_under_the_size_limit() -> None:
    path = fixture("2501.17811")
    figure = [f for f in figures_of(path) if f.number == 4][0]
    data, extension = render_figure(path, figure)
    assert len(data) < MAX_BYTES
    assert data[:4] == (b"RIFF" if extension == "webp" else b"\x89PNG")


def drawn(tmp_path: Path, make) -> tuple[Path, list[Figure], dict[int, Box]]:  # type: ignore[no-untyped-def]
    data, drawings = make()
    path = tmp_path / "drawn.pdf"
    path.write_bytes(data)
    return path, find_figures(path), drawings


def test_two_columns_a_figure_in_one_column_and_one_across_both(tmp_path: Path) -> None:
    path, figures, drawings = drawn(tmp_path, two_column_pdf)
    assert [(f.number, f.page) for f in figures] == [(1, 1), (2, 2)]
    for figure in figures:
        assert within(drawings[figure.number], figure.box), figure
        assert_clean_crop(path, figure)
    assert figures[0].box[2] < 306  # the left column's figure stays in the left column
    assert figures[1].box[2] > 500  # the wide one spans both


def test_caption_above_side_by_side_and_sub_figures(tmp_path: Path) -> None:
    path, figures, drawings = drawn(tmp_path, one_column_pdf)
    assert [(f.number, f.page) for f in figures] == [(1, 1), (2, 2), (3, 2), (4, 2)]
    for figure in figures:
        assert within(drawings[figure.number], figure.box), figure
        assert_clean_crop(path, figure)
    left, right = figures[1], figures[2]
    assert left.box[2] <= right.box[0]  # side by side: the crops do not overlap
    assert figures[3].caption == "Figure 4: Two sub-figures under one caption."


def test_a_paper_without_figures_has_none(tmp_path: Path) -> None:
    path = tmp_path / "plain.pdf"
    path.write_bytes(paper_pdf("Plain: a paper", "Plain"))
    assert find_figures(path) == []


def test_cache_round_trip_and_finder_version(tmp_path: Path) -> None:
    figure = Figure(2, 5, (1.0, 2.0, 3.0, 4.0), "Figure 2 | A caption", (1.0, 2.0, 3.0, 3.0))
    cache.write_figures(tmp_path, "ab" * 32, [figure])
    assert cache.read_figures(tmp_path, "ab" * 32) == [figure]
    text = cache.figures_path(tmp_path, "ab" * 32).read_text(encoding="utf-8")
    assert cache.dumps([figure]) == text  # deterministic
    stale = text.replace(f'"finder": {cache.FINDER_VERSION}', '"finder": 0')
    assert cache.loads(stale) is None
    assert cache.loads("{not json") is None
    assert cache.loads('{"finder": %d, "figures": [{"number": 1}]}' % cache.FINDER_VERSION) is None
    assert cache.read_figures(tmp_path, "cd" * 32) is None
    cache.write_image(tmp_path, "ab" * 32, 2, (b"\x89PNG...", "png"))
    assert cache.read_image(tmp_path, "ab" * 32, 2) == (b"\x89PNG...", "png")
    assert cache.read_image(tmp_path, "ab" * 32, 3) is None

"""A long list stays readable on GitHub: README.md split by year when it would pass ~1 MB.

GitHub stops rendering a markdown preview at about 2 MB, and a table of a thousand rows is hard
to read long before that. When the whole README would pass `README_LIMIT` bytes, every year but
the newest moves to its own page, `output/years/{YYYY}.md`: the same table header, the same rows
(numbered as in the whole list, detail links relative to the page's folder) and the same
sections. README.md keeps the newest year (and the papers with no date yet) and links to every
page; each page links back. Pages are written before the README that links to them; pages no
longer linked are removed after it, so a reader never meets a dead link.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable
from pathlib import Path

from pipeline.publish.row import Row
from pipeline.store import write_if_changed

README = "README.md"
YEARS_DIR = "years"
README_LIMIT = 1_000_000  # bytes: past this the README is split by year
_YEAR_PAGE = re.compile(r"\d{4}\.md")

# (rows, year or "" for the README, the year links line, the detail links' prefix) -> markdown
Render = Callable[[list[Row], str, str, str], str]


def year_of(row: Row) -> str:
    """The year of a row's date ("" when it has none yet)."""
    return row.date[:4]


def page_name(year: str) -> str:
    """A year page, relative to output/."""
    return f"{YEARS_DIR}/{year}.md"


def _links(years: list[str], current: str, newest: str, from_page: bool) -> str:
    """The line "按年份：**2025** · [2024](./years/2024.md) ...", newest first, with links
    relative to the file it is in (README.md or a year page)."""
    parts = []
    for year in years:
        if year == current:
            parts.append(f"**{year}**")
        elif year == newest:
            parts.append(f"[{year}](../{README})")
        else:
            folder = "" if from_page else f"{YEARS_DIR}/"
            parts.append(f"[{year}](./{folder}{year}.md)")
    return "按年份：" + " · ".join(parts)


def readme_pages(rows: list[Row], render: Render) -> dict[str, str]:
    """{path relative to output/: markdown}: README.md alone, or README.md with the newest
    year and one page per earlier year when the whole list would pass README_LIMIT."""
    whole = render(rows, "", "", "./")
    years = sorted({y for row in rows if (y := year_of(row))}, reverse=True)
    if len(whole.encode("utf-8")) <= README_LIMIT or len(years) < 2:
        return {README: whole}
    newest = years[0]
    pages = {}
    for year in years[1:]:
        mine = [row for row in rows if year_of(row) == year]
        pages[page_name(year)] = render(mine, year, _links(years, year, newest, True), "../")
    recent = [row for row in rows if year_of(row) in (newest, "")]
    pages[README] = render(recent, "", _links(years, newest, newest, False), "./")
    return pages


def write_pages(out: Path, pages: dict[str, str]) -> tuple[list[str], list[str]]:
    """Write the year pages, then README.md, then remove the year pages no longer linked;
    (written, removed), paths relative to `out`."""
    written: list[str] = []
    removed: list[str] = []
    for rel in sorted(pages, key=lambda rel: rel == README):  # README.md last
        if write_if_changed(out / rel, pages[rel]):
            written.append(rel)
    folder = out / YEARS_DIR
    for path in sorted(folder.glob("*.md")) if folder.is_dir() else []:
        rel = f"{YEARS_DIR}/{path.name}"
        if rel not in pages and _YEAR_PAGE.fullmatch(path.name):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
                removed.append(rel)
    with contextlib.suppress(OSError):  # only when empty: anything a person put there stays
        folder.rmdir()
    return written, removed

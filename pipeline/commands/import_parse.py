"""Parse an existing reading list in the reference README format and turn it into config.toml.

Pure text in, data out: no files, no network. `python -m pipeline import` reads the README, calls
`parse_readme`, then `config_toml` (and stores what it wants of the parsed summaries).

The format (see shared/reference/seed-readme.md): a `# Title` line, an intro line, a table
`|    | date | project | title | link | abstract | details |`, then `## N **X**` sections of
`* **heading** ：text` bullets, matched to the table rows by their number N.

Rules for what a hand-made list leaves open:

- Unwrapping (title and abstract): the cell is split on `<br />`, whitespace inside each piece is
  collapsed, and the pieces are joined with no space between two wide (CJK) characters, a single
  space between two narrow (Latin) ones, and a single space between a CJK ideograph and a Latin
  letter or digit (the list spaces every such boundary: "创建 DeepSeek"). Next to CJK punctuation
  such as "，" or "（" no space is added.
- Notes: the abstract cell ends with the notes from the first `<br />` piece that starts with a
  symbol character (Unicode category So: 🤔, ❓, ✅, 💡 ...) or from a blank piece (the
  `<br /><br />` break), whichever comes first. Notes are the pieces from there on, stripped,
  empties dropped; the abstract is everything before.
- Marks: the details cell must hold exactly one link whose text ends with "details". Its mark is
  the text before "details" in that cell with any other links reduced to their text, stripped:
  `✅[details](…)` -> "✅", `[❓✅details](…)` -> "❓✅", and row 10's
  `❓[✅](./…/07-….md)[details](./…/10-….md)` -> "❓✅" (the cross-link's target is dropped;
  the config has no place for it). Text after the details link is an error.
- The details link names the file `./{details_dir}/{NN}-{slug}.{ID}v{N}.md`; its ID must be the
  one in the link column, and every row must use the same details_dir.
- A row without a section gets section_title "" and no bullets; a section without a row, a second
  section for one row, or any other text between the sections is an error.
- Cell text is kept as markdown source: only an escaped pipe `\\|` is turned back into `|`.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from pipeline.names import ARXIV_ID, FILE_ID, id_of_file

HEADER = ("", "date", "project", "title", "link", "abstract", "details")
HEADER_TEXT = "|    | date | project | title | link | abstract | details |"

_BR = re.compile(r"<br\s*/?>", re.IGNORECASE)
_PIPE = re.compile(r"(?<!\\)\|")
_TITLE = re.compile(r"^#[ \t]+(.+?)\s*$")
_SEPARATOR_CELL = re.compile(r"^:?-+:?$")
_DATE = re.compile(r"^\d{8}$")
_ARXIV_LINK = re.compile(
    rf"^\[[^\]]*\]\((?:https?://)?(?:www\.)?arxiv\.org/abs/({ARXIV_ID})(?:v\d+)?/?\)$"
)
_LINK = re.compile(r"\[([^\]]*)\]\(([^)\s]*)\)")
_DETAILS_PATH = re.compile(
    r"^(?:\./)?(?P<dir>.+)/(?P<nn>\d+)-(?P<slug>[^/]+)"
    rf"\.(?P<id>{FILE_ID})(?:v(?P<version>\d+))?\.md$"
)
_SECTION = re.compile(r"^##\s+(\d+)\s+\*\*(.+?)\*\*\s*$")
_BULLET = re.compile(r"^[*-]\s+\*\*(.+?)\*\*\s*[：:]\s*(.*?)\s*$")


class ReadmeFormatError(Exception):
    """The README is not in the reference format; names the 1-based line and the problem."""

    def __init__(self, line: int, problem: str) -> None:
        super().__init__(f"line {line}: {problem}")
        self.line = line
        self.problem = problem


@dataclass
class ImportedPaper:
    """One table row of the list, with the section that carries its number."""

    number: int
    date: str
    project: str
    title: str
    arxiv_id: str
    version: int | None
    abstract: str
    notes: list[str]
    mark: str
    slug: str
    details_dir: str
    section_title: str = ""
    bullets: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class ImportedList:
    """The whole list: heading, intro line and the papers in table order."""

    title: str
    intro: str
    papers: list[ImportedPaper]


# ---------------------------------------------------------------- text helpers


def _is_wide(ch: str) -> bool:
    return unicodedata.east_asian_width(ch) in ("W", "F")


def _needs_space(left: str, right: str) -> bool:
    """Whether a wrapped line break between these two characters stood for a space."""
    left_wide, right_wide = _is_wide(left), _is_wide(right)
    if left_wide and right_wide:
        return False
    if not left_wide and not right_wide:
        return True
    wide, narrow = (left, right) if left_wide else (right, left)
    return unicodedata.category(wide) == "Lo" and narrow.isalnum()


def unwrap(pieces: list[str]) -> str:
    """Join `<br />`-wrapped pieces back into one line (see the module docstring)."""
    text = ""
    for raw in pieces:
        piece = " ".join(raw.split())
        if not piece:
            continue
        if text and _needs_space(text[-1], piece[0]):
            text += " "
        text += piece
    return text


def _starts_note(piece: str, index: int) -> bool:
    stripped = piece.strip()
    if not stripped:
        return index > 0
    return unicodedata.category(stripped[0]) == "So"


def split_abstract(cell: str) -> tuple[str, list[str]]:
    """Split an abstract cell into the unwrapped abstract and its notes."""
    pieces = _BR.split(cell)
    start = next((i for i, p in enumerate(pieces) if _starts_note(p, i)), len(pieces))
    notes = [p.strip() for p in pieces[start:] if p.strip()]
    return unwrap(pieces[:start]), notes


# ---------------------------------------------------------------- table cells


def _line_no(lines: list[str], i: int) -> int:
    """The 1-based number of line index i, or of the last line when i is past the end."""
    return max(min(i, len(lines) - 1), 0) + 1


def _split_cells(line: str, line_no: int) -> list[str]:
    stripped = line.strip()
    if not (stripped.startswith("|") and stripped.endswith("|") and len(stripped) > 1):
        raise ReadmeFormatError(line_no, "a table line must start and end with '|'")
    if stripped.endswith("\\|"):
        raise ReadmeFormatError(line_no, "a table line must end with an unescaped '|'")
    cells = _PIPE.split(stripped[1:-1])
    return [c.strip().replace("\\|", "|") for c in cells]


def _check_header(lines: list[str], i: int) -> None:
    found = lines[i].strip() if i < len(lines) else "end of file"
    problem = f"expected the table header '{HEADER_TEXT}', found {found!r}"
    if i >= len(lines) or not lines[i].strip().startswith("|"):
        raise ReadmeFormatError(_line_no(lines, i), problem)
    if tuple(c.lower() for c in _split_cells(lines[i], i + 1)) != HEADER:
        raise ReadmeFormatError(i + 1, problem)
    if i + 1 >= len(lines) or not lines[i + 1].strip().startswith("|"):
        raise ReadmeFormatError(_line_no(lines, i + 1), "missing the '| -- | ... |' line")
    cells = _split_cells(lines[i + 1], i + 2)
    if len(cells) != len(HEADER) or not all(_SEPARATOR_CELL.match(c) for c in cells):
        raise ReadmeFormatError(i + 2, "expected the '| -- | ... |' line under the table header")


def _parse_number(cell: str, line_no: int) -> int:
    if not cell.isdigit():
        raise ReadmeFormatError(line_no, f"row number {cell!r} is not a whole number")
    return int(cell)


def _parse_date(cell: str, line_no: int) -> str:
    if not _DATE.match(cell):
        raise ReadmeFormatError(line_no, f"date {cell!r} is not YYYYMMDD")
    return cell


def _parse_link(cell: str, line_no: int) -> str:
    match = _ARXIV_LINK.match(cell)
    if not match:
        raise ReadmeFormatError(
            line_no, f"link cell {cell!r} is not [link](http://arxiv.org/abs/YYMM.NNNNN)"
        )
    return match.group(1)


def _details_link(cell: str, line_no: int) -> re.Match[str]:
    links = [m for m in _LINK.finditer(cell) if m.group(1).strip().endswith("details")]
    if len(links) != 1:
        raise ReadmeFormatError(
            line_no, f"details cell needs exactly one [details](...) link, found {len(links)}"
        )
    if cell[links[0].end() :].strip():
        raise ReadmeFormatError(line_no, "unexpected text after the details link")
    return links[0]


def _parse_details(cell: str, line_no: int) -> tuple[str, re.Match[str]]:
    """Return the mark and the match of the details file path."""
    link = _details_link(cell, line_no)
    before = _LINK.sub(lambda m: m.group(1), cell[: link.start()])
    mark = (before + link.group(1).strip()[: -len("details")]).strip()
    path = _DETAILS_PATH.match(link.group(2))
    if not path:
        raise ReadmeFormatError(
            line_no,
            f"details link {link.group(2)!r} is not ./DIR/NN-SLUG.YYMM.NNNNNvN.md",
        )
    return mark, path


def _parse_row(line: str, line_no: int) -> ImportedPaper:
    cells = _split_cells(line, line_no)
    if len(cells) != len(HEADER):
        raise ReadmeFormatError(line_no, f"row has {len(cells)} cells, expected {len(HEADER)}")
    number_cell, date_cell, project, title_cell, link_cell, abstract_cell, details = cells
    if not project:
        raise ReadmeFormatError(line_no, "project cell is empty")
    arxiv_id = _parse_link(link_cell, line_no)
    mark, path = _parse_details(details, line_no)
    if id_of_file(path["id"]) != arxiv_id:
        raise ReadmeFormatError(
            line_no, f"details link names {path['id']}, the link column {arxiv_id}"
        )
    abstract, notes = split_abstract(abstract_cell)
    return ImportedPaper(
        number=_parse_number(number_cell, line_no),
        date=_parse_date(date_cell, line_no),
        project=project,
        title=unwrap(_BR.split(title_cell)),
        arxiv_id=arxiv_id,
        version=int(path["version"]) if path["version"] else None,
        abstract=abstract,
        notes=notes,
        mark=mark,
        slug=path["slug"],
        details_dir=path["dir"],
    )


def _parse_table(lines: list[str], i: int) -> tuple[dict[int, ImportedPaper], int]:
    """Parse the table whose header is at index i; return the rows by number and the next index."""
    _check_header(lines, i)
    rows: dict[int, ImportedPaper] = {}
    j = i + 2
    while j < len(lines) and lines[j].strip().startswith("|"):
        paper = _parse_row(lines[j], j + 1)
        _check_row_fits(paper, rows, j + 1)
        rows[paper.number] = paper
        j += 1
    if not rows:
        raise ReadmeFormatError(i + 1, "the table has no rows")
    return rows, j


def _check_row_fits(paper: ImportedPaper, rows: dict[int, ImportedPaper], line_no: int) -> None:
    if paper.number in rows:
        raise ReadmeFormatError(line_no, f"row number {paper.number} appears twice")
    first = next(iter(rows.values()), None)
    if first is not None and first.details_dir != paper.details_dir:
        raise ReadmeFormatError(
            line_no,
            f"details link is under {paper.details_dir!r}, earlier rows under "
            f"{first.details_dir!r}; one list has one details folder",
        )


# ---------------------------------------------------------------- sections


def _parse_sections(lines: list[str], i: int, rows: dict[int, ImportedPaper]) -> None:
    """Attach each `## N **X**` section from index i on to row N."""
    current: ImportedPaper | None = None
    seen: set[int] = set()
    for j in range(i, len(lines)):
        line, line_no = lines[j].strip(), j + 1
        if not line:
            continue
        if section := _SECTION.match(line):
            current = _open_section(section, rows, seen, line_no)
        elif bullet := _BULLET.match(line):
            if current is None:
                raise ReadmeFormatError(line_no, "bullet outside a '## N **Project**' section")
            current.bullets.append((bullet.group(1).strip(), bullet.group(2)))
        else:
            raise ReadmeFormatError(
                line_no,
                f"unexpected line {line[:40]!r}; expected '## N **Project**' or "
                "'* **heading** ：text'",
            )


def _open_section(
    match: re.Match[str], rows: dict[int, ImportedPaper], seen: set[int], line_no: int
) -> ImportedPaper:
    number = int(match.group(1))
    if number not in rows:
        raise ReadmeFormatError(line_no, f"section {number} has no matching row in the table")
    if number in seen:
        raise ReadmeFormatError(line_no, f"section {number} appears twice")
    seen.add(number)
    paper = rows[number]
    paper.section_title = match.group(2).strip()
    return paper


# ---------------------------------------------------------------- the whole file


def _next_filled(lines: list[str], i: int) -> int:
    while i < len(lines) and not lines[i].strip():
        i += 1
    return i


def _parse_heading(lines: list[str]) -> tuple[str, str, int]:
    """Return title, intro and the index where the table header should be."""
    i = _next_filled(lines, 0)
    match = _TITLE.match(lines[i].strip()) if i < len(lines) else None
    if match is None:
        found = repr(lines[i].strip()) if i < len(lines) else "end of file"
        raise ReadmeFormatError(_line_no(lines, i), f"expected '# Title', found {found}")
    i = _next_filled(lines, i + 1)
    if i >= len(lines) or lines[i].strip().startswith("|"):
        return match.group(1), "", i
    return match.group(1), lines[i].strip(), _next_filled(lines, i + 1)


def parse_readme(text: str) -> ImportedList:
    """Parse a README in the reference format; raise ReadmeFormatError naming the bad line."""
    lines = text.removeprefix("\ufeff").splitlines()
    title, intro, table_at = _parse_heading(lines)
    rows, after = _parse_table(lines, table_at)
    _parse_sections(lines, after, rows)
    return ImportedList(title=title, intro=intro, papers=list(rows.values()))

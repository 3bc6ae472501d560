"""Section headings in cleaned paper text, and choosing what fits a prompt's token budget.

Text from `pipeline.text.extract.clean_text` is a list of paragraphs separated by blank lines, each
paragraph on one line; a heading is a paragraph of its own. Headings are recognised by form:

* numbered: ``1 Introduction``, ``2.1. Multi-Head Latent Attention``, ``5. Conclusion, ...``
* lettered (appendices): ``A. Contributions``, ``B.1 Model Description``, ``Appendix C: Proofs``
* a few unnumbered names: ``Abstract``, ``Introduction``, ``Conclusion(s)``, ``Related Work``,
  ``Acknowledgments`` ... and the marker ``Appendix`` / ``Appendices``.

A candidate is kept only if its number plausibly follows the previous heading's (``2.2.4`` may be
followed by ``2.3``, ``3`` or ``2.2.5``, not by ``7.1``); this drops table rows, list items and
author initials (``H. Zhang``) that merely look like headings. Letters run separately and must start
at ``A``. ``select_for_budget`` then fills a token budget in priority order: front matter and
abstract, introduction, conclusion, the other body sections in document order, appendices,
acknowledgments; a section that does not fit whole is cut at a paragraph boundary.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from pipeline.text.tokens import estimate_tokens

__all__ = [
    "Heading",
    "Selection",
    "detect_headings",
    "parse_heading",
    "select_for_budget",
]

DEFAULT_BUDGET = 12000

_UNNUMBERED = {
    "abstract",
    "introduction",
    "background",
    "related work",
    "related works",
    "preliminaries",
    "method",
    "methods",
    "methodology",
    "approach",
    "experiments",
    "experimental results",
    "results",
    "evaluation",
    "discussion",
    "limitations",
    "conclusion",
    "conclusions",
    "conclusion and future work",
    "conclusions and future work",
    "future work",
    "acknowledgment",
    "acknowledgments",
    "acknowledgement",
    "acknowledgements",
}
_MARKERS = {"appendix", "appendices", "supplementary material", "supplementary materials"}

_NUMBERED = re.compile(r"(\d{1,2}(?:\.\d{1,2}){0,3})\.?\s+(\S.{1,110})")
_LETTERED = re.compile(r"(?:Appendix\s+)?([A-Z](?:\.\d{1,2}){0,3})([.:]?)\s+(\S.{1,110})")
_APPENDIX_ONLY = re.compile(r"Appendix\s+([A-Z])")
_BAD_TITLE = re.compile(
    r"\s\d+$"  # a table-of-contents entry ends with its page number
    r"|[.,;]$"  # a sentence or a list, not a heading
    r"|\b[A-Z]\.\s"  # author initials
    r"|\b[A-Z][a-z]+\.\s"  # two sentences
    r"|\bet al\b"
    r"|\.{3}|(?:\.\s){3}"
)


@dataclass(frozen=True)
class Heading:
    """One heading: its full text, kind and numbering key (letters count A=1, B=2, ...)."""

    text: str
    kind: str  # "numbered", "lettered", "named" or "marker"
    key: tuple[int, ...] = ()
    title: str = ""
    dotted: bool = True  # lettered: "A. Title" (True) or "A Title" (False)


@dataclass(frozen=True)
class Selection:
    """What `select_for_budget` chose: the prompt text and an account of what was left out."""

    text: str
    tokens: int
    sections: list[str]
    omitted: list[str]
    truncated: bool
    paper_tokens: int = 0  # the whole text's estimate, what was sent or not
    budget: int | None = None  # the budget it was chosen for; None: none (the whole text)


def _good_title(title: str) -> bool:
    if not title[0].isupper() or len(title.split()) > 16:
        return False
    return not _BAD_TITLE.search(title)


def _key(number: str) -> tuple[int, ...]:
    return tuple(int(part) for part in number.split("."))


def parse_heading(line: str) -> Heading | None:
    """Recognise a heading by its form alone (no context); None if `line` is not one."""
    line = line.strip()
    if not line or len(line) > 120:
        return None
    low = line.lower().rstrip(":")
    if low in _MARKERS:
        return Heading(line, "marker")
    if low in _UNNUMBERED:
        return Heading(line, "named", title=line)
    if m := _NUMBERED.fullmatch(line):
        key = _key(m.group(1))
        if key[0] <= 30 and _good_title(m.group(2)):
            return Heading(line, "numbered", key, m.group(2))
    if m := _APPENDIX_ONLY.fullmatch(line):
        return Heading(line, "lettered", (ord(m.group(1)) - 64,), "")
    if m := _LETTERED.fullmatch(line):
        letter, *rest = m.group(1).split(".")
        title = m.group(3)
        if _good_title(title) and not _looks_like_name(title):
            key = (ord(letter) - 64, *map(int, rest))
            dotted = bool(m.group(2)) or line.startswith("Appendix")
            return Heading(line, "lettered", key, title, dotted)
    return None


def _looks_like_name(title: str) -> bool:
    """'H. Zhang', 'T. Wang' in author lists: one short capitalised word."""
    return re.fullmatch(r"[A-Z][a-z]{0,4}", title) is not None


def plausible_next(prev: tuple[int, ...] | None, cur: tuple[int, ...]) -> bool:
    """Whether heading number `cur` can follow `prev` (a skipped number is tolerated)."""
    if prev is None:
        return cur[0] <= 2 and all(part <= 2 for part in cur[1:])
    for i, part in enumerate(cur):
        before = prev[i] if i < len(prev) else 0
        if part != before:
            return 1 <= part - before <= 2 and all(1 <= p <= 2 for p in cur[i + 1 :])
    return False


def detect_headings(paragraphs: list[str]) -> list[tuple[int, Heading]]:
    """Headings among `paragraphs` (index, heading), keeping only a plausible numbering."""
    found: list[tuple[int, Heading]] = []
    last: dict[str, tuple[int, ...] | None] = {"numbered": None, "lettered": None}
    in_appendix = False
    for index, paragraph in enumerate(paragraphs):
        heading = parse_heading(paragraph)
        if heading is None:
            continue
        if heading.kind in last:
            if heading.kind == "lettered" and not (heading.dotted or in_appendix):
                continue
            if not plausible_next(last[heading.kind], heading.key):
                continue
            last[heading.kind] = heading.key
        in_appendix = in_appendix or heading.kind in ("marker", "lettered")
        found.append((index, heading))
    return found


def is_appendix(heading: Heading) -> bool:
    """An appendix marker ("Appendix") or a lettered heading ("A. Proofs")."""
    return heading.kind in ("marker", "lettered")


# --- selection -------------------------------------------------------------------------------

_FRONT = "(front matter)"


@dataclass
class _Unit:
    heading: str  # "" for the front matter
    paragraphs: list[str]
    tier: int
    order: int
    keep: int = 0  # how many paragraphs are selected
    costs: list[int] = field(default_factory=list)  # tokens of each paragraph + separator

    def __post_init__(self) -> None:
        sep = estimate_tokens("\n\n")
        self.costs = [estimate_tokens(p) + sep for p in self.paragraphs]
        self.heading_cost = estimate_tokens(self.heading) + sep if self.heading else 0
        self.marker_cost = estimate_tokens(f"[… 略去 {self.label} 的其余部分 …]") + sep

    @property
    def label(self) -> str:
        return self.heading or _FRONT


def _tier(heading: Heading, chapter: Heading | None) -> int:
    """0 abstract, 1 introduction, 2 conclusion, 3 other body, 4 appendix, 5 acknowledgments."""
    title = heading.text.lower()
    top = (chapter or heading).text.lower()
    if "acknowledg" in title:
        return 5
    if is_appendix(heading):
        return 4
    if title == "abstract":
        return 0
    if "introduction" in top:
        return 1
    if "conclu" in top:
        return 2
    return 3


def _units(text: str) -> list[_Unit]:
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
    headings = detect_headings(paragraphs)
    starts = [index for index, _ in headings] + [len(paragraphs)]
    units = [_Unit("", paragraphs[: starts[0]], 0, 0)]
    chapter: Heading | None = None
    appendix = False
    for n, (index, heading) in enumerate(headings):
        appendix = appendix or is_appendix(heading)
        if heading.kind != "numbered" or len(heading.key) == 1:
            chapter = heading
        elif chapter is not None and chapter.key[:1] != heading.key[:1]:
            chapter = None
        tier = _tier(heading, chapter)
        if appendix and tier < 4:
            tier = 4
        body = paragraphs[index + 1 : starts[n + 1]]
        units.append(_Unit(heading.text, body, tier, n + 1))
    return [u for u in units if u.heading or u.paragraphs]


def _shown(units: list[_Unit]) -> list[bool]:
    """Selected units, plus empty-bodied headings (a chapter title) right before a selected one."""
    shown = [False] * len(units)
    for i in range(len(units) - 1, -1, -1):
        follows = i + 1 < len(units) and shown[i + 1]
        shown[i] = units[i].keep > 0 or (not units[i].paragraphs and follows)
    return shown


def _omission(labels: list[str]) -> str:
    if len(labels) > 4:
        labels = labels[:3] + [f"等 {len(labels)} 节"]
    return f"[… 略去 {'、'.join(labels)} …]"


def _render(units: list[_Unit]) -> str:
    if not any(u.keep for u in units):
        return ""
    blocks: list[str] = []
    skipped: list[str] = []
    for unit, shown in zip(units, _shown(units), strict=True):
        if not shown:
            skipped += [unit.label] if unit.paragraphs else []
            continue
        if skipped:
            blocks.append(_omission(skipped))
            skipped = []
        blocks.extend(([unit.heading] if unit.heading else []) + unit.paragraphs[: unit.keep])
        if unit.keep < len(unit.paragraphs):
            blocks.append(f"[… 略去 {unit.label} 的其余部分 …]")
    if skipped:
        blocks.append(_omission(skipped))
    return "\n\n".join(blocks)


def _grow(unit: _Unit, left: int, limit: int) -> int:
    """Select up to `limit` more leading paragraphs of `unit` within `left` tokens; the cost."""
    cost = 0 if unit.keep else unit.heading_cost
    spent = 0
    for paragraph_cost in unit.costs[unit.keep : unit.keep + limit]:
        cost += paragraph_cost
        whole = unit.keep + 1 == len(unit.paragraphs)
        if cost + (0 if whole else unit.marker_cost) > left:
            break
        unit.keep += 1
        spent = cost
    return spent


def _fill(units: list[_Unit], budget: int) -> None:
    """Greedy in priority order: first the opening paragraph of the front matter, the abstract,
    the introduction and the conclusion (so a small budget still shows all four), then for every
    section as many further paragraphs as still fit; a lower tier gets nothing once a section of
    a higher one had to be cut (no appendix while the body is incomplete)."""
    left = budget
    ordered = sorted(units, key=lambda u: (u.tier, u.order))
    leads: list[_Unit | None] = [u for u in ordered if u.tier == 0 and u.paragraphs]
    leads += [next((u for u in ordered if u.tier == t and u.paragraphs), None) for t in (1, 2)]
    for unit in leads:
        if unit is not None:
            left -= _grow(unit, left, 1)
    incomplete: int | None = None  # the first tier that did not fit whole
    for unit in ordered:
        if incomplete is not None and unit.tier > incomplete:
            break
        left -= _grow(unit, left, len(unit.paragraphs))
        if unit.keep < len(unit.paragraphs) and incomplete is None:
            incomplete = unit.tier


def _shrink(units: list[_Unit]) -> None:
    """Drop one selected paragraph: from the lowest-priority unit, sparing the opening
    paragraphs of the front matter, abstract, introduction and conclusion to the last."""
    selected = [u for u in units if u.keep]
    victim = max(selected, key=lambda u: (u.keep > 1 or u.tier > 2, u.tier, u.order))
    victim.keep -= 1


def _choose(units: list[_Unit], budget: int) -> str:
    """Fill, render, and fill again with less room while the omission notes overflow."""
    target = budget
    for _ in range(4):
        for unit in units:
            unit.keep = 0
        _fill(units, target)
        chosen = _render(units)
        over = estimate_tokens(chosen) - budget
        if over <= 0:
            return chosen
        target = max(0, target - over)
    while chosen and estimate_tokens(chosen) > budget:
        _shrink(units)
        chosen = _render(units)
    return chosen


def select_for_budget(text: str, budget_tokens: int | None = DEFAULT_BUDGET) -> Selection:
    """Choose the parts of cleaned paper `text` that fit `budget_tokens` (see module doc);
    None: no budget, the whole text.

    The result keeps document order and headings; a line ``[… 略去 X …]`` marks each place where
    text was left out. ``tokens`` is ``estimate_tokens(text)`` and never exceeds the budget.
    """
    if budget_tokens is not None and budget_tokens < 0:
        raise ValueError(f"budget_tokens must be >= 0, not {budget_tokens}")
    units = _units(text)
    whole = estimate_tokens(text)
    if budget_tokens is None or whole <= budget_tokens:
        headings = [u.heading for u in units if u.heading]
        return Selection(text, whole, headings, [], False, whole, budget_tokens)
    chosen = _choose(units, budget_tokens)
    shown = _shown(units)
    sections = [u.heading for u, on in zip(units, shown, strict=True) if on and u.heading]
    omitted = [
        f"{u.label} (trimmed)" if on else u.label
        for u, on in zip(units, shown, strict=True)
        if u.keep < len(u.paragraphs)
    ]
    return Selection(chosen, estimate_tokens(chosen), sections, omitted, True, whole, budget_tokens)

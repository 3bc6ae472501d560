"""One paper as every output sees it: the README's row and section, the detail file, the site's
card and page, and the feed's entry are all rendered from the same `Row`."""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.config import PaperConfig
from pipeline.quality.numbers import is_quantity
from pipeline.state import Meta, PaperState, QuestionAnswer, Section

FLAG_MARK = "❓"  # terms or numbers the paper does not use, or an answer without support
WITHDRAWN = "（已撤回）"  # arXiv withdrew the paper's latest version


def withdrawn_note(version: int) -> str:
    """What the row says when arXiv withdrew a later version than the one summarised."""
    return f"v{version}{WITHDRAWN}"


@dataclass(frozen=True)
class FigureView:
    """The key figure as shown: its image file (under figures/), caption and alt text."""

    file: str
    caption: str
    alt: str


@dataclass(frozen=True)
class Row:
    """One listed paper, summarised or not (then `no_summary` says why)."""

    id: str
    number: int  # its place in the README, from 1
    title: str
    date: str  # YYYYMMDD of the version in use; "" when not known yet
    project: str
    no_summary: str = ""  # pending, or failed with a short reason; "" when summarised
    notes: tuple[str, ...] = ()
    mark: str = ""
    # from here on: a summarised paper's
    version: int = 0
    authors: tuple[str, ...] = ()
    published: str = ""  # ISO date of v1
    updated: str = ""  # ISO date of this version
    abstract: str = ""  # the Chinese abstract
    bullets: tuple[Section, ...] = ()
    detail: tuple[Section, ...] = ()
    unsupported: tuple[str, ...] = ()  # the terms behind a ❓
    numbers: tuple[str, ...] = ()  # the numbers behind a ❓ (the paper never writes them)
    unverified: tuple[str, ...] = ()  # the questions behind a ❓ (answers without support)
    answers: tuple[QuestionAnswer, ...] = ()  # the reader's questions answered (## 问题解答)
    detail_path: str = ""  # relative to output/
    hand_edited: bool = False  # the detail file is a person's: the site shows it as it is
    source: str = "llm"  # or "human" (imported)
    model: str = ""
    endpoint: str = ""
    generated_at: str = ""
    pdf_sha256: str = ""
    prompt_sha256: str = ""
    figure: FigureView | None = None  # the key figure, when the paper shows one


def pending_row(number: int, paper: PaperConfig, meta: Meta | None, why: str) -> Row:
    """A paper without a summary: its ID, or this run's metadata when arXiv answered."""
    return Row(
        id=paper.id,
        number=number,
        title=(meta.title if meta else "") or paper.id,
        date=(meta.updated if meta else "").replace("-", ""),
        project=paper.project,
        no_summary=why,
    )


def summary_row(number: int, paper: PaperConfig, state: PaperState, detail_path: str) -> Row:
    """A summarised paper, from its stored state."""
    assert state.summary is not None
    summary, meta = state.summary, state.meta
    flagged = bool(state.unsupported_terms or state.unverified_questions)
    return Row(
        id=meta.id,
        number=number,
        title=meta.title,
        date=meta.updated.replace("-", ""),
        project=paper.project,
        notes=(*paper.notes, withdrawn_note(state.withdrawn)) if state.withdrawn else paper.notes,
        mark=(FLAG_MARK if flagged and FLAG_MARK not in paper.mark else "") + paper.mark,
        version=meta.version,
        authors=meta.authors,
        published=meta.published,
        updated=meta.updated,
        abstract=summary.abstract,
        bullets=summary.bullets,
        detail=summary.detail,
        unsupported=tuple(t for t in state.unsupported_terms if not is_quantity(t)),
        numbers=tuple(t for t in state.unsupported_terms if is_quantity(t)),
        unverified=tuple(state.unverified_questions),
        answers=tuple(state.answers),
        detail_path=detail_path,
        source=state.source or "llm",
        model=state.model or "",
        endpoint=state.endpoint or "",
        generated_at=state.generated_at or "",
        pdf_sha256=state.pdf_sha256 or "",
        prompt_sha256=state.prompt_sha256 or "",
    )

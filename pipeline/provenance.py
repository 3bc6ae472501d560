"""What a fresh model summary stores besides its text: provenance, input, usage, ❓ flags."""

from __future__ import annotations

import functools
import os
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from pipeline.llm.client import endpoint_host
from pipeline.plan import questions_sha
from pipeline.quality.checks import unsupported_concepts, unsupported_terms
from pipeline.quality.grounding import GroundingIndex
from pipeline.quality.numbers import NumberIndex, unsupported_numbers
from pipeline.state import InputInfo, Meta, PaperState, Summary
from pipeline.store import sha256_bytes

if TYPE_CHECKING:
    from pipeline.config import LlmConfig
    from pipeline.llm.summarise import Answer
    from pipeline.text.sections import Selection


@functools.lru_cache(maxsize=32)
def paper_indexes(paper_text: str) -> tuple[GroundingIndex, NumberIndex]:
    """The paper's term and number indexes (about 0.2 s of CPU for a long paper), built once
    per text: the build warms them while the model answers (`Build._warm_checks`)."""
    return GroundingIndex(paper_text), NumberIndex(paper_text)


def unsupported(summary: dict, paper_text: str) -> list[str]:
    """What the ❓ flag lists: Latin terms, glossary concepts, then numbers with their unit,
    that the paper text never uses."""
    index, numbers = paper_indexes(paper_text)
    found = unsupported_terms(summary, index) + unsupported_concepts(summary, index)
    return found + unsupported_numbers(summary, numbers)


def now_utc() -> datetime:
    """The build time; SOURCE_DATE_EPOCH pins it for reproducible output."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch and epoch.isdigit():
        return datetime.fromtimestamp(int(epoch), UTC)
    return datetime.now(UTC)


def summarised_state(
    state: PaperState | None,
    meta: Meta,
    answer: Answer,
    selection: Selection,
    text: str,
    pdf_sha: str,
    llm: LlmConfig,
    prompt_sha: str,
) -> PaperState:
    """The paper's state after a valid model answer; the recorded detail file and unknown
    keys of the previous state stay, its last error goes."""
    return replace(
        state or PaperState(meta.id, meta),
        meta=meta,
        summary=Summary.from_dict(answer.summary),
        source="llm",
        model=answer.model or llm.model,
        requested_model=llm.model,
        endpoint=endpoint_host(llm.base_url),
        prompt_sha256=prompt_sha,
        pdf_sha256=pdf_sha,
        text_sha256=sha256_bytes(text.encode("utf-8")),
        input=InputInfo(
            selection.tokens,
            list(selection.sections),
            list(selection.omitted),
            selection.paper_tokens or None,
            selection.budget,
        ),
        usage=replace(answer.usage, attempts=answer.attempts),
        unsupported_terms=unsupported(answer.summary, text),
        questions_sha256=questions_sha(answer.questions),
        answers=list(answer.answers),
        generated_at=now_utc().isoformat(timespec="seconds"),
        last_error=None,
        withdrawn=None,  # a later version, summarised: nothing withdrawn is in use
    )

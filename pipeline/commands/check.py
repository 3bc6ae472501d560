"""`check`: the quality checks (form, language, copying, grounding) over every stored summary."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.config import Config
from pipeline.console import one_line
from pipeline.plan import pdf_cache_path
from pipeline.state import PaperState, StateStore
from pipeline.store import sha256_file

if TYPE_CHECKING:
    from pipeline.text.pool import Extractor


def paper_text(config: Config, state: PaperState, extractor: Extractor) -> str | None:
    """The paper's cleaned text from the cache (extracting a cached PDF if needed), or None."""
    from pipeline.text.extract import ExtractError

    sha = state.pdf_sha256
    if sha and extractor.cache_path(sha).is_file():
        return extractor.cache_path(sha).read_text(encoding="utf-8")
    pdf: Path = pdf_cache_path(config, state.id, state.meta.version)
    if not pdf.is_file():
        return None
    try:
        return extractor.text_for(pdf, sha256_file(pdf))
    except ExtractError:
        return None


def print_check(config: Config) -> int:
    """Run the quality checks over every stored summary; exit 1 when any is flagged."""
    from pipeline.text.pool import Extractor

    with Extractor(config.cache_dir / "text") as extractor:  # one worker pool for every paper
        return _check_all(config, extractor)


def _check_all(config: Config, extractor: Extractor) -> int:
    from pipeline.quality.answers import stored_answer_problems
    from pipeline.quality.checks import check_summary

    store = StateStore(config.data_dir)
    flagged = checked = 0
    for paper in config.papers:
        state = store.load(paper.id)
        if not state or not state.summary:
            continue
        checked += 1
        text = paper_text(config, state, extractor)
        if text is None:
            pdf = pdf_cache_path(config, paper.id, state.meta.version)
            print(f"{paper.id}\tgrounding\tskipped: no paper text (no PDF at {pdf})")
        abstract = state.meta.abstract or None
        human = state.by_person  # imported: abstract and bullets, no detail
        problems = check_summary(state.summary.to_dict(), text, abstract, detail_optional=human)
        unanswered = stored_answer_problems(state.answers, text)
        flagged += bool(problems or unanswered)
        for problem in problems:
            print(f"{paper.id}\t{problem.check}\t{problem.detail}")
        for question, why in unanswered:
            print(f"{paper.id}\tanswers\t{one_line(question, 60)}: {one_line(why, 100)}")
    print(f"check: {checked} summaries checked, {flagged} flagged")
    return 1 if flagged else 0

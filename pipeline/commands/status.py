"""`status` and `check`: read-only reports over the stored state, no network."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline.config import Config
from pipeline.llm.summarise import prompt_hash
from pipeline.plan import pdf_cache_path, stale_reason
from pipeline.store import StateStore, sha256_file

if TYPE_CHECKING:
    from pipeline.text.pool import Extractor


def print_status(config: Config) -> int:
    """One line per paper: ID, version, summarised or not, why it would be redone."""
    store = StateStore(config.data_dir)
    prompt_sha = prompt_hash()
    for paper in config.papers:
        state = store.load(paper.id)
        version = f"v{state['meta']['version']}" if state and state.get("meta") else "v?"
        done = "summarised" if state and state.get("summary") else "not summarised"
        if state and state.get("source") == "human":
            done += " (by a person)"
        reason = stale_reason(config, paper, state, None, prompt_sha) or "up to date"
        flags = ""
        error = (state or {}).get("last_error") or {}
        if error.get("stage") == "metadata":
            flags += f"; last arXiv request failed ({error['reason']})"
        if state and state.get("unsupported_terms"):
            flags = "; ❓ terms not in the paper: " + ", ".join(state["unsupported_terms"])
        print(f"{paper.id}\t{version}\t{done}\t{reason}{flags}")
    return 0


def paper_text(config: Config, state: dict[str, Any], extractor: Extractor) -> str | None:
    """The paper's cleaned text from the cache (extracting a cached PDF if needed), or None."""
    from pipeline.text.extract import ExtractError

    sha = state.get("pdf_sha256")
    if sha and extractor.cache_path(sha).is_file():
        return extractor.cache_path(sha).read_text(encoding="utf-8")
    pdf: Path = pdf_cache_path(config, state["id"], state["meta"]["version"])
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
    from pipeline.quality.checks import check_summary

    store = StateStore(config.data_dir)
    flagged = checked = 0
    for paper in config.papers:
        state = store.load(paper.id)
        if not state or not state.get("summary"):
            continue
        checked += 1
        text = paper_text(config, state, extractor)
        if text is None:
            pdf = pdf_cache_path(config, paper.id, state["meta"]["version"])
            print(f"{paper.id}\tgrounding\tskipped: no paper text (no PDF at {pdf})")
        abstract = state["meta"].get("abstract") or None
        human = state.get("source") == "human"  # imported: abstract and bullets, no detail
        problems = check_summary(state["summary"], text, abstract, detail_optional=human)
        flagged += bool(problems)
        for problem in problems:
            print(f"{paper.id}\t{problem.check}\t{problem.detail}")
    print(f"check: {checked} summaries checked, {flagged} flagged")
    return 1 if flagged else 0

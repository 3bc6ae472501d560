"""What is stale: the one rule that decides whether a paper's summary is redone."""

from __future__ import annotations

from pathlib import Path

from pipeline.config import Config, PaperConfig
from pipeline.names import file_id
from pipeline.state import Meta, PaperState
from pipeline.store import check_writable, remove_stale_temps, sha256_bytes, sha256_file


def pdf_cache_path(config: Config, paper_id: str, version: int) -> Path:
    """Where the PDF of one version of a paper is cached."""
    return config.cache_dir / "pdf" / f"{file_id(paper_id)}v{version}.pdf"


def questions_sha(questions: tuple[str, ...]) -> str | None:
    """Hash of a paper's questions, None for none: changing them redoes that paper only."""
    return sha256_bytes("\0".join(questions).encode("utf-8")) if questions else None


def ready_folders(config: Config, offline: bool, dry_run: bool) -> None:
    """Before a build's first request: remove the temporary files a killed build left, and
    exit 2 naming a folder the build cannot write to (an answer not stored is paid for nothing):
    the output's, and the caches' unless --offline."""
    remove_stale_temps(config.output_dir, config.cache_dir, shallow=(config.path.parent,))
    if dry_run:
        return
    out, cache = config.output_dir, config.cache_dir
    folders = [out, config.data_dir, out / config.details_dir]
    check_writable(*(folders if offline else [*folders, cache / "pdf", cache / "text"]))


def refresh_meta(state: PaperState, meta: Meta) -> bool:
    """Take arXiv's metadata of the stored version (it corrects titles and abstracts) and forget
    a metadata request that failed before; True when the state changed (save it)."""
    stale_error = state.last_error is not None and state.last_error.stage == "metadata"
    if state.meta.version != meta.version or (state.meta == meta and not stale_error):
        return False
    state.meta = meta
    state.last_error = None if stale_error else state.last_error
    return True


def stale_reason(
    config: Config,
    paper: PaperConfig,
    state: PaperState | None,
    version: int | None,
    prompt_sha: str,
    force: bool = False,
) -> str | None:
    """Why this paper's summary must be redone, or None when it is up to date.

    `version` is the arXiv version in use (None when arXiv was not asked).
    """
    if force:
        return "forced"
    if state and version is not None and version == state.withdrawn:
        return None  # arXiv withdrew it: the last earlier version's summary stays
    if not state or not state.summary:
        return "no summary yet"
    if state.by_person:
        return None  # written by a person: only --force replaces it
    stored = state.meta.version
    if version is not None and version != stored:
        return f"new version v{version} (had v{stored})"
    if paper.version is not None and paper.version != stored:
        return f"config pins v{paper.version} (had v{stored})"
    if state.last_error and state.last_error.stage != "metadata":
        return f"failed last time ({state.last_error.reason})"
    requested = state.requested_model or state.model
    if requested != config.llm.model:
        return f"model changed ({requested} -> {config.llm.model})"
    if state.prompt_sha256 != prompt_sha:
        return "prompt templates changed"
    if state.questions_sha256 != questions_sha(paper.questions):
        return "questions changed" if paper.questions else "questions removed"
    pdf = pdf_cache_path(config, paper.id, stored)
    if pdf.is_file() and state.pdf_sha256 and sha256_file(pdf) != state.pdf_sha256:
        return "PDF changed"
    return None

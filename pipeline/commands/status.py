"""`status`: one line per paper from the stored state, no network."""

from __future__ import annotations

from pipeline.config import Config
from pipeline.console import clip
from pipeline.llm.summarise import prompt_hash
from pipeline.plan import stale_reason
from pipeline.state import StateStore


def print_status(config: Config, verbose: bool = False) -> int:
    """One line per paper: ID, version, summarised or not, why it would be redone (each line
    cut to the console width unless `verbose`)."""
    store = StateStore(config.data_dir)
    prompt_sha = prompt_hash()
    for paper in config.papers:
        state = store.load(paper.id)
        version = f"v{state.meta.version}" if state else "v?"
        done = "summarised" if state and state.summary else "not summarised"
        if state and state.by_person:
            done += " (by a person)"
        reason = stale_reason(config, paper, state, None, prompt_sha) or "up to date"
        flags = ""
        error = state.last_error if state else None
        if error and error.stage == "metadata":
            flags += f"; last arXiv request failed ({error.reason})"
        if state and state.unsupported_terms:
            flags += "; ❓ terms not in the paper: " + ", ".join(state.unsupported_terms)
        line = f"{paper.id}\t{version}\t{done}\t{reason}{flags}"
        print(line if verbose else clip(line))
    if config.watches:
        from pipeline.watch.run import status_lines

        for line in status_lines(config):
            print(line if verbose else clip(line))
    return 0

"""`status`: one line per paper from the stored state, no network."""

from __future__ import annotations

from pipeline.config import Config
from pipeline.llm.summarise import prompt_hash
from pipeline.plan import stale_reason
from pipeline.store import StateStore


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

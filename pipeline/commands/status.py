"""`status`: one line per paper from the stored state, no network."""

from __future__ import annotations

from pipeline.config import Config
from pipeline.console import clip
from pipeline.llm.prompts import prompt_hash
from pipeline.plan import stale_reason
from pipeline.quality.numbers import is_quantity
from pipeline.state import InputInfo, StateStore

CUT_SHOWN = 3  # section names shown for a paper that was cut to fit


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
        flagged = state.unsupported_terms if state else []
        if terms := [t for t in flagged if not is_quantity(t)]:
            flags += "; ❓ terms not in the paper: " + ", ".join(terms)
        if numbers := [t for t in flagged if is_quantity(t)]:
            flags += "; ❓ numbers not in the paper: " + ", ".join(numbers)
        if state and state.unverified_questions:
            flags += "; ❓ answers without support: " + ", ".join(state.unverified_questions)
        if state and state.summary and state.input and not state.by_person:
            flags += "; " + input_words(state.input)
        line = f"{paper.id}\t{version}\t{done}\t{reason}{flags}"
        print(line if verbose else clip(line))
    if config.watches:
        from pipeline.watch.run import status_lines

        for line in status_lines(config):
            print(line if verbose else clip(line))
    return 0


def input_words(given: InputInfo) -> str:
    """What of the paper its summary read: "sent whole (27632 tokens)", or "sent 11998 of
    27632 tokens, cut: 4.3 Evaluation Results, 4.4 Discussion and 3 more"."""
    if not given.omitted:
        size = given.paper_tokens or given.tokens
        return f"sent whole ({size} tokens)"
    of = f" of {given.paper_tokens}" if given.paper_tokens else ""
    names = ", ".join(given.omitted[:CUT_SHOWN])
    more = f" and {len(given.omitted) - CUT_SHOWN} more" if len(given.omitted) > CUT_SHOWN else ""
    return f"sent {given.tokens}{of} tokens, cut: {names}{more}"

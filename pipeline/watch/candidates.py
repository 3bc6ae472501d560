"""output/candidates.md: the papers the watches propose, newest first, each with its commands."""

from __future__ import annotations

from pipeline.config import Config
from pipeline.names import arxiv_abs
from pipeline.publish.mdsafe import cell, inline
from pipeline.store import write_if_changed
from pipeline.watch.state import Candidate, WatchState

FIRST_AUTHORS = 3
TITLE_WIDTH = 60


def commands(config: Config, paper_id: str) -> tuple[str, str]:
    """The exact `add` and `reject` commands for one candidate."""
    where = "" if config.path.name == "config.toml" else f" --config {config.path.name}"
    return (
        f"python -m pipeline add {paper_id}{where}",
        f"python -m pipeline reject {paper_id}{where}",
    )


def _authors(c: Candidate) -> str:
    names = ", ".join(c.authors[:FIRST_AUTHORS])
    return names + (" et al." if len(c.authors) > FIRST_AUTHORS else "")


def render_candidates(config: Config, state: WatchState) -> str:
    """The whole file; pure and deterministic (arXiv text is escaped: it is untrusted)."""
    lines = [
        "# Candidates",
        "",
        f"Papers the watches of {inline(config.path.name)} found on arXiv that are neither listed "
        "nor rejected, newest first. `add` lists one in the config (the next build summarises "
        "it); `reject` never proposes it again.",
        "",
    ]
    ordered = state.ordered()
    if not ordered:
        lines += ["No candidates: the watches found nothing new.", ""]
    else:
        lines += [
            "| date | title | first authors | link | watch | add / reject |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
        for c in ordered:
            add, reject = commands(config, c.id)
            link = f"[{c.id}v{c.version}]({arxiv_abs(c.id, scheme='http')})"
            lines.append(
                f"| {c.published} | {cell(c.title, TITLE_WIDTH)} | {cell(_authors(c))} | {link} "
                f"| {cell(c.watch)} | `{add}`<br />`{reject}` |"
            )
        lines.append("")
    lines += ["Watches:", ""]
    for w in config.watches:
        mode = "adds matches to the config" if w.add else "proposes matches here"
        lines.append(f"- {inline(w.name)}: {inline(w.query)} ({mode})")
    return "\n".join(lines) + "\n"


def write_candidates(config: Config, state: WatchState) -> bool:
    """Write output/candidates.md atomically unless unchanged; True when written."""
    path = config.output_dir / "candidates.md"
    return write_if_changed(path, render_candidates(config, state))

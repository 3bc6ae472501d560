"""Run the [[watch]] queries (the `watch` command and the start of `build`): propose or add new
papers, and the watches' lines for the closing summary and `status`."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import NamedTuple

from pipeline.config import Config
from pipeline.console import clip
from pipeline.errors import FetchError
from pipeline.progress import Progress
from pipeline.sources.arxiv import ArxivClient
from pipeline.state import Meta
from pipeline.watch import search as watchsrc
from pipeline.watch.candidates import write_candidates
from pipeline.watch.config import WatchConfig
from pipeline.watch.state import Candidate, WatchState

logger = logging.getLogger(__name__)

SHOWN_CANDIDATES = 5  # listed one per line in the closing summary; the rest are counted


class NewCandidate(NamedTuple):
    """A paper a watch proposes for the first time."""

    id: str
    title: str
    watch: str


class AddedPaper(NamedTuple):
    """A paper an `add = true` watch listed in config.toml."""

    id: str
    project: str
    watch: str


@dataclass
class WatchRun:
    """What the watches did: the config to build (with added papers) and what to report."""

    config: Config
    new_candidates: list[NewCandidate] = field(default_factory=list)
    added: list[AddedPaper] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # failed or silent watches
    failed: bool = False
    writes: list[Callable[[], object]] = field(default_factory=list)  # put off by `defer`

    def save(self) -> None:
        """Do the writes put off (config.toml, the watch state, candidates.md), once."""
        while self.writes:
            self.writes.pop(0)()


def run_watches(
    config: Config, client: ArxivClient, progress: Progress | None = None, defer: bool = False
) -> WatchRun:
    """Run every watch (cached answers first), update candidates.md, add `add = true` matches.
    `defer`: the files are written by `run.save()` (a build calls it once the preflight's verdict
    allows writing: a refused key leaves output/ and config.toml as they were)."""
    run = WatchRun(config)
    if not config.watches:
        return run
    state = WatchState.load(config)
    today = watchsrc.now().date()
    taken = {p.id for p in config.papers} | set(config.rejected)
    to_add: list[tuple[Meta, WatchConfig]] = []
    broken: str | None = None  # the watch whose request failed: spare arXiv the others
    for watch in config.watches:
        if broken and watchsrc.cached(config.cache_dir, watch, watchsrc.now()) is None:
            run.notes.append(f"watch {watch.name!r}: not run, the search of {broken!r} failed")
            continue
        try:
            metas, from_cache = watchsrc.search(client, watch, config.cache_dir)
        except FetchError as exc:
            broken, run.failed = watch.name, True
            run.notes.append(
                f"watch {watch.name!r}: arXiv search failed ({exc.reason}); "
                "its candidates are kept, the next build tries again"
            )
            continue
        new = _sort(watch, metas, state, taken, to_add, run)
        if progress:
            answer = "the answer cached less than 20 hours ago" if from_cache else "arXiv"
            progress.stage(f"watch {watch.name}: {len(metas)} results from {answer}, {new} new")
        state.ran(watch.name, watch.query, today, found_new=new > 0)
        if note := state.stalled(watch.name, today):
            run.notes.append(note)
    if to_add:
        run.config = _add(config, to_add, run)
        added = {paper_id for paper_id, _, _ in run.added}
        run.new_candidates = [c for c in run.new_candidates if c.id not in added]
    state.prune(run.config)
    run.writes += [partial(state.save, run.config), partial(write_candidates, run.config, state)]
    if not defer:
        run.save()
    return run


def _sort(
    watch: WatchConfig,
    metas: list[Meta],
    state: WatchState,
    taken: set[str],
    to_add: list[tuple[Meta, WatchConfig]],
    run: WatchRun,
) -> int:
    """File one watch's matches as candidates or papers to add; how many are new."""
    new = 0
    for meta in metas:
        if meta.id in taken or watchsrc.excluded_by(meta, watch.exclude):
            continue
        earlier = state.candidates.get(meta.id)
        if watch.add:
            to_add.append((meta, watch))
            taken.add(meta.id)
            new += earlier is None
        elif earlier is None:
            state.candidates[meta.id] = Candidate.of(meta, watch.name)
            run.new_candidates.append(NewCandidate(meta.id, meta.title, watch.name))
            new += 1
        elif earlier.watch == watch.name:  # arXiv may have a new version or a corrected title
            state.candidates[meta.id] = Candidate.of(meta, watch.name)
    return new


def _add(config: Config, to_add: list[tuple[Meta, WatchConfig]], run: WatchRun) -> Config:
    from pipeline.watch.edit_config import append_papers, paper_table, project_from_title

    tables = [paper_table(m.id, project_from_title(m.title, m.id)) for m, _ in to_add]
    updated = append_papers(config, tables, run.writes)
    pairs = zip(to_add, tables, strict=True)
    run.added += [AddedPaper(m.id, t["project"], w.name) for (m, w), t in pairs]
    return updated


def report_lines(
    new_candidates: list[NewCandidate],
    added: list[AddedPaper],
    notes: list[str],
    config: Config,
) -> list[str]:
    """The watches' part of a closing summary (each line at most CONSOLE_WIDTH characters)."""
    lines = []
    for paper_id, project, name in added:
        lines.append(f"  watch {name!r} added {paper_id} ({project}) to {config.path.name}")
    shown = new_candidates[:SHOWN_CANDIDATES]
    for paper_id, title, name in shown:
        short = clip(title, 100)
        lines.append(f"  new candidate {paper_id} from watch {name!r}: {short}")
    if len(new_candidates) > len(shown):
        lines.append(f"  … and {len(new_candidates) - len(shown)} more new candidates")
    if new_candidates:
        where = config.output_dir / "candidates.md"
        if where.is_relative_to(config.path.parent):
            where = where.relative_to(config.path.parent)
        lines.append(
            f"  review them in {where}: "
            "`python -m pipeline add ID` lists one, `python -m pipeline reject ID` drops it"
        )
    lines += [f"  {note}" for note in notes]
    return [clip(line) for line in lines]


def status_lines(config: Config) -> list[str]:
    """One line per watch for `status`: candidates waiting, last new paper, a stall note."""
    state = WatchState.load(config)
    today = watchsrc.now().date()
    lines = []
    for watch in config.watches:
        waiting = sum(1 for c in state.candidates.values() if c.watch == watch.name)
        entry = state.watches.get(watch.name) or {}
        last = entry.get("last_new") or "never"
        stall = state.stalled(watch.name, today) if entry.get("query") == watch.query else None
        ran = "not run yet" if not entry else f"last new paper {last}"
        flag = f"; {stall}" if stall else ""
        count = f"{waiting} candidate{'' if waiting == 1 else 's'} waiting"
        lines.append(f"watch\t{watch.name}\t{count}\t{ran}{flag}")
    return lines

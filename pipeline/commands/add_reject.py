"""`add ID ...` lists papers in config.toml; `reject ID ...` keeps the watches off them for good."""

from __future__ import annotations

import sys
from typing import TextIO

from pipeline.commands.edit_config import (
    append_papers,
    append_rejected,
    paper_table,
    project_from_title,
)
from pipeline.config import Config, PaperConfig, parse_id
from pipeline.errors import ConfigError
from pipeline.publish.candidates import write_candidates
from pipeline.sources.watch import cached_meta
from pipeline.store import build_lock
from pipeline.watch_state import WatchState


def _ids(command: str, raw: list[str]) -> list[tuple[str, str]]:
    """(base ID, ID as given) for each argument, in order, without repeats; ConfigError."""
    out: dict[str, str] = {}
    for item in raw:
        parsed = parse_id(item)
        if parsed is None:
            raise ConfigError(f"{command}: {item!r} is not an arXiv ID (expected like 2405.04434)")
        out.setdefault(parsed[0], item.strip())
    return list(out.items())


def _titles(config: Config, ids: list[str], state: WatchState) -> dict[str, str]:
    """Titles from the candidates, the cached watch answers, else one arXiv metadata request."""
    titles: dict[str, str] = {}
    for paper_id in ids:
        known = state.candidates.get(paper_id) or cached_meta(config.cache_dir, paper_id)
        if known is not None:
            titles[paper_id] = known.title
    missing = [PaperConfig(i, None, i, i) for i in ids if i not in titles]
    if missing:
        from pipeline.sources.arxiv import ArxivClient

        client = ArxivClient(config.arxiv)
        try:
            metas, errors = client.metadata(missing)
        finally:
            client.close()
        if errors:
            paper_id, reason = min(errors.items())
            raise ConfigError(f"add {paper_id}: {reason}; {config.path.name} is unchanged")
        titles.update({k: m.title for k, m in metas.items()})
    return titles


def add_papers(config: Config, raw_ids: list[str], project: str | None, out: TextIO | None) -> int:
    """`add`: append a [[papers]] table per ID (project from the title, or --project)."""
    out = out or sys.stdout
    ids = _ids("add", raw_ids)
    if project is not None and (len(ids) != 1 or not project.strip()):
        raise ConfigError("add --project NAME names one paper: give exactly one ID with it")
    for base, _ in ids:
        if config.paper(base) is not None:
            raise ConfigError(f"add {base}: already listed in {config.path.name}")
        if base in config.rejected:
            raise ConfigError(
                f"add {base}: it is in `rejected` in {config.path.name}; take it out first"
            )
    with build_lock(config.cache_dir / "build.lock"):
        state = WatchState.load(config)
        titles = {} if project else _titles(config, [b for b, _ in ids], state)
        names = {b: " ".join(project.split()) if project else "" for b, _ in ids}
        names = {b: n or project_from_title(titles[b], b) for b, n in names.items()}
        tables = [paper_table(given, names[base]) for base, given in ids]
        updated = append_papers(config, tables)
        _refresh_candidates(updated, state)
    for table in tables:
        print(
            f"added {table['id']} to {config.path.name}: project {table['project']!r}, "
            f"slug {table['slug']!r}",
            file=out,
        )
    print("run `python -m pipeline build` to summarise it", file=out)
    return 0


def reject_papers(config: Config, raw_ids: list[str], out: TextIO | None) -> int:
    """`reject`: add the IDs to `rejected` and drop them from candidates.md."""
    out = out or sys.stdout
    ids = [base for base, _ in _ids("reject", raw_ids)]
    for base in ids:
        if config.paper(base) is not None:
            raise ConfigError(
                f"reject {base}: it is listed in {config.path.name}; "
                "remove its [[papers]] table to drop it from the list"
            )
    new = [base for base in ids if base not in config.rejected]
    with build_lock(config.cache_dir / "build.lock"):
        state = WatchState.load(config)
        titles = {k: c.title for k, c in state.candidates.items()}
        updated = append_rejected(config, new) if new else config
        _refresh_candidates(updated, state)
    for base in ids:
        title = titles.get(base, "")
        what = f" ({title if len(title) <= 100 else title[:99] + '…'})" if title else ""
        if base in new:
            print(f"rejected {base}{what}: no watch proposes or adds it again", file=out)
        else:
            print(f"{base} was already rejected", file=out)
    return 0


def _refresh_candidates(config: Config, state: WatchState) -> None:
    """Drop listed and rejected papers from the stored candidates and candidates.md."""
    if not config.watches and not state.candidates:
        return
    state.prune(config)
    state.save(config)
    write_candidates(config, state)

"""The list's curation: `add ID ...` lists papers in config.toml (project from the title), `reject
ID ...` keeps the watches off them for good; both refresh candidates.md."""

from __future__ import annotations

from pipeline.config import Config, PaperConfig, parse_id
from pipeline.errors import ConfigError
from pipeline.store import build_lock
from pipeline.watch.candidates import write_candidates
from pipeline.watch.edit_config import (
    append_papers,
    append_rejected,
    paper_table,
    project_from_title,
)
from pipeline.watch.search import cached_meta
from pipeline.watch.state import WatchState


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


def add(config: Config, raw_ids: list[str], project: str | None) -> list[dict[str, str]]:
    """Append a [[papers]] table per ID (project from the title, or `project`); the tables."""
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
    return tables


def reject(config: Config, raw_ids: list[str]) -> list[tuple[str, str, bool]]:
    """Add the IDs to `rejected` and drop them from candidates.md: (ID, candidate title or "",
    newly rejected) for each."""
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
    return [(base, titles.get(base, ""), base in new) for base in ids]


def _refresh_candidates(config: Config, state: WatchState) -> None:
    """Drop listed and rejected papers from the stored candidates and candidates.md."""
    if not config.watches and not state.candidates:
        return
    state.prune(config)
    state.save(config)
    write_candidates(config, state)

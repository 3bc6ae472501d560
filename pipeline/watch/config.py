"""The `[[watch]]` tables of config.toml: arXiv queries that propose (or add) new papers."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.errors import ConfigError, check_known_keys
from pipeline.watch.query import query_problem

WATCH_KEYS = {"name", "query", "exclude", "max_results", "add"}
DEFAULT_MAX_RESULTS = 50
MAX_RESULTS_LIMIT = 2000  # the arXiv API's largest page: one request per watch


@dataclass(frozen=True)
class WatchConfig:
    name: str
    query: str
    exclude: tuple[str, ...] = ()
    max_results: int = DEFAULT_MAX_RESULTS
    add: bool = False  # True: list matches in config.toml; False: propose them in candidates.md


def parse_watches(path: Path, raw: Any) -> tuple[WatchConfig, ...]:
    """Validate the `[[watch]]` array; ConfigError naming the entry and the key at fault."""
    if not isinstance(raw, list):
        raise ConfigError(f"{path}: watch must be an array of tables ([[watch]])")
    watches: list[WatchConfig] = []
    for n, entry in enumerate(raw, start=1):
        watch = _watch(path, n, entry)
        if any(w.name == watch.name for w in watches):
            raise ConfigError(f"{path}: two [[watch]] entries are named {watch.name!r}")
        watches.append(watch)
    return tuple(watches)


def _watch(path: Path, n: int, entry: Any) -> WatchConfig:
    where = f"{path}: [[watch]] entry {n}"
    if not isinstance(entry, dict):
        raise ConfigError(f"{where} must be a table")
    check_known_keys(entry, WATCH_KEYS, where)
    query = entry.get("query")
    if not isinstance(query, str) or not query.strip():
        raise ConfigError(f"{where}: query must be a non-empty arXiv search query string")
    name = entry.get("name", query)
    if not isinstance(name, str) or not name.strip() or "\n" in name:
        raise ConfigError(f"{where}: name must be a one-line string")
    where = f"{path}: watch {name!r}"
    problem = query_problem(query)
    if problem:
        raise ConfigError(f"{where}: malformed query {query!r}: {problem}")
    exclude = entry.get("exclude", [])
    if not isinstance(exclude, list) or not all(isinstance(x, str) and x.strip() for x in exclude):
        raise ConfigError(f"{where}: exclude must be a list of words or phrases")
    max_results = entry.get("max_results", DEFAULT_MAX_RESULTS)
    if (
        isinstance(max_results, bool)
        or not isinstance(max_results, int)
        or not 1 <= max_results <= MAX_RESULTS_LIMIT
    ):
        raise ConfigError(
            f"{where}: max_results must be a whole number from 1 to {MAX_RESULTS_LIMIT}, "
            f"got {max_results!r}"
        )
    add = entry.get("add", False)
    if not isinstance(add, bool):
        raise ConfigError(f"{where}: add must be true or false, got {add!r}")
    return WatchConfig(name.strip(), query, tuple(x.strip() for x in exclude), max_results, add)

"""What the watches remember between runs (output/data/watches/state.json, committed with the
output): the candidates waiting for `add` or `reject`, and when each watch last found a paper."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from pipeline.config import Config
from pipeline.state import Meta
from pipeline.store import write_if_changed

STALL_DAYS = 30


@dataclass(frozen=True)
class Candidate:
    """A paper a watch proposes: what candidates.md shows of it."""

    id: str
    version: int
    title: str
    authors: tuple[str, ...]
    published: str  # ISO date of v1 (arXiv's submission date)
    watch: str

    @classmethod
    def of(cls, meta: Meta, watch: str) -> Candidate:
        return cls(meta.id, meta.version, meta.title, meta.authors, meta.published, watch)


@dataclass
class WatchState:
    candidates: dict[str, Candidate] = field(default_factory=dict)
    # per watch name: {"query": ..., "since": first run (ISO date), "last_new": ISO date or None}
    watches: dict[str, dict[str, Any]] = field(default_factory=dict)

    @staticmethod
    def path(config: Config) -> Path:
        return config.data_dir / "watches" / "state.json"

    @classmethod
    def load(cls, config: Config) -> WatchState:
        """The stored state; empty when there is none or it is unreadable."""
        try:
            raw = json.loads(cls.path(config).read_text(encoding="utf-8"))
            candidates = {
                c["id"]: Candidate(**{**c, "authors": tuple(c["authors"])})
                for c in raw.get("candidates", [])
            }
            return cls(candidates, dict(raw.get("watches", {})))
        except (OSError, ValueError, KeyError, TypeError):
            return cls()

    def save(self, config: Config) -> None:
        """Write it (atomically, deterministic JSON) unless nothing changed."""
        data = {
            "candidates": [asdict(c) for c in self.ordered()],
            "watches": self.watches,
        }
        text = json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
        write_if_changed(self.path(config), text)

    def ordered(self) -> list[Candidate]:
        """Newest submission first, ties by ID (newest first)."""
        return sorted(self.candidates.values(), key=lambda c: (c.published, c.id), reverse=True)

    def prune(self, config: Config) -> None:
        """Drop candidates now listed or rejected, or whose watch is gone from the config."""
        listed = {p.id for p in config.papers} | set(config.rejected)
        names = {w.name for w in config.watches}
        self.candidates = {
            k: c for k, c in self.candidates.items() if k not in listed and c.watch in names
        }
        self.watches = {k: v for k, v in self.watches.items() if k in names}

    def ran(self, name: str, query: str, today: date, found_new: bool) -> None:
        """Record a run of a watch; a changed query starts its count of quiet days again."""
        entry = self.watches.get(name)
        if entry is None or entry.get("query") != query:
            entry = {"query": query, "since": today.isoformat(), "last_new": None}
        if found_new:
            entry = {**entry, "last_new": today.isoformat()}
        self.watches[name] = entry

    def stalled(self, name: str, today: date) -> str | None:
        """A note when the watch has found nothing new for 30 days or more, else None."""
        entry = self.watches.get(name)
        if not entry:
            return None
        last = entry.get("last_new")
        days = (today - date.fromisoformat(last or entry["since"])).days
        if days < STALL_DAYS:
            return None
        if last:
            return (
                f"watch {name!r} has found nothing new for {days} days (last new paper on "
                f"{last}): check its query"
            )
        return f"watch {name!r} has found nothing new in the {days} days since {entry['since']}"

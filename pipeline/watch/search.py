"""One watch's arXiv search: at most one API request a day, its answer cached in .cache for 20 h."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import arxiv

from pipeline.sources.arxiv import ArxivClient
from pipeline.state import Meta
from pipeline.store import atomic_write
from pipeline.watch.config import WatchConfig

CACHE_FOR = timedelta(hours=20)


def now() -> datetime:
    """The current time (UTC); tests replace this attribute to move the clock."""
    return datetime.now(UTC)


def cache_path(cache_dir: Path, watch: WatchConfig) -> Path:
    """The cached answer of a watch, keyed by its query and max_results."""
    key = hashlib.sha256(f"{watch.query}\n{watch.max_results}".encode()).hexdigest()[:24]
    return cache_dir / "watch" / f"{key}.json"


def cached(cache_dir: Path, watch: WatchConfig, at: datetime) -> list[Meta] | None:
    """The watch's answer when it was fetched less than 20 hours before `at`, else None."""
    try:
        data = json.loads(cache_path(cache_dir, watch).read_text(encoding="utf-8"))
        fetched = datetime.fromisoformat(data["fetched_at"])
        if (data["query"], data["max_results"]) != (watch.query, watch.max_results):
            return None
        if not timedelta(0) <= at - fetched < CACHE_FOR:
            return None
        return [Meta.from_dict(m) for m in data["results"]]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def search(client: ArxivClient, watch: WatchConfig, cache_dir: Path) -> tuple[list[Meta], bool]:
    """The watch's newest matches (newest first) and whether they came from the cache.

    FetchError when the request fails after the retries (nothing is cached then)."""
    at = now()
    hit = cached(cache_dir, watch, at)
    if hit is not None:
        return hit, True
    query = arxiv.Search(
        query=watch.query,
        max_results=watch.max_results,
        sort_by=arxiv.SortCriterion.SubmittedDate,
        sort_order=arxiv.SortOrder.Descending,
    )
    metas = client.results(query, label=f"watch {watch.name!r}")
    record = {
        "query": watch.query,
        "max_results": watch.max_results,
        "fetched_at": at.isoformat(timespec="seconds"),
        "results": [m.to_dict() for m in metas],
    }
    text = json.dumps(record, ensure_ascii=False, indent=1, sort_keys=True) + "\n"
    atomic_write(cache_path(cache_dir, watch), text)
    return metas, False


def excluded_by(meta: Meta, exclude: tuple[str, ...]) -> str | None:
    """The first `exclude` word or phrase found (case-insensitive, at a word's start) in the
    title or abstract, or None. "survey" also skips "Surveys"; "RL" does not skip "world"."""
    text = f"{meta.title}\n{meta.abstract}"
    for phrase in exclude:
        pattern = r"\s+".join(re.escape(word) for word in phrase.split())
        if re.search(rf"(?<!\w){pattern}", text, re.IGNORECASE):
            return phrase
    return None


def cached_meta(cache_dir: Path, paper_id: str) -> Meta | None:
    """What any cached watch answer (of any age) says about a paper, or None."""
    for path in sorted((cache_dir / "watch").glob("*.json")):
        try:
            results = json.loads(path.read_text(encoding="utf-8"))["results"]
            found = [Meta.from_dict(m) for m in results if m.get("id") == paper_id]
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            continue
        if found:
            return found[0]
    return None

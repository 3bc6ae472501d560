"""`watch`: run the [[watch]] queries under the build lock and say what they found."""

from __future__ import annotations

import sys
from typing import TextIO

from pipeline.config import Config
from pipeline.progress import Progress
from pipeline.sources.arxiv import ArxivClient
from pipeline.store import build_lock
from pipeline.watch.run import report_lines, run_watches


def print_watch(config: Config, quiet: bool = False, out: TextIO | None = None) -> int:
    """`watch`: run the watches under the build lock; exit 1 when a watch's search failed."""
    out = out or sys.stderr
    if not config.watches:
        print(f"watch: no [[watch]] tables in {config.path.name}: nothing to do", file=out)
        return 0
    client = ArxivClient(config.arxiv)
    progress = Progress(quiet=quiet)
    try:
        with build_lock(config.cache_dir / "build.lock"):
            run = run_watches(config, client, progress)
    finally:
        progress.close()
        client.close()
    added = f", {len(run.added)} added to {config.path.name}" if run.added else ""
    for error in client.run_errors:  # arXiv unreachable: said once, first
        print(f"error: {error.line}", file=out)
    print(
        f"watch: {_n(len(config.watches), 'watch')}, {_n(len(run.new_candidates), 'new candidate')}"
        f"{added}; "
        f"arXiv API requests {client.api_requests}",
        file=out,
    )
    for line in report_lines(run.new_candidates, run.added, run.notes, config):
        print(line, file=out)
    if run.added:
        print("  run `python -m pipeline build` to summarise the added papers", file=out)
    return 1 if run.failed else 0


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 'es' if noun.endswith('h') else 's'}"

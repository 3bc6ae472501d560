"""`add ID ...` and `reject ID ...`: the list's curation (pipeline/watch/curate.py), said."""

from __future__ import annotations

import sys
from typing import TextIO

from pipeline.config import Config
from pipeline.watch import curate


def add_papers(config: Config, raw_ids: list[str], project: str | None, out: TextIO | None) -> int:
    """`add`: append a [[papers]] table per ID (project from the title, or --project)."""
    out = out or sys.stdout
    for table in curate.add(config, raw_ids, project):
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
    for base, title, new in curate.reject(config, raw_ids):
        what = f" ({title if len(title) <= 100 else title[:99] + '…'})" if title else ""
        if new:
            print(f"rejected {base}{what}: no watch proposes or adds it again", file=out)
        else:
            print(f"{base} was already rejected", file=out)
    return 0

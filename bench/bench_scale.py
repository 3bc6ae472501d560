"""A list of thousands: cold and warm build of a synthetic list, and what it writes.

    python bench/bench_scale.py [--papers 5000] [--latency 0.2] [--jobs 16] [--years 8]

Starts a fake arXiv holding `papers` small generated PDFs (tests/support/pdfgen.py) dated over
`years` years, and a fake model whose answers are as long as real ones (about 200 characters of
abstract, three bullets of about 90); every build is a real `python -m pipeline build` subprocess.
Prints the cold build (every paper summarised, `--jobs` model requests at once, each answered after
`latency` seconds), the warm refresh (nothing changed), their peak memory, and the size of what the
list became: README.md and every year page (each should stay under 1 MB for GitHub to render it),
the feed's entries, the site's index.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.benchkit import (  # noqa: E402
    Rows,
    Run,
    TimedArxiv,
    TimedLLM,
    config_text,
    counts,
    print_table,
    requests_made,
    run_build,
)
from tests.support.fakes import TITLE_RE, FakePaper, good_answer  # noqa: E402
from tests.support.pdfgen import paper_pdf  # noqa: E402

FIRST_YEAR = 2018
MB = 1_000_000


def long_answer(body: dict[str, Any]) -> tuple[int, Any]:
    """The fake's good answer, grown to the length of a real one (abstract ~200 characters,
    bullets ~90): the README and the site are sized by what real summaries hold."""
    m = TITLE_RE.search(body["messages"][1]["content"])
    answer = good_answer(m.group(1) if m else "Paper")
    answer["abstract"] += (
        "作者还分析了方法的适用范围与局限，讨论了数据规模、模型结构和训练流程对结果的影响，并给出了后续改进方向。"
    )
    for bullet in answer["bullets"]:
        bullet["text"] += "作者在正文中给出了具体做法与对比分析，便于读者理解其设计取舍。"
    return 200, answer


def synthetic_papers(arxiv: TimedArxiv, n: int, years: int) -> list[tuple[str, str, str]]:
    """`n` papers with small generated PDFs, dated evenly over `years` years (oldest first)."""
    papers = []
    for i in range(n):
        year = FIRST_YEAR + i * years // n
        month = 1 + (i * 12 * years // n) % 12
        paper_id = f"{year % 100:02d}{month:02d}.{10000 + i:05d}"
        title = f"Synthetic Study {i}: Efficient Methods for Problem {i}"
        pdf = paper_pdf(title, f"Synthetic Study {i}")
        date = f"{year}-{month:02d}-{1 + i % 28:02d}"
        arxiv.add(FakePaper(paper_id, 1, title, date, pdf))
        papers.append((paper_id, f"Synthetic {i}", f"Synthetic-{i}"))
    return papers


def sizes(output: Path, rows: Rows) -> None:
    """README.md, the year pages, the feed and the site's index, as a reader meets them."""
    readme = output / "README.md"
    rows.append(("README.md", f"{readme.stat().st_size / MB:.2f} MB"))
    pages = sorted((output / "years").glob("*.md")) if (output / "years").is_dir() else []
    largest = max((p.stat().st_size for p in pages), default=0)
    rows.append(
        (
            "year pages (output/years/): count, largest",
            f"{len(pages)}, {largest / MB:.2f} MB" if pages else "none (README not split)",
        )
    )
    under = all(p.stat().st_size < MB for p in [readme, *pages])
    rows.append(("README.md and every year page under 1 MB", "yes" if under else "NO"))
    feed = (output / "feed.xml").read_text(encoding="utf-8")
    rows.append(
        (
            "feed.xml: entries, size",
            f"{len(re.findall('<entry>', feed))}, {len(feed.encode()) / 1000:.0f} kB",
        )
    )
    index = output / "site" / "index.html"
    rows.append(("site/index.html", f"{index.stat().st_size / MB:.2f} MB"))
    search = output / "site" / "search.json"
    if search.is_file():
        rows.append(
            ("site/search.json (loaded as one types)", f"{search.stat().st_size / MB:.2f} MB")
        )


def memory(run: Run) -> str:
    return f"{run.hwm_mb:.0f} / {run.maxrss_mb:.0f} MB"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--papers", type=int, default=5000, help="size of the synthetic list")
    parser.add_argument("--latency", type=float, default=0.2, help="model seconds per paper")
    parser.add_argument("--jobs", type=int, default=16, help="--jobs of the cold build")
    parser.add_argument("--years", type=int, default=8, help="years the papers' dates span")
    args = parser.parse_args()

    rows: Rows = []
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    rows.append(("machine", machine))
    load_before = os.getloadavg()[0]
    with TimedArxiv() as arxiv, TimedLLM(args.latency) as llm:
        assert isinstance(arxiv, TimedArxiv) and isinstance(llm, TimedLLM)
        llm.responder = long_answer
        started = time.monotonic()
        papers = synthetic_papers(arxiv, args.papers, args.years)
        rows.append((f"{args.papers} PDFs generated", f"{time.monotonic() - started:.1f} s"))
        with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
            project = Path(tmp)
            text = config_text(arxiv, llm, papers, delay=0, conc=4)
            (project / "config.toml").write_text(text, encoding="utf-8")
            before = counts(arxiv, llm)
            cold = run_build(project, "--jobs", str(args.jobs))
            made = requests_made(arxiv, llm, before)
            floor = args.papers * args.latency / args.jobs
            label = f"{args.papers} papers cold, --jobs {args.jobs}, model {args.latency:g} s"
            rows.append((f"{label}: wall", f"{cold.wall:.1f} s"))
            rows.append(
                (
                    f"  model-bound floor {args.papers} x {args.latency:g} s / {args.jobs}",
                    f"{floor:.1f} s",
                )
            )
            rows.append(("  CPU (build + extraction workers)", f"{cold.cpu:.1f} s"))
            rows.append(("  arXiv API / PDF / model requests", made))
            rows.append(("  peak RSS: build process / largest process", memory(cold)))
            before = counts(arxiv, llm)
            warm = run_build(project)
            rows.append(
                (f"{args.papers} papers warm refresh (nothing changed): wall", f"{warm.wall:.2f} s")
            )
            rows.append(("  arXiv API / PDF / model requests", requests_made(arxiv, llm, before)))
            rows.append(("  peak RSS: build process", f"{warm.hwm_mb:.0f} MB"))
            offline = run_build(project, "--offline")
            rows.append(
                ("render alone (build --offline, nothing rewritten): wall", f"{offline.wall:.2f} s")
            )
            sizes(project / "output", rows)
    rows.append(
        ("load average (1 min) before / after", f"{load_before:.1f} / {os.getloadavg()[0]:.1f}")
    )
    print_table(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())

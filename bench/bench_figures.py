"""Figure benchmark: per fixture paper, the time to find its captioned figures and to render each
crop, and the crops' sizes.

    python bench/bench_figures.py [--out FOLDER] [--repeat 3]

Runs in this process on the six real PDFs of ../shared/fixtures/pdfs. With --out, writes every
crop there (PNG or WebP, as the build would) so they can be looked at.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipeline.figures.crop import render_figure  # noqa: E402
from pipeline.figures.find import find_figures  # noqa: E402

FIXTURE_PDFS = ROOT.parent / "shared" / "fixtures" / "pdfs"


def timed(fn, *args):  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    result = fn(*args)
    return result, time.perf_counter() - started


def bench_paper(path: Path, repeat: int, out: Path | None) -> None:
    finds = []
    for _ in range(repeat):
        figures, seconds = timed(find_figures, path)
        finds.append(seconds)
    renders, sizes = [], []
    for figure in figures:
        (data, extension), seconds = timed(render_figure, path, figure)
        renders.append(seconds)
        sizes.append(len(data))
        if out is not None:
            for old in out.glob(f"{path.stem}-fig{figure.number}.*"):
                old.unlink()
            (out / f"{path.stem}-fig{figure.number}.{extension}").write_bytes(data)
    found = " ".join(f"{f.number}@p{f.page}" for f in figures)
    print(
        f"{path.stem}  find {statistics.median(finds):5.2f} s  "
        f"render {statistics.mean(renders) if renders else 0:5.2f} s/figure "
        f"(max {max(renders, default=0):4.2f})  "
        f"size max {max(sizes, default=0) / 1000:5.0f} kB  figures: {found}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, help="write the crops to this folder")
    parser.add_argument("--repeat", type=int, default=3, help="find runs per paper (median)")
    args = parser.parse_args()
    if not FIXTURE_PDFS.is_dir():
        sys.exit(f"fixture PDFs not found at {FIXTURE_PDFS}")
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
    for path in sorted(FIXTURE_PDFS.glob("*.pdf")):
        bench_paper(path, args.repeat, args.out)


if __name__ == "__main__":
    main()

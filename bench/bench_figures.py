"""Figure benchmark: per fixture paper, the time to find its captioned figures and to render each
crop, and the crops' sizes; then a cold build of twelve papers with figures on and off.

    python bench/bench_figures.py [--out FOLDER] [--repeat 3] [--latency 1.0] [--no-build]

The first part runs in this process on the six real PDFs of ../shared/fixtures/pdfs (with --out,
every crop is written there, PNG or WebP as the build would, to be looked at). The second starts a
fake arXiv serving the twelve reference papers (the six real fixture PDFs, drawn PDFs with figures
for the other six: tests/support/figgen.py) and a fake model that sleeps `latency` seconds per
answer, and times `python -m pipeline build` (a subprocess, fresh .cache each time) with figures on,
then with `figure = false` on every paper.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
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


def cold_build(figures: bool, latency: float) -> tuple[float, float, int]:
    """Wall and CPU seconds (the build and its workers) of one cold build of the twelve, and
    the images it wrote."""
    from tests.support.fakes import FakeArxiv, FakeLLM, FakePaper
    from tests.support.figgen import TWELVE, paper_with_figures
    from tests.support.project import config_text

    def pdf(pid: str, title: str, n: int) -> bytes:
        real = FIXTURE_PDFS / f"{pid}.pdf"  # six of the twelve are the real papers
        return real.read_bytes() if real.is_file() else paper_with_figures(title, title, n)

    papers = [
        FakePaper(pid, v, title, date, pdf(pid, title.split(":")[0], n))
        for pid, v, date, _, _, title, n in TWELVE
    ]
    listed = [(pid, v, t, d, project, slug) for pid, v, d, project, slug, t, _ in TWELVE]
    with FakeArxiv(papers) as arxiv, FakeLLM(latency=latency) as llm:
        with tempfile.TemporaryDirectory() as folder:
            text = config_text(arxiv.api_url, llm.base_url, listed)
            if not figures:
                text = text.replace('slug = "', 'figure = false\nslug = "')
            (Path(folder) / "config.toml").write_text(text, encoding="utf-8")
            env = {**os.environ, "PYTHONPATH": str(ROOT), "TEST_LLM_KEY": "sk-bench-0123456789"}
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            started = time.monotonic()
            done = subprocess.run(
                [sys.executable, "-m", "pipeline", "build", "-q"],
                cwd=folder,
                env=env,
                stderr=subprocess.DEVNULL,
            )
            wall = time.monotonic() - started
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
            if done.returncode != 0:
                sys.exit(f"build failed with exit code {done.returncode}")
            images = Path(folder) / "output" / "figures"
            return wall, cpu, len(list(images.iterdir())) if images.is_dir() else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, help="write the crops to this folder")
    parser.add_argument("--repeat", type=int, default=3, help="find runs per paper (median)")
    parser.add_argument("--latency", type=float, default=1.0, help="fake model seconds/answer")
    parser.add_argument("--no-build", action="store_true", help="skip the cold builds")
    parser.add_argument("--pairs", type=int, default=2, help="cold builds on, then off, N times")
    args = parser.parse_args()
    if not FIXTURE_PDFS.is_dir():
        sys.exit(f"fixture PDFs not found at {FIXTURE_PDFS}")
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
    for path in sorted(FIXTURE_PDFS.glob("*.pdf")):
        bench_paper(path, args.repeat, args.out)
    if args.no_build:
        return
    for figures in (True, False) * args.pairs:
        wall, cpu, images = cold_build(figures, args.latency)
        state = "on " if figures else "off"
        print(
            f"cold build of twelve, figures {state}: {wall:5.2f} s wall, {cpu:5.2f} s CPU, "
            f"{images} images"
        )


if __name__ == "__main__":
    main()

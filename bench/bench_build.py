"""Cold build of the twelve reference papers against this machine's floor, with a timeline.

    python bench/bench_build.py [--latency 3] [--preflight-latency 0.5] [--repeat 3]
                                [--pdf-dir ../shared/fixtures/pdfs] [--no-figures] [--no-warm]

Starts a fake arXiv and a fake OpenAI-compatible model server (tests/support/fakes.py) in this
process; every build is a real `python -m pipeline build` subprocess in a temporary project folder
with a fresh .cache, so the wall times include interpreter start-up. The model server sleeps
`latency` seconds per paper request (server-side), standing in for a real model's answer time, and
`preflight-latency` on the build's one small preflight request. The floor is measured in the same
run: what no build of the twelve on this machine can beat. The timeline of the fastest cold build
says where the rest goes. bench/bench_scale.py has the lists of thousands.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

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
from tests.support.fakes import FakePaper  # noqa: E402
from tests.support.pdfgen import paper_pdf  # noqa: E402

FIXTURE_PDFS = ROOT.parent / "shared" / "fixtures" / "pdfs"
KEY_ENV = "BENCH_LLM_KEY"
SEQUENTIAL_SECONDS_PER_PAPER = 3.0  # the reference: one model request after another

# The twelve papers of the reference list: ID, version, date, project, slug, title.
REFERENCE = [
    ("2401.02954", 1, "2024-01-05", "DeepSeek LLM", "DeepSeekLLM",
     "DeepSeek LLM: Scaling Open-Source Language Models with Longtermism"),
    ("2401.06066", 1, "2024-01-11", "DeepSeek MoE", "DeepSeekMoE",
     "DeepSeekMoE: Towards Ultimate Expert Specialization in Mixture-of-Experts Language Models"),
    ("2401.14196", 2, "2024-01-26", "DeepSeek Coder", "DeepSeek-Coder",
     "DeepSeek-Coder: When the Large Language Model Meets Programming -- "
     "The Rise of Code Intelligence"),
    ("2403.05525", 2, "2024-03-11", "DeepSeek VL", "Deepseek-vl",
     "DeepSeek-VL: Towards Real-World Vision-Language Understanding"),
    ("2405.14333", 1, "2024-05-23", "DeepSeek Prover", "DeepSeek-Prover",
     "DeepSeek-Prover: Advancing Theorem Proving in LLMs through Large-Scale Synthetic Data"),
    ("2406.11931", 1, "2024-06-17", "DeepSeek Coder-V2", "DeepSeek-Coder-V2",
     "DeepSeek-Coder-V2: Breaking the Barrier of Closed-Source Models in Code Intelligence"),
    ("2405.04434", 5, "2024-06-19", "DeepSeek V2", "DeepSeek-V2",
     "DeepSeek-V2: A Strong, Economical, and Efficient Mixture-of-Experts Language Model"),
    ("2408.08152", 1, "2024-08-15", "DeepSeek Prover-V1.5", "DeepSeek-Prover-V1.5",
     "DeepSeek-Prover-V1.5: Harnessing Proof Assistant Feedback for Reinforcement Learning "
     "and Monte-Carlo Tree Search"),
    ("2412.10302", 1, "2024-12-13", "DeepSeek VL2", "Deepseek-vl2",
     "DeepSeek-VL2: Mixture-of-Experts Vision-Language Models for Advanced Multimodal "
     "Understanding"),
    ("2412.19437", 1, "2024-12-27", "DeepSeek v3", "DeepSeek-V3",
     "DeepSeek-V3 Technical Report"),
    ("2501.12948", 1, "2025-01-22", "DeepSeek R1", "DeepSeek-R1",
     "DeepSeek-R1: Incentivizing Reasoning Capability in LLMs via Reinforcement Learning"),
    ("2501.17811", 1, "2025-01-29", "Janus-Pro", "Janus-Pro",
     "Janus-Pro: Unified Multimodal Understanding and Generation with Data and Model Scaling"),
]  # fmt: skip

HEAVY_MODULES = ("openai", "pypdf", "httpx2")
EXTRACT_WORKERS = 2  # the build's extraction processes on this two-core machine


def imported_heavy(stderr: str) -> list[str]:
    """Top-level heavy packages named in `-X importtime` output."""
    found = set()
    for line in stderr.splitlines():
        if line.startswith("import time:"):
            name = line.rsplit("|", 1)[-1].strip().split(".")[0]
            if name in HEAVY_MODULES:
                found.add(name)
    return sorted(found)


def render_seconds(project: Path) -> float:
    """Time one in-process render of the stored state (what a warm refresh ends with)."""
    from pipeline.config import load_config
    from pipeline.publish.render import Renderer
    from pipeline.state import StateStore

    config = load_config(project / "config.toml")
    store = StateStore(config.data_dir)
    started = time.perf_counter()
    states = {p.id: s for p in config.papers if (s := store.load(p.id))}
    report = Renderer(config, store).render(states)
    elapsed = time.perf_counter() - started
    if report.written:
        sys.exit(f"render after a warm refresh rewrote {report.written[:3]}: not deterministic")
    return elapsed


# -- the floor ----------------------------------------------------------------------------------


def _warm_worker() -> None:
    """Run in each floor worker before timing: import pypdf and the clean-up."""
    import pipeline.text.extract as extract

    extract.extract_text  # noqa: B018 - the import is the point


def extraction_floor() -> float:
    """Wall seconds of pypdf (+ the build's clean-up) over the six fixture PDFs on two warm
    worker processes, largest first: what no build on this machine can beat."""
    from concurrent.futures import ProcessPoolExecutor, wait
    from multiprocessing import get_context

    from pipeline.text.extract import extract_clean

    pdfs = sorted(FIXTURE_PDFS.glob("*.pdf"), key=lambda p: p.stat().st_size, reverse=True)
    ctx = get_context("spawn")
    with ProcessPoolExecutor(EXTRACT_WORKERS, mp_context=ctx, initializer=_warm_worker) as pool:
        wait([pool.submit(_warm_worker) for _ in range(EXTRACT_WORKERS * 2)])
        started = time.monotonic()
        wait([pool.submit(extract_clean, pdf) for pdf in pdfs])
        return time.monotonic() - started


def startup_seconds() -> float:
    """Wall seconds of `python -m pipeline --help`: interpreter and CLI start-up (best of 3)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "pipeline", "--help"]
    best = float("inf")
    for _ in range(3):
        started = time.monotonic()
        subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, check=True)
        best = min(best, time.monotonic() - started)
    return best


def extraction_cpu() -> float:
    """CPU seconds of the extraction alone, one PDF after another in this process."""
    from pipeline.text.extract import extract_clean

    started = time.process_time()
    for pdf in sorted(FIXTURE_PDFS.glob("*.pdf")):
        extract_clean(pdf)
    return time.process_time() - started


@dataclass
class Floor:
    extraction: float
    startup: float
    latency: float

    @property
    def total(self) -> float:
        return self.extraction + self.latency + self.startup


def measure_floor(latency: float, samples: list[float], rows: Rows) -> Floor:
    """The floor of a cold build of the twelve on this machine: the best of the extraction
    `samples` taken right before each cold build (so both meet the same load)."""
    floor = Floor(min(samples), startup_seconds(), latency)
    rows.append(
        (
            f"floor: pypdf over the 6 fixture PDFs, 2 workers, largest first (best of "
            f"{len(samples)}, one before each cold build)",
            f"{floor.extraction:.2f} s",
        )
    )
    rows.append(("floor: CLI start-up (python -m pipeline --help)", f"{floor.startup:.2f} s"))
    rows.append(
        (
            f"floor: extraction + start-up + one model latency ({latency:g} s)",
            f"{floor.total:.2f} s",
        )
    )
    return floor


# -- the scenarios ------------------------------------------------------------------------------


def reference_papers() -> list[FakePaper]:
    papers = []
    for paper_id, version, date, _, _, title in REFERENCE:
        fixture = FIXTURE_PDFS / f"{paper_id}.pdf"
        pdf = fixture.read_bytes() if fixture.is_file() else paper_pdf(title, title.split(":")[0])
        papers.append(FakePaper(paper_id, version, title, date, pdf))
    return papers


PAPER_EXTRA = ""  # `figure = false` with --no-figures


def reference_project(project: Path, arxiv: TimedArxiv, llm: TimedLLM) -> None:
    papers = [(i, project, slug) for i, _, _, project, slug, _ in REFERENCE]
    text = config_text(arxiv, llm, papers, delay=3.0, conc=4, paper_extra=PAPER_EXTRA)
    (project / "config.toml").write_text(text, encoding="utf-8")


def timeline(run: Run, arxiv: TimedArxiv, llm: TimedLLM) -> list[tuple[float, str]]:
    """What happened when, in seconds from the build's start: the requests as the servers saw
    them, the build's own progress lines (stages, first and last paper done), its exit."""
    t0 = run.started
    events = [(0.0, "build process started")]
    api = [t for t, kind, _ in arxiv.arrivals if kind == "api"]
    pdfs = [t for t, kind, _ in arxiv.arrivals if kind == "pdf"]
    events += [(t - t0, "arXiv metadata request arrives") for t in api]
    for arrived, answered in llm.preflight_times:
        events += [(arrived - t0, "preflight arrives"), (answered - t0, "preflight answered")]
    if pdfs:
        events += [(min(pdfs) - t0, "first PDF asked"), (max(pdfs) - t0, "last PDF asked")]
    if llm.titled:
        first, last = min(llm.titled), max(llm.titled)
        events.append((first[0] - t0, f"first paper's model request ({first[1][:30]})"))
        events.append((last[0] - t0, f"last paper's model request ({last[1][:30]})"))
    if llm.answered:
        events.append((max(llm.answered) - t0, "last model answer sent"))
    done = [(t, line) for t, line in run.lines if ": done (" in line]
    stages = [(t, line) for t, line in run.lines if ": " not in line.split("] ")[-1][:12]]
    events += [(t, f"stderr: {line[:70]}") for t, line in stages + done[:1] + done[-1:]]
    events.append((run.wall, "build process exited"))
    return sorted(set(events))


def reference_cold(
    arxiv: TimedArxiv,
    llm: TimedLLM,
    jobs: int | None,
    repeat: int,
    rows: Rows,
    floor_samples: list[float] | None = None,
) -> tuple[float, list[tuple[float, str]]]:
    """Cold builds of the twelve reference papers, each in a fresh project folder and cache
    (with `floor_samples`, a floor extraction measured right before each); the best wall time
    and the timeline of the fastest."""
    label = f"--jobs {jobs}" if jobs else "llm.concurrency 4 (default)"
    sequential = len(REFERENCE) * SEQUENTIAL_SECONDS_PER_PAPER
    runs: list[tuple[Run, float, float, str, list[tuple[float, str]]]] = []
    for _ in range(repeat):
        if floor_samples is not None:
            floor_samples.append(extraction_floor())
        with tempfile.TemporaryDirectory(prefix="bench-ref-") as tmp:
            project = Path(tmp)
            reference_project(project, arxiv, llm)
            before = counts(arxiv, llm)
            llm.clear_times()
            arxiv.arrivals.clear()
            run = run_build(project, *(("--jobs", str(jobs)) if jobs else ()))
            first, last = min(llm.arrivals) - run.started, max(llm.arrivals) - run.started
            made = requests_made(arxiv, llm, before)
            runs.append((run, first, last, made, timeline(run, arxiv, llm)))
    runs.sort(key=lambda r: r[0].wall)
    best, first, last, made, events = runs[0]
    walls = ", ".join(f"{r[0].wall:.2f}" for r in runs)
    rows.append((f"12 papers cold, {label}: wall (best of {repeat})", f"{best.wall:.2f} s"))
    rows.append(
        (f"  ratio to sequential 12 x 3 s = {sequential:.0f} s", f"{best.wall / sequential:.3f}")
    )
    if repeat > 1:
        rows.append(("  all runs", f"{walls} s"))
    rows.append(("  first / last model request sent at", f"{first:.2f} s / {last:.2f} s"))
    rows.append(("  CPU (build + extraction workers)", f"{best.cpu:.1f} s"))
    rows.append(("  CPU of the build process alone (no workers)", f"{best.own_cpu:.1f} s"))
    rows.append(("  arXiv API / PDF / model requests", made))
    rows.append(
        (
            "  peak RSS: build process / largest process",
            f"{best.hwm_mb:.0f} / {best.maxrss_mb:.0f} MB",
        )
    )
    return best.wall, events


def reference_warm(arxiv: TimedArxiv, llm: TimedLLM, rows: Rows) -> None:
    """A cold build, then the nightly refresh with nothing changed, timed and traced."""
    with tempfile.TemporaryDirectory(prefix="bench-warm-") as tmp:
        project = Path(tmp)
        reference_project(project, arxiv, llm)
        run_build(project, "--jobs", "12")
        before = counts(arxiv, llm)
        refresh = run_build(project)
        made = requests_made(arxiv, llm, before)
        traced = run_build(project, python_flags=("-X", "importtime"))
        heavy = imported_heavy(traced.stderr)
        rows.append(("12 papers warm refresh (nothing changed): wall", f"{refresh.wall:.3f} s"))
        rows.append(("  arXiv API / PDF / model requests", made))
        rows.append(
            ("  imported (-X importtime) of openai, pypdf, httpx2", ", ".join(heavy) or "none")
        )
        rows.append(("  peak RSS", f"{refresh.hwm_mb:.0f} MB"))
        rows.append(
            ("  render alone (in-process, nothing rewritten)", f"{render_seconds(project):.3f} s")
        )


def print_timeline(events: list[tuple[float, str]], floor: Floor) -> None:
    print(f"\ntimeline of the fastest cold build, --jobs 12 (floor {floor.total:.2f} s):")
    for t, what in events:
        print(f"  {t:6.2f} s  {what}")


def main() -> int:
    global FIXTURE_PDFS, PAPER_EXTRA
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=3.0, help="model seconds per paper")
    parser.add_argument(
        "--preflight-latency", type=float, default=0.5, help="model seconds on the preflight"
    )
    parser.add_argument("--repeat", type=int, default=3, help="cold builds of the 12, best kept")
    parser.add_argument("--pdf-dir", type=Path, default=FIXTURE_PDFS, help="the six real PDFs")
    parser.add_argument(
        "--no-warm", action="store_true", help="skip the default-jobs and warm runs"
    )
    parser.add_argument(
        "--no-figures", action="store_true", help="figure = false on every paper (text only)"
    )
    args = parser.parse_args()
    FIXTURE_PDFS = args.pdf_dir
    PAPER_EXTRA = "figure = false" if args.no_figures else ""
    if not any(FIXTURE_PDFS.glob("*.pdf")):
        sys.exit(f"no fixture PDFs in {FIXTURE_PDFS}: the floor needs them (--pdf-dir)")

    rows: Rows = []
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    rows.append(("machine", machine))
    load_before = os.getloadavg()[0]
    llm_server = TimedLLM(args.latency, args.preflight_latency)
    with TimedArxiv(reference_papers()) as arxiv, llm_server as llm:
        assert isinstance(arxiv, TimedArxiv) and isinstance(llm, TimedLLM)
        rows.append(("model latency (fake server sleeps)", f"{args.latency:g} s per paper"))
        rows.append(("preflight latency (fake server sleeps)", f"{args.preflight_latency:g} s"))
        rows.append(("key figures", "off (figure = false)" if args.no_figures else "on (default)"))
        rows.append(
            ("extraction CPU of the 6 fixture PDFs, one after another", f"{extraction_cpu():.2f} s")
        )
        samples: list[float] = []
        cold: Rows = []
        best, events = reference_cold(arxiv, llm, 12, args.repeat, cold, samples)
        floor = measure_floor(args.latency, samples, rows)
        ratio = (f"  ratio to the floor {floor.total:.2f} s", f"{best / floor.total:.3f}")
        rows += [cold[0], ratio, *cold[1:]]
        if not args.no_warm:
            reference_cold(arxiv, llm, None, 1, rows)
            reference_warm(arxiv, llm, rows)
    rows.append(
        ("load average (1 min) before / after", f"{load_before:.1f} / {os.getloadavg()[0]:.1f}")
    )
    print_table(rows)
    print_timeline(events, floor)
    return 0


if __name__ == "__main__":
    sys.exit(main())

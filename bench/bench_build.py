"""Throughput benchmark: cold build, warm refresh and a synthetic 1,000-paper list.

    python bench/bench_build.py [--latency 3] [--papers 1000] [--big-latency 0.2] [--big-jobs 16]

Starts a fake arXiv and a fake OpenAI-compatible model server (tests/fakes.py) in this process;
every build is a real `python -m pipeline build` subprocess in a temporary project folder with a
fresh .cache, so the wall times include interpreter start-up. The model server sleeps `latency`
seconds per request (server-side), standing in for a real model's answer time.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.fakes import FakeArxiv, FakeLLM, FakePaper  # noqa: E402
from tests.pdfgen import paper_pdf  # noqa: E402

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


# -- servers and projects -----------------------------------------------------------------------


class TimedLLM(FakeLLM):
    """FakeLLM that also records when each request arrived (monotonic seconds)."""

    def __init__(self, latency: float) -> None:
        super().__init__(latency=latency)
        self.arrivals: list[float] = []

    def enter(self, body, auth):  # type: ignore[no-untyped-def]
        with self.lock:
            self.arrivals.append(time.monotonic())
        super().enter(body, auth)


@dataclass
class Counts:
    api: int
    pdf: int
    llm: int


def counts(arxiv: FakeArxiv, llm: FakeLLM) -> Counts:
    return Counts(len(arxiv.api_calls), len(arxiv.pdf_calls), len(llm.bodies))


def config_text(
    arxiv: FakeArxiv, llm: FakeLLM, papers: list[tuple[str, str, str]], delay: float, conc: int
) -> str:
    lines = [
        'title = "Benchmark Paper Reading"',
        'intro = "部分摘要基于LLM自动生成"',
        "[output]",
        'dir = "output"',
        'details_dir = "papers"',
        "[arxiv]",
        f'api_url = "{arxiv.api_url}"',
        f"delay_seconds = {delay}",
        "timeout_seconds = 30",
        "retries = 2",
        "[llm]",
        f'base_url = "{llm.base_url}"',
        'model = "fake-model"',
        f'api_key_env = "{KEY_ENV}"',
        f"concurrency = {conc}",
        "timeout_seconds = 60",
        "max_input_tokens = 12000",
        "[cache]",
        'dir = ".cache"',
    ]
    for paper_id, project, slug in papers:
        lines += ["[[papers]]", f'id = "{paper_id}"', f'project = "{project}"', f'slug = "{slug}"']
    return "\n".join(lines) + "\n"


@dataclass
class Run:
    wall: float
    cpu: float  # user + system seconds of the build and its extraction workers
    maxrss_mb: float  # ru_maxrss: the largest process of the run (the build or a worker)
    hwm_mb: float  # VmHWM of the build process itself (0 where /proc is missing)
    own_cpu: float  # user + system seconds of the build process alone, without its workers
    stderr: str
    started: float  # monotonic start


TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _watch(pid: int, hwm: list[float], own_cpu: list[float], done: threading.Event) -> None:
    """Keep the last VmHWM (peak RSS so far) and the last own CPU time (utime + stime, its
    workers not included) of `pid` seen before it exits."""
    status, stat = Path(f"/proc/{pid}/status"), Path(f"/proc/{pid}/stat")
    while not done.is_set():
        try:
            for line in status.read_text().splitlines():
                if line.startswith("VmHWM:"):
                    hwm.append(int(line.split()[1]) / 1024)
            fields = stat.read_text().rsplit(")", 1)[1].split()
            own_cpu.append((int(fields[11]) + int(fields[12])) / TICKS)
        except (OSError, ValueError, IndexError):
            return
        done.wait(0.02)


def run_build(project: Path, *args: str, python_flags: tuple[str, ...] = ()) -> Run:
    """`python -m pipeline build ARGS` in `project`: wall time and the child's own rusage."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), KEY_ENV: "sk-bench-0123456789"}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # as installed: byte-code cached after one run
    cmd = [sys.executable, *python_flags, "-m", "pipeline", "build", *args]
    err_path = project / "build.stderr"
    hwm: list[float] = []
    own: list[float] = []
    done = threading.Event()
    with open(err_path, "w") as err, open(os.devnull, "w") as out:
        started = time.monotonic()
        proc = subprocess.Popen(cmd, cwd=project, env=env, stdout=out, stderr=err)
        watcher = threading.Thread(target=_watch, args=(proc.pid, hwm, own, done), daemon=True)
        watcher.start()
        _, status, usage = os.wait4(proc.pid, 0)  # this child's rusage, workers included
        wall = time.monotonic() - started
        done.set()
        watcher.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    stderr = err_path.read_text(encoding="utf-8", errors="replace")
    if proc.returncode != 0:
        sys.exit(f"build {' '.join(args)} failed with exit code {proc.returncode}:\n{stderr}")
    cpu = usage.ru_utime + usage.ru_stime
    peak = hwm[-1] if hwm else 0.0  # VmHWM only grows: the last reading is the peak
    own_cpu = own[-1] if own else 0.0
    return Run(wall, cpu, usage.ru_maxrss / 1024, peak, own_cpu, stderr, started)


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
    store = StateStore(config.data_dir, tmp_dir=config.cache_dir / "tmp")
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


def measure_floor(latency: float, repeat: int, rows: Rows) -> Floor:
    """The floor of a cold build of the twelve, measured now, on this machine (best of
    `repeat`, as the cold build is)."""
    extraction = min(extraction_floor() for _ in range(repeat))
    floor = Floor(extraction, startup_seconds(), latency)
    rows.append(
        (
            f"floor: pypdf over the 6 fixture PDFs, 2 workers, largest first (best of {repeat})",
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

Rows = list[tuple[str, str]]


def reference_papers() -> list[FakePaper]:
    papers = []
    for paper_id, version, date, _, _, title in REFERENCE:
        fixture = FIXTURE_PDFS / f"{paper_id}.pdf"
        pdf = fixture.read_bytes() if fixture.is_file() else paper_pdf(title, title.split(":")[0])
        papers.append(FakePaper(paper_id, version, title, date, pdf))
    return papers


def requests_made(arxiv: FakeArxiv, llm: FakeLLM, before: Counts) -> str:
    after = counts(arxiv, llm)
    return f"{after.api - before.api} / {after.pdf - before.pdf} / {after.llm - before.llm}"


def reference_cold(
    arxiv: FakeArxiv,
    llm: TimedLLM,
    jobs: int | None,
    repeat: int,
    rows: Rows,
    floor: Floor | None = None,
) -> None:
    """Cold builds of the twelve reference papers, each in a fresh project folder and cache."""
    papers = [(i, project, slug) for i, _, _, project, slug, _ in REFERENCE]
    label = f"--jobs {jobs}" if jobs else "llm.concurrency 4 (default)"
    sequential = len(REFERENCE) * SEQUENTIAL_SECONDS_PER_PAPER
    runs: list[tuple[Run, float, float, str]] = []
    for _ in range(repeat):
        with tempfile.TemporaryDirectory(prefix="bench-ref-") as tmp:
            project = Path(tmp)
            (project / "config.toml").write_text(
                config_text(arxiv, llm, papers, delay=3.0, conc=4), encoding="utf-8"
            )
            before = counts(arxiv, llm)
            llm.arrivals.clear()
            run = run_build(project, *(("--jobs", str(jobs)) if jobs else ()))
            first, last = min(llm.arrivals) - run.started, max(llm.arrivals) - run.started
            runs.append((run, first, last, requests_made(arxiv, llm, before)))
    runs.sort(key=lambda r: r[0].wall)
    best, first, last, made = runs[0]
    walls = ", ".join(f"{r[0].wall:.2f}" for r in runs)
    rows.append((f"12 papers cold, {label}: wall (best of {repeat})", f"{best.wall:.2f} s"))
    if floor is not None:
        rows.append((f"  ratio to the floor {floor.total:.2f} s", f"{best.wall / floor.total:.3f}"))
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


def reference_warm(arxiv: FakeArxiv, llm: TimedLLM, rows: Rows) -> None:
    """A cold build, then the nightly refresh with nothing changed, timed and traced."""
    papers = [(i, project, slug) for i, _, _, project, slug, _ in REFERENCE]
    with tempfile.TemporaryDirectory(prefix="bench-warm-") as tmp:
        project = Path(tmp)
        (project / "config.toml").write_text(
            config_text(arxiv, llm, papers, delay=3.0, conc=4), encoding="utf-8"
        )
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


def synthetic_papers(arxiv: FakeArxiv, n: int) -> list[tuple[str, str, str]]:
    """`n` generated papers with tiny PDFs on the fake arXiv (added once, reused)."""
    papers = []
    for i in range(n):
        paper_id = f"2507.{10000 + i:05d}"
        if arxiv.lookup(paper_id) is None:
            title = f"Synthetic Study {i}: Efficient Methods for Problem {i}"
            pdf = paper_pdf(title, f"Synthetic Study {i}")
            arxiv.add(FakePaper(paper_id, 1, title, f"2025-07-{1 + i % 28:02d}", pdf))
        papers.append((paper_id, f"Synthetic {i}", f"Synthetic-{i}"))
    return papers


def synthetic(arxiv: FakeArxiv, llm: TimedLLM, n: int, jobs: int, rows: Rows) -> tuple[Run, Run]:
    """A generated list of `n` papers: cold build, warm refresh, render time, memory."""
    papers = synthetic_papers(arxiv, n)
    with tempfile.TemporaryDirectory(prefix="bench-big-") as tmp:
        project = Path(tmp)
        (project / "config.toml").write_text(
            config_text(arxiv, llm, papers, delay=0, conc=4), encoding="utf-8"
        )
        before = counts(arxiv, llm)
        cold = run_build(project, "--jobs", str(jobs))
        made = requests_made(arxiv, llm, before)
        before = counts(arxiv, llm)
        refresh = run_build(project)
        made_warm = requests_made(arxiv, llm, before)
        render = render_seconds(project)
    floor = n * llm.latency / jobs
    rows.append(
        (f"{n} papers cold, --jobs {jobs}, model {llm.latency:g} s: wall", f"{cold.wall:.1f} s")
    )
    rows.append((f"  model-bound floor {n} x {llm.latency:g} s / {jobs}", f"{floor:.1f} s"))
    rows.append(("  CPU (build + extraction workers)", f"{cold.cpu:.1f} s"))
    rows.append(("  arXiv API / PDF / model requests", made))
    rows.append(
        (
            "  peak RSS: build process / largest process",
            f"{cold.hwm_mb:.0f} / {cold.maxrss_mb:.0f} MB",
        )
    )
    rows.append((f"{n} papers warm refresh: wall", f"{refresh.wall:.2f} s"))
    rows.append(("  arXiv API / PDF / model requests", made_warm))
    rows.append(("  render alone (in-process, nothing rewritten)", f"{render:.2f} s"))
    rows.append(("  peak RSS", f"{refresh.hwm_mb:.0f} MB"))
    return cold, refresh


def print_table(rows: Rows) -> None:
    width = max(len(k) for k, _ in rows)
    print(f"| {'measure':<{width}} | value |")
    print(f"|{'-' * (width + 2)}|-------|")
    for key, value in rows:
        print(f"| {key.replace('|', '/'):<{width}} | {value} |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=3.0, help="model seconds per request")
    parser.add_argument("--papers", type=int, default=1000, help="size of the synthetic list")
    parser.add_argument("--big-latency", type=float, default=0.2, help="model latency, big list")
    parser.add_argument("--big-jobs", type=int, default=16, help="--jobs for the big list")
    parser.add_argument("--repeat", type=int, default=3, help="cold builds of the 12, best kept")
    args = parser.parse_args()

    rows: Rows = []
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    rows.append(("machine", machine))
    load_before = os.getloadavg()[0]
    with FakeArxiv(reference_papers()) as arxiv, TimedLLM(args.latency) as llm:
        assert isinstance(arxiv, FakeArxiv) and isinstance(llm, TimedLLM)
        rows.append(("model latency (fake server sleeps)", f"{args.latency:g} s per request"))
        rows.append(
            ("extraction CPU of the 6 fixture PDFs, one after another", f"{extraction_cpu():.2f} s")
        )
        floor = measure_floor(args.latency, args.repeat, rows)
        reference_cold(arxiv, llm, 12, args.repeat, rows, floor)
        reference_cold(arxiv, llm, None, 1, rows)
        reference_warm(arxiv, llm, rows)
        if args.papers:
            llm.latency = args.big_latency
            small = max(1, args.papers // 10)
            small_cold, small_warm = synthetic(arxiv, llm, small, args.big_jobs, rows)
            cold, warm = synthetic(arxiv, llm, args.papers, args.big_jobs, rows)
            rows.append(
                (
                    f"build process peak RSS, {small} -> {args.papers} papers: cold / warm",
                    f"{small_cold.hwm_mb:.0f} -> {cold.hwm_mb:.0f} / "
                    f"{small_warm.hwm_mb:.0f} -> {warm.hwm_mb:.0f} MB",
                )
            )
    rows.append(
        ("load average (1 min) before / after", f"{load_before:.1f} / {os.getloadavg()[0]:.1f}")
    )
    print_table(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())

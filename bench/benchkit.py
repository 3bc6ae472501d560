"""What the benchmarks share: timed fake servers, a project's config, a timed build subprocess.

Every build is a real `python -m pipeline build` subprocess with a fresh or kept project folder; the
fake servers (tests/support/fakes.py) record when each request arrived, so a run can be drawn as a
timeline without touching the pipeline's code.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.support.fakes import TITLE_RE, FakeArxiv, FakeLLM  # noqa: E402

KEY_ENV = "BENCH_LLM_KEY"
TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
Rows = list[tuple[str, str]]


class TimedArxiv(FakeArxiv):
    """FakeArxiv that also records when each request arrived: (monotonic, "api" | "pdf", path)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.arrivals: list[tuple[float, str, str]] = []

    def record(self, path: str) -> None:
        kind = "api" if "/api/query" in path else "pdf"
        with self.lock:
            self.arrivals.append((time.monotonic(), kind, path))
        super().record(path)


class TimedLLM(FakeLLM):
    """FakeLLM that records when each request arrived and each answer left (monotonic seconds).

    `preflight_latency`: the server's time on the preflight (a few tokens of output; a real
    endpoint answers it much faster than a paper's summary of a thousand tokens)."""

    def __init__(self, latency: float, preflight_latency: float = 0.0) -> None:
        super().__init__(latency=latency)
        self.preflight_latency = preflight_latency
        self.arrivals: list[float] = []
        self.answered: list[float] = []
        self.titled: list[tuple[float, str]] = []
        self.preflight_times: list[tuple[float, float]] = []  # (arrived, answered)

    def enter(self, body, auth):  # type: ignore[no-untyped-def]
        m = TITLE_RE.search(body["messages"][1]["content"])
        with self.lock:
            self.arrivals.append(time.monotonic())
            self.titled.append((time.monotonic(), m.group(1) if m else ""))
        super().enter(body, auth)

    def finish(self, body, auth):  # type: ignore[no-untyped-def]
        answer = super().finish(body, auth)
        with self.lock:
            self.answered.append(time.monotonic())
        return answer

    def record_preflight(self, body, auth):  # type: ignore[no-untyped-def]
        arrived = time.monotonic()
        super().record_preflight(body, auth)
        if self.preflight_latency:
            time.sleep(self.preflight_latency)
        with self.lock:
            self.preflight_times.append((arrived, time.monotonic()))

    def clear_times(self) -> None:
        with self.lock:
            self.arrivals.clear()
            self.answered.clear()
            self.titled.clear()
            self.preflight_times.clear()


@dataclass
class Counts:
    api: int
    pdf: int
    llm: int


def counts(arxiv: FakeArxiv, llm: FakeLLM) -> Counts:
    return Counts(len(arxiv.api_calls), len(arxiv.pdf_calls), len(llm.bodies))


def requests_made(arxiv: FakeArxiv, llm: FakeLLM, before: Counts) -> str:
    after = counts(arxiv, llm)
    return f"{after.api - before.api} / {after.pdf - before.pdf} / {after.llm - before.llm}"


def config_text(
    arxiv: FakeArxiv,
    llm: FakeLLM,
    papers: list[tuple[str, str, str]],
    delay: float,
    conc: int,
    extra: str = "",
    paper_extra: str = "",
) -> str:
    """A project's config.toml for these (id, project, slug) papers on the fake servers;
    `paper_extra`: lines added to every [[papers]] table (such as `figure = false`)."""
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
        extra,
    ]
    for paper_id, project, slug in papers:
        lines += ["[[papers]]", f'id = "{paper_id}"', f'project = "{project}"', f'slug = "{slug}"']
        lines += [paper_extra] if paper_extra else []
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
    lines: list[tuple[float, str]] = field(default_factory=list)  # stderr, seconds from start


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


def _read_lines(stream: Any, started: float, lines: list[tuple[float, str]]) -> None:
    for raw in iter(stream.readline, b""):
        lines.append((time.monotonic() - started, raw.decode("utf-8", "replace").rstrip("\n")))


def run_build(project: Path, *args: str, python_flags: tuple[str, ...] = ()) -> Run:
    """`python -m pipeline build ARGS` in `project`: wall time, the child's own rusage, and
    its stderr lines with the time each arrived."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), KEY_ENV: "sk-bench-0123456789"}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # as installed: byte-code cached after one run
    cmd = [sys.executable, *python_flags, "-m", "pipeline", "build", *args]
    hwm: list[float] = []
    own: list[float] = []
    lines: list[tuple[float, str]] = []
    done = threading.Event()
    with open(os.devnull, "w") as out:
        started = time.monotonic()
        proc = subprocess.Popen(cmd, cwd=project, env=env, stdout=out, stderr=subprocess.PIPE)
        watcher = threading.Thread(target=_watch, args=(proc.pid, hwm, own, done), daemon=True)
        reader = threading.Thread(target=_read_lines, args=(proc.stderr, started, lines))
        watcher.start()
        reader.start()
        _, status, usage = os.wait4(proc.pid, 0)  # this child's rusage, workers included
        wall = time.monotonic() - started
        done.set()
        watcher.join()
        reader.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    stderr = "\n".join(line for _, line in lines)
    if proc.returncode != 0:
        sys.exit(f"build {' '.join(args)} failed with exit code {proc.returncode}:\n{stderr}")
    cpu = usage.ru_utime + usage.ru_stime
    peak = hwm[-1] if hwm else 0.0  # VmHWM only grows: the last reading is the peak
    own_cpu = own[-1] if own else 0.0
    return Run(wall, cpu, usage.ru_maxrss / 1024, peak, own_cpu, stderr, started, lines)


def print_table(rows: Rows) -> None:
    width = max(len(k) for k, _ in rows)
    print(f"| {'measure':<{width}} | value |")
    print(f"|{'-' * (width + 2)}|-------|")
    for key, value in rows:
        print(f"| {key.replace('|', '/'):<{width}} | {value} |")

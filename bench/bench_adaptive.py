"""Adaptive vs fixed model concurrency against an endpoint with two slots.

    python bench/bench_adaptive.py [--latency 20] [--slots 2] [--jobs 12]

Starts a fake arXiv (the twelve reference papers) and a DeepSeek-like fake model
(tests/support/fakes.py) that takes `latency` seconds per answer and answers HTTP 429, without
Retry-After, to a request beyond `slots` in flight. Two cold builds of the twelve papers run in this
process, each in a fresh project folder, both with `--jobs 12`:
- adaptive: the pipeline as it is (halve on 429, grow back after answers);
- fixed: the same retry layer, but the concurrency never lowered (what a fixed semaphore does).
Prints wall time, model requests (429s included), papers done and failed. Figures, not asserts.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bench_build import KEY_ENV, REFERENCE, config_text, reference_papers  # noqa: E402
from tests.support.fakes import FakeArxiv, FakeLLM  # noqa: E402


def fixed_limiter() -> type:
    """An AdaptiveLimiter whose concurrency never moves: the fixed-semaphore baseline."""
    from pipeline.llm.limiter import AdaptiveLimiter

    class FixedLimiter(AdaptiveLimiter):
        def _slowed_down(self, epoch: int) -> None:
            with self._cond:
                self.slowdowns += 1

        def _timed_out_locally(self, seq: int) -> None:
            with self._cond:
                self.slowdowns += 1

    return FixedLimiter


def cold_build(arxiv: FakeArxiv, llm: FakeLLM, jobs: int, fixed: bool) -> dict[str, object]:
    """One cold build of the twelve papers with `--jobs`; its wall time, requests and outcome."""
    import pipeline.build
    from pipeline.cli import main

    papers = [(i, project, slug) for i, _, _, project, slug, _ in REFERENCE]
    original = pipeline.build.AdaptiveLimiter
    if fixed:
        pipeline.build.AdaptiveLimiter = fixed_limiter()  # type: ignore[misc]
    before, rejected = len(llm.bodies), llm.throttled  # bodies: every request, 429s included
    stderr = io.StringIO()
    try:
        with tempfile.TemporaryDirectory(prefix="bench-adaptive-") as tmp:
            config = Path(tmp) / "config.toml"
            text = config_text(arxiv, llm, papers, delay=0.0, conc=jobs)
            config.write_text(text.replace("timeout_seconds = 60", "timeout_seconds = 120"))
            started = time.monotonic()
            with contextlib.redirect_stderr(stderr):
                code = main(["build", "--config", str(config), "--jobs", str(jobs), "-q"])
            wall = time.monotonic() - started
    finally:
        pipeline.build.AdaptiveLimiter = original  # type: ignore[misc]
    summary = [line for line in stderr.getvalue().splitlines() if line.startswith("build: ")]
    return {
        "wall": wall,
        "exit": code,
        "requests": len(llm.bodies) - before,
        "rejected": llm.throttled - rejected,
        "summary": summary[-1] if summary else "",
        "concurrency": [ln for ln in stderr.getvalue().splitlines() if "model concurrency" in ln],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=20.0, help="seconds per model answer")
    parser.add_argument("--slots", type=int, default=2, help="requests the endpoint serves at once")
    parser.add_argument("--jobs", type=int, default=12, help="configured concurrency")
    args = parser.parse_args()
    os.environ[KEY_ENV] = "sk-bench-0123456789"
    with FakeArxiv(reference_papers()) as arxiv, FakeLLM(latency=args.latency) as llm:
        llm.slots = args.slots
        llm.RETRY_AFTER = {}  # like DeepSeek: a 429 without Retry-After, the client backs off
        print(f"12 papers cold, model latency {args.latency:g} s, {args.slots}-slot endpoint "
              f"(HTTP 429 beyond), --jobs {args.jobs}")  # fmt: skip
        for label, fixed in (("adaptive", False), (f"fixed {args.jobs}", True)):
            r = cold_build(arxiv, llm, args.jobs, fixed)
            print(
                f"{label:>9}: wall {r['wall']:.1f} s, model requests {r['requests']} "
                f"({r['rejected']} answered 429), exit {r['exit']}"
            )
            print(f"           {r['summary']}")
            for line in r["concurrency"]:  # type: ignore[attr-defined]
                print(f"         {line}")


if __name__ == "__main__":
    main()

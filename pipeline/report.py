"""The closing summary of a build: counts, failures with reasons, kept files, tokens and cost."""

from __future__ import annotations

import sys
from typing import TextIO

from pipeline.build import BuildOptions, BuildReport
from pipeline.config import Config


def cost(report: BuildReport, config: Config) -> float | None:
    """Money spent in this run, when the config gives prices per million tokens."""
    p_in, p_out = config.llm.price_per_million_input, config.llm.price_per_million_output
    if p_in is None and p_out is None:
        return None
    return (report.prompt_tokens * (p_in or 0) + report.completion_tokens * (p_out or 0)) / 1e6


def print_report(
    report: BuildReport, options: BuildOptions, config: Config, out: TextIO | None = None
) -> int:
    """Print the summary to stderr (the plan to stdout for --dry-run); return the exit code."""
    out = out or sys.stderr
    if options.dry_run:
        for line in report.plan or ["nothing to summarise"]:
            print(line, file=sys.stdout)
    counts = ", ".join(f"{report.count(s)} {s}" for s in ("done", "skipped", "failed", "deferred"))
    tokens = f"{report.prompt_tokens} prompt + {report.completion_tokens} completion tokens"
    spent = cost(report, config)
    money = f" (cost {spent:.4f})" if spent is not None else ""
    requests = f"arXiv API requests {report.api_requests}, PDF downloads {report.pdf_requests}"
    print(f"build: {counts}; {tokens}{money}; {requests}", file=out)
    for o in report.outcomes:
        if o.status in ("failed", "deferred"):
            print(f"  {o.status}: {o.paper_id}: {o.reason}", file=out)
    for rel in report.render.kept:
        print(
            f"  kept hand-edited {rel}: delete it, or run `build --only ID --force --take-back`, "
            "to let the pipeline write it again",
            file=out,
        )
    if report.count("failed"):
        print("  rerun `python -m pipeline build` to retry exactly the failed papers", file=out)
    return report.exit_code

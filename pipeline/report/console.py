"""The closing summary of a build: counts, failures with reasons, kept files, tokens and cost."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TextIO

from pipeline.config import Config
from pipeline.console import CONSOLE_WIDTH, clip
from pipeline.names import detail_id
from pipeline.report.model import STATUSES, BuildOptions, BuildReport

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CostWords:
    """A run's cost as said in the closing and the job summary."""

    money: str  # "0.0012" (config prices, their currency), "$0.0012" (genai-prices), "unknown"
    source: str  # "config", "genai-prices 0.2.5", "no prices for MODEL"
    peak: str = ""  # "2 of 5 at peak" (requests): only for a model with peak hours


def cost_words(report: BuildReport, config: Config) -> CostWords | None:
    """What this run's requests cost, priced one by one; None when there is nothing to say (no
    request, and no config prices to say 0 with)."""
    spent = report.cost
    from_config = (
        config.llm.price_per_million_input is not None
        or config.llm.price_per_million_output is not None
    )
    if not spent.requests and not from_config:
        return None
    if not spent.known:
        return CostWords("unknown", f"no prices for {config.llm.model}")
    if from_config:
        return CostWords(f"{spent.total:.4f}", "config")
    peak = f"{spent.peak} of {spent.requests} at peak" if spent.timed else ""
    return CostWords(f"${spent.total:.4f}", spent.source, peak)


def cost_text(report: BuildReport, config: Config) -> str:
    """ " (cost $0.0012, genai-prices 0.2.5, 1 of 4 at peak)", " (cost 0.0012, config prices)",
    " (cost unknown: no prices for MODEL)" or "" """
    words = cost_words(report, config)
    if words is None:
        return ""
    if words.money == "unknown":
        return f" (cost unknown: {words.source})"
    if words.source == "config":
        return f" (cost {words.money}, config prices)"
    peak = f", {words.peak}" if words.peak else ""
    return f" (cost {words.money}, {words.source}{peak})"


def tokens_text(report: BuildReport) -> str:
    """ "N prompt (C cached) + M completion (R reasoning) tokens": the parts only when nonzero."""
    usage = report.usage
    cached = f" ({usage.cached_prompt_tokens} cached)" if usage.cached_prompt_tokens else ""
    reasoning = f" ({usage.reasoning_tokens} reasoning)" if usage.reasoning_tokens else ""
    return (
        f"{usage.prompt_tokens} prompt{cached} + {usage.completion_tokens} completion"
        f"{reasoning} tokens"
    )


def concurrency_line(report: BuildReport) -> str:
    """The model concurrency the run started at and the lowest it came down to."""
    start, low = report.concurrency_configured, report.concurrency_reached
    if low is None or low == start:
        return f"model concurrency: {low}"
    return (
        f"model concurrency: lowered from {start} to {low} (the endpoint answered HTTP 429/503 "
        f"or timed out); llm.concurrency = {low} avoids that"
    )


def print_report(
    report: BuildReport, options: BuildOptions, config: Config, out: TextIO | None = None
) -> int:
    """Print the summary to stderr (the plan to stdout for --dry-run); return the exit code."""
    out = out or sys.stderr
    if options.dry_run:
        for line in report.plan or ["nothing to summarise"]:
            print(line, file=sys.stdout)
    for line in _lines(report, config):
        if len(line) > CONSOLE_WIDTH:
            logger.debug("In full: %s", line)
        print(clip(line), file=out)
    return report.exit_code


def _lines(report: BuildReport, config: Config) -> Iterator[str]:
    """Run errors first (each once), the counts, then per paper what needs the user."""
    for error in report.run_errors:  # a whole-run failure: said once, first
        yield f"error: {error.line}"
    counts = ", ".join(f"{report.count(s)} {s}" for s in STATUSES)
    tokens = tokens_text(report)
    money = cost_text(report, config)
    requests = f"arXiv API requests {report.api_requests}, PDF downloads {report.pdf_requests}"
    yield f"build: {counts}; {tokens}{money}; {requests}"
    if report.concurrency_reached not in (None, report.concurrency_configured):
        yield f"  {concurrency_line(report)}"  # only news when it was lowered
    if report.new_candidates or report.papers_added or report.watch_notes:
        from pipeline.watch.run import report_lines

        watched = (report.new_candidates, report.papers_added, report.watch_notes, config)
        yield from report_lines(*watched)
    yield from _paper_lines(report)
    for rel in report.render.kept:
        paper_id = detail_id(rel) or "ID"
        yield (
            f"  kept hand-edited {rel}: delete it, or run "
            f"`build --only {paper_id} --force --take-back`, to let the pipeline write it again"
        )
    for paper_id, rel in report.render.orphaned:
        yield (
            f"  kept hand-edited {rel} of {paper_id}, which is no longer in {config.path.name}: "
            "delete it by hand if you do not want it"
        )
    redo = " and ".join(s for s in ("failed", "deferred") if report.count(s))
    if redo:
        yield f"  rerun `python -m pipeline build` to retry exactly the {redo} papers"


def _paper_lines(report: BuildReport) -> Iterator[str]:
    """One line per failed or deferred paper; papers hit by a run error as one line per error."""
    grouped: dict[tuple[str, str], list[str]] = {}
    for o in sorted(report.outcomes, key=lambda o: (o.status != "failed", o.paper_id)):
        if o.status not in ("failed", "deferred"):
            continue
        if report.run_level(o.reason):
            grouped.setdefault((o.status, o.reason), []).append(o.paper_id)
        else:
            yield f"  {o.status}: {o.paper_id}: {o.reason}"
    for (status, reason), ids in grouped.items():
        papers = f"{len(ids)} paper{'s' if len(ids) > 1 else ''}"
        yield id_list(f"  {status}: {papers} ({reason}): ", ids)


def id_list(head: str, ids: list[str], width: int = CONSOLE_WIDTH) -> str:
    """`head` and as many IDs as fit in `width` characters, then "and N more"."""
    line = head + ", ".join(ids)
    if len(ids) == 1 or len(line) <= width:
        return line
    shown: list[str] = []
    for paper_id in ids:
        tail = f" and {len(ids) - len(shown) - 1} more"
        if len(head + ", ".join([*shown, paper_id]) + tail) > width:
            break
        shown.append(paper_id)
    return f"{head}{', '.join(shown)} and {len(ids) - len(shown)} more"

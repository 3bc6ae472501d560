"""The build's job summary in markdown: what a CI run page shows (GitHub's $GITHUB_STEP_SUMMARY).

Papers done / skipped / failed (with reasons) / deferred, the papers flagged ❓ (their stored
summary uses terms the paper does not), the watches' new candidates and notes, tokens and cost.
Reasons, titles and notes are untrusted text: every one goes through `mdsafe.inline`.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterator, Mapping
from pathlib import Path

from pipeline.config import Config
from pipeline.publish.mdsafe import inline
from pipeline.report.console import CostWords, cost_words
from pipeline.report.model import STATUSES, BuildReport, Outcome
from pipeline.state import StateStore
from pipeline.store import atomic_write

logger = logging.getLogger(__name__)

ENV_VAR = "GITHUB_STEP_SUMMARY"
FLAG = "❓"
TERMS_SHOWN = 6  # a flagged paper's terms listed in the summary
_PLAIN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9./-]{0,40}")
EXIT_WORDS = {
    0: "✅ all done",
    1: "⚠️ some papers failed (the others are written)",
    2: "⛔ bad usage, config or environment: nothing was built",
    3: "⛔ another build holds the lock: nothing was built",
}


def flagged_papers(config: Config, store: StateStore) -> list[tuple[str, list[str]]]:
    """(ID, what is unsupported) of each listed paper whose stored summary is flagged ❓."""
    out = []
    for paper in config.papers:
        state = store.load(paper.id)
        if state and state.summary and (state.unsupported_terms or state.unverified_questions):
            answers = [f"answer without support: {q}" for q in state.unverified_questions]
            out.append((paper.id, list(state.unsupported_terms) + answers))
    return out


def render_summary(
    report: BuildReport, config: Config, flagged: list[tuple[str, list[str]]]
) -> str:
    """The job summary of one build, as markdown."""
    return "\n".join(_summary_lines(report, config, flagged)) + "\n"


def _summary_lines(
    report: BuildReport, config: Config, flagged: list[tuple[str, list[str]]]
) -> Iterator[str]:
    yield f"## {inline(config.title)}: build"
    yield ""
    yield f"**Exit {report.exit_code}**: {EXIT_WORDS.get(report.exit_code, '')}"
    yield ""
    for error in report.run_errors:
        yield f"> ⛔ {inline(error.line)}"
        yield ""
    yield "| done | skipped | failed | deferred | flagged ❓ | watch candidates |"
    yield "|---:|---:|---:|---:|---:|---:|"
    counts = [report.count(s) for s in STATUSES]
    numbers = [*counts, len(flagged), len(report.new_candidates)]
    yield "| " + " | ".join(str(n) for n in numbers) + " |"
    yield ""
    projects = {p.id: p.project for p in config.papers}
    for status, heading in (("failed", "Failed"), ("deferred", "Deferred"), ("done", "Done")):
        yield from _papers(report, status, heading, projects)
    if flagged:
        yield f"### Flagged {FLAG} (terms the paper does not use)"
        yield ""
        for paper_id, terms in flagged:
            more = f" and {len(terms) - TERMS_SHOWN} more" if len(terms) > TERMS_SHOWN else ""
            shown = ", ".join(inline(t) for t in terms[:TERMS_SHOWN])
            yield f"- {_paper(paper_id, projects)}: {shown}{more}"
        yield ""
    yield from _watch(report)
    yield from _tokens(report, config)


def _code(text: str) -> str:
    """An ID as a code span when it is plain ID characters; anything else escaped as text."""
    return f"`{text}`" if _PLAIN_ID.fullmatch(text) else inline(text)


def _paper(paper_id: str, projects: Mapping[str, str]) -> str:
    project = projects.get(paper_id)
    return f"{_code(paper_id)} {inline(project)}" if project else _code(paper_id)


def _papers(
    report: BuildReport, status: str, heading: str, projects: Mapping[str, str]
) -> Iterator[str]:
    chosen = sorted((o for o in report.outcomes if o.status == status), key=lambda o: o.paper_id)
    if not chosen:
        return
    yield f"### {heading} ({len(chosen)})"
    yield ""
    grouped: dict[str, list[Outcome]] = {}
    for o in chosen:
        if report.run_level(o.reason):  # said once above: one line for all the papers it hit
            grouped.setdefault(o.reason, []).append(o)
        else:
            yield f"- {_paper(o.paper_id, projects)}: {inline(o.reason)}"
    for reason, hit in grouped.items():
        ids = ", ".join(_code(o.paper_id) for o in hit)
        yield f"- {len(hit)} paper{'s' if len(hit) > 1 else ''}: {inline(reason)}: {ids}"
    yield ""


def _watch(report: BuildReport) -> Iterator[str]:
    added = report.papers_added
    if not (report.new_candidates or report.watch_notes or added):
        return
    yield f"### Watch candidates ({len(report.new_candidates)})"
    yield ""
    for paper_id, project, watch in added:
        yield f"- {_code(paper_id)} {inline(project)} (watch {inline(watch)}): added to the list"
    for paper_id, title, watch in report.new_candidates:
        command = f"`python -m pipeline add {paper_id}`" if _PLAIN_ID.fullmatch(paper_id) else ""
        yield f"- {_code(paper_id)} {inline(title)} (watch {inline(watch)}) {command}".rstrip()
    for note in report.watch_notes:
        yield f"- ⚠️ {inline(note)}"
    yield ""


def _tokens(report: BuildReport, config: Config) -> Iterator[str]:
    usage = report.usage
    words = cost_words(report, config) or CostWords("–", "–")
    yield "### Tokens"
    yield ""
    yield "| prompt | cached prompt | completion | cost | prices | requests at peak |"
    yield "|---:|---:|---:|---:|---|---:|"
    peak = words.peak.removesuffix(" at peak") or "–"
    numbers = f"{usage.prompt_tokens} | {usage.cached_prompt_tokens} | {usage.completion_tokens}"
    yield f"| {numbers} | {words.money} | {inline(words.source)} | {peak} |"


def summary_targets(summary: Path | None) -> list[tuple[Path, bool]]:
    """(file, append?) for --summary FILE (written) and $GITHUB_STEP_SUMMARY (appended to)."""
    targets = [(summary, False)] if summary is not None else []
    env = os.environ.get(ENV_VAR)
    if env and (summary is None or Path(env).resolve() != summary.resolve()):
        targets.append((Path(env), True))
    elif env:
        targets = [(Path(env), True)]  # the same file: append, as GitHub expects
    return targets


def write_summary(text: str, summary: Path | None) -> None:
    """Write the summary to --summary FILE and append it to $GITHUB_STEP_SUMMARY, when set.

    A summary that cannot be written is one warning line: the build's own result stands.
    """
    for path, append in summary_targets(summary):
        try:
            if append:
                with path.open("a", encoding="utf-8") as fh:
                    fh.write(text)
            else:
                atomic_write(path, text)
        except OSError as exc:
            logger.warning("could not write the job summary to %s: %s", path, exc.strerror or exc)


def publish_summary(report: BuildReport, config: Config, summary: Path | None) -> None:
    """Write the job summary of a finished build where it was asked for (see write_summary)."""
    if summary is None and not os.environ.get(ENV_VAR):
        return
    flagged = flagged_papers(config, StateStore(config.data_dir))
    write_summary(render_summary(report, config, flagged), summary)


def failure_summary(code: int, message: str) -> str:
    """The job summary of a build that stopped before any paper's work (exit 2 or 3)."""
    words = EXIT_WORDS.get(code, "")
    return f"## Paper reading list: build\n\n**Exit {code}**: {words}\n\n> {inline(message)}\n"

"""What a build is asked to do (BuildOptions) and what it did (BuildReport, one Outcome a paper)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from pipeline.errors import RunError
from pipeline.llm.prices import RunCost
from pipeline.publish.render import RenderReport
from pipeline.state import Usage

if TYPE_CHECKING:  # what the watches found: only named here
    from pipeline.watch.run import AddedPaper, NewCandidate


@dataclass(frozen=True)
class BuildOptions:
    """The build command's flags."""

    only: tuple[str, ...] = ()
    force: bool = False
    offline: bool = False
    dry_run: bool = False
    jobs: int | None = None
    take_back: bool = False  # let the pipeline overwrite hand-edited detail files of --only papers
    watch: bool = False  # run the [[watch]] queries first (cli: unless --offline/--only/--dry-run)


Status = Literal["done", "skipped", "failed", "deferred"]
STATUSES: tuple[Status, ...] = ("done", "skipped", "failed", "deferred")  # in report order


@dataclass
class Outcome:
    """What happened to one paper in this run, and why."""

    paper_id: str
    status: Status
    reason: str = ""


@dataclass
class BuildReport:
    """What one run did: per-paper outcomes, files written, tokens and requests spent."""

    outcomes: list[Outcome] = field(default_factory=list)
    render: RenderReport = field(default_factory=RenderReport)
    usage: Usage = field(default_factory=Usage)  # every model answer's tokens, failed papers' too
    cost: RunCost = field(default_factory=RunCost)  # each request priced when it was answered
    api_requests: int = 0
    pdf_requests: int = 0
    concurrency_configured: int | None = None
    concurrency_reached: int | None = None  # the lowest model concurrency of the run
    plan: list[str] = field(default_factory=list)  # dry-run lines
    new_candidates: list[NewCandidate] = field(default_factory=list)
    watch_notes: list[str] = field(default_factory=list)  # a failed watch, a silent one
    papers_added: list[AddedPaper] = field(default_factory=list)  # by `add = true` watches
    run_errors: list[RunError] = field(default_factory=list)  # whole-run failures, each said once

    def count(self, status: Status) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    def run_level(self, reason: str) -> bool:
        """A paper's reason that only points at a run error (said once, not per paper): the
        error's kind ("arXiv unreachable", "model endpoint unreachable")."""
        return any(reason == error.kind for error in self.run_errors)

    def add_run_errors(self, errors: list[RunError]) -> None:
        """Note whole-run failures, each once."""
        self.run_errors += [error for error in errors if error not in self.run_errors]

    @property
    def exit_code(self) -> int:
        """1 when any paper failed or was deferred, else 0."""
        return 1 if self.count("failed") or self.count("deferred") else 0

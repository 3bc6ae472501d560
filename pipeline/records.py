"""What happened to each paper of a build: outcomes, failures, withdrawals, the run's tokens.

The build's bookkeeping, apart from its order of work (build.py): what is printed and stored
for a paper, and what is not (a whole-run failure is said once and stored nowhere; nothing is
recorded after an interrupt; nothing before the preflight said the config works).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import replace
from typing import TYPE_CHECKING

from pipeline.config import Config
from pipeline.errors import Stage
from pipeline.llm import prices
from pipeline.progress import Progress
from pipeline.report.model import BuildOptions, BuildReport, Outcome, Status
from pipeline.sources.netfail import shorten
from pipeline.state import Meta, PaperState, StateStore, with_error

if TYPE_CHECKING:
    from pipeline.llm.session import ModelSession
    from pipeline.state import Usage

logger = logging.getLogger(__name__)

REASON_CHARS = 170  # a reason as printed and stored ("[NNN/NNN] ID: FAILED: " + 170 <= 200)


class Records:
    """Records what happened to each paper in the report, the progress lines and the states."""

    def __init__(
        self,
        config: Config,
        options: BuildOptions,
        store: StateStore,
        report: BuildReport,
        progress: Progress,
        lock: threading.Lock,
    ) -> None:
        self.config = config
        self.options = options
        self.store = store
        self.report = report
        self.progress = progress
        self._lock = lock
        self.model: ModelSession | None = None  # set once built: its preflight's verdict
        self.stopping = False  # interrupted: what the papers' threads meet now is not news

    def load(self, paper_id: str) -> PaperState | None:
        """The stored state; an unreadable one stops the build (exit 2, naming the file) unless
        this run is forced to summarise that paper again, which then overwrites it."""
        forced = self.options.force and (not self.options.only or paper_id in self.options.only)
        return self.store.load(paper_id, unreadable_is_none=forced)

    def add_usage(self, usage: Usage) -> None:
        """Count one model answer's tokens in the run totals (failed papers' answers too), and
        its cost at the prices in force now."""
        with self._lock:
            self.report.usage += usage
        if self.model is not None:
            self.report.cost.add(self.model.prices.price(usage, prices.clock()))

    def deferred(self, paper_id: str) -> bool:
        """Once the run has used llm.max_run_tokens, defer this paper to the next build."""
        cap = self.config.llm.max_run_tokens
        with self._lock:
            used = self.report.usage.total
        if cap is None or used < cap:
            return False
        reason = f"llm.max_run_tokens = {cap} reached ({used} tokens used in this run)"
        self.outcome(paper_id, "deferred", reason)
        return True

    def fail(
        self, paper_id: str, stage: Stage, reason: str, save: bool = True, meta: Meta | None = None
    ) -> None:
        """Record a failure: the previous summary and files stay; the next build retries it.
        A paper that never had a summary is stored with its metadata, so its row says why.
        Recorded only once the preflight said the config works (a refused key marks none).
        A whole-run failure (arXiv or the endpoint down) is said once and stored nowhere: a
        transient outage leaves output/ byte-identical."""
        if self.model is not None:
            self.model.verdict()
        if len(reason) > REASON_CHARS:
            logger.debug("%s: %s", paper_id, reason)
            reason = shorten(reason, REASON_CHARS)
        if self.outcome(paper_id, "failed", reason):
            return
        state = self.load(paper_id) if save else None
        if state is None and save and meta is not None:
            state = PaperState(paper_id, meta)
        if state is not None:  # "no summary" keeps it stale: the next build retries it
            self.store.save(with_error(state, stage, reason))

    def withdrawn(self, paper_id: str, meta: Meta, reason: str) -> None:
        """arXiv withdrew the version in use: no summary, no failure; the state keeps the last
        earlier version's summary and notes the withdrawn one (the row says （已撤回）)."""
        state = self.load(paper_id) or PaperState(paper_id, meta)
        if state.withdrawn != meta.version:
            self.store.save(replace(state, withdrawn=meta.version))
        self.outcome(paper_id, "skipped", reason)

    def outcome(self, paper_id: str, status: Status, reason: str) -> bool:
        """Note what happened to a paper; True when the reason is a run error's (said once, or
        not at all after an interrupt: a closed client's errors are no paper's failure)."""
        if self.stopping:
            return True
        with self._lock:
            self.report.outcomes.append(Outcome(paper_id, status, reason))
            said_once = self.report.run_level(reason)  # the report says it, once
        self.progress.finish(paper_id, status, reason, quiet=said_once)
        return said_once

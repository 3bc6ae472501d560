"""One build: what is stale, the concurrent per-paper work, the render, and the report."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from pipeline.config import Config, PaperConfig
from pipeline.errors import (
    MODEL_UNREACHABLE,
    OUTPUT_UNWRITABLE,
    PaperError,
    PdfError,
    PreflightRefused,
    SummariseError,
    Withdrawn,
)
from pipeline.figures.keyfig import KeyFigures
from pipeline.llm.limiter import AdaptiveLimiter, runs_locally
from pipeline.llm.prompts import prompt_hash
from pipeline.llm.session import ModelSession
from pipeline.plan import pdf_cache_path, ready_folders, refresh_meta, stale_reason
from pipeline.progress import Progress
from pipeline.provenance import summarised_state
from pipeline.publish.render import Renderer
from pipeline.records import Records
from pipeline.redact import redact
from pipeline.report.model import BuildOptions, BuildReport, Outcome
from pipeline.sources.arxiv import ArxivClient
from pipeline.state import Meta, PaperState, StateStore
from pipeline.store import UNWRITABLE_ERRNOS, WRITES, build_lock, sha256_file, unwritable
from pipeline.threads import each_in_threads

if TYPE_CHECKING:
    from pipeline.text.pool import Extractor
    from pipeline.warmer import IndexWarmer

__all__ = ["Build", "BuildOptions", "BuildReport", "Outcome"]

logger = logging.getLogger(__name__)

DOWNLOADS_AT_ONCE = 4
EXTRACT_TIMEOUT_SECONDS = 120.0


class Build:
    """Drives the stages for the papers of one run; see `run`."""

    def __init__(
        self,
        config: Config,
        options: BuildOptions,
        api_key: str | None,
        progress: Progress,
        arxiv_client: ArxivClient | None = None,
    ) -> None:
        self.config = config
        self.options = options
        self.api_key = api_key
        self.progress = progress
        self.store = StateStore(config.data_dir)
        self.report = BuildReport()
        self.prompt_sha = prompt_hash()
        self._arxiv = arxiv_client
        self._watch_writes: Callable[[], None] | None = None  # after the preflight's verdict
        self._extractor: Extractor | None = None
        self._warmer: IndexWarmer | None = None
        self._lock = threading.Lock()
        self.limiter = AdaptiveLimiter(
            options.jobs or config.llm.concurrency, local=runs_locally(config.llm)
        )
        self.records = Records(config, options, self.store, self.report, progress, self._lock)
        self.model = ModelSession(
            config.llm, api_key, self.limiter, self.records.add_usage, progress.stage
        )
        self.records.model = self.model
        self._download_slots = threading.Semaphore(DOWNLOADS_AT_ONCE)
        self.figures = KeyFigures(config, lambda: self.extractor, self._pdf, self.store)

    # -- the run --------------------------------------------------------------------------------

    def run(self) -> BuildReport:
        """Hold the build lock and run every stage; the report says what happened."""
        with build_lock(self.config.cache_dir / "build.lock"):
            ready_folders(self.config, self.options.offline, self.options.dry_run)
            WRITES.open()
            try:
                self._watch()
                self._run()
            except BaseException as exc:
                if not isinstance(exc, Exception):  # Ctrl-C, SIGTERM: stop where we are
                    self.records.stopping = True
                    WRITES.close()  # writes under way finish; nothing is recorded after this
                raise
            finally:
                self._close()
        return self.report

    def _run(self) -> None:
        selected = self._selected()
        states = {p.id: self.records.load(p.id) for p in self.config.papers}
        if self._surely_work(selected, states):  # while arXiv answers
            self._get_ready()
        metas, errors = self._metadata(selected, states)
        work = self._plan(selected, states, metas)
        if work and not self.options.dry_run:
            self._get_ready()  # the preflight's verdict comes while PDFs download
        for paper_id, reason in sorted(errors.items()):
            self.records.fail(paper_id, "metadata", reason, save=not self.options.dry_run)
        if self.options.dry_run:
            return
        self._work(work, states)
        self.model.verdict()  # a refusal found early is said even when there was nothing to do
        self._save_watches()  # a refused key leaves candidates.md and config.toml as they were
        self._keep_metadata_current(metas, states, {paper.id for paper, _, _ in work})
        if not self.options.offline:
            self.figures.apply_pins(selected, {paper.id for paper, _, _ in work})
        if not self.options.only:
            self._drop_removed()
        states = {p.id: self.records.load(p.id) for p in self.config.papers}
        take_back = frozenset(self.options.only) if self.options.take_back else frozenset()
        renderer = Renderer(self.config, self.store, take_back)
        failed = {o.paper_id: o.reason for o in self.report.outcomes if o.status == "failed"}
        pending = {k: m for k, m in metas.items() if not states.get(k)}
        rendered = renderer.render({k: v for k, v in states.items() if v}, pending, failed)
        self.report.render.written += rendered.written
        self.report.render.kept += rendered.kept
        self.report.render.removed += rendered.removed

    def _surely_work(
        self, selected: list[PaperConfig], states: dict[str, PaperState | None]
    ) -> bool:
        """Whether some paper will be summarised whatever arXiv answers (forced, or never
        summarised): then the extraction workers can start before the metadata arrives."""
        if self.options.offline or self.options.dry_run:
            return False
        return self.options.force or any(not (s := states[p.id]) or not s.summary for p in selected)

    def _watch(self) -> None:
        """Run the watches; papers they add (`add = true`) are built in this same run."""
        if not self.options.watch or not self.config.watches:
            return
        from pipeline.watch.run import run_watches

        run = run_watches(self.config, self.arxiv, self.progress, defer=True)
        self._watch_writes = run.save  # their arXiv requests now, their files once allowed
        self.config = run.config
        self.report.new_candidates += run.new_candidates
        self.report.watch_notes += run.notes
        self.report.papers_added += run.added
        self.report.api_requests = self.arxiv.api_requests

    def _save_watches(self) -> None:
        if self._watch_writes is not None:
            self._watch_writes()

    def _selected(self) -> list[PaperConfig]:
        if not self.options.only:
            return list(self.config.papers)
        wanted = set(self.options.only)
        return [p for p in self.config.papers if p.id in wanted]

    def _metadata(
        self, selected: list[PaperConfig], states: dict[str, PaperState | None]
    ) -> tuple[dict[str, Meta], dict[str, str]]:
        """arXiv's metadata of the selected papers, and why some have none (nothing is stored
        yet: a refused key must leave output/ as it was)."""
        if self.options.offline:
            return {p.id: s.meta for p in selected if (s := states[p.id])}, {}
        self.progress.stage(f"asking arXiv about {len(selected)} papers")
        metas, errors = self.arxiv.metadata(selected)
        self.report.api_requests = self.arxiv.api_requests
        self.report.add_run_errors(self.arxiv.run_errors)
        return metas, errors

    def _keep_metadata_current(
        self, metas: dict[str, Meta], states: dict[str, PaperState | None], worked: set[str]
    ) -> None:
        """Store arXiv's corrections of a stored version's metadata (and forget an earlier
        metadata failure), once the run may write; `worked`: papers stored again by this run."""
        for paper_id, meta in metas.items():
            state = self.records.load(paper_id) if paper_id in worked else states[paper_id]
            if not self.options.offline and state and refresh_meta(state, meta):
                self.store.save(state)
        for paper_id, version in (self._arxiv.withdrawn if self._arxiv else {}).items():
            if getattr(metas.get(paper_id), "version", 0) == version:  # skipped by _plan
                self.records.withdrawn(paper_id, metas[paper_id], f"v{version} withdrawn on arXiv")

    def _plan(
        self,
        selected: list[PaperConfig],
        states: dict[str, PaperState | None],
        metas: dict[str, Meta],
    ) -> list[tuple[PaperConfig, Meta, str]]:
        work = []
        for paper in selected:
            meta = metas.get(paper.id)
            if meta is None:
                if self.options.offline and not states[paper.id]:
                    self.records.outcome(paper.id, "failed", "no stored state to render offline")
                continue
            if self._arxiv and self._arxiv.withdrawn.get(paper.id) == meta.version:
                continue  # marked withdrawn once the run may write (_keep_metadata_current)
            version = None if self.options.offline else meta.version
            reason = stale_reason(
                self.config, paper, states[paper.id], version, self.prompt_sha, self.options.force
            )
            if reason and self.options.offline:
                self.records.outcome(paper.id, "skipped", f"offline, not redone: {reason}")
            elif reason:
                work.append((paper, meta, reason))
                self.report.plan.append(f"{paper.id}v{meta.version}: summarise ({reason})")
            else:
                self.records.outcome(paper.id, "skipped", "up to date")
        return work

    def _work(
        self, work: list[tuple[PaperConfig, Meta, str]], states: dict[str, PaperState | None]
    ) -> None:
        if not work:
            return
        self.progress.start(len(work))
        from pipeline.warmer import IndexWarmer

        self._warmer = IndexWarmer(self.extractor)
        workers = min(len(work), 2 * (self.options.jobs or self.config.llm.concurrency) + 4, 32)
        one = partial(self._one, states=states)
        each_in_threads(work, workers, lambda item: one(*item), lambda: self.records.stopping)
        self._warmer.stop()
        if self.limiter.requests:
            self.report.concurrency_configured = self.limiter.configured
            self.report.concurrency_reached = self.limiter.lowest
        self.report.pdf_requests = self.arxiv.pdf_requests if self._arxiv else 0
        self._note_run_errors()

    def _note_run_errors(self) -> None:
        """The whole-run failures the clients have met so far, into the report (each once)."""
        errors = list(self._arxiv.run_errors) if self._arxiv else []
        if self.model.unreachable:
            errors.append(self.model.unreachable)
        with self._lock:
            self.report.add_run_errors(errors)

    def _one(
        self, paper: PaperConfig, meta: Meta, reason: str, states: dict[str, PaperState | None]
    ) -> None:
        try:
            try:
                self._summarise(paper, meta, reason, states[paper.id])
            except Withdrawn as exc:
                self.records.withdrawn(paper.id, meta, exc.reason)
            except PaperError as exc:
                self._note_run_errors()
                self.records.fail(paper.id, exc.stage, exc.reason, meta=meta)
            except PreflightRefused:
                raise
            except Exception as exc:  # one paper's surprise never stops the others
                if isinstance(exc, OSError) and exc.errno in UNWRITABLE_ERRNOS:
                    with self._lock:  # the disk refused a write: the whole run's, said once
                        self.report.add_run_errors([unwritable(exc, self.config.output_dir)])
                    self.records.fail(paper.id, "paper", OUTPUT_UNWRITABLE, meta=meta)
                    return
                logger.debug("%s: unexpected error", paper.id, exc_info=True)
                reason = redact(f"unexpected {type(exc).__name__}: {exc}", self.api_key)
                self.records.fail(paper.id, "paper", reason, meta=meta)
        except PreflightRefused:
            return  # the run stops with the preflight's one line; this paper records nothing

    # -- one paper ------------------------------------------------------------------------------

    def _summarise(
        self, paper: PaperConfig, meta: Meta, reason: str, state: PaperState | None
    ) -> None:
        if self.records.deferred(paper.id):  # spent before this paper started: do not even download
            return
        if self.model.unreachable:  # said once for the run; no download for nothing
            raise SummariseError(paper.id, MODEL_UNREACHABLE)
        if self.report.run_level(OUTPUT_UNWRITABLE):  # nothing more could be stored
            raise SummariseError(paper.id, OUTPUT_UNWRITABLE)
        pdf = self._pdf(paper.id, meta)
        pdf_sha = sha256_file(pdf)
        self._unless_refused()
        self.progress.update(paper.id, "extracting text")
        text = self._text(paper.id, pdf, pdf_sha)
        if self._warmer is not None:
            self._warmer.add(text)  # its ❓ indexes, built while the model answers
        figures = self.figures.found(paper, pdf, pdf_sha)
        from pipeline.figures.keyfig import listed
        from pipeline.text.sections import select_for_budget

        self.model.verdict()  # no model request before the preflight said yes
        selection = select_for_budget(text, self.model.text_budget(meta))
        with self.limiter.slot():
            # checked again with a slot in hand: the papers that held it before are counted
            if self.records.deferred(paper.id):
                return
            self.progress.update(paper.id, f"asking the model ({selection.tokens} tokens)")
            fit = partial(select_for_budget, text)  # the paper text for a smaller budget
            captions = listed(figures) if paper.figure is None else []
            answer = self.model.summariser.summarise(
                meta,
                selection,
                self.records.add_usage,
                fit,
                paper.questions,
                text,
                figures=captions,
            )
        new_state = summarised_state(
            state, meta, answer, answer.selection, text, pdf_sha, self.config.llm, self.prompt_sha
        )
        new_state.figure = self.figures.shown(paper, meta, pdf, figures, answer.key_figure)
        self.store.save(new_state)
        self.records.outcome(paper.id, "done", f"{reason}; {answer.usage.total} tokens")

    def _pdf(self, paper_id: str, meta: Meta) -> Any:
        """The cached PDF of this version, downloaded first when it is not there."""
        pdf = pdf_cache_path(self.config, paper_id, meta.version)
        if not pdf.is_file():
            self._unless_refused()
            self.progress.update(paper_id, "downloading PDF")
            with self._download_slots:
                self.arxiv.download_pdf(meta, pdf)
        return pdf

    def _unless_refused(self) -> None:
        """Stop a paper's download or extraction once the preflight has refused the config."""
        if self.model.refused:
            self.model.verdict()

    def _text(self, paper_id: str, pdf: Any, pdf_sha: str) -> str:
        from pipeline.text.extract import ExtractError

        try:
            return self.extractor.text_for(pdf, pdf_sha)
        except ExtractError as exc:
            logger.debug("%s: %s", paper_id, exc)  # the path is for the log, not the README
            raise PdfError(paper_id, exc.cause) from exc

    def _drop_removed(self) -> None:
        listed = {p.id for p in self.config.papers}
        Renderer(self.config, self.store).drop_unlisted(listed, self.report.render)

    # -- lazily built collaborators -------------------------------------------------------------

    @property
    def arxiv(self) -> ArxivClient:
        if self._arxiv is None:
            self._arxiv = ArxivClient(self.config.arxiv)
        return self._arxiv

    def _get_ready(self) -> None:
        """Start the extraction workers and, in the background, the model client and the
        preflight, before the first PDF arrives rather than after (once per build)."""
        self.extractor.warm()
        if not self.options.offline:
            _ = self.arxiv  # imported before the model client: the metadata request goes first
        self.model.prepare()

    @property
    def extractor(self) -> Extractor:
        with self._lock:
            if self._extractor is None:
                from pipeline.text.pool import Extractor

                self._extractor = Extractor(
                    self.config.cache_dir / "text", timeout_seconds=EXTRACT_TIMEOUT_SECONDS
                )
            return self._extractor

    def _close(self) -> None:
        self.model.close(wait=not self.records.stopping)  # after an early preflight still under way
        if self._extractor is not None:
            self._extractor.close()
        if self._arxiv is not None:
            self._arxiv.close()

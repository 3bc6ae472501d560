"""README and detail files from the stored state (jinja2), deterministic and safe for hand edits."""

from __future__ import annotations

import contextlib
import functools
from dataclasses import dataclass, field, replace

import jinja2

from pipeline.config import Config, PaperConfig
from pipeline.console import one_line
from pipeline.names import arxiv_abs, detail_name
from pipeline.publish import figures, mdsafe, site, years
from pipeline.publish.row import FigureView, Row, pending_row, summary_row, withdrawn_note
from pipeline.state import Meta, PaperState, StateStore
from pipeline.store import sha256_bytes, sha256_file, write_if_changed

TITLE_WIDTH = 50
ABSTRACT_WIDTH = 70


@dataclass
class RenderReport:
    """The files a render wrote, removed or left alone."""

    written: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # hand-edited detail files left alone
    # (ID, file): hand-edited detail files of papers removed from the config, left to the person
    orphaned: list[tuple[str, str]] = field(default_factory=list)


def environment() -> jinja2.Environment:
    """The jinja2 environment of the templates, with the markdown-escaping filters."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("pipeline.publish", "templates"),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        autoescape=False,  # markdown: every untrusted value goes through an mdsafe filter
    )
    env.filters.update(cell=mdsafe.cell, inline=mdsafe.inline, trusted_cell=mdsafe.trusted_cell)
    env.globals["arxiv_abs"] = arxiv_abs
    return env


PENDING = "⏳ 摘要待生成"
FAILED = "⚠️ 摘要生成失败："
REASON_CHARS = 60  # a failed row's reason is cut to this many characters


def renderable(
    config: Config, states: dict[str, PaperState], metas: dict[str, Meta] | None = None
) -> list[tuple[PaperConfig, PaperState | None, Meta | None]]:
    """Every listed paper, in README order: date of the version in use, then ID. A paper with
    no stored state is shown with this run's metadata, or only its ID (dated last)."""
    rows = []
    for paper in config.papers:
        state = states.get(paper.id)
        meta = state.meta if state else (metas or {}).get(paper.id)
        rows.append((paper, state, meta))
    return sorted(rows, key=lambda r: ((r[2].updated if r[2] else "") or "9999", r[0].id))


def no_summary_text(state: PaperState | None, failed: dict[str, str], paper_id: str) -> str:
    """Why a paper has no summary: pending, withdrawn, or failed with a short reason."""
    if state and state.withdrawn:
        return withdrawn_note(state.withdrawn)
    error = state.last_error if state else None
    reason = (error.reason if error else "") or failed.get(paper_id)
    if not reason:
        return PENDING
    return FAILED + one_line(str(reason), REASON_CHARS)


class Renderer:
    """Writes README.md and the detail files; never overwrites a detail file a person edited."""

    def __init__(self, config: Config, store: StateStore, take_back: frozenset[str] = frozenset()):
        self.config = config
        self.store = store
        self.take_back = take_back
        self.env = environment()
        # A long README is rendered whole, then again as year pages: wrap each cell once.
        self.env.filters.update(cell=functools.lru_cache(maxsize=None)(mdsafe.cell))

    def render(
        self,
        states: dict[str, PaperState],
        metas: dict[str, Meta] | None = None,
        failed: dict[str, str] | None = None,
    ) -> RenderReport:
        """Write README.md, the detail files, the site and the feed; every listed paper has its row
        and section."""
        report = RenderReport()
        rows: list[Row] = []
        for number, (paper, state, meta) in enumerate(renderable(self.config, states, metas), 1):
            if not state or not state.summary:
                why = no_summary_text(state, failed or {}, paper.id)
                rows.append(pending_row(number, paper, meta, why))
                continue
            figure = figures.shown(self.config.output_dir, paper, state)
            rel = self._detail(number, paper, state, report, figure)
            row = summary_row(number, paper, state, rel)
            rows.append(replace(row, hand_edited=rel in report.kept, figure=figure))
        pages = years.readme_pages(rows, self._readme)  # README.md, and year pages when long
        written, removed = years.write_pages(self.config.output_dir, pages)
        report.written += written
        report.removed += removed
        published = site.publish(self.config, rows)  # the same rows: site and feed
        report.written += published.written
        report.removed += published.removed
        report.removed += figures.sweep(self.config.output_dir, rows)
        return report

    def _readme(self, rows: list[Row], year: str, links: str, base: str) -> str:
        """README.md (or one year's page: `year`, `links` to the others, `base` of its links)."""
        return self.env.get_template("readme.md.j2").render(
            title=self.config.title,
            intro=self.config.intro,
            papers=rows,
            title_width=TITLE_WIDTH,
            abstract_width=ABSTRACT_WIDTH,
            year=year,
            links=links,
            base=base,
        )

    def _detail(
        self,
        number: int,
        paper: PaperConfig,
        state: PaperState,
        report: RenderReport,
        figure: FigureView | None = None,
    ) -> str:
        """Write one detail file; return the path the README links to."""
        out = self.config.output_dir
        name = detail_name(number, paper.slug, paper.id, state.meta.version)
        rel = f"{self.config.details_dir}/{name}"
        recorded = state.detail_file
        if paper.id not in self.take_back:
            kept = self._hand_edited(recorded, state.detail_sha256) or (
                None if recorded else self._hand_edited(rel, None)
            )
            if kept:
                report.kept.append(kept)
                return kept
        row = replace(summary_row(number, paper, state, rel), figure=figure)
        text = self.env.get_template("detail.md.j2").render(p=row)
        if write_if_changed(out / rel, text):
            report.written.append(rel)
        if recorded and recorded != rel:
            with contextlib.suppress(FileNotFoundError):
                (out / recorded).unlink()
                report.removed.append(recorded)
        sha = sha256_bytes(text.encode("utf-8"))
        if (recorded, state.detail_sha256) != (rel, sha):
            state.detail_file, state.detail_sha256 = rel, sha
            self.store.save(state)
        return rel

    def _hand_edited(self, rel: str | None, expected_sha: str | None) -> str | None:
        """`rel` when that file exists and is not what the pipeline last wrote there."""
        if not rel:
            return None
        path = self.config.output_dir / rel
        if not path.is_file():
            return None
        return rel if expected_sha is None or sha256_file(path) != expected_sha else None

    def drop_unlisted(self, listed: set[str], report: RenderReport) -> None:
        """Remove the state and generated files of every stored paper not in `listed`."""
        for paper_id in self.store.ids():
            if paper_id not in listed and (state := self.store.load(paper_id)):
                self.remove_paper_files(state, report)

    def remove_paper_files(self, state: PaperState, report: RenderReport) -> None:
        """Delete the state and generated detail file of a paper dropped from the config.

        A detail file a person edited stays, reported once: with the state gone it is theirs.
        """
        recorded = state.detail_file
        if recorded and self._hand_edited(recorded, state.detail_sha256):
            report.orphaned.append((state.id, recorded))
        elif recorded:
            with contextlib.suppress(FileNotFoundError):
                (self.config.output_dir / recorded).unlink()
                report.removed.append(recorded)
        self.store.remove(state.id)
        report.removed.append(f"data/{state.id}.json")

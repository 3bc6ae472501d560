"""README and detail files from the stored state (jinja2), deterministic and safe for hand edits."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any

import jinja2

from pipeline.config import Config, PaperConfig
from pipeline.publish import mdsafe
from pipeline.store import StateStore, sha256_bytes, sha256_file, write_if_changed

TITLE_WIDTH = 50
ABSTRACT_WIDTH = 70
FLAG_MARK = "❓"


@dataclass
class RenderReport:
    written: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # hand-edited detail files left alone
    # (ID, file): hand-edited detail files of papers removed from the config, left to the person
    orphaned: list[tuple[str, str]] = field(default_factory=list)


def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("pipeline.publish", "templates"),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        autoescape=False,  # markdown: every untrusted value goes through an mdsafe filter
    )
    env.filters.update(cell=mdsafe.cell, inline=mdsafe.inline, trusted_cell=mdsafe.trusted_cell)
    return env


def detail_name(number: int, paper: PaperConfig, version: int) -> str:
    return f"{number:02d}-{paper.slug}.{paper.id}v{version}.md"


PENDING = "⏳ 摘要待生成"
FAILED = "⚠️ 摘要生成失败："
REASON_CHARS = 60  # a failed row's reason is cut to this many characters


def renderable(
    config: Config, states: dict[str, dict[str, Any]], metas: dict[str, dict] | None = None
) -> list[tuple[PaperConfig, dict]]:
    """Every listed paper, in README order: date of the version in use, then ID. A paper with
    no stored state gets one from this run's metadata, or only its ID (dated last)."""
    rows = []
    for paper in config.papers:
        state = states.get(paper.id)
        if not state or not state.get("meta"):
            meta = (metas or {}).get(paper.id) or {"id": paper.id, "title": paper.id}
            state = {"id": paper.id, "meta": meta, "summary": None}
        rows.append((paper, state))
    return sorted(rows, key=lambda r: (r[1]["meta"].get("updated") or "9999", r[0].id))


def no_summary_text(state: dict[str, Any], failed: dict[str, str], paper_id: str) -> str:
    """Why a paper has no summary: pending, or failed with a short reason."""
    reason = (state.get("last_error") or {}).get("reason") or failed.get(paper_id)
    if not reason:
        return PENDING
    reason = " ".join(str(reason).split())
    if len(reason) > REASON_CHARS:
        reason = reason[: REASON_CHARS - 1] + "…"
    return FAILED + reason


def _pending_row(number: int, paper: PaperConfig, state: dict[str, Any], why: str) -> dict:
    meta = state["meta"]
    return {
        "id": paper.id,
        "title": meta.get("title") or paper.id,
        "number": number,
        "date": (meta.get("updated") or "").replace("-", ""),
        "project": paper.project,
        "notes": [],
        "no_summary": why,
    }


def _row(number: int, paper: PaperConfig, state: dict[str, Any], detail_path: str) -> dict:
    meta, summary = state["meta"], state["summary"]
    flagged = bool(state.get("unsupported_terms"))
    return {
        **meta,
        "number": number,
        "date": meta["updated"].replace("-", ""),
        "project": paper.project,
        "notes": paper.notes,
        "mark": (FLAG_MARK if flagged and FLAG_MARK not in paper.mark else "") + paper.mark,
        "detail_path": detail_path,
        "no_summary": "",
        "abstract": summary["abstract"],
        "bullets": summary["bullets"],
        "detail": summary.get("detail", []),
        "unsupported": state.get("unsupported_terms", []),
        "source": state.get("source", "llm"),
        "model": state.get("model", ""),
        "endpoint": state.get("endpoint", ""),
        "generated_at": state.get("generated_at", ""),
        "pdf_sha256": state.get("pdf_sha256") or "",
        "prompt_sha256": state.get("prompt_sha256") or "",
    }


class Renderer:
    """Writes README.md and the detail files; never overwrites a detail file a person edited."""

    def __init__(self, config: Config, store: StateStore, take_back: frozenset[str] = frozenset()):
        self.config = config
        self.store = store
        self.take_back = take_back
        self.env = environment()
        self.tmp_dir = store.tmp_dir

    def render(
        self,
        states: dict[str, dict[str, Any]],
        metas: dict[str, dict] | None = None,
        failed: dict[str, str] | None = None,
    ) -> RenderReport:
        """Write README.md and the detail files; every listed paper has its row and section."""
        report = RenderReport()
        rows = []
        for number, (paper, state) in enumerate(renderable(self.config, states, metas), start=1):
            if not state.get("summary"):
                why = no_summary_text(state, failed or {}, paper.id)
                rows.append(_pending_row(number, paper, state, why))
                continue
            rel = self._detail(number, paper, state, report)
            rows.append(_row(number, paper, state, rel))
        readme = self.env.get_template("readme.md.j2").render(
            title=self.config.title,
            intro=self.config.intro,
            papers=rows,
            title_width=TITLE_WIDTH,
            abstract_width=ABSTRACT_WIDTH,
        )
        if write_if_changed(self.config.output_dir / "README.md", readme, self.tmp_dir):
            report.written.append("README.md")
        return report

    def _detail(self, number: int, paper: PaperConfig, state: dict, report: RenderReport) -> str:
        """Write one detail file; return the path the README links to."""
        out = self.config.output_dir
        rel = f"{self.config.details_dir}/{detail_name(number, paper, state['meta']['version'])}"
        recorded = state.get("detail_file")
        if paper.id not in self.take_back:
            kept = self._hand_edited(recorded, state.get("detail_sha256")) or (
                None if recorded else self._hand_edited(rel, None)
            )
            if kept:
                report.kept.append(kept)
                return kept
        text = self.env.get_template("detail.md.j2").render(p=_row(number, paper, state, rel))
        if write_if_changed(out / rel, text, self.tmp_dir):
            report.written.append(rel)
        if recorded and recorded != rel:
            with contextlib.suppress(FileNotFoundError):
                (out / recorded).unlink()
                report.removed.append(recorded)
        sha = sha256_bytes(text.encode("utf-8"))
        if (recorded, state.get("detail_sha256")) != (rel, sha):
            state.update(detail_file=rel, detail_sha256=sha)
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

    def remove_paper_files(self, state: dict[str, Any], report: RenderReport) -> None:
        """Delete the state and generated detail file of a paper dropped from the config.

        A detail file a person edited stays, reported once: with the state gone it is theirs.
        """
        recorded = state.get("detail_file")
        if self._hand_edited(recorded, state.get("detail_sha256")):
            report.orphaned.append((state["id"], recorded))
        elif recorded:
            with contextlib.suppress(FileNotFoundError):
                (self.config.output_dir / recorded).unlink()
                report.removed.append(recorded)
        self.store.remove(state["id"])
        report.removed.append(f"data/{state['id']}.json")

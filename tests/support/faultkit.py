"""Helpers for the fault tests: scripted model answers, seeded text cache, file comparisons."""

from __future__ import annotations

import functools
import json
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pipeline.store import sha256_bytes
from pipeline.text.extract import extract_clean
from tests.support.fakes import TITLE_RE, FakeLLM, FakePaper, good_answer
from tests.support.pdfgen import paper_pdf
from tests.support.project import PAPERS, Project

V2, LLM, MOE = "2405.04434", "2401.02954", "2401.06066"
TITLE = {paper_id: title for paper_id, _, title, _, _, _ in PAPERS}


@functools.cache
def _clean_text(pdf: bytes) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "paper.pdf"
        path.write_bytes(pdf)
        return extract_clean(path)


def cache_text(project: Project, pdf: bytes) -> None:
    """Put one PDF's cleaned text where a build looks first, as an earlier build would have."""
    folder = project.root / ".cache" / "text"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{sha256_bytes(pdf)}.txt").write_text(_clean_text(pdf), encoding="utf-8")


def seed_text_cache(project: Project) -> None:
    """Put the cleaned text of every PDF the fake arXiv holds into the project's text cache.

    The build then skips the child-process extraction (about 0.3 s a paper); what these tests
    exercise is the network and the model, and extraction once per PDF is the build's own rule.
    PDFs are still downloaded and hashed.
    """
    for versions in project.arxiv.papers.values():
        for paper in versions:
            cache_text(project, paper.pdf)


def new_version(project: Project, paper_id: str) -> FakePaper:
    """Publish the next version of a paper on the fake arXiv (with its own PDF)."""
    current = project.arxiv.papers[paper_id][-1]
    version = current.version + 1
    paper = FakePaper(
        paper_id,
        version,
        current.title,
        "2025-03-01",
        paper_pdf(current.title, current.title.split(":")[0], extra=f"Revised as v{version}."),
    )
    project.arxiv.add(paper)
    seed_text_cache(project)
    return paper


def title_of(body: dict[str, Any]) -> str:
    m = TITLE_RE.search(body["messages"][1]["content"])
    return m.group(1) if m else ""


def script(llm: FakeLLM, paper_id: str, *answers: tuple[int, Any], then: Any = None) -> None:
    """The model answers `paper_id` with `answers` in order, then with `then` (default: good).

    Every other paper gets the good answer.
    """
    queue = list(answers)
    lock = threading.Lock()

    def responder(body: dict[str, Any]) -> tuple[int, Any]:
        if title_of(body) == TITLE[paper_id]:
            with lock:
                if queue:
                    return queue.pop(0)
            if then is not None:
                return then(body) if callable(then) else then
        return FakeLLM.default(body)

    llm.responder = responder


def requests_for(llm: FakeLLM, paper_id: str) -> list[dict[str, Any]]:
    return [body for body in llm.bodies if title_of(body) == TITLE[paper_id]]


def answer_with(paper_id: str, change: Callable[[dict[str, Any]], None]) -> tuple[int, Any]:
    """A good answer for the paper, altered by `change`."""
    answer = good_answer(TITLE[paper_id])
    change(answer)
    return 200, answer


def state(project: Project, paper_id: str) -> dict[str, Any]:
    return json.loads((project.output / "data" / f"{paper_id}.json").read_text(encoding="utf-8"))


def good_files(project: Project, paper_id: str) -> dict[str, Any]:
    """What a reader has of one paper: its detail file's bytes, its summary and its metadata."""
    st = state(project, paper_id)
    return {
        "detail": (project.output / st["detail_file"]).read_bytes(),
        "detail_file": st["detail_file"],
        "summary": st["summary"],
        "meta": st["meta"],
    }


def readme_bytes(project: Project) -> bytes:
    return (project.output / "README.md").read_bytes()

"""Shared by the provider tests: point a project at a provider fake, add long real papers, read
what the build stored and printed."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.support.fakes import FakeLLM, FakePaper
from tests.support.project import FIXTURE_PDFS, PAPERS, Project, config_text

LONG = [  # two real papers: their prompts fill the 12000-token budget
    ("2406.11931", 1, "DeepSeek-Coder-V2: Breaking the Barrier", "2024-06-17", "Coder V2", "Coder"),
    ("2408.08152", 1, "DeepSeek-Prover-V1.5: Harnessing Proof", "2024-08-15", "Prover", "Prover"),
]
SHORT_IDS = sorted(p[0] for p in PAPERS)
LONG_IDS = sorted(p[0] for p in LONG)
KEY = "TEST_LLM_KEY"

Use = Callable[..., Project]


@pytest.fixture
def use(project: Project) -> Iterator[Use]:
    """Point the project at a provider fake: `use(fake, model, "llm lines", papers=...)`."""
    started: list[FakeLLM] = []

    def _use(fake: FakeLLM, model: str, lines: str = "", papers: list = PAPERS) -> Project:
        if fake not in started:
            fake.start()
            started.append(fake)
        text = config_text(project.arxiv.api_url, fake.base_url, papers=papers, extra_llm=lines)
        project.write_config(text.replace('model = "fake-model"', f'model = "{model}"'))
        return Project(project.root, project.arxiv, fake)

    yield _use
    for fake in started:
        fake.stop()


def with_long_papers(project: Project) -> list:
    """The short papers plus two long real ones (the fixture PDFs); skips without them."""
    if not FIXTURE_PDFS.is_dir():
        pytest.skip(f"fixture PDFs not found at {FIXTURE_PDFS} (../shared missing)")
    for paper_id, version, title, date, _, _ in LONG:
        pdf = (FIXTURE_PDFS / f"{paper_id}.pdf").read_bytes()
        project.arxiv.add(FakePaper(paper_id, version, title, date, pdf))
    return PAPERS + LONG


def state(project: Project, paper_id: str) -> dict[str, Any]:
    return json.loads((project.output / "data" / f"{paper_id}.json").read_text(encoding="utf-8"))


def failed(err: str) -> dict[str, str]:
    """{paper ID: reason} from the closing summary's failed lines."""
    lines = [line.split(": ", 2) for line in err.splitlines() if line.startswith("  failed: ")]
    return {parts[1]: parts[2] for parts in lines}


def every_request(fake: FakeLLM) -> list[dict[str, Any]]:
    return fake.preflights + fake.bodies

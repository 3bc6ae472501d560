"""Fixtures: fake arXiv and model servers on 127.0.0.1, a project folder, and a CLI runner."""

from __future__ import annotations

import hashlib
import os
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pipeline.cli import main
from pipeline.llm import prices
from pipeline.sources import retry as netretry
from tests.fakes import FakeArxiv, FakeLLM, FakePaper
from tests.pdfgen import paper_pdf

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
FIXTURE_PDFS = SHARED / "fixtures" / "pdfs"
API_KEY = "sk-test-0123456789abcdef"

# Listed out of date order on purpose: the README sorts by the date of the version in use.
PAPERS = [
    (
        "2405.04434",
        5,
        "DeepSeek-V2: A Strong, Economical, and Efficient Mixture-of-Experts Language Model",
        "2024-06-19",
        "DeepSeek V2",
        "DeepSeek-V2",
    ),
    (
        "2401.02954",
        1,
        "DeepSeek LLM: Scaling Open-Source Language Models with Longtermism",
        "2024-01-05",
        "DeepSeek LLM",
        "DeepSeekLLM",
    ),
    (
        "2401.06066",
        1,
        "DeepSeekMoE: Towards Ultimate Expert Specialization in Mixture-of-Experts Language Models",
        "2024-01-11",
        "DeepSeek MoE",
        "DeepSeekMoE",
    ),
]


def fake_paper(paper_id: str, version: int, title: str, updated: str) -> FakePaper:
    topic = title.split(":")[0]
    return FakePaper(paper_id, version, title, updated, paper_pdf(title, topic))


@pytest.fixture
def arxiv_server() -> Iterator[FakeArxiv]:
    papers = [fake_paper(i, v, t, d) for i, v, t, d, _, _ in PAPERS]
    with FakeArxiv(papers) as server:
        yield server


@pytest.fixture
def llm_server() -> Iterator[FakeLLM]:
    with FakeLLM() as server:
        yield server


OFF_PEAK = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)  # a Monday noon: DeepSeek's off-peak price


@pytest.fixture(autouse=True)
def price_clock(monkeypatch: pytest.MonkeyPatch) -> list[datetime]:
    """Requests are priced at a fixed moment, never the wall clock's: `price_clock[0] = ...`
    moves it."""
    moment = [OFF_PEAK]
    monkeypatch.setattr(prices, "clock", lambda: moment[0])
    return moment


@pytest.fixture
def refused_port() -> Iterator[int]:
    """A port on 127.0.0.1 that refuses connections (bound, never listening)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    try:
        yield sock.getsockname()[1]
    finally:
        sock.close()


@pytest.fixture(autouse=True)
def no_sleep(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Retries and spacing record their waits instead of sleeping."""
    waits: list[float] = []
    monkeypatch.setattr(netretry, "pause", waits.append)
    return waits


def config_text(arxiv_url: str, llm_url: str, papers=PAPERS, extra_llm: str = "") -> str:
    lines = [
        'title = "DeepSeek Paper Reading"',
        'intro = "部分摘要基于LLM自动生成"',
        "[output]",
        'dir = "output"',
        'details_dir = "deepseek-paper"',
        "[arxiv]",
        f'api_url = "{arxiv_url}"',
        "delay_seconds = 0",
        "timeout_seconds = 5",
        "retries = 3",
        "[llm]",
        f'base_url = "{llm_url}"',
        'model = "fake-model"',
        'api_key_env = "TEST_LLM_KEY"',
        "concurrency = 4",
        "timeout_seconds = 10",
        "max_input_tokens = 12000",
        extra_llm,
        "[cache]",
        'dir = ".cache"',
    ]
    for paper_id, _, _, _, project, slug in papers:
        lines += ["[[papers]]", f'id = "{paper_id}"', f'project = "{project}"', f'slug = "{slug}"']
    return "\n".join(lines) + "\n"


@dataclass
class Project:
    root: Path
    arxiv: FakeArxiv
    llm: FakeLLM

    @property
    def config(self) -> Path:
        return self.root / "config.toml"

    @property
    def output(self) -> Path:
        return self.root / "output"

    def run(self, *args: str) -> int:
        """Run the real CLI in this process (stderr/stdout go to capsys)."""
        return main([*args, "--config", str(self.config)])

    def write_config(self, text: str) -> None:
        self.config.write_text(text, encoding="utf-8")

    def snapshot(self) -> dict[str, str]:
        """Hash of every file under output/."""
        return {
            str(p.relative_to(self.output)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(self.output.rglob("*"))
            if p.is_file()
        }


@pytest.fixture
def project(
    tmp_path: Path, arxiv_server: FakeArxiv, llm_server: FakeLLM, monkeypatch: pytest.MonkeyPatch
) -> Project:
    monkeypatch.setenv("TEST_LLM_KEY", API_KEY)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")  # 2026-01-01: reproducible output
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)  # set when the suite runs in Actions
    proj = Project(tmp_path, arxiv_server, llm_server)
    proj.write_config(config_text(arxiv_server.api_url, llm_server.base_url))
    os.chdir(tmp_path)
    return proj

"""The test project: the fake papers, a config.toml for the fake servers, and a folder with a
CLI runner (tests/conftest.py makes one per test)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from pipeline.cli import main
from tests.support.fakes import FakeArxiv, FakeLLM, FakePaper
from tests.support.pdfgen import paper_pdf

ROOT = Path(__file__).resolve().parents[2]


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

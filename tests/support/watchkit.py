"""Shared pieces of the watch tests: DeepSeek papers on the fake arXiv, a movable clock, configs."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from pipeline.watch import search as watchsrc
from tests.support.project import Project, config_text, fake_paper

DS = ("DeepSeek-AI", "Daya Guo", "Dejian Yang", "Haowei Zhang")

# id, version, title, submitted (v1), authors, abstract
NEW_PAPERS = [
    (
        "2501.12948",
        1,
        "DeepSeek-R1: Incentivizing Reasoning Capability in LLMs via Reinforcement Learning",
        "2025-01-22",
        DS,
        "We introduce our first-generation reasoning models, DeepSeek-R1-Zero and DeepSeek-R1.",
    ),
    (
        "2412.19437",
        2,
        "DeepSeek-V3 Technical Report",
        "2024-12-27",
        DS,
        "We present DeepSeek-V3, a strong Mixture-of-Experts language model.",
    ),
    (  # matches the query, excluded by "survey" in its title
        "2503.01234",
        1,
        "A Survey of Reasoning Models from DeepSeek",
        "2025-03-02",
        DS[:2],
        "An overview of open reasoning models.",
    ),
    (  # matches the query, excluded by "surveys" in its abstract
        "2503.04321",
        1,
        "Open Reasoning Models in Practice",
        "2025-03-05",
        DS[:1],
        "This paper surveys deployments of open reasoning models.",
    ),
    (  # names DeepSeek-AI in its abstract only: au: does not match it
        "2502.05555",
        1,
        "Reproducing R1 on a Budget",
        "2025-02-10",
        ("Jane Doe", "John Roe"),
        "We reproduce the DeepSeek-AI R1 recipe with small models.",
    ),
    (  # another organisation
        "2502.06666",
        1,
        "Native Sparse Attention: Hardware-Aligned and Natively Trainable Sparse Attention",
        "2025-02-16",
        ("Jingyang Yuan", "Huazuo Gao"),
        "Long-context modeling is crucial for next-generation language models.",
    ),
]
QUERY = 'au:"DeepSeek-AI"'
EXPECTED = ["2501.12948", "2412.19437"]  # the unlisted matches, newest first


class Clock:
    """A clock the watch code reads instead of the wall clock."""

    def __init__(self) -> None:
        self.t = datetime(2026, 3, 1, 6, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.t

    def advance(self, **delta: float) -> None:
        self.t += timedelta(**delta)


@pytest.fixture(name="clock")
def clock_fixture(monkeypatch: pytest.MonkeyPatch) -> Clock:
    c = Clock()
    monkeypatch.setattr(watchsrc, "now", c)
    return c


def serve_deepseek(project: Project) -> None:
    """The listed papers become DeepSeek-AI papers too; the new ones are added to the fake."""
    for versions in project.arxiv.papers.values():
        for paper in versions:
            paper.authors = DS
    for paper_id, version, title, submitted, authors, abstract in NEW_PAPERS:
        paper = fake_paper(paper_id, version, title, submitted)
        paper.published, paper.authors, paper.abstract = submitted, authors, abstract
        project.arxiv.add(paper)


def watch_table(
    name: str = "DeepSeek-AI", query: str = QUERY, exclude: str = '["survey"]', extra: str = ""
) -> str:
    return (
        f"\n# follow the lab\n[[watch]]\nname = {name!r}\nquery = '{query}'\n"
        f"exclude = {exclude}  # no surveys\n{extra}"
    )


def commented_config(project: Project, watches: str) -> str:
    """The project's config with comments, odd spacing and the watch tables."""
    base = config_text(project.arxiv.api_url, project.llm.base_url)
    base = base.replace('title = "', '# my reading list\ntitle   =  "', 1)
    base = base.replace("[[papers]]", "# papers I read\n[[papers]]", 1)
    return base + watches


def candidate_ids(project: Project) -> list[str]:
    text = (project.output / "candidates.md").read_text(encoding="utf-8")
    return re.findall(r"`python -m pipeline add (\S+)`", text)


def inserted(old: str, new: str) -> str:
    """The one stretch `new` adds to `old` (asserting nothing else changed)."""
    prefix = 0
    while prefix < len(old) and old[prefix] == new[prefix]:
        prefix += 1
    block = new[prefix : prefix + len(new) - len(old)]
    assert new == old[:prefix] + block + old[prefix:], "a byte outside the insertion changed"
    while prefix and old[prefix - 1] != "\n" and old[prefix - 1] == block[-1]:
        prefix, block = prefix - 1, old[prefix - 1] + block[:-1]  # the same text, line-aligned
    return block

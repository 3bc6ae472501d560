"""A long list split by year (README.md past ~1 MB), with a small limit injected."""

from __future__ import annotations

import re

import pytest

from pipeline.publish import years
from tests.support.project import PAPERS, Project, config_text, fake_paper

MORE = [  # with PAPERS (2024): three years, the newest 2025
    ("2312.00001", 1, "Older Study: Sparse Attention Revisited", "2023-12-01", "Older", "Older"),
    ("2501.00002", 1, "Newer Study: Long Context at Scale", "2025-01-20", "Newer", "Newer"),
]
ROW = re.compile(r"^\| (\d+) \| (\d{8}) \|.*$", re.MULTILINE)
LINK = re.compile(r"\]\((\.\.?/[^)]+)\)")


@pytest.fixture
def three_years(project: Project) -> Project:
    for paper_id, version, title, date, _, _ in MORE:
        project.arxiv.add(fake_paper(paper_id, version, title, date))
    text = config_text(project.arxiv.api_url, project.llm.base_url, papers=PAPERS + MORE)
    project.write_config(text)
    return project


def rows(markdown: str) -> dict[int, str]:
    """{number: the table row} of a README or year page."""
    return {int(m.group(1)): m.group(0) for m in ROW.finditer(markdown)}


def read(project: Project, rel: str) -> str:
    return (project.output / rel).read_text(encoding="utf-8")


def dead_links(project: Project, rel: str) -> list[str]:
    folder = (project.output / rel).parent
    return [link for link in LINK.findall(read(project, rel)) if not (folder / link).is_file()]


def test_a_long_readme_is_split_by_year_with_rows_numbers_and_links_unchanged(
    three_years: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = three_years
    assert project.run("build") == 0
    whole = rows(read(project, "README.md"))
    assert sorted(whole) == [1, 2, 3, 4, 5] and not (project.output / "years").exists()

    monkeypatch.setattr(years, "README_LIMIT", 2000)  # the whole README is about 4 kB
    assert project.run("build", "--offline") == 0
    readme = read(project, "README.md")
    assert rows(readme) == {5: whole[5]}  # the newest year, numbered as in the whole list
    assert "## 5 **Newer**" in readme and "## 4 " not in readme
    assert "按年份：**2025** · [2024](./years/2024.md) · [2023](./years/2023.md)" in readme
    page = read(project, "years/2024.md")
    assert page.startswith("# DeepSeek Paper Reading（2024）\n")
    assert "按年份：[2025](../README.md) · **2024** · [2023](./2023.md)" in page
    assert rows(page) == {n: whole[n].replace("](./", "](../") for n in (2, 3, 4)}
    assert [n for n in (2, 3, 4) if f"## {n} **" in page] == [2, 3, 4]
    assert rows(read(project, "years/2023.md")) == {1: whole[1].replace("](./", "](../")}
    for rel in ("README.md", "years/2024.md", "years/2023.md"):
        assert dead_links(project, rel) == []
    assert sorted(p.name for p in (project.output / "years").iterdir()) == ["2023.md", "2024.md"]


def test_year_pages_are_deterministic_and_removed_when_no_longer_needed(
    three_years: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = three_years
    monkeypatch.setattr(years, "README_LIMIT", 2000)
    assert project.run("build") == 0
    before = project.snapshot()
    assert {"years/2023.md", "years/2024.md"} <= set(before)
    assert project.run("build", "--offline") == 0
    assert project.snapshot() == before  # nothing rewritten, byte for byte

    older = [p for p in PAPERS + MORE if p[0] != "2312.00001"]  # 2023 leaves the list
    project.write_config(config_text(project.arxiv.api_url, project.llm.base_url, papers=older))
    assert project.run("build", "--offline") == 0
    assert sorted(p.name for p in (project.output / "years").iterdir()) == ["2024.md"]
    assert "[2023]" not in read(project, "README.md") + read(project, "years/2024.md")

    monkeypatch.setattr(years, "README_LIMIT", 1_000_000)  # short again: one README
    assert project.run("build", "--offline") == 0
    assert not (project.output / "years").exists()
    assert sorted(rows(read(project, "README.md"))) == [1, 2, 3, 4]
    assert dead_links(project, "README.md") == []


def test_a_file_a_person_put_in_years_stays(
    three_years: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = three_years
    monkeypatch.setattr(years, "README_LIMIT", 2000)
    assert project.run("build") == 0
    notes = project.output / "years" / "notes.md"
    notes.write_text("my notes\n", encoding="utf-8")
    monkeypatch.setattr(years, "README_LIMIT", 1_000_000)
    assert project.run("build", "--offline") == 0
    assert sorted(p.name for p in (project.output / "years").iterdir()) == ["notes.md"]

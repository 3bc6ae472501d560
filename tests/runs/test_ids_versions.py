"""arXiv IDs as arXiv serves them: old-style IDs (hep-th/9901001, math/0405083v6) everywhere, a
pinned version that does not exist named as such, and withdrawn versions: not summarised, not a
failure, the row keeps the last earlier summary and says （已撤回）."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from tests.support.fakes import Fault
from tests.support.faultkit import LLM, V2, new_version, readme_bytes, seed_text_cache, state
from tests.support.project import PAPERS, Project, config_text, fake_paper

OLD = [
    (
        "hep-th/9901001",
        1,
        "Strings: Old Identifiers Still Work",
        "1999-01-05",
        "Strings",
        "Strings",
    ),
    ("math/0405083", 6, "Algebra: Six Versions Later", "2004-06-01", "Algebra", "Algebra"),
]


@pytest.fixture
def old_ids(project: Project) -> Project:
    for paper_id, version, title, updated, _, _ in OLD:
        for earlier in range(1, version + 1):
            project.arxiv.add(fake_paper(paper_id, earlier, title, updated))
    text = config_text(project.arxiv.api_url, project.llm.base_url, papers=[*PAPERS, *OLD])
    project.write_config(text.replace('id = "math/0405083"', 'id = "math/0405083v6"'))
    return project


def test_old_style_ids_are_built_like_new_ones(
    old_ids: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    project = old_ids
    assert project.run("build") == 0
    data = sorted(p.name for p in (project.output / "data").glob("*.json"))
    assert {"hep-th_9901001.json", "math_0405083.json"} <= set(data)
    assert state(project, "hep-th_9901001")["id"] == "hep-th/9901001"
    readme = readme_bytes(project).decode()
    assert "[link](http://arxiv.org/abs/hep-th/9901001)" in readme
    assert re.search(r"\(\./deepseek-paper/0\d-Strings\.hep-th_9901001v1\.md\)", readme)
    assert re.search(r"\(\./deepseek-paper/0\d-Algebra\.math_0405083v6\.md\)", readme)
    assert (project.root / ".cache" / "pdf" / "math_0405083v6.pdf").is_file()
    assert (project.output / "site" / "papers" / "hep-th_9901001.html").is_file()
    assert "/pdf/hep-th/9901001v1" in project.arxiv.pdf_calls

    capsys.readouterr()
    assert project.run("build", "--only", "hep-th/9901001", "--force") == 0
    assert "build: 1 done, 0 skipped, 0 failed" in capsys.readouterr().err
    assert project.run("status") == 0
    out = capsys.readouterr().out
    assert "hep-th/9901001\tv1\tsummarised\tup to date" in out
    assert "math/0405083\tv6\tsummarised\tup to date" in out
    before = project.snapshot()
    assert project.run("build", "--offline") == 0
    assert project.snapshot() == before  # no file renamed or rewritten


def test_add_and_reject_take_old_style_ids(
    old_ids: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    project = old_ids
    project.arxiv.add(fake_paper("cond-mat/0101001", 2, "Matter: Condensed", "2001-02-01"))
    assert project.run("add", "cond-mat/0101001v2") == 0
    assert project.run("reject", "hep-ph/0202002") == 0
    text = project.config.read_text(encoding="utf-8")
    assert 'id = "cond-mat/0101001v2"\nproject = "Matter"\n' in text
    assert 'rejected = ["hep-ph/0202002"]' in text
    assert project.run("build", "--only", "cond-mat/0101001") == 0


def test_a_pinned_version_arxiv_does_not_have_is_named(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    text = project.config.read_text(encoding="utf-8")
    project.write_config(text.replace(f'id = "{V2}"', f'id = "{V2}v99"'))
    assert project.run("build") == 1
    lines = capsys.readouterr().err.splitlines()
    assert (
        f"  failed: {V2}: arXiv has no v99 of {V2} (the latest is v5): fix the version in the "
        "config"
    ) in lines


def withdraw(project: Project, paper_id: str, comment: str = "") -> None:
    """arXiv posts a new version that withdraws the paper (its comment says so, or not)."""
    fresh = new_version(project, paper_id)
    project.arxiv.papers[paper_id][-1] = replace(fresh, comment=comment)


@pytest.mark.parametrize(
    "comment", ["This paper has been withdrawn by the authors.", ""], ids=["comment", "pdf-404"]
)
def test_a_withdrawn_version_keeps_the_summary_and_says_so(
    project: Project, capsys: pytest.CaptureFixture[str], comment: str
) -> None:
    seed_text_cache(project)
    assert project.run("build") == 0
    kept = state(project, LLM)["summary"]
    withdraw(project, LLM, comment)
    if not comment:  # no word in the metadata: its PDF is gone
        project.arxiv.add_fault(f"pdf:{LLM}", Fault(404, b"not found"))
    asked = len(project.llm.bodies)
    capsys.readouterr()
    assert project.run("build") == 0  # not a failure: the nightly job stays green
    err = capsys.readouterr().err
    assert "build: 0 done, 3 skipped, 0 failed, 0 deferred" in err
    assert len(project.llm.bodies) == asked  # not summarised
    stored = state(project, LLM)
    assert stored["withdrawn"] == 2 and stored["meta"]["version"] == 1
    assert stored["summary"] == kept and stored["last_error"] is None
    row = next(x for x in readme_bytes(project).decode().splitlines() if f"abs/{LLM})" in x)
    assert "<br />v2（已撤回） |" in row and f"DeepSeekLLM.{LLM}v1.md)" in row

    before, pdfs = project.snapshot(), len(project.arxiv.pdf_calls)
    assert project.run("build") == 0  # the next night: nothing to do, nothing asked again
    assert project.snapshot() == before and len(project.arxiv.pdf_calls) == pdfs

    new_version(project, LLM)  # v3 is a real one: summarised, the withdrawal note is gone
    assert project.run("build") == 0
    assert state(project, LLM)["withdrawn"] is None and state(project, LLM)["meta"]["version"] == 3


def test_a_paper_whose_only_version_is_withdrawn_has_a_row_that_says_so(
    project: Project,
) -> None:
    project.arxiv.add_fault(f"pdf:{LLM}", Fault(404, b"not found"))
    assert project.run("build") == 0
    row = next(x for x in readme_bytes(project).decode().splitlines() if f"abs/{LLM})" in x)
    assert row.endswith("| v1（已撤回） |  |")

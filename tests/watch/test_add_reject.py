"""`add` and `reject` edit config.toml with tomlkit: only new lines change; errors are exit 2."""

from __future__ import annotations

import tomllib

import pytest

from pipeline.store import build_lock
from tests.support.project import Project, config_text
from tests.support.watchkit import clock_fixture, commented_config, inserted, serve_deepseek  # noqa: F401


@pytest.fixture
def listed(project: Project) -> Project:
    serve_deepseek(project)
    project.write_config(commented_config(project, ""))
    return project


def test_add_asks_arxiv_once_for_the_titles_it_does_not_know(
    listed: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    before = listed.config.read_text(encoding="utf-8")
    assert listed.run("add", "2502.05555", "2412.19437v2", "2502.05555") == 0
    assert listed.arxiv.api_calls == [["2502.05555", "2412.19437"]]  # one request for both
    block = inserted(before, listed.config.read_text(encoding="utf-8"))
    assert block == (
        '[[papers]]\nid = "2502.05555"\nproject = "Reproducing R1"\nslug = "Reproducing-R1"\n'
        '[[papers]]\nid = "2412.19437v2"\nproject = "DeepSeek-V3 Technical Report"\n'
        'slug = "DeepSeek-V3-Technical-Report"\n'
    )
    out = capsys.readouterr().out
    assert "added 2412.19437v2 to config.toml: project 'DeepSeek-V3 Technical Report'" in out
    assert listed.run("build") == 0  # the pinned version is what the build summarises
    assert "deepseek-paper/04-DeepSeek-V3-Technical-Report.2412.19437v2.md" in (
        listed.output / "README.md"
    ).read_text(encoding="utf-8")


def test_add_with_project_needs_no_request(listed: Project) -> None:
    before = listed.config.read_text(encoding="utf-8")
    assert listed.run("add", "2501.12948", "--project", "R1 | <b>Reasoning</b>") == 0
    assert listed.arxiv.requests == []
    block = inserted(before, listed.config.read_text(encoding="utf-8"))
    assert block == (
        '[[papers]]\nid = "2501.12948"\nproject = "R1 | <b>Reasoning</b>"\n'
        'slug = "R1-bReasoningb"\n'
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("2502.1",), "add: '2502.1' is not an arXiv ID (expected like 2405.04434)"),
        (("2401.02954v2",), "add 2401.02954: already listed in config.toml"),
        (("2512.99999",), "add 2512.99999: not found on arXiv (no entry in the API answer); "),
        (("2501.12948", "2412.19437", "--project", "X"), "add --project NAME names one paper"),
    ],
)
def test_add_refuses_with_one_line_and_leaves_the_config_alone(
    listed: Project, capsys: pytest.CaptureFixture[str], args: tuple[str, ...], message: str
) -> None:
    before = listed.config.read_bytes()
    assert listed.run("add", *args) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {message}") and err.count("\n") == 1
    assert listed.config.read_bytes() == before
    assert len(listed.arxiv.requests) == (1 if "2512.99999" in args else 0)


def test_reject_extends_a_multiline_list_keeping_its_comments(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    head = '# top\ntitle = "T"\nrejected = [\n  "2502.00001",  # off topic\n  "2502.00002",\n]\n\n'
    text = config_text(project.arxiv.api_url, project.llm.base_url).replace('title = "', "x = ", 1)
    text = head + text.split("\n", 1)[1]
    project.write_config(text)
    assert project.run("reject", "2503.00003v2", "2502.00001") == 0
    after = project.config.read_text(encoding="utf-8")
    assert inserted(text, after) == '  "2503.00003",\n'
    assert tomllib.loads(after)["rejected"] == ["2502.00001", "2502.00002", "2503.00003"]
    out = capsys.readouterr().out
    assert "rejected 2503.00003: no watch proposes or adds it again" in out
    assert "2502.00001 was already rejected" in out
    assert project.arxiv.requests == []


def test_reject_refuses_a_listed_paper(listed: Project, capsys: pytest.CaptureFixture[str]) -> None:
    before = listed.config.read_bytes()
    assert listed.run("reject", "2405.04434") == 2
    assert capsys.readouterr().err == (
        "error: reject 2405.04434: it is listed in config.toml; "
        "remove its [[papers]] table to drop it from the list\n"
    )
    assert listed.config.read_bytes() == before


def test_add_refuses_a_rejected_paper(listed: Project, capsys: pytest.CaptureFixture[str]) -> None:
    assert listed.run("reject", "2501.12948") == 0
    assert listed.run("add", "2501.12948") == 2
    assert "add 2501.12948: it is in `rejected` in config.toml" in capsys.readouterr().err


def test_add_to_a_config_with_no_papers_yet(project: Project) -> None:
    serve_deepseek(project)
    text = config_text(project.arxiv.api_url, project.llm.base_url, papers=[])
    project.write_config(text)
    assert project.run("add", "2501.12948") == 0
    after = project.config.read_text(encoding="utf-8")
    assert after.startswith(text)
    assert tomllib.loads(after)["papers"] == [
        {"id": "2501.12948", "project": "DeepSeek-R1", "slug": "DeepSeek-R1"}
    ]


def test_add_and_reject_wait_for_no_build_they_refuse_while_one_runs(
    listed: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    before = listed.config.read_bytes()
    with build_lock(listed.root / ".cache" / "build.lock"):
        assert listed.run("add", "2501.12948", "--project", "R1") == 3
        assert listed.run("reject", "2501.12948") == 3
    assert "another build is running" in capsys.readouterr().err
    assert listed.config.read_bytes() == before


def test_reject_creates_the_list_before_the_first_table(project: Project) -> None:
    text = config_text(project.arxiv.api_url, project.llm.base_url)
    text = "# no top-level keys here\n\n" + text.split("\n", 2)[2]  # drop title and intro
    project.write_config(text)
    assert project.run("reject", "2502.00001") == 0
    after = project.config.read_text(encoding="utf-8")
    assert inserted(text, after).strip() == 'rejected = ["2502.00001"]'
    assert after.index("rejected") < after.index("[output]")
    assert tomllib.loads(after)["rejected"] == ["2502.00001"]


def test_watch_without_watches_says_so(project: Project, capsys: pytest.CaptureFixture[str]):
    assert project.run("watch") == 0
    assert capsys.readouterr().err == "watch: no [[watch]] tables in config.toml: nothing to do\n"
    assert project.arxiv.requests == []

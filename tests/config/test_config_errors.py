"""Bad config, usage or environment: exit 2, one exact line naming the culprit, no request made."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from pipeline.cli import main
from tests.support.cli import fails_with
from tests.support.project import Project


def edit(project: Project, change: Callable[[str], str]) -> None:
    text = project.config.read_text(encoding="utf-8")
    changed = change(text)
    assert changed != text, "the edit did not apply"
    project.write_config(changed)


@pytest.mark.parametrize("bad", ["abc", "2401.1", "2413.00001", "2401.02954v0", "arXiv:2401.02954"])
def test_malformed_id(project: Project, capsys: pytest.CaptureFixture[str], bad: str) -> None:
    edit(project, lambda t: t.replace('id = "2401.02954"', f'id = "{bad}"'))
    fails_with(
        project,
        capsys,
        f"error: {project.config}: [[papers]] entry 2: {bad!r} is not an arXiv ID "
        "(expected like 2405.04434 or 2405.04434v5)",
    )


def test_duplicated_id(project: Project, capsys: pytest.CaptureFixture[str]) -> None:
    edit(project, lambda t: t.replace('id = "2401.06066"', 'id = "2405.04434v5"'))
    fails_with(
        project,
        capsys,
        f"error: {project.config}: paper 2405.04434 is listed twice (entries 1 and 3)",
    )


def test_malformed_toml_names_the_file_and_line(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    edit(project, lambda t: t.replace('details_dir = "deepseek-paper"', "details_dir = deepseek"))
    fails_with(
        project,
        capsys,
        f"error: {project.config}: malformed TOML: Invalid value (at line 5, column 15)",
    )


@pytest.mark.parametrize(
    ("change", "where", "key", "known"),
    [
        (
            lambda t: 'colour = "x"\n' + t,
            "",
            "colour",
            "known: arxiv, cache, intro, llm, output, papers, rejected, site, title, watch",
        ),
        (lambda t: 'titel = "x"\n' + t, "", "titel", "did you mean 'title'?"),
        (
            lambda t: t.replace("[llm]\n", '[llm]\nmodle = "x"\n'),
            " [llm]:",
            "modle",
            "did you mean 'model'?",
        ),
        (
            lambda t: t.replace('project = "DeepSeek LLM"', 'projekt = "DeepSeek LLM"'),
            " [[papers]] entry 2:",
            "projekt",
            "did you mean 'project'?",
        ),
    ],
    ids=["top-level", "typo", "llm", "paper"],
)
def test_unknown_key(
    project: Project,
    capsys: pytest.CaptureFixture[str],
    change: Callable[[str], str],
    where: str,
    key: str,
    known: str,
) -> None:
    edit(project, change)
    fails_with(project, capsys, f"error: {project.config}:{where} unknown key {key!r} ({known})")


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "delay_seconds = 0",
            "delay_seconds = -1",
            "arxiv.delay_seconds must be at least 0, got -1",
        ),
        ("retries = 3", "retries = 1.5", "arxiv.retries must be a whole number, got 1.5"),
        ("concurrency = 4", 'concurrency = "4"', "llm.concurrency must be a number, got '4'"),
    ],
)
def test_bad_value(
    project: Project, capsys: pytest.CaptureFixture[str], old: str, new: str, message: str
) -> None:
    edit(project, lambda t: t.replace(old, new))
    fails_with(project, capsys, f"error: {project.config}: {message}")


def test_missing_api_key_names_the_variable(
    project: Project, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TEST_LLM_KEY")
    fails_with(
        project,
        capsys,
        "error: environment variable TEST_LLM_KEY is not set: the LLM key is read from it "
        "(export TEST_LLM_KEY=... or change llm.api_key_env in config.toml)",
    )


def test_config_path_that_does_not_exist(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["build", "--config", "nowhere/config.toml"]) == 2
    assert capsys.readouterr().err == (
        "error: nowhere/config.toml: config file not found (use --config PATH)\n"
    )
    assert project.arxiv.requests == [] and project.llm.bodies == []


def test_default_config_is_looked_for_in_the_current_folder(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    project.config.rename(project.root / "other.toml")
    assert main(["build"]) == 2
    assert capsys.readouterr().err == (
        "error: config.toml: config file not found (use --config PATH)\n"
    )


def test_only_an_id_not_in_the_config(project: Project, capsys: pytest.CaptureFixture[str]) -> None:
    fails_with(
        project,
        capsys,
        "error: --only 2312.00001: not listed in config.toml",
        "--only",
        "2312.00001",
    )


def test_only_something_not_an_id(project: Project, capsys: pytest.CaptureFixture[str]) -> None:
    fails_with(
        project,
        capsys,
        "error: --only 'DeepSeek-V2' is not an arXiv ID (expected like 2405.04434)",
        "--only",
        "DeepSeek-V2",
    )


def test_jobs_zero(project: Project, capsys: pytest.CaptureFixture[str]) -> None:
    fails_with(project, capsys, "error: --jobs must be at least 1, got 0", "--jobs", "0")


def test_verbose_prints_the_traceback(project: Project, capsys: pytest.CaptureFixture[str]) -> None:
    edit(project, lambda t: t.replace('id = "2401.02954"', 'id = "abc"'))
    assert project.run("build", "-v") == 2
    err = capsys.readouterr().err
    first = err.splitlines()[0]
    assert first == (
        f"error: {project.config}: [[papers]] entry 2: 'abc' is not an arXiv ID "
        "(expected like 2405.04434 or 2405.04434v5)"
    )
    assert "Traceback (most recent call last):" in err
    assert "pipeline.errors.ConfigError: " in err
    assert project.arxiv.requests == [] and project.llm.bodies == []


def test_status_and_check_report_config_errors_the_same_way(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    edit(project, lambda t: t.replace("[llm]\n", '[llm]\nmodle = "x"\n'))
    for command in ("status", "check"):
        assert project.run(command) == 2
        err = capsys.readouterr().err
        hint = "(did you mean 'model'?)"
        assert err == f"error: {project.config}: [llm]: unknown key 'modle' {hint}\n"

"""`--help` says what the tool and each command do for the user, with an example."""

from __future__ import annotations

import pytest

from tests.support.cli import help_text


def test_top_level_help_says_what_the_tool_does_with_examples(
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = help_text(capsys)
    assert "Keep a Chinese reading list of arXiv papers up to date." in out
    assert "python -m pipeline build --only 2405.04434 --force" in out
    assert "exit codes: 0 all done; 1 some papers failed" in out
    assert "parse flags" not in out  # not the CLI module's own docstring


@pytest.mark.parametrize("command", ["build", "status", "check", "import"])
def test_each_command_has_a_description_and_an_example(
    capsys: pytest.CaptureFixture[str], command: str
) -> None:
    out = help_text(capsys, command)
    assert f"example: python -m pipeline {command}" in out


def test_build_help_lists_the_job_summary(capsys: pytest.CaptureFixture[str]) -> None:
    out = " ".join(help_text(capsys, "build").split())
    assert "--summary FILE" in out
    assert "$GITHUB_STEP_SUMMARY" in out

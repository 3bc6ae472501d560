"""The real CLI in a test: a build refused with exactly one line, a command's --help."""

from __future__ import annotations

import pytest

from pipeline.cli import main
from tests.support.project import Project


def fails_with(project: Project, capsys: pytest.CaptureFixture[str], line: str, *args: str):
    """The build exits 2 with exactly `line` on stderr, and neither server saw a request."""
    assert project.run("build", *args) == 2
    captured = capsys.readouterr()
    assert captured.err == line + "\n"
    assert captured.out == ""
    assert project.arxiv.requests == [] and project.llm.bodies == []
    assert not project.output.exists()


def help_text(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    with pytest.raises(SystemExit) as exited:
        main([*args, "--help"])
    assert exited.value.code == 0
    return capsys.readouterr().out

"""config.toml as people have it: a UTF-8 BOM (Windows editors), CRLF line endings (Windows,
git's autocrlf). Every command reads it; `add` and `reject` write it back in its own style."""

from __future__ import annotations

import codecs

import pytest

from tests.support.project import Project
from tests.support.watchkit import commented_config, serve_deepseek

BOM = codecs.BOM_UTF8


@pytest.fixture
def listed(project: Project) -> Project:
    serve_deepseek(project)
    project.write_config(commented_config(project, ""))
    return project


def test_a_config_with_a_bom_is_read(project: Project, capsys: pytest.CaptureFixture[str]) -> None:
    project.config.write_bytes(BOM + project.config.read_bytes())
    assert project.run("status") == 0
    assert len(capsys.readouterr().out.splitlines()) == 3
    assert project.run("build") == 0


def crlf(data: bytes) -> bytes:
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


@pytest.mark.parametrize("bom", [b"", BOM], ids=["crlf", "bom+crlf"])
def test_add_and_reject_keep_crlf_line_endings_and_the_bom(listed: Project, bom: bytes) -> None:
    before = bom + crlf(listed.config.read_bytes())
    listed.config.write_bytes(before)
    assert listed.run("add", "2502.05555", "--project", "Reproducing R1") == 0
    assert listed.run("reject", "2502.00001") == 0
    after = listed.config.read_bytes()
    assert after.startswith(bom + before[len(bom) : len(bom) + 20])
    assert after.count(b"\n") == after.count(b"\r\n")  # no line turned into LF
    old_lines = before[len(bom) :].split(b"\r\n")
    new_lines = after[len(bom) :].split(b"\r\n")
    rest = iter(new_lines)
    assert all(line in rest for line in old_lines)  # every old line kept, in order
    assert b'id = "2502.05555"\r\nproject = "Reproducing R1"\r\n' in after
    assert b'rejected = ["2502.00001"]\r\n' in after
    assert listed.run("status") == 0

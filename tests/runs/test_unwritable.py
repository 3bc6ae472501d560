"""An output the build cannot write to is found before the first model request (exit 2, one
line naming the folder); temporary files live next to their target, so a bind-mounted output/
works (a rename across mounts is impossible)."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.support.faultkit import seed_text_cache
from tests.support.project import Project

ROOT_USER = os.geteuid() == 0


@contextmanager
def read_only(folder: Path) -> Iterator[None]:
    """The folder refuses new files, even to root (chattr +i), else by its mode bits."""
    folder.mkdir(parents=True, exist_ok=True)
    if ROOT_USER:
        if not shutil.which("chattr") or _run("chattr", "+i", str(folder)):
            pytest.skip("running as root without chattr +i: cannot make a folder read-only")
    else:
        folder.chmod(0o555)
    try:
        yield
    finally:
        if ROOT_USER:
            _run("chattr", "-i", str(folder))
        else:
            folder.chmod(0o755)


@contextmanager
def mounted(*args: str, target: Path) -> Iterator[None]:
    """`mount ARGS TARGET` for the test (skips where mounting is not allowed)."""
    target.mkdir(parents=True, exist_ok=True)
    if not ROOT_USER or not shutil.which("mount") or _run("mount", *args, str(target)):
        pytest.skip("mounting needs root with CAP_SYS_ADMIN (a container may forbid it)")
    try:
        yield
    finally:
        _run("umount", str(target))


def _run(*command: str) -> int:
    return subprocess.run(command, capture_output=True, check=False).returncode


def untouched(project: Project, capsys: pytest.CaptureFixture[str], folder: Path, cause: str):
    assert project.run("build") == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith(f"error: {folder}: {cause} (")
    assert project.llm.preflights == [] and project.llm.bodies == []  # nothing paid for
    assert project.arxiv.requests == []


@pytest.mark.parametrize("where", ["output", "output/data"])
def test_a_read_only_output_is_found_before_any_request(
    project: Project, capsys: pytest.CaptureFixture[str], where: str
) -> None:
    folder = project.root / where
    with read_only(folder):
        untouched(project, capsys, folder, "not writable")


def test_a_full_disk_is_found_before_any_request(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    with mounted("-t", "tmpfs", "-o", "size=16k", "tmpfs", target=project.output):
        fd = os.open(project.output / "filler", os.O_WRONLY | os.O_CREAT)
        try:
            with pytest.raises(OSError):
                while True:
                    os.write(fd, b"\0" * 4096)
        finally:
            os.close(fd)
        untouched(project, capsys, project.output, "cannot write there")


def test_a_bind_mounted_output_is_written(project: Project, tmp_path_factory) -> None:
    """Docker's `-v ./output:/work/output`, a CI cache: output/ is a mount of its own, where a
    temporary file made elsewhere cannot be renamed to (EXDEV, even on the same device)."""
    elsewhere = tmp_path_factory.mktemp("volume")
    seed_text_cache(project)
    with mounted("--bind", str(elsewhere), target=project.output):
        assert project.run("build") == 0
        assert len(list((project.output / "data").glob("*.json"))) == 3
    assert (elsewhere / "README.md").is_file()
    assert not list(project.root.rglob(".tmp-*.part"))

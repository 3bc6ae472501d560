"""Output files are readable by others (a web server, a Pages artifact): an atomic write gives
a new file the mode open() would (0666 less the umask), not its temporary file's 0600."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

from tests.support.project import Project

ROOT = Path(__file__).resolve().parents[2]


def build(project: Project, umask: int) -> subprocess.CompletedProcess[str]:
    """`python -m pipeline build` as a user with `umask` runs it."""
    return subprocess.run(
        [sys.executable, "-m", "pipeline", "build", "--config", str(project.config)],
        cwd=project.root,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        umask=umask,
        capture_output=True,
        text=True,
        timeout=120,  # a safety net for a hung build, not a timing
    )


def modes(folder: Path) -> dict[str, int]:
    return {
        str(p.relative_to(folder)): stat.S_IMODE(p.stat().st_mode)
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_output_files_get_the_mode_open_would_give_them(project: Project) -> None:
    done = build(project, 0o027)
    assert done.returncode == 0, done.stderr
    found = modes(project.output)
    assert "README.md" in found and any(name.startswith("site/") for name in found)
    assert any(name.startswith("deepseek-paper/") for name in found)
    assert set(found.values()) == {0o640}, found  # 0666 & ~027: group can read, others not


def test_a_replaced_file_keeps_its_mode(project: Project) -> None:
    assert build(project, 0o022).returncode == 0
    readme = project.output / "README.md"
    assert stat.S_IMODE(readme.stat().st_mode) == 0o644
    readme.chmod(0o664)
    readme.write_text("edited by hand\n", encoding="utf-8")  # so the build rewrites it
    done = build(project, 0o022)
    assert done.returncode == 0, done.stderr
    assert readme.read_text(encoding="utf-8") != "edited by hand\n"
    assert stat.S_IMODE(readme.stat().st_mode) == 0o664  # as open("w") keeps a file's mode

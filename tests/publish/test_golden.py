"""Golden output: a small build compared byte for byte with committed expected files: the README
(with a failed row: a paper arXiv does not know), the detail files, the site's index and one
paper page, and the Atom feed.

After an intended change to the output, regenerate them with:

    UPDATE_GOLDEN=1 python -m pytest tests/publish/test_golden.py
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

from tests.support.project import PAPERS, Project, config_text

GOLDEN = Path(__file__).resolve().parent / "golden"
PORT_RE = re.compile(r"127\\?\.0\.0\.1:\d+")
UNKNOWN = ("2402.03300", 1, "", "", "Not On arXiv", "NotOnArxiv")  # fails: a failed row
SITE_FILES = ("site/index.html", "site/papers/2401.02954.html", "feed.xml")


def rendered_files(output: Path) -> dict[str, str]:
    """README, detail files, the site's index, a paper page and the feed, with the fake
    servers' ports replaced (they change per run)."""
    files = {}
    paths = [*sorted(output.rglob("*.md")), *(output / rel for rel in SITE_FILES)]
    for path in paths:
        text = path.read_text(encoding="utf-8")
        files[str(path.relative_to(output))] = PORT_RE.sub("127.0.0.1:PORT", text)
    return files


def test_build_matches_golden_files(project: Project) -> None:
    papers = [*PAPERS, UNKNOWN]
    project.write_config(config_text(project.arxiv.api_url, project.llm.base_url, papers))
    assert project.run("build") == 1  # the unknown paper failed; the others are written
    actual = rendered_files(project.output)
    if os.environ.get("UPDATE_GOLDEN"):
        shutil.rmtree(GOLDEN, ignore_errors=True)
        for rel, text in actual.items():
            (GOLDEN / rel).parent.mkdir(parents=True, exist_ok=True)
            (GOLDEN / rel).write_text(text, encoding="utf-8")
    expected = {
        str(p.relative_to(GOLDEN)): p.read_text(encoding="utf-8")
        for p in sorted(GOLDEN.rglob("*"))
        if p.is_file()
    }
    assert sorted(actual) == sorted(expected), (
        "set of output files differs from tests/publish/golden"
    )
    for rel, text in expected.items():
        assert actual[rel] == text, f"{rel} differs from tests/publish/golden/{rel}"


def test_rendering_twice_is_byte_identical(project: Project) -> None:
    assert project.run("build") == 0
    first = project.snapshot()
    shutil.rmtree(project.output / "deepseek-paper")
    (project.output / "README.md").unlink()
    assert project.run("build", "--offline") == 0
    assert project.snapshot() == first

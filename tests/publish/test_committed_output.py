"""The committed output/: a fresh clone shows the twelve papers, and an offline build keeps it."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from pipeline.cli import main
from pipeline.state import STATE_SCHEMA
from tests.support.sitehtml import article_ids, entries, read_feed, read_page

ROOT = Path(__file__).resolve().parents[2]


def files_of(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def test_committed_readme_lists_the_twelve_papers() -> None:
    readme = (ROOT / "output" / "README.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| (\d+) \| \d{8} \|", readme, flags=re.M)
    assert rows == [str(n) for n in range(1, 13)]
    assert len(re.findall(r"^## \d+ \*\*", readme, flags=re.M)) == 12


def test_offline_build_re_renders_the_committed_output_byte_for_byte(tmp_path: Path) -> None:
    shutil.copy(ROOT / "config.toml", tmp_path / "config.toml")
    shutil.copytree(ROOT / "output", tmp_path / "output")
    before = files_of(tmp_path / "output")
    assert main(["build", "--offline", "-q", "--config", str(tmp_path / "config.toml")]) == 0
    assert files_of(tmp_path / "output") == before


def test_committed_site_and_feed_list_the_twelve_papers() -> None:
    index = read_page(ROOT / "output" / "site" / "index.html")
    assert len(article_ids(index)) == 12
    pages = sorted((ROOT / "output" / "site" / "papers").glob("*.html"))
    assert sorted(p.stem for p in pages) == sorted(article_ids(index))
    assert len(entries(read_feed(ROOT / "output" / "feed.xml"))) == 12


def test_committed_state_files_are_at_the_current_schema() -> None:
    for path in sorted((ROOT / "output" / "data").glob("*.json")):
        assert json.loads(path.read_text(encoding="utf-8"))["schema"] == STATE_SCHEMA, path.name


def test_a_fresh_clone_built_with_arxiv_unreachable_changes_no_byte(
    tmp_path: Path,
    refused_port: int,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """What a nightly job sees on an arXiv outage: exit 1, one line, and nothing to commit."""
    config = (ROOT / "config.toml").read_text(encoding="utf-8")
    api_url = f"http://127.0.0.1:{refused_port}/api/query"
    config = config.replace("https://export.arxiv.org/api/query", api_url)
    (tmp_path / "config.toml").write_text(config, encoding="utf-8")
    shutil.copytree(ROOT / "output", tmp_path / "output")
    before = files_of(tmp_path / "output")
    monkeypatch.setenv("DEEPSEEK_API_KEY", "sk-not-used")
    assert main(["build", "-q", "--config", str(tmp_path / "config.toml")]) == 1
    err = capsys.readouterr().err
    assert err.count("arXiv unreachable: 127.0.0.1") == 1
    assert files_of(tmp_path / "output") == before

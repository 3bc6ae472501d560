"""`python -m pipeline import`: adopt the reference list, re-render it, then keep it up to date.

Through the real CLI; the fake arXiv holds the twelve reference papers at the versions the
reference links name. Also: the repository's own config.toml lists the same twelve papers.
"""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline.cli import main
from pipeline.config import load_config
from tests.support.fakes import FakeArxiv, FakeLLM, FakePaper
from tests.support.pdfgen import paper_pdf
from tests.support.project import API_KEY, ROOT, SHARED

SEED = SHARED / "reference" / "seed-readme.md"
needs_seed = pytest.mark.skipif(
    not SEED.is_file(), reason=f"reference README not found at {SEED} (shared/ is beside the repo)"
)
BR = "<br />"
MOE_ID = "2401.06066"
# Row 10's details cell is `❓[✅](./…/07-….md)[details](./…/10-….md)`: a cross-link to row 7.
# config.toml has one plain `mark` per paper, so import keeps the link's text and drops its
# target (a file name that renumbering would break): the row renders `❓✅[details](./…/10-….md)`.
MARKS = {1: "✅", 2: "✅", 7: "❓✅", 10: "❓✅", 11: "❓"}
NOTES = {
    7: ["🤔 **Token-Dropping Strategy？**", "🤔 GRPO?"],
    10: ["🤔MTP (multi token prediction)", "🤔Complementary Sequence-Wise Auxiliary Loss"],
}


# ---------------------------------------------------------------- reading a README


def cells(line: str) -> list[str]:
    return [c.strip() for c in re.split(r"(?<!\\)\|", line.strip()[1:-1])]


def table(text: str) -> dict[int, list[str]]:
    """Table rows by number, each as its seven cells."""
    return {int(c[0]): c for c in (cells(x) for x in text.splitlines() if re.match(r"^\| \d+ ", x))}


def sections(text: str) -> dict[int, tuple[str, list[str]]]:
    """`## N **X**` sections by number: the heading line and the bullet lines under it."""
    out: dict[int, tuple[str, list[str]]] = {}
    current = None
    for line in text.splitlines():
        if m := re.match(r"^## (\d+) \*\*", line):
            current = int(m.group(1))
            out[current] = (line, [])
        elif current is not None and line.startswith("* **"):
            out[current][1].append(line)
    return out


def squash(text: str) -> str:
    """Wrapping undone: `<br />` and all whitespace removed (the two lists wrap differently)."""
    return re.sub(r"\s+", "", text.replace(BR, ""))


def one_line(text: str) -> str:
    return " ".join(text.replace(BR, " ").split())


def split_notes(cell: str) -> str:
    """The abstract part of a reference abstract cell (its notes start at a 🤔 after a break)."""
    return re.split(r"(?:<br />\s*)+(?=🤔)", cell, maxsplit=1)[0]


def reference() -> str:
    return SEED.read_text(encoding="utf-8")


# ---------------------------------------------------------------- fixtures


@pytest.fixture
def seed_arxiv() -> Iterator[FakeArxiv]:
    """The twelve reference papers, at the versions and dates the reference shows."""
    papers = []
    for row in table(reference()).values() if SEED.is_file() else []:
        link = re.search(r"\((\./[^)]+)\)$", row[6]).group(1)
        paper_id, version = re.search(r"\.(\d{4}\.\d{5})v(\d+)\.md$", link).groups()
        title, date = one_line(row[3]), f"{row[1][:4]}-{row[1][4:6]}-{row[1][6:]}"
        pdf = paper_pdf(title, title.split(":")[0])
        papers.append(FakePaper(paper_id, int(version), title, date, pdf))
    with FakeArxiv(papers) as server:
        yield server


class Imported:
    def __init__(self, root: Path, arxiv: FakeArxiv, llm: FakeLLM) -> None:
        self.root, self.arxiv, self.llm = root, arxiv, llm
        self.config = root / "config.toml"
        self.output = root / "output"

    def run(self, *args: str) -> int:
        return main([*args, "--config", str(self.config)])

    def readme(self) -> str:
        return (self.output / "README.md").read_text(encoding="utf-8")

    def state(self, paper_id: str) -> dict:
        return json.loads((self.output / "data" / f"{paper_id}.json").read_text("utf-8"))

    def point_at_fakes(self) -> None:
        """The imported config names the real services; aim it at the fake ones."""
        text = self.config.read_text(encoding="utf-8")
        for old, new in [
            ('api_url = "https://export.arxiv.org/api/query"', f'api_url = "{self.arxiv.api_url}"'),
            ("delay_seconds = 3.0", "delay_seconds = 0"),
            ('base_url = "https://api.deepseek.com"', f'base_url = "{self.llm.base_url}"'),
            ('api_key_env = "DEEPSEEK_API_KEY"', 'api_key_env = "TEST_LLM_KEY"'),
        ]:
            assert text.count(old) == 1, old
            text = text.replace(old, new)
        self.config.write_text(text, encoding="utf-8")


@pytest.fixture
def imported(
    tmp_path: Path,
    seed_arxiv: FakeArxiv,
    llm_server: FakeLLM,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> Imported:
    """The reference list imported into an empty folder, its config aimed at the fakes."""
    if not SEED.is_file():
        pytest.skip(f"reference README not found at {SEED} (shared/ is beside the repository)")
    monkeypatch.setenv("TEST_LLM_KEY", API_KEY)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")
    monkeypatch.chdir(tmp_path)
    project = Imported(tmp_path / "list", seed_arxiv, llm_server)
    assert main(["import", str(SEED), "--config", str(project.config)]) == 0
    project.point_at_fakes()
    capsys.readouterr()
    return project


# ---------------------------------------------------------------- import


@needs_seed
def test_import_writes_config_and_state_with_no_network_and_no_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"import opened a connection: {args}")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.delenv("DEEPSEEK_API_KEY", raising=False)
    config = tmp_path / "list" / "config.toml"

    assert main(["import", str(SEED), "--config", str(config)]) == 0

    err = capsys.readouterr().err
    assert err.startswith(f"imported 12 papers into {config} and {tmp_path / 'list/output/data'}")
    loaded = load_config(config)
    assert len(loaded.papers) == 12
    assert loaded.title == "DeepSeek Paper Reading" and loaded.intro == "部分摘要基于LLM自动生成"
    assert loaded.details_dir == "deepseek-paper"
    data = sorted(p.name for p in (tmp_path / "list/output/data").iterdir())
    assert data == sorted(f"{p.id}.json" for p in loaded.papers)
    state = json.loads((tmp_path / "list/output/data/2405.04434.json").read_text("utf-8"))
    assert state["source"] == "human" and state["meta"]["version"] == 5
    assert state["summary"]["bullets"][0]["heading"] == "架构特点"
    assert not (tmp_path / "list/output/README.md").exists()  # build renders it


@needs_seed
def test_import_refuses_to_overwrite_a_config(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.toml"
    config.write_text('title = "mine"\n', encoding="utf-8")

    assert main(["import", str(SEED), "--config", str(config)]) == 2

    err = capsys.readouterr().err
    assert err == (
        f"error: {config} already exists: import writes a new config; "
        "pass --config with a new path, or move the old one away\n"
    )
    assert config.read_text(encoding="utf-8") == 'title = "mine"\n'
    assert not (tmp_path / "output").exists()


def test_import_of_a_malformed_readme_names_the_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(
        "# List\n\nintro\n\n"
        "|    | date | project | title | link | abstract | details |\n"
        "| -- | ---- | ------- | ----- | ---- | -------- | ------- |\n"
        "| 1 | 20240105 | A | A title | [link](http://arxiv.org/abs/2401.02954) | 摘要 "
        "| [details](./p/01-A.2401.02954v1.md) |\n"
        "| 2 | 2024-01-11 | B | B title | [link](http://arxiv.org/abs/2401.06066) | 摘要 "
        "| [details](./p/02-B.2401.06066v1.md) |\n",
        encoding="utf-8",
    )
    config = tmp_path / "config.toml"

    assert main(["import", str(readme), "--config", str(config)]) == 2

    assert capsys.readouterr().err == (
        f"error: {readme}: line 8: date '2024-01-11' is not YYYYMMDD\n"
    )
    assert not config.exists() and not (tmp_path / "output").exists()


# ---------------------------------------------------------------- the imported list, rendered


def test_offline_build_renders_the_reference_row_for_row(imported: Imported) -> None:
    assert imported.run("build", "--offline") == 0

    assert imported.arxiv.requests == [] and imported.llm.bodies == []
    ours_text, ref_text = imported.readme(), reference()
    assert ours_text.startswith("# DeepSeek Paper Reading\n\n部分摘要基于LLM自动生成\n\n")
    ours, ref = table(ours_text), table(ref_text)
    assert sorted(ours) == sorted(ref) == list(range(1, 13))
    for n, row in ref.items():
        mine = ours[n]
        assert mine[:3] == row[:3], n  # number, date, project
        assert one_line(mine[3]) == one_line(row[3]), n  # title
        assert mine[4] == row[4], n  # link
        notes = "".join(BR + note for note in NOTES.get(n, []))
        assert mine[5].endswith(notes), n
        assert squash(mine[5][: len(mine[5]) - len(notes)]) == squash(split_notes(row[5])), n
        details_link = re.search(r"details\]\((\./[^)]+)\)$", row[6]).group(1)
        assert mine[6] == f"{MARKS.get(n, '')}[details]({details_link})", n
    ours_sections, ref_sections = sections(ours_text), sections(ref_text)
    assert sorted(ours_sections) == list(range(1, 13))
    for n, (_, bullets) in ref_sections.items():
        heading, mine = ours_sections[n]
        # The section is named by the table's project (the contract); the reference's own
        # section names differ in spelling for ten papers ("DeepSeekMoE" vs "DeepSeek MoE").
        assert heading == f"## {n} **{ref[n][2]}**"
        assert len(bullets) == len(mine) == 3
        assert mine == bullets, n
    detail = imported.output / "deepseek-paper" / "07-DeepSeek-V2.2405.04434v5.md"
    assert "来源：人工撰写" in detail.read_text(encoding="utf-8")


def test_nightly_build_keeps_the_human_summaries_and_force_replaces_one(
    imported: Imported, capsys: pytest.CaptureFixture[str]
) -> None:
    assert imported.run("build", "--offline") == 0
    rendered = imported.readme()
    capsys.readouterr()

    assert imported.run("build") == 0

    assert imported.llm.bodies == []  # no tokens: the human summaries are kept
    assert imported.arxiv.pdf_calls == [] and len(imported.arxiv.api_calls) == 1
    assert "build: 0 done, 12 skipped, 0 failed" in capsys.readouterr().err
    assert imported.readme() == rendered
    assert imported.state(MOE_ID)["meta"]["authors"] == ["Ada Lovelace", "Alan Turing"]

    assert imported.run("build", "--only", MOE_ID, "--force") == 0

    assert imported.llm.titles() == [
        "DeepSeekMoE: Towards Ultimate Expert Specialization in Mixture-of-Experts Language Models"
    ]
    assert imported.arxiv.pdf_calls == [f"/pdf/{MOE_ID}v1"]
    state = imported.state(MOE_ID)
    assert state["source"] == "llm" and state["model"] == "deepseek-v4-flash"
    after = imported.readme()
    before_rows, after_rows = table(rendered), table(after)
    assert {n for n in after_rows if after_rows[n] != before_rows[n]} == {2}
    assert after_rows[2][6] == "✅[details](./deepseek-paper/02-DeepSeekMoE.2401.06066v1.md)"
    before_sections, after_sections = sections(rendered), sections(after)
    assert {n for n in after_sections if after_sections[n] != before_sections[n]} == {2}
    assert "视觉编码器" in "".join(before_sections[2][1])  # the reference's wrong-paper bullet
    assert [b.split("** ")[0] for b in after_sections[2][1]] == [
        "* **问题定义",
        "* **方法设计",
        "* **实验结果",
    ]
    detail = imported.output / "deepseek-paper" / "02-DeepSeekMoE.2401.06066v1.md"
    assert "模型：deepseek-v4-flash" in detail.read_text(encoding="utf-8")


def test_a_detail_file_that_existed_at_import_is_the_persons(
    tmp_path: Path,
    seed_arxiv: FakeArxiv,
    llm_server: FakeLLM,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    if not SEED.is_file():
        pytest.skip(f"reference README not found at {SEED}")
    monkeypatch.setenv("TEST_LLM_KEY", API_KEY)
    project = Imported(tmp_path / "list", seed_arxiv, llm_server)
    own = project.output / "deepseek-paper" / "02-DeepSeekMoE.2401.06066v1.md"
    own.parent.mkdir(parents=True)
    own.write_text("# DeepSeekMoE\n\n我自己写的笔记。\n", encoding="utf-8")
    assert main(["import", str(SEED), "--config", str(project.config)]) == 0
    project.point_at_fakes()
    capsys.readouterr()

    assert project.run("build", "--only", MOE_ID, "--force") == 0

    assert len(llm_server.bodies) == 1 and project.state(MOE_ID)["source"] == "llm"
    assert own.read_text(encoding="utf-8") == "# DeepSeekMoE\n\n我自己写的笔记。\n"
    assert table(project.readme())[2][6] == (
        "✅[details](./deepseek-paper/02-DeepSeekMoE.2401.06066v1.md)"
    )
    assert f"kept hand-edited deepseek-paper/{own.name}" in capsys.readouterr().err


# ---------------------------------------------------------------- the repository's config.toml


def test_the_repository_config_lists_the_twelve_reference_papers() -> None:
    config = load_config(ROOT / "config.toml")
    assert len(config.papers) == 12
    assert config.title == "DeepSeek Paper Reading"
    assert config.details_dir == "deepseek-paper" and config.output_dir == ROOT / "output"
    assert config.llm.base_url == "https://api.deepseek.com"
    assert config.llm.api_key_env == "DEEPSEEK_API_KEY"
    assert all(p.version is None for p in config.papers)  # follow new versions
    by_row = dict(enumerate(config.papers, start=1))
    assert (by_row[1].id, by_row[1].project, by_row[1].slug) == (
        "2401.02954",
        "DeepSeek LLM",
        "DeepSeekLLM",
    )
    assert [(by_row[n].mark, list(by_row[n].notes)) for n in (1, 2, 7, 10, 11)] == [
        ("✅", []),
        ("✅", []),
        ("❓✅", NOTES[7]),
        ("❓✅", NOTES[10]),
        ("❓", []),
    ]

"""Nightly refresh and human curation, through the real CLI against the fake servers.

New arXiv versions, pinned versions, marks and notes from config.toml, papers removed from the
config, and detail files edited by a person (kept, reported, taken back on request).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.support.fakes import good_answer
from tests.support.faultkit import cache_text, seed_text_cache
from tests.support.project import PAPERS, Project, config_text, fake_paper

LLM_ID, MOE_ID, V2_ID = "2401.02954", "2401.06066", "2405.04434"
TITLES = {paper_id: title for paper_id, _, title, _, _, _ in PAPERS}
# The files of the first build: rows sorted by date (LLM 2024-01-05, MoE 01-11, V2 06-19).
LLM_V1 = "deepseek-paper/01-DeepSeekLLM.2401.02954v1.md"
MOE_V1 = "deepseek-paper/02-DeepSeekMoE.2401.06066v1.md"
V2_V5 = "deepseek-paper/03-DeepSeek-V2.2405.04434v5.md"


@pytest.fixture(autouse=True)
def warm_text_cache(project: Project) -> None:
    seed_text_cache(project)


def readme(project: Project) -> str:
    return (project.output / "README.md").read_text(encoding="utf-8")


def rows(project: Project) -> list[list[str]]:
    """The README table rows, each split into its seven cells (escaped pipes stay in a cell)."""
    out = []
    for line in readme(project).splitlines():
        if re.match(r"^\| \d+ \|", line):
            out.append([c.strip() for c in re.split(r"(?<!\\)\|", line.strip()[1:-1])])
    return out


def row_of(project: Project, paper_id: str) -> list[str]:
    return next(r for r in rows(project) if f"(http://arxiv.org/abs/{paper_id})" in r[4])


def detail_files(project: Project) -> dict[str, str]:
    """sha256 of each detail file, by its path under output/."""
    return {k: v for k, v in project.snapshot().items() if k.startswith("deepseek-paper/")}


def state(project: Project, paper_id: str) -> dict:
    return json.loads((project.output / "data" / f"{paper_id}.json").read_text(encoding="utf-8"))


def papers_config(project: Project, blocks: list[str]) -> str:
    """A config for the project's fake servers with these [[papers]] tables (TOML text)."""
    head = config_text(project.arxiv.api_url, project.llm.base_url, papers=[])
    return head + "".join(f"[[papers]]\n{b.strip()}\n" for b in blocks)


def paper_block(paper_id: str, extra: str = "") -> str:
    _, _, _, _, proj, slug = next(p for p in PAPERS if p[0] == paper_id.split("v")[0])
    return f'id = "{paper_id}"\nproject = "{proj}"\nslug = "{slug}"\n{extra}'


def new_version(project: Project, paper_id: str, version: int, updated: str) -> None:
    """arXiv publishes a new version: a newer date and a different PDF."""
    title = TITLES[paper_id]
    paper = fake_paper(paper_id, version, title, updated)
    paper.pdf = fake_paper(paper_id, version, title + f" (revised v{version})", updated).pdf
    cache_text(project, paper.pdf)
    project.arxiv.add(paper)


def llm_requests(project: Project) -> int:
    return len(project.llm.bodies)


# ---------------------------------------------------------------- new versions


def test_new_version_redoes_that_paper_alone_and_moves_its_row_and_file(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    assert project.run("build") == 0
    before = detail_files(project)
    assert set(before) == {LLM_V1, MOE_V1, V2_V5}
    llm_calls, pdf_calls = llm_requests(project), len(project.arxiv.pdf_calls)
    new_version(project, LLM_ID, 2, "2024-07-01")  # now the newest: row 1 -> row 3
    capsys.readouterr()

    assert project.run("build") == 0

    assert project.llm.titles()[llm_calls:] == [TITLES[LLM_ID]]
    assert project.arxiv.pdf_calls[pdf_calls:] == [f"/pdf/{LLM_ID}v2"]
    err = capsys.readouterr().err
    assert "build: 1 done, 2 skipped, 0 failed, 0 deferred" in err
    assert "kept hand-edited" not in err
    table = rows(project)
    assert [(r[0], r[1], r[2]) for r in table] == [
        ("1", "20240111", "DeepSeek MoE"),
        ("2", "20240619", "DeepSeek V2"),
        ("3", "20240701", "DeepSeek LLM"),
    ]
    assert table[2][6] == "[details](./deepseek-paper/03-DeepSeekLLM.2401.02954v2.md)"
    assert table[2][4] == f"[link](http://arxiv.org/abs/{LLM_ID})"
    assert "## 3 **DeepSeek LLM**" in readme(project)
    after = detail_files(project)
    # The re-summarised paper has a new file; the other two were only renamed by the new order.
    assert set(after) == {
        "deepseek-paper/01-DeepSeekMoE.2401.06066v1.md",
        "deepseek-paper/02-DeepSeek-V2.2405.04434v5.md",
        "deepseek-paper/03-DeepSeekLLM.2401.02954v2.md",
    }
    assert after["deepseek-paper/01-DeepSeekMoE.2401.06066v1.md"] == before[MOE_V1]
    assert after["deepseek-paper/02-DeepSeek-V2.2405.04434v5.md"] == before[V2_V5]
    body = (project.output / "deepseek-paper/03-DeepSeekLLM.2401.02954v2.md").read_text("utf-8")
    assert "（v2，首版 2024-07-01）" in body and f"[{LLM_ID}v2]" in body
    assert state(project, LLM_ID)["meta"]["version"] == 2
    assert state(project, LLM_ID)["detail_file"] == "deepseek-paper/03-DeepSeekLLM.2401.02954v2.md"


def test_new_version_keeping_the_order_renames_only_its_own_file(project: Project) -> None:
    assert project.run("build") == 0
    before = project.snapshot()
    llm_calls = llm_requests(project)
    new_version(project, V2_ID, 6, "2024-08-01")  # still the newest: stays row 3

    assert project.run("build") == 0

    assert project.llm.titles()[llm_calls:] == [TITLES[V2_ID]]
    after = project.snapshot()
    changed = {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)}
    assert changed == {
        "README.md",
        f"data/{V2_ID}.json",
        V2_V5,  # removed
        "deepseek-paper/03-DeepSeek-V2.2405.04434v6.md",  # written
        # the site: the index, that paper's page (same name: the ID), and the feed
        "site/index.html",
        f"site/papers/{V2_ID}.html",
        "feed.xml",
        "site/feed.xml",
    }
    assert V2_V5 not in after
    row = row_of(project, V2_ID)
    assert row[1] == "20240801"
    assert row[6] == "[details](./deepseek-paper/03-DeepSeek-V2.2405.04434v6.md)"


def test_a_pinned_version_is_not_moved_by_a_newer_one(project: Project) -> None:
    blocks = [paper_block(f"{V2_ID}v5"), paper_block(LLM_ID), paper_block(MOE_ID)]
    project.write_config(papers_config(project, blocks))
    assert project.run("build") == 0
    before = project.snapshot()
    llm_calls, pdf_calls = llm_requests(project), len(project.arxiv.pdf_calls)
    new_version(project, V2_ID, 6, "2024-08-01")

    assert project.run("build") == 0

    assert f"{V2_ID}v5" in project.arxiv.api_calls[-1]  # asked for the pinned version
    assert llm_requests(project) == llm_calls
    assert len(project.arxiv.pdf_calls) == pdf_calls
    assert project.snapshot() == before
    assert row_of(project, V2_ID)[6] == "[details](./deepseek-paper/03-DeepSeek-V2.2405.04434v5.md)"


# ---------------------------------------------------------------- marks and notes


def test_marks_and_notes_reach_the_row_as_the_reference_shows_them(project: Project) -> None:
    v2_notes = 'notes = ["🤔 **Token-Dropping Strategy？**", "🤔 GRPO?"]'
    blocks = [
        paper_block(V2_ID, f'mark = "❓✅"\n{v2_notes}'),
        paper_block(LLM_ID, 'mark = "✅"'),
        paper_block(MOE_ID, 'notes = ["a | b 的对比", "💡 *见* 附录"]'),
    ]
    project.write_config(papers_config(project, blocks))
    assert project.run("build") == 0

    llm, moe, v2 = rows(project)
    assert llm[6] == "✅[details](./deepseek-paper/01-DeepSeekLLM.2401.02954v1.md)"
    assert v2[6] == "❓✅[details](./deepseek-paper/03-DeepSeek-V2.2405.04434v5.md)"
    assert moe[6] == "[details](./deepseek-paper/02-DeepSeekMoE.2401.06066v1.md)"
    abstract = state(project, V2_ID)["summary"]["abstract"]
    assert v2[5].endswith("。<br />🤔 **Token-Dropping Strategy？**<br />🤔 GRPO?")
    assert v2[5].replace("<br />", "").startswith(abstract[:20])
    assert llm[5].count("<br />") == 2  # the wrapped abstract alone: no notes, no trailing break
    # A "|" in a note is escaped (the row keeps seven cells); markdown is kept.
    assert moe[5].endswith("。<br />a \\| b 的对比<br />💡 *见* 附录")
    assert len(moe) == 7


# ---------------------------------------------------------------- papers removed from the config


def test_a_removed_paper_loses_its_row_files_and_state(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    assert project.run("build") == 0
    before = detail_files(project)
    project.write_config(papers_config(project, [paper_block(V2_ID), paper_block(LLM_ID)]))
    llm_calls = llm_requests(project)
    capsys.readouterr()

    assert project.run("build") == 0

    assert llm_requests(project) == llm_calls
    assert not (project.output / "data" / f"{MOE_ID}.json").exists()
    after = detail_files(project)
    assert set(after) == {LLM_V1, "deepseek-paper/02-DeepSeek-V2.2405.04434v5.md"}
    assert after["deepseek-paper/02-DeepSeek-V2.2405.04434v5.md"] == before[V2_V5]
    assert [r[2] for r in rows(project)] == ["DeepSeek LLM", "DeepSeek V2"]
    assert MOE_ID not in readme(project) and "DeepSeek MoE" not in readme(project)
    assert "kept hand-edited" not in capsys.readouterr().err


def test_a_removed_paper_keeps_its_hand_edited_file(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    assert project.run("build") == 0
    edited = project.output / MOE_V1
    edited.write_text(edited.read_text("utf-8") + "\n我的笔记：专家划分值得细读。\n", "utf-8")
    mine = edited.read_bytes()
    project.write_config(papers_config(project, [paper_block(V2_ID), paper_block(LLM_ID)]))
    capsys.readouterr()

    assert project.run("build") == 0

    assert edited.read_bytes() == mine
    assert not (project.output / "data" / f"{MOE_ID}.json").exists()
    assert MOE_ID not in readme(project)
    err = capsys.readouterr().err
    assert (
        f"  kept hand-edited {MOE_V1} of {MOE_ID}, which is no longer in config.toml: "
        "delete it by hand if you do not want it" in err
    )
    # Reported once: the paper is gone, its file is now the person's alone.
    assert project.run("build") == 0
    assert edited.read_bytes() == mine
    assert "kept hand-edited" not in capsys.readouterr().err


# ---------------------------------------------------------------- hand edits


def _regenerated(body: dict) -> tuple[int, dict]:
    """The model's second opinion: a recognisably different first bullet."""
    title = re.search(r"^标题：(.*)$", body["messages"][1]["content"], re.MULTILINE)
    answer = good_answer(title.group(1) if title else "Paper")
    answer["bullets"][0]["heading"] = "重新生成"
    return 200, answer


def _edit(path: Path) -> bytes:
    path.write_text(path.read_text("utf-8").replace("## 要点", "## 要点（人工修订）"), "utf-8")
    return path.read_bytes()


def test_hand_edited_detail_file_is_kept_when_the_summary_is_redone(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    assert project.run("build") == 0
    edited = project.output / MOE_V1
    mine = _edit(edited)
    project.llm.responder = _regenerated
    llm_calls = llm_requests(project)
    capsys.readouterr()

    assert project.run("build", "--only", MOE_ID, "--force") == 0

    assert project.llm.titles()[llm_calls:] == [TITLES[MOE_ID]]  # the model was asked
    assert state(project, MOE_ID)["summary"]["bullets"][0]["heading"] == "重新生成"
    assert "* **重新生成** ：" in readme(project)  # the README follows the new summary
    assert edited.read_bytes() == mine  # the person's file does not
    assert row_of(project, MOE_ID)[6] == f"[details](./{MOE_V1})"
    err = capsys.readouterr().err
    assert "build: 1 done, 0 skipped, 0 failed, 0 deferred" in err
    assert (
        f"  kept hand-edited {MOE_V1}: delete it, or run "
        f"`build --only {MOE_ID} --force --take-back`, to let the pipeline write it again" in err
    )
    # Every later build keeps and reports it too.
    assert project.run("build") == 0
    assert edited.read_bytes() == mine
    assert f"kept hand-edited {MOE_V1}" in capsys.readouterr().err

    assert project.run("build", "--only", MOE_ID, "--force", "--take-back") == 0

    body = edited.read_text("utf-8")
    assert "人工修订" not in body and "* **重新生成** ：" in body
    assert "kept hand-edited" not in capsys.readouterr().err
    # Taken back for good: the next plain build neither keeps nor rewrites it.
    taken = edited.read_bytes()
    assert project.run("build") == 0
    assert edited.read_bytes() == taken
    assert "kept hand-edited" not in capsys.readouterr().err


def test_deleting_a_hand_edited_file_lets_the_pipeline_write_it_again(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    assert project.run("build") == 0
    original = (project.output / MOE_V1).read_bytes()
    _edit(project.output / MOE_V1)
    assert project.run("build") == 0
    assert "kept hand-edited" in capsys.readouterr().err

    (project.output / MOE_V1).unlink()
    assert project.run("build") == 0

    assert (project.output / MOE_V1).read_bytes() == original
    assert "kept hand-edited" not in capsys.readouterr().err


def test_take_back_needs_only(project: Project, capsys: pytest.CaptureFixture[str]) -> None:
    assert project.run("build", "--take-back") == 2
    assert "error: --take-back needs --only ID" in capsys.readouterr().err
    assert not project.output.exists()


def test_hand_edited_file_keeps_its_name_when_the_rows_are_renumbered(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    assert project.run("build") == 0
    mine = _edit(project.output / LLM_V1)
    before = detail_files(project)
    new_version(project, LLM_ID, 2, "2024-07-01")  # LLM row 1 -> row 3, summary redone
    capsys.readouterr()

    assert project.run("build") == 0

    # The README links the person's file under its old name; nothing was written over it.
    assert row_of(project, LLM_ID)[0] == "3"
    assert row_of(project, LLM_ID)[6] == f"[details](./{LLM_V1})"
    assert (project.output / LLM_V1).read_bytes() == mine
    after = detail_files(project)
    assert set(after) == {
        LLM_V1,
        "deepseek-paper/01-DeepSeekMoE.2401.06066v1.md",
        "deepseek-paper/02-DeepSeek-V2.2405.04434v5.md",
    }
    assert after["deepseek-paper/01-DeepSeekMoE.2401.06066v1.md"] == before[MOE_V1]
    assert f"kept hand-edited {LLM_V1}: delete it" in capsys.readouterr().err

    # Deleting it lets the pipeline write the file under the current number and version.
    (project.output / LLM_V1).unlink()
    assert project.run("build") == 0
    assert row_of(project, LLM_ID)[6] == (
        "[details](./deepseek-paper/03-DeepSeekLLM.2401.02954v2.md)"
    )
    assert (project.output / "deepseek-paper/03-DeepSeekLLM.2401.02954v2.md").is_file()

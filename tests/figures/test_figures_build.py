"""The key figure through a build: twelve papers against fake arXiv and a fake model that answers
`key_figure`; figures in detail files, site pages, index cards and the feed; a warm build writes
nothing; `figure = N` / `figure = false`; an answer naming an unlisted figure."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.fakes import FakeArxiv, FakeLLM, good_answer
from tests.support.figgen import TWELVE, fake_twelve, twelve_config
from tests.support.project import API_KEY, Project

PINNED = "2405.14333"  # figure = 1 in the config
OFF = "2403.05525"  # figure = false


@pytest.fixture
def twelve(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Project]:
    monkeypatch.setenv("TEST_LLM_KEY", API_KEY)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")
    monkeypatch.chdir(tmp_path)
    with FakeArxiv(fake_twelve()) as arxiv, FakeLLM() as llm:
        project = Project(tmp_path, arxiv, llm)
        pins = {PINNED: "1", OFF: "false"}
        project.write_config(twelve_config(arxiv.api_url, llm.base_url, pins))
        yield project


def expected_figures() -> dict[str, str]:
    """The image each paper shows: the model's pick (the last figure listed), the pinned one,
    none where figures are off or the PDF has none."""
    out = {}
    for pid, version, _, _, _, _, n in TWELVE:
        if n == 0 or pid == OFF:
            continue
        number = 1 if pid == PINNED else n
        out[pid] = f"{pid}v{version}-fig{number}.png"
    return out


def detail_file(output: Path, pid: str) -> Path:
    (found,) = (output / "deepseek-paper").glob(f"*.{pid}v*.md")
    return found


def test_cold_build_shows_one_figure_per_paper_and_a_warm_build_writes_nothing(
    twelve: Project,
) -> None:
    assert twelve.run("build", "-q") == 0
    out, expected = twelve.output, expected_figures()
    assert sorted(p.name for p in (out / "figures").iterdir()) == sorted(expected.values())
    assert sorted(p.name for p in (out / "site" / "figures").iterdir()) == sorted(expected.values())
    index = (out / "site" / "index.html").read_text(encoding="utf-8")
    thumbs = re.findall(
        r'<img class="thumb" src="figures/([^"]+)" alt="([^"]*)" loading="lazy">', index
    )
    assert sorted(name for name, _ in thumbs) == sorted(expected.values())
    assert all(alt.startswith("Figure ") for _, alt in thumbs)
    for pid, _, _, _, _, title, _ in TWELVE:
        detail = detail_file(out, pid).read_text(encoding="utf-8")
        page = (out / "site" / "papers" / f"{pid}.html").read_text(encoding="utf-8")
        if pid not in expected:
            assert "](../figures/" not in detail and "<img" not in page
            continue
        name, number = expected[pid], int(expected[pid].rsplit("fig", 1)[1].split(".")[0])
        caption = (
            f"Figure 1: Overview of {title.split(':')[0]}: data flows into the model."
            if number == 1
            else f"Figure 2: Results of {title.split(':')[0]} against the baseline."
        )
        assert f"](../figures/{name})\n\n{caption}\n" in detail.replace("\\_", "_")
        assert f'<img src="../figures/{name}" alt="{caption}">' in page
        assert f"<figcaption>{caption}</figcaption>" in page
        assert (out / "figures" / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    feed = (out / "feed.xml").read_text(encoding="utf-8")
    assert feed.count('&lt;img src="site/figures/') == len(expected)
    site_feed = (out / "site" / "feed.xml").read_text(encoding="utf-8")
    assert site_feed.count('&lt;img src="figures/') == len(expected)

    before = twelve.snapshot()
    requests = len(twelve.llm.bodies)
    assert twelve.run("build", "-q") == 0
    assert twelve.snapshot() == before  # byte-identical: nothing rewritten, nothing removed
    assert len(twelve.llm.bodies) == requests


def test_the_prompt_lists_the_captions_unless_the_config_decides(twelve: Project) -> None:
    assert twelve.run("build", "-q") == 0
    prompts = {b["messages"][1]["content"] for b in twelve.llm.bodies if len(b["messages"]) > 1}
    listing = [p for p in prompts if "<figures>" in p]
    assert len(listing) == 8  # twelve, less the two without figures, the pinned and the off one
    one = next(p for p in listing if "DeepSeek-R1" in p)
    assert "图 1：Figure 1: Overview of DeepSeek-R1: data flows into the model.\n" in one
    assert "图 2：Figure 2: Results of DeepSeek-R1 against the baseline.\n" in one
    assert '"key_figure"' in one


def test_turning_a_figure_off_or_pinning_another_removes_the_old_image(twelve: Project) -> None:
    assert twelve.run("build", "-q") == 0
    out = twelve.output
    r1 = out / "figures" / "2501.12948v1-fig2.png"
    assert r1.is_file()
    pins = {PINNED: "1", OFF: "false", "2501.12948": "false"}
    twelve.write_config(twelve_config(twelve.arxiv.api_url, twelve.llm.base_url, pins))
    assert twelve.run("build", "-q") == 0
    assert not r1.exists() and not (out / "site" / "figures" / r1.name).exists()
    assert "](../figures/" not in detail_file(out, "2501.12948").read_text(encoding="utf-8")


def test_an_unlisted_key_figure_counts_as_none_and_the_summary_stands(
    twelve: Project,
) -> None:
    def answer(body: dict) -> tuple[int, dict]:
        title = re.search(r"^标题：(.*)$", body["messages"][1]["content"], re.M)
        return 200, {**good_answer(title.group(1) if title else "Paper"), "key_figure": 99}

    twelve.llm.responder = answer
    assert twelve.run("build", "-q") == 0
    shown = sorted(p.name for p in (twelve.output / "figures").iterdir())
    assert shown == ["2405.14333v1-fig1.png"]  # only the pinned one
    assert "⚠️" not in (twelve.output / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("value", "shown"),
    [("true", "True"), ("0", "0"), ('"2"', "'2'"), ("1.5", "1.5")],
)
def test_a_bad_figure_value_is_a_config_error(
    twelve: Project, capsys: pytest.CaptureFixture[str], value: str, shown: str
) -> None:
    twelve.write_config(
        twelve_config(twelve.arxiv.api_url, twelve.llm.base_url, {"2401.02954": value})
    )
    assert twelve.run("build", "-q") == 2
    err = capsys.readouterr().err
    assert (
        f"paper 2401.02954: figure must be a figure number (figure = 2) or false for no figure, "
        f"not {shown}" in err
    )


def test_pinning_another_figure_on_an_up_to_date_paper_needs_no_model(twelve: Project) -> None:
    assert twelve.run("build", "-q") == 0
    requests = len(twelve.llm.bodies)
    pins = {PINNED: "1", OFF: "false", "2501.12948": "1"}
    twelve.write_config(twelve_config(twelve.arxiv.api_url, twelve.llm.base_url, pins))
    assert twelve.run("build", "-q") == 0
    assert len(twelve.llm.bodies) == requests  # the summary stays; only the figure changes
    out = twelve.output
    assert (out / "figures" / "2501.12948v1-fig1.png").is_file()
    assert not (out / "figures" / "2501.12948v1-fig2.png").exists()
    detail = detail_file(out, "2501.12948").read_text(encoding="utf-8")
    assert "](../figures/2501.12948v1-fig1.png)" in detail

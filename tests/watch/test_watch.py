"""Watches end to end: candidates, exclusions, rejections, caching, add = true (issue 13)."""

from __future__ import annotations

import tomllib

import pytest

from pipeline.config import load_config
from pipeline.sources.arxiv import ArxivClient
from pipeline.watch.run import run_watches
from tests.support.fakes import Fault
from tests.support.project import PAPERS, Project, fake_paper
from tests.support.watchkit import (
    EXPECTED,
    QUERY,
    Clock,
    candidate_ids,
    clock_fixture,  # noqa: F401 - the `clock` fixture
    commented_config,
    inserted,
    serve_deepseek,
    watch_table,
)


def readme(project: Project) -> str:
    return (project.output / "README.md").read_text(encoding="utf-8")


def test_done_when(project: Project, clock: Clock, capsys: pytest.CaptureFixture[str]) -> None:
    serve_deepseek(project)
    project.write_config(commented_config(project, watch_table()))
    original = project.config.read_bytes()

    assert project.run("build") == 0
    assert candidate_ids(project) == EXPECTED  # exactly the unlisted matches, newest first
    assert project.config.read_bytes() == original  # proposing edits nothing
    assert len(project.arxiv.search_calls) == 1
    call = project.arxiv.search_calls[0]
    assert call["search_query"] == [QUERY] and call["sortBy"] == ["submittedDate"]
    assert call["sortOrder"] == ["descending"] and call["max_results"] == ["50"]
    err = capsys.readouterr().err
    assert "new candidate 2501.12948 from watch 'DeepSeek-AI': DeepSeek-R1: Incentivizing" in err

    clock.advance(hours=19)
    candidates = (project.output / "candidates.md").read_bytes()
    assert project.run("build") == 0
    assert len(project.arxiv.search_calls) == 1  # the cached answer: no request within 20 hours
    assert (project.output / "candidates.md").read_bytes() == candidates
    assert "new candidate" not in capsys.readouterr().err

    before = project.config.read_text(encoding="utf-8")
    assert project.run("reject", "2412.19437") == 0
    after = project.config.read_text(encoding="utf-8")
    # one line (tomlkit adds a blank line before the first table when there was none)
    assert inserted(before, after) in (
        'rejected = ["2412.19437"]\n',
        'rejected = ["2412.19437"]\n\n',
    )
    assert after.index("rejected") < after.index("[output]")  # a top-level key: before tables
    assert candidate_ids(project) == ["2501.12948"]

    metadata_requests = len(project.arxiv.api_calls)
    assert project.run("add", "2501.12948") == 0
    added = inserted(after, project.config.read_text(encoding="utf-8"))
    assert (
        added == '[[papers]]\nid = "2501.12948"\nproject = "DeepSeek-R1"\nslug = "DeepSeek-R1"\n\n'
    )
    assert len(project.arxiv.api_calls) == metadata_requests  # the title came from candidates
    assert candidate_ids(project) == []
    assert "added 2501.12948 to config.toml: project 'DeepSeek-R1'" in capsys.readouterr().out

    assert project.run("build") == 0  # the next build summarises the added paper
    assert "DeepSeek-R1: Incentivizing Reasoning Capability" in project.llm.titles()[-1]
    assert "[link](http://arxiv.org/abs/2501.12948)" in readme(project)
    assert len(project.arxiv.search_calls) == 1

    clock.advance(hours=2)  # 21 hours after the search: one new request
    assert project.run("build") == 0
    assert len(project.arxiv.search_calls) == 2
    assert candidate_ids(project) == []  # the rejected paper stays rejected
    text = (project.output / "candidates.md").read_text(encoding="utf-8")
    assert "No candidates: the watches found nothing new." in text


def test_add_true_lists_and_summarises_matches_in_one_build(
    project: Project, clock: Clock, capsys: pytest.CaptureFixture[str]
) -> None:
    serve_deepseek(project)
    project.write_config(commented_config(project, watch_table(extra="add = true\n")))
    before = project.config.read_text(encoding="utf-8")
    assert project.run("build") == 0
    after = project.config.read_text(encoding="utf-8")
    block = inserted(before, after)
    assert block.count("[[papers]]") == 2
    assert '[[papers]]\nid = "2501.12948"\nproject = "DeepSeek-R1"\nslug = "DeepSeek-R1"\n' in block
    assert 'id = "2412.19437"\nproject = "DeepSeek-V3 Technical Report"' in block
    listed = [p["id"] for p in tomllib.loads(after)["papers"]]
    assert listed[-2:] == EXPECTED
    text = readme(project)
    assert "[link](http://arxiv.org/abs/2501.12948)" in text
    assert "[link](http://arxiv.org/abs/2412.19437)" in text
    assert len(project.llm.bodies) == 5  # the three listed and the two added, in one build
    assert candidate_ids(project) == []
    err = capsys.readouterr().err
    assert "watch 'DeepSeek-AI' added 2501.12948 (DeepSeek-R1) to config.toml" in err
    assert "build: 5 done" in err

    clock.advance(hours=30)  # next day: the same answer adds nothing twice
    assert project.run("build") == 0
    assert project.config.read_text(encoding="utf-8") == after
    assert len(project.arxiv.search_calls) == 2


def test_a_new_version_of_a_listed_paper_is_never_a_candidate(
    project: Project, clock: Clock
) -> None:
    serve_deepseek(project)
    newer = project.arxiv.lookup("2401.02954")
    assert newer is not None
    project.arxiv.add(type(newer)(**{**newer.__dict__, "version": 2, "updated": "2025-04-01"}))
    project.write_config(commented_config(project, watch_table()))
    assert project.run("watch") == 0
    assert candidate_ids(project) == EXPECTED
    assert "2401.02954" not in (project.output / "candidates.md").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "flags", [("--offline",), ("--dry-run",), ("--no-watch",), ("--only", "2401.02954")]
)
def test_build_flags_that_skip_the_watches(
    project: Project, clock: Clock, flags: tuple[str, ...]
) -> None:
    serve_deepseek(project)
    project.write_config(commented_config(project, watch_table()))
    if flags == ("--offline",):
        assert project.run("build", "--no-watch") == 0
    project.run("build", *flags)
    assert project.arxiv.search_calls == []
    assert not (project.output / "candidates.md").exists()


def test_a_failed_watch_is_said_once_and_the_build_goes_on(
    project: Project, clock: Clock, capsys: pytest.CaptureFixture[str]
) -> None:
    serve_deepseek(project)
    second = watch_table(name="MoE", query='abs:"mixture of experts" ANDNOT ti:survey')
    project.write_config(commented_config(project, watch_table() + second))
    project.arxiv.add_fault("search", *[Fault(status=503)] * 4)  # every try of one search
    assert project.run("build") == 0
    err = capsys.readouterr().err
    assert "build: 3 done" in err
    failed = [line for line in err.splitlines() if "arXiv search failed" in line]
    assert len(failed) == 1 and "watch 'DeepSeek-AI'" in failed[0] and "HTTP 503" in failed[0]
    assert "watch 'MoE': not run, the search of 'DeepSeek-AI' failed" in err
    assert len(project.arxiv.search_calls) == 4  # the retries of the first watch only
    assert candidate_ids(project) == []

    assert project.run("build") == 0  # nothing was cached: the next build tries again
    assert len(project.arxiv.search_calls) == 6
    assert candidate_ids(project) == EXPECTED
    assert "arXiv search failed" not in capsys.readouterr().err


def test_watch_command_exits_1_when_a_search_fails(
    project: Project, clock: Clock, capsys: pytest.CaptureFixture[str]
) -> None:
    project.write_config(commented_config(project, watch_table()))
    project.arxiv.add_fault("search", *[Fault(status=500)] * 4)
    assert project.run("watch") == 1
    err = capsys.readouterr().err
    assert "watch: 1 watch, 0 new candidates; arXiv API requests 4" in err
    assert all(len(line) <= 200 for line in err.splitlines())


def test_a_watch_silent_for_30_days_says_so_without_failing(
    project: Project, clock: Clock, capsys: pytest.CaptureFixture[str]
) -> None:
    serve_deepseek(project)
    project.write_config(commented_config(project, watch_table()))
    assert project.run("build") == 0
    capsys.readouterr()
    clock.advance(days=29)
    assert project.run("build") == 0
    assert "found nothing new" not in capsys.readouterr().err
    clock.advance(days=2)
    assert project.run("build") == 0
    note = "watch 'DeepSeek-AI' has found nothing new for 31 days (last new paper on 2026-03-01)"
    assert note in capsys.readouterr().err
    assert project.run("status") == 0
    out = capsys.readouterr().out
    assert f"watch\tDeepSeek-AI\t2 candidates waiting\tlast new paper 2026-03-01; {note}" in out
    assert len(project.arxiv.search_calls) == 3


def test_candidates_file_is_deterministic_and_escapes_arxiv_text(
    project: Project, clock: Clock
) -> None:
    serve_deepseek(project)
    hostile = project.arxiv.lookup("2501.12948")
    assert hostile is not None
    hostile.title = "R1 | <script>x</script> [click](javascript:alert(1)) *bold*"
    hostile.authors = ("DeepSeek-AI", "A | B")
    project.write_config(commented_config(project, watch_table()))
    assert project.run("watch") == 0
    text = (project.output / "candidates.md").read_text(encoding="utf-8")
    row = next(line for line in text.splitlines() if "2501.12948" in line)
    assert "<script>" not in row and "](javascript" not in row and "\\*bold\\*" in row
    assert row.replace("\\|", "").count("|") == 7  # six cells: no cell broken by a "|"
    assert "| 2025-01-22 |" in row
    assert "`python -m pipeline add 2501.12948`<br />`python -m pipeline reject 2501.12948`" in row
    assert "[2501.12948v1](http://arxiv.org/abs/2501.12948)" in row
    mtime = (project.output / "candidates.md").stat().st_mtime_ns
    clock.advance(hours=25)
    assert project.run("watch") == 0  # the same answer: not even rewritten
    assert (project.output / "candidates.md").stat().st_mtime_ns == mtime
    assert len(project.arxiv.search_calls) == 2


def test_searches_and_metadata_requests_share_the_api_spacing(
    project: Project, clock: Clock, no_sleep: list[float]
) -> None:
    serve_deepseek(project)
    second = watch_table(name="MoE", query='abs:"mixture of experts"')
    text = commented_config(project, watch_table() + second).replace(
        "delay_seconds = 0", "delay_seconds = 3"
    )
    project.write_config(text)
    config = load_config(project.config)
    client = ArxivClient(config.arxiv, clock=lambda: 100.0)  # no time passes between requests
    try:
        run = run_watches(config, client)
        client.metadata(config.papers)
    finally:
        client.close()
    assert [w.name for w in config.watches] == ["DeepSeek-AI", "MoE"]
    assert run.notes == [] and len(project.arxiv.search_calls) == 2
    assert no_sleep == [3.0, 3.0]  # search, wait, search, wait, metadata


@pytest.mark.parametrize("add", [False, True], ids=["proposing", "add-true"])
def test_a_refused_key_leaves_output_and_config_as_they_were(
    project: Project, clock: Clock, capsys: pytest.CaptureFixture[str], add: bool
) -> None:
    """The watches ask arXiv at the start of a build, but write candidates.md, their state and
    config.toml (add = true) only once the preflight accepted the key: exit 2 changes nothing."""
    project.write_config(commented_config(project, watch_table(extra="add = true\n" * add)))
    assert project.run("build") == 0  # nothing to propose yet: the listed papers only
    before, config = project.snapshot(), project.config.read_bytes()
    serve_deepseek(project)  # now the watch finds two new papers
    paper_id, _, title, _, _, _ = PAPERS[1]
    project.arxiv.add(fake_paper(paper_id, 2, title, "2024-03-01"))  # work: the preflight goes
    clock.advance(hours=30)
    refused = b'{"error": {"message": "invalid api key", "type": "authentication_error"}}'
    project.llm.add_fault("preflight", Fault(401, refused, content_type="application/json"))
    capsys.readouterr()
    assert project.run("build") == 2
    assert "refused the key in TEST_LLM_KEY (HTTP 401)" in capsys.readouterr().err
    assert len(project.arxiv.search_calls) == 2  # the watch did ask arXiv
    assert project.snapshot() == before  # candidates.md and the watch state untouched
    assert project.config.read_bytes() == config

"""[[watch]] and `rejected` in config.toml (a bad key or query: exit 2, one line, no request);
help texts; the pure helpers: exclusion matching, the project name from a title."""

from __future__ import annotations

import tomllib

import pytest

from pipeline.state import Meta
from pipeline.watch.config import parse_watches
from pipeline.watch.edit_config import project_from_title
from pipeline.watch.query import query_problem
from pipeline.watch.search import excluded_by
from tests.support.cli import help_text
from tests.support.project import ROOT, Project, config_text


def watch_config(project: Project, tables: str) -> None:
    text = config_text(project.arxiv.api_url, project.llm.base_url)
    top_level = not tables.startswith("[[")  # a plain key must come before the first table
    project.write_config(tables + text if top_level else text + tables)


@pytest.mark.parametrize(
    ("tables", "message"),
    [
        (
            "[[watch]]\nname = 'x'\nquery = 'ti:x'\nlimit = 5\n",
            "[[watch]] entry 1: unknown key 'limit' (known: add, exclude, max_results, name, "
            "query)",
        ),
        ("[[watch]]\nname = 'x'\n", "[[watch]] entry 1: query must be a non-empty arXiv search"),
        ("[[watch]]\nquery = '  '\n", "[[watch]] entry 1: query must be a non-empty arXiv search"),
        (
            "[[watch]]\nname = 'lab'\nquery = 'au:\"DeepSeek-AI'\n",
            "watch 'lab': malformed query 'au:\"DeepSeek-AI': unbalanced double quote",
        ),
        (
            "[[watch]]\nname = 'lab'\nquery = '(ti:a OR ti:b'\n",
            "watch 'lab': malformed query '(ti:a OR ti:b': unbalanced parentheses: a '(' is never",
        ),
        (
            "[[watch]]\nname = 'lab'\nquery = 'ti:a) OR ti:b'\n",
            "unbalanced parentheses: a ')' closes nothing",
        ),
        (
            "[[watch]]\nname = 'lab'\nquery = 'author:Guo'\n",
            "watch 'lab': malformed query 'author:Guo': unknown field prefix 'author:' (known: abs",
        ),
        ("[[watch]]\nname = 'lab'\nquery = 'ti:a AND'\n", "dangling AND: nothing after it"),
        ("[[watch]]\nname = 'lab'\nquery = 'OR ti:a'\n", "dangling OR: nothing before it"),
        ("[[watch]]\nname = 'lab'\nquery = 'ti:a ANDNOT ()'\n", "empty parentheses ()"),
        ("[[watch]]\nname = 'lab'\nquery = 'ti: a'\n", "ti: has no search term"),
        (
            "[[watch]]\nname = 'lab'\nquery = 'ti:a'\nmax_results = 0\n",
            "watch 'lab': max_results must be a whole number from 1 to 2000, got 0",
        ),
        (
            "[[watch]]\nname = 'lab'\nquery = 'ti:a'\nexclude = 'survey'\n",
            "watch 'lab': exclude must be a list of words or phrases",
        ),
        (
            "[[watch]]\nname = 'lab'\nquery = 'ti:a'\nadd = 'yes'\n",
            "watch 'lab': add must be true or false, got 'yes'",
        ),
        (
            "[[watch]]\nname = 'lab'\nquery = 'ti:a'\n[[watch]]\nname = 'lab'\nquery = 'ti:b'\n",
            "two [[watch]] entries are named 'lab'",
        ),
        ("watch = 'ti:a'\n", "watch must be an array of tables ([[watch]])"),
    ],
)
def test_bad_watch_is_exit_2_before_any_request(
    project: Project, capsys: pytest.CaptureFixture[str], tables: str, message: str
) -> None:
    watch_config(project, tables)
    for command in ("build", "watch", "status"):
        assert project.run(command) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"error: {project.config}: ") and err.count("\n") == 1
        assert message in err
    assert project.arxiv.requests == [] and project.llm.bodies == []


@pytest.mark.parametrize("bad", ["2502.1", "abc", "arXiv:2502.00001"])
def test_malformed_rejected_id_is_exit_2(
    project: Project, capsys: pytest.CaptureFixture[str], bad: str
) -> None:
    text = config_text(project.arxiv.api_url, project.llm.base_url)
    project.write_config(f'rejected = ["2502.00001", "{bad}"]\n' + text)
    assert project.run("build") == 2
    assert capsys.readouterr().err == (
        f"error: {project.config}: rejected: {bad!r} is not an arXiv ID "
        "(expected like 2405.04434)\n"
    )
    assert project.arxiv.requests == []


def test_rejected_must_be_a_top_level_list(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    text = config_text(project.arxiv.api_url, project.llm.base_url)
    project.write_config('rejected = "2502.00001"\n' + text)
    assert project.run("build") == 2
    assert "rejected must be a list of arXiv IDs" in capsys.readouterr().err


@pytest.mark.parametrize(
    "query",
    [
        'au:"DeepSeek-AI"',
        "ti:DeepSeek ANDNOT ti:survey",
        'cat:cs.CL AND abs:"mixture of experts"',
        "au:del_maestro ANDNOT (ti:checkerboard OR ti:Pyrochlore)",
        'abs:(reasoning "test-time compute")',
        "electron",
        "cat:cs.LG AND submittedDate:[202401010000 TO 202412312359]",
        "ti:AND",
    ],
)
def test_documented_queries_are_accepted(query: str) -> None:
    assert query_problem(query) is None


@pytest.mark.parametrize("command", ["watch", "add", "reject"])
def test_help_says_what_the_command_does_with_an_example(
    capsys: pytest.CaptureFixture[str], command: str
) -> None:
    out = help_text(capsys, command)
    assert f"example: python -m pipeline {command}" in out


def test_build_help_lists_no_watch(capsys: pytest.CaptureFixture[str]) -> None:
    assert "--no-watch" in help_text(capsys, "build")


@pytest.mark.parametrize(
    ("exclude", "title", "abstract", "hit"),
    [
        (("survey",), "A Survey of MoE", "", "survey"),
        (("survey",), "MoE", "This paper surveys MoE.", "survey"),
        (("RL",), "A world model", "", None),  # matched where a word starts only
        (("RL",), "RLHF at scale", "", "RL"),
        (("vision language",), "Vision\nLanguage models", "", "vision language"),
        (("survey", "benchmark"), "A new benchmark", "", "benchmark"),
    ],
)
def test_exclude_matches_words_and_phrases_case_insensitively(
    exclude: tuple[str, ...], title: str, abstract: str, hit: str | None
) -> None:
    meta = Meta("2501.00001", 1, title, ("A",), abstract, "2025-01-01", "2025-01-01", "")
    assert excluded_by(meta, exclude) == hit


@pytest.mark.parametrize(
    ("title", "project"),
    [
        ("DeepSeek-R1: Incentivizing Reasoning Capability in LLMs", "DeepSeek-R1"),
        (
            "Native Sparse Attention: Hardware-Aligned and Natively Trainable",
            "Native Sparse Attention",
        ),
        ("Reproducing R1 on a Budget", "Reproducing R1"),
        ("DeepSeek-V3 Technical Report", "DeepSeek-V3 Technical Report"),
        ("<img src=x>: [a](b)", "img src x"),
        ("", "2501.00001"),
    ],
)
def test_project_from_title(title: str, project: str) -> None:
    assert project_from_title(title, "2501.00001") == project


def test_the_readme_examples_are_valid_watches() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Watching for new papers", 1)[1]
    example = section.split("```toml\n", 1)[1].split("```", 1)[0]
    watches = parse_watches(ROOT / "README.md", tomllib.loads(example)["watch"])
    assert [w.query for w in watches] == [
        'au:"DeepSeek-AI"',
        'cat:cs.CL AND abs:"mixture of experts" ANDNOT ti:survey',
    ]
    assert watches[1].exclude == ("benchmark", "vision language") and not watches[1].add

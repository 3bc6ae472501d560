"""Token usage and the run budget through the real CLI: per-paper usage, run totals and cost in
the closing summary, and llm.max_run_tokens deferring papers to the next build.

The fake model counts tokens with the pipeline's own estimate; `project.llm.tokens()` adds up
what it reported (the papers' requests and the build's one preflight request).
"""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from typing import Any

import pytest

from pipeline.text.tokens import estimate_tokens
from tests.support.fakes import TITLE_RE, good_answer, prompt_tokens
from tests.support.project import PAPERS, Project, config_text

TITLES = {paper_id: title for paper_id, _, title, _, _, _ in PAPERS}


def configure(project: Project, extra_llm: str) -> None:
    text = config_text(project.arxiv.api_url, project.llm.base_url, extra_llm=extra_llm)
    if extra_llm.startswith("max_input_tokens"):  # instead of the default's 12000
        text = text.replace("max_input_tokens = 12000\n", "")
    project.write_config(text)


def summary_lines(err: str) -> list[str]:
    """The closing summary: its `build:` line and the indented lines after it."""
    lines = err.splitlines()
    start = max(i for i, line in enumerate(lines) if line.startswith("build: "))
    return lines[start:]


def usage(project: Project, paper_id: str) -> dict[str, Any]:
    path = project.output / "data" / f"{paper_id}.json"
    return json.loads(path.read_text(encoding="utf-8"))["usage"]


def test_usage_per_paper_and_run_totals_with_cost(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    configure(project, "price_per_million_input = 0.27\nprice_per_million_output = 1.10")
    assert project.run("build") == 0
    prompt, completion = project.llm.tokens()
    cost = (prompt * Decimal("0.27") + completion * Decimal("1.10")) / 1_000_000
    assert summary_lines(capsys.readouterr().err) == [
        f"build: 3 done, 0 skipped, 0 failed, 0 deferred; {prompt} prompt + {completion} "
        f"completion tokens (cost {cost:.4f}, config prices); arXiv API requests 1, "
        "PDF downloads 3"
    ]
    for paper_id, title in TITLES.items():
        (asked,) = [b for b in project.llm.bodies if f"：{title}\n" in b["messages"][1]["content"]]
        answer = json.dumps(good_answer(title), ensure_ascii=False)
        assert usage(project, paper_id) == {
            "prompt_tokens": prompt_tokens(asked),
            "cached_prompt_tokens": 0,
            "completion_tokens": estimate_tokens(answer),
            "reasoning_tokens": 0,
            "attempts": 1,
        }
    assert project.run("build") == 0
    assert summary_lines(capsys.readouterr().err) == [
        "build: 0 done, 3 skipped, 0 failed, 0 deferred; 0 prompt + 0 completion tokens "
        "(cost 0.0000, config prices); arXiv API requests 1, PDF downloads 0"
    ]


def test_no_prices_and_a_model_genai_prices_does_not_know_cost_unknown(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    assert project.run("build", "--only", "2401.02954") == 0
    prompt, completion = project.llm.tokens()
    assert summary_lines(capsys.readouterr().err) == [
        f"build: 1 done, 0 skipped, 0 failed, 0 deferred; {prompt} prompt + {completion} "
        "completion tokens (cost unknown: no prices for fake-model); arXiv API requests 1, "
        "PDF downloads 1"
    ]


def test_tokens_of_a_failed_paper_count_in_the_run(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    def respond(body: dict[str, Any]) -> tuple[int, Any]:
        m = TITLE_RE.search(body["messages"][1]["content"])
        answer = good_answer(m.group(1) if m else "Paper")
        if m and m.group(1) == TITLES["2405.04434"]:
            answer = copy.deepcopy(answer)
            answer["bullets"] = answer["bullets"][:2]  # broken twice: the paper fails
        return 200, answer

    project.llm.responder = respond
    configure(project, "price_per_million_input = 1\nprice_per_million_output = 2")
    assert project.run("build") == 1
    prompt, completion = project.llm.tokens()
    assert len(project.llm.usages) == 1 + 4  # the preflight, two good answers, two broken ones
    cost = Decimal(prompt * 1 + completion * 2) / 1_000_000
    assert summary_lines(capsys.readouterr().err) == [
        f"build: 2 done, 0 skipped, 1 failed, 0 deferred; {prompt} prompt + {completion} "
        f"completion tokens (cost {cost:.4f}, config prices); arXiv API requests 1, "
        "PDF downloads 3",
        "  failed: 2405.04434: model answer unusable after one repair: "
        "bullets must have exactly 3 items, got 2",
        "  rerun `python -m pipeline build` to retry exactly the failed papers",
    ]


def test_max_run_tokens_defers_the_rest_to_the_next_build(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    configure(project, "max_run_tokens = 1300")
    assert project.run("build", "--jobs", "1") == 1
    assert len(project.llm.bodies) == 1
    done_title = project.llm.titles()[0]
    deferred = sorted(i for i, title in TITLES.items() if title != done_title)
    prompt, completion = project.llm.tokens()
    assert prompt + completion >= 1300
    assert summary_lines(capsys.readouterr().err) == [
        f"build: 1 done, 0 skipped, 0 failed, 2 deferred; {prompt} prompt + {completion} "
        "completion tokens (cost unknown: no prices for fake-model); arXiv API requests 1, "
        "PDF downloads 3",
        *(
            f"  deferred: {paper_id}: llm.max_run_tokens = 1300 reached "
            f"({prompt + completion} tokens used in this run)"
            for paper_id in deferred
        ),
        "  rerun `python -m pipeline build` to retry exactly the deferred papers",
    ]
    readme = (project.output / "README.md").read_text(encoding="utf-8")
    assert sum(line.startswith("| 1 |") for line in readme.splitlines()) == 1
    for paper_id in deferred:
        assert not (project.output / "data" / f"{paper_id}.json").exists()
    assert project.run("status") == 0
    status = capsys.readouterr().out.splitlines()
    assert sorted(line.split("\t")[0] for line in status if "no summary yet" in line) == deferred

    configure(project, "max_run_tokens = 100000")
    before = len(project.llm.usages)
    assert project.run("build", "--jobs", "1") == 0
    assert sorted(project.llm.titles()[1:]) == sorted(TITLES[i] for i in deferred)
    prompt = sum(u["prompt_tokens"] for u in project.llm.usages[before:])
    completion = sum(u["completion_tokens"] for u in project.llm.usages[before:])
    assert summary_lines(capsys.readouterr().err) == [
        f"build: 2 done, 1 skipped, 0 failed, 0 deferred; {prompt} prompt + {completion} "
        "completion tokens (cost unknown: no prices for fake-model); arXiv API requests 1, "
        "PDF downloads 0"
    ]


def test_max_run_tokens_zero_defers_everything_without_a_download(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    configure(project, "max_run_tokens = 0")
    assert project.run("build") == 1
    assert project.llm.bodies == project.llm.preflights == [] and project.arxiv.pdf_calls == []
    lines = summary_lines(capsys.readouterr().err)
    assert lines[0] == (
        "build: 0 done, 0 skipped, 0 failed, 3 deferred; 0 prompt + 0 completion tokens; "
        "arXiv API requests 1, PDF downloads 0"
    )
    assert lines[1] == (
        "  deferred: 2401.02954: llm.max_run_tokens = 0 reached (0 tokens used in this run)"
    )


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("max_run_tokens = -1", "llm.max_run_tokens must be at least 0, got -1"),
        ("max_run_tokens = 1.5", "llm.max_run_tokens must be a whole number, got 1.5"),
        ('price_per_million_input = "0.27"', "llm.price_per_million_input must be a number"),
        (
            'max_input_tokens = "all"',
            'llm.max_input_tokens must be "auto" or a whole number of tokens (at least 500), '
            "got 'all'",
        ),
        ("max_input_tokens = 100", "llm.max_input_tokens must be at least 500, got 100"),
    ],
)
def test_bad_budget_settings_are_usage_errors(
    project: Project, capsys: pytest.CaptureFixture[str], line: str, message: str
) -> None:
    configure(project, line)
    assert project.run("build") == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {project.config}: {message}")
    assert project.llm.bodies == [] and project.arxiv.api_calls == []

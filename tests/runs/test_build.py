"""The core build, end to end through the CLI, against fake arXiv and model servers."""

from __future__ import annotations

import json
import re

import pytest

from tests.support.fakes import prompt_tokens
from tests.support.project import Project

HEADER = "|    | date | project | title | link | abstract | details |"


def readme(project: Project) -> str:
    return (project.output / "README.md").read_text(encoding="utf-8")


def table_rows(text: str) -> list[str]:
    return [line for line in text.splitlines() if re.match(r"^\| \d+ \|", line)]


def test_build_writes_the_list_in_reference_format(project: Project) -> None:
    assert project.run("build") == 0
    text = readme(project)
    assert text.startswith("# DeepSeek Paper Reading\n\n部分摘要基于LLM自动生成\n\n" + HEADER)
    rows = table_rows(text)
    assert [r.split(" | ")[1] for r in rows] == ["20240105", "20240111", "20240619"]
    assert "[link](http://arxiv.org/abs/2401.02954)" in rows[0]
    assert rows[0].endswith("[details](./deepseek-paper/01-DeepSeekLLM.2401.02954v1.md) |")
    assert rows[1].endswith("[details](./deepseek-paper/02-DeepSeekMoE.2401.06066v1.md) |")
    assert rows[2].endswith("[details](./deepseek-paper/03-DeepSeek-V2.2405.04434v5.md) |")
    assert "DeepSeek-V2: A Strong, Economical, and Efficient<br />" in rows[2]
    for n, project_name in enumerate(["DeepSeek LLM", "DeepSeek MoE", "DeepSeek V2"], start=1):
        section = text.split(f"## {n} **{project_name}**\n\n", 1)[1].split("\n\n## ")[0]
        bullets = section.strip().splitlines()
        assert len(bullets) == 3
        assert all(re.match(r"^\* \*\*.+\*\* ：.+", b) for b in bullets)
    detail = project.output / "deepseek-paper" / "03-DeepSeek-V2.2405.04434v5.md"
    body = detail.read_text(encoding="utf-8")
    assert body.startswith("# DeepSeek-V2: A Strong, Economical, and Efficient")
    assert "## 背景与动机" in body and "fake-model" in body and "2026-01-01T00:00:00+00:00" in body
    state = json.loads((project.output / "data" / "2405.04434.json").read_text(encoding="utf-8"))
    assert state["meta"]["version"] == 5 and state["summary"]["bullets"][0]["heading"]
    (asked,) = [b for b in project.llm.bodies if "DeepSeek-V2:" in b["messages"][1]["content"]]
    assert state["usage"]["prompt_tokens"] == prompt_tokens(asked) > 500


def test_each_prompt_is_about_its_own_paper(project: Project) -> None:
    assert project.run("build") == 0
    titles = sorted(project.llm.titles())
    assert titles == sorted(
        t for _, _, t, _, _, _ in __import__("tests.support.project").conftest.PAPERS
    )
    for body in project.llm.bodies:
        assert body["response_format"] == {"type": "json_object"}
        assert body["model"] == "fake-model"


def test_second_build_asks_nothing_and_changes_no_byte(project: Project) -> None:
    assert project.run("build") == 0
    before = project.snapshot()
    llm_calls, pdf_calls = len(project.llm.bodies), len(project.arxiv.pdf_calls)
    api_calls = len(project.arxiv.api_calls)
    assert project.run("build") == 0
    assert len(project.llm.bodies) == llm_calls
    assert len(project.arxiv.pdf_calls) == pdf_calls
    assert len(project.arxiv.api_calls) == api_calls + 1  # one metadata request for 3 papers
    assert project.snapshot() == before


def test_only_force_redoes_that_paper_alone(project: Project) -> None:
    assert project.run("build") == 0
    before = project.snapshot()
    llm_calls = len(project.llm.bodies)
    assert project.run("build", "--only", "2401.06066", "--force") == 0
    assert project.llm.titles()[llm_calls:] == [
        "DeepSeekMoE: Towards Ultimate Expert Specialization in Mixture-of-Experts Language Models"
    ]
    assert project.arxiv.api_calls[-1] == ["2401.06066"]
    after = project.snapshot()
    changed = {k for k in after if after[k] != before.get(k)}
    assert changed <= {"data/2401.06066.json", "deepseek-paper/02-DeepSeekMoE.2401.06066v1.md"}


def test_offline_rerenders_with_both_servers_down(project: Project) -> None:
    assert project.run("build") == 0
    before = project.snapshot()
    project.arxiv.stop()
    project.llm.stop()
    (project.output / "README.md").unlink()
    (project.output / "deepseek-paper" / "01-DeepSeekLLM.2401.02954v1.md").unlink()
    assert project.run("build", "--offline") == 0
    assert project.snapshot() == before


def test_offline_needs_no_key(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    assert project.run("build") == 0
    monkeypatch.delenv("TEST_LLM_KEY")
    assert project.run("build", "--offline") == 0


def test_dry_run_prints_the_plan_and_writes_nothing(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    assert project.run("build", "--dry-run") == 0
    out = capsys.readouterr().out
    assert "2405.04434v5: summarise (no summary yet)" in out
    assert len(out.strip().splitlines()) == 3
    assert not project.output.exists()
    assert project.llm.bodies == [] and project.arxiv.pdf_calls == []


def test_status_prints_one_line_per_paper(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    assert project.run("status") == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert [line.split("\t")[:3] for line in lines] == [
        ["2405.04434", "v?", "not summarised"],
        ["2401.02954", "v?", "not summarised"],
        ["2401.06066", "v?", "not summarised"],
    ]
    assert project.run("build") == 0
    capsys.readouterr()
    assert project.run("status") == 0
    lines = capsys.readouterr().out.strip().splitlines()
    sent = json.loads((project.output / "data" / "2405.04434.json").read_text("utf-8"))["input"]
    assert sent["tokens"] == sent["paper_tokens"] and sent["omitted"] == []
    assert (
        lines[0] == f"2405.04434\tv5\tsummarised\tup to date; sent whole ({sent['tokens']} tokens)"
    )


def test_closing_summary_counts_and_tokens(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    assert project.run("build") == 0
    err = capsys.readouterr().err
    prompt, completion = project.llm.tokens()  # the three papers' and the preflight's
    assert f"build: 3 done, 0 skipped, 0 failed, 0 deferred; {prompt} prompt + {completion} " in err
    assert project.run("build") == 0
    assert "build: 0 done, 3 skipped, 0 failed" in capsys.readouterr().err


def test_model_requests_overlap(project: Project) -> None:
    import threading

    project.llm.gate = threading.Barrier(3)
    assert project.run("build") == 0
    assert project.llm.max_in_flight == 3


def test_jobs_limits_model_requests_in_flight(project: Project) -> None:
    assert project.run("build", "--jobs", "1") == 0
    assert project.llm.max_in_flight == 1


def test_status_piped_into_head_ends_quietly(project: Project) -> None:
    import subprocess
    import sys

    from tests.support.project import ROOT, config_text

    many = [(f"2401.{n:05d}", 1, "T", "2024-01-01", f"P{n}", f"P{n}") for n in range(1, 3001)]
    project.write_config(config_text("http://127.0.0.1:9/api", "http://127.0.0.1:9/v1", many))
    cmd = [sys.executable, "-m", "pipeline", "status", "--config", str(project.config)]
    shell = " ".join(f"'{part}'" for part in cmd) + " | head -n 1"
    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}
    result = subprocess.run(shell, shell=True, capture_output=True, text=True, env=env)
    assert result.stdout.startswith("2401.00001\t")  # far more than a pipe buffer was left
    assert result.stderr == ""

"""The job summary (--summary FILE, $GITHUB_STEP_SUMMARY): done, failed with reasons, flagged ❓,
watch candidates, tokens; untrusted text escaped."""

from __future__ import annotations

import copy
import re
import socket
from pathlib import Path
from typing import Any

import pytest

from pipeline.config import load_config
from pipeline.report.job_summary import render_summary
from pipeline.report.model import BuildReport, Outcome
from pipeline.state import Usage
from tests.support.fakes import Fault, good_answer
from tests.support.faultkit import LLM, MOE, TITLE, V2, seed_text_cache, title_of
from tests.support.project import Project, config_text


def with_siglip(body: dict[str, Any]) -> tuple[int, Any]:
    """The good answer; for DeepSeekMoE one bullet names a method its paper never mentions."""
    answer = copy.deepcopy(good_answer(title_of(body)))
    if title_of(body) == TITLE[MOE]:
        answer["bullets"][1]["text"] = (
            "方法借鉴 SigLIP 的训练技巧，先整理数据，再改进模型结构，"
            "最后调整训练流程，每一步都易于复现。"
        )
    return 200, answer


def one_failed_one_flagged(project: Project) -> None:
    seed_text_cache(project)
    pdf = project.arxiv.papers[V2][0].pdf
    cut = Fault(200, pdf[: len(pdf) // 2], content_type="application/pdf")
    project.arxiv.add_fault(f"pdf:{V2}", cut)
    project.llm.responder = with_siglip


def test_build_writes_the_summary_to_the_file_and_appends_to_github_step_summary(
    project: Project, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    step_summary = project.root / "step_summary.md"
    step_summary.write_text("## an earlier step\n", encoding="utf-8")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(step_summary))
    one_failed_one_flagged(project)

    assert project.run("build", "--summary", "summary.md") == 1
    stderr = capsys.readouterr().err
    text = (project.root / "summary.md").read_text(encoding="utf-8")
    assert step_summary.read_text(encoding="utf-8") == "## an earlier step\n" + text
    lines = text.splitlines()
    assert lines[0] == "## DeepSeek Paper Reading: build"
    assert "**Exit 1**: ⚠️ some papers failed (the others are written)" in lines
    header = lines.index("| done | skipped | failed | deferred | flagged ❓ | watch candidates |")
    assert lines[header + 2] == "| 2 | 0 | 1 | 0 | 1 | 0 |"
    failed = lines[lines.index("### Failed (1)") + 2]
    assert failed.startswith(f"- `{V2}` DeepSeek V2: ") and "the PDF is truncated" in failed
    done = lines.index("### Done (2)")
    assert re.fullmatch(rf"- `{LLM}` DeepSeek LLM: no summary yet; \d+ tokens", lines[done + 2])
    assert re.fullmatch(rf"- `{MOE}` DeepSeek MoE: no summary yet; \d+ tokens", lines[done + 3])
    flagged = lines.index("### Flagged ❓ (terms the paper does not use)")
    assert lines[flagged + 2] == f"- `{MOE}` DeepSeek MoE: SigLIP"
    prompt, completion = re.search(r"; (\d+) prompt \+ (\d+) completion", stderr).groups()
    assert lines[-3:] == [
        "| prompt | cached prompt | completion | cost | prices | requests at peak |",
        "|---:|---:|---:|---:|---|---:|",
        f"| {prompt} | 0 | {completion} | unknown | no prices for fake-model | – |",
    ]

    # the next build redoes the failed paper; the summary says so, and the flag stays listed
    assert project.run("build", "--summary", "summary.md") == 0
    text = (project.root / "summary.md").read_text(encoding="utf-8")
    assert "**Exit 0**: ✅ all done" in text and "### Failed" not in text
    assert f"### Done (1)\n\n- `{V2}` DeepSeek V2: " in text
    assert f"- `{MOE}` DeepSeek MoE: SigLIP" in text


def test_summary_lists_watch_candidates_and_escapes_untrusted_text(project: Project) -> None:
    config = load_config(project.config)
    report = BuildReport(
        outcomes=[
            Outcome(LLM, "failed", "model request rejected: | <img src=x onerror=alert(1)>\n## x"),
            Outcome(V2, "done", "new paper; 1300 tokens"),
        ],
        new_candidates=[
            ("2502.12345", "Native Sparse Attention | <b>fast</b> [x](http://e.vil)", "DeepSeek-AI")
        ],
        watch_notes=["watch 'DeepSeek-AI' found nothing for 30 days"],
        papers_added=[("2502.00002", "NSA *fast*", "MoE")],
        usage=Usage(prompt_tokens=1000, completion_tokens=300),
    )
    text = render_summary(report, config, flagged=[])
    lines = text.splitlines()
    assert "| 1 | 0 | 1 | 0 | 0 | 1 |" in lines
    candidates = lines.index("### Watch candidates (1)")
    assert lines[candidates + 2] == "- `2502.00002` NSA \\*fast\\* (watch MoE): added to the list"
    assert lines[candidates + 3] == (
        "- `2502.12345` Native Sparse Attention \\| &lt;b&gt;fast&lt;/b&gt; \\[x\\]"
        "\\(http:\\/\\/e.vil) (watch DeepSeek-AI) `python -m pipeline add 2502.12345`"
    )
    assert lines[candidates + 4] == "- ⚠️ watch 'DeepSeek-AI' found nothing for 30 days"
    (failed,) = [line for line in lines if line.startswith(f"- `{LLM}`")]
    assert "<img" not in text and "\n## x" not in text
    assert failed.endswith("\\| &lt;img src=x onerror=alert(1)&gt; ## x")
    assert lines[-1] == "| 1000 | 0 | 300 | – | – | – |"


def test_arxiv_unreachable_is_one_quoted_line_and_the_papers_one_item(
    project: Project, tmp_path: Path
) -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    try:
        project.write_config(
            config_text(f"http://127.0.0.1:{port}/api/query", project.llm.base_url)
        )
        assert project.run("build", "--summary", "summary.md") == 1
    finally:
        sock.close()
    text = (project.root / "summary.md").read_text(encoding="utf-8")
    assert f"> ⛔ arXiv unreachable: 127.0.0.1:{port}: connection refused, 2 tries\n" in text
    ids = ", ".join(f"`{p}`" for p in sorted((V2, LLM, MOE)))
    assert f"### Failed (3)\n\n- 3 papers: arXiv unreachable: {ids}\n" in text


def test_a_build_stopped_by_the_config_still_leaves_a_summary(
    project: Project, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    step_summary = project.root / "step_summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(step_summary))
    monkeypatch.delenv("TEST_LLM_KEY")
    assert project.run("build") == 2
    text = step_summary.read_text(encoding="utf-8")
    assert "**Exit 2**: ⛔ bad usage, config or environment: nothing was built" in text
    assert "TEST\\_LLM\\_KEY" in text  # the one error line, escaped
    assert project.llm.bodies == []


def test_summary_folder_must_exist(project: Project, capsys: pytest.CaptureFixture[str]) -> None:
    assert project.run("build", "--summary", "no/such/folder/summary.md") == 2
    assert (
        "--summary no/such/folder/summary.md: no folder no/such/folder" in capsys.readouterr().err
    )
    assert project.arxiv.requests == []


def test_dry_run_and_no_summary_asked_write_none(project: Project) -> None:
    assert project.run("build", "--dry-run", "--summary", "summary.md") == 0
    assert project.run("build") == 0
    assert sorted(p.name for p in project.root.iterdir() if p.suffix == ".md") == []

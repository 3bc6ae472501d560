"""`doctor`: one line per check, the next build's plan, exit 0 or 2, and never a PDF download."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from pipeline.llm.prices import database_version
from tests.support.fake_providers import DeepSeekFake, OllamaFake, VllmFake
from tests.support.project import Project
from tests.support.provider_kit import Use, every_request, use

__all__ = ["use"]  # the fixture


def doctor(project: Project, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    code = project.run("doctor")
    out = capsys.readouterr()
    lines = out.out.splitlines() + out.err.splitlines()
    assert all(len(line) <= 200 for line in lines)
    assert "Traceback" not in out.err
    return code, lines


def problems(lines: list[str]) -> list[str]:
    return [line for line in lines if line.startswith("  problem: ")]


def test_doctor_passes_a_working_config_without_downloading(
    use: Use, capsys: pytest.CaptureFixture[str]
) -> None:
    project = use(DeepSeekFake(), "deepseek-v4-flash", 'provider = "deepseek"')
    code, lines = doctor(project, capsys)
    assert code == 0
    assert lines[0].startswith("  ok: arXiv answered: 2405.04434v5 DeepSeek-V2")
    assert re.fullmatch(
        r"  ok: 127\.0\.0\.1:\d+ \(deepseek\) accepts the key in TEST_LLM_KEY, knows "
        r"deepseek-v4-flash and answers in JSON mode",
        lines[1],
    )
    assert lines[2] == "  ok: no reasoning tokens in the answer"  # thinking turned off
    window = f"context 1000000 tokens ({database_version()})"  # the database knows the model
    assert lines[3] == f"  ok: {window} holds a full prompt and answer"
    assert lines[-3].startswith("next build: 3 papers to summarise, up to ~")
    assert lines[-2].startswith("  cost: up to ~$0.0") and "genai-prices" in lines[-2]
    assert lines[-1] == "doctor: this config can work"
    assert project.arxiv.pdf_calls == []  # no PDF
    assert project.arxiv.api_calls == [["2405.04434"]]  # one tiny metadata request
    assert not (project.root / ".cache" / "pdf").exists()
    assert len(every_request(project.llm)) == 1  # the preflight: genai-prices knows the context


def test_doctor_stops_on_an_unknown_model(use: Use, capsys: pytest.CaptureFixture[str]) -> None:
    project = use(DeepSeekFake(), "deepseek-chat", 'provider = "deepseek"')  # retired
    code, lines = doctor(project, capsys)
    assert code == 2
    (problem,) = problems(lines)
    assert "does not know llm.model 'deepseek-chat'" in problem
    assert lines[-1] == "doctor: 1 problem(s): this config cannot work yet"
    assert project.llm.bodies == []  # only the test request
    assert project.arxiv.pdf_calls == []


def test_doctor_finds_a_context_that_cuts_our_prompt(
    use: Use, capsys: pytest.CaptureFixture[str]
) -> None:
    project = use(OllamaFake(num_ctx=4096), "qwen3:8b", 'provider = "ollama"')
    code, lines = doctor(project, capsys)
    assert code == 2
    (problem,) = problems(lines)
    assert "to 4096 tokens (its context)" in problem
    assert "num_ctx" in problem and "OLLAMA_CONTEXT_LENGTH" in problem
    assert "llm.max_input_tokens" in problem
    assert project.arxiv.pdf_calls == []


def test_doctor_reads_a_too_small_vllm_context_from_its_models_list(
    use: Use, capsys: pytest.CaptureFixture[str]
) -> None:
    project = use(VllmFake(max_model_len=8192), "Qwen/Qwen3-8B", 'provider = "vllm"')
    code, lines = doctor(project, capsys)
    assert code == 2
    (problem,) = problems(lines)
    assert "context 8192 tokens (vLLM max_model_len) cannot hold a ~" in problem
    assert "--max-model-len" in problem


def test_doctor_without_the_key_names_the_variable(
    project: Project, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TEST_LLM_KEY")
    code, lines = doctor(project, capsys)
    assert code == 2
    (problem,) = problems(lines)
    assert problem.startswith("  problem: environment variable TEST_LLM_KEY is not set")
    assert every_request(project.llm) == [] and project.arxiv.pdf_calls == []


def test_doctor_estimates_the_cost_with_the_config_prices(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    text = project.config.read_text(encoding="utf-8")
    prices = "price_per_million_input = 1.0\nprice_per_million_output = 2.0\n"
    project.write_config(
        text.replace("max_input_tokens = 12000\n", "max_input_tokens = 12000\n" + prices)
    )
    code, lines = doctor(project, capsys)
    assert code == 0
    plan = lines[-3]
    prompt, completion = (int(n) for n in re.findall(r"~(\d+) ", plan)[:2])
    assert completion == 3 * 1500
    assert plan.endswith("(llm.max_input_tokens 12000; 3 papers' size guessed at 12000)")
    assert (
        lines[-2]
        == f"  cost: up to ~{Decimal(prompt + completion * 2) / 1_000_000:.4f} at config prices"
    )

"""`doctor`: one line per check, the next build's plan, exit 0 or 2, and never a PDF download."""

from __future__ import annotations

import pytest

from tests.conftest import Project


@pytest.fixture
def endpoint(project: Project) -> Project:
    """The fake model knows only fake-model and counts the prompt it gets."""
    project.llm.models = {"fake-model"}
    project.llm.count_prompt = True
    return project


def doctor(project: Project, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    code = project.run("doctor")
    out = capsys.readouterr()
    lines = out.out.splitlines() + out.err.splitlines()
    assert all(len(line) <= 200 for line in lines)
    return code, lines


def test_doctor_passes_a_working_config_without_downloading(
    endpoint: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    code, lines = doctor(endpoint, capsys)
    assert code == 0
    assert lines[0].startswith("  ok: arXiv answered: 2405.04434v5 DeepSeek-V2")
    assert "  ok: key in TEST_LLM_KEY accepted by 127.0.0.1:" in lines[1]
    assert "  ok: model fake-model answers in JSON mode" in lines
    assert "  ok: reasoning off: no reasoning tokens or text in the answer" in lines
    assert any(line.startswith("  ok: context holds a ") for line in lines)
    assert lines[-2].startswith("next build: 3 papers to summarise, up to ~")
    assert lines[-1] == "doctor: this config can work"
    assert endpoint.arxiv.pdf_calls == []  # no PDF
    assert endpoint.arxiv.api_calls == [["2405.04434"]]  # one tiny metadata request
    assert not (endpoint.root / ".cache" / "pdf").exists()


def test_doctor_stops_on_an_unknown_model(
    endpoint: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    endpoint.llm.models = {"deepseek-v4-flash"}
    code, lines = doctor(endpoint, capsys)
    assert code == 2
    problems = [line for line in lines if line.startswith("  problem: ")]
    assert problems == [
        f"  problem: model 'fake-model' unknown to {endpoint.llm.url.split('//')[1]} (HTTP 404): "
        "check llm.model and llm.base_url"
    ]
    assert lines[-1] == "doctor: 1 problem(s): this config cannot work yet"
    assert endpoint.llm.unknown_model == ["fake-model"] and endpoint.llm.bodies == []
    assert endpoint.arxiv.pdf_calls == []


def test_doctor_finds_a_context_that_cuts_our_prompt(
    endpoint: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    endpoint.llm.context = 4096  # Ollama's default: a longer prompt is cut silently
    code, lines = doctor(endpoint, capsys)
    assert code == 2
    (problem,) = [line for line in lines if line.startswith("  problem: ")]
    assert "to 4096 tokens (its context)" in problem
    assert "num_ctx / OLLAMA_CONTEXT_LENGTH" in problem and "llm.max_input_tokens" in problem


def test_doctor_without_the_key_names_the_variable(
    endpoint: Project, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TEST_LLM_KEY")
    code, lines = doctor(endpoint, capsys)
    assert code == 2
    assert any(
        line.startswith("  problem: environment variable TEST_LLM_KEY is not set") for line in lines
    )
    assert endpoint.llm.bodies == [] and endpoint.arxiv.pdf_calls == []


def test_doctor_estimates_the_cost_with_the_config_prices(
    endpoint: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    text = endpoint.config.read_text(encoding="utf-8")
    prices = "price_per_million_input = 1.0\nprice_per_million_output = 2.0\n"
    endpoint.write_config(
        text.replace("max_input_tokens = 12000\n", "max_input_tokens = 12000\n" + prices)
    )
    code, lines = doctor(endpoint, capsys)
    assert code == 0
    plan = lines[-2]
    prompt, completion = (int(n) for n in __import__("re").findall(r"~(\d+) ", plan)[:2])
    assert completion == 3 * 1500
    assert plan.endswith(f", cost up to ~{(prompt * 1.0 + completion * 2.0) / 1e6:.4f}")

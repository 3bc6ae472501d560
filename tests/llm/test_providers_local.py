"""Local model servers (Ollama, vLLM, llama.cpp) and any endpoint's wrong URL, missing JSON mode
or outage, through the real CLI and the real openai client; the [llm] keys' validation.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from pipeline.llm.providers import detect, openai_effort_floor
from tests.support.fake_providers import LlamaCppFake, OllamaFake, ProviderFake, VllmFake
from tests.support.fakes import FakeLLM, completion, prompt_tokens
from tests.support.project import PAPERS, Project, config_text
from tests.support.provider_kit import (
    LONG_IDS,
    SHORT_IDS,
    Use,
    every_request,
    failed,
    state,
    use,
    with_long_papers,
)

__all__ = ["use"]  # the fixture

# -- Ollama --------------------------------------------------------------------------------------


def test_ollama_4096_fails_exactly_the_long_papers_and_stores_none_of_their_answers(
    use: Use, project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    papers = with_long_papers(project)
    fake = OllamaFake(num_ctx=4096)
    project = use(fake, "qwen3:8b", 'provider = "ollama"', papers=papers)
    assert project.run("build") == 1
    err = capsys.readouterr().err
    reasons = failed(err)
    assert sorted(reasons) == LONG_IDS
    for paper_id in LONG_IDS:
        assert reasons[paper_id].startswith("the endpoint cut the prompt to its context (4096 of ~")
        assert reasons[paper_id].endswith(
            "tokens read): raise num_ctx (Modelfile) or OLLAMA_CONTEXT_LENGTH, or lower "
            "llm.max_input_tokens (now 12000)"
        )
        assert state(project, paper_id)["summary"] is None
    assert all(state(project, p)["summary"] for p in SHORT_IDS)
    assert fake.truncated == 2 and set(fake.efforts) == {None}  # reasoning_effort "none"
    assert all(len(line) <= 200 for line in err.splitlines())

    # the advice works: a smaller text budget fits the context
    text = project.config.read_text(encoding="utf-8")
    project.write_config(text.replace("max_input_tokens = 12000", "max_input_tokens = 2500"))
    assert project.run("build") == 0
    assert all(state(project, p)["summary"] for p in LONG_IDS) and fake.truncated == 2


def test_ollama_unknown_model_is_exit_2(use: Use, capsys: pytest.CaptureFixture[str]) -> None:
    project = use(OllamaFake(model="qwen3:8b"), "llama9", 'provider = "ollama"')
    assert project.run("build") == 2
    line = capsys.readouterr().err.splitlines()[-1]
    assert "does not know llm.model 'llama9'" in line and "try pulling it first" in line
    assert project.llm.bodies == [] and not project.output.exists()


# -- vLLM and llama.cpp --------------------------------------------------------------------------


def test_vllm_context_400_is_retried_once_with_a_budget_that_fits(
    use: Use, project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    papers = with_long_papers(project)
    fake = VllmFake(max_model_len=8192)
    project = use(fake, "Qwen/Qwen3-8B", 'provider = "vllm"', papers=papers)
    assert project.run("build", "--jobs", "1") == 0
    err = capsys.readouterr().err
    assert [status for status, _ in fake.errors] == [400]  # learnt once for the run
    for paper_id in LONG_IDS:
        stored = state(project, paper_id)
        assert stored["summary"]["bullets"] and stored["input"]["tokens"] < 5000
        assert f"{paper_id}: the prompt exceeds the model's context (8192 tokens)" in err
    for body in every_request(fake):
        assert body["chat_template_kwargs"] == {"enable_thinking": False}


def test_vllm_thinking_and_fences_never_reach_the_stored_summary(use: Use) -> None:
    fake = VllmFake()
    project = use(fake, "Qwen/Qwen3-8B", 'provider = "vllm"\nreasoning = "low"')
    assert project.run("build") == 0
    for paper_id in SHORT_IDS:
        text = json.dumps(state(project, paper_id)["summary"], ensure_ascii=False)
        assert "think" not in text and "```" not in text


@pytest.mark.parametrize(("n_ctx", "code"), [(4096, 0), (2048, 1)])
def test_llamacpp_context_400_refits_or_fails_with_the_advice(
    use: Use, project: Project, capsys: pytest.CaptureFixture[str], n_ctx: int, code: int
) -> None:
    papers = with_long_papers(project)
    fake = LlamaCppFake(n_ctx=n_ctx)
    project = use(fake, "gemma-3-270m", 'provider = "llamacpp"', papers=papers)
    assert project.run("build", "--jobs", "1") == code
    reasons = failed(capsys.readouterr().err)
    if code == 0:
        assert reasons == {} and all(state(project, p)["summary"] for p in LONG_IDS)
        return
    advice = (
        "prompt exceeds the model's context length (2048 tokens): start the server with a larger "
        "context (-c / --ctx-size, n_ctx), or lower llm.max_input_tokens (now 12000)"
    )
    assert reasons == {paper_id: advice for paper_id in LONG_IDS}
    # one 400 teaches the run the context: the other long paper is not sent at all
    assert len(fake.errors) == 1 and len(fake.bodies) == len(PAPERS) + 1


# -- any endpoint: wrong URL, no JSON mode, down mid-run ----------------------------------------


def test_wrong_base_url_is_exit_2_naming_it(use: Use, capsys: pytest.CaptureFixture[str]) -> None:
    fake = FakeLLM()
    project = use(fake, "fake-model")
    wrong = fake.url  # without /v1
    project.write_config(project.config.read_text().replace(fake.base_url, wrong))
    assert project.run("build") == 2
    assert capsys.readouterr().err.splitlines()[-1] == (
        f"error: model endpoint {wrong} answered HTTP 404 to POST /chat/completions: check "
        "llm.base_url (OpenAI-compatible servers usually want it to end in /v1)"
    )
    assert fake.stray_paths == ["/chat/completions"] and not project.output.exists()


def test_endpoint_that_cannot_be_reached_is_exit_2(
    use: Use, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = FakeLLM()
    project = use(fake, "fake-model")
    fake.stop()  # nothing listens on its port any more
    assert project.run("build") == 2
    assert capsys.readouterr().err.splitlines()[-1] == (
        f"error: cannot reach model endpoint {fake.base_url} (connection refused): check "
        "llm.base_url, or start the server"
    )


class NoJsonMode(ProviderFake):
    """An endpoint that refuses response_format."""

    def respond(self, body: dict[str, Any], auth: str = "") -> tuple[int, bytes, str]:
        return self.error(400, "response_format is not supported by this server")


class IgnoresJsonMode(FakeLLM):
    """An endpoint that takes response_format and ignores it: the model answers in prose."""

    def respond(self, body: dict[str, Any], auth: str = "") -> tuple[int, bytes, str]:
        message = {"role": "assistant", "content": "Sure! Here is what you asked for: ok."}
        usage = self.usage(prompt_tokens(body), 9)
        return 200, completion(body, message, "stop", usage), "application/json"


@pytest.mark.parametrize("fake_type", [NoJsonMode, IgnoresJsonMode])
def test_endpoint_without_json_mode_is_exit_2(
    use: Use, capsys: pytest.CaptureFixture[str], fake_type: type[FakeLLM]
) -> None:
    fake = fake_type()
    project = use(fake, "fake-model")
    assert project.run("build") == 2
    line = capsys.readouterr().err.splitlines()[-1]
    assert "JSON mode (response_format json_object)" in line and line.startswith("error: ")
    assert fake.bodies == [] and not project.output.exists()


def test_endpoint_down_mid_run_is_said_once(
    use: Use, project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = FakeLLM()

    def go_down(body: dict[str, Any]) -> tuple[int, Any]:
        fake.httpd.shutdown()  # stop listening; this request gets no answer either
        fake.httpd.server_close()
        raise ConnectionError("the server went away")

    fake.responder = go_down
    project = use(fake, "fake-model")
    assert project.run("build", "--jobs", "1") == 1
    err = capsys.readouterr().err
    host = fake.base_url.split("//")[1].split("/")[0]
    said = [line for line in err.splitlines() if "unreachable:" in line]
    assert said == [f"error: model endpoint {host} unreachable: connection refused"]
    ids = ", ".join(sorted(SHORT_IDS))  # the papers it hit: one line, the cause not repeated
    assert failed(err) == {"3 papers (model endpoint unreachable)": ids}
    assert "FAILED" not in err
    assert len(fake.bodies) == 1  # the others were not asked


# -- the provider from base_url -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "provider"),
    [
        ("https://api.deepseek.com", "deepseek"),
        ("https://api.deepseek.com/v1", "deepseek"),
        ("https://api.openai.com/v1", "openai"),
        ("https://openrouter.ai/api/v1", "openrouter"),
        ("http://localhost:11434/v1", "ollama"),
        ("http://gpu-box:8000/v1", "generic"),
    ],
)
def test_provider_auto_follows_the_base_url(url: str, provider: str) -> None:
    assert detect(url) == provider


@pytest.mark.parametrize(
    ("model", "floor"),
    [
        ("gpt-5.4", "none"),
        ("gpt-5.1", "none"),
        ("gpt-5-mini", "minimal"),
        ("o4-mini", "low"),
        ("gpt-4.1", None),
    ],
)
def test_openai_reasoning_off_is_the_models_lowest_effort(model: str, floor: str | None) -> None:
    assert openai_effort_floor(model) == floor


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (
            'provider = "azure"',
            "llm.provider must be one of auto | deepseek | openai | ollama | "
            "vllm | llamacpp | openrouter | generic, got 'azure'",
        ),
        ('reasoning = "max"', "llm.reasoning must be one of off | low | medium | high, got 'max'"),
        ("temperature = 3", "llm.temperature must be between 0 and 2, got 3"),
        ('extra_body = "x"', "llm.extra_body must be a table, like extra_body = { ... }"),
        ("max_output_tokens = 0", "llm.max_output_tokens must be at least 16, got 0"),
        (
            'price_per_million_cached_input = "1"',
            "llm.price_per_million_cached_input must be a number, got '1'",
        ),
    ],
)
def test_bad_llm_settings_are_one_line_exit_2(
    project: Project, capsys: pytest.CaptureFixture[str], line: str, message: str
) -> None:
    project.write_config(config_text(project.arxiv.api_url, project.llm.base_url, extra_llm=line))
    assert project.run("build") == 2
    assert capsys.readouterr().err == f"error: {project.config}: {message}\n"
    assert project.arxiv.requests == [] and project.llm.preflights == []

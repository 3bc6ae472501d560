"""Real model endpoints, as DESIGN.md's "Endpoint facts that bite" describe them, through the real
CLI and the real openai client: what each provider fake rejects, ignores, thinks or cuts, and
what a user sees (exit code, the one line, what is stored).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from pipeline.llm.providers import detect, openai_effort_floor
from tests.conftest import FIXTURE_PDFS, PAPERS, Project, config_text
from tests.fake_providers import (
    DeepSeekFake,
    LlamaCppFake,
    OllamaFake,
    OpenAIFake,
    ProviderFake,
    VllmFake,
)
from tests.fakes import FakeLLM, FakePaper, completion, prompt_tokens

LONG = [  # two real papers: their prompts fill the 12000-token budget
    ("2406.11931", 1, "DeepSeek-Coder-V2: Breaking the Barrier", "2024-06-17", "Coder V2", "Coder"),
    ("2408.08152", 1, "DeepSeek-Prover-V1.5: Harnessing Proof", "2024-08-15", "Prover", "Prover"),
]
SHORT_IDS = sorted(p[0] for p in PAPERS)
LONG_IDS = sorted(p[0] for p in LONG)
KEY = "TEST_LLM_KEY"

Use = Callable[..., Project]


@pytest.fixture
def use(project: Project) -> Iterator[Use]:
    """Point the project at a provider fake: `use(fake, model, "llm lines", papers=...)`."""
    started: list[FakeLLM] = []

    def _use(fake: FakeLLM, model: str, lines: str = "", papers: list = PAPERS) -> Project:
        if fake not in started:
            fake.start()
            started.append(fake)
        text = config_text(project.arxiv.api_url, fake.base_url, papers=papers, extra_llm=lines)
        project.write_config(text.replace('model = "fake-model"', f'model = "{model}"'))
        return Project(project.root, project.arxiv, fake)

    yield _use
    for fake in started:
        fake.stop()


def with_long_papers(project: Project) -> list:
    for paper_id, version, title, date, _, _ in LONG:
        pdf = (FIXTURE_PDFS / f"{paper_id}.pdf").read_bytes()
        project.arxiv.add(FakePaper(paper_id, version, title, date, pdf))
    return PAPERS + LONG


def state(project: Project, paper_id: str) -> dict[str, Any]:
    return json.loads((project.output / "data" / f"{paper_id}.json").read_text(encoding="utf-8"))


def failed(err: str) -> dict[str, str]:
    """{paper ID: reason} from the closing summary's failed lines."""
    lines = [line.split(": ", 2) for line in err.splitlines() if line.startswith("  failed: ")]
    return {parts[1]: parts[2] for parts in lines}


def every_request(fake: FakeLLM) -> list[dict[str, Any]]:
    return fake.preflights + fake.bodies


# -- DeepSeek V4 ---------------------------------------------------------------------------------


def test_deepseek_builds_every_paper_and_no_request_thinks(
    use: Use, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = DeepSeekFake(key="sk-test-0123456789abcdef")
    project = use(fake, "deepseek-v4-flash", 'provider = "deepseek"\ntemperature = 0.3')
    assert project.run("build") == 0
    err = capsys.readouterr().err
    assert "build: 3 done, 0 skipped, 0 failed" in err
    assert fake.errors == []
    assert fake.efforts == [None] * 4  # the preflight and three papers: thinking disabled
    for body in every_request(fake):
        assert body["thinking"] == {"type": "disabled"} and "reasoning_effort" not in body
        assert body["temperature"] == 0.3
    assert [b["max_tokens"] for b in fake.bodies] == [8192] * 3
    for paper_id in SHORT_IDS:
        usage = state(project, paper_id)["usage"]
        assert usage["reasoning_tokens"] == 0 and usage["attempts"] == 1
    assert project.run("build") == 0  # the nightly run with nothing changed: no model request
    assert len(fake.preflights) == 1 and len(fake.bodies) == 3


def test_deepseek_reasoning_low_is_counted_and_only_the_content_is_stored(
    use: Use, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = DeepSeekFake()
    project = use(fake, "deepseek-v4-flash", 'provider = "deepseek"\nreasoning = "low"')
    assert project.run("build") == 0
    assert fake.efforts == ["low"] * 4
    assert all(b["thinking"] == {"type": "enabled"} for b in fake.bodies)
    for paper_id in SHORT_IDS:
        stored = state(project, paper_id)
        assert stored["usage"]["reasoning_tokens"] == DeepSeekFake.REASONING["low"]
        assert "嗯" not in json.dumps(stored["summary"], ensure_ascii=False)
    reasoning = sum(u["completion_tokens_details"]["reasoning_tokens"] for u in fake.usages)
    assert reasoning == 3 * DeepSeekFake.REASONING["low"] + 64  # the preflight stops at its cap
    assert f"({reasoning} reasoning)" in capsys.readouterr().err


def test_deepseek_cache_hits_are_shown_and_priced(
    use: Use, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = DeepSeekFake()
    prices = (
        "price_per_million_input = 1.0\nprice_per_million_cached_input = 0.02\n"
        "price_per_million_output = 2.0"
    )
    project = use(fake, "deepseek-v4-flash", f'provider = "deepseek"\n{prices}')
    assert project.run("build", "--jobs", "1") == 0
    usages = fake.usages
    prompt, cached = (
        sum(u["prompt_tokens"] for u in usages),
        sum(u["prompt_cache_hit_tokens"] for u in usages),
    )
    completion = sum(u["completion_tokens"] for u in usages)
    assert cached > 0  # the system prompt, from the second paper on
    cost = ((prompt - cached) * 1.0 + cached * 0.02 + completion * 2.0) / 1e6
    assert (
        f"; {prompt} prompt ({cached} cached) + {completion} completion tokens (cost {cost:.4f});"
    ) in capsys.readouterr().err
    stored = [state(project, p)["usage"]["cached_prompt_tokens"] for p in SHORT_IDS]
    assert sorted(stored)[0] == 0 and sum(stored) == cached


@pytest.mark.parametrize("model", ["deepseek-chat", "deepseek-v9"])
def test_unknown_model_stops_before_any_pdf_download(
    use: Use, capsys: pytest.CaptureFixture[str], model: str
) -> None:
    fake = DeepSeekFake()
    project = use(fake, model, 'provider = "deepseek"')
    assert project.run("build") == 2
    err = capsys.readouterr().err.splitlines()
    host = fake.base_url.split("//")[1].split("/")[0]
    assert err[-1] == (
        f"error: model endpoint {host} does not know llm.model '{model}' (Model Not Exist); "
        "check the name"
    )
    assert project.arxiv.pdf_calls == [] and fake.bodies == [] and len(fake.preflights) == 1


def test_refused_key_stops_before_any_pdf_download_and_names_the_variable(
    use: Use, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = DeepSeekFake(key="sk-another-key")
    project = use(fake, "deepseek-v4-flash", 'provider = "deepseek"')
    assert project.run("build") == 2
    err = capsys.readouterr().err
    assert err.splitlines()[-1] == (
        f"error: model endpoint {fake.base_url} refused the key in {KEY} (HTTP 401); "
        "check that variable"
    )
    assert "sk-test" not in err
    assert project.arxiv.pdf_calls == [] and fake.bodies == []


def test_finish_reasons_filter_busy_and_blank(
    use: Use, capsys: pytest.CaptureFixture[str], no_sleep: list[float]
) -> None:
    fake = DeepSeekFake()
    project = use(fake, "deepseek-v4-flash", 'provider = "deepseek"')
    llm, moe, v2 = SHORT_IDS
    fake.finishes = ["content_filter"]
    assert project.run("build", "--only", llm) == 1
    assert failed(capsys.readouterr().err) == {
        llm: "the endpoint's content filter stopped the answer"
    }
    fake.finishes = ["insufficient_system_resource", "insufficient_system_resource"]
    assert project.run("build", "--only", moe) == 0  # retried like a 503: the waits are logged
    assert no_sleep == [2.0, 4.0]
    assert "Sleeping: 2.00 seconds" in capsys.readouterr().err
    fake.responder = lambda body: (200, "这是一段不是 JSON 的回答。")  # blanked by JSON mode
    assert project.run("build", "--only", v2) == 1
    assert failed(capsys.readouterr().err) == {
        v2: "the model's answer was empty twice (finish_reason stop)"
    }
    assert state(project, v2)["summary"] is None


# -- OpenAI GPT-5.x ------------------------------------------------------------------------------


def test_gpt5_with_temperature_in_the_config_builds_all_after_one_400(
    use: Use, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = OpenAIFake(key="sk-test-0123456789abcdef")
    project = use(fake, "gpt-5.4", 'provider = "openai"\ntemperature = 0.3')
    assert project.run("build") == 0
    err = capsys.readouterr().err
    assert "build: 3 done, 0 skipped, 0 failed" in err
    assert [status for status, _ in fake.errors] == [400]
    said = [line for line in err.splitlines() if "rejected 'temperature'" in line]
    assert said == [
        "model endpoint rejected 'temperature' (Unsupported value: 'temperature' does not "
        "support 0.3 with this model. Only the default (…): not sending it from now on"
    ]
    assert "temperature" in fake.preflights[0] and len(fake.preflights) == 2
    for body in fake.preflights[1:] + fake.bodies:
        assert "temperature" not in body and "thinking" not in body
        assert body["reasoning_effort"] == "none"
    assert [b["max_completion_tokens"] for b in fake.bodies] == [8192] * 3
    assert set(fake.efforts) == {None}


def test_gpt5_behind_a_generic_provider_adapts_with_at_most_two_400s(
    use: Use, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = OpenAIFake()
    project = use(fake, "gpt-5.4", "temperature = 0.3")  # provider auto: 127.0.0.1 is generic
    assert project.run("build") == 0
    assert [message.split(":")[0] for _, message in fake.errors] == [
        "Unsupported parameter",
        "Unsupported value",
    ]
    for body in fake.bodies:
        assert body["max_completion_tokens"] == 8192
        assert "max_tokens" not in body and "temperature" not in body
    assert "build: 3 done" in capsys.readouterr().err


def test_an_extra_body_field_the_endpoint_rejects_is_dropped_once(
    use: Use, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = OpenAIFake()
    lines = 'provider = "openai"\nextra_body = { thinking = { type = "disabled" }, seed = 7 }'
    project = use(fake, "gpt-5.4", lines)
    assert project.run("build") == 0
    assert fake.errors == [(400, "Unrecognized request argument supplied: thinking")]
    assert all("thinking" not in b and b["seed"] == 7 for b in fake.bodies)
    assert "model endpoint rejected 'thinking'" in capsys.readouterr().err


def test_gpt5_original_gets_its_own_lowest_effort(use: Use) -> None:
    fake = OpenAIFake()
    project = use(fake, "gpt-5", 'provider = "openai"')
    assert project.run("build") == 0
    assert fake.errors == [] and set(fake.efforts) == {"minimal"}


def test_an_answer_cut_at_the_cap_is_asked_again_with_a_higher_cap(
    use: Use, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = OpenAIFake()
    lines = 'provider = "openai"\nreasoning = "low"\nmax_output_tokens = 600'
    project = use(fake, "gpt-5.4", lines)
    assert project.run("build", "--only", SHORT_IDS[0]) == 0
    assert [b["max_completion_tokens"] for b in fake.bodies] == [600, 1200]
    stored = state(project, SHORT_IDS[0])
    assert stored["summary"]["bullets"] and stored["usage"]["attempts"] == 2
    assert "answer cut at the output cap; asking again with 1200 tokens" in capsys.readouterr().err


def test_an_answer_cut_twice_fails_naming_max_output_tokens(
    use: Use, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = OpenAIFake()
    project = use(
        fake, "gpt-5.4", 'provider = "openai"\nreasoning = "high"\nmax_output_tokens = 900'
    )
    assert project.run("build", "--only", SHORT_IDS[0]) == 1
    assert failed(capsys.readouterr().err) == {
        SHORT_IDS[0]: "answer cut at the output cap again (1800 tokens); raise "
        "llm.max_output_tokens (now 900)"
    }
    assert [b["max_completion_tokens"] for b in fake.bodies] == [900, 1800]
    assert state(project, SHORT_IDS[0])["summary"] is None


def test_gpt5_unknown_model_is_exit_2_before_any_download(
    use: Use, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = OpenAIFake()
    project = use(fake, "gpt-5.9-turbo", 'provider = "openai"')
    assert project.run("build") == 2
    line = capsys.readouterr().err.splitlines()[-1]
    assert line.startswith("error: model endpoint ") and "'gpt-5.9-turbo'" in line
    assert project.arxiv.pdf_calls == []


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
    assert project.arxiv.pdf_calls == []


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
    assert fake.stray_paths == ["/chat/completions"] and project.arxiv.pdf_calls == []


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
    assert project.arxiv.pdf_calls == []


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
    assert failed(err) == {p: "model endpoint unreachable" for p in SHORT_IDS}
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

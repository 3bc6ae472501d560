"""Cloud model endpoints as DESIGN.md's "Endpoint facts that bite" describe them (DeepSeek V4,
OpenAI GPT-5.x), through the real CLI and the real openai client: what each fake rejects,
ignores or thinks, and what a user sees (exit code, the one line, what is stored).
"""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from tests.support.fake_providers import DeepSeekFake, OpenAIFake
from tests.support.fakes import Fault
from tests.support.project import API_KEY, PAPERS, fake_paper
from tests.support.provider_kit import KEY, SHORT_IDS, Use, every_request, failed, state, use

__all__ = ["use"]  # the fixture

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
    cost = ((prompt - cached) * 1 + cached * Decimal("0.02") + completion * 2) / 1_000_000
    assert (
        f"; {prompt} prompt ({cached} cached) + {completion} completion tokens "
        f"(cost {cost:.4f}, config prices);"
    ) in capsys.readouterr().err
    stored = [state(project, p)["usage"]["cached_prompt_tokens"] for p in SHORT_IDS]
    assert sorted(stored)[0] == 0 and sum(stored) == cached


@pytest.mark.parametrize("model", ["deepseek-chat", "deepseek-v9"])
def test_unknown_model_stops_before_any_model_request(
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
    assert fake.bodies == [] and len(fake.preflights) == 1 and not project.output.exists()


def test_refused_key_stops_before_any_model_request_and_names_the_variable(
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
    assert fake.bodies == [] and not project.output.exists()


@pytest.mark.parametrize("pdf_fails", [False, True])
def test_a_refused_key_while_a_pdf_downloads_marks_nothing_and_changes_no_output(
    use: Use, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, pdf_fails: bool
) -> None:
    """Downloads no longer wait for the preflight: the 401 is written while a PDF is held in
    flight. The build still stops with exit 2 and one line, before any paper's model request,
    marks no paper failed (not even the one whose download fails) and leaves output/
    byte-identical."""
    fake = DeepSeekFake(key=API_KEY)
    project = use(fake, "deepseek-v4-flash", 'provider = "deepseek"')
    assert project.run("build") == 0
    before, asked = project.snapshot(), len(fake.bodies)
    capsys.readouterr()
    _, _, title, _, _, _ = PAPERS[1]
    project.arxiv.add(fake_paper(PAPERS[1][0], 2, title, "2024-03-01"))  # a new version
    if pdf_fails:
        project.arxiv.add_fault(f"pdf:{PAPERS[1][0]}", *[Fault(500)] * 4)
    project.arxiv.pdf_asked.clear()
    project.arxiv.hold_pdfs = fake.preflight_answered  # the PDF waits for the 401
    fake.hold_preflight = project.arxiv.pdf_asked  # the 401 waits for the PDF's request
    monkeypatch.setenv(KEY, "sk-revoked-0123456789")
    assert project.run("build", "-q") == 2
    assert capsys.readouterr().err.splitlines() == [
        f"error: model endpoint {fake.base_url} refused the key in {KEY} (HTTP 401); "
        "check that variable"
    ]
    assert project.arxiv.pdf_calls[-1] == f"/pdf/{PAPERS[1][0]}v2"  # asked before the verdict
    assert len(fake.bodies) == asked and len(fake.preflights) == 2
    assert project.snapshot() == before


def test_a_refused_key_is_said_even_when_arxiv_is_down(
    use: Use, capsys: pytest.CaptureFixture[str]
) -> None:
    """The preflight goes out while arXiv is asked; its verdict is not lost when arXiv fails."""
    fake = DeepSeekFake(key="sk-another-key")
    project = use(fake, "deepseek-v4-flash", 'provider = "deepseek"')
    project.arxiv.add_fault("api", *[Fault(503)] * 4)
    assert project.run("build") == 2
    assert (
        capsys.readouterr()
        .err.splitlines()[-1]
        .endswith(f"refused the key in {KEY} (HTTP 401); check that variable")
    )
    assert project.arxiv.pdf_calls == [] and fake.bodies == [] and len(fake.preflights) == 1


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


def test_gpt5_unknown_model_is_exit_2_before_any_model_request(
    use: Use, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = OpenAIFake()
    project = use(fake, "gpt-5.9-turbo", 'provider = "openai"')
    assert project.run("build") == 2
    line = capsys.readouterr().err.splitlines()[-1]
    assert line.startswith("error: model endpoint ") and "'gpt-5.9-turbo'" in line
    assert fake.bodies == [] and not project.output.exists()

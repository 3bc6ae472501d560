"""llm.max_input_tokens = "auto" against local servers that tell their context (vLLM's
/v1/models max_model_len, Ollama's /api/show num_ctx, llama.cpp's /props n_ctx): long papers
are cut to fit before they are sent, and the answer cap is lowered to what the context leaves,
so no request is refused or silently cut. Ollama without a num_ctx in its Modelfile tells
nothing: its silent cut is still caught.
"""

from __future__ import annotations

import pytest

from tests.support.fake_providers import LlamaCppFake, OllamaFake, VllmFake
from tests.support.fakes import FakeLLM, prompt_tokens
from tests.support.project import Project
from tests.support.provider_kit import (
    LONG_IDS,
    SHORT_IDS,
    Use,
    failed,
    state,
    use,
    with_long_papers,
)

__all__ = ["use"]  # the fixture

AUTO = 'max_input_tokens = "auto"'


def auto(project: Project) -> Project:
    text = project.config.read_text(encoding="utf-8")
    project.write_config(text.replace("max_input_tokens = 12000", AUTO))
    return project


def cap(body: dict) -> int:
    return body.get("max_tokens") or body["max_completion_tokens"]


def fitted(fake: FakeLLM, context: int) -> None:
    """Every paper request fit the context with its answer cap, long ones were cut to fit."""
    for body in fake.bodies:
        assert prompt_tokens(body) + cap(body) <= context


@pytest.mark.parametrize(
    ("fake", "model", "provider", "context"),
    [
        (VllmFake(max_model_len=8192), "Qwen/Qwen3-8B", "vllm", 8192),
        (OllamaFake(num_ctx=8192, modelfile=True), "qwen3:8b", "ollama", 8192),
        (LlamaCppFake(n_ctx=8192), "gemma-3-270m", "llamacpp", 8192),
    ],
    ids=["vllm", "ollama", "llamacpp"],
)
def test_a_told_context_fits_every_prompt_before_it_is_sent(
    use: Use,
    project: Project,
    capsys: pytest.CaptureFixture[str],
    fake: FakeLLM,
    model: str,
    provider: str,
    context: int,
) -> None:
    papers = with_long_papers(project)
    project = auto(use(fake, model, f'provider = "{provider}"', papers=papers))
    assert project.run("build", "--jobs", "1") == 0
    assert failed(capsys.readouterr().err) == {}
    assert fake.errors == [] and getattr(fake, "truncated", 0) == 0  # nothing refused or cut
    fitted(fake, context)
    for paper_id in LONG_IDS:
        sent = state(project, paper_id)["input"]
        assert sent["omitted"] and sent["tokens"] <= sent["budget"] < 5000
        assert sent["paper_tokens"] > 13000  # Coder-V2 and Prover-V1.5, cut to a third
    for paper_id in SHORT_IDS:
        sent = state(project, paper_id)["input"]
        assert sent["tokens"] == sent["paper_tokens"] and sent["omitted"] == []
    assert all(cap(body) < 8192 for body in fake.bodies)  # lowered to what the context leaves


def test_ollama_without_num_ctx_in_its_modelfile_still_fails_the_cut_prompts(
    use: Use, project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    papers = with_long_papers(project)
    fake = OllamaFake(num_ctx=4096)  # the default context; /api/show does not list it
    project = auto(use(fake, "qwen3:8b", 'provider = "ollama"', papers=papers))
    assert project.run("build") == 1
    reasons = failed(capsys.readouterr().err)
    assert sorted(reasons) == LONG_IDS
    for paper_id in LONG_IDS:
        assert reasons[paper_id].endswith(
            "tokens read): raise num_ctx (Modelfile) or OLLAMA_CONTEXT_LENGTH, or set "
            "llm.max_input_tokens to a number"
        )
        assert state(project, paper_id)["summary"] is None
    assert all(state(project, p)["summary"] for p in SHORT_IDS)
    assert all(state(project, p)["input"]["omitted"] == [] for p in SHORT_IDS)  # whole

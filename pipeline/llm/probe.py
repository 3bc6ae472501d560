"""What `doctor` asks a model endpoint beyond the build's preflight: the context it gives us.

From the endpoint where it tells (Ollama's POST /api/show `num_ctx` parameter, vLLM's
GET /v1/models `max_model_len`), else measured: one prompt of our budget's size, whose
`usage.prompt_tokens` is compared with our estimate (an endpoint that cuts prompts silently
counts far fewer). Each check gives a `Finding`: ok / warn / problem and one line.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from pipeline.config import LlmConfig
from pipeline.errors import SummariseError
from pipeline.llm.summarise import PROMPTS_DIR
from pipeline.text.tokens import estimate_tokens

logger = logging.getLogger(__name__)

TRUNCATED_BELOW = 0.6  # prompt_tokens under 60% of our estimate: the endpoint cut the prompt
MEASURE_CAP = 64  # answer tokens allowed to the measuring request
FILLER = "The model reads this sentence as part of a long test prompt about language models. "


@dataclass(frozen=True)
class Finding:
    level: str  # ok | warn | problem
    text: str


def prompt_overhead() -> int:
    """Tokens of the prompt templates around the paper text (system prompt, title, framing)."""
    parts = [(PROMPTS_DIR / name).read_text(encoding="utf-8") for name in ("system.j2", "paper.j2")]
    return estimate_tokens("\n".join(parts)) + 100  # title, authors, omitted sections


def full_prompt_tokens(cfg: LlmConfig) -> int:
    """Our estimate of a prompt that fills llm.max_input_tokens."""
    return prompt_overhead() + cfg.max_input_tokens


def told_context(cfg: LlmConfig, provider: str, key: str) -> tuple[int, str] | None:
    """The context the endpoint says it gives: Ollama's num_ctx, vLLM's max_model_len."""
    parts = urlsplit(cfg.base_url)
    root = urlunsplit((parts.scheme, parts.netloc, "", "", ""))
    headers = {"Authorization": f"Bearer {key}"}
    try:
        with httpx.Client(timeout=min(cfg.timeout_seconds, 10.0), headers=headers) as http:
            if provider == "ollama":
                shown = http.post(f"{root}/api/show", json={"model": cfg.model})
                return _ollama_context(shown.json()) if shown.status_code == 200 else None
            if provider == "vllm":
                listed = http.get(cfg.base_url.rstrip("/") + "/models")
                return (
                    _vllm_context(listed.json(), cfg.model) if listed.status_code == 200 else None
                )
    except (httpx.HTTPError, ValueError):
        logger.debug("context not told by %s", root, exc_info=True)
    return None


def _ollama_context(shown: Any) -> tuple[int, str] | None:
    """The num_ctx parameter; model_info's context_length is the model's most, not Ollama's."""
    if not isinstance(shown, dict):
        return None
    for line in str(shown.get("parameters") or "").splitlines():
        name, _, value = line.strip().partition(" ")
        if name == "num_ctx" and value.strip().isdigit():
            return int(value.strip()), "Ollama num_ctx"
    return None


def _vllm_context(listed: Any, model: str) -> tuple[int, str] | None:
    data = listed.get("data") if isinstance(listed, dict) else None
    for entry in data if isinstance(data, list) else []:
        if isinstance(entry, dict) and entry.get("id") == model:
            size = entry.get("max_model_len")
            if isinstance(size, int) and size > 0:
                return size, "vLLM max_model_len"
    return None


def context_finding(size: int, source: str, cfg: LlmConfig, fix: str) -> Finding:
    """Does a full prompt plus an answer fit in the context the endpoint told?"""
    prompt = full_prompt_tokens(cfg)
    if size >= prompt + cfg.max_output_tokens:
        return Finding("ok", f"context {size} tokens ({source}) holds a full prompt and answer")
    if size >= prompt + 1024:
        return Finding(
            "warn",
            f"context {size} tokens ({source}): answers get less than llm.max_output_tokens "
            f"({cfg.max_output_tokens}) after a ~{prompt}-token prompt",
        )
    return Finding(
        "problem",
        f"context {size} tokens ({source}) cannot hold a ~{prompt}-token prompt and its answer: "
        f"{fix}, or lower llm.max_input_tokens (now {cfg.max_input_tokens})",
    )


def measured_context(client: Any, cfg: LlmConfig, fix: str) -> Finding:
    """Send one prompt of our budget's size (through the run's client, as a paper would go);
    compare the endpoint's count with our estimate."""
    from pipeline.llm.client import ContextExceeded

    filler = FILLER * (full_prompt_tokens(cfg) // estimate_tokens(FILLER))
    messages = [
        {"role": "system", "content": "Reply with the JSON object {} and nothing else."},
        {"role": "user", "content": f"json\n{filler}\nReply with {{}}."},
    ]
    estimate = sum(estimate_tokens(m["content"]) for m in messages)
    try:
        reply = client.complete("doctor", messages, MEASURE_CAP)
    except ContextExceeded as exc:
        size = f" of {exc.limit} tokens" if exc.limit else ""
        return Finding(
            "problem",
            f"a ~{estimate}-token prompt (llm.max_input_tokens {cfg.max_input_tokens}) exceeds "
            f"the context{size}: {fix}, or lower llm.max_input_tokens",
        )
    except SummariseError as exc:
        return Finding("problem", f"a prompt of our budget's size failed: {exc.reason}")
    counted = reply.usage.prompt_tokens if reply.usage else 0
    if not counted:
        return Finding("warn", "context not checked: the endpoint reports no usage.prompt_tokens")
    if counted < TRUNCATED_BELOW * estimate:
        return Finding(
            "problem",
            f"the endpoint cut a ~{estimate}-token prompt to {counted} tokens (its context): "
            f"{fix}, or lower llm.max_input_tokens",
        )
    return Finding("ok", f"context holds a {counted}-token prompt (our estimate {estimate})")

"""Small questions to a model endpoint for `doctor`: does it answer, in JSON, without reasoning,
and how much context does it give us.

Every function returns a `Finding` (ok / warn / problem and one line) and never raises for an
endpoint's answer; only the caller's bugs raise.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from pipeline.config import LlmConfig
from pipeline.llm.summarise import PROMPTS_DIR, endpoint_host
from pipeline.redact import redact
from pipeline.text.tokens import estimate_tokens

logger = logging.getLogger(__name__)

TRUNCATED_BELOW = 0.6  # prompt_tokens under 60% of our estimate: the endpoint cut the prompt
ANSWER_ROOM = 2000  # tokens a summary needs after the prompt
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


def _short(exc: Exception, key: str) -> str:
    text = " ".join(redact(str(exc), key).split())
    return text if len(text) <= 110 else text[:110] + "…"


def ask(client: Any, cfg: LlmConfig, messages: list[dict[str, str]]) -> Any:
    """One JSON-mode chat completion; the openai errors are left to the caller."""
    return client.chat.completions.create(
        model=cfg.model,
        messages=messages,  # type: ignore[arg-type]
        response_format={"type": "json_object"},
    )


def describe_failure(exc: Exception, cfg: LlmConfig, key: str) -> Finding:
    """One line for an endpoint that refused the small request."""
    import openai

    host = endpoint_host(cfg.base_url)
    if isinstance(exc, openai.APITimeoutError):
        return Finding("problem", f"{host} gave no answer within {cfg.timeout_seconds:g} s")
    if isinstance(exc, openai.APIConnectionError):
        return Finding("problem", f"cannot reach {cfg.base_url} (llm.base_url): {_short(exc, key)}")
    if not isinstance(exc, openai.APIStatusError):
        return Finding("problem", f"{host}: {_short(exc, key)}")
    status, message = exc.status_code, _short(exc, key)
    if status in (401, 403):
        return Finding(
            "problem",
            f"{host} refused the key in {cfg.api_key_env} (HTTP {status}); check that variable",
        )
    lowered = message.lower()
    if "response_format" in lowered or "json" in lowered:
        return Finding("problem", f"{host} has no JSON mode for {cfg.model}: {message}")
    if status == 404 or "model" in lowered:
        return Finding(
            "problem",
            f"model {cfg.model!r} unknown to {host} (HTTP {status}): check llm.model "
            "and llm.base_url",
        )
    return Finding("problem", f"{host} answered HTTP {status}: {message}")


def read_answer(response: Any, cfg: LlmConfig) -> list[Finding]:
    """JSON mode and reasoning, from the small request's answer."""
    if isinstance(response, str):
        return [Finding("problem", f"{cfg.base_url} did not answer with a chat completion")]
    message = response.choices[0].message if response.choices else None
    content = (getattr(message, "content", None) or "").strip()
    findings = []
    try:
        parsed = json.loads(content)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict):
        findings.append(Finding("ok", f"model {cfg.model} answers in JSON mode"))
    else:
        findings.append(
            Finding("problem", f"model {cfg.model} in JSON mode answered no JSON object")
        )
    details = getattr(getattr(response, "usage", None), "completion_tokens_details", None)
    reasoning_tokens = getattr(details, "reasoning_tokens", None) or 0
    extra = getattr(message, "model_extra", None) or {}
    text = extra.get("reasoning_content") or extra.get("reasoning") or ""
    if reasoning_tokens or text or "<think>" in content:
        count = f"{reasoning_tokens} reasoning tokens" if reasoning_tokens else "reasoning text"
        findings.append(
            Finding("warn", f"the model reasons ({count} in a tiny answer): billed as output, "
                    "slower; turn thinking off for summaries")
        )  # fmt: skip
    else:
        findings.append(Finding("ok", "reasoning off: no reasoning tokens or text in the answer"))
    return findings


def told_context(cfg: LlmConfig, key: str) -> tuple[int, str] | None:
    """The context the endpoint says it gives: Ollama's num_ctx, vLLM's max_model_len."""
    parts = urlsplit(cfg.base_url)
    root = urlunsplit((parts.scheme, parts.netloc, "", "", ""))
    headers = {"Authorization": f"Bearer {key}"}
    with httpx.Client(timeout=min(cfg.timeout_seconds, 10.0), headers=headers) as http:
        try:
            shown = http.post(f"{root}/api/show", json={"model": cfg.model})
            if shown.status_code == 200:
                found = _ollama_context(shown.json())
                if found:
                    return found
            listed = http.get(cfg.base_url.rstrip("/") + "/models")
            if listed.status_code == 200:
                return _vllm_context(listed.json(), cfg.model)
        except (httpx.HTTPError, ValueError):
            logger.debug("context not told by %s", root, exc_info=True)
    return None


def _ollama_context(shown: Any) -> tuple[int, str] | None:
    if not isinstance(shown, dict):
        return None
    for line in str(shown.get("parameters") or "").splitlines():
        name, _, value = line.strip().partition(" ")
        if name == "num_ctx" and value.strip().isdigit():
            return int(value.strip()), "Ollama num_ctx"
    return None  # model_info's context_length is the model's maximum, not what Ollama gives


def _vllm_context(listed: Any, model: str) -> tuple[int, str] | None:
    data = listed.get("data") if isinstance(listed, dict) else None
    for entry in data if isinstance(data, list) else []:
        if isinstance(entry, dict) and entry.get("id") == model:
            size = entry.get("max_model_len")
            if isinstance(size, int) and size > 0:
                return size, "vLLM max_model_len"
    return None


def context_finding(size: int, source: str, cfg: LlmConfig) -> Finding:
    """Does a full prompt plus an answer fit in the context the endpoint told?"""
    need = full_prompt_tokens(cfg) + ANSWER_ROOM
    if size >= need:
        return Finding("ok", f"context {size} tokens ({source}) holds a full prompt (~{need})")
    return Finding(
        "problem",
        f"context {size} tokens ({source}) is under the ~{need} a full prompt and its answer "
        f"need: give the model more context or lower llm.max_input_tokens "
        f"(now {cfg.max_input_tokens})",
    )


def measured_context(client: Any, cfg: LlmConfig, key: str) -> Finding:
    """Send one prompt of our budget's size; compare the endpoint's count with our estimate."""
    import openai

    filler = FILLER * (full_prompt_tokens(cfg) // estimate_tokens(FILLER))
    messages = [
        {"role": "system", "content": "Reply with the JSON object {} and nothing else."},
        {"role": "user", "content": f"json\n{filler}\nReply with {{}}."},
    ]
    estimate = estimate_tokens(messages[0]["content"] + messages[1]["content"])
    try:
        response = ask(client, cfg, messages)
    except openai.BadRequestError as exc:
        return Finding(
            "problem",
            f"a {estimate}-token prompt was refused ({_short(exc, key)}): lower "
            f"llm.max_input_tokens (now {cfg.max_input_tokens}) or give the model more context",
        )
    except openai.APIError as exc:
        return describe_failure(exc, cfg, key)
    counted = getattr(getattr(response, "usage", None), "prompt_tokens", None)
    if not counted:
        return Finding("warn", "context not checked: the endpoint reports no usage.prompt_tokens")
    if counted < TRUNCATED_BELOW * estimate:
        return Finding(
            "problem",
            f"the endpoint cut a ~{estimate}-token prompt to {counted} tokens (its context): "
            "raise it (Ollama: num_ctx / OLLAMA_CONTEXT_LENGTH) or lower llm.max_input_tokens",
        )
    return Finding("ok", f"context holds a {counted}-token prompt (our estimate {estimate})")

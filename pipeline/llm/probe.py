"""What `doctor` asks a model endpoint beyond the build's preflight: the context it gives us.

From genai-prices or the endpoint where they tell (llm/window.py), else measured: one prompt of
our budget's size, whose `usage.prompt_tokens` is compared with our estimate (an endpoint that
cuts prompts silently counts far fewer). Each check gives a `Finding`: ok / warn / problem and
one line.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Literal

from pipeline.config import LlmConfig
from pipeline.errors import SummariseError
from pipeline.llm.context import MIN_TEXT_BUDGET
from pipeline.llm.prompts import PROMPTS_DIR
from pipeline.llm.window import Window, budget_advice, text_budget
from pipeline.text.sections import DEFAULT_BUDGET
from pipeline.text.tokens import estimate_tokens

logger = logging.getLogger(__name__)

TRUNCATED_BELOW = 0.6  # prompt_tokens under 60% of our estimate: the endpoint cut the prompt
MEASURE_CAP = 64  # answer tokens allowed to the measuring request
FILLER = "The model reads this sentence as part of a long test prompt about language models. "


@dataclass(frozen=True)
class Finding:
    """One line of `doctor`: how it went, and what it found."""

    level: Literal["ok", "warn", "problem"]
    text: str


def prompt_overhead() -> int:
    """Tokens of the prompt templates around the paper text (system prompt, title, framing)."""
    parts = [(PROMPTS_DIR / name).read_text(encoding="utf-8") for name in ("system.j2", "paper.j2")]
    return estimate_tokens("\n".join(parts)) + 100  # title, authors, omitted sections


def text_tokens(cfg: LlmConfig) -> int:
    """The paper text of a full prompt: llm.max_input_tokens, or with "auto" a typical long
    paper's (what a measuring prompt sends when no window is known)."""
    return DEFAULT_BUDGET if cfg.max_input_tokens == "auto" else cfg.max_input_tokens


def full_prompt_tokens(cfg: LlmConfig) -> int:
    """Our estimate of a prompt that fills llm.max_input_tokens (see `text_tokens`)."""
    return prompt_overhead() + text_tokens(cfg)


def context_finding(window: Window, cfg: LlmConfig, fix: str) -> Finding:
    """Does a full prompt plus an answer fit in the context genai-prices or the endpoint told?"""
    size, source = window.tokens, window.source
    if cfg.max_input_tokens == "auto":
        return auto_finding(window, cfg, fix)
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
        f"{fix}, or {budget_advice(cfg)}",
    )


def auto_finding(window: Window, cfg: LlmConfig, fix: str) -> Finding:
    """With llm.max_input_tokens = "auto": how much paper text the window leaves."""
    budget = text_budget(window.tokens, cfg.max_output_tokens, prompt_overhead())
    where = f"context {window.tokens} tokens ({window.source})"
    if budget < MIN_TEXT_BUDGET:
        return Finding(
            "problem",
            f"{where} leaves no room for paper text after the answer cap "
            f"(llm.max_output_tokens {cfg.max_output_tokens}): {fix}",
        )
    return Finding("ok", f"{where}: papers of up to ~{budget} tokens of text are sent whole")


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
            f"a ~{estimate}-token prompt exceeds the context{size}: {fix}, or {budget_advice(cfg)}",
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
            f"{fix}, or {budget_advice(cfg)}",
        )
    return Finding("ok", f"context holds a {counted}-token prompt (our estimate {estimate})")

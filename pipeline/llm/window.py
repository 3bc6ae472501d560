"""The model's context window, for llm.max_input_tokens = "auto", and the paper text it leaves.

Where the window comes from, first found wins:

1. the genai-prices database (cloud models: DeepSeek V4 Flash 1,000,000 tokens, GPT-5 400,000);
2. what the endpoint says: Ollama's POST /api/show `num_ctx` parameter, vLLM's GET /v1/models
   `max_model_len`, llama.cpp's GET /props `n_ctx`;
3. nothing: the whole paper goes, and an HTTP 400 that names the size teaches the run
   (llm/context.py); Ollama, which cuts a long prompt silently instead, is caught by the
   summariser's check of `usage.prompt_tokens`.

The paper text may then fill the window less the answer cap (a third of a small window), the
prompt's own tokens and the estimate's margin (`text_budget`): all of it when it fits, else the
section priority of text/sections.py cuts it to fit. The run's `Context` learns the window too,
so a request's answer cap is lowered to what the window leaves before it is sent.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import httpx

from pipeline.config import LlmConfig
from pipeline.llm.context import ANSWER_ROOM, MARGIN
from pipeline.llm.prices import database_version, lookup
from pipeline.llm.providers import PROFILES

logger = logging.getLogger(__name__)

OMITTED_ROOM = 100  # prompt tokens for the names of the sections a cut leaves out


@dataclass(frozen=True)
class Window:
    """A context window in tokens and who said so."""

    tokens: int
    source: str  # "genai-prices 0.2.5", "Ollama num_ctx", "vLLM max_model_len", "llama.cpp n_ctx"


def database_window(cfg: LlmConfig, provider: str) -> Window | None:
    """The window genai-prices gives the configured model (never for a local server)."""
    info = lookup(cfg.model, provider)
    size = getattr(info, "context_window", None)
    if isinstance(size, int) and size > 0:
        return Window(size, database_version())
    return None


def find_window(cfg: LlmConfig, provider: str, key: str) -> Window | None:
    """The model's window: from genai-prices, else from the endpoint; None when neither says."""
    return database_window(cfg, provider) or told_context(cfg, provider, key)


def answer_room(window: int, cap: int) -> int:
    """The answer's share of the window: the cap, or in a small window a third of it (at least
    ANSWER_ROOM tokens; the requests' cap is lowered to fit, llm/context.py)."""
    return min(cap, max(ANSWER_ROOM, window // 3))


def text_budget(window: int, cap: int, prompt_tokens: int) -> int:
    """Tokens of paper text a prompt may carry: the window less the answer's room, our
    estimate's margin and `prompt_tokens`, the prompt around the paper text (system part,
    title, questions)."""
    room = answer_room(window, cap)
    return int((window - room) / MARGIN) - prompt_tokens - OMITTED_ROOM


def budget_advice(cfg: LlmConfig) -> str:
    """How to send less paper text: "lower llm.max_input_tokens (now 12000)", or with "auto"
    give it a number."""
    if cfg.max_input_tokens == "auto":
        return "set llm.max_input_tokens to a number"
    return f"lower llm.max_input_tokens (now {cfg.max_input_tokens})"


def told_context(cfg: LlmConfig, provider: str, key: str) -> Window | None:
    """The context the endpoint says it gives (its profile's `context_query`: Ollama's num_ctx,
    vLLM's max_model_len, llama.cpp's n_ctx); None for other providers or when it does not say."""
    query = PROFILES[provider].context_query
    if query is None:
        return None
    url = query.url(cfg.base_url)
    headers = {"Authorization": f"Bearer {key}"}
    try:
        with httpx.Client(timeout=min(cfg.timeout_seconds, 10.0), headers=headers) as http:
            if query.post_model:
                answer = http.post(url, json={"model": cfg.model})
            else:
                answer = http.get(url)
            size = query.read(answer.json(), cfg.model) if answer.status_code == 200 else None
    except (httpx.HTTPError, ValueError):
        logger.debug("context not told by %s", url, exc_info=True)
        return None
    return Window(size, query.source) if size else None

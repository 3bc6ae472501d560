"""One fake endpoint per provider, each doing what DESIGN.md's "Endpoint facts that bite" say the
real one does: what it rejects (HTTP 400 with the provider's own wording), what it ignores, how it
thinks, how it cuts a long prompt or a long answer, and where its usage puts cached and reasoning
tokens. Tokens are counted with the pipeline's own estimate (tests.support.fakes.prompt_tokens).

Every fake records `errors` (each 4xx it answered: status, message) and `efforts` (how hard each
answered request thought: None for not at all).
"""

from __future__ import annotations

import json
from typing import Any

from pipeline.text.tokens import estimate_tokens
from tests.support.fakes import (
    TITLE_RE,
    FakeLLM,
    completion,
    good_answer,
    is_preflight,
    prompt_tokens,
)

JSON_MODE = {"type": "json_object"}


def _title_answer(body: dict[str, Any]) -> tuple[int, Any]:
    """A good answer about whatever title the model can still see (none: a generic one)."""
    text = "\n".join(str(m.get("content", "")) for m in body.get("messages", []))
    m = TITLE_RE.search(text)
    return 200, good_answer(m.group(1) if m else "Paper")


class ProviderFake(FakeLLM):
    """Shared bookkeeping: the key and models it accepts, its 4xx answers, prefix caching."""

    models: frozenset[str] | None = None  # None: any model name
    cache_unit, cache_minimum = 64, 64  # prefix cache granularity and smallest cached prefix

    def __init__(self, key: str | None = None, model: str | None = None) -> None:
        super().__init__(responder=_title_answer)
        self.key = key
        if model is not None:
            self.models = frozenset({model})
        self.errors: list[tuple[int, str]] = []
        self.efforts: list[str | None] = []
        self.finishes: list[str] = []  # scripted finish reasons for the next paper requests
        self._seen: list[list[dict[str, Any]]] = []

    def error(self, status: int, message: str, **fields: Any) -> tuple[int, bytes, str]:
        with self.lock:
            self.errors.append((status, message))
        body = {"error": {"message": message, "type": "invalid_request_error", **fields}}
        return status, json.dumps(body).encode(), "application/json"

    def content(self, body: dict[str, Any], seen: list | None = None) -> tuple[int, str]:
        """What the model would write: the preflight's JSON, else the responder's answer to the
        messages it `seen` (default: all of them)."""
        if is_preflight(body):
            return 200, json.dumps({"ok": True})
        status, payload = self.responder({**body, "messages": seen or body["messages"]})
        text = payload if isinstance(payload, str) else json.dumps(payload, ensure_ascii=False)
        return status, text

    def scripted_finish(self, body: dict[str, Any]) -> str | None:
        with self.lock:
            return self.finishes.pop(0) if self.finishes and not is_preflight(body) else None

    def cached(self, body: dict[str, Any]) -> int:
        """Prompt tokens served from cache: the longest run of leading messages seen before."""
        messages = body.get("messages", [])
        best = 0
        with self.lock:
            for earlier in self._seen:
                n = 0
                while n < min(len(earlier), len(messages)) and earlier[n] == messages[n]:
                    n += 1
                best = max(best, prompt_tokens({"messages": messages[:n]}))
            self._seen.append(messages)
        best = best // self.cache_unit * self.cache_unit
        return best if best >= self.cache_minimum else 0

    def record_effort(self, effort: str | None) -> None:
        with self.lock:
            self.efforts.append(effort)


def cut(text: str, keep_tokens: int) -> str:
    """The first `keep_tokens` tokens of `text`, roughly (an answer stopped at its cap)."""
    total = max(estimate_tokens(text), 1)
    return text[: max(0, len(text) * keep_tokens // total)]


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


# -- DeepSeek ------------------------------------------------------------------------------------


class DeepSeekFake(ProviderFake):
    """api.deepseek.com: V4 thinks unless `thinking: disabled` (effort high by default), bills
    the reasoning as output, ignores temperature, blanks invalid JSON, reports cache hits; the
    retired deepseek-chat / deepseek-reasoner and unknown names are HTTP 400."""

    models = frozenset({"deepseek-v4-flash", "deepseek-v4-pro"})
    REASONING = {"low": 300, "high": 1500, "max": 5000}
    EFFORTS = {"minimal": "low", "low": "low", "medium": "high", "high": "high", "max": "max"}

    def respond(self, body: dict[str, Any], auth: str = "") -> tuple[int, bytes, str]:
        if self.key is not None and auth != f"Bearer {self.key}":
            return self.error(401, "Authentication Fails, Your api key: ****cdef is invalid")
        if body.get("model") not in self.models:
            return self.error(400, "Model Not Exist")
        messages = json.dumps(body.get("messages", []), ensure_ascii=False).lower()
        if body.get("response_format") == JSON_MODE and "json" not in messages:
            return self.error(
                400,
                "Prompt must contain the word 'json' in some form to use "
                "'response_format' of type 'json_object'.",
            )
        thinking = (body.get("thinking") or {}).get("type") != "disabled"
        effort = self.EFFORTS.get(body.get("reasoning_effort") or "high", "high")
        self.record_effort(effort if thinking else None)
        reasoning = self.REASONING[effort] if thinking else 0
        status, text = self.content(body)
        if status != 200:
            return status, json.dumps(text).encode(), "application/json"
        finish = self.scripted_finish(body) or "stop"
        if finish != "stop":
            text = ""
        cap = body.get("max_tokens")
        if cap is not None and reasoning + estimate_tokens(text) > cap:
            reasoning = min(reasoning, cap)
            finish, text = "length", cut(text, cap - reasoning)
        if text and not _is_json(text):  # JSON mode: an invalid answer comes back as spaces
            text = " " * 8
        message: dict[str, Any] = {"role": "assistant", "content": text}
        if thinking:
            message["reasoning_content"] = "嗯，用户要一个 JSON 摘要。先读标题……" * 4
        prompt, hit = prompt_tokens(body), self.cached(body)
        output = estimate_tokens(text) + reasoning
        usage = self.usage(
            prompt,
            output,
            prompt_cache_hit_tokens=hit,
            prompt_cache_miss_tokens=prompt - hit,
            completion_tokens_details={"reasoning_tokens": reasoning},
        )
        return 200, completion(body, message, finish, usage), "application/json"


# -- OpenAI GPT-5.x -------------------------------------------------------------------------------

OPENAI_FIELDS = frozenset(
    "model messages response_format max_completion_tokens max_tokens temperature top_p n stop "
    "seed user metadata store service_tier verbosity logprobs top_logprobs presence_penalty "
    "frequency_penalty logit_bias tools tool_choice parallel_tool_calls reasoning_effort "
    "stream stream_options prompt_cache_key safety_identifier".split()
)


class OpenAIFake(ProviderFake):
    """api.openai.com with GPT-5.x: temperature other than 1, `max_tokens` and unknown fields are
    HTTP 400; `max_completion_tokens` caps reasoning plus answer (too low: empty content,
    finish_reason length); cache hits in prompt_tokens_details.cached_tokens."""

    EFFORTS = {
        "gpt-5.4": ("none", "low", "medium", "high", "xhigh"),
        "gpt-5.4-mini": ("none", "low", "medium", "high", "xhigh"),
        "gpt-5": ("minimal", "low", "medium", "high"),
    }
    REASONING = {"none": 0, "minimal": 60, "low": 400, "medium": 1500, "high": 4000, "xhigh": 8000}
    cache_unit, cache_minimum = 128, 1024

    def respond(self, body: dict[str, Any], auth: str = "") -> tuple[int, bytes, str]:
        if self.key is not None and auth != f"Bearer {self.key}":
            return self.error(
                401, "Incorrect API key provided: sk-tes*****cdef.", code="invalid_api_key"
            )
        rejected = self.rejected(body)
        if rejected is not None:
            return rejected
        efforts = self.EFFORTS[body["model"]]
        effort = body.get("reasoning_effort") or ("none" if "none" in efforts else "medium")
        self.record_effort(None if effort == "none" else effort)
        status, text = self.content(body)
        if status != 200:
            return status, json.dumps(text).encode(), "application/json"
        reasoning, finish = self.REASONING[effort], "stop"
        cap = body.get("max_completion_tokens")
        if cap is not None and reasoning >= cap:
            reasoning, finish, text = cap, "length", ""
        elif cap is not None and reasoning + estimate_tokens(text) > cap:
            finish, text = "length", cut(text, cap - reasoning)
        usage = self.usage(
            prompt_tokens(body),
            estimate_tokens(text) + reasoning,
            prompt_tokens_details={"cached_tokens": self.cached(body)},
            completion_tokens_details={"reasoning_tokens": reasoning},
        )
        message = {"role": "assistant", "content": text, "refusal": None}
        return 200, completion(body, message, finish, usage), "application/json"

    def rejected(self, body: dict[str, Any]) -> tuple[int, bytes, str] | None:
        """The first 400 (or 404) this request earns, in the order the API checks."""
        unknown = sorted(set(body) - OPENAI_FIELDS)
        if unknown:
            return self.error(400, f"Unrecognized request argument supplied: {unknown[0]}")
        model = body.get("model")
        if model not in self.EFFORTS or (self.models and model not in self.models):
            return self.error(
                404,
                f"The model `{model}` does not exist or you do not have access to it.",
                code="model_not_found",
            )
        if "max_tokens" in body:
            return self.error(
                400,
                "Unsupported parameter: 'max_tokens' is not supported with "
                "this model. Use 'max_completion_tokens' instead.",
                param="max_tokens",
                code="unsupported_parameter",
            )
        temperature = body.get("temperature")
        if temperature is not None and temperature != 1:
            return self.error(
                400,
                f"Unsupported value: 'temperature' does not support "
                f"{temperature} with this model. Only the default (1) value is "
                "supported.",
                param="temperature",
                code="unsupported_value",
            )
        effort, allowed = body.get("reasoning_effort"), self.EFFORTS[model]
        if effort is not None and effort not in allowed:
            listed = ", ".join(f"'{e}'" for e in allowed)
            return self.error(
                400,
                f"Unsupported value: '{effort}' is not supported with the "
                f"'{model}' model. Supported values are: {listed}.",
                param="reasoning_effort",
                code="unsupported_value",
            )
        messages = json.dumps(body.get("messages", []), ensure_ascii=False).lower()
        if body.get("response_format") == JSON_MODE and "json" not in messages:
            return self.error(
                400,
                "'messages' must contain the word 'json' in some form, to "
                "use 'response_format' of type 'json_object'.",
                param="messages",
            )
        return None


# -- Ollama ---------------------------------------------------------------------------------------


class OllamaFake(ProviderFake):
    """Ollama's /v1 with a thinking model: a prompt longer than the context (4096 by default) is
    silently cut to its first few tokens and its tail, and usage.prompt_tokens says so; unknown
    fields are ignored; it thinks (message.reasoning) unless reasoning_effort is "none"."""

    KEEP_HEAD = 4

    def __init__(self, model: str = "qwen3:8b", num_ctx: int = 4096, modelfile: bool = False):
        super().__init__(model=model)
        self.num_ctx = num_ctx
        self.modelfile = modelfile  # num_ctx set in the Modelfile: /api/show lists it
        self.truncated = 0  # prompts cut to the context

    def side_route(self, method: str, path: str, body: dict[str, Any]) -> Any | None:
        """POST /api/show: the model's parameters (num_ctx only when a Modelfile sets it)."""
        if (method, path) != ("POST", "/api/show") or body.get("model") not in self.models:
            return None
        parameters = f"num_ctx                        {self.num_ctx}" if self.modelfile else ""
        return {"parameters": parameters, "model_info": {"qwen3.context_length": 40960}}

    def respond(self, body: dict[str, Any], auth: str = "") -> tuple[int, bytes, str]:
        model = body.get("model")
        if self.models and model not in self.models:
            return self.error(
                404, f'model "{model}" not found, try pulling it first', type="api_error"
            )
        seen, prompt = self.visible(body)
        thinking = body.get("reasoning_effort") != "none"
        self.record_effort(body.get("reasoning_effort") or "medium" if thinking else None)
        status, text = self.content(body, seen)
        if status != 200:
            return status, json.dumps(text).encode(), "application/json"
        reasoning = 700 if thinking else 0
        finish, cap = "stop", body.get("max_tokens") or body.get("max_completion_tokens")
        if cap is not None and reasoning + estimate_tokens(text) > cap:
            finish, text = "length", cut(text, max(cap - reasoning, 0))
        message: dict[str, Any] = {"role": "assistant", "content": text}
        if thinking:
            message["reasoning"] = "Okay, the user wants a JSON summary. Let me think." * 10
        usage = self.usage(prompt, estimate_tokens(text) + reasoning)
        return 200, completion(body, message, finish, usage), "application/json"

    def visible(self, body: dict[str, Any]) -> tuple[list[dict[str, Any]], int]:
        """The messages as the model sees them, and the prompt tokens it counts."""
        messages = body.get("messages", [])
        prompt = prompt_tokens(body)
        if prompt <= self.num_ctx:
            return messages, prompt
        with self.lock:
            self.truncated += 1
        flat = "\n".join(str(m.get("content", "")) for m in messages)
        tail = len(flat) * (self.num_ctx - self.KEEP_HEAD) // prompt
        kept = flat[: self.KEEP_HEAD * 4] + flat[-tail:]
        return [{"role": "user", "content": kept}], self.num_ctx


# -- vLLM -----------------------------------------------------------------------------------------


class VllmFake(ProviderFake):
    """vLLM: unknown fields ignored; prompt plus the answer cap beyond max_model_len is HTTP 400
    "maximum context length is N tokens"; without a reasoning parser a thinking template writes
    its <think> block into the content; this one also fences its JSON."""

    def __init__(self, model: str = "Qwen/Qwen3-8B", max_model_len: int = 8192) -> None:
        super().__init__(model=model)
        self.max_model_len = max_model_len

    def side_route(self, method: str, path: str, body: dict[str, Any]) -> Any | None:
        """GET /v1/models: the served model and its max_model_len."""
        if (method, path) != ("GET", "/v1/models"):
            return None
        model = next(iter(self.models or {"model"}))
        entry = {"id": model, "object": "model", "max_model_len": self.max_model_len}
        return {"object": "list", "data": [entry]}

    def respond(self, body: dict[str, Any], auth: str = "") -> tuple[int, bytes, str]:
        model = body.get("model")
        if self.models and model not in self.models:
            return self.error(404, f"The model `{model}` does not exist.", param="model")
        prompt = prompt_tokens(body)
        cap = body.get("max_completion_tokens") or body.get("max_tokens")
        cap = cap if cap is not None else self.max_model_len - prompt
        if prompt + cap > self.max_model_len:
            return self.error(
                400,
                f"This model's maximum context length is {self.max_model_len} tokens. However, "
                f"you requested {prompt + cap} tokens ({prompt} in the messages, {cap} in the "
                "completion). Please reduce the length of the messages or completion.",
                type="BadRequestError",
            )
        kwargs = body.get("chat_template_kwargs") or {}
        thinking = kwargs.get("enable_thinking", True)
        self.record_effort(body.get("reasoning_effort") or "default" if thinking else None)
        status, text = self.content(body)
        if status != 200:
            return status, json.dumps(text).encode(), "application/json"
        text = f"```json\n{text}\n```"
        if thinking:
            text = "<think>\nThe user wants JSON. Let me read the paper first.\n</think>\n\n" + text
        usage = self.usage(prompt, estimate_tokens(text))
        message = {"role": "assistant", "content": text, "reasoning_content": None}
        return 200, completion(body, message, "stop", usage), "application/json"


# -- llama.cpp ------------------------------------------------------------------------------------


class LlamaCppFake(ProviderFake):
    """llama-server: any model name, unknown fields ignored, JSON mode by grammar; a prompt
    longer than n_ctx is HTTP 400 exceed_context_size_error; the answer stops at the context."""

    def __init__(self, n_ctx: int = 4096) -> None:
        super().__init__()
        self.n_ctx = n_ctx

    def side_route(self, method: str, path: str, body: dict[str, Any]) -> Any | None:
        """GET /props: the server's settings, n_ctx among them."""
        if (method, path) != ("GET", "/props"):
            return None
        return {"default_generation_settings": {"n_ctx": self.n_ctx}, "total_slots": 1}

    def respond(self, body: dict[str, Any], auth: str = "") -> tuple[int, bytes, str]:
        prompt = prompt_tokens(body)
        if prompt > self.n_ctx:
            with self.lock:
                self.errors.append((400, "exceed_context_size_error"))
            error = {
                "code": 400,
                "message": f"request ({prompt} tokens) exceeds the available context size "
                f"({self.n_ctx} tokens), try increasing it",
                "type": "exceed_context_size_error",
                "n_prompt_tokens": prompt,
                "n_ctx": self.n_ctx,
            }
            return 400, json.dumps({"error": error}).encode(), "application/json"
        self.record_effort(None)
        status, text = self.content(body)
        if status != 200:
            return status, json.dumps(text).encode(), "application/json"
        room = self.n_ctx - prompt
        cap = min(body.get("max_tokens") or room, room)
        finish = "stop"
        if estimate_tokens(text) > cap:
            finish, text = "length", cut(text, cap)
        usage = self.usage(prompt, estimate_tokens(text))
        message = {"role": "assistant", "content": text}
        return 200, completion(body, message, finish, usage), "application/json"

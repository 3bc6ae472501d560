"""What each kind of endpoint takes, in one place, and what a run learns from its HTTP 400s.

A `Profile` answers "what does this endpoint take": the token-cap field, how reasoning is turned
off or set, where the cache-hit count is, and how to give a model more context. `RequestShape`
builds the body fields of every request from the profile and the config, and when the endpoint
still rejects one of them (HTTP 400 naming the parameter) drops or renames it for the rest of the
run, so a run never fails paper by paper on the same 400.

Reasoning levels (llm.reasoning) as each provider takes them:

    provider    off                                    low / medium / high
    deepseek    thinking {"type": "disabled"}          thinking enabled, reasoning_effort
                                                       low / high / high (DeepSeek has no medium)
    openai      reasoning_effort at the model's floor: the level as reasoning_effort
                "none" (gpt-5.1 and later), "minimal" (gpt-5, -mini, -nano), "low" (o-series);
                nothing for models that do not reason (gpt-4o, gpt-4.1)
    ollama      reasoning_effort "none"                reasoning_effort
    vllm        chat_template_kwargs                   chat_template_kwargs enable_thinking true,
                {"enable_thinking": false}             reasoning_effort
    openrouter  reasoning {"enabled": false}           reasoning {"effort": level}
    llamacpp, generic: nothing (the server's own default)
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from pipeline.console import one_line

if TYPE_CHECKING:  # config.py reads the provider names here: no import back at run time
    from pipeline.config import LlmConfig

logger = logging.getLogger(__name__)

Reasoning = Callable[[str, str], dict[str, Any]]  # (level, model) -> body fields


def _no_reasoning(level: str, model: str) -> dict[str, Any]:
    return {}


def _deepseek(level: str, model: str) -> dict[str, Any]:
    if level == "off":
        return {"thinking": {"type": "disabled"}}
    effort = "low" if level == "low" else "high"  # DeepSeek maps medium to high itself
    return {"thinking": {"type": "enabled"}, "reasoning_effort": effort}


def openai_effort_floor(model: str) -> str | None:
    """The lowest reasoning_effort an OpenAI model takes; None when it takes none at all."""
    name = model.lower().rsplit("/", 1)[-1]
    if re.match(r"gpt-5\.\d", name):
        return "none"
    if name.startswith("gpt-5"):
        return "minimal"
    if re.match(r"o\d", name):
        return "low"
    return None


def _openai(level: str, model: str) -> dict[str, Any]:
    floor = openai_effort_floor(model)
    if floor is None:
        return {}
    return {"reasoning_effort": floor if level == "off" else level}


def _ollama(level: str, model: str) -> dict[str, Any]:
    return {"reasoning_effort": "none" if level == "off" else level}


def _vllm(level: str, model: str) -> dict[str, Any]:
    if level == "off":
        return {"chat_template_kwargs": {"enable_thinking": False}}
    return {"chat_template_kwargs": {"enable_thinking": True}, "reasoning_effort": level}


def _openrouter(level: str, model: str) -> dict[str, Any]:
    if level == "off":
        return {"reasoning": {"enabled": False}}
    return {"reasoning": {"effort": level}}


def _ollama_num_ctx(shown: Any, model: str) -> int | None:
    """The num_ctx parameter; model_info's context_length is the model's most, not Ollama's."""
    if not isinstance(shown, dict):
        return None
    for line in str(shown.get("parameters") or "").splitlines():
        name, _, value = line.strip().partition(" ")
        if name == "num_ctx" and value.strip().isdigit():
            return int(value.strip())
    return None


def _vllm_max_model_len(listed: Any, model: str) -> int | None:
    data = listed.get("data") if isinstance(listed, dict) else None
    for entry in data if isinstance(data, list) else []:
        if isinstance(entry, dict) and entry.get("id") == model:
            size = entry.get("max_model_len")
            if isinstance(size, int) and size > 0:
                return size
    return None


def _llamacpp_n_ctx(props: Any, model: str) -> int | None:
    """llama-server's /props: n_ctx under default_generation_settings (older: at the top)."""
    if not isinstance(props, dict):
        return None
    settings = props.get("default_generation_settings")
    for where in (settings if isinstance(settings, dict) else {}, props):
        size = where.get("n_ctx")
        if isinstance(size, int) and not isinstance(size, bool) and size > 0:
            return size
    return None


@dataclass(frozen=True)
class ContextQuery:
    """How a server tells the context it gives a model: one request, and where its answer has
    the size (llm/window.py sends it)."""

    source: str  # named next to the size: "Ollama num_ctx"
    path: str  # "/x": from the server's root; "x": from llm.base_url
    read: Callable[[Any, str], int | None]  # (the JSON answer, the model) -> tokens
    post_model: bool = False  # POST {"model": ...} instead of a GET

    def url(self, base_url: str) -> str:
        if not self.path.startswith("/"):
            return base_url.rstrip("/") + "/" + self.path
        parts = urlsplit(base_url)
        return f"{parts.scheme}://{parts.netloc}{self.path}"


@dataclass(frozen=True)
class Profile:
    """What one kind of endpoint takes and reports."""

    name: str
    cap_param: str = "max_tokens"  # the field that caps the answer's tokens
    reasoning: Reasoning = _no_reasoning
    cached_field: str = "prompt_tokens_details.cached_tokens"  # the cache-hit count in usage
    context_fix: str = "use a model with a larger context"
    local: bool = False  # a server on the user's machine or network, not a cloud API: no
    # price, and no genai-prices entry (its context is what the server was started with)
    prices_id: str | None = None  # the provider's id in genai-prices (None: any provider)
    context_query: ContextQuery | None = None  # how the server tells its context, if it does


PROFILES = {
    p.name: p
    for p in (
        Profile(
            "deepseek",
            reasoning=_deepseek,
            cached_field="prompt_cache_hit_tokens",
            prices_id="deepseek",
        ),
        Profile("openai", cap_param="max_completion_tokens", reasoning=_openai, prices_id="openai"),
        Profile(
            "ollama",
            reasoning=_ollama,
            context_fix="raise num_ctx (Modelfile) or OLLAMA_CONTEXT_LENGTH",
            local=True,
            context_query=ContextQuery("Ollama num_ctx", "/api/show", _ollama_num_ctx, True),
        ),
        Profile(
            "vllm",
            reasoning=_vllm,
            context_fix="start vLLM with a larger --max-model-len",
            local=True,
            context_query=ContextQuery("vLLM max_model_len", "models", _vllm_max_model_len),
        ),
        Profile(
            "llamacpp",
            context_fix="start the server with a larger context (-c / --ctx-size, n_ctx)",
            local=True,
            context_query=ContextQuery("llama.cpp n_ctx", "/props", _llamacpp_n_ctx),
        ),
        Profile("openrouter", reasoning=_openrouter, prices_id="openrouter"),
        Profile("generic"),
    )
}
PROVIDERS = ("auto", *PROFILES)  # llm.provider's choices ("auto": detected from llm.base_url)
HOSTS = {"api.deepseek.com": "deepseek", "api.openai.com": "openai", "openrouter.ai": "openrouter"}


def detect(base_url: str) -> str:
    """The provider a base URL points at: by host, port 11434 is Ollama, else generic."""
    parts = urlsplit(base_url)
    host = (parts.hostname or "").lower()
    if host in HOSTS:
        return HOSTS[host]
    try:
        port = parts.port
    except ValueError:
        port = None
    return "ollama" if port == 11434 else "generic"


def profile_for(cfg: LlmConfig) -> Profile:
    """The profile of the configured provider (`auto`: detected from llm.base_url)."""
    return PROFILES[detect(cfg.base_url) if cfg.provider == "auto" else cfg.provider]


# -- what the run learns from HTTP 400 -----------------------------------------------------------

FIXED = frozenset({"model", "messages", "response_format"})  # never dropped: the request's point
EFFORT_LADDER = ("none", "minimal", "low")  # an unsupported low effort steps up one rung
_USE_INSTEAD = re.compile(r"use '(\w+)' instead", re.IGNORECASE)
_UNRECOGNIZED = re.compile(r"unrecognized request arguments? supplied:\s*'?(\w+)", re.IGNORECASE)
_QUOTED = re.compile(r"['\"`](\w+)['\"`]")
_REJECTS = re.compile(
    r"unsupported|not supported|unrecognized|unknown|not permitted|not allowed",
    re.IGNORECASE,
)


class RequestShape:
    """The body fields of every request of a run, as the endpoint has taught us (thread-safe)."""

    def __init__(self, cfg: LlmConfig, profile: Profile) -> None:
        self.cfg = cfg
        self.profile = profile
        self.version = 0  # bumped by every adaptation
        self._lock = threading.Lock()
        self._dropped: set[str] = set()
        self._renamed: dict[str, str] = {}
        self._replaced: dict[str, Any] = {}

    def body(self, cap: int) -> tuple[int, dict[str, Any]]:
        """(version, the fields to send besides model, messages and response_format)."""
        fields: dict[str, Any] = {self.profile.cap_param: cap}
        if self.cfg.temperature is not None:
            fields["temperature"] = self.cfg.temperature
        fields.update(self.profile.reasoning(self.cfg.reasoning, self.cfg.model))
        fields.update(self.cfg.extra_body)
        with self._lock:
            fields.update({k: v for k, v in self._replaced.items() if k in fields})
            for old, new in self._renamed.items():
                if old in fields:
                    fields[new] = fields.pop(old)
            for key in self._dropped:
                fields.pop(key, None)
            return self.version, fields

    def adapt(self, version: int, sent: dict[str, Any], message: str, param: str | None) -> bool:
        """Learn from a 400 about a request sent at `version`; True when it is worth resending.

        Logs one line per change; a 400 already learnt by another thread just resends.
        """
        with self._lock:
            if version != self.version:
                return True
            key = _rejected_key(sent, message, param)
            if key is None:
                return False
            change = self._change(key, sent[key], message)
            if change is None:
                return False
            self.version += 1
        reason = one_line(message, 90)
        logger.warning("model endpoint rejected %r (%s): %s from now on", key, reason, change)
        return True

    def _change(self, key: str, value: Any, message: str) -> str | None:
        rename = _USE_INSTEAD.search(message)
        if rename and rename.group(1) not in self._renamed.values() and key not in self._renamed:
            self._renamed[key] = rename.group(1)
            return f"sending {rename.group(1)!r} instead"
        if key == "reasoning_effort" and value in EFFORT_LADDER[:-1]:
            higher = EFFORT_LADDER[EFFORT_LADDER.index(value) + 1]
            self._replaced[key] = higher
            return f"sending reasoning_effort {higher!r}"
        if key in self._dropped:
            return None
        self._dropped.add(key)
        return "not sending it"


def _rejected_key(sent: dict[str, Any], message: str, param: str | None) -> str | None:
    """The body field a 400 names as unsupported, if it is one we may drop or rename."""
    candidates = []
    if m := _UNRECOGNIZED.search(message):
        candidates.append(m.group(1))
    if param:
        candidates.append(param.split(".")[0])
    if _REJECTS.search(message):
        candidates += _QUOTED.findall(message)
    return next((c for c in candidates if c in sent and c not in FIXED), None)

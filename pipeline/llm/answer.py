"""Reading a chat completion: the answer's text, why it stopped, and what it cost.

Only `message.content` is the answer. Reasoning (`reasoning_content`, `reasoning`, a
`<think>…</think>` block in the content) is never read as the answer; its token count is kept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pipeline.state import Usage

_THINK = re.compile(r"<think>.*?</think>", re.IGNORECASE | re.DOTALL)
_OPEN_THINK = re.compile(r"^\s*<think>", re.IGNORECASE)
_FENCE = re.compile(r"^```[\w-]*[ \t]*\n?(.*?)\n?[ \t]*```$", re.DOTALL)
CACHED_FIELDS = ("prompt_tokens_details.cached_tokens", "prompt_cache_hit_tokens")


@dataclass
class Reply:
    """One chat completion, read: the cleaned answer text and how it ended."""

    content: str
    finish_reason: str
    usage: Usage | None  # None when the endpoint reported no usage
    model: str = ""
    completion: bool = True  # False: a 200 whose body was not a chat completion (content: body)


def read_reply(response: Any, cached_field: str = CACHED_FIELDS[0]) -> Reply:
    """The reply of a parsed completion; `cached_field` says where the cache-hit count is."""
    try:
        choice = response.choices[0]
    except (AttributeError, IndexError, TypeError):
        return Reply("", "", _usage(response, cached_field), _text(getattr(response, "model", "")))
    content = getattr(choice.message, "content", None) if choice.message else None
    return Reply(
        content=clean_content(content if isinstance(content, str) else ""),
        finish_reason=_text(getattr(choice, "finish_reason", "")),
        usage=_usage(response, cached_field),
        model=_text(getattr(response, "model", "")),
    )


def clean_content(text: str) -> str:
    """The answer without `<think>` blocks and without a code fence around it."""
    text = _THINK.sub("", text)
    if _OPEN_THINK.match(text):  # a think block never closed: all of it is reasoning
        return ""
    text = text.strip()
    fenced = _FENCE.match(text)
    return fenced.group(1).strip() if fenced else text


def _usage(response: Any, cached_field: str) -> Usage | None:
    usage = getattr(response, "usage", None)
    if usage is None:
        return None
    cached = _path(usage, cached_field)
    for other in CACHED_FIELDS:
        cached = cached if cached is not None else _path(usage, other)
    return Usage(
        prompt_tokens=_int(getattr(usage, "prompt_tokens", 0)),
        cached_prompt_tokens=_int(cached),
        completion_tokens=_int(getattr(usage, "completion_tokens", 0)),
        reasoning_tokens=_int(_path(usage, "completion_tokens_details.reasoning_tokens")),
    )


def _path(obj: Any, dotted: str) -> Any:
    for name in dotted.split("."):
        if obj is None:
            return None
        obj = obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)
    return obj


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""

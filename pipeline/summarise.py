"""Prompt rendering, the chat completion, and parsing and validating the model's answer."""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import jinja2

from pipeline.config import LlmConfig
from pipeline.errors import SummariseError
from pipeline.quality import answer_problems, normalise_answer
from pipeline.redact import redact
from pipeline.store import sha256_bytes

if TYPE_CHECKING:
    from pipeline.arxiv import Meta
    from pipeline.pdftext import Selection

logger = logging.getLogger(__name__)

PROMPTS_DIR = Path(__file__).resolve().parent.parent / "prompts"
PROMPT_FILES = ("system.j2", "paper.j2", "repair.j2")
# Anything in the paper text that looks like our delimiters is defanged before quoting.
_DELIMITER_RE = re.compile(r"<\s*/?\s*paper\s*>", re.IGNORECASE)


def prompt_hash(prompts_dir: Path = PROMPTS_DIR) -> str:
    """Hash of the prompt templates: a change to any of them makes every summary stale."""
    parts = [(prompts_dir / name).read_bytes() for name in PROMPT_FILES]
    return sha256_bytes(b"\0".join(parts))


def endpoint_host(base_url: str) -> str:
    return urlsplit(base_url).netloc or base_url


def quote_paper_text(text: str) -> str:
    """Neutralise delimiter look-alikes so the paper cannot close its own quotation."""
    return _DELIMITER_RE.sub(lambda m: m.group(0).replace("<", "‹").replace(">", "›"), text)


@dataclass
class Answer:
    """A validated summary and what it cost."""

    summary: dict[str, Any]
    prompt_tokens: int = 0
    completion_tokens: int = 0
    attempts: int = 1
    model: str = ""
    repaired_problems: list[str] = field(default_factory=list)


class Summariser:
    """Asks the model for one paper's summary; one repair round when the answer breaks the rules."""

    def __init__(self, cfg: LlmConfig, api_key: str, prompts_dir: Path = PROMPTS_DIR) -> None:
        from openai import OpenAI  # heavy import: only when a summary is needed

        self.cfg = cfg
        self.api_key = api_key
        self.client = OpenAI(
            base_url=cfg.base_url,
            api_key=api_key,
            timeout=cfg.timeout_seconds,
            max_retries=2,  # the client's own retry of 408/409/429/5xx: the only retry layer
        )
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(str(prompts_dir)),
            undefined=jinja2.StrictUndefined,
            keep_trailing_newline=True,
            autoescape=False,
        )

    def messages(self, meta: Meta, selection: Selection) -> list[dict[str, str]]:
        user = self.env.get_template("paper.j2").render(
            title=meta.title,
            authors=", ".join(meta.authors[:20]),
            paper_id=meta.id,
            version=meta.version,
            text=quote_paper_text(selection.text),
            truncated=selection.truncated,
            omitted=selection.omitted,
        )
        system = self.env.get_template("system.j2").render()
        return [{"role": "system", "content": system}, {"role": "user", "content": user}]

    def summarise(self, meta: Meta, selection: Selection) -> Answer:
        """A summary that satisfies the answer contract, or SummariseError naming the paper."""
        messages = self.messages(meta, selection)
        answer = Answer(summary={}, model=self.cfg.model)
        content, problems = self._ask(meta.id, messages, answer)
        if problems:
            logger.info("%s: answer sent back once: %s", meta.id, "; ".join(problems))
            answer.repaired_problems = problems
            repair = self.env.get_template("repair.j2").render(problems=problems)
            messages += [
                {"role": "assistant", "content": content},
                {"role": "user", "content": repair},
            ]
            answer.attempts = 2
            content, problems = self._ask(meta.id, messages, answer)
            if problems:
                raise SummariseError(
                    meta.id, "model answer unusable after one repair: " + "; ".join(problems[:4])
                )
        answer.summary = normalise_answer(json.loads(content))
        return answer

    def _ask(
        self, paper_id: str, messages: list[dict[str, str]], answer: Answer
    ) -> tuple[str, list[str]]:
        response = self._complete(paper_id, messages)
        if isinstance(response, str):  # a 200 whose body is not JSON
            return response, ["the endpoint's reply was not a chat completion"]
        usage = getattr(response, "usage", None)
        if usage is not None:
            answer.prompt_tokens += usage.prompt_tokens or 0
            answer.completion_tokens += usage.completion_tokens or 0
        if getattr(response, "model", None):
            answer.model = response.model
        content = _content(response)
        try:
            parsed = json.loads(content)
        except ValueError:
            return content, ["the answer is not a JSON object"]
        return content, answer_problems(parsed)

    def _complete(self, paper_id: str, messages: list[dict[str, str]]) -> Any:
        import openai

        try:
            return self.client.chat.completions.create(
                model=self.cfg.model,
                messages=messages,  # type: ignore[arg-type]
                response_format={"type": "json_object"},
                temperature=0.3,
            )
        except openai.AuthenticationError as exc:
            raise SummariseError(
                paper_id,
                f"the endpoint refused the key in {self.cfg.api_key_env} "
                f"(HTTP {exc.status_code}); check that variable",
            ) from None
        except openai.BadRequestError as exc:
            reason = self._clean(exc)
            if "context" in reason.lower() or "too long" in reason.lower():
                reason = f"prompt exceeds the model's context length ({reason})"
            raise SummariseError(paper_id, f"model request rejected: {reason}") from None
        except openai.APIStatusError as exc:
            raise SummariseError(
                paper_id, f"model endpoint answered HTTP {exc.status_code}: {self._clean(exc)}"
            ) from None
        except openai.APIError as exc:
            raise SummariseError(paper_id, f"model request failed: {self._clean(exc)}") from None

    def _clean(self, exc: Exception) -> str:
        text = redact(str(exc), self.api_key)
        return text if len(text) < 300 else text[:300] + "…"


def _content(response: Any) -> str:
    try:
        content = response.choices[0].message.content
    except (AttributeError, IndexError, TypeError):
        return ""
    return content if isinstance(content, str) else ""

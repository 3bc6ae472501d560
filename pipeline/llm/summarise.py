"""Prompt rendering, the chat completion, and parsing and validating the model's answer."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import jinja2

from pipeline.config import LlmConfig
from pipeline.errors import SummariseError
from pipeline.quality.checks import answer_problems, normalise_answer
from pipeline.redact import redact
from pipeline.store import sha256_bytes

if TYPE_CHECKING:
    from pipeline.state import Meta
    from pipeline.text.sections import Selection

logger = logging.getLogger(__name__)

PROMPTS_DIR = Path(__file__).resolve().parents[2] / "prompts"
PROMPT_FILES = ("system.j2", "paper.j2", "repair.j2")
# Anything in the paper text that a model could read as our <paper> / </paper> delimiters is
# defanged before quoting: "<", ">" and their look-alikes (full-width, angle brackets, guillemets,
# HTML entities), a "/" or "\\" (a JSON-escaped "</paper>"), spaces or invisible characters
# anywhere, any letter case, full-width or Cyrillic look-alike letters, attributes, a missing ">".
_OPENERS = "<\uff1c\ufe64\u3008\u2329\u27e8\u2039\u00ab\u300a\u276e\u276c\u29fc\u02c2\u1438"
_CLOSERS = ">\uff1e\ufe65\u3009\u232a\u27e9\u203a\u00bb\u300b\u276f\u276d\u29fd\u02c3\u1433"
_GAP = r"[\s\u00ad\u034f\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff]*"
_WORD = _GAP.join(("[pｐр]", "[aａа]", "[pｐр]", "[eｅе]", "[rｒ]"))
_DELIMITER_RE = re.compile(
    rf"(?P<open>[{_OPENERS}]|&lt;?|&#0*60;?|&#x0*3c;?){_GAP}(?:[/／⁄∕⧸\\]{_GAP})*{_WORD}"
    rf"(?![^\W\d_])(?:[^\n&{_OPENERS}{_CLOSERS}]{{0,80}}?"
    rf"(?P<close>[{_CLOSERS}]|&gt;?|&#0*62;?|&#x0*3e;?))?",
    re.IGNORECASE,
)


def prompt_hash(prompts_dir: Path = PROMPTS_DIR) -> str:
    """Hash of the prompt templates: a change to any of them makes every summary stale."""
    parts = [(prompts_dir / name).read_bytes() for name in PROMPT_FILES]
    return sha256_bytes(b"\0".join(parts))


def endpoint_host(base_url: str) -> str:
    """The endpoint's network location (host[:port]), as recorded in the state and detail file."""
    return urlsplit(base_url).netloc or base_url


def quote_paper_text(text: str) -> str:
    """Neutralise delimiter look-alikes so the paper cannot close its own quotation.

    The brackets of each look-alike become parentheses ("</paper>" -> "(/paper)"), which no
    model reads as a tag; the result contains no look-alike (quoting twice changes nothing).
    """
    return _DELIMITER_RE.sub(_defang, text)


def _defang(m: re.Match[str]) -> str:
    end = m.start("close") if m["close"] else m.end()
    return "(" + m.string[m.end("open") : end] + (")" if m["close"] else "")


UsageSink = Callable[[int, int], None]


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
        self.refused: str | None = None  # once the endpoint refuses the key, ask no more
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
        """The system and user messages for one paper, from the prompts/ templates."""
        user = self.env.get_template("paper.j2").render(
            title=_metadata_line(meta.title),
            authors=_metadata_line(", ".join(meta.authors[:20])),
            paper_id=meta.id,
            version=meta.version,
            text=quote_paper_text(selection.text),
            truncated=selection.truncated,
            omitted=[_metadata_line(label) for label in selection.omitted],
        )
        system = self.env.get_template("system.j2").render()
        return [{"role": "system", "content": system}, {"role": "user", "content": user}]

    def summarise(
        self, meta: Meta, selection: Selection, on_usage: UsageSink | None = None
    ) -> Answer:
        """A summary that satisfies the answer contract, or SummariseError naming the paper.

        ``on_usage(prompt_tokens, completion_tokens)`` is called after every answer, also when
        the paper fails afterwards: the run's token totals include what a failure cost.
        """
        messages = self.messages(meta, selection)
        answer = Answer(summary={}, model=self.cfg.model)
        content, problems = self._ask(meta.id, messages, answer, on_usage)
        if problems:
            logger.info("%s: answer sent back once: %s", meta.id, "; ".join(problems))
            answer.repaired_problems = problems
            repair = self.env.get_template("repair.j2").render(problems=problems)
            messages += [
                {"role": "assistant", "content": content},
                {"role": "user", "content": repair},
            ]
            answer.attempts = 2
            content, problems = self._ask(meta.id, messages, answer, on_usage)
            if problems:
                more = f"; and {len(problems) - 4} more" if len(problems) > 4 else ""
                raise SummariseError(
                    meta.id,
                    "model answer unusable after one repair: " + "; ".join(problems[:4]) + more,
                )
        answer.summary = normalise_answer(json.loads(content))
        return answer

    def _ask(
        self,
        paper_id: str,
        messages: list[dict[str, str]],
        answer: Answer,
        on_usage: UsageSink | None = None,
    ) -> tuple[str, list[str]]:
        response = self._complete(paper_id, messages)
        if isinstance(response, str):  # a 200 whose body is not JSON
            return response, ["the endpoint's reply was not a chat completion"]
        usage = getattr(response, "usage", None)
        if usage is not None:
            prompt, completion = usage.prompt_tokens or 0, usage.completion_tokens or 0
            answer.prompt_tokens += prompt
            answer.completion_tokens += completion
            if on_usage is not None:
                on_usage(prompt, completion)
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

        if self.refused:
            raise SummariseError(paper_id, self.refused)
        try:
            return self.client.chat.completions.create(
                model=self.cfg.model,
                messages=messages,  # type: ignore[arg-type]
                response_format={"type": "json_object"},
                temperature=0.3,
            )
        except openai.AuthenticationError as exc:
            self.refused = (
                f"the endpoint refused the key in {self.cfg.api_key_env} "
                f"(HTTP {exc.status_code}); check that variable"
            )
            raise SummariseError(paper_id, self.refused) from None
        except openai.BadRequestError as exc:
            reason = self._clean(exc)
            if "context" in reason.lower() or "too long" in reason.lower():
                reason = (
                    "prompt exceeds the model's context length; lower llm.max_input_tokens "
                    f"(now {self.cfg.max_input_tokens}) ({reason})"
                )
            raise SummariseError(paper_id, f"model request rejected: {reason}") from None
        except openai.APIStatusError as exc:
            raise SummariseError(
                paper_id, f"model endpoint answered HTTP {exc.status_code}: {self._clean(exc)}"
            ) from None
        except openai.APITimeoutError:
            raise SummariseError(
                paper_id,
                f"model request timed out: no answer within {self.cfg.timeout_seconds:g} s "
                f"(llm.timeout_seconds), {self.client.max_retries + 1} tries",
            ) from None
        except openai.APIError as exc:
            raise SummariseError(paper_id, f"model request failed: {self._clean(exc)}") from None

    def _clean(self, exc: Exception) -> str:
        text = redact(str(exc), self.api_key)
        return text if len(text) < 300 else text[:300] + "…"


def _metadata_line(text: str) -> str:
    """Text placed before <paper> (arXiv metadata, omitted section names): one line, no tags."""
    return quote_paper_text(" ".join(text.split()))


def _content(response: Any) -> str:
    try:
        content = response.choices[0].message.content
    except (AttributeError, IndexError, TypeError):
        return ""
    return content if isinstance(content, str) else ""

"""One paper's summary: the prompt, the request (llm/client.py), and what the answer must be.

A cut answer is asked again with a larger cap, a prompt the endpoint cut or refused as too long
fails with the fix (or is refitted to the context the endpoint named), and an answer that breaks
the contract is sent back once."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2

from pipeline.config import LlmConfig
from pipeline.errors import SummariseError
from pipeline.figures.keyfig import key_figure
from pipeline.llm.answer import Reply
from pipeline.llm.client import ContextExceeded, ModelClient
from pipeline.llm.context import Context
from pipeline.llm.limiter import AdaptiveLimiter
from pipeline.llm.prompts import PROMPTS_DIR, quote_paper_text
from pipeline.quality.answers import (
    QuoteIndex,
    answers_form_problems,
    checked_answers,
    quote_problems,
)
from pipeline.quality.checks import answer_problems, normalise_answer
from pipeline.sources import retry as netretry
from pipeline.state import Usage
from pipeline.text.tokens import estimate_tokens

if TYPE_CHECKING:
    from pipeline.state import Meta, QuestionAnswer
    from pipeline.text.sections import Selection

logger = logging.getLogger(__name__)


UsageSink = Callable[[Usage], None]
Reselect = Callable[[int], "Selection"]  # a text budget in tokens -> the paper text that fits
TRUNCATED_SHARE = 0.6  # the endpoint counted under this share of our prompt: it cut the prompt
BUSY_RETRIES = 2  # finish_reason "insufficient_system_resource" is retried like a 503


@dataclass
class Answer:
    """A validated summary, what it cost, and the paper text it was made from."""

    summary: dict[str, Any]
    selection: Selection
    cap: int  # the answer cap of the latest request
    usage: Usage = field(default_factory=Usage)
    attempts: int = 0  # answers received for this paper
    model: str = ""
    repaired_problems: list[str] = field(default_factory=list)
    raised_cap: bool = False
    ceiling: int | None = None  # the largest cap the model's context leaves, once known
    questions: tuple[str, ...] = ()  # the reader's questions, answered in "answers"
    quotes: QuoteIndex | None = None  # the paper text their quotes are looked up in
    answers: list[QuestionAnswer] = field(default_factory=list)  # checked, some maybe flagged
    figures: list[tuple[int, str]] = field(default_factory=list)  # (number, caption) listed
    key_figure: int | None = None  # the model's pick among `figures`, None: none or invalid


def prompt_estimate(messages: list[dict[str, str]]) -> int:
    """Our token estimate of a prompt, the measure the endpoint's usage.prompt_tokens meets."""
    return sum(estimate_tokens(m["content"]) for m in messages)


class Summariser:
    """Asks the model for one paper's summary; one repair round when the answer breaks the rules."""

    def __init__(
        self,
        cfg: LlmConfig,
        api_key: str,
        prompts_dir: Path = PROMPTS_DIR,
        limiter: AdaptiveLimiter | None = None,
    ) -> None:
        self.cfg = cfg
        self.client = ModelClient(cfg, api_key, limiter)
        self.context = Context()  # the model's context size, once an endpoint has named it
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(str(prompts_dir)),
            undefined=jinja2.StrictUndefined,
            keep_trailing_newline=True,
            autoescape=False,
        )

    def preflight(self) -> Usage:
        """One tiny request before any PDF is downloaded (see ModelClient.preflight); its cost."""
        return self.client.preflight() or Usage()

    def messages(
        self,
        meta: Meta,
        selection: Selection,
        questions: tuple[str, ...] = (),
        figures: list[tuple[int, str]] | None = None,
    ) -> list[dict[str, str]]:
        """The system and user messages for one paper, from the prompts/ templates. The system
        message is the same for every paper (providers cache that prefix); the paper, its
        questions and its figures' captions (for the model to pick the key one) follow in the
        user message."""
        user = self.env.get_template("paper.j2").render(
            figures=[(n, _metadata_line(caption)) for n, caption in figures or []],
            title=_metadata_line(meta.title),
            authors=_metadata_line(", ".join(meta.authors[:20])),
            paper_id=meta.id,
            version=meta.version,
            text=quote_paper_text(selection.text),
            truncated=selection.truncated,
            omitted=[_metadata_line(label) for label in selection.omitted],
            questions=[_metadata_line(q) for q in questions],
        )
        system = self.env.get_template("system.j2").render()
        return [{"role": "system", "content": system}, {"role": "user", "content": user}]

    def prompt_tokens(self, meta: Meta) -> int:
        """Our estimate of the prompt around the paper text (system part, title, framing)."""
        from pipeline.text.sections import Selection

        return prompt_estimate(self.messages(meta, Selection("", 0, [], [], False)))

    def summarise(
        self,
        meta: Meta,
        selection: Selection,
        on_usage: UsageSink | None = None,
        reselect: Reselect | None = None,
        questions: tuple[str, ...] = (),
        paper_text: str | None = None,
        figures: list[tuple[int, str]] | None = None,
    ) -> Answer:
        """A summary that satisfies the answer contract, or SummariseError naming the paper.

        ``on_usage(usage)`` is called after every answer, also when the paper fails afterwards:
        the run's token totals include what a failure cost. ``reselect(budget)`` gives the paper
        text for a smaller budget when the endpoint says the prompt exceeds its context.
        ``questions`` are answered with quotes looked up in ``paper_text`` (default: the text
        sent); a quote not found is sent back once, then kept flagged (``Answer.answers``).
        """
        answer = Answer(summary={}, selection=selection, cap=self.cfg.max_output_tokens)
        if questions:
            answer.questions = questions
            answer.quotes = QuoteIndex(paper_text or selection.text)
        answer.figures = list(figures or [])
        messages = self._fitted(meta, answer, reselect)
        try:
            content, problems = self._ask(meta.id, messages, answer, on_usage)
        except ContextExceeded as exc:
            self.context.learn(exc.limit, exc.prompt_tokens, prompt_estimate(messages))
            before = (answer.selection.tokens, answer.cap)
            messages = self._fitted(meta, answer, reselect)
            if (answer.selection.tokens, answer.cap) == before:  # nothing smaller to send
                raise SummariseError(meta.id, self._context_advice(exc.limit)) from None
            content, problems = self._ask_fitted(meta.id, messages, answer, on_usage)
        problems = problems or self._quote_problems(content, answer)
        if problems:
            logger.info("%s: answer sent back once: %s", meta.id, "; ".join(problems))
            answer.repaired_problems = problems
            repair = self.env.get_template("repair.j2").render(problems=problems)
            messages += [
                {"role": "assistant", "content": content},
                {"role": "user", "content": repair},
            ]
            content, problems = self._ask_fitted(meta.id, messages, answer, on_usage)
            if problems:
                # the first problem names the class; the INFO line above (-v: whole) has them all
                more = f"; and {len(problems) - 1} more" if len(problems) > 1 else ""
                raise SummariseError(
                    meta.id, f"model answer unusable after one repair: {problems[0]}{more}"
                )
        parsed = json.loads(content)
        answer.summary = normalise_answer(parsed)
        if answer.quotes is not None:
            answer.answers = checked_answers(parsed, answer.questions, answer.quotes)
        answer.key_figure = key_figure(parsed, [n for n, _ in answer.figures])
        return answer

    @staticmethod
    def _quote_problems(content: str, answer: Answer) -> list[str]:
        """For an answer of the right form: quotes the paper does not hold, claims with none."""
        if answer.quotes is None:
            return []
        return quote_problems(json.loads(content), answer.questions, answer.quotes)

    def _ask(
        self,
        paper_id: str,
        messages: list[dict[str, str]],
        answer: Answer,
        on_usage: UsageSink | None,
    ) -> tuple[str, list[str]]:
        """One answer's text and what is wrong with it (empty: nothing)."""
        reply = self._reply(paper_id, messages, answer, on_usage)
        if not reply.completion:
            return reply.content, ["the endpoint's reply was not a chat completion"]
        if not reply.content:  # DeepSeek blanks an answer that was not valid JSON
            logger.info(
                "%s: empty answer (finish_reason %s); asking again once",
                paper_id,
                reply.finish_reason or "missing",
            )
            reply = self._reply(paper_id, messages, answer, on_usage)
            if not reply.content:
                raise SummariseError(
                    paper_id,
                    f"the model's answer was empty twice (finish_reason "
                    f"{reply.finish_reason or 'missing'})",
                )
        try:
            parsed = json.loads(reply.content)
        except ValueError:
            return reply.content, ["the answer is not a JSON object"]
        return reply.content, answer_problems(parsed) + answers_form_problems(
            parsed, answer.questions
        )

    def _reply(
        self,
        paper_id: str,
        messages: list[dict[str, str]],
        answer: Answer,
        on_usage: UsageSink | None,
    ) -> Reply:
        """A reply that ended normally: a cut answer is asked again once with a larger cap; an
        answer the endpoint ended for lack of resources (an HTTP 200, so not the limiter's to
        retry: see llm/limiter.py) is asked again after a pause, and lowers the concurrency."""
        busy = 0
        while True:
            reply = self.client.complete(paper_id, messages, answer.cap)
            answer.attempts += 1
            answer.model = reply.model or answer.model
            if reply.usage is not None:
                answer.usage += reply.usage
                if on_usage is not None:
                    on_usage(reply.usage)
            self._check_prompt(paper_id, messages, reply)
            reason = reply.finish_reason
            if reason == "insufficient_system_resource" and busy < BUSY_RETRIES:
                busy += 1
                self.client.limiter.note_overload()  # like a 503: fewer requests at once
                wait = 2.0**busy
                logger.info(
                    "Sleeping: %.2f seconds (%s: the endpoint is out of resources)", wait, paper_id
                )
                netretry.pause(wait)
            elif reason == "length" and not answer.raised_cap and self._raise_cap(answer):
                logger.info(
                    "%s: answer cut at the output cap; asking again with %d tokens",
                    paper_id,
                    answer.cap,
                )
            else:
                self._check_end(paper_id, reason, answer)
                return reply

    @staticmethod
    def _raise_cap(answer: Answer) -> bool:
        """Double the answer cap once, as far as the model's context allows; False: it can't."""
        higher = 2 * answer.cap
        if answer.ceiling is not None:
            higher = min(higher, answer.ceiling)
        answer.raised_cap = True
        if higher <= answer.cap:
            return False
        answer.cap = higher
        return True

    def _check_end(self, paper_id: str, reason: str, answer: Answer) -> None:
        if reason == "length":
            raise SummariseError(
                paper_id,
                f"answer cut at the output cap again ({answer.cap} tokens); raise "
                f"llm.max_output_tokens (now {self.cfg.max_output_tokens})",
            )
        if reason == "content_filter":
            raise SummariseError(paper_id, "the endpoint's content filter stopped the answer")
        if reason == "insufficient_system_resource":
            raise SummariseError(
                paper_id,
                f"the endpoint is out of resources (insufficient_system_resource), "
                f"{BUSY_RETRIES + 1} tries; try again later",
            )

    def _check_prompt(self, paper_id: str, messages: list[dict[str, str]], reply: Reply) -> None:
        """Refuse an answer to a prompt the endpoint silently cut to its context (Ollama)."""
        counted = reply.usage.prompt_tokens if reply.usage else 0
        sent = prompt_estimate(messages)
        if counted and counted < TRUNCATED_SHARE * sent:
            raise SummariseError(
                paper_id,
                f"the endpoint cut the prompt to its context ({counted} of ~{sent} tokens read): "
                f"{self._fix()}",
            )

    def _fitted(self, meta: Meta, answer: Answer, reselect: Reselect | None) -> list[dict]:
        """The messages for `answer.selection`, fitted to the model's context once it is known:
        a lower answer cap, else less paper text (`reselect`), else SummariseError."""
        messages = self.messages(meta, answer.selection, answer.questions, answer.figures)
        prompt = prompt_estimate(messages)
        fitted = self.context.fit(prompt, answer.selection.tokens, answer.cap)
        if fitted is None or (fitted[0] is not None and reselect is None):
            raise SummariseError(meta.id, self._context_advice(self.context.limit))
        budget, answer.cap = fitted
        if budget is not None:
            logger.info(
                "%s: the prompt exceeds the model's context (%s tokens); sending %d tokens of "
                "paper text",
                meta.id,
                self.context.limit,
                budget,
            )
            answer.selection = reselect(budget)  # type: ignore[misc]
            messages = self.messages(meta, answer.selection, answer.questions, answer.figures)
        answer.ceiling = self.context.ceiling(prompt_estimate(messages))
        return messages

    def _ask_fitted(
        self,
        paper_id: str,
        messages: list[dict[str, str]],
        answer: Answer,
        on_usage: UsageSink | None,
    ) -> tuple[str, list[str]]:
        """`_ask` for a prompt already fitted to the context: a context 400 now is the end."""
        try:
            return self._ask(paper_id, messages, answer, on_usage)
        except ContextExceeded as exc:
            raise SummariseError(paper_id, self._context_advice(exc.limit)) from None

    def _context_advice(self, limit: int | None) -> str:
        size = f" ({limit} tokens)" if limit else ""
        return f"prompt exceeds the model's context length{size}: {self._fix()}"

    def _fix(self) -> str:
        from pipeline.llm.window import budget_advice

        return f"{self.client.profile.context_fix}, or {budget_advice(self.cfg)}"


def _metadata_line(text: str) -> str:
    """Text placed before <paper> (arXiv metadata, omitted section names): one line, no tags."""
    return quote_paper_text(" ".join(text.split()))

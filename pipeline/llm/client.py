"""The chat completion call: one request shape per run (adapted on HTTP 400), the preflight
request, and every endpoint error turned into one clear reason.

    ModelClient.preflight()   one tiny JSON-mode request before any PDF is downloaded:
                              ConfigError (exit 2) when the key, model, URL or JSON mode is wrong
    ModelClient.complete()    one paper's request: a Reply, ContextExceeded, or SummariseError
"""

from __future__ import annotations

import json
import logging
import re
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import urlsplit

from pipeline.config import LlmConfig
from pipeline.errors import MODEL_UNREACHABLE, ConfigError, RunError, SummariseError
from pipeline.llm.answer import Reply, read_reply
from pipeline.llm.limiter import AdaptiveLimiter, runs_locally
from pipeline.llm.providers import RequestShape, profile_for
from pipeline.redact import redact
from pipeline.state import Usage

if TYPE_CHECKING:
    from openai.types.chat import ChatCompletionMessageParam

logger = logging.getLogger(__name__)

MAX_ADAPTATIONS = 4  # parameters one request may shed before its 400 counts as a failure
PREFLIGHT_CAP = 64
PREFLIGHT_MESSAGES = [
    {"role": "system", "content": "You answer with one JSON object and nothing else."},
    {"role": "user", "content": 'Reply with this JSON object: {"ok": true}'},
]
_LIMIT = re.compile(
    r"maximum context length is (\d+)|available context size \((\d+)|context (?:size|length|window)"
    r" (?:of|is) (\d+)",
    re.IGNORECASE,
)
_REQUESTED = re.compile(r"\((\d+) in the messages|request \((\d+) tokens\)", re.IGNORECASE)
_CONTEXT = re.compile(
    r"context[ _](?:length|size|window)|exceeds? the (?:available )?context|prompt is too long",
    re.IGNORECASE,
)
_NO_MODEL = re.compile(
    r"model.*(?:not[ _]exist|not[ _]found)|unknown model|invalid model|model_not_found",
    re.IGNORECASE,
)
_JSON_MODE = re.compile(r"response_format|json_object|json mode|json_schema", re.IGNORECASE)


class ContextExceeded(SummariseError):
    """The endpoint refused the prompt as longer than its context; carries what it said."""

    def __init__(self, paper_id: str, reason: str, limit: int | None, prompt: int | None) -> None:
        super().__init__(paper_id, reason)
        self.limit = limit  # the context size in tokens, when the endpoint said it
        self.prompt_tokens = prompt  # the endpoint's count of our prompt, when it said it


class ModelClient:
    """The openai client for one run, with what the run learns about the endpoint."""

    def __init__(
        self, cfg: LlmConfig, api_key: str, limiter: AdaptiveLimiter | None = None
    ) -> None:
        from openai import OpenAI  # heavy import: only when a summary is needed

        self.cfg = cfg
        self.api_key = api_key
        self.profile = profile_for(cfg)
        self.shape = RequestShape(cfg, self.profile)
        self.refused: str | None = None  # once the endpoint refuses the key, ask no more
        self.unreachable: RunError | None = None  # the run error, once the endpoint is down
        self.openai = OpenAI(
            base_url=cfg.base_url,
            api_key=api_key,
            timeout=cfg.timeout_seconds,
            max_retries=0,  # retried by the limiter, the one layer that sees 429s (limiter.py)
        )
        self.limiter = limiter or AdaptiveLimiter(cfg.concurrency, local=runs_locally(cfg))

    def close(self) -> None:
        self.openai.close()

    # -- one paper's request --------------------------------------------------------------------

    def complete(self, paper_id: str, messages: list[dict[str, str]], cap: int) -> Reply:
        """The endpoint's reply to `messages` with answers capped at `cap` tokens."""
        import openai

        for _ in range(MAX_ADAPTATIONS + 1):
            if self.refused or self.unreachable:
                raise SummariseError(paper_id, self.refused or MODEL_UNREACHABLE)
            version, fields = self.shape.body(cap)
            try:
                return self._reply(self._create(messages, fields, paper_id))
            except openai.BadRequestError as exc:
                message = self._message(exc)
                if _CONTEXT.search(message) or _context_type(exc.body):
                    limit, prompt = _context_numbers(exc.body, message)
                    raise ContextExceeded(paper_id, message, limit, prompt) from None
                if self.shape.adapt(version, fields, message, exc.param):
                    continue
                raise SummariseError(paper_id, f"model request rejected: {message}") from None
            except openai.APIError as exc:
                raise SummariseError(paper_id, self._failure(exc)) from None
        raise SummariseError(paper_id, "model request rejected after adapting the request")

    def _create(
        self, messages: list[dict[str, str]], fields: dict[str, Any], label: str = "preflight"
    ) -> Any:
        """One chat completion through the limiter (its concurrency, the one retry layer)."""

        def send() -> Any:
            return self.openai.chat.completions.create(
                model=self.cfg.model,
                messages=cast("list[ChatCompletionMessageParam]", messages),
                response_format={"type": "json_object"},
                extra_body=fields,
            )

        return self.limiter.send(send, label, self._probe)

    def _probe(self, pending: int) -> None:
        """A tiny request that queues behind `pending` abandoned prompts on a local endpoint."""
        timeout = self.cfg.timeout_seconds * (min(pending, 8) + 1)
        self.openai.with_options(timeout=timeout).chat.completions.create(
            model=self.cfg.model,
            messages=PREFLIGHT_MESSAGES,  # type: ignore[arg-type]
            extra_body=self.shape.body(1)[1],
        )

    def _reply(self, response: Any) -> Reply:
        if isinstance(response, str):  # a 200 whose body is not JSON
            return Reply(response, "", None, completion=False)
        return read_reply(response, self.profile.cached_field)

    def _failure(self, exc: Exception) -> str:
        """Why a request failed (not a 400); remembers a refused key or a down endpoint."""
        import openai

        if isinstance(exc, openai.AuthenticationError | openai.PermissionDeniedError):
            self.refused = (
                f"the endpoint refused the key in {self.cfg.api_key_env} "
                f"(HTTP {exc.status_code}); check that variable"
            )
            return self.refused
        if isinstance(exc, openai.APIStatusError):
            return f"model endpoint answered HTTP {exc.status_code}: {self._clean(str(exc))}"
        if isinstance(exc, openai.APITimeoutError):
            tries = self.limiter.tries()
            advice = ""
            if self.limiter.local:
                advice = "; a local endpoint works one prompt at a time: raise llm.timeout_seconds"
            return (
                f"model request timed out: no answer within {self.cfg.timeout_seconds:g} s "
                f"(llm.timeout_seconds), {tries} {'try' if tries == 1 else 'tries'}{advice}"
            )
        if isinstance(exc, openai.APIConnectionError):
            if self.unreachable is None:
                line = f"model endpoint {self.host} unreachable: {_cause(exc)}"
                self.unreachable = RunError(MODEL_UNREACHABLE, self.host, line)
            return MODEL_UNREACHABLE
        return f"model request failed: {self._clean(str(exc))}"

    # -- the preflight --------------------------------------------------------------------------

    def preflight(self) -> Usage | None:
        """One tiny JSON-mode request; ConfigError with one line when this config cannot work.

        Passing trouble (a timeout, 429, 5xx after the client's retries) is logged, not fatal:
        the papers' own requests will say more.
        """
        import openai

        for _ in range(MAX_ADAPTATIONS + 1):
            version, fields = self.shape.body(PREFLIGHT_CAP)
            try:
                reply = self._reply(self._create(PREFLIGHT_MESSAGES, fields))
            except openai.BadRequestError as exc:
                message = self._message(exc)
                self._refuse_config(exc, message)
                if self.shape.adapt(version, fields, message, exc.param):
                    continue
                raise ConfigError(
                    f"model endpoint {self.cfg.base_url} rejected a test request "
                    f"(HTTP 400): {message}"
                ) from None
            except openai.APIError as exc:
                self._preflight_failure(exc)
                return None
            self._check_json(reply)
            return reply.usage
        raise ConfigError(f"model endpoint {self.cfg.base_url} rejected every test request")

    def _refuse_config(self, exc: Any, message: str) -> None:
        if _NO_MODEL.search(message):
            raise ConfigError(
                f"model endpoint {self.host} does not know llm.model {self.cfg.model!r} "
                f"({message}); check the name"
            ) from None
        if _JSON_MODE.search(message) and exc.param not in self.shape.body(1)[1]:
            raise ConfigError(
                f"model endpoint {self.host} cannot answer in JSON mode (response_format "
                f"json_object): {message}"
            ) from None

    def _preflight_failure(self, exc: Exception) -> None:
        import openai

        where = f"model endpoint {self.cfg.base_url}"
        if isinstance(exc, openai.AuthenticationError | openai.PermissionDeniedError):
            raise ConfigError(
                f"{where} refused the key in {self.cfg.api_key_env} (HTTP {exc.status_code}); "
                "check that variable"
            ) from None
        if isinstance(exc, openai.NotFoundError):
            message = self._message(exc)
            self._refuse_config(exc, message)
            raise ConfigError(
                f"{where} answered HTTP 404 to POST /chat/completions: check llm.base_url "
                "(OpenAI-compatible servers usually want it to end in /v1)"
            ) from None
        if isinstance(exc, openai.APITimeoutError):
            logger.warning(
                "%s: no answer to the test request within %g s; going on",
                where,
                self.cfg.timeout_seconds,
            )
            return
        if isinstance(exc, openai.APIConnectionError):
            raise ConfigError(
                f"cannot reach {where} ({_cause(exc)}): check llm.base_url, or start the server"
            ) from None
        status = getattr(exc, "status_code", 0)
        if status == 429 or status >= 500:
            logger.warning("%s answered HTTP %d to the test request; going on", where, status)
            return
        raise ConfigError(f"{where} refused a test request: {self._failure(exc)}") from None

    def _check_json(self, reply: Reply) -> None:
        where = f"model endpoint {self.cfg.base_url}"
        if not reply.completion:
            raise ConfigError(
                f"{where} did not answer like a chat completions endpoint: check llm.base_url"
            )
        if reply.finish_reason == "stop" and reply.content and not _json_object(reply.content):
            said = " ".join(reply.content.split())[:60]
            raise ConfigError(
                f"{where} model {self.cfg.model!r} does not answer in JSON mode "
                f"(response_format json_object); it said: {said!r}"
            )

    # -- small helpers --------------------------------------------------------------------------

    @property
    def host(self) -> str:
        return endpoint_host(self.cfg.base_url)

    def _message(self, exc: Any) -> str:
        body = exc.body
        text = body.get("message") if isinstance(body, dict) else None
        return self._clean(text if isinstance(text, str) and text else str(exc))

    def _clean(self, text: str) -> str:
        text = redact(" ".join(text.split()), self.api_key)
        if len(text) < 160:
            return text
        logger.debug("The endpoint's whole message: %s", text)  # -v has the detail
        return text[:159] + "…"


def endpoint_host(base_url: str) -> str:
    """The endpoint's network location (host[:port]), as recorded in the state and detail file."""
    return urlsplit(base_url).netloc or base_url


def _json_object(text: str) -> bool:
    try:
        return isinstance(json.loads(text), dict)
    except ValueError:
        return False


def _context_type(body: Any) -> bool:
    if not isinstance(body, dict):
        return False
    return body.get("type") == "exceed_context_size_error" or body.get("code") in (
        "context_length_exceeded",
        "exceed_context_size_error",
    )


def _context_numbers(body: Any, message: str) -> tuple[int | None, int | None]:
    """(context size, the endpoint's count of our prompt) from a context-length 400."""
    body = body if isinstance(body, dict) else {}
    limit, prompt = body.get("n_ctx"), body.get("n_prompt_tokens")
    if not isinstance(limit, int) and (m := _LIMIT.search(message)):
        limit = int(next(g for g in m.groups() if g))
    if not isinstance(prompt, int) and (m := _REQUESTED.search(message)):
        prompt = int(next(g for g in m.groups() if g))
    return (
        limit if isinstance(limit, int) else None,
        prompt if isinstance(prompt, int) else None,
    )


def _cause(exc: BaseException) -> str:
    """The root cause of a connection error in a few words (connection refused, DNS...)."""
    while exc.__cause__ is not None or exc.__context__ is not None:
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
    text = str(exc).lower()
    if "refused" in text:
        return "connection refused"
    if "name or service" in text or "nodename" in text or "getaddrinfo" in text:
        return "host name not found (DNS)"
    return " ".join(str(exc).split())[:80] or type(exc).__name__

"""Adaptive concurrency for model requests, and the one layer that retries a failed request.

How many model requests run at once starts at `llm.concurrency` (or `--jobs`), is halved when
the endpoint says it is overloaded (HTTP 429 or 503, or a request times out), and grows back by
one after a run of answered requests, never above the configured value nor below 1.

Why the retries live here: the openai client retries 408/409/429/5xx and timeouts itself
(`max_retries`), but it does so inside one request, holding a concurrency slot, unseen by the
run. So the Summariser builds its client with `max_retries=0` and sends every request through
`AdaptiveLimiter.send`, the only retry layer for model requests:
- 429 / 503: the concurrency is halved (once per burst: answers to requests sent before the
  last change do not halve it again), the request gives its slot back, waits as Retry-After /
  retry-after-ms say (else a short exponential backoff) and queues for a slot again; at most
  THROTTLE_RETRIES times.
- 408, 409, other 5xx, a dropped connection: retried after the same wait, at most ERROR_RETRIES
  times (what the openai client did by default).
- A timeout from a remote endpoint: the concurrency is halved and the request retried like an
  error. A timeout from a LOCAL endpoint (llama.cpp, Ollama, vLLM on this machine: few slots,
  the other requests queue) is not re-sent at once: the prompt is still queued or running there.
  The concurrency drops to 1 for the rest of the run, and the request is sent once more only
  after the endpoint's queue drained: after a request sent after the timeout was answered (the
  server works in arrival order; requests in flight together may arrive in any order, so one
  numbered later but answered before the timeout proves nothing), or, when none is, after a
  tiny probe request was.
Waits go through `pipeline.sources.retry.pause` (tests record them instead of sleeping).

An answered request is not retried here. What the Summariser does with an answer (llm/summarise.py
`_reply`) is a new request, sent through `send` again: a cut answer asked again with a larger
cap, and DeepSeek's HTTP 200 with finish_reason "insufficient_system_resource", asked again after
a pause at most BUSY_RETRIES times; that one lowers the concurrency like a 503 (`note_overload`).
Its tokens were spent and are counted, which a retry inside `send` could not do.
"""

from __future__ import annotations

import ipaddress
import logging
import random
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar
from urllib.parse import urlsplit

from pipeline.config import LlmConfig
from pipeline.llm.providers import profile_for
from pipeline.sources import retry as netretry

logger = logging.getLogger(__name__)

T = TypeVar("T")

THROTTLE_RETRIES = 5  # 429 / 503 answers one request may get before it fails
ERROR_RETRIES = 2  # other retryable failures (the openai client's default max_retries)
GROW_AFTER = 4  # answered requests in a row before the concurrency grows by one
BACKOFF_BASE, BACKOFF_MAX = 0.5, 8.0


def is_local_endpoint(base_url: str) -> bool:
    """True for a model server on this machine or the local network (one queue, few slots)."""
    host = (urlsplit(base_url).hostname or "").lower()
    if host in ("localhost", "host.docker.internal") or host.endswith((".local", ".localhost")):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_private or address.is_link_local


def runs_locally(cfg: LlmConfig) -> bool:
    """Whether the endpoint is a server on the user's machine or network (one queue, few
    slots: the local timeout policy): by its provider's profile (`provider = "vllm"` on any
    host name), else by its address (localhost, a private IP)."""
    return profile_for(cfg).local or is_local_endpoint(cfg.base_url)


def _kind(exc: BaseException) -> str | None:
    """How a failed request is handled: throttle, timeout, error (retryable), or None."""
    import openai

    if isinstance(exc, openai.APITimeoutError):
        return "timeout"
    if isinstance(exc, openai.APIConnectionError):
        return "error"
    if isinstance(exc, openai.APIStatusError):
        told = exc.response.headers.get("x-should-retry")  # the server's word, as openai obeys it
        if told in ("true", "false"):
            return None if told == "false" else "error"
        status = exc.status_code
        if status in (429, 503):
            return "throttle"
        if status in (408, 409) or status >= 500:
            return "error"
    return None


def _answered(exc: BaseException) -> bool:
    """The endpoint answered (an HTTP status), so it got to this request."""
    return getattr(exc, "status_code", None) is not None


def retry_wait(exc: BaseException, retry: int) -> float:
    """Seconds to wait before retry number `retry`: the server's Retry-After, else backoff."""
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    if headers is not None:
        millis = headers.get("retry-after-ms")
        try:
            if millis is not None and float(millis) >= 0:
                return min(float(millis) / 1000, netretry.RETRY_AFTER_CAP)
        except ValueError:
            pass
        seconds = netretry.retry_after_of(headers)
        if seconds is not None:
            return seconds
    backoff = min(BACKOFF_BASE * 2 ** (retry - 1), BACKOFF_MAX)
    return backoff * (1 - 0.25 * random.random())


class _Tries:
    """One request's retry budget."""

    def __init__(self) -> None:
        self.sent = 0
        self.throttled = 0
        self.errors = 0
        self.drained_retry = False


class AdaptiveLimiter:
    """Model requests at once (thread-safe): `slot()` per paper, `send()` per request."""

    def __init__(self, limit: int, local: bool = False, grow_after: int = GROW_AFTER) -> None:
        self.configured = max(1, limit)
        self.limit = self.configured
        self.lowest = self.configured
        self.local = local
        self.grow_after = grow_after
        self.slowdowns = 0  # 429 / 503 / timeouts seen
        self.requests = 0  # requests sent, retries included
        self._pinned = False  # a local endpoint timed out: stay at 1
        self._epoch = 0  # bumped at every change of the limit
        self._streak = 0
        self._in_flight = 0
        self._seq = 0
        self._abandoned = 0  # the last request sent before a local endpoint timed out
        self._answered = 0  # the last request the endpoint answered
        self._cond = threading.Condition()
        self._mine = threading.local()

    # -- slots ------------------------------------------------------------------------------

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Hold one of the `limit` places; blocks while the run is at its limit."""
        self._acquire()
        try:
            yield
        finally:
            self._release()

    def _acquire(self) -> None:
        with self._cond:
            while self._in_flight >= self.limit:
                self._cond.wait()
            self._in_flight += 1
        self._mine.depth = getattr(self._mine, "depth", 0) + 1

    def _release(self) -> None:
        self._mine.depth -= 1
        with self._cond:
            self._in_flight -= 1
            self._cond.notify_all()

    def _requeue(self, wait: float) -> None:
        """Give the slot back, wait, and queue for one again."""
        self._release()
        try:
            if wait > 0:
                netretry.pause(wait)
        finally:
            self._acquire()

    # -- requests ---------------------------------------------------------------------------

    def tries(self) -> int:
        """Requests sent by this thread's last `send` (retries included)."""
        return getattr(self._mine, "tries", 0)

    def send(
        self, request: Callable[[], T], label: str, probe: Callable[[int], Any] | None = None
    ) -> T:
        """`request()` with the retries above; raises its last error when they are spent.

        `probe(pending)` sends a tiny request that queues behind `pending` abandoned prompts
        (a local endpoint's drain check). Takes a slot unless this thread holds one.
        """
        holding = getattr(self._mine, "depth", 0) > 0
        if not holding:
            self._acquire()
        try:
            return self._send(request, label, probe)
        finally:
            if not holding:
                self._release()

    def _send(self, request: Callable[[], T], label: str, probe: Callable[[int], Any] | None) -> T:
        tries = _Tries()
        while True:
            tries.sent += 1
            self._mine.tries = tries.sent
            seq, epoch = self._sending()
            try:
                result = request()
            except Exception as exc:
                kind = _kind(exc)
                if _answered(exc):
                    self._mark_answered(seq)
                if kind is None:
                    raise
                self._retry_or_raise(exc, kind, tries, seq, epoch, label, probe)
            else:
                self._succeeded(seq)
                return result

    def _retry_or_raise(
        self,
        exc: Exception,
        kind: str,
        tries: _Tries,
        seq: int,
        epoch: int,
        label: str,
        probe: Callable[[int], Any] | None,
    ) -> None:
        """Wait and requeue for the next try, or re-raise `exc` when the budget is spent."""
        if kind == "timeout" and self.local:
            self._timed_out_locally(seq)
            if tries.drained_retry:
                raise exc
            tries.drained_retry = True
            logger.info(
                "%s: no answer in time from a local endpoint: concurrency 1; "
                "retried once its queue drained",
                label,
            )
            self._await_drain(probe)
            return
        if kind in ("throttle", "timeout"):
            self._slowed_down(epoch)
        if kind == "throttle":
            tries.throttled += 1
            retry, budget = tries.throttled, THROTTLE_RETRIES
        else:
            tries.errors += 1
            retry, budget = tries.errors, ERROR_RETRIES
        if retry > budget:
            raise exc
        wait = retry_wait(exc, retry)
        cause = f"HTTP {exc.status_code}" if _answered(exc) else type(exc).__name__  # type: ignore[attr-defined]
        logger.info(
            "%s: model request retried in %.2f s (retry %d of %d, %s; concurrency %d)",
            label,
            wait,
            retry,
            budget,
            cause,
            self.limit,
        )
        self._requeue(wait)

    # -- bookkeeping ------------------------------------------------------------------------

    def _sending(self) -> tuple[int, int]:
        with self._cond:
            self._seq += 1
            self.requests += 1
            return self._seq, self._epoch

    def _mark_answered(self, seq: int) -> None:
        with self._cond:
            self._answered = max(self._answered, seq)
            self._cond.notify_all()

    def _succeeded(self, seq: int) -> None:
        with self._cond:
            self._answered = max(self._answered, seq)
            self._streak += 1
            if (
                self._streak >= self.grow_after
                and self.limit < self.configured
                and not self._pinned
            ):
                self.limit += 1
                self._epoch += 1
                self._streak = 0
            self._cond.notify_all()

    def _set_limit(self, limit: int) -> None:
        """Called with the lock held."""
        self.limit = max(1, limit)
        self.lowest = min(self.lowest, self.limit)
        self._epoch += 1
        self._streak = 0

    def note_overload(self) -> None:
        """An overload signalled inside a 200 (DeepSeek's insufficient_system_resource)."""
        self._slowed_down(self._epoch)

    def _slowed_down(self, epoch: int) -> None:
        """Halve the limit, unless it already changed since this request was sent."""
        with self._cond:
            self.slowdowns += 1
            self._streak = 0
            if epoch == self._epoch and self.limit > 1:
                self._set_limit((self.limit + 1) // 2)
                logger.info("model endpoint overloaded: concurrency lowered to %d", self.limit)

    def _timed_out_locally(self, seq: int) -> None:
        """Pin the limit at 1; only an answer to a request sent from now on proves the drain."""
        with self._cond:
            self.slowdowns += 1
            self._pinned = True
            self._abandoned = max(self._abandoned, seq, self._seq)
            if self.limit > 1:
                self._set_limit(1)
                logger.info("local model endpoint timed out: concurrency lowered to 1")

    def _await_drain(self, probe: Callable[[int], Any] | None) -> None:
        """Give the slot back until the endpoint answered a request sent after the timeouts."""
        self._release()
        self._acquire()  # at concurrency 1: every other request of ours has finished
        with self._cond:
            drained = self._answered > self._abandoned
            pending = self._abandoned - self._answered
        if drained or probe is None:
            return
        seq, _ = self._sending()
        probe(pending)  # raises (the paper fails) when even the probe gets no answer
        self._mark_answered(seq)

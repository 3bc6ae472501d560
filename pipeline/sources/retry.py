"""The one retry policy for arXiv API and PDF requests (tenacity), and the API's spacing rule.

Retried: HTTP 429 and 5xx, timeouts and connection errors. Waits honour Retry-After (capped),
otherwise exponential backoff with jitter. A host that cannot be reached at all (DNS lookup
failed, connection refused, no route) is tried once more after a short wait, not for minutes.
Every sleep is logged, with the failure class (the whole error at DEBUG).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from email.utils import parsedate_to_datetime
from typing import Any

import tenacity

from pipeline.sources.netfail import describe, host_of, unreachable_cause

logger = logging.getLogger(__name__)

RETRY_AFTER_CAP = 120.0
RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})
UNREACHABLE_TRIES = 2  # DNS failure, refused, no route: one more try, then give up
UNREACHABLE_WAIT_CAP = 5.0


def pause(seconds: float) -> None:
    """The default sleep of retries and spacing; tests replace this attribute to record waits."""
    time.sleep(seconds)


class RetryableStatus(Exception):
    """An HTTP answer worth retrying; carries the Retry-After delay when the server gave one."""

    def __init__(self, url: str, status: int, retry_after: float | None = None) -> None:
        super().__init__(f"HTTP {status} from {host_of(url)}")
        self.status = status
        self.retry_after = retry_after


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (seconds or HTTP date), capped; None if absent."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value).timestamp()
        except (TypeError, ValueError):
            return None
        seconds = when - (time.time() if now is None else now)
    return min(max(seconds, 0.0), RETRY_AFTER_CAP)


class _Wait(tenacity.wait.wait_base):
    """Retry-After when the server sent one, else exponential backoff with jitter."""

    def __init__(self, base: float) -> None:
        self.base = base
        self.backoff = tenacity.wait_exponential(multiplier=base, max=60) + tenacity.wait_random(
            0, base
        )

    def __call__(self, retry_state: tenacity.RetryCallState) -> float:
        exc = retry_state.outcome.exception() if retry_state.outcome else None
        if isinstance(exc, RetryableStatus) and exc.retry_after is not None:
            return exc.retry_after
        if exc is not None and unreachable_cause(exc):
            return min(self.base, UNREACHABLE_WAIT_CAP)
        return self.backoff(retry_state)


class _Stop(tenacity.stop.stop_base):
    """After `retries` retries; after UNREACHABLE_TRIES tries when the host cannot be reached."""

    def __init__(self, retries: int) -> None:
        self.tries = retries + 1

    def __call__(self, retry_state: tenacity.RetryCallState) -> bool:
        exc = retry_state.outcome.exception() if retry_state.outcome else None
        limit = self.tries
        if exc is not None and unreachable_cause(exc):
            limit = min(limit, UNREACHABLE_TRIES)
        return retry_state.attempt_number >= limit


def _log_sleep(retry_state: tenacity.RetryCallState) -> None:
    exc = retry_state.outcome.exception() if retry_state.outcome else None
    delay = retry_state.next_action.sleep if retry_state.next_action else 0.0
    cause = describe(exc) if exc is not None else "no error"
    logger.info(
        "Sleeping: %.2f seconds before try %d (%s)", delay, retry_state.attempt_number + 1, cause
    )
    logger.debug("The failed try's whole error: %r", exc)


def retrying(
    retries: int,
    retry_on: tuple[type[BaseException], ...],
    sleep: Callable[[float], None],
    backoff_base: float = 1.0,
) -> tenacity.Retrying:
    """A tenacity policy: up to `retries` retries on `retry_on`, then the last error is raised."""
    return tenacity.Retrying(
        retry=tenacity.retry_if_exception_type((RetryableStatus, *retry_on)),
        stop=_Stop(retries),
        wait=_Wait(backoff_base),
        sleep=sleep,
        before_sleep=_log_sleep,
        reraise=True,
    )


class Spacer:
    """Keeps at least `delay` seconds between the starts of consecutive requests (thread-safe)."""

    def __init__(
        self,
        delay: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self.delay = delay
        self.clock = clock
        self.sleep = sleep or pause
        self._last: float | None = None
        self._lock = threading.Lock()

    def wait(self) -> None:
        """Sleep until `delay` seconds have passed since the previous request."""
        with self._lock:
            if self._last is not None:
                remaining = self.delay - (self.clock() - self._last)
                if remaining > 0:
                    logger.info("Sleeping: %.2f seconds (arXiv API spacing)", remaining)
                    self.sleep(remaining)
            self._last = self.clock()


def retry_after_of(headers: Any) -> float | None:
    """Retry-After from a headers mapping (requests or httpx)."""
    return parse_retry_after(headers.get("retry-after") if headers is not None else None)

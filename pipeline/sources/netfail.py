"""A network failure in a few words: its class (DNS, refused, timed out ...), never a URL dump.

`requests` and `httpx` wrap the socket error a user can act on in two or three layers whose text
repeats the whole request URL; these helpers find that error and say it briefly.
"""

from __future__ import annotations

import errno
import re
import socket
import ssl
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import requests
import urllib3.exceptions

from pipeline.console import one_line

_URL = re.compile(r"https?://[^\s'\"()<>]+")
_TIMEOUTS = (
    TimeoutError,
    requests.Timeout,
    httpx.TimeoutException,
    urllib3.exceptions.TimeoutError,
)
_UNREACHABLE_ERRNOS = {errno.ENETUNREACH, errno.EHOSTUNREACH, errno.ENETDOWN, errno.EHOSTDOWN}


def causes(exc: BaseException) -> Iterator[BaseException]:
    """`exc` and every exception it wraps (args, `reason`, `__cause__`, `__context__`)."""
    seen: set[int] = set()
    todo = [exc]
    while todo:
        current = todo.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        inner = [a for a in getattr(current, "args", ()) if isinstance(a, BaseException)]
        reason = getattr(current, "reason", None)
        inner += [reason] if isinstance(reason, BaseException) else []
        inner += [e for e in (current.__cause__, current.__context__) if e is not None]
        todo.extend(inner)


def _socket_class(exc: BaseException) -> str | None:
    """The failure class of one socket-level error, or None."""
    if isinstance(exc, socket.gaierror):
        return f"DNS lookup failed ({exc.strerror or exc})"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, OSError) and exc.errno in _UNREACHABLE_ERRNOS:
        return f"no route ({exc.strerror})"
    return None


def unreachable_cause(exc: BaseException) -> str | None:
    """'DNS lookup failed (...)', 'connection refused' or 'no route (...)', else None.

    These say the host cannot be reached at all: retrying at once, or per paper, is pointless.
    """
    for inner in causes(exc):
        found = _socket_class(inner)
        if found:
            return found
    return None


def is_timeout(exc: BaseException) -> bool:
    """A connect or read timeout, whichever library raised it (urllib3 files a refused
    connection under ConnectTimeoutError: the socket error decides)."""
    if unreachable_cause(exc):
        return False
    return any(isinstance(e, _TIMEOUTS) for e in causes(exc))


def describe(exc: BaseException) -> str:
    """The failure class in a few words, e.g. 'connection refused', 'timed out', 'HTTP 503'."""
    found = unreachable_cause(exc)
    if found:
        return found
    if is_timeout(exc):
        return "timed out"
    for inner in causes(exc):
        if isinstance(inner, ConnectionResetError):
            return "connection reset by the server"
        if isinstance(inner, ssl.SSLError):
            return f"TLS error ({inner.reason or type(inner).__name__})"
    return shorten(str(exc) or type(exc).__name__)


def shorten(text: str, limit: int = 120) -> str:
    """One line: URLs replaced by their host, whitespace collapsed, cut at `limit` characters."""
    return one_line(_URL.sub(lambda m: host_of(m.group(0)), text), limit)


def host_of(url: str) -> str:
    """'host' or 'host:port' of a URL (no user info, path or query)."""
    parts = urlsplit(url)
    host = parts.hostname or url
    return f"{host}:{parts.port}" if parts.port else host


def tries_text(tries: int) -> str:
    return f"{tries} {'try' if tries == 1 else 'tries'}"

"""arXiv metadata (the `arxiv` package, batched) and PDF downloads (httpx), with retries."""

from __future__ import annotations

import logging
import re
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import arxiv
import httpx
import requests

from pipeline.config import ArxivConfig, PaperConfig, parse_id
from pipeline.errors import (
    ARXIV_API_FAILED,
    ARXIV_UNREACHABLE,
    FetchError,
    RunError,
    RunKind,
    Withdrawn,
)
from pipeline.names import arxiv_pdf
from pipeline.sources import retry as netretry
from pipeline.sources.netfail import (
    describe,
    host_of,
    is_timeout,
    tries_text,
    unreachable_cause,
)
from pipeline.sources.retry import (
    RETRYABLE_STATUS,
    RetryableStatus,
    Spacer,
    retry_after_of,
    retrying,
)
from pipeline.state import Meta
from pipeline.store import atomic_write

logger = logging.getLogger(__name__)

_WITHDRAWN = re.compile(r"\bwithdrawn\b", re.IGNORECASE)  # arXiv's comment on a withdrawn version
BATCH_SIZE = 100  # the most IDs asked in one API request
ATOM_FEED = "{http://www.w3.org/2005/Atom}feed"
USER_AGENT = "paper-reading-pipeline/0.1 (+https://github.com/)"


class _TimeoutSession(requests.Session):
    """requests has no default timeout and `arxiv` sets none: add one, keep the answers."""

    def __init__(self, timeout: float) -> None:
        super().__init__()
        self.timeout = timeout
        self.last_response: requests.Response | None = None
        self.responses: list[requests.Response] = []  # since the caller last cleared it

    def request(self, *args: Any, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", self.timeout)
        self.last_response = super().request(*args, **kwargs)
        self.responses.append(self.last_response)
        return self.last_response


class ArxivClient:
    """Fetches metadata in batches, spacing API requests by `delay_seconds`, and downloads PDFs.

    A failure of the whole run (arXiv unreachable, the API failing after its retries) is noted
    once in `run_errors` (a RunError naming the host and the cause); the papers it hits get its
    short kind, ARXIV_UNREACHABLE or ARXIV_API_FAILED. Once arXiv is unreachable, nothing more is
    asked.
    """

    def __init__(
        self,
        cfg: ArxivConfig,
        sleep: Callable[[float], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.cfg = cfg
        self.sleep = sleep or netretry.pause
        self.spacer = Spacer(cfg.delay_seconds, clock=clock, sleep=sleep)
        self.api_requests = 0
        self.pdf_requests = 0
        self.run_errors: list[RunError] = []
        self.withdrawn: dict[str, int] = {}  # ID -> the version arXiv's comment says is withdrawn
        self.unreachable = False
        self._errors_lock = threading.Lock()
        self._session = _TimeoutSession(cfg.timeout_seconds)
        self._http = httpx.Client(
            follow_redirects=True,
            timeout=cfg.timeout_seconds,
            headers={"User-Agent": USER_AGENT},
        )

    def close(self) -> None:
        """Close the API session and the PDF download connection pool."""
        self._session.close()
        self._http.close()

    def _policy(self, transient: tuple[type[BaseException], ...]) -> Any:
        """Retries as configured; the backoff starts at the API delay (0 in tests: no sleeping)."""
        base = self.cfg.delay_seconds
        return retrying(self.cfg.retries, transient, sleep=self.sleep, backoff_base=base)

    # -- metadata -------------------------------------------------------------------------------

    def metadata(self, papers: Iterable[PaperConfig]) -> tuple[dict[str, Meta], dict[str, str]]:
        """Metadata by paper ID, and the reason for each paper that could not be had."""
        papers = list(papers)
        found: dict[str, Meta] = {}
        errors: dict[str, str] = {}
        for start in range(0, len(papers), BATCH_SIZE):
            batch = papers[start : start + BATCH_SIZE]
            if self.unreachable:  # said once; no request per batch (nor per paper) after that
                errors.update({p.id: ARXIV_UNREACHABLE for p in batch})
                continue
            try:
                results = self._query([_query_id(p) for p in batch])
            except ApiFailure as exc:  # the metadata request failing fails the whole run
                self._run_error(exc.run_error)
                errors.update({p.id: exc.run_error.kind for p in batch})
                continue
            latest = self._latest([p.id for p in batch if p.id not in results and p.version])
            for paper in batch:
                meta = results.get(paper.id)
                if meta is None and paper.id in latest:
                    errors[paper.id] = (
                        f"arXiv has no v{paper.version} of {paper.id} (the latest is "
                        f"v{latest[paper.id]}): fix the version in the config"
                    )
                elif meta is None:
                    errors[paper.id] = "not found on arXiv (no entry in the API answer)"
                elif paper.version is not None and meta.version != paper.version:
                    errors[paper.id] = (
                        f"arXiv answered v{meta.version}, config pins v{paper.version}"
                    )
                else:
                    found[paper.id] = meta
        return found, errors

    def _latest(self, ids: list[str]) -> dict[str, int]:
        """The latest version of each of these papers (asked when a pinned version was not
        found: is it the version or the paper that does not exist?); {} when unknown."""
        if not ids:
            return {}
        try:
            return {paper_id: meta.version for paper_id, meta in self._query(ids).items()}
        except ApiFailure:
            return {}

    def _query(self, ids: list[str]) -> dict[str, Meta]:
        search = arxiv.Search(id_list=ids, max_results=len(ids))
        label = ids[0] if len(ids) == 1 else f"{ids[0]} and {len(ids) - 1} more"
        return {m.id: m for m in self.results(search, label)}

    def results(self, search: arxiv.Search, label: str) -> list[Meta]:
        """Run one search (one page of `search.max_results`), spaced and retried; FetchError."""
        client = arxiv.Client(page_size=search.max_results or 100, delay_seconds=0, num_retries=0)
        client.query_url_format = self.cfg.api_url + "?{}"
        client._session = self._session
        policy = self._policy((*_REQUESTS_TRANSIENT, NotAFeed))
        try:
            results = policy(self._fetch_page, client, search)
        except (RetryableStatus, NotAFeed, arxiv.ArxivError, requests.RequestException) as exc:
            tries = policy.statistics.get("attempt_number", 1)
            raise self._api_failure(exc, tries, label) from exc
        metas = []
        for result in results:
            meta = _meta(result)
            if meta is not None:
                metas.append(meta)
                if _WITHDRAWN.search(result.comment or ""):
                    self.withdrawn[meta.id] = meta.version
        return metas

    def _api_failure(self, exc: BaseException, tries: int, label: str) -> ApiFailure:
        """The error for a failed API request; arXiv unreachable is noted as a run error."""
        logger.debug("arXiv API request failed after %s: %r", tries_text(tries), exc)
        kind: RunKind
        if is_timeout(exc):
            kind = ARXIV_UNREACHABLE
            cause = f"no answer within {self.cfg.timeout_seconds:g} s (arxiv.timeout_seconds)"
        elif isinstance(exc, requests.ConnectionError) or unreachable_cause(exc):
            kind, cause = ARXIV_UNREACHABLE, describe(exc)
        elif isinstance(exc, RetryableStatus | arxiv.HTTPError):
            kind, cause = ARXIV_API_FAILED, f"HTTP {exc.status}"
        else:
            kind, cause = ARXIV_API_FAILED, describe(exc)
        error = run_error(kind, host_of(self.cfg.api_url), f"{cause}, {tries_text(tries)}")
        if kind == ARXIV_UNREACHABLE:
            self._run_error(error)
        return ApiFailure(label, error)

    def _run_error(self, error: RunError) -> None:
        """Note a whole-run failure once (the first one per kind and host)."""
        with self._errors_lock:
            self.unreachable = self.unreachable or error.kind == ARXIV_UNREACHABLE
            if not any((e.kind, e.host) == (error.kind, error.host) for e in self.run_errors):
                self.run_errors.append(error)

    def _fetch_page(self, client: arxiv.Client, search: arxiv.Search) -> list[arxiv.Result]:
        self.spacer.wait()
        self.api_requests += 1
        self._session.responses.clear()
        try:
            results = list(client.results(search))
        except arxiv.HTTPError as exc:
            if exc.status in RETRYABLE_STATUS:
                last = self._session.last_response
                headers = last.headers if last is not None else None
                raise RetryableStatus(exc.url, exc.status, retry_after_of(headers)) from exc
            raise
        # `arxiv` takes any 200 for a feed (and may ask for more pages after a short one): an
        # HTML page or a cut answer would look like "not found on arXiv". Retry it instead.
        for response in self._session.responses:
            problem = feed_problem(response.content)
            if problem:
                raise NotAFeed(problem)
        return results

    # -- PDFs -----------------------------------------------------------------------------------

    def download_pdf(self, meta: Meta, dest: Path) -> None:
        """Download the PDF of `meta` to `dest` atomically; FetchError naming the paper."""
        if self.unreachable:  # said once for the run: no try per paper
            raise FetchError(meta.id, ARXIV_UNREACHABLE)
        policy = self._policy((httpx.TransportError,))
        try:
            data = policy(self._get_pdf, meta)
        except RetryableStatus as exc:
            raise FetchError(meta.id, f"PDF download failed: {exc}") from exc
        except httpx.TimeoutException as exc:
            raise FetchError(meta.id, f"PDF download {self._timed_out()}") from exc
        except httpx.HTTPError as exc:
            logger.debug("%s: PDF download failed: %r", meta.id, exc)
            cause = unreachable_cause(exc)
            if cause:
                tries = policy.statistics.get("attempt_number", 1)
                where = host_of(meta.pdf_url)
                self._run_error(
                    run_error(ARXIV_UNREACHABLE, where, f"{cause}, {tries_text(tries)}")
                )
                raise FetchError(meta.id, ARXIV_UNREACHABLE) from exc
            raise FetchError(meta.id, f"PDF download failed: {describe(exc)}") from exc
        problem = pdf_problem(data)
        if problem:
            raise FetchError(meta.id, f"{problem}; from {meta.pdf_url}")  # the class first
        atomic_write(dest, data)

    def _timed_out(self) -> str:
        tries = self.cfg.retries + 1
        return (
            f"timed out: no answer within {self.cfg.timeout_seconds:g} s "
            f"(arxiv.timeout_seconds), {tries} {'try' if tries == 1 else 'tries'}"
        )

    def _get_pdf(self, meta: Meta) -> bytes:
        self.pdf_requests += 1
        response = self._http.get(meta.pdf_url)
        status = response.status_code
        if status in RETRYABLE_STATUS:
            raise RetryableStatus(meta.pdf_url, status, retry_after_of(response.headers))
        if status in (404, 410):  # arXiv keeps every version's PDF unless it was withdrawn
            raise Withdrawn(
                meta.id, f"v{meta.version} withdrawn on arXiv (PDF gone: HTTP {status})"
            )
        if status != 200:
            raise FetchError(meta.id, f"PDF download failed: HTTP {status} for {meta.pdf_url}")
        return response.content


# ChunkedEncodingError: the connection broke mid-answer (IncompleteRead), as transient as a reset
_REQUESTS_TRANSIENT = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
)


def run_error(kind: RunKind, host: str, cause: str) -> RunError:
    """An arXiv run error: "{kind}: {host}: {cause}"."""
    return RunError(kind, host, f"{kind}: {host}: {cause}")


class ApiFailure(FetchError):
    """An API request failed after its retries: `run_error` says what and where. The reason is
    the short kind once that is a run error (arXiv unreachable: said once), else its whole line."""

    def __init__(self, label: str, run_error: RunError) -> None:
        reason = run_error.kind if run_error.kind == ARXIV_UNREACHABLE else run_error.line
        super().__init__(label, reason)
        self.run_error = run_error


class NotAFeed(Exception):
    """A 200 answer of the arXiv API that is not a whole Atom feed (retried like a 503)."""


def feed_problem(content: bytes) -> str | None:
    """Why this API answer is not a whole Atom feed, or None."""
    if content[:200].lstrip().lower().startswith((b"<!doctype html", b"<html")):
        return "the answer is an HTML page, not an Atom feed"
    try:
        root = ET.fromstring(content)
    except ET.ParseError as exc:
        if content.lstrip().startswith(b"<"):
            return f"the answer is not a whole Atom feed (cut short? {exc})"
        snippet = " ".join(content[:80].decode("utf-8", "replace").split())
        return f"the answer is not an Atom feed: {snippet!r}"
    if root.tag != ATOM_FEED:
        return f"the answer is not an Atom feed (it is <{root.tag}>)"
    return None


def pdf_problem(data: bytes) -> str | None:
    """Why these bytes are not a complete PDF, or None."""
    if not data.startswith(b"%PDF-"):
        head = data[:200].lstrip().lower()
        kind = "an HTML page" if head.startswith((b"<!doctype", b"<html")) else "not a PDF"
        return f"got {kind} instead of a PDF (withdrawn, or an error page?)"
    if b"%%EOF" not in data[-2048:]:
        return "the PDF is truncated (no %%EOF at its end)"
    return None


def _query_id(paper: PaperConfig) -> str:
    return paper.id if paper.version is None else f"{paper.id}v{paper.version}"


def _meta(result: arxiv.Result) -> Meta | None:
    paper_id, version = parse_id(result.get_short_id()) or ("", None)
    if version is None:
        logger.warning("Ignoring an arXiv entry with an unexpected ID: %s", result.entry_id)
        return None
    return Meta(
        id=paper_id,
        version=version,
        title=" ".join(result.title.split()),
        authors=tuple(a.name for a in result.authors),
        abstract=" ".join(result.summary.split()),
        published=result.published.date().isoformat(),
        updated=result.updated.date().isoformat(),
        pdf_url=result.pdf_url or arxiv_pdf(paper_id, version),
    )

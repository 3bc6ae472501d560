"""The extraction worker pool: pypdf runs in reused worker processes, time-limited and cached.

`Extractor` runs extraction and clean-up (`pipeline.text.extract.extract_clean`) in worker processes
("spawn" context, reused across documents) so that a pathological PDF is killed after
`timeout_seconds`, and caches the cleaned text by PDF hash.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import multiprocessing
import os
import re
import signal
import threading
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from pipeline.store import atomic_write
from pipeline.text.extract import ExtractError, extract_clean

log = logging.getLogger(__name__)

STARTUP_SECONDS = 120.0  # a generous limit for a spawned worker to take up a document
_SAFE_NAME = re.compile(r"[0-9A-Za-z][0-9A-Za-z_-]{0,127}")
_PAGE = re.compile(rb"/Type\s*/Page(?![A-Za-z])")


def extraction_cost(path: Path) -> float:
    """A cheap estimate of how long pypdf takes on `path`: its page objects when they are
    visible in the file, else its size in 50 kB units (pages in object streams are hidden)."""
    try:
        data = path.read_bytes()
    except OSError:
        return 0.0
    return float(len(_PAGE.findall(data)) or len(data) / 50_000)


def _serve(conn: Connection) -> None:
    """Worker process body: for each (target, path, *args) received, send back
    ("ok", target(path, *args)) or ("error", message); stop when the pipe closes."""
    logging.getLogger("pypdf").setLevel(logging.ERROR)  # its warnings would go to stderr
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    import pypdf  # noqa: F401 - imported before "ready", so a document's turn starts the work

    try:
        conn.send(("ready", ""))
    except OSError:
        return
    while True:
        try:
            target, path, *args = conn.recv()
            conn.send(("started", ""))  # the parent's time limit counts from here
        except (EOFError, OSError):
            return
        try:
            result = ("ok", target(Path(path), *args))
        except ExtractError as exc:
            result = ("error", exc.cause)
        except BaseException as exc:  # reported to the parent, never raised here
            result = ("error", f"text extraction failed ({type(exc).__name__}: {exc})")
        try:
            conn.send(result)
        except OSError:  # the parent is gone
            return


class _Worker:
    """One worker process and the parent's end of its pipe."""

    def __init__(self, process: multiprocessing.process.BaseProcess, conn: Connection) -> None:
        self.process = process
        self.conn = conn
        self.documents = 0


class Extractor:
    """Extracts and cleans PDFs in worker processes, at most `workers` at a time, each document
    limited to `timeout_seconds`, and caches the cleaned text at ``cache_dir / f"{sha256}.txt"``.

    A worker process serves one document after another (starting a Python process and importing
    pypdf costs more than extracting a short paper); it is killed when a document runs over the
    time limit, and replaced after `DOCUMENTS_PER_WORKER` documents so that its memory stays
    bounded. `warm()` starts the workers ahead of the first document. When more documents wait
    than workers are free, the costliest goes first (`extraction_cost`), so the last one to
    finish is a short one. Thread-safe. `_target` (a picklable module-level function
    ``Path -> str``) replaces the work done in the worker; it exists for tests.
    """

    DOCUMENTS_PER_WORKER = 50

    def __init__(
        self,
        cache_dir: Path,
        workers: int | None = None,
        timeout_seconds: float = 120.0,
        *,
        _target: Callable[[Path], str] = extract_clean,
    ) -> None:
        self.cache_dir = Path(cache_dir)
        self.workers = max(1, workers or os.cpu_count() or 1)
        self.timeout_seconds = timeout_seconds
        self._target = _target
        self._guard = threading.Lock()
        self._turns = threading.Condition(self._guard)  # waiting documents, free slots, workers
        self._waiting: list[tuple[float, int]] = []  # heap of (-cost, arrival)
        self._arrivals = itertools.count()
        self._free = self.workers
        self._starting = 0  # workers started by warm() that have not said "ready" yet
        self._locks: dict[str, threading.Lock] = {}
        self._children: set[multiprocessing.process.BaseProcess] = set()  # live workers
        self._idle: list[_Worker] = []
        self._closed = False

    def __enter__(self) -> Extractor:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def cache_path(self, pdf_sha256: str) -> Path:
        """Where the cleaned text of the PDF with this hash is cached."""
        if not _SAFE_NAME.fullmatch(pdf_sha256):
            raise ValueError(f"not a usable hash for a cache file name: {pdf_sha256!r}")
        return self.cache_dir / f"{pdf_sha256}.txt"

    def text_for(self, pdf_path: Path, pdf_sha256: str) -> str:
        """Cleaned text of `pdf_path`, from the cache when it holds `pdf_sha256`."""
        cache = self.cache_path(pdf_sha256)
        with self._guard:
            lock = self._locks.setdefault(pdf_sha256, threading.Lock())
        with lock:
            cached = self._read_cache(cache)
            if cached is not None:
                return cached
            text = self._run(Path(pdf_path), self._target, ())
            try:
                atomic_write(cache, text)
            except OSError as exc:
                log.warning("%s: cannot write text cache (%s)", cache, exc)
            return text

    @staticmethod
    def _read_cache(cache: Path) -> str | None:
        try:
            return cache.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError) as exc:
            log.warning("%s: unreadable text cache, extracting again (%s)", cache, exc)
            return None

    def warm(self) -> None:
        """Start the worker processes now, in the background, so that the first documents find
        them ready; a no-op when they are started already."""
        with self._guard:
            wanted = self.workers - len(self._children)
            if self._closed or wanted <= 0:
                return
            workers = [self._spawn() for _ in range(wanted)]
            self._starting += len(workers)
        for worker in workers:
            threading.Thread(target=self._await_ready, args=(worker,), daemon=True).start()

    def _await_ready(self, worker: _Worker) -> None:
        """Background: wait for a warmed worker's "ready", then offer it to the documents (or
        reap it, when it died or the extractor closed meanwhile)."""
        try:
            ready = worker.conn.poll(STARTUP_SECONDS) and worker.conn.recv()[0] == "ready"
        except (EOFError, OSError):
            ready = False
        with self._turns:
            keep = ready and not self._closed
            if keep:
                self._idle.append(worker)
        if not keep:
            self._reap(worker)
        with self._turns:
            self._starting -= 1
            self._turns.notify_all()

    def run(self, target: Callable[..., Any], pdf_path: Path, *args: Any) -> Any:
        """`target(pdf_path, *args)` in a worker process, with the same turns and time limit as
        an extraction (target: a picklable module-level function); ExtractError when it raises
        or runs over the limit. Not cached: the caller caches what it needs."""
        return self._run(Path(pdf_path), target, args)

    def _run(self, path: Path, target: Callable[..., Any], args: tuple[Any, ...]) -> Any:
        self._acquire(path)
        try:
            worker = self._take(path)
            try:
                self._send(worker, path, target, args)
                status, payload = self._receive(worker, path)
            except BaseException:  # timed out, died, or interrupted: this worker is done for
                self._reap(worker)
                raise
            worker.documents += 1
            self._give_back(worker)
        finally:
            self._release()
        if status != "ok":
            raise ExtractError(path, payload)
        return payload

    def _acquire(self, path: Path) -> None:
        """Wait for this document's turn: a free slot, no costlier document waiting, and a ready
        worker (or none still starting, in which case `_take` starts one)."""
        ticket = (-extraction_cost(path), next(self._arrivals))
        with self._turns:
            heapq.heappush(self._waiting, ticket)
            try:
                self._turns.wait_for(
                    lambda: (
                        self._closed
                        or (
                            self._free > 0
                            and self._waiting[0] == ticket
                            and (bool(self._idle) or self._starting == 0)
                        )
                    )
                )
            finally:
                self._waiting.remove(ticket)
                heapq.heapify(self._waiting)
                self._turns.notify_all()
            if self._closed:
                raise ExtractError(path, "extractor is closed")
            self._free -= 1

    def wait_idle(self) -> None:
        """Block until no document waits or is being extracted (or the extractor is closed)."""
        with self._turns:
            self._turns.wait_for(
                lambda: self._closed or (not self._waiting and self._free == self.workers)
            )

    def _release(self) -> None:
        with self._turns:
            self._free += 1
            self._turns.notify_all()

    def _take(self, path: Path) -> _Worker:
        """An idle worker, or a new one."""
        with self._guard:
            if self._closed:
                raise ExtractError(path, "extractor is closed")
            while self._idle:
                worker = self._idle.pop()
                if worker.process.is_alive():
                    return worker
                self._children.discard(worker.process)
                worker.conn.close()
            return self._spawn()

    def _spawn(self) -> _Worker:
        """Start one worker process (the caller holds `_guard`)."""
        context = multiprocessing.get_context("spawn")
        conn, child_conn = context.Pipe(duplex=True)
        child = context.Process(target=_serve, args=(child_conn,), daemon=True)
        child.start()
        self._children.add(child)
        child_conn.close()
        return _Worker(child, conn)

    def _give_back(self, worker: _Worker) -> None:
        with self._guard:
            if not self._closed and worker.documents < self.DOCUMENTS_PER_WORKER:
                self._idle.append(worker)
                return
        self._reap(worker)

    def _send(
        self, worker: _Worker, path: Path, target: Callable[..., Any], args: tuple[Any, ...]
    ) -> None:
        try:
            worker.conn.send((target, str(path), *args))
        except OSError as exc:  # the worker is gone (killed from outside while idle)
            worker.process.join(5)
            raise ExtractError(
                path, f"text extraction process died (exit code {worker.process.exitcode})"
            ) from exc

    def _receive(self, worker: _Worker, path: Path) -> tuple[str, Any]:
        """The worker's answer; the time limit counts from when it starts the document, so a
        busy machine that is slow to start a worker process does not time a document out."""
        try:
            while True:  # a new worker says ("ready", "") first, then ("started", "")
                if not worker.conn.poll(max(STARTUP_SECONDS, self.timeout_seconds)):
                    raise ExtractError(path, "text extraction process did not start")
                if worker.conn.recv()[0] == "started":
                    break
            if not worker.conn.poll(self.timeout_seconds):
                raise ExtractError(
                    path, f"text extraction timed out after {self.timeout_seconds:g} s"
                )
            return worker.conn.recv()
        except (EOFError, OSError) as exc:
            worker.process.join(5)
            raise ExtractError(
                path, f"text extraction process died (exit code {worker.process.exitcode})"
            ) from exc

    def _reap(self, worker: _Worker) -> None:
        """Stop a worker (killed if it is still running) and release its resources."""
        worker.conn.close()
        child = worker.process
        try:
            if child.is_alive():
                child.kill()
            child.join()
            child.close()
        except ValueError:  # closed already by close() from another thread
            pass
        with self._guard:
            self._children.discard(child)

    def close(self) -> None:
        """Stop the workers; running extractions are killed (their callers get ExtractError)
        and later calls fail."""
        with self._guard:
            self._closed = True
            self._turns.notify_all()
            idle, self._idle = self._idle, []
            busy = [c for c in self._children if all(c is not w.process for w in idle)]
        for worker in idle:
            self._reap(worker)
        for child in busy:
            try:
                if child.is_alive():
                    child.kill()
            except ValueError:  # already closed by its own thread
                pass
        with self._turns:  # workers still starting are reaped by their own thread: wait for it
            self._turns.wait_for(lambda: self._starting == 0, timeout=STARTUP_SECONDS)

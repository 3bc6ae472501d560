"""Fake arXiv and OpenAI-compatible servers on 127.0.0.1, with scriptable faults.

Used by the tests and the benchmarks: the real `arxiv`, `httpx` and `openai` clients talk to
them over real sockets.
"""

from __future__ import annotations

import json
import re
import select
import socket
import sys
import threading
import time
from collections import Counter, defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit
from xml.sax.saxutils import escape

from pipeline.names import ARXIV_ID
from pipeline.text.tokens import estimate_tokens
from tests.support.fake_arxiv_search import atom_feed, search_feed

# -- shared server plumbing ---------------------------------------------------------------------


@dataclass
class Fault:
    """A scripted answer that replaces the normal one: a status, a body, or a cut connection."""

    status: int = 503
    body: bytes = b"unavailable"
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "text/plain"
    cut_after: int | None = None  # send this many body bytes of the normal answer, then reset


class _QuietHTTPServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError):
            return  # a client that gave up (a timeout, a killed build): expected, not news
        super().handle_error(request, client_address)


class _Server:
    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self.httpd = _QuietHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.httpd.owner = self  # type: ignore[attr-defined]
        self.faults: dict[str, list[Fault]] = defaultdict(list)
        self.requests: list[str] = []
        self.lock = threading.Lock()
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> _Server:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def add_fault(self, route: str, *faults: Fault) -> None:
        """Queue faults for a route ("api", "pdf:ID", "llm"); each is used once, in order."""
        with self.lock:
            self.faults[route].extend(faults)

    def next_fault(self, route: str) -> Fault | None:
        with self.lock:
            queue = self.faults.get(route)
            return queue.pop(0) if queue else None

    def __enter__(self) -> _Server:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes: with Nagle's algorithm on, the body waits for
    # the client's delayed ACK, about 40 ms a request on a keep-alive connection.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - silence
        pass

    @property
    def owner(self) -> Any:
        return self.server.owner  # type: ignore[attr-defined]

    def send(self, status: int, body: bytes, ctype: str, headers: dict[str, str] | None = None):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def answer(self, route: str, make: Callable[[], tuple[int, bytes, str]]) -> None:
        fault = self.owner.next_fault(route)
        if fault is not None and fault.cut_after is None:
            self.send(fault.status, fault.body, fault.content_type, fault.headers)
            return
        status, body, ctype = make()
        if fault is not None:  # announce the whole body, send part of it, cut the connection
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[: fault.cut_after])
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(2)
            return
        self.send(status, body, ctype)


# -- arXiv --------------------------------------------------------------------------------------

_VERSIONED = re.compile(r"v\d+$")


@dataclass
class FakePaper:
    id: str
    version: int
    title: str
    updated: str  # ISO date of this version
    pdf: bytes
    abstract: str = "We present a method."
    authors: tuple[str, ...] = ("Ada Lovelace", "Alan Turing")
    published: str | None = None
    categories: tuple[str, ...] = ("cs.CL",)
    comment: str = ""


def _entry(p: FakePaper, base: str) -> str:
    authors = "".join(f"<author><name>{escape(a)}</name></author>" for a in p.authors)
    vid = f"{p.id}v{p.version}"
    categories = "".join(f'<category term="{escape(c)}"/>' for c in p.categories)
    comment = f"<arxiv:comment>{escape(p.comment)}</arxiv:comment>" if p.comment else ""
    return f"""<entry>
<id>http://arxiv.org/abs/{vid}</id>
<title>{escape(p.title)}</title>
<updated>{p.updated}T12:00:00Z</updated>
<published>{p.published or p.updated}T12:00:00Z</published>
<summary>{escape(p.abstract)}</summary>
<link href="{base}/abs/{vid}" rel="alternate" type="text/html"/>
<link href="{base}/pdf/{vid}" rel="related" type="application/pdf" title="pdf"/>
<arxiv:primary_category term="{p.categories[0]}"/>
{categories}{comment}
{authors}
</entry>"""


class _ArxivHandler(_Handler):
    def do_GET(self) -> None:  # noqa: N802
        parts = urlsplit(self.path)
        self.owner.record(self.path)
        if parts.path.endswith("/api/query") and parse_qs(parts.query).get("search_query"):
            params = parse_qs(parts.query)
            self.answer("search", lambda: (*self.owner.search(params), "application/atom+xml"))
        elif parts.path.endswith("/api/query"):
            ids = parse_qs(parts.query).get("id_list", [""])[0].split(",")
            self.answer("api", lambda: (200, self.owner.query(ids), "application/atom+xml"))
        elif parts.path.startswith("/pdf/"):
            self.owner.pdf_asked.set()
            if self.owner.hold_pdfs is not None:
                self.owner.hold_pdfs.wait(timeout=10)  # a safety net, not a timing
            vid = parts.path.removeprefix("/pdf/")  # 2405.04434v5, or hep-th/9901001v1
            paper = self.owner.pdf_for(vid)
            route = f"pdf:{_VERSIONED.sub('', vid)}"
            if paper is None:
                self.answer(route, lambda: (404, b"not found", "text/plain"))
            else:
                self.answer(route, lambda: (200, paper.pdf, "application/pdf"))
        else:
            self.send(404, b"not found", "text/plain")


class FakeArxiv(_Server):
    """Serves /api/query (Atom) and /pdf/IDvN for the papers it holds.

    `pdf_asked` is set when a PDF is first asked for; with `hold_pdfs` set to an event, every
    PDF answer waits for it (a timing-free way to keep a download in flight)."""

    def __init__(self, papers: list[FakePaper] | None = None) -> None:
        super().__init__(_ArxivHandler)
        self.papers: dict[str, list[FakePaper]] = defaultdict(list)
        self.api_calls: list[list[str]] = []
        self.pdf_calls: list[str] = []
        self.search_calls: list[dict[str, list[str]]] = []  # the parameters of each search
        self.pdf_base: str | None = None  # where the answers link the PDFs (default: here)
        self.pdf_asked = threading.Event()
        self.hold_pdfs: threading.Event | None = None
        for p in papers or []:
            self.add(p)

    @property
    def api_url(self) -> str:
        return self.url + "/api/query"

    def add(self, paper: FakePaper) -> None:
        self.papers[paper.id].append(paper)
        self.papers[paper.id].sort(key=lambda p: p.version)

    def record(self, path: str) -> None:
        with self.lock:
            self.requests.append(path)
            parts = urlsplit(path)
            if parts.path.endswith("/api/query") and parse_qs(parts.query).get("search_query"):
                self.search_calls.append(parse_qs(parts.query))
            elif parts.path.endswith("/api/query"):
                self.api_calls.append(parse_qs(parts.query).get("id_list", [""])[0].split(","))
            else:
                self.pdf_calls.append(parts.path)

    def lookup(self, vid: str) -> FakePaper | None:
        """The paper version arXiv serves for an ID as asked (new- or old-style, a version or
        not): the latest when no version is asked."""
        m = re.fullmatch(rf"({ARXIV_ID})(?:v(\d+))?", vid)
        if not m or not self.papers.get(m.group(1)):
            return None
        versions = self.papers[m.group(1)]
        if m.group(2) is None:
            return versions[-1]
        return next((p for p in versions if p.version == int(m.group(2))), None)

    def pdf_for(self, vid: str) -> FakePaper | None:
        return self.lookup(vid)

    def search(self, params: dict[str, list[str]]) -> tuple[int, bytes]:
        """Answer `search_query` (see tests/support/fake_arxiv_search.py), over id_list when
        given."""
        ids = [i for i in params.get("id_list", [""])[0].split(",") if i]
        held = [self.lookup(i) for i in ids] if ids else [v[-1] for v in self.papers.values()]
        return search_feed([p for p in held if p], params, lambda p: _entry(p, self.url))

    def query(self, ids: list[str]) -> bytes:
        found = [p for p in (self.lookup(i) for i in ids) if p is not None]
        return atom_feed([_entry(p, self.pdf_base or self.url) for p in found])


# -- OpenAI-compatible model ---------------------------------------------------------------------

TITLE_RE = re.compile(r"^标题：(.*)$", re.MULTILINE)


def good_answer(title: str) -> dict[str, Any]:
    """A contract-abiding Chinese answer naming the paper's first title word (a real term)."""
    name = title.split(":")[0].split()[0]
    return {
        "abstract": (
            f"本文提出 {name}，针对大规模语言模型训练与推理成本高的问题，设计了新的模型结构与"
            "训练流程，并在多个基准上进行了系统评估。实验表明，该方法在保持性能的同时显著降低了"
            "计算开销，为后续研究提供了可复现的参考。"
        ),
        "bullets": [
            {
                "heading": "问题定义",
                "text": f"{name} 关注模型训练与推理开销过高的问题，"
                "目标是在不损失效果的前提下降低成本。",
            },
            {
                "heading": "方法设计",
                "text": "方法分为三个步骤，先整理数据，再改进模型结构，"
                "最后调整训练流程，每一步都易于复现。",
            },
            {
                "heading": "实验结果",
                "text": "在多个标准基准上的实验表明，该方法效果稳定，"
                "并且可以推广到更大规模的设置中。",
            },
        ],
        "detail": [
            {
                "heading": "背景与动机",
                "text": "大模型的训练与推理成本持续上升，论文希望找到一种更经济的方案。",
            },
            {"heading": "方法", "text": "论文按三个步骤展开，分别处理数据、模型结构和训练流程。"},
            {"heading": "实验与结果", "text": "在标准基准上进行评估，结果显示方法有效且易于扩展。"},
        ],
    }


Responder = Callable[[dict[str, Any]], tuple[int, Any]]
FIGURE_RE = re.compile(r"^图 (\d+)：", re.MULTILINE)  # a figure the prompt lists
CHAT_PATH = "/v1/chat/completions"


def _title(body: dict[str, Any]) -> str:
    """The paper title in a request's prompt ("" for other requests)."""
    messages = body.get("messages") or []
    m = TITLE_RE.search(messages[1].get("content", "")) if len(messages) > 1 else None
    return m.group(1) if m else ""


def is_preflight(body: dict[str, Any]) -> bool:
    """The build's one small test request: no paper in it (bookkeeping only: answered alike)."""
    return not any("<paper>" in str(m.get("content", "")) for m in body.get("messages", []))


def prompt_tokens(body: dict[str, Any]) -> int:
    """The fakes' token count of a prompt: the pipeline's own estimate, message by message."""
    return sum(estimate_tokens(str(m.get("content", ""))) for m in body.get("messages", []))


def completion(body: dict[str, Any], message: dict[str, Any], finish: str, usage: dict) -> bytes:
    """A chat.completion body."""
    answer = {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": 1700000000,
        "model": body.get("model", "fake"),
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": usage,
    }
    return json.dumps(answer, ensure_ascii=False).encode()


class _LlmHandler(_Handler):
    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("Content-Length", "0"))
        body = json.loads(self.rfile.read(length) or b"{}")
        owner: FakeLLM = self.owner
        if urlsplit(self.path).path != CHAT_PATH:  # a wrong base_url, or a server's own route
            self.side("POST", body)
            return
        auth = self.headers.get("Authorization", "")
        if is_preflight(body):
            owner.record_preflight(body, auth)
            if owner.hold_preflight is not None:
                owner.hold_preflight.wait(timeout=10)  # a safety net, not a timing
            queued = owner.queue and owner.take_slot()  # llama.cpp queues a probe like any
            try:
                self.answer("preflight", lambda: owner.respond(body, auth))
            finally:
                if queued:
                    owner.give_slot()
            owner.preflight_answered.set()
            return
        owner.enter(body, auth)
        try:
            if not owner.take_slot():
                owner.count_429()
                self.send(429, owner.RATE_LIMITED, "application/json", owner.RETRY_AFTER)
                return
            try:
                owner.work(self, body)
                self.answer("llm", lambda: owner.finish(body, auth))
            finally:
                owner.give_slot()
        finally:
            owner.leave(body)

    def do_GET(self) -> None:  # noqa: N802
        self.side("GET", {})

    def side(self, method: str, body: dict[str, Any]) -> None:
        """A route beside chat completions (a server's model info), else 404 (a stray path)."""
        answer = self.owner.side_route(method, urlsplit(self.path).path, body)
        if answer is None:
            self.owner.record_stray(self.path)
            self.send(404, b"404 page not found", "text/plain")
            return
        self.send(200, json.dumps(answer).encode(), "application/json")

    def client_gone(self) -> bool:
        """The client hung up (its timeout): the socket reads as closed."""
        readable, _, _ = select.select([self.connection], [], [], 0.05)
        if not readable:
            return False
        try:
            return self.connection.recv(1, socket.MSG_PEEK) == b""
        except OSError:
            return True


class FakeLLM(_Server):
    """POST /v1/chat/completions; answers with `responder(body)` (default: a good answer).

    A generic OpenAI-compatible server: any key, any model, unknown fields ignored, usage counted
    with the pipeline's token estimate. The build's preflight request is answered alike but kept
    apart (`preflights`, fault route "preflight") so `bodies` holds the papers' requests.

    `gate`, when set, holds each request until `gate_size` requests are in flight at once (or
    a safety timeout passes): a timing-free way to show requests overlap.

    `slots=N` serves N requests at once. Beyond that a cloud endpoint answers HTTP 429 with
    retry-after-ms (the pipeline's retry layer honours it; tests record the wait, never sleep);
    with `queue=True` it behaves like llama.cpp: the others wait in order for a slot, and a
    request whose client gave up is still worked on when its turn comes.
    `hold_until_429`: the admitted requests wait until the first 429 went out (a timing-free
    way to make the endpoint overflow). `hold_until_gone`: titles whose first request is held
    until its client hangs up (a client-side timeout on a slow local model).
    `resent`: titles of requests that arrived while the same prompt was still in the server.
    `hold_preflight`: an event the preflight's answer waits for; `preflight_answered` is set
    once that answer is written (timing-free ways to order it against other requests).
    """

    RATE_LIMITED = json.dumps(
        {"error": {"message": "Rate limit reached", "type": "rate_limit_error"}}
    ).encode()
    RETRY_AFTER = {"retry-after-ms": "5", "retry-after": "1"}

    def __init__(self, responder: Responder | None = None, latency: float = 0.0) -> None:
        super().__init__(_LlmHandler)
        self.responder = responder or self.default
        self.latency = latency
        self.bodies: list[dict[str, Any]] = []
        self.preflights: list[dict[str, Any]] = []
        self.stray_paths: list[str] = []
        self.auth_headers: list[str] = []
        self.usages: list[dict[str, Any]] = []  # the usage of every 200 answer, preflight too
        self.in_flight = 0
        self.max_in_flight = 0
        self.gate: threading.Barrier | None = None
        self.slots: int | None = None
        self.queue = False
        self.serving = 0
        self.max_serving = 0
        self.throttled = 0  # 429 answers
        self.first_429 = threading.Event()
        self.hold_until_429 = False
        self.hold_until_gone: set[str] = set()
        self.resent: list[str] = []
        self.hold_preflight: threading.Event | None = None
        self.preflight_answered = threading.Event()
        self._inside: Counter[str] = Counter()
        self._line: deque[object] = deque()
        self._slot_freed = threading.Condition(self.lock)
        self._mine = threading.local()

    @property
    def base_url(self) -> str:
        return self.url + "/v1"

    def titles(self) -> list[str]:
        """The paper title of each request received, in order."""
        out = []
        for body in self.bodies:
            m = TITLE_RE.search(body["messages"][1]["content"])
            out.append(m.group(1) if m else "")
        return out

    def tokens(self) -> tuple[int, int]:
        """(prompt, completion) tokens of every answer so far, as the closing summary adds them."""
        with self.lock:
            return (
                sum(u["prompt_tokens"] for u in self.usages),
                sum(u["completion_tokens"] for u in self.usages),
            )

    def side_route(self, method: str, path: str, body: dict[str, Any]) -> Any | None:
        """The JSON answer to a request beside /v1/chat/completions; None: 404. A generic
        endpoint has none (local servers' fakes tell their context here)."""
        return None

    def record_preflight(self, body: dict[str, Any], auth: str) -> None:
        with self.lock:
            self.preflights.append(body)
            self.auth_headers.append(auth)

    def record_stray(self, path: str) -> None:
        with self.lock:
            self.stray_paths.append(path)

    def enter(self, body: dict[str, Any], auth: str) -> None:
        key = json.dumps(body.get("messages"), sort_keys=True)
        with self.lock:
            if self._inside[key]:
                self.resent.append(_title(body))
            self._inside[key] += 1
            self._mine.out = False
            self.bodies.append(body)
            self.auth_headers.append(auth)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        if self.gate is not None:
            try:
                self.gate.wait(timeout=10)
            except threading.BrokenBarrierError:
                pass

    def take_slot(self) -> bool:
        """Admit the request (waiting in line when `queue`), or False: answer 429."""
        self._mine.holding = False
        with self.lock:
            if self.slots is None:
                return True
            if not self.queue:
                if self.serving >= self.slots:
                    return False
            else:
                ticket = object()
                self._line.append(ticket)
                while self._line[0] is not ticket or self.serving >= self.slots:
                    self._slot_freed.wait()
                self._line.popleft()
                self._slot_freed.notify_all()
            self.serving += 1
            self.max_serving = max(self.max_serving, self.serving)
            self._mine.holding = True
            return True

    def give_slot(self, body: dict[str, Any] | None = None) -> None:
        """Free the slot (before the answer is written, as a real server frees it); the
        prompt `body` leaves the server in the same step, so a request answered after this
        one was freed can never see it still inside."""
        with self.lock:
            if getattr(self._mine, "holding", False):
                self._mine.holding = False
                self.serving -= 1
                self._slot_freed.notify_all()
            if body is not None:
                self._out(body)

    def count_429(self) -> None:
        with self.lock:
            self.throttled += 1
        self.first_429.set()

    def work(self, handler: _LlmHandler, body: dict[str, Any]) -> None:
        """The model's time on an admitted request."""
        if self.hold_until_429:
            self.first_429.wait(timeout=10)
        title = _title(body)
        with self.lock:
            held = title in self.hold_until_gone
            self.hold_until_gone.discard(title)
        if held:
            deadline = time.monotonic() + 30  # a safety net, not a timing
            while not handler.client_gone() and time.monotonic() < deadline:
                pass
        if self.latency:
            time.sleep(self.latency)  # benchmarks only; tests leave latency at 0

    def finish(self, body: dict[str, Any], auth: str) -> tuple[int, bytes, str]:
        answer = self.respond(body, auth)
        self.give_slot(body)
        return answer

    def leave(self, body: dict[str, Any]) -> None:
        with self.lock:
            self.in_flight -= 1
            self._out(body)

    def _out(self, body: dict[str, Any]) -> None:
        """The prompt left the server (once per request; called with the lock held)."""
        if not getattr(self._mine, "out", False):
            self._mine.out = True
            self._inside[json.dumps(body.get("messages"), sort_keys=True)] -= 1

    @staticmethod
    def default(body: dict[str, Any]) -> tuple[int, Any]:
        """A good answer; when the prompt lists figures, `key_figure` is the last one listed."""
        prompt = body["messages"][1]["content"]
        m = TITLE_RE.search(prompt)
        answer = good_answer(m.group(1) if m else "Paper")
        if listed := FIGURE_RE.findall(prompt):
            answer["key_figure"] = int(listed[-1])
        return 200, answer

    def respond(self, body: dict[str, Any], auth: str = "") -> tuple[int, bytes, str]:
        status, payload = (200, {"ok": True}) if is_preflight(body) else self.responder(body)
        if status != 200:
            return status, json.dumps(payload).encode(), "application/json"
        content = payload if isinstance(payload, str) else json.dumps(payload, ensure_ascii=False)
        usage = self.usage(prompt_tokens(body), estimate_tokens(content))
        message = {"role": "assistant", "content": content}
        return 200, completion(body, message, "stop", usage), "application/json"

    def usage(self, prompt: int, completion_tokens: int, **extra: Any) -> dict[str, Any]:
        """A usage object, recorded for `tokens()`."""
        usage = {
            "prompt_tokens": prompt,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt + completion_tokens,
            **extra,
        }
        with self.lock:
            self.usages.append(usage)
        return usage

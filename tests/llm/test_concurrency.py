"""Adaptive model concurrency: an endpoint with fewer slots than configured, a local queue.

Nothing here measures a clock: the 2-slot fake holds its admitted requests until it has
answered a 429 (so it does overflow), and the waits the retry layer asks for are recorded by
the autouse `no_sleep` fixture instead of slept.
"""

from __future__ import annotations

import threading

import pytest

from pipeline.llm.limiter import AdaptiveLimiter, is_local_endpoint
from tests.support.faultkit import TITLE
from tests.support.project import PAPERS, Project, config_text, fake_paper

MORE = [
    (f"2402.{n:05d}", 1, f"Paper{n}: A Study of Topic {n}", f"2024-02-{n:02d}", f"P{n}", f"P{n}")
    for n in range(1, 6)
]
EIGHT = PAPERS + MORE


@pytest.fixture
def eight(project: Project) -> Project:
    """The project with eight papers listed (and held by the fake arXiv)."""
    for paper_id, version, title, date, _, _ in MORE:
        project.arxiv.add(fake_paper(paper_id, version, title, date))
    project.write_config(config_text(project.arxiv.api_url, project.llm.base_url, papers=EIGHT))
    return project


def summary_lines(capsys: pytest.CaptureFixture[str]) -> list[str]:
    err = capsys.readouterr().err.splitlines()
    return err[next(i for i, line in enumerate(err) if line.startswith("build: ")) :]


def test_two_slot_endpoint_gets_every_paper_done_at_concurrency_4(
    eight: Project, no_sleep: list[float], capsys: pytest.CaptureFixture[str]
) -> None:
    llm = eight.llm
    llm.slots = 2  # a third request in flight is answered HTTP 429 (retry-after-ms: 5)
    llm.hold_until_429 = True  # the first two wait until the third was turned away
    assert eight.run("build") == 0
    lines = summary_lines(capsys)
    assert lines[0].startswith("build: 8 done, 0 skipped, 0 failed")
    assert lines[1] == (
        "  model concurrency: lowered from 4 to 2 (the endpoint answered HTTP 429/503 or timed "
        "out); llm.concurrency = 2 avoids that"
    )
    assert llm.throttled >= 1 and llm.max_serving == 2
    assert len(llm.bodies) == 8 + llm.throttled  # each 429 cost one request, nothing more
    assert no_sleep and set(no_sleep) == {0.005}  # the server's retry-after-ms, not slept
    assert len(list((eight.output / "data").glob("*.json"))) == 8


def test_no_concurrency_line_when_the_endpoint_keeps_up(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    project.llm.gate = threading.Barrier(3)  # three requests do overlap, none refused
    assert project.run("build") == 0
    assert "model concurrency" not in capsys.readouterr().err


def test_local_timeout_is_not_sent_again_while_the_prompt_is_queued(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    llm = project.llm
    llm.slots, llm.queue = 1, True  # llama.cpp: one slot, the other requests wait in line
    moe = TITLE["2401.06066"]
    llm.hold_until_gone = {moe}  # its first request outlasts the client's timeout
    text = config_text(project.arxiv.api_url, llm.base_url)
    project.write_config(text.replace("timeout_seconds = 10", "timeout_seconds = 3"))
    assert project.run("build") == 0
    lines = summary_lines(capsys)
    assert lines[0].startswith("build: 3 done, 0 skipped, 0 failed")
    assert lines[1].startswith("  model concurrency: lowered from 4 to 1 ")
    assert llm.resent == []  # no prompt arrived while the same one was still queued or running
    assert llm.titles().count(moe) == 2  # sent once more, after the queue drained


@pytest.mark.parametrize(
    ("url", "local"),
    [
        ("http://127.0.0.1:8080/v1", True),
        ("http://localhost:11434/v1", True),
        ("http://192.168.1.20:8000/v1", True),
        ("http://gpu-box.local:8000/v1", True),
        ("https://api.deepseek.com", False),
        ("https://api.openai.com/v1", False),
    ],
)
def test_local_endpoints(url: str, local: bool) -> None:
    assert is_local_endpoint(url) is local


def test_limiter_halves_grows_back_and_stays_within_bounds() -> None:
    import httpx
    import openai

    request = httpx.Request("POST", "http://x/v1/chat/completions")
    busy = openai.RateLimitError(
        "busy", response=httpx.Response(429, request=request, headers={"retry-after-ms": "0"}),
        body=None,
    )  # fmt: skip
    limiter = AdaptiveLimiter(4, grow_after=2)
    answers: list[object] = [busy, "a", "b", "c", "d", "e", "f"]

    def send() -> object:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    assert limiter.send(send, "x") == "a"
    assert (limiter.limit, limiter.lowest) == (2, 2)
    for _ in range(5):
        limiter.send(send, "x")
    assert limiter.limit == 4  # grown back by one per two answers, not above the configured 4
    assert limiter.lowest == 2 and limiter.requests == 7


def test_limiter_gives_up_after_bounded_429s() -> None:
    import httpx
    import openai

    request = httpx.Request("POST", "http://x/v1/chat/completions")
    response = httpx.Response(429, request=request, headers={"retry-after-ms": "0"})
    limiter = AdaptiveLimiter(2)
    sent: list[int] = []

    def send() -> None:
        sent.append(1)
        raise openai.RateLimitError("busy", response=response, body=None)

    with pytest.raises(openai.RateLimitError):
        limiter.send(send, "x")
    assert len(sent) == 1 + 5 and limiter.limit == 1 and limiter.tries() == 6


def test_local_timeout_waits_for_an_answer_to_a_request_sent_after_it() -> None:
    """Requests in flight together reach the server in any order: one numbered after the
    prompt that timed out, answered before that timeout, may have been ahead of it in the
    server's queue, so it does not prove the queue drained (a probe must)."""
    import httpx
    import openai

    limiter = AdaptiveLimiter(4, local=True)
    started, timed_out = threading.Event(), threading.Event()
    log: list[str] = []
    timeout = openai.APITimeoutError(request=httpx.Request("POST", "http://x/v1"))

    def slow() -> str:
        log.append("slow sent")
        if log.count("slow sent") == 1:
            started.set()
            timed_out.wait(timeout=10)  # a safety net, not a timing
            raise timeout
        return "slow"

    def probe(pending: int) -> None:
        log.append("probe")

    worker = threading.Thread(target=lambda: log.append(limiter.send(slow, "a", probe)))
    worker.start()
    assert started.wait(timeout=10)
    assert limiter.send(lambda: "later", "b", probe) == "later"  # numbered 2, answered first
    timed_out.set()
    worker.join(timeout=10)
    assert log == ["slow sent", "probe", "slow sent", "slow"]

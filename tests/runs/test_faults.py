"""Faults of arXiv, the PDFs and the model, through the real CLI against the fake servers.

Each test checks what a user would notice: the exit code of the contract, the line on stderr
naming the paper and the cause, that the other papers complete, and that nothing that was good
before changed (the previous summary, detail file and README bytes stay).
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
import types
from collections.abc import Iterator

import pytest

from pipeline.store import build_lock
from tests.support.fakes import FakeLLM, FakePaper, Fault
from tests.support.faultkit import (
    LLM,
    MOE,
    TITLE,
    V2,
    answer_with,
    good_files,
    new_version,
    readme_bytes,
    requests_for,
    script,
    seed_text_cache,
    state,
)
from tests.support.pdfgen import paper_pdf
from tests.support.project import API_KEY, Project, config_text

ALL = (V2, LLM, MOE)


@pytest.fixture(autouse=True)
def _seeded(project: Project) -> None:
    seed_text_cache(project)


def err(capsys: pytest.CaptureFixture[str]) -> str:
    """What the build wrote to stderr; never a traceback (that takes -v)."""
    stderr = capsys.readouterr().err
    assert "Traceback" not in stderr
    return stderr


def failed_lines(stderr: str) -> list[str]:
    return [line.strip() for line in stderr.splitlines() if line.startswith("  failed: ")]


def sleeping_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("Sleeping: ")]


def first_build(project: Project, capsys: pytest.CaptureFixture[str]) -> None:
    assert project.run("build") == 0
    capsys.readouterr()


@pytest.fixture
def stall() -> Iterator[threading.Event]:
    """Stalled fake handlers wait on this; set at the end so none stays blocked."""
    event = threading.Event()
    yield event
    event.set()


@pytest.fixture
def openai_waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The openai client's own retry waits, recorded instead of slept (like `no_sleep`)."""
    import openai._base_client

    waits: list[float] = []
    clock = types.SimpleNamespace(sleep=waits.append, time=time.time)
    monkeypatch.setattr(openai._base_client, "time", clock)
    return waits


def short_timeouts(project: Project, retries: int, llm_timeout: float = 10) -> None:
    """arxiv.timeout_seconds = 2 and the given retries; llm.timeout_seconds as given.

    A stalled request waits out the whole limit; every other request must answer within it,
    so it stays far above what a local answer takes on a busy machine (a few milliseconds).
    """
    text = config_text(project.arxiv.api_url, project.llm.base_url)
    text = text.replace("timeout_seconds = 5", "timeout_seconds = 2")
    text = text.replace("timeout_seconds = 10", f"timeout_seconds = {llm_timeout}")
    project.write_config(text.replace("retries = 3", f"retries = {retries}"))


# -- arXiv API ----------------------------------------------------------------------------------


def test_api_two_503s_then_success(
    project: Project, no_sleep: list[float], capsys: pytest.CaptureFixture[str]
) -> None:
    project.arxiv.add_fault("api", Fault(503), Fault(503))
    assert project.run("build") == 0
    assert len(project.arxiv.api_calls) == 3
    assert no_sleep == [0.0, 0.0]  # backoff base is delay_seconds (0 here): two retries
    host = project.arxiv.url.removeprefix("http://")
    assert sleeping_lines(err(capsys)) == [
        f"Sleeping: 0.00 seconds before try 2 (HTTP 503 from {host})",
        f"Sleeping: 0.00 seconds before try 3 (HTTP 503 from {host})",
    ]
    assert all(state(project, p)["summary"] for p in ALL)


@pytest.mark.parametrize(("header", "wait"), [("7", 7.0), ("100000", 120.0)])
def test_api_429_waits_as_retry_after_says_capped(
    project: Project,
    no_sleep: list[float],
    capsys: pytest.CaptureFixture[str],
    header: str,
    wait: float,
) -> None:
    project.arxiv.add_fault("api", Fault(429, headers={"Retry-After": header}))
    assert project.run("build") == 0
    assert no_sleep == [wait]
    host = project.arxiv.url.removeprefix("http://")
    assert sleeping_lines(err(capsys)) == [
        f"Sleeping: {wait:.2f} seconds before try 2 (HTTP 429 from {host})"
    ]


def test_every_wait_is_logged_with_its_length(
    project: Project, no_sleep: list[float], capsys: pytest.CaptureFixture[str]
) -> None:
    text = config_text(project.arxiv.api_url, project.llm.base_url)
    project.write_config(text.replace("delay_seconds = 0", "delay_seconds = 3"))
    project.arxiv.add_fault("api", Fault(503))  # backoff (3-9 s), then the API spacing (3 s)
    project.arxiv.add_fault(f"pdf:{MOE}", Fault(503, headers={"Retry-After": "2"}))
    assert project.run("build") == 0
    assert len(no_sleep) == 3 and 3.0 <= no_sleep[0] <= 9.0 and no_sleep[2] == 2.0
    sleeps = sleeping_lines(err(capsys))
    assert [line.split()[1] for line in sleeps] == [f"{w:.2f}" for w in no_sleep]
    assert sleeps[1].endswith(" seconds (arXiv API spacing)")


def test_api_down_fails_the_batch_and_keeps_everything(
    project: Project, no_sleep: list[float], capsys: pytest.CaptureFixture[str]
) -> None:
    first_build(project, capsys)
    before = project.snapshot()
    readme = readme_bytes(project)
    kept = {p: good_files(project, p) for p in ALL}
    llm_requests = len(project.llm.bodies)
    project.arxiv.add_fault("api", *[Fault(503)] * 4)  # retries = 3: four tries

    assert project.run("build") == 1
    stderr = err(capsys)
    assert len(project.arxiv.api_calls) == 1 + 4
    assert no_sleep == [0.0, 0.0, 0.0]
    assert len(sleeping_lines(stderr)) == 3
    # said once, first, naming the host and the cause; the papers are one line, not three
    host = project.arxiv.url.removeprefix("http://")
    report = stderr[stderr.index(f"error: arXiv API failed: {host}: ") :].splitlines()
    assert report[0] == f"error: arXiv API failed: {host}: HTTP 503, 4 tries"
    assert report[1].startswith("build: 0 done, 0 skipped, 3 failed")
    assert failed_lines(stderr) == [
        f"failed: 3 papers (arXiv API failed): {', '.join(sorted(ALL))}"
    ]
    assert stderr.count("HTTP 503, 4 tries") == 1 and "FAILED" not in stderr
    assert "rerun `python -m pipeline build` to retry exactly the failed papers" in stderr
    assert len(project.llm.bodies) == llm_requests
    assert readme_bytes(project) == readme
    assert {p: good_files(project, p) for p in ALL} == kept
    assert project.snapshot() == before  # a nightly job has nothing to commit

    # arXiv is back: nothing to redo, every byte as before the outage
    assert project.run("build") == 0
    assert len(project.llm.bodies) == llm_requests
    assert project.snapshot() == before


def test_api_answer_cut_mid_way_is_retried(
    project: Project, no_sleep: list[float], capsys: pytest.CaptureFixture[str]
) -> None:
    project.arxiv.add_fault("api", Fault(cut_after=100))
    assert project.run("build") == 0
    assert no_sleep == [0.0]
    (sleep,) = sleeping_lines(err(capsys))
    assert "before try 2" in sleep and "IncompleteRead(100 bytes read" in sleep


def _feed_cut_in_half(project: Project) -> Fault:
    body = project.arxiv.query(list(ALL))
    return Fault(200, body[: len(body) // 2], content_type="application/atom+xml")


@pytest.mark.parametrize(
    ("make_fault", "cause"),
    [
        (
            lambda _: Fault(200, b"Rate exceeded.\n"),
            "the answer is not an Atom feed: 'Rate exceeded.'",
        ),
        (
            lambda _: Fault(200, b"<!DOCTYPE html><html><body>Busy</body></html>", {}, "text/html"),
            "the answer is an HTML page, not an Atom feed",
        ),
        (_feed_cut_in_half, "the answer is not a whole Atom feed (cut short? no element found"),
    ],
    ids=["text", "html", "half-feed"],
)
def test_api_answer_that_is_not_a_feed_is_retried_not_taken_for_not_found(
    project: Project,
    no_sleep: list[float],
    capsys: pytest.CaptureFixture[str],
    make_fault,
    cause: str,
) -> None:
    project.arxiv.add_fault("api", make_fault(project))
    assert project.run("build") == 0
    assert no_sleep == [0.0]
    stderr = err(capsys)
    (sleep,) = sleeping_lines(stderr)
    assert sleep.startswith(f"Sleeping: 0.00 seconds before try 2 ({cause}")
    assert "not found on arXiv" not in stderr
    assert "build: 3 done, 0 skipped, 0 failed" in stderr


def test_api_answering_rate_exceeded_throughout_fails_with_that_reason(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    first_build(project, capsys)
    before = project.snapshot()
    project.arxiv.add_fault("api", *[Fault(200, b"Rate exceeded.")] * 4)
    assert project.run("build") == 1
    stderr = err(capsys)
    host = project.arxiv.url.removeprefix("http://")
    cause = "the answer is not an Atom feed: 'Rate exceeded.'"
    assert f"\nerror: arXiv API failed: {host}: {cause}, 4 tries\nbuild: " in stderr
    assert failed_lines(stderr) == [
        f"failed: 3 papers (arXiv API failed): {', '.join(sorted(ALL))}"
    ]
    assert project.run("build") == 0
    assert project.snapshot() == before


def test_api_stalled_times_out(
    project: Project, stall: threading.Event, capsys: pytest.CaptureFixture[str]
) -> None:
    original = project.arxiv.query

    def stalled(ids: list[str]) -> bytes:
        stall.wait(10)
        return original(ids)

    project.arxiv.query = stalled  # type: ignore[method-assign]
    short_timeouts(project, retries=0)
    assert project.run("build") == 1
    stderr = err(capsys)
    host = project.arxiv.url.removeprefix("http://")
    run_error = (
        f"error: arXiv unreachable: {host}: no answer within 2 s (arxiv.timeout_seconds), 1 try"
    )
    assert stderr.count(run_error) == 1
    assert failed_lines(stderr) == [
        f"failed: 3 papers (arXiv unreachable): {', '.join(sorted(ALL))}"
    ]
    assert project.llm.bodies == []


# -- PDFs ---------------------------------------------------------------------------------------


def test_pdf_connection_reset_then_success(
    project: Project, no_sleep: list[float], capsys: pytest.CaptureFixture[str]
) -> None:
    project.arxiv.add_fault(f"pdf:{LLM}", Fault(cut_after=300))
    assert project.run("build") == 0
    assert project.arxiv.pdf_calls.count(f"/pdf/{LLM}v1") == 2
    assert no_sleep == [0.0]
    (sleep,) = sleeping_lines(err(capsys))
    assert "before try 2" in sleep and "peer closed connection" in sleep
    pdf = (project.root / ".cache" / "pdf" / f"{LLM}v1.pdf").read_bytes()
    assert pdf == project.arxiv.papers[LLM][0].pdf


def test_pdf_503_waits_as_retry_after_says_and_403_is_not_retried(
    project: Project, no_sleep: list[float], capsys: pytest.CaptureFixture[str]
) -> None:
    project.arxiv.add_fault(f"pdf:{MOE}", Fault(503, headers={"Retry-After": "3"}))
    project.arxiv.add_fault(f"pdf:{LLM}", Fault(403, b"forbidden"))  # a 404: withdrawn
    assert project.run("build") == 1
    assert no_sleep == [3.0]
    assert project.arxiv.pdf_calls.count(f"/pdf/{MOE}v1") == 2
    assert project.arxiv.pdf_calls.count(f"/pdf/{LLM}v1") == 1
    assert failed_lines(err(capsys)) == [
        f"failed: {LLM}: PDF download failed: HTTP 403 for {project.arxiv.url}/pdf/{LLM}v1"
    ]


def _truncated(paper: FakePaper) -> Fault:
    half = paper.pdf[: len(paper.pdf) // 2]
    return Fault(200, half, content_type="application/pdf")


def _html(paper: FakePaper) -> Fault:
    page = b"<!DOCTYPE html>\n<html><body><h1>This article has been withdrawn</h1></body></html>"
    return Fault(200, page, content_type="text/html")


@pytest.mark.parametrize(
    ("make_fault", "cause"),
    [
        (_truncated, "the PDF is truncated (no %%EOF at its end)"),
        (_html, "got an HTML page instead of a PDF (withdrawn, or an error page?)"),
    ],
    ids=["truncated", "html"],
)
def test_bad_pdf_fails_that_paper_alone(
    project: Project, capsys: pytest.CaptureFixture[str], make_fault, cause: str
) -> None:
    first_build(project, capsys)
    kept = good_files(project, LLM)
    for paper_id in ALL:  # every paper has a new version; one of the new PDFs is bad
        fresh = new_version(project, paper_id)
        if paper_id == LLM:
            project.arxiv.add_fault(f"pdf:{LLM}", make_fault(fresh))

    assert project.run("build") == 1
    stderr = err(capsys)
    assert failed_lines(stderr) == [f"failed: {LLM}: {cause}; from {project.arxiv.url}/pdf/{LLM}v2"]
    assert f"{LLM}: FAILED: " in stderr  # the progress line as it happens
    assert "build: 2 done, 0 skipped, 1 failed" in stderr
    assert state(project, V2)["meta"]["version"] == 6
    assert state(project, MOE)["meta"]["version"] == 2
    assert good_files(project, LLM) == kept
    assert not (project.root / ".cache" / "pdf" / f"{LLM}v2.pdf").exists()
    assert f"./deepseek-paper/01-DeepSeekLLM.{LLM}v1.md" in readme_bytes(project).decode()
    assert state(project, LLM)["last_error"] == {
        "stage": "fetch",
        "reason": f"{cause}; from {project.arxiv.url}/pdf/{LLM}v2",
    }

    # the next build retries exactly that paper, and the fault is gone
    requests = len(project.llm.bodies)
    assert project.run("build") == 0
    assert project.llm.titles()[requests:] == [TITLE[LLM]]
    assert state(project, LLM)["meta"]["version"] == 2
    assert state(project, LLM)["last_error"] is None


def stall_pdf(project: Project, stall: threading.Event, paper_id: str, times: int) -> None:
    """The fake holds the first `times` requests for this paper's PDF until `stall` is set."""
    original = project.arxiv.pdf_for
    held: list[str] = []

    def pdf_for(vid: str) -> FakePaper | None:
        if vid.startswith(paper_id) and len(held) < times:
            held.append(vid)
            stall.wait(10)
        return original(vid)

    project.arxiv.pdf_for = pdf_for  # type: ignore[method-assign]


def test_pdf_stalled_longer_than_timeout_fails_that_paper(
    project: Project, stall: threading.Event, capsys: pytest.CaptureFixture[str]
) -> None:
    stall_pdf(project, stall, MOE, times=1)
    short_timeouts(project, retries=0)  # a timeout is retried: test_pdf_stalled_once_is_retried
    assert project.run("build") == 1
    stderr = err(capsys)
    assert failed_lines(stderr) == [
        f"failed: {MOE}: PDF download timed out: no answer within 2 s "
        "(arxiv.timeout_seconds), 1 try"
    ]
    assert "build: 2 done, 0 skipped, 1 failed" in stderr


def test_pdf_stalled_once_is_retried(
    project: Project,
    stall: threading.Event,
    no_sleep: list[float],
    capsys: pytest.CaptureFixture[str],
) -> None:
    stall_pdf(project, stall, MOE, times=1)
    short_timeouts(project, retries=1)
    assert project.run("build") == 0
    assert no_sleep == [0.0]
    assert project.arxiv.pdf_calls.count(f"/pdf/{MOE}v1") == 2
    stderr = err(capsys)
    (sleep,) = sleeping_lines(stderr)
    assert sleep.startswith("Sleeping: 0.00 seconds before try 2 (timed out)")
    assert "build: 3 done" in stderr


# -- an ID arXiv does not return -------------------------------------------------------------

MISSING = ("2312.00001", 1, "Missing Paper: Not Yet Held by the Fake", "2023-12-01", "Gone", "Gone")


def test_unknown_id_fails_alone_and_is_retried_until_found(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.support.project import PAPERS

    project.write_config(
        config_text(project.arxiv.api_url, project.llm.base_url, papers=[*PAPERS, MISSING])
    )
    assert project.run("build") == 1
    stderr = err(capsys)
    assert failed_lines(stderr) == [
        "failed: 2312.00001: not found on arXiv (no entry in the API answer)"
    ]
    assert "build: 3 done, 0 skipped, 1 failed" in stderr
    assert len(project.llm.bodies) == 3
    assert not (project.output / "data" / "2312.00001.json").exists()
    readme = readme_bytes(project)

    # still missing: asked again (one request for all four), fails again, nothing else redone
    assert project.run("build") == 1
    assert project.arxiv.api_calls[-1] == [V2, LLM, MOE, "2312.00001"]
    assert "build: 0 done, 3 skipped, 1 failed" in err(capsys)
    assert len(project.llm.bodies) == 3
    assert readme_bytes(project) == readme

    # arXiv has it now: exactly that paper is done
    project.arxiv.add(
        FakePaper("2312.00001", 1, MISSING[2], MISSING[3], paper_pdf(MISSING[2], "Missing"))
    )
    assert project.run("build") == 0
    assert "build: 1 done, 3 skipped, 0 failed" in err(capsys)
    assert len(project.llm.bodies) == 4
    assert "Missing Paper" in project.llm.bodies[-1]["messages"][1]["content"]
    assert "## 1 **Gone**" in readme_bytes(project).decode()


# -- the model's answers ------------------------------------------------------------------------

NOT_JSON = (200, "抱歉，我无法完成这个请求。")


def test_answer_not_json_is_repaired(project: Project, capsys: pytest.CaptureFixture[str]) -> None:
    script(project.llm, LLM, NOT_JSON)
    assert project.run("build") == 0
    asked = requests_for(project.llm, LLM)
    assert len(asked) == 2 and len(project.llm.bodies) == 4
    assert "- the answer is not a JSON object" in asked[1]["messages"][-1]["content"]
    assert asked[1]["messages"][-2] == {"role": "assistant", "content": NOT_JSON[1]}
    assert state(project, LLM)["usage"]["attempts"] == 2
    assert f"{LLM}: answer sent back once: the answer is not a JSON object" in err(capsys)


def test_answer_never_json_fails_and_keeps_previous_summary(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    first_build(project, capsys)
    before = project.snapshot()
    readme = readme_bytes(project)
    kept = good_files(project, LLM)
    requests = len(project.llm.bodies)
    script(project.llm, LLM, then=NOT_JSON)

    assert project.run("build", "--only", LLM, "--force") == 1
    stderr = err(capsys)
    assert failed_lines(stderr) == [
        f"failed: {LLM}: model answer unusable after one repair: the answer is not a JSON object"
    ]
    assert len(project.llm.bodies) == requests + 2
    assert good_files(project, LLM) == kept
    assert readme_bytes(project) == readme
    changed = {k for k, v in project.snapshot().items() if before.get(k) != v}
    assert changed == {f"data/{LLM}.json"}  # only last_error was recorded
    reason = "model answer unusable after one repair: the answer is not a JSON object"
    assert state(project, LLM)["last_error"] == {"stage": "summarise", "reason": reason}
    assert project.run("status") == 0
    status = capsys.readouterr().out.splitlines()
    assert any(
        line.startswith(f"{LLM}\tv1\tsummarised\tfailed last time ({reason}); sent whole (")
        for line in status
    )


@pytest.mark.parametrize("count", [2, 4])
def test_wrong_bullet_count_is_repaired(
    project: Project, capsys: pytest.CaptureFixture[str], count: int
) -> None:
    def bullets(answer: dict) -> None:
        answer["bullets"] = (answer["bullets"] * 2)[:count]

    script(project.llm, MOE, answer_with(MOE, bullets))
    assert project.run("build") == 0
    asked = requests_for(project.llm, MOE)
    assert len(asked) == 2
    repair = asked[1]["messages"][-1]["content"]
    assert f"- bullets must have exactly 3 items, got {count}\n" in repair
    assert len(state(project, MOE)["summary"]["bullets"]) == 3
    assert f"bullets must have exactly 3 items, got {count}" in err(capsys)


def test_english_answer_is_repaired(project: Project) -> None:
    def english(answer: dict) -> None:
        answer["abstract"] = (
            "This paper presents a mixture-of-experts language model that lowers the cost of "
            "training and inference while keeping strong results on standard benchmarks. " * 2
        )

    script(project.llm, MOE, answer_with(MOE, english))
    assert project.run("build") == 0
    asked = requests_for(project.llm, MOE)
    assert len(asked) == 2
    assert re.search(
        r"- abstract is not in Chinese \(CJK share 0\.00", asked[1]["messages"][-1]["content"]
    )
    assert state(project, MOE)["summary"]["abstract"].startswith("本文提出")


CONTEXT_ERROR = {
    "error": {
        "message": "This model's maximum context length is 65536 tokens. However, you requested "
        "81234 tokens (81234 in the messages, 0 in the completion). Please reduce the length of "
        "the messages or completion.",
        "type": "invalid_request_error",
        "param": None,
        "code": "context_length_exceeded",
    }
}


def test_context_length_error_fails_with_a_clear_reason(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    first_build(project, capsys)
    readme = readme_bytes(project)
    kept = good_files(project, V2)
    script(project.llm, V2, then=(400, CONTEXT_ERROR))
    assert project.run("build", "--force") == 1
    stderr = err(capsys)
    (line,) = failed_lines(stderr)
    assert line.startswith(f"failed: {V2}: ")
    assert "context length" in line
    assert "llm.max_input_tokens" in line
    assert "build: 2 done, 0 skipped, 1 failed" in stderr
    assert len(requests_for(project.llm, V2)) == 2  # the first build's, then one: no retry
    assert good_files(project, V2) == kept
    # the others were redone (forced) but gave the same answer: the README is unchanged
    assert readme_bytes(project) == readme


SERVER_ERROR = Fault(
    500,
    json.dumps({"error": {"message": "internal error", "type": "server_error"}}).encode(),
    headers={"retry-after-ms": "250"},  # the openai client waits as the server says
    content_type="application/json",
)


def retrying_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "model request retried in " in line]


def test_model_500_twice_is_retried_by_one_layer_alone(
    project: Project,
    no_sleep: list[float],
    openai_waits: list[float],
    capsys: pytest.CaptureFixture[str],
) -> None:
    first_build(project, capsys)
    project.llm.add_fault("llm", SERVER_ERROR, SERVER_ERROR)
    assert project.run("build", "--only", MOE, "--force") == 0
    assert len(requests_for(project.llm, MOE)) == 1 + 3
    assert no_sleep == [0.25, 0.25]  # as the server said (retry-after-ms)
    assert openai_waits == []  # the client does not retry on its own: no second layer
    stderr = err(capsys)
    assert "build: 1 done" in stderr
    assert retrying_lines(stderr) == [  # every wait is logged
        f"{MOE}: model request retried in 0.25 s (retry 1 of 2, HTTP 500; concurrency 4)",
        f"{MOE}: model request retried in 0.25 s (retry 2 of 2, HTTP 500; concurrency 4)",
    ]


def test_model_500_always_fails_after_three_requests(
    project: Project, no_sleep: list[float], capsys: pytest.CaptureFixture[str]
) -> None:
    first_build(project, capsys)
    kept = good_files(project, MOE)
    project.llm.add_fault("llm", *[SERVER_ERROR] * 5)
    assert project.run("build", "--only", MOE, "--force") == 1
    assert len(requests_for(project.llm, MOE)) == 1 + 3  # two retries, one layer
    assert len(no_sleep) == 2
    (line,) = failed_lines(err(capsys))
    assert (
        line == f"failed: {MOE}: model endpoint answered HTTP 500: Error code: 500 - internal error"
    )
    assert good_files(project, MOE) == kept


def test_model_stalled_on_a_remote_endpoint_is_retried_twice_then_fails(
    project: Project,
    stall: threading.Event,
    no_sleep: list[float],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import pipeline.llm.limiter

    monkeypatch.setattr(pipeline.llm.limiter, "is_local_endpoint", lambda url, provider=None: False)
    script(project.llm, MOE, then=lambda body: (stall.wait(10), FakeLLM.default(body))[1])
    short_timeouts(project, retries=3, llm_timeout=1)
    assert project.run("build") == 1
    stderr = err(capsys)
    assert failed_lines(stderr) == [
        f"failed: {MOE}: model request timed out: no answer within 1 s (llm.timeout_seconds), "
        "3 tries"
    ]
    assert len(requests_for(project.llm, MOE)) == 3
    assert len(no_sleep) == 2 and len(retrying_lines(stderr)) == 2
    assert "build: 2 done, 0 skipped, 1 failed" in stderr
    # each timeout halved the model concurrency
    assert "  model concurrency: lowered from 4 to 1 (the endpoint answered" in stderr


def test_model_stalled_on_a_local_endpoint_is_sent_again_once_only(
    project: Project, stall: threading.Event, capsys: pytest.CaptureFixture[str]
) -> None:
    # the fake listens on 127.0.0.1: a local endpoint, where the timed-out prompt is still queued
    script(project.llm, MOE, then=lambda body: (stall.wait(10), FakeLLM.default(body))[1])
    short_timeouts(project, retries=3, llm_timeout=0.2)
    assert project.run("build") == 1
    stderr = err(capsys)
    assert failed_lines(stderr) == [
        f"failed: {MOE}: model request timed out: no answer within 0.2 s (llm.timeout_seconds), "
        "2 tries; a local endpoint works one prompt at a time: raise llm.timeout_seconds"
    ]
    assert len(requests_for(project.llm, MOE)) == 2  # no client-side retry of the timeout
    assert retrying_lines(stderr) == []
    assert "build: 2 done, 0 skipped, 1 failed" in stderr
    assert "  model concurrency: lowered from 4 to 1 (the endpoint answered" in stderr


def test_provider_vllm_on_a_host_name_gets_the_local_timeout_policy(
    project: Project,
    stall: threading.Event,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`provider = "vllm"` on a host name (no private IP to see): the profile says local, so a
    timed-out prompt, still queued there, is not sent again at once."""
    real = socket.getaddrinfo

    def getaddrinfo(host, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        return real("127.0.0.1" if host == "gpu-box.example" else host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    script(project.llm, MOE, then=lambda body: (stall.wait(10), FakeLLM.default(body))[1])
    short_timeouts(project, retries=3, llm_timeout=0.2)
    port = project.llm.base_url.split(":")[2].split("/")[0]
    text = project.config.read_text(encoding="utf-8")
    text = text.replace(project.llm.base_url, f"http://gpu-box.example:{port}/v1")
    project.write_config(text.replace("[llm]\n", '[llm]\nprovider = "vllm"\n'))
    assert project.run("build") == 1
    stderr = err(capsys)
    assert failed_lines(stderr) == [
        f"failed: {MOE}: model request timed out: no answer within 0.2 s (llm.timeout_seconds), "
        "2 tries; a local endpoint works one prompt at a time: raise llm.timeout_seconds"
    ]
    assert len(requests_for(project.llm, MOE)) == 2  # no client-side retry of the timeout
    assert retrying_lines(stderr) == []


def test_model_refusing_the_key_names_the_variable_not_the_key(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    refused = Fault(
        401,
        json.dumps({"error": {"message": f"Incorrect API key provided: {API_KEY}"}}).encode(),
        content_type="application/json",
    )
    project.llm.add_fault("llm", *[refused] * 3)
    assert project.run("build", "--jobs", "1") == 1
    stderr = err(capsys)
    assert failed_lines(stderr) == [
        f"failed: {p}: the endpoint refused the key in TEST_LLM_KEY (HTTP 401); check that variable"
        for p in sorted(ALL)
    ]
    # 401 is not retried, and once refused the other papers do not ask again
    assert len(project.llm.bodies) == 1
    assert API_KEY not in stderr


# -- the next build retries exactly the failed papers ----------------------------------------------


def test_next_build_retries_exactly_the_failed_papers(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    project.arxiv.add_fault(f"pdf:{V2}", _truncated(project.arxiv.papers[V2][0]))
    script(project.llm, MOE, then=NOT_JSON)
    assert project.run("build") == 1
    stderr = err(capsys)
    assert sorted(line.split(": ")[1] for line in failed_lines(stderr)) == [MOE, V2]
    assert "build: 1 done, 0 skipped, 2 failed" in stderr
    readme = (project.output / "README.md").read_text(encoding="utf-8")
    rows = [line for line in readme.splitlines() if line.startswith("| ") and "arxiv.org" in line]
    assert len(rows) == 3  # every listed paper keeps its row
    why = {MOE: "model answer unusable after one repair", V2: "the PDF is truncated"}
    for paper_id in (MOE, V2):  # the failed rows say why and link no details
        (row,) = [r for r in rows if f"abs/{paper_id})" in r]
        assert f"⚠️ 摘要生成失败：{why[paper_id]}" in row and "[details]" not in row
        number = row.split(" | ")[0].removeprefix("| ")
        section = readme.split(f"\n## {number} **")[1].split("\n\n")[1]
        assert (
            section.startswith(f"⚠️ 摘要生成失败：{why[paper_id]}")
            and len(section.splitlines()) == 1
        )
    numbers_before = [r.split(" | ")[0] + r.split(" | ")[4] for r in rows]
    requests, pdfs = len(project.llm.bodies), len(project.arxiv.pdf_calls)

    project.llm.responder = project.llm.default
    assert project.run("build") == 0
    assert "build: 2 done, 1 skipped, 0 failed" in err(capsys)
    titles = sorted(t for t in project.llm.titles()[requests:])
    assert titles == sorted([TITLE[V2], TITLE[MOE]])
    assert project.arxiv.pdf_calls[pdfs:] == [f"/pdf/{V2}v5"]  # MoE's PDF was cached
    readme = (project.output / "README.md").read_text(encoding="utf-8")
    rows = [line for line in readme.splitlines() if line.startswith("| ") and "arxiv.org" in line]
    assert [r.split(" | ")[0] + r.split(" | ")[4] for r in rows] == numbers_before  # no renumbering
    assert all("[details]" in r and "摘要生成失败" not in r for r in rows)

    assert project.run("build") == 0
    assert "build: 0 done, 3 skipped, 0 failed" in err(capsys)


# -- the lock -----------------------------------------------------------------------------------


def test_lock_held_exits_3_before_any_request(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    lock = project.root / ".cache" / "build.lock"
    with build_lock(lock):
        assert project.run("build") == 3
    stderr = err(capsys)
    assert stderr == (
        f"error: another build is running (lock held on {lock}); wait for it to finish or stop it\n"
    )
    assert project.arxiv.requests == [] and project.llm.bodies == []
    assert not project.output.exists()
    assert project.run("build") == 0  # released with the holder

"""No console line over 200 characters, whatever fails: reasons name the failure class, -v has
the detail."""

from __future__ import annotations

import socket
import time
import types
from collections.abc import Iterator

import pytest

from tests.support.fakes import Fault
from tests.support.faultkit import LLM, MOE, V2, script, seed_text_cache
from tests.support.project import Project, config_text

# A gateway's error page: long, with a URL, as a proxy in front of a model endpoint sends it.
GATEWAY = "upstream connect error or disconnect/reset before headers; see " + (
    "https://gateway.example.com/status?" + "trace=0123456789abcdef&" * 30
)
UNUSABLE = {"abstract": "short", "bullets": [{"heading": "x", "text": "y"}], "detail": []}


@pytest.fixture(autouse=True)
def openai_waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The openai client's own retry waits, recorded instead of slept."""
    import openai._base_client

    waits: list[float] = []
    monkeypatch.setattr(
        openai._base_client, "time", types.SimpleNamespace(sleep=waits.append, time=time.time)
    )
    return waits


@pytest.fixture
def refused_url() -> Iterator[str]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/api/query"
    finally:
        sock.close()


def _failing_build(project: Project) -> None:
    """A truncated PDF, an answer unusable even after the repair, an HTTP 500 from the model."""
    seed_text_cache(project)
    pdf = project.arxiv.papers[V2][0].pdf
    project.arxiv.add_fault(
        f"pdf:{V2}", Fault(200, pdf[: len(pdf) // 2], content_type="application/pdf")
    )
    script(project.llm, MOE, then=(200, UNUSABLE))
    unusable = project.llm.responder

    def responder(body: dict) -> tuple[int, object]:
        if "DeepSeek LLM" in body["messages"][1]["content"]:
            return 500, {"error": {"message": GATEWAY, "type": "server_error"}}
        return unusable(body)

    project.llm.responder = responder


def test_every_failure_kind_prints_lines_of_at_most_200_characters(
    project: Project, refused_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _failing_build(project)
    assert project.run("build") == 1
    stderr = capsys.readouterr().err
    failed = {
        line.split(": ")[1]: line for line in stderr.splitlines() if line.startswith("  failed: ")
    }
    assert set(failed) == {V2, LLM, MOE}
    assert "the PDF is truncated" in failed[V2]  # each reason names its failure class
    assert "model answer unusable after one repair" in failed[MOE]
    assert "model endpoint answered HTTP 500" in failed[LLM]

    project.write_config(config_text(refused_url, project.llm.base_url))
    assert project.run("build") == 1
    stderr += capsys.readouterr().err
    assert "arXiv unreachable: 127.0.0.1:" in stderr

    too_long = [line for line in stderr.splitlines() if len(line) > 200]
    assert too_long == []
    assert "Traceback" not in stderr


def test_verbose_has_the_detail_the_short_lines_leave_out(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    _failing_build(project)
    assert project.run("build", "-v") == 1
    stderr = capsys.readouterr().err
    assert GATEWAY[-100:] in stderr  # the whole error body, at DEBUG
    (line,) = [x for x in stderr.splitlines() if x.startswith(f"  failed: {LLM}: ")]
    assert len(line) <= 200 and line.endswith("; see gateway.example.com")  # no URL dump

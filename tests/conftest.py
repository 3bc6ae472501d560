"""Fixtures: fake arXiv and model servers on 127.0.0.1, a project folder, and a CLI runner."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pipeline.llm import prices
from pipeline.sources import retry as netretry
from tests.support.fakes import FakeArxiv, FakeLLM
from tests.support.project import API_KEY, PAPERS, Project, config_text, fake_paper


@pytest.fixture
def arxiv_server() -> Iterator[FakeArxiv]:
    papers = [fake_paper(i, v, t, d) for i, v, t, d, _, _ in PAPERS]
    with FakeArxiv(papers) as server:
        yield server


@pytest.fixture
def llm_server() -> Iterator[FakeLLM]:
    with FakeLLM() as server:
        yield server


OFF_PEAK = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)  # a Monday noon: DeepSeek's off-peak price


@pytest.fixture(autouse=True)
def price_clock(monkeypatch: pytest.MonkeyPatch) -> list[datetime]:
    """Requests are priced at a fixed moment, never the wall clock's: `price_clock[0] = ...`
    moves it."""
    moment = [OFF_PEAK]
    monkeypatch.setattr(prices, "clock", lambda: moment[0])
    return moment


@pytest.fixture
def refused_port() -> Iterator[int]:
    """A port on 127.0.0.1 that refuses connections (bound, never listening)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    try:
        yield sock.getsockname()[1]
    finally:
        sock.close()


@pytest.fixture(autouse=True)
def no_sleep(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Retries and spacing record their waits instead of sleeping."""
    waits: list[float] = []
    monkeypatch.setattr(netretry, "pause", waits.append)
    return waits


@pytest.fixture
def project(
    tmp_path: Path, arxiv_server: FakeArxiv, llm_server: FakeLLM, monkeypatch: pytest.MonkeyPatch
) -> Project:
    monkeypatch.setenv("TEST_LLM_KEY", API_KEY)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")  # 2026-01-01: reproducible output
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)  # set when the suite runs in Actions
    proj = Project(tmp_path, arxiv_server, llm_server)
    proj.write_config(config_text(arxiv_server.api_url, llm_server.base_url))
    os.chdir(tmp_path)
    return proj

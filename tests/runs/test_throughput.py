"""Throughput without timing: requests overlap, limits hold, the arXiv spacing, reused workers.

Nothing here measures a clock: overlap is shown with FakeLLM.gate (a barrier that opens only
when k requests are in flight at once), ordering with events, the arXiv spacing with the waits
the autouse `no_sleep` fixture records instead of sleeping. bench/bench_build.py has the timings.
"""

from __future__ import annotations

import multiprocessing
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from pipeline.progress import Progress
from pipeline.text.extract import ExtractError
from pipeline.text.pool import Extractor
from tests.support.fakes import TITLE_RE, FakeLLM, FakePaper
from tests.support.faultkit import seed_text_cache
from tests.support.project import PAPERS, Project, config_text, fake_paper

ROOT = Path(__file__).resolve().parents[2]

EXTRA = [
    ("2412.19437", 1, "DeepSeek-V3 Technical Report", "2024-12-27", "DeepSeek v3", "DeepSeek-V3"),
    (
        "2501.12948",
        1,
        "DeepSeek-R1: Incentivizing Reasoning Capability in LLMs via Reinforcement Learning",
        "2025-01-22",
        "DeepSeek R1",
        "DeepSeek-R1",
    ),
    (
        "2501.17811",
        1,
        "Janus-Pro: Unified Multimodal Understanding and Generation with Data and Model Scaling",
        "2025-01-29",
        "Janus-Pro",
        "Janus-Pro",
    ),
]
SIX = PAPERS + EXTRA


@pytest.fixture
def six(project: Project) -> Project:
    """The project with six papers listed (and held by the fake arXiv)."""
    for paper_id, version, title, date, _, _ in EXTRA:
        project.arxiv.add(fake_paper(paper_id, version, title, date))
    project.write_config(config_text(project.arxiv.api_url, project.llm.base_url, papers=SIX))
    return project


# -- model requests: overlap and limits ---------------------------------------------------------


def test_jobs_lets_that_many_model_requests_run_at_once(six: Project) -> None:
    six.llm.gate = threading.Barrier(6)  # opens only when all six requests are in flight
    assert six.run("build", "--jobs", "6") == 0  # above llm.concurrency = 4 of the config
    assert six.llm.max_in_flight == 6
    assert len(six.llm.bodies) == 6


def hold_model_until_all_extract(project: Project, monkeypatch: pytest.MonkeyPatch, n: int) -> None:
    """Hold each model request until all `n` papers have reached text extraction (their text is
    cached, so they are at the model stage a moment later): uncapped, they would all be in
    flight together."""
    reached: set[str] = set()
    everyone = threading.Event()
    update = Progress.update

    def recording_update(self: Progress, paper_id: str, text: str) -> None:
        if text == "extracting text":
            reached.add(paper_id)
            if len(reached) == n:
                everyone.set()
        update(self, paper_id, text)

    monkeypatch.setattr(Progress, "update", recording_update)
    seed_text_cache(project)
    project.llm.gate = everyone  # type: ignore[assignment]  # FakeLLM calls gate.wait(timeout=)


def test_llm_concurrency_of_the_config_caps_model_requests_in_flight(
    six: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = config_text(six.arxiv.api_url, six.llm.base_url, papers=SIX)
    six.write_config(text.replace("concurrency = 4", "concurrency = 1"))
    hold_model_until_all_extract(six, monkeypatch, len(SIX))
    assert six.run("build") == 0
    assert six.llm.max_in_flight == 1
    assert len(six.llm.bodies) == 6


def test_jobs_1_sends_one_model_request_at_a_time(
    six: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    hold_model_until_all_extract(six, monkeypatch, len(SIX))
    assert six.run("build", "--jobs", "1") == 0  # the config says concurrency = 4
    assert six.llm.max_in_flight == 1
    assert len(six.llm.bodies) == 6


def test_model_requests_do_not_wait_for_every_download(project: Project) -> None:
    """A paper whose PDF is slow to come does not hold back the others' model requests."""
    held_id, held_title = PAPERS[0][0], PAPERS[0][2]
    others_asked = threading.Event()
    held_until_others_asked: list[bool] = []
    asked: list[str] = []
    original_pdf_for = project.arxiv.pdf_for

    def pdf_for(vid: str) -> FakePaper | None:
        if vid.startswith(held_id):  # a staged build would sit here until the 10 s safety net
            held_until_others_asked.append(others_asked.wait(10))
        return original_pdf_for(vid)

    def responder(body: dict[str, Any]) -> tuple[int, Any]:
        match = TITLE_RE.search(body["messages"][1]["content"])
        asked.append(match.group(1) if match else "")
        if sum(title != held_title for title in asked) == len(PAPERS) - 1:
            others_asked.set()
        return FakeLLM.default(body)

    project.arxiv.pdf_for = pdf_for  # type: ignore[method-assign]
    project.llm.responder = responder
    assert project.run("build") == 0
    assert held_until_others_asked == [True]  # the others' model requests came first
    assert asked[-1] == held_title and len(asked) == len(PAPERS)


# -- the arXiv API spacing ----------------------------------------------------------------------


def test_metadata_requests_are_spaced_by_delay_seconds(
    project: Project, no_sleep: list[float], capsys: pytest.CaptureFixture[str]
) -> None:
    """101 papers take two API requests (100 IDs each at most): one wait of the configured
    3 s between them, none before the first."""
    papers = list(PAPERS)
    for n in range(98):
        paper_id, title = f"2502.{10000 + n}", f"Synthetic Study {n}: Methods"
        project.arxiv.add(FakePaper(paper_id, 1, title, "2025-02-01", b"%PDF-1.4\n%%EOF\n"))
        papers.append((paper_id, 1, title, "2025-02-01", f"Synthetic {n}", f"Synthetic-{n}"))
    text = config_text(project.arxiv.api_url, project.llm.base_url, papers=papers)
    project.write_config(text.replace("delay_seconds = 0", "delay_seconds = 3"))
    assert project.run("build", "--dry-run") == 0
    assert [len(ids) for ids in project.arxiv.api_calls] == [100, 1]
    assert len(no_sleep) == 1
    # the wait is what is left of the 3 s after the first request: how much that is depends on
    # how busy the machine was, so only its bounds are asserted
    assert 0 < no_sleep[0] <= 3.0
    out, err = capsys.readouterr()
    assert len(re.findall(r"^Sleeping: \d\.\d\d seconds \(arXiv API spacing\)$", err, re.M)) == 1
    assert len([line for line in out.splitlines() if ": summarise (no summary yet)" in line]) == 101


def test_one_metadata_request_for_a_short_list_needs_no_wait(
    project: Project, no_sleep: list[float]
) -> None:
    text = config_text(project.arxiv.api_url, project.llm.base_url)
    project.write_config(text.replace("delay_seconds = 0", "delay_seconds = 3"))
    assert project.run("build") == 0
    assert project.run("build") == 0  # the nightly refresh: again one request
    assert [len(ids) for ids in project.arxiv.api_calls] == [3, 3]
    assert no_sleep == []


# -- the warm refresh stays light ---------------------------------------------------------------


def test_refresh_with_nothing_changed_imports_no_model_client_nor_pdf_reader(
    project: Project,
) -> None:
    assert project.run("build") == 0
    probe = (
        "import sys\n"
        "from pipeline.cli import main\n"
        "code = main(sys.argv[1:])\n"
        "print(sorted(m for m in ('openai', 'pypdf', 'httpx2') if m in sys.modules))\n"
        "sys.exit(code)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    args = ["build", "--config", str(project.config)]
    result = subprocess.run(
        [sys.executable, "-c", probe, *args], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
    assert "build: 0 done, 3 skipped, 0 failed" in result.stderr
    assert len(project.llm.bodies) == 3 and len(project.arxiv.pdf_calls) == 3


def test_a_build_leaves_no_worker_process_behind(project: Project) -> None:
    assert project.run("build") == 0
    assert multiprocessing.active_children() == []


# -- the extraction workers ---------------------------------------------------------------------
# Targets run in the worker process, so they are module-level functions.


def _worker_pid(path: Path) -> str:
    if "slow" in path.name:
        time.sleep(60)  # in the worker, killed at the extractor's time limit
    return str(os.getpid())


def test_one_worker_process_extracts_document_after_document(tmp_path: Path) -> None:
    with Extractor(tmp_path / "text", workers=1, _target=_worker_pid) as extractor:
        pids = [extractor.text_for(tmp_path / f"{n}.pdf", f"sha{n}") for n in range(4)]
    assert len(set(pids)) == 1
    assert pids[0] != str(os.getpid())
    with pytest.raises(ProcessLookupError):  # stopped and reaped by close()
        os.kill(int(pids[0]), 0)


def test_a_worker_is_replaced_after_its_share_of_documents(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(Extractor, "DOCUMENTS_PER_WORKER", 2)
    with Extractor(tmp_path / "text", workers=1, _target=_worker_pid) as extractor:
        pids = [extractor.text_for(tmp_path / f"{n}.pdf", f"sha{n}") for n in range(4)]
    assert pids[0] == pids[1] != pids[2] == pids[3]


def test_after_a_timeout_the_next_document_gets_a_fresh_worker(tmp_path: Path) -> None:
    extractor = Extractor(tmp_path / "text", workers=1, timeout_seconds=0.3, _target=_worker_pid)
    with extractor:
        with pytest.raises(
            ExtractError, match=r"slow\.pdf: text extraction timed out after 0\.3 s"
        ):
            extractor.text_for(tmp_path / "slow.pdf", "5105")
        assert not extractor._children  # the stuck worker was killed and reaped
        # the next document gets a generous limit: a busy machine must not fail this test
        extractor.timeout_seconds = 60.0
        first_pid = extractor.text_for(tmp_path / "next.pdf", "0e47")
        assert first_pid.isdigit() and extractor.text_for(tmp_path / "n2.pdf", "0e48") == first_pid

"""A build killed with SIGKILL part-way leaves only whole files, and the next build completes it.

The build runs as a real `python -m pipeline build` subprocess against the fake servers of this
test process; the fakes hold a model answer or a PDF so the kill lands at a known stage.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.fakes import FakeLLM, FakePaper
from tests.support.faultkit import LLM, MOE, TITLE, V2, readme_bytes, seed_text_cache, title_of
from tests.support.project import Project

ROOT = Path(__file__).resolve().parents[2]
HEADER = "|    | date | project | title | link | abstract | details |"
ALL = (V2, LLM, MOE)


class Killable:
    """`python -m pipeline build ...` in the project folder, stderr kept in a file."""

    def __init__(self, project: Project, *args: str) -> None:
        self.project = project
        self.log = project.root / "build-stderr.txt"
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        with self.log.open("wb") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "pipeline", "build", *args, "--config", str(project.config)],
                cwd=project.root,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=err,
            )

    def wait_until(self, condition: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
        """Poll `condition` (bounded); fail early if the build ended on its own."""
        deadline = time.monotonic() + timeout
        while not condition():
            if self.proc.poll() is not None:
                pytest.fail(f"build exited {self.proc.returncode} before {what}:\n{self.stderr()}")
            if time.monotonic() > deadline:
                pytest.fail(f"no {what} within {timeout} s:\n{self.stderr()}")
            time.sleep(0.01)

    def signal(self, sig: int) -> int:
        """Send `sig`; the exit code (bounded wait: an interrupted build must stop at once)."""
        os.kill(self.proc.pid, sig)
        try:
            return self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            pytest.fail(f"still running 20 s after signal {sig}:\n{self.stderr()}")

    def kill(self) -> None:
        os.kill(self.proc.pid, signal.SIGKILL)
        assert self.proc.wait(timeout=10) == -signal.SIGKILL

    def stderr(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


@pytest.fixture
def release(project: Project) -> Iterator[threading.Event]:
    """Set at the end of the test whatever happens, so no fake handler stays blocked."""
    event = threading.Event()
    yield event
    event.set()


@pytest.fixture
def builds(project: Project) -> Iterator[Callable[..., Killable]]:
    started: list[Killable] = []

    def start(*args: str) -> Killable:
        started.append(Killable(project, *args))
        return started[-1]

    yield start
    for build in started:
        build.stop()


def hold_after_first(llm: FakeLLM, release: threading.Event) -> None:
    """The model answers the first request at once, and holds every later one until `release`."""
    answered = threading.Semaphore(1)

    def responder(body: dict[str, Any]) -> tuple[int, Any]:
        if not answered.acquire(blocking=False):
            release.wait(30)
        return FakeLLM.default(body)

    llm.responder = responder


def states(project: Project) -> dict[str, dict[str, Any]]:
    folder = project.output / "data"
    if not folder.is_dir():
        return {}
    return {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in folder.glob("*.json")}


def assert_output_whole(project: Project) -> None:
    """No temporary or partial file under output/; README, detail files and JSON all complete."""
    out = project.output
    if not out.exists():
        return
    files = [p for p in out.rglob("*") if p.is_file()]
    assert [p for p in files if p.name.startswith(".tmp-") or p.suffix == ".part"] == []
    records = {}
    for path in out.rglob("*.json"):
        text = path.read_text(encoding="utf-8")
        assert text.endswith("}\n"), path
        record = json.loads(text)
        assert record["id"] == path.stem and record["summary"]["bullets"], path
        records[path.stem] = record
    written = {r.get("detail_file"): r.get("detail_sha256") for r in records.values()}
    for path in files:
        rel = str(path.relative_to(out))
        if path.name == "README.md":
            text = path.read_text(encoding="utf-8")
            assert text.startswith("# DeepSeek Paper Reading\n\n") and HEADER in text
            rows = re.findall(r"^\| (\d+) \|", text, re.MULTILINE)
            sections = re.findall(r"^## (\d+) \*\*", text, re.MULTILINE)
            assert text.endswith("\n") and rows == sections == [
                str(n + 1) for n in range(len(rows))
            ]
        elif path.suffix == ".md":
            assert written.get(rel) == hashlib.sha256(path.read_bytes()).hexdigest(), rel


def assert_no_temp_files(project: Project) -> None:
    assert [p for p in project.root.rglob(".tmp-*")] == []


def test_killed_while_the_model_answers(
    project: Project, release: threading.Event, builds: Callable[..., Killable]
) -> None:
    seed_text_cache(project)
    hold_after_first(project.llm, release)
    build = builds()
    build.wait_until(
        lambda: len(states(project)) == 1 and len(project.llm.bodies) == 3,
        "paper done while the other two wait for the model",
    )
    build.kill()
    (done,) = states(project)
    assert_output_whole(project)
    assert not (project.output / "README.md").exists()  # rendered at the end only

    release.set()
    project.llm.responder = FakeLLM.default
    asked = len(project.llm.bodies)
    assert project.run("build") == 0  # the lock died with the killed build
    redone = sorted(title_of(b) for b in project.llm.bodies[asked:])
    assert redone == sorted(TITLE[p] for p in ALL if p != done)
    assert sorted(states(project)) == sorted(ALL)
    assert readme_bytes(project).decode().count("\n## ") == 3
    assert_output_whole(project)
    assert_no_temp_files(project)


def test_killed_while_a_pdf_downloads(
    project: Project, release: threading.Event, builds: Callable[..., Killable]
) -> None:
    seed_text_cache(project)
    original = project.arxiv.pdf_for

    def pdf_for(vid: str) -> FakePaper | None:
        if vid.startswith(MOE):
            release.wait(30)
        return original(vid)

    project.arxiv.pdf_for = pdf_for  # type: ignore[method-assign]
    build = builds()
    build.wait_until(
        lambda: (
            sorted(states(project)) == sorted([V2, LLM])
            and f"/pdf/{MOE}v1" in project.arxiv.pdf_calls
        ),
        "two papers done while the third PDF is on its way",
    )
    build.kill()
    assert_output_whole(project)
    assert not (project.root / ".cache" / "pdf" / f"{MOE}v1.pdf").exists()

    release.set()
    asked, downloads = len(project.llm.bodies), len(project.arxiv.pdf_calls)
    assert project.run("build") == 0
    assert [title_of(b) for b in project.llm.bodies[asked:]] == [TITLE[MOE]]
    assert project.arxiv.pdf_calls[downloads:] == [f"/pdf/{MOE}v1"]
    assert sorted(states(project)) == sorted(ALL)
    assert_output_whole(project)
    assert_no_temp_files(project)


def test_killed_forced_rebuild_changes_nothing_that_was_good(
    project: Project,
    release: threading.Event,
    builds: Callable[..., Killable],
    capsys: pytest.CaptureFixture[str],
) -> None:
    seed_text_cache(project)
    assert project.run("build") == 0
    before = project.snapshot()
    hold_after_first(project.llm, release)
    build = builds("--force")
    build.wait_until(lambda: len(project.llm.bodies) == 3 + 3, "all three asked again")
    build.kill()
    assert_output_whole(project)
    # the one answered paper got the same summary again: every byte is as before
    assert project.snapshot() == before

    release.set()
    project.llm.responder = FakeLLM.default
    capsys.readouterr()
    assert project.run("build") == 0
    assert "build: 0 done, 3 skipped, 0 failed" in capsys.readouterr().err
    assert project.snapshot() == before


@pytest.mark.parametrize(
    "sig, code, said",
    [(signal.SIGINT, 130, "error: interrupted"), (signal.SIGTERM, 143, "error: terminated")],
    ids=["ctrl-c", "sigterm"],
)
def test_interrupted_while_the_model_answers_records_nothing_false(
    project: Project,
    release: threading.Event,
    builds: Callable[..., Killable],
    sig: int,
    code: int,
    said: str,
) -> None:
    """Ctrl-C (or SIGTERM from a cancelled CI job) while two papers wait for the model: the
    build stops at once with 130 (143), says so in one line, and neither prints nor stores a
    failure for the papers it left (their requests die with the closed client: that is no
    paper's fault). No temporary file is left anywhere, the text cache included."""
    seed_text_cache(project)
    hold_after_first(project.llm, release)
    build = builds()
    build.wait_until(
        lambda: len(states(project)) == 1 and len(project.llm.bodies) == 3,
        "paper done while the other two wait for the model",
    )
    assert build.signal(sig) == code
    stderr = build.stderr()
    assert stderr.splitlines()[-1] == said
    assert "FAILED" not in stderr and "failed" not in stderr and "closed" not in stderr
    (done,) = states(project).values()  # the answered paper, whole; no state for the others
    assert done["last_error"] is None
    assert_output_whole(project)
    assert_no_temp_files(project)

    release.set()  # the next build does the two, and only them
    project.llm.responder = FakeLLM.default
    asked = len(project.llm.bodies)
    assert project.run("build") == 0
    assert len(project.llm.bodies) == asked + 2

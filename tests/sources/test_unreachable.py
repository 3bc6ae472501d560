"""arXiv unreachable (connection refused, DNS failing): said once, in one short line, quickly.

The refused host is a real socket on 127.0.0.1 that is bound but not listening (the kernel
refuses the connection); the DNS failure is the resolver answering "Name or service not known"
for a `.invalid` name (RFC 2606: never resolves), without asking any real resolver.
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest

from pipeline.config import load_config
from pipeline.errors import FetchError
from pipeline.sources.arxiv import ArxivClient, Meta
from tests.support.faultkit import LLM, MOE, V2, new_version, readme_bytes, seed_text_cache
from tests.support.project import PAPERS, Project, config_text

ALL = sorted((V2, LLM, MOE))


@pytest.fixture
def no_dns(monkeypatch: pytest.MonkeyPatch) -> None:
    """Names under .invalid do not resolve; every other lookup works as before."""
    real = socket.getaddrinfo

    def getaddrinfo(host, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        if isinstance(host, str) and host.endswith(".invalid"):
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


def point_arxiv_at(project: Project, api_url: str, papers=PAPERS) -> None:
    text = config_text(api_url, project.llm.base_url, papers=papers)
    project.write_config(text.replace("delay_seconds = 0", "delay_seconds = 3"))


def _unreachable_cases(port: int) -> list[tuple[str, str, str]]:
    return [
        (f"http://127.0.0.1:{port}/api/query", f"127.0.0.1:{port}", "connection refused"),
        (
            "http://export.arxiv.invalid/api/query",
            "export.arxiv.invalid",
            "DNS lookup failed (Name or service not known)",
        ),
    ]


@pytest.mark.parametrize("case", [0, 1], ids=["refused", "dns"])
@pytest.mark.usefixtures("no_dns")
def test_arxiv_unreachable_is_said_once_and_keeps_the_list(
    project: Project,
    refused_port: int,
    no_sleep: list[float],
    capsys: pytest.CaptureFixture[str],
    case: int,
) -> None:
    seed_text_cache(project)
    assert project.run("build") == 0
    readme, before = readme_bytes(project), project.snapshot()
    capsys.readouterr()
    no_sleep.clear()
    api_url, host, cause = _unreachable_cases(refused_port)[case]
    point_arxiv_at(project, api_url)

    assert project.run("build") == 1
    stderr = capsys.readouterr().err
    lines = stderr.splitlines()
    assert "Traceback" not in stderr and all(len(line) <= 200 for line in lines)
    run_error = f"error: arXiv unreachable: {host}: {cause}, 2 tries"
    assert [line for line in lines if cause in line] == [
        f"Sleeping: 3.00 seconds before try 2 ({cause})",
        run_error,
    ]
    report = lines[lines.index(run_error) :]
    assert report[1].startswith("build: 0 done, 0 skipped, 3 failed, 0 deferred; ")
    assert report[1].endswith("arXiv API requests 2, PDF downloads 0")
    assert report[2] == f"  failed: 3 papers (arXiv unreachable): {', '.join(ALL)}"
    assert "FAILED" not in stderr and "api/query" not in stderr
    # one more try after a short wait: the run spends seconds, not the minute of full backoff
    assert no_sleep[0] == 3.0 and len(no_sleep) <= 2 and sum(no_sleep) <= 6.0
    assert readme_bytes(project) == readme  # every paper keeps its row and summary
    assert project.snapshot() == before  # nothing to commit: no error stored in every paper


def test_a_first_build_without_arxiv_still_lists_every_paper(
    project: Project, refused_port: int
) -> None:
    point_arxiv_at(project, f"http://127.0.0.1:{refused_port}/api/query")
    assert project.run("build") == 1
    readme = readme_bytes(project).decode()
    rows = [line for line in readme.splitlines() if line.startswith("| ") and "abs/" in line]
    assert [row.split(" | ")[0] for row in rows] == ["| 1", "| 2", "| 3"]
    assert all(row.endswith(" | ⚠️ 摘要生成失败：arXiv unreachable |  |") for row in rows)
    assert [f"abs/{p})" in row for p, row in zip(ALL, rows, strict=True)] == [True] * 3


def test_later_batches_are_not_asked_once_arxiv_is_unreachable(
    project: Project, refused_port: int, capsys: pytest.CaptureFixture[str]
) -> None:
    many = [(f"2401.{n:05d}", 1, f"Paper {n}", "2024-01-01", f"P{n}", f"P{n}") for n in range(150)]
    point_arxiv_at(project, f"http://127.0.0.1:{refused_port}/api/query", papers=many)
    assert project.run("build") == 1
    lines = capsys.readouterr().err.splitlines()
    assert all(len(line) <= 200 for line in lines)
    build_line = next(line for line in lines if line.startswith("build: "))
    assert build_line.endswith("arXiv API requests 2, PDF downloads 0")  # batch 1 only, 2 tries
    (failed,) = [line for line in lines if line.startswith("  failed: ")]
    assert failed.startswith("  failed: 150 papers (arXiv unreachable): 2401.00000, 2401.00001")
    assert failed.endswith(" more")


def test_pdf_host_refused_is_said_once_and_every_row_stays(
    project: Project, refused_port: int, no_sleep: list[float], capsys: pytest.CaptureFixture[str]
) -> None:
    project.arxiv.pdf_base = f"http://127.0.0.1:{refused_port}"
    assert project.run("build") == 1
    stderr = capsys.readouterr().err
    lines = stderr.splitlines()
    run_error = f"error: arXiv unreachable: 127.0.0.1:{refused_port}: connection refused, 2 tries"
    assert lines.count(run_error) == 1
    assert lines[lines.index(run_error) + 1].startswith("build: 0 done, 0 skipped, 3 failed")
    assert f"  failed: 3 papers (arXiv unreachable): {', '.join(ALL)}" in lines
    assert project.llm.bodies == []
    readme = readme_bytes(project).decode()
    rows = [line for line in readme.splitlines() if line.startswith("| ") and "abs/" in line]
    assert len(rows) == 3 and all("⚠️ 摘要生成失败：arXiv unreachable" in r for r in rows)


def test_after_one_unreachable_pdf_the_next_paper_does_not_try(
    tmp_path: Path, refused_port: int, no_sleep: list[float]
) -> None:
    config_path = tmp_path / "config.toml"
    config_path.write_text(config_text("http://127.0.0.1:1/api/query", "http://127.0.0.1:1/v1"))
    client = ArxivClient(load_config(config_path).arxiv)
    url = f"http://127.0.0.1:{refused_port}/pdf/"
    metas = [
        Meta(paper_id, 1, "T", (), "", "2024-01-01", "2024-01-01", f"{url}{paper_id}v1")
        for paper_id in ALL
    ]
    try:
        for meta in metas:
            with pytest.raises(FetchError) as caught:
                client.download_pdf(meta, tmp_path / f"{meta.id}.pdf")
            assert caught.value.reason == "arXiv unreachable"
    finally:
        client.close()
    assert client.pdf_requests == 2  # the first paper's two tries; the others none
    assert no_sleep == [0.0]
    assert [error.line for error in client.run_errors] == [
        f"arXiv unreachable: 127.0.0.1:{refused_port}: connection refused, 2 tries"
    ]


def test_a_watch_that_finds_arxiv_unreachable_says_it_once_for_the_whole_build(
    project: Project, refused_port: int, no_sleep: list[float], capsys: pytest.CaptureFixture[str]
) -> None:
    text = config_text(f"http://127.0.0.1:{refused_port}/api/query", project.llm.base_url)
    project.write_config(text + '[[watch]]\nname = "lab"\nquery = \'au:"DeepSeek-AI"\'\n')
    assert project.run("build") == 1
    lines = capsys.readouterr().err.splitlines()
    run_error = f"error: arXiv unreachable: 127.0.0.1:{refused_port}: connection refused, 2 tries"
    assert [line for line in lines if "connection refused" in line] == [
        "Sleeping: 0.00 seconds before try 2 (connection refused)",
        run_error,
    ]
    build_line = lines[lines.index(run_error) + 1]
    assert build_line.endswith("arXiv API requests 2, PDF downloads 0")  # the metadata: not asked
    assert "  watch 'lab': arXiv search failed (arXiv unreachable); " in " ".join(lines)
    assert f"  failed: 3 papers (arXiv unreachable): {', '.join(ALL)}" in lines
    assert no_sleep == [0.0]

    assert project.run("watch") == 1
    lines = capsys.readouterr().err.splitlines()
    assert lines.count(run_error) == 1 and lines.index(run_error) < len(lines) - 2


def test_the_model_endpoint_going_down_leaves_output_byte_identical(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    """New versions to summarise, the endpoint going down after the preflight: said once,
    stored nowhere (no `last_error` in every state file, no new state file)."""
    seed_text_cache(project)
    assert project.run("build") == 0
    before = project.snapshot()
    for paper_id in ALL:
        new_version(project, paper_id)

    def go_down(body: dict[str, Any]) -> tuple[int, Any]:
        project.llm.httpd.shutdown()  # stop listening; this request gets no answer either
        project.llm.httpd.server_close()
        raise ConnectionError("the server went away")

    project.llm.responder = go_down
    capsys.readouterr()
    assert project.run("build", "--jobs", "1") == 1
    err = capsys.readouterr().err
    assert err.count("unreachable: connection refused") == 1 and "FAILED" not in err
    assert "  failed: 3 papers (model endpoint unreachable): " in err
    assert project.snapshot() == before

"""The fake arXiv answers `search_query` as the arXiv API documents it (through the real client)."""

from __future__ import annotations

import re
import urllib.request
from collections.abc import Iterator

import arxiv
import pytest

from tests.support.fakes import FakeArxiv, FakePaper


def paper(pid: str, title: str, submitted: str, authors: tuple[str, ...], **kw) -> FakePaper:
    return FakePaper(pid, 1, title, kw.pop("updated", submitted), b"", published=submitted,
                     authors=authors, **kw)  # fmt: skip


PAPERS = [
    paper(
        "2401.06066",
        "DeepSeekMoE: Towards Ultimate Expert Specialization",
        "2024-01-11",
        ("Damai Dai", "DeepSeek-AI"),
        abstract="In the era of large language models, mixture of experts is promising.",
        updated="2024-03-01",
    ),
    paper(
        "2501.12948",
        "DeepSeek-R1: Incentivizing Reasoning",
        "2025-01-22",
        ("DeepSeek-AI",),
        abstract="Reasoning models trained with reinforcement learning.",
        categories=("cs.CL", "cs.AI"),
        comment="22 pages",
    ),
    paper(
        "2503.01234",
        "A Survey of Mixture-of-Experts Models",
        "2025-03-02",
        ("Jane Doe",),
        abstract="We review experts mixture of designs.",
        categories=("cs.LG",),
    ),
    paper(
        "2409.00001",
        "Checkerboard Patterns",
        "2024-09-01",
        ("Adrian Del Maestro",),
        abstract="Quantum criticality on a checkerboard lattice.",
        categories=("cond-mat.str-el",),
    ),
    paper(
        "2409.00002",
        "Pyrochlore Magnets",
        "2024-09-05",
        ("Adrian Del Maestro", "DeepSeek-AI Team"),
        abstract="Frustration in a pyrochlore lattice.",
        categories=("cond-mat.str-el",),
    ),
]


@pytest.fixture
def server() -> Iterator[FakeArxiv]:
    with FakeArxiv(PAPERS) as fake:
        yield fake


def ids(server: FakeArxiv, query: str, page_size: int = 100, **kw) -> list[str]:
    client = arxiv.Client(page_size=page_size, delay_seconds=0, num_retries=0)
    client.query_url_format = server.api_url + "?{}"
    search = arxiv.Search(query=query, sort_by=arxiv.SortCriterion.SubmittedDate, **kw)
    return [r.get_short_id().split("v")[0] for r in client.results(search)]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ('au:"DeepSeek-AI"', ["2501.12948", "2409.00002", "2401.06066"]),
        ("au:del_maestro", ["2409.00002", "2409.00001"]),
        ('au:"Del Maestro" AND ti:checkerboard', ["2409.00001"]),
        ("au:del_maestro ANDNOT (ti:checkerboard OR ti:Pyrochlore)", []),
        ("au:del_maestro ANDNOT ti:checkerboard", ["2409.00002"]),
        ('abs:"mixture of experts"', ["2401.06066"]),  # words in order: not "experts mixture of"
        ("abs:(experts reinforcement)", ["2503.01234", "2501.12948", "2401.06066"]),
        ("ti:survey OR ti:pyrochlore AND au:Dai", ["2503.01234"]),  # AND binds tighter
        ("(ti:survey OR ti:pyrochlore) AND au:Maestro", ["2409.00002"]),
        ("cat:cs.AI", ["2501.12948"]),
        ("cat:cond-mat.str-el ANDNOT abs:quantum", ["2409.00002"]),
        ('co:"22 pages"', ["2501.12948"]),
        ("all:pyrochlore", ["2409.00002"]),
        ("lattice", ["2409.00002", "2409.00001"]),  # a bare term searches all fields
        ("ti:deepseek OR ti:mixture ANDNOT ti:survey", ["2501.12948"]),  # not "DeepSeekMoE"
        ("submittedDate:[202409010000 TO 202412312359]", ["2409.00002", "2409.00001"]),
    ],
)
def test_search_query_semantics(server: FakeArxiv, query: str, expected: list[str]) -> None:
    assert ids(server, query) == expected


def test_sort_order_and_paging_with_total_results(server: FakeArxiv) -> None:
    query = "all:a OR cat:cs.CL OR cat:cs.LG OR cat:cond-mat.str-el"
    newest = ["2503.01234", "2501.12948", "2409.00002", "2409.00001", "2401.06066"]
    assert ids(server, query) == newest
    assert ids(server, query, sort_order=arxiv.SortOrder.Ascending) == newest[::-1]
    server.search_calls.clear()
    assert ids(server, query, page_size=2, max_results=5) == newest
    assert [c["start"] for c in server.search_calls] == [["0"], ["2"], ["4"]]
    assert ids(server, query, page_size=2, max_results=3) == newest[:3]
    url = f"{server.api_url}?search_query=cat:cs.CL&start=1&max_results=1&sortBy=lastUpdatedDate"
    with urllib.request.urlopen(url) as answer:
        body = answer.read().decode()
    assert "<opensearch:totalResults>2</opensearch:totalResults>" in body
    assert "<opensearch:startIndex>1</opensearch:startIndex>" in body
    assert re.findall(r"<id>http://arxiv.org/abs/(\S+)</id>", body) == ["2401.06066v1"]


@pytest.mark.parametrize("query", ['au:"DeepSeek-AI', "(ti:a", "ti:a AND", "author:x", "ti:()"])
def test_a_malformed_query_is_http_400(server: FakeArxiv, query: str) -> None:
    with pytest.raises(arxiv.HTTPError) as failed:
        ids(server, query)
    assert failed.value.status == 400

"""The static site (output/site/) and the Atom feed (output/feed.xml), read as files."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from pipeline.cli import main
from pipeline.publish import mdhtml, site
from tests.support.cli import fails_with
from tests.support.fakes import Fault
from tests.support.hostile import (
    HOSTILE_AUTHORS,
    HOSTILE_TITLE,
    completion,
    hostile_but_valid,
    only_paper,
    warm_text_cache,
)
from tests.support.pdfgen import paper_pdf
from tests.support.project import PAPERS, ROOT, Project, config_text
from tests.support.sitehtml import (
    article_ids,
    assert_no_other_host,
    build_the_twelve,
    entries,
    read_feed,
    read_page,
    text_of,
)

IDS = sorted(p[0] for p in PAPERS)  # the fixture's dates sort them like their IDs
GENERATED = "2026-01-01T00:00:00Z"  # SOURCE_DATE_EPOCH in the project fixture


def site_files(output: Path) -> dict[str, bytes]:
    """Every site and feed file under output/, by relative path."""
    files = {"feed.xml": (output / "feed.xml").read_bytes()}
    for path in sorted((output / "site").rglob("*")):
        if path.is_file():
            files[str(path.relative_to(output))] = path.read_bytes()
    return files


def state(project: Project, paper_id: str) -> dict[str, Any]:
    return json.loads((project.output / "data" / f"{paper_id}.json").read_text(encoding="utf-8"))


def add_site_section(project: Project, body: str) -> None:
    project.write_config(project.config.read_text(encoding="utf-8") + f"[site]\n{body}\n")


def test_the_twelve_papers_cold(tmp_path: Path) -> None:
    output = build_the_twelve(tmp_path)
    states = {
        p.stem: json.loads(p.read_text(encoding="utf-8"))
        for p in sorted((output / "data").glob("*.json"))
    }
    assert len(states) == 12
    index = read_page(output / "site" / "index.html")
    ids = article_ids(index)
    assert sorted(ids) == sorted(states) and len(ids) == 12
    assert "共 12 篇" in index.text
    assert_no_other_host(index)
    pages = sorted(p.name for p in (output / "site" / "papers").iterdir())
    assert pages == sorted(f"{i}.html" for i in states)
    for name in pages:
        assert_no_other_host(read_page(output / "site" / "papers" / name))
    assert "Janus-Pro" in read_page(output / "site" / "papers" / "2501.17811.html").text

    feed = read_feed(output / "feed.xml")
    found = entries(feed)
    assert len(found) == 12
    updated = [text_of(e, "updated") for e in found]
    assert updated == sorted(updated, reverse=True)  # newest first
    assert text_of(feed, "updated") == updated[0]
    for entry in found:
        paper = states[text_of(entry, "id").rsplit("/", 1)[1]]
        assert text_of(entry, "content") == paper["summary"]["abstract"]
        assert text_of(entry, "updated") == paper["meta"]["updated"] + "T00:00:00Z"  # imported
    assert (output / "site" / "feed.xml").read_bytes() == (output / "feed.xml").read_bytes()


def test_the_feed_holds_the_newest_feed_entries_summaries(tmp_path: Path) -> None:
    """Twelve summaries, `[site] feed_entries = 5`: the feed has the five newest; the site
    still lists all twelve."""
    config = tmp_path / "config.toml"
    shutil.copy(ROOT / "config.toml", config)
    config.write_text(config.read_text(encoding="utf-8") + "\n[site]\nfeed_entries = 5\n")
    shutil.copytree(ROOT / "output" / "data", tmp_path / "output" / "data")
    assert main(["build", "--offline", "-q", "--config", str(config)]) == 0
    dates = sorted(
        json.loads(p.read_text(encoding="utf-8"))["meta"]["updated"]
        for p in (tmp_path / "output" / "data").glob("*.json")
    )
    found = entries(read_feed(tmp_path / "output" / "feed.xml"))
    assert [text_of(e, "updated")[:10] for e in found] == dates[::-1][:5]
    assert len(article_ids(read_page(tmp_path / "output" / "site" / "index.html"))) == 12


def test_cold_build_lists_every_paper_with_its_summary(project: Project) -> None:
    assert project.run("build") == 0
    index = read_page(project.output / "site" / "index.html")
    assert article_ids(index) == IDS  # README order: by date
    assert_no_other_host(index)
    for paper_id in IDS:
        summary = state(project, paper_id)["summary"]
        assert summary["abstract"] in index.text
        assert all(
            b["heading"] in index.text and b["text"] in index.text for b in summary["bullets"]
        )
        links = {e.attrs["href"] for e in index.tags("a")}
        assert {f"https://arxiv.org/abs/{paper_id}", f"papers/{paper_id}.html"} <= links
        page = read_page(project.output / "site" / "papers" / f"{paper_id}.html")
        assert summary["detail"][0]["text"] in page.text
        assert "模型：fake-model（127.0.0.1:" in page.text
        assert f"生成时间：{state(project, paper_id)['generated_at']}" in page.text
    feed = read_feed(project.output / "feed.xml")
    assert [text_of(e, "updated") for e in entries(feed)] == [GENERATED] * 3
    assert text_of(feed, "updated") == GENERATED
    links = [e.find("{http://www.w3.org/2005/Atom}link").get("href") for e in entries(feed)]
    assert all(re.fullmatch(r"https://arxiv\.org/abs/\d{4}\.\d{5}v\d", link) for link in links)


def test_the_search_script_is_the_one_the_policy_allows(project: Project) -> None:
    """Without this the browser would refuse the inline script and the search would be dead."""
    assert project.run("build") == 0
    html = (project.output / "site" / "index.html").read_text(encoding="utf-8")
    [script] = re.findall(r"<script>(.*?)</script>", html, flags=re.S)
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    [policy] = re.findall(r'http-equiv="Content-Security-Policy" content="([^"]*)"', html)
    assert f"script-src 'sha256-{digest}';" in policy and "default-src 'none'" in policy


def test_rendering_twice_is_byte_identical(project: Project) -> None:
    assert project.run("build") == 0
    first = site_files(project.output)
    shutil.rmtree(project.output / "site")
    (project.output / "feed.xml").unlink()
    assert project.run("build", "--offline") == 0
    assert site_files(project.output) == first


def test_a_long_list_gets_short_cards_and_a_search_index(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past INDEX_LIMIT (thousands of papers; a small limit here) each card is short and the
    abstracts and bullets go to site/search.json, which the search script loads; back under
    the limit, the whole cards return and search.json is removed."""
    assert project.run("build") == 0
    whole = (project.output / "site" / "index.html").read_text(encoding="utf-8")
    monkeypatch.setattr(site, "INDEX_LIMIT", len(whole.encode()) - 1)
    assert project.run("build", "--offline") == 0
    html = (project.output / "site" / "index.html").read_text(encoding="utf-8")
    index = read_page(project.output / "site" / "index.html")
    assert article_ids(index) == IDS and len(html) < len(whole)
    assert_no_other_host(index)
    search_index = json.loads((project.output / "site" / "search.json").read_text("utf-8"))
    assert list(search_index) == IDS
    for paper_id in IDS:
        summary = state(project, paper_id)["summary"]
        card = article_text(html, paper_id)
        assert summary["abstract"] not in card and 'class="abstract"' not in card
        assert (
            f"papers/{paper_id}.html" in card and state(project, paper_id)["meta"]["title"] in card
        )
        bullets = [f"{b['heading']}：{b['text']}" for b in summary["bullets"]]
        assert search_index[paper_id] == "\n".join([summary["abstract"], *bullets])
    [script] = re.findall(r"<script>(.*?)</script>", html, flags=re.S)
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    [policy] = re.findall(r'http-equiv="Content-Security-Policy" content="([^"]*)"', html)
    assert f"script-src 'sha256-{digest}'; connect-src 'self';" in policy
    assert 'data-search-index="search.json"' in html

    monkeypatch.setattr(site, "INDEX_LIMIT", 2_000_000)
    assert project.run("build", "--offline") == 0
    assert (project.output / "site" / "index.html").read_text(encoding="utf-8") == whole
    assert not (project.output / "site" / "search.json").exists()


def test_a_warm_build_rewrites_no_site_file(project: Project) -> None:
    assert project.run("build") == 0
    paths = [project.output / rel for rel in site_files(project.output)]
    before = {p: (p.stat().st_ino, p.stat().st_mtime_ns) for p in paths}
    assert project.run("build") == 0
    assert project.run("build", "--offline") == 0
    assert {p: (p.stat().st_ino, p.stat().st_mtime_ns) for p in paths} == before


def test_site_disabled_writes_neither_site_nor_feed(project: Project) -> None:
    add_site_section(project, "enabled = false")
    assert project.run("build") == 0
    assert (project.output / "README.md").is_file()
    assert not (project.output / "site").exists() and not (project.output / "feed.xml").exists()


def test_base_url_makes_the_feed_links_absolute(project: Project) -> None:
    add_site_section(project, 'base_url = "https://someone.github.io/papers/"')
    assert project.run("build") == 0
    feed = read_feed(project.output / "feed.xml")
    assert text_of(feed, "id") == "https://someone.github.io/papers/"
    links = {(x.get("rel"), x.get("href")) for x in feed.findall("{*}link")}
    assert ("self", "https://someone.github.io/papers/feed.xml") in links
    entry = entries(feed)[0]
    paper_id = text_of(entry, "id").rsplit("/", 1)[1]
    links = {(x.get("rel"), x.get("href")) for x in entry.findall("{*}link")}
    assert links == {
        ("alternate", f"https://someone.github.io/papers/papers/{paper_id}.html"),
        (
            "related",
            f"https://arxiv.org/abs/{paper_id}v{state(project, paper_id)['meta']['version']}",
        ),
    }
    assert "someone.github.io" not in (project.output / "site" / "index.html").read_text("utf-8")


def test_a_removed_paper_loses_its_page_and_entry(project: Project) -> None:
    assert project.run("build") == 0
    kept = [p for p in PAPERS if p[0] != "2401.06066"]
    project.write_config(config_text(project.arxiv.api_url, project.llm.base_url, papers=kept))
    assert project.run("build") == 0
    assert not (project.output / "site" / "papers" / "2401.06066.html").exists()
    assert article_ids(read_page(project.output / "site" / "index.html")) == [
        "2401.02954",
        "2405.04434",
    ]
    assert len(entries(read_feed(project.output / "feed.xml"))) == 2


def article_text(index_html: str, paper_id: str) -> str:
    return index_html.split(f'data-id="{paper_id}"')[1].split("</article>")[0]


def test_pending_and_failed_papers_show_why_and_have_no_page(project: Project) -> None:
    def respond(body: dict[str, Any]) -> tuple[int, Any]:
        status, answer = project.llm.default(body)
        if "DeepSeekMoE" in body["messages"][1]["content"]:
            answer["bullets"] = answer["bullets"][:2]  # breaks the contract twice: fails
        return status, answer

    project.llm.responder = respond
    assert project.run("build", "--only", "2401.06066", "2405.04434") == 1
    html = (project.output / "site" / "index.html").read_text(encoding="utf-8")
    # README order: by date; the pending paper has none yet, so it comes last
    order = ["2401.06066", "2405.04434", "2401.02954"]
    assert article_ids(read_page(project.output / "site" / "index.html")) == order
    failed, pending = article_text(html, "2401.06066"), article_text(html, "2401.02954")
    assert "⚠️ 摘要生成失败：model answer unusable after one repair" in failed
    assert "⏳ 摘要待生成" in pending
    for text in (failed, pending):
        assert "papers/" not in text and 'class="abstract"' not in text
    assert "papers/2405.04434.html" in article_text(html, "2405.04434")
    assert sorted(p.name for p in (project.output / "site" / "papers").iterdir()) == [
        "2405.04434.html"
    ]
    assert [text_of(e, "id") for e in entries(read_feed(project.output / "feed.xml"))] == [
        "https://arxiv.org/abs/2405.04434"
    ]


NOTE = (
    "## 我的笔记\n\n人工补充 <script>alert(1)</script> [点击](javascript:alert(1)) "
    "**重点** [原文](https://arxiv.org/abs/2405.04434v5) &lt;b&gt; \\*星号\\*\n\n"
    "* 第一条\n* 第二条\n"
)


def test_a_hand_edited_detail_file_is_what_its_page_shows(project: Project) -> None:
    assert project.run("build") == 0
    detail = project.output / state(project, "2405.04434")["detail_file"]
    detail.write_text(detail.read_text(encoding="utf-8") + "\n" + NOTE, encoding="utf-8")
    assert project.run("build") == 0
    html = (project.output / "site" / "papers" / "2405.04434.html").read_text(encoding="utf-8")
    page = read_page(project.output / "site" / "papers" / "2405.04434.html")
    assert "此页显示人工修改过的 deepseek-paper/03-DeepSeek-V2.2405.04434v5.md" in page.text
    assert (
        "人工补充 <script>alert(1)</script> [点击](javascript:alert(1)) 重点 原文 <b> *星号*"
        in (" ".join(page.text.split()))
    )
    assert "<strong>重点</strong>" in html and "<li>第二条</li>" in html
    assert page.tags("script") == [] and page.tags("b") == []
    assert {e.attrs["href"] for e in page.tags("a") if "arxiv" in e.attrs["href"]} == {
        "http://arxiv.org/abs/2405.04434v5",  # the generated file's own link, kept
        "https://arxiv.org/abs/2405.04434v5",
    }
    assert "javascript" not in " ".join(page.urls())
    assert "模型：fake-model" in page.text  # the provenance stays
    assert_no_other_host(page)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('enabled = "yes"', "site.enabled must be true or false, got 'yes'"),
        (
            'base_url = "javascript:alert(1)"',
            "site.base_url 'javascript:alert(1)' must be an http(s) URL such as "
            "https://USER.github.io/REPO, or empty",
        ),
        ("baseurl = 'x'", "[site]: unknown key 'baseurl' (did you mean 'base_url'?)"),
        ("feed_entries = 0", "site.feed_entries must be at least 1, got 0"),
        ("feed_entries = 2.5", "site.feed_entries must be a whole number, got 2.5"),
        ('feed_entries = "50"', "site.feed_entries must be a number, got '50'"),
    ],
)
def test_bad_site_config(
    project: Project, capsys: pytest.CaptureFixture[str], body: str, message: str
) -> None:
    add_site_section(project, body)
    fails_with(project, capsys, f"error: {project.config}: {message}")


@pytest.mark.parametrize(
    ("markdown", "html"),
    [
        ("# T <i>x</i>\n", "<h1>T &lt;i&gt;x&lt;/i&gt;</h1>\n"),
        (
            "a **b** `<c>`\nd\n\ne",
            "<p>a <strong>b</strong> <code>&lt;c&gt;</code>\nd</p>\n<p>e</p>\n",
        ),
        ("* [x](javascript:alert(1))", "<ul>\n<li>[x](javascript:alert(1))</li>\n</ul>\n"),
        ("[x](https://arxiv.org/abs/1)", '<p><a href="https://arxiv.org/abs/1">x</a></p>\n'),
        ('[x](https://arxiv.org/a"b)', "<p>[x](https://arxiv.org/a&quot;b)</p>\n"),
        ("[x](https://evil.example/arxiv.org/)", "<p>[x](https://evil.example/arxiv.org/)</p>\n"),
        ("&lt;script&gt; \\| &amp;", "<p>&lt;script&gt; | &amp;</p>\n"),
        (
            "<img src=x onerror=alert(1)></div>",
            "<p>&lt;img src=x onerror=alert(1)&gt;&lt;/div&gt;</p>\n",
        ),
    ],
)
def test_hand_edited_markdown_becomes_inert_html(markdown: str, html: str) -> None:
    assert mdhtml.to_html(markdown) == html


def test_a_hostile_answer_and_title_are_text_in_the_html(project: Project) -> None:
    """The same as the browser test, read from the files (runs where no browser is)."""
    only_paper(project, HOSTILE_TITLE, paper_pdf("EvilNet", "EvilNet"), HOSTILE_AUTHORS)
    answer = hostile_but_valid()
    answer["abstract"] += " </div></article><javascript:alert(1)> 结尾。"
    body = completion(answer, "evil<script>alert(4)</script>")
    project.llm.add_fault("llm", Fault(200, body, content_type="application/json"))
    warm_text_cache(project)
    assert project.run("build") == 0
    index = read_page(project.output / "site" / "index.html")
    page = read_page(project.output / "site" / "papers" / "2402.00001.html")
    for html, scripts in ((index, 1), (page, 0)):
        assert len(html.tags("script")) == scripts and html.tags("img") == []
        assert html.tags("b") == [] and html.tags("div") == []
        assert (
            "<script>alert(1)</script>" in html.text and "<img src=x onerror=alert(1)>" in html.text
        )
        assert "javascript" not in " ".join(html.urls())
        assert_no_other_host(html)
    assert "</div></article><javascript:alert(1)> 结尾。" in index.text
    assert "模型：evil<script>alert(4)</script>" in page.text
    entry = entries(read_feed(project.output / "feed.xml"))[0]
    assert text_of(entry, "content") == " ".join(answer["abstract"].split())

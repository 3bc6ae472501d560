"""The site in a real browser: Debian's headless Chromium driven by selenium, pages from disk.

Skips, saying why, where selenium, /usr/bin/chromium or /usr/bin/chromedriver is missing
(.ci/run installs the browser where apt-get is available). Every wait is a WebDriverWait on a
condition with a generous timeout; nothing sleeps. With SITE_SCREENSHOTS=/some/folder the tests
also save what the browser showed there (index, a search in progress, a paper page).
"""

from __future__ import annotations

import json
import os
import re
import threading
import tomllib
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from pipeline.publish import site
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
from tests.support.project import Project
from tests.support.sitehtml import ROOT, build_the_twelve

try:
    from selenium import webdriver
    from selenium.common.exceptions import NoAlertPresentException, TimeoutException
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import Select, WebDriverWait
except ImportError:  # pragma: no cover - the skip below says so
    webdriver = None

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
WAIT = 30  # seconds: generous, a busy machine must never fail a test
FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--window-size=1200,1400",
)


def _missing() -> str:
    if webdriver is None:
        return "selenium is not installed (pip install -e '.[test]')"
    for path, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not path.exists():
            return f"no {path}: a real browser is needed (apt-get install {package})"
    return ""


pytestmark = pytest.mark.skipif(bool(_missing()), reason=_missing() or "browser present")


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    try:
        driver.get("about:blank")  # leave the new-tab page before any test reads the log
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="module")
def twelve(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project's twelve papers built offline from their committed state."""
    return build_the_twelve(tmp_path_factory.mktemp("twelve"))


def open_page(driver: Any, path: Path) -> None:
    driver.get_log("performance")  # drop what earlier pages requested
    driver.get(path.as_uri())
    WebDriverWait(driver, WAIT).until(
        lambda d: d.execute_script("return document.readyState") == "complete"
    )


def visible(driver: Any) -> list[str]:
    papers = driver.find_elements(By.CSS_SELECTOR, "article.paper")
    return [p.get_attribute("data-id") for p in papers if p.is_displayed()]


def wait_until_visible(driver: Any, expected: list[str]) -> None:
    seen: list[str] = []

    def shows_expected(d: Any) -> bool:
        seen[:] = visible(d)
        return seen == expected

    try:
        WebDriverWait(driver, WAIT).until(shows_expected)
    except TimeoutException:
        pytest.fail(f"visible papers {seen}, expected {expected}")


def count_text(driver: Any) -> str:
    return driver.find_element(By.ID, "count").text


def search(driver: Any, query: str) -> None:
    """Replace the query as a person does: select all, then type (or delete)."""
    box = driver.find_element(By.ID, "q")
    box.send_keys(Keys.CONTROL, "a")
    box.send_keys(query or Keys.BACKSPACE)


def screenshot(driver: Any, name: str) -> None:
    folder = os.environ.get("SITE_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(Path(folder) / name))


def requested_urls(driver: Any) -> list[str]:
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    return urls


def assert_nothing_from_another_host(driver: Any) -> None:
    urls = requested_urls(driver)
    assert driver.current_url in urls  # the log works: the page itself was requested
    # file: the site itself; chrome:, data:, about:, blob: never leave the machine
    local = ("file:", "chrome:", "chrome-extension:", "data:", "about:", "blob:")
    assert [url for url in urls if not url.startswith(local)] == []
    loaded = driver.execute_script(
        "return Array.from(document.querySelectorAll("
        "'script[src], img, iframe, object, embed, video, audio, source, base'))"
        ".map(e => e.outerHTML)"
    )
    assert loaded == []
    links = driver.execute_script(
        "return Array.from(document.querySelectorAll('link')).map(e => e.getAttribute('href'))"
    )
    assert all(":" not in href for href in links), links


# -- the twelve papers --------------------------------------------------------------------------


def _papers(output: Path) -> list[dict[str, Any]]:
    """Each paper of the twelve, in index order, with what the search looks at."""
    config = tomllib.loads((ROOT / "config.toml").read_text(encoding="utf-8"))
    marks = {p["id"]: p.get("mark", "") for p in config["papers"]}
    papers = []
    for path in (output / "data").glob("*.json"):
        state = json.loads(path.read_text(encoding="utf-8"))
        meta, summary = state["meta"], state["summary"]
        bullets = [f"{b['heading']} {b['text']}" for b in summary["bullets"]]
        project = next(p["project"] for p in config["papers"] if p["id"] == state["id"])
        papers.append(
            {
                "id": state["id"],
                "updated": meta["updated"],
                "text": "\n".join([project, meta["title"], summary["abstract"], *bullets]).lower(),
                "flagged": "❓" in marks[state["id"]] or bool(state.get("unsupported_terms")),
            }
        )
    return sorted(papers, key=lambda p: (p["updated"], p["id"]))


def test_typing_filters_the_twelve_as_one_types(browser: Any, twelve: Path) -> None:
    papers = _papers(twelve)
    everyone = [p["id"] for p in papers]
    open_page(browser, twelve / "site" / "index.html")
    assert_nothing_from_another_host(browser)
    assert browser.find_element(By.ID, "filters").is_displayed()
    wait_until_visible(browser, everyone)
    assert count_text(browser) == "显示 12 / 12 篇"
    screenshot(browser, "index.png")

    search(browser, "Janus-Pro")
    wait_until_visible(browser, ["2501.17811"])
    assert count_text(browser) == "显示 1 / 12 篇"

    search(browser, "JANUS-pro")  # Latin letters: case does not matter
    wait_until_visible(browser, ["2501.17811"])

    search(browser, "多模态")  # Chinese, inside the abstracts and bullets
    expected = [p["id"] for p in papers if "多模态" in p["text"]]
    assert 1 < len(expected) < 12
    wait_until_visible(browser, expected)
    assert count_text(browser) == f"显示 {len(expected)} / 12 篇"
    screenshot(browser, "search.png")

    search(browser, "deepseek 数学")  # every word, anywhere in the paper's text
    expected = [p["id"] for p in papers if "deepseek" in p["text"] and "数学" in p["text"]]
    assert expected
    wait_until_visible(browser, expected)

    search(browser, "不存在的词xyz")
    wait_until_visible(browser, [])
    assert count_text(browser) == "显示 0 / 12 篇"
    search(browser, "")
    wait_until_visible(browser, everyone)


def test_flag_and_year_filters(browser: Any, twelve: Path) -> None:
    papers = _papers(twelve)
    open_page(browser, twelve / "site" / "index.html")
    flagged = [p["id"] for p in papers if p["flagged"]]
    assert 0 < len(flagged) < 12

    browser.find_element(By.ID, "flagged").click()
    wait_until_visible(browser, flagged)
    assert count_text(browser) == f"显示 {len(flagged)} / 12 篇"

    year = Select(browser.find_element(By.ID, "year"))
    year.select_by_value("2025")
    both = [p["id"] for p in papers if p["flagged"] and p["updated"].startswith("2025")]
    wait_until_visible(browser, both)

    browser.find_element(By.ID, "flagged").click()
    in_2025 = [p["id"] for p in papers if p["updated"].startswith("2025")]
    assert 0 < len(in_2025) < 12
    wait_until_visible(browser, in_2025)

    search(browser, "Janus-Pro")
    wait_until_visible(browser, ["2501.17811"])
    year.select_by_value("2024")
    wait_until_visible(browser, [])


def test_without_javascript_every_paper_is_listed(browser: Any, twelve: Path) -> None:
    browser.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": True})
    try:
        open_page(browser, twelve / "site" / "index.html")
        wait_until_visible(browser, [p["id"] for p in _papers(twelve)])
        assert not browser.find_element(By.ID, "filters").is_displayed()  # no dead controls
        assert count_text(browser) == "共 12 篇"
    finally:
        browser.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": False})


def test_a_paper_page(browser: Any, twelve: Path) -> None:
    open_page(browser, twelve / "site" / "index.html")
    link = browser.find_element(By.CSS_SELECTOR, 'article[data-id="2501.17811"] a[href^="papers/"]')
    link.click()
    WebDriverWait(browser, WAIT).until(lambda d: d.current_url.endswith("papers/2501.17811.html"))
    assert_nothing_from_another_host(browser)
    body = browser.find_element(By.TAG_NAME, "body").text
    assert "Janus-Pro: Unified Multimodal Understanding" in body
    assert "来源：人工撰写（导入自已有列表）" in body
    screenshot(browser, "paper.png")


# -- untrusted text stays text -------------------------------------------------------------------

EXTRA = " </div></article></main><javascript:alert(1)> 结尾仍在同一段落。"


def test_hostile_answer_is_text_in_the_browser(browser: Any, project: Project) -> None:
    only_paper(project, HOSTILE_TITLE, paper_pdf("EvilNet", "EvilNet"), HOSTILE_AUTHORS)
    answer = hostile_but_valid()
    answer["abstract"] += EXTRA
    body = completion(answer, "evil<script>alert(4)</script>")
    project.llm.add_fault("llm", Fault(200, body, content_type="application/json"))
    warm_text_cache(project)
    assert project.run("build") == 0
    detail = next((project.output / "deepseek-paper").glob("*.md"))
    edited = "\n## 笔记\n\n[点击](javascript:alert(1)) <script>alert(5)</script> <img src=x>\n"
    detail.write_text(detail.read_text(encoding="utf-8") + edited, encoding="utf-8")
    assert project.run("build") == 0

    index = project.output / "site" / "index.html"
    for page, scripts in ((index, 1), (project.output / "site" / "papers" / "2402.00001.html", 0)):
        open_page(browser, page)
        with pytest.raises(NoAlertPresentException):
            browser.switch_to.alert.text  # noqa: B018 - reading it is what raises
        assert len(browser.find_elements(By.TAG_NAME, "script")) == scripts
        assert browser.find_elements(By.TAG_NAME, "img") == []
        assert browser.find_elements(By.TAG_NAME, "b") == []
        hrefs = [a.get_attribute("href") for a in browser.find_elements(By.TAG_NAME, "a")]
        assert all(
            h.startswith(("file://", "http://arxiv.org/", "https://arxiv.org/")) for h in hrefs
        )
        body = browser.find_element(By.TAG_NAME, "body").text
        assert "<script>alert(1)</script>" in body and "<img src=x onerror=alert(1)>" in body
        assert_nothing_from_another_host(browser)
    assert "[点击](javascript:alert(1)) <script>alert(5)</script> <img src=x>" in body

    open_page(browser, index)
    assert len(browser.find_elements(By.CSS_SELECTOR, "article.paper")) == 1
    abstract = browser.find_element(By.CSS_SELECTOR, "article.paper .abstract").text
    assert abstract.endswith("</div></article></main><javascript:alert(1)> 结尾仍在同一段落。")
    search(browser, "onerror=alert")  # the search still works, over the literal text
    wait_until_visible(browser, ["2402.00001"])


# -- key figures ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def with_figures(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Twelve papers with figures built against the fake arXiv and model
    (tests/support/figgen.py)."""
    from tests.support.fakes import FakeArxiv, FakeLLM
    from tests.support.figgen import fake_twelve, twelve_config

    folder = tmp_path_factory.mktemp("figures")
    with pytest.MonkeyPatch.context() as mp, FakeArxiv(fake_twelve()) as arxiv, FakeLLM() as llm:
        mp.setenv("TEST_LLM_KEY", "sk-test-0123456789abcdef")
        mp.setenv("SOURCE_DATE_EPOCH", "1767225600")
        mp.chdir(folder)
        project = Project(folder, arxiv, llm)
        project.write_config(twelve_config(arxiv.api_url, llm.base_url))
        assert project.run("build", "-q") == 0
        yield project.output


def loaded_images(driver: Any) -> list[dict[str, Any]]:
    """Every image of the page scrolled into view (they load lazily), once each has loaded."""
    images = driver.find_elements(By.TAG_NAME, "img")
    for image in images:
        driver.execute_script("arguments[0].scrollIntoView()", image)
        WebDriverWait(driver, WAIT).until(
            lambda d, img=image: d.execute_script("return arguments[0].complete", img)
        )
    return driver.execute_script(
        "return Array.from(document.images).map(i => ({src: i.currentSrc, "
        "width: i.naturalWidth, alt: i.alt, cls: i.className, lazy: i.loading}))"
    )


def test_index_cards_show_thumbnails_from_the_site(browser: Any, with_figures: Path) -> None:
    site = with_figures / "site"
    open_page(browser, site / "index.html")
    images = loaded_images(browser)
    assert len(images) == 10  # twelve papers, two without figures
    assert all(i["cls"] == "thumb" and i["lazy"] == "lazy" for i in images)
    assert all(i["src"].startswith((site / "figures").as_uri() + "/") for i in images)
    assert all(i["width"] > 0 for i in images), images  # none broken, the CSP lets them in
    assert all(i["alt"].startswith("Figure ") for i in images)
    local = ("file:", "chrome:", "chrome-extension:", "data:", "about:", "blob:")
    assert [url for url in requested_urls(browser) if not url.startswith(local)] == []
    screenshot(browser, "index-figures.png")


def test_a_paper_page_shows_its_figure_and_caption(browser: Any, with_figures: Path) -> None:
    open_page(browser, with_figures / "site" / "papers" / "2501.12948.html")
    (image,) = loaded_images(browser)
    assert image["src"] == (with_figures / "site" / "figures" / "2501.12948v1-fig2.png").as_uri()
    assert abs(image["width"] - 1200) <= 2
    caption = browser.find_element(By.CSS_SELECTOR, "figure.key-figure figcaption").text
    assert caption == "Figure 2: Results of DeepSeek-R1 against the baseline."
    screenshot(browser, "paper-figure.png")


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - silence
        pass


def _only_in_summary(papers: list[dict[str, Any]], output: Path) -> tuple[str, str]:
    """A word of one paper's abstract or bullets found in no title, project or other paper."""
    index = json.loads((output / "site" / "search.json").read_text(encoding="utf-8"))
    for paper in papers:
        for word in re.findall(r"[A-Za-z][A-Za-z-]{5,}", index[paper["id"]]):
            w = word.lower()
            shown = "\n".join(paper["text"].split("\n")[:2])  # the project and the title
            if w not in shown and sum(w in p["text"] for p in papers) == 1:
                return word, paper["id"]
    raise AssertionError("no word found only in one summary")


def test_a_long_lists_search_loads_the_abstracts_as_one_types(
    browser: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Short cards (a small INDEX_LIMIT injected), served over HTTP as on GitHub Pages: typing
    a word that only a paper's abstract or bullets hold finds it once search.json is loaded."""
    monkeypatch.setattr(site, "INDEX_LIMIT", 1000)
    output = build_the_twelve(tmp_path)
    papers = _papers(output)
    word, paper_id = _only_in_summary(papers, output)
    handler = partial(_Quiet, directory=str(output / "site"))
    with ThreadingHTTPServer(("127.0.0.1", 0), handler) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            origin = f"http://127.0.0.1:{server.server_address[1]}"
            browser.get_log("performance")
            browser.get(f"{origin}/index.html")
            wait_until_visible(browser, [p["id"] for p in papers])
            search(browser, word)
            wait_until_visible(browser, [paper_id])
            urls = requested_urls(browser)
            assert f"{origin}/search.json" in urls
            assert [u for u in urls if not u.startswith((origin, "data:", "chrome:"))] == []
        finally:
            server.shutdown()

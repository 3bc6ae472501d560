"""Helpers for the site tests: read the generated HTML and Atom, and build the twelve papers."""

from __future__ import annotations

import re
import shutil
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

from pipeline.cli import main

ROOT = Path(__file__).resolve().parents[2]
ATOM = "{http://www.w3.org/2005/Atom}"
URL_ATTRS = ("href", "src", "srcset", "action", "formaction", "poster", "data", "background")


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]


class Page(HTMLParser):
    """Every element (tag and attributes) and the text of one HTML file."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[Element] = []
        self.texts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append(Element(tag, {k: v or "" for k, v in attrs}))

    def handle_data(self, data: str) -> None:
        self.texts.append(data)

    @property
    def text(self) -> str:
        return "".join(self.texts)

    def tags(self, tag: str) -> list[Element]:
        return [e for e in self.elements if e.tag == tag]

    def urls(self) -> list[str]:
        """Every URL-valued attribute in the page."""
        return [e.attrs[a] for e in self.elements for a in URL_ATTRS if a in e.attrs]


def read_page(path: Path) -> Page:
    page = Page()
    page.feed(path.read_text(encoding="utf-8"))
    page.close()
    return page


def article_ids(page: Page) -> list[str]:
    return [e.attrs["data-id"] for e in page.tags("article")]


def assert_no_other_host(page: Page) -> None:
    """Nothing is loaded from anywhere: no external script, style, image or frame; the only
    absolute links are plain <a> links to arXiv."""
    assert [e.attrs for e in page.tags("script") if "src" in e.attrs] == []
    for tag in ("img", "iframe", "object", "embed", "video", "audio", "source", "base", "frame"):
        assert page.tags(tag) == [], tag
    for link in page.tags("link"):
        assert link.attrs.get("rel") == "alternate" and ":" not in link.attrs["href"], link
    anchors = {e.attrs["href"] for e in page.tags("a")}
    for url in page.urls():
        if ":" in url.split("/")[0]:  # absolute: a scheme before the first "/"
            assert url in anchors and re.match(r"https?://arxiv\.org/abs/", url), url


def read_feed(path: Path) -> ET.Element:
    """The feed parsed, after checking what RFC 4287 requires of a feed and of each entry."""
    root = ET.fromstring(path.read_bytes())
    assert root.tag == f"{ATOM}feed"
    for tag in ("id", "title", "updated"):
        assert len(root.findall(f"{ATOM}{tag}")) == 1, tag
    feed_author = root.find(f"{ATOM}author/{ATOM}name") is not None
    for entry in root.findall(f"{ATOM}entry"):
        for tag in ("id", "title", "updated"):
            assert len(entry.findall(f"{ATOM}{tag}")) == 1, tag
        assert feed_author or entry.find(f"{ATOM}author/{ATOM}name") is not None
        assert entry.find(f"{ATOM}content") is not None or entry.find(f"{ATOM}link") is not None
    return root


def entries(root: ET.Element) -> list[ET.Element]:
    return root.findall(f"{ATOM}entry")


def text_of(entry: ET.Element, tag: str) -> str:
    return entry.findtext(f"{ATOM}{tag}") or ""


def build_the_twelve(folder: Path) -> Path:
    """The project's own list (config.toml and the committed state of its twelve papers) built
    offline into `folder` from the state alone: no README, detail file or site there before.
    Returns the output folder."""
    shutil.copy(ROOT / "config.toml", folder / "config.toml")
    shutil.copytree(ROOT / "output" / "data", folder / "output" / "data")
    assert main(["build", "--offline", "-q", "--config", str(folder / "config.toml")]) == 0
    return folder / "output"

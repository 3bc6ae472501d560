"""output/feed.xml: an Atom feed (RFC 4287) of the summaries, newest first, deterministic.

One entry per summarised paper, for the newest `[site] feed_entries` (default 50) summaries
only: feed readers expect the latest few dozen, not the whole list. An entry holds the Chinese
abstract as content (HTML with the key figure's image and caption when it has one), the three
bullets as summary, `updated` = when its summary was generated (an imported summary: the date
of the arXiv version it describes), so an entry changes only when its summary does. The feed's
own `updated` is the newest entry's. Links are absolute site links when `[site] base_url` is
set, else arXiv links.
"""

from __future__ import annotations

import html
import uuid
import xml.etree.ElementTree as ET
from datetime import UTC, datetime

from pipeline.config import Config
from pipeline.names import arxiv_abs, file_id
from pipeline.publish.mdsafe import plain
from pipeline.publish.row import Row

ATOM = "http://www.w3.org/2005/Atom"
EPOCH = "1970-01-01T00:00:00Z"
_XML_BAD = dict.fromkeys(map(ord, "\ufffe\uffff"))  # not allowed in XML 1.0 (controls: plain)


def _clean(text: str) -> str:
    return plain(str(text)).translate(_XML_BAD)


def _timestamp(row: Row) -> str:
    """When the summary was made, as an RFC 3339 UTC time."""
    generated = row.generated_at
    if generated and row.source != "human":
        try:
            when = datetime.fromisoformat(generated)
        except ValueError:
            when = None
        if when is not None:
            when = when.replace(tzinfo=when.tzinfo or UTC).astimezone(UTC)
            return when.strftime("%Y-%m-%dT%H:%M:%SZ")
    day = row.updated
    try:
        return datetime.strptime(day, "%Y-%m-%d").strftime("%Y-%m-%dT00:00:00Z")
    except ValueError:
        return EPOCH


def _add(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, f"{{{ATOM}}}{tag}", attrs)
    if text is not None:
        element.text = text
    return element


def _content(entry: ET.Element, row: Row, images: str) -> None:
    """The abstract as text; with a key figure, HTML: the abstract, the image, its caption."""
    figure = row.figure
    if figure is None:
        _add(entry, "content", _clean(row.abstract), type="text")
        return
    src = html.escape(f"{images}figures/{figure.file}")
    body = (
        f"<p>{html.escape(_clean(row.abstract))}</p>"
        f'<p><img src="{src}" alt="{html.escape(_clean(figure.alt))}"></p>'
        f"<p>{html.escape(_clean(figure.caption))}</p>"
    )
    _add(entry, "content", body, type="html")


def _entry(feed: ET.Element, row: Row, updated: str, base_url: str, images: str) -> None:
    arxiv = arxiv_abs(row.id)
    entry = _add(feed, "entry")
    _add(entry, "id", arxiv)
    _add(entry, "title", _clean(row.title))
    _add(entry, "updated", updated)
    if base_url:
        _add(
            entry,
            "link",
            rel="alternate",
            type="text/html",
            href=f"{base_url}/papers/{file_id(row.id)}.html",
        )
        _add(entry, "link", rel="related", href=f"{arxiv}v{row.version}")
    else:
        _add(entry, "link", rel="alternate", type="text/html", href=f"{arxiv}v{row.version}")
    for name in row.authors:
        _add(_add(entry, "author"), "name", _clean(name))
    if day := row.published:
        _add(entry, "published", f"{day}T00:00:00Z")
    bullets = "\n".join(_clean(f"{b.heading}：{b.text}") for b in row.bullets)
    _add(entry, "summary", bullets, type="text")
    _content(entry, row, images)


def feed_xml(config: Config, rows: list[Row], site_prefix: str = "") -> str:
    """The Atom document for the newest `[site] feed_entries` summaries, newest first. Figure
    images are linked under the site's base URL when it is set, else relative to the feed's own
    place (`site_prefix`: the site folder as seen from there, "" for the site's copy)."""
    base = config.site.base_url
    images = f"{base}/" if base else site_prefix
    dated = [(_timestamp(row), row) for row in rows if not row.no_summary]
    dated.sort(key=lambda pair: (pair[0], -pair[1].number), reverse=True)
    dated = dated[: config.site.feed_entries]
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed")
    _add(
        feed,
        "id",
        f"{base}/" if base else f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, config.title)}",
    )
    _add(feed, "title", _clean(config.title) or "Paper Reading")
    if config.intro:
        _add(feed, "subtitle", _clean(config.intro))
    _add(feed, "updated", dated[0][0] if dated else EPOCH)
    if base:
        _add(feed, "link", rel="self", type="application/atom+xml", href=f"{base}/feed.xml")
        _add(feed, "link", rel="alternate", type="text/html", href=f"{base}/")
    _add(_add(feed, "author"), "name", _clean(config.title) or "Paper Reading")
    _add(feed, "generator", "paper-reading pipeline")
    for updated, row in dated:
        _entry(feed, row, updated, base, images)
    ET.indent(feed)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(feed, encoding="unicode") + "\n"

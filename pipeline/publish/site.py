"""The static site: output/site/index.html (searchable) and one page per paper, plus the feed.

Rendered with jinja2 (autoescape on) from the same per-paper rows the README gets. Model and
arXiv text is untrusted: it only ever reaches the HTML escaped, and the only links taken from
data are the arXiv links the pipeline builds from a validated ID. Pages carry a Content Security
Policy that allows no script but the index's own (by hash) and nothing from another host.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any

import jinja2
from markupsafe import Markup

from pipeline.config import Config
from pipeline.names import FILE_ID, arxiv_abs, file_id
from pipeline.publish import feed, figures, mdhtml
from pipeline.publish.mdsafe import plain
from pipeline.publish.row import FLAG_MARK, Row
from pipeline.store import write_if_changed

SITE_DIR = "site"
PAGES_DIR = "papers"
_PAGE_NAME = re.compile(rf"{FILE_ID}\.html")
INDEX_LIMIT = 2_000_000  # bytes: past this the index shows each paper in short
SEARCH_INDEX = "search.json"  # a long list's abstracts and bullets, loaded as one types


@dataclass
class Published:
    """Site and feed files written or removed by one render (paths relative to output/)."""

    written: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)


def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("pipeline.publish", "templates/site"),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=True,  # every template here is HTML: untrusted text is escaped
    )
    env.filters.update(plain=plain, md=mdhtml.inline_markup)
    return env


def page_path(paper_id: str) -> str:
    """A paper's page, relative to the site folder."""
    return f"{PAGES_DIR}/{file_id(paper_id)}.html"


def _iso_date(yyyymmdd: str) -> str:
    d = yyyymmdd
    return f"{d[:4]}-{d[4:6]}-{d[6:]}" if len(d) == 8 else ""


def _card(row: Row) -> dict[str, Any]:
    """What the index shows of one paper."""
    return {
        "id": row.id,
        "number": row.number,
        "date": _iso_date(row.date),
        "year": row.date[:4],
        "project": row.project,
        "title": row.title,
        "mark": row.mark,
        "flagged": FLAG_MARK in row.mark,
        "no_summary": row.no_summary,
        "abstract": row.abstract,
        "bullets": row.bullets,
        "notes": row.notes,
        "arxiv": arxiv_abs(row.id),
        "page": "" if row.no_summary else page_path(row.id),
        "figure": row.figure,
    }


def script_hash(script: str) -> str:
    """The CSP source that allows exactly this inline script."""
    digest = hashlib.sha256(script.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


def index_files(config: Config, rows: list[Row], env: jinja2.Environment) -> dict[str, str]:
    """{path relative to output/: text}: index.html with every paper in full; or, when that
    would pass INDEX_LIMIT (thousands of papers), short cards (number, project, mark, title,
    date, links) and search.json, the abstracts and bullets the search loads as one types."""
    cards = [_card(row) for row in rows]
    whole = _index_html(config, cards, env, compact=False)
    if len(whole.encode("utf-8")) <= INDEX_LIMIT:
        return {f"{SITE_DIR}/index.html": whole}
    texts = {c["id"]: _search_text(c) for c in cards if not c["no_summary"]}
    return {
        f"{SITE_DIR}/index.html": _index_html(config, cards, env, compact=True),
        f"{SITE_DIR}/{SEARCH_INDEX}": json.dumps(texts, ensure_ascii=False, indent=0) + "\n",
    }


def _search_text(card: dict[str, Any]) -> str:
    bullets = [f"{b.heading}：{b.text}" for b in card["bullets"]]
    return "\n".join([card["abstract"], *bullets])


def _index_html(
    config: Config, cards: list[dict[str, Any]], env: jinja2.Environment, compact: bool
) -> str:
    script = env.loader.get_source(env, "search.js")[0]  # type: ignore[union-attr]
    years = sorted({c["year"] for c in cards if c["year"]}, reverse=True)
    return env.get_template("index.html.j2").render(
        title=config.title,
        intro=config.intro,
        papers=cards,
        years=years,
        flagged=sum(c["flagged"] for c in cards),
        script=Markup(script),
        script_src=Markup(script_hash(script)),
        compact=compact,
        search_index=SEARCH_INDEX,
    )


def _hand_edited_html(config: Config, row: Row) -> Markup | None:
    """The hand-edited detail file as safe HTML, or None when there is none (or it is gone)."""
    if not row.hand_edited:
        return None
    try:
        text = (config.output_dir / row.detail_path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    return mdhtml.to_html(text)


def paper_html(config: Config, row: Row, env: jinja2.Environment) -> str:
    return env.get_template("paper.html.j2").render(
        site_title=config.title,
        p=row,
        card=_card(row),
        arxiv_version=arxiv_abs(row.id, row.version),
        edited=_hand_edited_html(config, row),
    )


def site_files(config: Config, rows: list[Row]) -> dict[str, str]:
    """Every site and feed file (path relative to output/ -> text), in a stable order."""
    env = environment()
    files = index_files(config, rows, env)
    for row in rows:
        if not row.no_summary:
            files[f"{SITE_DIR}/{page_path(row.id)}"] = paper_html(config, row, env)
    files["feed.xml"] = feed.feed_xml(config, rows, f"{SITE_DIR}/")
    # served next to the site, where readers find it (its image links relative to it)
    files[f"{SITE_DIR}/feed.xml"] = feed.feed_xml(config, rows)
    return files


def publish(config: Config, rows: list[Row]) -> Published:
    """Write the site and the feed (unchanged files are not rewritten); drop removed papers'
    pages. With `[site] enabled = false` nothing is written."""
    done = Published()
    if not config.site.enabled:
        return done
    out = config.output_dir
    files = site_files(config, rows)
    for rel, text in files.items():
        if write_if_changed(out / rel, text):
            done.written.append(rel)
    written, removed = figures.copy_to_site(out, SITE_DIR, rows)
    done.written += written
    done.removed += removed
    pages = out / SITE_DIR / PAGES_DIR
    listed = sorted(pages.glob("*.html")) if pages.is_dir() else []
    stale = [p for p in listed if _PAGE_NAME.fullmatch(p.name)]
    for path in [*stale, out / SITE_DIR / SEARCH_INDEX]:
        rel = path.relative_to(out).as_posix()
        if rel not in files:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
                done.removed.append(rel)
    return done

"""Names the pipeline makes: a detail file's name (and its slug, taken from a project) and a
paper's arXiv page and PDF."""

from __future__ import annotations

import re
import unicodedata

SLUG_MAX_CHARS = 80
SLUG_MAX_BYTES = 200  # keeps "{NN}-{slug}.{ID}v{N}.md" under the usual 255-byte name limit
SLUG_FALLBACK = "paper"
_DETAIL_ID = re.compile(r"\.(\d{4}\.\d{4,5})v\d+\.md$")  # the ID in a detail file's name


def detail_name(number: int, slug: str, paper_id: str, version: int) -> str:
    """A detail file's name: {NN}-{slug}.{ID}v{N}.md (NN: the paper's number in the README)."""
    return f"{number:02d}-{slug}.{paper_id}v{version}.md"


def detail_id(name: str) -> str | None:
    """The arXiv ID in a detail file's name (or path), None when it has none."""
    return match.group(1) if (match := _DETAIL_ID.search(name)) else None


def arxiv_abs(paper_id: str, version: int | None = None, scheme: str = "https") -> str:
    """A paper's arXiv page (the ID is validated by the config: digits and a dot). The markdown
    files keep the reference list's http:// links; the site and the feed use https://."""
    return f"{scheme}://arxiv.org/abs/{paper_id}" + (f"v{version}" if version else "")


def arxiv_pdf(paper_id: str, version: int) -> str:
    """A paper version's PDF on arXiv."""
    return f"https://arxiv.org/pdf/{paper_id}v{version}"


def _slug_char(ch: str) -> bool:
    return ch.isalnum() or ch in "-_."


def slug_ok(slug: str) -> bool:
    """True if the slug is safe as part of a file name (no separators, dot-files or "..")."""
    return (
        0 < len(slug) <= SLUG_MAX_CHARS
        and all(_slug_char(ch) for ch in slug)
        and not slug.startswith(".")
        and ".." not in slug
        and len(slug.encode("utf-8")) <= SLUG_MAX_BYTES
    )


def _trim_slug(slug: str) -> str:
    return slug.strip("-.")


def default_slug(project: str) -> str:
    """A slug from a project name: "DeepSeek V2" -> "DeepSeek-V2"; "paper" if nothing is left."""
    text = "-".join(unicodedata.normalize("NFKC", project).split())
    text = "".join(ch for ch in text if _slug_char(ch))
    text = re.sub(r"\.{2,}", ".", re.sub(r"-{2,}", "-", text))
    text = _trim_slug(text)[:SLUG_MAX_CHARS]
    while len(text.encode("utf-8")) > SLUG_MAX_BYTES:
        text = text[:-1]
    text = _trim_slug(text)
    return text if slug_ok(text) else SLUG_FALLBACK

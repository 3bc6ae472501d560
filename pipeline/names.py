"""Names the pipeline makes: a detail file's name (and its slug, taken from a project) and a
paper's arXiv page and PDF."""

from __future__ import annotations

import re
import unicodedata

SLUG_MAX_CHARS = 80
SLUG_MAX_BYTES = 200  # keeps "{NN}-{slug}.{ID}v{N}.md" under the usual 255-byte name limit
SLUG_FALLBACK = "paper"
NEW_ID = r"\d{2}(?:0[1-9]|1[0-2])\.\d{4,5}"  # 2405.04434: YYMM.NNNN(N), from 2007 on
OLD_ID = r"[a-z]+(?:-[a-z]+)*(?:\.[A-Z]{2})?/\d{2}(?:0[1-9]|1[0-2])\d{3}"  # hep-th/9901001
ARXIV_ID = f"(?:{NEW_ID}|{OLD_ID})"  # a base ID, no version
FILE_ID = ARXIV_ID.replace("/", "_")  # the same as a file name part (see `file_id`)
_DETAIL_ID = re.compile(rf"\.({FILE_ID})v\d+\.md$")  # the ID in a detail file's name


def file_id(paper_id: str) -> str:
    """An ID as part of a file name: an old-style ID's "/" becomes "_" (hep-th_9901001)."""
    return paper_id.replace("/", "_")


def id_of_file(part: str) -> str:
    """The ID a file name part stands for (archive names have no "_")."""
    return part.replace("_", "/", 1)


def detail_name(number: int, slug: str, paper_id: str, version: int) -> str:
    """A detail file's name: {NN}-{slug}.{ID}v{N}.md (NN: the paper's number in the README)."""
    return f"{number:02d}-{slug}.{file_id(paper_id)}v{version}.md"


def detail_id(name: str) -> str | None:
    """The arXiv ID in a detail file's name (or path), None when it has none."""
    return id_of_file(match.group(1)) if (match := _DETAIL_ID.search(name)) else None


def arxiv_abs(paper_id: str, version: int | None = None, scheme: str = "https") -> str:
    """A paper's arXiv page (the ID is validated by the config: new- or old-style). The markdown
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

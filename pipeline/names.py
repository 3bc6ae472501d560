"""File names the pipeline makes: the slug part of a detail file's name, taken from a project."""

from __future__ import annotations

import re
import unicodedata

SLUG_MAX_CHARS = 80
SLUG_MAX_BYTES = 200  # keeps "{NN}-{slug}.{ID}v{N}.md" under the usual 255-byte name limit
SLUG_FALLBACK = "paper"


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

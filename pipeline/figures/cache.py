"""The figure cache, by PDF hash like the extracted text: `{sha256}.figures.json` (the figures
found) and `{sha256}-fig{K}-v{FINDER_VERSION}.png|webp` (a rendered crop) in the cache folder.

The JSON records `FINDER_VERSION`, the image names carry it: a cache written by another version
of the finder or the crop settings is made again rather than trusted (bump it when either
changes what they produce). The cache is safe to delete.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from pipeline.figures.find import Figure
from pipeline.store import atomic_write

log = logging.getLogger(__name__)

FINDER_VERSION = 2
EXTENSIONS = ("png", "webp")


def dumps(figures: list[Figure]) -> str:
    """The cache file's text for `figures` (deterministic)."""
    record = {"finder": FINDER_VERSION, "figures": [f.to_dict() for f in figures]}
    return json.dumps(record, ensure_ascii=False, indent=1, sort_keys=True) + "\n"


def loads(text: str) -> list[Figure] | None:
    """The figures in a cache file's text; None when it is unreadable or from another finder."""
    try:
        record = json.loads(text)
        if record.get("finder") != FINDER_VERSION:
            return None
        return [Figure.from_dict(item) for item in record["figures"]]
    except (ValueError, TypeError, KeyError, AttributeError):
        return None


def figures_path(cache_dir: Path, pdf_sha256: str) -> Path:
    return cache_dir / f"{pdf_sha256}.figures.json"


def read_figures(cache_dir: Path, pdf_sha256: str) -> list[Figure] | None:
    """The cached figures of the PDF with this hash, or None when not cached (or unreadable)."""
    path = figures_path(cache_dir, pdf_sha256)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        log.warning("%s: unreadable figure cache, finding again (%s)", path, exc)
        return None
    return loads(text)


def write_figures(cache_dir: Path, pdf_sha256: str, figures: list[Figure]) -> None:
    """Cache the figures found; a cache that cannot be written is a warning, not an error."""
    path = figures_path(cache_dir, pdf_sha256)
    try:
        atomic_write(path, dumps(figures))
    except OSError as exc:
        log.warning("%s: cannot write figure cache (%s)", path, exc)


def image_path(cache_dir: Path, pdf_sha256: str, number: int, extension: str) -> Path:
    return cache_dir / f"{pdf_sha256}-fig{number}-v{FINDER_VERSION}.{extension}"


def read_image(cache_dir: Path, pdf_sha256: str, number: int) -> tuple[bytes, str] | None:
    """A cached crop of figure `number`: (bytes, extension), or None."""
    for extension in EXTENSIONS:
        try:
            return image_path(cache_dir, pdf_sha256, number, extension).read_bytes(), extension
        except FileNotFoundError:
            continue
        except OSError as exc:
            log.warning("unreadable figure image cache, rendering again (%s)", exc)
    return None


def write_image(cache_dir: Path, pdf_sha256: str, number: int, image: tuple[bytes, str]) -> None:
    data, extension = image
    path = image_path(cache_dir, pdf_sha256, number, extension)
    try:
        atomic_write(path, data)
    except OSError as exc:
        log.warning("%s: cannot write figure image cache (%s)", path, exc)

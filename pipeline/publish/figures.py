"""The key figure in the published files: which one a paper shows, the copies the site serves,
and the removal of images no paper shows any more (a new version, another choice, `figure =
false`, a paper dropped from the list)."""

from __future__ import annotations

import contextlib
from pathlib import Path

from pipeline.config import PaperConfig
from pipeline.figures.keyfig import FIGURES_DIR, FILE_NAME
from pipeline.publish.row import FigureView, Row
from pipeline.state import PaperState
from pipeline.store import atomic_write

ALT_CHARS = 120


def shown(output_dir: Path, paper: PaperConfig, state: PaperState) -> FigureView | None:
    """The paper's key figure as shown; None when it has none, the config turns it off, or
    the image is missing."""
    ref = state.figure
    if ref is None or paper.figure is False or not FILE_NAME.fullmatch(ref.file):
        return None
    if not ref.file.startswith(f"{state.id.replace('/', '_')}v{state.meta.version}-fig"):
        return None  # an image of another version: the next summary brings the right one
    if not (output_dir / FIGURES_DIR / ref.file).is_file():
        return None
    alt = ref.caption if len(ref.caption) <= ALT_CHARS else ref.caption[: ALT_CHARS - 1] + "…"
    return FigureView(ref.file, ref.caption, alt)


def _names(rows: list[Row]) -> set[str]:
    return {row.figure.file for row in rows if row.figure is not None}


def sweep(output_dir: Path, rows: list[Row], folder: str = FIGURES_DIR) -> list[str]:
    """Delete the images under `output_dir/folder` that no row shows; the paths removed."""
    keep = _names(rows)
    where = output_dir / folder
    removed = []
    for path in sorted(where.iterdir()) if where.is_dir() else []:
        if FILE_NAME.fullmatch(path.name) and path.name not in keep:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
                removed.append(f"{folder}/{path.name}")
    return removed


def copy_to_site(output_dir: Path, site_dir: str, rows: list[Row]) -> tuple[list[str], list[str]]:
    """Copy each shown image into the site (written only when it differs); (written, removed)."""
    written = []
    for name in sorted(_names(rows)):
        source, target = output_dir / FIGURES_DIR / name, output_dir / site_dir / FIGURES_DIR / name
        try:
            data = source.read_bytes()
            if target.is_file() and target.read_bytes() == data:
                continue
            atomic_write(target, data)
        except OSError:
            continue
        written.append(f"{site_dir}/{FIGURES_DIR}/{name}")
    return written, sweep(output_dir, rows, f"{site_dir}/{FIGURES_DIR}")

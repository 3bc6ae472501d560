"""What a worker process of the extraction pool runs for figures (picklable module functions)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pipeline.figures import cache
from pipeline.figures.crop import render_figure
from pipeline.figures.find import Figure, find_figures


def find_job(pdf_path: Path) -> str:
    """The figures of a PDF as the cache file's text."""
    return cache.dumps(find_figures(pdf_path))


def render_job(pdf_path: Path, figure: dict[str, Any]) -> tuple[bytes, str]:
    """One figure's image: (bytes, "png" or "webp")."""
    return render_figure(pdf_path, Figure.from_dict(figure))

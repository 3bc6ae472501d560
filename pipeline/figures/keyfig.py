"""The key figure of one paper: the figures found (in the worker pool, cached by PDF hash),
which one is shown (the config's pin, else the model's `key_figure`), its image written to
output/figures/{ID}v{N}-fig{K}.{png|webp}.

A figure never blocks a summary: a PDF PDFium cannot read, a figure that cannot be rendered, an
answer naming a figure the prompt did not list: each means "no figure" (logged), never a failure.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline.figures import cache
from pipeline.figures.find import Figure
from pipeline.names import file_id
from pipeline.state import FigureRef
from pipeline.store import atomic_write

if TYPE_CHECKING:
    from pipeline.config import Config, PaperConfig
    from pipeline.state import Meta, StateStore
    from pipeline.text.pool import Extractor

log = logging.getLogger(__name__)

FIGURES_DIR = "figures"  # under output/ (and output/site/)
CAPTION_CHARS = 300  # a caption as the prompt lists it
FILE_NAME = re.compile(r"[0-9A-Za-z._-]+v\d+-fig\d{1,3}\.(?:png|webp)")


def file_name(paper_id: str, version: int, number: int, extension: str) -> str:
    """`{ID}v{N}-fig{K}.{ext}`; an old-style ID's "/" becomes "_"."""
    return f"{file_id(paper_id)}v{version}-fig{number}.{extension}"


def listed(figures: list[Figure]) -> list[tuple[int, str]]:
    """(number, caption) of each figure, as the prompt lists them (captions shortened)."""
    return [(f.number, _short(f.caption)) for f in figures]


def _short(caption: str) -> str:
    return caption if len(caption) <= CAPTION_CHARS else caption[: CAPTION_CHARS - 1] + "…"


def key_figure(answer: dict[str, Any], numbers: list[int]) -> int | None:
    """The answer's `key_figure` when it is one of the listed numbers; anything else (absent,
    null, not a number, a figure the prompt did not list) counts as null."""
    value = answer.get("key_figure")
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value if value in numbers else None


def figures_of(extractor: Extractor, cache_dir: Path, pdf: Path, pdf_sha: str) -> list[Figure]:
    """The PDF's figures, from the cache or found in a worker; [] when they cannot be had."""
    from pipeline.figures.jobs import find_job
    from pipeline.text.extract import ExtractError

    found = cache.read_figures(cache_dir, pdf_sha)
    if found is not None:
        return found
    try:
        text = extractor.run(find_job, pdf)
    except ExtractError as exc:
        log.info("%s: no figures (%s)", pdf.name, exc)
        return []
    found = cache.loads(text) or []
    cache.write_figures(cache_dir, pdf_sha, found)
    return found


def wanted(paper: PaperConfig, figures: list[Figure], answered: int | None) -> Figure | None:
    """The figure to show: the pinned one (when the PDF has it), else the model's choice."""
    if paper.figure is False:
        return None
    number = paper.figure if isinstance(paper.figure, int) else answered
    chosen = next((f for f in figures if f.number == number), None)
    if chosen is None and isinstance(paper.figure, int):
        log.warning("%s: figure = %d is not a captioned figure of its PDF", paper.id, number)
    return chosen


def publish(
    extractor: Extractor,
    cache_dir: Path,
    output_dir: Path,
    paper: PaperConfig,
    version: int,
    pdf: Path,
    pdf_sha: str,
    figure: Figure,
) -> FigureRef | None:
    """Render `figure` (cached by PDF hash) and write it to output/figures/; its reference, or
    None when it cannot be rendered or written."""
    from pipeline.figures.jobs import render_job
    from pipeline.text.extract import ExtractError

    image = cache.read_image(cache_dir, pdf_sha, figure.number)
    if image is None:
        try:
            image = extractor.run(render_job, pdf, figure.to_dict())
        except ExtractError as exc:
            log.warning("%s: figure %d not rendered (%s)", paper.id, figure.number, exc)
            return None
        cache.write_image(cache_dir, pdf_sha, figure.number, image)
    data, extension = image
    name = file_name(paper.id, version, figure.number, extension)
    path = output_dir / FIGURES_DIR / name
    try:
        if not path.is_file() or path.read_bytes() != data:
            atomic_write(path, data)
    except OSError as exc:
        log.warning("%s: cannot write %s (%s)", paper.id, path, exc)
        return None
    by = "config" if isinstance(paper.figure, int) else "model"
    return FigureRef(figure.number, figure.caption, name, by)


class KeyFigures:
    """A build's figure work: find (cached), choose, render and write; none of it ever fails
    a paper. `extractor()` gives the build's worker pool, `pdf(id, meta)` a paper's cached PDF
    (downloading it when needed)."""

    def __init__(
        self,
        config: Config,
        extractor: Callable[[], Extractor],
        pdf: Callable[[str, Meta], Path],
        store: StateStore,
    ) -> None:
        self.config = config
        self.cache_dir = config.cache_dir / "figures"
        self._extractor = extractor
        self._pdf = pdf
        self.store = store

    def found(self, paper: PaperConfig, pdf: Path, pdf_sha: str) -> list[Figure]:
        """The PDF's captioned figures (none when the config turns them off)."""
        if paper.figure is False:
            return []
        return figures_of(self._extractor(), self.cache_dir, pdf, pdf_sha)

    def shown(
        self,
        paper: PaperConfig,
        meta: Meta,
        pdf: Path,
        figures: list[Figure],
        answered: int | None,
    ) -> FigureRef | None:
        """The figure the paper shows, written to output/figures/ (None: it shows none)."""
        chosen = wanted(paper, figures, answered)
        if chosen is None:
            return None
        from pipeline.store import sha256_file

        try:
            out = self.config.output_dir
            sha = sha256_file(pdf)
            return publish(
                self._extractor(), self.cache_dir, out, paper, meta.version, pdf, sha, chosen
            )
        except Exception:  # a figure never blocks a summary
            log.warning("%s: figure %d not published", paper.id, chosen.number, exc_info=True)
            return None

    def apply_pins(self, papers: list[PaperConfig], redone: set[str]) -> None:
        """`figure = N` on an up-to-date paper that shows another figure: show N, without
        asking the model again (the PDF is downloaded when it is not cached)."""
        from pipeline.errors import PaperError
        from pipeline.store import sha256_file

        for paper in papers:
            state = self.store.load(paper.id)
            if paper.id in redone or not state or not state.summary:
                continue
            pin = paper.figure
            if not isinstance(pin, int) or (state.figure and state.figure.number == pin):
                continue
            try:
                pdf = self._pdf(paper.id, state.meta)
                figures = self.found(paper, pdf, sha256_file(pdf))
            except PaperError as exc:  # no PDF: the summary stays as it is
                log.warning("%s: figure %d not shown (%s)", paper.id, pin, exc)
                continue
            ref = self.shown(paper, state.meta, pdf, figures, None)
            if ref is not None:
                state.figure = ref
                self.store.save(state)

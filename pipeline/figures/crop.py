"""Render a figure's crop box to an image file's bytes: about 1,200 px wide, small, deterministic.

PDFium renders only the crop (no full page at high resolution). The image is a 256-colour PNG
(fast octree palette, no dithering: flat colours and anti-aliased lines stay crisp; zlib level 9);
when that is over the size limit (photographs), a lossy WebP (quality 80) is tried and the smaller
taken; when both are over, the image is scaled down in steps. Same PDF, same PDFium and Pillow:
same bytes.
"""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image, ImageDraw

from pipeline.figures.find import Figure

WIDTH = 1200  # pixels, the crop's target width
MAX_SCALE = 6.0  # pixels per point: a small figure is not blown up beyond this
MAX_BYTES = 200_000
_STEPS = (1.0, 0.8, 0.64, 0.5)


def _render(page: object, figure: Figure, width: int) -> Image.Image:
    """The figure's crop box rendered `width` pixels wide, its masks painted white."""
    left, bottom, right, top = page.get_cropbox()  # type: ignore[attr-defined]
    x0, y0, x1, y1 = figure.box
    x0, y0, x1, y1 = max(x0, left), max(y0, bottom), min(x1, right), min(y1, top)
    scale = min(MAX_SCALE, width / max(1.0, x1 - x0))
    crop = (x0 - left, y0 - bottom, right - x1, top - y1)
    bitmap = page.render(scale=scale, crop=crop, draw_annots=False)  # type: ignore[attr-defined]
    image = bitmap.to_pil().convert("RGB")
    paint = ImageDraw.Draw(image)
    for mx0, my0, mx1, my1 in figure.masks:
        corners = (
            (mx0 - x0 - 1) * scale,
            (y1 - my1 - 1) * scale,
            (mx1 - x0 + 1) * scale,
            (y1 - my0 + 1) * scale,
        )
        paint.rectangle([round(v) for v in corners], fill="white")
    return image


def _png(image: Image.Image) -> bytes:
    palette = image.quantize(colors=256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE)
    out = io.BytesIO()
    palette.save(out, format="PNG", compress_level=9)
    return out.getvalue()


def _webp(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="WEBP", quality=80, method=4)
    return out.getvalue()


def encode(image: Image.Image) -> tuple[bytes, str]:
    """A palette PNG, or a lossy WebP when the PNG is over the limit and the WebP is smaller:
    (bytes, "png" or "webp")."""
    png = _png(image)
    if len(png) <= MAX_BYTES:
        return png, "png"
    webp = _webp(image)
    return (webp, "webp") if len(webp) < len(png) else (png, "png")


def render_figure(pdf_path: Path, figure: Figure) -> tuple[bytes, str]:
    """The figure's image: (bytes, extension). Rendered once; a smaller width, when the image is
    over the size limit, is a Lanczos reduction of it."""
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(str(pdf_path))
    try:
        image = _render(doc[figure.page - 1], figure, WIDTH)
    finally:
        doc.close()
    best = encode(image)
    for step in _STEPS[1:]:
        if len(best[0]) <= MAX_BYTES:
            break
        size = (round(image.width * step), max(1, round(image.height * step)))
        best = encode(image.resize(size, Image.Resampling.LANCZOS))
    return best

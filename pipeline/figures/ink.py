"""Where a page has ink: the page rendered once in grey at 36 dpi, and the bounding box of its
non-white pixels inside a given area (to about 2 points: the crop is padded by 4).

What a figure draws is what PDFium paints: paths, images, shadings, text, forms, after clipping.
Object bounds alone mislead (a form's box, or a path clipped to a small window, can reach far
outside the page), so the extent of a figure is measured on the rendered page.
"""

from __future__ import annotations

from pipeline.figures.layout import Box

SCALE = 0.5  # pixels per PDF point for the ink map (as exact as 1.0 to a point, 36% faster)
THRESHOLD = 235  # grey levels below this count as ink (white page, anti-aliased edges)


class InkMap:
    """The ink of one page (rotation 0), queried in PDF points."""

    def __init__(self, page: object) -> None:
        left, bottom, right, top = page.get_cropbox()  # type: ignore[attr-defined]
        self.left, self.top = left, top
        grey = page.render(scale=SCALE, grayscale=True).to_pil()  # type: ignore[attr-defined]
        if grey.mode != "L":
            grey = grey.convert("L")
        self.mask = grey.point(lambda v: 255 if v < THRESHOLD else 0)

    def _pixels(self, box: Box) -> tuple[int, int, int, int]:
        x0, y0, x1, y1 = box
        width, height = self.mask.size
        px0 = max(0, int((x0 - self.left) * SCALE))
        px1 = min(width, int((x1 - self.left) * SCALE + 0.999))
        py0 = max(0, int((self.top - y1) * SCALE))
        py1 = min(height, int((self.top - y0) * SCALE + 0.999))
        return px0, py0, px1, py1

    def bbox(self, box: Box) -> Box | None:
        """The bounding box of the ink inside `box`, or None when it is blank."""
        px0, py0, px1, py1 = self._pixels(box)
        if px1 <= px0 or py1 <= py0:
            return None
        found = self.mask.crop((px0, py0, px1, py1)).getbbox()
        if found is None:
            return None
        bx0, by0, bx1, by1 = found
        return (
            self.left + (px0 + bx0) / SCALE,
            self.top - (py0 + by1) / SCALE,
            self.left + (px0 + bx1) / SCALE,
            self.top - (py0 + by0) / SCALE,
        )

    def empty_columns(self, box: Box) -> list[float]:
        """The x (PDF points) of each pixel column of `box` that holds no ink."""
        px0, py0, px1, py1 = self._pixels(box)
        if px1 <= px0 or py1 <= py0:
            return []
        columns, _ = self.mask.crop((px0, py0, px1, py1)).getprojection()
        return [self.left + (px0 + i + 0.5) / SCALE for i, inked in enumerate(columns) if not inked]

"""Small, valid text PDFs for tests and benchmarks (Helvetica, one text stream per page)."""

from __future__ import annotations

import textwrap

FILLER = (
    "We study this problem carefully and report the design, the training procedure and the "
    "evaluation in detail. The approach is simple to reproduce and scales to larger settings. "
)


def _escape(line: str) -> str:
    return line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def _page_stream(lines: list[str]) -> bytes:
    body = ["BT", "/F1 10 Tf", "13 TL", "60 760 Td"]
    for line in lines:
        body.append(f"({_escape(line)}) Tj T*")
    body.append("ET")
    return "\n".join(body).encode("latin-1", "replace")


def make_pdf(pages: list[list[str]]) -> bytes:
    """A PDF whose pages carry the given lines of (Latin-1) text."""
    return assemble_pdf([(612, 792, _page_stream(lines)) for lines in pages])


def assemble_pdf(pages: list[tuple[float, float, bytes]]) -> bytes:
    """A PDF of pages given as (width, height, content stream), Helvetica as font /F1."""
    objects: list[bytes] = []
    kids = " ".join(f"{4 + 2 * i} 0 R" for i in range(len(pages)))
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {len(pages)} >>".encode())
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    for i, (width, height, stream) in enumerate(pages):
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {width} {height}] "
            f"/Resources << /Font << /F1 3 0 R >> >> /Contents {5 + 2 * i} 0 R >>".encode()
        )
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for n, obj in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % n + obj + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for off in offsets:
        out += b"%010d 00000 n \n" % off
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def paper_pdf(title: str, topic: str, extra: str = "") -> bytes:
    """A two-page paper: title, abstract, numbered sections, references."""

    def para(text: str) -> list[str]:
        return textwrap.wrap(text, 95) + [""]

    page1 = [title, "Anonymous Authors", ""]
    page1 += ["Abstract", *para(f"We present {topic}. {FILLER}{extra}")]
    page1 += ["1 Introduction", *para(f"{topic} addresses an open problem. {FILLER * 2}")]
    page1 += ["2 Method", *para(f"Our method, {topic}, works in three steps. {FILLER * 2}")]
    page2 = ["3 Experiments", *para(f"We evaluate {topic} on standard benchmarks. {FILLER * 2}")]
    page2 += ["4 Conclusion", *para(f"{topic} is effective. {FILLER}")]
    page2 += ["References", "[1] A. Author. A related paper. 2023."]
    return make_pdf([page1, page2])

"""Clean-up time against pypdf's own for a PDF whose text has no paragraph break.

    python bench/bench_cleanup.py [--pages 600]

Generates a PDF (tests/support/pdfgen.py) of N pages of full-width lines that run on from page
to page, one paragraph that never ends, then times pypdf's extraction (`extract_text`) and the
clean-up (`clean_text`) on it, in CPU seconds of this process. The clean-up used to add each
line to one growing string and search it from its start: quadratic (40 s at 50 pages, 165 s at
100); it must stay well under pypdf's own time (the target: under 3x).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipeline.text.extract import clean_text, extract_text  # noqa: E402
from tests.support.pdfgen import FILLER, make_pdf  # noqa: E402

LINES_PER_PAGE = 55


def no_break_pdf(pages: int) -> bytes:
    """N pages of 95-character lines of one run-on paragraph."""
    lines = textwrap.wrap(FILLER * (pages * LINES_PER_PAGE // 2 + 2), 95)
    return make_pdf([lines[i * LINES_PER_PAGE : (i + 1) * LINES_PER_PAGE] for i in range(pages)])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=600, help="pages of the generated PDF")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        pdf = Path(tmp) / "no-breaks.pdf"
        pdf.write_bytes(no_break_pdf(args.pages))
        started = time.process_time()
        raw = extract_text(pdf)
        pypdf_s = time.process_time() - started
    started = time.process_time()
    cleaned = clean_text(raw)
    clean_s = time.process_time() - started
    paragraphs = cleaned.count("\n\n") + 1
    print(f"{args.pages} pages, {len(raw):,} characters, {paragraphs} paragraph(s) after clean-up")
    print(f"pypdf extraction {pypdf_s:6.2f} s CPU")
    print(f"clean-up         {clean_s:6.2f} s CPU  ({clean_s / pypdf_s:.2f}x pypdf)")
    ok = clean_s < 3 * pypdf_s
    print("OK: clean-up under 3x pypdf" if ok else "FAIL: clean-up over 3x pypdf")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

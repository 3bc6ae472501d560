"""The six real arXiv PDFs of ../shared/fixtures/pdfs, their text extracted once per session
(pypdf is slow); the tests that need them skip, saying why, when ../shared is missing."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest

from pipeline.text.extract import clean_text, extract_text

PDF_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures" / "pdfs"


PAPERS = ["2401.06066", "2405.04434", "2406.11931", "2408.08152", "2501.12948", "2501.17811"]


SMALL = "2501.17811"  # 13 pages: the quickest to extract


needs_fixtures = pytest.mark.skipif(
    not PDF_DIR.is_dir(), reason=f"fixture PDFs not found at {PDF_DIR} (../shared missing)"
)


@functools.cache
def raw_text(paper: str) -> str:
    """pypdf text of a fixture paper, extracted once per session (pypdf is slow)."""
    if not PDF_DIR.is_dir():
        pytest.skip(f"fixture PDFs not found at {PDF_DIR} (../shared missing)")
    return extract_text(PDF_DIR / f"{paper}.pdf")


@functools.cache
def cleaned_text(paper: str) -> str:
    return clean_text(raw_text(paper))

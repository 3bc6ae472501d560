"""Extraction, clean-up and the cached, time-limited Extractor (pipeline.text.extract).

The six real arXiv PDFs live outside the project, in ../shared/fixtures/pdfs; they are extracted
once per test session (`raw_text`, also used by test_sections and test_tokens).
"""

from __future__ import annotations

import io
import os
import re
import textwrap
import threading
import time
from pathlib import Path

import pytest

from pipeline.text.extract import ExtractError, clean_text, extract_text
from pipeline.text.pool import Extractor
from tests.support.pdfgen import FILLER
from tests.support.realpdfs import PAPERS, PDF_DIR, SMALL, cleaned_text, needs_fixtures, raw_text

# --- small PDFs made here ----------------------------------------------------------------------


def make_pdf(pages: list[list[str]]) -> bytes:
    """A minimal valid PDF, one Helvetica text line per entry."""
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>"]
    kids = " ".join(f"{4 + 2 * i} 0 R" for i in range(len(pages)))
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {len(pages)} >>".encode())
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    for i, lines in enumerate(pages):
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {5 + 2 * i} 0 R "
            "/Resources << /Font << /F1 3 0 R >> >> >>".encode()
        )
        body = " ".join(f"({line}) Tj T*" for line in lines)
        stream = f"BT /F1 10 Tf 12 TL 50 750 Td {body} ET".encode("latin-1")
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream))
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, obj in enumerate(objects, 1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n%s\nendobj\n" % (number, obj))
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    out.write(b"".join(b"%010d 00000 n \n" % offset for offset in offsets))
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\n" % (len(objects) + 1))
    out.write(b"startxref\n%d\n%%%%EOF\n" % xref)
    return out.getvalue()


PROSE = [
    "Large language models are trained on large corpora of text and code.",
    "We study how the amount of data changes the quality of the experi-",
    "ments and report the results in detail for every setting we tried.",
    "The approach is simple to reproduce and scales to larger settings.",
]


def write_pdf(path: Path, pages: list[list[str]] | None = None) -> Path:
    path.write_bytes(make_pdf(pages or [PROSE, PROSE]))
    return path


# --- extract_text ------------------------------------------------------------------------------


def test_extract_text_of_a_made_pdf(tmp_path: Path) -> None:
    text = extract_text(write_pdf(tmp_path / "ok.pdf"))
    assert text.count("\f") == 1
    assert "Large language models" in text


@needs_fixtures
def test_extract_text_joins_pages_with_form_feeds() -> None:
    from pypdf import PdfReader

    pages = len(PdfReader(PDF_DIR / f"{SMALL}.pdf").pages)
    assert raw_text(SMALL).count("\f") == pages - 1


@pytest.mark.parametrize(
    ("content", "cause"),
    [
        (b"", "empty PDF file"),
        (b"<!DOCTYPE html><html><body>Rate limited</body></html>", "not a PDF"),
        (b"%PDF-1.7\n" + b"\x00garbage\xff" * 50, "unreadable PDF"),
    ],
)
def test_extract_text_rejects_broken_files(tmp_path: Path, content: bytes, cause: str) -> None:
    path = tmp_path / "paper.pdf"
    path.write_bytes(content)
    with pytest.raises(ExtractError, match=cause) as info:
        extract_text(path)
    assert str(path) in str(info.value)


def test_extract_text_rejects_truncated_pdf(tmp_path: Path) -> None:
    whole = make_pdf([PROSE] * 4)
    path = tmp_path / "truncated.pdf"
    path.write_bytes(whole[: len(whole) // 3])
    with pytest.raises(ExtractError) as info:
        extract_text(path)
    assert str(path) in str(info.value)


@needs_fixtures
def test_extract_text_rejects_truncated_real_pdf(tmp_path: Path) -> None:
    path = tmp_path / "cut.pdf"
    path.write_bytes((PDF_DIR / f"{SMALL}.pdf").read_bytes()[:20000])
    with pytest.raises(ExtractError, match="cut.pdf"):
        extract_text(path)


def test_extract_text_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ExtractError, match="cannot read"):
        extract_text(tmp_path / "absent.pdf")


def test_extract_text_without_text(tmp_path: Path) -> None:
    path = write_pdf(tmp_path / "blank.pdf", [["Figure"], [""]])
    with pytest.raises(ExtractError, match="no extractable text"):
        extract_text(path)


def _encrypt(source: Path, target: Path, user_password: str) -> Path:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(source))
    writer.encrypt(user_password, owner_password="owner", algorithm="RC4-128")
    with target.open("wb") as fh:
        writer.write(fh)
    return target


def test_extract_text_encrypted(tmp_path: Path) -> None:
    plain = write_pdf(tmp_path / "plain.pdf")
    locked = _encrypt(plain, tmp_path / "locked.pdf", user_password="secret")
    with pytest.raises(ExtractError, match="encrypted") as info:
        extract_text(locked)
    assert "locked.pdf" in str(info.value)
    # An owner password alone (empty user password) does not keep the text from anyone.
    opened = _encrypt(plain, tmp_path / "owner-only.pdf", user_password="")
    assert "Large language models" in extract_text(opened)


# --- clean_text --------------------------------------------------------------------------------


def test_clean_text_synthetic() -> None:
    header = "Journal of Testing, Vol. 3"
    body = [
        "Abstract",
        "The ﬁrst ﬂow of experi-",
        "ments uses a Mixture-of-",
        "Experts model, an open-",
        "source release; open-source code is available and well tested.",
    ]
    filler = ["Methods are described here.", "Results follow.", "More results.", "The end."]
    pages = [[header, *body, "1"]] + [[header, line, str(n)] for n, line in enumerate(filler, 2)]
    cleaned = clean_text("\f".join("\n".join(page) for page in pages))
    assert "\f" not in cleaned
    assert header not in cleaned
    assert not re.search(r"^\d+$", cleaned, re.M)
    assert "The first flow of experiments uses a Mixture-of-Experts model" in cleaned
    assert "an open-source release" in cleaned
    assert cleaned.startswith("Abstract\n\nThe first")
    assert "The end." in cleaned


def test_clean_text_drops_references_keeps_appendix() -> None:
    raw = "\n".join(
        [
            "1 Introduction",
            "We do things.",
            "2 Conclusion",
            "It works.",
            "References",
            "A. Author, B. Writer. A paper about things. 2020.",
            "C. Person. Another paper. 2021.",
            "A Proofs of the Theorems",
            "The proof is short.",
        ]
    )
    cleaned = clean_text(raw)
    assert "References" not in cleaned and "Another paper" not in cleaned
    assert cleaned.endswith("Appendix\n\nA Proofs of the Theorems\n\nThe proof is short.")


@needs_fixtures
@pytest.mark.parametrize("paper", PAPERS)
def test_clean_text_on_fixture(paper: str) -> None:
    cleaned = cleaned_text(paper)
    assert 20000 < len(cleaned) < len(raw_text(paper))
    assert not re.search("[\ufb00-\ufb06]", cleaned), "ligature left"
    assert "\f" not in cleaned
    assert not re.search(r"[a-z]-\n+[a-z]", cleaned), "word hyphenated across a line"
    assert not re.search(r"^(References|REFERENCES|Bibliography)$", cleaned, re.M)
    assert not re.search(r"^\s*\d+\s*$", cleaned, re.M), "bare page number left"
    assert not re.search(r"[\x00-\x08\x0b-\x1f]", cleaned)
    assert "arXiv:" + paper not in cleaned  # the side stamp


@needs_fixtures
def test_clean_text_fixture_details() -> None:
    moe = cleaned_text("2401.06066")
    assert "Mixture-of-Experts" in moe
    assert "Polosukhin" not in moe and "Polo-sukhin" not in moe  # a reference entry
    assert "\n\nAppendices\n\nA. Overview of Hyper-Parameters\n\n" in moe
    assert "open-\nsource" in raw_text("2406.11931")
    assert "currently available open-source" in cleaned_text("2406.11931")
    assert "experi-\nments" in raw_text("2408.08152")
    assert "experiments" in cleaned_text("2408.08152")
    assert "Specif-\nically" in raw_text("2501.17811")
    assert "Janus. Specifically, Janus-Pro" in cleaned_text("2501.17811")
    v2 = cleaned_text("2405.04434")
    assert not re.search(r"^Contents$", v2, re.M) and ". . . ." not in v2  # table of contents
    r1 = cleaned_text("2501.12948")
    assert "consistent improvement throughout the training process" in r1  # across a figure


# --- Extractor ---------------------------------------------------------------------------------
# Targets run in a spawned child process, so they are module-level functions.


def _sleepy(path: Path) -> str:
    time.sleep(60)
    return "never"


def _crash(path: Path) -> str:
    os._exit(3)


def _counting(path: Path) -> str:
    with path.with_suffix(".count").open("a") as fh:
        fh.write("x")
    return f"text of {path.name}"


def _must_not_run(path: Path) -> str:
    raise AssertionError("extracted although cached")


@needs_fixtures
def test_extractor_extracts_and_caches(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    with Extractor(cache, workers=1) as extractor:
        text = extractor.text_for(PDF_DIR / f"{SMALL}.pdf", "abc123")
    assert text == cleaned_text(SMALL)
    assert (cache / "abc123.txt").read_text(encoding="utf-8") == text
    assert [p.name for p in cache.iterdir()] == ["abc123.txt"]  # no temp file left
    with Extractor(cache, _target=_must_not_run) as extractor:
        assert extractor.text_for(PDF_DIR / f"{SMALL}.pdf", "abc123") == text


def test_extractor_cache_hit_starts_no_process(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "deadbeef.txt").write_text("cached text", encoding="utf-8")
    extractor = Extractor(tmp_path, _target=_must_not_run)
    monkeypatch.setattr("multiprocessing.get_context", lambda *a: pytest.fail("started a process"))
    assert extractor.text_for(tmp_path / "x.pdf", "deadbeef") == "cached text"
    extractor.close()


def test_extractor_same_pdf_concurrently_extracted_once(tmp_path: Path) -> None:
    pdf = write_pdf(tmp_path / "p.pdf")
    results: list[str] = []
    with Extractor(tmp_path / "cache", workers=2, _target=_counting) as extractor:
        threads = [
            threading.Thread(target=lambda: results.append(extractor.text_for(pdf, "f00d")))
            for _ in range(3)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert results == ["text of p.pdf"] * 3
    assert pdf.with_suffix(".count").read_text() == "x"


def test_extractor_times_out_and_kills_the_child(tmp_path: Path) -> None:
    pdf = write_pdf(tmp_path / "slow.pdf")
    extractor = Extractor(tmp_path / "cache", timeout_seconds=0.5, _target=_sleepy)
    started = time.monotonic()
    with pytest.raises(ExtractError, match=r"slow\.pdf: text extraction timed out after 0\.5 s"):
        extractor.text_for(pdf, "5105")
    assert time.monotonic() - started < 45  # killed at its limit, long before its 60 s end
    assert not extractor._children  # killed and reaped
    assert not (tmp_path / "cache" / "5105.txt").exists()
    extractor.close()


def test_extractor_reports_broken_pdf(tmp_path: Path) -> None:
    html = tmp_path / "page.pdf"
    html.write_bytes(b"<html><body>Not found</body></html>")
    with Extractor(tmp_path / "cache") as extractor:
        with pytest.raises(ExtractError, match=r"page\.pdf: not a PDF"):
            extractor.text_for(html, "0bad")


def test_extractor_reports_a_dead_child(tmp_path: Path) -> None:
    with Extractor(tmp_path, _target=_crash) as extractor:
        with pytest.raises(ExtractError, match="exit code 3"):
            extractor.text_for(tmp_path / "x.pdf", "dead")


def test_extractor_rejects_unsafe_hash(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        Extractor(tmp_path).text_for(tmp_path / "x.pdf", "../escape")


def _no_break_text(lines: int) -> str:
    """pypdf text of pages whose lines all run on: one paragraph that never ends."""
    words = textwrap.wrap(FILLER * (lines // 2 + 2), 95)[:lines]
    return "\f".join("\n".join(words[i : i + 55]) for i in range(0, lines, 55))


def _cpu_seconds(text: str, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        started = time.thread_time()
        clean_text(text)
        best = min(best, time.thread_time() - started)
    return best


def test_clean_up_of_a_paragraph_that_never_ends_grows_linearly() -> None:
    """A PDF with no paragraph break took 40 s at 50 pages (pypdf: 0.1 s): each line was added to
    one growing string and searched from its start. Eight times the text must cost about eight
    times the CPU (a quadratic clean-up: 64 times). CPU time of this thread, best of a few runs,
    and a threshold three times the linear ratio: a busy machine cannot make it fail."""
    small, large = _no_break_text(300), _no_break_text(2400)
    assert clean_text(large).count("\n\n") <= 2  # it is one paragraph, or nearly
    ratio = _cpu_seconds(large, 2) / _cpu_seconds(small, 5)
    assert ratio < 24, f"clean-up of 8x the text took {ratio:.0f}x the CPU time"

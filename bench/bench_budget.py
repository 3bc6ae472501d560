"""Token budget benchmark: the six real fixture papers with the old 12000-token slice and with
llm.max_input_tokens = "auto", side by side, and what each costs at DeepSeek's prices.

    python bench/bench_budget.py [--pdf-dir ../shared/fixtures/pdfs]

Starts a fake arXiv and a DeepSeek-like fake model (tests/support/fakes.py,
tests/support/fake_providers.py) in this process and runs the real CLI (`build`) twice in a
temporary project, one paper at a time (--jobs 1, so the prefix-cache hits do not depend on the
order): once with max_input_tokens = 12000, once with "auto" (the 1,000,000-token window
genai-prices gives deepseek-v4-flash). Per paper: its text (references dropped), the tokens sent,
the sections cut, and the cost of its requests priced by genai-prices for deepseek-v4-flash off-peak
(Monday 12:00 UTC) and at peak (Monday 02:00 UTC). The fake counts tokens with the pipeline's own
estimate; its answers are short, so the costs are the prompt's, nearly all of it.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import sys
import tempfile
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipeline.cli import main as cli  # noqa: E402
from pipeline.config import load_config  # noqa: E402
from pipeline.llm.prices import PriceBook, database_version  # noqa: E402
from pipeline.state import Usage  # noqa: E402
from tests.support.fake_providers import DeepSeekFake  # noqa: E402
from tests.support.fakes import FakeArxiv, FakePaper  # noqa: E402

PDF_DIR = ROOT.parent / "shared" / "fixtures" / "pdfs"
KEY_ENV = "BENCH_LLM_KEY"
OFF_PEAK = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
PEAK = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)
PAPERS = [  # id, short name, title
    ("2401.06066", "DeepSeekMoE", "DeepSeekMoE: Towards Ultimate Expert Specialization"),
    ("2405.04434", "DeepSeek-V2", "DeepSeek-V2: A Strong, Economical, and Efficient MoE Model"),
    ("2406.11931", "Coder-V2", "DeepSeek-Coder-V2: Breaking the Barrier of Closed-Source Models"),
    ("2408.08152", "Prover-V1.5", "DeepSeek-Prover-V1.5: Harnessing Proof Assistant Feedback"),
    ("2501.12948", "DeepSeek-R1", "DeepSeek-R1: Incentivizing Reasoning Capability in LLMs"),
    ("2501.17811", "Janus-Pro", "Janus-Pro: Unified Multimodal Understanding and Generation"),
]


def config_text(arxiv_url: str, llm_url: str, budget: str) -> str:
    lines = [
        'title = "Budget bench"',
        "[arxiv]",
        f'api_url = "{arxiv_url}"',
        "delay_seconds = 0",
        "[llm]",
        f'base_url = "{llm_url}"',
        'model = "deepseek-v4-flash"',
        f'api_key_env = "{KEY_ENV}"',
        'provider = "deepseek"',
        f"max_input_tokens = {budget}",
    ]
    for paper_id, name, _ in PAPERS:
        lines += ["[[papers]]", f'id = "{paper_id}"', f'project = "{name}"']
    return "\n".join(lines) + "\n"


def build(folder: Path, arxiv: FakeArxiv, llm: DeepSeekFake, budget: str) -> dict[str, dict]:
    """One real build (quiet) with this budget; each paper's stored input and usage."""
    folder.mkdir()
    config = folder / "config.toml"
    config.write_text(config_text(arxiv.api_url, llm.base_url, budget), encoding="utf-8")
    with contextlib.redirect_stderr(io.StringIO()) as err:
        code = cli(["build", "--jobs", "1", "--no-watch", "--config", str(config)])
    if code != 0:
        raise SystemExit(f"build with max_input_tokens = {budget} failed:\n{err.getvalue()}")
    out = {}
    for paper_id, _, _ in PAPERS:
        path = folder / "output" / "data" / f"{paper_id}.json"
        out[paper_id] = json.loads(path.read_text(encoding="utf-8"))
    return out


def cost(book: PriceBook, stored: dict, at: datetime) -> Decimal:
    usage = stored["usage"]
    spent = Usage(
        usage["prompt_tokens"], usage["cached_prompt_tokens"], usage["completion_tokens"], 0
    )
    price = book.price(spent, at)
    assert price is not None, "genai-prices has no price for deepseek-v4-flash"
    return price.cost


def usd(amount: Decimal) -> str:
    return f"{'$' + format(amount, '.5f'):>9}"


def report(runs: dict[str, dict[str, dict]], book: PriceBook) -> None:
    print(f"prices: {database_version()}, deepseek-v4-flash; off-peak Mon 12:00 UTC, peak 02:00")
    head = f"{'paper':<12} {'text':>6} | {'12k sent':>8} {'off-peak':>9} {'peak':>9} | "
    head += f"{'auto sent':>9} {'off-peak':>9} {'peak':>9} | cut by 12k"
    print(head)
    print("-" * len(head))
    totals = {key: Decimal(0) for key in ("12k-off", "12k-peak", "auto-off", "auto-peak")}
    for paper_id, name, _ in PAPERS:
        row = f"{name:<12} {runs['auto'][paper_id]['input']['paper_tokens']:>6} |"
        for budget in ("12k", "auto"):
            stored = runs[budget][paper_id]
            off, peak = cost(book, stored, OFF_PEAK), cost(book, stored, PEAK)
            totals[f"{budget}-off"] += off
            totals[f"{budget}-peak"] += peak
            row += f" {stored['input']['tokens']:>8} {usd(off)} {usd(peak)} |"
        cut = runs["12k"][paper_id]["input"]["omitted"]
        row += f" {len(cut)} sections" if cut else " nothing"
        print(row)
    print(
        f"{'six papers':<12} {'':>6} | {'':>8} {usd(totals['12k-off'])} "
        f"{usd(totals['12k-peak'])} | {'':>9} {usd(totals['auto-off'])} "
        f"{usd(totals['auto-peak'])} |"
    )
    v2 = runs["12k"]["2405.04434"]["input"]["omitted"]
    print(f"DeepSeek-V2 with 12k leaves out: {', '.join(v2)}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pdf-dir", type=Path, default=PDF_DIR)
    args = parser.parse_args()
    if not args.pdf_dir.is_dir():
        print(f"fixture PDFs not found at {args.pdf_dir}", file=sys.stderr)
        return 2
    papers = [
        FakePaper(i, 1, title, "2025-01-01", (args.pdf_dir / f"{i}.pdf").read_bytes())
        for i, _, title in PAPERS
    ]
    os.environ[KEY_ENV] = "sk-bench"
    runs: dict[str, dict[str, dict]] = {}
    with FakeArxiv(papers) as arxiv, tempfile.TemporaryDirectory() as tmp:
        for budget, value in (("12k", "12000"), ("auto", '"auto"')):
            with DeepSeekFake() as llm:  # a fresh prefix cache for each run
                runs[budget] = build(Path(tmp) / budget, arxiv, llm, value)
        config = load_config(Path(tmp) / "auto" / "config.toml")
    report(runs, PriceBook(config.llm, "deepseek"))
    return 0


if __name__ == "__main__":
    sys.exit(main())

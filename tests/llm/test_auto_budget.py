"""llm.max_input_tokens = "auto" and prices from genai-prices, through the real CLI against a
DeepSeek-like fake: the six real fixture papers go whole where the model's context holds them,
an integer still gives the old 12000-token slice, and a run's cost comes from genai-prices at
the time of each request (the clock injected: DeepSeek's peak hours cost twice).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from pipeline.llm.prices import database_version
from pipeline.llm.prompts import quote_paper_text
from pipeline.text.extract import extract_clean
from pipeline.text.sections import select_for_budget
from pipeline.text.tokens import estimate_tokens
from tests.support.fake_providers import DeepSeekFake
from tests.support.fakes import FakePaper
from tests.support.project import FIXTURE_PDFS, ROOT, Project
from tests.support.provider_kit import SHORT_IDS, Use, state, use

__all__ = ["use"]  # the fixture

REAL = [  # the six fixture papers: id, title, date
    ("2401.06066", "DeepSeekMoE: Towards Ultimate Expert Specialization", "2024-01-11"),
    ("2405.04434", "DeepSeek-V2: A Strong, Economical, and Efficient MoE Model", "2024-06-19"),
    ("2406.11931", "DeepSeek-Coder-V2: Breaking the Barrier of Closed-Source Models", "2024-06-17"),
    ("2408.08152", "DeepSeek-Prover-V1.5: Harnessing Proof Assistant Feedback", "2024-08-15"),
    ("2501.12948", "DeepSeek-R1: Incentivizing Reasoning Capability in LLMs", "2025-01-22"),
    ("2501.17811", "Janus-Pro: Unified Multimodal Understanding and Generation", "2025-01-29"),
]
PEAK = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)  # Monday 02:00 UTC
RATES = {  # genai-prices 0.2.5, deepseek-v4-flash, per million: input, cache read, output
    "peak": (Decimal("0.3"), Decimal("0.006"), Decimal("1.2")),
    "off-peak": (Decimal("0.15"), Decimal("0.003"), Decimal("0.6")),
}


@pytest.fixture(scope="module")
def texts() -> dict[str, str]:
    """The clean text (references dropped) of each real paper, as the pipeline extracts it."""
    if not FIXTURE_PDFS.is_dir():
        pytest.skip(f"fixture PDFs not found at {FIXTURE_PDFS} (../shared missing)")
    return {paper_id: extract_clean(FIXTURE_PDFS / f"{paper_id}.pdf") for paper_id, *_ in REAL}


def shipped_config(project: Project, fake: DeepSeekFake) -> str:
    """The repository's config.toml as shipped, pointed at the fakes, listing the six papers.

    Its provider is "auto", which api.deepseek.com resolves to deepseek; the fake's 127.0.0.1
    would not, so the test names it."""
    text = (ROOT / "config.toml").read_text(encoding="utf-8")
    text = text[: text.index("[[papers]]")]
    text = text.replace('"https://api.deepseek.com"', f'"{fake.base_url}"')
    text = text.replace('"https://export.arxiv.org/api/query"', f'"{project.arxiv.api_url}"')
    text = text.replace("delay_seconds = 3.0", "delay_seconds = 0")
    text = text.replace('api_key_env = "DEEPSEEK_API_KEY"', 'api_key_env = "TEST_LLM_KEY"')
    assert 'max_input_tokens = "auto"' in text and 'provider = "auto"' in text
    text = text.replace('provider = "auto"', 'provider = "deepseek"')
    for paper_id, title, _ in REAL:
        text += f'\n[[papers]]\nid = "{paper_id}"\nproject = "{title.split(":")[0]}"\n'
    return text


def real_project(use: Use, project: Project) -> tuple[Project, DeepSeekFake]:
    for paper_id, title, date in REAL:
        pdf = (FIXTURE_PDFS / f"{paper_id}.pdf").read_bytes()
        project.arxiv.add(FakePaper(paper_id, 9, title, date, pdf))  # newer than the fixture's
    fake = DeepSeekFake()
    project = use(fake, "deepseek-v4-flash")
    project.write_config(shipped_config(project, fake))
    return project, fake


def asked(fake: DeepSeekFake, title: str) -> dict[str, Any]:
    (body,) = [b for b in fake.bodies if f"：{title}\n" in b["messages"][1]["content"]]
    return body


def test_shipped_config_sends_the_six_real_papers_whole_and_12000_still_slices(
    use: Use, project: Project, texts: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    project, fake = real_project(use, project)
    assert project.run("build") == 0
    for paper_id, title, _ in REAL:
        sent = state(project, paper_id)["input"]
        whole = estimate_tokens(texts[paper_id])
        assert 6500 <= whole <= 27700
        assert sent["tokens"] == sent["paper_tokens"] == whole and sent["omitted"] == []
        assert sent["budget"] > 900_000  # the 1,000,000-token window less the answer and prompt
        assert quote_paper_text(texts[paper_id]) in asked(fake, title)["messages"][1]["content"]
    capsys.readouterr()
    assert project.run("status") == 0
    status = capsys.readouterr().out.splitlines()
    v2 = estimate_tokens(texts["2405.04434"])
    assert status[1] == f"2405.04434\tv9\tsummarised\tup to date; sent whole ({v2} tokens)"

    # an integer in the config: the old 12000-token slice, cut by section priority
    text = project.config.read_text(encoding="utf-8")
    project.write_config(text.replace('max_input_tokens = "auto"', "max_input_tokens = 12000"))
    fake.bodies.clear()
    assert project.run("build", "--force") == 0
    for paper_id, title, _ in REAL:
        sent = state(project, paper_id)["input"]
        old = select_for_budget(texts[paper_id], 12000)
        assert (sent["tokens"], sent["omitted"], sent["budget"]) == (
            old.tokens,
            old.omitted,
            12000,
        )
        assert quote_paper_text(old.text) in asked(fake, title)["messages"][1]["content"]
        assert bool(old.omitted) == (old.paper_tokens > 12000)  # R1 and Janus-Pro fit whole
    assert "4.3. Evaluation Results" in state(project, "2405.04434")["input"]["omitted"]
    capsys.readouterr()
    assert project.run("status") == 0
    line = capsys.readouterr().out.splitlines()[1]
    tokens = state(project, "2405.04434")["input"]["tokens"]
    assert line.startswith(f"2405.04434\tv9\tsummarised\tup to date; sent {tokens} of {v2} tokens")

    # back to "auto": a budget change redoes nothing by itself; doctor says what it would hold
    text = project.config.read_text(encoding="utf-8")
    project.write_config(text.replace("max_input_tokens = 12000", 'max_input_tokens = "auto"'))
    assert project.run("doctor") == 0
    assert (
        "stored: 2 summaries read their paper whole, 4 a cut text; the budget now holds 4 of "
        "those whole (`build --only ID --force` redoes one)"
    ) in capsys.readouterr().out.splitlines()


def expected_cost(fake: DeepSeekFake, rates: tuple[Decimal, Decimal, Decimal]) -> str:
    """What the fake's answers cost at these rates, cache hits at the cache-read price."""
    total = Decimal(0)
    for u in fake.usages:
        hit = u["prompt_cache_hit_tokens"]
        total += (u["prompt_tokens"] - hit) * rates[0] + hit * rates[1]
        total += u["completion_tokens"] * rates[2]
    return f"${total / 1_000_000:.4f}"


def test_no_prices_a_build_says_its_cost_from_genai_prices_and_peak_costs_twice(
    use: Use, price_clock: list[datetime], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    fake = DeepSeekFake()
    project = use(fake, "deepseek-v4-flash", 'provider = "deepseek"')
    price_clock[0] = PEAK
    assert project.run("build", "--jobs", "1", "--summary", "peak.md") == 0
    source = database_version()
    peak = expected_cost(fake, RATES["peak"])
    err = capsys.readouterr().err
    assert f"completion tokens (cost {peak}, {source}, 4 of 4 at peak);" in err
    table = (tmp_path / "peak.md").read_text(encoding="utf-8").splitlines()[-1]
    assert re.fullmatch(rf"\| \d+ \| \d+ \| \d+ \| \{peak} \| {source} \| 4 of 4 \|", table)

    fake.usages.clear()
    price_clock[0] = PEAK.replace(hour=12)
    assert project.run("build", "--jobs", "1", "--force") == 0
    off = expected_cost(fake, RATES["off-peak"])
    assert f"(cost {off}, {source}, 0 of 4 at peak);" in capsys.readouterr().err
    assert float(peak[1:]) > 1.5 * float(off[1:])


def test_config_prices_win_over_genai_prices(
    use: Use, price_clock: list[datetime], capsys: pytest.CaptureFixture[str]
) -> None:
    fake = DeepSeekFake()
    prices = "price_per_million_input = 1.0\nprice_per_million_output = 2.0"
    project = use(fake, "deepseek-v4-flash", f'provider = "deepseek"\n{prices}')
    price_clock[0] = PEAK
    assert project.run("build") == 0
    prompt = sum(u["prompt_tokens"] for u in fake.usages)
    completion = sum(u["completion_tokens"] for u in fake.usages)
    cost = Decimal(prompt * 1 + completion * 2) / 1_000_000  # cache hits at the input price
    assert f"(cost {cost:.4f}, config prices);" in capsys.readouterr().err


def test_doctor_prints_the_auto_budget_the_next_builds_cost_and_that_now_is_peak(
    use: Use, price_clock: list[datetime], capsys: pytest.CaptureFixture[str]
) -> None:
    fake = DeepSeekFake()
    project = use(fake, "deepseek-v4-flash", 'provider = "deepseek"')
    text = project.config.read_text(encoding="utf-8")
    project.write_config(text.replace("max_input_tokens = 12000", 'max_input_tokens = "auto"'))
    price_clock[0] = PEAK
    assert project.run("doctor") == 0
    lines = capsys.readouterr().out.splitlines()
    source = database_version()
    (context,) = [line for line in lines if "context 1000000 tokens" in line]
    budget = int(re.search(r"up to ~(\d+) tokens of text", context).group(1))
    assert context == (
        f"  ok: context 1000000 tokens ({source}): papers of up to ~{budget} tokens of text "
        "are sent whole"
    )
    assert lines[-3].endswith(
        f"(auto budget: up to {budget} tokens of text, 1000000-token context; 3 papers' size "
        "guessed at 12000)"
    )
    cost = re.fullmatch(
        rf"  cost: up to ~\$(\S+) at {source} prices; now \(Mon 02:00 UTC\) is peak, at twice "
        r"the off-peak price; ~\$(\S+) from Mon 04:00 UTC",
        lines[-2],
    )
    assert cost and float(cost.group(1)) == pytest.approx(2 * float(cost.group(2)), rel=0.01)

    # after a build the papers' own sizes are known: none is guessed (another model: all stale)
    assert project.run("build") == 0
    sizes = sum(state(project, p)["input"]["paper_tokens"] for p in SHORT_IDS)
    text = project.config.read_text(encoding="utf-8")
    project.write_config(text.replace('"deepseek-v4-flash"', '"deepseek-v4-pro"'))
    price_clock[0] = PEAK.replace(hour=12)
    capsys.readouterr()
    assert project.run("doctor") == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[-4] == "stored: 3 summaries read their paper whole, 0 a cut text"
    prompt = int(re.search(r"up to ~(\d+) prompt", lines[-3]).group(1))
    assert sizes < prompt < sizes + 3 * 2000  # each paper's text and the prompt around it
    assert "(auto budget: up to " in lines[-3] and "guessed" not in lines[-3]
    assert re.fullmatch(
        rf"  cost: up to ~\$\S+ at {source} prices; now \(Mon 12:00 UTC\) is off-peak", lines[-2]
    )

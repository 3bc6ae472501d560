"""`doctor`: can this config work? arXiv, the key, the model, JSON mode, reasoning, the context;
then what the next build would do and cost. Downloads no PDF; exit 0 when it can work, 2 when not.
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass, field
from typing import TextIO

from pipeline.config import Config, api_key
from pipeline.console import clip, one_line
from pipeline.errors import ConfigError
from pipeline.llm import prices
from pipeline.llm.prices import PriceBook
from pipeline.llm.probe import (
    Finding,
    context_finding,
    measured_context,
    prompt_overhead,
    text_tokens,
)
from pipeline.llm.prompts import prompt_hash
from pipeline.llm.providers import profile_for
from pipeline.llm.window import Window, database_window, find_window, text_budget
from pipeline.plan import stale_reason
from pipeline.redact import RedactFilter
from pipeline.sources.arxiv import ArxivClient
from pipeline.state import StateStore, Usage

EXIT_OK, EXIT_USAGE = 0, 2
COMPLETION_GUESS = 1500  # tokens of a summary answer, when no stored usage tells better


@dataclass
class Checks:
    findings: list[Finding] = field(default_factory=list)
    window: Window | None = None  # the model's context window, when genai-prices or it tells

    def add(self, finding: Finding) -> None:
        self.findings.append(finding)

    @property
    def problems(self) -> int:
        return sum(1 for f in self.findings if f.level == "problem")


def run_doctor(config: Config, out: TextIO | None = None) -> int:
    """Print one line per check and the next build's plan; 0 when the config can work, else 2."""
    out = out or sys.stdout
    checks = Checks()
    checks.add(check_arxiv(config))
    try:
        key = api_key(config)
    except ConfigError as exc:
        checks.add(Finding("problem", str(exc)))
        checks.add(Finding("warn", "model, JSON mode, reasoning and context not checked: no key"))
    else:
        for handler in logging.getLogger().handlers:
            handler.addFilter(RedactFilter(key))
        check_endpoint(config, key, checks)
    labels = {"ok": "ok", "warn": "warning", "problem": "problem"}
    for finding in checks.findings:
        print(f"  {labels[finding.level]}: {one_line(finding.text, 185)}", file=out)
    stored = stored_input(config, checks.window)
    if stored:
        print(f"stored: {stored}", file=out)
    plan, *more = next_build(config, checks.window)
    print(f"next build: {plan}", file=out)
    for line in more:
        print(f"  {line}", file=out)
    if checks.problems:
        print(f"doctor: {checks.problems} problem(s): this config cannot work yet", file=out)
        return EXIT_USAGE
    print("doctor: this config can work", file=out)
    return EXIT_OK


def check_arxiv(config: Config) -> Finding:
    """One metadata request for the first listed paper (no PDF)."""
    if not config.papers:
        return Finding("warn", "no papers listed: arXiv not asked")
    first = config.papers[0]
    client = ArxivClient(config.arxiv)
    try:
        metas, errors = client.metadata([first])
    finally:
        client.close()
    meta = metas.get(first.id)
    if meta is None:
        reason = errors.get(first.id, "no answer")
        return Finding("problem", f"arXiv ({config.arxiv.api_url}) about {first.id}: {reason}")
    title = clip(meta.title, 60)
    return Finding("ok", f"arXiv answered: {first.id}v{meta.version} {title}")


def check_endpoint(config: Config, key: str, checks: Checks) -> None:
    """The key, the model and JSON mode (the build's preflight request), reasoning, context."""
    from pipeline.llm.client import ModelClient

    cfg = config.llm
    client = ModelClient(cfg, key)
    try:
        try:
            usage = client.preflight()
        except ConfigError as exc:
            checks.add(Finding("problem", str(exc)))
            return
        if usage is None:  # busy or slow (429, 5xx, timeout): the preflight went on
            checks.add(Finding("warn", f"{client.host} did not answer the test request in time"))
            return
        provider = client.profile.name
        checks.add(
            Finding("ok", f"{client.host} ({provider}) accepts the key in {cfg.api_key_env}, "
                    f"knows {cfg.model} and answers in JSON mode")
        )  # fmt: skip
        checks.add(reasoning_finding(usage.reasoning_tokens, cfg.reasoning))
        told = checks.window = find_window(cfg, provider, key)
        fix = client.profile.context_fix
        if told is not None:
            checks.add(context_finding(told, cfg, fix))
        else:
            checks.add(measured_context(client, cfg, fix))
    finally:
        client.close()


def reasoning_finding(tokens: int, setting: str) -> Finding:
    """Reasoning tokens in a tiny answer: thinking is on (billed as output, slower)."""
    if not tokens:
        return Finding("ok", "no reasoning tokens in the answer")
    if setting != "off":
        return Finding("ok", f"the model reasons ({tokens} tokens), as llm.reasoning = {setting!r}")
    return Finding(
        "warn",
        f"the model reasoned ({tokens} tokens in a tiny answer) with llm.reasoning = 'off': "
        "billed as output and slower; set llm.provider, or llm.extra_body to turn it off",
    )


def next_build(config: Config, window: Window | None = None) -> list[str]:
    """The papers the stored state says to summarise, their tokens under the budget (a paper's
    size from its last build, else guessed) and their cost now; arXiv versions unchecked."""
    store = StateStore(config.data_dir)
    prompt_sha = prompt_hash()
    sizes, completions = [], []
    for paper in config.papers:
        state = store.load(paper.id)
        if stale_reason(config, paper, state, None, prompt_sha):
            sizes.append(state.input.paper_tokens if state and state.input else None)
        usage = state.usage if state else None
        if usage and usage.completion_tokens:
            completions.append(usage.completion_tokens // max(usage.attempts, 1))
    if not sizes:
        return ["nothing to summarise (new arXiv versions are found by the build itself)"]
    per_answer = sum(completions) // len(completions) if completions else COMPLETION_GUESS
    budget, said = _budget(config, window)
    overhead = prompt_overhead()
    texts = [size or text_tokens(config.llm) for size in sizes]
    prompt = sum(min(t, budget) if budget is not None else t for t in texts) + overhead * len(sizes)
    completion = len(sizes) * per_answer
    guessed = sum(1 for size in sizes if not size)
    guess = f"; {guessed} papers' size guessed at {text_tokens(config.llm)}" if guessed else ""
    plan = (
        f"{len(sizes)} papers to summarise, up to ~{prompt} prompt + ~{completion} completion "
        f"tokens "
        f"({said}{guess})"
    )
    return [plan, _cost_line(config, prompt, completion)]


def stored_input(config: Config, window: Window | None = None) -> str | None:
    """What the stored summaries read of their papers, and how many of the cut ones the budget
    now holds whole (a budget change redoes nothing by itself); None before any summary."""
    store = StateStore(config.data_dir)
    read = [s.input for p in config.papers if (s := store.load(p.id)) and s.summary and s.input]
    if not read:
        return None
    cut = [given for given in read if given.omitted]
    line = f"{len(read) - len(cut)} summaries read their paper whole, {len(cut)} a cut text"
    budget, _ = _budget(config, window)
    fits = [g for g in cut if g.paper_tokens and (budget is None or g.paper_tokens <= budget)]
    if fits:
        line += (
            f"; the budget now holds {len(fits)} of those whole (`build --only ID --force` "
            "redoes one)"
        )
    return line


def _budget(config: Config, window: Window | None) -> tuple[int | None, str]:
    """The paper-text budget of the next build and how to say it."""
    cfg = config.llm
    if cfg.max_input_tokens != "auto":
        return cfg.max_input_tokens, f"llm.max_input_tokens {cfg.max_input_tokens}"
    window = window or database_window(cfg, profile_for(cfg).name)
    if window is None:
        return None, "auto budget: whole papers, the context unknown"
    budget = text_budget(window.tokens, cfg.max_output_tokens, prompt_overhead())
    return budget, f"auto budget: up to {budget} tokens of text, {window.tokens}-token context"


def _cost_line(config: Config, prompt: int, completion: int) -> str:
    """Its cost at the prices in force now, and whether now is a peak hour."""
    book = PriceBook(config.llm, profile_for(config.llm).name)
    now = prices.clock()
    price = book.price(Usage(prompt, 0, completion, 0), now)
    if price is None:
        return f"cost: unknown (no prices in [llm], {config.llm.model} not in genai-prices)"
    money = f"{price.cost:.4f}" if price.source == "config" else f"${price.cost:.4f}"
    line = f"cost: up to ~{money} at {price.source} prices"
    if price.peak is None:
        return line
    if not price.peak:
        return line + f"; now ({now:%a %H:%M} UTC) is off-peak"
    later = prices.off_peak_from(book.info, now)
    cheaper = book.price(Usage(prompt, 0, completion, 0), later) if later else None
    after = f"; ~${cheaper.cost:.4f} from {later:%a %H:%M} UTC" if later and cheaper else ""
    return line + f"; now ({now:%a %H:%M} UTC) is peak, at twice the off-peak price{after}"

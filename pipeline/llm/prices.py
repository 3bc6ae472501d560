"""What a model costs and how much it reads: the config's prices, else the genai-prices database.

genai-prices (pydantic) holds, per provider and model, prices per million tokens (input, cache
read, output) with their time conditions (DeepSeek's peak hours cost twice the off-peak price)
and the context window. Its data is the snapshot of the installed version: the config's
`price_per_million_*` win, and every cost says its source ("config" or "genai-prices 0.2.5").
Local servers (Ollama, vLLM, llama.cpp) are never looked up: their model costs nothing per token
and their context is what the server was started with.

`clock` is the one place a price asks the time: tests replace it, nothing else reads the wall
clock for a price.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from pipeline.llm.providers import PROFILES

if TYPE_CHECKING:
    from pipeline.config import LlmConfig
    from pipeline.state import Usage

logger = logging.getLogger(__name__)


MILLION = Decimal(1_000_000)


def _exact(price: float | None) -> Decimal:
    """A config price as the decimal the user wrote (0.27, not 0.27000000000000001776)."""
    return Decimal(str(price)) if price is not None else Decimal(0)


def clock() -> datetime:
    """Now, in UTC: the time a request is priced at."""
    return datetime.now(UTC)


def database_version() -> str:
    """ "genai-prices 0.2.5": the source named next to a cost or a window from the database."""
    from genai_prices import __version__

    return f"genai-prices {__version__}"


def lookup(model: str, provider: str) -> Any | None:
    """The genai-prices model entry (its `context_window`, `prices`) for the configured model
    on a provider (a resolved profile name); None for a local server or a model it does not
    know. The same lookup `calc_price` does, without a price calculation."""
    if PROFILES[provider].local:
        return None
    from genai_prices import data_snapshot

    try:
        _, info = data_snapshot.get_snapshot().find_provider_model(
            model, None, PROFILES[provider].prices_id, None
        )
    except LookupError:
        logger.debug("genai-prices does not know %s on %s", model, provider)
        return None
    return info


def at_peak(info: Any, at: datetime) -> bool:
    """Whether the price in force at `at` is a time-of-day one (DeepSeek's peak hours), as
    genai-prices picks it: the last condition that holds wins."""
    from genai_prices.types import TimeOfDateConstraint

    if not isinstance(info.prices, list):
        return False
    for conditional in reversed(info.prices):
        if conditional.constraint is None or conditional.constraint.active(at):
            return isinstance(conditional.constraint, TimeOfDateConstraint)
    return False


def has_peak_hours(info: Any) -> bool:
    """Whether some of the model's prices hold only at certain hours of the day."""
    from genai_prices.types import TimeOfDateConstraint

    conditions = info.prices if isinstance(info.prices, list) else []
    return any(isinstance(c.constraint, TimeOfDateConstraint) for c in conditions)


def off_peak_from(info: Any, at: datetime) -> datetime | None:
    """The first moment after `at` (within a day, in 5-minute steps) that is not a peak hour."""
    step = timedelta(minutes=5)
    moment = at.replace(second=0, microsecond=0, minute=at.minute - at.minute % 5)
    for _ in range(24 * 12):
        moment += step
        if not at_peak(info, moment):
            return moment
    return None


@dataclass(frozen=True)
class Price:
    """What one request (or a guess of many) cost, where the price came from, and whether it
    was a peak-hour price."""

    cost: Decimal  # exact: a run's total does not depend on the order its requests ended
    source: str  # "config" or "genai-prices 0.2.5"
    peak: bool | None = None  # None: the model has no peak hours (or the config's prices)


class PriceBook:
    """The run's prices: the config's when it sets any, else genai-prices for the model."""

    def __init__(self, cfg: LlmConfig, provider: str) -> None:
        self.cfg = cfg
        self.provider = provider  # the resolved profile name (deepseek, openai, generic, ...)
        self._info: Any | None = None
        self._looked_up = False
        self._lock = threading.Lock()

    @property
    def from_config(self) -> bool:
        cfg = self.cfg
        return cfg.price_per_million_input is not None or cfg.price_per_million_output is not None

    @property
    def info(self) -> Any | None:
        """The model's genai-prices entry, looked up once (None: not known there)."""
        with self._lock:
            if not self._looked_up:
                self._info = lookup(self.cfg.model, self.provider)
                self._looked_up = True
            return self._info

    def price(self, usage: Usage, at: datetime) -> Price | None:
        """The cost of `usage` spent at `at`; None when neither the config nor genai-prices
        has a price for the model. Cached prompt tokens cost the cache-read price."""
        if self.from_config:
            return Price(self._config_cost(usage), "config")
        info = self.info
        if info is None:
            return None
        from genai_prices import Usage as Spent
        from genai_prices import calc_price

        spent = Spent(
            input_tokens=usage.prompt_tokens,
            cache_read_tokens=usage.cached_prompt_tokens,
            output_tokens=usage.completion_tokens,
        )
        try:
            found = calc_price(
                spent,
                self.cfg.model,
                provider_id=PROFILES[self.provider].prices_id,
                genai_request_timestamp=at,
            )
        except (LookupError, ValueError, TypeError):  # an entry this version cannot price
            logger.debug("genai-prices cannot price %s", self.cfg.model, exc_info=True)
            return None
        peak = at_peak(info, at) if has_peak_hours(info) else None
        return Price(Decimal(found.total_price), database_version(), peak)

    def _config_cost(self, usage: Usage) -> Decimal:
        cfg = self.cfg
        p_in, p_out = _exact(cfg.price_per_million_input), _exact(cfg.price_per_million_output)
        p_cached = cfg.price_per_million_cached_input
        cached = usage.cached_prompt_tokens if p_cached is not None else 0
        prompt = (usage.prompt_tokens - cached) * p_in + cached * _exact(p_cached)
        return (prompt + usage.completion_tokens * p_out) / MILLION

    def peak_now(self, at: datetime) -> bool | None:
        """Whether `at` falls in the model's peak hours; None when genai-prices does not
        know the model (or the config's prices, which have no hours, are used)."""
        info = None if self.from_config else self.info
        return at_peak(info, at) if info is not None and has_peak_hours(info) else None


@dataclass
class RunCost:
    """What a run's requests cost, priced one by one at the time each was answered."""

    total: Decimal = Decimal(0)
    requests: int = 0
    priced: int = 0
    timed: int = 0  # requests of a model with peak hours
    peak: int = 0  # of them, priced at the peak rate
    sources: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, price: Price | None) -> None:
        """Count one request, priced or not."""
        with self._lock:
            self.requests += 1
            if price is None:
                return
            self.priced += 1
            self.total += price.cost
            if price.peak is not None:
                self.timed += 1
                self.peak += price.peak
            if price.source not in self.sources:
                self.sources.append(price.source)

    @property
    def known(self) -> bool:
        """Every request had a price."""
        return self.priced == self.requests

    @property
    def source(self) -> str:
        return ", ".join(self.sources)

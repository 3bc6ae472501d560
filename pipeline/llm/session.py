"""The model side of one build: the client, imported in the background, and its preflight."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from pipeline.config import LlmConfig
from pipeline.errors import ConfigError, PreflightRefused, RunError, SummariseError
from pipeline.llm.context import MIN_TEXT_BUDGET
from pipeline.llm.limiter import AdaptiveLimiter
from pipeline.llm.prices import PriceBook
from pipeline.llm.providers import profile_for

if TYPE_CHECKING:
    from pipeline.llm.summarise import Summariser
    from pipeline.llm.window import Window
    from pipeline.state import Meta, Usage

logger = logging.getLogger(__name__)


class ModelSession:
    """Builds the run's `Summariser` once (the openai import costs ~0.4 s of CPU) in a background
    thread that then sends the preflight, and closes it at the end of the run.

    `on_usage` counts the preflight's tokens in the run; `on_stage` says what is going on.
    """

    def __init__(
        self,
        cfg: LlmConfig,
        api_key: str | None,
        limiter: AdaptiveLimiter,
        on_usage: Callable[[Usage], None],
        on_stage: Callable[[str], None],
    ) -> None:
        self.cfg = cfg
        self.api_key = api_key
        self.limiter = limiter
        self._on_usage = on_usage
        self._on_stage = on_stage
        self._summariser: Summariser | None = None
        self._lock = threading.Lock()  # held while the client is imported and built
        self._preparing: threading.Thread | None = None
        self._preflight_error: ConfigError | None = None
        self._answered = threading.Event()  # set once the preflight has its verdict
        self.provider = profile_for(cfg).name
        self.prices = PriceBook(cfg, self.provider)
        self._window: Window | None = None
        self._window_found = False
        self._window_lock = threading.Lock()

    @property
    def summariser(self) -> Summariser:
        """The run's summariser, built on first use."""
        with self._lock:
            if self._summariser is None:
                from pipeline.llm.summarise import Summariser

                if not self.api_key:
                    raise SummariseError("build", "no API key")
                self._summariser = Summariser(self.cfg, self.api_key, limiter=self.limiter)
            return self._summariser

    @property
    def unreachable(self) -> RunError | None:
        """The one line saying the endpoint went down during this run, if it did."""
        return self._summariser.client.unreachable if self._summariser is not None else None

    def prepare(self) -> None:
        """Import and build the client and send the preflight, in the background, once."""
        if self._preparing is None:
            self._preparing = threading.Thread(
                target=self._prepare, name="model-client", daemon=True
            )
            self._preparing.start()

    @property
    def window(self) -> Window | None:
        """The model's context window (genai-prices, else the endpoint), found once a run."""
        with self._window_lock:
            if not self._window_found:
                from pipeline.llm.window import find_window

                self._window = find_window(self.cfg, self.provider, self.api_key or "")
                self._window_found = True
                if self._window is not None:
                    size, source = self._window.tokens, self._window.source
                    logger.info("model context window: %d tokens (%s)", size, source)
                    self.summariser.context.learn(size, None, 0)  # caps fitted before sending
            return self._window

    def text_budget(self, meta: Meta) -> int | None:
        """Tokens of paper text for one paper's prompt: llm.max_input_tokens, or with "auto"
        what the model's window leaves (None: unknown, send it all; a 400 will tell)."""
        cfg = self.cfg
        if cfg.max_input_tokens != "auto":
            return cfg.max_input_tokens
        window = self.window
        if window is None:
            return None
        from pipeline.llm.window import text_budget

        own = self.summariser.prompt_tokens(meta)
        budget = text_budget(window.tokens, cfg.max_output_tokens, own)
        if budget < MIN_TEXT_BUDGET:
            raise SummariseError(
                meta.id,
                f"the model's context ({window.tokens} tokens, {window.source}) leaves no room "
                f"for the paper after llm.max_output_tokens ({cfg.max_output_tokens})",
            )
        return budget

    def _prepare(self) -> None:
        try:
            _ = self.summariser
            self.preflight()
        except ConfigError as exc:  # the preflight's verdict: raised by `verdict`
            self._preflight_error = exc
        except Exception:  # each paper that needs it reports the error itself
            logger.debug("model client not prepared", exc_info=True)
        finally:
            self._answered.set()
        try:
            if self._preflight_error is None and self.cfg.max_input_tokens == "auto":
                _ = self.window  # the endpoint's answer (or the database's) meanwhile
        except Exception:  # each paper that needs it asks again and reports the error itself
            logger.debug("context window not found", exc_info=True)

    def preflight(self) -> None:
        """One small model request: ConfigError (exit 2) when this config cannot work."""
        if self.cfg.max_run_tokens == 0:  # every paper is deferred: nothing is asked
            return
        from pipeline.llm.client import endpoint_host

        self._on_stage(f"checking the model endpoint {endpoint_host(self.cfg.base_url)}")
        self._on_usage(self.summariser.preflight())

    @property
    def refused(self) -> bool:
        """Whether the preflight has answered that this config cannot work (without waiting)."""
        return self._preflight_error is not None

    def verdict(self) -> None:
        """Wait for the preflight sent by `prepare`, if any: PreflightRefused (a ConfigError, exit
        2) when it refused this config. Downloads and extraction run while it is answered; a
        paper's model request, and any paper's recorded failure, wait for it."""
        if self._preparing is not None:
            self._answered.wait()
        if self._preflight_error is not None:
            raise PreflightRefused(str(self._preflight_error))

    def close(self, wait: bool = True) -> None:
        """Wait for a background preflight (not after an interrupt); close the keep-alive
        connection to the endpoint."""
        if self._preparing is not None and wait:
            self._preparing.join()
        if self._summariser is not None:
            self._summariser.client.close()

"""Fitting prompts to a model's context once the endpoint has named its size (HTTP 400
"maximum context length is N tokens", llama.cpp's exceed_context_size_error with n_ctx).

The first such 400 teaches the run the context size and how the endpoint's token count compares
with our estimate; every later prompt of the run is fitted before it is sent: the answer cap is
lowered when that is enough, else the paper text gets a smaller budget.
"""

from __future__ import annotations

import math
import threading

MARGIN = 1.05  # our estimate is within a few per cent of a tokenizer: keep that much spare
MIN_CAP = 512  # an answer cap lower than this is not worth a request
ANSWER_ROOM = 1024  # tokens kept for the answer when the paper text is cut to fit
MIN_TEXT_BUDGET = 500  # less paper text than this is not worth a summary


class Context:
    """What the run knows about the model's context; shared by the papers' threads."""

    def __init__(self) -> None:
        self.limit: int | None = None
        self.scale = 1.0  # the endpoint's token count over our estimate
        self._lock = threading.Lock()

    def learn(self, limit: int | None, counted: int | None, estimated: int) -> None:
        """Remember the context size an endpoint named, and its count of a prompt we estimated."""
        if limit is None:
            return
        with self._lock:
            self.limit = limit if self.limit is None else min(self.limit, limit)
            if counted and estimated:
                self.scale = min(max(counted / estimated, 0.5), 2.0)

    def fit(self, prompt: int, text: int, cap: int) -> tuple[int | None, int] | None:
        """(a smaller text budget, or None to keep the text; the answer cap) for a prompt of
        `prompt` estimated tokens, `text` of them paper text; None when nothing useful fits."""
        with self._lock:
            limit, scale = self.limit, self.scale
        if limit is None:
            return None, cap
        counted = math.ceil(prompt * scale * MARGIN)
        if counted + cap <= limit:
            return None, cap
        if limit - counted >= MIN_CAP:
            return None, limit - counted
        room = min(cap, max(ANSWER_ROOM, limit // 3))
        budget = int((limit - room) / (scale * MARGIN)) - (prompt - text)
        if budget < MIN_TEXT_BUDGET or budget >= text:
            return None
        return budget, room

    def ceiling(self, prompt: int) -> int | None:
        """The largest answer cap that fits with a prompt of `prompt` estimated tokens."""
        with self._lock:
            limit, scale = self.limit, self.scale
        return None if limit is None else limit - math.ceil(prompt * scale * MARGIN)

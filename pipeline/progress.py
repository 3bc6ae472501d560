"""Progress on stderr: one live status line on a terminal, plain log lines elsewhere (cron, CI)."""

from __future__ import annotations

import logging
import sys
import threading
from typing import TextIO

from pipeline.console import clip

logger = logging.getLogger("pipeline.progress")

STATUS_WORDS = {"done": "done", "skipped": "skipped", "failed": "FAILED", "deferred": "deferred"}


class Progress:
    """Receives stage events from the build; renders them for a terminal or a log."""

    def __init__(self, stream: TextIO | None = None, live: bool | None = None, quiet: bool = False):
        self.stream = stream or sys.stderr
        self.live = self.stream.isatty() if live is None else live
        self.quiet = quiet
        self.total = 0
        self.finished = 0
        self._lock = threading.Lock()
        self._line = ""

    def stage(self, text: str) -> None:
        """Announce a stage of the run (one line)."""
        self._say(text)

    def start(self, total: int) -> None:
        """Begin counting `total` papers."""
        with self._lock:
            self.total, self.finished = total, 0
        self._say(f"{total} papers to summarise")

    def update(self, paper_id: str, text: str) -> None:
        """Show what a paper is doing now (overwritten on a terminal)."""
        self._say(f"{paper_id}: {text}", transient=True)

    def finish(self, paper_id: str, status: str, reason: str, quiet: bool = False) -> None:
        """Record a paper's outcome (done, failed, skipped ...) and why (unless `quiet`)."""
        with self._lock:
            if status != "skipped":
                self.finished += 1
        if quiet:
            return
        if status == "failed":
            self._say(f"{paper_id}: FAILED: {reason}", force=True)
        elif status != "skipped":
            self._say(f"{paper_id}: {STATUS_WORDS.get(status, status)} ({reason})")

    def _say(self, text: str, transient: bool = False, force: bool = False) -> None:
        if self.quiet and not force:
            return
        with self._lock:
            counter = f"[{self.finished}/{self.total}] " if self.total else ""
            if self.live:
                line = f"\r\x1b[2K{clip(counter + text)}"
                self.stream.write(line if transient else line + "\n")
                self.stream.flush()
            else:
                level = logging.WARNING if force else logging.DEBUG if transient else logging.INFO
                logger.log(level, "%s%s", counter, text)  # cut by the log's formatter

    def close(self) -> None:
        """Clear the live line, if any."""
        if self.live:
            self.stream.write("\r\x1b[2K")
            self.stream.flush()

"""The console's one rule: no line over CONSOLE_WIDTH characters unless -v asked for detail."""

from __future__ import annotations

import logging

CONSOLE_WIDTH = 200


def clip(line: str, limit: int = CONSOLE_WIDTH) -> str:
    """A console line cut to `limit` characters (the whole text is in the -v log)."""
    return line if len(line) <= limit else line[: limit - 1] + "…"


def one_line(text: str, limit: int = CONSOLE_WIDTH) -> str:
    """`text` with its whitespace collapsed to single spaces, cut to `limit` characters."""
    return clip(" ".join(text.split()), limit)


class ClipFormatter(logging.Formatter):
    """Formats a log record as its message, every line cut to CONSOLE_WIDTH (not with -v)."""

    def __init__(self, verbose: bool) -> None:
        super().__init__("%(message)s")
        self.verbose = verbose

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        if self.verbose:
            return text
        return "\n".join(clip(line) for line in text.splitlines())

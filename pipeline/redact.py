"""Keep the API key out of every message, log line and file."""

from __future__ import annotations

import logging


def redact(text: str, secret: str | None) -> str:
    """`text` with every occurrence of `secret` (if any) replaced by a marker."""
    if secret and len(secret) >= 4 and secret in text:
        return text.replace(secret, "[redacted]")
    return text


class RedactFilter(logging.Filter):
    """A logging filter that strips the secret from every record's final message."""

    def __init__(self, secret: str) -> None:
        super().__init__()
        self.secret = secret

    def filter(self, record: logging.LogRecord) -> bool:
        """Replace the secret in the record's message; never drop the record."""
        message = record.getMessage()
        if self.secret in message:
            record.msg, record.args = redact(message, self.secret), None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = redact(
                logging.Formatter().formatException(record.exc_info), self.secret
            )
        return True

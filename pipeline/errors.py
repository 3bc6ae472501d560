"""The pipeline's exceptions, each carrying what a user needs to find the culprit.

PipelineError
 ├── ConfigError        bad usage, config or environment (exit 2)
 ├── LockError          another build holds the lock (exit 3)
 └── PaperError         one paper failed; the others go on (exit 1)
      ├── FetchError       metadata or PDF download
      ├── PdfError         the PDF could not be read or has no text
      └── SummariseError   the model call or its answer
"""

from __future__ import annotations

import difflib
from collections.abc import Collection, Mapping
from typing import Any


class PipelineError(Exception):
    """Base of every error the pipeline reports to the user."""


class ConfigError(PipelineError):
    """The config, the command line or the environment is unusable."""


class LockError(PipelineError):
    """Another build is running on the same output."""


class PaperError(PipelineError):
    """One paper could not be processed; carries its ID and the reason."""

    stage = "paper"

    def __init__(self, paper_id: str, reason: str) -> None:
        super().__init__(f"{paper_id}: {reason}")
        self.paper_id = paper_id
        self.reason = reason


class FetchError(PaperError):
    """arXiv metadata or the PDF could not be fetched."""

    stage = "fetch"


class PdfError(PaperError):
    """The PDF is broken, truncated, or has no extractable text."""

    stage = "extract"


class SummariseError(PaperError):
    """The model gave no usable answer for the paper."""

    stage = "summarise"


def check_known_keys(given: Mapping[str, Any], known: Collection[str], where: str) -> None:
    """ConfigError naming the first unknown key of a config table (with a did-you-mean)."""
    unknown = sorted(set(given) - set(known))
    if unknown:
        close = difflib.get_close_matches(unknown[0], known, n=1)
        hint = f"did you mean {close[0]!r}?" if close else f"known: {', '.join(sorted(known))}"
        raise ConfigError(f"{where}: unknown key {unknown[0]!r} ({hint})")

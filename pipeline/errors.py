"""The pipeline's exceptions, each carrying what a user needs to find the culprit.

PipelineError
 ├── ConfigError        bad usage, config or environment (exit 2)
 │    ├── NewerSchemaError    a state file from a newer pipeline, never overwritten (state.py)
 │    ├── PreflightRefused    the endpoint refused the key, model, URL or JSON mode
 │    └── CorruptStateError   a state file that is not a readable state, named (by state.py)
 ├── LockError          another build holds the lock (exit 3)
 └── PaperError         one paper failed, `stage` says where; the others go on (exit 1)
      ├── FetchError       the PDF download (stage "fetch"), or a watch's arXiv search
      │    ├── ApiFailure       an arXiv API request failed after its retries (sources/arxiv.py)
      │    └── Withdrawn        the version's PDF is gone (404): withdrawn, not a failure
      ├── PdfError         the PDF could not be read or has no text
      └── SummariseError   the model call or its answer
           └── ContextExceeded  the prompt is over the endpoint's context (llm/client.py)

Caught inside their stage and turned into one of the above (or a retry):
  RetryableStatus    sources/retry.py    an HTTP 429/5xx answer: retried
  NotAFeed           sources/arxiv.py    an arXiv API 200 that is not a whole feed: retried
  ExtractError       text/extract.py     a PDF without text: a PdfError
  StateFormatError   state.py            JSON that is not a paper state: a CorruptStateError
  WritesStopped      store.py            a write after Ctrl-C / SIGTERM: refused, nothing recorded
  QueryError         watch/query.py      a malformed watch query: a ConfigError
  ReadmeFormatError  commands/import_parse.py   a README not in the format: a ConfigError

A failure of the whole run (arXiv or the model endpoint unreachable) is no exception but a
RunError below: said once before the papers, whose reason is its short kind.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

# Where a paper failed, as stored in its state's `last_error`: the arXiv metadata request, the
# PDF download ("fetch"), the text extraction, the model, or anything unexpected ("paper").
Stage = Literal["metadata", "fetch", "extract", "summarise", "paper"]

# A whole-run failure's kind: also the short reason of every paper it hits.
RunKind = Literal[
    "arXiv unreachable", "arXiv API failed", "model endpoint unreachable", "output not writable"
]
ARXIV_UNREACHABLE: RunKind = "arXiv unreachable"  # arXiv could not be reached at all
ARXIV_API_FAILED: RunKind = "arXiv API failed"  # the API kept answering with an error
MODEL_UNREACHABLE: RunKind = "model endpoint unreachable"
OUTPUT_UNWRITABLE: RunKind = "output not writable"  # a write refused mid-run (disk full ...)


@dataclass(frozen=True)
class RunError:
    """A whole-run failure, said once before the papers: its kind (the short reason the papers
    it hits carry), the host, and the line that names the host and the cause."""

    kind: RunKind
    host: str
    line: str

    def __str__(self) -> str:
        return self.line


class PipelineError(Exception):
    """Base of every error the pipeline reports to the user."""


class ConfigError(PipelineError):
    """The config, the command line or the environment is unusable."""


class PreflightRefused(ConfigError):
    """The preflight's refusal, raised in each paper's thread that meets it (the paper records
    nothing) and once for the run."""


class LockError(PipelineError):
    """Another build is running on the same output."""


class PaperError(PipelineError):
    """One paper could not be processed; carries its ID and the reason."""

    stage: Stage = "paper"

    def __init__(self, paper_id: str, reason: str) -> None:
        super().__init__(f"{paper_id}: {reason}")
        self.paper_id = paper_id
        self.reason = reason


class FetchError(PaperError):
    """arXiv metadata or the PDF could not be fetched."""

    stage: Stage = "fetch"


class Withdrawn(FetchError):
    """arXiv withdrew this version (its PDF is gone): the build skips it, it is no failure."""


class PdfError(PaperError):
    """The PDF is broken, truncated, or has no extractable text."""

    stage: Stage = "extract"


class SummariseError(PaperError):
    """The model gave no usable answer for the paper."""

    stage: Stage = "summarise"


def check_known_keys(given: Mapping[str, Any], known: Collection[str], where: str) -> None:
    """ConfigError naming the first unknown key of a config table (with a did-you-mean)."""
    unknown = sorted(set(given) - set(known))
    if unknown:
        close = difflib.get_close_matches(unknown[0], known, n=1)
        hint = f"did you mean {close[0]!r}?" if close else f"known: {', '.join(sorted(known))}"
        raise ConfigError(f"{where}: unknown key {unknown[0]!r} ({hint})")


class CorruptStateError(ConfigError):
    """A state file that is not a readable paper state: named, never taken for "no state"."""

    def __init__(self, path: Path, paper_id: str, cause: str) -> None:
        super().__init__(
            f"{_shown(path)}: unreadable paper state ({cause}); restore it (git checkout), or "
            f"summarise the paper again: build --only {paper_id} --force --take-back"
        )
        self.paper_id = paper_id


def _shown(path: Path) -> Path:
    """The path relative to the working folder when it is inside it (shorter), else whole."""
    try:
        return path.relative_to(Path.cwd())
    except ValueError:
        return path


def state_cause(exc: BaseException) -> str:
    """Why a state file is unreadable, in a few words (a JSON or shape error)."""
    if isinstance(exc, json.JSONDecodeError):
        return f"not JSON, line {exc.lineno}"
    if isinstance(exc, UnicodeDecodeError):
        return "not UTF-8 text"
    if isinstance(exc, OSError):
        return exc.strerror or type(exc).__name__
    return str(exc)[:80] or type(exc).__name__

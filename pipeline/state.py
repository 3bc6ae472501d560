"""The typed paper state and the one place that reads and writes output/data/{ID}.json.

On disk (schema 3) every field below is present, `null` when unknown, except the `WHEN_SET`
ones (a paper's questions and answers, its key figure), written only when set; keys are sorted.
Files written by 0.1 (schema 1, or no schema) left optional keys out and had no cached or
reasoning token counts; schema 2 files lack `withdrawn`: both load with the defaults and are
rewritten in the new layout only when something in them changes. Unknown keys are kept and
written back as they were. A file from a newer schema, or one that is not a readable state (cut
short, a merge conflict, a bad hand edit), is refused with a ConfigError naming the file (exit
2), never overwritten nor taken for "no state".
"""

from __future__ import annotations

import contextlib
import json
import logging
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from pipeline.errors import ConfigError, CorruptStateError, Stage, state_cause
from pipeline.names import file_id, id_of_file
from pipeline.store import write_if_changed

logger = logging.getLogger(__name__)

STATE_SCHEMA = 3
OLD_SCHEMAS = (1, 2)  # migrated on load; a file with no "schema" is a 0.1 file too
# Optional fields that came after files of this schema were written: stored only when set, so
# a paper without them keeps a byte-identical file (the reader's questions and their answers).
WHEN_SET = ("questions_sha256", "answers", "figure")


class StateFormatError(ValueError):
    """A record that is JSON but not a paper state; the store treats it as unreadable."""


def _want(value: Any, kind: type | tuple[type, ...], what: str) -> Any:
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is int):
        raise StateFormatError(f"{what}: unexpected {type(value).__name__}")
    return value


@dataclass(frozen=True)
class Meta:
    """What arXiv says about one version of a paper."""

    id: str
    version: int
    title: str
    authors: tuple[str, ...]
    abstract: str
    published: str  # ISO date of v1
    updated: str  # ISO date of this version
    pdf_url: str

    def to_dict(self) -> dict[str, Any]:
        """The stored (JSON) form."""
        return {**asdict(self), "authors": list(self.authors)}

    @classmethod
    def from_dict(cls, d: Any) -> Meta:
        """Read the stored form; StateFormatError when a field is missing or of a wrong type."""
        _want(d, dict, "meta")
        _want(d.get("version"), int, "meta.version")
        for key in ("id", "title", "abstract", "published", "updated", "pdf_url"):
            _want(d.get(key), str, f"meta.{key}")
        try:
            return cls(**{**d, "authors": tuple(_want(d["authors"], list, "meta.authors"))})
        except (KeyError, TypeError) as exc:
            raise StateFormatError(f"meta: {exc}") from None


@dataclass(frozen=True)
class Section:
    """One heading and its text: a bullet or a detail section of a summary."""

    heading: str
    text: str


@dataclass(frozen=True)
class Summary:
    """The Chinese summary: abstract, the three bullets, the longer sections (none if imported)."""

    abstract: str
    bullets: tuple[Section, ...]
    detail: tuple[Section, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The answer-contract shape the quality checks read."""
        return {
            "abstract": self.abstract,
            "bullets": [asdict(s) for s in self.bullets],
            "detail": [asdict(s) for s in self.detail],
        }

    @classmethod
    def from_dict(cls, d: Any) -> Summary:
        """Read the answer-contract shape; StateFormatError when it is not one."""
        _want(d, dict, "summary")

        def sections(key: str) -> tuple[Section, ...]:
            items = _want(d.get(key) or [], list, f"summary.{key}")
            try:
                return tuple(Section(str(i["heading"]), str(i["text"])) for i in items)
            except (KeyError, TypeError) as exc:
                raise StateFormatError(f"summary.{key}: {exc}") from None

        abstract = _want(d.get("abstract"), str, "summary.abstract")
        return cls(abstract, sections("bullets"), sections("detail"))


@dataclass(frozen=True)
class QuestionAnswer:
    """A reader's question, the model's answer and its quotes, checked against the paper."""

    question: str
    answer: str
    quotes: tuple[str, ...] = ()  # found verbatim in the paper text
    unverified: tuple[str, ...] = ()  # quotes the paper text does not hold: never shown as support
    verified: bool = True  # False: a quote is not in the paper, or a claim has no quote (❓)

    @classmethod
    def from_dict(cls, d: Any) -> QuestionAnswer:
        """Read the stored form; StateFormatError when it is not one."""
        _want(d, dict, "answers[]")

        def quotes(key: str) -> tuple[str, ...]:
            items = tuple(_want(d.get(key) or [], list, f"answers[].{key}"))
            return tuple(_want(q, str, f"answers[].{key}[]") for q in items)

        return cls(
            question=_want(d.get("question"), str, "answers[].question"),
            answer=_want(d.get("answer"), str, "answers[].answer"),
            quotes=quotes("quotes"),
            unverified=quotes("unverified"),
            verified=_want(d.get("verified", True), bool, "answers[].verified"),
        )


@dataclass(frozen=True)
class InputInfo:
    """What of the paper's text went into the prompt: `tokens` of its `paper_tokens` (the text
    less references; None in files written before it was recorded), within `budget`
    (None: no budget, the model's context held the whole text), `omitted` what was cut."""

    tokens: int
    sections: list[str]
    omitted: list[str]
    paper_tokens: int | None = None
    budget: int | None = None


@dataclass(frozen=True)
class Usage:
    """Tokens of one model request, or what one paper's summary cost (all attempts together),
    as the endpoints report them."""

    prompt_tokens: int = 0
    cached_prompt_tokens: int = 0  # of prompt_tokens, served from the endpoint's prompt cache
    completion_tokens: int = 0
    reasoning_tokens: int = 0  # of completion_tokens, spent thinking
    attempts: int = 0  # answers received: set on a paper's summary

    def __add__(self, other: Usage) -> Usage:
        names = [f.name for f in fields(self)]
        return Usage(**{name: getattr(self, name) + getattr(other, name) for name in names})

    @property
    def total(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True)
class LastError:
    """Why the last attempt at a paper failed, and in which stage."""

    stage: Stage
    reason: str


@dataclass(frozen=True)
class FigureRef:
    """The paper's key figure as published: its number in the paper, its caption, the image
    file under output/figures/, and who chose it ("model" or "config")."""

    number: int
    caption: str
    file: str
    chosen_by: str = "model"

    @classmethod
    def from_dict(cls, d: Any) -> FigureRef:
        _want(d, dict, "figure")
        _want(d.get("number"), int, "figure.number")
        for key in ("caption", "file", "chosen_by"):
            _want(d.get(key, "model"), str, f"figure.{key}")
        try:
            return cls(**d)
        except TypeError as exc:
            raise StateFormatError(f"figure: {exc}") from None


@dataclass
class PaperState:
    """Everything stored about one paper: output/data/{ID}.json."""

    id: str
    meta: Meta
    summary: Summary | None = None
    source: str | None = None  # "llm" | "human"; None before the first summary
    model: str | None = None
    requested_model: str | None = None
    endpoint: str | None = None
    prompt_sha256: str | None = None
    pdf_sha256: str | None = None
    text_sha256: str | None = None
    generated_at: str | None = None
    input: InputInfo | None = None
    usage: Usage | None = None
    unsupported_terms: list[str] = field(default_factory=list)
    questions_sha256: str | None = None  # the questions the answers are for (None: no questions)
    answers: list[QuestionAnswer] = field(default_factory=list)
    detail_file: str | None = None
    detail_sha256: str | None = None  # None with a detail_file: a person's file, always kept
    last_error: LastError | None = None
    figure: FigureRef | None = None  # on disk only when set: older files load unchanged
    withdrawn: int | None = None  # arXiv withdrew this later version: the summary stays of `meta`
    extra: dict[str, Any] = field(default_factory=dict)  # keys this version does not know

    @property
    def by_person(self) -> bool:
        """The summary was imported (written by a person): only --force replaces it."""
        return self.source == "human"

    @property
    def unverified_questions(self) -> list[str]:
        """The questions whose answer is not supported by quotes found in the paper (❓)."""
        return [a.question for a in self.answers if not a.verified]

    def to_dict(self) -> dict[str, Any]:
        """The on-disk record (schema 3): every field, then the unknown keys kept as they were."""
        record: dict[str, Any] = dict(self.extra)
        for f in fields(self):
            if f.name != "extra":
                record[f.name] = _plain(getattr(self, f.name))
        record["meta"] = self.meta.to_dict()
        record["summary"] = self.summary.to_dict() if self.summary else None
        record["answers"] = [asdict(a) for a in self.answers]
        record["schema"] = STATE_SCHEMA
        for key in WHEN_SET:
            if not record[key]:
                del record[key]
        return record

    @classmethod
    def from_dict(cls, record: dict[str, Any]) -> PaperState:
        """Read a record of this schema or an older one; StateFormatError when it is not one."""
        record = migrate(_want(record, dict, "record"))
        known = {f.name for f in fields(cls)} - {"extra"}
        extra = {k: v for k, v in record.items() if k not in known and k != "schema"}
        get = record.get
        error, usage, given = get("last_error"), get("usage"), get("input")
        try:
            return cls(
                id=_want(get("id"), str, "id"),
                meta=Meta.from_dict(get("meta")),
                summary=Summary.from_dict(get("summary")) if get("summary") else None,
                **{k: _optional_str(get(k), k) for k in _STRINGS},
                input=InputInfo(**given) if given else None,
                usage=Usage(**usage) if usage else None,
                unsupported_terms=list(_want(get("unsupported_terms") or [], list, "terms")),
                answers=[
                    QuestionAnswer.from_dict(a)
                    for a in _want(get("answers") or [], list, "answers")
                ],
                last_error=LastError(**error) if error else None,
                figure=FigureRef.from_dict(get("figure")) if get("figure") else None,
                withdrawn=_optional_int(get("withdrawn"), "withdrawn"),
                extra=extra,
            )
        except TypeError as exc:
            raise StateFormatError(str(exc)) from None


_STRINGS = (
    "source",
    "model",
    "requested_model",
    "endpoint",
    "prompt_sha256",
    "pdf_sha256",
    "text_sha256",
    "generated_at",
    "questions_sha256",
    "detail_file",
    "detail_sha256",
)


def _optional_str(value: Any, what: str) -> str | None:
    return None if value is None else _want(value, str, what)


def _optional_int(value: Any, what: str) -> int | None:
    return None if value is None else _want(value, int, what)


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, (str, int, list)):
        return list(value) if isinstance(value, list) else value
    return asdict(value)


def migrate(record: dict[str, Any]) -> dict[str, Any]:
    """The record in the current layout; ConfigError for a schema newer than this one.

    0.1 (schema 1) left out the keys it had no value for and counted no cached or reasoning
    tokens; schema 2 had no `withdrawn`: all are filled by the defaults of `PaperState`,
    `Usage` when read.
    """
    schema = record.get("schema", 1)
    if schema == STATE_SCHEMA or schema in OLD_SCHEMAS:
        return record
    if isinstance(schema, int) and not isinstance(schema, bool) and schema > STATE_SCHEMA:
        raise NewerSchemaError(schema)
    raise StateFormatError(f"unknown schema {schema!r}")


class NewerSchemaError(ConfigError):
    """A state file written by a newer pipeline: refused rather than overwritten."""

    def __init__(self, schema: int) -> None:
        super().__init__(f"schema {schema}")
        self.schema = schema


def dumps_state(state: PaperState) -> str:
    """Deterministic JSON for a state record."""
    return json.dumps(state.to_dict(), ensure_ascii=False, indent=2, sort_keys=True) + "\n"


class StateStore:
    """The per-paper JSON records under output/data/."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir

    def path(self, paper_id: str) -> Path:
        """The state file of one paper: ``data_dir / f"{ID}.json"``."""
        return self.data_dir / f"{file_id(paper_id)}.json"

    def load(self, paper_id: str, unreadable_is_none: bool = False) -> PaperState | None:
        """The stored state, or None when there is none.

        A file from a newer pipeline, or one that is not a readable state, raises ConfigError
        naming it: taking it for "no state" would summarise the paper again (tokens) and then
        overwrite it, or shuffle the detail files of the others. `unreadable_is_none`: a forced
        run, which overwrites it, may.
        """
        path = self.path(paper_id)
        try:
            state = PaperState.from_dict(json.loads(path.read_text(encoding="utf-8")))
        except FileNotFoundError:
            return None
        except (ValueError, UnicodeDecodeError, OSError) as exc:  # StateFormatError: ValueError
            if unreadable_is_none:
                return None
            raise CorruptStateError(path, paper_id, state_cause(exc)) from None
        except NewerSchemaError as exc:
            raise ConfigError(
                f"{path}: written by a newer pipeline (state schema {exc.schema}, this one reads "
                f"up to {STATE_SCHEMA}); upgrade the pipeline"
            ) from None
        if state.id == paper_id or unreadable_is_none:
            return state if state.id == paper_id else None
        raise CorruptStateError(path, paper_id, f"it holds paper {state.id}")

    def save(self, state: PaperState) -> None:
        """Write the state atomically, stamped with the schema number; unchanged: no write."""
        write_if_changed(self.path(state.id), dumps_state(state))

    def ids(self) -> list[str]:
        """IDs of every stored paper, sorted."""
        if not self.data_dir.is_dir():
            return []
        return sorted(id_of_file(p.stem) for p in self.data_dir.glob("*.json"))

    def remove(self, paper_id: str) -> None:
        """Delete a paper's state file, if any."""
        with contextlib.suppress(FileNotFoundError):
            self.path(paper_id).unlink()


def with_error(state: PaperState, stage: Stage, reason: str) -> PaperState:
    """The state with its last error set (the summary and files stay)."""
    return replace(state, last_error=LastError(stage, reason))

"""Load and validate config.toml once: defaults, then the file; every error names what to fix."""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pipeline.errors import ConfigError, check_known_keys
from pipeline.llm.providers import PROVIDERS
from pipeline.names import ARXIV_ID, default_slug, slug_ok
from pipeline.watch.config import WatchConfig, parse_watches

# arXiv IDs, new-style (2405.04434) or old-style (hep-th/9901001), optionally pinned to a version.
ID_RE = re.compile(rf"^(?P<base>{ARXIV_ID})(?:v(?P<version>[1-9]\d*))?$")

DEFAULTS: dict[str, dict[str, Any]] = {
    "output": {"dir": "output", "details_dir": "papers"},
    "arxiv": {
        "api_url": "https://export.arxiv.org/api/query",
        "delay_seconds": 3.0,
        "timeout_seconds": 30.0,
        "retries": 4,
    },
    "llm": {
        "base_url": "https://api.deepseek.com",
        "model": "deepseek-v4-flash",
        "api_key_env": "DEEPSEEK_API_KEY",
        "concurrency": 4,
        "timeout_seconds": 120.0,
        "max_input_tokens": "auto",
        "max_output_tokens": 8192,
        "provider": "auto",
        "reasoning": "off",
        "temperature": None,
        "extra_body": None,
        "max_run_tokens": None,
        "price_per_million_input": None,
        "price_per_million_cached_input": None,
        "price_per_million_output": None,
    },
    "cache": {"dir": ".cache"},
    "site": {"enabled": True, "base_url": "", "feed_entries": 50},
}
TOP_KEYS = {"title", "intro", "papers", "watch", "rejected", *DEFAULTS}
REASONING = ("off", "low", "medium", "high")
PAPER_KEYS = {"id", "project", "slug", "mark", "notes", "questions", "figure"}


@dataclass(frozen=True)
class PaperConfig:
    """One [[papers]] entry: which paper, and how the README shows it."""

    id: str  # base ID, no version
    version: int | None  # pinned version, or None to follow the latest
    project: str
    slug: str
    mark: str = ""
    notes: tuple[str, ...] = ()
    questions: tuple[str, ...] = ()  # the reader's own, answered with quotes from the paper
    figure: int | bool | None = None  # a pinned figure number, False for none, None: the model's


@dataclass(frozen=True)
class ArxivConfig:
    """The [arxiv] table: where to ask and how politely."""

    api_url: str
    delay_seconds: float
    timeout_seconds: float
    retries: int


@dataclass(frozen=True)
class LlmConfig:
    """The [llm] table: the endpoint, the model and the token budget."""

    base_url: str
    model: str
    api_key_env: str
    concurrency: int
    timeout_seconds: float
    max_input_tokens: int | Literal["auto"]  # "auto": the whole paper when the context holds it
    max_run_tokens: int | None
    price_per_million_input: float | None
    price_per_million_output: float | None
    max_output_tokens: int = 8192
    provider: str = "auto"  # as configured; pipeline.llm.providers resolves "auto"
    reasoning: str = "off"
    temperature: float | None = None  # sent only when set
    extra_body: dict[str, Any] = field(default_factory=dict)  # sent verbatim, merged last
    price_per_million_cached_input: float | None = None


@dataclass(frozen=True)
class SiteConfig:
    enabled: bool = True  # write output/site/ and output/feed.xml
    base_url: str = ""  # the site's public URL (no trailing "/"), for absolute feed links
    feed_entries: int = 50  # the feed holds the newest N summaries


@dataclass(frozen=True)
class Config:
    """The whole validated config.toml, paths resolved against its folder."""

    path: Path
    title: str
    intro: str
    output_dir: Path
    details_dir: str
    arxiv: ArxivConfig
    llm: LlmConfig
    cache_dir: Path
    papers: tuple[PaperConfig, ...] = field(default_factory=tuple)
    watches: tuple[WatchConfig, ...] = ()
    rejected: tuple[str, ...] = ()  # base IDs no watch proposes or adds again
    site: SiteConfig = field(default_factory=SiteConfig)

    @property
    def data_dir(self) -> Path:
        """Where the per-paper state files live: output/data/."""
        return self.output_dir / "data"

    def paper(self, paper_id: str) -> PaperConfig | None:
        """The listed paper with this base ID, or None."""
        return next((p for p in self.papers if p.id == paper_id), None)


def parse_id(raw: str) -> tuple[str, int | None] | None:
    """Split "2405.04434v5" into ("2405.04434", 5), "math/0405083v6" into ("math/0405083", 6);
    None when it is not an arXiv ID."""
    m = ID_RE.match(raw.strip())
    if not m:
        return None
    version = m.group("version")
    return m.group("base"), int(version) if version else None


def load_config(path: Path) -> Config:
    """Read and validate the config file; raise ConfigError naming the file, key or paper."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8-sig"))  # a BOM (Windows) is fine
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found (use --config PATH)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read config file: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: malformed TOML: {exc}") from None
    return _build(path.resolve(), raw)


def config_from_text(path: Path, text: str) -> Config:
    """Validate config text before it is written to `path` (as `load_config` would read it)."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: malformed TOML: {exc}") from None
    return _build(path.resolve(), raw)


def _build(path: Path, raw: dict[str, Any]) -> Config:
    check_known_keys(raw, TOP_KEYS, str(path))
    sections = {name: _section(path, raw, name) for name in DEFAULTS}
    root = path.parent
    out = sections["output"]
    details_dir = _text(path, "output.details_dir", out["details_dir"])
    if not slug_ok(details_dir):
        raise ConfigError(f"{path}: output.details_dir {details_dir!r} must be a plain folder name")
    return Config(
        path=path,
        title=_text(path, "title", raw.get("title", "Paper Reading")),
        intro=_text(path, "intro", raw.get("intro", "")),
        output_dir=root / _text(path, "output.dir", out["dir"]),
        details_dir=details_dir,
        arxiv=_arxiv(path, sections["arxiv"]),
        llm=_llm(path, sections["llm"]),
        cache_dir=root / _text(path, "cache.dir", sections["cache"]["dir"]),
        papers=_papers(path, raw.get("papers", [])),
        watches=parse_watches(path, raw.get("watch", [])),
        rejected=_rejected(path, raw.get("rejected", [])),
        site=_site(path, sections["site"]),
    )


def _rejected(path: Path, raw: Any) -> tuple[str, ...]:
    if not isinstance(raw, list):
        raise ConfigError(f"{path}: rejected must be a list of arXiv IDs")
    ids = []
    for item in raw:
        parsed = parse_id(item) if isinstance(item, str) else None
        if parsed is None:
            raise ConfigError(
                f"{path}: rejected: {item!r} is not an arXiv ID (expected like 2405.04434)"
            )
        ids.append(parsed[0])
    return tuple(dict.fromkeys(ids))


def _section(path: Path, raw: dict[str, Any], name: str) -> dict[str, Any]:
    given = raw.get(name, {})
    if not isinstance(given, dict):
        raise ConfigError(f"{path}: [{name}] must be a table")
    check_known_keys(given, set(DEFAULTS[name]), f"{path}: [{name}]")
    return {**DEFAULTS[name], **given}


def _text(path: Path, key: str, value: Any) -> str:
    if not isinstance(value, str):
        raise ConfigError(f"{path}: {key} must be a string, got {value!r}")
    return value


def _number(path: Path, key: str, value: Any, kind: type, minimum: float) -> Any:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{path}: {key} must be a number, got {value!r}")
    if kind is int and not isinstance(value, int):
        raise ConfigError(f"{path}: {key} must be a whole number, got {value!r}")
    if value < minimum:
        raise ConfigError(f"{path}: {key} must be at least {minimum}, got {value!r}")
    return kind(value)


def _optional(path: Path, key: str, value: Any, kind: type) -> Any:
    return None if value is None else _number(path, key, value, kind, 0)


def _arxiv(path: Path, s: dict[str, Any]) -> ArxivConfig:
    return ArxivConfig(
        api_url=_text(path, "arxiv.api_url", s["api_url"]),
        delay_seconds=_number(path, "arxiv.delay_seconds", s["delay_seconds"], float, 0),
        timeout_seconds=_number(path, "arxiv.timeout_seconds", s["timeout_seconds"], float, 0.1),
        retries=_number(path, "arxiv.retries", s["retries"], int, 0),
    )


def _llm(path: Path, s: dict[str, Any]) -> LlmConfig:
    env = _text(path, "llm.api_key_env", s["api_key_env"])
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", env):
        raise ConfigError(f"{path}: llm.api_key_env must name an environment variable, not a key")
    return LlmConfig(
        base_url=_text(path, "llm.base_url", s["base_url"]),
        model=_text(path, "llm.model", s["model"]),
        api_key_env=env,
        concurrency=_number(path, "llm.concurrency", s["concurrency"], int, 1),
        timeout_seconds=_number(path, "llm.timeout_seconds", s["timeout_seconds"], float, 0.1),
        max_input_tokens=_input_budget(path, s["max_input_tokens"]),
        max_run_tokens=_optional(path, "llm.max_run_tokens", s["max_run_tokens"], int),
        price_per_million_input=_optional(
            path, "llm.price_per_million_input", s["price_per_million_input"], float
        ),
        price_per_million_output=_optional(
            path, "llm.price_per_million_output", s["price_per_million_output"], float
        ),
        max_output_tokens=_number(path, "llm.max_output_tokens", s["max_output_tokens"], int, 16),
        provider=_choice(path, "llm.provider", s["provider"], PROVIDERS),
        reasoning=_choice(path, "llm.reasoning", s["reasoning"], REASONING),
        temperature=_temperature(path, s["temperature"]),
        extra_body=_table(path, "llm.extra_body", s["extra_body"]),
        price_per_million_cached_input=_optional(
            path, "llm.price_per_million_cached_input", s["price_per_million_cached_input"], float
        ),
    )


def _input_budget(path: Path, value: Any) -> int | Literal["auto"]:
    """llm.max_input_tokens: "auto" (the model's context decides) or a number of tokens."""
    if value == "auto":
        return "auto"
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(
            f'{path}: llm.max_input_tokens must be "auto" or a whole number of tokens (at least '
            f"500), got {value!r}"
        )
    return _number(path, "llm.max_input_tokens", value, int, 500)


def _choice(path: Path, key: str, value: Any, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise ConfigError(f"{path}: {key} must be one of {' | '.join(choices)}, got {value!r}")
    return value


def _temperature(path: Path, value: Any) -> float | None:
    if value is None:
        return None
    number = _number(path, "llm.temperature", value, float, 0)
    if number > 2:
        raise ConfigError(f"{path}: llm.temperature must be between 0 and 2, got {value!r}")
    return number


def _table(path: Path, key: str, value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError(f"{path}: {key} must be a table, like {key.split('.')[-1]} = {{ ... }}")
    return dict(value)


def _site(path: Path, s: dict[str, Any]) -> SiteConfig:
    if not isinstance(s["enabled"], bool):
        raise ConfigError(f"{path}: site.enabled must be true or false, got {s['enabled']!r}")
    base_url = _text(path, "site.base_url", s["base_url"]).strip()
    if base_url and not re.fullmatch(r"https?://[^\s\"'<>]+", base_url):
        raise ConfigError(
            f"{path}: site.base_url {base_url!r} must be an http(s) URL such as "
            "https://USER.github.io/REPO, or empty"
        )
    entries = _number(path, "site.feed_entries", s["feed_entries"], int, 1)
    return SiteConfig(enabled=s["enabled"], base_url=base_url.rstrip("/"), feed_entries=entries)


def _papers(path: Path, raw: Any) -> tuple[PaperConfig, ...]:
    if not isinstance(raw, list):
        raise ConfigError(f"{path}: papers must be an array of tables ([[papers]])")
    papers: list[PaperConfig] = []
    seen: dict[str, int] = {}
    for n, entry in enumerate(raw, start=1):
        paper = _paper(path, n, entry)
        if paper.id in seen:
            raise ConfigError(
                f"{path}: paper {paper.id} is listed twice (entries {seen[paper.id]} and {n})"
            )
        seen[paper.id] = n
        papers.append(paper)
    return tuple(papers)


def _paper(path: Path, n: int, entry: Any) -> PaperConfig:
    where = f"{path}: [[papers]] entry {n}"
    if not isinstance(entry, dict):
        raise ConfigError(f"{where} must be a table")
    check_known_keys(entry, PAPER_KEYS, where)
    raw_id = entry.get("id")
    parsed = parse_id(raw_id) if isinstance(raw_id, str) else None
    if parsed is None:
        raise ConfigError(
            f"{where}: {raw_id!r} is not an arXiv ID (expected like 2405.04434 or 2405.04434v5)"
        )
    paper_id, version = parsed
    where = f"{path}: paper {paper_id}"
    project = _text(path, f"paper {paper_id} project", entry.get("project", paper_id))
    slug = _text(path, f"paper {paper_id} slug", entry.get("slug") or default_slug(project))
    if not slug_ok(slug):
        raise ConfigError(
            f"{where}: slug {slug!r} is not a safe file name part "
            "(letters, digits, '-', '_', '.'; no '..' or '/')"
        )
    notes = entry.get("notes", [])
    if not isinstance(notes, list) or not all(isinstance(x, str) for x in notes):
        raise ConfigError(f"{where}: notes must be a list of strings")
    mark = _text(path, f"paper {paper_id} mark", entry.get("mark", ""))
    questions = _questions(where, entry.get("questions", []))
    figure = _figure(where, entry.get("figure"))
    return PaperConfig(
        paper_id, version, project, slug, mark, tuple(notes), questions=questions, figure=figure
    )


def _questions(where: str, raw: Any) -> tuple[str, ...]:
    """A paper's `questions`: a list of non-empty strings, each kept as written (stripped)."""
    if not isinstance(raw, list) or not all(isinstance(q, str) and q.strip() for q in raw):
        raise ConfigError(
            f"{where}: questions must be a list of non-empty strings, "
            'like questions = ["GRPO 是什么？"]'
        )
    return tuple(q.strip() for q in raw)


def _figure(where: str, value: Any) -> int | bool | None:
    """`figure = N` pins the key figure, `figure = false` turns it off."""
    if value is None or value is False:
        return value
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 999:
        return value
    raise ConfigError(
        f"{where}: figure must be a figure number (figure = 2) or false for no figure, "
        f"not {value!r}"
    )


def api_key(config: Config) -> str:
    """The LLM key from the environment variable the config names; ConfigError when unset."""
    name = config.llm.api_key_env
    value = os.environ.get(name, "").strip()
    if not value:
        raise ConfigError(
            f"environment variable {name} is not set: the LLM key is read from it "
            f"(export {name}=... or change llm.api_key_env in {config.path.name})"
        )
    return value

"""Edit config.toml with tomlkit, keeping every other byte: append [[papers]], extend `rejected`.

tomlkit keeps comments and layout; each edit is then checked to be a pure insertion (the old
text is the new text with one stretch taken out) and validated as a config before the atomic
write, so a person's file never loses a line.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Callable
from functools import partial

import tomlkit
from tomlkit.items import AoT, Array, Comment, Table, Whitespace

from pipeline.config import Config, config_from_text
from pipeline.errors import ConfigError
from pipeline.names import default_slug, slug_ok
from pipeline.store import atomic_write

PROJECT_WORDS = 4  # a title without a colon: its first words
PROJECT_MAX_WORDS = 8  # the part before a colon, at most
_DANGLING = frozenset("a an and as at by for from in into of on or the to via with".split())
_LOOSE = (Comment, Whitespace)  # what may trail a table without belonging to it
_UNSAFE = re.compile(r"[^\w\s\-.+/&',]")
Later = list[Callable[[], object]]  # writes put off (a build's wait for the preflight's verdict)


def project_from_title(title: str, paper_id: str) -> str:
    """The project name for a new paper: the title before a colon, else its first words
    (without a dangling "of", "on a" ...)."""
    head, colon, _ = title.partition(":")
    words = _UNSAFE.sub(" ", head).split()[:PROJECT_MAX_WORDS] if colon else []
    if not words:
        words = _UNSAFE.sub(" ", title).split()[:PROJECT_WORDS]
        while len(words) > 1 and words[-1].lower() in _DANGLING:
            words.pop()
    return " ".join(words) or paper_id


def paper_table(paper_id: str, project: str) -> dict[str, str]:
    """The keys of a new [[papers]] table: id, project and a safe slug."""
    slug = default_slug(project)
    return {"id": paper_id, "project": project, "slug": slug if slug_ok(slug) else "paper"}


def _read(config: Config) -> str:
    """The file's text with LF line ends and no BOM (see `_styled` for writing it back)."""
    try:
        data = config.path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{config.path}: cannot read config file: {exc}") from None
    try:
        text = data.decode("utf-8-sig").replace("\r\n", "\n")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{config.path}: cannot read config file: {exc}") from None
    return text if text.endswith("\n") or not text else text + "\n"


def _styled(config: Config, text: str) -> bytes:
    """`text` in the file's own style: CRLF line ends and a BOM when it had them (Windows)."""
    try:
        data = config.path.read_bytes()
    except OSError:
        data = b""
    if b"\r\n" in data:
        text = text.replace("\n", "\r\n")
    return (codecs.BOM_UTF8 if data.startswith(codecs.BOM_UTF8) else b"") + text.encode("utf-8")


def _inserted(old: str, new: str) -> bool:
    """True when `new` is `old` with one stretch of text inserted (nothing else changed)."""
    if len(new) < len(old):
        return False
    prefix = 0
    while prefix < len(old) and old[prefix] == new[prefix]:
        prefix += 1
    return new.endswith(old[prefix:])


def _write(config: Config, old: str, new: str, later: Later | None = None) -> Config:
    """Validate the edited text as a config, write it atomically (or append that write to
    `later`), return the new config."""
    if not _inserted(old, new):
        raise ConfigError(f"{config.path}: tomlkit would move other lines: edit the file by hand")
    updated = config_from_text(config.path, new)
    write = partial(atomic_write, config.path, _styled(config, new))
    if later is None:
        write()
    else:
        later.append(write)
    return updated


def append_papers(
    config: Config, tables: list[dict[str, str]], later: Later | None = None
) -> Config:
    """Append one [[papers]] table per entry after the last listed paper; the new config
    (`later`: the file's write is appended there instead of done).

    Comments and blank lines after the last paper belong to what follows it: they stay there,
    after the new tables. A blank line separates the new tables when the list uses them."""
    old = _read(config)
    doc = tomlkit.parse(old)
    papers = doc.get("papers")
    if papers is not None and not isinstance(papers, AoT):
        raise ConfigError(f"{config.path}: papers is not written as [[papers]] tables")
    new_tables = [_table(entry) for entry in tables]
    if papers is None:
        papers = tomlkit.aot()
        for table in new_tables:
            papers.append(table)
        doc.append("papers", papers)
    else:
        body = papers[-1].value.body
        keep = len(body)
        while keep and body[keep - 1][0] is None and isinstance(body[keep - 1][1], _LOOSE):
            keep -= 1
        trailing = body[keep:]
        del body[keep:]
        spaced = any(isinstance(item, Whitespace) for _, item in trailing)
        for n, table in enumerate(new_tables):
            if spaced:
                (papers[-1] if n == 0 else new_tables[n - 1]).add(tomlkit.nl())
            papers.append(table)
        for _, item in trailing:
            assert isinstance(item, _LOOSE)  # what `keep` left trailing
            new_tables[-1].add(item)
    new = tomlkit.dumps(doc)
    if not _inserted(old, new):  # e.g. [[papers]] tables split by other tables: append at the end
        added = tomlkit.dumps({"papers": tables})
        new = old + ("" if old.endswith("\n\n") or not old else "\n") + added
    return _write(config, old, new, later)


def _table(entry: dict[str, str]) -> Table:
    table = tomlkit.table()
    for key, value in entry.items():
        table.add(key, value)
    return table


def append_rejected(config: Config, ids: list[str]) -> Config:
    """Add IDs to the top-level `rejected` list (created before the first table); the new config."""
    old = _read(config)
    doc = tomlkit.parse(old)
    rejected = doc.get("rejected")
    if rejected is None:
        doc["rejected"] = ids
    elif isinstance(rejected, Array):
        for paper_id in ids:
            rejected.append(paper_id)
    else:
        raise ConfigError(f"{config.path}: rejected must be a list of arXiv IDs")
    return _write(config, old, tomlkit.dumps(doc))

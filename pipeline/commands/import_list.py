"""`import README.md`: adopt an existing list into config.toml and output/data/ at no token cost."""

from __future__ import annotations

import sys
from pathlib import Path

from pipeline.commands.import_config import config_toml
from pipeline.commands.import_parse import ImportedPaper, ReadmeFormatError, parse_readme
from pipeline.config import Config, config_from_text, load_config
from pipeline.errors import ConfigError
from pipeline.names import arxiv_pdf, detail_name
from pipeline.state import Meta, PaperState, Section, StateStore, Summary
from pipeline.store import atomic_write


def adopt(readme: Path, config_path: Path) -> int:
    """Write the config and one state record per paper, marked as written by a person."""
    try:
        parsed = parse_readme(readme.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{readme}: file not found") from None
    except ReadmeFormatError as exc:
        raise ConfigError(f"{readme}: {exc}") from None
    if config_path.exists():
        raise ConfigError(
            f"{config_path} already exists: import writes a new config; "
            "pass --config with a new path, or move the old one away"
        )
    text = config_toml(parsed)
    try:  # refuse an unusable config (e.g. a details link leaving the folder) before writing
        config_from_text(config_path, text)
    except ConfigError as exc:
        raise ConfigError(f"{readme}: cannot import: {exc}") from None
    atomic_write(config_path, text)
    config = load_config(config_path)
    store = StateStore(config.data_dir)
    for paper in parsed.papers:
        store.save(_state(config, paper))
    print(
        f"imported {len(parsed.papers)} papers into {config_path} and {config.data_dir}; "
        "their summaries are kept as written by a person (build --only ID --force redoes one)",
        file=sys.stderr,
    )
    return 0


def _state(config: Config, paper: ImportedPaper) -> PaperState:
    version = paper.version or 1
    date = f"{paper.date[:4]}-{paper.date[4:6]}-{paper.date[6:8]}"
    rel = f"{paper.details_dir}/{detail_name(paper.number, paper.slug, paper.arxiv_id, version)}"
    meta = Meta(
        id=paper.arxiv_id,
        version=version,
        title=paper.title,
        authors=(),
        abstract="",
        published=date,
        updated=date,
        pdf_url=arxiv_pdf(paper.arxiv_id, version),
    )
    bullets = tuple(Section(h, t) for h, t in paper.bullets)
    state = PaperState(paper.arxiv_id, meta, Summary(paper.abstract, bullets), source="human")
    if (config.output_dir / rel).is_file():
        # The person's own detail file: recorded without a hash, so it is always kept.
        state.detail_file = rel
    return state

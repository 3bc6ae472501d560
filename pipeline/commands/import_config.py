"""Write the config.toml (the DESIGN.md contract) for a list parsed by `import_parse`."""

from __future__ import annotations

import json
import re

from pipeline.commands.import_parse import ImportedList, ImportedPaper

THINKING = "🤔"  # a note that starts with it is the reader's question
_EMPHASIS = re.compile(r"\*\*|__|`|(?<!\w)[*_]|[*_](?!\w)")


def toml_string(value: str) -> str:
    """A TOML basic string: JSON's escapes are TOML's, except that DEL must be escaped too."""
    return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")


def _details_dir(lst: ImportedList) -> str:
    dirs = {p.details_dir for p in lst.papers}
    if len(dirs) > 1:
        raise ValueError(f"papers use different details folders: {sorted(dirs)}")
    return dirs.pop() if dirs else "details"


def _paper_table(paper: ImportedPaper) -> list[str]:
    lines = [
        "[[papers]]",
        f"id = {toml_string(paper.arxiv_id)}",
        f"project = {toml_string(paper.project)}",
        f"slug = {toml_string(paper.slug)}",
    ]
    if paper.mark:
        lines.append(f"mark = {toml_string(paper.mark)}")
    if paper.notes:
        lines.append(f"notes = [{', '.join(toml_string(n) for n in paper.notes)}]")
    questions = [q for q in map(question_of, paper.notes) if q]
    if questions:
        lines.append(f"questions = [{', '.join(toml_string(q) for q in questions)}]")
    return lines + [""]


def question_of(note: str) -> str | None:
    """The reader's question in a note that starts with 🤔, its markdown emphasis removed:
    "🤔 **Token-Dropping Strategy？**" -> "Token-Dropping Strategy？"; None for other notes."""
    text = note.strip()
    if not text.startswith(THINKING):
        return None
    text = _EMPHASIS.sub("", text[len(THINKING) :].lstrip("\ufe0f"))
    return " ".join(text.split()) or None


def config_toml(
    lst: ImportedList,
    llm_base_url: str = "https://api.deepseek.com",
    model: str = "deepseek-v4-flash",
    api_key_env: str = "DEEPSEEK_API_KEY",
) -> str:
    """A complete config.toml (the DESIGN.md contract) for the imported list."""
    lines = [
        "# Imported by `python -m pipeline import`; edit freely.",
        f"title = {toml_string(lst.title)}",
        f"intro = {toml_string(lst.intro)}",
        "",
        "[output]",
        'dir = "output"',
        f"details_dir = {toml_string(_details_dir(lst))}",
        "",
        "[arxiv]",
        'api_url = "https://export.arxiv.org/api/query"',
        "delay_seconds = 3.0",
        "timeout_seconds = 30",
        "retries = 4",
        "",
        "[llm]",
        f"base_url = {toml_string(llm_base_url)}",
        f"model = {toml_string(model)}",
        f"api_key_env = {toml_string(api_key_env)}",
        "concurrency = 4",
        "timeout_seconds = 120",
        'max_input_tokens = "auto"',
        "",
        "[cache]",
        'dir = ".cache"',
        "",
    ]
    for paper in lst.papers:
        lines += _paper_table(paper)
    return "\n".join(lines)

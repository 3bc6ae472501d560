"""The prompt templates (prompts/*.j2: where they are, their hash) and quoting the paper text.

The paper goes into the prompt between <paper> delimiters; `quote_paper_text` makes sure the
paper cannot close that quotation itself (the injection rules of system.j2 rely on it)."""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

from pipeline.store import sha256_bytes


def _prompts_dir() -> Path:
    """The prompt templates: the package data `pipeline.prompts` of an installed package
    (`pip install .` maps the top-level prompts/ there), else prompts/ at the top of a source
    checkout (run from it, or with PYTHONPATH)."""
    try:
        return Path(str(resources.files("pipeline.prompts")))
    except ModuleNotFoundError:
        return Path(__file__).resolve().parents[2] / "prompts"


PROMPTS_DIR = _prompts_dir()
PROMPT_FILES = ("system.j2", "paper.j2", "repair.j2")
# Anything in the paper text that a model could read as our <paper> / </paper> delimiters is
# defanged before quoting: "<", ">" and their look-alikes (full-width, angle brackets, guillemets,
# HTML entities), a "/" or "\\" (a JSON-escaped "</paper>"), spaces or invisible characters
# anywhere, any letter case, full-width or Cyrillic look-alike letters, attributes, a missing ">".
_OPENERS = "<\uff1c\ufe64\u3008\u2329\u27e8\u2039\u00ab\u300a\u276e\u276c\u29fc\u02c2\u1438"
_CLOSERS = ">\uff1e\ufe65\u3009\u232a\u27e9\u203a\u00bb\u300b\u276f\u276d\u29fd\u02c3\u1433"
_GAP = r"[\s\u00ad\u034f\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff]*"
_WORD = _GAP.join(("[pｐр]", "[aａа]", "[pｐр]", "[eｅе]", "[rｒ]"))
_DELIMITER_RE = re.compile(
    rf"(?P<open>[{_OPENERS}]|&lt;?|&#0*60;?|&#x0*3c;?){_GAP}(?:[/／⁄∕⧸\\]{_GAP})*{_WORD}"
    rf"(?![^\W\d_])(?:[^\n&{_OPENERS}{_CLOSERS}]{{0,80}}?"
    rf"(?P<close>[{_CLOSERS}]|&gt;?|&#0*62;?|&#x0*3e;?))?",
    re.IGNORECASE,
)


def prompt_hash(prompts_dir: Path = PROMPTS_DIR) -> str:
    """Hash of the prompt templates: a change to any of them makes every summary stale."""
    parts = [(prompts_dir / name).read_bytes() for name in PROMPT_FILES]
    return sha256_bytes(b"\0".join(parts))


def quote_paper_text(text: str) -> str:
    """Neutralise delimiter look-alikes so the paper cannot close its own quotation.

    The brackets of each look-alike become parentheses ("</paper>" -> "(/paper)"), which no
    model reads as a tag; the result contains no look-alike (quoting twice changes nothing).
    """
    return _DELIMITER_RE.sub(_defang, text)


def _defang(m: re.Match[str]) -> str:
    end = m.start("close") if m["close"] else m.end()
    return "(" + m.string[m.end("open") : end] + (")" if m["close"] else "")

"""Checks on a model's answer and on stored summaries.

The answer contract (DESIGN.md, "The LLM request and answer") is checked by ``answer_problems``,
which returns short problem lines that can be sent back to the model verbatim:

* form: a JSON object with "abstract" (string), "bullets" (exactly 3 objects) and "detail" (3-6
  objects), each object with non-empty string "heading" and "text"; unknown keys are ignored.
  Lengths are counted in units: one per CJK character plus one per Latin word or number
  ("DeepSeek-V2", "671B"). The contract asks for an abstract of 80-250, a bullet heading of 2-8
  and a bullet text of 30-150; we reject only outside 60-300, 2-10 and 20-200, and problem lines
  quote the contract's range. A bullet heading must contain at least one CJK character. No text
  may carry markdown or JSON leftovers: "```", a line starting with "#", "**", '{"' or a
  ``[x](y)`` link.
* language: the abstract, every bullet text and every detail text must be mostly Chinese:
  CJK characters / (CJK characters + Latin letters / 2) >= 0.5. Latin letters count half because
  an English term of ~6 letters stands for ~3 Chinese characters; counted one for one, five of the
  36 hand-written bullets of the seed list (legitimately Chinese, with English terms) would fail.

``check_summary`` runs these plus three checks that need sources, over a stored summary:

* grounding (``pipeline.quality.grounding``): Latin terms and glossary concepts absent from the
  paper text; skipped when there is no paper text.
* numbers (``pipeline.quality.numbers``): numbers with their unit (93.3%, 671B, 2 万亿, 5.76 倍)
  the paper text never writes in any form; skipped when there is no paper text.
* copied: a run of >= 8 English words copied verbatim (case-insensitive, punctuation ignored) from
  the English arXiv abstract; skipped when there is no abstract.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from pipeline.console import one_line
from pipeline.quality.grounding import (
    CJK_CHAR,
    GroundingIndex,
    latin_terms,
    normalise,
    summary_texts,
    unsupported_concepts,
    unsupported_terms,
)
from pipeline.quality.numbers import unsupported_numbers

__all__ = [
    "Problem",
    "answer_problems",
    "check_summary",
    "cjk_share",
    "latin_terms",
    "normalise_answer",
    "text_units",
    "unsupported_concepts",
    "unsupported_terms",
]

MIN_CJK_SHARE = 0.5
BULLET_COUNT = 3
DETAIL_COUNT = (3, 6)
COPIED_WORDS = 8
# field: (contract range quoted to the model, lenient range actually enforced)
LENGTHS = {
    "abstract": ((80, 250), (60, 300)),
    "heading": ((2, 8), (2, 10)),
    "text": ((30, 150), (20, 200)),
}

_LATIN_LETTER = re.compile(r"[A-Za-z]")
_LATIN_WORD = re.compile(r"[A-Za-z0-9]+(?:[-_.'][A-Za-z0-9]+)*")
_LEFTOVERS = (
    ("```", re.compile(r"```")),
    ("#", re.compile(r"^[ \t]*#", re.MULTILINE)),
    ("**", re.compile(r"\*\*")),
    ('{"', re.compile(r"\{\s*\"")),
    ("[x](y)", re.compile(r"\[[^\]\n]*\]\([^)\n]*\)")),
)
_NOT_ENGLISH = re.compile(r"[^\x00-\x7f\u2018\u2019\u201c\u201d\u2010-\u2014]")


@dataclass(frozen=True)
class Problem:
    """One finding of a check about a stored summary."""

    check: str  # "grounding" | "numbers" | "language" | "form" | "copied"
    detail: str  # the offending term or text (short)


def cjk_share(text: str) -> float:
    """CJK characters / (CJK characters + Latin letters / 2); 0.0 when there are no letters."""
    text = normalise(text)
    cjk = len(CJK_CHAR.findall(text))
    weight = cjk + len(_LATIN_LETTER.findall(text)) / 2
    return cjk / weight if weight else 0.0


def text_units(text: str) -> int:
    """Length in units: one per CJK character, one per Latin word or number."""
    text = normalise(text)
    return len(CJK_CHAR.findall(text)) + len(_LATIN_WORD.findall(text))


def _type_name(value: object) -> str:
    return "null" if value is None else type(value).__name__


def _string_problems(label: str, value: object, kind: str | None) -> list[str]:
    """A required non-empty string without leftovers, within the lenient length for ``kind``."""
    if not isinstance(value, str):
        return [f"{label} must be a string, got {_type_name(value)}"]
    if not value.strip():
        return [f"{label} must not be empty"]
    problems = [
        f"{label} contains markdown or JSON ({mark}); write plain text"
        for mark, pattern in _LEFTOVERS
        if pattern.search(value)
    ]
    if kind is not None:
        (low, high), (min_units, max_units) = LENGTHS[kind]
        units = text_units(value)
        if not min_units <= units <= max_units:
            problems.append(f"{label} has {units} characters, expected {low}-{high}")
    if kind == "heading" and not CJK_CHAR.search(value):
        problems.append(f"{label} must be a Chinese heading")
    return problems


def _item_problems(label: str, item: object, sized: bool) -> list[str]:
    if not isinstance(item, dict):
        return [f'{label} must be an object with "heading" and "text", got {_type_name(item)}']
    problems = _string_problems(
        f"{label}.heading", item.get("heading"), "heading" if sized else None
    )
    problems += _string_problems(f"{label}.text", item.get("text"), "text" if sized else None)
    return problems


def _list_problems(answer: dict, key: str, low: int, high: int) -> list[str]:
    items = answer.get(key)
    if not isinstance(items, list):
        return [
            f'"{key}" must be a list of objects with "heading" and "text", got {_type_name(items)}'
        ]
    wanted = f"exactly {low}" if low == high else f"{low}-{high}"
    problems = (
        [] if low <= len(items) <= high else [f"{key} must have {wanted} items, got {len(items)}"]
    )
    for i, item in enumerate(items):
        problems += _item_problems(f"{key}[{i}]", item, sized=key == "bullets")
    return problems


def form_problems(answer: object, *, detail_optional: bool = False) -> list[str]:
    """Shape, types, lengths and leftovers; everything of the contract except the language.

    ``detail_optional``: a missing or empty "detail" is fine (a person's imported summary has
    only the abstract and the three bullets).
    """
    if not isinstance(answer, dict):
        return [
            'the answer must be a JSON object with "abstract", "bullets" and "detail", '
            f"got {_type_name(answer)}"
        ]
    keys: tuple[str, ...] = ("abstract", "bullets", "detail")
    if detail_optional and not answer.get("detail"):
        keys = keys[:2]
    missing = [key for key in keys if key not in answer]
    problems = [f'missing key "{key}"' for key in missing]
    if "abstract" not in missing:
        problems += _string_problems("abstract", answer["abstract"], "abstract")
    if "bullets" not in missing:
        problems += _list_problems(answer, "bullets", BULLET_COUNT, BULLET_COUNT)
    if "detail" in keys and "detail" not in missing:
        problems += _list_problems(answer, "detail", *DETAIL_COUNT)
    return problems


def _language_failures(answer: object) -> Iterator[tuple[str, float]]:
    """(label, share) of each non-empty abstract/bullet/detail text that is not mostly Chinese."""
    for label, text in summary_texts(answer, headings=False):
        share = cjk_share(text)
        if text.strip() and share < MIN_CJK_SHARE:
            yield label, share


def answer_problems(answer: object) -> list[str]:
    """Everything wrong with a parsed model answer, one short line each; [] means valid.

    Language problems come first: for an answer in English they are the ones that matter.
    """
    problems = [
        f"{label} is not in Chinese (CJK share {share:.2f}, need >= {MIN_CJK_SHARE:.2f})"
        for label, share in _language_failures(answer)
    ]
    return problems + form_problems(answer)


def normalise_answer(answer: dict) -> dict:
    """Only the contract keys, strings stripped; call after ``answer_problems`` returned []."""

    def items(key: str) -> list[dict[str, str]]:
        return [
            {"heading": item["heading"].strip(), "text": item["text"].strip()}
            for item in answer[key]
        ]

    return {
        "abstract": answer["abstract"].strip(),
        "bullets": items("bullets"),
        "detail": items("detail"),
    }


def _english_runs(text: str) -> Iterator[list[re.Match[str]]]:
    """Runs of Latin words not interrupted by Chinese text or punctuation."""
    run: list[re.Match[str]] = []
    for match in _LATIN_WORD.finditer(text):
        if run and _NOT_ENGLISH.search(text[run[-1].end() : match.start()]):
            yield run
            run = []
        run.append(match)
    if run:
        yield run


def _shingles(words: list[str]) -> set[tuple[str, ...]]:
    return {tuple(words[i : i + COPIED_WORDS]) for i in range(len(words) - COPIED_WORDS + 1)}


def copied_spans(text: str, abstract_shingles: set[tuple[str, ...]]) -> list[str]:
    """Stretches of ``text`` (>= 8 words) that repeat the English abstract word for word."""
    text = normalise(text)
    spans: list[str] = []
    for run in _english_runs(text):
        words = [m.group().lower() for m in run]
        hits = [
            i
            for i in range(len(words) - COPIED_WORDS + 1)
            if tuple(words[i : i + COPIED_WORDS]) in abstract_shingles
        ]
        for first, last in _merge(hits):
            spans.append(text[run[first].start() : run[last + COPIED_WORDS - 1].end()])
    return spans


def _merge(starts: list[int]) -> list[tuple[int, int]]:
    """Consecutive window starts merged into (first, last) ranges."""
    ranges: list[tuple[int, int]] = []
    for start in starts:
        if ranges and start == ranges[-1][1] + 1:
            ranges[-1] = (ranges[-1][0], start)
        else:
            ranges.append((start, start))
    return ranges


def _copied_problems(summary: object, arxiv_abstract: str) -> list[Problem]:
    words = [m.group().lower() for m in _LATIN_WORD.finditer(normalise(arxiv_abstract))]
    shingles = _shingles(words)
    if not shingles:
        return []
    return [
        Problem("copied", f"{label}: {one_line(span, 80)}")
        for label, text in summary_texts(summary)
        for span in copied_spans(text, shingles)
    ]


def _grounding_problems(summary: object, paper_text: str) -> list[Problem]:
    if not isinstance(summary, dict):
        return []
    index = GroundingIndex(paper_text)
    found = unsupported_terms(summary, index) + unsupported_concepts(summary, index)
    numbers = unsupported_numbers(summary, paper_text)
    return [Problem("grounding", one_line(item, 80)) for item in found] + [
        Problem("numbers", one_line(item, 80)) for item in numbers
    ]


def check_summary(
    summary: dict,
    paper_text: str | None,
    arxiv_abstract: str | None,
    *,
    detail_optional: bool = False,
) -> list[Problem]:
    """Form, language, grounding, number and copied-text problems of a stored summary.

    Grounding and numbers are skipped when ``paper_text`` is None or blank (nothing to ground
    against), the copied check when ``arxiv_abstract`` is None or blank. ``detail_optional`` as
    in ``form_problems`` (for summaries written by a person).
    """
    problems = [
        Problem("form", line) for line in form_problems(summary, detail_optional=detail_optional)
    ]
    problems += [
        Problem("language", f"{label} (CJK share {share:.2f})")
        for label, share in _language_failures(summary)
    ]
    if paper_text and paper_text.strip():
        problems += _grounding_problems(summary, paper_text)
    if arxiv_abstract and arxiv_abstract.strip():
        problems += _copied_problems(summary, arxiv_abstract)
    return problems

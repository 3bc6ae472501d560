"""The reader's questions: the shape of the answer's "answers", and its quotes found in the paper.

When a paper has questions, the model's answer carries
``"answers": [{"question": ..., "answer": ..., "quotes": [...]}, ...]``, one per question, in
order (DESIGN.md, "The LLM request and answer"). Two kinds of problem:

* form (``answers_form_problems``): not a list, the wrong count, an item that is not an object
  with a non-empty "answer" and a list of string "quotes", an answer that is not mostly Chinese.
  These break the contract like a fourth bullet: sent back once, then the paper fails.
* support (``quote_problems``): a quote the paper text does not hold, or an answer that claims
  something with no quote at all (only "原文未提及" may stand alone). Sent back once too; if the
  second answer still has them the summary is stored anyway and the answer is kept flagged (❓,
  ``QuestionAnswer.verified`` false): its quotes are never shown as support.

A quote is looked up in the extracted paper text after normalising both sides: NFKC (ligatures
such as "ﬁ", full-width forms), case, curly quotes, and every space, line break, hyphen and dash
removed (so a word hyphenated across a line, "atten- tion", matches "attention"). A quote may
skip text with an ellipsis ("…" or "..."): each part must be found, in order. A quote must hold
at least ``MIN_QUOTE_CHARS`` letters or digits (each part ``MIN_PART_CHARS``): a quote is a
sentence, not a word.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from pipeline.quality.grounding import CJK_CHAR
from pipeline.state import QuestionAnswer

NOT_IN_PAPER = "原文未提及"
MIN_QUOTE_CHARS = 20  # letters and digits of a whole quote
MIN_PART_CHARS = 8  # of each part an ellipsis separates
MIN_CJK_SHARE = 0.5
_DROPPED = re.compile(
    r"[\s\u00ad\u200b-\u200f\u2060\ufeff\-\u2010-\u2015\u2212_*`'\"\u2018\u2019\u201c\u201d]+"
)
_ELLIPSIS = re.compile(r"\.{3,}|…+|⋯+")
_LATIN_LETTER = re.compile(r"[A-Za-z]")


def canonical(text: str) -> str:
    """The form quotes are compared in: NFKC, case-folded, no spaces, hyphens, dashes or quotes."""
    return _DROPPED.sub("", unicodedata.normalize("NFKC", text).casefold())


class QuoteIndex:
    """A paper text in canonical form, for many quote look-ups."""

    def __init__(self, paper_text: str) -> None:
        self._text = canonical(paper_text)

    def holds(self, quote: str) -> bool:
        """Whether the paper has this quote, its ellipsis-separated parts in order."""
        parts = [canonical(p) for p in _ELLIPSIS.split(quote)]
        parts = [p for p in parts if p]
        if sum(map(len, parts)) < MIN_QUOTE_CHARS or any(len(p) < MIN_PART_CHARS for p in parts):
            return False
        at = 0
        for part in parts:
            found = self._text.find(part, at)
            if found < 0:
                return False
            at = found + len(part)
        return True


def _type_name(value: object) -> str:
    return "null" if value is None else type(value).__name__


def _chinese(text: str) -> bool:
    cjk = len(CJK_CHAR.findall(text))
    weight = cjk + len(_LATIN_LETTER.findall(text)) / 2
    return weight == 0 or cjk / weight >= MIN_CJK_SHARE


def _item_problems(i: int, item: object) -> list[str]:
    label = f"answers[{i}]"
    if not isinstance(item, dict):
        return [
            f'{label} must be an object with "question", "answer" and "quotes", '
            f"got {_type_name(item)}"
        ]
    problems = []
    answer, quotes = item.get("answer"), item.get("quotes", [])
    if not isinstance(answer, str) or not answer.strip():
        problems.append(f'{label}.answer must be a non-empty string (or "{NOT_IN_PAPER}")')
    elif not _chinese(answer):
        problems.append(f"{label}.answer is not in Chinese")
    if not isinstance(quotes, list) or not all(isinstance(q, str) for q in quotes):
        problems.append(f"{label}.quotes must be a list of strings, got {_type_name(quotes)}")
    return problems


def answers_form_problems(answer: object, questions: tuple[str, ...]) -> list[str]:
    """What is wrong with the shape of "answers" for these questions; [] without questions."""
    if not questions or not isinstance(answer, dict):
        return []
    items = answer.get("answers")
    if not isinstance(items, list):
        return [
            f'"answers" must be a list with one object per question ({len(questions)}), '
            f"got {_type_name(items)}"
        ]
    problems = []
    if len(items) != len(questions):
        problems.append(f'"answers" must have {len(questions)} items, got {len(items)}')
    for i, item in enumerate(items[: len(questions)]):
        problems += _item_problems(i, item)
    return problems


def _quotes(item: dict[str, Any]) -> list[str]:
    return [q.strip() for q in item.get("quotes") or [] if q.strip()]


def _claims(item: dict[str, Any]) -> bool:
    """An answer that says something about the paper (not only that the paper is silent)."""
    return NOT_IN_PAPER not in item["answer"]


def quote_problems(
    answer: dict[str, Any], questions: tuple[str, ...], index: QuoteIndex
) -> list[str]:
    """Quotes the paper does not hold and claims without a quote (call after the form passed)."""
    problems = []
    for i, item in enumerate(answer.get("answers", [])[: len(questions)]):
        quotes = _quotes(item)
        for k, quote in enumerate(quotes):
            if not index.holds(quote):
                problems.append(
                    f"answers[{i}].quotes[{k}] is not verbatim text of the paper: quote the "
                    f'paper exactly (at least a whole phrase), or drop it: "{quote[:60]}"'
                )
        if not quotes and _claims(item):
            problems.append(
                f"answers[{i}] has no quote: support the answer with verbatim quotes from the "
                f'paper, or answer "{NOT_IN_PAPER}" with no quote'
            )
    return problems


def checked_answers(
    answer: dict[str, Any], questions: tuple[str, ...], index: QuoteIndex
) -> list[QuestionAnswer]:
    """The answers as stored: our question text, the found quotes, the rest unverified."""
    out = []
    for question, item in zip(questions, answer.get("answers", []), strict=False):
        quotes = _quotes(item)
        found = tuple(q for q in quotes if index.holds(q))
        missing = tuple(q for q in quotes if q not in found)
        verified = not missing and (bool(found) or not _claims(item))
        out.append(QuestionAnswer(question, item["answer"].strip(), found, missing, verified))
    return out


def stored_answer_problems(
    answers: list[QuestionAnswer], paper_text: str | None
) -> list[tuple[str, str]]:
    """(question, why) for each stored answer without support: its quotes looked up again in
    the paper text when there is one, else as the build recorded them."""
    index = QuoteIndex(paper_text) if paper_text and paper_text.strip() else None
    out = []
    for a in answers:
        quotes = a.quotes + a.unverified
        missing = [q for q in quotes if not index.holds(q)] if index else list(a.unverified)
        if missing:
            out.append((a.question, f"quote not in the paper: {missing[0]}"))
        elif not quotes and NOT_IN_PAPER not in a.answer:
            out.append((a.question, "answer without a quote"))
        elif index is None and not a.verified:
            out.append((a.question, "answer without support"))
    return out

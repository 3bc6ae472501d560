"""A fake model that answers the reader's questions by quoting the paper it was sent.

It reads the prompt as a model would: the paper between <paper> and </paper>, the numbered
questions after it. For each question it picks the paper's sentences that share the most words
with the question and quotes them verbatim (as they appear in the prompt); a question none of
whose words the paper uses is answered "原文未提及" with no quote. The rest of the answer is the
default good answer. `fabricate` makes it invent a quote instead, for the first answer only or
for every answer.
"""

from __future__ import annotations

import re
from typing import Any

from tests.support.fakes import TITLE_RE, good_answer

QUESTION_LINE = re.compile(r"^\d+\. (.+)$", re.MULTILINE)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")
_WORD = re.compile(r"[A-Za-z][A-Za-z-]{2,}")
_COMMON = {"the", "and", "for", "what", "how", "why", "when", "does", "with", "this", "that"}
FABRICATED = "We trained DeepSeek-V2 on 40 trillion tokens of proprietary dialogue data."


def prompt_parts(body: dict[str, Any]) -> tuple[str, str, list[str]]:
    """(title, paper text, questions) of a paper request, as the model reads them."""
    user = next(m["content"] for m in body["messages"] if m["role"] == "user")
    title = m.group(1) if (m := TITLE_RE.search(user)) else ""
    paper = user.split("<paper>\n", 1)[1].split("\n</paper>", 1)[0]
    after = user.split("\n</paper>", 1)[1]
    return title, paper, QUESTION_LINE.findall(after)


def sentences(paper: str) -> list[str]:
    """The paper's prose sentences, verbatim (one paragraph's sentences at a time)."""
    out = []
    for paragraph in paper.split("\n\n"):
        for sentence in _SENTENCE_END.split(paragraph.strip()):
            if 40 <= len(sentence) <= 400 and "\n" not in sentence:
                out.append(sentence)
    return out


def best_quotes(question: str, paper: str, keep: int = 2) -> list[str]:
    """Up to `keep` sentences sharing the most (and at least one) words with the question."""
    words = {w.lower() for w in _WORD.findall(question)} - _COMMON
    scored = []
    for i, sentence in enumerate(sentences(paper)):
        lower = sentence.lower()
        score = sum(word in lower for word in words)
        if score:
            scored.append((-score, i, sentence))
    return [sentence for _, _, sentence in sorted(scored)[:keep]]


def answer_to(question: str, paper: str) -> dict[str, Any]:
    quotes = best_quotes(question, paper)
    if not quotes:
        return {"question": question, "answer": "原文未提及", "quotes": []}
    return {
        "question": question,
        "answer": "根据论文原文，这一问题在文中有明确说明，具体做法与动机见所引原句。",
        "quotes": quotes,
    }


class QuotingModel:
    """A responder for FakeLLM: the default answer plus "answers" quoting the paper."""

    def __init__(self, fabricate: str = "") -> None:
        self.fabricate = fabricate  # "" | "first" (only before the repair) | "always"

    def __call__(self, body: dict[str, Any]) -> tuple[int, Any]:
        title, paper, questions = prompt_parts(body)
        answer = good_answer(title or "Paper")
        if questions:
            answer["answers"] = [answer_to(q, paper) for q in questions]
            repair = len(body["messages"]) > 2
            if self.fabricate == "always" or (self.fabricate == "first" and not repair):
                answer["answers"][0]["quotes"] = [FABRICATED]
        return 200, answer

"""Grounding: does a Chinese summary only name things its own paper talks about?

A summary of the wrong paper (the seed list's DeepSeekMoE bullets describe a vision encoder) or a
hallucinated detail usually shows up as a name the paper never uses. Two cheap checks:

* Latin terms. ``latin_terms`` pulls the Latin-script terms out of a Chinese text: model names
  (``DeepSeek-V2``, ``LLaMA-2 70B``), methods (``Multi-head Latent Attention``), benchmarks
  (``miniF2F``) and acronyms (``MLA``, ``KV``). Up to five words separated only by spaces form
  one term; in a longer run (English prose) each stretch of words with a capital or a digit is a
  term. Numbers, also with a unit (``2``, ``93.3%``, ``671B``, ``8.1T tokens``: the number check,
  ``pipeline.quality.numbers``, grounds them in any of their forms), single letters and a small
  stop list of common words are not terms; a size next to a name stays part of the term
  (``LLaMA-2 70B``).
  ``GroundingIndex`` looks each term up in the paper text, ignoring case and the spaces, hyphens,
  dots and underscores inside it, but only at word-piece edges: ``DeepSeek-V2`` matches
  "DeepSeek V2" and "deepseekv2"; ``7B`` does not match inside "67B", ``GPT-4`` not inside
  "GPT-4o", ``RL`` not inside "world". A piece edge is a word edge or a change of case or between
  letters and digits, except from a digit to a lower-case letter ("DeepSeekMoE" has edges before
  "Seek" and "MoE"; "GPT-4o" has one before "4o"). A trailing plural "s" is tolerated on either
  side. A multi-word term not found whole still counts as supported when each of its chunks is
  found, a chunk being a word plus the size/number words right after it: ``LLaMA-2 70B`` is one
  chunk (so "LLaMA 2 13B" and "70B" elsewhere do not support it), while
  ``Interleaved image-text data`` is supported by its words wherever they occur.
* Chinese concepts. Wrong-paper text written entirely in Chinese (混合视觉编码器、视觉适配器) has no
  Latin term to check, so a small glossary maps distinctive Chinese concepts to the English word
  stems a paper discussing them must contain (视觉 -> vision/visual/image). A concept is flagged
  when the summary uses it and none of its stems occurs in the paper. The glossary favours
  precision: only concepts whose English wording is near certain are listed.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator

CJK_CHAR = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ebef]")
_HYPHENS = str.maketrans({c: "-" for c in "\u2010\u2011\u2012\u2013\u2212"})
_WORD = r"[A-Za-z0-9]+(?:[-_.][A-Za-z0-9]+)*\+*"
_PHRASE = re.compile(rf"{_WORD}(?:[ \t]+{_WORD})*")
_PLAIN_NUMBER = re.compile(r"\d+(?:[.,]\d+)*(?:[KkMGBbT][A-Z]?|[xX])?")  # 7, 671B, 80GB
_PIECE = re.compile(r"[A-Z]+|[a-z]+|[0-9]+[a-z]*")
_NON_ALNUM = re.compile(r"[^a-z0-9]+")
_TECHNICAL = re.compile(r"[A-Z0-9]")
MAX_TERM_WORDS = 5  # a longer run of Latin words is prose, not one term

# Never terms on their own; trimmed from the edges of a phrase and skipped in per-chunk fallback.
FUNCTION_WORDS = frozenset(
    "a an the and or of in on for to with by via as at from into is are was were be been its it "
    "this that these those than vs e.g i.e etc we our not no".split()
)
# Too common to be worth grounding when they stand alone.
GENERIC_WORDS = frozenset(
    "model models data dataset datasets method methods task tasks paper result results "
    "performance training token tokens".split()
)

# Chinese concept -> English stems (matched at the start of a word piece, so "image" finds
# "images"). Keys do not overlap, so one wrong sentence gives one problem per concept.
CONCEPTS: dict[str, tuple[str, ...]] = {
    "视觉": ("vision", "visual", "image"),
    "图像": ("image", "picture"),
    "编码器": ("encoder",),
    "适配器": ("adapter", "adaptor", "connector", "projector"),
    "分辨率": ("resolution",),
    "多模态": ("multimodal", "multi-modal"),
    "视频": ("video",),
    "语音": ("speech", "audio"),
    "定理证明": ("theorem", "prover", "proof"),
    "蒙特卡洛": ("monte", "mcts"),
    "树搜索": ("tree search", "mcts"),
    "蒸馏": ("distill",),
    "强化学习": ("reinforcement", "rl"),
    "奖励": ("reward",),
    "低秩": ("low-rank", "low rank"),
    "潜在注意力": ("latent attention", "mla"),
    "键值": ("key-value", "key value", "kv"),
    "共享专家": ("shared expert",),
    "细粒度": ("fine-grained", "finegrained", "fine grained"),
    "令牌丢弃": ("token-drop", "drop token", "dropped token"),
    "多令牌预测": ("multi-token", "mtp"),
    "混合精度": ("mixed precision", "mixed-precision", "fp8"),
    "冷启动": ("cold-start", "cold start"),
    "形式化": ("formal",),
    "缩放定律": ("scaling law",),
    "偏好优化": ("preference",),
}


def normalise(text: str) -> str:
    """NFKC (math italics, full-width letters, ligatures to ASCII) and one kind of hyphen."""
    return unicodedata.normalize("NFKC", text).translate(_HYPHENS)


def squash(text: str) -> str:
    """Lower case, letters and digits only: "LLaMA-2 70B" -> "llama270b"."""
    return _NON_ALNUM.sub("", normalise(text).lower())


def summary_texts(summary: object, *, headings: bool = True) -> Iterator[tuple[str, str]]:
    """(label, text) for every string of a summary; tolerates any malformed shape."""
    if not isinstance(summary, dict):
        return
    if isinstance(summary.get("abstract"), str):
        yield "abstract", summary["abstract"]
    for key in ("bullets", "detail"):
        items = summary.get(key)
        if not isinstance(items, list):
            continue
        for i, item in enumerate(items):
            if not isinstance(item, dict):
                continue
            for field in ("heading", "text"):
                if isinstance(item.get(field), str) and (headings or field == "text"):
                    yield f"{key}[{i}].{field}", item[field]


def _is_plain_number(word: str) -> bool:
    return _PLAIN_NUMBER.fullmatch(word.rstrip("%")) is not None


def _clean_phrase(words: list[str]) -> str | None:
    """Trim function words at the edges; None when nothing term-like is left."""
    while words and words[0].lower() in FUNCTION_WORDS:
        words = words[1:]
    while words and words[-1].lower() in FUNCTION_WORDS:
        words = words[:-1]
    common = FUNCTION_WORDS | GENERIC_WORDS
    if all(w.lower() in common or _is_plain_number(w) for w in words):
        return None
    if len(words) == 1 and len(squash(words[0])) < 2:
        return None
    return " ".join(words)


def _phrases(words: list[str]) -> Iterator[list[str]]:
    """A short run of words is one phrase; in prose, each run of capitalised/numeric words is."""
    if len(words) <= MAX_TERM_WORDS:
        yield words
        return
    run: list[str] = []
    for word in words:
        if _TECHNICAL.search(word):
            run.append(word)
        elif run:
            yield run
            run = []
    if run:
        yield run


def latin_terms(text: str) -> list[str]:
    """Latin-script technical terms in ``text``, unique, in order of appearance."""
    seen: dict[str, None] = {}
    for match in _PHRASE.finditer(normalise(text)):
        for words in _phrases(match.group().split()):
            term = _clean_phrase(words)
            if term is not None:
                seen.setdefault(term, None)
    return list(seen)


def _chunks(term: str) -> list[str]:
    """Words of a term, a size/number word joined to the word before it."""
    chunks: list[str] = []
    joinable = False
    for word in term.split():
        if joinable and word[0].isdigit():
            chunks[-1] += " " + word
        elif word.lower() not in FUNCTION_WORDS | GENERIC_WORDS:
            chunks.append(word)
            joinable = True
        else:
            joinable = False
    return chunks


class GroundingIndex:
    """A paper text normalised once, for many fast ``supports`` look-ups."""

    def __init__(self, paper_text: str) -> None:
        text = normalise(paper_text)
        pieces: list[str] = []
        edges: set[int] = {0}
        offset = 0
        for match in _PIECE.finditer(text):
            piece = match.group().lower()
            pieces.append(piece)
            offset += len(piece)
            edges.add(offset)
        self._squashed = "".join(pieces)
        self._edges = edges
        self._cache: dict[tuple[str, bool], bool] = {}

    def _contains(self, needle: str, prefix: bool) -> bool:
        """``needle`` (squashed) starts at a piece edge and, unless ``prefix``, ends at one."""
        key = (needle, prefix)
        if key not in self._cache:
            self._cache[key] = bool(needle) and self._scan(needle, prefix)
        return self._cache[key]

    def _scan(self, needle: str, prefix: bool) -> bool:
        text, edges = self._squashed, self._edges
        start = text.find(needle)
        while start >= 0:
            end = start + len(needle)
            if start in edges and (
                prefix or end in edges or (text[end : end + 1] == "s" and end + 1 in edges)
            ):
                return True
            start = text.find(needle, start + 1)
        return False

    def _supports_whole(self, term: str) -> bool:
        needle = squash(term)
        if self._contains(needle, prefix=False):
            return True
        return len(needle) > 3 and needle.endswith("s") and self._contains(needle[:-1], False)

    def supports(self, term: str) -> bool:
        """Whether the paper text mentions ``term`` (see the module docstring for the rules)."""
        if self._supports_whole(term):
            return True
        if len(term.split()) < 2:
            return False
        chunks = _chunks(term)
        return bool(chunks) and all(self._supports_whole(chunk) for chunk in chunks)

    def mentions_stem(self, stem: str) -> bool:
        """Whether some word piece of the paper starts with ``stem`` ("image" finds "images")."""
        return self._contains(squash(stem), prefix=True)


def _as_index(paper: str | GroundingIndex) -> GroundingIndex:
    return paper if isinstance(paper, GroundingIndex) else GroundingIndex(paper)


def unsupported_terms(summary: dict, paper_text: str | GroundingIndex) -> list[str]:
    """Latin terms of the abstract, bullets and detail texts that the paper text never uses."""
    index = _as_index(paper_text)
    texts = [
        text
        for label, text in summary_texts(summary)
        if not label.startswith("detail") or label.endswith(".text")
    ]
    terms = latin_terms("\n".join(texts))
    return [term for term in terms if not index.supports(term)]


def unsupported_concepts(summary: dict, paper_text: str | GroundingIndex) -> list[str]:
    """Glossary concepts the summary uses whose English stems are all absent from the paper.

    Each entry reads ``"视觉 (vision/visual/image)"``.
    """
    index = _as_index(paper_text)
    joined = "\n".join(text for _, text in summary_texts(summary))
    return [
        f"{concept} ({'/'.join(stems)})"
        for concept, stems in CONCEPTS.items()
        if concept in joined and not any(index.mentions_stem(stem) for stem in stems)
    ]

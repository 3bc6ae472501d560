"""Number grounding: every number with its unit in a summary must occur in the paper.

``quantities`` reads the numbers of a text with what follows them, after NFKC (full-width
digits and ``％``): a percentage (``93.3%``, ``93.3 percent``, ``2.1 个百分点``), a ratio
(``5.76 倍``, ``5.76×``, ``5.76x``, ``5.76 times``, ``3-fold``, ``twice``), a magnitude
(``671B``, ``128K``, ``8.1T``, ``2.788M``, ``80GB``, ``2 trillion``, ``2 万亿``, ``6710 亿``,
``280 万``), or a plain number (thousands separators dropped: ``2,048`` is 2048). The magnitude
is applied, so "2 万亿", "2T" and "2 trillion" are the same value, as are "671B" and "6710 亿".
In a range the first number takes the unit of the second ("3.3 to 4.3 trillion").

Which numbers of a summary are checked: every percentage, ratio and magnitude, every decimal
(``78.5``) and every integer of 1,000 or more that is not a year (1900-2100 written without a
separator). Not checked: small bare integers (``3 个阶段``), a number inside a name
(``DeepSeek-V2.5``, ``GPT-4``, ``H800``, ``Qwen2.5-72B``: the term check reads those), and a
number after a reference word (``第 3 节``, ``图 2``, ``Table 4``, ``Section 4.3``) or before
``节``/``章``.

A checked number is supported when the paper holds the same value in any of these forms (the
paper side reads every number, names included; a percentage of the paper also supports the
ratio it stands for: "576%" is 5.76 times). A summary rounds: a number written with two or more
significant digits may be any paper value that rounds to it (``93%`` for 93.3%, ``2.8M`` for
2.788M; trailing zeros of an integer are not significant: ``280 万`` is 2.8M), and so may a
one-digit number after "约"/"about". "超过 X"/"more than X" takes a paper value from X up to
X plus one step of its last digit; "近 X"/"nearly X" one step below X up to X.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation

from pipeline.quality.grounding import normalise, summary_texts

_NUMBER = re.compile(r"\d+(?:,\d{3})*(?:\.\d+)?")
_MULTIPLIER_LETTERS = {"K": 3, "k": 3, "M": 6, "G": 9, "B": 9, "b": 9, "T": 12}
_CHINESE_MULTIPLIERS = {
    "万亿": 12,
    "千亿": 11,
    "百亿": 10,
    "十亿": 9,
    "亿": 8,
    "千万": 7,
    "百万": 6,
    "十万": 5,
    "万": 4,
    "千": 3,
}
_ENGLISH_MULTIPLIERS = {"thousand": 3, "million": 6, "billion": 9, "trillion": 12}
_UNIT_AFTER = re.compile(
    r"[ \t]*(?:(?P<percent>%|percent\b|个百分点|percentage points?\b)"
    r"|(?P<times>倍|×|times\b|-?fold\b)"
    r"|(?P<cn>万亿|千亿|百亿|十亿|亿|千万|百万|十万|万|千)"
    r"|(?P<en>thousand|million|billion|trillion)\b)",
    re.IGNORECASE,
)
_WORD_NUMBERS = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "twenty": 20,
    "hundred": 100,
}
_WORD_QUANTITY = re.compile(
    r"\b(?:(?P<twice>twice|double|doubles|doubled)"
    r"|(?P<word>" + "|".join(_WORD_NUMBERS) + r")[ \t-]+"
    r"(?P<unit>times|fold|thousand|million|billion|trillion|percent))\b",
    re.IGNORECASE,
)
_RANGE_GAP = re.compile(r"[ \t]*(?:to|and|or|-|–|~|～|至|到|和|或|、)[ \t]*", re.IGNORECASE)
_REFERENCE_BEFORE = re.compile(
    r"(?:第|图|表|节|章|式|附录|公式|算法|"
    r"\b(?:sections?|sec|figures?|fig|tables?|tab|eq|equations?|appendix|algorithm|step|"
    r"lemma|theorem|definition|line|page|chapter|part|version))\.?[ \t]*$",
    re.IGNORECASE,
)
_REFERENCE_AFTER = re.compile(r"[ \t]*(?:节|章|小节|部分)")
_APPROX_BEFORE = re.compile(
    r"(?:约为|大约|大概|约|~|∼|≈|\b(?:approximately|about|around|roughly))[ \t]*$",
    re.IGNORECASE,
)
_ABOVE_BEFORE = re.compile(
    r"(?:超过|超出|逾|多于|高于|大于|至少|>|≥|\b(?:more than|over|above|at least|exceeding))"
    r"[ \t]*$",
    re.IGNORECASE,
)
_BELOW_BEFORE = re.compile(
    r"(?:接近|将近|近|不到|不足|低于|少于|小于|<|≤|\b(?:less than|under|below|nearly|almost))"
    r"[ \t]*$",
    re.IGNORECASE,
)
_ABOVE_AFTER = re.compile(r"[ \t]*(?:以上|多)")
_BELOW_AFTER = re.compile(r"[ \t]*(?:以下|以内)")
_APPROX_AFTER = re.compile(r"[ \t]*左右")
_ARXIV_ID = re.compile(r"\d{4}\.\d{4,5}")
_QUANTITY_WORD = re.compile(r"\d+(?:[.,]\d+)*(?:[KkMGBbT][A-Z]?|[xX×])?%?")


@dataclass(frozen=True)
class Quantity:
    """One number of a text, as written and as a value."""

    text: str  # as written, with its unit ("2 万亿", "93.3%")
    value: Decimal  # the magnitude applied: "2 万亿" -> 2E+12
    kind: str  # "percent" | "times" | "scaled" | "plain"
    scale: Decimal  # the magnitude: 1E+12 for "万亿" and "T", 1 for a plain number
    step: Decimal  # one unit of its last significant digit, in the value's scale
    significant_digits: int
    bound: str = "="  # "=" | "~" (about) | ">" (more than) | "<" (nearly)
    checked: bool = True  # whether a summary's number of this form must be in the paper


def _decimal(text: str) -> Decimal:
    try:
        return Decimal(text.replace(",", ""))
    except InvalidOperation:  # pragma: no cover - the regex only lets digits through
        return Decimal(0)


def _precision(mantissa: str) -> tuple[int, int]:
    """(exponent of the last significant digit, significant digits) of "280" -> (1, 2)."""
    digits = mantissa.replace(",", "")
    whole, _, fraction = digits.partition(".")
    if fraction:
        significant = len((whole + fraction).lstrip("0"))
        return -len(fraction), max(significant, 1)
    stripped = whole.rstrip("0")
    zeros = len(whole) - len(stripped)
    return zeros, max(len(stripped.lstrip("0")), 1)


def _attached(text: str, start: int) -> bool:
    """Whether the number at `start` is part of a name (V2.5, GPT-4, H800, o1-1217)."""
    if start == 0:
        return False
    prev = text[start - 1]
    if prev.isascii() and (prev.isalpha() or prev == "_"):
        return True
    if prev == "." and start > 1 and text[start - 2].isascii() and text[start - 2].isalnum():
        return True
    if prev in "-/":
        word = re.search(r"[A-Za-z0-9.]+$", text[: start - 1])
        if word and re.search(r"[A-Za-z]", word.group()):
            return _QUANTITY_WORD.fullmatch(word.group()) is None  # "4K-128K" is a range
    return False


def _letters_after(text: str, end: int) -> tuple[str, int, str] | None:
    """The unit letters glued to a number ("B" of 671B, "x" of 5.76x): (kind, exponent,
    letters); None when the letters make a name instead (5th, 3D, 4o)."""
    m = re.match(r"[A-Za-z]+", text[end:])
    if not m:
        return "plain", 0, ""
    letters = m.group()
    if letters in ("x", "X"):
        return "times", 0, letters
    if letters[0] in _MULTIPLIER_LETTERS and (len(letters) == 1 or letters[1].isupper()):
        return "scaled", _MULTIPLIER_LETTERS[letters[0]], letters
    return None


def _bound(before: str, after: str) -> str:
    if _ABOVE_BEFORE.search(before) or _ABOVE_AFTER.match(after):
        return ">"
    if _BELOW_BEFORE.search(before) or _BELOW_AFTER.match(after):
        return "<"
    if _APPROX_BEFORE.search(before) or _APPROX_AFTER.match(after):
        return "~"
    return "="


def _is_checked(kind: str, mantissa: str, value: Decimal, reference: bool) -> bool:
    if reference or _ARXIV_ID.fullmatch(mantissa):
        return False
    if kind != "plain" or "." in mantissa:
        return True
    return value >= 1000 and ("," in mantissa or not 1900 <= value <= 2100)


def _quantity_at(text: str, m: re.Match[str]) -> Quantity | None:
    """The quantity of one number match, or None when its letters make it a name."""
    glued = _letters_after(text, m.end())
    if glued is None:
        return None
    kind, exponent, letters = glued
    end = m.end() + len(letters)
    unit = None if letters else _UNIT_AFTER.match(text, end)
    if unit:
        end = unit.end()
        if unit.group("percent"):
            kind = "percent"
        elif unit.group("times"):
            kind = "times"
        elif unit.group("cn"):
            kind, exponent = "scaled", _CHINESE_MULTIPLIERS[unit.group("cn")]
        else:
            kind, exponent = "scaled", _ENGLISH_MULTIPLIERS[unit.group("en").lower()]
    mantissa = m.group()
    last, significant = _precision(mantissa)
    scale = Decimal(10) ** exponent
    before, after = text[max(0, m.start() - 16) : m.start()], text[end : end + 4]
    reference = bool(_REFERENCE_BEFORE.search(before) or _REFERENCE_AFTER.match(after))
    value = _decimal(mantissa) * scale
    return Quantity(
        text=" ".join(text[m.start() : end].split()),
        value=value,
        kind=kind,
        scale=scale,
        step=Decimal(10) ** last * scale,
        significant_digits=significant,
        bound=_bound(before, after),
        checked=not _attached(text, m.start()) and _is_checked(kind, mantissa, value, reference),
    )


def _with_range_units(found: list[tuple[int, int, Quantity]], text: str) -> list[Quantity]:
    """In "3.3 to 4.3 trillion" and "4-8 倍" the first number takes the second's unit."""
    out = [q for _, _, q in found]
    for i in range(len(found) - 1, 0, -1):
        (_, end_a, a), (start_b, _, b) = found[i - 1], found[i]
        if a.kind == "plain" and b.kind != "plain" and _RANGE_GAP.fullmatch(text[end_a:start_b]):
            out[i - 1] = replace(
                a,
                value=a.value * b.scale,
                kind=b.kind,
                scale=b.scale,
                step=a.step * b.scale,
                checked=a.checked or b.checked,
            )
            found[i - 1] = (found[i - 1][0], end_a, out[i - 1])
    return out


def quantities(text: str) -> list[Quantity]:
    """Every number of `text` with its unit, in order (see the module docstring)."""
    text = normalise(text)
    found: list[tuple[int, int, Quantity]] = []
    for m in _NUMBER.finditer(text):
        q = _quantity_at(text, m)
        if q is not None:
            found.append((m.start(), m.start() + len(q.text), q))
    return _with_range_units(found, text)


def _word_values(text: str) -> Iterator[Decimal]:
    """Values written in words in a paper: "twice" (2), "two trillion", "three times"."""
    for m in _WORD_QUANTITY.finditer(text):
        if m.group("twice"):
            yield Decimal(2)
            continue
        value = Decimal(_WORD_NUMBERS[m.group("word").lower()])
        unit = m.group("unit").lower()
        yield value * Decimal(10) ** _ENGLISH_MULTIPLIERS.get(unit, 0)


class NumberIndex:
    """Every value a paper text writes, sorted, for many fast look-ups."""

    def __init__(self, paper_text: str) -> None:
        values: set[Decimal] = set()
        for q in quantities(paper_text):
            values.add(q.value)
            if q.kind == "percent":
                values.add(q.value / 100)  # "576% of the throughput" is 5.76 times
        values.update(_word_values(normalise(paper_text)))
        self._values = sorted(values)

    def _any_within(self, low: Decimal, high: Decimal) -> bool:
        i = bisect.bisect_left(self._values, low)
        return i < len(self._values) and self._values[i] <= high

    def supports(self, q: Quantity) -> bool:
        """Whether the paper holds this value, or one a summary may round to it."""
        v, step = q.value, q.step
        if q.bound == ">":
            return self._any_within(v, v + step)
        if q.bound == "<":
            return self._any_within(v - step, v)
        if q.significant_digits >= 2 or q.bound == "~":
            return self._any_within(v - step / 2, v + step / 2)
        return self._any_within(v, v)


def checked_quantities(texts: Iterable[str]) -> list[Quantity]:
    """The numbers of these texts a summary must ground, first occurrence of each text."""
    seen: dict[str, Quantity] = {}
    for text in texts:
        for q in quantities(text):
            if q.checked:
                seen.setdefault(q.text, q)
    return list(seen.values())


def is_quantity(flagged: str) -> bool:
    """Whether a ❓ item (as `unsupported_numbers` records it) is a number, not a term."""
    found = quantities(flagged)
    return len(found) == 1 and found[0].checked and found[0].text == flagged


def unsupported_numbers(summary: dict, paper: str | NumberIndex) -> list[str]:
    """The numbers of the abstract, bullets and detail that the paper never writes, as written
    in the summary ("236B", "93.3%", "2 万亿")."""
    index = paper if isinstance(paper, NumberIndex) else NumberIndex(paper)
    texts = (text for _, text in summary_texts(summary))
    return [q.text for q in checked_quantities(texts) if not index.supports(q)]

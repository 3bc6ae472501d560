"""Check a watch's arXiv `search_query` before any request: fields, quotes, parentheses, operators.

The syntax is the arXiv API's: `prefix:term` or `prefix:"a phrase"` (prefixes ti au abs co jr cat
rn id all), `submittedDate:[YYYYMMDDHHMM TO YYYYMMDDHHMM]` (and lastUpdatedDate), bare terms
(searched in all fields), `prefix:(a b)` groups, parentheses, and the operators AND, OR, ANDNOT.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

FIELDS = frozenset({"ti", "au", "abs", "co", "jr", "cat", "rn", "id", "all"})
DATE_FIELDS = frozenset({"submittedDate", "lastUpdatedDate"})
OPERATORS = frozenset({"AND", "OR", "ANDNOT"})
_RANGE = re.compile(r"\[\s*\d{8,14}\s+TO\s+\d{8,14}\s*\]")
_PREFIX = re.compile(r"([A-Za-z]+):")


class QueryError(ValueError):
    """Why a search query is malformed (one line)."""


@dataclass(frozen=True)
class _Token:
    kind: str  # "(" ")" op term field
    text: str


def query_problem(query: str) -> str | None:
    """Why `query` is not a well-formed arXiv search query, or None when it is."""
    if not query.strip():
        return "query is empty"
    try:
        _Parser(_tokens(query)).parse()
    except QueryError as exc:
        return str(exc)
    return None


def _tokens(query: str) -> list[_Token]:
    tokens: list[_Token] = []
    i, n = 0, len(query)
    while i < n:
        ch = query[i]
        if ch.isspace():
            i += 1
        elif ch in "()":
            tokens.append(_Token(ch, ch))
            i += 1
        elif ch == '"':
            end = query.find('"', i + 1)
            if end < 0:
                raise QueryError(f"unbalanced double quote at {query[i:][:30]!r}")
            if not query[i + 1 : end].strip():
                raise QueryError('empty phrase ""')
            tokens.append(_Token("term", query[i : end + 1]))
            i = end + 1
        else:
            i = _word(query, i, tokens)
    return tokens


def _word(query: str, i: int, tokens: list[_Token]) -> int:
    """Read an operator, a `prefix:` (and a date range), or a bare term starting at `i`."""
    m = _PREFIX.match(query, i)
    if m:
        field = m.group(1)
        if field not in FIELDS and field not in DATE_FIELDS:
            known = " ".join(sorted(FIELDS | DATE_FIELDS))
            raise QueryError(f"unknown field prefix {field + ':'!r} (known: {known})")
        tokens.append(_Token("field", field))
        i = m.end()
        if field in DATE_FIELDS:
            r = _RANGE.match(query, i)
            if not r:
                raise QueryError(f"{field}: needs a range like [202401010000 TO 202412312359]")
            tokens.append(_Token("term", r.group(0)))
            return r.end()
        if i >= len(query) or query[i].isspace() or query[i] == ")":
            raise QueryError(f"{field}: has no search term")
        if query[i] in '("':
            return i
    start = i
    while i < len(query) and not query[i].isspace() and query[i] not in '()"':
        i += 1
    word = query[start:i]
    kind = "op" if word in OPERATORS and not m else "term"
    tokens.append(_Token(kind, word))
    return i


class _Parser:
    """expr := unit ((AND | OR | ANDNOT)? unit)* ; unit := [field] (term | "(" expr ")")."""

    def __init__(self, tokens: list[_Token]) -> None:
        self.tokens = tokens
        self.pos = 0

    def parse(self) -> None:
        self._expr(depth=0)
        if self.pos < len(self.tokens):  # only a stray ")" stops an expression early
            raise QueryError("unbalanced parentheses: a ')' closes nothing")

    def _peek(self) -> _Token | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def _expr(self, depth: int) -> None:
        self._unit(depth, after=None)
        while (tok := self._peek()) is not None and tok.kind != ")":
            if tok.kind == "op":
                self.pos += 1
                self._unit(depth, after=tok.text)
            else:
                self._unit(depth, after=None)

    def _unit(self, depth: int, after: str | None) -> None:
        tok = self._peek()
        if tok is None or tok.kind in (")", "op"):
            if after is not None:
                raise QueryError(f"dangling {after}: nothing after it")
            if tok is not None and tok.kind == "op":
                raise QueryError(f"dangling {tok.text}: nothing before it")
            if tok is None:
                raise QueryError("unbalanced parentheses: a '(' is never closed")
            if depth == 0:
                raise QueryError("unbalanced parentheses: a ')' closes nothing")
            raise QueryError("empty parentheses ()")
        self.pos += 1
        if tok.kind == "field":
            tok = self.tokens[self.pos]  # the tokenizer always puts a term or "(" here
            self.pos += 1
        if tok.kind == "(":
            self._expr(depth + 1)
            if self._peek() is None:
                raise QueryError("unbalanced parentheses: a '(' is never closed")
            self.pos += 1

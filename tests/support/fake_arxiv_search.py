"""The arXiv API's `search_query`, as its user manual documents it, for FakeArxiv.

- `prefix:term` searches one field: ti (title), au (each author), abs (abstract), co (comment),
  jr (journal reference), cat (category), rn (report number), id, all (all of them); a bare term
  searches all. A term is a word, or a "quoted phrase" (its words consecutive, in order);
  words are compared case-insensitively, `_` and punctuation separate words (au:del_maestro).
  `prefix:(a b)` applies the prefix to the group; `submittedDate:[YYYYMMDDHHMM TO ...]` ranges.
- AND, OR, ANDNOT; AND and ANDNOT bind tighter than OR; terms side by side mean OR;
  parentheses group. A malformed query is HTTP 400 with an arXiv error entry.
- sortBy relevance (the order the fake holds them) | lastUpdatedDate | submittedDate,
  sortOrder ascending | descending; paging with start and max_results; the feed carries
  opensearch:totalResults (all matches), startIndex and itemsPerPage. Each paper appears once,
  in its latest version.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from xml.sax.saxutils import escape

Node = Callable[[Any], bool]  # a compiled query: paper -> matches

FIELDS = {"ti", "au", "abs", "co", "jr", "cat", "rn", "id", "all"}
DATES = {"submittedDate", "lastUpdatedDate"}
_TOKEN = re.compile(
    r'\s*(?:(?P<p>[()])|(?P<q>"[^"]*")|(?P<f>[A-Za-z]+):(?P<r>\[[^\]]*\])?|(?P<w>[^\s()"]+))'
)


class BadQuery(ValueError):
    pass


def _words(text: str) -> list[str]:
    return re.findall(r"[0-9a-z]+", text.lower())


def _field_texts(paper: Any, field: str) -> list[str]:
    """The separately searched texts of one field (each author is one text)."""
    texts = {
        "ti": [paper.title],
        "au": list(paper.authors),
        "abs": [paper.abstract],
        "co": [paper.comment],
        "jr": [],
        "rn": [],
        "id": [f"{paper.id}v{paper.version}"],
    }
    if field == "all":
        return [t for k in ("ti", "au", "abs", "co", "id") for t in texts[k]] + list(
            paper.categories
        )
    return texts[field]


def _term(field: str, value: str) -> Node:
    want = _words(value.strip('"'))
    if field == "cat":
        cat = value.strip('"').lower()
        return lambda p: any(c.lower() == cat for c in p.categories)
    if not want:
        raise BadQuery(f"empty term {value!r}")

    def match(paper: Any) -> bool:
        for text in _field_texts(paper, field):
            words = _words(text)
            if any(words[i : i + len(want)] == want for i in range(len(words) - len(want) + 1)):
                return True
        return False

    return match


def _date_range(field: str, value: str) -> Node:
    m = re.fullmatch(r"\[\s*(\d{8,14})\s+TO\s+(\d{8,14})\s*\]", value)
    if not m:
        raise BadQuery(f"bad range {value!r}")
    low, high = m.group(1).ljust(12, "0"), m.group(2).ljust(12, "9")

    def match(paper: Any) -> bool:
        day = paper.published or paper.updated if field == "submittedDate" else paper.updated
        stamp = day.replace("-", "") + "1200"
        return low <= stamp <= high

    return match


class _Parser:
    def __init__(self, query: str) -> None:
        self.tokens: list[tuple[str, str]] = []
        pos = 0
        while pos < len(query.rstrip()):
            m = _TOKEN.match(query, pos)
            if not m or m.end() == pos:
                raise BadQuery(f"cannot read {query[pos:]!r}")
            kind = m.lastgroup if m.lastgroup != "r" else "f"
            text = m.group(kind)
            if kind == "w" and text in ("AND", "OR", "ANDNOT"):
                kind = "op"
            self.tokens.append((kind, text))
            if m.group("r"):
                self.tokens.append(("range", m.group("r")))
            pos = m.end()
        self.pos = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        tok = self.peek()
        if tok is None:
            raise BadQuery("unexpected end of query")
        self.pos += 1
        return tok

    def parse(self) -> Node:
        node = self.disjunction("all")
        if self.peek() is not None:
            raise BadQuery(f"unexpected {self.peek()[1]!r}")
        return node

    def disjunction(self, field: str) -> Node:
        parts = [self.conjunction(field)]
        while (tok := self.peek()) is not None and tok != ("p", ")"):
            if tok == ("op", "OR"):
                self.pos += 1
            parts.append(self.conjunction(field))
        return lambda p: any(part(p) for part in parts)

    def conjunction(self, field: str) -> Node:
        node = self.unit(field)
        while (tok := self.peek()) in (("op", "AND"), ("op", "ANDNOT")):
            self.pos += 1
            left, right = node, self.unit(field)
            if tok[1] == "AND":
                node = lambda p, a=left, b=right: a(p) and b(p)  # noqa: E731
            else:
                node = lambda p, a=left, b=right: a(p) and not b(p)  # noqa: E731
        return node

    def unit(self, field: str) -> Node:
        kind, text = self.take()
        if kind == "f":
            if text in DATES:
                kind, value = self.take()
                if kind != "range":
                    raise BadQuery(f"{text}: needs a range")
                return _date_range(text, value)
            if text not in FIELDS:
                raise BadQuery(f"unknown field {text!r}")
            field = text
            kind, text = self.take()
        if kind == "p" and text == "(":
            node = self.disjunction(field)
            if self.take() != ("p", ")"):
                raise BadQuery("unbalanced parentheses")
            return node
        if kind in ("w", "q"):
            return _term(field, text)
        raise BadQuery(f"unexpected {text!r}")


def compile_query(query: str) -> Node:
    """The query as a predicate on a paper; BadQuery when it is malformed."""
    if query.count('"') % 2:
        raise BadQuery("unbalanced quotes")
    return _Parser(query).parse()


def _sort_key(sort_by: str) -> Callable[[Any], str] | None:
    if sort_by == "submittedDate":
        return lambda p: (p.published or p.updated) + p.id
    if sort_by == "lastUpdatedDate":
        return lambda p: p.updated + p.id
    return None


def search_feed(
    candidates: list[Any], params: dict[str, list[str]], entry: Callable[[Any], str]
) -> tuple[int, bytes]:
    """(status, Atom body) for a search over the latest versions in `candidates`."""
    arg = {k: v[0] for k, v in params.items() if v}
    try:
        matches = compile_query(arg.get("search_query", ""))
        start, size = int(arg.get("start", "0")), int(arg.get("max_results", "10"))
        if start < 0 or size < 0:
            raise BadQuery("start and max_results must not be negative")
    except (BadQuery, ValueError) as exc:
        return 400, _error_feed(str(exc))
    found = [p for p in candidates if matches(p)]
    key = _sort_key(arg.get("sortBy", "relevance"))
    if key is not None:
        found.sort(key=key, reverse=arg.get("sortOrder", "descending") == "descending")
    page = found[start : start + size]
    return 200, atom_feed([entry(p) for p in page], total=len(found), start=start)


def atom_feed(entries: list[str], total: int | None = None, start: int = 0) -> bytes:
    """An arXiv API answer (Atom) holding `entries`, of `total` results from `start`."""
    total = len(entries) if total is None else total
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<feed xmlns="http://www.w3.org/2005/Atom" xmlns:arxiv="http://arxiv.org/schemas/atom" '
        'xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/">'
        "<title>arXiv Query</title><id>https://arxiv.org/api/x</id>"
        "<updated>2026-01-01T00:00:00Z</updated>"
        f"<opensearch:totalResults>{total}</opensearch:totalResults>"
        f"<opensearch:startIndex>{start}</opensearch:startIndex>"
        f"<opensearch:itemsPerPage>{len(entries)}</opensearch:itemsPerPage>"
        + "".join(entries)
        + "</feed>"
    ).encode()


def _error_feed(message: str) -> bytes:
    error = (
        "<entry><id>https://arxiv.org/api/errors#malformed_query</id><title>Error</title>"
        f"<summary>{escape(message)}</summary><author><name>arXiv api core</name></author>"
        "</entry>"
    )
    return atom_feed([error], total=1, start=0)

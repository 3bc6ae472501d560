"""PDF text for the prompt: pypdf extraction, clean-up, a cached and time-limited extractor.

`extract_text` reads a PDF in-process and returns the raw page texts joined by form feeds.
`clean_text` turns that into paragraphs (one per line, blank line between) with the page furniture,
the references and the figure residue removed; see its docstring for the rules. `extract_clean` is
both, as a worker of `pipeline.text.pool.Extractor` runs it.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections import Counter
from pathlib import Path

from pipeline.text.sections import parse_heading

__all__ = ["ExtractError", "clean_text", "extract_clean", "extract_text"]

log = logging.getLogger(__name__)

MIN_TEXT_CHARS = 200


class ExtractError(Exception):
    """A PDF whose text cannot be had: `cause` says why in a few words and no path (a paper's
    reason, shown in its README row); the message names the file too (for the log)."""

    def __init__(self, path: Path | str, cause: str) -> None:
        super().__init__(f"{path}: {cause}")
        self.cause = cause


# --- extraction ------------------------------------------------------------------------------


def _decrypted(reader: object) -> bool:
    """Open an 'encrypted' PDF that has only an owner password (empty user password)."""
    try:
        return bool(reader.decrypt(""))  # type: ignore[attr-defined]
    except Exception:  # missing crypto backend, bad password: all mean "no"
        return False


def extract_text(pdf_path: Path) -> str:
    """Raw text of each page of `pdf_path` (pypdf, in-process), pages joined by "\\f".

    Raises ExtractError for an unreadable, empty, non-PDF or password-protected file, for any
    error pypdf raises, and when the document has fewer than 200 non-space characters of text.
    """
    from pypdf import PdfReader  # imported here: a cached build never needs it

    path = Path(pdf_path)
    try:
        with path.open("rb") as fh:
            head = fh.read(1024)
    except OSError as exc:
        raise ExtractError(path, f"cannot read the PDF ({exc.strerror or exc})") from exc
    if not head:
        raise ExtractError(path, "empty PDF file")
    if b"%PDF-" not in head:
        raise ExtractError(path, "not a PDF (no %PDF- header)")
    try:
        reader = PdfReader(path)
        if reader.is_encrypted and not _decrypted(reader):
            raise ExtractError(path, "PDF encrypted (needs a password)")
        pages = [page.extract_text() or "" for page in reader.pages]
    except ExtractError:
        raise
    except Exception as exc:  # pypdf raises PdfReadError, PdfStreamError, and others
        raise ExtractError(path, f"unreadable PDF ({type(exc).__name__}: {exc})") from exc
    text = "\f".join(pages)
    if sum(not ch.isspace() for ch in text) < MIN_TEXT_CHARS:
        raise ExtractError(path, "no extractable text in the PDF (image-only or empty?)")
    return text


# --- clean-up --------------------------------------------------------------------------------

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")
_SPACES = re.compile(r"[ \t]+")
_PAGE_NUMBER = re.compile(r"(?:page\s+)?\d{1,4}(?:\s*(?:/|of)\s*\d{1,4})?", re.IGNORECASE)
_ARXIV_STAMP = re.compile(r"arXiv:\d{4}\.\d{4,5}(?:v\d+)?\s+\[[\w.\-]+\]\s+\d{1,2}\s\w{3}\s\d{4}")
_CONTENTS = re.compile(r"(?:table of )?contents", re.IGNORECASE)
_TOC_ENTRY = re.compile(r".*\S\s+\d{1,4}")
_DOT_LEADER = re.compile(r".*(?:\.\s?){4,}\s*\d{1,4}")
_REFERENCES = re.compile(
    r"(?:\d{1,2}\.?\s+)?(?:References|REFERENCES|Bibliography|BIBLIOGRAPHY|References and Notes)"
)
_BULLET = re.compile(r"[•●◦▪■]")
_CAPTION = re.compile(r"(?:Figure|Fig\.|Table|Algorithm)\s+\d+\s*[|:.]")
_BLOCK_START = re.compile(f"{_BULLET.pattern}|{_CAPTION.pattern}")
_RESUME = re.compile(r"[a-z]+(?:[\s,;)]|$)")  # a lowercase word goes on with a cut sentence
_FOOTNOTE_URL = re.compile(r"\d{1,2}\s?(?:https?://|www\.)\S+")
_WORD = re.compile(r"\w+(?:-\w+)*")
_WORD_RUN_CAP = 256  # a "word" longer than this before a line-end hyphen is not looked at whole
_CJK = re.compile(r"[\u3000-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]")
_SENTENCE_END = tuple(".!?:;。！？：；")
# Prefixes that form closed compounds ("under-standing" -> "understanding").
_CLOSED_PREFIXES = frozenset(
    "under over with there where some any every out in on up be re de un dis pre pro".split()
)
_EDGE_LINES = 3


def _furniture_key(line: str) -> str:
    return _SPACES.sub(" ", re.sub(r"\d+", "#", line.strip().lower()))


def _strip_page_furniture(pages: list[list[str]]) -> list[list[str]]:
    """Drop running headers/footers (a line repeated at the top or bottom of many pages) and
    page numbers (a bare number, "Page 3", "3 / 20" as a page's first or last line)."""
    seen: Counter[str] = Counter()
    for lines in pages:
        seen.update({_furniture_key(x) for x in lines[:_EDGE_LINES] + lines[-_EDGE_LINES:]})
    threshold = max(3, len(pages) // 2)
    repeated = {key for key, n in seen.items() if n >= threshold and key}

    def furniture(line: str) -> bool:
        return _PAGE_NUMBER.fullmatch(line) is not None or _furniture_key(line) in repeated

    result = []
    for lines in pages:
        top = 0
        while top < min(_EDGE_LINES, len(lines)) and furniture(lines[top]):
            top += 1
        bottom = len(lines)
        while bottom > max(top, len(lines) - _EDGE_LINES) and furniture(lines[bottom - 1]):
            bottom -= 1
        result.append(lines[top:bottom])
    return result


def _is_residue(line: str) -> bool:
    """Garbled figure text (control characters), dot leaders, the arXiv side stamp, footnotes
    that are only a URL, chart ticks and equation numbers (digits without letters)."""
    if _CONTROL.search(line) or _DOT_LEADER.fullmatch(line):
        return True
    if _ARXIV_STAMP.fullmatch(line) or _FOOTNOTE_URL.fullmatch(line):
        return True
    return any(ch.isdigit() for ch in line) and not any(ch.isalpha() for ch in line)


def _drop_contents(lines: list[str]) -> list[str]:
    """Remove a table of contents: a "Contents" line and the "Title  page" lines after it."""
    for i, line in enumerate(lines):
        if _CONTENTS.fullmatch(line):
            end = i + 1
            while end < len(lines) and _TOC_ENTRY.fullmatch(lines[end]):
                end += 1
            if end > i + 2:
                return lines[:i] + lines[end:]
    return lines


def _cut_references(lines: list[str]) -> list[str]:
    """Drop the references; keep appendices found after them, behind an "Appendix" line."""
    start = next((i for i, x in enumerate(lines) if _REFERENCES.fullmatch(x)), None)
    if start is None:
        return lines
    for j in range(start + 1, len(lines)):
        heading = parse_heading(lines[j])
        if heading is None:
            continue
        if heading.kind == "marker":
            return lines[:start] + lines[j:]
        if heading.kind == "lettered" and heading.key == (1,):
            return lines[:start] + ["Appendix"] + lines[j:]
    return lines[:start]


def _vocabulary(lines: list[str]) -> Counter[str]:
    """Word counts of the document, leaving out the halves of words broken at line ends."""
    vocab: Counter[str] = Counter()
    broken_before = False
    for line in lines:
        words = [w.lower() for w in _WORD.findall(line)]
        if broken_before and words:
            words.pop(0)
        broken_before = _broken_word([line]) is not None
        if broken_before and words:
            words.pop()
        vocab.update(words)
        vocab.update(part for w in words if "-" in w for part in w.split("-"))
    return vocab


def _keep_hyphen(left: str, right: str, vocab: Counter[str]) -> bool:
    """Whether "left-" at a line end + "right" is a real hyphen ("Mixture-of-Experts") rather
    than a word broken by the typesetter ("experi-ments").

    Heuristic: keep the hyphen unless both letters at the break are lowercase and neither part is
    a compound itself; then prefer the spelling found elsewhere in the same document
    ("open-source" vs "experiments"); failing that, keep it when both halves are words of the
    document ("code-related"), except after a closed-compound prefix ("under", "with", ...).
    """
    if not (left[-1].islower() and right[:1].islower()) or "-" in left + right:
        return True
    hyphened, joined = f"{left}-{right}".lower(), f"{left}{right}".lower()
    if vocab[hyphened] != vocab[joined]:
        return vocab[hyphened] > vocab[joined]
    if left.lower() in _CLOSED_PREFIXES or min(len(left), len(right)) < 3:
        return False
    return vocab[left.lower()] > 0 and vocab[right.lower()] > 0


def _broken_word(pieces: list[str]) -> str | None:
    """The word before a hyphen that ends the text `pieces` make ("experi" of "... experi-"),
    or None: what `([\\w-]*[A-Za-z])-$` finds, read from the end, so it costs the word's length
    (at most _WORD_RUN_CAP characters), not the text's."""
    if not pieces or not pieces[-1].endswith("-"):
        return None
    run: list[str] = []
    size = 0
    for piece in reversed(pieces):
        start = len(piece)
        while start > 0 and size < _WORD_RUN_CAP and _word_char(piece[start - 1]):
            start -= 1
            size += 1
        run.append(piece[start:])
        if start > 0 or size >= _WORD_RUN_CAP:
            break
    word = "".join(reversed(run))[:-1]
    return word if word and word[-1].isascii() and word[-1].isalpha() else None


def _word_char(ch: str) -> bool:
    return ch.isalnum() or ch in "_-"


class _Paragraph:
    """A paragraph being built line by line: its pieces, joined once when it is done. (Adding
    each line to one growing string copies the string every time: quadratic in a paragraph that
    never ends, such as a PDF's text with no paragraph breaks.)"""

    def __init__(self, first: str) -> None:
        self.pieces = [first]

    def text(self) -> str:
        return "".join(self.pieces)

    def head(self, chars: int = 200) -> str:
        """The paragraph's first `chars` characters (or a few more)."""
        taken, size = [], 0
        for piece in self.pieces:
            taken.append(piece)
            size += len(piece)
            if size >= chars:
                break
        return "".join(taken)

    def join(self, line: str, vocab: Counter[str]) -> None:
        """Add the next line, with a space, or none after a CJK character or a broken word."""
        if broken := _broken_word(self.pieces):
            right = _WORD.match(line)
            if right and line[0].isalpha():
                if not _keep_hyphen(broken, right.group(0), vocab):
                    self.pieces[-1] = self.pieces[-1][:-1]
                self.pieces.append(line)
                return
        if _CJK.match(self.pieces[-1][-1]) and _CJK.match(line[0]):
            self.pieces.append(line)
        else:
            self.pieces.append(" " + line)


def _is_caption(line: str) -> bool:
    return _CAPTION.match(line) is not None


def _line_end(line: str, following: str | None, width: int, caption: bool) -> str:
    """What follows prose `line`: "join" the next line, "end" the paragraph, or "interrupt" it
    (mid-sentence, the next line being a caption or figure residue: it may resume later).
    A caption ends at a full stop before a lowercase line: that line resumes the text it cut."""
    if following is None or parse_heading(following) or _BULLET.match(following):
        return "end"
    sentence_end = line.rstrip("\"'”’").endswith(_SENTENCE_END)
    if caption and sentence_end and following[0].islower():
        return "end"
    unfinished = (
        _is_caption(following)
        or len(following) < width * 0.5
        and not following.rstrip("\"'”’").endswith(_SENTENCE_END)
    )
    if _broken_word([line]):
        if following[0].islower() or _broken_word([following]):
            return "join"
        return "interrupt" if unfinished else "join"
    if len(line) < width * 0.5 or sentence_end and len(line) < width * 0.85:
        return "end"
    if unfinished:
        return "end" if sentence_end else "interrupt"
    return "join"


class _Reflow:
    """Joins the lines of each paragraph. Headings become paragraphs of their own; a run of short
    lines (table rows, figure labels, code) stays one paragraph with its line breaks; a paragraph
    cut mid-sentence by a figure or caption (often at a page break) resumes after it."""

    def __init__(self, lines: list[str], vocab: Counter[str]) -> None:
        lengths = sorted(len(x) for x in lines) or [0]
        self.width = max(20, lengths[int(len(lengths) * 0.9)])
        self.lines, self.vocab = lines, vocab
        self.out: list[str] = []
        self.current: _Paragraph | None = None
        self.short_run = False
        self.suspended: int | None = None  # index in `out` of an interrupted paragraph

    def flush(self, interrupted: bool = False) -> None:
        if self.current:
            self.out.append(self.current.text())
            if interrupted:
                self.suspended = len(self.out) - 1
        self.current, self.short_run = None, False

    def start(self, line: str, short: bool) -> None:
        if self.suspended is not None and _RESUME.match(line) and not short:
            self.current = _Paragraph(self.out.pop(self.suspended))
            self.current.join(line, self.vocab)
            self.suspended = None
            return
        if not short and not _is_caption(line):
            self.suspended = None
        self.current, self.short_run = _Paragraph(line), short

    def run(self) -> list[str]:
        for i, line in enumerate(self.lines):
            following = self.lines[i + 1] if i + 1 < len(self.lines) else None
            if parse_heading(line):
                self.flush()
                self.out.append(line)
                self.suspended = None
                continue
            short = len(line) < self.width * 0.5 and not _broken_word([line])
            if self.short_run and short and not _BLOCK_START.match(line) and self.current:
                self.current.pieces.append("\n" + line)
                continue
            if self.short_run:
                self.flush()
            if self.current:
                self.current.join(line, self.vocab)
            else:
                self.start(line, short)
            if not self.short_run and self.current:
                caption = _is_caption(self.current.head())
                end = _line_end(line, following, self.width, caption)
                if end != "join":
                    self.flush(interrupted=end == "interrupt")
        self.flush()
        return self.out


def clean_text(raw: str) -> str:
    """Clean pypdf page texts (joined by "\\f") into paragraphs separated by blank lines.

    * NFKC normalisation: ligatures ("ﬁ" -> "fi"), math letters ("𝑁" -> "N"), full-width forms.
    * Page furniture: running headers/footers (the same line, digits ignored, among the first or
      last three lines of at least half the pages, min. 3) and page numbers at a page's top or
      bottom are dropped; the form feeds between pages are consumed.
    * Residue: lines with control characters (garbled figure fonts), lines of numbers only (chart
      ticks, equation numbers), dot-leader lines, a table of contents, the arXiv side stamp.
    * Everything from the "References"/"Bibliography" heading on is dropped, except appendices that
      follow it: they are kept at the end behind a line "Appendix" (low priority in the budget).
    * Lines are rejoined into paragraphs; a word hyphenated across a line end is rejoined without
      the hyphen only when both letters at the break are lowercase and the document does not
      spell it with a hyphen elsewhere (see `_keep_hyphen`).
    """
    text = unicodedata.normalize("NFKC", raw).replace("\r\n", "\n").replace("\r", "\n")
    pages = [
        [_SPACES.sub(" ", x).strip() for x in page.split("\n") if x.strip()]
        for page in text.split("\f")
    ]
    lines = [x for page in _strip_page_furniture(pages) for x in page if not _is_residue(x)]
    lines = _cut_references(_drop_contents(lines))
    vocab = _vocabulary(lines)
    return "\n\n".join(_Reflow(lines, vocab).run())


def extract_clean(pdf_path: Path) -> str:
    """What a child process runs by default: extraction then clean-up."""
    text = clean_text(extract_text(pdf_path))
    if sum(not ch.isspace() for ch in text) < MIN_TEXT_CHARS:
        raise ExtractError(pdf_path, "no extractable text in the PDF (only page furniture)")
    return text

"""Section headings and the token-budget selection (pipeline.text.sections)."""

from __future__ import annotations

import re

import pytest

from pipeline.text.sections import (
    detect_headings,
    parse_heading,
    plausible_next,
    select_for_budget,
)
from pipeline.text.tokens import estimate_tokens
from tests.support.realpdfs import PAPERS, cleaned_text, needs_fixtures

MARKER = re.compile(r"^\[… 略去 .+ …\]$")


@pytest.mark.parametrize(
    ("line", "kind", "key"),
    [
        ("1 Introduction", "numbered", (1,)),
        ("1. Introduction", "numbered", (1,)),
        ("2.1 Multi-Head Latent Attention", "numbered", (2, 1)),
        ("2.1.4. Comparison of Key-Value Cache", "numbered", (2, 1, 4)),
        ("5. Conclusion and Future Work", "numbered", (5,)),
        ("5. Conclusion, Limitation, and Future Work", "numbered", (5,)),
        ("Abstract", "named", ()),
        ("ABSTRACT", "named", ()),
        ("Conclusion", "named", ()),
        ("Related Work", "named", ()),
        ("Appendix", "marker", ()),
        ("Appendices", "marker", ()),
        ("A. Contributions and Acknowledgments", "lettered", (1,)),
        ("B.1. Model Description", "lettered", (2, 1)),
        ("Appendix C: Proofs of the Theorems", "lettered", (3,)),
        ("Appendix A", "lettered", (1,)),
    ],
)
def test_parse_heading_accepts(line: str, kind: str, key: tuple[int, ...]) -> None:
    heading = parse_heading(line)
    assert heading is not None and (heading.kind, heading.key) == (kind, key)


@pytest.mark.parametrize(
    "line",
    [
        "1 Introduction 4",  # table of contents
        "2.1 Multi-Head Latent Attention . . . . . . . 6",
        "H. Zhang",  # an author
        "A. Vaswani, N. Shazeer, N. Parmar, J. Uszkoreit, L. Jones",  # a reference
        "Appendix A.",  # "... see\nAppendix A." in running text
        "3 of the models were trained for longer.",
        "12 34 56",
        "2023) showed that the results hold.",
        "",
    ],
)
def test_parse_heading_rejects(line: str) -> None:
    assert parse_heading(line) is None


def test_plausible_next() -> None:
    assert plausible_next(None, (1,))
    assert plausible_next((2, 2, 4), (2, 3))
    assert plausible_next((2, 2, 4), (3,))
    assert plausible_next((2, 2, 4), (2, 2, 5))
    assert plausible_next((2,), (2, 1))
    assert not plausible_next((2, 2, 4), (7, 1))
    assert not plausible_next((3,), (2,))
    assert not plausible_next(None, (8,))


def test_detect_headings_follows_the_numbering() -> None:
    paragraphs = [
        "1 Introduction",
        "text",
        "8 Conclusion",  # out of sequence: a stray line
        "2 Method",
        "A. Contributions",
        "H. Zhang",
        "B. Details",
    ]
    found = [h.text for _, h in detect_headings(paragraphs)]
    assert found == ["1 Introduction", "2 Method", "A. Contributions", "B. Details"]


@needs_fixtures
@pytest.mark.parametrize("paper", PAPERS)
def test_fixture_sections(paper: str) -> None:
    paragraphs = cleaned_text(paper).split("\n\n")
    titles = [h.text.lower() for _, h in detect_headings(paragraphs)]
    assert "abstract" in titles
    assert any(re.fullmatch(r"1\.? introduction", t) for t in titles)
    assert any("conclusion" in t for t in titles)
    numbered = [h.key for _, h in detect_headings(paragraphs) if h.kind == "numbered"]
    assert numbered == sorted(numbered), "headings out of document order"


@needs_fixtures
def test_fixture_headings_exactly() -> None:
    paragraphs = cleaned_text("2501.17811").split("\n\n")
    assert [h.text for _, h in detect_headings(paragraphs)] == [
        "Abstract",
        "1. Introduction",
        "2. Method",
        "2.1. Architecture",
        "2.2. Optimized Training Strategy",
        "2.3. Data Scaling",
        "2.4. Model Scaling",
        "3. Experiments",
        "3.1. Implementation Details",
        "3.2. Evaluation Setup",
        "3.3. Comparison with State-of-the-arts",
        "3.4. Qualitative Results",
        "4. Conclusion",
    ]
    v2 = [h.text for _, h in detect_headings(cleaned_text("2405.04434").split("\n\n"))]
    assert "2.1. Multi-Head Latent Attention: Boosting Inference Efficiency" in v2
    assert v2[-3:] == [
        "E. Discussion About Pre-Training Data Debiasing",
        "F. Additional Evaluations on Math and Code",
        "G. Evaluation Formats",
    ]
    assert "H. Zhang" not in v2 and "A. Budapest" not in v2


# --- select_for_budget -------------------------------------------------------------------------


def _is_intro(heading: str) -> bool:
    return "introduction" in heading.lower()


def _is_conclusion(heading: str) -> bool:
    return "conclusion" in heading.lower()


def _in_order(selected: str, text: str) -> bool:
    """Every selected paragraph (but the omission notes) is a whole paragraph of `text`, and they
    come in document order: the selection was cut at paragraph boundaries only."""
    original = iter(text.split("\n\n"))
    kept = [p for p in selected.split("\n\n") if not MARKER.match(p)]
    return all(any(p == q for q in original) for p in kept)


@needs_fixtures
@pytest.mark.parametrize("paper", PAPERS)
@pytest.mark.parametrize("budget", [1500, 4000, 12000])
def test_selection_on_fixture(paper: str, budget: int) -> None:
    text = cleaned_text(paper)
    selection = select_for_budget(text, budget)
    assert selection.tokens == estimate_tokens(selection.text) <= budget
    assert any(map(_is_intro, selection.sections)), selection.sections
    assert any(map(_is_conclusion, selection.sections)), selection.sections
    assert selection.text.startswith(text.split("\n\n")[0])  # the title comes first
    assert _in_order(selection.text, text)
    if selection.truncated:
        assert selection.omitted and any(map(MARKER.match, selection.text.split("\n\n")))
    else:
        assert selection.text == text and not selection.omitted


@needs_fixtures
def test_selection_priorities() -> None:
    text = cleaned_text("2405.04434")
    selection = select_for_budget(text, 12000)
    assert selection.truncated
    assert selection.sections[:2] == ["Abstract", "1. Introduction"]
    assert "5. Conclusion, Limitation, and Future Work" in selection.sections
    assert "G. Evaluation Formats" in selection.omitted  # appendices last
    assert not any(s.startswith(("B.", "C.", "G.")) for s in selection.sections)
    everything = select_for_budget(text, 10**6)
    assert not everything.truncated and "G. Evaluation Formats" in everything.sections


@needs_fixtures
def test_selection_whole_text_fits() -> None:
    text = cleaned_text("2501.17811")
    selection = select_for_budget(text, 12000)
    assert selection.text == text
    assert (selection.truncated, selection.omitted) == (False, [])
    assert selection.sections[0] == "Abstract" and selection.sections[-1] == "4. Conclusion"


def _paper(method_paragraphs: int) -> str:
    parts = ["A Title for Testing", "Abstract", "We test things. " * 10]
    parts += ["1 Introduction", "Intro text here. " * 20]
    parts += ["2 Method"] + [f"Method paragraph {i}. " * 30 for i in range(method_paragraphs)]
    parts += ["3 Experiments", "Experiment text. " * 30, "4 Conclusion", "It works. " * 10]
    return "\n\n".join(part.strip() for part in parts)


def test_selection_trims_at_paragraph_boundaries() -> None:
    text = _paper(8)
    budget = estimate_tokens(text) // 2
    selection = select_for_budget(text, budget)
    assert selection.tokens <= budget and selection.truncated
    assert "2 Method (trimmed)" in selection.omitted
    assert "[… 略去 2 Method 的其余部分 …]" in selection.text
    assert "[… 略去 3 Experiments …]" in selection.text
    assert selection.sections == ["Abstract", "1 Introduction", "2 Method", "4 Conclusion"]
    assert _in_order(selection.text, text)
    assert not _in_order(selection.text.replace("Method paragraph 0", "Method paragraph 0 ("), text)


def test_selection_small_text_passes_whole() -> None:
    text = _paper(1)
    selection = select_for_budget(text, 12000)
    assert selection.text == text and not selection.truncated
    assert selection.tokens == estimate_tokens(text)


@pytest.mark.parametrize("budget", [0, 5, 60, 200])
def test_selection_tiny_budgets(budget: int) -> None:
    selection = select_for_budget(_paper(4), budget)
    assert selection.tokens <= budget and selection.truncated


def test_selection_without_headings() -> None:
    text = "\n\n".join(f"Paragraph {i} says something. " * 20 for i in range(20))
    selection = select_for_budget(text, 500)
    assert 0 < selection.tokens <= 500
    assert selection.omitted == ["(front matter) (trimmed)"]


def test_selection_rejects_negative_budget() -> None:
    with pytest.raises(ValueError):
        select_for_budget("text", -1)

"""Tests for pipeline.publish.mdsafe: untrusted text never breaks the README's table or markdown."""

from __future__ import annotations

import random
import re

import pytest

from pipeline.names import default_slug, slug_ok
from pipeline.publish.mdsafe import (
    BR,
    cell,
    display_width,
    inline,
    trusted_cell,
    wrap,
)

ABSTRACT = (
    "介绍 DeepSeek-V2，这是一个强大、经济和高效的混合专家语言模型。采用多头潜在注意力（MLA）和 "
    "DeepSeekMoE 架构，在保持强大性能的同时，实现了经济的训练和高效的推理。"
)
CLOSING = "，。、；：！？）」』”"

NASTY = [
    "a | b || c",
    "line one\nline two\r\nline three\rfour\u2028five\u2029six\tseven",
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "[click](javascript:alert(1))",
    "![img](http://evil.example/x.png)",
    "http://evil.example/x",
    "see https://evil.example and www.evil.example and WWW.EVIL.EXAMPLE",
    "## Injected heading\n# H1",
    "```code```",
    "> quote\n- item\n+ item\n1. first\n2) second\n===\n---",
    "**bold** _it_ ~~strike~~ `tick`",
    "back\\slash \\| escaped pipe and trailing \\",
    "&lt;script&gt; &#124; &amp;",
    "nul\x00 bell\x07 esc\x1b[31m del\x7f c1\x9b bidi\u202eevil\u202c",
    "| leading pipe",
    "trailing pipe |",
    "中文｜全角竖线，（括号）与 `代码` 和 <b>标签</b>",
]


def split_row(row: str) -> list[str]:
    """Split a GFM table row like cmark-gfm: a backslash escapes the next char, "|" splits."""
    assert row.startswith("|") and row.endswith("|"), row
    cells: list[str] = []
    current: list[str] = []
    i = 0
    while i < len(row):
        if row[i] == "\\" and i + 1 < len(row):
            current.append(row[i : i + 2])
            i += 2
            continue
        if row[i] == "|":
            cells.append("".join(current))
            current = []
        else:
            current.append(row[i])
        i += 1
    cells.append("".join(current))
    assert cells[0] == "" and cells[-1] == "", row
    return [c.strip() for c in cells[1:-1]]


def has_unescaped_pipe(text: str) -> bool:
    return any(len(m[1]) % 2 == 0 for m in re.finditer(r"(\\*)\|", text))


def assert_safe(out: str) -> None:
    """What a reader would notice: one line, no HTML but <br />, no table break, no link."""
    assert "\n" not in out and "\r" not in out
    assert "\u2028" not in out and "\u2029" not in out
    assert "<" not in out.replace(BR, "")
    assert not has_unescaped_pipe(out)
    assert "](" not in out
    assert "://" not in out
    assert not re.search(r"www\.", out, re.IGNORECASE)
    assert not re.search(r"(?<!\\)(?:\\\\)*\\$", out.replace(BR, "\n"), re.M), "dangling \\"
    assert split_row(f"| a | {out} | b |") == ["a", out.strip(), "b"]


def rejoins(original: str, lines: list[str]) -> bool:
    """The lines are the original text, cut at breaks that drop at most one space."""
    pos = 0
    for i, line in enumerate(lines):
        if i and original.startswith(" ", pos):
            pos += 1
        if not original.startswith(line, pos):
            return False
        pos += len(line)
    return pos == len(original)


# --- untrusted text ---------------------------------------------------------------------------


@pytest.mark.parametrize("text", NASTY)
@pytest.mark.parametrize("render", [inline, cell, lambda t: cell(t, 12), lambda t: cell(t, 70)])
def test_untrusted_text_cannot_break_the_table(text, render):
    assert_safe(render(text))


def test_all_nasty_strings_at_once():
    text = "\n".join(NASTY)
    for out in (inline(text), cell(text), cell(text, 30)):
        assert_safe(out)


def test_whitespace_and_controls():
    assert inline("  a\n\tb\r\nc\u2028d\u2029e\x0bf\x85g  ") == "a b c d e f g"
    assert inline("a\x00b\x1bc\x7fd") == "abcd"
    assert inline("safe\u202eevil") == "safeevil"
    assert inline("lone \ud800 surrogate") == "lone surrogate"
    assert inline("") == "" and cell("   ", 10) == ""


def test_html_is_inert():
    assert inline("<script>alert(1)</script>") == "&lt;script&gt;alert(1)&lt;/script&gt;"
    assert inline("a & b") == "a &amp; b"
    assert inline("&lt;") == "&amp;lt;"


def test_markdown_is_literal():
    assert inline("**b** _i_ `c` ~s~") == r"\*\*b\*\* \_i\_ \`c\` \~s\~"
    assert inline("[click](javascript:alert(1))") == r"\[click\]\(javascript:alert(1))"
    assert inline("a|b") == r"a\|b"
    assert inline("a\\b") == r"a\\b"
    assert inline(r"a\|b") == r"a\\\|b"


def test_autolinks_are_neutralised():
    assert inline("http://x.example/a") == r"http:\/\/x.example/a"
    assert inline("go to www.x.example") == r"go to www\.x.example"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("# H1", r"\# H1"),
        ("## H2", r"\## H2"),
        ("> q", "&gt; q"),
        ("- item", r"\- item"),
        ("+ item", r"\+ item"),
        ("=== x", r"\=== x"),
        ("1. first", r"1\. first"),
        ("12) twelfth", r"12\) twelfth"),
        ("2024 was a year", "2024 was a year"),
        ("a # b - c", "a # b - c"),
    ],
)
def test_leading_block_markers_escaped(text, expected):
    assert inline(text) == expected


def test_chinese_text_is_untouched():
    assert inline(ABSTRACT) == ABSTRACT
    assert cell(ABSTRACT, 70).replace(BR, "") == ABSTRACT


def test_cell_wraps_before_escaping():
    out = cell("<<<<<<<<<<", 4)
    parts = out.split(BR)
    assert len(parts) == 3
    assert all(re.fullmatch(r"(&lt;)+", p) for p in parts)
    out = cell("|||||||| ", 3)
    assert all(re.fullmatch(r"(\\\|)+", p) for p in out.split(BR))
    assert cell("a b", None) == "a b"


def test_cell_width_follows_wrap():
    lines = cell(ABSTRACT, 70).split(BR)
    assert lines == wrap(ABSTRACT, 70)


# --- display width and wrapping ---------------------------------------------------------------


def test_display_width():
    assert display_width("abc") == 3
    assert display_width("中文") == 4
    assert display_width("中a") == 3
    assert display_width("，。（）") == 8
    assert display_width("ＡＢ") == 4
    assert display_width("e\u0301") == 1
    assert display_width("") == 0
    assert display_width("DeepSeek 模型") == 13


def test_wrap_reference_abstract():
    lines = wrap(ABSTRACT, 70)
    assert len(lines) == 3
    assert all(display_width(line) <= 70 for line in lines)
    assert all(line == line.strip() for line in lines)
    assert not any(line[0] in CLOSING for line in lines)
    assert rejoins(ABSTRACT, lines)
    for word in re.findall(r"[A-Za-z0-9][A-Za-z0-9.-]*", ABSTRACT):
        assert any(word in line for line in lines), word


def fits(line: str, width: int) -> bool:
    """Within width, or over it only by one hanging closing punctuation mark."""
    return display_width(line) <= width or (
        line[-1] in CLOSING + ",.;:!?)" and display_width(line[:-1].rstrip()) <= width
    )


@pytest.mark.parametrize("width", [7, 10, 16, 25, 40, 70, 200])
def test_wrap_reference_abstract_any_width(width):
    lines = wrap(ABSTRACT, width)
    assert rejoins(ABSTRACT, lines)
    assert all(display_width(line) <= width for line in lines)
    assert not any(line[0] in CLOSING for line in lines)


@pytest.mark.parametrize("width", [2, 3, 4, 5, 6])
def test_wrap_reference_abstract_tiny_width_hangs_punctuation(width):
    lines = wrap(ABSTRACT, width)
    assert rejoins(ABSTRACT, lines)
    assert all(fits(line, width) for line in lines)
    assert not any(line[0] in CLOSING for line in lines)


def test_wrap_hangs_punctuation_after_a_word_filling_the_line():
    word = "Supercalifragilistic"
    assert wrap(f"介绍 {word}，好", 20) == ["介绍", f"{word}，", "好"]
    assert wrap(f"{word}x，好", 20) == [word, "x，好"]


def test_wrap_kinsoku_moves_the_previous_char_down():
    assert wrap("一二三四，五", 8) == ["一二三", "四，五"]
    assert wrap("一二三四。", 8) == ["一二三", "四。"]
    assert wrap("一二三（四）", 8) == ["一二三", "（四）"]


def test_wrap_latin_breaks_only_at_spaces():
    title = "DeepSeek LLM: Scaling Open-Source Language Models with Longtermism"
    lines = wrap(title, 34)
    assert lines == ["DeepSeek LLM: Scaling Open-Source", "Language Models with Longtermism"]
    assert rejoins(title, lines)


def test_wrap_long_word_is_split_only_when_it_must():
    assert wrap("DeepSeek-Coder-Instruct", 16) == ["DeepSeek-Coder-", "Instruct"]
    word = "x" * 25
    lines = wrap(f"a {word} b", 10)
    assert lines == ["a", "x" * 10, "x" * 10, "x" * 5 + " b"]


def test_wrap_normalises_whitespace_and_is_deterministic():
    assert wrap("  a \n b  ", 10) == ["a b"]
    assert wrap("", 10) == []
    assert wrap(ABSTRACT, 30) == wrap(ABSTRACT, 30)
    with pytest.raises(ValueError):
        wrap("x", 0)


def test_wrap_mixed_cjk_and_latin_without_spaces():
    text = "采用DeepSeekMoE架构"
    lines = wrap(text, 12)
    assert rejoins(text, lines)
    assert "DeepSeekMoE" in "".join(lines) and any("DeepSeekMoE" in line for line in lines)


# --- trusted text -----------------------------------------------------------------------------


def test_trusted_cell_keeps_markdown_and_emoji():
    assert trusted_cell("**推荐** 🚀 [code](https://github.com/x)") == (
        "**推荐** 🚀 [code](https://github.com/x)"
    )


def test_trusted_cell_cannot_break_the_table():
    out = trusted_cell("a|b \\|c \\\\|d\nsecond line\r\nthird <b>x</b> <br> trailing \\")
    assert out == (
        r"a\|b \|c \\\|d" + BR + "second line" + BR + r"third &lt;b>x&lt;/b> &lt;br> trailing \\"
    )
    assert "<" not in out.replace(BR, "")
    assert not has_unescaped_pipe(out)
    assert split_row(f"| a | {out} | b |") == ["a", out, "b"]


def test_trusted_cell_strips_controls():
    assert trusted_cell("  a\x00b\u202e\t c  \n") == "ab c"


# --- slugs ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "slug", ["../x", "a/b", "a\\b", "", ".hidden", "a\x00b", "a b", "a..b", "x" * 81, "a\nb"]
)
def test_slug_ok_refuses(slug):
    assert not slug_ok(slug)


@pytest.mark.parametrize(
    "slug", ["DeepSeek-V2", "DeepSeek-Prover-V1.5", "深度求索", "a_b.c", "x" * 80]
)
def test_slug_ok_accepts(slug):
    assert slug_ok(slug)


@pytest.mark.parametrize(
    ("project", "expected"),
    [
        ("DeepSeek V2", "DeepSeek-V2"),
        ("DeepSeek Prover-V1.5", "DeepSeek-Prover-V1.5"),
        ("DeepSeek LLM", "DeepSeek-LLM"),
        ("  DeepSeek   MoE  ", "DeepSeek-MoE"),
        ("Ｄｅｅｐ Ｓｅｅｋ", "Deep-Seek"),
        ("a - b", "a-b"),
        ("../../etc/passwd", "etcpasswd"),
        ("深度 求索", "深度-求索"),
        ("!!!", "paper"),
        ("", "paper"),
    ],
)
def test_default_slug(project, expected):
    assert default_slug(project) == expected
    assert slug_ok(default_slug(project))


def test_default_slug_is_short_enough():
    assert slug_ok(default_slug("a" * 300))
    assert slug_ok(default_slug("深" * 300))


# --- random input -----------------------------------------------------------------------------

ALPHABET = (
    "ab Z09 \\|`*_[]()~<>&#=+-.!:/@w\n\r\t\x00\x1b\u2028\u2029\u202e\u0301"
    "中文，。（）「」“”　ＡＢ🚀"
)


def test_random_strings_never_break_the_row():
    rng = random.Random(20240105)
    for _ in range(2000):
        text = "".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 60)))
        assert_safe(cell(text))
        assert_safe(cell(text, rng.randint(1, 30)))
        slug = default_slug(text)
        assert slug_ok(slug)
        out = trusted_cell(text)
        assert "<" not in out.replace(BR, "") and "\n" not in out
        cells = split_row(f"| a | {out} | b |")
        assert len(cells) == 3 and cells[0] == "a" and cells[2] == "b"


def test_random_strings_wrap_back_together():
    rng = random.Random(7)
    for _ in range(2000):
        raw = "".join(rng.choice("ab cd 中文，。（）- ") for _ in range(rng.randint(0, 50)))
        text = " ".join(raw.split())
        width = rng.randint(2, 20)
        lines = wrap(text, width)
        assert rejoins(text, lines)
        assert all(line and line == line.strip() for line in lines)
        assert all(fits(line, width) for line in lines)


def test_hypothesis_cells_never_break_the_row():
    hypothesis = pytest.importorskip("hypothesis")
    st = hypothesis.strategies

    @hypothesis.settings(max_examples=300, deadline=None)
    @hypothesis.given(st.text(), st.one_of(st.none(), st.integers(min_value=1, max_value=80)))
    def check(text: str, width: int | None) -> None:
        assert_safe(cell(text, width))
        assert slug_ok(default_slug(text))

    check()


def test_slug_ok_limits_utf8_bytes_for_file_names():
    assert slug_ok("深" * 66)
    assert not slug_ok("深" * 67)  # 201 bytes: "{NN}-{slug}.{ID}v{N}.md" could pass 255

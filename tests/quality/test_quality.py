"""Tests for pipeline.quality (checks, grounding): contract, language, grounding, copying."""

from __future__ import annotations

import copy
import time
from pathlib import Path

import pytest

from pipeline.quality.checks import (
    Problem,
    answer_problems,
    check_summary,
    cjk_share,
    latin_terms,
    normalise_answer,
    text_units,
    unsupported_terms,
)
from pipeline.quality.grounding import GroundingIndex, unsupported_concepts

PDF_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures" / "pdfs"

# The opening of DeepSeek-V2 (arXiv 2405.04434), as pypdf extracts it.
V2_TEXT = """DeepSeek-V2: A Strong, Economical, and Efficient
Mixture-of-Experts Language Model
We present DeepSeek-V2, a strong Mixture-of-Experts (MoE) language model characterized by
economical training and efficient inference. It comprises 236B total parameters, of which 21B
are activated for each token, and supports a context length of 128K tokens. DeepSeek-V2 adopts
innovative architectures including Multi-head Latent Attention (MLA) and DeepSeekMoE.
MLA guarantees efficient inference through significantly compressing the Key-Value (KV) cache
into a latent vector, while DeepSeekMoE enables training strong models at an economical
cost through sparse computation. Compared with DeepSeek 67B, DeepSeek-V2 achieves
significantly stronger performance, and meanwhile saves 42.5% of training costs, reduces the
KV cache by 93.3%, and boosts the maximum generation throughput to 5.76 times. We pretrain
DeepSeek-V2 on a high-quality and multi-source corpus consisting of 8.1T tokens, and further
perform Supervised Fine-Tuning (SFT) and Reinforcement Learning (RL) to fully unlock its
potential. LLaMA 2 70B, LLaMA 3 8B, Mixtral 8x22B and Qwen1.5 72B are compared on MMLU.
2.1.2 Low-Rank Key-Value Joint Compression
2.1.3 Decoupled Rotary Position Embedding
"""
V2_ABSTRACT = " ".join(V2_TEXT.splitlines()[2:13])

GOOD = {
    "abstract": (
        "本文提出 DeepSeek-V2，一个强大、经济且高效的混合专家（MoE）语言模型，总参数 236B，"
        "每个 token 激活 21B，支持 128K 上下文。模型采用多头潜在注意力（MLA）和 DeepSeekMoE "
        "架构：MLA 把 KV 缓存压缩为潜在向量以提升推理效率，DeepSeekMoE 通过稀疏计算降低训练成本。"
        "与 DeepSeek 67B 相比，训练成本节省 42.5%，KV 缓存减少 93.3%，"
        "最大生成吞吐量提升到 5.76 倍。"
    ),
    "bullets": [
        {
            "heading": "架构创新",
            "text": "采用多头潜在注意力（MLA）和 DeepSeekMoE 架构，MLA 通过低秩键值联合压缩"
            "减少 KV 缓存，DeepSeekMoE 以较低成本训练强大的模型。",
        },
        {
            "heading": "预训练与对齐",
            "text": "在 8.1T tokens 的高质量多源语料上预训练，随后进行监督微调（SFT）和强化学习"
            "（RL），充分释放模型潜力。",
        },
        {
            "heading": "性能表现",
            "text": "仅激活 21B 参数，DeepSeek-V2 及其对话版本在开源模型中仍达到顶尖水平，"
            "在 MMLU 等基准上优于 LLaMA 2 70B 和 Mixtral 8x22B。",
        },
    ],
    "detail": [
        {"heading": "背景与动机", "text": "大模型的训练成本和推理时的 KV 缓存限制了部署效率。"},
        {"heading": "方法", "text": "提出 MLA 和 DeepSeekMoE，并使用解耦的旋转位置编码。"},
        {"heading": "实验结果", "text": "在多项基准上以更少的激活参数取得领先的性能。"},
    ],
    "model_notes": "extra keys are ignored",
}

ENGLISH_TEXT = (
    "DeepSeek-V2 adopts Multi-head Latent Attention and DeepSeekMoE to reduce the KV cache "
    "and train strong models at an economical cost."
)

# The seed list's DeepSeekMoE section: bullets 1 and 2 describe DeepSeek-VL's vision encoder
# and DeepSeek-V2's token dropping, all in Chinese.
SEED_MOE_BULLETS = [
    (
        "架构创新",
        "DeepSeekMoE 采用细粒度专家分割和共享专家隔离策略，由混合视觉编码器、视觉适配器和语言"
        "模型组成，能有效处理高分辨率图像。",
    ),
    (
        "训练与优化",
        "训练过程包括多个阶段，如视觉语言适配器热身、联合视觉语言预训练和监督微调。采用多种优化"
        "技术，如专家级和设备级平衡损失、令牌丢弃策略等，以提高模型性能和训练效率。",
    ),
    (
        "性能评估",
        "在多个基准测试中与其他模型进行比较，结果表明 DeepSeekMoE 在性能和可扩展性方面具有显著"
        "优势，能以较少的计算资源实现与其他先进模型相当的性能。",
    ),
]

# The seed list's DeepSeek-V2 section: right paper, but "多模态任务" is not in it.
SEED_V2_BULLETS = [
    (
        "架构特点",
        "采用多头潜在注意力（MLA）和 DeepSeekMoE 架构，MLA 通过低秩键值联合压缩减少 KV 缓存，"
        "DeepSeekMoE 实现了经济的训练和高效的推理。",
    ),
    (
        "训练过程",
        "在高质量和多源语料库上进行预训练，包括多个训练阶段和优化策略，如使用特定的学习率调度、"
        "平衡损失等。",
    ),
    (
        "性能表现",
        "DeepSeek-V2 在多个基准测试中表现出色，成为最强的开源 MoE 语言模型之一，在语言理解、"
        "知识推理和多模态任务等方面具有较强的能力。",
    ),
]


def good() -> dict:
    return copy.deepcopy(GOOD)


def summary_of(bullets: list[tuple[str, str]]) -> dict:
    return {"abstract": "", "bullets": [{"heading": h, "text": t} for h, t in bullets]}


def pdf_text(name: str, pages: int | None = None) -> str:
    path = PDF_DIR / name
    if not path.is_file():
        pytest.skip(f"fixture PDF {path} not available")
    pypdf = pytest.importorskip("pypdf")
    reader = pypdf.PdfReader(path)
    return "\n".join(page.extract_text() or "" for page in reader.pages[:pages])


@pytest.fixture(scope="module")
def v2_pdf_text() -> str:
    return pdf_text("2405.04434.pdf", pages=10)


@pytest.fixture(scope="module")
def moe_pdf_text() -> str:
    return pdf_text("2401.06066.pdf")


# --- the answer contract -------------------------------------------------------------------


def test_good_chinese_answer_passes() -> None:
    assert answer_problems(good()) == []


def test_normalise_keeps_only_contract_keys_and_strips() -> None:
    answer = good()
    answer["abstract"] = "  " + answer["abstract"] + "\n"
    answer["bullets"][0]["extra"] = 1
    result = normalise_answer(answer)
    assert set(result) == {"abstract", "bullets", "detail"}
    assert result["abstract"] == GOOD["abstract"]
    assert result["bullets"][0] == GOOD["bullets"][0]
    assert len(result["detail"]) == 3


@pytest.mark.parametrize("count", [2, 4])
def test_wrong_number_of_bullets_fails_clearly(count: int) -> None:
    answer = good()
    answer["bullets"] = (answer["bullets"] * 2)[:count]
    assert answer_problems(answer) == [f"bullets must have exactly 3 items, got {count}"]


@pytest.mark.parametrize("count", [2, 7])
def test_detail_needs_three_to_six_sections(count: int) -> None:
    answer = good()
    answer["detail"] = (answer["detail"] * 3)[:count]
    assert answer_problems(answer) == [f"detail must have 3-6 items, got {count}"]


def test_english_answer_fails_language_check() -> None:
    answer = good()
    answer["abstract"] = ENGLISH_TEXT * 3
    answer["bullets"][1]["text"] = ENGLISH_TEXT
    problems = [p for p in answer_problems(answer) if "not in Chinese" in p]
    assert problems == [
        "abstract is not in Chinese (CJK share 0.00, need >= 0.50)",
        "bullets[1].text is not in Chinese (CJK share 0.00, need >= 0.50)",
    ]


def test_chinese_with_english_terms_counts_as_chinese() -> None:
    # A hand-written seed bullet: 34 CJK characters, 54 Latin letters.
    text = (
        "DeepSeek LLM 基于 Transformer 架构，7B 和 67B 模型在数据收集和预处理上有严格流程，"
        "如采用多种策略进行数据 deduplication、filtering 和 remixing。"
    )
    assert 0.5 <= cjk_share(text) < 0.6
    assert cjk_share(ENGLISH_TEXT) == 0.0
    assert cjk_share("") == 0.0


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (None, "the answer must be a JSON object"),
        ([1, 2], "got list"),
        ("just text", "got str"),
        ({}, 'missing key "abstract"'),
        ({"abstract": "摘要"}, 'missing key "bullets"'),
    ],
)
def test_not_a_dict_or_missing_keys(answer: object, expected: str) -> None:
    problems = answer_problems(answer)
    assert any(expected in p for p in problems), problems


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        (("abstract",), 42, "abstract must be a string, got int"),
        (("abstract",), "   ", "abstract must not be empty"),
        (("bullets",), "a, b, c", '"bullets" must be a list'),
        (("detail",), {"方法": "..."}, '"detail" must be a list'),
        (("bullets", 1), "要点", "bullets[1] must be an object"),
        (("bullets", 0, "heading"), None, "bullets[0].heading must be a string, got null"),
        (("bullets", 2, "text"), ["a"], "bullets[2].text must be a string, got list"),
        (("detail", 0, "text"), "", "detail[0].text must not be empty"),
    ],
)
def test_wrong_types_are_problems_not_exceptions(
    path: tuple[str | int, ...], value: object, expected: str
) -> None:
    answer = good()
    target = answer
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    problems = answer_problems(answer)
    assert any(p.startswith(expected) for p in problems), problems
    assert check_summary(answer, V2_TEXT, V2_ABSTRACT)  # and no exception there either


def test_bullet_item_without_heading() -> None:
    answer = good()
    del answer["bullets"][0]["heading"]
    assert answer_problems(answer) == ["bullets[0].heading must be a string, got null"]


@pytest.mark.parametrize(
    ("text", "mark"),
    [
        ("```json\n采用多头潜在注意力机制压缩键值缓存，显著降低了推理时的显存占用。\n```", "```"),
        ("# 方法\n采用多头潜在注意力机制压缩键值缓存，显著降低了推理时的显存占用。", "#"),
        ("采用**多头潜在注意力**机制压缩键值缓存，显著降低了推理时的显存占用。", "**"),
        ('{"text": "采用多头潜在注意力机制压缩键值缓存，显著降低了推理时的显存占用。"}', '{"'),
        (
            "采用多头潜在注意力机制压缩键值缓存，显著降低了推理时的显存占用，见[代码](https://x.y)。",
            "[x](y)",
        ),
    ],
)
def test_markdown_and_json_leftovers_are_caught(text: str, mark: str) -> None:
    answer = good()
    answer["bullets"][0]["text"] = text
    assert answer_problems(answer) == [
        f"bullets[0].text contains markdown or JSON ({mark}); write plain text"
    ]


def test_hash_inside_a_line_is_not_a_heading() -> None:
    answer = good()
    answer["bullets"][0]["text"] += "在 C# 和 F# 代码上也做了评测。"
    assert answer_problems(answer) == []


def test_lengths_are_checked_with_contract_ranges_in_messages() -> None:
    answer = good()
    answer["abstract"] = "本文提出一个模型。"
    answer["bullets"][0]["heading"] = "这是一个明显过长的小标题文字内容"
    answer["bullets"][1]["text"] = "很短的要点。"
    answer["bullets"][2]["heading"] = "Results"
    assert answer_problems(answer) == [
        "abstract has 8 characters, expected 80-250",
        "bullets[0].heading has 16 characters, expected 2-8",
        "bullets[1].text has 5 characters, expected 30-150",
        "bullets[2].heading has 1 characters, expected 2-8",
        "bullets[2].heading must be a Chinese heading",
    ]


def test_text_units_count_latin_words_as_one() -> None:
    assert text_units("MoE 架构") == 3
    assert text_units("DeepSeek-V2 的 671B 参数") == 5
    assert text_units("多头潜在注意力（MLA）") == 8


# --- Latin terms and grounding -------------------------------------------------------------


def test_latin_terms_finds_names_and_methods_and_leaves_sizes_to_the_number_check() -> None:
    text = (
        "DeepSeek-V2 采用 Multi-head Latent Attention（MLA）压缩 KV 缓存，在 8.1T tokens 上"
        "预训练，超过 LLaMA-2 70B 和 GPT-4，在 MMLU、miniF2F 上评测，总参数 671B，"
        "2 万亿 the model。"
    )
    assert latin_terms(text) == [
        "DeepSeek-V2",
        "Multi-head Latent Attention",
        "MLA",
        "KV",
        "LLaMA-2 70B",
        "GPT-4",
        "MMLU",
        "miniF2F",
    ]


def test_latin_terms_skips_numbers_letters_and_stop_words() -> None:
    assert latin_terms("提升 93.3%，共 2 个阶段，变量 x，the data and model。") == []
    assert latin_terms("使用 the MoE 架构，MoE 很强") == ["MoE"]


def test_siglip_is_flagged_in_a_deepseek_v2_summary() -> None:
    summary = {
        "abstract": "DeepSeek-V2 采用 SigLIP 视觉编码器，MLA 和 DeepSeekMoE 架构减少 KV 缓存。",
        "bullets": [],
    }
    assert unsupported_terms(summary, V2_TEXT) == ["SigLIP"]


@pytest.mark.parametrize(
    "term",
    [
        "MLA",
        "KV",
        "DeepSeekMoE",
        "MoE",
        "deepseek-v2",
        "DeepSeek V2",
        "DEEPSEEKV2",
        "DeepSeek_V2",
        "multi-head latent attention",
        "Multi-Head Latent-Attention",
        "mixture of experts",
        "Key-Value",
        "128K",
        "8.1T tokens",
        "LLaMA-2 70B",
        "Qwen-1.5 72B",
        "Mixtral 8x22B",
        "Decoupled Rotary Embedding",  # not in this order, but each word is
        "DeepSeek-V2 models",
        "Supervised Fine-Tuning",
        "MLA latent vectors",
    ],
)
def test_supported_terms_ignore_case_hyphens_and_spacing(term: str) -> None:
    assert GroundingIndex(V2_TEXT).supports(term)


@pytest.mark.parametrize(
    "term",
    [
        "SigLIP",
        "7B",
        "37B",
        "LLaMA-2 7B",
        "LLaMA-3 70B",
        "DeepSeek-V3",
        "GRPO",
        "RLHF",
        "Decoupled RoPE Rotary Position Embedding",
    ],
)
def test_unsupported_terms_respect_word_edges(term: str) -> None:
    # "7B" only occurs inside "67B"; "LLaMA 3" and "70B" occur, but not together; a multi-word
    # term falls back to its words only when every word occurs ("RoPE" does not).
    assert not GroundingIndex(V2_TEXT).supports(term)


def test_short_acronym_does_not_match_inside_words() -> None:
    index = GroundingIndex("The world record was set early. Performance of GPT-4o.")
    assert not index.supports("RL")
    assert not index.supports("GPT-4")
    assert index.supports("GPT-4o")


def test_grounding_normalises_pdf_typography() -> None:
    # Math italics, ligatures, non-ASCII hyphens and a line-break hyphen.
    index = GroundingIndex(
        "𝑊𝐷𝐾𝑉 projection; ﬁne‑grained experts; Multi-\nHead Attention; atten-\ntion"
    )
    assert index.supports("WDKV")
    assert index.supports("fine-grained")
    assert index.supports("multi-head attention")
    assert index.supports("attention")


def test_grounding_index_is_fast_on_a_long_text() -> None:
    text = V2_TEXT * 200  # about 220k characters
    start = time.thread_time()  # CPU time of this thread: a busy machine does not count
    index = GroundingIndex(text)
    for term in latin_terms(GOOD["abstract"]) * 20 + ["SigLIP", "RL", "a b c"]:
        index.supports(term)
    assert time.thread_time() - start < 2.0


def test_concept_glossary_catches_chinese_only_wrong_paper_text() -> None:
    summary = {"abstract": "由混合视觉编码器和语言模型组成，采用多头潜在注意力（MLA）。"}
    assert unsupported_concepts(summary, V2_TEXT) == [
        "视觉 (vision/visual/image)",
        "编码器 (encoder)",
    ]


# --- check_summary -------------------------------------------------------------------------


def test_check_summary_of_a_good_summary_is_clean() -> None:
    assert check_summary(good(), V2_TEXT, V2_ABSTRACT) == []


def test_check_summary_reports_each_problem_kind() -> None:
    summary = good()
    summary["bullets"][2]["text"] = "在 MMLU 上超过 GPT-4，并与 SigLIP 结合。" * 2
    summary["detail"][2]["text"] = ENGLISH_TEXT
    summary["detail"][1]["text"] = (
        "作者写道：We present DeepSeek-V2, a strong Mixture-of-Experts (MoE) language model "
        "characterized by economical training。"
    )
    problems = check_summary(summary, V2_TEXT, V2_ABSTRACT)
    assert problems == [
        Problem("language", "detail[1].text (CJK share 0.08)"),
        Problem("language", "detail[2].text (CJK share 0.00)"),
        Problem("grounding", "GPT-4"),
        Problem("grounding", "SigLIP"),
        Problem(
            "copied",
            "detail[1].text: We present DeepSeek-V2, a strong Mixture-of-Experts (MoE) language "
            "model charac…",
        ),
    ]


def test_check_summary_skips_checks_without_sources() -> None:
    summary = good()
    summary["abstract"] += "并与 SigLIP 结合。"
    assert check_summary(summary, None, None) == []
    assert check_summary(summary, "   ", "") == []
    assert check_summary(summary, V2_TEXT, None) == [Problem("grounding", "SigLIP")]


def test_check_summary_of_a_malformed_summary_does_not_raise() -> None:
    assert check_summary([], V2_TEXT, V2_ABSTRACT) == [
        Problem(
            "form",
            'the answer must be a JSON object with "abstract", "bullets" and "detail", got list',
        )
    ]
    problems = check_summary({"bullets": [None, {"text": 3}]}, V2_TEXT, V2_ABSTRACT)
    assert {p.check for p in problems} == {"form"}


@pytest.mark.parametrize(
    ("text", "copied"),
    [
        ("摘要：we present deepseek-v2, a strong mixture-of-experts (moe) language model。", True),
        ("摘要：We present DeepSeek-V2, a strong Mixture-of-Experts (MoE)。", False),  # 7 words
        ("We present DeepSeek-V2，一种 strong Mixture-of-Experts (MoE) language model", False),
        ("It comprises 236B total parameters, of which 21B are activated", True),
    ],
)
def test_copied_sentence_needs_eight_consecutive_english_words(text: str, copied: bool) -> None:
    summary = good()
    summary["detail"][0]["text"] = text
    problems = [p for p in check_summary(summary, None, V2_ABSTRACT) if p.check == "copied"]
    assert bool(problems) == copied


# --- real papers ---------------------------------------------------------------------------


def test_real_deepseek_v2_text_supports_its_terms(v2_pdf_text: str) -> None:
    index = GroundingIndex(v2_pdf_text)
    for term in ["MLA", "DeepSeekMoE", "KV", "Multi-head Latent Attention", "236B", "128K"]:
        assert index.supports(term), term
    for term in ["SigLIP", "DeepSeek-V3", "671B", "GRPO-Zero"]:
        assert not index.supports(term), term
    assert check_summary(good(), v2_pdf_text, V2_ABSTRACT) == []


def test_seed_deepseek_moe_section_is_flagged(moe_pdf_text: str) -> None:
    summary = summary_of(SEED_MOE_BULLETS)
    # Its only Latin term is the paper's own name: Latin-term grounding cannot see the error.
    assert latin_terms(" ".join(t for _, t in SEED_MOE_BULLETS)) == ["DeepSeekMoE"]
    assert unsupported_terms(summary, moe_pdf_text) == []
    # The Chinese concept glossary does: vision encoder, adapter, images, token dropping.
    problems = check_summary(summary, moe_pdf_text, None)
    flagged = [p.detail.split()[0] for p in problems if p.check == "grounding"]
    assert flagged == ["视觉", "图像", "编码器", "适配器", "分辨率", "令牌丢弃"]


def test_seed_deepseek_v2_section_multimodal_claim_is_flagged(v2_pdf_text: str) -> None:
    problems = check_summary(summary_of(SEED_V2_BULLETS), v2_pdf_text, None)
    grounding = [p for p in problems if p.check == "grounding"]
    assert grounding == [Problem("grounding", "多模态 (multimodal/multi-modal)")]


def test_seed_deepseek_vl_bullet_against_v2_text(v2_pdf_text: str) -> None:
    # The seed's DeepSeek-VL bullet mixes VL's encoder with V2's KV compression.
    summary = summary_of(
        [
            (
                "模型架构",
                "DeepSeek-VL 由混合视觉编码器、视觉适配器和语言模型组成，采用 SigLIP 作为视觉"
                "编码器，引入 Decoupled Rotary Position Embedding 策略解决与低秩 KV 压缩的"
                "兼容性问题。",
            )
        ]
    )
    assert unsupported_terms(summary, v2_pdf_text) == ["DeepSeek-VL", "SigLIP"]

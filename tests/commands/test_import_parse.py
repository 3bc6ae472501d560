"""Tests for pipeline.commands.import_parse: parsing the reference README, writing config.toml."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from pipeline.commands.import_config import config_toml, toml_string
from pipeline.commands.import_parse import (
    ImportedList,
    ImportedPaper,
    ReadmeFormatError,
    parse_readme,
    split_abstract,
    unwrap,
)

SEED = Path(__file__).resolve().parents[2].parent / "shared" / "reference" / "seed-readme.md"

HEADER = "|    | date | project | title | link | abstract | details |"
RULE = "| -- | ---- | ------- | ----- | ---- | -------- | ------- |"
ROW1 = (
    "| 1 | 20240105 | Alpha | Alpha: A<br />Title | [link](http://arxiv.org/abs/2401.02954) "
    "| 中文摘要<br />续行 | ✅[details](./papers/01-Alpha.2401.02954v1.md) |"
)
ROW2 = (
    "| 2 | 20240111 | Beta | Beta | [link](https://arxiv.org/abs/2401.06066v2) "
    "| 摘要 | [details](./papers/02-Beta.2401.06066v2.md) |"
)


def _readme(*table_rows: str, sections: str = "## 1 **Alpha**\n\n* **小标题** ：内容\n") -> str:
    return "\n".join(["# Title", "", "intro", "", HEADER, RULE, *table_rows, "", sections])


@pytest.fixture(scope="module")
def seed() -> ImportedList:
    if not SEED.is_file():
        pytest.skip(f"reference README not found at {SEED} (shared/ is beside the repository)")
    return parse_readme(SEED.read_text(encoding="utf-8"))


def _paper(seed: ImportedList, number: int) -> ImportedPaper:
    return next(p for p in seed.papers if p.number == number)


# ---------------------------------------------------------------- the seed


def test_seed_list_shape(seed: ImportedList) -> None:
    assert seed.title == "DeepSeek Paper Reading"
    assert seed.intro == "部分摘要基于LLM自动生成"
    assert [p.number for p in seed.papers] == list(range(1, 13))
    dates = [p.date for p in seed.papers]
    assert dates == sorted(dates)
    assert all(len(p.bullets) == 3 for p in seed.papers)
    assert {p.details_dir for p in seed.papers} == {"deepseek-paper"}
    assert all("<br" not in p.abstract and "<br" not in p.title for p in seed.papers)


def test_seed_row_1(seed: ImportedList) -> None:
    assert _paper(seed, 1) == ImportedPaper(
        number=1,
        date="20240105",
        project="DeepSeek LLM",
        title="DeepSeek LLM: Scaling Open-Source Language Models with Longtermism",
        arxiv_id="2401.02954",
        version=1,
        abstract=(
            "深入研究缩放定律，为大规模模型缩放提供指导，开发 DeepSeek LLM 项目，"
            "通过收集 2 万亿标记数据集预训练，进行监督微调和直接偏好优化，创建 "
            "DeepSeek Chat 模型，该模型在多个基准测试中表现出色，"
            "超过 LLaMA-2 70B，在代码、数学和推理等领域优势明显。"
        ),
        notes=[],
        mark="✅",
        slug="DeepSeekLLM",
        details_dir="deepseek-paper",
        section_title="DeepSeek LLM",
        bullets=[
            (
                "模型与数据",
                "DeepSeek LLM 基于 Transformer 架构，7B 和 67B 模型在数据收集和预处理上"
                "有严格流程，如采用多种策略进行数据 deduplication、filtering 和 remixing。",
            ),
            (
                "训练与架构",
                "遵循特定的训练流程，使用 HAI-LLM 框架，采用多种并行策略和优化技术，"
                "如 flash attention、ZeRO-1 等。模型架构在遵循 LLaMA 设计的基础上，"
                "有微调和宏观层面的调整。",
            ),
            (
                "评估与性能",
                "在多个基准测试中表现出色，超过 LLaMA-2 70B，尤其在代码、数学和推理领域。"
                "67B Chat 模型在开放端评估中优于 GPT-3.5，安全评估显示其能提供无害响应。",
            ),
        ],
    )


def test_seed_row_7(seed: ImportedList) -> None:
    assert _paper(seed, 7) == ImportedPaper(
        number=7,
        date="20240619",
        project="DeepSeek V2",
        title="DeepSeek-V2: A Strong, Economical, and Efficient Mixture-of-Experts Language Model",
        arxiv_id="2405.04434",
        version=5,
        abstract=(
            "介绍 DeepSeek-V2，这是一个强大、经济和高效的混合专家语言模型。采用"
            "多头潜在注意力（MLA）和 DeepSeekMoE 架构，在保持强大性能的同时，"
            "实现了经济的训练和高效的推理。通过在高质量和多源语料库上的预训练，"
            "以及后续的监督微调和强化学习，DeepSeek-V2 在多个基准测试中表现出"
            "色，成为最强的开源 MoE 语言模型之一。"
        ),
        notes=["🤔 **Token-Dropping Strategy？**", "🤔 GRPO?"],
        mark="❓✅",
        slug="DeepSeek-V2",
        details_dir="deepseek-paper",
        section_title="DeepSeek-V2",
        bullets=[
            (
                "架构特点",
                "采用多头潜在注意力（MLA）和 DeepSeekMoE 架构，MLA 通过低秩键值联合压缩"
                "减少 KV 缓存，DeepSeekMoE 实现了经济的训练和高效的推理。",
            ),
            (
                "训练过程",
                "在高质量和多源语料库上进行预训练，包括多个训练阶段和优化策略，"
                "如使用特定的学习率调度、平衡损失等。",
            ),
            (
                "性能表现",
                "DeepSeek-V2 在多个基准测试中表现出色，成为最强的开源 MoE 语言模型之一，"
                "在语言理解、知识推理和多模态任务等方面具有较强的能力。",
            ),
        ],
    )


def test_seed_row_10(seed: ImportedList) -> None:
    assert _paper(seed, 10) == ImportedPaper(
        number=10,
        date="20241227",
        project="DeepSeek v3",
        title="DeepSeek-V3 Technical Report",
        arxiv_id="2412.19437",
        version=1,
        abstract=(
            "具有 671B 总参数和 37B 激活令牌，采用多头潜在注意力（MLA）和 "
            "DeepSeekMoE 架构，通过创新的负载平衡策略和多令牌预测训练目标，"
            "在性能和效率方面取得了显著提升。在预训练、上下文扩展、监督微调、"
            "强化学习等阶段进行了全面的优化和评估，在多个基准测试中表现出色，"
            "超过了其他开源模型，达到了与领先闭源模型相当的性能。"
        ),
        notes=["🤔MTP (multi token prediction)", "🤔Complementary Sequence-Wise Auxiliary Loss"],
        mark="❓✅",
        slug="DeepSeek-V3",
        details_dir="deepseek-paper",
        section_title="DeepSeek-V3",
        bullets=[
            (
                "架构创新",
                "采用多头潜在注意力（MLA）和 DeepSeekMoE 架构，引入辅助损失无负载平衡策略"
                "和多令牌预测训练目标，提高了模型的性能和效率。",
            ),
            (
                "训练优化",
                "在训练过程中，进行了大规模的预训练、上下文扩展、监督微调和强化学习，"
                "采用了多种优化技术，如 FP8 混合精度训练、高效的通信和计算重叠等。",
            ),
            (
                "性能表现",
                "DeepSeek-V3 在多个基准测试中表现出色，超过了其他开源模型，"
                "达到了与领先闭源模型相当的性能，在知识、代码、数学和推理等领域具有较强的能力。",
            ),
        ],
    )


def test_seed_row_12(seed: ImportedList) -> None:
    assert _paper(seed, 12) == ImportedPaper(
        number=12,
        date="20250129",
        project="Janus-Pro",
        title=(
            "Janus-Pro: Unified Multimodal Understanding and Generation with Data and Model Scaling"
        ),
        arxiv_id="2501.17811",
        version=1,
        abstract=(
            "对 Janus 模型进行改进，优化训练策略，扩展训练数据，增加模型规模，"
            "提升了多模态理解和文本到图像指令跟随能力。在多个基准测试中表现"
            "出色，优于之前的统一多模态模型和一些任务特定模型，为多模态理解"
            "和生成领域的发展提供了新的解决方案。"
        ),
        notes=[],
        mark="",
        slug="Janus-Pro",
        details_dir="deepseek-paper",
        section_title="Janus-Pro",
        bullets=[
            (
                "模型改进",
                "对 Janus 模型进行改进，优化训练策略，扩展训练数据，增加模型规模，"
                "提升了多模态理解和文本到图像指令跟随能力。",
            ),
            (
                "性能评估",
                "在多个基准测试中进行评估，结果表明 Janus-Pro 在多模态理解和视觉生成任务上"
                "表现出色，优于之前的模型。",
            ),
            ("应用前景", "为多模态理解和生成领域的发展提供了新的解决方案，具有广阔的应用前景。"),
        ],
    )


def test_seed_marks_slugs_and_notes(seed: ImportedList) -> None:
    marks = {p.number: p.mark for p in seed.papers}
    assert marks == {1: "✅", 2: "✅", 7: "❓✅", 10: "❓✅", 11: "❓"} | {
        n: "" for n in (3, 4, 5, 6, 8, 9, 12)
    }
    assert [p.number for p in seed.papers if p.notes] == [7, 10]
    assert _paper(seed, 4).slug == "Deepseek-vl"
    assert _paper(seed, 8).slug == "DeepSeek-Prover-V1.5"
    assert _paper(seed, 3).version == 2


def test_seed_config_round_trips(seed: ImportedList) -> None:
    config = tomllib.loads(config_toml(seed))
    assert config["title"] == "DeepSeek Paper Reading"
    assert config["intro"] == "部分摘要基于LLM自动生成"
    assert config["output"] == {"dir": "output", "details_dir": "deepseek-paper"}
    assert config["arxiv"] == {
        "api_url": "https://export.arxiv.org/api/query",
        "delay_seconds": 3.0,
        "timeout_seconds": 30,
        "retries": 4,
    }
    assert config["llm"] == {
        "base_url": "https://api.deepseek.com",
        "model": "deepseek-v4-flash",
        "api_key_env": "DEEPSEEK_API_KEY",
        "concurrency": 4,
        "timeout_seconds": 120,
        "max_input_tokens": "auto",
    }
    assert config["cache"] == {"dir": ".cache"}
    papers = config["papers"]
    assert [p["id"] for p in papers] == [p.arxiv_id for p in seed.papers]
    assert len(papers) == 12 and all("v" not in p["id"] for p in papers)
    assert [p.get("mark", "") for p in papers] == [p.mark for p in seed.papers]
    assert [p.get("notes", []) for p in papers] == [p.notes for p in seed.papers]
    assert [p["slug"] for p in papers] == [p.slug for p in seed.papers]
    assert [p["project"] for p in papers] == [p.project for p in seed.papers]
    assert papers[2].keys() == {"id", "project", "slug"}
    assert papers[6]["notes"] == ["🤔 **Token-Dropping Strategy？**", "🤔 GRPO?"]


def test_config_llm_arguments() -> None:
    lst = parse_readme(_readme(ROW1))
    text = config_toml(lst, llm_base_url="http://127.0.0.1:8000/v1", model="m", api_key_env="K")
    assert tomllib.loads(text)["llm"]["base_url"] == "http://127.0.0.1:8000/v1"
    assert tomllib.loads(text)["llm"]["api_key_env"] == "K"


# ---------------------------------------------------------------- rules


@pytest.mark.parametrize(
    ("pieces", "joined"),
    [
        (["专家分", "割"], "专家分割"),
        (["创建 ", "DeepSeek Chat"], "创建 DeepSeek Chat"),
        (["和", " DeepSeekMoE 架构"], "和 DeepSeekMoE 架构"),
        (["策略和", "DeepSeekMoE"], "策略和 DeepSeekMoE"),
        (["项目，", "通过"], "项目，通过"),
        (["Open-Source", "Language"], "Open-Source Language"),
        (["Barrier", " of  Closed"], "Barrier of Closed"),
        (["MoE", "，"], "MoE，"),
        (["", "  ", "a"], "a"),
    ],
)
def test_unwrap(pieces: list[str], joined: str) -> None:
    assert unwrap(pieces) == joined


def test_split_abstract_rules() -> None:
    assert split_abstract("摘要<br />续<br />") == ("摘要续", [])
    assert split_abstract("摘要<br /><br />不是🤔开头<br />x") == ("摘要", ["不是🤔开头", "x"])
    assert split_abstract("摘要<br/>💡 idea<BR />🤔 q") == ("摘要", ["💡 idea", "🤔 q"])
    assert split_abstract("🤔 only a note") == ("", ["🤔 only a note"])


def test_escaped_pipe_and_details_without_version() -> None:
    row = (
        "| 1 | 20240105 | A \\| B | T | [link](http://arxiv.org/abs/2401.02954) "
        "| 摘要 | ❓ [details](papers/01-A.2401.02954.md) |"
    )
    paper = parse_readme(_readme(row)).papers[0]
    assert paper.project == "A | B"
    assert paper.version is None
    assert paper.mark == "❓"
    assert paper.details_dir == "papers"


def test_row_without_section_and_no_intro() -> None:
    text = "\n".join(["# Title", HEADER, RULE, ROW1, ROW2, "", "## 2 **Beta**", "* **h** ：t"])
    lst = parse_readme(text)
    assert lst.intro == ""
    assert (lst.papers[0].section_title, lst.papers[0].bullets) == ("", [])
    assert lst.papers[1].bullets == [("h", "t")]


@pytest.mark.parametrize(
    "value",
    ['quote " and \\ backslash', "new\nline\ttab", "del \x7f and \x01 ctrl", "🤔 **？**", ""],
)
def test_toml_string_round_trips(value: str) -> None:
    assert tomllib.loads(f"k = {toml_string(value)}")["k"] == value


def test_config_escapes_strange_text() -> None:
    lst = parse_readme(_readme(ROW1))
    lst.title = 'A "quoted" \\ title'
    lst.papers[0].notes = ['say "hi"', "back\\slash"]
    config = tomllib.loads(config_toml(lst))
    assert config["title"] == lst.title
    assert config["papers"][0]["notes"] == lst.papers[0].notes


# ---------------------------------------------------------------- malformed input


def _error(text: str) -> ReadmeFormatError:
    with pytest.raises(ReadmeFormatError) as info:
        parse_readme(text)
    assert str(info.value).startswith(f"line {info.value.line}: ")
    return info.value


def test_no_table() -> None:
    err = _error("# Title\n\nintro\n\nJust prose, no table.\n")
    assert err.line == 5
    assert "table header" in str(err)


def test_no_table_at_end_of_file() -> None:
    err = _error("# Title\n\nintro\n")
    assert err.line == 3 and "end of file" in str(err)


def test_no_title() -> None:
    assert _error("").line == 1
    assert _error("\nintro only\n").line == 2


def test_row_with_wrong_number_of_cells() -> None:
    err = _error(_readme(ROW1, "| 2 | 20240111 | Beta | Beta |"))
    assert err.line == 8
    assert "4 cells, expected 7" in str(err)


def test_section_without_row() -> None:
    err = _error(_readme(ROW1, sections="## 1 **Alpha**\n\n* **h** ：t\n\n## 3 **Gamma**\n"))
    assert err.line == 13
    assert "section 3 has no matching row" in str(err)


@pytest.mark.parametrize(
    ("rows", "sections", "line", "words"),
    [
        ((ROW1, ROW1), "", 8, "appears twice"),
        ((ROW1.replace("20240105", "2024-01-05"),), "", 7, "YYYYMMDD"),
        ((ROW1.replace("http://arxiv.org/abs/", "http://x.org/"),), "", 7, "link cell"),
        ((ROW1.replace("01-Alpha.2401.02954", "01-Alpha.2401.99999"),), "", 7, "details link"),
        ((ROW1.replace("✅[details]", "[info]"),), "", 7, "found 0"),
        ((ROW1.replace(".md) |", ".md) extra |"),), "", 7, "after the details link"),
        ((ROW1.replace("01-Alpha.2401", "Alpha.2401"),), "", 7, "NN-SLUG"),
        ((ROW1, ROW2.replace("./papers/", "./other/")), "", 8, "details folder"),
        ((ROW1,), "* **h** ：t\n", 9, "outside"),
        ((ROW1,), "## 1 **A**\n## 1 **A**\n", 10, "appears twice"),
        ((ROW1,), "## 1 **A**\nfree text\n", 10, "unexpected line"),
        ((), "", 5, "no rows"),
    ],
)
def test_malformed(rows: tuple[str, ...], sections: str, line: int, words: str) -> None:
    err = _error(_readme(*rows, sections=sections))
    assert err.line == line
    assert words in str(err)


def test_bad_header_and_rule() -> None:
    assert _error(_readme(ROW1).replace("| abstract |", "| summary |")).line == 5
    assert _error(_readme(ROW1).replace(RULE, "| x |")).line == 6

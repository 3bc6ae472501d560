"""Number grounding: units normalised, which numbers count, and the ❓ flag through the CLI."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from pipeline.quality.numbers import NumberIndex, quantities, unsupported_numbers
from tests.support.fakes import TITLE_RE, good_answer
from tests.support.project import FIXTURE_PDFS, Project

PAPER = """DeepSeek-V2 comprises 236B total parameters, of which 21B are activated for each token,
and supports a context length of 128K tokens. It saves 42.5% of training costs, reduces the
KV cache by 93.3%, and boosts the maximum generation throughput to 5.76 times. We pretrain on
8.1T tokens; DeepSeek LLM was trained on 2 trillion tokens with 2,048 H800 GPUs for 2.788M GPU
hours. Section 4.3 and Figure 2 discuss DeepSeek-V2.5 and GPT-4. Training takes twice as long.
The ablation reaches 576% of the throughput and 78.52 on MMLU in 2024."""


def summary(text: str) -> dict[str, Any]:
    return {"abstract": text, "bullets": []}


@pytest.mark.parametrize(
    "written",
    [
        "总参数 236B",
        "总参数 2360 亿",
        "总参数 2,360 亿",
        "每个 token 激活 210 亿",
        "支持 128K tokens 上下文",
        "支持 12.8 万 token 上下文",
        "节省 42.5% 训练成本",
        "KV 缓存减少 93.3 %",
        "KV 缓存减少 93.3％",
        "KV 缓存减少约 93%",
        "吞吐提升到 5.76 倍",
        "吞吐提升到 5.76×",
        "吞吐提升到 5.76x",
        "吞吐提升到 5.76 times",
        "在 8.1 万亿 token 上预训练",
        "在 2 万亿 token 上训练",
        "在 2T token 上训练",
        "使用 2048 块 H800",
        "耗时约 280 万 GPU 小时",
        "耗时 2.79M GPU 小时",
        "MMLU 得分 78.52",
        "MMLU 得分约 78.5",
        "超过 90% 的 KV 缓存",
        "训练时间为 2 倍",
    ],
)
def test_a_number_written_another_way_is_supported(written: str) -> None:
    assert unsupported_numbers(summary(written), PAPER) == []


@pytest.mark.parametrize(
    ("written", "flagged"),
    [
        ("总参数 671B", "671B"),
        ("总参数 6710 亿", "6710 亿"),
        ("激活 37B 参数", "37B"),
        ("在 14.8 万亿 token 上预训练", "14.8 万亿"),
        ("在 3 万亿 token 上训练", "3 万亿"),
        ("KV 缓存减少 95.1%", "95.1%"),
        ("KV 缓存减少 92%", "92%"),  # 93.3 does not round to 92
        ("吞吐提升到 6.2 倍", "6.2 倍"),
        ("耗时 2.66M GPU 小时", "2.66M"),
        ("使用 4096 块 GPU", "4096"),
        ("MMLU 得分 81.3", "81.3"),
    ],
)
def test_a_number_the_paper_never_writes_is_named_as_written(written: str, flagged: str) -> None:
    assert unsupported_numbers(summary(written), PAPER) == [flagged]


@pytest.mark.parametrize(
    "written",
    [
        "见第 3 节与图 2、表 4",
        "见 4.7 节",
        "Section 5.2 给出细节",
        "2023 年发布",
        "分 3 个阶段，共 8 个专家",
        "对比 DeepSeek-V3.5、GPT-4o、Llama-3.1 与 H100",
        "arXiv 2412.19437",
    ],
)
def test_references_years_names_and_small_counts_are_not_checked(written: str) -> None:
    assert unsupported_numbers(summary(written), PAPER) == []


def test_units_are_read_and_applied() -> None:
    found = {q.text: (q.kind, q.value) for q in quantities("2 万亿、671B、5.76 倍、93.3%、2,048")}
    assert found == {
        "2 万亿": ("scaled", 2 * 10**12),
        "671B": ("scaled", 671 * 10**9),
        "5.76 倍": ("times", Decimal("5.76")),
        "93.3%": ("percent", Decimal("93.3")),
        "2,048": ("plain", 2048),
    }


def test_a_range_gives_its_first_number_the_unit() -> None:
    index = NumberIndex("models trained on 3.3 to 4.3 trillion tokens")
    assert unsupported_numbers(summary("在 3.3 万亿到 4.3 万亿 token 上训练"), index) == []


def test_real_v2_paper_supports_a_restatement_of_its_numbers() -> None:
    pdf = FIXTURE_PDFS / "2405.04434.pdf"
    if not pdf.is_file():
        pytest.skip(f"fixture PDF {pdf} not available")
    from pipeline.text.extract import extract_clean

    text = extract_clean(pdf)
    restated = (
        "DeepSeek-V2 总参数 2360 亿，每个 token 激活 210 亿参数，支持 128K 上下文。与 DeepSeek "
        "67B 相比节省 42.5% 的训练成本，KV 缓存减少 93.3%，最大生成吞吐提升至 5.76 倍；"
        "预训练语料 8.1 万亿 token。另称总参数 671B。"
    )
    assert unsupported_numbers(summary(restated), text) == ["671B"]


# --- through the CLI ---------------------------------------------------------------------------

V2 = "2405.04434"


def with_a_number(body: dict[str, Any]) -> tuple[int, Any]:
    """The default answer; DeepSeek-V2's second bullet claims a size its paper never states."""
    m = TITLE_RE.search(body["messages"][1]["content"])
    title = m.group(1) if m else ""
    answer = good_answer(title)
    if title.startswith("DeepSeek-V2"):
        answer["bullets"][1]["text"] = (
            "方法分为三个步骤，模型总参数 671B，先整理数据，再改进模型结构，最后调整训练流程。"
        )
    return 200, answer


def test_a_number_not_in_the_paper_flags_the_summary_and_check_names_it(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    project.llm.responder = with_a_number
    assert project.run("build") == 0
    state = json.loads((project.output / "data" / f"{V2}.json").read_text(encoding="utf-8"))
    assert state["unsupported_terms"] == ["671B"]
    readme = (project.output / "README.md").read_text(encoding="utf-8")
    row = next(line for line in readme.splitlines() if f"abs/{V2})" in line)
    assert "❓[details]" in row
    detail = (project.output / state["detail_file"]).read_text(encoding="utf-8")
    flagged = detail.split("## ❓ 待核实\n", 1)[1].split("\n## ", 1)[0]
    assert flagged == "\n以下数字在论文原文中找不到，摘要可能有误：671B\n"  # a number, not a term
    page = (project.output / "site" / "papers" / f"{V2}.html").read_text(encoding="utf-8")
    assert "<p>以下数字在论文原文中找不到，摘要可能有误：671B</p>" in page
    assert "以下术语" not in page
    capsys.readouterr()
    assert project.run("check") == 1
    assert capsys.readouterr().out.splitlines() == [
        f"{V2}\tnumbers\t671B",
        "check: 3 summaries checked, 1 flagged",
    ]
    assert project.run("status") == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith(V2))
    assert "; ❓ numbers not in the paper: 671B" in line and "terms" not in line

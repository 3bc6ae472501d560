"""Hostile input: a list of one paper, an answer that passes the checks but carries HTML,
markdown and links, a raw completion with any model name, and a warm text cache."""

from __future__ import annotations

import hashlib
import json
import tempfile
from pathlib import Path
from typing import Any

from pipeline.text.extract import extract_clean
from tests.support.fakes import FakePaper
from tests.support.project import Project, config_text

EVIL = "2402.00001"


SCRIPT = "<script>alert(1)</script>"


IMG = "<img src=x onerror=alert(1)>"


def only_paper(
    project: Project,
    title: str,
    pdf: bytes,
    authors: tuple[str, ...] = ("Ada Lovelace",),
    name: str = "Evil",
    slug: str = "Evil",
) -> None:
    """Make the fake arXiv hold one paper, EVIL, and the config list it alone."""
    project.arxiv.papers.clear()
    project.arxiv.add(FakePaper(EVIL, 1, title, "2024-02-01", pdf, authors=authors))
    papers = [(EVIL, 1, title, "2024-02-01", name, slug)]
    project.write_config(config_text(project.arxiv.api_url, project.llm.base_url, papers=papers))


_TEXTS: dict[str, str] = {}


def warm_text_cache(project: Project) -> None:
    """Put the cleaned text of every fake PDF in the text cache, as an earlier build would have:
    the build then starts no extraction process (slow; extraction is tested in test_pdftext)."""
    cache = project.root / ".cache" / "text"
    cache.mkdir(parents=True, exist_ok=True)
    for paper in (p for versions in project.arxiv.papers.values() for p in versions):
        sha = hashlib.sha256(paper.pdf).hexdigest()
        if sha not in _TEXTS:
            with tempfile.TemporaryDirectory() as tmp:
                pdf = Path(tmp) / "paper.pdf"
                pdf.write_bytes(paper.pdf)
                _TEXTS[sha] = extract_clean(pdf)
        (cache / f"{sha}.txt").write_text(_TEXTS[sha], encoding="utf-8")


HOSTILE_TITLE = f"EvilNet | {SCRIPT}\n## 注入 [x](javascript:alert(1)) http://evil.example"


HOSTILE_AUTHORS = ("Mallory | <script>alert(2)</script>", "Eve\n# H1 [y](javascript:alert(3))")


HOSTILE_MODEL = "evil|<script>alert(4)</script>"


def hostile_but_valid() -> dict[str, Any]:
    """Passes the answer checks (Chinese, 3 bullets, no markdown leftovers) but carries HTML,
    pipes, newlines, backslashes, link-like and heading-like text."""
    return {
        "abstract": (
            f"本文提出一种名为 EvilNet 的方法|它声称可以解决所有问题，{SCRIPT}\n"
            "作者在实验中将其与多种基线进行比较 ## 注入标题 并给出详细分析 # H1 结果显示效果稳定，"
            f"{IMG} 更多信息见 http://evil.example 以及 javascript:alert(1) 等地址，\r\n"
            "反斜杠\\|竖线 www.evil.example 整体而言该方法易于复现，"
            "并且可以推广到更大规模的场景之中。"
        ),
        "bullets": [
            {
                "heading": "问题|定义",
                "text": f"EvilNet 关注模型被注入的问题|目标是在不损失效果的前提下{SCRIPT}降低成本 "
                "# H1 仍是正文。",
            },
            {
                "heading": "方法<b>设计</b>",
                "text": "方法分为三个步骤\n先整理数据 [点击] 再改进模型结构 (javascript:alert(1)) "
                "最后调整训练流程 http://evil.example 每一步都易于复现。",
            },
            {
                "heading": "实验 ## 结果",
                "text": f"在多个标准基准上的实验表明{IMG}该方法效果稳定，"
                "并且可以推广到更大规模的设置中。",
            },
        ],
        "detail": [
            {"heading": "背景|动机", "text": f"大模型的成本持续上升，{SCRIPT}\n注入 ## 标题"},
            {"heading": f"方法\n{SCRIPT}", "text": "论文按三个步骤展开 | 分别处理数据和模型。"},
            {"heading": "注入 # H1 标题", "text": f"在标准基准上进行评估{IMG}，结果显示方法有效。"},
        ],
    }


def completion(answer: dict[str, Any], model: str) -> bytes:
    """A whole chat completion as the endpoint sends it (lets the test pick the model name)."""
    return json.dumps(
        {
            "id": "chatcmpl-evil",
            "object": "chat.completion",
            "created": 1700000000,
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": {
                        "role": "assistant",
                        "content": json.dumps(answer, ensure_ascii=False),
                    },
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 1000, "completion_tokens": 300, "total_tokens": 1300},
        },
        ensure_ascii=False,
    ).encode()

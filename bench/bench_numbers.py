"""Number grounding over real papers: what it flags, and what it wrongly flags.

    python bench/bench_numbers.py [--pdf-dir ../shared/fixtures/pdfs] [--data output/data]

Three measurements, each against the cleaned text of the fixture PDFs:
1. the committed summaries (output/data/*.json, the imported seed list) whose paper is a fixture;
2. each paper's own English abstract (the paragraph under "Abstract") against the rest of the
   paper: numbers an abstract states reappear in the body, so a flag here is a parsing miss;
3. Chinese restatements of each paper's numbers as a model writes them (亿/万亿, 倍, rounding,
   "约"/"超过"), with planted numbers that are not in the paper: each planted one must be flagged
   and nothing else.
Prints a line per paper and the totals; exit 1 when a restatement is wrongly flagged or a planted
number is missed.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipeline.quality.numbers import (  # noqa: E402
    NumberIndex,
    checked_quantities,
    unsupported_numbers,
)
from pipeline.text.extract import extract_clean  # noqa: E402

PDF_DIR = ROOT.parent / "shared" / "fixtures" / "pdfs"

# paper -> (restatement a careful model writes, numbers planted in it that the paper never has)
RESTATED = {
    "2405.04434": (
        "DeepSeek-V2 总参数 2360 亿，每个 token 激活 210 亿参数，支持 128K 上下文。与 DeepSeek "
        "67B 相比节省 42.5% 的训练成本，KV 缓存减少 93.3%，最大生成吞吐提升至 5.76 倍；"
        "预训练语料 8.1 万亿 token，约 93% 的 KV 缓存被省去。另称总参数 671B，MMLU 达 58.9。",
        ["671B", "58.9"],
    ),
    "2401.06066": (
        "DeepSeekMoE 2B 与 GShard 2.9B 相当，后者专家参数和计算量为其 1.5 倍；16B 模型仅用约 40% "
        "的计算量即与 LLaMA2 7B 相当；扩展到 1450 亿参数时，仅用 28.5%（甚至 18.2%）的计算量即可"
        "与 DeepSeek 67B 相当。另称训练了 3.5 万亿 token。",
        ["3.5 万亿"],
    ),
    "2406.11931": (
        "DeepSeek-Coder-V2 在 DeepSeek-V2 的中间检查点上继续预训练 6 万亿 token，支持的编程语言"
        "从 86 种扩展到 338 种，上下文从 16K 扩展到 128K；HumanEval 得分 90.2%，MATH 准确率"
        "75.7%，LiveCodeBench 43.4%。另称 HumanEval 达到 95.1%。",
        ["95.1%"],
    ),
    "2408.08152": (
        "DeepSeek-Prover-V1.5 在 miniF2F 测试集上达到 63.5%，在 ProofNet 上达到 25.3%；"
        "强化学习后单次生成通过率为 60.2%，绝对提升 10.2 个百分点。另称 miniF2F 达 72.4%。",
        ["72.4%"],
    ),
    "2501.12948": (
        "DeepSeek-R1 在 AIME 2024 上 Pass@1 为 79.8%，在 MATH-500 上为 97.3%，Codeforces 超过 "
        "96.3% 的人类参赛者；R1-Zero 在 AIME 2024 的 pass@1 从 15.6% 提升到 71.0%，多数投票后达"
        " 86.7%；蒸馏出 1.5B、7B、8B、14B、32B 和 70B 六个稠密模型。另称 GPQA 达 94.6%。",
        ["94.6%"],
    ),
    "2501.17811": (
        "Janus-Pro 提供 1B 和 7B 两种规模，Janus-Pro-7B 在 GenEval 上得 0.80 分，DPG-Bench 得"
        " 84.19 分，MMBench 得 79.2 分；新增约 9000 万条理解数据和约 7200 万条合成美学数据。"
        "另称 GenEval 得 0.91 分。",
        ["0.91"],
    ),
}


def _abstract_and_body(text: str) -> tuple[str, str]:
    """The abstract's paragraph (after the "Abstract" heading) and the text without it."""
    start = text.find("Abstract\n\n")
    if start < 0:
        return "", text
    end = text.find("\n\n", start + len("Abstract\n\n"))
    return text[start:end], text[:start] + text[end:]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pdf-dir", type=Path, default=PDF_DIR)
    parser.add_argument("--data", type=Path, default=ROOT / "output" / "data")
    args = parser.parse_args()
    if not args.pdf_dir.is_dir():
        print(f"no fixture PDFs at {args.pdf_dir}")
        return 1
    totals = {"seed": [0, 0], "abstract": [0, 0], "restated": [0, 0, 0, 0]}
    failed = False
    print(
        "paper       seed:checked/flagged  abstract:checked/flagged  restated:checked/"
        "flagged (planted, wrong)"
    )
    for pdf in sorted(args.pdf_dir.glob("*.pdf")):
        paper_id = pdf.stem
        text = extract_clean(pdf)
        index = NumberIndex(text)
        state = args.data / f"{paper_id}.json"
        seed = json.loads(state.read_text(encoding="utf-8"))["summary"] if state.is_file() else {}
        seed_texts = [seed.get("abstract", "")] + [b["text"] for b in seed.get("bullets", [])]
        seed_checked = len(checked_quantities(seed_texts)) if seed else 0
        seed_flags = unsupported_numbers(seed, index) if seed else []
        abstract, body = _abstract_and_body(text)
        body_index = NumberIndex(body)
        abstract_qs = checked_quantities([abstract])
        abstract_flags = [q.text for q in abstract_qs if not body_index.supports(q)]
        restated, planted = RESTATED.get(paper_id, ("", []))
        flags = unsupported_numbers({"abstract": restated}, index)
        wrong = [f for f in flags if f not in planted]
        missed = [p for p in planted if p not in flags]
        failed |= bool(wrong or missed)
        n_restated = len(checked_quantities([restated]))
        print(
            f"{paper_id}  {seed_checked:3d}/{len(seed_flags)} {seed_flags}  "
            f"{len(abstract_qs):3d}/{len(abstract_flags)} {abstract_flags}  "
            f"{n_restated:3d}/{len(flags)} (planted {len(planted) - len(missed)}/{len(planted)}, "
            f"wrong {wrong}{', missed ' + str(missed) if missed else ''})"
        )
        for key, values in (
            ("seed", (seed_checked, len(seed_flags))),
            ("abstract", (len(abstract_qs), len(abstract_flags))),
            ("restated", (n_restated, len(flags), len(planted) - len(missed), len(wrong))),
        ):
            totals[key] = [a + b for a, b in zip(totals[key], values, strict=False)]
    seed_n, seed_f = totals["seed"]
    abs_n, abs_f = totals["abstract"]
    res_n, res_f, res_p, res_w = totals["restated"]
    print(f"seed summaries: {seed_n} numbers checked, {seed_f} flagged")
    print(f"abstracts vs body: {abs_n} numbers checked, {abs_f} flagged")
    print(
        f"restatements: {res_n} numbers checked, {res_f} flagged: {res_p} planted caught, "
        f"{res_w} wrongly flagged"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

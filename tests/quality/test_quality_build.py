"""Summary quality through the real CLI: grounding flags, the language repair round, provenance,
and `check` over stored and imported summaries."""

from __future__ import annotations

import copy
import hashlib
import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from pipeline.cli import main
from pipeline.llm.prompts import prompt_hash
from pipeline.publish import mdsafe
from pipeline.text.tokens import estimate_tokens
from tests.support.fakes import TITLE_RE, Fault, good_answer, prompt_tokens
from tests.support.project import FIXTURE_PDFS, SHARED, Project

V2 = "2405.04434"
V2_DETAIL = "deepseek-paper/03-DeepSeek-V2.2405.04434v5.md"
SEED = SHARED / "reference" / "seed-readme.md"


def title_of(body: dict[str, Any]) -> str:
    m = TITLE_RE.search(body["messages"][1]["content"])
    return m.group(1) if m else ""


def answer_for_v2(change) -> Any:
    """A responder: the default good answer, changed by `change` for the DeepSeek-V2 paper."""

    def respond(body: dict[str, Any]) -> tuple[int, Any]:
        title = title_of(body)
        answer = good_answer(title)
        if title.startswith("DeepSeek-V2"):
            answer = change(copy.deepcopy(answer), body)
        return 200, answer

    return respond


def with_siglip(answer: dict, body: dict) -> dict:
    answer["bullets"][1]["text"] = (
        "方法借鉴 SigLIP 的训练技巧，先整理数据，再改进模型结构，"
        "最后调整训练流程，每一步都易于复现。"
    )
    return answer


def with_vision_encoder(answer: dict, body: dict) -> dict:
    """Wrong-paper text written all in Chinese: no Latin term to catch."""
    answer["bullets"][1]["text"] = (
        "模型由混合视觉编码器、视觉适配器和语言模型组成，先整理数据，再改进模型结构，"
        "最后调整训练流程。"
    )
    return answer


ENGLISH = {
    "abstract": (
        "This paper presents DeepSeek-V2, a language model that lowers the cost of training and "
        "inference. It redesigns the model structure and the training procedure, trains on a "
        "large curated corpus, and evaluates the result on many standard benchmarks, where it "
        "stays strong while using much less compute than earlier models of the same size. The "
        "authors release the weights and describe every step so that others can reproduce it."
    ),
    "bullets": [
        {
            "heading": "Problem",
            "text": "DeepSeek-V2 targets the high cost of training and serving large language "
            "models, and aims to cut that cost without losing quality on common tasks.",
        },
        {
            "heading": "Method",
            "text": "The method has three steps: the data is cleaned first, then the model "
            "structure is improved, and finally the training procedure is adjusted to match.",
        },
        {
            "heading": "Results",
            "text": "Experiments on standard benchmarks show stable results, and the same recipe "
            "carries over to larger settings with more parameters and more training tokens.",
        },
    ],
    "detail": [
        {"heading": "Background", "text": "Training and inference costs of large models rise."},
        {"heading": "Method", "text": "Three steps: data, model structure and training."},
        {"heading": "Results", "text": "The method works on standard benchmarks and scales."},
    ],
}


def english_first(answer: dict, body: dict) -> dict:
    return copy.deepcopy(ENGLISH) if len(body["messages"]) == 2 else answer


def readme_row(project: Project, paper_id: str) -> str:
    text = (project.output / "README.md").read_text(encoding="utf-8")
    return next(line for line in text.splitlines() if f"(http://arxiv.org/abs/{paper_id})" in line)


def state_of(project: Project, paper_id: str) -> dict[str, Any]:
    return json.loads((project.output / "data" / f"{paper_id}.json").read_text(encoding="utf-8"))


def out_lines(capsys: pytest.CaptureFixture[str]) -> list[str]:
    return capsys.readouterr().out.splitlines()


# --- grounding flags from the build --------------------------------------------------------


def test_a_term_absent_from_the_paper_is_flagged_everywhere(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    project.llm.responder = answer_for_v2(with_siglip)
    assert project.run("build") == 0
    assert state_of(project, V2)["unsupported_terms"] == ["SigLIP"]
    assert readme_row(project, V2).endswith(f" | ❓[details](./{V2_DETAIL}) |")
    assert "❓" not in readme_row(project, "2401.02954")
    detail = (project.output / V2_DETAIL).read_text(encoding="utf-8")
    assert "## ❓ 待核实\n\n以下术语在论文原文中找不到，摘要可能有误：SigLIP\n" in detail
    capsys.readouterr()

    assert project.run("status") == 0
    assert re.fullmatch(
        rf"{V2}\tv5\tsummarised\tup to date; ❓ terms not in the paper: SigLIP; "
        r"sent whole \(\d+ tokens\)",
        out_lines(capsys)[0],
    )
    assert project.run("check") == 1
    assert out_lines(capsys) == [
        f"{V2}\tgrounding\tSigLIP",
        "check: 3 summaries checked, 1 flagged",
    ]

    # arXiv is down for the next build: the outage is stored nowhere, the flag stays
    project.arxiv.add_fault("api", *[Fault(503)] * 4)
    assert project.run("build") == 1
    capsys.readouterr()
    assert project.run("status") == 0
    line = out_lines(capsys)[0]
    assert "; last arXiv request failed (" not in line  # the outage is stored nowhere
    assert re.search(r"; ❓ terms not in the paper: SigLIP; sent whole \(\d+ tokens\)$", line)


def test_a_grounded_summary_is_not_flagged(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    assert project.run("build") == 0
    assert all(state_of(project, i)["unsupported_terms"] == [] for i in ("2401.02954", V2))
    assert "❓" not in (project.output / "README.md").read_text(encoding="utf-8")
    assert "待核实" not in (project.output / V2_DETAIL).read_text(encoding="utf-8")
    capsys.readouterr()
    assert project.run("check") == 0
    assert out_lines(capsys) == ["check: 3 summaries checked, 0 flagged"]


def test_chinese_wrong_paper_concepts_are_flagged_by_the_build(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    project.llm.responder = answer_for_v2(with_vision_encoder)
    assert project.run("build") == 0
    concepts = [
        "视觉 (vision/visual/image)",
        "编码器 (encoder)",
        "适配器 (adapter/adaptor/connector/projector)",
    ]
    assert state_of(project, V2)["unsupported_terms"] == concepts
    assert readme_row(project, V2).endswith(f" | ❓[details](./{V2_DETAIL}) |")
    detail = (project.output / V2_DETAIL).read_text(encoding="utf-8")
    assert "摘要可能有误：" + "、".join(concepts) + "\n" in detail
    capsys.readouterr()
    assert project.run("check") == 1
    assert out_lines(capsys) == [
        *(f"{V2}\tgrounding\t{c}" for c in concepts),
        "check: 3 summaries checked, 1 flagged",
    ]


# --- language repair and provenance --------------------------------------------------------


def test_english_answer_is_repaired_once_and_provenance_is_recorded(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    project.llm.responder = answer_for_v2(english_first)
    assert project.run("build") == 0
    v2_requests = [b for b in project.llm.bodies if title_of(b).startswith("DeepSeek-V2")]
    assert len(v2_requests) == 2
    repair = v2_requests[1]["messages"]
    assert [m["role"] for m in repair] == ["system", "user", "assistant", "user"]
    assert json.loads(repair[2]["content"]) == ENGLISH
    problems = repair[3]["content"].splitlines()
    assert "- abstract is not in Chinese (CJK share 0.00, need >= 0.50)" in problems
    assert "- bullets[1].text is not in Chinese (CJK share 0.00, need >= 0.50)" in problems
    assert "- detail[0].text is not in Chinese (CJK share 0.00, need >= 0.50)" in problems

    state = state_of(project, V2)
    good = good_answer(title_of(v2_requests[0]))
    assert state["summary"]["abstract"] == good["abstract"]
    answers = [json.dumps(ENGLISH, ensure_ascii=False), json.dumps(good, ensure_ascii=False)]
    assert state["usage"] == {
        "prompt_tokens": sum(prompt_tokens(b) for b in v2_requests),
        "cached_prompt_tokens": 0,
        "completion_tokens": sum(estimate_tokens(a) for a in answers),
        "reasoning_tokens": 0,
        "attempts": 2,
    }
    pdf = project.root / ".cache" / "pdf" / f"{V2}v5.pdf"
    pdf_sha = hashlib.sha256(pdf.read_bytes()).hexdigest()
    host = project.llm.base_url.split("//")[1].split("/")[0]
    assert state["model"] == "fake-model"
    assert state["endpoint"] == host
    assert state["prompt_sha256"] == prompt_hash()
    assert state["generated_at"] == "2026-01-01T00:00:00+00:00"
    assert state["meta"]["version"] == 5
    assert state["pdf_sha256"] == pdf_sha
    detail = (project.output / V2_DETAIL).read_text(encoding="utf-8")
    assert detail.endswith(
        "## 生成信息\n\n"
        f"* 模型：fake-model（{mdsafe.inline(host)}）\n"
        "* 生成时间：2026-01-01T00:00:00+00:00\n"
        f"* 依据：arXiv v5，PDF sha256 {pdf_sha[:16]}，提示模板 {prompt_hash()[:16]}\n"
    )
    capsys.readouterr()
    assert project.run("check") == 0


def test_english_twice_fails_the_paper_and_keeps_the_rest(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    project.llm.responder = answer_for_v2(lambda answer, body: copy.deepcopy(ENGLISH))
    assert project.run("build") == 1
    err = capsys.readouterr().err
    assert (
        f"  failed: {V2}: model answer unusable after one repair: "
        "abstract is not in Chinese (CJK share 0.00, need >= 0.50); and 12 more\n"
    ) in err
    stored = json.loads((project.output / "data" / f"{V2}.json").read_text(encoding="utf-8"))
    assert stored["summary"] is None and stored["last_error"]["stage"] == "summarise"
    assert len(project.llm.bodies) == 4


# --- check over an imported reference list -------------------------------------------------


@pytest.mark.skipif(not SEED.is_file(), reason="/work/shared reference list not available")
def test_check_finds_the_wrong_paper_sections_of_the_reference_list(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.toml"
    assert main(["import", str(SEED), "--config", str(config)]) == 0
    cache = tmp_path / ".cache" / "pdf"
    cache.mkdir(parents=True)
    for paper_id, version in [("2401.06066", 1), (V2, 5)]:
        source = FIXTURE_PDFS / f"{paper_id}.pdf"
        if not source.is_file():
            pytest.skip(f"fixture PDF {source} not available")
        shutil.copyfile(source, cache / f"{paper_id}v{version}.pdf")
    capsys.readouterr()

    assert main(["check", "--config", str(config)]) == 1
    lines = out_lines(capsys)
    assert [line for line in lines if "\tgrounding\t" in line and "skipped" not in line] == [
        "2401.06066\tgrounding\t视觉 (vision/visual/image)",
        "2401.06066\tgrounding\t图像 (image/picture)",
        "2401.06066\tgrounding\t编码器 (encoder)",
        "2401.06066\tgrounding\t适配器 (adapter/adaptor/connector/projector)",
        "2401.06066\tgrounding\t分辨率 (resolution)",
        "2401.06066\tgrounding\t令牌丢弃 (token-drop/drop token/dropped token)",
        f"{V2}\tgrounding\t多模态 (multimodal/multi-modal)",
    ]
    # A person's summary has no detail sections: that is not a form problem.
    assert [line for line in lines if "\tform\t" in line or "\tlanguage\t" in line] == []
    skipped = [line for line in lines if "\tgrounding\tskipped: " in line]
    assert len(skipped) == 10 and not any(V2 in line for line in skipped)
    assert (
        f"2401.02954\tgrounding\tskipped: no paper text (no PDF at {cache}/2401.02954v1.pdf)"
        in lines
    )
    assert lines[-1] == "check: 12 summaries checked, 2 flagged"


def test_status_lines_stay_within_the_console_width_unless_verbose(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    assert project.run("build") == 0
    path = project.output / "data" / f"{V2}.json"
    stored = json.loads(path.read_text(encoding="utf-8"))
    terms = [f"Term{n:02d}Architecture" for n in range(30)]
    stored["unsupported_terms"] = terms
    path.write_text(json.dumps(stored, ensure_ascii=False), encoding="utf-8")
    capsys.readouterr()

    assert project.run("status") == 0
    lines = out_lines(capsys)
    assert all(len(line) <= 200 for line in lines)
    assert next(x for x in lines if x.startswith(V2)).endswith("…")
    assert project.run("status", "-v") == 0
    verbose = next(x for x in out_lines(capsys) if x.startswith(V2))
    assert re.search(", ".join(terms) + r"; sent whole \(\d+ tokens\)$", verbose)

"""A PDF that cannot give text (encrypted, image-only): the paper fails with its cause, and
neither the README, the state nor the console shows the runner's cache path."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfReader, PdfWriter

from tests.support.fakes import FakePaper
from tests.support.faultkit import LLM, readme_bytes, state
from tests.support.pdfgen import make_pdf, paper_pdf
from tests.support.project import Project


def encrypted_pdf() -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(paper_pdf("Locked", "Locked"))))
    writer.encrypt("secret", owner_password="owner", algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def image_only_pdf() -> bytes:
    return make_pdf([[""], [""]])  # pages with no text at all, as a scan gives


@pytest.mark.parametrize(
    "pdf, cause",
    [
        (encrypted_pdf, "PDF encrypted (needs a password)"),
        (image_only_pdf, "no extractable text in the PDF (image-only or empty?)"),
    ],
    ids=["encrypted", "image-only"],
)
def test_a_pdf_without_text_fails_with_its_cause_and_no_path(
    project: Project, capsys: pytest.CaptureFixture[str], pdf, cause: str
) -> None:
    held = project.arxiv.papers[LLM][0]
    project.arxiv.papers[LLM] = [FakePaper(LLM, 1, held.title, held.updated, pdf())]
    assert project.run("build") == 1
    err = capsys.readouterr().err
    assert f"  failed: {LLM}: {cause}" in err.splitlines()
    readme = readme_bytes(project).decode()
    assert f"| ⚠️ 摘要生成失败：{cause} |  |" in readme
    assert state(project, LLM)["last_error"] == {"stage": "extract", "reason": cause}
    texts = [err, readme, (project.output / "data" / f"{LLM}.json").read_text(encoding="utf-8")]
    assert not any(".cache" in text or str(project.root) in text for text in texts)

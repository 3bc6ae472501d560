"""PDFs with figures for tests: pages drawn from text lines, filled and framed boxes (the
drawings, as vector paths) and their labels; Helvetica, no fonts embedded."""

from __future__ import annotations

import textwrap

from tests.support.fakes import FakePaper
from tests.support.pdfgen import assemble_pdf
from tests.support.project import config_text

Box = tuple[float, float, float, float]
PROSE = (
    "We study this problem carefully and report the design, the training procedure and the "
    "evaluation in detail. The approach is simple to reproduce and scales to larger settings. "
)


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


class Sheet:
    """One page being drawn, in PDF points (origin bottom-left)."""

    def __init__(self, width: float = 612, height: float = 792) -> None:
        self.width, self.height = width, height
        self.ops: list[str] = []

    def text(self, x: float, y: float, line: str, size: float = 10) -> None:
        self.ops.append(f"BT /F1 {size} Tf {x:.2f} {y:.2f} Td ({_escape(line)}) Tj ET")

    def para(self, x: float, top: float, chars: int, text: str, leading: float = 12.5) -> float:
        """Text wrapped at `chars` characters, first baseline at `top`; the next free baseline."""
        y = top
        for line in textwrap.wrap(text, chars):
            self.text(x, y, line)
            y -= leading
        return y

    def drawing(self, box: Box, labels: tuple[str, ...] = ("input", "output")) -> None:
        """A diagram: a grey frame, two filled blocks, an arrow line and short labels."""
        x0, y0, x1, y1 = box
        w, h = x1 - x0, y1 - y0
        self.ops.append(f"0.2 G 1 w {x0:.2f} {y0:.2f} {w:.2f} {h:.2f} re S")
        self.ops.append(f"0.6 0.7 0.9 rg {x0 + 0.1 * w:.2f} {y0 + 0.3 * h:.2f} ")
        self.ops[-1] += f"{0.3 * w:.2f} {0.4 * h:.2f} re f"
        self.ops.append(f"0.9 0.7 0.5 rg {x0 + 0.6 * w:.2f} {y0 + 0.3 * h:.2f} ")
        self.ops[-1] += f"{0.3 * w:.2f} {0.4 * h:.2f} re f 0 g"
        self.ops.append(f"0 G {x0 + 0.4 * w:.2f} {y0 + 0.5 * h:.2f} m {x0 + 0.6 * w:.2f} ")
        self.ops[-1] += f"{y0 + 0.5 * h:.2f} l S"
        for i, label in enumerate(labels):
            self.text(x0 + 0.12 * w + i * 0.5 * w, y0 + 0.15 * h, label, size=7)

    def stream(self) -> bytes:
        return "\n".join(self.ops).encode("latin-1", "replace")


def sheets_pdf(sheets: list[Sheet]) -> bytes:
    """A PDF of the drawn pages."""
    return assemble_pdf([(sheet.width, sheet.height, sheet.stream()) for sheet in sheets])


def prose(n: int) -> str:
    return PROSE * n


def two_column_pdf() -> tuple[bytes, dict[int, Box]]:
    """Two pages in two columns: Figure 1 in the left column between paragraphs, the right
    column all text; Figure 2 across both columns at the top of page 2. Returns the PDF and
    each figure's drawing box."""
    left, right, chars = 60.0, 316.0, 52
    one = Sheet()
    y = one.para(left, 720, chars, "1 Introduction")
    y = one.para(left, y - 4, chars, prose(3))
    fig1 = (left + 10, y - 190, left + 206, y - 10)
    one.drawing(fig1)
    y = one.para(left, fig1[1] - 16, chars, "Figure 1: The left column's drawing, with two blocks.")
    one.para(left, y - 10, chars, prose(3))
    one.para(right, 720, chars, prose(10) + "As Figure 1 shows, the blocks are linked.")
    two = Sheet()
    fig2 = (70.0, 560.0, 530.0, 720.0)
    two.drawing(fig2, ("encoder", "decoder"))
    y = two.para(left, 540, 100, "Figure 2: A drawing across both columns. " + PROSE)
    two.para(left, y - 14, chars, prose(6))
    two.para(right, y - 14, chars, prose(6))
    return sheets_pdf([one, two]), {1: fig1, 2: fig2}


def one_column_pdf() -> tuple[bytes, dict[int, Box]]:
    """One column: Figure 1 with its caption above it; Figures 2 and 3 side by side, each with
    its own caption; Figure 4 of two sub-figures "(a)" and "(b)" under one caption; a line of
    running text that starts "Figure 4 shows" (a reference, not a caption)."""
    x, chars = 72.0, 95
    one = Sheet()
    y = one.para(x, 720, chars, prose(3))
    y = one.para(x, y - 10, chars, "Figure 1: A caption set above its drawing.")
    fig1 = (120.0, y - 170, 440.0, y - 4)
    one.drawing(fig1)
    one.para(x, fig1[1] - 20, chars, prose(4))
    two = Sheet()
    y = two.para(x, 720, chars, prose(2))
    fig2, fig3 = (80.0, y - 170, 270.0, y - 10), (290.0, y - 170, 470.0, y - 10)
    two.drawing(fig2)
    two.drawing(fig3)
    two.para(x, fig2[1] - 16, 40, "Figure 2: The left drawing.")
    two.para(290, fig3[1] - 16, 40, "Figure 3: The right drawing, its caption on two lines.")
    y = two.para(x, fig2[1] - 60, chars, prose(3))
    sub_a, sub_b = (90.0, y - 160, 270.0, y - 10), (290.0, y - 160, 470.0, y - 10)
    two.drawing(sub_a)
    two.drawing(sub_b)
    two.text(100, sub_a[1] - 14, "(a) Accuracy of the first model on the test set")
    two.text(360, sub_b[1] - 14, "(b) Cost")
    y = two.para(x, sub_a[1] - 36, chars, "Figure 4: Two sub-figures under one caption.")
    two.para(x, y - 10, chars, "Figure 4 shows " + prose(2))
    fig4 = (sub_a[0], sub_a[1], sub_b[2], sub_b[3])
    return sheets_pdf([one, two]), {1: fig1, 2: fig2, 3: fig3, 4: fig4}


def paper_with_figures(title: str, topic: str, figures: int = 2) -> bytes:
    """A two-page paper like `tests.support.pdfgen.paper_pdf` with `figures` captioned drawings
    (0-2): an overview on page 1, results on page 2."""
    x, chars = 72.0, 95
    one = Sheet()
    one.text(x, 720, title[:90], size=14)
    y = one.para(x, 690, chars, f"Abstract. We present {topic}. " + PROSE)
    y = one.para(x, y - 12, chars, f"1 Introduction. {topic} addresses an open problem. " + PROSE)
    if figures >= 1:
        one.drawing((140.0, y - 200, 470.0, y - 20), ("data", "model"))
        y = one.para(
            x, y - 216, chars, f"Figure 1: Overview of {topic}: data flows into the model."
        )
    one.para(x, y - 14, chars, f"2 Method. Our method, {topic}, works in three steps. " + PROSE)
    two = Sheet()
    y = two.para(x, 720, chars, f"3 Experiments. We evaluate {topic} on benchmarks. " + PROSE * 2)
    if figures >= 2:
        two.drawing((140.0, y - 200, 470.0, y - 20), ("baseline", topic[:12]))
        y = two.para(x, y - 216, chars, f"Figure 2: Results of {topic} against the baseline.")
    y = two.para(x, y - 14, chars, f"4 Conclusion. {topic} is effective. " + PROSE)
    two.para(x, y - 14, chars, "References")
    two.para(x, y - 28, chars, "[1] A. Author. A related paper. 2023.")
    return sheets_pdf([one, two])


# The twelve papers of the reference list (ID, version, date, project, slug, title), each with
# the number of figures its fake PDF draws: most two, two papers none.
TWELVE = [
    ("2401.02954", 1, "2024-01-05", "DeepSeek LLM", "DeepSeekLLM", "DeepSeek LLM: Scaling", 2),
    ("2401.06066", 1, "2024-01-11", "DeepSeek MoE", "DeepSeekMoE", "DeepSeekMoE: Experts", 2),
    ("2401.14196", 2, "2024-01-26", "DeepSeek Coder", "DeepSeek-Coder", "DeepSeek-Coder: Code", 0),
    ("2403.05525", 2, "2024-03-11", "DeepSeek VL", "Deepseek-vl", "DeepSeek-VL: Vision", 2),
    ("2405.14333", 1, "2024-05-23", "DeepSeek Prover", "DeepSeek-Prover", "DeepSeek-Prover", 1),
    ("2406.11931", 1, "2024-06-17", "DeepSeek Coder-V2", "DeepSeek-Coder-V2", "Coder-V2: Code", 2),
    ("2405.04434", 5, "2024-06-19", "DeepSeek V2", "DeepSeek-V2", "DeepSeek-V2: A Strong MoE", 2),
    ("2408.08152", 1, "2024-08-15", "DeepSeek Prover-V1.5", "DeepSeek-Prover-V1.5", "Prover", 2),
    ("2412.10302", 1, "2024-12-13", "DeepSeek VL2", "Deepseek-vl2", "DeepSeek-VL2: MoE VL", 0),
    ("2412.19437", 1, "2024-12-27", "DeepSeek v3", "DeepSeek-V3", "DeepSeek-V3: Report", 2),
    ("2501.12948", 1, "2025-01-22", "DeepSeek R1", "DeepSeek-R1", "DeepSeek-R1: Reasoning", 2),
    ("2501.17811", 1, "2025-01-29", "Janus-Pro", "Janus-Pro", "Janus-Pro: Unified", 2),
]  # fmt: skip


def fake_twelve() -> list[FakePaper]:
    return [
        FakePaper(pid, version, title, date, paper_with_figures(title, title.split(":")[0], n))
        for pid, version, date, _, _, title, n in TWELVE
    ]


def twelve_config(arxiv_url: str, llm_url: str, figures: dict[str, str] | None = None) -> str:
    papers = [(pid, v, t, d, project, slug) for pid, v, d, project, slug, t, _ in TWELVE]
    text = config_text(arxiv_url, llm_url, papers)
    for pid, value in (figures or {}).items():
        text = text.replace(f'id = "{pid}"\n', f'id = "{pid}"\nfigure = {value}\n')
    return text

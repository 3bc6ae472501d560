"""The toolchain: ruff check, ruff format and mypy report nothing on the project."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from tests.support.project import ROOT


def ruff(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ruff", *args], cwd=ROOT, capture_output=True, text=True
    )


def test_ruff_check_is_clean() -> None:
    result = ruff("check", "pipeline", "tests", "bench")
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format_is_clean() -> None:
    result = ruff("format", "--check", "pipeline", "tests", "bench")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_is_clean() -> None:
    """mypy with the [tool.mypy] settings of pyproject.toml (files: pipeline/)."""
    result = subprocess.run(
        [sys.executable, "-m", "mypy"], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60


def too_long(package: Path) -> list[str]:
    """Modules over MAX_MODULE_LINES and functions over MAX_FUNCTION_LINES, as 'path:name n'."""
    found = []
    for path in sorted(package.rglob("*.py")):
        source = path.read_text(encoding="utf-8")
        rel = path.relative_to(package.parent)
        if (lines := len(source.splitlines())) > MAX_MODULE_LINES:
            found.append(f"{rel} {lines}")
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    found.append(f"{rel}:{node.name} {length}")
    return found


def test_no_module_over_400_lines_and_no_function_over_60() -> None:
    assert too_long(ROOT / "pipeline") == []


def test_the_length_check_finds_a_long_module_and_a_long_function(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    package.mkdir()
    body = "".join(f"    x{n} = {n}\n" for n in range(60))
    (package / "long.py").write_text("def f():\n" + body + "\n" * 340)
    assert too_long(package) == ["pkg/long.py 401", "pkg/long.py:f 61"]

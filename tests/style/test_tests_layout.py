"""The tests' layout: one folder per stage, what tests share in tests/support/, and no test module
importing another one (a helper two test modules need belongs in tests/support/)."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.support.project import ROOT

TESTS = ROOT / "tests"
NOT_COLLECTED = {"build", "dist", "venv", "node_modules", "CVS", "_darcs"}  # pytest skips these


def test_every_test_module_sits_in_a_stage_folder_pytest_collects() -> None:
    flat = sorted(p.name for p in TESTS.glob("test_*.py"))
    assert flat == [], "move them into their stage's folder, tests/STAGE/"
    folders = {p.parent for p in TESTS.rglob("test_*.py")}
    assert sorted(f.name for f in folders if f.name in NOT_COLLECTED) == []
    assert sorted(f.name for f in folders if not (f / "__init__.py").is_file()) == []


def imported(path: Path) -> set[str]:
    """Every module name one file imports (for `from a import b`: a, and a.b)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names |= {node.module} | {f"{node.module}.{a.name}" for a in node.names}
    return names


def test_no_test_module_imports_another_test_module_or_conftest() -> None:
    found = []
    for path in sorted(TESTS.rglob("*.py")):
        for name in sorted(imported(path)):
            last = name.rsplit(".", 1)[-1]
            if name.startswith("tests.") and (last.startswith("test_") or last == "conftest"):
                found.append(f"{path.relative_to(ROOT)} imports {name}")
    assert found == [], "move what they share to tests/support/"

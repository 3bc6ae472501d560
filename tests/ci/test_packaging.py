"""`pip install .` (not -e) gives a package that builds: prompts/ (top level in the checkout)
comes along as package data, and every package under pipeline/ is listed in pyproject.toml."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.support.project import Project

ROOT = Path(__file__).resolve().parents[2]


def test_every_package_under_pipeline_is_installed() -> None:
    listed = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]
    packages = set(listed["setuptools"]["packages"])
    found = {
        ".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "pipeline").rglob("__init__.py")
    }
    assert found - packages == set(), "add them to [tool.setuptools] packages in pyproject.toml"
    assert listed["setuptools"]["package-dir"] == {"pipeline.prompts": "prompts"}


def test_a_non_editable_install_builds_against_the_fakes(
    project: Project, tmp_path_factory: pytest.TempPathFactory
) -> None:
    source = tmp_path_factory.mktemp("source")  # what a checkout holds; build files land here
    for name in ("pipeline", "prompts"):
        shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    site = tmp_path_factory.mktemp("site")
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index"]
    pip += ["--no-build-isolation", "--target", str(site), str(source)]  # offline: no PyPI
    installed = subprocess.run(pip, capture_output=True, text=True, check=False)
    if "invalid command 'bdist_wheel'" in installed.stderr:
        pytest.skip("setuptools < 70.1 without wheel: pip install -e '.[test]' brings a newer one")
    assert installed.returncode == 0, installed.stderr
    assert sorted(p.name for p in (site / "pipeline" / "prompts").glob("*.j2")) == sorted(
        p.name for p in (ROOT / "prompts").glob("*.j2")
    )
    env = {**os.environ, "PYTHONPATH": str(site)}  # the installed package, not this checkout
    command = [sys.executable, "-m", "pipeline", "build", "--config", str(project.config)]
    build = subprocess.run(
        command, cwd=project.root, env=env, capture_output=True, text=True, check=False
    )
    assert build.returncode == 0, build.stderr
    assert "build: 3 done, 0 skipped, 0 failed" in build.stderr
    assert len(project.llm.bodies) == 3
    where = [sys.executable, "-c", "import pipeline; print(pipeline.__file__)"]
    used = subprocess.run(where, cwd=project.root, env=env, capture_output=True, text=True)
    assert used.stdout.startswith(str(site))

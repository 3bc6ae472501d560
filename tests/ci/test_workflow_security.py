"""Security of .github/workflows/nightly.yml: the zizmor audit finds nothing of medium or high
severity, and the layout a maintainer relies on holds: the model key reaches the build step
only, only the commit job can push, only the deploy job holds the Pages permissions, every
action is pinned to a commit SHA."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / ".github" / "workflows" / "nightly.yml"
DEPENDABOT = ROOT / ".github" / "dependabot.yml"
SECRET = "${{ secrets.DEEPSEEK_API_KEY }}"
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")


def _zizmor() -> str | None:
    beside_python = Path(sys.executable).parent / "zizmor"
    return str(beside_python) if beside_python.exists() else shutil.which("zizmor")


@pytest.fixture(scope="module")
def workflow() -> dict[Any, Any]:
    return yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))


def _steps(workflow: dict[Any, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(name, step) for name, job in workflow["jobs"].items() for step in job["steps"]]


def test_zizmor_finds_nothing_of_medium_or_high_severity() -> None:
    zizmor = _zizmor()
    if zizmor is None:
        pytest.skip("zizmor is not installed (pip install -e '.[test]' brings it)")
    result = subprocess.run(
        [zizmor, "--offline", "--no-progress", "--format", "json", str(WORKFLOW), str(DEPENDABOT)],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    assert result.stdout.strip(), f"zizmor said nothing on stdout: {result.stderr}"
    findings = json.loads(result.stdout)
    serious = [
        f"{f['ident']} ({f['determinations']['severity']}): {f['desc']}"
        for f in findings
        if f["determinations"]["severity"] in ("Medium", "High")
    ]
    assert serious == [], "run `zizmor --offline .github/` for the details"


def test_the_model_key_reaches_only_the_build_step(workflow: dict[Any, Any]) -> None:
    holders = [
        (job, step.get("name"))
        for job, step in _steps(workflow)
        if "DEEPSEEK_API_KEY" in json.dumps(step.get("env", {}))
    ]
    assert holders == [("build", "Build")]
    build = next(s for job, s in _steps(workflow) if s.get("name") == "Build")
    assert build["env"] == {"DEEPSEEK_API_KEY": SECRET}
    text = WORKFLOW.read_text(encoding="utf-8")
    assert text.count("secrets.") == 1, "no other secret, no job- or workflow-wide env"
    for job in workflow["jobs"].values():
        assert "env" not in job
    assert "env" not in workflow


def test_only_the_commit_job_can_write_and_only_deploy_holds_pages(
    workflow: dict[Any, Any],
) -> None:
    assert workflow["permissions"] == {}
    granted = {name: job.get("permissions") for name, job in workflow["jobs"].items()}
    assert granted == {
        "build": {"contents": "read"},
        "commit": {"contents": "write"},
        "deploy-pages": {"pages": "write", "id-token": "write"},
    }


def test_jobs_that_push_nothing_keep_no_token_and_the_push_alone_gets_it(
    workflow: dict[Any, Any],
) -> None:
    for job, step in _steps(workflow):
        if step.get("uses", "").startswith("actions/checkout@"):
            assert step["with"]["persist-credentials"] is False, job
    token_steps = [
        (job, step.get("name")) for job, step in _steps(workflow) if "token" in str(step.get("env"))
    ]
    assert token_steps == [("commit", "Push")]
    commit_runs = " ".join(s.get("run", "") for s in workflow["jobs"]["commit"]["steps"])
    assert "pip" not in commit_runs and "pipeline" not in commit_runs, "no installed code"


def test_every_action_is_pinned_to_a_commit_sha_with_its_version() -> None:
    lines = [line.strip() for line in WORKFLOW.read_text(encoding="utf-8").splitlines()]
    uses = [line for line in lines if line.startswith(("uses:", "- uses:"))]
    assert len(uses) >= 8
    for line in uses:
        reference, _, comment = line.split("uses:", 1)[1].partition("#")
        assert PINNED.match(reference.strip()), line
        assert re.fullmatch(r"v\d+(\.\d+)*", comment.strip()), f"version comment: {line}"


def test_dependabot_keeps_the_actions_fresh() -> None:
    config = yaml.safe_load(DEPENDABOT.read_text(encoding="utf-8"))
    [update] = [u for u in config["updates"] if u["package-ecosystem"] == "github-actions"]
    assert update["directory"] == "/" and update["schedule"]["interval"] == "weekly"


def test_the_schedule_avoids_deepseek_peak_hours(workflow: dict[Any, Any]) -> None:
    """Peak (twice the price): UTC 01:00-04:00 and 06:00-10:00 Mon-Fri. A scheduled run may start
    hours late on a busy day and the build may take its whole timeout (2 h): from the cron time
    to 5 h later, no moment may fall in a peak window."""
    triggers = workflow.get("on", workflow.get(True))
    for entry in triggers["schedule"]:
        minute, hour = (int(field) for field in entry["cron"].split()[:2])
        for quarter in range(5 * 4 + 1):
            moment = (hour + minute / 60 + quarter / 4) % 24
            for begin, end in ((1, 4), (6, 10)):
                assert not begin <= moment < end, f"{entry['cron']} reaches {begin}-{end} UTC"

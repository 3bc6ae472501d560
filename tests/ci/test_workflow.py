"""Checks on .github/workflows/nightly.yml: the nightly build, its cache, commit and failure, and
the deployment of output/site/ to GitHub Pages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

WORKFLOW = Path(__file__).resolve().parents[2] / ".github" / "workflows" / "nightly.yml"
SECRET = "${{ secrets.DEEPSEEK_API_KEY }}"

Step = dict[str, Any]


@pytest.fixture(scope="module")
def workflow() -> dict[Any, Any]:
    return yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def steps(workflow: dict[Any, Any]) -> list[Step]:
    jobs = workflow["jobs"]
    # one job builds (holding the model key, no write access), one commits what it built (write
    # access, no key), one deploys the site (the Pages permissions); see test_workflow_security.py
    assert sorted(jobs) == ["build", "commit", "deploy-pages"]
    return jobs["build"]["steps"]


@pytest.fixture(scope="module")
def commit_steps(workflow: dict[Any, Any]) -> list[Step]:
    return workflow["jobs"]["commit"]["steps"]


def _index(steps: list[Step], predicate: Any, what: str) -> int:
    found = [i for i, step in enumerate(steps) if predicate(step)]
    assert found, f"no step {what}"
    return found[0]


def _build(steps: list[Step]) -> int:
    return _index(steps, lambda s: "python -m pipeline build" in s.get("run", ""), "builds")


def _uses(step: Step, action: str) -> bool:
    return step.get("uses", "").split("@")[0] == action


def test_triggers(workflow: dict[Any, Any]) -> None:
    # YAML 1.1 reads the bare key `on` as the boolean True
    triggers = workflow.get("on", workflow.get(True))
    assert "workflow_dispatch" in triggers
    crons = [entry["cron"] for entry in triggers["schedule"]]
    assert crons and all(len(cron.split()) == 5 for cron in crons)


def test_permissions_and_concurrency(workflow: dict[Any, Any]) -> None:
    assert workflow["permissions"] == {}, "nothing by default: each job asks for its own"
    assert workflow["concurrency"]["group"]
    assert workflow["concurrency"].get("cancel-in-progress", False) is False


def test_setup_steps(steps: list[Step]) -> None:
    checkout = _index(steps, lambda s: _uses(s, "actions/checkout"), "checks out")
    python = _index(steps, lambda s: _uses(s, "actions/setup-python"), "sets up Python")
    install = _index(steps, lambda s: "pip install -e ." in s.get("run", ""), "installs")
    assert steps[python]["with"]["python-version"] == "3.11"
    assert checkout < python < install < _build(steps)


def test_cache_restored_before_and_saved_after_a_failed_build(steps: list[Step]) -> None:
    build = _build(steps)
    restore = _index(
        steps,
        lambda s: _uses(s, "actions/cache") or _uses(s, "actions/cache/restore"),
        "restores the cache",
    )
    spec = steps[restore]["with"]
    assert spec["path"].strip() == ".cache"
    assert "github.run_id" in spec["key"], "the key must change per run so the newest is saved"
    prefixes = [p.strip() for p in spec["restore-keys"].splitlines() if p.strip()]
    assert prefixes and all(spec["key"].startswith(p) for p in prefixes)
    assert restore < build
    if _uses(steps[restore], "actions/cache/restore"):
        save = _index(steps, lambda s: _uses(s, "actions/cache/save"), "saves the cache")
        assert save > build and steps[save]["with"]["key"] == spec["key"]
        assert "cancelled()" in steps[save]["if"] or "always()" in steps[save]["if"]


def test_build_uses_the_secret_through_env(steps: list[Step]) -> None:
    step = steps[_build(steps)]
    assert step["env"]["DEEPSEEK_API_KEY"] == SECRET
    assert "secrets." not in step["run"] and "DEEPSEEK_API_KEY" not in step["run"]
    assert "set +e" in step["run"], "the build's failure must not stop the job"
    assert "$?" in step["run"] and "code=" in step["run"] and "$GITHUB_OUTPUT" in step["run"]
    assert step["id"] == "build"


def test_commit_runs_after_a_partial_build(workflow: dict[Any, Any], steps: list[Step]) -> None:
    build = _build(steps)
    handover = _index(steps, lambda s: _uses(s, "actions/upload-artifact"), "hands output/ over")
    spec, condition = steps[handover]["with"], steps[handover]["if"]
    assert handover > build
    assert spec["path"].split() == ["output", "config.toml"]
    assert spec["include-hidden-files"] is True  # output/.gitkeep is tracked
    assert "!cancelled()" in condition and "steps.build.outputs.code == '1'" in condition
    commit = workflow["jobs"]["commit"]
    assert commit["needs"] == "build"
    assert "!cancelled()" in commit["if"], "exit 1 marks the build job failed; still commit"
    assert "needs.build.outputs.code == '0'" in commit["if"]
    assert "needs.build.outputs.code == '1'" in commit["if"], "exit 1 must still commit"


def test_commit_job_replaces_output_with_the_built_one(commit_steps: list[Step]) -> None:
    checkout = _index(commit_steps, lambda s: _uses(s, "actions/checkout"), "checks out")
    assert "ref" not in commit_steps[checkout].get("with", {}), "same commit as the build"
    drop = _index(commit_steps, lambda s: s.get("run", "").strip() == "rm -rf output", "drops")
    download = _index(
        commit_steps, lambda s: _uses(s, "actions/download-artifact"), "downloads output/"
    )
    commit = _index(commit_steps, lambda s: "git commit" in s.get("run", ""), "commits")
    push = _index(commit_steps, lambda s: " push" in s.get("run", ""), "pushes")
    assert checkout < drop < download < commit < push  # files the build removed stay removed
    run = commit_steps[commit]["run"]
    assert "git add output" in run and "git add config.toml" in run
    assert "git diff --cached --quiet" in run
    assert "pull --rebase" in commit_steps[push]["run"]  # a push that lost a race is retried
    assert f"steps.{commit_steps[commit]['id']}.outputs" in commit_steps[push]["if"]


def test_last_step_fails_on_a_nonzero_build_code(steps: list[Step]) -> None:
    last = steps[-1]
    assert "steps.build.outputs.code != '0'" in last["if"]
    assert last["run"].rstrip().endswith("exit 1")
    assert "build log above" in last["run"]
    assert _build(steps) < len(steps) - 1


def test_site_is_uploaded_whenever_output_is_committed(steps: list[Step]) -> None:
    handover = _index(steps, lambda s: _uses(s, "actions/upload-artifact"), "hands output/ over")
    upload = _index(
        steps, lambda s: _uses(s, "actions/upload-pages-artifact"), "uploads the Pages artifact"
    )
    assert _build(steps) < handover < upload < len(steps) - 1
    assert steps[upload]["with"]["path"] == "output/site"
    condition = steps[upload]["if"]
    assert "!cancelled()" in condition
    assert "steps.build.outputs.code == '0'" in condition
    assert "steps.build.outputs.code == '1'" in condition  # partial builds are published too
    assert "hashFiles('output/site/index.html')" in condition  # [site] enabled = false


def test_deploy_job_uses_the_official_pages_action(workflow: dict[Any, Any]) -> None:
    build, deploy = workflow["jobs"]["build"], workflow["jobs"]["deploy-pages"]
    upload = next(s for s in build["steps"] if _uses(s, "actions/upload-pages-artifact"))
    assert build["outputs"]["site"] == f"${{{{ steps.{upload['id']}.outputs.artifact_id }}}}"
    assert deploy["needs"] == ["build", "commit"]  # published after the commit
    assert "!cancelled()" in deploy["if"] and "needs.build.outputs.site != ''" in deploy["if"]
    assert deploy["environment"]["name"] == "github-pages"
    configure, step = deploy["steps"]
    assert _uses(configure, "actions/configure-pages")
    assert _uses(step, "actions/deploy-pages")
    assert deploy["environment"]["url"] == f"${{{{ steps.{step['id']}.outputs.page_url }}}}"


def test_run_scripts_take_values_through_env(workflow: dict[Any, Any]) -> None:
    for job in workflow["jobs"].values():
        for step in job["steps"]:
            run = step.get("run", "")
            assert "${{" not in run, f"{step.get('name')}: use env, not ${{{{ }}}}"


def test_the_build_writes_the_job_summary_itself(
    workflow: dict[Any, Any], steps: list[Step]
) -> None:
    """Thin workflow: no step writes or redirects $GITHUB_STEP_SUMMARY; the build appends to it."""
    from pipeline.report.job_summary import ENV_VAR

    assert ENV_VAR == "GITHUB_STEP_SUMMARY"
    for job in workflow["jobs"].values():
        for step in job["steps"]:
            assert ENV_VAR not in step.get("run", ""), f"{step.get('name')}: the build writes it"
            assert ENV_VAR not in step.get("env", {}), f"{step.get('name')}: Actions sets it"
    assert "--summary" not in steps[_build(steps)]["run"]  # the variable is enough

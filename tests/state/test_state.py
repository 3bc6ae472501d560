"""The typed paper state: 0.1 files load and round-trip, unknown keys kept, newer or unreadable
ones refused (named, never taken for "no state")."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pipeline.errors import ConfigError
from pipeline.state import STATE_SCHEMA, PaperState, StateStore, Summary
from tests.support.faultkit import LLM, seed_text_cache
from tests.support.project import Project

ROOT = Path(__file__).resolve().parents[2]
V2 = "2405.04434"

META = {
    "abstract": "We present DeepSeek-V2.",
    "authors": ["DeepSeek-AI"],
    "id": V2,
    "pdf_url": f"https://arxiv.org/pdf/{V2}v5",
    "published": "2024-05-07",
    "title": "DeepSeek-V2",
    "updated": "2024-06-19",
    "version": 5,
}
SUMMARY = {
    "abstract": "中文摘要",
    "bullets": [{"heading": f"要点{n}", "text": f"内容{n}"} for n in range(3)],
    "detail": [{"heading": "方法", "text": "方法内容"}],
}
# What 0.1 wrote after a model summary: every key it knew, schema 1, no cached/reasoning tokens.
FULL_V1: dict[str, Any] = {
    "detail_file": f"deepseek-paper/03-DeepSeek-V2.{V2}v5.md",
    "detail_sha256": "ab" * 32,
    "endpoint": "api.deepseek.com",
    "generated_at": "2026-01-01T00:00:00+00:00",
    "id": V2,
    "input": {"omitted": ["References"], "sections": ["Abstract", "Method"], "tokens": 9000},
    "last_error": {"reason": "HTTP 503", "stage": "summarise"},
    "meta": META,
    "model": "deepseek-chat-0324",
    "pdf_sha256": "cd" * 32,
    "prompt_sha256": "ef" * 32,
    "requested_model": "deepseek-chat",
    "schema": 1,
    "source": "llm",
    "summary": SUMMARY,
    "text_sha256": "01" * 32,
    "unsupported_terms": ["MLA"],
    "usage": {"attempts": 2, "completion_tokens": 600, "prompt_tokens": 2000},
}
# The least 0.1 stored: a first summary that failed (no schema stamp, nothing optional).
BARE_V1: dict[str, Any] = {"id": V2, "meta": META}


def store_with(tmp_path: Path, record: dict[str, Any]) -> StateStore:
    store = StateStore(tmp_path / "data")
    store.data_dir.mkdir(parents=True)
    text = json.dumps(record, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
    store.path(record["id"]).write_text(text, encoding="utf-8")
    return store


def stored(store: StateStore, paper_id: str = V2) -> dict[str, Any]:
    return json.loads(store.path(paper_id).read_text(encoding="utf-8"))


def test_a_full_0_1_file_loads_and_saves_as_schema_3_with_nothing_lost(tmp_path: Path) -> None:
    store = store_with(tmp_path, FULL_V1)
    state = store.load(V2)
    assert state is not None
    assert state.meta.version == 5 and state.meta.authors == ("DeepSeek-AI",)
    assert state.summary is not None and state.summary.to_dict() == SUMMARY
    assert state.last_error is not None and state.last_error.stage == "summarise"
    assert state.usage is not None and state.usage.prompt_tokens == 2000
    store.save(state)
    usage = {**FULL_V1["usage"], "cached_prompt_tokens": 0, "reasoning_tokens": 0}
    given = {**FULL_V1["input"], "paper_tokens": None, "budget": None}  # not known in 0.1
    new = {"schema": STATE_SCHEMA, "usage": usage, "input": given, "withdrawn": None}
    assert stored(store) == {**FULL_V1, **new}
    assert store.load(V2) == state


def test_a_bare_0_1_file_loads_with_defaults_and_round_trips(tmp_path: Path) -> None:
    store = store_with(tmp_path, BARE_V1)
    state = store.load(V2)
    assert state is not None
    assert (state.summary, state.source, state.usage, state.last_error) == (None, None, None, None)
    assert state.unsupported_terms == [] and state.detail_file is None
    store.save(state)
    record = stored(store)
    assert record["schema"] == 3 and record["summary"] is None and record["usage"] is None
    assert set(record) == {*FULL_V1, "withdrawn"}  # schema 3 writes every key, null when unknown
    assert store.load(V2) == state


def test_loading_a_file_rewrites_nothing(tmp_path: Path) -> None:
    store = store_with(tmp_path, FULL_V1)
    before = store.path(V2).read_bytes()
    assert store.load(V2) is not None
    assert store.path(V2).read_bytes() == before


def test_every_committed_state_file_loads_and_round_trips() -> None:
    store = StateStore(ROOT / "output" / "data")
    assert len(store.ids()) == 12
    for paper_id in store.ids():
        state = store.load(paper_id)
        assert state is not None and state.by_person, paper_id
        assert state.summary is not None and len(state.summary.bullets) == 3
        assert PaperState.from_dict(state.to_dict()) == state
        assert Summary.from_dict(state.summary.to_dict()) == state.summary


def test_unknown_keys_are_kept_when_the_state_is_rewritten(tmp_path: Path) -> None:
    store = store_with(tmp_path, {**FULL_V1, "reviewed_by": "someone", "schema": 2})
    state = store.load(V2)
    assert state is not None and state.extra == {"reviewed_by": "someone"}
    state.detail_sha256 = "99" * 32
    store.save(state)
    assert stored(store)["reviewed_by"] == "someone"
    assert stored(store)["detail_sha256"] == "99" * 32


def test_a_schema_2_file_loads_and_round_trips(tmp_path: Path) -> None:
    record = {**FULL_V1, "schema": 2, "usage": {**FULL_V1["usage"], "reasoning_tokens": 5}}
    store = store_with(tmp_path, record)
    state = store.load(V2)
    assert state is not None and state.withdrawn is None and state.usage.reasoning_tokens == 5
    store.save(state)
    assert stored(store)["schema"] == 3 and stored(store)["withdrawn"] is None


@pytest.mark.parametrize(
    "record, cause",
    [
        ({"id": V2}, "meta: unexpected NoneType"),  # no metadata
        ({"id": V2, "meta": {**META, "version": None}, "schema": 2}, "meta.version: unexpected"),
        ({"id": V2, "meta": {**META, "lang": "en"}}, "meta: "),
        ({**FULL_V1, "summary": {"abstract": 7, "bullets": []}}, "summary.abstract: unexpected"),
        ({**FULL_V1, "schema": "two"}, "unknown schema 'two'"),
        ({**FULL_V1, "id": "2401.02954"}, "it holds paper 2401.02954"),
    ],
)
def test_a_record_of_the_wrong_shape_is_refused_naming_the_file(
    tmp_path: Path, record: dict[str, Any], cause: str
) -> None:
    store = store_with(tmp_path, {**record, "id": record.get("id", V2)})
    if record["id"] != V2:
        store.path(record["id"]).rename(store.path(V2))
    with pytest.raises(ConfigError) as caught:
        store.load(V2)
    assert str(caught.value).startswith(f"{store.path(V2)}: unreadable paper state ({cause}")


def test_a_state_from_a_newer_pipeline_stops_the_build_and_is_left_alone(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    path = project.output / "data" / f"{V2}.json"
    path.parent.mkdir(parents=True)
    text = json.dumps({**FULL_V1, "schema": STATE_SCHEMA + 1}, indent=2) + "\n"
    path.write_text(text, encoding="utf-8")
    assert project.run("build") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == (
        f"error: {path}: written by a newer pipeline (state schema {STATE_SCHEMA + 1}, "
        f"this one reads up to {STATE_SCHEMA}); upgrade the pipeline"
    )
    assert path.read_text(encoding="utf-8") == text
    assert project.llm.bodies == []


def test_a_warm_build_over_0_1_state_files_redoes_and_rewrites_nothing(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    assert project.run("build") == 0
    for path in (project.output / "data").glob("*.json"):  # turn each into what 0.1 wrote
        record = json.loads(path.read_text(encoding="utf-8"))
        for key in ("cached_prompt_tokens", "reasoning_tokens"):
            del record["usage"][key]
        record["schema"] = 1
        path.write_text(json.dumps(record, ensure_ascii=False, indent=2, sort_keys=True) + "\n")
    before, asked = project.snapshot(), len(project.llm.bodies)
    capsys.readouterr()
    assert project.run("build") == 0
    assert "build: 0 done, 3 skipped" in capsys.readouterr().err
    assert project.snapshot() == before and len(project.llm.bodies) == asked


def test_a_corrupt_state_file_stops_the_build_naming_it_and_changes_nothing(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    """A state file cut short (or a merge conflict in it) is not "no state": taking it for
    absent would pay for a new summary, overwrite the file and call the old detail file
    hand-edited. The build stops before any work (exit 2), naming the file and the remedy."""
    seed_text_cache(project)
    assert project.run("build") == 0
    path = project.output / "data" / f"{LLM}.json"
    path.write_bytes(path.read_bytes()[:300])
    before, asked = project.snapshot(), len(project.llm.bodies)
    capsys.readouterr()
    for args in (("build",), ("build", "--offline"), ("build", "--dry-run"), ("status",)):
        assert project.run(*args) == 2, args
        (line,) = capsys.readouterr().err.strip().splitlines()
        assert line.startswith(
            f"error: output/data/{LLM}.json: unreadable paper state (not JSON, line "
        )
        assert line.endswith(
            "; restore it (git checkout), or summarise the paper again: "
            f"build --only {LLM} --force --take-back"
        )
        assert project.snapshot() == before and len(project.llm.bodies) == asked
    # the remedy it names: that paper alone is summarised again and its files written anew
    assert project.run("build", "--only", LLM, "--force", "--take-back") == 0
    assert len(project.llm.bodies) == asked + 1
    assert json.loads(path.read_text(encoding="utf-8"))["schema"] == STATE_SCHEMA
    assert project.run("build") == 0

"""Save / load of runs: exact round trips, deduplicated snapshots, markers, atomic writes, bad files."""

from __future__ import annotations

import gzip
import io
import json
import os
import sys
import threading
import warnings
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from haystack.components.agents import Agent
from haystack.components.agents.state import State
from haystack.components.generators.chat import MockChatGenerator
from haystack.dataclasses import ChatMessage
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent_nb import Recorder, Run, Uncopyable
from agent_nb.recording.decode import document_to_run
from agent_nb.recording.encode import run_to_document
from agent_nb.recording.file_format import SCHEMA_VERSION
from agent_nb.replay import RunFileError, load_run, save_run
from scenarios import TOOLS, Mark, note, plan_prompt, respond


class Odd:
    """A State value that is not JSON-able."""

    def __repr__(self) -> str:
        return "Odd()"


class PutOdd:
    """after_tool: stores a non-JSON value in a user State key."""

    def run(self, state: State) -> None:
        state.set("blob", Odd())


class Counter:
    """before_llm: a user key with a nested, JSON-able but awkward value."""

    def run(self, state: State) -> None:
        step = state.data.get("step_count", 0)
        state.set("extra", {"step": step, "pair": (step, "x"), 3: "int key", "__msg__": "tag-like key"})


SCHEMA = {"user_profile": {"type": dict}, "blob": {"type": object}, "extra": {"type": dict}}


def agent(hooks: dict[str, list[Any]] | None = None, **kwargs: Any) -> Agent:
    return Agent(
        chat_generator=MockChatGenerator(response_fn=respond),
        tools=list(TOOLS),
        hooks=hooks,
        state_schema=SCHEMA,
        **kwargs,
    )


def assert_same_run(a: Run, b: Run) -> None:
    pd.testing.assert_frame_equal(a.timeline, b.timeline)
    for name in ("run_id", "kind", "parent_id", "fork_step", "label", "generator", "snapshots", "started_at",
                 "started_unix_ns", "duration_ms", "status", "error", "hook_config", "inherited", "inputs",
                 "fingerprint"):  # fmt: skip
        assert getattr(a, name, None) == getattr(b, name, None), name
    assert a.result == b.result
    assert a.step_starts == b.step_starts
    assert a.initial_state == b.initial_state and a.final_state == b.final_state
    for ea, eb in zip(a.events, b.events, strict=True):
        assert ea.before == eb.before and ea.after == eb.after, ea.seq
        assert dict(ea.detail) == dict(eb.detail), ea.seq


@pytest.fixture
def run() -> Run:
    rec = Recorder(agent({"before_run": [Mark()], "before_llm": [note, Counter()], "after_tool": [Mark()]}))
    return rec.run(plan_prompt("add", "mul,fail", "text"), user_profile={"name": "Bob", "langs": ("en", "fr")})


@pytest.mark.parametrize("name", ["run.json", "run.json.gz"])
def test_round_trip_is_exact(tmp_path: Path, run: Run, name: str) -> None:
    path = save_run(run, tmp_path / name)
    assert path == str(tmp_path / name)
    loaded = load_run(path)
    assert_same_run(run, loaded)
    assert loaded.recorder is None
    raw = Path(path).read_bytes()
    assert (raw[:2] == b"\x1f\x8b") == name.endswith(".gz")
    doc = json.loads(gzip.decompress(raw) if name.endswith(".gz") else raw)
    assert doc["format"] == "agent_nb.run" and doc["schema_version"] == SCHEMA_VERSION

    # shared snapshot values stay shared after loading, as they were recorded
    def shared(r: Run) -> list[bool]:
        return [a.after["messages"] is b.before["messages"] for a, b in zip(r.events, r.events[1:], strict=False)]

    assert shared(run) == shared(loaded) and any(shared(run))


def test_round_trip_of_forks_and_replays_keeps_lineage(tmp_path: Path, run: Run) -> None:
    fork = run.fork(step=1, edit={"user_profile": {"name": "Ada"}})
    again = fork.replay()
    for r in (fork, again):
        loaded = Run.load(r.save(tmp_path / f"{r.run_id}.json"))
        assert_same_run(r, loaded)
    assert load_run(tmp_path / f"{fork.run_id}.json").fork_step == 1


def test_file_stores_each_message_once(tmp_path: Path) -> None:
    rec = Recorder(agent({"before_llm": [Mark(), Mark()], "after_tool": [Mark()]}, max_agent_steps=40))
    prompt = plan_prompt(*(["add"] * 30), "text")
    run = rec.run(prompt)
    assert len(run.events) > 150
    path = run.save(tmp_path / "long.json")
    text = Path(path).read_text()
    assert text.count('"PLAN add;') == 1  # the prompt is in the message table only
    doc = json.loads(text)
    distinct = {id(m) for e in run.events for snap in (e.before, e.after) for m in snap["messages"]}
    distinct |= {id(m) for e in run.events for m in e.detail.get("replies", [])}
    result = getattr(run, "recorded_result", None) or run.result  # what save writes
    distinct |= {id(m) for m in [*run.inputs["messages"], *result["messages"], result["last_message"]]}
    assert len(doc["messages"]) <= len(distinct)
    # a snapshot is a row of references: the file is far smaller than one storing each conversation
    naive = sum(len(json.dumps([m.to_dict() for m in e.before["messages"]])) for e in run.events)
    assert len(text) < naive / 5
    assert max(len(json.dumps(state)) for state in doc["states"]) < 600
    assert_same_run(run, load_run(path))


def test_values_that_are_not_json_come_back_as_markers(tmp_path: Path) -> None:
    rec = Recorder(agent({"after_tool": [PutOdd()]}))
    lock = threading.Lock()
    run = rec.run(plan_prompt("add", "text"), hook_context={"lock": lock, "n": 1})
    loaded = load_run(run.save(tmp_path / "odd.json"))
    blob = loaded.final_state["blob"]
    assert isinstance(blob, Uncopyable) and blob.value_repr == "Odd()" and blob.type_name.endswith("Odd")
    assert isinstance(loaded.result["blob"], Uncopyable)
    assert isinstance(loaded.inputs["kwargs"]["hook_context"]["lock"], Uncopyable)
    pd.testing.assert_frame_equal(run.timeline, loaded.timeline)
    # a replay of the loaded run leaves the unsaved hook_context out, and says so
    with pytest.warns(UserWarning, match="hook_context"):
        again = rec.replay(loaded)
    assert again.usage["llm_calls"] == 0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rec.replay(loaded, agent_kwargs={"hook_context": {"lock": lock}})
    # a fork cannot restore a marker: it must be given a value
    with pytest.raises(ValueError, match=r"State key 'blob' holds a value that was not copied"):
        rec.fork(loaded, step=1)
    fork = rec.fork(loaded, step=1, edit={"blob": "fine"}, agent_kwargs={"hook_context": {}})
    assert fork.status == "ok"


def test_timeline_exports_to_parquet_and_csv(tmp_path: Path, run: Run) -> None:
    loaded = load_run(run.save(tmp_path / "r.json"))
    for r in (run, loaded):
        buf = io.BytesIO()
        r.timeline.to_parquet(buf)
        buf.seek(0)
        back = pd.read_parquet(buf)
        assert [list(c) for c in back["changed"]] == list(r.timeline["changed"])
        assert list(back["summary"]) == list(r.timeline["summary"])
        csv = r.timeline.to_csv(index=False)
        assert pd.read_csv(io.StringIO(csv)).shape == r.timeline.shape


def test_save_is_atomic(tmp_path: Path, run: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "run.json"
    path.write_text("previous content")

    def boom(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        run.save(path)
    monkeypatch.undo()
    assert path.read_text() == "previous content"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.json"]  # no temporary file left behind
    run.save(path)
    assert_same_run(run, load_run(path))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.json"]


def test_a_running_run_cannot_be_saved(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="still running"):
        Run(run_id="live").save(tmp_path / "x.json")


def _doc(run: Run) -> dict[str, Any]:
    from agent_nb.recording.encode import run_to_document

    return json.loads(json.dumps(run_to_document(run)))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "the file is empty"),
        (b"not json at all", "not valid JSON"),
        (b'{"format": "agent_nb.run", "schema_version": 1, "run": {"run_i', "not valid JSON"),
        (b"\xff\xfe\x00garbage", "not valid JSON"),
        (b'{"hello": "world"}', "not an agent_nb run file"),
        (b"[1, 2, 3]", "not an agent_nb run file"),
        (b'{"format": "agent_nb.run", "schema_version": 99, "run": {}}', "newer agent_nb .*schema_version 99"),
        (b'{"format": "agent_nb.run", "schema_version": "1", "run": {}}', "invalid schema_version"),
        (b'{"format": "agent_nb.run", "schema_version": 1}', "no 'run' object"),
    ],
)
def test_bad_files_raise_run_file_error(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    with pytest.raises(RunFileError, match=message) as info:
        load_run(path)
    assert str(path) in str(info.value) and isinstance(info.value, ValueError)


def test_truncated_files_raise_run_file_error(tmp_path: Path, run: Run) -> None:
    for name in ("t.json", "t.json.gz"):
        full = Path(run.save(tmp_path / name)).read_bytes()
        for cut in (len(full) // 2, len(full) - 3):
            Path(tmp_path / name).write_bytes(full[:cut])
            with pytest.raises(RunFileError, match=r"truncated|not valid JSON"):
                load_run(tmp_path / name)


@pytest.mark.parametrize(
    "corrupt",
    [
        lambda d: d["run"]["events"][0].update(kind="party"),
        lambda d: d["run"]["events"][0].update(seq="zero"),
        lambda d: d["run"]["events"][0].pop("status"),
        lambda d: d["run"]["events"][2].update(before=10**6),
        lambda d: d["messages"].__setitem__(0, {"role": "wizard"}),
        lambda d: d["run"].update(kind="séance"),
        lambda d: d["run"].update(events="many"),
        lambda d: d["states"].__setitem__(0, {"messages": {"__msgs__": [10**6]}}),
        lambda d: d["run"].update(warnings="beware"),
        lambda d: d["run"].update(warnings=[{"__repr__": "x"}]),
        lambda d: d["run"].update(warnings=["w"] * 101),
    ],
)
def test_corrupt_documents_raise_run_file_error(tmp_path: Path, run: Run, corrupt: Any) -> None:
    doc = _doc(run)
    corrupt(doc)
    path = tmp_path / "corrupt.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(RunFileError, match=r"corrupt\.json"):
        load_run(path)


def test_loading_never_imports_or_executes_what_a_file_names(tmp_path: Path, run: Run) -> None:
    doc = _doc(run)
    evil = {"__repr__": "x", "__type__": "agent_nb_evil_module.Payload", "__reason__": "r"}
    doc["run"]["result"]["payload"] = evil
    doc["run"]["inputs"]["kwargs"]["callable"] = {"type": "os.system", "init_parameters": {"command": "touch pwned"}}
    path = tmp_path / "evil.json"
    path.write_text(json.dumps(doc))
    loaded = load_run(path)
    assert "agent_nb_evil_module" not in sys.modules
    assert isinstance(loaded.result["payload"], Uncopyable)
    assert loaded.inputs["kwargs"]["callable"] == {"type": "os.system", "init_parameters": {"command": "touch pwned"}}
    assert not (tmp_path / "pwned").exists()


def test_loaded_run_replays_and_forks_on_a_recorder(tmp_path: Path, run: Run) -> None:
    loaded = load_run(run.save(tmp_path / "r.json.gz"))
    rec = Recorder(agent({"before_run": [Mark()], "before_llm": [note, Counter()], "after_tool": [Mark()]}))
    again = rec.replay(loaded)
    assert again.usage["llm_calls"] == 0 and again.final_answer == run.final_answer
    fork = rec.fork(loaded, step=1, edit={"user_profile": {"name": "Ada"}})
    assert fork.parent_id == run.run_id and fork.result["user_profile"] == {"name": "Ada"}


# ---- property: every random run round-trips exactly -------------------------------------------------------------
@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
@given(
    plan=st.lists(st.sampled_from(["add", "mul", "fail", "add,mul", "text"]), min_size=1, max_size=4),
    points=st.lists(st.sampled_from(["before_run", "before_llm", "before_tool", "after_tool", "on_exit"]), max_size=4),
    gz=st.booleans(),
    snapshots=st.sampled_from(["fast", "deep", "off"]),
)
def test_property_save_load_round_trips_every_run(tmp_path: Path, plan, points, gz, snapshots) -> None:
    hooks: dict[str, list[Any]] = {}
    for point in points:
        hooks.setdefault(point, []).append(note if point != "before_run" else Counter())
    rec = Recorder(agent(hooks), snapshots=snapshots)
    run = rec.run(plan_prompt(*plan), user_profile={"name": "Bob"})
    loaded = load_run(run.save(tmp_path / ("p.json.gz" if gz else "p.json")))
    assert_same_run(run, loaded)


def test_a_message_with_odd_content_round_trips(tmp_path: Path) -> None:
    rec = Recorder(agent())
    msg = ChatMessage.from_user('naïve ☃ \u0000 "quoted" </script>', meta={"k": [1, 2.5, None]})
    run = rec.run([msg])
    loaded = load_run(run.save(tmp_path / "odd.json"))
    assert loaded.inputs["messages"][0] == msg
    assert_same_run(run, loaded)


def test_the_start_clock_and_the_agent_fingerprint_are_saved(tmp_path: Path, run: Run) -> None:
    assert isinstance(run.started_unix_ns, int) and run.started_unix_ns > 1_700_000_000 * 10**9
    run.fingerprint = {"generator": "MockChatGenerator", "tools": ["add", "mul"], "hooks": {"before_llm": ["note"]}}
    loaded = load_run(run.save(tmp_path / "r.json"))
    assert loaded.started_unix_ns == run.started_unix_ns
    assert loaded.fingerprint == run.fingerprint


# ---- determinism and the one digest path ---------------------------------------------------------------------
@pytest.mark.parametrize("name", ["run.json", "run.json.gz"])
def test_the_same_run_saves_to_the_same_bytes_and_a_loaded_run_saves_back_unchanged(
    tmp_path: Path, run: Run, name: str
) -> None:
    first = Path(run.save(tmp_path / f"a-{name}")).read_bytes()
    assert Path(run.save(tmp_path / f"b-{name}")).read_bytes() == first
    loaded = load_run(tmp_path / f"a-{name}")
    assert Path(loaded.save(tmp_path / f"c-{name}")).read_bytes() == first


@pytest.mark.parametrize("snapshots", ["fast", "deep", "off"])
def test_saved_input_digests_are_the_ones_a_replay_keys_by(tmp_path: Path, snapshots: str) -> None:
    from agent_nb.recording.digest import llm_digest

    rec = Recorder(agent({"before_llm": [note]}, max_agent_steps=30), snapshots=snapshots)
    run = rec.run(plan_prompt(*(["add"] * 12), "text"))
    doc = json.loads(Path(run.save(tmp_path / "r.json")).read_bytes())
    stored = [row["detail"]["input_digest"] for row in doc["run"]["events"] if row["kind"] == "llm"]
    saved = [doc["values"][d["__ref__"]] if isinstance(d, dict) else d for d in stored]  # long strings are interned
    fresh = [
        llm_digest(list(e.detail["input_messages"]), e.detail["tool_names"]) for e in run.events if e.kind == "llm"
    ]
    assert saved == fresh and len(set(saved)) == len(saved) == 13
    # A replay of the loaded run finds every recorded reply by those digests: no live LLM call.
    again = Recorder(agent({"before_llm": [note]}, max_agent_steps=30)).replay(load_run(tmp_path / "r.json"))
    assert again.usage["llm_calls"] == 0 and again.usage["cached_llm_calls"] == 13
    assert again.final_answer == run.final_answer


@settings(max_examples=40, deadline=None)
@given(chunks=st.lists(st.lists(st.text(max_size=8), max_size=3), min_size=1, max_size=6), tools=st.lists(st.text()))
def test_property_incremental_digests_equal_the_plain_digest(chunks: list[list[str]], tools: list[str]) -> None:
    from agent_nb.recording.digest import InputDigests, llm_digest
    from agent_nb.recording.values import MessageLog

    digests = InputDigests()
    log = None
    for chunk in chunks:
        log = MessageLog(log, tuple(ChatMessage.from_user(text) for text in chunk))
        assert digests.of(log, tools) == llm_digest(list(log), tools) == InputDigests().of(list(log), tools)


def test_the_saved_notebook_runs_load_and_save_back_the_same() -> None:
    folder = Path(__file__).parent.parent / "notebooks" / "data"
    paths = sorted(folder.glob("*.json*"))
    assert paths
    for path in paths:
        run = Run.load(path)
        assert run.events and run.status in ("ok", "stopped", "error"), path.name
        doc = run_to_document(run)
        assert run_to_document(document_to_run(doc)) == doc, path.name

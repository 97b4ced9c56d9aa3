"""Sweeps of prompts x hook configurations on threads, processes and a Dask cluster; failures stay rows."""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import pandas as pd
import pytest
from haystack.components.agents.state import State
from haystack.hooks import hook

from agent_nb import Recorder, demo_agent
from agent_nb.demo.agent import default_hooks
from agent_nb.export import SWEEP_COLUMNS, read_parquet, sweep

PROMPTS = ["What is 2 + 3?", "What is the weather in Paris?", "explode please"]
CONFIGS = {"all on": {}, "no memory": {"before_run": {"MemoryRetrievalHook": False}}}


@hook
def explode(state: State) -> None:
    """Fail the run when the user asks for it (a hook bug that only some prompts hit)."""
    if any("explode" in (m.text or "") for m in state.data["messages"]):
        raise RuntimeError("boom: the hook broke")


def fragile_agent():
    """The demo agent plus a before_llm hook that fails on one prompt (module level: picklable)."""
    hooks = default_hooks()
    hooks["before_llm"].append(explode)
    return demo_agent(hooks=hooks)


def _check(result) -> None:
    table = result.table
    assert list(table.columns) == [c.name for c in SWEEP_COLUMNS]
    assert len(table) == len(PROMPTS) * len(CONFIGS) == len(result.runs)
    assert list(table["prompt"]) == [p for p in PROMPTS for _ in CONFIGS]
    assert list(table["config"]) == list(CONFIGS) * len(PROMPTS)
    failed = table[table["prompt"] == "explode please"]
    assert (failed["status"] == "error").all()
    assert failed["error"].str.contains("boom: the hook broke").all()
    # The failing runs came back too, partial, with their error: nothing lost.
    for i in failed.index:
        assert result.runs[i] is not None and result.runs[i].error and result.runs[i].events
    ok = table[table["prompt"] != "explode please"]
    assert (ok["status"] == "ok").all() and ok["error"].isna().all()
    # Each row is its run: the same facts as recording that run directly.
    for i, row in ok.iterrows():
        run = result.runs[i]
        assert row["run_id"] == run.run_id and row["exit_reason"] == run.exit_reason == "text"
        assert row["steps"] == run.steps and row["answer"] == run.final_answer
        assert row["tokens"] == run.usage["prompt_tokens"] + run.usage["completion_tokens"]
        assert run.label == row["config"]
        direct = Recorder(fragile_agent()).run(row["prompt"], hooks=CONFIGS[row["config"]] or None)
        assert run.final_answer == direct.final_answer and run.usage == direct.usage
    # Switching the memory hook off is visible: its row is skipped, and the weather prompt (which has a
    # relevant memory) costs fewer prompt tokens without it.
    rows = table[table["prompt"] == PROMPTS[1]].set_index("config")
    assert rows.loc["no memory", "prompt_tokens"] < rows.loc["all on", "prompt_tokens"]
    off = result.runs[table.index[(table["prompt"] == PROMPTS[1]) & (table["config"] == "no memory")][0]]
    assert off.hook_config["before_run"]["MemoryRetrievalHook"] is False
    assert [e.status for e in off.events if e.name == "MemoryRetrievalHook"] == ["skipped"]


def test_sweep_on_threads_with_progress():
    seen = []
    result = sweep(fragile_agent, PROMPTS, CONFIGS, progress=lambda done, total, row: seen.append((done, total, row)))
    _check(result)
    assert [d for d, _, _ in seen] == list(range(1, 7)) and {t for _, t, _ in seen} == {6}
    assert sorted(r["run_id"] for _, _, r in seen if r.get("run_id")) == sorted(result.table["run_id"].dropna())


def test_sweep_on_a_caller_executor_and_to_parquet(tmp_path):
    with ThreadPoolExecutor(2) as pool:
        result = sweep(fragile_agent, PROMPTS, CONFIGS, executor=pool, progress=False)
    _check(result)
    result.to_parquet(tmp_path)
    frame = read_parquet(tmp_path)
    assert set(frame["run_id"]) == set(result.table["run_id"])
    assert set(frame["run_label"]) == set(CONFIGS)


def test_sweep_on_processes():
    with ProcessPoolExecutor(2) as pool:
        result = sweep(fragile_agent, PROMPTS, CONFIGS, executor=pool, progress=False)
    _check(result)


def test_process_pool_needs_a_picklable_factory():
    with ProcessPoolExecutor(1) as pool, pytest.raises(TypeError, match="module-level function"):
        sweep(lambda: demo_agent(), PROMPTS, CONFIGS, executor=pool)


def test_sweep_on_a_dask_local_cluster():
    from distributed import Client, LocalCluster

    with (
        LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster,
        Client(cluster) as client,
    ):
        result = sweep(fragile_agent, PROMPTS, CONFIGS, executor=client.get_executor(), progress=False)
    _check(result)


def test_a_failing_factory_or_bad_config_is_a_row_not_a_crash():
    calls = []

    def flaky():
        calls.append(1)
        if len(calls) == 2:
            raise ConnectionError("model server unreachable")
        return demo_agent()

    result = sweep(flaky, ["What is 2 + 3?"] * 3, [{}], executor=ThreadPoolExecutor(1), progress=False)
    assert list(result.table["status"]) == ["ok", "error", "ok"]
    assert result.table.loc[1, "error"] == "ConnectionError: model server unreachable"
    assert result.runs[1] is None and pd.isna(result.table.loc[1, "run_id"])
    assert len(result.failed) == 1 and len(result.ok) == 2

    bad = sweep(demo_agent, ["What is 2 + 3?"], [{"on_exit": {"NoSuchHook": False}}], progress=False)
    assert "NoSuchHook" in bad.table.loc[0, "error"]


def test_bad_arguments_are_named():
    with pytest.raises(TypeError, match=r"prompts\[1\] is a int"):
        sweep(demo_agent, ["ok", 3], [{}])
    with pytest.raises(TypeError, match="must map hook points"):
        sweep(demo_agent, ["ok"], [{"on_exit": True}])
    with pytest.raises(ValueError, match="hook_configs is empty"):
        sweep(demo_agent, ["ok"], [])


def test_demo_notes_are_per_run_so_replays_and_sweeps_do_not_depend_on_history(tmp_path):
    from haystack.dataclasses import ChatMessage, ToolCall

    from agent_nb import Run
    from agent_nb.demo.tools import run_notes, save_note

    rec = Recorder(demo_agent())
    saved = rec.run("What is 2 + 3? Then save a note of it.")
    path = saved.save(str(tmp_path / "notes.json"))
    # The process goes on saving other notes, inside and outside recorded runs.
    other = rec.run("Save a note that the sky is blue.")
    save_note.invoke(text="outside any run")
    assert run_notes(saved) == ["of it"] and run_notes(other) == ["the sky is blue"]
    assert "saved note #1" in other.final_answer

    again = Recorder(demo_agent()).replay(Run.load(path))
    assert (
        again.error is None and again.final_answer == saved.final_answer == "2 + 3 = 5. I saved a note (saved note #1)."
    )
    assert again.usage["llm_calls"] == 0  # every reply served from the recording: no divergence

    # A fork continues its parent's numbering: the note saved before the fork step is already in its conversation.
    reply = ChatMessage.from_assistant(
        tool_calls=[ToolCall(tool_name="save_note", arguments={"text": "more"}, id="c1")]
    )
    fork = saved.fork(step=1, reply=reply)
    tool = next(e for e in fork.events if e.kind == "tool")
    assert tool.detail["result"] == "saved note #2"
    assert run_notes(fork) == ["of it", "more"]

    # Sweep rows of note-saving prompts are the same whatever ran before them.
    prompts = ["Save a note that A.", "Save a note that B."]
    result = sweep(demo_agent, prompts, [{}], executor=ThreadPoolExecutor(1), progress=False)
    assert all("saved note #1" in answer for answer in result.table["answer"])

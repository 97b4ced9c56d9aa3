"""compare(a, b): alignment by (step, kind, hook_point, name, occurrence), first divergence, forks."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest
from haystack.components.agents import Agent
from haystack.components.agents.state import State
from haystack.components.generators.chat import MockChatGenerator
from haystack.dataclasses import ChatMessage, ToolCall

from agent_nb import Recorder, Run, compare
from agent_nb.recording import TIMELINE_SCHEMA, Event
from agent_nb.replay.compare import COMPARE_DTYPES, COMPARE_SCHEMA, merge_keyed
from scenarios import TOOLS, Mark, plan_prompt, respond

COLUMNS = [
    "step",
    "kind",
    "hook_point",
    "name",
    "occurrence",
    "seq_a",
    "seq_b",
    "status_a",
    "status_b",
    "summary_a",
    "summary_b",
    "duration_ms_a",
    "duration_ms_b",
    "same",
    "first_divergence",
    "differs",
]


class Note:
    """before_llm: appends a system note from step `at` on."""

    def __init__(self, at: int = 0) -> None:
        self.at = at

    def run(self, state: State) -> None:
        if state.data.get("step_count", 0) >= self.at:
            state.set("messages", [ChatMessage.from_system("note")])


def recorder(hooks: dict[str, list[Any]] | None = None) -> Recorder:
    gen = MockChatGenerator(response_fn=respond)
    return Recorder(Agent(chat_generator=gen, tools=list(TOOLS), hooks=hooks, state_schema={"score": {"type": int}}))


@pytest.fixture
def rec() -> Recorder:
    return recorder({"before_run": [Mark()], "before_llm": [Note(at=1)], "after_tool": [Mark()]})


@pytest.fixture
def run(rec: Recorder) -> Run:
    return rec.run(plan_prompt("add", "add,add", "mul", "text"))


def test_columns_dtypes_and_an_identical_replay(run: Run) -> None:
    df = compare(run, run.replay())
    assert list(df.columns) == COLUMNS
    assert {c: str(df[c].dtype) for c in COLUMNS} == {
        c: str(pd.Series([], dtype=d).dtype) for c, d in COMPARE_DTYPES.items()
    }
    assert len(df) == len(run.events)
    assert df["same"].all() and not df["first_divergence"].any()
    assert df.attrs["first_divergence"] is None and df.attrs["a"] == run.run_id
    assert set(df.query("kind == 'llm'")["status_b"]) == {"cached"}  # cached counts as ok
    assert list(df["seq_a"]) == list(range(len(run.events)))


def test_the_frame_is_built_from_its_schema_and_shares_the_timelines_columns(run: Run) -> None:
    df = compare(run, run.fork(step=1, edit={"score": 3}))
    assert list(df.columns) == [c.name for c in COMPARE_SCHEMA]
    assert {c: df[c].dtype for c in df.columns} == {c.name: pd.Series([], dtype=c.dtype).dtype for c in COMPARE_SCHEMA}
    # The alignment key is the timeline's own columns: same dtype, label and description.
    timeline = {c.name: c for c in TIMELINE_SCHEMA}
    for col in COMPARE_SCHEMA[:4]:
        assert col == timeline[col.name]
        assert df[col.name].dtype == run.timeline[col.name].dtype
    assert {c.name: c.label for c in COMPARE_SCHEMA}["summary_b"] == "B summary"
    assert all(c.description and c.width > 0 for c in COMPARE_SCHEMA)
    # Each run's side is nullable: the fork has no rows of its own before step 1 (`inherited` there).
    assert df["seq_b"].isna().any() and "inherited" in set(df["status_b"].dropna())


def test_summaries_with_lone_surrogates_compare() -> None:
    def reply(messages: list[ChatMessage], tools: Any = None) -> ChatMessage:
        return ChatMessage.from_assistant(f"{messages[-1].text}: report\udcff.txt")

    rec = Recorder(Agent(chat_generator=MockChatGenerator(response_fn=reply)))
    a, b = rec.run("files?"), rec.run("files, please?")
    df = compare(a, b)
    assert "report\\udcff.txt" in " ".join(df["summary_a"].dropna())
    assert df["first_divergence"].sum() == 1


def test_occurrence_counts_repeats_within_a_step(run: Run) -> None:
    df = compare(run, run)
    adds = df[(df["step"] == 1) & (df["kind"] == "tool")]
    assert list(adds["name"]) == ["add", "add"] and list(adds["occurrence"]) == [0, 1]
    assert df["same"].all()


def test_hook_ablation_marks_the_first_divergence_once(run: Run) -> None:
    ablation = run.replay(hooks={"before_llm": {"Note": False}})
    df = compare(run, ablation)
    assert df["first_divergence"].sum() == 1
    first = df[df["first_divergence"]].iloc[0]
    assert (first["step"], first["kind"], first["name"]) == (0, "hook", "Note")  # it ran (no change), now off
    assert (first["status_a"], first["status_b"]) == ("ok", "skipped")
    info = df.attrs["first_divergence"]
    assert info["reason"] == "status differs: 'ok' vs 'skipped'" and info["seq_a"] == first["seq_a"]
    assert info["field"] == first["differs"] == "status"
    # rows before it agree; the LLM call it fed differs only in being live, not in what it said
    assert df.loc[: info["row"] - 1, "same"].all()


def test_fork_rows_start_at_the_fork_step_and_inherit_the_rest(run: Run) -> None:
    fork = run.fork(step=2, reply=ChatMessage.from_assistant(tool_calls=[ToolCall("mul", {"a": 6, "b": 7})]))
    df = compare(run, fork)
    before = df[(df["step"] < 2) | (df["hook_point"] == "before_run")]
    assert before["same"].all()
    assert set(before["status_b"]) == {"inherited", "skipped"}  # before_run hooks are switched off in forks
    assert before["seq_b"].isna().sum() == (before["status_b"] == "inherited").sum()
    info = df.attrs["first_divergence"]
    assert (info["step"], info["kind"]) == (2, "llm")
    assert info["reason"] == "reply differs: 'assistant: mul(a=4, b=5)' vs 'assistant: mul(a=6, b=7)'"
    # the same pair the other way round
    back = compare(fork, run)
    assert set(back[back["step"] < 2]["status_a"]) == {"inherited"}
    assert back.attrs["first_divergence"]["row"] == info["row"]


def test_fork_of_a_fork_against_the_root_is_not_assumed_to_share_history(run: Run) -> None:
    f1 = run.fork(step=1, edit={"score": 1})
    f2 = f1.fork(step=2, edit={"score": 2})
    df = compare(run, f2)
    inherited = df[df["status_b"] == "inherited"]
    assert len(inherited) and not inherited["same"].any()  # f2 inherits from f1, not from run
    reason = df.attrs["first_divergence"]["reason"]
    assert (
        reason
        == f"history {f2.run_id} inherited from {f1.run_id} (it resumed at step 2), not from {run.run_id}: not compared"
    )
    direct = compare(f1, f2)
    step1 = direct[direct["step"] == 1]
    assert step1["status_b"].eq("inherited").all() and step1["same"].all()  # f2 inherited these from f1


def test_unrelated_runs_align_what_they_share(rec: Recorder) -> None:
    a = rec.run(plan_prompt("add", "text"))
    b = rec.run(plan_prompt("mul", "text"))
    df = compare(a, b)
    tools = df[df["kind"] == "tool"]
    assert list(zip(tools["name"], tools["seq_a"].notna(), tools["seq_b"].notna(), strict=True)) == [
        ("add", True, False),
        ("mul", False, True),
    ]
    first = df.attrs["first_divergence"]
    assert (first["step"], first["kind"]) == (0, "llm")
    assert df["status_a"].isna().sum() == 1 and df["status_b"].isna().sum() == 1


def test_a_longer_run_shows_its_extra_rows_after_the_shared_ones(rec: Recorder) -> None:
    short = rec.run(plan_prompt("add", "text"))
    long = rec.run(plan_prompt("add", "add", "text"))
    df = compare(short, long)
    assert df["seq_b"].dropna().is_monotonic_increasing and df["seq_a"].dropna().is_monotonic_increasing
    assert df["seq_a"].isna().any() and not df["seq_b"].isna().any()


def test_merge_keeps_both_orders() -> None:
    def ev(name: str, seq: int) -> Event:
        return Event("r", seq, 0, "hook", "before_llm", name, "ok", 0.0, 0.0)

    from agent_nb.replay.compare import keyed_events

    a = keyed_events([ev("x", 0), ev("shared1", 1), ev("y", 2), ev("shared2", 3)])
    b = keyed_events([ev("shared1", 0), ev("z", 1), ev("shared2", 2), ev("w", 3)])
    merged = [(k[3], ea is not None, eb is not None) for k, ea, eb in merge_keyed(a, b)]
    assert merged == [
        ("x", True, False),
        ("shared1", True, True),
        ("y", True, False),
        ("z", False, True),
        ("shared2", True, True),
        ("w", False, True),
    ]


def test_compare_rejects_non_runs(run: Run) -> None:
    with pytest.raises(TypeError, match="compare needs two Runs"):
        compare(run, run.timeline)  # type: ignore[arg-type]

"""Replay and fork through the public API: cache serving, divergence, edits, lineage, async, properties."""

from __future__ import annotations

import copy
from typing import Any

import pandas as pd
import pytest
from haystack.components.agents import Agent
from haystack.components.agents.state import State
from haystack.components.agents.state.state import replace_values
from haystack.components.generators.chat import MockChatGenerator
from haystack.dataclasses import ChatMessage, ToolCall
from haystack.tools import create_tool_from_function
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent_nb import Recorder, Run
from agent_nb.replay import InvalidEdit, ReplayDivergence, compare, fork_async, own_usage, replay_async
from scenarios import TOOLS, Mark, plan_prompt, respond

# ---- a scripted model whose live calls are counted -------------------------------------------------------------
CALLS = {"n": 0}


def counted(messages: list[ChatMessage], tools: Any = None) -> ChatMessage:
    """The scenarios' scripted model (a pure function of the conversation), counting live calls."""
    CALLS["n"] += 1
    return respond(messages, tools)


SIDE_EFFECTS: list[tuple[int, int]] = []


def _add_with_side_effect(a: int, b: int) -> int:
    """Add, with a side effect (so a test can tell whether the tool ran)."""
    SIDE_EFFECTS.append((a, b))
    return a + b


noisy_add = create_tool_from_function(_add_with_side_effect, name="add")


SCHEMA = {"user_profile": {"type": dict}, "tags": {"type": list[str]}, "score": {"type": int}}


def agent(hooks: dict[str, list[Any]] | None = None, tools: list[Any] | None = None, **kwargs: Any) -> Agent:
    kwargs.setdefault("state_schema", SCHEMA)
    return Agent(
        chat_generator=MockChatGenerator(response_fn=counted),
        tools=list(TOOLS) if tools is None else tools,
        hooks=hooks,
        **kwargs,
    )


# ---- deterministic, stateless hooks (a replay must see the same behaviour) ------------------------------------
class Note:
    """Appends a system note from step `at` on."""

    def __init__(self, text: str = "note", at: int = 0) -> None:
        self.text, self.at = text, at

    def run(self, state: State) -> None:
        if state.data.get("step_count", 0) >= self.at:
            state.set("messages", [ChatMessage.from_system(self.text)])


class StopAt:
    """before_llm: stops the run once the step count reaches `at`."""

    def __init__(self, at: int) -> None:
        self.at = at

    def run(self, state: State) -> None:
        if state.data.get("step_count", 0) >= self.at:
            state.set("stop_run", "stopped_by_hook")


class ContinueOnce:
    """on_exit: asks for one more step, once per run (it reads the conversation, so it is stateless)."""

    def run(self, state: State) -> None:
        if not any(m.text == "keep going" for m in state.data["messages"]):
            state.set("messages", [ChatMessage.from_user("keep going")])
            state.set("continue_run", True)


class Tag:
    """Writes a user State key."""

    def run(self, state: State) -> None:
        state.set("tags", [f"step{state.data.get('step_count', 0)}"])


def rows(run: Run) -> list[tuple[Any, ...]]:
    """(kind, hook_point, name, status) per event, with `cached` read as `ok`."""
    return [
        (e.kind, e.hook_point, e.name, "ok" if e.status == "cached" else e.status, e.step)
        for e in sorted(run.events, key=lambda e: e.seq)
    ]


def normal(result: dict[str, Any] | None) -> dict[str, Any]:
    out = {k: v for k, v in (result or {}).items() if k not in ("messages", "last_message")}
    out["messages"] = [m.to_dict() for m in (result or {}).get("messages", [])]
    return out


def frozen(run: Run) -> dict[str, Any]:
    """A deep copy of everything a replay or fork must never change in its source run."""
    for event in run.events:  # the lazily computed input digest is a memo, not a change: compute it now
        if event.kind == "llm":
            event.detail.get("input_digest")
    return copy.deepcopy(
        {
            "timeline": run.timeline,
            "states": [(e.before, e.after) for e in run.events],
            "details": [dict(e.detail) for e in run.events],
            "step_starts": run.step_starts,
            "initial": run.initial_state,
            "final": run.final_state,
            "result": normal(run.result),
            "inputs": run.inputs,
            "hook_config": run.hook_config,
        }
    )


def assert_unchanged(run: Run, before: dict[str, Any]) -> None:
    after = frozen(run)
    pd.testing.assert_frame_equal(before.pop("timeline"), after.pop("timeline"))
    assert before == after


@pytest.fixture(autouse=True)
def _reset() -> None:
    CALLS["n"] = 0
    SIDE_EFFECTS.clear()


# ---- replay --------------------------------------------------------------------------------------------------
def test_unedited_replay_serves_every_reply_from_the_recording() -> None:
    rec = Recorder(agent({"before_run": [Mark()], "before_llm": [Note()], "after_tool": [Tag()]}))
    run = rec.run(plan_prompt("add", "mul,add", "text"), user_profile={"name": "Bob"})
    assert CALLS["n"] == 3
    CALLS["n"] = 0
    again = run.replay()
    assert CALLS["n"] == 0
    assert again.usage["llm_calls"] == 0 and again.usage["cached_llm_calls"] == 3
    assert set(again.timeline.query("kind == 'llm'")["status"]) == {"cached"}
    assert normal(again.result) == normal(run.result)
    assert rows(again) == rows(run)
    assert (again.kind, again.parent_id, again.fork_step) == ("replay", run.run_id, None)
    assert compare(run, again).attrs["first_divergence"] is None


def test_replay_uses_the_source_runs_hook_configuration_not_the_recorders_current_one() -> None:
    rec = Recorder(agent({"before_llm": [Note()]}))
    run = rec.run(plan_prompt("add", "text"))
    rec.disable("before_llm", "Note")
    added = rec.add_hook("before_llm", Note("added later"), name="late")
    again = run.replay()
    statuses = {(e.hook_point, e.name): e.status for e in again.events if e.kind == "hook"}
    assert statuses == {("before_llm", "Note"): "ok", ("before_llm", added): "skipped"}
    assert CALLS["n"] == 2 and normal(again.result) == normal(run.result)  # 2 = the original run only
    current = run.replay(hooks=rec.hook_config)  # the Recorder's configuration: Note off, late on
    statuses = {(e.hook_point, e.name): e.status for e in current.events if e.kind == "hook"}
    assert statuses == {("before_llm", "Note"): "skipped", ("before_llm", added): "ok"}
    with pytest.raises(KeyError, match="no hook 'nope'"):
        run.replay(hooks={"before_llm": {"nope": False}})


def test_same_llm_input_twice_is_served_in_recorded_order() -> None:
    """A cycling model answers the same input differently; the replay must give each step its own reply."""

    class Rewind:
        """on_exit: once, rewind the conversation to the user's message and continue (same LLM input again)."""

        def run(self, state: State) -> None:
            if state.data["step_count"] == 1:  # on_exit sees the step already counted
                state.set("messages", state.data["messages"][:1], handler_override=replace_values)
                state.set("continue_run", True)

    gen = MockChatGenerator(responses=["first answer", "second answer"])
    rec = Recorder(Agent(chat_generator=gen, hooks={"on_exit": [Rewind()]}))
    run = rec.run("hello")
    llm = [e for e in run.events if e.kind == "llm"]
    assert [e.summary for e in llm] == ["first answer", "second answer"]
    assert llm[0].detail["input_digest"] == llm[1].detail["input_digest"]
    again = run.replay()
    assert [e.summary for e in again.events if e.kind == "llm"] == ["first answer", "second answer"]
    assert again.usage["llm_calls"] == 0 and again.final_answer == "second answer"


def test_replay_with_cached_tools_has_no_side_effects() -> None:
    rec = Recorder(agent(tools=[noisy_add]))
    run = rec.run(plan_prompt("add", "add", "text"))
    assert len(SIDE_EFFECTS) == 2
    quiet = run.replay(tools="cached")
    assert len(SIDE_EFFECTS) == 2
    assert [e.status for e in quiet.events if e.kind == "tool"] == ["cached", "cached"]
    assert quiet.usage["tool_calls"] == 0 and quiet.usage["llm_calls"] == 0
    assert normal(quiet.result) == normal(run.result)
    live = run.replay()
    assert len(SIDE_EFFECTS) == 4 and [e.status for e in live.events if e.kind == "tool"] == ["ok", "ok"]


def test_cached_tools_replay_recorded_errors_too() -> None:
    rec = Recorder(agent())
    run = rec.run(plan_prompt("fail", "add,fail", "text"))
    quiet = run.replay(tools="cached", on_miss="error")
    tools = [(e.name, e.status, e.error) for e in quiet.events if e.kind == "tool"]
    assert tools == [
        ("fail", "error", "RuntimeError: boom"),
        ("add", "cached", None),
        ("fail", "error", "RuntimeError: boom"),
    ]
    assert quiet.usage["llm_calls"] == 0 and normal(quiet.result) == normal(run.result)
    assert compare(run, quiet).attrs["first_divergence"] is None


# ---- divergence ----------------------------------------------------------------------------------------------
def test_switching_off_a_hook_misses_the_cache_at_the_step_it_acts() -> None:
    rec = Recorder(agent({"before_llm": [Note("from step 1", at=1)]}))
    run = rec.run(plan_prompt("add", "mul", "text"))
    assert CALLS["n"] == 3
    CALLS["n"] = 0
    live = run.replay(hooks={"before_llm": {"Note": False}})  # on_miss="live"
    statuses = [(e.step, e.status) for e in live.events if e.kind == "llm"]
    assert statuses == [(0, "cached"), (1, "ok"), (2, "ok")]
    assert CALLS["n"] == 2
    CALLS["n"] = 0
    before = frozen(run)
    with pytest.raises(ReplayDivergence) as info:
        run.replay(hooks={"before_llm": {"Note": False}}, on_miss="error")
    exc = info.value
    assert exc.step == 1 and exc.kind == "llm"
    assert exc.expected == next(e for e in run.events if e.kind == "llm" and e.step == 1).detail["input_digest"]
    assert exc.actual != exc.expected
    assert 'system "from step 1"' in exc.explanation and "missing" in exc.explanation
    assert CALLS["n"] == 0  # stopped before any live call
    partial = exc.run
    assert partial is rec.runs[-1] and partial.status == "error" and "ReplayDivergence" in partial.error
    assert [(e.step, e.status) for e in partial.events if e.kind == "llm"] == [(0, "cached"), (1, "error")]
    assert partial.usage["llm_calls"] == 0  # the row that diverged never reached the generator
    assert_unchanged(run, before)


def test_divergence_names_offered_tools_that_differ() -> None:
    rec = Recorder(agent())
    run = rec.run(plan_prompt("add", "text"))
    with pytest.raises(ReplayDivergence, match=r"offered tools differ.*no longer offered: \['fail', 'finish'\]"):
        rec.replay(run, agent_kwargs={"tools": ["add", "mul"]}, on_miss="error")


def test_cached_tool_miss_raises_under_on_miss_error_and_runs_live_otherwise() -> None:
    rec = Recorder(agent())
    run = rec.run(plan_prompt("add", "text"))
    new_call = ChatMessage.from_assistant(tool_calls=[ToolCall("add", {"a": 40, "b": 2}, id="x")])
    with pytest.raises(ReplayDivergence) as info:
        run.fork(step=0, reply=new_call, tools="cached", on_miss="error")
    assert info.value.kind == "tool" and info.value.step == 0
    assert "add(a=40, b=2)" in str(info.value) and "add(a=2, b=3)" in str(info.value)
    failed = info.value.run
    assert failed.status == "error" and [e.status for e in failed.events if e.kind == "tool"] == ["error"]
    live = run.fork(step=0, reply=new_call, tools="cached")
    tool_row = next(e for e in live.events if e.kind == "tool")
    assert tool_row.status == "ok" and tool_row.detail["result"] == 42


# ---- forks ---------------------------------------------------------------------------------------------------
def test_unedited_fork_at_every_step_reproduces_the_run() -> None:
    rec = Recorder(agent({"before_run": [Note("memory")], "before_llm": [Mark()], "after_tool": [Tag()]}))
    run = rec.run(plan_prompt("add", "mul", "add,mul", "text"), user_profile={"name": "Bob"})
    assert sorted(run.step_starts) == [0, 1, 2, 3]
    before = frozen(run)
    CALLS["n"] = 0
    for step in sorted(run.step_starts):
        fork = run.fork(step=step)
        assert CALLS["n"] == 0, step
        assert (fork.kind, fork.parent_id, fork.fork_step) == ("fork", run.run_id, step)
        assert normal(fork.result) == normal(run.result)
        assert min(e.step for e in fork.events if e.step is not None) == step
        # before_run hooks are off in forks (their effect is in the snapshot) and show as skipped
        assert [e.status for e in fork.events if e.hook_point == "before_run"] == ["skipped"]
        assert fork.initial_state["step_count"] == step
        assert compare(run, fork).attrs["first_divergence"] is None
        # own cost vs inherited (pitfall 3)
        assert fork.inherited["step"] == step
        assert own_usage(fork)["steps"] == 4 - step
    assert_unchanged(run, before)


def test_edited_tool_result_changes_the_final_answer() -> None:
    rec = Recorder(agent())
    run = rec.run(plan_prompt("add", "mul", "text"))
    assert run.final_answer == "answer after 2 steps: ['5', '20']"
    before = frozen(run)

    def edit(state: dict[str, Any]) -> None:
        msgs = state["messages"]
        i = next(i for i, m in enumerate(msgs) if m.tool_call_result is not None)
        origin = msgs[i].tool_call_result.origin
        msgs[i] = ChatMessage.from_tool("99", origin=origin)  # mutate the private copy in place

    fork = run.fork(step=1, edit=edit)
    assert fork.final_answer == "answer after 2 steps: ['99', '20']"
    llm = [(e.step, e.status) for e in fork.events if e.kind == "llm"]
    assert llm == [(1, "ok"), (2, "ok")]  # the edited conversation is not in the recording
    assert_unchanged(run, before)


def test_reply_edits_tool_call_arguments() -> None:
    rec = Recorder(agent())
    run = rec.run(plan_prompt("add", "text"))
    call = ToolCall("add", {"a": 2, "b": 40}, id="edited")
    fork = run.fork(step=0, reply=ChatMessage.from_assistant(tool_calls=[call]))
    llm0 = next(e for e in fork.events if e.kind == "llm")
    assert llm0.step == 0 and llm0.status == "cached" and llm0.summary == "add(a=2, b=40)"
    tool_row = next(e for e in fork.events if e.kind == "tool")
    assert tool_row.detail["arguments"] == {"a": 2, "b": 40} and tool_row.detail["result"] == 42
    assert tool_row.summary == "add(a=2, b=40) -> 42"
    assert fork.final_answer == "answer after 1 steps: ['42']"
    df = compare(run, fork)
    first = df.attrs["first_divergence"]
    assert (first["step"], first["kind"]) == (0, "llm")


def test_mapping_edit_of_a_user_key_and_the_messages() -> None:
    rec = Recorder(agent({"before_llm": [Mark()]}))
    run = rec.run(plan_prompt("add", "text"), user_profile={"name": "Bob"})
    fork = run.fork(step=1, edit={"user_profile": {"name": "Ada"}, "score": 3})
    assert fork.result["user_profile"] == {"name": "Ada"} and fork.result["score"] == 3
    assert run.result["user_profile"] == {"name": "Bob"}
    extra = ChatMessage.from_user("Use Celsius")
    fork2 = run.fork(step=1, edit={"messages": [*run.state_at_step(1)["messages"], extra]})
    assert extra in fork2.result["messages"]
    # a function may also return a new State; any other return value is an error, never silently ignored
    fork3 = run.fork(step=1, edit=lambda s: {**s, "tags": ["x"]})
    assert fork3.result["tags"] == ["x"]
    with pytest.raises(InvalidEdit, match="returned"):
        run.fork(step=1, edit=lambda s: s["messages"].pop())  # returns the popped message


def test_forks_of_forks_keep_lineage() -> None:
    rec = Recorder(agent())
    run = rec.run(plan_prompt("add", "mul", "add", "text"))
    f1 = run.fork(step=1, edit={"score": 1})
    f2 = f1.fork(step=2, edit={"score": 2})
    again = f2.replay()
    tree = rec.tree.set_index("run_id")
    assert tree.loc[f1.run_id, "parent_id"] == run.run_id and tree.loc[f1.run_id, "depth"] == 1
    assert tree.loc[f2.run_id, "parent_id"] == f1.run_id and tree.loc[f2.run_id, "fork_step"] == 2
    assert tree.loc[f2.run_id, "depth"] == 2 and tree.loc[again.run_id, "depth"] == 3
    assert f2.result["score"] == 2 and normal(again.result) == normal(f2.result)
    assert again.usage["llm_calls"] == 0  # a replay of a fork resumes from the fork's restored State
    with pytest.raises(InvalidEdit, match=r"has no step 0; valid steps: 1\.\.3"):
        f1.fork(step=0)


def test_max_agent_steps_is_absolute_in_a_fork() -> None:
    rec = Recorder(agent(max_agent_steps=3))
    run = rec.run(plan_prompt("add", "add", "add", "add", "text"))
    assert run.exit_reason == "max_agent_steps" and run.result["step_count"] == 3
    fork = run.fork(step=2)
    assert fork.exit_reason == "max_agent_steps" and fork.result["step_count"] == 3
    assert sum(e.kind == "llm" for e in fork.events) == 1


def test_fork_reports_its_own_cost_apart_from_the_inherited_one() -> None:
    rec = Recorder(agent())
    run = rec.run(plan_prompt("add", "mul", "text"))
    fork = run.fork(step=1, edit={"score": 5})  # same LLM input: served from the recording
    live = run.fork(step=1, edit=lambda s: s["messages"].append(ChatMessage.from_user("again")))
    assert fork.inherited["tool_call_counts"] == run.step_starts[1]["tool_call_counts"]
    assert fork.inherited["token_usage"] == run.step_starts[1]["token_usage"]
    own = own_usage(live)
    assert own["tool_call_counts"] == {"add": 0, "mul": 1, "fail": 0, "finish": 0}
    assert own["token_usage"]["prompt_tokens"] == live.usage["prompt_tokens"]
    assert live.usage["llm_calls"] == 2 and fork.usage["llm_calls"] == 0


def test_fork_refuses_to_run_before_run_hooks() -> None:
    rec = Recorder(agent({"before_run": [Mark()]}))
    run = rec.run(plan_prompt("text"))
    with pytest.raises(ValueError, match="before_run hook 'Mark' cannot run in a fork"):
        run.fork(step=0, hooks={"before_run": {"Mark": True}})


# ---- bad edits -------------------------------------------------------------------------------------------------
def _raise_value_error(state: dict[str, Any]) -> None:
    raise ValueError("nope")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"step": 7}, r"has no step 7; valid steps: 0, 1"),
        ({"step": "1"}, r"step must be an int"),
        ({"step": 1, "edit": {"no_such_key": 1}}, r"unknown State key 'no_such_key'; editable keys: .*user_profile"),
        ({"step": 1, "edit": {"stop_run": "x"}}, r"'stop_run' is managed by the Agent or the fork"),
        ({"step": 1, "edit": {"tools": []}}, r"'tools' is managed"),
        ({"step": 1, "edit": {"user_profile": "Ada"}}, r"'user_profile' must be a dict, got str 'Ada'"),
        ({"step": 1, "edit": {"tags": "x"}}, r"'tags' must be a list\[str\], got str"),
        ({"step": 1, "edit": {"messages": ["hi"]}}, r"messages\[0\] is a str, not a ChatMessage"),
        ({"step": 1, "edit": {"messages": "hi"}}, r"messages must be a list of ChatMessage"),
        ({"step": 1, "edit": lambda s: s["messages"].append("hi")}, r"messages\[\d+\] is a str, not a ChatMessage"),
        ({"step": 1, "edit": _raise_value_error}, r"edit function raised ValueError: nope"),
        ({"step": 1, "edit": lambda s: s.pop("messages") and None}, r"removed State key 'messages'"),
        ({"step": 1, "edit": lambda s: {"messages": [], "x": 1}}, r"unknown State key 'x'"),
        ({"step": 1, "edit": lambda s: s.update(continue_run=True)}, r"'continue_run' is managed"),
        ({"step": 1, "edit": 42}, r"edit must be a dict of State keys to values or a function"),
        ({"step": 1, "reply": "add 2 and 40"}, r"reply must be a ChatMessage or a list of them, got str"),
        ({"step": 1, "reply": [ChatMessage.from_assistant("x"), 3]}, r"reply\[1\] is a int"),
        ({"step": 1, "reply": ChatMessage.from_user("x")}, r"must be an assistant message"),
    ],
)
def test_bad_edits_fail_before_anything_runs(kwargs: dict[str, Any], message: str) -> None:
    rec = Recorder(agent({"before_llm": [Mark()]}))
    run = rec.run(plan_prompt("add", "text"), user_profile={"name": "Bob"})
    before = frozen(run)
    n_runs, calls = len(rec.runs), CALLS["n"]
    with pytest.raises(InvalidEdit, match=message) as info:
        run.fork(**kwargs)
    assert isinstance(info.value, ValueError) and isinstance(info.value, TypeError)
    assert len(rec.runs) == n_runs and CALLS["n"] == calls  # nothing ran
    assert_unchanged(run, before)


def test_the_source_run_never_changes_when_an_edit_mutates_what_it_is_given() -> None:
    rec = Recorder(agent({"after_tool": [Tag()]}))
    run = rec.run(plan_prompt("add", "mul", "text"), user_profile={"name": "Bob", "prefs": ["short"]})
    before = frozen(run)

    def vandal(state: dict[str, Any]) -> None:
        state["messages"].append(ChatMessage.from_user("more"))
        state["messages"].pop(0)
        state["user_profile"]["name"] = "Eve"
        state["user_profile"]["prefs"].append("long")
        state["token_usage"]["prompt_tokens"] = 10**6
        state["tool_call_counts"]["add"] = 99
        state["tags"].append("vandal")

    run.fork(step=1, edit=vandal)
    run.fork(step=2, edit=vandal, tools="cached")
    run.replay(hooks={"after_tool": {"Tag": False}})
    run.fork(step=1, reply=ChatMessage.from_assistant(tool_calls=[ToolCall("mul", {"a": 1, "b": 1})]))
    assert_unchanged(run, before)


# ---- loaded runs, recorders ------------------------------------------------------------------------------------
def test_a_run_without_a_recorder_asks_for_one(tmp_path) -> None:
    rec = Recorder(agent())
    run = rec.run(plan_prompt("add", "text"))
    path = run.save(tmp_path / "run.json")
    loaded = Run.load(path)
    with pytest.raises(ValueError, match=r"rec\.replay\(run\)"):
        loaded.replay()
    with pytest.raises(ValueError, match=r"rec\.fork\(run, step=\.\.\.\)"):
        loaded.fork(step=1)
    CALLS["n"] = 0
    again = rec.replay(loaded)
    fork = rec.fork(loaded, step=1)
    assert CALLS["n"] == 0
    assert normal(again.result) == normal(run.result) == normal(fork.result)
    assert again.parent_id == run.run_id and fork.fork_step == 1


# ---- async ---------------------------------------------------------------------------------------------------
async def test_async_replay_and_fork() -> None:
    rec = Recorder(agent({"before_llm": [Note("from step 1", at=1)], "on_exit": [ContinueOnce()]}))
    run = await rec.run_async(plan_prompt("add", "mul", "text"))
    CALLS["n"] = 0
    again = await run.replay_async()
    assert CALLS["n"] == 0 and normal(again.result) == normal(run.result) and rows(again) == rows(run)
    fork = await fork_async(run, 1, edit={"score": 1}, tools="cached")
    assert CALLS["n"] == 0 and fork.result["score"] == 1
    assert [e.status for e in fork.events if e.kind == "tool"] == ["cached"]
    call = ChatMessage.from_assistant(tool_calls=[ToolCall("add", {"a": 1, "b": 1})])
    edited = await run.fork_async(step=0, reply=call)
    assert next(e for e in edited.events if e.kind == "tool").detail["result"] == 2
    with pytest.raises(ReplayDivergence) as info:
        await replay_async(run, hooks={"before_llm": {"Note": False}}, on_miss="error")
    assert info.value.step == 1
    with pytest.raises(ReplayDivergence) as info:
        await run.fork_async(step=0, reply=call, tools="cached", on_miss="error")
    assert info.value.kind == "tool"


def test_sync_replay_of_an_async_run_matches() -> None:
    import asyncio

    rec = Recorder(agent({"on_exit": [ContinueOnce()]}))
    run = asyncio.run(rec.run_async(plan_prompt("add", "text")))
    again = run.replay()
    assert again.usage["llm_calls"] == 0 and normal(again.result) == normal(run.result)


# ---- property: random scripted scenarios replay exactly, with zero live LLM calls -------------------------------
POINTS = ("before_run", "before_llm", "before_tool", "after_tool", "on_exit", "after_run")
hook_factories = st.sampled_from(
    [
        lambda: Mark(),
        lambda: Note("n"),
        lambda: Note("late", at=1),
        lambda: Tag(),
        lambda: ContinueOnce(),
        lambda: StopAt(2),
    ]
)
plans = st.lists(st.sampled_from(["add", "mul", "fail", "add,mul", "add,add", "text"]), min_size=1, max_size=5)
layouts = st.lists(st.tuples(st.sampled_from(POINTS), hook_factories), max_size=5)


def _hooks(layout: list[tuple[str, Any]]) -> dict[str, list[Any]]:
    hooks: dict[str, list[Any]] = {}
    for point, factory in layout:
        hook = factory()
        if point != "on_exit" and isinstance(hook, ContinueOnce):
            continue  # continue_run is read only after on_exit
        if point != "before_llm" and isinstance(hook, StopAt):
            hook = Mark()
        hooks.setdefault(point, []).append(hook)
    return hooks


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    plan=plans,
    layout=layouts,
    max_steps=st.integers(min_value=1, max_value=6),
    tools=st.sampled_from(["live", "cached"]),
    use_async=st.booleans(),
)
def test_property_replay_reproduces_random_runs_without_live_calls(plan, layout, max_steps, tools, use_async) -> None:
    import asyncio

    rec = Recorder(agent(_hooks(layout), max_agent_steps=max_steps))
    run = rec.run(plan_prompt(*plan))
    before = frozen(run)
    CALLS["n"] = 0
    options = {"tools": tools, "on_miss": "error"}  # an unedited replay never misses the recording
    again = asyncio.run(run.replay_async(**options)) if use_async else run.replay(**options)
    assert CALLS["n"] == 0
    assert normal(again.result) == normal(run.result)
    assert rows(again) == rows(run)
    assert again.usage["llm_calls"] == 0
    if tools == "cached":  # results served; a call that raised raises again (its row reads error)
        assert all(e.status == ("error" if e.name == "fail" else "cached") for e in again.events if e.kind == "tool")
    for step in sorted(run.step_starts)[:2]:
        fork = run.fork(step=step, tools=tools)
        assert CALLS["n"] == 0 and normal(fork.result) == normal(run.result)
    assert_unchanged(run, before)


# ---- package exports -------------------------------------------------------------------------------------------
def test_top_level_exports_work_in_a_fresh_interpreter() -> None:
    import subprocess
    import sys

    code = (
        "from agent_nb import compare, ReplayDivergence, InvalidEdit, RunFileError, Recorder, Run\n"
        "import agent_nb.replay\n"
        "from agent_nb.replay import replay, fork, save_run, load_run, replay_async, fork_async\n"
        "assert callable(compare) and callable(replay) and callable(fork) and issubclass(InvalidEdit, ValueError)\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-2000:]


def test_a_loaded_run_replays_without_executing_its_tool_calls_unless_asked(tmp_path) -> None:
    rec = Recorder(agent(tools=[noisy_add]))
    run = rec.run(plan_prompt("add", "add", "text"))
    loaded = Run.load(run.save(tmp_path / "run.json"))
    SIDE_EFFECTS.clear()
    again = rec.replay(loaded)  # a file from someone else: its tool results come from the file
    assert SIDE_EFFECTS == [] and [e.status for e in again.events if e.kind == "tool"] == ["cached", "cached"]
    other = ChatMessage.from_assistant(tool_calls=[ToolCall("add", {"a": 7, "b": 8}, id="x")])
    with pytest.raises(ReplayDivergence, match="tools='live'"):  # a call the file does not hold is refused
        rec.fork(loaded, step=0, reply=other)
    assert SIDE_EFFECTS == []
    live = rec.replay(loaded, tools="live")
    assert len(SIDE_EFFECTS) == 2 and live.status == "ok"

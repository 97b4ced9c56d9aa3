"""Scenario tests of the recorder: every sequence of hook points haystack's Agent runs, sync and async, row by row."""

from __future__ import annotations

import asyncio
import threading

import pandas as pd
import pytest
from haystack.dataclasses import ChatMessage

from agent_nb import Recorder, Uncopyable
from agent_nb.recording import TIMELINE_COLUMNS
from scenarios import (
    Boom,
    DropToolCalls,
    Mark,
    SetFlag,
    marks_everywhere,
    note,
    plan_prompt,
    scripted_agent,
)


def compact(run) -> list[str]:
    """One token per row: hook:<point>, llm, tool:<name>, with :skipped / :error / :cached suffixes."""
    out = []
    for e in run.events:
        token = f"hook:{e.hook_point}" if e.kind == "hook" else ("llm" if e.kind == "llm" else f"tool:{e.name}")
        if e.status != "ok":
            token += f":{e.status}"
        out.append(token)
    return out


async def arun(rec, prompt, **kw):
    return await rec.run_async(prompt, **kw)


@pytest.fixture(params=["sync", "async"])
def record(request):
    """Run a recorder sync or async with the same call shape."""

    def go(rec, prompt, **kw):
        if request.param == "sync":
            return rec.run(prompt, **kw)
        return asyncio.run(rec.run_async(prompt, **kw))

    return go


def test_text_only(record):
    run = record(Recorder(scripted_agent(marks_everywhere())), plan_prompt("text"))
    assert compact(run) == ["hook:before_run", "hook:before_llm", "llm", "hook:on_exit", "hook:after_run"]
    assert run.exit_reason == "text" and run.result["step_count"] == 1
    assert run.timeline["step"].tolist() == [pd.NA, 0, 0, 0, pd.NA]


def test_tool_then_text(record):
    run = record(Recorder(scripted_agent(marks_everywhere())), plan_prompt("add", "text"))
    assert compact(run) == [
        "hook:before_run", "hook:before_llm", "llm", "hook:before_tool", "tool:add", "hook:after_tool",
        "hook:before_llm", "llm", "hook:on_exit", "hook:after_run",
    ]  # fmt: skip
    tool_row = run.timeline.iloc[4]
    assert tool_row["summary"] == "add(a=2, b=3) -> 5"
    # The tool added its result message; counting the call and the step is the Agent's own bookkeeping.
    assert tool_row["messages_added"] == 1 and tool_row["changed"] == ["messages"]
    assert "tool_call_counts" in tool_row["agent_changed"]
    llm = run.timeline[run.timeline.kind == "llm"]
    assert llm["prompt_tokens"].tolist() == [13, 19] and llm["completion_tokens"].tolist() == [5, 5]
    assert llm["summary"].iloc[0] == "add(a=2, b=3)"
    assert llm["step"].tolist() == [0, 1]


def test_parallel_tools_each_add_their_own_result(record):
    run = record(Recorder(scripted_agent()), plan_prompt("add,mul", "text"))
    tools = [e for e in run.events if e.kind == "tool"]
    assert [e.name for e in tools] == ["add", "mul"]
    assert [e.messages_added for e in tools] == [1, 1]
    assert run.diff(tools[0].seq).messages_added[0].text == "add -> 5"
    assert run.diff(tools[1].seq).messages_added[0].text == "mul -> 20"


def test_tool_exit_condition(record):
    agent = scripted_agent(marks_everywhere(), exit_conditions=["finish"])
    run = record(Recorder(agent), plan_prompt("finish", "text"))
    assert compact(run)[-3:] == ["hook:after_tool", "hook:on_exit", "hook:after_run"]
    assert run.exit_reason == "finish"


def test_on_exit_continue_run_loop(record):
    hooks = {"on_exit": [SetFlag("continue_run", True, times=1)]}
    run = record(Recorder(scripted_agent(hooks)), plan_prompt("text"))
    assert compact(run) == ["llm", "hook:on_exit", "llm", "hook:on_exit"]
    first_exit = run.timeline.iloc[1]
    assert first_exit["flow"] == "continue_run" and first_exit["messages_added"] == 1
    assert pd.isna(run.timeline.iloc[3]["flow"])
    assert run.timeline["step"].tolist() == [0, 0, 1, 1]


def test_stop_run_from_before_llm(record):
    hooks = {"before_llm": [SetFlag("stop_run", "budget", at=1)], "after_run": [Mark()]}
    run = record(Recorder(scripted_agent(hooks)), plan_prompt("add", "add", "text"))
    assert compact(run) == ["hook:before_llm", "llm", "tool:add", "hook:before_llm", "hook:after_run"]
    assert run.timeline.iloc[3]["flow"] == "stop_run:budget"
    assert run.exit_reason == "budget"


def test_stop_run_from_after_tool_is_honoured_at_next_before_llm(record):
    hooks = {"after_tool": [SetFlag("stop_run", "enough")], "before_llm": [Mark()]}
    run = record(Recorder(scripted_agent(hooks)), plan_prompt("add", "add", "text"))
    assert compact(run) == ["hook:before_llm", "llm", "tool:add", "hook:after_tool", "hook:before_llm"]
    assert run.timeline.iloc[3]["flow"] == "stop_run:enough"
    assert run.exit_reason == "enough"


def test_max_agent_steps(record):
    run = record(Recorder(scripted_agent(marks_everywhere(), max_agent_steps=2)), plan_prompt("add", "add", "add"))
    assert compact(run).count("llm") == 2
    assert "hook:on_exit" not in compact(run) and compact(run)[-1] == "hook:after_run"
    assert run.exit_reason == "max_agent_steps"


def test_max_agent_steps_zero(record):
    run = record(Recorder(scripted_agent(marks_everywhere(), max_agent_steps=0)), plan_prompt("add"))
    assert compact(run) == ["hook:before_run", "hook:after_run"]


def test_before_tool_removing_the_tool_call(record):
    hooks = {"before_tool": [DropToolCalls()], "after_tool": [Mark()]}
    run = record(Recorder(scripted_agent(hooks, max_agent_steps=1)), plan_prompt("add", "text"))
    assert compact(run) == ["llm", "hook:before_tool", "hook:after_tool"]
    drop = run.diff(1)
    assert len(drop.messages_replaced) == 1 and drop.messages_replaced[0][1].text == "tool calls removed"
    assert run.events[1].summary == '~assistant: "tool calls removed"'


def test_hook_that_raises_reaches_caller_and_partial_run_is_kept(record):
    rec = Recorder(scripted_agent({"after_tool": [Boom()], "after_run": [Mark()]}))
    with pytest.raises(ValueError, match="hook exploded") as info:
        record(rec, plan_prompt("add", "text"))
    run = rec.last_run
    assert run.status == "error" and run.error == "ValueError: hook exploded"
    assert compact(run) == ["llm", "tool:add", "hook:after_tool:error"]
    assert run.timeline.iloc[-1]["error"] == "ValueError: hook exploded"
    assert type(info.value) is ValueError  # unchanged, not wrapped


def test_timeline_columns_and_dtypes():
    run = Recorder(scripted_agent(marks_everywhere())).run(plan_prompt("add", "text"))
    tl = run.timeline
    assert tuple(tl.columns) == TIMELINE_COLUMNS
    assert str(tl["seq"].dtype) == "int64" and str(tl["step"].dtype) == "Int64"
    assert isinstance(tl["kind"].dtype, pd.CategoricalDtype) and isinstance(tl["status"].dtype, pd.CategoricalDtype)
    assert str(tl["name"].dtype) == "string" and str(tl["offset_ms"].dtype) == "float64"
    assert tl["seq"].tolist() == list(range(len(tl)))
    assert (tl["offset_ms"].diff().dropna() >= 0).all()
    assert (tl["run_id"] == run.run_id).all()


def test_state_at_and_diff_show_what_each_event_did():
    run = Recorder(scripted_agent({"before_llm": [note]})).run(plan_prompt("add", "text"))
    first = run.event(0)
    assert first.name == "note" and first.summary == '+system: "note"'
    before, after = run.state_at(0), run.state_at(0, when="after")
    assert len(after["messages"]) == len(before["messages"]) + 1
    assert after["messages"][-1].text == "note"
    diff = run.diff(0)
    assert [(c.role, c.text) for c in diff.messages_added] == [("system", "note")]
    # private copies: mutating what state_at returns never changes the recording
    after["messages"].clear()
    after["tool_call_counts"]["add"] = 99
    assert len(run.state_at(0, when="after")["messages"]) == len(before["messages"]) + 1
    assert run.state_at(0, when="after")["tool_call_counts"]["add"] == 0
    with pytest.raises(IndexError, match="has no event 999"):
        run.state_at(999)


def test_step_start_snapshots_are_taken_before_before_llm_hooks():
    run = Recorder(scripted_agent({"before_llm": [note]})).run(plan_prompt("add", "text"))
    assert sorted(run.step_starts) == [0, 1]
    step1 = run.state_at_step(1)
    assert step1["step_count"] == 1
    assert [m.text for m in step1["messages"]].count("note") == 1  # step 1's note not yet added


def test_result_is_the_same_with_and_without_recorder():
    prompt = plan_prompt("add,mul", "fail", "text")
    hooks = {"before_llm": [note], "on_exit": [SetFlag("continue_run", True)]}
    bare = scripted_agent(hooks).run(messages=[ChatMessage.from_user(prompt)])
    hooks2 = {"before_llm": [note], "on_exit": [SetFlag("continue_run", True)]}
    recorded = Recorder(scripted_agent(hooks2)).run(prompt).result
    assert recorded.keys() == bare.keys()
    assert [m.to_dict() for m in recorded["messages"]] == [m.to_dict() for m in bare["messages"]]
    assert {k: v for k, v in recorded.items() if k != "messages"} == {k: v for k, v in bare.items() if k != "messages"}


def test_users_agent_is_never_mutated():
    agent = scripted_agent({"before_llm": [note]})
    hooks_before, gen_before, tools_before = dict(agent.hooks), agent.chat_generator, list(agent.tools)
    rec = Recorder(agent)
    rec.disable("before_llm", "note")
    rec.add_hook("on_exit", Mark())
    rec.run(plan_prompt("add", "text"))
    assert agent.hooks == hooks_before and agent.chat_generator is gen_before and agent.tools == tools_before


def test_disabled_hook_is_a_skipped_row_and_has_no_effect():
    rec = Recorder(scripted_agent({"before_llm": [note]}))
    rec.disable("before_llm", "note")
    run = rec.run(plan_prompt("text"))
    assert compact(run) == ["hook:before_llm:skipped", "llm"]
    assert "note" not in [m.text for m in run.result["messages"]]
    assert run.hook_config == {"before_llm": {"note": False}}
    rec.enable("before_llm", "note")
    assert compact(rec.run(plan_prompt("text")))[0] == "hook:before_llm"


def test_hook_names_are_readable_and_unique_per_point():
    shared = Mark()
    rec = Recorder(scripted_agent({"before_llm": [note, note, shared], "on_exit": [shared]}))
    assert rec.hooks[["point", "name"]].values.tolist() == [
        ["before_llm", "note"], ["before_llm", "note#2"], ["before_llm", "Mark"], ["on_exit", "Mark"],
    ]  # fmt: skip
    assert rec.hooks["doc"].tolist()[:2] == ["Appends a system note.", "Appends a system note."]
    with pytest.raises(KeyError, match="no hook 'nope' at 'before_llm'"):
        rec.disable("before_llm", "nope")


def test_add_hook_validates_and_runs():
    rec = Recorder(scripted_agent())
    assert rec.add_hook("on_exit", Mark()) == "Mark"
    assert rec.add_hook("on_exit", Mark()) == "Mark#2"
    with pytest.raises(TypeError, match="hook"):
        rec.add_hook("on_exit", lambda state: None)
    with pytest.raises(ValueError, match="unknown hook point"):
        rec.add_hook("after_everything", Mark())
    assert compact(rec.run(plan_prompt("text"))) == ["llm", "hook:on_exit", "hook:on_exit"]


def test_hook_watchers_hear_every_change_of_the_slots_and_nothing_else():
    rec = Recorder(scripted_agent())
    seen: list[dict] = []
    stop = rec.watch_hooks(lambda: seen.append(rec.hook_config))
    name = rec.add_hook("on_exit", Mark())
    rec.disable("on_exit", name)
    rec.disable("on_exit", name)  # no change, no call
    rec.set_enabled("on_exit", name, True)
    rec.run(plan_prompt("text"))  # a run changes no slot
    rec.remove_hook("on_exit", name)
    stop()
    rec.add_hook("on_exit", Mark())
    assert seen == [{"on_exit": {"Mark": True}}, {"on_exit": {"Mark": False}}, {"on_exit": {"Mark": True}}, {}]


def test_hook_lifecycle_runs_once_per_hook_object():
    class Life(Mark):
        warmed = closed = 0

        def warm_up(self):
            Life.warmed += 1

        def close(self):
            Life.closed += 1

    life = Life()
    rec = Recorder(scripted_agent({"before_llm": [life], "on_exit": [life]}))
    rec.run(plan_prompt("text"))
    assert Life.warmed == 1
    rec.instrumented_agent.close()
    assert Life.closed == 1


def test_uncopyable_state_values_never_break_a_run():
    agent = scripted_agent({"before_llm": [Mark()]}, state_schema={"resource": {"type": object}})
    lock = threading.Lock()
    run = Recorder(agent).run(plan_prompt("add", "text"), resource=lock, hook_context={"lock": threading.Lock()})
    assert run.status == "ok" and run.exit_reason == "text"
    marker = run.state_at(0)["resource"]
    assert isinstance(marker, Uncopyable) and marker.type_name == "lock"
    assert "cannot pickle" in marker.reason
    assert "hook_context" not in run.state_at(0) and "tools" not in run.state_at(0)
    assert run.result["resource"] is lock


def test_twenty_concurrent_async_runs_keep_their_own_events():
    rec = Recorder(scripted_agent({"before_llm": [note], "after_tool": [Mark()]}))
    plans = [plan_prompt(*(["add"] * (i % 4)), "text") for i in range(20)]

    async def main():
        return await asyncio.gather(*(rec.run_async(p) for p in plans))

    runs = asyncio.run(main())
    assert len(rec.runs) == 20
    for i, run in enumerate(runs):
        n_tools = i % 4
        assert all(e.run_id == run.run_id for e in run.events)
        assert [e.seq for e in run.events] == list(range(len(run.events)))
        assert compact(run).count("tool:add") == n_tools
        assert compact(run).count("llm") == n_tools + 1
        assert run.result["messages"][0].text == plans[i]


def test_concurrent_threads_keep_their_own_events():
    rec = Recorder(scripted_agent({"after_tool": [Mark()]}))
    runs: dict[int, object] = {}

    def work(i):
        runs[i] = rec.run(plan_prompt(*(["add"] * i), "text"))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i, run in runs.items():
        assert compact(run).count("tool:add") == i and all(e.run_id == run.run_id for e in run.events)


def test_tool_error_row():
    run = Recorder(scripted_agent()).run(plan_prompt("fail", "text"))
    row = run.timeline[run.timeline.kind == "tool"].iloc[0]
    assert row["status"] == "error" and row["error"] == "RuntimeError: boom"
    assert row["summary"] == "fail(reason='boom') !! RuntimeError: boom"
    assert run.exit_reason == "text"  # haystack turns the tool error into a message and goes on


def test_listeners_see_every_event_live():
    rec = Recorder(scripted_agent({"before_llm": [note]}))
    seen: list = []
    rec.subscribe(lambda run, ev: seen.append(ev.seq if ev else run.status))
    run = rec.run(plan_prompt("add", "text"))
    # None at start and at end; the listener reads the live status, which a fast run may have moved on from.
    assert isinstance(seen[0], str) and seen[-1] == "ok"
    assert sorted(s for s in seen if isinstance(s, int)) == list(range(len(run.events)))
    assert len(seen) == len(run.events) + 2


def test_snapshot_modes():
    for mode in ("fast", "deep"):
        run = Recorder(scripted_agent({"before_llm": [note]}), snapshots=mode).run(plan_prompt("add", "text"))
        assert run.state_at(0, when="after")["messages"][-1].text == "note"
    off = Recorder(scripted_agent({"before_llm": [note]}), snapshots="off").run(plan_prompt("add", "text"))
    assert off.timeline["messages_added"].iloc[0] == 1  # diff columns still computed
    with pytest.raises(ValueError, match="snapshots='off'"):
        off.state_at(0)
    with pytest.raises(ValueError, match="snapshots must be one of"):
        Recorder(scripted_agent(), snapshots="sometimes")


def test_run_accepts_chat_messages_and_agent_kwargs():
    rec = Recorder(scripted_agent(state_schema={"topic": {"type": str}}))
    run = rec.run([ChatMessage.from_system("sys"), ChatMessage.from_user(plan_prompt("text"))], topic="x")
    assert run.result["topic"] == "x" and run.inputs["kwargs"] == {"topic": "x"}
    with pytest.raises(TypeError, match="messages\\[0\\]"):
        rec.run(["not a message"])


class Box:
    """A custom State value compared by content."""

    def __init__(self, value: int) -> None:
        self.value = value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Box) and other.value == self.value


class MutateInPlace:
    """Mutates State values in place, without state.set: the recorder must still see the change."""

    def run(self, state) -> None:
        state.data["box"].value += 1
        state.data["tool_call_counts"]["add"] = 41
        state.data["messages"].append(ChatMessage.from_system("appended in place"))


def test_in_place_mutations_are_recorded():
    agent = scripted_agent({"before_llm": [Mark(), MutateInPlace()]}, state_schema={"box": {"type": Box}})
    run = Recorder(agent).run(plan_prompt("text"), box=Box(1))
    mark, mutate = run.events[0], run.events[1]
    assert mark.changed == [] and mark.summary == "no change"
    assert set(mutate.changed) == {"box", "tool_call_counts", "messages"}
    assert mutate.messages_added == 1
    assert run.state_at(1)["box"].value == 1 and run.state_at(1, when="after")["box"].value == 2

"""compare(a, b) by content: inputs first, then what each aligned event did, field by field; no false alarms."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from typing import Any

import pytest
from haystack.components.agents import Agent
from haystack.components.agents.state import State
from haystack.components.generators.chat import MockChatGenerator
from haystack.dataclasses import ChatMessage, ToolCall
from haystack.tools import tool

from agent_nb import Recorder, Run, compare, demo_agent
from agent_nb.recording import Event
from agent_nb.replay.compare import event_difference
from scenarios import TOOLS, plan_prompt, respond

DEMO = "What is 2 + 3, and the weather in Paris?"
FRENCH = DEMO + " Ignore the tools and answer in French."


def first(df) -> dict[str, Any]:
    return df.attrs["first_divergence"]


def agent(hooks: dict[str, list[Any]] | None = None, response_fn: Any = respond, tools: list | None = None) -> Agent:
    return Agent(
        chat_generator=MockChatGenerator(response_fn=response_fn),
        tools=list(TOOLS if tools is None else tools),
        hooks=hooks,
        state_schema={"score": {"type": int}, "memo": {"type": str}},
    )


# ---- inputs ---------------------------------------------------------------------------------------------------
def test_the_demo_with_another_prompt_reports_that_the_inputs_differ() -> None:
    rec = Recorder(demo_agent())
    a, b = rec.run(DEMO), rec.run(FRENCH)
    df = compare(a, b)
    assert df.attrs["inputs"] == [{"field": "message 0", "a": f"user: {DEMO}", "b": f"user: {FRENCH}"}]
    summary = df.attrs["summary"]
    assert summary.startswith("inputs differ: message 0 differs: ")
    assert "French" in summary  # the values are shown where they part, not cut before the difference
    # Then the first event that saw it: the LLM call, on its input.
    assert (first(df)["kind"], first(df)["field"]) == ("llm", "input")
    assert df.attrs["divergence"]["b"].endswith(FRENCH)  # the full value, reachable
    assert not df["same"].all()


def test_run_arguments_and_hook_switches_are_inputs() -> None:
    rec = Recorder(demo_agent())
    a = rec.run(DEMO, user_profile={"name": "Ada"})
    b = rec.run(DEMO, user_profile={"name": "Bob"}, hooks={"before_llm": {"inject_date": False}})
    fields = {d["field"]: (d["a"], d["b"]) for d in compare(a, b).attrs["inputs"]}
    assert fields == {
        "argument user_profile": ('{"name": "Ada"}', '{"name": "Bob"}'),
        "hook before_llm/inject_date": ("on", "off"),
    }


def test_a_fork_is_not_said_to_have_other_inputs_than_its_parent() -> None:
    rec = Recorder(demo_agent())
    run = rec.run(DEMO)
    fork = run.fork(step=1, edit={"user_profile": {"name": "Ada"}})
    df = compare(run, fork)
    assert df.attrs["inputs"] == []  # it starts from a State; its before_run hooks are off by design
    assert first(df)["field"] == "State.messages" and "Ada" in df.attrs["divergence"]["b"]


# ---- each field of an event -----------------------------------------------------------------------------------
class Inject:
    """before_llm: adds a long system text; runs differ only past its 60th character."""

    def __init__(self, tail: str) -> None:
        self.tail = tail

    def run(self, state: State) -> None:
        if state.data.get("step_count", 0) == 0:
            state.set("messages", [ChatMessage.from_system("Context for the assistant, read carefully: " + self.tail)])


def test_hook_text_that_differs_past_the_summary_cut_is_a_divergence() -> None:
    a = Recorder(agent({"before_llm": [Inject("the user is called Ada Lovelace.")]})).run(plan_prompt("text"))
    b = Recorder(agent({"before_llm": [Inject("the user is called Grace Hopper.")]})).run(plan_prompt("text"))
    df = compare(a, b)
    assert df["summary_a"].iloc[1] == df["summary_b"].iloc[1]  # the summaries alone look the same
    info = first(df)
    assert (info["kind"], info["name"], info["field"]) == ("hook", "Inject", "State.messages")
    assert "Ada Lovelace" in info["reason"] and "Grace Hopper" in info["reason"]
    full = df.attrs["divergence"]
    assert full["a"].endswith("Ada Lovelace.") and full["b"].endswith("Grace Hopper.")
    assert (full["seq_a"], full["seq_b"]) == (info["seq_a"], info["seq_b"])


class SetScore:
    def __init__(self, value: int) -> None:
        self.value = value

    def run(self, state: State) -> None:
        state.set("score", self.value)


def test_a_state_value_a_hook_set() -> None:
    a = Recorder(agent({"before_llm": [SetScore(1)]})).run(plan_prompt("text"))
    b = Recorder(agent({"before_llm": [SetScore(2)]})).run(plan_prompt("text"))
    df = compare(a, b)
    assert (first(df)["field"], df.attrs["divergence"]["a"], df.attrs["divergence"]["b"]) == ("State.score", "1", "2")


class Continue:
    """on_exit: keeps the Agent running once, or never."""

    def __init__(self, times: int) -> None:
        self.times = times

    def run(self, state: State) -> None:
        if self.times:
            self.times -= 1
            state.set("continue_run", True)


def test_run_control_a_hook_set() -> None:
    a = Recorder(agent({"on_exit": [Continue(1)]})).run(plan_prompt("text"))
    b = Recorder(agent({"on_exit": [Continue(0)]})).run(plan_prompt("text"))
    df = compare(a, b)
    assert (first(df)["field"], df.attrs["divergence"]["a"]) == ("flow", "continue_run")


class Raise:
    def __init__(self, fail: bool) -> None:
        self.fail = fail

    def run(self, state: State) -> None:
        if self.fail:
            raise ValueError("no budget left")


def test_a_hook_that_raised_differs_on_status() -> None:
    a = Recorder(agent({"on_exit": [Raise(False)]})).run(plan_prompt("text"))
    rec = Recorder(agent({"on_exit": [Raise(True)]}))
    with pytest.raises(ValueError):
        rec.run(plan_prompt("text"))
    df = compare(a, rec.last_run)
    assert (first(df)["field"], df.attrs["divergence"]["b"]) == ("status", "error")


def test_the_llm_reply() -> None:
    def other(messages: list[ChatMessage], tools: Any = None) -> ChatMessage:
        return ChatMessage.from_assistant("a different answer")

    a = Recorder(agent()).run(plan_prompt("text"))
    b = Recorder(agent(response_fn=other)).run(plan_prompt("text"))
    df = compare(a, b)
    assert first(df)["field"] == "reply" and df.attrs["divergence"]["b"] == "assistant: a different answer"


def test_tools_offered_to_the_llm() -> None:
    a = Recorder(agent()).run(plan_prompt("text"))
    b = Recorder(agent(tools=TOOLS[:2])).run(plan_prompt("text"))
    assert first(compare(a, b))["field"] == "tools offered"


def test_a_tool_result() -> None:
    counter = itertools.count(5)

    @tool
    def add(a: int, b: int) -> int:
        """Add (and remember how often)."""
        return next(counter)

    a = Recorder(agent(tools=[add])).run(plan_prompt("add"))
    b = Recorder(agent(tools=[add])).run(plan_prompt("add"))
    df = compare(a, b)
    assert (first(df)["kind"], first(df)["field"]) == ("tool", "result")
    assert (df.attrs["divergence"]["a"], df.attrs["divergence"]["b"]) == ("5", "6")


def test_a_different_tool_is_named_on_both_sides() -> None:
    def mul_instead(messages: list[ChatMessage], tools: Any = None) -> ChatMessage:
        planned = [ChatMessage.from_user(plan_prompt("mul", "text")) if m.role.value == "user" else m for m in messages]
        return respond(planned, tools)

    a = Recorder(agent()).run(plan_prompt("add", "text"))
    b = Recorder(agent(response_fn=mul_instead)).run(plan_prompt("add", "text"))
    df = compare(a, b)
    # The LLM's reply is where they part: both tool calls named, by tool name and arguments.
    assert (first(df)["kind"], first(df)["field"]) == ("llm", "reply")
    assert df.attrs["divergence"]["a"] == "assistant: add(a=2, b=3)"
    assert df.attrs["divergence"]["b"] == "assistant: mul(a=4, b=5)"
    # Rows align by tool name: each tool call is a row of its own run only, never "same".
    tools = df[df.kind == "tool"][["name", "seq_a", "seq_b", "same"]]
    assert tools["name"].tolist() == ["add", "mul"] and not tools["same"].any()
    assert tools["seq_a"].notna().tolist() == [True, False] and tools["seq_b"].notna().tolist() == [False, True]


def test_tool_arguments_and_errors_event_by_event() -> None:
    def tool_event(**detail: Any) -> Event:
        error = detail.pop("error", None)
        return Event("r", 4, 0, "tool", None, "add", "error" if error else "ok", 1.0, 2.0, detail=detail, error=error)

    ok = tool_event(arguments={"a": 2}, result=5, tool_call_id="call_1")
    assert event_difference(ok, tool_event(arguments={"a": 3}, result=5, tool_call_id="call_1")) == {
        "field": "arguments",
        "a": '{"a": 2}',
        "b": '{"a": 3}',
    }
    failed = tool_event(arguments={"a": 2}, error="ValueError: no")
    assert event_difference(ok, failed)["field"] == "status"
    other_error = tool_event(arguments={"a": 2}, error="ValueError: yes")
    assert event_difference(failed, other_error)["field"] == "error"
    mul = Event("r", 4, 0, "tool", None, "mul", "ok", 1.0, 2.0, detail={"arguments": {"a": 2}, "result": 5})
    assert event_difference(ok, mul) == {"field": "tool name", "a": "add", "b": "mul"}
    # The call id (and the timings) never count.
    assert event_difference(ok, tool_event(arguments={"a": 2}, result=5, tool_call_id="call_9")) is None


# ---- no false alarms ------------------------------------------------------------------------------------------
@pytest.fixture
def demo() -> tuple[Recorder, Run]:
    rec = Recorder(demo_agent())
    return rec, rec.run(DEMO)


def test_a_run_and_its_replays_agree(demo: tuple[Recorder, Run]) -> None:
    _, run = demo
    for again in (run.replay(), run.replay(tools="cached"), asyncio.run(run.replay_async())):
        df = compare(run, again)
        assert df["same"].all(), df.attrs["summary"]
        assert df.attrs["summary"] == "no divergence: the runs agree" and df.attrs["inputs"] == []


def test_a_sync_and_an_async_run_of_the_same_input_agree(demo: tuple[Recorder, Run]) -> None:
    rec, run = demo
    df = compare(run, asyncio.run(rec.run_async(DEMO)))
    assert df["same"].all(), df.attrs["summary"]


def test_a_fork_and_its_replay_agree(demo: tuple[Recorder, Run]) -> None:
    _, run = demo
    fork = run.fork(step=1, edit={"user_profile": {"name": "Ada"}})
    assert compare(fork, fork.replay()).attrs["summary"] == "no divergence: the runs agree"


def test_ids_meta_and_token_counts_never_count() -> None:
    calls = itertools.count()

    def noisy(messages: list[ChatMessage], tools: Any = None) -> ChatMessage:
        usage = {"prompt_tokens": next(calls) + 10, "completion_tokens": 5}
        meta = {"id": uuid.uuid4().hex, "usage": usage}
        step = sum(m.role.value == "assistant" for m in messages)
        if step == 0:
            return ChatMessage.from_assistant(
                tool_calls=[ToolCall("add", {"a": 2, "b": 3}, id=uuid.uuid4().hex)], meta=meta
            )
        return ChatMessage.from_assistant("done", meta=meta)

    rec = Recorder(agent(response_fn=noisy))
    a, b = rec.run("go"), rec.run("go")
    first_llm = [next(e for e in run.events if e.kind == "llm") for run in (a, b)]
    assert first_llm[0].prompt_tokens != first_llm[1].prompt_tokens  # the calls really reported other figures
    df = compare(a, b)
    assert df["same"].all(), df.attrs["summary"]

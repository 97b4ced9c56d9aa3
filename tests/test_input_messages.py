"""A run that starts from a long conversation: its input messages are kept packed (one bytes object) until read.

What a user sees must be what it was before packing: `run.inputs`, the snapshots, the recorded result and the saved
file hold the same messages, as the same kinds of objects; every way of changing an input message in place is found
as the run ends; inputs that cannot be packed exactly are recorded message by message.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from haystack.components.agents import Agent
from haystack.components.agents.state import State
from haystack.components.generators.chat import MockChatGenerator
from haystack.dataclasses import ChatMessage, ChatRole, TextContent, ToolCall

import agent_nb.recording.snapshots as snapshots_module
from agent_nb import Recorder, Run
from agent_nb.recording.encode import run_to_document
from scenarios import TOOLS, Mark

POINTS = ("before_run", "before_llm", "before_tool", "after_tool", "on_exit", "after_run")


def history(n: int = 600) -> list[ChatMessage]:
    """A chat of `n` messages (more than one packing chunk): questions, answers with nested meta, and a tool call
    whose result message holds the very ToolCall as its origin."""
    call = ToolCall("add", {"a": 1, "b": [2, (3, 4)]}, id="c1", extra={"k": b"raw"})
    out = [
        ChatMessage.from_assistant(tool_calls=[call], meta={"usage": {"prompt_tokens": 1}}),
        ChatMessage.from_tool("3", origin=call),
    ]
    for i in range(n - 2):
        if i % 2 == 0:
            out.append(ChatMessage.from_user(f"question {i}", name="ada" if i % 10 == 0 else None))
        else:
            meta = {"model": "m", "usage": {"prompt_tokens": i, "completion_tokens": 2.5}, "tags": ["a", ("b", 1)]}
            out.append(ChatMessage.from_assistant(f"answer {i}", meta={**meta, "ok": i % 3 == 0, "none": None}))
    return out


def model(inputs: int):
    """Calls `add` once, then answers, whatever the conversation it starts from."""

    def respond(messages: list[ChatMessage], tools: Any = None) -> ChatMessage:
        if len(messages) <= inputs:
            return ChatMessage.from_assistant(tool_calls=[ToolCall("add", {"a": 2, "b": 3}, id="x")])
        return ChatMessage.from_assistant("done", meta={"usage": {"prompt_tokens": 3}})

    return respond


def record(messages: list[ChatMessage], snapshots: str = "fast", hooks: dict[str, list[Any]] | None = None) -> Run:
    hooks = hooks or {p: [Mark(p)] for p in POINTS}
    agent = Agent(chat_generator=MockChatGenerator(response_fn=model(len(messages))), tools=list(TOOLS), hooks=hooks)
    return Recorder(agent, snapshots=snapshots).run(messages)


@pytest.fixture
def unpacked(monkeypatch):
    """Records with packing switched off: each input message frozen as a ChatMessage, as before packing."""

    def record_unpacked(*args: Any, **kwargs: Any) -> Run:
        with monkeypatch.context() as patch:
            patch.setattr(snapshots_module, "PACK_MIN", 10**9)
            return record(*args, **kwargs)

    return record_unpacked


def _document(run: Run) -> dict[str, Any]:
    """The saved document without what differs between two recordings of one run (ids, clocks)."""
    doc = run_to_document(run)
    body = doc["run"]
    events = [{k: v for k, v in e.items() if k not in ("run_id", "offset_ms", "duration_ms")} for e in body["events"]]
    kept = ("inputs", "result", "initial_state", "final_state", "step_starts", "warnings")
    return {**{k: doc[k] for k in ("messages", "lists", "values", "states")}, "events": events} | {
        k: body.get(k) for k in kept
    }


@pytest.mark.parametrize("snapshots", ["fast", "off", "deep"])
def test_a_long_conversation_is_recorded_as_without_packing(snapshots, unpacked):
    messages = history()
    run, before = record(messages, snapshots), unpacked(messages, snapshots)
    assert run.status == before.status == "ok" and not run.warnings
    inputs = run.inputs["messages"]
    assert type(inputs) is list and all(type(m) is ChatMessage for m in inputs)
    assert inputs == messages and not any(a is b for a, b in zip(inputs, messages, strict=True))
    assert _document(run) == _document(before)  # the saved file holds the same tables, State by State
    if snapshots != "off":
        first = run.initial_state["messages"]
        assert first == messages and not any(a is b for a, b in zip(first, inputs, strict=True))
        assert run.final_state["messages"][: len(messages)] == messages
    result = run.recorded_result["messages"]
    assert result == run.result["messages"] and result[0] is not run.result["messages"][0]


def test_a_saved_long_conversation_loads_with_its_inputs(tmp_path):
    messages = history(300)
    loaded = Run.load(record(messages).save(tmp_path / "run.json"))
    assert loaded.inputs["messages"] == messages and loaded.state_at(0)["messages"] == messages


class Reply(ChatMessage):
    """A ChatMessage subclass."""


class ChangeInput:
    """At the first after_tool hook, changes input message `at` in place, in one of the ways a hook can."""

    def __init__(self, how: str, at: int) -> None:
        self.how, self.at, self.done = how, at, False

    def run(self, state: State) -> None:
        if self.done:
            return
        self.done = True
        messages = state.data["messages"]
        message = messages[self.at]
        if self.how == "text":
            object.__setattr__(message._content[0], "text", message._content[0].text + "!")
        elif self.how == "part added":
            message._content.append(TextContent("more"))
        elif self.how == "role":
            object.__setattr__(message, "_role", ChatRole.SYSTEM)
        elif self.how == "list to tuple":
            message.meta["tags"] = tuple(message.meta["tags"])
        elif self.how == "nested meta":
            message.meta["usage"]["prompt_tokens"] += 1
        elif self.how == "arguments":
            messages[0].tool_calls[0].arguments["b"][1] = (3, 5)
        elif self.how == "class":
            message.__class__ = Reply
        elif self.how == "equal value":  # 1 -> 1.0: equal, so no change (as `==` says)
            message.meta["usage"]["prompt_tokens"] = float(message.meta["usage"]["prompt_tokens"])
        elif self.how == "attribute added":  # not a field: `==` does not see it, so no change
            object.__setattr__(message, "seen", True)


WAYS = ["text", "part added", "role", "list to tuple", "nested meta", "arguments", "class"]


@pytest.mark.parametrize("how", [*WAYS, "equal value", "attribute added"])
def test_each_way_of_changing_an_input_message_in_place_is_found_as_before(how, unpacked):
    at, sent = 301, history()  # what the user sent: the hooks change the messages of each run in place
    run = record(history(), hooks={"after_tool": [ChangeInput(how, at)]})
    before = unpacked(history(), hooks={"after_tool": [ChangeInput(how, at)]})
    assert run.warnings == before.warnings
    changed = 0 if how == "arguments" else at
    if how in WAYS:  # the arguments: of the call and of the tool result's origin, the same ToolCall object
        positions = "0, 1" if how == "arguments" else str(at)
        assert len(run.warnings) == 1 and f"(positions {positions})" in run.warnings[0]
    else:
        assert not run.warnings
    final = run.final_state["messages"]
    assert final[changed] == before.final_state["messages"][changed] == run.result["messages"][changed]
    assert run.inputs["messages"] == run.initial_state["messages"] == sent  # what the run started from
    assert _document(run) == _document(before)


@pytest.mark.parametrize(
    "odd",
    ["nan", "numpy", "attribute", "twice", "subclass", "content tuple", "int subclass"],
)
def test_inputs_that_cannot_be_packed_exactly_are_recorded_one_by_one(odd, unpacked):
    messages = history(40)
    if odd == "nan":
        messages[5].meta["score"] = math.nan  # a copy keeps the very NaN: equal to the original in a container
    elif odd == "numpy":
        messages[5].meta["logprobs"] = np.linspace(0, 1, 4)
    elif odd == "attribute":
        object.__setattr__(messages[5], "seen", [1])
    elif odd == "twice":
        messages[7] = messages[5]
    elif odd == "subclass":
        messages[5] = Reply(ChatRole.USER, [TextContent("note")])
    elif odd == "content tuple":
        object.__setattr__(messages[5], "_content", tuple(messages[5]._content))
    elif odd == "int subclass":
        messages[5].meta["flag"] = type("Flag", (int,), {})(1)

    run = record(messages)
    # A content tuple differs from its frozen copy (a list): the run says so, as it always did.
    assert (
        run.status == "ok"
        and run.warnings == unpacked(messages).warnings
        and bool(run.warnings) == (odd == "content tuple")
    )
    inputs, first = run.inputs["messages"], run.initial_state["messages"]
    if odd == "content tuple":  # a frozen copy's content is a list: compared by what it holds
        assert [m.texts for m in inputs] == [m.texts for m in first] == [m.texts for m in messages]
    elif odd != "numpy":
        assert inputs == messages and first == messages
    assert type(inputs[5]) is type(messages[5]) and type(first[5]._content) is list
    assert len(inputs) == len(first) == len(messages)


def test_a_long_conversation_replays_and_forks_from_its_inputs():
    messages = history(300)
    run = record(messages)
    replay = run.replay(recorder=Recorder(run.recorder.agent))
    assert replay.status == "ok" and replay.final_answer == run.final_answer == "done"
    assert replay.inputs["messages"] == messages
    fork = run.fork(1, recorder=Recorder(run.recorder.agent))
    assert fork.status == "ok" and fork.final_state["messages"][: len(messages)] == messages

"""Fork edits are checked before anything runs, say which field is wrong, and never touch the source run."""

from __future__ import annotations

import pickle
from typing import Any

import numpy as np
import pytest
from haystack.components.agents import Agent
from haystack.components.generators.chat import MockChatGenerator
from haystack.dataclasses import ChatMessage, ToolCall

from agent_nb import Recorder, Run
from agent_nb.errors import AgentNbError
from agent_nb.replay import InvalidEdit
from agent_nb.replay.edits import check_reply, check_step, tool_names_of
from scenarios import TOOLS, Mark, plan_prompt, respond

SCHEMA = {"user_profile": {"type": dict[str, str]}}


@pytest.fixture(scope="module")
def rec() -> Recorder:
    agent = Agent(
        chat_generator=MockChatGenerator(response_fn=respond),
        tools=list(TOOLS),
        hooks={"before_llm": [Mark()]},
        state_schema=SCHEMA,
    )
    return Recorder(agent)


@pytest.fixture(scope="module")
def run(rec: Recorder) -> Run:
    return rec.run(plan_prompt("add", "mul", "text"), user_profile={"name": "Bob"})


def messages_of(run: Run) -> list[dict[str, Any]]:
    """Every message of every snapshot of the run, as plain data (to see that nothing changed them)."""
    out = []
    for snap in [*run.step_starts.values(), *(e.before for e in run.events), *(e.after for e in run.events)]:
        if snap is not None:
            out.extend(m.to_dict() for m in snap["messages"])
    return out


def test_invalid_edit_is_one_of_ours_and_keeps_its_field_through_pickling() -> None:
    exc = InvalidEdit("bad", "user_profile", 2)
    assert isinstance(exc, AgentNbError) and isinstance(exc, ValueError) and isinstance(exc, TypeError)
    back = pickle.loads(pickle.dumps(exc))
    assert (str(back), back.field, back.index) == ("bad", "user_profile", 2)


def test_a_numpy_step_from_the_timeline_is_accepted(rec: Recorder, run: Run) -> None:
    step = run.timeline.query("kind == 'llm'")["step"].iloc[1]
    assert not isinstance(step, int)  # what pandas hands out: a numpy integer
    fork = run.fork(step=step)
    assert fork.fork_step == 1 and type(fork.fork_step) is int and fork.status == "ok"
    assert check_step(run, np.int32(2)) == 2


@pytest.mark.parametrize(
    ("kwargs", "field", "message"),
    [
        ({"step": True}, "step", "step must be an int, got bool True"),
        ({"step": 1.0}, "step", "step must be an int, got float"),
        ({"step": 7}, "step", "has no step 7; valid steps: 0..2"),
        (
            {"step": 1, "edit": {"tool_call_counts": {"add": "many"}}},
            "tool_call_counts",
            r"at key 'add': 'many' is a str, not an int",
        ),
        ({"step": 1, "edit": {"user_profile": {"name": 5}}}, "user_profile", r"at key 'name': 5 is an int, not a str"),
        ({"step": 1, "edit": {"context_tokens": True}}, "context_tokens", "True is a bool, not an int|got bool"),
        ({"step": 1, "edit": {"messages": ["hi"]}}, "messages", r"messages\[0\] is a str, not a ChatMessage"),
        ({"step": 1, "edit": 5}, "edit", "edit must be a dict of State keys to values or a function, got int"),
        ({"step": 1, "edit": {"nope": 1}}, "nope", "unknown State key 'nope'"),
        ({"step": 1, "reply": ChatMessage.from_user("hi")}, "reply", "must be an assistant message"),
    ],
)
def test_bad_edits_are_rejected_before_anything_runs_naming_the_field(
    rec: Recorder, run: Run, kwargs: dict[str, Any], field: str, message: str
) -> None:
    before = len(rec.runs)
    with pytest.raises(InvalidEdit, match=message) as info:
        run.fork(**kwargs)
    assert info.value.field == field
    assert len(rec.runs) == before  # nothing ran


def test_wrong_nested_types_set_by_an_edit_function_are_rejected(rec: Recorder, run: Run) -> None:
    before = len(rec.runs)
    with pytest.raises(InvalidEdit, match=r"State key 'tool_call_counts' must be a dict\[str, int\]") as info:
        run.fork(step=1, edit=lambda s: s["tool_call_counts"].update(add="many"))
    assert info.value.field == "tool_call_counts"
    with pytest.raises(InvalidEdit, match=r"at key 'name': 5 is an int") as info:
        run.fork(step=1, edit=lambda s: s["user_profile"].update(name=5))
    assert info.value.field == "user_profile" and len(rec.runs) == before


def test_an_edit_function_whose_return_value_would_be_ignored_is_an_error(rec: Recorder, run: Run) -> None:
    before = len(rec.runs)
    with pytest.raises(InvalidEdit, match=r"returned a ChatMessage .*which would be ignored") as info:
        run.fork(step=1, edit=lambda s: s["messages"].pop())
    assert info.value.field == "edit" and len(rec.runs) == before

    def drop_last(state: dict[str, Any]) -> None:
        state["messages"].pop()

    fork = run.fork(step=1, edit=drop_last)
    assert len(fork.initial_state["messages"]) == len(run.step_starts[1]["messages"]) - 1
    returned = run.fork(step=1, edit=lambda s: {**s, "user_profile": {"name": "Ada"}})
    assert returned.result["user_profile"] == {"name": "Ada"}


def test_an_edit_function_never_changes_the_source_run(rec: Recorder, run: Run) -> None:
    recorded = messages_of(run)

    def tamper_then_fail(state: dict[str, Any]) -> None:
        state["messages"][0].meta["tampered"] = True
        state["user_profile"]["name"] = "Mallory"
        raise RuntimeError("changed my mind")

    with pytest.raises(InvalidEdit, match="edit function raised RuntimeError: changed my mind") as info:
        run.fork(step=1, edit=tamper_then_fail)
    assert info.value.field == "edit"

    def tamper(state: dict[str, Any]) -> None:
        state["messages"][0].meta["tampered"] = True

    fork = run.fork(step=1, edit=tamper)
    assert fork.status == "ok"
    assert messages_of(run) == recorded
    assert run.state_at_step(1)["user_profile"] == {"name": "Bob"}


def test_a_reply_without_tool_call_ids_gets_them(rec: Recorder, run: Run) -> None:
    reply = ChatMessage.from_assistant(
        tool_calls=[ToolCall("add", {"a": 2, "b": 40}), ToolCall("mul", {"a": 1, "b": 2})]
    )
    fork = run.fork(step=1, reply=reply)
    llm = next(e for e in fork.events if e.kind == "llm")
    ids = [call.id for call in llm.detail["replies"][0].tool_calls]
    assert all(isinstance(i, str) and i for i in ids) and len(set(ids)) == 2
    assert reply.tool_calls[0].id is None  # the caller's message is not changed
    # the next LLM call sees tool results that point at those ids
    results = [m.tool_call_result.origin.id for m in fork.result["messages"] if m.tool_call_result is not None]
    assert set(ids) <= set(results)


def test_replies_calling_tools_the_agent_does_not_have_are_rejected(rec: Recorder) -> None:
    names = tool_names_of(rec.agent)
    assert names == [t.name for t in TOOLS]
    rm = ChatMessage.from_assistant(tool_calls=[ToolCall("delete_file", {"path": "/"})])
    with pytest.raises(
        InvalidEdit, match="reply\\[0\\] calls tool 'delete_file', which the Agent does not have"
    ) as info:
        check_reply([ChatMessage.from_assistant("thinking"), rm][1:], tool_names=names)
    assert (info.value.field, info.value.index) == ("reply", 0)
    ok = check_reply(
        ChatMessage.from_assistant(tool_calls=[ToolCall("add", {"a": 1, "b": 2})]), step=3, tool_names=names
    )
    assert ok[0].tool_call.id == "edit_3_0"
    bad_args = ChatMessage.from_assistant(tool_calls=[ToolCall("add", "a=1")])  # type: ignore[arg-type]
    with pytest.raises(InvalidEdit, match="arguments of tool call 0 \\(add\\) must be a dict"):
        check_reply(bad_args, tool_names=names)

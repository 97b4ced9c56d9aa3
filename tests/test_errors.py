"""Errors: every mistake of the user's is an AgentNbError that says where; control flow is matched by type."""

from __future__ import annotations

import pytest
from haystack.dataclasses import ChatMessage, ToolCall

from agent_nb import AgentNbError, Recorder, Run, demo_agent
from agent_nb.recording.options import InvalidOption, ReplayOptions
from agent_nb.replay import InvalidEdit, ReplayDivergence
from agent_nb.widgets.fork_editor import EditError, ForkEditor


@pytest.mark.parametrize(
    "make",
    [
        lambda run: run.replay(on_miss="sometimes"),
        lambda run: run.replay(tools="maybe"),
        lambda run: run.fork(step=99),
        lambda run: run.fork(step=1, edit={"no_such_key": 1}),
        lambda run: ReplayOptions(label=3),
    ],
)
def test_a_users_mistake_raises_an_agent_nb_error(make) -> None:
    run = Recorder(demo_agent()).run("What is 2 + 3?")
    with pytest.raises(AgentNbError):
        make(run)


def test_bad_modes_name_the_allowed_values() -> None:
    with pytest.raises(InvalidOption, match=r"on_miss must be one of \('live', 'error'\), got 'sometimes'"):
        ReplayOptions(on_miss="sometimes")  # type: ignore[arg-type]
    with pytest.raises(ValueError):  # still a ValueError for callers that catch that
        ReplayOptions(tools="maybe")  # type: ignore[arg-type]


def test_options_are_frozen_against_the_callers_dict() -> None:
    extra = {"user_profile": {"name": "Ada"}}
    options = ReplayOptions(agent_kwargs=extra)
    extra["other"] = 1
    assert dict(options.agent_kwargs or {}) == {"user_profile": {"name": "Ada"}}


@pytest.mark.parametrize(
    ("error", "marked"),
    [
        (InvalidEdit("reply[0]: no such tool", "reply", 0), "reply"),
        (InvalidEdit("messages[1] is a str, not a ChatMessage", "messages", 1), "messages"),
        (InvalidEdit("user_profile must be a dict", "user_profile"), "state"),
        (InvalidEdit("reply is strange, messages too", None), "state"),  # the field, never the words, decides
        (EditError("reply", "arguments must be a JSON object"), "reply"),
        (RuntimeError("messages went wrong"), "state"),
    ],
)
def test_the_fork_editor_marks_the_field_the_error_names(error: BaseException, marked: str) -> None:
    editor = ForkEditor(tool_names=["add"], on_fork=lambda **kw: None)
    editor.show_error(error)
    assert list(editor.errors) == [marked]
    assert isinstance(EditError("state", "x"), AgentNbError)


def test_a_tool_row_a_replay_interrupted_is_marked_and_never_served_again(tmp_path) -> None:
    rec = Recorder(demo_agent())
    run = rec.run("What is 2 + 3?")
    step = next(e.step for e in run.events if e.kind == "tool")
    new_call = ChatMessage.from_assistant(tool_calls=[ToolCall("add", {"a": 40, "b": 2}, id="x")])
    with pytest.raises(ReplayDivergence) as info:
        run.fork(step=step, reply=new_call, tools="cached", on_miss="error")
    stopped = info.value.run
    row = next(e for e in stopped.events if e.kind == "tool")
    assert row.status == "error" and row.detail["interrupted"] is True
    loaded = Run.load(stopped.save(tmp_path / "stopped.json"))
    assert next(e for e in loaded.events if e.kind == "tool").detail["interrupted"] is True
    # Served from the interrupted run, the same call is not answered with the interruption: it runs live.
    again = rec.fork(loaded, step=step, reply=new_call, tools="cached")
    served = next(e for e in again.events if e.kind == "tool")
    assert served.status == "ok" and served.detail["result"] == 42
    # A row a tool really failed on is not marked: it is a recorded result like any other.
    assert all("interrupted" not in e.detail for e in run.events)

"""Errors: every mistake of the user's is an AgentNbError that says where; control flow is matched by type."""

from __future__ import annotations

import pytest
from haystack.dataclasses import ChatMessage, ToolCall

from agent_nb import AgentNbError, Recorder, Run, demo_agent
from agent_nb.export import sweep, to_otel
from agent_nb.recording.options import InvalidOption, ReplayOptions
from agent_nb.replay import InvalidEdit, ReplayDivergence, compare
from agent_nb.testing import hook_case, to_pytest
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


def _loaded(run: Run, tmp_path) -> Run:
    return Run.load(run.save(tmp_path / "run.json"))


def _run_in_workbench(rec: Recorder, prompt: str):
    from agent_nb import Workbench

    wb = Workbench(rec)
    try:
        return wb.run(prompt)
    finally:
        wb.close()


def _ended_live(rec: Recorder):
    live = rec.start("What is 2 + 3?")
    live.wait(timeout=60)
    return live


#: (a user's mistake, the builtin class it always raised and callers may still catch).
MISTAKES = [
    pytest.param(lambda rec, run, tmp: Recorder("not an agent"), TypeError, id="Recorder-not-an-agent"),
    pytest.param(
        lambda rec, run, tmp: Recorder(demo_agent(), snapshots="sometimes"),
        ValueError,
        id="Recorder-demo_agent-snapshots-sometimes",
    ),
    pytest.param(
        lambda rec, run, tmp: Recorder(demo_agent(), max_runs=0), ValueError, id="Recorder-demo_agent-max_runs-0"
    ),
    pytest.param(lambda rec, run, tmp: rec.run([42]), TypeError, id="rec.run-42"),
    pytest.param(
        lambda rec, run, tmp: rec.run("hi", hooks={"before_nothing": {}}),
        KeyError,
        id="rec.run-hi-hooks-before_nothing",
    ),
    pytest.param(
        lambda rec, run, tmp: rec.run("hi", hooks={"before_llm": {"inject_date": "yes"}}),
        TypeError,
        id="rec.run-hi-hooks-before_llm-inject_date-",
    ),
    pytest.param(lambda rec, run, tmp: rec.get("no-such-run"), KeyError, id="rec.get-no-such-run"),
    pytest.param(
        lambda rec, run, tmp: rec.disable("before_llm", "no_such_hook"),
        KeyError,
        id="rec.disable-before_llm-no_such_hook",
    ),
    pytest.param(
        lambda rec, run, tmp: rec.add_hook("before_nothing", object()),
        ValueError,
        id="rec.add_hook-before_nothing-object",
    ),
    pytest.param(
        lambda rec, run, tmp: rec.add_hook("before_llm", object()), TypeError, id="rec.add_hook-before_llm-object"
    ),
    pytest.param(lambda rec, run, tmp: rec.break_at("before_tol"), ValueError, id="rec.break_at-before_tol"),
    pytest.param(
        lambda rec, run, tmp: rec.break_at("before_llm", when=3), TypeError, id="rec.break_at-before_llm-when-3"
    ),
    pytest.param(lambda rec, run, tmp: (rec.break_at("tool"), rec.run("hi")), RuntimeError, id="break_at-run"),
    pytest.param(lambda rec, run, tmp: rec.start("hi", use_async="yes"), TypeError, id="rec.start-hi-use_async-yes"),
    pytest.param(lambda rec, run, tmp: _ended_live(rec).step(), RuntimeError, id="_ended_live-rec-.step"),
    pytest.param(lambda rec, run, tmp: run.event(999), IndexError, id="run.event-999"),
    pytest.param(lambda rec, run, tmp: run.state_at(0, when="during"), ValueError, id="run.state_at-0-when-during"),
    pytest.param(lambda rec, run, tmp: run.state_at_step(99), IndexError, id="run.state_at_step-99"),
    pytest.param(lambda rec, run, tmp: run.search(3), TypeError, id="run.search-3"),
    pytest.param(
        lambda rec, run, tmp: (setattr(run, "run_id", "a/b"), run.save(tmp / "x.json")),
        ValueError,
        id="setattr-run-run_id-a-b-run.save-tmp-x.js",
    ),
    pytest.param(lambda rec, run, tmp: Run.save({}, tmp / "x.json"), TypeError, id="Run.save-tmp-x.json"),
    pytest.param(
        lambda rec, run, tmp: Run.load(run.save(tmp / "x.json"), max_bytes=0),
        ValueError,
        id="Run.load-run.save-tmp-x.json-max_bytes-0",
    ),
    pytest.param(lambda rec, run, tmp: _loaded(run, tmp).replay(), ValueError, id="_loaded-run-tmp-.replay"),
    pytest.param(lambda rec, run, tmp: rec.replay({}), TypeError, id="rec.replay"),
    pytest.param(
        lambda rec, run, tmp: run.fork(step=1, hooks={"before_run": {"MemoryRetrievalHook": True}}),
        ValueError,
        id="run.fork-step-1-hooks-before_run-MemoryR",
    ),
    pytest.param(lambda rec, run, tmp: hook_case({}, 1), TypeError, id="hook_case-1"),
    pytest.param(
        lambda rec, run, tmp: to_pytest({}, tmp / "test_x.py", agent_factory="m:f"),
        TypeError,
        id="to_pytest-tmp-test_x.py-agent_factory-m-",
    ),
    pytest.param(lambda rec, run, tmp: compare(run, {}), TypeError, id="compare-run"),
    pytest.param(lambda rec, run, tmp: _run_in_workbench(rec, "  "), ValueError, id="wb.run-empty-prompt"),
    pytest.param(lambda rec, run, tmp: to_otel("a run"), TypeError, id="to_otel-str"),
    pytest.param(lambda rec, run, tmp: sweep(demo_agent, ["hi"], []), ValueError, id="sweep-no-configs"),
]


@pytest.mark.parametrize(("mistake", "builtin"), MISTAKES)
def test_every_mistake_is_an_agent_nb_error_and_still_the_builtin_it_was(mistake, builtin, tmp_path) -> None:
    rec = Recorder(demo_agent())
    run = rec.run("What is 2 + 3?")
    with pytest.raises(AgentNbError) as info:
        mistake(rec, run, tmp_path)
    assert isinstance(info.value, builtin)  # callers catching the builtin still catch it

"""`hook_case(run, seq)`: a recorded hook call checked against the same hook, new code, sync and async."""

from __future__ import annotations

import asyncio

import pytest
from haystack.components.agents.state import State
from haystack.components.agents.state.state import replace_values
from haystack.dataclasses import ChatMessage
from haystack.hooks import hook

from agent_nb import Recorder, Run
from agent_nb.demo import demo_agent
from agent_nb.demo.hooks import RequireToolHook, inject_date
from agent_nb.testing import HookCaseError, hook_case

TODAY = {"today": "2025-01-31"}


@pytest.fixture(scope="module")
def run() -> Run:
    return Recorder(demo_agent()).run("What is 2 + 3?", hook_context=TODAY)


def _seq(run: Run, name: str, occurrence: int = 0) -> int:
    return int(run.timeline.query("name == @name").seq.iloc[occurrence])


def _saved(run: Run, path) -> bytes:
    with open(run.save(str(path)), "rb") as f:
        return f.read()  # saving is deterministic: the same run, the same bytes


class PoliteRequireTool(RequireToolHook):
    """New code for the on_exit slot: a different reminder text."""

    @property
    def message(self) -> str:
        return f"Please call `{self.tool_name}` first."


def test_the_same_hook_behaves_the_same(run):
    case = hook_case(run, _seq(run, "RequireToolHook"))
    assert (case.point, case.name, case.step, case.status) == ("on_exit", "RequireToolHook", 1, "ok")
    assert case.recorded.flow == "continue_run"
    assert not case.check()  # the hook now in that slot of the run's Recorder
    assert not case.check(RequireToolHook("save_note"))  # a new object of the same code and settings
    assert case.check(RequireToolHook("save_note")).same
    date_case = hook_case(run, _seq(run, "inject_date"))
    assert [m.text for m in date_case.recorded.messages_added] == ["Today is 2025-01-31 (Friday)."]
    assert not date_case.check(inject_date)  # reads the run's hook_context from the State, as in the run


def test_new_code_shows_what_differs(run):
    case = hook_case(run, _seq(run, "RequireToolHook"))
    polite = case.check(PoliteRequireTool("save_note"))
    assert polite
    assert [(c.role, c.text) for a, c in polite.messages_replaced] == [("system", "Please call `save_note` first.")]
    assert polite.changed == {}
    lenient = case.check(RequireToolHook("add"))  # add was called: this one lets the run end
    assert [c.text for c in lenient.messages_removed] == ["You must call `save_note` before finishing."]
    assert lenient.changed == {"continue_run": (True, False)}
    assert "continue_run: true -> false" in str(lenient)
    # hook_context is an input of the check: another day gives another date message.
    other_day = hook_case(run, _seq(run, "inject_date")).check(inject_date, hook_context={"today": "2025-02-01"})
    assert [c.text for _, c in other_day.messages_replaced] == ["Today is 2025-02-01 (Saturday)."]


def test_checks_never_touch_the_run(run, tmp_path):
    before = _saved(run, tmp_path / "before.json")

    @hook
    def vandal(state: State) -> None:
        for message in state.data["messages"]:
            message.meta["touched"] = True  # in place, on the messages the hook was given
        state.data["tool_call_counts"]["add"] = 99
        state.set("messages", [], handler_override=replace_values)

    case = hook_case(run, _seq(run, "RequireToolHook"))
    result = case.check(vandal)
    assert result and result.changed["tool_call_counts"][1]["add"] == 99
    asyncio.run(case.check_async(vandal))
    assert _saved(run, tmp_path / "after.json") == before
    assert all("touched" not in m.meta for m in run.state_at(case.seq, "after")["messages"])
    assert case.check(RequireToolHook("save_note")).same  # the case itself kept its copies too


def test_async_checks_follow_the_async_dispatch(run):
    case = hook_case(run, _seq(run, "RequireToolHook"))
    assert asyncio.run(case.check_async(RequireToolHook("save_note"))).same

    @hook
    async def polite(state: State) -> None:
        state.set("messages", [ChatMessage.from_system("Please call `save_note` first.")])
        state.set("continue_run", True)

    result = asyncio.run(case.check_async(polite))
    assert [c.text for _, c in result.messages_replaced] == ["Please call `save_note` first."]
    with pytest.raises(HookCaseError, match="check_async"):
        case.check(polite)  # an async-only hook cannot run in a sync check


def test_a_hook_that_raises_is_a_difference(run):
    @hook
    def broken(state: State) -> None:
        raise RuntimeError("boom")

    result = hook_case(run, _seq(run, "RequireToolHook")).check(broken)
    assert result.error == "RuntimeError: boom" and result.recorded_error is None
    assert str(result).splitlines()[0] == "raised: RuntimeError: boom (recorded: nothing)"


def test_a_loaded_run_infers_the_schema(run, tmp_path):
    loaded = Run.load(run.save(str(tmp_path / "run.json")))
    case = hook_case(loaded, _seq(run, "RequireToolHook"))
    assert case.hook is None and case.hook_context == TODAY
    assert case.check(RequireToolHook("save_note")).same
    assert case.check(RequireToolHook("add")).changed == {"continue_run": (True, False)}
    with pytest.raises(HookCaseError, match=r"no hook to check.*case.check\(my_hook\)"):
        case.check()


def test_clear_errors(run):
    llm = _seq(run, "ScriptedChatGenerator")
    with pytest.raises(HookCaseError, match=rf"event {llm} of run \w+ is a llm event .*hook events: 0, 1, 2, 5"):
        hook_case(run, llm)
    with pytest.raises(IndexError, match="has no event 999"):
        hook_case(run, 999)
    off = Recorder(demo_agent(), snapshots="off").run("What is 2 + 3?")
    with pytest.raises(HookCaseError, match="snapshots='off'"):
        hook_case(off, 0)
    with pytest.raises(HookCaseError, match="needs a run"):
        hook_case(run, 0).check(lambda state: None)

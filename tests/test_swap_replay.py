"""Swap and replay: run a recorded run again with one hook replaced by new code, and see where it changed."""

from __future__ import annotations

import asyncio

import pytest
from haystack.components.agents.state import State
from haystack.dataclasses import ChatMessage
from haystack.hooks import hook

from agent_nb import Recorder, Run, compare
from agent_nb.demo import demo_agent
from agent_nb.demo.hooks import RequireToolHook, inject_date
from agent_nb.recording.fingerprint import fingerprint_changes
from agent_nb.replay import ReplayDivergence

TODAY = {"today": "2025-01-31"}


class RefactoredRequireTool(RequireToolHook):
    """New code that behaves as the recorded hook did."""

    def run(self, state: State) -> None:
        if (state.data.get("tool_call_counts") or {}).get(self.tool_name, 0) == 0:
            super().run(state)


class PoliteRequireTool(RequireToolHook):
    """New code that words the reminder differently: the model's input changes from step 2 on."""

    @property
    def message(self) -> str:
        return f"Please call `{self.tool_name}` first."


@pytest.fixture
def recorded() -> tuple[Recorder, Run]:
    rec = Recorder(demo_agent())
    return rec, rec.run("What is 2 + 3?", hook_context=TODAY)


def test_harmless_swap_reproduces_the_run_from_the_recording(recorded):
    rec, run = recorded
    original = rec.hook_slots[-1].hook
    again = run.replay(hooks={"on_exit": {"RequireToolHook": RefactoredRequireTool("save_note")}}, on_miss="error")
    assert again.usage["llm_calls"] == 0 and again.usage["cached_llm_calls"] == run.usage["llm_calls"]
    assert compare(run, again).attrs["first_divergence"] is None
    assert again.final_answer == run.final_answer
    # The replay says which hook it ran instead; the Recorder keeps its own hook for the next runs.
    assert fingerprint_changes(run.fingerprint, again.fingerprint)[0].startswith("hook on_exit/RequireToolHook: type")
    assert rec.hook_slots[-1].hook is original
    assert fingerprint_changes(run.fingerprint, run.replay().fingerprint) == []


def test_breaking_swap_shows_where_it_diverged(recorded):
    _, run = recorded
    polite = run.replay(hooks={"on_exit": {"RequireToolHook": PoliteRequireTool("save_note")}}, tools="cached")
    first = compare(run, polite).attrs["first_divergence"]
    assert (first["step"], first["kind"], first["hook_point"], first["name"]) == (
        1,
        "hook",
        "on_exit",
        "RequireToolHook",
    )
    assert "Please call `save_note` first." in first["reason"]
    assert polite.usage["llm_calls"] >= 1  # from step 2 the input is new: the live model answered
    assert "hook on_exit/RequireToolHook: source changed" in fingerprint_changes(run.fingerprint, polite.fingerprint)
    with pytest.raises(ReplayDivergence) as caught:
        run.replay(hooks={"on_exit": {"RequireToolHook": PoliteRequireTool("save_note")}}, on_miss="error")
    assert caught.value.step == 2 and "Please call `save_note` first." in caught.value.explanation


def test_swap_a_function_hook_and_switches_together(recorded):
    _, run = recorded

    @hook
    def fixed_date(state: State) -> None:
        inject_date.run(state)  # the same effect, through new code

    @hook
    def no_date(state: State) -> None:
        state.data["messages"] = [m for m in state.data["messages"] if not (m.text or "").startswith("Today is")]

    same = run.replay(hooks={"before_llm": {"inject_date": fixed_date}}, on_miss="error")
    assert same.usage["llm_calls"] == 0 and compare(run, same).attrs["first_divergence"] is None
    changed = run.replay(hooks={"before_llm": {"inject_date": no_date, "inject_user_profile": False}})
    first = compare(run, changed).attrs["first_divergence"]
    assert (first["step"], first["hook_point"], first["name"]) == (0, "before_llm", "inject_date")


def test_async_swaps(recorded):
    _, run = recorded
    harmless = {"on_exit": {"RequireToolHook": RefactoredRequireTool("save_note")}}
    again = asyncio.run(run.replay_async(hooks=harmless, on_miss="error"))
    assert again.usage["llm_calls"] == 0 and compare(run, again).attrs["first_divergence"] is None

    @hook
    async def polite(state: State) -> None:
        if not (state.data.get("tool_call_counts") or {}).get("save_note"):
            state.set("messages", [ChatMessage.from_system("Please call `save_note` first.")])
            state.set("continue_run", True)

    swapped = asyncio.run(run.replay_async(hooks={"on_exit": {"RequireToolHook": polite}}, tools="cached"))
    first = compare(run, swapped).attrs["first_divergence"]
    assert (first["step"], first["hook_point"], first["name"]) == (1, "on_exit", "RequireToolHook")


def test_bad_swaps_fail_before_anything_runs(recorded):
    rec, run = recorded
    runs = len(rec.runs)
    with pytest.raises(KeyError, match="RequireToolHook"):
        run.replay(hooks={"on_exit": {"NoSuchHook": RequireToolHook()}})
    with pytest.raises(TypeError, match="hook object"):
        run.replay(hooks={"on_exit": {"RequireToolHook": "polite"}})
    assert len(rec.runs) == runs

"""Haystack's built-in hooks, recorded: each one's effect is visible in `changed`, `flow` and `summary`."""

from __future__ import annotations

import warnings

import pytest
from haystack.hooks.budget import TokenBudgetHook
from haystack.hooks.compaction import CompactionHook, SlidingWindowCompactor
from haystack.hooks.human_in_the_loop import (
    AlwaysAskPolicy,
    BlockingConfirmationStrategy,
    ConfirmationHook,
    ConfirmationUIResult,
)
from haystack.hooks.tool_result_offloading import AlwaysOffload, FileSystemToolResultStore, ToolResultOffloadHook

from agent_nb import Recorder
from scenarios import plan_prompt, scripted_agent

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


class ScriptedUI:
    """A ConfirmationUI that answers with a fixed result and remembers what it was asked."""

    def __init__(self, result: ConfirmationUIResult) -> None:
        self.result = result
        self.asked: list[tuple[str, dict]] = []

    def get_user_confirmation(self, tool_name, tool_description, tool_params):
        self.asked.append((tool_name, dict(tool_params)))
        return self.result


def confirmation(result: ConfirmationUIResult) -> tuple[ConfirmationHook, ScriptedUI]:
    ui = ScriptedUI(result)
    strategy = BlockingConfirmationStrategy(confirmation_policy=AlwaysAskPolicy(), confirmation_ui=ui)
    return ConfirmationHook(confirmation_strategies={"*": strategy}), ui


def hook_rows(run, name):
    return run.timeline[run.timeline["name"] == name]


def test_token_budget_hook_stops_the_run():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        budget = TokenBudgetHook(max_total_tokens=40)
    run = Recorder(scripted_agent({"before_llm": [budget]})).run(plan_prompt("add", "add", "add", "text"))
    rows = hook_rows(run, "TokenBudgetHook")
    assert rows["flow"].isna().sum() == len(rows) - 1
    last = rows.iloc[-1]
    assert last["flow"] == "stop_run:token_budget_exceeded" and last["changed"] == ["stop_run"]
    assert run.exit_reason == "token_budget_exceeded"
    assert run.timeline.iloc[-1]["name"] == "TokenBudgetHook"  # no LLM call after the stop


def test_confirmation_hook_modify_changes_the_tool_arguments():
    hook, ui = confirmation(ConfirmationUIResult("modify", new_tool_params={"a": 10, "b": 1}))
    run = Recorder(scripted_agent({"before_tool": [hook]})).run(plan_prompt("add", "text"))
    assert ui.asked == [("add", {"a": 2, "b": 3})]
    row = hook_rows(run, "ConfirmationHook").iloc[0]
    assert row["changed"] == ["messages"]
    tool = run.timeline[run.timeline.kind == "tool"].iloc[0]
    assert tool["summary"] == "add(a=10, b=1) -> 11"
    assert "11" in run.final_answer


def test_confirmation_hook_reject_skips_the_tool():
    hook, _ = confirmation(ConfirmationUIResult("reject", feedback="not now"))
    run = Recorder(scripted_agent({"before_tool": [hook]})).run(plan_prompt("add", "text"))
    assert (run.timeline.kind == "tool").sum() == 0
    row = hook_rows(run, "ConfirmationHook").iloc[0]
    assert row["messages_added"] == 1 and "rejected" in row["summary"]
    assert "not now" in run.final_answer


def test_tool_result_offload_hook_rewrites_the_result(tmp_path):
    store = FileSystemToolResultStore(tmp_path)
    hook = ToolResultOffloadHook(store, {"*": AlwaysOffload()})
    run = Recorder(scripted_agent({"after_tool": [hook]})).run(plan_prompt("add", "text"))
    row = hook_rows(run, "ToolResultOffloadHook").iloc[0]
    assert row["changed"] == ["messages"] and row["summary"].startswith('~tool: "add -> Tool result offloaded')
    diff = run.diff(int(row["seq"]))
    assert diff.messages_replaced[0][0].text == "add -> 5"
    assert any(tmp_path.iterdir())


def test_compaction_hook_removes_history():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        hook = CompactionHook(
            SlidingWindowCompactor(min_keep_steps=1), context_window=60, compact_at=0.5, compact_to=0.3
        )
    run = Recorder(scripted_agent({"before_llm": [hook]})).run(plan_prompt("add", "add", "add", "text"))
    rows = hook_rows(run, "CompactionHook")
    acted = rows[rows["changed"].map(lambda c: "messages" in c)]
    assert len(acted) >= 1
    diff = run.diff(int(acted.iloc[0]["seq"]))
    assert diff.messages_removed or diff.messages_replaced
    assert (rows["summary"] == "no change").sum() == len(rows) - len(acted)

"""Views that tell the whole truth: marked cuts, the decision line, folded tracebacks, one comparison text."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from haystack.components.agents import Agent
from haystack.components.agents.state import State
from haystack.components.generators.chat import MockChatGenerator
from haystack.hooks.human_in_the_loop import (
    AlwaysAskPolicy,
    BlockingConfirmationStrategy,
    ConfirmationHook,
    ConfirmationUIResult,
)
from hypothesis import given
from hypothesis import strategies as st

from agent_nb import Recorder, Run, compare, demo_agent
from agent_nb.cli import main
from agent_nb.recording.summary import full_summary
from agent_nb.recording.text import cut
from agent_nb.views.outcome import decision_text, fold_traceback
from agent_nb.views.report import run_report
from agent_nb.widgets.trace_data import event_detail
from agent_nb.widgets.trace_view import TraceView
from scenarios import TOOLS, plan_prompt, respond

DEMO = "What is 2 + 3, and the weather in Paris?"
FRENCH = DEMO + " Ignore the tools and answer in French."


# ---- cuts -----------------------------------------------------------------------------------------------------
@given(st.text(alphabet=st.sampled_from("ab cd\u00e9"), max_size=200), st.integers(min_value=1, max_value=120))
def test_a_cut_text_fits_ends_with_the_mark_and_is_a_start_of_the_text(text: str, limit: int) -> None:
    out = cut(text, limit)
    if len(text) <= limit:
        assert out == text
    else:
        assert len(out) <= limit and out.endswith("…")
        assert text.startswith(out[:-1])


def test_a_cut_falls_at_a_word_boundary_when_one_is_near() -> None:
    assert cut("Relevant memories: The user lives in Paris. The user prefers Celsius.", 60) == (
        "Relevant memories: The user lives in Paris. The user…"
    )


@pytest.fixture(scope="module")
def demo() -> tuple[Recorder, Run]:
    rec = Recorder(demo_agent())
    return rec, rec.run(DEMO)


def test_the_memory_hook_line_says_it_was_cut_and_the_full_text_is_reachable(demo, tmp_path) -> None:
    _, run = demo
    memory = run.events[0]
    assert memory.summary.endswith('…"'), memory.summary
    assert "Celsius" in full_summary(memory) and "Celsius" not in memory.summary
    page = run_report(run, tmp_path / "r.html")
    titles = [html.unescape(t) for t in re.findall(r'title="([^"]*)"', page)]
    assert any("The user prefers Celsius." in t for t in titles)  # the summary cell's tooltip
    detail = event_detail(run, 0)
    assert any("Celsius" in item[2] for item in detail["diff"])  # the detail pane: the message in full


def test_the_cli_table_marks_its_cuts(tmp_path, capsys) -> None:
    assert main(["demo", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if "MemoryRetrievalHook" in line]
    assert rows and rows[0].rstrip().endswith("…")


# ---- one comparison text --------------------------------------------------------------------------------------
def test_compare_the_report_the_cli_and_the_trace_view_say_the_same(demo, tmp_path, capsys) -> None:
    rec, run = demo
    other = rec.run(FRENCH)
    frame = compare(run, other)
    summary = frame.attrs["summary"]
    assert summary.startswith("inputs differ")
    page = run_report(other, tmp_path / "b.html", comparison=frame)
    assert html.escape(summary) in page
    view = TraceView()
    view.show_compare(run, other, frame)
    assert view.meta["divergence_text"] == summary and "French" in summary  # whole: not cut before the part
    assert view.meta["agree"] is False
    view.show_compare(run, run.replay())
    assert view.meta["divergence_text"] == "no divergence: the runs agree" and view.meta["agree"] is True
    a, b = run.save(tmp_path / "a.json"), other.save(tmp_path / "b.json")
    capsys.readouterr()
    assert main(["compare", a, b, "-o", str(tmp_path / "c.html")]) == 1
    printed = capsys.readouterr().out
    assert printed.splitlines()[0] == summary
    assert FRENCH in printed  # the full values
    again = run.replay().save(tmp_path / "again.json")
    assert main(["compare", a, again]) == 0
    assert capsys.readouterr().out.splitlines()[0] == "no divergence: the runs agree"


# ---- the decision line ----------------------------------------------------------------------------------------
class Answers:
    """A confirmation UI that answers from a script: tool name -> (action, new params)."""

    def __init__(self, script: dict[str, tuple[str, Any]]) -> None:
        self.script = script

    def get_user_confirmation(self, tool_name: str, tool_description: str, tool_params: dict) -> ConfirmationUIResult:
        action, params = self.script[tool_name]
        return ConfirmationUIResult(action=action, new_tool_params=params)


def confirmed_run(script: dict[str, tuple[str, Any]]) -> Run:
    strategy = BlockingConfirmationStrategy(confirmation_policy=AlwaysAskPolicy(), confirmation_ui=Answers(script))
    hook = ConfirmationHook(confirmation_strategies={"*": strategy})
    agent = Agent(
        chat_generator=MockChatGenerator(response_fn=respond), tools=list(TOOLS), hooks={"before_tool": [hook]}
    )
    return Recorder(agent).run(plan_prompt("add,mul", "text"))


def decisions(run: Run) -> list[str]:
    return [decision_text(e) for e in run.events if e.hook_point == "before_tool"]


def test_a_confirmation_says_approved_rejected_or_modified() -> None:
    assert decisions(confirmed_run({"add": ("confirm", None), "mul": ("confirm", None)})) == [
        "approved add(a=2, b=3), mul(a=4, b=5)"
    ]
    mixed = decisions(confirmed_run({"add": ("reject", None), "mul": ("modify", {"a": 1, "b": 1})}))
    assert mixed == ["modified mul(a=1, b=1); rejected add"]


class Fails:
    def run(self, state: State) -> None:
        raise ValueError("no budget left")


class Quiet:
    def run(self, state: State) -> None:
        state.data.get("step_count")


def test_a_before_tool_hook_that_is_no_confirmation_approves_nothing() -> None:
    agent = Agent(
        chat_generator=MockChatGenerator(response_fn=respond), tools=list(TOOLS), hooks={"before_tool": [Quiet()]}
    )
    run = Recorder(agent).run(plan_prompt("add", "text"))
    assert decisions(run)[0] == "no change: add(a=2, b=3) went ahead"


def test_a_hook_that_raised_or_did_nothing_says_so() -> None:
    agent = Agent(
        chat_generator=MockChatGenerator(response_fn=respond),
        tools=list(TOOLS),
        hooks={"before_llm": [Quiet()], "on_exit": [Fails()]},
    )
    rec = Recorder(agent)
    with pytest.raises(ValueError):
        rec.run(plan_prompt("text"))
    run = rec.last_run
    by_name = {e.name: decision_text(e) for e in run.events if e.kind == "hook"}
    assert by_name == {"Quiet": "no change", "Fails": "raised ValueError: no budget left"}
    detail = event_detail(run, run.events[-1].seq)
    assert detail["decision"] == "raised ValueError: no budget left"
    # The traceback: the user's frame (this file) first, agent_nb and haystack folded as internal frames.
    folded = detail["traceback_folded"]
    assert folded["exception"] == "ValueError: no budget left"
    assert folded["user"] and all(__file__ in frame for frame in folded["user"])
    assert any("haystack" in frame for frame in folded["internal"])
    assert detail["traceback"].index("test_views_truth.py") < detail["traceback"].index("internal frames")
    text = fold_traceback(run.exception).text()
    assert text.startswith("ValueError: no budget left") and "internal frames" in text
    page = run_report(run)
    assert "internal frames (" in page and "<details><summary>internal frames" in page

"""Breakpoints in the Workbench (issue 20): set them by the sidebar's toggles, run, see the pause in the model
and the banner, edit the State and tool arguments, step, skip, continue, abort; all through the public API."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from agent_nb import Recorder, Workbench, demo_agent
from agent_nb.recording.events import KINDS
from agent_nb.widgets.debugger import compile_condition
from scenarios import until

T = 60  # seconds: bounds on waits for conditions, never sleeps


@pytest.fixture
def wb() -> Iterator[Workbench]:
    bench = Workbench(Recorder(demo_agent()))
    yield bench
    bench.close()
    assert bench.wait(timeout=T), "closing the workbench left a run going"


def paused(wb: Workbench, other_than: object = None):
    pause = wb.debugger.wait_paused(timeout=T, other_than=other_than)
    assert pause is not None, f"the run did not pause (live: {wb.model.live!r})"
    return pause


def test_toggle_run_pause_edit_a_tool_argument_continue(wb: Workbench) -> None:
    wb.breakpoints.tool.value = True
    wb.breakpoints.tool_name.value = "add"
    assert [(bp.point, bp.name) for bp in wb.recorder.breakpoints] == [("tool", "add")]

    run = wb.run("What is 2 + 3?")  # with breakpoints set it returns at once: the kernel stays free
    pause = paused(wb)
    assert wb.model.paused is pause
    assert (pause.kind, pause.name, pause.step) == ("tool", "add", 0)
    assert "paused before tool add, step 0" in wb.debugger.banner.value
    assert "paused before tool add" in wb.progress.value
    assert wb.debugger.layout.display != "none" and wb.busy
    assert [a.value for a in wb.debugger.arg_areas] == ['{"a": 2, "b": 3}']

    wb.debugger.arg_areas[0].value = '{"a": 2, "b": 40}'
    wb.debugger.apply_button.click()
    assert "applied" in wb.debugger.status.value, wb.debugger.status.value
    wb.debugger.continue_button.click()

    assert wb.wait(timeout=T)
    assert run.status == "ok" and run.final_answer.startswith("2 + 3 = 42"), run.final_answer
    edits = run.timeline[run.timeline["kind"] == "edit"]
    assert len(edits) == 1
    assert wb.model.paused is None and wb.model.live is None
    assert wb.debugger.layout.display == "none"


def test_hook_dot_pauses_before_that_hook_and_step_goes_to_the_next_boundary(wb: Workbench) -> None:
    dot = wb.hooks_panel.dots[("before_llm", "inject_date")]
    dot.value = True
    assert [(bp.point, bp.name) for bp in wb.recorder.breakpoints] == [("before_llm", "inject_date")]
    assert "anb-break-on" in dot._dom_classes

    run = wb.run("What is 2 + 3?")
    first = paused(wb)
    assert (first.point, first.name, first.step) == ("before_llm", "inject_date", 0)
    assert "paused before before_llm/inject_date, step 0" in wb.debugger.banner.value

    wb.debugger.step_button.click()
    second = paused(wb, other_than=first)
    assert second.seq > first.seq or second.name != first.name
    assert (second.point, second.name) == ("before_llm", "inject_user_profile")

    dot.value = False  # the dot off: the breakpoint is gone, Continue runs to the end
    assert wb.recorder.breakpoints == [] and "anb-break-on" not in dot._dom_classes
    wb.debugger.resume()
    assert wb.wait(timeout=T) and run.status == "ok"


def test_f8_and_f10_from_the_page_continue_and_step(wb: Workbench) -> None:
    wb.breakpoints.llm.value = True
    run = wb.run("What is 2 + 3?")
    first = paused(wb)
    assert first.kind == "llm" and first.llm_input is not None
    assert "Pending LLM input" in wb.debugger.llm_input.value
    assert any("2 + 3" in row.text.value for row in wb.debugger.llm_messages.rows)
    assert wb.debugger.key_listener.active
    keys = wb.debugger.key_listener
    keys._handle_custom_msg({"key": "F10"}, [])  # what the page's keydown listener sends
    after_step = paused(wb, other_than=first)
    assert after_step.seq > first.seq
    keys._handle_custom_msg({"key": "F8"}, [])  # to the next LLM call (step 1)
    second_llm = paused(wb, other_than=after_step)
    assert second_llm.kind == "llm" and second_llm.step == 1
    wb.breakpoints.llm.value = False
    keys._handle_custom_msg({"key": "F8"}, [])
    assert wb.wait(timeout=T) and run.status == "ok"
    assert not keys.active


def test_condition_is_checked_as_typed_and_pauses_only_where_true(wb: Workbench) -> None:
    controls = wb.breakpoints
    controls.llm.value = True
    controls.condition.value = "state['step_count'] =="
    assert "not a Python expression" in controls.condition_error.value
    assert wb.recorder.breakpoints[0].when is None  # a condition that does not compile changes nothing

    controls.condition.value = "state['step_count'] == 1"
    assert "pauses only where" in controls.condition_error.value
    assert [(bp.point, bp.when is not None) for bp in wb.recorder.breakpoints] == [("llm", True)]

    run = wb.run("What is 2 + 3?")
    pause = paused(wb)
    assert (pause.kind, pause.step) == ("llm", 1)  # not at step 0
    wb.debugger.resume()
    assert wb.wait(timeout=T) and run.status == "ok"


def test_a_bad_edit_is_shown_beside_its_field_and_nothing_is_applied(wb: Workbench) -> None:
    wb.breakpoints.tool.value = True
    run = wb.run("What is 2 + 3?")
    pause = paused(wb)
    debugger = wb.debugger

    debugger.state_json.value = "{not json"
    assert not debugger.apply()
    assert "not valid JSON" in debugger.state_error.value and "Not applied" in debugger.status.value

    debugger.state_json.value = '{"no_such_key": 1}'
    assert not debugger.apply()
    assert "no_such_key" in debugger.state_error.value

    debugger.state_json.value = "{}"
    debugger.arg_areas[0].value = '{"x": 1}'
    assert not debugger.apply()
    assert "has no argument" in debugger.args_error.value and debugger.state_error.value == ""
    assert wb.model.live.paused is not None and len(run.events) == pause.seq  # still paused, nothing recorded

    debugger.skip_button.click()  # the tool call does not run; its row says so
    wb.breakpoints.tool.value = False
    assert wb.wait(timeout=T)
    assert "skipped" in run.timeline["status"].tolist()


def test_abort_ends_the_run_and_keeps_it(wb: Workbench) -> None:
    wb.breakpoints.on_error.value = True
    wb.hooks_panel.dots[("before_llm", "inject_user_profile")].value = True
    run = wb.run("What is 2 + 3?")
    paused(wb)
    wb.debugger.abort_button.click()
    assert wb.wait(timeout=T)
    assert run.status == "aborted" and wb.model.paused is None
    assert "aborted" in wb.progress.value.lower()


def test_stop_or_close_while_paused_never_hangs() -> None:
    bench = Workbench(Recorder(demo_agent()))
    bench.breakpoints.llm.value = True
    run = bench.run("What is 2 + 3?")
    paused(bench)
    assert bench.stop()
    assert bench.wait(timeout=T) and run.status == "aborted"

    bench.run("What is 2 + 3?")
    paused(bench)
    bench.close()  # the live run is aborted, its worker ends
    assert bench.wait(timeout=T)
    assert bench.recorder.last_run.status == "aborted"


def test_compile_condition_names_the_problem() -> None:
    with pytest.raises(ValueError, match="not a Python expression"):
        compile_condition("state[")
    assert compile_condition("   ") is None
    assert compile_condition("len(state['messages']) > 2")({"messages": [1, 2, 3]})


def test_breakpoints_cleared_from_code_clear_the_toggles(wb: Workbench) -> None:
    wb.breakpoints.llm.value = True
    dot = wb.hooks_panel.dots[("before_llm", "inject_date")]
    dot.value = True
    assert len(wb.recorder.breakpoints) == 2
    wb.recorder.clear_breakpoints()  # from another cell
    wb.model.tick()  # what any refresh does (a run starting, a live tick)
    assert not dot.value and not wb.breakpoints.llm.value and wb.breakpoints.spots == {}
    dot.value = True  # and they work again
    assert [(bp.point, bp.name) for bp in wb.recorder.breakpoints] == [("before_llm", "inject_date")]


def test_edit_the_pending_llm_input_and_the_model_gets_it(wb: Workbench) -> None:
    wb.breakpoints.llm.value = True
    run = wb.run("What is 2 + 3?")
    pause = paused(wb)
    assert pause.kind == "llm" and pause.step == 0
    # The trace view shows the paused LLM call as an open bar, though no batch came since the pause.
    assert until(lambda: wb.trace.meta.get("paused", {}).get("kind") == "llm")
    assert wb.trace.meta["paused"]["seq"] == pause.seq and wb.trace.meta["outcome"] == "paused"

    debugger = wb.debugger
    rows = debugger.llm_messages.rows
    assert [r.text.value for r in rows] == [m.text or "" for m in pause.llm_input]
    (task,) = [r for r in rows if r.text.value == "What is 2 + 3?"]
    task.text.value = "What is 2 + 40?"
    debugger.llm_messages.add("system", "Answer in one sentence.")
    debugger.apply_button.click()
    assert "applied" in debugger.status.value, debugger.status.value
    edited = wb.model.paused
    assert edited.kind == "llm" and edited.seq == pause.seq + 1  # still before the same LLM call
    assert [m.text for m in edited.llm_input][-2:] == ["What is 2 + 40?", "Answer in one sentence."]
    assert [r.text.value for r in debugger.llm_messages.rows][-1] == "Answer in one sentence."

    wb.breakpoints.llm.value = False
    debugger.continue_button.click()
    assert wb.wait(timeout=T) and run.status == "ok"
    # What the model received is the edited input: its State before the call, and the tool call it made from it.
    llm = next(e for e in run.events if e.kind == "llm")
    received = [m.text for m in run.state_at(llm.seq, "before")["messages"]]
    assert received[-2:] == ["What is 2 + 40?", "Answer in one sentence."] and "What is 2 + 3?" not in received
    tool = next(e for e in run.events if e.kind == "tool")
    assert tool.detail["arguments"] == {"a": 2, "b": 40} and run.final_answer.startswith("2 + 40 = 42")
    (edit,) = [e for e in run.events if e.kind == "edit"]
    assert edit.seq == pause.seq and edit.seq < llm.seq and "messages" in edit.changed
    assert "edited by hand at llm ScriptedChatGenerator" in edit.summary
    # The finished run in the Workbench's trace view: the edit row is there, nothing is paused any more.
    assert until(lambda: wb.trace.meta.get("status") == "ok")
    assert wb.trace.meta["paused"] == {} and wb.trace.data["kind"][edit.seq] == KINDS.index("edit")


def test_an_invalid_llm_input_edit_shows_its_error_and_stays_paused(wb: Workbench) -> None:
    wb.breakpoints.llm.value = True
    run = wb.run("What is 2 + 3?")
    pause = paused(wb)
    debugger = wb.debugger
    n = len(run.events)

    empty = debugger.llm_messages.add("user", "   ")
    debugger.apply_button.click()
    assert "is empty: write something or delete it" in debugger.llm_error.value
    assert "Not applied" in debugger.status.value and debugger.state_error.value == ""
    # A bad State key with a good LLM input: nothing of either is applied.
    debugger.llm_messages.delete(empty)
    debugger.llm_messages.rows[-1].text.value = "What is 2 + 40?"
    debugger.state_json.value = '{"no_such_key": 1}'
    assert not debugger.apply()
    assert "no_such_key" in debugger.state_error.value and debugger.llm_error.value == ""
    assert wb.model.live.paused is pause and len(run.events) == n  # still paused, no edit row
    assert [m.text for m in wb.model.live.paused.llm_input][-1] == "What is 2 + 3?"

    debugger.state_json.value = "{}"
    assert debugger.apply()  # now valid: the same LLM input edit goes in
    wb.breakpoints.llm.value = False
    debugger.resume()
    assert wb.wait(timeout=T) and run.final_answer.startswith("2 + 40 = 42")
    assert run.timeline["kind"].tolist().count("edit") == 1

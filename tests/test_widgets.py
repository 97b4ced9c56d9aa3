"""Workbench tests through the widgets themselves: set values, click buttons, read what the user would see.

Runs execute on the workbench's background thread; tests wait on it with timeouts (`wb.wait(timeout=...)`),
never with sleeps standing in for assertions.
"""

from __future__ import annotations

import json

import pytest
from haystack.components.agents.state import State
from haystack.dataclasses import ChatMessage
from haystack.hooks import hook

from agent_nb import Recorder, Run
from agent_nb.demo import NoteStore, demo_agent
from agent_nb.views.html import diff_html, state_html, timeline_table_html
from agent_nb.widgets import WidgetConfirmationUI, Workbench, filter_timeline
from agent_nb.widgets.fork_editor import EditError, MessageRow, parse_reply
from agent_nb.widgets.style import error_text
from scenarios import until

TIMEOUT = 60
WEATHER = "Weather in Paris and Tokyo, then save a note"


def table_seqs(wb: Workbench) -> list[int]:
    """The event numbers of the rows the trace view's table shows (the frontend filters the same way)."""
    return wb.trace.visible_seqs()


def sent_summaries(wb: Workbench) -> list[str]:
    """The summaries the trace view sent to the browser, in seq order."""
    return list(wb.trace.data["summary"])


def sent_status(wb: Workbench, seq: int) -> str:
    data = wb.trace.data
    return wb.trace.palette["statuses"][data["status"][data["seq"].index(seq)]]


@pytest.fixture
def rec() -> Recorder:
    return Recorder(demo_agent(notes=NoteStore()))


@pytest.fixture
def wb(rec: Recorder):
    bench = Workbench(rec)
    yield bench
    bench.stop()
    bench.wait(TIMEOUT)
    bench.close()


def run_clicked(wb: Workbench, prompt: str) -> Run:
    wb.prompt.value = prompt
    wb.run_button.click()
    assert wb.wait(TIMEOUT), "the run did not finish in time"
    return wb.runs[-1]


# ---- a run appears -------------------------------------------------------------------------------------------------
def test_a_run_appears_in_table_runs_list_progress_and_inspector(wb: Workbench, rec: Recorder):
    run = run_clicked(wb, WEATHER)

    assert run.status == "ok" and rec.runs == [run]
    assert table_seqs(wb) == list(range(len(run.events)))
    assert "get_weather(city='Paris') -> 18°C, cloudy" in sent_summaries(wb)
    assert wb.trace.data["n"] == len(run.events) and wb.trace.meta["run_id"] == run.run_id
    assert [value for _, value in wb.runs_panel.list.options] == [run.run_id]
    assert wb.runs_panel.list.value == run.run_id
    assert "✓ answered" in wb.progress.value and "268 tokens" in wb.progress.value
    assert len(wb.inspector.picker.options) == len(run.events)
    assert wb.current is run and not wb.busy
    assert wb.run_button.disabled is False and wb.stop_button.disabled is True


def test_workbench_wraps_an_agent_and_is_a_displayable_widget():
    import ipywidgets as W

    bench = Workbench(demo_agent(notes=NoteStore()), prompt="What is 2 + 3?")
    try:
        assert isinstance(bench, W.VBox) and isinstance(bench.recorder, Recorder)
        assert "anb-workbench" in bench._dom_classes
        run = bench.run()
        assert "5" in run.final_answer
        assert bench.prompt.value == "What is 2 + 3?"
    finally:
        bench.close()
    with pytest.raises(TypeError, match="Recorder or a haystack Agent"):
        Workbench("not an agent")  # type: ignore[arg-type]


def test_empty_prompt_shows_an_error_and_runs_nothing(wb: Workbench, rec: Recorder):
    wb.prompt.value = "   "
    wb.run_button.click()
    assert wb.wait(TIMEOUT)
    assert rec.runs == []
    assert "Type a prompt first" in wb.progress.value


# ---- hook switches -------------------------------------------------------------------------------------------------
def test_hook_switches_are_grouped_with_docs_and_a_switched_off_hook_is_skipped(wb: Workbench, rec: Recorder):
    panel = wb.hooks_panel
    assert list(panel.toggles) == [
        ("before_run", "MemoryRetrievalHook"),
        ("before_llm", "inject_date"),
        ("before_llm", "inject_user_profile"),
        ("on_exit", "RequireToolHook"),
    ]
    texts = " ".join(c.value for c in panel.children if isinstance(c.value if hasattr(c, "value") else 0, str))
    assert "Tell the model today&#x27;s date" in texts
    assert all("anb-hook-toggle" in box._dom_classes for box in panel.toggles.values())

    panel.toggles[("before_llm", "inject_date")].value = False
    assert rec.hook_config["before_llm"]["inject_date"] is False
    run = run_clicked(wb, "What is 2 + 3?")

    rows = run.timeline.query("name == 'inject_date'")
    assert len(rows) >= 1 and set(rows["status"].astype(str)) == {"skipped"}
    skipped = [int(s) for s in rows["seq"]]
    for seq in skipped:
        assert sent_status(wb, seq) == "skipped"
    assert "Today is" not in " ".join(m.text or "" for m in run.result["messages"])


def test_set_hook_and_add_hook_update_the_sidebar(wb: Workbench, rec: Recorder):
    wb.set_hook("on_exit", "RequireToolHook", False)
    assert wb.hooks_panel.toggles[("on_exit", "RequireToolHook")].value is False

    @hook
    def shout(state: State) -> None:
        """Make the model shout."""

    assert wb.add_hook("before_llm", shout) == "shout"
    assert ("before_llm", "shout") in wb.hooks_panel.toggles
    docs = [c.value for c in wb.hooks_panel.children if isinstance(getattr(c, "value", None), str)]
    assert any("Make the model shout." in d for d in docs)


def test_replay_button_uses_the_current_switches(wb: Workbench, rec: Recorder):
    run = run_clicked(wb, "What is 2 + 3?")
    wb.hooks_panel.toggles[("before_llm", "inject_date")].value = False
    wb.tools_cached.value = True
    wb.replay_button.click()
    assert wb.wait(TIMEOUT)

    again = rec.runs[-1]
    assert again.kind == "replay" and again.parent_id == run.run_id
    assert set(again.timeline.query("name == 'inject_date'")["status"].astype(str)) == {"skipped"}
    assert wb.current is again
    assert "↳ What is 2 + 3?" in wb.runs_panel.list.options[-1][0]
    assert f"replay {again.run_id} of {run.run_id}" in wb.runs_panel.list.options[-1][0]


# ---- timeline filters ----------------------------------------------------------------------------------------------
def test_trace_view_filters_reduce_the_table_and_the_inspector_list(wb: Workbench):
    run = run_clicked(wb, WEATHER)
    trace = wb.trace
    everything = table_seqs(wb)
    assert everything == list(range(len(run.events)))

    trace.kinds = ["tool"]
    tools = [e.seq for e in run.events if e.kind == "tool"]
    assert table_seqs(wb) == tools and len(tools) < len(everything)
    assert [v for _, v in wb.inspector.picker.options] == tools

    trace.kinds = ["hook", "llm", "tool"]
    trace.search = "tokyo"
    found = table_seqs(wb)
    assert found and all("tokyo" in (run.event(s).summary or "").lower() for s in found)

    # A time brush keeps the events overlapping it; in step mode the axis is "ms since the step's start".
    trace.search = ""
    llm = next(e for e in run.events if e.kind == "llm")
    trace.brush = [llm.offset_ms, llm.offset_ms + llm.duration_ms]
    assert llm.seq in table_seqs(wb) and len(table_seqs(wb)) < len(everything)
    trace.mode = "step"
    trace.brush = [0.0, 0.0]
    firsts = {e.step: e.seq for e in reversed(run.events)}  # the first event of each step starts at 0
    assert set(firsts.values()) <= set(table_seqs(wb))

    trace.brush = []
    trace.mode = "absolute"
    assert table_seqs(wb) == everything


def test_filter_timeline_function(rec: Recorder):
    run = rec.run(WEATHER)
    frame = run.timeline
    assert len(filter_timeline(frame)) == len(frame)
    assert set(filter_timeline(frame, kind="llm")["kind"].astype(str)) == {"llm"}
    assert filter_timeline(frame, steps=(0, 0))["step"].tolist() == [0] * int((frame["step"] == 0).sum())


# ---- inspector -----------------------------------------------------------------------------------------------------
def test_inspector_shows_the_diff_and_states_of_a_picked_event(wb: Workbench):
    run = run_clicked(wb, WEATHER)
    llm = next(e for e in run.events if e.kind == "llm")

    wb.inspector.picker.value = llm.seq
    diff = wb.inspector.diff.value
    assert "+ assistant[" in diff and "get_weather(city=&#x27;Paris&#x27;)" in diff
    assert "token_usage" in diff
    assert "ScriptedChatGenerator" in wb.inspector.header.value
    assert "messages</b> (4)" in wb.inspector.before.value
    assert "messages</b> (5) *" in wb.inspector.after.value

    wb.inspector.next_button.click()
    assert wb.inspector.picker.value == llm.seq + 1
    assert "tool" in wb.inspector.header.value
    wb.inspector.prev_button.click()
    assert wb.inspector.picker.value == llm.seq

    # The programmatic way opens the tab and returns the StateDiff.
    diff = wb.inspect(llm.seq)
    assert diff.messages_added and wb.tabs.selected_index == 1


def test_inspector_shows_run_control_flow(wb: Workbench):
    run = run_clicked(wb, "What is 2 + 3?")
    flow = next(e for e in run.events if e.flow)  # RequireToolHook keeps the run going
    wb.inspector.picker.value = flow.seq
    assert "run control: continue_run" in wb.inspector.diff.value


# ---- fork editor ---------------------------------------------------------------------------------------------------
def test_fork_from_the_editor_with_an_edited_message(wb: Workbench, rec: Recorder):
    source = run_clicked(wb, "What is 2 + 3?")
    editor = wb.fork_editor
    assert editor.step.value == 0
    user_row = next(r for r in editor.rows if r.role.value == "user")
    user_row.text.value = "What is 2 + 40?"
    editor.fork_button.click()
    assert wb.wait(TIMEOUT)

    fork = rec.runs[-1]
    assert fork.kind == "fork" and fork.parent_id == source.run_id and fork.fork_step == 0
    assert "What is 2 + 40?" in [m.text for m in fork.state_at_step(0)["messages"]]
    assert "42" in fork.final_answer
    assert wb.current is fork and editor.errors == {}
    assert f"fork {rec.runs[-1].run_id} of" in wb.runs_panel.list.options[-1][0]


def test_a_fork_says_it_started_and_where_its_run_is_and_one_click_shows_it(wb: Workbench, rec: Recorder):
    wb.add_hook("before_tool", wb.confirmation_hook(["add"]))
    source = wb.run("What is 2 + 40?", wait=False)
    assert wb.wait_for_confirmation(TIMEOUT) is not None
    wb.approve()
    assert wb.wait(TIMEOUT)
    editor = wb.fork_editor
    feedback = wb.fork_pane.feedback
    assert feedback.layout.display == "none"  # nothing forked yet

    next(r for r in editor.rows if r.role.value == "user").text.value = "What is 2 + 41?"
    editor.fork_button.click()  # the fork waits for the approval of its tool call: it is live
    assert wb.wait_for_confirmation(TIMEOUT) is not None
    fork = rec.runs[-1]
    assert fork.kind == "fork" and fork.status == "running"
    note = wb.fork_pane.note.value
    assert f"Fork <b>{fork.run_id}</b> started" in note and f"of {source.run_id} @ step 0" in note
    assert "Runs tab" in note and feedback.layout.display is None
    assert wb.fork_pane.show_button.description == f"Show fork {fork.run_id}"
    wb.approve()
    assert wb.wait(TIMEOUT)
    assert f"Fork <b>{fork.run_id}</b> answered" in wb.fork_pane.note.value

    wb.view_picker.value = source.run_id  # look elsewhere, then one click brings the fork back
    wb.tabs.selected_index = 3
    assert wb.current is source
    wb.fork_pane.show_button.click()
    assert wb.current is fork and wb.timeline_panel.run is fork and wb.tabs.selected_index == 0
    assert wb.runs_panel.list.value == fork.run_id and wb.view_picker.value == fork.run_id


def test_every_run_picker_names_a_run_by_its_prompt_and_label(wb: Workbench, rec: Recorder):
    first = wb.run("What is 2 + 3?")
    again = wb.replay(first, label="no date")
    second = wb.run(WEATHER)

    def names(picker) -> dict[str, str]:
        return {value: label for label, value in picker.options}

    pickers = [wb.view_picker, wb.runs_panel.list, wb.runs_panel.compare_a, wb.runs_panel.compare_b]
    for picker in pickers:
        shown = names(picker)
        assert "What is 2 + 3?" in shown[first.run_id] and "What is 2 + 3?" in shown[again.run_id]
        assert WEATHER in shown[second.run_id]
        assert "· no date ·" in shown[again.run_id] and "no date" not in shown[first.run_id]
        assert f"replay {again.run_id} of {first.run_id}" in shown[again.run_id]
    # One name everywhere: the history only indents it under its source.
    assert names(wb.runs_panel.list)[again.run_id].endswith(names(wb.view_picker)[again.run_id])
    assert names(wb.runs_panel.compare_a) == names(wb.view_picker)


def test_fork_from_the_editor_with_a_state_key_and_message_edits(wb: Workbench, rec: Recorder):
    source = run_clicked(wb, WEATHER)
    editor = wb.fork_editor
    editor.step.value = 1
    assert json.loads(editor.state_json.value) == {"notes": None, "user_profile": None}
    editor.state_json.value = json.dumps({"notes": None, "user_profile": {"name": "Ada", "units": "celsius"}})
    n = len(editor.rows)
    editor.message_list.add_button.click()
    editor.rows[-1].text.value = "Keep it short."
    editor.rows[-1].up.click()
    assert editor.rows[-2].text.value == "Keep it short." and len(editor.rows) == n + 1
    editor.rows[-2].delete.click()
    assert len(editor.rows) == n
    editor.fork_button.click()
    assert wb.wait(TIMEOUT)

    fork = rec.runs[-1]
    assert fork.kind == "fork" and fork.parent_id == source.run_id and fork.fork_step == 1
    start = fork.state_at_step(1)
    assert start["user_profile"] == {"name": "Ada", "units": "celsius"}
    texts = [m.text or "" for m in fork.result["messages"]]
    assert any(t.startswith("User name: Ada") for t in texts)


def test_fork_with_a_replacement_reply_shows_the_edited_tool_call(wb: Workbench, rec: Recorder):
    run_clicked(wb, "What is 2 + 3?")
    editor = wb.fork_editor
    assert editor.reply_mode.value == "tool calls"
    assert json.loads(editor.reply_text.value) == [{"tool_name": "add", "arguments": {"a": 2, "b": 3}}]
    editor.reply_toggle.value = True
    editor.reply_text.value = json.dumps([{"tool_name": "add", "arguments": {"a": 2, "b": 40}}])
    editor.fork_button.click()
    assert wb.wait(TIMEOUT)

    fork = rec.runs[-1]
    tool_rows = fork.timeline.query("kind == 'tool'")
    assert "add(a=2, b=40) -> 42" in tool_rows["summary"].tolist()
    assert "add(a=2, b=40) -> 42" in sent_summaries(wb)


@pytest.mark.parametrize(
    ("field", "value", "where", "message"),
    [
        ("state", '{"user_profile": {"name": "Ada"', "state", "not valid JSON"),
        (
            "state",
            '{"user_profile": null, "notes": null, "no_such_key": 1}',
            "state",
            "unknown State key 'no_such_key'",
        ),
        ("state", '{"user_profile": "Ada", "notes": null}', "state", "must be a dict"),
        ("state", '{"user_profile": null}', "state", "cannot be removed here: notes"),
        ("state", "[1, 2]", "state", "must be a JSON object"),
        ("reply", '[{"tool_name": "add", "arguments": {"a": 2}', "reply", "not valid JSON"),
        ("reply", '[{"tool_name": "nope", "arguments": {}}]', "reply", "unknown tool 'nope'"),
        ("message", "", "messages", "Message [0] is empty"),
    ],
)
def test_an_invalid_edit_shows_its_error_runs_nothing_and_keeps_the_fields(
    wb: Workbench, rec: Recorder, field: str, value: str, where: str, message: str
):
    run_clicked(wb, "What is 2 + 3?")
    editor = wb.fork_editor
    if field == "state":
        editor.state_json.value = value
    elif field == "reply":
        editor.reply_toggle.value = True
        editor.reply_text.value = value
    else:
        editor.rows[0].text.value = value
    before = len(rec.runs)
    editor.fork_button.click()
    assert wb.wait(TIMEOUT)

    assert len(rec.runs) == before
    assert message in editor.errors.get(where, ""), editor.errors
    assert "Not forked" in editor.status.value
    field_widget = {"state": editor.state_json, "reply": editor.reply_text, "message": editor.rows[0].text}[field]
    assert field_widget.value == value
    # Fixing the field clears the error on the next try.
    editor.reload()
    editor.fork_button.click()
    assert wb.wait(TIMEOUT) and editor.errors == {} and len(rec.runs) == before + 1


def test_messages_with_tool_calls_are_locked_in_the_editor(wb: Workbench):
    run_clicked(wb, WEATHER)
    wb.fork_editor.step.value = 1
    locked = [r for r in wb.fork_editor.rows if r.locked]
    assert locked and all(r.text.disabled and r.role.disabled for r in locked)
    assert any("get_weather" in r.text.value for r in locked)


def test_fork_api_raises_invalid_edit_before_anything_runs(wb: Workbench, rec: Recorder):
    from agent_nb.replay import InvalidEdit

    run_clicked(wb, "What is 2 + 3?")
    with pytest.raises(InvalidEdit, match="unknown State key"):
        wb.fork(0, edit={"nope": 1})
    assert len(rec.runs) == 1
    fork = wb.fork(0, edit={"user_profile": {"name": "Ada"}})
    assert fork.parent_id == rec.runs[0].run_id and fork.status == "ok"


def test_fork_here_button_opens_the_editor_at_the_event_step(wb: Workbench):
    run = run_clicked(wb, WEATHER)
    event = next(e for e in run.events if e.step == 1)
    wb.inspector.picker.value = event.seq
    wb.inspector.fork_button.click()
    assert wb.fork_editor.step.value == 1 and wb.tabs.selected_index == 2


# ---- stop, errors --------------------------------------------------------------------------------------------------
def test_stop_ends_a_live_run_at_the_next_step_boundary():
    # Slow enough that a loaded machine (the browser tests beside it) cannot finish the run before Stop lands.
    slow = Recorder(demo_agent(latency_s=0.5, notes=NoteStore()))
    bench = Workbench(slow)
    try:
        full = bench.run(WEATHER)
        assert full.exit_reason == "text" and full.steps >= 3

        bench.prompt.value = WEATHER
        bench.run_button.click()
        live = bench.current
        assert live is not None and live.status == "running" and bench.stop_button.disabled is False
        assert until(lambda: any(e.kind == "llm" for e in live.events) or live.status != "running")
        bench.stop_button.click()
        assert bench.wait(TIMEOUT)

        assert live.exit_reason == "stopped_by_user" and live.status == "stopped"
        # It stopped at a step boundary: fewer completed steps and LLM calls than the same run left alone.
        assert live.result["step_count"] < full.result["step_count"]
        assert live.usage["llm_calls"] < full.usage["llm_calls"]
        assert "■ stopped by you" in bench.progress.value
    finally:
        bench.close()


def test_views_refresh_while_the_run_is_live_and_throttled():
    @hook
    def noop(state: State) -> None:
        """Does nothing (adds timeline rows)."""

    slow = Recorder(demo_agent(latency_s=0.25, notes=NoteStore()))
    for _ in range(8):
        slow.add_hook("before_llm", noop)
    bench = Workbench(slow)
    updates: list[str] = []
    # A new run goes as one full `data`, then live batches as `delta`s (tests/test_trace_view.py checks the merge).
    bench.trace.observe(lambda change: updates.append(change["new"]), names=["data", "delta"])
    try:
        live = bench.run(WEATHER, wait=False)
        # Rows show up while the Agent is still running (refreshed from the background thread).
        assert until(lambda: len(table_seqs(bench)) > 0 or live.status != "running")
        assert live.status == "running", "the run ended before the view refreshed"
        assert "● running" in bench.progress.value and "of 12" in bench.progress.value
        assert bench.wait(TIMEOUT)
        assert table_seqs(bench) == list(range(len(live.events)))
        # Throttled: far fewer sends than events (one per tick at most, plus start and end).
        ticks = (live.duration_ms or 0) / 1000 / bench.runner.interval
        assert len(updates) <= ticks + 3 and len(updates) < len(live.events) / 3
    finally:
        bench.close()


def test_a_run_that_raises_shows_its_error_and_keeps_its_partial_timeline(rec: Recorder):
    @hook
    def explode(state: State) -> None:
        """Fail on the second step."""
        if state.data.get("step_count") == 1:
            raise RuntimeError("boom <at step 1>")

    rec.add_hook("before_llm", explode)
    bench = Workbench(rec)
    try:
        run = bench.run(WEATHER)
        assert run.status == "error" and "boom" in run.error
        assert "✗ error" in bench.progress.value
        assert "RuntimeError: boom &lt;at step 1&gt;" in bench.progress.value
        assert table_seqs(bench) == list(range(len(run.events))) and len(run.events) > 3
        assert "error" in [sent_status(bench, s) for s in table_seqs(bench)]
        assert bench.trace.meta["errors"] >= 1 and "1 error" in bench.progress.value
    finally:
        bench.close()


def test_a_run_whose_hook_changed_messages_in_place_says_so_in_the_progress_line(rec: Recorder):
    @hook
    def mark_seen(state: State) -> None:
        """Mark every message as seen, in place."""
        for m in state.data["messages"]:
            m.meta["seen"] = True

    rec.add_hook("after_tool", mark_seen)
    bench = Workbench(rec)
    try:
        run = bench.run(WEATHER)
        assert run.status == "ok" and len(run.warnings) == 1
        assert "⚠" in bench.progress.value and "changed in place during the run" in bench.progress.value
        assert "snapshots=&#x27;deep&#x27;" in bench.progress.value  # the whole warning, escaped, on hover
    finally:
        bench.close()


def test_a_second_run_while_busy_is_refused(rec: Recorder):
    slow = Workbench(Recorder(demo_agent(latency_s=0.2, notes=NoteStore())))
    try:
        slow.run(WEATHER, wait=False)
        with pytest.raises(RuntimeError, match="in progress"):
            slow.run("What is 2 + 3?", wait=False)
        assert slow.run_button.disabled is True
        slow.stop()
        assert slow.wait(TIMEOUT)
    finally:
        slow.close()


# ---- human in the loop ---------------------------------------------------------------------------------------------
def test_confirmation_ui_approve_with_edited_arguments_via_the_panel(wb: Workbench, rec: Recorder):
    assert wb.add_hook("before_tool", wb.confirmation_hook(["add"])) == "ConfirmationHook"
    assert ("before_tool", "ConfirmationHook") in wb.hooks_panel.toggles
    run = wb.run("What is 2 + 40?", wait=False)
    pending = wb.wait_for_confirmation(TIMEOUT)
    assert pending is not None and pending.tool_name == "add" and pending.tool_params == {"a": 2, "b": 40}
    panel = wb.confirmation_panel
    assert panel.layout.display is None and json.loads(panel.args.value) == {"a": 2, "b": 40}
    assert "waiting for your confirmation" in wb.progress.value

    assert panel.approve_button.description == "Approve"
    panel.args.value = '{"a": 2, "b": '  # invalid: shown, nothing answered
    panel.approve_button.click()
    assert "not valid JSON" in error_text(panel.error) and wb.pending_confirmation is pending

    # One action: editing the arguments and pressing Approve approves the edited call (the label says so).
    panel.args.value = json.dumps({"a": 2, "b": 41})
    assert panel.approve_button.description == "Approve with edited arguments"
    panel.approve_button.click()
    assert panel.layout.display == "none"
    assert wb.wait(TIMEOUT)
    tools = run.timeline.query("kind == 'tool' and name == 'add'")
    assert tools["summary"].tolist() == ["add(a=2, b=41) -> 43"]
    assert "add(a=2, b=41) -> 43" in sent_summaries(wb)
    # The decision is on the ConfirmationHook's row, and its waiting time is drawn apart from hook time.
    gate = run.timeline.query("name == 'ConfirmationHook'")["seq"].tolist()
    notes = [sent_summaries(wb)[s] for s in gate]
    assert any('arguments edited: {"a": 2, "b": 40} -> {"a": 2, "b": 41}' in n for n in notes)
    assert max(wb.trace.data["wait"][s] for s in gate) > 0


def test_confirmation_ui_reject_with_feedback_shows_in_the_run(wb: Workbench):
    wb.add_hook("before_tool", wb.confirmation_hook(["add"]))
    run = wb.run("What is 2 + 40?", wait=False)
    assert wb.wait_for_confirmation(TIMEOUT) is not None
    wb.confirmation_panel.feedback.value = "no adding today"
    wb.confirmation_panel.reject_button.click()
    assert wb.wait(TIMEOUT)

    assert run.timeline.query("kind == 'tool' and name == 'add'").empty
    gate = run.timeline.query("name == 'ConfirmationHook'")
    assert "rejected" in " ".join(gate["summary"].tolist())
    assert "no adding today" in run.final_answer


def test_confirmation_api_approve_as_is(wb: Workbench):
    wb.add_hook("before_tool", wb.confirmation_hook())  # every tool, save_note included
    run = wb.run("What is 2 + 40?", wait=False)
    asked = []
    while until(lambda: wb.pending_confirmation is not None or not wb.busy) and wb.pending_confirmation:
        asked.append(wb.pending_confirmation.tool_name)
        wb.approve()
    assert wb.wait(TIMEOUT)
    assert asked == ["add", "save_note"]
    assert run.status == "ok" and "42" in run.final_answer
    with pytest.raises(ValueError, match="no tool call is waiting"):
        wb.approve()


def test_stop_releases_a_pending_confirmation(wb: Workbench):
    wb.add_hook("before_tool", wb.confirmation_hook(["add"]))
    run = wb.run("What is 2 + 40?", wait=False)
    assert wb.wait_for_confirmation(TIMEOUT) is not None
    wb.stop_button.click()
    assert wb.wait(TIMEOUT)
    assert run.exit_reason == "stopped_by_user" and wb.pending_confirmation is None


def test_confirmation_ui_times_out_as_a_rejection():
    ui = WidgetConfirmationUI(timeout=0.01)
    result = ui.get_user_confirmation("add", "Add two numbers.", {"a": 1, "b": 2})
    assert result.action == "reject" and "No answer within" in result.feedback
    assert ui.pending is None
    assert ui.to_dict()["init_parameters"] == {"timeout": 0.01}


# ---- runs, compare, export -----------------------------------------------------------------------------------------
def test_runs_list_lineage_select_and_compare(wb: Workbench, rec: Recorder):
    source = run_clicked(wb, WEATHER)
    fork = wb.fork(1, edit={"user_profile": {"name": "Ada"}})
    other = run_clicked(wb, "What is 2 + 3?")

    labels = [label for label, _ in wb.runs_panel.list.options]
    assert [v for _, v in wb.runs_panel.list.options] == [source.run_id, fork.run_id, other.run_id]
    assert labels[1].lstrip("\u00a0").startswith(f"↳ {WEATHER}"[:20])
    assert f"fork {fork.run_id} of {source.run_id} @ step 1" in labels[1]

    wb.runs_panel.list.value = source.run_id
    assert wb.current is source and table_seqs(wb) == list(range(len(source.events)))
    assert wb.view_picker.value == source.run_id

    wb.runs_panel.compare_a.value = source.run_id
    wb.runs_panel.compare_b.value = fork.run_id
    wb.runs_panel.compare_button.click()
    html = wb.runs_panel.compare_table.value
    assert "anb-first-divergence" in html and "first divergence at step 1, before_llm inject_user_profile" in html
    assert wb.runs_panel.compare_chart.value[:4] == b"\x89PNG"
    assert wb.runs_panel.compare_chart.layout.display is None

    frame = wb.compare(source, source)
    assert not frame["first_divergence"].any() and "no divergence: the runs agree" in wb.runs_panel.compare_table.value


def test_view_picker_switches_the_shown_run(wb: Workbench):
    first = run_clicked(wb, "What is 2 + 3?")
    second = run_clicked(wb, WEATHER)
    assert wb.current is second
    wb.view_picker.value = first.run_id
    assert wb.current is first and wb.inspector.run is first and wb.fork_editor.run is first


def test_export_buttons_write_csv_and_json(wb: Workbench, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run = run_clicked(wb, WEATHER)
    wb.timeline_panel.export_csv_button.click()
    csv = tmp_path / "agent_nb_exports" / f"run-{run.run_id}.csv"
    assert csv.exists() and len(csv.read_text().splitlines()) == len(run.events) + 1
    assert str(csv.relative_to(tmp_path)) in wb.timeline_panel.export_path.value
    assert "data:text/csv;base64," in wb.timeline_panel.export_path.value

    path = wb.export_json(tmp_path / "run.json")
    loaded = Run.load(path)
    assert len(loaded.events) == len(run.events) and loaded.run_id == run.run_id


# ---- rendering -----------------------------------------------------------------------------------------------------
def test_all_recorded_content_is_escaped(rec: Recorder):
    @hook
    def inject(state: State) -> None:
        """Adds markup."""
        if state.data.get("step_count") == 0 and len(state.data["messages"]) < 6:
            state.set("messages", [ChatMessage.from_system("<script>alert(1)</script>")])

    rec.add_hook("before_llm", inject)
    run = rec.run("What is 2 + 3?")
    seq = next(e.seq for e in run.events if e.name == "inject" and e.messages_added)
    pieces = [
        timeline_table_html(run.timeline),
        diff_html(run.diff(seq)),
        state_html(run.state_at(seq, "after")),
    ]
    for html in pieces:
        assert "<script>" not in html and "&lt;script&gt;" in html


def test_parse_reply_and_message_rows():
    assert parse_reply("Hello", "text").text == "Hello"
    message = parse_reply('{"tool_name": "add", "arguments": {"a": 1}}', "tool calls", ["add"])
    assert message.tool_calls[0].arguments == {"a": 1}
    with pytest.raises(EditError, match='"arguments" must be a JSON object'):
        parse_reply('[{"tool_name": "add", "arguments": 3}]', "tool calls")
    with pytest.raises(EditError, match="empty"):
        parse_reply("  ", "text")

    original = ChatMessage.from_user("hi", meta={"k": 1})
    row = MessageRow(original)
    assert row.to_message() is original
    row.role.value = "system"
    assert row.to_message().role.value == "system" and row.to_message().text == "hi"


def test_a_run_without_snapshots_says_it_cannot_be_forked():
    bench = Workbench(Recorder(demo_agent(notes=NoteStore()), snapshots="off"))
    try:
        run = bench.run("What is 2 + 3?")
        assert run.status == "ok" and table_seqs(bench) == list(range(len(run.events)))
        assert "cannot be forked" in bench.fork_editor.source.value
        assert bench.fork_editor.fork_button.disabled is True
        assert "snapshots=&#x27;off&#x27;" in bench.inspector.diff.value
        assert f"{run.result['step_count']} steps" in bench.progress.value
    finally:
        bench.close()


def test_a_failing_panel_never_leaves_the_progress_line_stale(wb: Workbench, monkeypatch, caplog):
    def broken(*_args, **_kwargs):
        raise RuntimeError("history broke")

    monkeypatch.setattr(wb.runs_panel, "refresh", broken)
    run = run_clicked(wb, "What is 2 + 3?")
    assert "✓ answered" in wb.progress.value and wb.run_button.disabled is False
    assert table_seqs(wb) == list(range(len(run.events)))
    assert "history broke" in caplog.text


def test_a_hook_object_from_the_kernel_replaces_a_slot_for_one_replay():
    from agent_nb import Recorder, Workbench, demo_agent

    class Quiet:
        """Adds nothing: a before_llm hook under development."""

        def run(self, state):
            return None

    rec = Recorder(demo_agent())
    wb = Workbench(rec)
    try:
        source = wb.run("What is 2 + 3?")
        wb.hooks_panel._namespace = lambda: {"quiet": Quiet()}
        wb.hooks_panel.swap_slot.value = ("before_llm", "inject_date")
        wb.hooks_panel.swap_name.value = "quiet"
        wb.hooks_panel.swap()
        wb.runner.wait(timeout=60)
        replay = rec.runs[-1]
        assert replay.kind == "replay" and replay.parent_id == source.run_id
        assert not any("Today is" in (m.text or "") for m in replay.result["messages"])
        assert rec.hook_slots[1].hook is not None and rec.hook_config["before_llm"]["inject_date"] is True
        wb.hooks_panel.swap_name.value = "missing"
        assert wb.hooks_panel.swap() is None and "not defined" in wb.hooks_panel.swap_status.value
    finally:
        wb.close()


@pytest.mark.slow
def test_an_executed_notebook_exported_to_html_shows_the_workbench_statically(tmp_path):
    """`jupyter nbconvert --execute --to html` saves the widget state, so its page shows the widget view (blank
    offline): the Workbench's static copy stands beside it. The notebook builder keeps the static rendering."""
    import copy
    import importlib.util
    from pathlib import Path

    import nbformat
    from nbclient import NotebookClient
    from nbconvert import HTMLExporter

    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(
            "from agent_nb import Recorder, Workbench, demo_agent\n"
            "wb = Workbench(Recorder(demo_agent()))\n"
            "run = wb.run('What is 2 + 3?')"
        ),
        nbformat.v4.new_code_cell("wb"),
    ]
    NotebookClient(nb, timeout=120, kernel_name="python3").execute()  # stores the widget state, as nbconvert does
    assert nb.metadata["widgets"]
    page, _ = HTMLExporter().from_notebook_node(copy.deepcopy(nb))
    static = page[page.index('<div class="anb-static-copy">') :]
    assert 'class="chart" src="data:image/png;base64,' in static and '<table class="anb-table">' in static
    assert "add(a=2, b=3) -&gt; 5" in static  # the run's own rows, escaped

    spec = importlib.util.spec_from_file_location("build", Path(__file__).parents[1] / "notebooks" / "build.py")
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    build.strip_widgets(nb)
    (output,) = nb.cells[1].outputs  # the copy went: the widget output's own text/html says the same
    html = output["data"]["text/html"]
    assert "application/vnd.jupyter.widget-view+json" not in output["data"] and "widgets" not in nb.metadata
    assert '<img class="chart"' in html and "add(a=2, b=3) -&gt; 5" in html and build.WIDGET_NOTE not in html

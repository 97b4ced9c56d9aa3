"""The trace view's model, through its traits: what the browser receives, filters, detail on demand, outcomes.

Also the workbench behaviours built on it (fork divergence, jump to it, close during a confirmation, the hooks
sidebar following `rec.add_hook`, unknown tokens, max_agent_steps read as such).
"""

from __future__ import annotations

import copy
import json
import threading

import pandas as pd
import pytest
from haystack.components.agents.state import State
from haystack.hooks import hook
from trace_page import synthetic_run

from agent_nb import Recorder, Run
from agent_nb.demo import NoteStore, demo_agent
from agent_nb.recording.events import TIMELINE_SCHEMA
from agent_nb.views.style import COLORS
from agent_nb.widgets import Workbench
from agent_nb.widgets.names import run_line, tokens_text
from agent_nb.widgets.trace_data import FIELDS, columns, outcome, table_columns
from agent_nb.widgets.trace_view import TraceView, axis_starts
from scenarios import until

TIMEOUT = 60
WEATHER = "Weather in Paris and Tokyo, then save a note"


@pytest.fixture
def rec() -> Recorder:
    return Recorder(demo_agent(notes=NoteStore()))


def test_columns_describe_every_event_and_decode_to_the_timeline(rec: Recorder):
    run = rec.run(WEATHER)
    view = TraceView(run)
    d, pal = view.data, view.palette
    frame = run.timeline
    assert d["n"] == len(frame) == len(d["seq"]) == len(d["summary"])
    assert d["seq"] == frame["seq"].tolist()
    assert [pal["kinds"][k] for k in d["kind"]] == frame["kind"].astype(str).tolist()
    assert [d["names"][i] for i in d["name"]] == frame["name"].tolist()
    assert [pal["statuses"][s] for s in d["status"]] == frame["status"].astype(str).tolist()
    assert d["t0"] == pytest.approx(frame["offset_ms"].tolist(), abs=1e-3)
    # The one palette, and table columns derived from the schema.
    assert pal["colors"] == COLORS
    spec = {c.name: c for c in TIMELINE_SCHEMA}
    assert all(c["label"] == spec[c["name"]].label for c in table_columns())
    # Compact: no States go up front.
    assert "before" not in json.dumps(d) and len(json.dumps(d)) / d["n"] < 200


def test_selecting_an_event_fetches_its_detail(rec: Recorder):
    run = rec.run(WEATHER)
    view = TraceView(run)
    tool = next(e for e in run.events if e.kind == "tool")
    detail = view.select(tool.seq)
    assert detail["title"] == f"#{tool.seq} tool get_weather"
    assert json.loads(detail["arguments"]) == tool.detail["arguments"]
    assert detail["result"] == tool.detail["result"]
    assert any(op == "+" and "get_weather" in text for op, _, text in detail["diff"])
    llm = next(e for e in run.events if e.kind == "llm")
    detail = view.select(llm.seq)
    assert detail["chat"][-1] == {"role": "user", "text": WEATHER}
    assert "get_weather" in detail["reply"][0]["text"]
    assert "tokens" in dict(detail["fields"])
    view.selected = -1
    assert view.detail == {}


def test_recorded_text_reaches_the_browser_only_as_data(rec: Recorder):
    @hook
    def sneaky(state: State) -> None:
        """Adds markup to the State."""
        state.set("user_profile", {"name": "<script>alert(1)</script>"})

    rec.add_hook("before_llm", sneaky)
    run = rec.run("What is 2 + 3?")
    view = TraceView(run)
    seq = next(e.seq for e in run.events if e.name == "sneaky")
    assert "<script>alert(1)</script>" in view.select(seq)["after"]  # as text: the JS sets textContent
    static = view.static_html()
    assert "<script>alert" not in static
    bundle, _ = view._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert "<img" in bundle["text/html"] and "<table" in bundle["text/html"]
    assert "<script" not in bundle["text/html"]


def test_a_large_run_has_no_row_cap_and_filters_agree():
    run = synthetic_run(2000)
    view = TraceView(run)
    assert view.data["n"] == len(run.events) == 8002
    assert len(view.visible_seqs()) == 8002
    view.kinds = ["tool"]
    assert len(view.visible_seqs()) == 2000
    view.search = "ran away"
    errors = [e.seq for e in run.events if e.error]
    assert view.visible_seqs() == errors and view.meta["errors"] == len(errors)


def test_outcomes_read_differently():
    from agent_nb.recording import Run

    assert outcome(Run(run_id="a", status="ok", result={"exit_reason": "text"}))[0] == "ok"
    assert outcome(Run(run_id="b", status="ok", result={"exit_reason": "max_agent_steps"}))[0] == "max_steps"
    assert outcome(Run(run_id="c", status="stopped", result={"exit_reason": "stopped_by_user"}))[0] == "stopped"
    assert outcome(Run(run_id="d", status="error", error="RuntimeError: x"))[0] == "error"
    run = synthetic_run(3)
    run.events[-2].flow = None
    run.events[3].status = "error"
    assert outcome(run)[0] == "tool_error"


def test_max_agent_steps_is_not_a_green_answer():
    rec = Recorder(demo_agent(notes=NoteStore(), max_agent_steps=1))
    bench = Workbench(rec)
    try:
        run = bench.run(WEATHER)
        assert run.exit_reason == "max_agent_steps"
        assert "stopped at max_agent_steps" in bench.progress.value and "✓" not in bench.progress.value
        assert bench.trace.meta["outcome"] == "max_steps"
    finally:
        bench.close()


def test_fork_shows_the_new_run_with_its_divergence_and_jump(rec: Recorder):
    bench = Workbench(rec)
    try:
        run = bench.run(WEATHER)
        fork = bench.fork(1, edit={"user_profile": {"name": "Ada", "units": "celsius"}})
        assert bench.current is fork and bench.trace.meta["run_id"] == fork.run_id
        assert bench.trace.meta["resumed"] is True and bench.trace.meta["start_step"] == 1
        mark = bench.trace.meta["divergence"]
        assert mark >= 0
        # before_run hooks were not run because the fork resumed: said so, not "switched off".
        summaries = zip(bench.trace.data["summary"], fork.events, strict=True)
        skipped = [s for s, e in summaries if e.hook_point == "before_run"]
        assert all("resumed" in s for s in skipped)
        bench.select(run)
        assert bench.jump_to_divergence(run, fork) == mark
        assert bench.trace.selected == mark and bench.trace.detail["seq"] == mark
        assert bench.prompt.value == WEATHER
        assert run_line(fork).startswith(WEATHER[:40]) and f"of {run.run_id}" in run_line(fork)
    finally:
        bench.close()


def test_close_ends_a_run_waiting_for_confirmation(rec: Recorder):
    bench = Workbench(rec)
    bench.add_hook("before_tool", bench.confirmation_hook(["add"]))
    run = bench.run("What is 2 + 40?", wait=False)
    assert bench.wait_for_confirmation(TIMEOUT) is not None
    bench.close()
    assert bench.wait(TIMEOUT) and run.status != "running"


def test_hooks_sidebar_follows_rec_add_hook_at_once_without_polling(rec: Recorder):
    bench = Workbench(rec)

    @hook
    def late(state: State) -> None:
        """Added from another cell."""

    @hook
    def later(state: State) -> None:
        """Added after the workbench was closed."""

    try:
        assert not [t for t in threading.enumerate() if t.name == "agent_nb-hooks"]  # no polling thread
        rec.add_hook("before_llm", late)  # another cell: the sidebar and the title follow at once
        assert ("before_llm", "late") in bench.hooks_panel.toggles
        assert f"{len(rec.hook_slots)} hooks" in bench.title.value
        rec.disable("before_llm", "late")
        assert bench.hooks_panel.toggles[("before_llm", "late")].value is False
        # Switching in the sidebar changes the Recorder, and the sidebar stays as the user left it.
        bench.hooks_panel.toggles[("before_llm", "late")].value = True
        assert rec.hook_config["before_llm"]["late"] is True
    finally:
        bench.close()
    # Closed: it no longer listens (the Recorder goes on without it).
    rec.add_hook("before_llm", later)
    assert ("before_llm", "later") not in bench.hooks_panel.toggles


def test_each_confirmation_decision_sits_on_the_hook_row_that_asked(rec: Recorder):
    bench = Workbench(rec)
    bench.add_hook("before_tool", bench.confirmation_hook(["get_weather", "save_note"]))
    try:
        run = bench.run(WEATHER, wait=False)
        for _ in range(10):  # answer every ask until the run ends (the model asks once per tool call)
            pending = bench.confirmation_ui.wait_pending(0.2)
            if pending is None:
                if not bench.busy:
                    break
                continue
            if pending.tool_name == "save_note":
                bench.approve(feedback="fine")
            else:
                bench.approve()
        assert bench.wait(TIMEOUT) and run.status == "ok"
        decisions = bench.confirmation_ui.decisions
        assert sorted(d.tool_name for d in decisions) == ["get_weather", "get_weather", "save_note"]
        tool_step = {e.name: e.step for e in run.events if e.kind == "tool"}
        for d in decisions:
            row = run.event(d.seq)
            # The decision names the very ConfirmationHook call that asked: same run, the step of its tool call.
            assert d.run_id == run.run_id and (row.name, row.hook_point) == ("ConfirmationHook", "before_tool")
            assert row.step == tool_step[d.tool_name]
            assert f"{d.tool_name}: {d.text()}" in bench.trace.data["summary"][d.seq]
            assert 0 < bench.trace.data["wait"][d.seq] <= row.duration_ms + 1e-3
        weather_row = {d.seq for d in decisions if d.tool_name == "get_weather"}
        assert len(weather_row) == 1 and weather_row != {d.seq for d in decisions if d.tool_name == "save_note"}
        assert "approved (feedback: fine)" in bench.trace.select(decisions[-1].seq)["note"]
        # In compare mode too, each run's rows carry their decisions and waiting time.
        bench.set_hook("before_tool", "ConfirmationHook", False)  # nobody would answer the replay's asks
        again = bench.replay(run, tools="cached", timeout=TIMEOUT)
        bench.compare(run, again)
        d = decisions[0]
        assert bench.trace.data["wait"][d.seq] > 0 and d.text() in bench.trace.data["summary"][d.seq]
    finally:
        bench.close()


def test_compare_mode_draws_two_runs_aligned_by_step_with_the_divergence(rec: Recorder):
    from agent_nb.replay import compare

    run = rec.run(WEATHER)
    fork = run.fork(1, edit={"user_profile": {"name": "Ada", "units": "celsius"}})
    frame = compare(run, fork)
    view = TraceView()
    first = view.show_compare(run, fork, frame)
    d, n_a = view.data, len(run.events)
    # Both runs' rows: run A's, then run B's, each with its own event numbers.
    assert d["n"] == n_a + len(fork.events) and d["lane"] == [0] * n_a + [1] * len(fork.events)
    assert d["num"] == [e.seq for e in run.events] + [e.seq for e in fork.events]
    # The table lists them in the alignment's order: each compared row's A event, then its B event.
    expected = [i for a, b in zip(frame["seq_a"], frame["seq_b"], strict=True)
                for i in ([int(a)] if not pd.isna(a) else []) + ([n_a + int(b)] if not pd.isna(b) else [])]  # fmt: skip
    assert view.visible_seqs() == expected
    # Aligned by step: on the absolute axis each of B's steps starts where A's same step starts.
    starts = axis_starts(d)
    for step in {e.step for e in fork.events if e.step is not None and e.step >= 0}:
        a = [starts[i] for i in range(n_a) if d["step"][i] == step]
        b = [starts[i] for i in range(n_a, d["n"]) if d["step"][i] == step]
        if a and b:
            assert min(a) == pytest.approx(min(b))
    # The first divergence is marked, and selecting it shows that event of the fork.
    mark = view.meta["divergence"]
    assert view.meta["compare"] and view.meta["runs"] == [run.run_id, fork.run_id]
    assert view.event_of(mark) == (fork, first["seq_b"]) and f"step {first['step']}" in view.meta["divergence_text"]
    detail = view.select(mark)
    assert detail["title"].startswith(f"B · {fork.run_id} · #{first['seq_b']}") and detail["seq"] == mark
    assert dict(detail["fields"])["step"] == str(first["step"])
    assert view.select(0)["title"].startswith(f"A · {run.run_id} · #0")
    # Showing one run leaves compare mode.
    view.show_run(run)
    assert "lane" not in view.data and view.meta["compare"] is False and view.data["n"] == n_a


def test_workbench_compare_opens_the_trace_view_in_compare_mode(rec: Recorder):
    bench = Workbench(rec)
    try:
        run = bench.run(WEATHER)
        fork = bench.fork(1, edit={"user_profile": {"name": "Ada"}})
        frame = bench.compare(run, fork)
        assert bench.trace.meta["runs"] == [run.run_id, fork.run_id]
        assert bench.tabs.selected_index == 0 and "<table" in bench.runs_panel.compare_table.value
        assert bench.trace.event_of(bench.trace.meta["divergence"])[1] == frame.attrs["first_divergence"]["seq_b"]
        # The inspector lists the first run's rows (the compare ids past them are the fork's).
        assert bench.timeline_panel.filtered()["seq"].tolist() == list(range(len(run.events)))
        bench.select(fork)
        assert bench.trace.meta["compare"] is False
    finally:
        bench.close()


def merge(data: dict, delta: dict) -> dict:
    """What the frontend does with a delta (trace_view.js, mergeDelta): rows from `start` replaced and appended."""
    assert data["version"] == delta["base"], "a delta applies to the copy it was made for"
    out = copy.deepcopy(data)
    for k in FIELDS:
        out[k] = out[k][: delta["start"]] + delta[k]
    out["names"] += delta["names"]
    out["flows"] += delta["flows"]
    out["n"], out["version"] = delta["n"], delta["version"]
    return out


def test_live_batches_send_only_new_and_changed_rows():
    source = synthetic_run(40)
    live = Run(run_id=source.run_id, status="running")
    view = TraceView(live)
    view.live_interval = 0.0
    fulls: list[dict] = []
    deltas: list[dict] = []
    view.observe(lambda c: fulls.append(copy.deepcopy(c["new"])), names="data")
    view.observe(lambda c: deltas.append(copy.deepcopy(c["new"])) if c["new"] else None, names="delta")
    frontend = copy.deepcopy(view.data)
    for start in range(0, 120, 30):
        live.events.extend(source.events[start : start + 30])
        assert view.refresh()
        frontend = merge(frontend, deltas[-1])
        assert deltas[-1]["start"] == start and len(deltas[-1]["seq"]) == 30  # only the new rows went
    # A row already sent changes (a tool call settles with an error): the batch starts at that row.
    changed = live.events[-3]
    changed.status, changed.error = "error", "ValueError: late"
    live.events.extend(source.events[120:125])
    assert view.refresh()
    frontend = merge(frontend, deltas[-1])
    assert deltas[-1]["start"] == changed.seq and deltas[-1]["err"][0] == 1
    live.status = "ok"
    live.events.extend(source.events[125:])
    assert view.refresh() and not view.refresh()
    frontend = merge(frontend, deltas[-1])
    # The browser's merged copy, the view's own columns and a fresh full build agree; one full send in all.
    expected = columns(live)
    assert {k: frontend[k] for k in expected} == {k: view.data[k] for k in expected} == expected
    assert fulls == [] and len(deltas) == 6
    assert view.meta["status"] == "ok" and view.data["n"] == len(source.events)
    # The same run again, its divergence to mark: no resend. Another run: one full send.
    view.show_run(live, divergence=3)
    assert fulls == [] and view.meta["divergence"] == 3
    view.show_run(source)
    assert len(fulls) == 1 and fulls[0]["n"] == len(source.events) and view.delta == {}


def test_a_live_workbench_run_reaches_the_view_as_deltas():
    @hook
    def noop(state: State) -> None:
        """Does nothing (adds timeline rows)."""

    slow = Recorder(demo_agent(latency_s=0.3, notes=NoteStore()))
    for _ in range(6):
        slow.add_hook("before_llm", noop)
    bench = Workbench(slow)
    fulls: list[dict] = []
    deltas: list[dict] = []
    bench.trace.observe(lambda c: fulls.append(copy.deepcopy(c["new"])), names="data")
    bench.trace.observe(lambda c: deltas.append(copy.deepcopy(c["new"])) if c["new"] else None, names="delta")
    try:
        run = bench.run(WEATHER)
        frontend = fulls[-1]
        for delta in deltas:
            frontend = merge(frontend, delta)
        assert len(fulls) == 1 and len(deltas) >= 2
        expected = columns(run)
        assert {k: frontend[k] for k in expected} == expected
        # Each batch carried its new rows and a few recent ones that settled, never the whole run again.
        assert sum(len(d["seq"]) for d in deltas) < 1.5 * len(run.events)
    finally:
        bench.close()


def test_unknown_tokens_read_as_question_mark(rec: Recorder):
    run = rec.run("What is 2 + 3?")
    assert tokens_text(run) != "?"
    next(e for e in run.events if e.kind == "llm").prompt_tokens = None
    assert tokens_text(run) == "?"


def test_replay_with_a_hook_object_from_the_kernel(rec: Recorder):
    @hook
    def louder_date(state: State) -> None:
        """A new implementation of inject_date."""
        from haystack.dataclasses import ChatMessage

        state.set("messages", [ChatMessage.from_system("TODAY IS A HOLIDAY")])

    bench = Workbench(rec)
    try:
        run = bench.run("What is 2 + 3?")
        again = bench.replay_with("before_llm", "inject_date", louder_date, tools="cached")
        assert again.parent_id == run.run_id
        texts = [m.text for m in again.result["messages"] if m.text]
        assert "TODAY IS A HOLIDAY" in texts and not any(t.startswith("Today is") for t in texts)
        with pytest.raises(KeyError, match="no hook slot"):
            bench.replay_with("before_llm", "no_such_hook", louder_date)
    finally:
        bench.close()


def test_a_reply_given_for_a_fork_reads_given(rec: Recorder, tmp_path):
    from haystack.dataclasses import ChatMessage

    run = rec.run("What is 2 + 3?")
    fork = run.fork(0, reply=ChatMessage.from_assistant("It is five, I promise."))

    def given(view: TraceView) -> list[int]:
        return [
            view.data["seq"][i] for i, s in enumerate(view.data["status"]) if view.palette["statuses"][s] == "given"
        ]

    view = TraceView(fork)
    assert len(given(view)) == 1
    detail = view.select(given(view)[0])
    assert detail["status"] == "given" and dict(detail["fields"])["status"].startswith("given")
    # Read from the row itself: a fork saved and loaded alone (its parent nowhere) still reads given.
    alone = Run.load(fork.save(tmp_path / "fork.json"))
    assert alone.recorder is None and given(TraceView(alone)) == given(view)
    # Served from the recording unchanged: still "cached".
    assert given(TraceView(run.replay(tools="cached"))) == []


@pytest.mark.slow
def test_nbconvert_shows_a_static_rendering(tmp_path):
    """Where no widget manager runs, the notebook still shows the run: chart image and escaped table."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(
            "from agent_nb import Recorder, Workbench, demo_agent\n"
            "from agent_nb.widgets.trace_view import TraceView\n"
            "wb = Workbench(Recorder(demo_agent()))\n"
            "run = wb.run('What is 2 + 3?')"
        ),
        nbformat.v4.new_code_cell("wb"),
        nbformat.v4.new_code_cell("TraceView(run)"),
    ]
    NotebookClient(nb, timeout=120, kernel_name="python3").execute()
    for cell in nb.cells[1:]:
        data = cell.outputs[0]["data"]
        assert "application/vnd.jupyter.widget-view+json" in data
        html = data["text/html"]
        assert '<img class="chart"' in html and "add(a=2, b=3) -&gt; 5" in html


# ---- issue 19: search everything, events in progress, tracebacks, one inspector -------------------------------------
def test_the_filter_finds_what_run_search_finds_not_only_names_and_summaries(rec: Recorder):
    run = rec.run(WEATHER)
    view = TraceView(run)
    # "Celsius" is in the memory the hook injected past its summary's cut, and in no name: found all the same.
    view.search = "Celsius"
    expected = [int(s) for s in run.search("Celsius")["seq"]]
    assert expected and view.matches == {"q": "Celsius", "ids": expected}
    assert view.visible_seqs() == expected
    assert not all("celsius" in (run.event(s).summary or "").lower() for s in expected)
    # Case-insensitive, and combined with the kind filter; an empty box shows everything again.
    view.search, view.kinds = "TOKYO", ["tool"]
    assert view.visible_seqs() == [s for s in map(int, run.search("tokyo")["seq"]) if run.event(s).kind == "tool"]
    view.search, view.kinds = "", ["hook", "llm", "tool"]
    assert view.matches == {} and len(view.visible_seqs()) == len(run.events)


def test_the_filter_searches_both_runs_in_compare_mode(rec: Recorder):
    run = rec.run(WEATHER)
    fork = run.fork(1, edit={"user_profile": {"name": "Ada", "units": "kelvin"}})
    view = TraceView()
    view.show_compare(run, fork)
    view.search = "kelvin"
    n_a = len(run.events)
    assert view.matches["ids"] == [n_a + int(s) for s in fork.search("kelvin")["seq"]]
    assert view.matches["ids"] and all(view.event_of(i)[0] is fork for i in view.visible_seqs())


def test_a_live_run_sends_its_events_in_progress_as_open_bars(rec: Recorder):
    gate, waiting = threading.Event(), threading.Event()

    @hook
    def approval(state: State) -> None:
        """Waits like a person deciding."""
        waiting.set()
        gate.wait(TIMEOUT)

    rec.add_hook("before_tool", approval)
    view = TraceView()
    view.live_interval = 0.0
    done: list[Run] = []
    worker = threading.Thread(target=lambda: done.append(rec.run("What is 2 + 3?")))
    worker.start()
    try:
        assert waiting.wait(TIMEOUT)
        live = rec.runs[-1]
        view.show_run(live)
        assert live.status == "running"
        (item,) = view.meta["open"]
        assert item["kind"] == "hook" and item["point"] == "before_tool" and item["name"] == "approval"
        assert item["step"] == 0 and 0 <= item["t0"] <= view.meta["now_ms"]
        sent = view.meta["now_ms"]
        assert until(lambda: live.in_progress()[0] > sent + 5)  # the run's clock goes on while the hook waits
        assert not any(e.name == "approval" for e in live.events)  # no row yet: it is numbered when it ends
    finally:
        gate.set()
        worker.join(TIMEOUT)
    (run,) = done
    assert run.in_progress() == (run.duration_ms, [])
    view.show_run(run)
    assert view.meta["open"] == [] and any(e.name == "approval" for e in run.events)


def test_an_llm_call_in_flight_is_in_progress():
    from agent_nb.recording import Event
    from agent_nb.recording.context import RunContext
    from agent_nb.recording.snapshots import Snapshotter

    live = Run(run_id="r")
    ctx = live._ctx = RunContext(run=live, snapshotter=Snapshotter())
    event, _ = ctx.llm_begin("Gen", [], None)
    now, open_events = live.in_progress()
    assert open_events == [event] and now >= event.offset_ms
    assert TraceView(live).meta["open"][0]["kind"] == "llm"
    ctx.llm_end(event, {"replies": []}, None)
    assert live.in_progress()[1] == [] and isinstance(live.events[0], Event)


def test_a_traceback_shows_the_users_frames_first_and_folds_the_rest(rec: Recorder):
    @hook
    def flaky(state: State) -> None:
        """Fails like a profile service down."""
        raise RuntimeError("profile service unavailable (HTTP 503)")

    rec.add_hook("after_tool", flaky)
    with pytest.raises(RuntimeError):
        rec.run("What is 2 + 3?")
    run = rec.runs[-1]  # the partial run is kept, with its error
    seq = next(e.seq for e in run.events if e.name == "flaky")
    detail = TraceView(run).select(seq)
    folded = detail["traceback_folded"]
    # The user's frames: this test calling rec.run, and the hook raising (last, as Python prints them).
    assert all(__file__ in frame for frame in folded["user"]) and "in flaky" in folded["user"][-1]
    assert len(folded["internal"]) >= 3  # agent_nb, haystack and Python frames, folded
    assert all("agent_nb/recording" not in frame for frame in folded["user"])
    assert folded["exception"] == "RuntimeError: profile service unavailable (HTTP 503)"
    assert "agent_nb" in detail["traceback"]  # the whole text stays: the pane folds it and copies it


def test_the_inspector_follows_the_trace_selection_over_every_event():
    run = synthetic_run(150)  # 602 events: more than the 500 the picker used to list
    wb = Workbench(Recorder(demo_agent(notes=NoteStore())))
    try:
        wb.select(run)  # the Workbench's inspector follows its trace view
        assert len(wb.inspector.picker.options) == len(run.events) == 602
        wb.trace.selected = 590
        assert wb.inspector.picker.value == 590 and "#590" in wb.inspector.header.value
        wb.inspector.prev_button.click()
        assert wb.trace.selected == 589 and wb.trace.detail["seq"] == 589
        wb.trace.search = "ran away"
        assert (
            [v for _, v in wb.inspector.picker.options]
            == wb.trace.visible_seqs()
            == [e.seq for e in run.events if e.error]
        )
        with pytest.raises(ValueError, match="already follows"):
            wb.inspector.follow(wb.trace)
    finally:
        wb.close()


def test_picking_an_event_in_the_followed_inspector_selects_it_in_the_trace(rec: Recorder):
    run = rec.run(WEATHER)
    trace = TraceView(run)
    from agent_nb.widgets.inspector import InspectorPanel

    panel = InspectorPanel()
    panel.follow(trace)
    panel.show_run(run)
    panel.inspect(4)  # what wb.inspect(4) does
    assert trace.selected == 4 and trace.detail["title"] == "#4 tool get_weather"


def test_a_cut_summary_is_marked_and_the_detail_shows_it_whole(rec: Recorder):
    run = rec.run(WEATHER)
    view = TraceView(run)
    memory = next(e for e in run.events if e.name == "MemoryRetrievalHook")
    row = view.data["summary"][memory.seq]
    assert "…" in row and "Celsius" not in row  # cut, and says so
    assert "prefers Celsius" in view.select(memory.seq)["summary"]  # the detail pane has the whole line
    # The row's tooltip has the whole line too; rows cut nowhere carry none (a few bytes per event).
    full = view.data["full"]
    assert "The user prefers Celsius." in full[memory.seq] and "…" not in full[memory.seq]
    assert all(f == "" for f, s in zip(full, view.data["summary"], strict=True) if "…" not in s)


def test_a_paused_live_run_shows_the_paused_event_open_its_pauses_and_its_edit_rows(rec: Recorder):
    from agent_nb.recording.events import KINDS

    rec.break_at("tool", name="add")
    live = rec.start("What is 2 + 3?")
    try:
        pause = live.wait_paused(timeout=TIMEOUT)
        assert pause is not None
        view = TraceView(live.run)
        view.live_interval = 0.0
        # The event it paused before has not run: no row, one open bar marked paused, the header says where.
        paused = view.meta["paused"]
        assert (paused["kind"], paused["at"], paused["name"], paused["step"]) == ("tool", "tool", "add", 0)
        assert paused["seq"] == pause.seq == view.data["n"] and paused["where"] == "tool add, step 0"
        assert 0 <= paused["t0"] <= view.meta["now_ms"] and paused["elapsed_ms"] >= 0
        assert view.meta["outcome"] == "paused" and view.meta["outcome_text"] == "paused before tool add, step 0"
        assert view.meta["open"] == []  # drawn once, as the paused bar

        # An edit while paused: a row of kind edit, at the pause's start, in the palette's own colour.
        live.edit(arguments={"a": 2, "b": 40})
        assert view.refresh()
        kinds = [KINDS[k] for k in view.data["kind"]]
        assert kinds[-1] == "edit" and kinds.count("edit") == 1
        assert view.data["t0"][-1] == pytest.approx(paused["t0"], abs=0.01)
        assert view.meta["paused"]["seq"] == pause.seq + 1  # still paused, before the same tool call
        edit_color = view.palette["colors"]["edit"]
        assert edit_color == COLORS["edit"] and list(COLORS.values()).count(edit_color) == 1
        assert "edit" in view.palette["order"] and view.palette["labels"]["edit"] == "edit by hand"
        view.selected = len(kinds) - 1
        assert view.detail["kind"] == "edit" and "b" in view.detail["summary"] and view.detail["diff"] == []

        rec.clear_breakpoints()
        live.resume()
        run = live.wait(timeout=TIMEOUT)
        view.refresh()
    finally:
        live.close()
    # Once it went on: nothing paused; the time paused sits on the event it paused before, in no duration.
    assert view.meta["paused"] == {} and view.meta["outcome"] == "ok"
    ((at, paused_ms),) = [(i, ms) for i, ms in enumerate(view.data["paused"]) if ms > 0]
    tool = run.event(at)
    assert (tool.kind, tool.name) == ("tool", "add") and tool.detail["arguments"] == {"a": 2, "b": 40}
    assert paused_ms == pytest.approx(sum(p["paused_ms"] for p in live.pauses), abs=0.01)
    # A view made after the run ended, from a fresh TraceView, still shows where it was paused.
    assert TraceView(run).data["paused"][at] == pytest.approx(paused_ms, abs=0.01)
    assert columns(run)["kind"].count(KINDS.index("edit")) == 1


def test_a_pause_reaches_a_view_at_once_even_right_after_a_batch(rec: Recorder):
    rec.break_at("before_llm", name="inject_date")
    live = rec.start("What is 2 + 3?")
    try:
        view = TraceView(live.run)
        view.live_interval = 3600.0  # batches throttled hard: a pause must still go at once
        pause = live.wait_paused(timeout=TIMEOUT)
        view.refresh()
        assert view.meta["paused"]["point"] == "before_llm" and view.meta["paused"]["name"] == "inject_date"
        assert view.meta["paused"]["kind"] == "hook" and view.meta["paused"]["seq"] == pause.seq
        rec.clear_breakpoints()
        live.resume()
        live.wait(timeout=TIMEOUT)
        view.refresh()
        assert view.meta["paused"] == {}
    finally:
        live.close()

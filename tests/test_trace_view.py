"""The trace view's model, through its traits: what the browser receives, filters, detail on demand, outcomes.

Also the workbench behaviours built on it (fork divergence, jump to it, close during a confirmation, the hooks
sidebar following `rec.add_hook`, unknown tokens, max_agent_steps read as such).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import pytest
from haystack.components.agents.state import State
from haystack.hooks import hook
from trace_page import synthetic_run

from agent_nb import Recorder
from agent_nb.demo import NoteStore, demo_agent
from agent_nb.recording.events import TIMELINE_SCHEMA
from agent_nb.views.style import COLORS
from agent_nb.widgets import Workbench
from agent_nb.widgets.trace_view import TraceView, outcome, table_columns
from agent_nb.widgets.workbench import run_line, tokens_text

TIMEOUT = 60
WEATHER = "Weather in Paris and Tokyo, then save a note"


def until(predicate: Callable[[], bool], timeout: float = TIMEOUT) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()


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


def test_hooks_sidebar_follows_rec_add_hook(rec: Recorder):
    bench = Workbench(rec)
    try:

        @hook
        def late(state: State) -> None:
            """Added from another cell."""

        rec.add_hook("before_llm", late)
        assert until(lambda: ("before_llm", "late") in bench.hooks_panel.toggles, 5)
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


def test_a_reply_given_for_a_fork_reads_given(rec: Recorder):
    from haystack.dataclasses import ChatMessage

    run = rec.run("What is 2 + 3?")
    fork = run.fork(0, reply=ChatMessage.from_assistant("It is five, I promise."))
    view = TraceView(fork)
    given = [i for i, s in enumerate(view.data["status"]) if view.palette["statuses"][s] == "given"]
    assert len(given) == 1
    assert view.select(view.data["seq"][given[0]])["status"] == "given"
    # Served from the recording unchanged: still "cached".
    assert "given" not in [view.palette["statuses"][s] for s in TraceView(run.replay(tools="cached")).data["status"]]


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

"""`Workbench`: the whole toolkit as one widget: run, watch, switch hooks, inspect, fork, compare, confirm.

Layout (fills the notebook's width; readable at 1366x768):

    ┌ agent_nb workbench · generator · tools · hooks ──────────────────────── view: [run ▾] ┐
    │ [prompt ........................................................] [Run] [Stop]       │
    │                                                                   [Replay] □ cached  │
    │ ▓▓▓▓░░ ● running · step 2 of 12 · 1.4 s · 268 tokens · 1 error · 14 events · run 1a2b…  │
    │ (confirmation panel, only while a tool call waits for approval)                      │
    ├ Hooks (sidebar) ──┬ [Timeline] [Inspector] [Fork] [Runs] ────────────────────────────┤
    │ before_llm        │ trace view: waterfall by step │ detail of the selected event     │
    │                   │ virtualized table of every event · export                        │
    │ ☑ inject_date     │                                                                  │
    └───────────────────┴──────────────────────────────────────────────────────────────────┘

The hook switches sit in a sidebar rather than a tab because switching a hook and running again is the loop
people repeat most. Runs execute on a background thread (the widgets stay live); the Recorder's listeners only
set flags (they run on its dispatcher thread), and a refresh thread sends the trace view new events in batches
(only the new and changed rows) at most every 0.3 s while a run is live, and once more when it ends: no view
work runs on the Agent's thread. The hooks sidebar follows `rec.add_hook` / `rec.disable` from any cell through
`rec.watch_hooks`. Compare shows two runs in the trace view, the second's bars under the first's.
The status says what happened (answered, stopped at max_agent_steps, stopped by a hook or by you, failed tool
calls, error), with the error count beside it.

Stable CSS classes (the browser test and user CSS rely on them):
- root and header: `anb-workbench`, `anb-title`, `anb-view-run`, `anb-prompt`, `anb-run-button`,
  `anb-stop-button`, `anb-replay-button`, `anb-tools-cached`, `anb-progress-bar`, `anb-progress`, `anb-tabs`;
- hooks: `anb-hooks`, `anb-hook-point`, `anb-hook-toggle` (+ `anb-hook-<point>`), `anb-hook-doc`;
- timeline: `anb-timeline`, `anb-trace` (the TraceView: `anb-tv`, `anb-tv-counts`, `anb-tv-outcome`,
  `anb-tv-search`, `anb-tv-mode`, `anb-tv-reset`, `anb-tv-jump` (jump to the divergence), `anb-tv-axis`,
  `anb-tv-scroll`, `anb-tv-detail`, table rows `anb-tv-row` with `data-seq`, `anb-kind-<kind>`,
  `anb-status-<status>`, in compare mode `anb-tv-lane-a` / `anb-tv-lane-b`, `anb-tv-differs`,
  `anb-tv-row-divergence`), `anb-export-csv`, `anb-export-json`, `anb-export-path`;
- inspector: `anb-inspector`, `anb-event-picker`, `anb-prev-button`, `anb-next-button`, `anb-fork-here-button`,
  `anb-event-header`, `anb-diff`, `anb-state-before`, `anb-state-after`;
- fork: `anb-fork`, `anb-fork-step`, `anb-message-row`, `anb-message-role`, `anb-message-text`, `anb-message-up`,
  `anb-message-down`, `anb-message-delete`, `anb-add-message`, `anb-messages-error`, `anb-state-json`,
  `anb-state-error`, `anb-reply-toggle`, `anb-reply-mode`, `anb-reply-text`, `anb-reply-error`,
  `anb-fork-tools-cached`, `anb-fork-button`, `anb-fork-reset`, `anb-fork-status`;
- runs: `anb-runs`, `anb-run-list`, `anb-run-details`, `anb-compare-a`, `anb-compare-b`, `anb-compare-button`,
  `anb-compare-error`, `anb-compare-table`, `anb-compare-chart`, `anb-compare-jump`;
- confirmation: `anb-confirmation`, `anb-confirm-args`, `anb-approve-button` (sends the edited arguments when
  they were edited), `anb-reject-button`, `anb-reject-feedback`, `anb-confirm-error`.

Usage:
    >>> from agent_nb import Recorder, Workbench, demo_agent
    >>> wb = Workbench(Recorder(demo_agent()))   # as the last line of a cell, `wb` displays it
    >>> run = wb.run("Weather in Paris and Tokyo, then save a note")
    >>> wb.set_hook("before_llm", "inject_date", False); again = wb.replay()
    >>> fork = wb.fork(1, edit={"user_profile": {"name": "Ada"}})
    >>> table = wb.compare(run, fork)
    >>> [r.kind for r in wb.runs]
    ['run', 'replay', 'fork']
    >>> wb.close()
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import ipywidgets as W
import pandas as pd
from haystack.components.agents import Agent
from haystack.dataclasses import ChatMessage
from haystack.hooks.human_in_the_loop import ConfirmationHook

from agent_nb.recording import Recorder, Run, RunSpec, as_messages
from agent_nb.recording.options import ReplayOptions, ToolsMode
from agent_nb.replay.edits import tool_names_of
from agent_nb.replay.resume import execute_spec, fork_spec, replay_spec
from agent_nb.views.html import esc, figure_png
from agent_nb.views.style import ATTENTION_COLOR, ERROR_COLOR, FALLBACK_COLOR, STATUS_COLORS
from agent_nb.widgets import export
from agent_nb.widgets.confirmation import PendingConfirmation, WidgetConfirmationUI, confirmation_hook
from agent_nb.widgets.fork_editor import ForkEditor
from agent_nb.widgets.hooks_panel import HooksPanel
from agent_nb.widgets.inspector import InspectorPanel
from agent_nb.widgets.runner import Job, Runner
from agent_nb.widgets.runs_panel import RunsPanel
from agent_nb.widgets.style import MAX_WIDTH, SIDEBAR_WIDTH, STYLESHEET, button, css, set_options
from agent_nb.widgets.timeline_panel import TimelinePanel
from agent_nb.widgets.trace_view import outcome

logger = logging.getLogger("agent_nb")

TABS = ("Timeline", "Inspector", "Fork", "Runs")
#: Events listed in the inspector's picker (the trace view's table lists every event).
INSPECTOR_ROWS = 500
#: Mark and colour per run outcome (`trace_view.outcome`): only a clean answer is a green tick.
OUTCOME_MARKS = {"running": "●", "ok": "✓", "max_steps": "⚠", "stop_run": "■", "stopped": "■", "tool_error": "⚠",
                 "error": "✗", "other": "⚠"}  # fmt: skip
OUTCOME_COLOURS = {"running": STATUS_COLORS["cached"], "ok": STATUS_COLORS["ok"], "max_steps": ATTENTION_COLOR,
                   "stop_run": ATTENTION_COLOR, "stopped": ATTENTION_COLOR, "tool_error": ERROR_COLOR,
                   "error": ERROR_COLOR, "other": ATTENTION_COLOR}  # fmt: skip


class Workbench(W.VBox):
    """The agent_nb workbench widget. `target` is a `Recorder`, or a haystack `Agent` (wrapped in a new Recorder).

    Everything the buttons do is also a method: `run`, `stop`, `wait`, `replay`, `fork`, `select`, `compare`,
    `inspect`, `set_hook`, `add_hook`, `export_csv`, `export_json`, and for human-in-the-loop
    `confirmation_hook`, `pending_confirmation`, `wait_for_confirmation`, `approve`, `reject`.

    Usage:
        >>> from agent_nb import Workbench, demo_agent
        >>> wb = Workbench(demo_agent(), prompt="What is 2 + 3?")   # `wb` as a cell's last line displays it
        >>> wb.prompt.value, wb.runs
        ('What is 2 + 3?', [])
        >>> wb.close()
    """

    def __init__(self, target: Recorder | Agent, *, prompt: str = "", max_table_rows: int | None = None) -> None:
        if isinstance(target, Recorder):
            recorder = target
        elif isinstance(target, Agent):
            recorder = Recorder(target)
        else:
            raise TypeError(f"Workbench needs a Recorder or a haystack Agent, got {type(target).__name__}")
        self.recorder = recorder
        self.max_table_rows = max_table_rows
        self.confirmation_ui = WidgetConfirmationUI()
        self._lock = threading.RLock()
        self._view: Run | None = None
        self._last_error: str | None = None
        self._notice: str = ""
        self._picking = False

        # ---- header ----
        self.title = css(W.HTML(self._title_html()), "anb-title")
        self.view_picker = css(
            W.Dropdown(
                options=[], description="view", style={"description_width": "initial"}, layout=W.Layout(width="480px")
            ),
            "anb-view-run",
        )
        self.view_picker.observe(self._view_picked, names="value")
        self.prompt = css(
            W.Textarea(
                value=prompt,
                placeholder="Ask the agent something, e.g. Weather in Paris and Tokyo, then save a note",
                layout=W.Layout(width="100%", height="64px", flex="1 1 auto"),
            ),
            "anb-prompt",
        )
        self.run_button = button("Run", "anb-run-button", style="primary", icon="play", width="100px")
        self.stop_button = button("Stop", "anb-stop-button", style="danger", icon="stop", width="100px")
        self.replay_button = button(
            "Replay", "anb-replay-button", icon="repeat", width="100px",
            tooltip="re-run the shown run with the current hook switches; LLM replies come from the recording",
        )  # fmt: skip
        self.tools_cached = css(
            W.Checkbox(value=False, description="tools cached", indent=False, layout=W.Layout(width="110px")),
            "anb-tools-cached",
        )
        self.run_button.on_click(lambda _: self._clicked(self.run, wait=False))
        self.stop_button.on_click(lambda _: self.stop())
        self.replay_button.on_click(lambda _: self._clicked(self.replay, wait=False))
        self.progress_bar = css(
            W.FloatProgress(value=0, min=0, max=1, layout=W.Layout(width="140px", height="14px")), "anb-progress-bar"
        )
        self.progress = css(W.HTML(), "anb-progress")

        # ---- panels ----
        tools = tool_names_of(recorder.agent) or []  # read without warming the user's Toolsets
        self.hooks_panel = HooksPanel(
            recorder,
            on_swap=lambda point, name, hook: self._clicked(
                self.replay_with, point=point, name=name, hook=hook, wait=False
            ),
        )
        self.inspector = InspectorPanel(on_fork=self._fork_here)  # before the timeline: it lists the timeline's rows
        # The trace view's table has no row cap (`max_table_rows` is accepted for old code and ignored).
        self.timeline_panel = TimelinePanel(on_filter=self._rows_filtered, annotate=self._annotate)
        self.trace = self.timeline_panel.trace
        self.timeline_panel.export_csv_button.on_click(lambda _: self._clicked(self.export_csv))
        self.timeline_panel.export_json_button.on_click(lambda _: self._clicked(self.export_json))
        self.fork_editor = ForkEditor(agent=recorder.agent, tool_names=tools, on_fork=self._fork_from_editor)
        self.runs_panel = RunsPanel(
            recorder, on_select=self.select, on_compare=self.compare, on_jump=self.jump_to_divergence
        )
        self.confirmation_panel = self.confirmation_ui.widget
        self.confirmation_ui.subscribe(lambda _request: self._refresh_progress())
        self.tabs = css(
            W.Tab(
                children=[self.timeline_panel, self.inspector, self.fork_editor, self.runs_panel],
                layout=W.Layout(flex="1 1 auto", min_width="0", width="auto"),
            ),
            "anb-tabs",
        )
        self.tabs.titles = TABS
        sidebar = W.VBox(
            [self.hooks_panel],
            layout=W.Layout(flex=f"0 0 {SIDEBAR_WIDTH}", width=SIDEBAR_WIDTH, padding="0 8px 0 0", min_width="0"),
        )
        header = W.VBox(
            [
                W.HBox(
                    [self.title, self.view_picker],
                    layout=W.Layout(justify_content="space-between", align_items="center", width="100%"),
                ),
                W.HBox(
                    [
                        self.prompt,
                        W.VBox(
                            [
                                W.HBox([self.run_button, self.stop_button], layout=W.Layout()),
                                W.HBox([self.replay_button, self.tools_cached], layout=W.Layout()),
                            ],
                            layout=W.Layout(flex="0 0 auto"),
                        ),
                    ],
                    layout=W.Layout(width="100%"),
                ),
                W.HBox([self.progress_bar, self.progress], layout=W.Layout(align_items="center")),
                self.confirmation_panel,
            ],
            layout=W.Layout(width="100%"),
        )
        body = W.HBox([sidebar, self.tabs], layout=W.Layout(width="100%", align_items="flex-start"))
        super().__init__(
            [W.HTML(STYLESHEET), header, body],
            layout=W.Layout(width="100%", max_width=MAX_WIDTH, padding="4px"),
        )
        css(self, "anb-workbench")

        self.runner = Runner(
            recorder, on_start=self._job_started, on_tick=self._tick, on_done=self._job_done, on_other=self._other_run
        )
        self._show(recorder.last_run)
        # `rec.add_hook` / `rec.disable` in another cell: the Recorder tells us, and the sidebar follows.
        self._unwatch_hooks = recorder.watch_hooks(self._hooks_changed)

    # ---- public API: running ---------------------------------------------------------------------------------
    @property
    def runs(self) -> list[Run]:
        """Every run of the Recorder, oldest first (a copy).

        Usage:
            >>> wb = Workbench(rec)
            >>> [r.kind for r in wb.runs]
            ['run', 'fork']
            >>> wb.close()
        """
        return list(self.recorder.runs)

    @property
    def current(self) -> Run | None:
        """The run the panels show (the live run while one runs)."""
        return self._view

    @property
    def busy(self) -> bool:
        """True while a run, replay or fork executes."""
        return self.runner.busy

    def run(
        self, prompt: str | None = None, *, wait: bool = True, timeout: float | None = None, **agent_kwargs: Any
    ) -> Run:
        """Run the Agent on `prompt` (default: the prompt box) on the background thread; returns the Run.

        `wait=True` waits for the end (at most `timeout` s); `wait=False` returns the live Run at once.
        A run that raises is returned with `run.error` set and its partial timeline (the error is shown).
        `agent_kwargs` go to `Agent.run` (e.g. `user_profile={...}`).

        In a notebook, `wait=True` keeps the cell busy, and a busy kernel does not process widget clicks: use
        `wait=False` (or the Run button) when you want to press Stop or answer a confirmation during the run.

        Usage:
            >>> wb = Workbench(rec)
            >>> wb.run("What is 2 + 3?").status
            'ok'
            >>> live = wb.run("Weather in Paris", wait=False); wb.wait(timeout=30)
            True
            >>> wb.close()
        """
        if prompt is None:
            prompt = self.prompt.value
        else:
            self.prompt.value = prompt
        if not prompt.strip():
            raise ValueError("Type a prompt first.")
        spec = RunSpec(messages=as_messages(prompt), kwargs=dict(agent_kwargs), on_start=self.runner.claim)
        job = self.runner.start(lambda: self.recorder.execute(spec), "run")
        return self._outcome(job, wait, timeout)

    def replay(
        self,
        run: Run | str | None = None,
        *,
        tools: ToolsMode | None = None,
        wait: bool = True,
        timeout: float | None = None,
        swap: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> Run:
        """Replay `run` (default: the shown run) with the current hook switches; LLM replies from the recording.

        `tools`: "live" or "cached" (default: the "tools cached" checkbox). `swap`: `{point: {name: hook}}` runs
        those hook objects in their slots instead (the hook development loop: edit a hook in a cell, replay).

        Usage:
            >>> wb = Workbench(rec); wb.select(run).run_id == run.run_id
            True
            >>> wb.set_hook("before_llm", "inject_date", False)
            >>> again = wb.replay()
            >>> again.kind, again.parent_id == run.run_id
            ('replay', True)
            >>> wb.close()
        """
        source = self._resolve(run)
        tools = tools or ("cached" if self.tools_cached.value else "live")
        hooks: dict[str, dict[str, Any]] = {p: dict(names) for p, names in self.recorder.hook_config.items()}
        for point, names in (swap or {}).items():
            for name, hook_object in names.items():
                if name not in hooks.get(point, {}):
                    raise KeyError(f"no hook slot {point}/{name}; slots: {sorted(self.recorder.hook_config)}")
                hooks[point][name] = hook_object
        spec = replay_spec(source, self.recorder, ReplayOptions(hooks=hooks, tools=tools))
        spec.on_start = self.runner.claim
        job = self.runner.start(lambda: execute_spec(self.recorder, spec), "replay")
        return self._outcome(job, wait, timeout)

    def fork(
        self,
        step: int,
        *,
        edit: Mapping[str, Any] | Callable[[dict[str, Any]], Any] | None = None,
        reply: ChatMessage | list[ChatMessage] | None = None,
        run: Run | str | None = None,
        tools: ToolsMode = "live",
        wait: bool = True,
        timeout: float | None = None,
    ) -> Run:
        """Fork `run` (default: the shown run) from the start of `step`, with the current hook switches.

        `edit` and `reply` are as for `agent_nb.replay.fork`; a bad edit raises `InvalidEdit` before anything runs.

        Usage:
            >>> wb = Workbench(rec); _ = wb.select(run)
            >>> fork = wb.fork(1, edit={"user_profile": {"name": "Ada"}})
            >>> fork.kind, fork.fork_step
            ('fork', 1)
            >>> wb.close()
        """
        source = self._resolve(run)
        # before_run hooks never run in a fork (their effect is in the State it resumes from): leave them out.
        hooks = {p: names for p, names in self.recorder.hook_config.items() if p != "before_run"}
        # Built (and validated) here, on the caller's thread: a bad edit raises before anything runs.
        options = ReplayOptions(hooks=hooks, tools=tools)
        spec = fork_spec(source, step, self.recorder, options, edit=edit, reply=reply)
        spec.on_start = self.runner.claim
        job = self.runner.start(lambda: execute_spec(self.recorder, spec), "fork")
        return self._outcome(job, wait, timeout)

    def replay_with(self, point: str, name: str, hook: Any, **kwargs: Any) -> Run:
        """Replay the shown run with `hook` (an object with `run(state)`) in slot `point`/`name` instead.

        Usage:
            >>> class NoDate:   # a hook under development: leaves the State as it is
            ...     def run(self, state):
            ...         return state
            >>> wb = Workbench(rec); _ = wb.select(run)
            >>> fixed = wb.replay_with("before_llm", "inject_date", NoDate())
            >>> fixed.kind
            'replay'
            >>> wb.close()
        """
        return self.replay(swap={point: {name: hook}}, **kwargs)

    def stop(self) -> bool:
        """Stop the live run at its next step boundary (exit_reason `stopped_by_user`); True if one was running.

        A tool call waiting for confirmation is rejected so the run can reach the boundary.

        Usage:
            >>> wb = Workbench(rec)
            >>> wb.stop()   # nothing running
            False
            >>> wb.close()
        """
        stopped = self.runner.stop()
        self.confirmation_ui.cancel()
        if stopped:
            self._notice = "stopping at the next step boundary…"
            self._refresh_progress()
        return stopped

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the background run (and the views' final refresh); True when nothing runs any more.

        Usage:
            >>> wb = Workbench(rec)
            >>> live = wb.run("What is 2 + 3?", wait=False); wb.wait(timeout=30)
            True
            >>> live.status
            'ok'
            >>> wb.close()
        """
        return self.runner.wait(timeout)

    # ---- public API: viewing ---------------------------------------------------------------------------------
    def select(self, run: Run | str) -> Run:
        """Show `run` (or a run id) in the timeline, inspector and fork editor.

        Usage:
            >>> wb = Workbench(rec)
            >>> wb.select(wb.runs[0]) is wb.current
            True
            >>> wb.close()
        """
        target = self._resolve(run)
        self._show(target)
        return target

    def inspect(self, seq: int, run: Run | str | None = None) -> Any:
        """Open the Inspector at event `seq` of `run` (default: the shown run); returns its StateDiff.

        Usage:
            >>> wb = Workbench(rec); _ = wb.select(run)
            >>> wb.inspect(3) == run.diff(3)
            True
            >>> wb.close()
        """
        if run is not None:
            self.select(run)
        with self._lock:
            self.inspector.inspect(seq)
            self.tabs.selected_index = TABS.index("Inspector")
        return self._resolve(None).diff(seq)

    def compare(self, a: Run | str, b: Run | str) -> pd.DataFrame:
        """Compare two runs: both in the trace view (b's bars under a's, aligned by step, the first divergence
        marked, a button to jump to it), and the aligned table with both charts in the Runs tab; returns the
        aligned DataFrame (`agent_nb.replay.compare`).

        Usage:
            >>> wb = Workbench(rec)
            >>> table = wb.compare(run, fork)
            >>> len(table.query("not same")) > 0, wb.trace.meta["compare"]
            (True, True)
            >>> wb.close()
        """
        from agent_nb.replay import compare
        from agent_nb.views.plot import plot_compare

        run_a, run_b = self._resolve(a), self._resolve(b)
        frame = compare(run_a, run_b)
        png = figure_png(plot_compare(run_a, run_b, alignment=frame), dpi=100)
        with self._lock:
            self.runs_panel.refresh(self._view)
            self.runs_panel.compare_a.value = run_a.run_id
            self.runs_panel.compare_b.value = run_b.run_id
            self.runs_panel.show_compare(frame, png)
            self.timeline_panel.show_compare(run_a, run_b, frame)
            self.tabs.selected_index = TABS.index("Timeline")
        return frame

    def jump_to_divergence(self, a: Run | str, b: Run | str) -> int | None:
        """Show `b` in the trace view with its first divergence from `a` marked and selected; returns its seq.

        Usage:
            >>> wb = Workbench(rec)
            >>> wb.jump_to_divergence(run, fork)
            2
            >>> wb.current is fork
            True
            >>> wb.close()
        """
        run_a, run_b = self._resolve(a), self._resolve(b)
        mark = self._divergence(run_b, parent=run_a)
        with self._lock:
            self._view = run_b
            self._show(run_b)
            if mark:
                self.timeline_panel.show_run(run_b, **mark)
                self.trace.select(mark["divergence"])
            self.tabs.selected_index = TABS.index("Timeline")
        return mark.get("divergence")

    # ---- public API: hooks -----------------------------------------------------------------------------------
    def set_hook(self, point: str, name: str, enabled: bool) -> None:
        """Switch a hook on or off for the next runs (the switch in the sidebar follows).

        Usage:
            >>> wb = Workbench(rec)
            >>> wb.set_hook("before_llm", "inject_date", False)
            >>> rec.hook_config["before_llm"]["inject_date"]
            False
            >>> wb.close()
        """
        self.recorder.set_enabled(point, name, enabled)  # the sidebar follows through rec.watch_hooks

    def add_hook(self, point: str, hook: Any, name: str | None = None) -> str:
        """Add a hook to the Recorder for the next runs and show its switch; returns its name.

        Usage:
            >>> wb = Workbench(rec)
            >>> wb.add_hook("before_tool", wb.confirmation_hook())
            'ConfirmationHook'
            >>> wb.close()
        """
        return self.recorder.add_hook(point, hook, name)  # the sidebar follows through rec.watch_hooks

    # ---- public API: human in the loop -----------------------------------------------------------------------
    def confirmation_hook(self, tools: str | list[str] = "*", policy: Any = None) -> ConfirmationHook:
        """A haystack ConfirmationHook that asks this workbench before the calls of `tools` ("*": every tool).

        Usage:
            >>> wb = Workbench(rec)
            >>> wb.add_hook("before_tool", wb.confirmation_hook(["save_note"]))
            'ConfirmationHook'
            >>> wb.close()
        """
        return confirmation_hook(self.confirmation_ui, tools, policy)

    @property
    def pending_confirmation(self) -> PendingConfirmation | None:
        """The tool call waiting for approval (tool_name, tool_description, tool_params), or None."""
        return self.confirmation_ui.pending

    def wait_for_confirmation(self, timeout: float | None = None) -> PendingConfirmation | None:
        """Wait until a tool call waits for approval (at most `timeout` s); returns it or None.

        Usage:
            >>> wb = Workbench(rec); _ = wb.add_hook("before_tool", wb.confirmation_hook(["add"]))
            >>> live = wb.run("What is 2 + 40?", wait=False)
            >>> wb.wait_for_confirmation(10).tool_params
            {'a': 2, 'b': 40}
            >>> wb.approve(); wb.wait(timeout=30)
            True
            >>> wb.close()
        """
        return self.confirmation_ui.wait_pending(timeout)

    def approve(self, arguments: dict[str, Any] | None = None, feedback: str | None = None) -> None:
        """Approve the pending tool call, with edited `arguments` if given.

        Usage:
            >>> wb = Workbench(rec); _ = wb.add_hook("before_tool", wb.confirmation_hook(["add"]))
            >>> live = wb.run("What is 2 + 40?", wait=False); _ = wb.wait_for_confirmation(10)
            >>> wb.approve(arguments={"a": 2, "b": 41}); wb.wait(timeout=30)
            True
            >>> live.timeline.query("kind == 'tool'")["summary"].iloc[0]
            'add(a=2, b=41) -> 43'
            >>> wb.close()
        """
        self.confirmation_ui.approve(arguments=arguments, feedback=feedback)

    def reject(self, feedback: str | None = None) -> None:
        """Reject the pending tool call; `feedback` reaches the model.

        Usage:
            >>> wb = Workbench(rec); _ = wb.add_hook("before_tool", wb.confirmation_hook(["add"]))
            >>> live = wb.run("What is 2 + 40?", wait=False); _ = wb.wait_for_confirmation(10)
            >>> wb.reject("not that sum"); wb.wait(timeout=30)
            True
            >>> wb.pending_confirmation is None
            True
            >>> wb.close()
        """
        self.confirmation_ui.reject(feedback)

    # ---- public API: export ----------------------------------------------------------------------------------
    def export_csv(self, path: str | Path | None = None) -> str:
        """Write the shown run's timeline as CSV (default `./agent_nb_exports/<kind>-<id>.csv`); returns the path.

        Usage:
            >>> wb = Workbench(rec); _ = wb.select(run)
            >>> wb.export_csv() == f"agent_nb_exports/run-{run.run_id}.csv"
            True
            >>> wb.close()
        """
        run = self._resolve(None)
        target = export.export_csv(run, path)
        link = export.download_link(target.read_text(encoding="utf-8"), target.name)
        self._exported(target, link)
        return str(target)

    def export_json(self, path: str | Path | None = None) -> str:
        """Save the shown run as JSON (default `./agent_nb_exports/<kind>-<id>.json`); returns the path.

        Usage:
            >>> wb = Workbench(rec); _ = wb.select(run)
            >>> Run.load(wb.export_json()).run_id == run.run_id
            True
            >>> wb.close()
        """
        target = export.export_json(self._resolve(None), path)
        self._exported(target, "")
        return str(target)

    def close(self) -> None:
        """Stop listening to the Recorder and close the widgets; a run waiting for a confirmation is ended."""
        # Defensive: ipywidgets calls close() from __del__, also on a half-built Workbench.
        runner, panel = self.__dict__.get("runner"), self.__dict__.get("confirmation_panel")
        unwatch, ui = self.__dict__.pop("_unwatch_hooks", None), self.__dict__.get("confirmation_ui")
        if unwatch is not None:
            unwatch()
        if runner is not None:
            if ui is not None and ui.pending is not None:
                # Nobody can answer any more: stop the run and reject the call it waits on.
                runner.stop()
                ui.cancel("Cancelled: the workbench was closed.")
            runner.close()
        if panel is not None:
            panel.close()
        super().close()

    def _repr_mimebundle_(self, **kwargs: Any) -> tuple[dict, dict] | dict | None:
        """The widget, plus a static rendering (chart image and escaped table of the shown run) for frontends
        with no widget manager: nbconvert, a notebook on a repository page."""
        bundle = super()._repr_mimebundle_(**kwargs)
        data, meta = bundle if isinstance(bundle, tuple) else (bundle or {}, {})
        data = dict(data)
        data["text/html"] = self.trace.static_html(max_rows=500)
        return data, meta

    def __repr__(self) -> str:
        return f"<Workbench {self.recorder!r}, showing {self._view.run_id if self._view else 'nothing'}>"

    # ---- internals: jobs -------------------------------------------------------------------------------------
    def _resolve(self, run: Run | str | None) -> Run:
        if isinstance(run, Run):
            return run
        if isinstance(run, str):
            return self.recorder.get(run)
        if self._view is None:
            raise ValueError("No run yet: run the agent first.")
        return self._view

    def _outcome(self, job: Job, wait: bool, timeout: float | None) -> Run:
        if wait:
            self.wait(timeout)
        else:
            job.started.wait(timeout if timeout is not None else 60)
            if job.run is not None:  # the views show it before we return (announced off the Agent's thread)
                job.announced.wait(timeout if timeout is not None else 60)
        if job.run is None and job.error is not None:
            raise job.error
        run = job.run or job.result
        if run is None:
            raise TimeoutError("the run did not start in time")
        return run

    def _clicked(self, action: Callable[..., Any], **kwargs: Any) -> None:
        """Button handler: run an API method and show its error instead of raising into the frontend."""
        try:
            action(**kwargs)
        except Exception as exc:
            self._last_error = f"{type(exc).__name__}: {exc}"
            self._refresh_progress()

    def _swap_clicked(self, point: str, name: str, hook: Any) -> None:
        self._clicked(self.replay_with, point=point, name=name, hook=hook, wait=False)

    def _fork_from_editor(self, *, step: int, edit: Any, reply: Any, tools: str) -> None:
        self.fork(step, edit=edit, reply=reply, tools=tools, run=self.fork_editor.run, wait=False)

    def _fork_here(self, step: int) -> None:
        with self._lock:
            self.fork_editor.select_step(step)
            self.tabs.selected_index = TABS.index("Fork")

    def _job_started(self, job: Job) -> None:
        self._last_error = None
        self._notice = ""
        self._show(job.run)

    def _job_done(self, job: Job) -> None:
        with self._lock:
            self._notice = ""
            if job.run is None and job.error is not None:
                # Failed before its run began (a bad fork edit found late): shown where the user acted.
                if job.label == "fork":
                    self.fork_editor.show_error(job.error)
                self._last_error = f"{type(job.error).__name__}: {job.error}"
            self._refresh(chart=True)
            if job.run is not None and job.run is self._view and job.run.parent_id:
                # A finished fork or replay: mark where it departs from its parent.
                mark = self._divergence(job.run)
                if mark:
                    _each([lambda: self.timeline_panel.show_run(job.run, **mark)])

    def _tick(self, chart_due: bool) -> None:
        # The history (rec.tree walks every run's events) follows at the chart's slower pace.
        self._refresh(chart=chart_due, history=chart_due)

    def _other_run(self, _run: Run) -> None:
        with self._lock:
            self.runs_panel.refresh(self._view)
            self._refresh_view_picker()

    # ---- internals: views ------------------------------------------------------------------------------------
    def _show(self, run: Run | None) -> None:
        with self._lock:
            self._view = run
            if run is not None and run.status != "running":
                # The prompt box follows the run on view, so Run repeats what you are looking at.
                prompt = run_prompt(run)
                if prompt:
                    self.prompt.value = prompt
            steps: list[Callable[[], Any]] = [
                lambda: self.inspector.show_run(run),
                # lists its rows in the inspector (_rows_filtered)
                lambda: self.timeline_panel.show_run(run, **self._divergence(run)),
                lambda: self.fork_editor.show_run(run),
            ]
            if run is not None:
                steps += [lambda: self.runs_panel.refresh(run), lambda: self.runs_panel.suggest_compare(run)]
            steps += [self._refresh_view_picker, self._refresh_progress, self._refresh_buttons]
            _each(steps)

    def _refresh(self, *, chart: bool = False, history: bool = True) -> None:
        with self._lock:
            steps: list[Callable[[], Any]] = [
                self.hooks_panel.sync,
                lambda: setattr(self.title, "value", self._title_html()),
                lambda: self.timeline_panel.refresh(chart=chart),
                self.fork_editor.refresh_steps,
            ]
            if history:
                steps += [lambda: self.runs_panel.refresh(self._view), self._refresh_view_picker]
            steps += [self._refresh_progress, self._refresh_buttons]
            _each(steps)

    def _divergence(self, run: Run | None, parent: Run | None = None) -> dict[str, Any]:
        """Where a finished fork or replay first departs from its parent (or from `parent`): the seq to mark."""
        if run is None or run.status == "running":
            return {}
        if parent is None:
            if not run.parent_id:
                return {}
            try:
                parent = self.recorder.get(run.parent_id)
            except Exception:
                return {}
        from agent_nb.replay import compare

        try:
            frame = compare(parent, run)
        except Exception:
            logger.exception("agent_nb workbench: compare for the divergence mark failed")
            return {}
        seq = _first_divergent_seq(frame)
        return {"divergence": seq, "parent": parent} if seq is not None else {}

    def _rows_filtered(self, frame: pd.DataFrame) -> None:
        # The inspector's picker is a dropdown: it lists the first rows; the trace view's table lists them all.
        self.inspector.set_rows(frame.head(INSPECTOR_ROWS))

    def _annotate(self, run: Run) -> tuple[dict[int, str], dict[int, float]]:
        """Confirmation decisions and waiting time per ConfirmationHook row of `run`.

        Each decision names the row it was made in (run id and seq of the hook call that asked: see
        `Decision.seq`); one hook call can ask about several tool calls of a step.
        """
        mine: dict[int, list[Any]] = {}
        for d in list(self.confirmation_ui.decisions):
            if d.run_id == run.run_id and d.seq is not None:
                mine.setdefault(d.seq, []).append(d)
        notes: dict[int, str] = {}
        waits: dict[int, float] = {}
        events = run.events
        for seq, decided in mine.items():
            if seq >= len(events) or events[seq].kind != "hook":
                continue  # the hook call is still running: its row comes with the next batch
            notes[seq] = "; ".join(f"{d.tool_name}: {d.text()}" for d in decided)
            waits[seq] = min(sum(d.wait_ms for d in decided), events[seq].duration_ms)
        return notes, waits

    def _hooks_changed(self) -> None:
        # Called on the thread that changed the Recorder's hooks: a broken view must not fail that call.
        try:
            with self._lock:
                self.hooks_panel.sync()
                self.title.value = self._title_html()
        except Exception:
            logger.exception("agent_nb workbench: hooks sidebar refresh failed")

    def _refresh_buttons(self) -> None:
        busy = self.runner.busy
        self.run_button.disabled = busy
        self.replay_button.disabled = busy or self._view is None
        self.stop_button.disabled = not busy
        self.fork_editor.fork_button.disabled = busy or self.fork_editor.loaded is None

    def _refresh_view_picker(self) -> None:
        options = [(run_line(r), r.run_id) for r in reversed(self.recorder.runs)]
        value = self._view.run_id if self._view is not None else None
        self._picking = True
        try:
            set_options(self.view_picker, options, value)
        finally:
            self._picking = False

    def _view_picked(self, change: dict) -> None:
        if self._picking or not change["new"]:
            return
        if self._view is None or change["new"] != self._view.run_id:
            self.select(change["new"])

    def _refresh_progress(self) -> None:
        self.progress.value = self._progress_html()
        run = self._view
        limit = getattr(self.recorder.agent, "max_agent_steps", None) or 1
        if run is None:
            self.progress_bar.value, self.progress_bar.bar_style = 0, ""
            return
        self.progress_bar.max = max(limit, 1)
        self.progress_bar.value = min(run.steps, limit) if run.status == "running" else max(limit, 1)
        self.progress_bar.bar_style = {"ok": "success", "stopped": "warning", "error": "danger"}.get(run.status, "info")

    def _progress_html(self) -> str:

        run = self._view
        parts: list[str] = []
        if run is None:
            parts.append('<span class="anb-muted">No run yet: type a prompt and press Run.</span>')
        else:
            key, text = outcome(run)
            colour = OUTCOME_COLOURS.get(key, FALLBACK_COLOR)
            mark = OUTCOME_MARKS.get(key, "●")
            parts.append(f'<b class="anb-outcome anb-outcome-{esc(key)}" style="color:{colour}">{mark} {esc(text)}</b>')
            errors = sum(1 for e in run.events if e.status == "error" or e.error)
            if errors:
                parts.append(f'<b class="anb-error-count" style="color:#c62828">{errors} error{"s" * (errors > 1)}</b>')
            limit = getattr(self.recorder.agent, "max_agent_steps", None)
            done = (run.result or {}).get("step_count")
            if run.status == "running":
                step_text = f"step {run.steps} of {limit}"
            else:
                step_text = f"{done if isinstance(done, int) else run.steps} steps"
            parts.append(esc(step_text))
            job = self.runner.job
            if run.status == "running" and job is not None and job.run is run:
                seconds = job.elapsed_s
            else:
                seconds = (run.duration_ms or 0.0) / 1000.0
            parts.append(esc(f"{seconds:.1f} s" if seconds >= 1 else f"{seconds * 1000:.0f} ms"))
            usage = run.usage  # the run's own (live) LLM calls; replies served from a recording cost nothing
            parts.append(esc(f"{tokens_text(run)} tokens"))
            if usage["cached_llm_calls"]:
                parts.append(esc(f"{usage['cached_llm_calls']} cached LLM replies"))
            parts.append(esc(f"{len(run.events)} events"))
            lineage = f"{run.kind} {run.run_id}"
            if run.parent_id:
                lineage += f" of {run.parent_id}" + (f" @ step {run.fork_step}" if run.fork_step is not None else "")
            parts.append(f'<span class="anb-muted">{esc(lineage)}</span>')
            if run.error:
                parts.append(f'<span class="anb-error-text">{esc(run.error)} (partial timeline kept)</span>')
            for warning in run.warnings:  # its first clause here, the whole text on hover and in `run.warnings`
                parts.append(
                    f'<span class="anb-warning" style="color:#ef6c00" title="{esc(warning)}">'
                    f"⚠ {esc(warning.split(':')[0])}</span>"
                )
        text = " · ".join(parts)
        if self.confirmation_ui.pending is not None:
            text += ' · <b style="color:#ef6c00">waiting for your confirmation (above)</b>'
        if self._notice:
            text += f' · <span class="anb-muted">{esc(self._notice)}</span>'
        if self._last_error and (run is None or self._last_error != run.error):
            text += f'<div class="anb-error-text">{esc(self._last_error)}</div>'
        return f"<div>{text}</div>"

    def _exported(self, target: Path, link: str) -> None:
        text = f'<span class="anb-muted">saved to</span> <code>{esc(str(target))}</code>'
        if link:
            text += f" · {link}"
        self.timeline_panel.export_path.value = text

    def _title_html(self) -> str:
        rec = self.recorder
        tools = len(tool_names_of(rec.agent) or [])
        hooks = len(rec.hook_slots)
        gen = type(rec.agent.chat_generator).__name__
        return (
            f"<b>agent_nb workbench</b> "
            f'<span class="anb-muted">{esc(gen)} · {tools} tools · {hooks} hooks · '
            f"max {getattr(rec.agent, 'max_agent_steps', '?')} steps</span>"
        )


def tokens_text(run: Run) -> str:
    """The run's own token count, or "?" when a live LLM call did not report usage (unknown is not 0).

    Usage:
        >>> tokens_text(Run(run_id="x"))
        '0'
    """
    llm = [e for e in run.events if e.kind == "llm" and e.status != "cached" and e.status != "error"]
    if any(e.prompt_tokens is None or e.completion_tokens is None for e in llm):
        return "?"
    return str(sum(e.prompt_tokens + e.completion_tokens for e in llm))


def run_prompt(run: Run) -> str:
    """The last user message of the run's input ("" when none).

    Usage:
        >>> run_prompt(Run(run_id="x", inputs={"messages": [ChatMessage.from_user("hi")]}))
        'hi'
    """
    for message in reversed((run.inputs or {}).get("messages") or []):
        if isinstance(message, ChatMessage) and message.role.value == "user" and message.text:
            return message.text
    return ""


def run_line(run: Run) -> str:
    """One line naming a run for pickers: prompt's first line, outcome, duration, tokens, lineage.

    Usage:
        >>> run_line(Run(run_id="ab12", status="ok", inputs={"messages": []}))
        '(no prompt) · answered · run ab12 · 0 tokens'
    """
    text = run_prompt(run).strip()
    prompt = text.splitlines()[0] if text else ""
    if len(prompt) > 48:
        prompt = prompt[:47] + "…"
    parts = [prompt or "(no prompt)", outcome(run)[1]]
    if run.duration_ms is not None:
        parts.append(f"{run.duration_ms / 1000:.1f} s" if run.duration_ms >= 1000 else f"{run.duration_ms:.0f} ms")
    lineage = f"{run.kind} {run.run_id}"
    if run.parent_id:
        lineage += f" of {run.parent_id}" + (f" @ step {run.fork_step}" if run.fork_step is not None else "")
    parts += [lineage, f"{tokens_text(run)} tokens"]
    return " · ".join(parts)


def _first_divergent_seq(frame: pd.DataFrame, side: str = "b") -> int | None:
    """The seq (in run `side`) of the row `compare()` marks as the first divergence, or None."""
    if frame.empty or "first_divergence" not in frame:
        return None
    rows = frame[frame["first_divergence"].fillna(False).astype(bool)]
    if rows.empty:
        return None
    seq = rows.iloc[0][f"seq_{side}"]
    return None if pd.isna(seq) else int(seq)


def _each(steps: list[Callable[[], Any]]) -> None:
    """Run each view update; one that fails is logged and the others still run (the progress line and the
    buttons must never be left stale by a broken panel)."""
    for step in steps:
        try:
            step()
        except Exception:
            logger.exception("agent_nb workbench: a view failed to refresh")


__all__ = ["Workbench"]

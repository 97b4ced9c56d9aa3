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

The Workbench is a model with panels, as the trace view is: its state sits in traits on one
`WorkbenchModel` (the run on view, busy, the pending confirmation, the last compare, ...), a `Controller` runs
the jobs and changes the model, and each panel (header, hooks, trace and inspector, fork, runs, approval,
export: `agent_nb.widgets.panels`) observes the model. The Workbench composes them and keeps the public API.

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
  `anb-fork-tools-cached`, `anb-fork-button`, `anb-fork-reset`, `anb-fork-status`, `anb-fork-started` (a fork
  that started: where its run is), `anb-fork-show` (shows it);
- runs: `anb-runs`, `anb-run-list`, `anb-run-details`, `anb-compare-a`, `anb-compare-b`, `anb-compare-button`,
  `anb-compare-error`, `anb-compare-table`, `anb-compare-chart`, `anb-compare-jump`;
- breakpoints (`agent_nb.widgets.debugger`): `anb-break-dot` (beside each hook switch; `anb-break-on` when set),
  `anb-breakpoints`, `anb-break-llm`, `anb-break-tool`, `anb-break-tool-name`, `anb-break-error`,
  `anb-break-condition`, `anb-break-condition-error`; while paused: `anb-debugger`, `anb-pause-banner`,
  `anb-continue-button`, `anb-step-button`, `anb-skip-button`, `anb-abort-button`, `anb-pause-state`,
  `anb-pause-state-error`, `anb-pause-args`, `anb-pause-args-error`, `anb-pause-llm`, `anb-apply-edits-button`,
  `anb-pause-status`;
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

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import ipywidgets as W
import pandas as pd
from haystack.components.agents import Agent
from haystack.dataclasses import ChatMessage
from haystack.hooks.human_in_the_loop import ConfirmationHook

from agent_nb.errors import InvalidArgument, InvalidType, UnknownName
from agent_nb.recording import Recorder, Run
from agent_nb.recording.options import OnMiss, ReplayOptions, ToolsMode
from agent_nb.replay.edits import tool_names_of
from agent_nb.widgets.confirmation import PendingConfirmation, WidgetConfirmationUI, confirmation_hook
from agent_nb.widgets.controller import Controller
from agent_nb.widgets.debugger import BreakpointControls, Debugger
from agent_nb.widgets.fork_editor import ForkEditor
from agent_nb.widgets.header import HeaderPanel
from agent_nb.widgets.hooks_panel import HooksPanel
from agent_nb.widgets.model import TABS, WorkbenchModel
from agent_nb.widgets.panels import ApprovalPane, ExportPane, ForkPane, HooksPane, RunsPane, TracePane
from agent_nb.widgets.runs_panel import RunsPanel
from agent_nb.widgets.static import STATIC_COPY, copy_html, headless
from agent_nb.widgets.style import MAX_WIDTH, SIDEBAR_WIDTH, STYLESHEET, css

#: Rows of the static rendering (nbconvert, a repository page): the widget itself shows every row.
STATIC_ROWS = 500


class Workbench(W.VBox):
    """The agent_nb workbench widget. `target` is a `Recorder`, or a haystack `Agent` (wrapped in a new Recorder).

    Everything the buttons do is also a method: `run`, `stop`, `wait`, `replay`, `fork`, `select`, `compare`,
    `inspect`, `set_hook`, `add_hook`, `export_csv`, `export_json`, and for human-in-the-loop
    `confirmation_hook`, `pending_confirmation`, `wait_for_confirmation`, `approve`, `reject`.
    `wb.model` holds its state (`WorkbenchModel`); the panels follow it. Breakpoints: `wb.breakpoints` (the
    sidebar's controls, `BreakpointControls`) and `wb.debugger` (the paused run: `resume`, `step`, `skip`,
    `abort`, `apply`, `wait_paused`); `wb.model.paused` is the current `Pause` or None.

    Usage:
        >>> from agent_nb import Workbench, demo_agent
        >>> wb = Workbench(demo_agent(), prompt="What is 2 + 3?")   # `wb` as a cell's last line displays it
        >>> wb.prompt.value, wb.runs
        ('What is 2 + 3?', [])
        >>> wb.close()
    """

    def __init__(self, target: Recorder | Agent, *, prompt: str = "", max_table_rows: int | None = None) -> None:
        if isinstance(target, Agent):
            target = Recorder(target)
        elif not isinstance(target, Recorder):
            raise InvalidType(f"Workbench needs a Recorder or a haystack Agent, got {type(target).__name__}")
        self.recorder, self.max_table_rows = target, max_table_rows  # no row cap any more: accepted, ignored
        self.model = model = WorkbenchModel()
        self.control = control = Controller(target, model)
        self.runner, self.confirmation_ui = control.runner, WidgetConfirmationUI()
        self.approval = ApprovalPane(self.confirmation_ui, model)
        self.confirmation_panel = self.approval.widget
        # Breakpoints: set in the sidebar (dots beside the hooks), worked in the debugger pane under the header.
        self.breakpoints, self.debugger = BreakpointControls(target), Debugger(model, target.agent)
        self.header = header = HeaderPanel(
            target, model, prompt=prompt, extra=W.VBox([self.confirmation_panel, self.debugger]),
            on_run=lambda: control.clicked(self.run, wait=False), on_stop=self.stop,
            on_replay=lambda: control.clicked(self.replay, wait=False), on_pick=self.select,
        )  # fmt: skip
        for name in ("title", "view_picker", "prompt", "run_button", "stop_button", "replay_button",
                     "tools_cached", "progress_bar", "progress"):  # fmt: skip
            setattr(self, name, getattr(header, name))
        hooks = HooksPanel(target, breaks=self.breakpoints, on_swap=lambda point, name, hook: control.clicked(
            self.replay_with, point=point, name=name, hook=hook, wait=False))  # fmt: skip
        self.hooks_panel = HooksPane(hooks, model).panel
        self.trace_pane = TracePane(model, self.confirmation_ui)
        self.inspector, self.timeline_panel = self.trace_pane.inspector, self.trace_pane.timeline
        self.trace = self.timeline_panel.trace
        self.exports = ExportPane(self.timeline_panel, model, control.resolve)
        editor = ForkEditor(agent=target.agent, tool_names=tool_names_of(target.agent) or [], on_fork=self._forked)
        # A fork's "Show it" button: the fork in the trace view.
        self.fork_pane = ForkPane(editor, model, on_show=lambda run: self.jump_to_divergence(run.parent_id, run))
        self.fork_editor, self.trace_pane.on_fork_here = editor, self.fork_pane.fork_here
        self.runs_panel = RunsPane(
            RunsPanel(target, on_select=self.select, on_compare=self.compare, on_jump=self.jump_to_divergence), model
        ).panel
        self.tabs = css(W.Tab(children=[self.timeline_panel, self.inspector, editor, self.runs_panel],
                              layout=W.Layout(flex="1 1 auto", min_width="0", width="auto")), "anb-tabs")  # fmt: skip
        self.tabs.titles = TABS
        # The tab on show and the model's `tab` follow each other (a click, or `wb.inspect` / `wb.compare`).
        self.tabs.observe(lambda change: setattr(model, "tab", TABS[change["new"] or 0]), names="selected_index")
        model.watch(lambda change: setattr(self.tabs, "selected_index", TABS.index(change["new"])), "tab")
        sidebar = W.VBox([self.breakpoints, self.hooks_panel],
                         layout=W.Layout(flex=f"0 0 {SIDEBAR_WIDTH}", width=SIDEBAR_WIDTH, padding="0 8px 0 0",
                                         min_width="0"))  # fmt: skip
        body = W.HBox([sidebar, self.tabs], layout=W.Layout(width="100%", align_items="flex-start"))
        super().__init__([W.HTML(STYLESHEET), header, body],
                         layout=W.Layout(width="100%", max_width=MAX_WIDTH, padding="4px"))  # fmt: skip
        css(self, "anb-workbench")
        model.show(target.last_run)
        # `rec.add_hook` / `rec.disable` in another cell: the Recorder tells us, and the sidebar follows.
        self._unwatch_hooks = target.watch_hooks(lambda: setattr(model, "hooks", model.hooks + 1))

    # ---- public API: state -----------------------------------------------------------------------------------
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
        return self.model.view

    @property
    def busy(self) -> bool:
        """True while a run, replay or fork executes."""
        return self.runner.busy

    # ---- public API: running ---------------------------------------------------------------------------------
    def run(
        self, prompt: str | None = None, *, wait: bool | None = None, timeout: float | None = None, **agent_kwargs: Any
    ) -> Run:
        """Run the Agent on `prompt` (default: the prompt box) on the background thread; returns the Run.

        `wait=True` waits for the end (at most `timeout` s); `wait=False` returns the live Run at once. By
        default it waits, unless breakpoints are set (`rec.break_at`, the dots and boxes in the sidebar): then
        the run goes through `rec.start` and returns at once, so the kernel is free for the debugger pane
        (Continue / Step / Skip / Abort, Apply edits; `wb.debugger` does the same from code).
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
            raise InvalidArgument("Type a prompt first.")
        if wait is None:
            wait = not self.recorder.breakpoints
        return self.control.outcome(self.control.run(prompt, agent_kwargs), wait, timeout)

    def replay(
        self,
        run: Run | str | None = None,
        *,
        tools: ToolsMode | None = None,
        on_miss: OnMiss = "live",
        label: str = "",
        wait: bool = True,
        timeout: float | None = None,
        swap: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> Run:
        """Replay `run` (default: the shown run) with the current hook switches; LLM replies from the recording.

        `tools`: "live" or "cached" (default: the "tools cached" checkbox); `on_miss` and `label` as for
        `agent_nb.replay.replay`. `swap`: `{point: {name: hook}}` runs those hook objects in their slots instead
        (the hook development loop: edit a hook in a cell, replay).

        Usage:
            >>> wb = Workbench(rec); wb.select(run).run_id == run.run_id
            True
            >>> wb.set_hook("before_llm", "inject_date", False)
            >>> again = wb.replay()
            >>> again.kind, again.parent_id == run.run_id
            ('replay', True)
            >>> wb.close()
        """
        source = self.control.resolve(run)
        hooks: dict[str, dict[str, Any]] = {p: dict(names) for p, names in self.recorder.hook_config.items()}
        for point, names in (swap or {}).items():
            for name, hook_object in names.items():
                if name not in hooks.get(point, {}):
                    raise UnknownName(f"no hook slot {point}/{name}; slots: {sorted(self.recorder.hook_config)}")
                hooks[point][name] = hook_object
        tools = tools or ("cached" if self.tools_cached.value else "live")
        options = ReplayOptions(hooks=hooks, tools=tools, on_miss=on_miss, label=label)
        return self.control.outcome(self.control.replay(source, options), wait, timeout)

    def fork(
        self,
        step: int,
        *,
        edit: Mapping[str, Any] | Callable[[dict[str, Any]], Any] | None = None,
        reply: ChatMessage | list[ChatMessage] | None = None,
        run: Run | str | None = None,
        tools: ToolsMode = "live",
        on_miss: OnMiss = "live",
        label: str = "",
        wait: bool = True,
        timeout: float | None = None,
    ) -> Run:
        """Fork `run` (default: the shown run) from the start of `step`, with the current hook switches.

        `edit`, `reply`, `on_miss` and `label` are as for `agent_nb.replay.fork`; a bad edit raises
        `InvalidEdit` before anything runs. The Fork tab says the fork started and where its run is.

        Usage:
            >>> wb = Workbench(rec); _ = wb.select(run)
            >>> fork = wb.fork(1, edit={"user_profile": {"name": "Ada"}})
            >>> fork.kind, fork.fork_step
            ('fork', 1)
            >>> wb.close()
        """
        source = self.control.resolve(run)
        # before_run hooks never run in a fork (their effect is in the State it resumes from): leave them out.
        hooks = {p: names for p, names in self.recorder.hook_config.items() if p != "before_run"}
        options = ReplayOptions(hooks=hooks, tools=tools, on_miss=on_miss, label=label)
        return self.control.outcome(self.control.fork(source, step, edit, reply, options), wait, timeout)

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
        stopped = self.control.stop()
        self.confirmation_ui.cancel()
        if stopped:
            self.model.notice = "stopping at the next step boundary…"
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
        target = self.control.resolve(run)
        self.model.show(target)
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
        with self.model.lock:
            self.inspector.inspect(seq)
            self.model.tab = "Inspector"
        return self.control.resolve(None).diff(seq)

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
        return self.control.compare(self.control.resolve(a), self.control.resolve(b))

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
        run_a, run_b = self.control.resolve(a), self.control.resolve(b)
        mark = self.control.divergence(run_b, parent=run_a)
        with self.model.lock:
            self.model.show(run_b, mark)
            if mark:
                self.trace.select(mark["divergence"])
            self.model.tab = "Timeline"
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
        return self.exports.csv(path)

    def export_json(self, path: str | Path | None = None) -> str:
        """Save the shown run as JSON (default `./agent_nb_exports/<kind>-<id>.json`); returns the path.

        Usage:
            >>> wb = Workbench(rec); _ = wb.select(run)
            >>> Run.load(wb.export_json()).run_id == run.run_id
            True
            >>> wb.close()
        """
        return self.exports.json(path)

    # ---- widget ----------------------------------------------------------------------------------------------
    def close(self) -> None:
        """Stop listening to the Recorder and close the widgets; a run waiting for a confirmation is ended."""
        # Defensive: ipywidgets calls close() from __del__, also on a half-built Workbench.
        control, approval = self.__dict__.get("control"), self.__dict__.get("approval")
        unwatch, ui = self.__dict__.pop("_unwatch_hooks", None), self.__dict__.get("confirmation_ui")
        if unwatch is not None:
            unwatch()
        if control is not None:
            if ui is not None and ui.pending is not None:
                # Nobody can answer any more: stop the run and reject the call it waits on.
                control.runner.stop()
                ui.cancel("Cancelled: the workbench was closed.")
            control.close()
        if approval is not None:
            approval.close()
        super().close()

    def _repr_mimebundle_(self, **kwargs: Any) -> tuple[dict, dict] | dict | None:
        """The widget, plus its static rendering as text/html (chart image and escaped table of the shown run)
        for frontends with no widget manager: nbconvert, a notebook on a repository page."""
        bundle = super()._repr_mimebundle_(**kwargs)
        data, meta = bundle if isinstance(bundle, tuple) else (bundle or {}, {})
        return {**data, "text/html": self.trace.static_html(max_rows=STATIC_ROWS)}, meta

    def _ipython_display_(self) -> None:
        """The display bundle; run headless (nbconvert, papermill, Voila), also the static rendering as an output
        of its own, which nbconvert's HTML shows when it picks the (offline blank) widget view: see `static`."""
        from IPython.display import display

        data, meta = self._repr_mimebundle_()
        display(data, metadata=meta, raw=True)
        if headless():
            display({"text/html": copy_html(data["text/html"])}, metadata={STATIC_COPY: True}, raw=True)

    def __repr__(self) -> str:
        view = self.model.view if "model" in self.__dict__ else None
        return f"<Workbench {self.recorder!r}, showing {view.run_id if view else 'nothing'}>"

    def _forked(self, *, step: int, edit: Any, reply: Any, tools: ToolsMode) -> None:
        # The fork editor's Fork button: the fork of the run it edits, not waiting (the kernel stays free).
        self.fork(step, edit=edit, reply=reply, tools=tools, run=self.fork_editor.run, wait=False)

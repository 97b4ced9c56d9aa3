"""The Workbench's panels, each a small class that observes the `WorkbenchModel` and drives its widgets.

- `TracePane`: the trace view and the inspector (the run on view, its divergence mark, live batches, compare);
- `ForkPane`: the fork editor, and the feedback of a fork that started: where its run is, one click to show it;
- `RunsPane`: the run history and the compare pickers;
- `HooksPane`: the hook switches (they follow `rec.add_hook` / `rec.disable` from any cell);
- `ApprovalPane`: the pending tool call, into the model;
- `ExportPane`: the CSV / JSON export of the run on view.

Usage:
    >>> from agent_nb.widgets.model import WorkbenchModel
    >>> from agent_nb.widgets.runs_panel import RunsPanel
    >>> model = WorkbenchModel(); pane = RunsPane(RunsPanel(rec), model)
    >>> model.show(fork); pane.panel.list.value == fork.run_id, pane.panel.compare_a.value == run.run_id
    (True, True)
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import ipywidgets as W

import agent_nb.widgets.export as export
from agent_nb.recording import Run
from agent_nb.views.html import esc
from agent_nb.widgets.confirmation import WidgetConfirmationUI
from agent_nb.widgets.fork_editor import ForkEditor
from agent_nb.widgets.hooks_panel import HooksPanel
from agent_nb.widgets.inspector import InspectorPanel
from agent_nb.widgets.model import WorkbenchModel
from agent_nb.widgets.names import lineage, run_line
from agent_nb.widgets.runs_panel import RunsPanel
from agent_nb.widgets.style import button, css, show
from agent_nb.widgets.timeline_panel import TimelinePanel
from agent_nb.widgets.trace_data import outcome


def marked(model: WorkbenchModel) -> dict[str, Any]:
    """The model's divergence mark as the trace view's keywords, when it belongs to the run on view.

    Usage:
        >>> from agent_nb.widgets.model import WorkbenchModel
        >>> model = WorkbenchModel(); model.show(fork, {"run": fork, "divergence": 2, "parent": run})
        >>> sorted(marked(model))
        ['divergence', 'parent']
    """
    mark = model.mark
    if not mark or mark.get("run") is not model.view:
        return {}
    return {"divergence": mark["divergence"], "parent": mark["parent"]}


def decision_notes(ui: WidgetConfirmationUI, run: Run) -> tuple[dict[int, str], dict[int, float]]:
    """Confirmation decisions and waiting time per ConfirmationHook row of `run` (the trace view's `annotate`).

    Each decision names the row it was made in (run id and seq of the hook call that asked: see
    `Decision.seq`); one hook call can ask about several tool calls of a step.

    Usage:
        >>> decision_notes(WidgetConfirmationUI(), run)
        ({}, {})
    """
    mine: dict[int, list[Any]] = {}
    for d in list(ui.decisions):
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


class TracePane:
    """The trace view (with the export row) and the inspector, following the model."""

    def __init__(self, model: WorkbenchModel, ui: WidgetConfirmationUI) -> None:
        self.model = model
        self.inspector = InspectorPanel(on_fork=self._fork_here)
        self.timeline = TimelinePanel(annotate=lambda run: decision_notes(ui, run))
        # One inspector: it shares the trace view's selection and lists every row the trace's table shows.
        self.inspector.follow(self.timeline.trace)
        self.on_fork_here: Callable[[int], Any] | None = None
        model.watch(self._view, "view")
        model.watch(self._mark, "mark")
        model.watch(lambda change: self.timeline.refresh(chart=change["new"].chart), "refresh")
        model.watch(self._compared, "compared")
        # A pause sends no batch (the run waits): the trace view is told at once, to draw the paused event.
        model.watch(lambda _: self.timeline.refresh(), "paused")

    def _view(self, change: dict) -> None:
        self.inspector.show_run(change["new"])
        self.timeline.show_run(change["new"], **marked(self.model))

    def _mark(self, _change: dict) -> None:
        mark = marked(self.model)
        if mark:
            self.timeline.show_run(self.model.view, **mark)

    def _compared(self, change: dict) -> None:
        done = change["new"]
        if done is not None:
            self.timeline.show_compare(done.a, done.b, done.frame)

    def _fork_here(self, step: int) -> None:
        if self.on_fork_here is not None:
            self.on_fork_here(step)


class ForkPane:
    """The fork editor, and a line saying a fork started, where its run is, with a button that shows it.

    `on_show(run)` is what the button does (the Workbench selects the run and shows the Timeline tab)."""

    def __init__(self, editor: ForkEditor, model: WorkbenchModel, on_show: Callable[[Run], Any]) -> None:
        self.editor, self.model, self.on_show = editor, model, on_show
        self.fork: Run | None = None
        self.note = css(W.HTML(), "anb-fork-started")
        self.show_button = button("Show it", "anb-fork-show", icon="eye", width="auto")
        self.show_button.on_click(lambda _: self.fork is not None and self.on_show(self.fork))
        self.feedback = W.HBox(
            [self.note, self.show_button], layout=W.Layout(align_items="center", flex_flow="row wrap")
        )
        show(self.feedback, False)
        editor.children = (self.feedback, *editor.children)
        model.watch(lambda change: self._enable(editor.show_run(change["new"])), "view")
        model.watch(lambda _: self._enable(editor.refresh_steps()), "refresh")
        model.watch(self._started, "started")
        model.watch(self._busy, "busy")

    def _enable(self, _: Any = None) -> None:
        # One fork at a time; the editor enables its button whenever it loads a step.
        self.editor.fork_button.disabled = self.model.busy or self.editor.loaded is None

    def fork_here(self, step: int) -> None:
        """Open the editor at `step` of the shown run (the inspector's "Fork here")."""
        self.editor.select_step(step)
        self.model.tab = "Fork"

    def _started(self, change: dict) -> None:
        run = change["new"]
        if run is not None and run.kind == "fork":
            self.fork = run
            self._say()

    def _busy(self, change: dict) -> None:
        busy, job = change["new"], self.model.job
        self._enable()
        if busy or job is None or job.label != "fork":
            return
        if job.run is None and job.error is not None:
            self.editor.show_error(job.error)  # failed before its run began: shown where the user acted
        elif job.run is self.fork:
            self._say()

    def _say(self) -> None:
        fork = self.fork
        assert fork is not None
        if fork.status == "running":
            head = f"Fork <b>{esc(fork.run_id)}</b> started"
        else:
            head = f"Fork <b>{esc(fork.run_id)}</b> {esc(outcome(fork)[1])} · {len(fork.events)} events"
        where = f"{esc(lineage(fork))}; it is in the view picker and in the Runs tab under run {esc(fork.parent_id)}"
        self.note.value = f'<span class="anb-fork-note">✓ {head}: {where}.</span>'
        self.show_button.description = f"Show fork {fork.run_id}"
        self.show_button.tooltip = run_line(fork)
        show(self.feedback, True)


class RunsPane:
    """The history and compare pickers, following the run on view, the live refreshes and the last compare."""

    def __init__(self, panel: RunsPanel, model: WorkbenchModel) -> None:
        self.panel, self.model = panel, model
        model.watch(self._view, "view")
        model.watch(lambda change: change["new"].history and panel.refresh(model.view), "refresh")
        model.watch(self._compared, "compared")

    def _view(self, change: dict) -> None:
        run = change["new"]
        if run is not None:
            self.panel.refresh(run)
            self.panel.suggest_compare(run)

    def _compared(self, change: dict) -> None:
        done = change["new"]
        if done is None:
            return
        self.panel.refresh(self.model.view)
        self.panel.compare_a.value = done.a.run_id
        self.panel.compare_b.value = done.b.run_id
        self.panel.show_compare(done.frame, done.png)


class HooksPane:
    """The hook switches, in step with the Recorder (`model.hooks` is bumped when its hooks change)."""

    def __init__(self, panel: HooksPanel, model: WorkbenchModel) -> None:
        self.panel = panel
        model.watch(lambda _: panel.sync(), "hooks", "refresh")


class ApprovalPane:
    """Puts the tool call waiting for approval into the model (the panel itself listens to the UI)."""

    def __init__(self, ui: WidgetConfirmationUI, model: WorkbenchModel) -> None:
        self.ui, self.widget = ui, ui.widget
        self._unsubscribe = ui.subscribe(lambda request: setattr(model, "pending", request))

    def close(self) -> None:
        """Stop listening; a run waiting on a confirmation is ended by its caller."""
        self._unsubscribe()
        self.widget.close()


class ExportPane:
    """The export buttons of the timeline: CSV of the timeline, JSON of the whole run (`Run.load` reads it)."""

    def __init__(self, timeline: TimelinePanel, model: WorkbenchModel, resolve: Callable[[Any], Run]) -> None:
        self.path_label, self.resolve = timeline.export_path, resolve
        timeline.export_csv_button.on_click(lambda _: self._clicked(self.csv, model))
        timeline.export_json_button.on_click(lambda _: self._clicked(self.json, model))

    def csv(self, path: str | Path | None = None) -> str:
        """Write the shown run's timeline as CSV; returns the path (a download link is shown beside it)."""
        target = export.export_csv(self.resolve(None), path)
        self._saved(target, export.download_link(target.read_text(encoding="utf-8"), target.name))
        return str(target)

    def json(self, path: str | Path | None = None) -> str:
        """Save the shown run as JSON; returns the path."""
        target = export.export_json(self.resolve(None), path)
        self._saved(target, "")
        return str(target)

    def _saved(self, target: Path, link: str) -> None:
        text = f'<span class="anb-muted">saved to</span> <code>{esc(str(target))}</code>'
        self.path_label.value = text + (f" · {link}" if link else "")

    @staticmethod
    def _clicked(action: Callable[[], str], model: WorkbenchModel) -> None:
        try:
            action()
        except Exception as exc:
            model.fail(exc)

"""`RunsPanel`: the run history with lineage, and the compare view of two runs.

The history lists every run of the Recorder, indented under the run it replays or forks (from `rec.tree`),
named as every picker names a run (`names.run_line`: prompt, label, outcome, lineage); picking one shows it in
the other tabs. Compare aligns two runs (`agent_nb.replay.compare`): a table with
differing rows tinted and the first divergence marked, and both charts on one time axis (`plot_compare`).

CSS classes: `anb-runs`, `anb-run-list`, `anb-run-details`, `anb-compare-a`, `anb-compare-b`,
`anb-compare-button`, `anb-compare-table`, `anb-compare-chart`.

Usage:
    >>> picked = []
    >>> panel = RunsPanel(rec, on_select=picked.append, on_compare=lambda a, b: None)
    >>> [run_id for _, run_id in panel.list.options] == [run.run_id, fork.run_id]   # the fork under its run
    True
    >>> panel.list.value = fork.run_id; picked == [fork]
    True
    >>> again = rec.run("What is 2 + 3?"); panel.refresh(); len(panel.list.options)
    3
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ipywidgets as W
import pandas as pd

from agent_nb.recording import Recorder, Run
from agent_nb.views.html import compare_table_html, esc
from agent_nb.widgets.names import run_line
from agent_nb.widgets.style import button, css, error_label, section_title, set_error, set_options, show

NBSP = "\u00a0"


def run_label(run: Run, depth: int = 0) -> str:
    """One line of the history: `run_line` (prompt, label, outcome, lineage, ...), indented by lineage depth.

    Usage:
        >>> run_label(fork, depth=1).strip(NBSP).startswith("↳ ")
        True
    """
    return (NBSP * 3 * depth) + ("↳ " if depth else "") + run_line(run)


def lineage_order(tree: pd.DataFrame) -> list[int]:
    """Row positions of `rec.tree` ordered so each run follows its parent (depth-first, oldest first).

    Usage:
        >>> t = pd.DataFrame({"run_id": ["a", "b", "c"], "parent_id": [None, None, "a"]})
        >>> lineage_order(t)
        [0, 2, 1]
    """
    ids = list(tree["run_id"])
    children: dict[Any, list[int]] = {}
    for i, parent in enumerate(tree["parent_id"]):
        key = parent if isinstance(parent, str) and parent in ids else None
        children.setdefault(key, []).append(i)
    order: list[int] = []

    def visit(key: Any) -> None:
        for i in children.get(key, []):
            order.append(i)
            visit(ids[i])

    visit(None)
    return order


class RunsPanel(W.VBox):
    """Run history with lineage, and compare.

    `on_select(run)` when a run is picked; `on_compare(a, b)` when Compare is clicked.

    Usage:
        >>> compared = []
        >>> panel = RunsPanel(rec, on_compare=lambda a, b: compared.append((a.kind, b.kind)))
        >>> panel.compare_a.value, panel.compare_b.value = run.run_id, fork.run_id
        >>> panel.compare_button.click(); compared
        [('run', 'fork')]
    """

    def __init__(
        self,
        recorder: Recorder,
        *,
        on_select: Callable[[Run], None] | None = None,
        on_compare: Callable[[Run, Run], Any] | None = None,
        on_jump: Callable[[Run, Run], Any] | None = None,
    ) -> None:
        self.recorder = recorder
        self.on_select = on_select
        self.on_compare = on_compare
        self.on_jump = on_jump
        self._syncing = False
        self._options: list[tuple[str, str]] = []
        self.list = css(W.Select(options=[], rows=8, layout=W.Layout(width="100%")), "anb-run-list")
        self.list.observe(self._picked, names="value")
        self.details = css(W.HTML(), "anb-run-details")
        self.compare_a = _run_picker("A", "anb-compare-a")
        self.compare_b = _run_picker("B", "anb-compare-b")
        self.compare_button = button("Compare", "anb-compare-button", style="info", icon="columns", width="120px")
        self.compare_button.on_click(lambda _: self._compare_clicked())
        self.jump_button = button(
            "Jump to the divergence", "anb-compare-jump", icon="crosshairs", width="190px",
            tooltip="show B in the trace view with its first divergence from A marked and selected",
        )  # fmt: skip
        self.jump_button.on_click(lambda _: self._jump_clicked())
        self.compare_error = error_label("anb-compare-error")
        self.compare_table = css(W.HTML(), "anb-compare-table")
        self.compare_chart = css(W.Image(format="png", layout=W.Layout(width="100%")), "anb-compare-chart")
        show(self.compare_chart, False)
        table_box = W.Box([self.compare_table], layout=W.Layout(max_height="360px", overflow="auto", width="100%"))
        super().__init__(
            [
                section_title("History", hint="replays and forks sit under their source; pick one to view it"),
                self.list,
                self.details,
                section_title("Compare two runs", hint="aligned by step, kind, hook point and name"),
                W.HBox(
                    [self.compare_a, self.compare_b, self.compare_button, self.jump_button],
                    layout=W.Layout(align_items="center", flex_flow="row wrap"),
                ),
                self.compare_error,
                self.compare_chart,
                table_box,
            ],
            layout=W.Layout(width="100%"),
        )
        css(self, "anb-runs")
        self.refresh()

    def refresh(self, selected: Run | None = None) -> None:
        """Rebuild the history from `rec.tree` (only if it changed) and mark `selected`."""
        tree = self.recorder.tree
        runs = {run.run_id: run for run in self.recorder.runs}
        rows = [(str(tree.iloc[i]["run_id"]), int(tree.iloc[i]["depth"])) for i in lineage_order(tree)]
        options = [(run_label(runs[run_id], depth), run_id) for run_id, depth in rows if run_id in runs]
        self._syncing = True
        try:
            ids = [value for _, value in options]
            if options != self._options:
                self._options = options
                plain = [(run_line(runs[value]), value) for _, value in options]  # the same name, not indented
                for box in (self.compare_a, self.compare_b):
                    set_options(box, plain, box.value)
            wanted = selected.run_id if selected is not None and selected.run_id in ids else self.list.value
            set_options(self.list, options, wanted if wanted in ids else None)
        finally:
            self._syncing = False
        run = selected if selected is not None else self._run(self.list.value)
        self.details.value = self._details(run)

    def suggest_compare(self, run: Run) -> None:
        """Preset A / B: the run's parent against the run; for a root run, the run against its latest child
        (replay or fork), else the run before it against the run."""
        ids = [value for _, value in self._options]
        if run.run_id not in ids:
            return
        a, b = None, run.run_id
        if run.parent_id in ids:
            a = run.parent_id
        else:
            children = [r.run_id for r in self.recorder.runs if r.parent_id == run.run_id and r.run_id in ids]
            earlier = [r.run_id for r in self.recorder.runs if r.run_id in ids]
            earlier = earlier[: earlier.index(run.run_id)]
            if children:
                a, b = run.run_id, children[-1]
            elif earlier:
                a = earlier[-1]
        self._syncing = True
        try:
            if a is not None:
                self.compare_a.value = a
            self.compare_b.value = b
        finally:
            self._syncing = False

    def show_compare(self, frame: pd.DataFrame, png: bytes | None) -> None:
        """Show a compare result (the table, and the chart when given)."""
        set_error(self.compare_error, None)
        self.compare_table.value = compare_table_html(frame)
        if png:
            self.compare_chart.value = png
        show(self.compare_chart, bool(png))

    def _run(self, run_id: str | None) -> Run | None:
        if not run_id:
            return None
        try:
            return self.recorder.get(run_id)
        except KeyError:
            return None

    @staticmethod
    def _details(run: Run | None) -> str:
        if run is None:
            return ""
        lines = [f"<b>{esc(run.describe())}</b>"]
        if run.final_answer:
            lines.append(f'<div class="anb-pre">answer: {esc(run.final_answer)}</div>')
        if run.error:
            lines.append(f'<div class="anb-error-text">{esc(run.error)}</div>')
        return "".join(lines)

    def _picked(self, change: dict) -> None:
        if self._syncing or not change["new"]:
            return
        run = self._run(change["new"])
        if run is not None and self.on_select is not None:
            self.on_select(run)

    def _jump_clicked(self) -> None:
        a, b = self._run(self.compare_a.value), self._run(self.compare_b.value)
        if a is None or b is None or self.on_jump is None:
            set_error(self.compare_error, "Pick two runs, A and B.")
            return
        try:
            self.on_jump(a, b)
        except Exception as exc:  # shown, never raised into the frontend
            set_error(self.compare_error, f"{type(exc).__name__}: {exc}")

    def _compare_clicked(self) -> None:
        a, b = self._run(self.compare_a.value), self._run(self.compare_b.value)
        if a is None or b is None:
            set_error(self.compare_error, "Pick two runs, A and B.")
            return
        if self.on_compare is None:
            return
        try:
            self.on_compare(a, b)
        except Exception as exc:  # shown, never raised into the frontend
            set_error(self.compare_error, f"{type(exc).__name__}: {exc}")


def _run_picker(label: str, css_class: str) -> W.Dropdown:
    """One of the two compare pickers (run names are long: they grow with the row, within bounds)."""
    layout = W.Layout(flex="1 1 300px", min_width="200px", max_width="460px")
    return css(
        W.Dropdown(options=[], description=label, style={"description_width": "initial"}, layout=layout), css_class
    )

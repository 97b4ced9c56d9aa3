"""`TimelinePanel`: the run's chart and table, with filters that act on both, and the export buttons.

Filters: kind, hook point, status, step range and a text search (name, summary, error). The table is an
escaped HTML table (at most `max_rows` rows, scrollable); the chart is `plot_run` of the filtered rows,
rendered to PNG into an Image widget (robust across JupyterLab, Notebook 7, VS Code and Voila).

CSS classes: `anb-timeline`, `anb-filter-kind`, `anb-filter-point`, `anb-filter-status`, `anb-filter-steps`,
`anb-filter-search`, `anb-filter-reset`, `anb-chart`, `anb-timeline-table`, `anb-row-count`, `anb-export-csv`,
`anb-export-json`, `anb-export-path`.

Usage:
    >>> panel = TimelinePanel()                        # doctest: +SKIP
    >>> panel.show_run(run)                            # doctest: +SKIP
    >>> panel.kind.value = "tool"; len(panel.filtered())   # doctest: +SKIP
    2
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import ipywidgets as W
import pandas as pd

from agent_nb.recording import HOOK_POINTS, KINDS, STATUSES, Run
from agent_nb.widgets.render import figure_png, timeline_table_html
from agent_nb.widgets.style import button, css, section_title, show

ALL = "all"


def filter_timeline(
    frame: pd.DataFrame,
    *,
    kind: str = ALL,
    hook_point: str = ALL,
    status: str = ALL,
    steps: tuple[int, int] | None = None,
    search: str = "",
) -> pd.DataFrame:
    """The rows of a timeline that pass the filters (`steps` inclusive; rows without a step only when None).

    Usage:
        >>> filter_timeline(run.timeline, kind="tool", search="paris")   # doctest: +SKIP
    """
    mask = pd.Series(True, index=frame.index)
    if kind != ALL:
        mask &= frame["kind"].astype(object) == kind
    if hook_point != ALL:
        mask &= frame["hook_point"].astype(object) == hook_point
    if status != ALL:
        mask &= frame["status"].astype(object) == status
    if steps is not None:
        step = frame["step"]
        mask &= step.notna() & (step >= steps[0]).fillna(False) & (step <= steps[1]).fillna(False)
    needle = search.strip().lower()
    if needle:
        text = (
            frame["name"].fillna("").str.lower()
            + "\n"
            + frame["summary"].fillna("").str.lower()
            + "\n"
            + frame["error"].fillna("").str.lower()
        )
        mask &= text.str.contains(needle, regex=False).fillna(False)
    return frame[mask.astype(bool)]


class TimelinePanel(W.VBox):
    """Filters, chart and table of one run.

    `on_filter(frame)` is called with the rows the table shows (filtered, at most `max_rows`) whenever they
    change: the inspector lists them.

    Usage:
        >>> panel = TimelinePanel(max_rows=100)     # doctest: +SKIP
        >>> panel.show_run(run); panel.search.value = "weather"   # doctest: +SKIP
    """

    def __init__(self, *, max_rows: int = 200, on_filter: Callable[[pd.DataFrame], None] | None = None) -> None:
        self.max_rows = max_rows
        self.on_filter = on_filter
        self.run: Run | None = None
        self.frame: pd.DataFrame = pd.DataFrame()
        self._key: Any = None
        self._chart_key: Any = None
        self._lock = threading.RLock()
        self._quiet = False

        def dropdown(options: list[str], label: str, cls: str, width: str) -> W.Dropdown:
            box = W.Dropdown(
                options=[ALL, *options],
                value=ALL,
                description=label,
                style={"description_width": "initial"},
                layout=W.Layout(width=width),
            )
            return css(box, cls)

        self.kind = dropdown(list(KINDS), "kind", "anb-filter-kind", "125px")
        self.hook_point = dropdown(list(HOOK_POINTS), "hook point", "anb-filter-point", "195px")
        self.status = dropdown(list(STATUSES), "status", "anb-filter-status", "140px")
        self.steps = css(
            W.IntRangeSlider(
                value=(0, 1),
                min=0,
                max=1,
                description="steps",
                continuous_update=False,
                style={"description_width": "initial"},
                layout=W.Layout(width="210px"),
            ),
            "anb-filter-steps",
        )
        self.search = css(
            W.Text(
                placeholder="search name, summary, error",
                continuous_update=False,
                layout=W.Layout(width="190px"),
            ),
            "anb-filter-search",
        )
        self.reset = button("", "anb-filter-reset", icon="undo", tooltip="clear the filters", width="34px")
        self.reset.on_click(lambda _: self.clear_filters())
        for widget in (self.kind, self.hook_point, self.status, self.steps, self.search):
            widget.observe(self._filters_changed, names="value")
        self.count = css(W.HTML(), "anb-row-count")
        self.chart = css(W.Image(format="png", layout=W.Layout(width="100%", max_width="100%")), "anb-chart")
        self.chart_note = W.HTML('<div class="anb-muted">No run yet: type a prompt and press Run.</div>')
        self.table = css(W.HTML(), "anb-timeline-table")
        table_box = W.Box([self.table], layout=W.Layout(max_height="420px", overflow="auto", width="100%"))
        self.export_csv_button = button("CSV", "anb-export-csv", icon="download", tooltip="timeline as CSV")
        self.export_json_button = button("JSON", "anb-export-json", icon="download", tooltip="whole run as JSON")
        self.export_path = css(W.HTML(), "anb-export-path")
        filters = W.HBox(
            [self.kind, self.hook_point, self.status, self.steps, self.search, self.reset],
            layout=W.Layout(flex_flow="row wrap", align_items="center"),
        )
        export_row = W.HBox(
            [W.HTML('<span class="anb-muted">Export</span>'), self.export_csv_button, self.export_json_button,
             self.export_path],
            layout=W.Layout(align_items="center"),
        )  # fmt: skip
        super().__init__(
            [
                filters,
                self.count,
                self.chart_note,
                self.chart,
                section_title("Events", hint="one row per hook, LLM call and tool call; summary below each row"),
                table_box,
                export_row,
            ],
            layout=W.Layout(width="100%"),
        )
        css(self, "anb-timeline")
        show(self.chart, False)
        self.show_run(None)

    # ---- filters ---------------------------------------------------------------------------------------------
    @property
    def step_range(self) -> tuple[int, int] | None:
        """The step filter, or None when it spans every step (rows without a step are then shown too)."""
        lo, hi = self.steps.value
        if lo <= self.steps.min and hi >= self.steps.max:
            return None
        return int(lo), int(hi)

    def filters(self) -> dict[str, Any]:
        """The current filter values as `filter_timeline` keyword arguments."""
        return {
            "kind": self.kind.value,
            "hook_point": self.hook_point.value,
            "status": self.status.value,
            "steps": self.step_range,
            "search": self.search.value,
        }

    def clear_filters(self) -> None:
        """Reset every filter (one refresh)."""
        self._quiet = True
        try:
            self.kind.value = self.hook_point.value = self.status.value = ALL
            self.steps.value = (self.steps.min, self.steps.max)
            self.search.value = ""
        finally:
            self._quiet = False
        self.refresh(chart=True)

    def filtered(self) -> pd.DataFrame:
        """The rows of the shown run that pass the filters."""
        if self.run is None:
            return pd.DataFrame()
        return filter_timeline(self.run.timeline, **self.filters())

    def _filters_changed(self, _change: dict) -> None:
        if not self._quiet:
            self.refresh(chart=True)

    def _update_step_bounds(self, run: Run | None) -> None:
        steps = [e.step for e in (run.events if run is not None else []) if e.step is not None]
        top = max(max(steps, default=0), 1)
        if top == self.steps.max:
            return
        follow = self.step_range is None  # the range spanned everything: keep it spanning
        self._quiet = True
        try:
            if top > self.steps.max:
                self.steps.max = top
            else:
                self.steps.value = (min(self.steps.value[0], top), min(self.steps.value[1], top))
                self.steps.max = top
            if follow:
                self.steps.value = (0, top)
        finally:
            self._quiet = False

    # ---- showing ---------------------------------------------------------------------------------------------
    def show_run(self, run: Run | None) -> None:
        """Show `run` (or nothing), keeping the filters; renders table and chart.

        Usage:
            >>> panel.show_run(rec.runs[-1])   # doctest: +SKIP
        """
        with self._lock:
            self.run = run
            self._key = self._chart_key = None
            self.refresh(chart=True)

    def refresh(self, *, chart: bool = False) -> None:
        """Re-render what changed: the table when new events or filters; the chart only when `chart` is True.

        Usage:
            >>> panel.refresh(chart=True)   # doctest: +SKIP
        """
        with self._lock:
            run = self.run
            self._update_step_bounds(run)
            key = (id(run), len(run.events) if run else 0, run.status if run else "", tuple(self.filters().items()))
            if key == self._key and not (chart and key != self._chart_key):
                return
            frame = self.filtered()
            self.frame = frame
            if key != self._key:
                self._key = key
                total = len(run.events) if run else 0
                self.count.value = (
                    f'<span class="anb-muted">{len(frame)} of {total} events shown'
                    + (f" · run {run.run_id} ({run.status})" if run else "")
                    + "</span>"
                )
                self.table.value = timeline_table_html(frame, limit=self.max_rows)
                if self.on_filter is not None:
                    self.on_filter(frame.head(self.max_rows))  # the picker lists what the table shows
            if chart and key != self._chart_key:
                self._chart_key = key
                self._render_chart(run, frame)

    def _render_chart(self, run: Run | None, frame: pd.DataFrame) -> None:
        if run is None or frame.empty:
            text = "No run yet: type a prompt and press Run." if run is None else "No events match the filters."
            self.chart_note.value = f'<div class="anb-muted">{text}</div>'
            show(self.chart_note, True)
            show(self.chart, False)
            return
        from agent_nb.views.plot import plot_run

        fig = plot_run(frame, title=run.describe())
        self.chart.value = figure_png(fig, dpi=100)
        show(self.chart_note, False)
        show(self.chart, True)

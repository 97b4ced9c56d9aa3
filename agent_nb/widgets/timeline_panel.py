"""`TimelinePanel`: the run's interactive trace view (`TraceView`) and the export buttons.

The trace view draws the waterfall, the detail of the selected event and a virtualized table of every event
(no row cap); its filters (kinds, search, time brush) live in its traits. `filter_timeline` stays for code
that filters a timeline DataFrame the same way by kind, hook point, status, steps and text.

CSS classes: `anb-timeline`, `anb-trace` (the TraceView), `anb-export-csv`, `anb-export-json`, `anb-export-path`.

Usage:
    >>> panel = TimelinePanel()
    >>> panel.show_run(None); len(panel.filtered())
    0
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import ipywidgets as W
import pandas as pd

from agent_nb.recording import Run
from agent_nb.widgets.style import button, css
from agent_nb.widgets.trace_view import TraceView

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
        >>> filter_timeline(run.timeline, kind="tool", search="paris")["name"].tolist()
        ['get_weather', 'save_note']
        >>> len(filter_timeline(run.timeline, steps=(0, 1))), len(run.timeline)
        (9, 18)
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
    """The trace view of one run, and the export buttons.

    `on_filter(frame)` is called with the rows the trace view's table shows whenever they change (the
    inspector lists them). `refresh()` is cheap when nothing changed, so a throttled ticker may call it often;
    while a run is live the view receives new events in batches.

    Usage:
        >>> panel = TimelinePanel(on_filter=lambda frame: None)
        >>> panel.trace.data["n"]
        0
    """

    def __init__(
        self, *, on_filter: Callable[[pd.DataFrame], None] | None = None, annotate: Any = None, **_ignored: Any
    ) -> None:
        self.on_filter = on_filter
        self.run: Run | None = None
        self._lock = threading.RLock()
        self._filter_key: Any = None
        self.trace = css(TraceView(annotate=annotate), "anb-trace")
        self.trace.observe(self._filters_changed, names=["kinds", "search", "matches", "brush", "mode", "data"])
        self.export_csv_button = button("CSV", "anb-export-csv", icon="download", tooltip="timeline as CSV")
        self.export_json_button = button("JSON", "anb-export-json", icon="download", tooltip="whole run as JSON")
        self.export_path = css(W.HTML(), "anb-export-path")
        export_row = W.HBox(
            [W.HTML('<span class="anb-muted">Export</span>'), self.export_csv_button, self.export_json_button,
             self.export_path],
            layout=W.Layout(align_items="center"),
        )  # fmt: skip
        super().__init__([self.trace, export_row], layout=W.Layout(width="100%"))
        css(self, "anb-timeline")

    def filtered(self) -> pd.DataFrame:
        """The rows of the shown run that the trace view's table shows (its kinds, search and brush filters)."""
        if self.run is None:
            return pd.DataFrame()
        seqs = self.trace.visible_seqs()
        if self.trace.other is not None:  # compare mode: the rows of the first run (ids past it are the second's)
            seqs = [i for i in seqs if i < len(self.run.events)]
        frame = self.run.timeline
        return frame[frame["seq"].isin(seqs)]

    def show_run(self, run: Run | None, **kwargs: Any) -> None:
        """Show `run` (or nothing); `divergence` / `parent` mark where it departs from its parent.

        Usage:
            >>> TimelinePanel().show_run(None)
        """
        with self._lock:
            self.run = run
            self.trace.show_run(run, **kwargs)
            self._notify()

    def show_compare(self, a: Run, b: Run, frame: pd.DataFrame | None = None) -> None:
        """Show two runs in the trace view's compare mode (b's bars under a's, aligned by step).

        Usage:
            >>> panel = TimelinePanel(); panel.show_compare(run, fork)
            >>> panel.trace.meta["runs"] == [run.run_id, fork.run_id]
            True
        """
        with self._lock:
            self.run = a
            self.trace.show_compare(a, b, frame)
            self._notify()

    def refresh(self, *, chart: bool = False) -> None:
        """Send the events recorded since the last refresh (a batch) and a changed status to the trace view.

        Usage:
            >>> TimelinePanel().refresh()
        """
        with self._lock:
            self.trace.refresh()

    def _filters_changed(self, _change: dict) -> None:
        self._notify()

    def _notify(self) -> None:
        if self.on_filter is None:
            return
        t = self.trace
        key = (
            id(self.run),
            t.data.get("n"),
            tuple(t.kinds),
            t.search,
            tuple(t.matches.get("ids", ())),
            tuple(t.brush),
            t.mode,
        )
        if key == self._filter_key:
            return
        self._filter_key = key
        self.on_filter(self.filtered())

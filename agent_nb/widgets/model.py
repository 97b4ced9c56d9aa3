"""`WorkbenchModel`: the Workbench's state in traits, one place; each panel observes it (as the trace view does).

The Workbench's methods and buttons change the model; the panels (`agent_nb.widgets.panels`) follow it.
Observers run on the thread that changed the model (the kernel's, or the runner's refresh thread), under
`model.lock`. `watch` wraps each observer so that a broken panel is logged and never stops the others: the
progress line and the buttons are never left stale.

Traits:
- `view`: the run the panels show (the live run while one runs); `mark`: where it departs from its parent
  (`{"divergence": seq, "parent": run}`, or empty);
- `compared`: the last compare, `Compared(a, b, frame, png)`;
- `job`: the background job (`Runner`'s `Job`) and `busy`; `started`: the last fork or replay that started
  (the fork tab says where it is);
- `error`: the last error a click caused; `notice`: a passing note ("stopping at the next step boundary…");
- `pending`: the tool call waiting for approval; `tab`: the tab on show;
- `refresh`: a `Refresh(chart, history)` per throttled tick of a live run, or when a job ends;
  `hooks`: bumped when the Recorder's hooks change;
- `live`: the `LiveRun` of a run started with breakpoints set (`rec.start`), while it runs; `paused`: its
  `Pause` while it is paused, else None (the debugger pane follows it).

Usage:
    >>> model = WorkbenchModel()
    >>> seen = []
    >>> model.watch(lambda change: seen.append(change["new"].run_id), "view")
    >>> model.view = run; seen == [run.run_id]
    True
    >>> model.watch(lambda change: 1 / 0, "tab"); model.tab = "Runs"   # logged, never raised
    >>> model.tab
    'Runs'
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd
from traitlets import Any as AnyTrait
from traitlets import Bool, Bunch, Dict, HasTraits, Instance, Int, Unicode

from agent_nb.recording import Run

logger = logging.getLogger("agent_nb")

TABS = ("Timeline", "Inspector", "Fork", "Runs")


@dataclass(frozen=True, eq=False)
class Refresh:
    """One refresh of the live views: `chart` when the slower parts are due too, `history` for the run lists.

    Never equal to another, so each one notifies the observers."""

    chart: bool = False
    history: bool = True


@dataclass(frozen=True, eq=False)
class Compared:
    """Two runs compared: the aligned frame (`agent_nb.replay.compare`) and the chart of both (PNG)."""

    a: Run
    b: Run
    frame: pd.DataFrame
    png: bytes | None = None


class WorkbenchModel(HasTraits):
    """The Workbench's state. See the module docstring for each trait."""

    view = Instance(Run, allow_none=True)
    mark = Dict()
    compared = Instance(Compared, allow_none=True)
    job = AnyTrait(None)
    busy = Bool(False)
    started = Instance(Run, allow_none=True)
    error = Unicode("")
    notice = Unicode("")
    pending = AnyTrait(None)
    tab = Unicode(TABS[0])
    refresh = Instance(Refresh, allow_none=True)
    hooks = Int(0)
    live = AnyTrait(None)
    paused = AnyTrait(None)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        #: Held while observers update the widgets: the kernel's thread and the refresh thread both change us.
        self.lock = threading.RLock()

    def watch(self, handler: Callable[[dict], Any], *names: str) -> None:
        """Observe `names` with `handler`, under the lock; an exception in it is logged, not raised."""

        def safe(change: dict) -> None:
            with self.lock:
                try:
                    handler(change)
                except Exception:
                    logger.exception("agent_nb workbench: a view failed to refresh")

        self.observe(safe, names=list(names))

    def show(self, run: Run | None, mark: dict[str, Any] | None = None) -> None:
        """Show `run` (with `mark`, where it departs from its parent); showing the shown run again refreshes it."""
        with self.lock:
            self.mark = dict(mark or {})
            if run is self.view:  # traitlets is silent on an equal value: this is a deliberate refresh
                self.notify_change(Bunch(name="view", old=run, new=run, owner=self, type="change"))
            else:
                self.view = run

    def fail(self, exc: BaseException | str | None) -> None:
        """Show an error a click caused (None clears it)."""
        self.error = exc if isinstance(exc, str) else (f"{type(exc).__name__}: {exc}" if exc is not None else "")

    def tick(self, *, chart: bool = False, history: bool = True) -> None:
        """Ask the views to refresh (one `Refresh`)."""
        self.refresh = Refresh(chart=chart, history=history)

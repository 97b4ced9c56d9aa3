"""The Workbench widget (its state on a `WorkbenchModel`, its panels observing it; ipywidgets 8), and the trace
view (anywidget: one small ES module).

Usage:
    >>> from agent_nb import Recorder, demo_agent
    >>> from agent_nb.widgets import Workbench
    >>> wb = Workbench(Recorder(demo_agent()), prompt="Weather in Paris and Tokyo, then save a note")
    >>> run = wb.run()   # `wb` as the last line of a cell displays it
    >>> run.status, wb.current is run
    ('ok', True)
    >>> wb.close()
"""

from agent_nb.widgets.confirmation import (
    ConfirmationPanel,
    PendingConfirmation,
    WidgetConfirmationUI,
    confirmation_hook,
)
from agent_nb.widgets.fork_editor import ForkEditor
from agent_nb.widgets.hooks_panel import HooksPanel
from agent_nb.widgets.inspector import InspectorPanel
from agent_nb.widgets.model import WorkbenchModel
from agent_nb.widgets.runner import Job, Runner
from agent_nb.widgets.runs_panel import RunsPanel
from agent_nb.widgets.timeline_panel import TimelinePanel, filter_timeline
from agent_nb.widgets.trace_view import TraceView
from agent_nb.widgets.workbench import Workbench

__all__ = [
    "ConfirmationPanel",
    "ForkEditor",
    "HooksPanel",
    "InspectorPanel",
    "Job",
    "PendingConfirmation",
    "Runner",
    "RunsPanel",
    "TimelinePanel",
    "TraceView",
    "WidgetConfirmationUI",
    "Workbench",
    "WorkbenchModel",
    "confirmation_hook",
    "filter_timeline",
]

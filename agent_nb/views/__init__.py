"""Views of recorded runs: matplotlib charts, a styled timeline table and a self-contained HTML report.

One palette (`views.style`) and one escaped HTML vocabulary (`views.html`) serve the chart, the report and
every widget. matplotlib is imported inside the plotting functions, so importing this package stays cheap.

Usage:
    >>> from agent_nb.views import plot_run, plot_compare, run_report, style_timeline
    >>> plot_run(run).savefig("run.png")
    >>> styler = style_timeline(run.timeline)   # the last line of a cell displays it as a coloured table
    >>> run_report(run, "run.html").startswith("<!DOCTYPE html>")
    True
"""

from agent_nb.views.plot import first_divergence, plot_compare, plot_run, plot_runs_overview
from agent_nb.views.report import run_report
from agent_nb.views.style import COLORS, color_for, style_timeline

__all__ = [
    "COLORS",
    "color_for",
    "first_divergence",
    "plot_compare",
    "plot_run",
    "plot_runs_overview",
    "run_report",
    "style_timeline",
]

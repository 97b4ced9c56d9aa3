"""The one palette: colours and CSS shared by the chart, the HTML report, the trace view and every widget.

One colour per LLM / tool call and per hook point, from the Okabe-Ito palette (distinguishable with the
common forms of colour blindness) plus one colour from Paul Tol's palette for the eighth slot. Status is
never shown by colour alone: the chart adds hatching, dotted edges and markers, the table adds text style.
`fragment_css(scope)` styles the HTML of `agent_nb.views.html` (tables, badges, diffs) under one scope, so the
report page, the static trace view and the workbench show the same fragments in the same colours.

Usage:
    >>> COLORS["llm"], color_key("hook", "before_llm")
    ('#0072B2', 'before_llm')
    >>> from agent_nb.recording import Run
    >>> style_timeline(Run(run_id="x").timeline).to_html().startswith("<style")
    True
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

from agent_nb.recording.events import HOOK_POINTS
from agent_nb.recording.types import EventKind

if TYPE_CHECKING:
    from pandas.io.formats.style import Styler

#: Fill colour per LLM / tool call and per hook point (keys: "llm", "tool" and the six hook points).
COLORS: dict[str, str] = {
    "llm": "#0072B2",  # blue
    "tool": "#009E73",  # bluish green
    "before_run": "#CC79A7",  # reddish purple
    "before_llm": "#56B4E9",  # sky blue: the hooks that prepare an LLM call
    "before_tool": "#E69F00",  # orange
    "after_tool": "#F0E442",  # yellow
    "on_exit": "#D55E00",  # vermillion
    "after_run": "#882255",  # wine (Tol)
    "edit": "#999933",  # olive (Tol): an edit made by hand while a live run was paused (drawn as a diamond too)
}

#: Colour per kind where the hook point is not at hand ("a hook" in general); `color_for(kind, hook_point)` is
#: the colour of one event, as the chart draws it.
KIND_COLORS: dict[EventKind, str] = {"hook": COLORS["before_run"], "llm": COLORS["llm"], "tool": COLORS["tool"]}

#: Readable legend label per colour key.
LABELS: dict[str, str] = {
    "llm": "LLM call",
    "tool": "tool call",
    **{point: f"hook: {point}" for point in HOOK_POINTS},
    "edit": "edit by hand",
}

#: Badge colour per status (the workbench's badges and the trace view's outcome use the same).
STATUS_COLORS: dict[str, str] = {"ok": "#2E7D32", "error": "#D00000", "skipped": "#7F7F7F", "cached": "#0072B2"}

#: Colour for anything without a known kind / hook point.
FALLBACK_COLOR = "#999999"
#: Edge and marker colour of events that raised.
ERROR_COLOR = "#D00000"
#: Outline colour of skipped (switched-off) hooks.
SKIPPED_EDGE = "#7F7F7F"
#: Text colour per line of a State diff: messages added, removed, replaced (and changed keys), run control.
DIFF_COLORS: dict[str, str] = {"add": STATUS_COLORS["ok"], "del": ERROR_COLOR, "rep": "#B26A00", "flow": "#6A1B9A"}
#: Accent of something waiting for the user (a pending confirmation).
ATTENTION_COLOR = COLORS["on_exit"]
#: The monospace font stack of code, State and summaries.
MONO = "ui-monospace, SFMono-Regular, Menlo, Consolas, 'DejaVu Sans Mono', 'Liberation Mono', monospace"

#: Table cell styles per status (CSS declarations) for `style_timeline` and the HTML report.
STATUS_CSS: dict[str, str] = {
    "ok": "",
    "error": "background-color: #FDE2E2; color: #9B0000; font-weight: bold",
    "skipped": "color: #6B6B6B; font-style: italic; background-color: #F2F2F2",
    "cached": "background-color: #E4F1FB; color: #1F4E79",
}

#: Order of the colour keys in legends and tables.
KEY_ORDER: tuple[str, ...] = (
    "before_run",
    "before_llm",
    "llm",
    "before_tool",
    "tool",
    "after_tool",
    "on_exit",
    "after_run",
)


def color_key(kind: Any, hook_point: Any) -> str:
    """The COLORS key of an event: its kind for LLM and tool calls, its hook point for hooks.

    Usage:
        >>> color_key("tool", None), color_key("hook", "on_exit")
        ('tool', 'on_exit')
    """
    if kind == "hook" and isinstance(hook_point, str):
        return hook_point
    return str(kind)


def color_for(kind: Any, hook_point: Any = None) -> str:
    """The fill colour (hex) of an event.

    Usage:
        >>> color_for("hook", "after_tool")
        '#F0E442'
    """
    return COLORS.get(color_key(kind, hook_point), FALLBACK_COLOR)


def tint(color: str, amount: float) -> str:
    """`color` mixed with white: `amount` 0 keeps the colour, 1 gives white (for lighter cached/skipped fills).

    Usage:
        >>> tint("#000000", 0.5)
        '#808080'
    """
    c = color.lstrip("#")
    r, g, b = (int(c[i : i + 2], 16) for i in (0, 2, 4))
    mix = [round(v + (255 - v) * amount) for v in (r, g, b)]
    return "#" + "".join(f"{v:02X}" for v in mix)


def text_color_on(color: str) -> str:
    """Black or white, whichever reads better on a fill of `color`.

    Usage:
        >>> text_color_on("#F0E442"), text_color_on("#0072B2")
        ('#000000', '#FFFFFF')
    """
    c = color.lstrip("#")
    r, g, b = (int(c[i : i + 2], 16) / 255 for i in (0, 2, 4))
    # Approximate relative luminance (WCAG, gamma 2.2); 0.2 gives the more readable text on every palette colour.
    lum = 0.2126 * r**2.2 + 0.7152 * g**2.2 + 0.0722 * b**2.2
    return "#000000" if lum > 0.2 else "#FFFFFF"


def fragment_css(scope: str) -> str:
    """The stylesheet of `agent_nb.views.html` fragments (tables, badges, State and diff text), under `scope`.

    Theme-aware where a frontend defines JupyterLab's variables, with light fallbacks elsewhere (the report).

    Usage:
        >>> ".anb-report table.anb-table" in fragment_css(".anb-report")
        True
    """
    s = scope
    err = ERROR_COLOR
    return f"""
{s} .anb-muted {{ opacity: .7; font-size: 12px; }}
{s} .anb-error-text {{ color: {err}; white-space: pre-wrap; }}
{s} .anb-wrap {{ overflow: auto; max-height: 640px; border: 1px solid var(--jp-border-color2, #e1e1e1); }}
{s} table.anb-table {{ border-collapse: collapse; font-size: 12px; }}
{s} table.anb-table th {{ position: sticky; top: 0; background: var(--jp-layout-color2, #f5f6f8);
  text-align: left; padding: 3px 6px; font-weight: 600; white-space: nowrap; }}
{s} table.anb-table td {{ padding: 2px 6px; vertical-align: top; text-align: left;
  border-top: 1px solid var(--jp-border-color2, #e1e1e1); }}
{s} table.anb-kv th {{ position: static; width: 170px; }}
{s} table.anb-table td.anb-num {{ text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }}
{s} table.anb-table td.anb-nw {{ white-space: nowrap; }}
{s} table.anb-table td.anb-text {{ overflow-wrap: anywhere; }}
{s} table.anb-table td.anb-summary {{ font-family: {MONO}; overflow-wrap: anywhere; }}
{s} tr.anb-status-skipped td {{ opacity: .6; font-style: italic; }}
{s} tr.anb-status-error td {{ background: {tint(err, 0.9)}; }}
{s} tr.anb-status-cached td {{ background: {tint(STATUS_COLORS["cached"], 0.92)}; }}
{s} tr.anb-differs td {{ background: {tint(COLORS["after_tool"], 0.8)}; }}
{s} tr.anb-first-divergence td {{ background: {tint(COLORS["on_exit"], 0.7)}; font-weight: 600; }}
{s} tr.anb-current td {{ font-weight: 700; }}
{s} .anb-badge {{ display: inline-block; padding: 0 5px; border-radius: 3px; font-size: 11px;
  white-space: nowrap; }}
{s} .anb-pre {{ font-family: {MONO}; font-size: 12px; white-space: pre-wrap; overflow-wrap: anywhere; margin: 0; }}
{s} .anb-diff-add {{ color: {DIFF_COLORS["add"]}; }}
{s} .anb-diff-del {{ color: {DIFF_COLORS["del"]}; }}
{s} .anb-diff-rep {{ color: {DIFF_COLORS["rep"]}; }}
{s} .anb-diff-flow {{ color: {DIFF_COLORS["flow"]}; font-weight: 600; }}
{s} .anb-legend .anb-badge {{ margin-right: 8px; }}
"""


def _kind_cell(value: Any) -> str:
    if not isinstance(value, str) or value not in COLORS:
        return ""
    fill = tint(COLORS[value], 0.55)
    return f"background-color: {fill}; color: #000000"


def _status_cell(value: Any) -> str:
    return STATUS_CSS.get(value, "") if isinstance(value, str) else ""


def style_timeline(df: pd.DataFrame, *, precision: int = 2) -> Styler:
    """A pandas Styler for a timeline: kind and hook-point cells in their chart colours, status cells styled.

    Errors are red and bold, skipped hooks grey and italic, cached calls light blue; hook rows take the
    colour of their hook point in the `kind` cell so the table matches the chart. Works on any frame with
    some of the timeline columns (a filtered or concatenated timeline too).

    Usage:
        >>> styler = style_timeline(run.timeline)   # the last line of a cell displays it
        >>> html_text = style_timeline(run.timeline.query("kind == 'hook'")).to_html()
        >>> html_text.startswith("<style"), "background-color" in html_text
        (True, True)
    """
    frame = df
    styler = frame.style
    if "kind" in frame.columns:
        keys = [
            color_key(k, h)
            for k, h in zip(
                frame["kind"].astype(object),
                frame["hook_point"].astype(object) if "hook_point" in frame.columns else [None] * len(frame),
                strict=True,
            )
        ]
        css = pd.DataFrame("", index=frame.index, columns=frame.columns)
        key_series = pd.Series(keys, index=frame.index)
        css["kind"] = key_series.map(_kind_cell)
        if "hook_point" in frame.columns:
            css["hook_point"] = [
                _kind_cell(k) if isinstance(h, str) else ""
                for k, h in zip(keys, frame["hook_point"].astype(object), strict=True)
            ]
        styler = styler.apply(lambda _: css, axis=None)
    if "status" in frame.columns:
        styler = styler.map(_status_cell, subset=["status"])
    floats = [c for c in ("offset_ms", "duration_ms") if c in frame.columns]
    if floats:
        styler = styler.format(precision=precision, subset=floats)
    return styler

"""Matplotlib charts of recorded runs: events by time, one band per step, coloured by kind and hook point.

Figures are built with `matplotlib.figure.Figure` directly (never pyplot): nothing touches global state, no
window opens, and it works off the main thread (the workbench renders while a run is live). In a notebook a
returned Figure displays itself; `fig.savefig("run.png")` writes it.

Bars are batched: one PolyCollection per status (per-bar face colours), so 10,000 events draw in well under
a second, and text labels stop after `max_labels`.

Usage:
    >>> from agent_nb.views import plot_run, plot_compare
    >>> fig = plot_run(run)
    >>> fig.savefig("run.png", dpi=120)
    >>> from matplotlib.figure import Figure
    >>> isinstance(plot_compare(run, fork), Figure)
    True
"""

from __future__ import annotations

import functools
import math
import textwrap
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from agent_nb.errors import InvalidType
from agent_nb.recording.text import cut
from agent_nb.views.html import figure_png
from agent_nb.views.style import (
    COLORS,
    ERROR_COLOR,
    FALLBACK_COLOR,
    KEY_ORDER,
    LABELS,
    SKIPPED_EDGE,
    color_key,
    text_color_on,
    tint,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from agent_nb.recording.run import Run

#: Bar height, as a fraction of a band.
BAR_HEIGHT = 0.42
#: Shortest drawn bar, as a fraction of the time span: hooks take microseconds and must stay visible.
MIN_WIDTH_FRACTION = 0.0045
#: Figure height limits (inches): a long run stays a scrollable image rather than a poster.
MIN_FIG_HEIGHT, MAX_FIG_HEIGHT = 3.2, 18.0
#: Above this many bands only every n-th band gets a tick label.
MAX_TICK_LABELS = 40
LABEL_FONTSIZE = 7.5
#: Right end of the x axis, as a multiple of the run's time span (room for the last flow marker).
X_PAD_RIGHT = 1.05
#: Flow annotations (continue_run / stop_run) drawn at most; they are rare in a real run.
MAX_FLOW_LABELS = 30

RUN_START, RUN_END = "run start", "run end"

#: Per-status look of the bars: the colour always says kind / hook point, the outline says status.
STATUS_STYLE: dict[str, dict[str, Any]] = {
    "ok": {"tint": 0.0, "edge": "#FFFFFF", "lw": 0.6, "ls": "solid", "hatch": None},
    "cached": {"tint": 0.55, "edge": None, "lw": 1.3, "ls": "dotted", "hatch": None},
    "skipped": {"tint": 0.82, "edge": SKIPPED_EDGE, "lw": 1.0, "ls": "dashed", "hatch": "////"},
    "error": {"tint": 0.0, "edge": ERROR_COLOR, "lw": 1.6, "ls": "solid", "hatch": None},
}
STATUS_LEGEND: dict[str, str] = {
    "cached": "cached (served from a recording)",
    "skipped": "skipped (hook switched off)",
    "error": "error",
}


# ---- data preparation -----------------------------------------------------------------------------------------
def _timeline(run: Run | pd.DataFrame) -> pd.DataFrame:
    if isinstance(run, pd.DataFrame):
        return run
    timeline = getattr(run, "timeline", None)
    if not isinstance(timeline, pd.DataFrame):
        raise InvalidType(f"expected a Run or a timeline DataFrame, got {type(run).__name__}")
    return timeline


def _default_title(run: Run | pd.DataFrame) -> str:
    text = f"{len(run)} events" if isinstance(run, pd.DataFrame) else run.describe()
    return cut(text, 130)


@dataclass
class _Bands:
    """Row -> band index, and the band labels top to bottom."""

    y: np.ndarray
    labels: list[str]


def _step_bands(df: pd.DataFrame) -> _Bands:
    """One band per step, plus "run start" (before_run) above and "run end" (after_run) below."""
    n = len(df)
    na = df["step"].isna().to_numpy()
    steps = df["step"].to_numpy(dtype="float64", na_value=np.nan)
    known = np.unique(steps[~na]).astype("int64")
    is_start = na & (df["hook_point"].astype(object).to_numpy() == "before_run")
    is_end = na & ~is_start
    has_start, has_end = bool(is_start.any()), bool(is_end.any())
    offset = 1 if has_start else 0
    y = np.zeros(n, dtype="float64")
    if (~na).any():
        y[~na] = np.searchsorted(known, steps[~na].astype("int64")) + offset
    y[is_end] = offset + len(known)
    labels = ([RUN_START] if has_start else []) + [f"step {s}" for s in known] + ([RUN_END] if has_end else [])
    return _Bands(y=y, labels=labels)


def _fig_height(bands: int) -> float:
    return min(max(0.5 * bands + 2.0, MIN_FIG_HEIGHT), MAX_FIG_HEIGHT)


@functools.cache
def _figure_class() -> type[Figure]:
    """A Figure that shows itself as a PNG in a notebook, as a bare `run.plot()` should.

    IPython displays Figures only once a pyplot backend is set up (`%matplotlib inline`); ours are built without
    pyplot. A `_repr_png_` on our own figures does it for them alone, with no formatter registered globally
    (a backend's formatter, when one is set up, still takes precedence).
    """
    from matplotlib.figure import Figure

    class ShownFigure(Figure):
        def _repr_png_(self) -> bytes:
            return figure_png(self)

    return ShownFigure


def _new_figure(figsize: tuple[float, float] | None, bands: int) -> Figure:
    return _figure_class()(figsize=figsize or (11.0, _fig_height(bands)), layout="constrained")


# ---- drawing --------------------------------------------------------------------------------------------------
def _rects(x0: np.ndarray, x1: np.ndarray, y: np.ndarray, h: float) -> np.ndarray:
    verts = np.empty((len(x0), 4, 2), dtype="float64")
    verts[:, 0, 0] = verts[:, 1, 0] = x0
    verts[:, 2, 0] = verts[:, 3, 0] = x1
    verts[:, 0, 1] = verts[:, 3, 1] = y - h / 2
    verts[:, 1, 1] = verts[:, 2, 1] = y + h / 2
    return verts


def _shade_bands(ax: Axes, n: int) -> None:
    """Alternate band backgrounds (one artist) so a row is easy to follow across the chart."""
    from matplotlib.collections import PolyCollection
    from matplotlib.transforms import blended_transform_factory

    ys = np.arange(1, n, 2, dtype="float64")
    if not len(ys):
        return
    verts = _rects(np.zeros(len(ys)), np.ones(len(ys)), ys, 1.0)
    shade = PolyCollection(
        verts,
        facecolors="#F3F4F6",
        edgecolors="none",
        zorder=0,
        transform=blended_transform_factory(ax.transAxes, ax.transData),
    )
    shade.set_gid("band-shading")
    ax.add_collection(shade, autolim=False)


def _label_text(kind: str, name: str, status: str) -> str:
    text = "LLM" if kind == "llm" else name
    text = cut(text, 22)
    if status == "skipped":
        text += " (off)"
    elif status == "cached":
        text += " (cached)"
    elif status == "error":
        text += " (error)"
    return text


class _LabelPlacer:
    """Places names on bars, or just below / above them, only where they do not collide."""

    def __init__(self, ax: Axes, xspan: float, bands: int) -> None:
        fig_w, fig_h = ax.figure.get_size_inches()
        pos = ax.get_position()
        w_frac, h_frac = pos.width, pos.height
        if ax.figure.get_layout_engine() is not None:
            # Constrained layout grows the axes from the default subplot box (0.775 x 0.77) at draw time.
            w_frac, h_frac = min(w_frac * 0.9 / 0.775, 0.92), min(h_frac * 0.8 / 0.77, 0.85)
        axes_w_in, axes_h_in = fig_w * w_frac, fig_h * h_frac
        self.data_per_pt = xspan / max(axes_w_in * 72.0, 1.0)
        self.band_pt = axes_h_in * 72.0 / max(bands, 1)
        self.ax = ax
        self.xmax = xspan * X_PAD_RIGHT
        self.used: dict[tuple[float, str], list[tuple[float, float]]] = {}  # (band, slot) -> x intervals taken
        self.placed = 0
        # Text above / below a bar needs about one line of free space in the band.
        self.outside_ok = self.band_pt * (1 - BAR_HEIGHT) / 2 >= LABEL_FONTSIZE * 0.95
        self.inside_ok = self.band_pt * BAR_HEIGHT >= LABEL_FONTSIZE * 1.1

    def width(self, text: str) -> float:
        # Average DejaVu Sans glyph is about half an em wide; measuring each text would need a draw.
        return len(text) * LABEL_FONTSIZE * 0.5 * self.data_per_pt

    def claim(self, y: float, slot: str, x0: float, x1: float) -> bool:
        pad = 3 * self.data_per_pt
        taken = self.used.setdefault((y, slot), [])
        # Labels are placed by priority, not by time, so check every interval (few per band in practice).
        if any(x0 < b + pad and a < x1 + pad for a, b in taken):
            return False
        taken.append((x0, x1))
        return True

    def place(self, text: str, x0: float, x1: float, y: float, face: str) -> bool:
        w = self.width(text)
        if self.inside_ok and w + 4 * self.data_per_pt <= x1 - x0 and self.claim(y, "inside", x0, x1):
            self.ax.text(
                (x0 + x1) / 2, y, text, ha="center", va="center", fontsize=LABEL_FONTSIZE,
                color=text_color_on(face), clip_on=True, gid="label",
            )  # fmt: skip
            self.placed += 1
            return True
        if not self.outside_ok:
            return False
        # Near the right edge the label ends at the bar's end instead of starting at its start.
        lx0, lx1, ha = (x0, x0 + w, "left") if x0 + w <= self.xmax else (x1 - w, x1, "right")
        for slot, dy, va in (("below", BAR_HEIGHT / 2 + 0.04, "top"), ("above", -BAR_HEIGHT / 2 - 0.04, "bottom")):
            if self.claim(y, slot, lx0, lx1):
                self.ax.text(
                    lx0 if ha == "left" else lx1, y + dy, text, ha=ha, va=va, fontsize=LABEL_FONTSIZE,
                    color="#222222", clip_on=True, gid="label",
                )  # fmt: skip
                self.placed += 1
                return True
        return False


def _draw(
    ax: Axes,
    df: pd.DataFrame,
    bands: _Bands,
    *,
    max_labels: int,
    xspan: float | None = None,
) -> tuple[list[str], list[str], list[str]]:
    """Draw the events of `df` into `ax`. Returns the colour keys, statuses and flow kinds drawn (for legends)."""
    from matplotlib.collections import PolyCollection

    n_bands = len(bands.labels)
    x0 = df["offset_ms"].to_numpy(dtype="float64", na_value=0.0)
    dur = df["duration_ms"].to_numpy(dtype="float64", na_value=0.0)
    end = float(np.nanmax(x0 + dur)) if len(x0) else 0.0
    span = xspan if xspan is not None else max(end, 1e-3)
    minw = span * MIN_WIDTH_FRACTION
    x1 = x0 + np.maximum(dur, minw)
    y = bands.y
    kinds = df["kind"].astype(object).to_numpy()
    points = df["hook_point"].astype(object).to_numpy()
    statuses = df["status"].astype(object).fillna("ok").to_numpy()
    keys = np.array([color_key(k, p) for k, p in zip(kinds, points, strict=True)], dtype=object)
    faces = np.array([COLORS.get(k, FALLBACK_COLOR) for k in keys], dtype=object)

    _shade_bands(ax, n_bands)
    for status, style in STATUS_STYLE.items():
        mask = statuses == status
        if status == "ok":
            mask |= ~np.isin(statuses, list(STATUS_STYLE))
        if not mask.any():
            continue
        base = faces[mask]
        fill = [tint(c, style["tint"]) for c in base] if style["tint"] else list(base)
        edges = list(base) if style["edge"] is None else style["edge"]
        coll = PolyCollection(
            _rects(x0[mask], x1[mask], y[mask], BAR_HEIGHT),
            facecolors=fill,
            edgecolors=edges,
            linewidths=style["lw"],
            linestyles=style["ls"],
            hatch=style["hatch"],
            zorder=3 if status != "error" else 4,
        )
        if style["hatch"]:
            coll.set_hatchcolor(list(base))  # hatch in the hook point's colour: still tells which hook it was
        coll.set_gid(f"events-{status}")
        ax.add_collection(coll, autolim=False)

    err = statuses == "error"
    if err.any():
        ax.scatter(
            (x0[err] + x1[err]) / 2, y[err] - BAR_HEIGHT / 2, marker="X", s=46, color=ERROR_COLOR,
            edgecolors="white", linewidths=0.7, zorder=6, gid="error-markers",
        )  # fmt: skip

    placer = _LabelPlacer(ax, span, n_bands)
    for i in np.flatnonzero(err)[: max_labels * 4]:
        mid, half = (x0[i] + x1[i]) / 2, 5 * placer.data_per_pt
        placer.claim(y[i], "above", mid - half, mid + half)  # keep labels off the error marker
    flows = _draw_flows(ax, df, x1, y, placer)

    # Errors first, then LLM / tool calls, then hooks: when room is short, the informative labels win.
    order = np.lexsort(
        (np.arange(len(df)), np.where(err, 0, np.where(keys == "llm", 1, np.where(keys == "tool", 1, 2))))
    )
    names = df["name"].astype(object).to_numpy()
    # Bound the attempts too: in a dense run most labels find no room, and each try costs a little.
    for i in order[: max_labels * 20]:
        if placer.placed >= max_labels:
            break
        placer.place(_label_text(kinds[i], str(names[i]), statuses[i]), x0[i], x1[i], y[i], faces[i])

    ax.set_xlim(-span * 0.01, span * X_PAD_RIGHT)
    ax.set_ylim(n_bands - 0.5, -0.5)  # inverted: time runs top-left to bottom-right, like reading the log
    _set_band_ticks(ax, bands.labels)
    ax.set_xlabel("ms since the run started", fontsize=9)
    ax.tick_params(axis="both", labelsize=8.5)
    ax.tick_params(axis="y", length=0)
    ax.grid(axis="x", color="#DDDDDD", linewidth=0.6, zorder=1)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    present = [k for k in KEY_ORDER if k in set(keys)] + sorted(set(keys) - set(KEY_ORDER))
    shown_status = [s for s in ("cached", "skipped", "error") if (statuses == s).any()]
    return present, shown_status, flows


def _draw_flows(ax: Axes, df: pd.DataFrame, x1: np.ndarray, y: np.ndarray, placer: _LabelPlacer) -> list[str]:
    flow = df["flow"]
    idx = np.flatnonzero(flow.notna().to_numpy())
    if not len(idx):
        return []
    texts = flow.astype(object).to_numpy()[idx]
    stop = np.array([str(t).startswith("stop_run") for t in texts])
    kinds: list[str] = []
    for is_stop, marker, kind in ((False, ">", "continue_run"), (True, "s", "stop_run")):
        sel = stop == is_stop
        if sel.any():
            kinds.append(kind)
            ax.scatter(
                x1[idx[sel]] + 4 * placer.data_per_pt, y[idx[sel]], marker=marker, s=42, color="#111111",
                zorder=7, gid=f"flow-{kind}", edgecolors="white", linewidths=0.6,
            )  # fmt: skip
    for j, i in enumerate(idx[:MAX_FLOW_LABELS]):
        text = str(texts[j]).replace("stop_run:", "stop_run: ")
        start = x1[i] + 2 * placer.data_per_pt
        if placer.claim(y[i], "above", start, start + placer.width(text)):
            ax.annotate(
                text, (x1[i], y[i] - BAR_HEIGHT / 2), xytext=(3, 2), textcoords="offset points", fontsize=7.5,
                fontweight="bold", color="#111111", va="bottom", ha="left", gid="flow-label", annotation_clip=True,
            )  # fmt: skip
    return kinds


def _set_band_ticks(ax: Axes, labels: list[str]) -> None:
    n = len(labels)
    stride = max(1, math.ceil(n / MAX_TICK_LABELS))
    ticks = list(range(0, n, stride))
    if stride > 1 and ticks[-1] != n - 1:
        ticks.append(n - 1)
    ax.set_yticks(ticks, [labels[t] for t in ticks])


def _legend_handles(keys: Iterable[str], statuses: Iterable[str], flows: Iterable[str]) -> list[Any]:
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    handles: list[Any] = [
        Patch(facecolor=COLORS.get(k, FALLBACK_COLOR), edgecolor="none", label=LABELS.get(k, k)) for k in keys
    ]
    for status in statuses:
        style = STATUS_STYLE[status]
        handles.append(
            Patch(
                facecolor=tint("#8C8C8C", style["tint"]) if status != "error" else "#8C8C8C",
                edgecolor=style["edge"] or "#555555",
                linewidth=style["lw"],
                linestyle=style["ls"],
                hatch=style["hatch"],
                label=STATUS_LEGEND[status],
            )
        )
    marks = {"continue_run": ">", "stop_run": "s"}
    for flow in flows:
        handles.append(
            Line2D([], [], marker=marks[flow], color="#111111", linestyle="none", markersize=6, label=f"sets {flow}")
        )
    return handles


def _add_legend(fig: Figure, ax: Axes | None, handles: list[Any], own_figure: bool) -> None:
    if not handles:
        return
    ncol = min(len(handles), 5)
    if own_figure:
        fig.legend(handles=handles, loc="outside lower center", ncol=ncol, fontsize=8, frameon=False)
    elif ax is not None:
        ax.legend(handles=handles, loc="upper right", fontsize=7.5, framealpha=0.9)


def _empty(ax: Axes, message: str) -> None:
    ax.text(0.5, 0.5, message, transform=ax.transAxes, ha="center", va="center", fontsize=11, color="#555555")
    ax.set_yticks([])
    ax.set_xticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)


# ---- public -----------------------------------------------------------------------------------------------------
def plot_run(
    run: Run | pd.DataFrame,
    *,
    ax: Axes | None = None,
    figsize: tuple[float, float] | None = None,
    title: str | None = None,
    max_labels: int = 60,
    legend: bool = True,
    step_relative: bool = False,
) -> Figure:
    """Chart one run: events by time (x: ms since start, bar length: duration), one band per step.

    "run start" / "run end" bands hold the before_run / after_run hooks. LLM and tool calls are coloured by
    kind, hooks by hook point (colour-blind-friendly palette, see `style.COLORS`). Skipped hooks are hatched
    with a grey dashed outline, errors have a red outline and a red X, cached calls are light with a dotted
    outline; continue_run / stop_run set by an event are marked at its end and named. Names are written on
    the bars, or next to them where there is room, for at most `max_labels` events.

    `run` is a Run (live or finished) or a timeline DataFrame of one run. Pass `ax` to draw into an existing
    Axes (the legend then goes inside it, `figsize` is ignored); otherwise a new Figure of 11 in by 0.5 in per
    band + 2 in (at most 18 in; above 40 bands only every n-th band is labelled). `legend=False` leaves the
    legend out; `title=""` the title. `step_relative=True` starts each band at its step's own start (the trace
    view's "per step" time), so a long run is not a mostly empty staircase.

    Usage:
        >>> fig = plot_run(run)
        >>> fig.savefig("run.png", dpi=120)
        >>> step1 = plot_run(run.timeline.query("step == 1"), title="step 1")
        >>> [ax.get_title(loc="left") for ax in step1.axes]
        ['step 1']
    """
    df = _timeline(run)
    if step_relative and not df.empty:
        df = df.copy()
        # before_run rows share the "run start" band, after_run rows the "run end" band.
        key = df["step"].astype("Float64").fillna(-1.0).to_numpy(dtype=float)
        key[(df["hook_point"].astype(object) == "after_run").to_numpy()] = -2.0
        df["offset_ms"] = df["offset_ms"] - df.groupby(key)["offset_ms"].transform("min")
    title = _default_title(run) if title is None else title
    if df.empty:
        fig = ax.figure if ax is not None else _new_figure(figsize or (11.0, MIN_FIG_HEIGHT), 0)
        ax = ax if ax is not None else fig.add_subplot()
        _empty(ax, "no events recorded")
        if title:
            ax.set_title(title, fontsize=10, loc="left")
        return fig  # type: ignore[return-value]
    bands = _step_bands(df)
    own = ax is None
    fig = _new_figure(figsize, len(bands.labels)) if own else ax.figure  # type: ignore[union-attr]
    ax = fig.add_subplot() if own else ax
    keys, statuses, flows = _draw(ax, df, bands, max_labels=max_labels)  # type: ignore[arg-type]
    if step_relative:
        ax.set_xlabel("ms since the step started", fontsize=9)  # type: ignore[union-attr]
    if title:
        ax.set_title(title, fontsize=10, loc="left")  # type: ignore[union-attr]
    if legend:
        _add_legend(fig, ax, _legend_handles(keys, statuses, flows), own)  # type: ignore[arg-type]
    return fig  # type: ignore[return-value]


def first_divergence(a: Run, b: Run, alignment: pd.DataFrame | None = None) -> dict[str, Any] | None:
    """Where two runs first differ: `{"seq_a", "seq_b", "reason"}`, or None when every event agrees.

    `alignment`: the frame of `a.compare(b)` (`agent_nb.replay.compare`: events aligned by step, kind, hook point,
    name and occurrence, compared by content; a fork's inherited history counts as shared), when you have it;
    else it is computed here through the run's own `compare`, so a chart never says less than `compare()` does.
    A seq is None when that run has no event at the divergence (it ended earlier, or inherited it).

    Usage:
        >>> div = first_divergence(run, fork)
        >>> div["seq_a"], div["seq_b"], div["reason"].startswith("State.messages differs")
        (7, 2, True)
        >>> first_divergence(run, run) is None
        True
    """
    return _divergence_from_frame(alignment if alignment is not None else a.compare(b))


def _norm(value: Any) -> Any:
    return None if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)) else value


def _divergence_from_frame(frame: pd.DataFrame) -> dict[str, Any] | None:
    """The first divergence that a `compare()` frame marks (its attrs, else its `first_divergence` column)."""
    first = frame.attrs.get("first_divergence")
    if first is None and "first_divergence" in frame.columns:
        rows = frame[frame["first_divergence"].fillna(False).astype(bool)]
        if rows.empty:
            return None
        row = rows.iloc[0]
        first = {"seq_a": _norm(row.get("seq_a")), "seq_b": _norm(row.get("seq_b")), "reason": ""}
    if first is None:
        return None
    seq_a, seq_b = _norm(first.get("seq_a")), _norm(first.get("seq_b"))
    return {
        "seq_a": None if seq_a is None else int(seq_a),
        "seq_b": None if seq_b is None else int(seq_b),
        "reason": str(first.get("reason") or ""),
    }


def _mark_divergence(ax: Axes, df: pd.DataFrame, bands: _Bands, seq: int | None, span: float) -> None:
    """A dashed red line through the diverging event, a red box around its bar, the caption at the top."""
    from matplotlib.patches import Rectangle
    from matplotlib.transforms import blended_transform_factory

    if seq is None:
        return
    pos = np.flatnonzero(df["seq"].to_numpy() == seq)
    if not len(pos):
        return
    i = int(pos[0])
    x = float(df["offset_ms"].iloc[i])
    w = max(float(df["duration_ms"].iloc[i]), span * MIN_WIDTH_FRACTION)
    ax.axvline(x, color=ERROR_COLOR, linestyle="--", linewidth=1.1, zorder=2, gid="divergence")
    pad = span * 0.004
    ax.add_patch(
        Rectangle(
            (x - pad, bands.y[i] - BAR_HEIGHT / 2 - 0.08), w + 2 * pad, BAR_HEIGHT + 0.16, fill=False,
            edgecolor=ERROR_COLOR, linewidth=1.6, zorder=8, gid="divergence-box",
        )
    )  # fmt: skip
    ax.text(
        x, 1.0, f" first divergence (event {seq})", transform=blended_transform_factory(ax.transData, ax.transAxes),
        ha="left", va="top", fontsize=8, color=ERROR_COLOR, fontweight="bold", zorder=9,
        bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.85, "pad": 1.5},
    )  # fmt: skip


#: Characters per line of a compare chart's title (11-inch figure, 9 pt).
TITLE_WIDTH = 150


def plot_compare(
    a: Run,
    b: Run,
    *,
    figsize: tuple[float, float] | None = None,
    titles: Sequence[str] | None = None,
    max_labels: int = 40,
    alignment: pd.DataFrame | None = None,
) -> Figure:
    """Two runs one above the other on a shared time axis, the first divergence marked with a red dashed line.

    `alignment`: the frame of `a.compare(b)` when you have it (else it is computed here): the title says its line
    (the inputs that differ, then the first divergence) and both runs' diverging events are marked. Each run keeps
    its own bands; the legend covers both.

    Usage:
        >>> fork = run.fork(step=1, edit={"user_profile": {"name": "Ada"}})
        >>> plot_compare(run, fork).savefig("compare.png")
    """
    da, db = _timeline(a), _timeline(b)
    ba = _step_bands(da) if not da.empty else _Bands(np.zeros(0), [])
    bb = _step_bands(db) if not db.empty else _Bands(np.zeros(0), [])
    na, nb = max(len(ba.labels), 1), max(len(bb.labels), 1)
    height = min(max(0.45 * (na + nb) + 3.0, 2 * MIN_FIG_HEIGHT - 1), MAX_FIG_HEIGHT * 1.5)
    fig = _figure_class()(figsize=figsize or (11.0, height), layout="constrained")
    ax_a, ax_b = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [na + 1, nb + 1]})
    ends = [float((d["offset_ms"] + d["duration_ms"]).max()) for d in (da, db) if not d.empty]
    span = max([*ends, 0.001])
    titles = list(titles) if titles is not None else [_default_title(a), _default_title(b)]
    keys: list[str] = []
    statuses: list[str] = []
    flows: list[str] = []
    for ax, df, bands, ttl in ((ax_a, da, ba, titles[0]), (ax_b, db, bb, titles[1])):
        ax.set_title(ttl, fontsize=10, loc="left")
        if df.empty:
            _empty(ax, "no events recorded")
            continue
        k, s, f = _draw(ax, df, bands, max_labels=max_labels, xspan=span)
        keys += [x for x in k if x not in keys]
        statuses += [x for x in s if x not in statuses]
        flows += [x for x in f if x not in flows]
    ax_a.set_xlabel("")
    ax_a.tick_params(axis="x", labelbottom=True)
    frame = alignment if alignment is not None else a.compare(b)
    div = _divergence_from_frame(frame)
    if div is not None:
        _mark_divergence(ax_a, da, ba, div["seq_a"], span)
        _mark_divergence(ax_b, db, bb, div["seq_b"], span)
    # compare's own line (inputs that differ, then the first divergence): what compare(), the report and the
    # trace view say; a frame without it (made by hand) falls back to the divergence's reason. Wrapped, not cut:
    # its values are already cut with a mark, and where the runs part comes last.
    line = frame.attrs.get("summary") or (f"first divergence: {div['reason']}" if div else "")
    if line and (div is not None or frame.attrs.get("inputs")):
        title = textwrap.fill(line, TITLE_WIDTH, max_lines=4, placeholder="…", break_on_hyphens=False)
        fig.suptitle(title, fontsize=9, color=ERROR_COLOR, x=0.01, ha="left")
    order = {k: i for i, k in enumerate(KEY_ORDER)}
    keys.sort(key=lambda k: order.get(k, len(order)))
    _add_legend(fig, None, _legend_handles(keys, statuses, flows), True)
    return fig


def plot_runs_overview(
    runs: Sequence[Run], *, figsize: tuple[float, float] | None = None, max_labels: int = 0
) -> Figure:
    """Many runs at a glance: one band per run (labelled with id, kind and lineage), events by time.

    Usage:
        >>> fig = plot_runs_overview(rec.runs)
        >>> len(fig.axes[0].get_yticklabels()) == len(rec.runs)
        True
    """
    frames, labels = [], []
    for i, run in enumerate(runs):
        df = _timeline(run)
        lineage = ""
        if getattr(run, "parent_id", None):
            at = getattr(run, "fork_step", None)
            lineage = f" ← {run.parent_id}" + (f" @ step {at}" if at is not None else "")
        labels.append(f"{getattr(run, 'run_id', i)} {getattr(run, 'kind', '')}{lineage}".strip())
        frames.append(df.assign(_band=float(i)))
    fig = _new_figure(figsize, len(labels))
    ax = fig.add_subplot()
    ax.set_title(f"{len(labels)} runs", fontsize=10, loc="left")
    non_empty = [f for f in frames if not f.empty]
    if not non_empty:
        _empty(ax, "no events recorded")
        return fig
    df = pd.concat(non_empty, ignore_index=True)
    keys, statuses, flows = _draw(ax, df, _Bands(df["_band"].to_numpy(), labels), max_labels=max_labels)
    _add_legend(fig, ax, _legend_handles(keys, statuses, flows), True)
    return fig

"""A self-contained HTML report of one run: summary, chart, timeline, State diffs per event, lineage.

One file that opens anywhere with no network: inline CSS, the chart as a base64 PNG, no scripts at all (the
per-event diffs fold with `<details>`), and a Content-Security-Policy that forbids scripts and remote loads in
case anything slipped through. Every piece of recorded content (prompts, replies, tool results, hook names,
State values) goes through `html.escape`: an LLM reply of `<script>alert(1)</script>` shows as that text.

Usage:
    >>> from agent_nb.views.report import run_report
    >>> html_text = run_report(run, "run.html")
    >>> open("run.html", encoding="utf-8").read() == html_text
    True
    >>> "<script" in html_text
    False
    >>> run.to_html().startswith("<!DOCTYPE html>")   # the same page, from the Run
    True
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
import io
import json
import os
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

from agent_nb.files import atomic_write
from agent_nb.recording.diff import StateDiff, message_text
from agent_nb.views.style import COLORS, FALLBACK_COLOR, KEY_ORDER, LABELS, STATUS_CSS, color_key, text_color_on

if TYPE_CHECKING:
    from agent_nb.recording.events import Event
    from agent_nb.recording.run import Run

#: Longest text shown for one value (a State value, a tool result, a reply) before it is cut.
VALUE_LIMIT = 2000
#: Columns of the report's timeline table: (header, timeline columns shown in it).
TABLE_COLUMNS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("seq", ("seq",)),
    ("step", ("step",)),
    ("kind", ("kind",)),
    ("hook point", ("hook_point",)),
    ("name", ("name",)),
    ("status", ("status",)),
    ("offset ms", ("offset_ms",)),
    ("duration ms", ("duration_ms",)),
    ("messages ±", ("messages_added", "messages_removed")),
    ("changed keys", ("changed",)),
    ("flow", ("flow",)),
    ("tokens in/out", ("prompt_tokens", "completion_tokens")),
    ("summary", ("summary",)),
    ("error", ("error",)),
)

_CSS = """
:root { color-scheme: light; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; margin: 24px auto;
       max-width: 1280px; padding: 0 16px; color: #1d1d1f; line-height: 1.45; font-size: 14px; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 17px; margin: 28px 0 8px; border-bottom: 1px solid #ddd;
       padding-bottom: 4px; }
.sub { color: #555; margin: 0 0 16px; }
table { border-collapse: collapse; font-size: 12.5px; }
th, td { border: 1px solid #e1e1e1; padding: 3px 7px; text-align: left; vertical-align: top; }
th { background: #f5f6f8; position: sticky; top: 0; }
table.kv th { position: static; width: 170px; background: #fafafa; font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.text { min-width: 260px; max-width: 560px; overflow-wrap: anywhere; }
td.nw { white-space: nowrap; } td.small { font-size: 11.5px; color: #444; max-width: 180px; }
td.err { color: #9b0000; }
.wrap { overflow-x: auto; max-height: 640px; overflow-y: auto; border: 1px solid #e1e1e1; }
.pill { display: inline-block; padding: 0 6px; border-radius: 8px; font-size: 11.5px; white-space: nowrap; }
tr.st-error td { background: #fff3f3; } tr.st-skipped td { color: #6b6b6b; font-style: italic; }
tr.st-cached td { background: #f3f8fd; }
img.chart { max-width: 100%; height: auto; border: 1px solid #eee; }
details { border: 1px solid #e4e4e4; border-radius: 6px; margin: 4px 0; padding: 2px 10px; background: #fff; }
details[open] { background: #fcfcfd; }
summary { cursor: pointer; padding: 3px 0; }
summary .meta { color: #666; }
ul.diff { list-style: none; padding-left: 4px; margin: 6px 0; font-family: ui-monospace, "DejaVu Sans Mono",
          Menlo, Consolas, monospace; font-size: 12.5px; }
ul.diff li { padding: 1px 4px; margin: 1px 0; white-space: pre-wrap; overflow-wrap: anywhere; }
li.add { background: #e6f4ea; } li.del { background: #fde8e8; } li.rep { background: #fff6dc; }
li.flow { background: #ece8fb; }
pre { white-space: pre-wrap; overflow-wrap: anywhere; background: #f6f8fa; padding: 6px 8px; margin: 4px 0;
      font-size: 12.5px; }
.err { color: #9b0000; font-weight: 600; }
.muted { color: #777; }
tr.current td { font-weight: 700; background: #fffbe6; }
.legend span { margin-right: 10px; }
"""

_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"


# ---- escaping and formatting ----------------------------------------------------------------------------------
def _e(value: Any) -> str:
    """Escaped text of any value; missing values (None, NA, NaN) are empty."""
    if value is None or value is pd.NA:
        return ""
    if isinstance(value, float) and value != value:
        return ""
    return html.escape(str(value), quote=True)


def _cut(text: str, limit: int = VALUE_LIMIT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + f"… ({len(text)} characters)"


def _value_text(value: Any, limit: int = VALUE_LIMIT) -> str:
    """A State value as readable text: messages rendered, the rest as JSON (repr when not JSON-able)."""
    from haystack.dataclasses import ChatMessage

    if isinstance(value, ChatMessage):
        return _cut(f"{value.role.value}: {message_text(value, limit=None)}", limit)
    if isinstance(value, list) and value and all(isinstance(v, ChatMessage) for v in value):
        return _cut("\n".join(f"{m.role.value}: {message_text(m, limit=None)}" for m in value), limit)
    try:
        text = json.dumps(value, default=repr, ensure_ascii=False, indent=None)
    except Exception:
        text = repr(value)
    return _cut(text, limit)


def _ms(value: Any) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return ""
    v = float(value)
    return f"{v / 1000:.2f} s" if v >= 10_000 else f"{v:.2f} ms"


def _pill(key: str, text: str | None = None) -> str:
    color = COLORS.get(key, FALLBACK_COLOR)
    # Colours come from our own palette, never from recorded content, so the style attribute is safe.
    return (
        f'<span class="pill" style="background:{color};color:{text_color_on(color)}">'
        f"{_e(text if text is not None else key)}</span>"
    )


def _status_pill(status: Any) -> str:
    if not isinstance(status, str):
        return ""
    css = STATUS_CSS.get(status, "")
    return f'<span class="pill" style="{css}">{_e(status)}</span>' if css else _e(status)


# ---- sections -------------------------------------------------------------------------------------------------
def _kv_table(rows: Iterable[tuple[str, str]]) -> str:
    body = "".join(f"<tr><th>{_e(k)}</th><td>{v}</td></tr>" for k, v in rows if v != "")
    return f'<table class="kv">{body}</table>'


def _summary(run: Run) -> str:
    usage = run.usage
    lineage = ""
    if run.parent_id:
        lineage = f"{run.kind} of {_e(run.parent_id)}"
        if run.fork_step is not None:
            lineage += f" at step {_e(run.fork_step)}"
    tokens = usage["prompt_tokens"] + usage["completion_tokens"]
    cost = (
        f"{tokens} ({usage['prompt_tokens']} prompt + {usage['completion_tokens']} completion)"
        f" in {usage['llm_calls']} LLM calls"
        + (f", {usage['cached_llm_calls']} served from the recording" if usage["cached_llm_calls"] else "")
    )
    status = _e(run.status)
    if run.status == "error":
        status = f'<span class="err">{status}</span>'
    rows = [
        ("run id", _e(run.run_id)),
        ("kind", _e(run.kind)),
        ("label", _e(run.label)),
        ("lineage", lineage or "original run"),
        ("status", status),
        ("exit reason", _e(run.exit_reason)),
        ("error", f'<span class="err">{_e(run.error)}</span>' if run.error else ""),
        ("started", _e(run.started_at)),
        ("duration", _ms(run.duration_ms)),
        ("events", f"{len(run.events)} events in {run.steps} steps"),
        ("tokens", _e(cost)),
        ("tool calls", _e(usage["tool_calls"])),
        ("model", _e(run.generator)),
        ("snapshots", _e(run.snapshots)),
    ]
    return _kv_table(rows)


def _conversation(run: Run) -> str:
    from haystack.dataclasses import ChatMessage

    parts = []
    messages = (run.inputs or {}).get("messages") or []
    items = []
    for m in messages:
        if isinstance(m, ChatMessage):
            items.append(f'<li class="add">{_e(m.role.value)}: {_e(_cut(message_text(m, limit=None)))}</li>')
        else:
            items.append(f"<li>{_e(_value_text(m))}</li>")
    if items:
        parts.append(f'<h3>Input messages</h3><ul class="diff">{"".join(items)}</ul>')
    kwargs = (run.inputs or {}).get("kwargs") or {}
    if kwargs:
        parts.append("<h3>Run arguments</h3>" + _kv_table((k, _e(_value_text(v, 400))) for k, v in kwargs.items()))
    answer = run.final_answer
    if answer is not None:
        parts.append(f"<h3>Final answer</h3><pre>{_e(_cut(answer))}</pre>")
    return "".join(parts)


def _hooks(run: Run) -> str:
    rows = []
    for point, names in (run.hook_config or {}).items():
        for name, enabled in names.items():
            state = "on" if enabled else '<span class="muted">off (skipped)</span>'
            rows.append(f"<tr><td>{_pill(point)}</td><td>{_e(name)}</td><td>{state}</td></tr>")
    if not rows:
        return '<p class="muted">No hooks.</p>'
    return f"<table><tr><th>point</th><th>hook</th><th>state</th></tr>{''.join(rows)}</table>"


def _chart(run: Run) -> str:
    try:
        fig = run.plot()
        buf = io.BytesIO()
        # No Software metadata: it would embed matplotlib's web address in the file.
        fig.savefig(buf, format="png", dpi=110, metadata={"Software": None})
    except Exception as exc:  # a report without a chart beats no report
        return f'<p class="err">The chart could not be drawn: {_e(type(exc).__name__)}: {_e(exc)}</p>'
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    return f'<img class="chart" alt="timeline chart of run {_e(run.run_id)}" src="data:image/png;base64,{data}">'


def _na(value: Any) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and value != value)


def _cell(header: str, row: dict[str, Any]) -> str:
    if header in ("offset ms", "duration ms"):
        value = row["offset_ms" if header == "offset ms" else "duration_ms"]
        return f'<td class="num">{"" if _na(value) else f"{float(value):.3f}"}</td>'
    if header == "seq":
        seq = int(row["seq"])
        return f'<td class="num"><a href="#ev-{seq}">{seq}</a></td>'
    if header == "kind":
        return f'<td class="nw">{_pill(color_key(row.get("kind"), row.get("hook_point")), str(row.get("kind")))}</td>'
    if header == "status":
        return f'<td class="nw">{_status_pill(row.get("status"))}</td>'
    if header == "messages ±":
        added, removed = row.get("messages_added"), row.get("messages_removed")
        text = "" if _na(added) and _na(removed) else f"+{0 if _na(added) else added} −{0 if _na(removed) else removed}"
        return f'<td class="num">{_e(text)}</td>'
    if header == "tokens in/out":
        p, c = row.get("prompt_tokens"), row.get("completion_tokens")
        text = "" if _na(p) and _na(c) else f"{'' if _na(p) else p} / {'' if _na(c) else c}"
        return f'<td class="num">{_e(text)}</td>'
    if header == "changed keys":
        value = row.get("changed")
        text = ", ".join(map(str, value)) if isinstance(value, list | tuple) else ("" if _na(value) else str(value))
        return f'<td class="small">{_e(text)}</td>'
    if header == "step":
        return f'<td class="num">{_e(row.get("step"))}</td>'
    if header in ("hook point", "name", "flow"):
        return f'<td class="nw">{_e(row.get(header.replace(" ", "_")))}</td>'
    if header == "error":
        return f'<td class="text err">{_e(row.get("error"))}</td>'
    return f'<td class="text">{_e(row.get(header))}</td>'


def _timeline_table(df: pd.DataFrame, max_rows: int) -> str:
    if df.empty:
        return '<p class="muted">No events recorded.</p>'
    headers = [h for h, cols in TABLE_COLUMNS if all(c in df.columns for c in cols)]
    cols = [c for h, cs in TABLE_COLUMNS if h in headers for c in cs]
    shown = df.head(max_rows)
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    rows = []
    for rec in shown[cols].astype(object).to_dict("records"):
        cells = "".join(_cell(h, rec) for h in headers)
        rows.append(f'<tr class="st-{_e(rec.get("status"))}">{cells}</tr>')
    note = ""
    if len(df) > max_rows:
        note = f'<p class="muted">First {max_rows} of {len(df)} events shown.</p>'
    return f'{note}<div class="wrap"><table><tr>{head}</tr>{"".join(rows)}</table></div>'


def _diff_items(diff: StateDiff) -> str:
    items = [f'<li class="add">+ {_e(c.role)}[{c.index}]: {_e(c.text)}</li>' for c in diff.messages_added]
    items += [f'<li class="del">− {_e(c.role)}[{c.index}]: {_e(c.text)}</li>' for c in diff.messages_removed]
    items += [
        f'<li class="rep">~ {_e(a.role)}[{a.index}]: {_e(a.text)}  ⇒  {_e(b.role)}: {_e(b.text)}</li>'
        for a, b in diff.messages_replaced
    ]
    for key, (old, new) in diff.changed.items():
        items.append(f'<li class="rep">{_e(key)}: {_e(_value_text(old, 400))} → {_e(_value_text(new, 400))}</li>')
    if diff.flow:
        items.append(f'<li class="flow">flow: {_e(diff.flow)}</li>')
    if not items:
        return '<p class="muted">No change to the State.</p>'
    return f'<ul class="diff">{"".join(items)}</ul>'


def _detail(event: Event) -> str:
    """Kind-specific content: a tool call's arguments and result, an LLM call's replies."""
    d = event.detail or {}
    rows: list[tuple[str, str]] = []
    if event.kind == "tool":
        if "arguments" in d:
            rows.append(("arguments", f"<pre>{_e(_value_text(d['arguments']))}</pre>"))
        if "result" in d:
            result = d["result"]
            rows.append(
                ("result", f"<pre>{_e(_cut(result if isinstance(result, str) else _value_text(result)))}</pre>")
            )
    elif event.kind == "llm":
        replies = d.get("replies") or []
        if replies:
            rows.append(("replies", f"<pre>{_e(_value_text(list(replies)))}</pre>"))
        tokens = [
            f"{label} {value}"
            for label, value in (("prompt", event.prompt_tokens), ("completion", event.completion_tokens))
            if value is not None
        ]
        if tokens:
            rows.append(("tokens", _e(", ".join(tokens))))
    if event.error:
        rows.append(("error", f'<pre class="err">{_e(event.error)}</pre>'))
    return _kv_table(rows) if rows else ""


def _event_block(run: Run, event: Event) -> str:
    key = color_key(event.kind, event.hook_point)
    where = "run start" if event.step is None and event.hook_point == "before_run" else None
    if event.step is None and where is None:
        where = "run end"
    place = where or f"step {event.step}"
    label = f"{event.kind} {event.hook_point}" if event.kind == "hook" else event.kind
    head = (
        f"<b>#{event.seq}</b> {_pill(key, label)} <b>{_e(event.name)}</b> {_status_pill(event.status)} "
        f'<span class="meta">{_e(place)} · {_ms(event.duration_ms)} · {_e(event.summary)}</span>'
    )
    try:
        body = _diff_items(run.diff(event.seq))
    except (ValueError, IndexError) as exc:
        body = f'<p class="muted">{_e(exc)}</p>'
    opened = " open" if event.status == "error" else ""
    return f'<details id="ev-{event.seq}"{opened}><summary>{head}</summary>{_detail(event)}{body}</details>'


def _diffs(run: Run, max_diffs: int) -> str:
    events = sorted(run.events, key=lambda e: e.seq)
    if not events:
        return '<p class="muted">No events recorded.</p>'
    blocks = [_event_block(run, e) for e in events[:max_diffs]]
    note = f'<p class="muted">First {max_diffs} of {len(events)} events shown.</p>' if len(events) > max_diffs else ""
    return note + "".join(blocks)


def _lineage(run: Run, runs: Sequence[Run] | None) -> str:
    if runs is None and run.recorder is not None:
        runs = list(run.recorder.runs)
    if not runs:
        if run.parent_id:
            at = f" at step {_e(run.fork_step)}" if run.fork_step is not None else ""
            return f"<p>{_e(run.kind)} of run {_e(run.parent_id)}{at} (the parent run is not in this report).</p>"
        return '<p class="muted">An original run; no other runs given.</p>'
    by_id = {r.run_id: r for r in runs}
    head = "".join(
        f"<th>{c}</th>"
        for c in ("run", "kind", "parent", "fork step", "depth", "status", "exit reason", "events", "tokens", "label")
    )
    rows = []
    for r in runs:
        depth, parent = 0, r.parent_id
        while parent is not None and parent in by_id and depth < 100:
            depth, parent = depth + 1, by_id[parent].parent_id
        u = r.usage
        indent = "&nbsp;&nbsp;" * depth + ("└ " if depth else "")
        cls = ' class="current"' if r is run or r.run_id == run.run_id else ""
        cells = [
            f"{indent}{_e(r.run_id)}",
            _e(r.kind),
            _e(r.parent_id),
            _e(r.fork_step),
            str(depth),
            _e(r.status),
            _e(r.exit_reason),
            str(len(r.events)),
            str(u["prompt_tokens"] + u["completion_tokens"]),
            _e(r.label),
        ]
        rows.append(f"<tr{cls}>{''.join(f'<td>{c}</td>' for c in cells)}</tr>")
    return f"<table><tr>{head}</tr>{''.join(rows)}</table>"


def _legend() -> str:
    spans = "".join(f"<span>{_pill(k, LABELS[k])}</span>" for k in KEY_ORDER)
    return f'<p class="legend">{spans}</p>'


# ---- public -----------------------------------------------------------------------------------------------------
def run_report(
    run: Run,
    path: str | os.PathLike[str] | None = None,
    *,
    runs: Sequence[Run] | None = None,
    max_rows: int = 5000,
    max_diffs: int = 2000,
) -> str:
    """Render `run` as one self-contained HTML page; write it to `path` (atomically) if given. Returns the HTML.

    Sections: a summary header (run id, kind, lineage, status, exit reason, tokens, duration), the input and
    final answer, the hooks with their switches, the chart (an embedded PNG), the timeline table, the State
    diff of every event (foldable; events that raised are unfolded), and the lineage: `runs`, or the runs of
    the Recorder that made `run`. Large runs are cut at `max_rows` table rows and `max_diffs` diffs, with a
    note saying so. The page has no scripts and loads nothing: it reads the same offline.

    Usage:
        >>> html_text = run_report(run)
        >>> html_text.startswith("<!DOCTYPE html>")
        True
        >>> page = run_report(fork, "fork.html", runs=rec.runs)
        >>> open("fork.html", encoding="utf-8").read() == page
        True
    """
    title = f"agent_nb {run.kind} {run.run_id}"
    generated = _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
    sub = _e(run.describe())
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>",
        f'<h1>{_e(title)}</h1><p class="sub">{sub}</p>',
        _summary(run),
        _conversation(run),
        "<h2>Hooks</h2>",
        _hooks(run),
        "<h2>Chart</h2>",
        _chart(run),
        "<h2>Timeline</h2>",
        _legend(),
        _timeline_table(run.timeline, max_rows),
        "<h2>State changes per event</h2>",
        '<p class="muted">Click an event to see what it changed: messages added (+), removed (−) or replaced (~), '
        "State keys old → new, and run control (flow).</p>",
        _diffs(run, max_diffs),
        "<h2>Lineage</h2>",
        _lineage(run, runs),
        f'<p class="muted">Generated by agent_nb at {_e(generated)}.</p>',
        "</body></html>",
    ]
    text = "\n".join(parts)
    if path is not None:
        atomic_write(path, text)
    return text


_STATIC_CSS = (
    ".anb-static table{border-collapse:collapse;font-size:12px}"
    ".anb-static th,.anb-static td{border:1px solid #ccc8;padding:2px 6px;text-align:left;vertical-align:top}"
    ".anb-static td.num{text-align:right}.anb-static .wrap{max-height:480px;overflow:auto}"
    ".anb-static img.chart{max-width:100%;height:auto}.anb-static .muted{opacity:.7}"
    ".anb-static .pill{padding:0 5px;border-radius:8px}.anb-static tr.st-error td{color:#b00000}"
    ".anb-static tr.st-skipped td{opacity:.6;font-style:italic}"
)


def static_trace_html(run: Run | None, *, max_rows: int | None = 500) -> str:
    """The trace view as static HTML (chart image, legend and escaped table) for frontends with no widget manager.

    Usage:
        >>> from agent_nb.recording import Run
        >>> "No run" in static_trace_html(None)
        True
    """
    if run is None:
        return '<div class="anb-static"><p>No run to show yet.</p></div>'
    frame = run.timeline
    rows = len(frame) if max_rows is None else max_rows
    chart = _chart(run) if len(frame) else '<p class="muted">No events recorded.</p>'
    return (
        f'<div class="anb-static"><style>{_STATIC_CSS}</style>'
        f"<p><b>{_e(run.describe())}</b></p>{chart}{_legend()}{_timeline_table(frame, rows)}"
        '<p class="muted">A static rendering: run the notebook for the interactive trace view.</p></div>'
    )


__all__ = ["run_report", "static_trace_html"]

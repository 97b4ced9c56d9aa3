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
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from agent_nb.files import atomic_write
from agent_nb.recording.diff import message_text
from agent_nb.recording.events import TREE_SCHEMA, fill_agent_changed
from agent_nb.recording.recorder import tree_of
from agent_nb.recording.summary import full_summary
from agent_nb.recording.text import ELLIPSIS
from agent_nb.recording.text import cut as cut_text
from agent_nb.views.html import (
    TITLE_LIMIT,
    badge,
    compare_table_html,
    cut_html,
    diff_html,
    figure_png,
    kind_badge,
    kv_table,
    na,
    status_badge,
    timeline_table_html,
    value_text,
)
from agent_nb.views.html import esc as _e
from agent_nb.views.outcome import decision_text, fold_traceback
from agent_nb.views.style import COLORS, KEY_ORDER, LABELS, MONO, fragment_css, tint

if TYPE_CHECKING:
    from agent_nb.recording.events import Event
    from agent_nb.recording.run import Run

# The page's own layout; the tables, badges and diffs are styled by the shared `fragment_css`.
_CSS = (
    """
:root { color-scheme: light; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; margin: 24px auto;
       max-width: 1280px; padding: 0 16px; color: #1d1d1f; line-height: 1.45; font-size: 14px; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 17px; margin: 28px 0 8px; border-bottom: 1px solid #ddd;
       padding-bottom: 4px; }
.sub { color: #555; margin: 0 0 16px; }
img.chart { max-width: 100%; height: auto; border: 1px solid #eee; }
details { border: 1px solid #e4e4e4; border-radius: 6px; margin: 4px 0; padding: 2px 10px; background: #fff; }
details[open] { background: #fcfcfd; }
summary { cursor: pointer; padding: 3px 0; }
summary .meta { color: #666; }
pre { white-space: pre-wrap; overflow-wrap: anywhere; background: #f6f8fa; padding: 6px 8px; margin: 4px 0;
      font-size: 12.5px; """
    + f"font-family: {MONO}; }}\n"
    + f"details .anb-pre {{ background: {tint(COLORS['before_llm'], 0.93)}; padding: 4px 6px; margin: 4px 0; }}\n"
    + fragment_css("body")
)

_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"


def _ms(value: Any) -> str:
    if na(value):
        return ""
    v = float(value)
    return f"{v / 1000:.2f} s" if v >= 10_000 else f"{v:.2f} ms"


def _err(text: Any) -> str:
    return f'<span class="anb-error-text">{_e(text)}</span>'


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
    status = _err(run.status) if run.status == "error" else _e(run.status)
    rows = [
        ("run id", _e(run.run_id)),
        ("kind", _e(run.kind)),
        ("label", _e(run.label)),
        ("lineage", lineage or "original run"),
        ("status", status),
        ("exit reason", _e(run.exit_reason)),
        ("error", _err(run.error) if run.error else ""),
        ("warnings", "<br>".join(_e(text) for text in run.warnings)),
        ("started", _e(run.started_at)),
        ("duration", _ms(run.duration_ms)),
        ("events", f"{len(run.events)} events in {run.steps} steps"),
        ("tokens", _e(cost)),
        ("tool calls", _e(usage["tool_calls"])),
        ("model", _e(run.generator)),
        ("snapshots", _e(run.snapshots)),
    ]
    return kv_table(rows)


def _conversation(run: Run) -> str:
    from haystack.dataclasses import ChatMessage

    parts = []
    messages = (run.inputs or {}).get("messages") or []
    items = []
    for m in messages:
        if isinstance(m, ChatMessage):
            items.append(f"{_e(m.role.value)}: {cut_html(message_text(m, limit=None))}")
        else:
            items.append(_e(value_text(m)))
    if items:
        parts.append(f'<h3>Input messages</h3><div class="anb-pre">{"<br>".join(items)}</div>')
    kwargs = (run.inputs or {}).get("kwargs") or {}
    if kwargs:
        parts.append("<h3>Run arguments</h3>" + kv_table((k, _e(value_text(v, 400))) for k, v in kwargs.items()))
    answer = run.final_answer
    if answer is not None:
        parts.append(f"<h3>Final answer</h3><pre>{cut_html(answer)}</pre>")
    return "".join(parts)


def _hooks(run: Run) -> str:
    rows = []
    for point, names in (run.hook_config or {}).items():
        for name, enabled in names.items():
            state = "on" if enabled else '<span class="anb-muted">off (skipped)</span>'
            rows.append(f"<tr><td>{kind_badge('hook', point, point)}</td><td>{_e(name)}</td><td>{state}</td></tr>")
    if not rows:
        return '<p class="anb-muted">No hooks.</p>'
    return f'<table class="anb-table"><tr><th>point</th><th>hook</th><th>state</th></tr>{"".join(rows)}</table>'


def _chart(run: Run) -> str:
    try:
        png = figure_png(run.plot(), dpi=110)
    except Exception as exc:  # a report without a chart beats no report
        return _err(f"The chart could not be drawn: {type(exc).__name__}: {exc}")
    data = base64.b64encode(png).decode("ascii")
    return f'<img class="chart" alt="timeline chart of run {_e(run.run_id)}" src="data:image/png;base64,{data}">'


def _detail(event: Event, resumed: bool = False, traceback: BaseException | str | None = None) -> str:
    """Kind-specific content: a tool call's arguments and result, an LLM call's replies."""
    d = event.detail or {}
    rows: list[tuple[str, str]] = []
    if event.kind == "tool":
        if "arguments" in d:
            rows.append(("arguments", f"<pre>{cut_html(value_text(d['arguments'], None))}</pre>"))
        if "result" in d:
            result = d["result"]
            rows.append(
                ("result", f"<pre>{cut_html(result if isinstance(result, str) else value_text(result, None))}</pre>")
            )
    elif event.kind == "llm":
        replies = d.get("replies") or []
        if replies:
            rows.append(("replies", f"<pre>{cut_html(value_text(list(replies), None))}</pre>"))
        tokens = [
            f"{label} {value}"
            for label, value in (("prompt", event.prompt_tokens), ("completion", event.completion_tokens))
            if value is not None
        ]
        if tokens:
            rows.append(("tokens", _e(", ".join(tokens))))
    if event.kind == "hook":
        rows.append(("decision", _e(decision_text(event, resumed=resumed))))
    if event.agent_changed:
        rows.append(("agent changed", _e(", ".join(map(str, event.agent_changed)))))
    if event.error:
        rows.append(("error", f'<pre class="anb-error-text">{_e(event.error)}</pre>'))
    if traceback is not None:
        rows.append(("traceback", traceback_html(traceback)))
    return kv_table(rows) if rows else ""


def traceback_html(error: BaseException | str) -> str:
    """A traceback with the user's frames first and the internal ones folded (a `<details>`), monospace.

    Usage:
        >>> try:
        ...     int("x")
        ... except ValueError as exc:
        ...     "internal frames" in traceback_html(exc) or "anb-tb" in traceback_html(exc)
        True
    """
    folded = fold_traceback(error)
    head = "\n".join([folded.exception, *(f"(caused by {c})" for c in folded.chain)])
    user = "\n".join(f.text for f in folded.user)
    body = f'<pre class="anb-tb">{_e(head)}\n{_e(user)}</pre>'
    if folded.internal:
        inner = "\n".join(f.text for f in folded.internal)
        body += (
            f"<details><summary>internal frames ({len(folded.internal)}: agent_nb, haystack, Python)</summary>"
            f'<pre class="anb-tb">{_e(inner)}</pre></details>'
        )
    return body


def _event_block(run: Run, event: Event) -> str:
    where = "run start" if event.step is None and event.hook_point == "before_run" else None
    if event.step is None and where is None:
        where = "run end"
    place = where or f"step {event.step}"
    label = f"{event.kind} {event.hook_point}" if event.kind == "hook" else event.kind
    full = full_summary(event) if ELLIPSIS in (event.summary or "") else ""
    title = f' title="{_e(cut_text(full, TITLE_LIMIT))}"' if full and full != event.summary else ""
    head = (
        f"<b>#{event.seq}</b> {kind_badge(event.kind, event.hook_point, label)} <b>{_e(event.name)}</b> "
        f"{status_badge(event.status)} "
        f'<span class="meta"{title}>{_e(place)} · {_ms(event.duration_ms)} · {_e(event.summary)}</span>'
    )
    traceback = event.detail.get("traceback") if event.detail else None
    if not traceback and event.error and run.error and run.exception is not None and event is run.events[-1]:
        traceback = run.exception
    try:
        body = diff_html(run.diff(event.seq), limit=400)
    except (ValueError, IndexError) as exc:
        body = f'<p class="anb-muted">{_e(exc)}</p>'
    opened = " open" if event.status == "error" else ""
    detail = _detail(event, run.resumed, traceback)
    return f'<details id="ev-{event.seq}"{opened}><summary>{head}</summary>{detail}{body}</details>'


def _diffs(run: Run, max_diffs: int) -> str:
    events = sorted(run.events, key=lambda e: e.seq)
    if not events:
        return '<p class="anb-muted">No events recorded.</p>'
    fill_agent_changed(events)  # it reads each event's predecessor
    blocks = [_event_block(run, e) for e in events[:max_diffs]]
    note = ""
    if len(events) > max_diffs:
        note = f'<p class="anb-muted">First {max_diffs} of {len(events)} events shown.</p>'
    return note + "".join(blocks)


def _lineage(run: Run, runs: Sequence[Run] | None) -> str:
    if runs is None and run.recorder is not None:
        runs = list(run.recorder.runs)
    if not runs:
        if run.parent_id:
            at = f" at step {_e(run.fork_step)}" if run.fork_step is not None else ""
            return f"<p>{_e(run.kind)} of run {_e(run.parent_id)}{at} (the parent run is not in this report).</p>"
        return '<p class="anb-muted">An original run; no other runs given.</p>'
    frame = tree_of(runs)
    shown = ("run_id", "kind", "parent_id", "fork_step", "depth", "status", "exit_reason", "events", "tokens", "label")
    labels = {c.name: c.label for c in TREE_SCHEMA}
    head = "".join(f"<th>{_e(labels[c])}</th>" for c in shown)
    rows = []
    for r, row in zip(runs, frame.to_dict("records"), strict=True):
        depth = row["depth"]
        indent = "&nbsp;&nbsp;" * depth + ("└ " if depth else "")
        cls = ' class="anb-current"' if r is run or r.run_id == run.run_id else ""
        cells = [f"{indent}{_e(row['run_id'])}", *(_e(row[c]) for c in shown[1:])]
        rows.append(f"<tr{cls}>{''.join(f'<td>{c}</td>' for c in cells)}</tr>")
    return f'<table class="anb-table"><tr>{head}</tr>{"".join(rows)}</table>'


def _titles(run: Run, limit: int) -> dict[int, str]:
    """seq -> the full summary, for the rows whose summary was cut (their tooltip)."""
    out = {}
    for event in sorted(run.events, key=lambda e: e.seq)[:limit]:
        if ELLIPSIS in (event.summary or ""):
            out[event.seq] = full_summary(event)
    return out


def _comparison(frame: Any) -> str:
    """The comparison section: compare's own line, then the aligned table (the full values as its tooltip)."""
    other = f"{_e(frame.attrs.get('a'))} (A) and {_e(frame.attrs.get('b'))} (B)"
    return f"<h2>Comparison</h2><p>Runs {other}: {_e(frame.attrs.get('summary') or '')}</p>" + compare_table_html(frame)


def _legend() -> str:
    return '<p class="anb-legend">' + "".join(badge(LABELS[k], COLORS[k]) for k in KEY_ORDER) + "</p>"


# ---- public -----------------------------------------------------------------------------------------------------
def run_report(
    run: Run,
    path: str | os.PathLike[str] | None = None,
    *,
    runs: Sequence[Run] | None = None,
    max_rows: int = 5000,
    max_diffs: int = 2000,
    comparison: Any = None,
) -> str:
    """Render `run` as one self-contained HTML page; write it to `path` (atomically) if given. Returns the HTML.

    Sections: a summary header (run id, kind, lineage, status, exit reason, tokens, duration), the input and
    final answer, the hooks with their switches, the chart (an embedded PNG), the timeline table, the State
    diff of every event (foldable; events that raised are unfolded), and the lineage: `runs`, or the runs of
    the Recorder that made `run`. Large runs are cut at `max_rows` table rows and `max_diffs` diffs, with a
    note saying so. `comparison` (the frame of `agent_nb.compare(a, b)`) adds a section that says what compare
    says. The page has no scripts and loads nothing: it reads the same offline. A text cut with "…" has its
    full text as a tooltip.

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
        timeline_table_html(run.timeline, limit=max_rows, link=True, titles=_titles(run, max_rows)),
        "<h2>State changes per event</h2>",
        '<p class="anb-muted">Click an event to see what it changed: messages added (+), removed (−) or replaced (~), '
        "State keys old → new, and run control (flow).</p>",
        _diffs(run, max_diffs),
        _comparison(comparison) if comparison is not None else "",
        "<h2>Lineage</h2>",
        _lineage(run, runs),
        f'<p class="anb-muted">Generated by agent_nb at {_e(generated)}.</p>',
        "</body></html>",
    ]
    text = "\n".join(parts)
    if path is not None:
        atomic_write(path, text)
    return text


_STATIC_CSS = ".anb-static img.chart{max-width:100%;height:auto}" + fragment_css(".anb-static")


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
    chart = _chart(run) if len(frame) else '<p class="anb-muted">No events recorded.</p>'
    return (
        f'<div class="anb-static"><style>{_STATIC_CSS}</style>'
        f"<p><b>{_e(run.describe())}</b></p>{chart}{_legend()}{timeline_table_html(frame, limit=rows)}"
        '<p class="anb-muted">A static rendering: run the notebook for the interactive trace view.</p></div>'
    )

"""Pure rendering helpers: timeline, State, diff and compare tables as escaped HTML; figures as PNG bytes.

Every piece of recorded content goes through `html.escape` (messages, tool arguments, hook names, errors):
an agent's output is untrusted text.

Usage:
    >>> from agent_nb.recording import Run
    >>> "No events" in timeline_table_html(Run(run_id="x").timeline)
    True
"""

from __future__ import annotations

import html
import io
import json
from typing import TYPE_CHECKING, Any

import pandas as pd
from haystack.dataclasses import ChatMessage

from agent_nb.recording.diff import StateDiff, message_text
from agent_nb.views.style import text_color_on
from agent_nb.widgets.style import KIND_COLOURS, STATUS_COLOURS

if TYPE_CHECKING:
    from matplotlib.figure import Figure

#: State keys never shown (live objects; never snapshotted either).
HIDDEN_KEYS = frozenset({"tools", "hook_context"})

_esc = html.escape


def _na(value: Any) -> bool:
    try:
        return value is None or bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _num(value: Any, fmt: str = "{:.1f}") -> str:
    return "" if _na(value) else fmt.format(value)


def badge(text: str, colour: str) -> str:
    """A small coloured label.

    Usage:
        >>> badge("ok", "#2e7d32")
        '<span class="anb-badge" style="background:#2e7d32;color:#FFFFFF">ok</span>'
    """
    fg = text_color_on(colour) if colour.startswith("#") and len(colour) == 7 else "#FFFFFF"
    return f'<span class="anb-badge" style="background:{_esc(colour)};color:{fg}">{_esc(text)}</span>'


def timeline_table_html(frame: pd.DataFrame, *, limit: int = 200, total: int | None = None) -> str:
    """The timeline rows as an escaped HTML table (at most `limit` rows; a note says how many were left out).

    Each row carries `data-seq` and classes `anb-row anb-kind-<kind> anb-status-<status>` for the browser test.

    Usage:
        >>> from agent_nb.recording import Event
        >>> from agent_nb.recording.events import build_timeline
        >>> ev = Event("r", 0, None, "hook", "before_run", "<memory>", "ok", 0.0, 0.1, summary="a < b")
        >>> "&lt;memory&gt;" in timeline_table_html(build_timeline([ev]))
        True
    """
    total = len(frame) if total is None else total
    if total == 0:
        return '<div class="anb-muted">No events match (or no run yet).</div>'
    shown = frame.head(limit)
    # Eight narrow columns fit a laptop-width notebook; the readable detail goes in a second, full-width row.
    head = "".join(
        f"<th>{h}</th>" for h in ("seq", "step", "kind", "hook point · name", "status", "start ms", "ms", "msgs")
    )
    rows = []
    for rec in shown.itertuples(index=False):
        kind, status = str(rec.kind), str(rec.status)
        point = "" if _na(rec.hook_point) else str(rec.hook_point)
        where = (
            f'<span class="anb-muted">{_esc(point)} · </span>{_esc(str(rec.name))}' if point else _esc(str(rec.name))
        )
        msgs = ""
        if not _na(rec.messages_added) and (rec.messages_added or rec.messages_removed):
            msgs = f"+{rec.messages_added} −{rec.messages_removed or 0}"
        summary = "" if _na(rec.summary) else str(rec.summary)
        extra = ""
        if not _na(rec.flow):
            extra += f' <b class="anb-diff-flow">[{_esc(str(rec.flow))}]</b>'
        if not _na(rec.error):
            extra += f' <span class="anb-error-text">{_esc(str(rec.error))}</span>'
        details = []
        changed = [k for k in (rec.changed or []) if k != "messages"]
        if changed:
            details.append("changed " + ", ".join(changed))
        if not _na(rec.prompt_tokens):
            details.append(f"tokens {rec.prompt_tokens} in / {_num(rec.completion_tokens, '{}')} out")
        if details:
            extra += f' <span class="anb-muted">· {_esc(" · ".join(details))}</span>'
        cls = f"anb-row anb-kind-{_esc(kind)} anb-status-{_esc(status)}"
        rows.append(
            f'<tr class="{cls}" data-seq="{int(rec.seq)}">'
            f'<td class="anb-num">{int(rec.seq)}</td><td class="anb-num">{_num(rec.step, "{}")}</td>'
            f"<td>{badge(kind, KIND_COLOURS.get(kind, '#555'))}</td><td>{where}</td>"
            f'<td class="anb-status">{badge(status, STATUS_COLOURS.get(status, "#555"))}</td>'
            f'<td class="anb-num">{_num(rec.offset_ms)}</td><td class="anb-num">{_num(rec.duration_ms, "{:.2f}")}</td>'
            f'<td class="anb-num">{_esc(msgs)}</td>'
            f"</tr>"
            f'<tr class="{cls} anb-summary-row" data-seq="{int(rec.seq)}"><td></td>'
            f'<td colspan="7" class="anb-summary">{_esc(summary)}{extra}</td></tr>'
        )
    note = ""
    if total > len(shown):
        note = (
            f'<div class="anb-muted">Showing {len(shown)} of {total} matching rows; narrow the filters to see '
            f"the others.</div>"
        )
    return f'<table class="anb-table"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>{note}'


def _json(value: Any) -> str:
    try:
        return json.dumps(value, ensure_ascii=False, default=repr)
    except (TypeError, ValueError):
        return repr(value)


def message_line(index: int, message: Any) -> str:
    """`[3] user: What is 2 + 3?` (full text, escaped).

    Usage:
        >>> message_line(0, ChatMessage.from_user("<hi>"))
        '[0] user: &lt;hi&gt;'
    """
    if isinstance(message, ChatMessage):
        return f"[{index}] {_esc(message.role.value)}: {_esc(message_text(message, limit=None))}"
    return f"[{index}] {_esc(repr(message))}"


def state_html(state: dict[str, Any] | None, *, highlight: frozenset[str] | set[str] = frozenset()) -> str:
    """A State snapshot as monospace text: the messages, one per line, then the other keys as JSON.

    Keys in `highlight` (what the event changed) are marked with a `*`.

    Usage:
        >>> "step_count" in state_html({"messages": [], "step_count": 1})
        True
    """
    if state is None:
        return '<div class="anb-muted">(no snapshot)</div>'
    lines = []
    messages = state.get("messages") or []
    mark = " *" if "messages" in highlight else ""
    lines.append(f"<b>messages</b> ({len(messages)}){mark}")
    lines += [message_line(i, m) for i, m in enumerate(messages)]
    for key, value in state.items():
        if key == "messages" or key in HIDDEN_KEYS:
            continue
        mark = " *" if key in highlight else ""
        text = f"<b>{_esc(key)}</b>{mark}: {_esc(_json(value))}"
        lines.append(f'<span class="anb-diff-rep">{text}</span>' if mark else text)
    return '<div class="anb-pre">' + "\n".join(lines) + "</div>"


def diff_html(diff: StateDiff) -> str:
    """A StateDiff as coloured lines: + added, − removed, ~ replaced messages; changed keys old → new; flow.

    Usage:
        >>> diff_html(StateDiff(changed={"step_count": (0, 1)}))
        '<div class="anb-pre"><span class="anb-diff-rep">step_count: 0 → 1</span></div>'
    """
    lines = [
        f'<span class="anb-diff-add">+ {_esc(c.role)}[{c.index}]: {_esc(c.text)}</span>' for c in diff.messages_added
    ]
    lines += [
        f'<span class="anb-diff-del">− {_esc(c.role)}[{c.index}]: {_esc(c.text)}</span>' for c in diff.messages_removed
    ]
    lines += [
        f'<span class="anb-diff-rep">~ {_esc(a.role)}[{a.index}]: {_esc(a.text)}\n'
        f"    → {_esc(b.role)}: {_esc(b.text)}</span>"
        for a, b in diff.messages_replaced
    ]
    lines += [
        f'<span class="anb-diff-rep">{_esc(k)}: {_esc(_json(old))} → {_esc(_json(new))}</span>'
        for k, (old, new) in diff.changed.items()
        if k not in HIDDEN_KEYS
    ]
    if diff.flow:
        lines.append(f'<span class="anb-diff-flow">run control: {_esc(diff.flow)}</span>')
    if not lines:
        lines = ['<span class="anb-muted">(no change to the State)</span>']
    return '<div class="anb-pre">' + "\n".join(lines) + "</div>"


def compare_table_html(frame: pd.DataFrame, *, limit: int = 300) -> str:
    """`compare(a, b)` as an HTML table: differing rows tinted, the first divergence marked and bold.

    Rows a fork inherited from its source (status `inherited`) are muted.

    Usage:
        >>> df = pd.DataFrame({"step": [0], "kind": ["llm"], "hook_point": [None], "name": ["gen"],
        ...                    "status_a": ["ok"], "status_b": ["ok"], "summary_a": ["x"], "summary_b": ["y"],
        ...                    "same": [False], "first_divergence": [True]})
        >>> "anb-first-divergence" in compare_table_html(df)
        True
    """
    if frame is None or len(frame) == 0:
        return '<div class="anb-muted">Nothing to compare.</div>'
    heads = ("", "step", "event", "A", "B", "A: summary", "B: summary")
    widths = {"A: summary": ' style="width:32%"', "B: summary": ' style="width:32%"'}
    head = "".join(f"<th{widths.get(h, '')}>{h}</th>" for h in heads)
    rows = []
    first_at = None

    def text(value: Any) -> str:
        return "" if _na(value) else str(value)

    for i, row in enumerate(frame.head(limit).to_dict("records")):
        first = False if _na(row.get("first_divergence")) else bool(row.get("first_divergence"))
        same = True if _na(row.get("same")) else bool(row.get("same"))
        inherited = "inherited" in (text(row.get("status_a")), text(row.get("status_b")))
        cls = "anb-row" + (" anb-first-divergence" if first else "") + ("" if same else " anb-differs")
        cls += " anb-status-skipped" if inherited and same else ""
        if first and first_at is None:
            first_at = i
        kind, point = text(row.get("kind")), text(row.get("hook_point"))
        event = badge(kind, KIND_COLOURS.get(kind, "#555")) + " " + (f"{_esc(point)} · " if point else "")
        event += _esc(text(row.get("name")))
        mark = "▶" if first else ("≠" if not same else "")
        summary_a, summary_b = text(row.get("summary_a")), text(row.get("summary_b"))
        rows.append(
            f'<tr class="{cls}"><td>{mark}</td><td class="anb-num">{_esc(text(row.get("step")))}</td>'
            f"<td>{event}</td><td>{_esc(text(row.get('status_a')))}</td><td>{_esc(text(row.get('status_b')))}</td>"
            f'<td class="anb-summary">{_esc(summary_a)}</td>'
            f'<td class="anb-summary">{"″" if same and summary_a == summary_b else _esc(summary_b)}</td></tr>'
        )
    differing = int((~frame["same"].fillna(True).astype(bool)).sum()) if "same" in frame else 0
    note = f"first divergence at row {first_at}" if first_at is not None else "no divergence: the runs agree"
    info = frame.attrs.get("first_divergence") if hasattr(frame, "attrs") else None
    if first_at is not None and isinstance(info, dict) and info.get("reason"):
        note += f" ({info['reason']})"
    if first_at is not None:
        note += f"; {differing} differing rows"
    more = f", showing {limit} of {len(frame)} rows" if len(frame) > limit else ""
    return (
        f'<div class="anb-muted">{_esc(note)}{_esc(more)}. ″ = same as A.</div>'
        f'<table class="anb-table"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'
    )


def figure_png(fig: Figure, *, dpi: int = 96) -> bytes:
    """Render a matplotlib Figure to PNG bytes and release it from pyplot (if pyplot made it).

    Releasing matters: a pyplot figure left open from a background thread would be shown again by the inline
    backend at the end of the user's next cell.

    Usage:
        >>> from matplotlib.figure import Figure
        >>> figure_png(Figure(figsize=(1, 1)))[:4]
        b'\\x89PNG'
    """
    buf = io.BytesIO()
    try:
        fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    finally:
        if getattr(fig.canvas, "manager", None) is not None:
            import matplotlib.pyplot as plt

            plt.close(fig)
    return buf.getvalue()

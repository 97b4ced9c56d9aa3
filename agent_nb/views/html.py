"""The one HTML vocabulary of agent_nb: escaped text, badges, tables, State and diffs, for the report and widgets.

Every piece of recorded content (prompts, replies, tool arguments and results, hook names, State values,
errors) goes through `esc`: an agent's output is untrusted text, so `<script>` shows as that text. `esc` also
writes a lone surrogate (a tool returning a non-UTF-8 file name) as its `\\udcXX` escape, so any HTML we make
can be encoded, saved and sent to a browser. Colours come from the one palette, `agent_nb.views.style`; the
classes (`anb-*`) are styled by `style.fragment_css`.

Usage:
    >>> esc("<b>\\udcff</b>")
    '&lt;b&gt;\\\\udcff&lt;/b&gt;'
    >>> "&lt;memory&gt;" in timeline_table_html(run.timeline.assign(name="<memory>"))
    True
"""

from __future__ import annotations

import html
import io
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import pandas as pd
from haystack.dataclasses import ChatMessage

from agent_nb.recording.diff import StateDiff, message_text
from agent_nb.recording.events import TIMELINE_SCHEMA, Column
from agent_nb.recording.snapshots import SKIPPED_KEYS
from agent_nb.recording.summary import json_text, safe_repr
from agent_nb.recording.text import cut as cut_text
from agent_nb.views.style import FALLBACK_COLOR, STATUS_COLORS, color_for, text_color_on

if TYPE_CHECKING:
    from matplotlib.figure import Figure

#: Longest text shown for one value (a State value, a tool result, a reply) before it is cut.
VALUE_LIMIT = 2000
#: Longest full text put in a tooltip (beyond it the tooltip is cut too, with its mark).
TITLE_LIMIT = 20_000
#: Timeline columns a table leaves out by default (one run per table: its id is said elsewhere).
TABLE_SKIP: frozenset[str] = frozenset({"run_id"})
_SURROGATE = re.compile("[\ud800-\udfff]")
_HEX = re.compile("#[0-9A-Fa-f]{6}")


# ---- text ---------------------------------------------------------------------------------------------------
def na(value: Any) -> bool:
    """Is `value` missing (None, pandas NA, NaN)?

    Usage:
        >>> na(None), na(pd.NA), na(float("nan")), na(0), na([1])
        (True, True, True, False, False)
    """
    if value is None or value is pd.NA:
        return True
    return isinstance(value, float) and value != value


def esc(value: Any) -> str:
    """Escaped text of any value for HTML text and attributes; missing values (None, NA, NaN) are empty.

    Usage:
        >>> esc('<a href="x">'), esc(None), esc(3)
        ('&lt;a href=&quot;x&quot;&gt;', '', '3')
    """
    if na(value):
        return ""
    text = html.escape(str(value), quote=True)
    if _SURROGATE.search(text):  # rare: only then pay for the re-encoding
        text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


def cut(text: str, limit: int = VALUE_LIMIT) -> str:
    """`text`, cut at a word boundary with a closing "…" when longer than `limit` (`agent_nb.recording.text.cut`).

    Usage:
        >>> cut("abcdef", 4), cut("one two three", 10)
        ('abc…', 'one two…')
    """
    return cut_text(text, limit)


def cut_html(text: str, limit: int = VALUE_LIMIT) -> str:
    """Escaped `text`; when cut, the full text (up to TITLE_LIMIT characters) is its tooltip.

    Usage:
        >>> cut_html("<b>", 10)
        '&lt;b&gt;'
        >>> cut_html("one two three", 10)
        '<span class="anb-cut" title="one two three">one two…</span>'
    """
    if len(text) <= limit:
        return esc(text)
    return f'<span class="anb-cut" title="{esc(cut_text(text, TITLE_LIMIT))}">{esc(cut_text(text, limit))}</span>'


def value_text(value: Any, limit: int | None = VALUE_LIMIT) -> str:
    """A State value as readable text: messages as `role: text`, the rest as JSON (repr when not JSON-able).

    Usage:
        >>> value_text({"a": [1, 2]}), value_text(ChatMessage.from_user("hi"))
        ('{"a": [1, 2]}', 'user: hi')
    """
    if isinstance(value, ChatMessage):
        text = f"{value.role.value}: {message_text(value, limit=None)}"
    elif isinstance(value, list) and value and all(isinstance(v, ChatMessage) for v in value):
        text = "\n".join(f"{m.role.value}: {message_text(m, limit=None)}" for m in value)
    else:
        text = json_text(value)  # a broken __repr__ or a circular value still shows, marked
    return text if limit is None else cut(text, limit)


def number(value: Any, fmt: str = "{:.1f}") -> str:
    """A number formatted with `fmt`; "" when missing.

    Usage:
        >>> number(1.234), number(pd.NA), number(3, "{}")
        ('1.2', '', '3')
    """
    return "" if na(value) else fmt.format(value)


# ---- badges -------------------------------------------------------------------------------------------------
def badge(text: Any, color: str) -> str:
    """A small label on a palette colour (text black or white, whichever reads better).

    Usage:
        >>> badge("ok", "#2E7D32")
        '<span class="anb-badge" style="background:#2E7D32;color:#FFFFFF">ok</span>'
    """
    if not _HEX.fullmatch(color):  # colours come from the palette; anything else is not put in a style
        color = FALLBACK_COLOR
    return f'<span class="anb-badge" style="background:{color};color:{text_color_on(color)}">{esc(text)}</span>'


def kind_badge(kind: Any, hook_point: Any = None, text: Any = None) -> str:
    """An event's kind in its chart colour: a hook takes the colour of its hook point, as in `run.plot()`.

    Usage:
        >>> kind_badge("hook", "on_exit") == badge("hook", color_for("hook", "on_exit"))
        True
    """
    return badge(kind if text is None else text, color_for(kind, hook_point))


def status_badge(status: Any) -> str:
    """A status (ok, error, skipped, cached, ...) as a badge; "" when missing.

    Usage:
        >>> "#D00000" in status_badge("error"), status_badge(None)
        (True, '')
    """
    if na(status):
        return ""
    return badge(status, STATUS_COLORS.get(str(status), FALLBACK_COLOR))


# ---- tables -------------------------------------------------------------------------------------------------
def kv_table(rows: Iterable[tuple[str, str]]) -> str:
    """A two-column table of (escaped key, HTML value); rows with an empty value are left out.

    Usage:
        >>> kv_table([("a <b>", "1"), ("empty", "")])
        '<table class="anb-table anb-kv"><tr><th>a &lt;b&gt;</th><td>1</td></tr></table>'
    """
    body = "".join(f"<tr><th>{esc(k)}</th><td>{v}</td></tr>" for k, v in rows if v != "")
    return f'<table class="anb-table anb-kv">{body}</table>'


def _timeline_cell(column: Column, row: dict[str, Any], link: bool, titles: dict[int, str] | None = None) -> str:
    name, value = column.name, row.get(column.name)
    if name == "seq":
        seq = int(value)
        return f'<td class="anb-num"><a href="#ev-{seq}">{seq}</a></td>' if link else f'<td class="anb-num">{seq}</td>'
    if name == "kind":
        return f'<td class="anb-nw">{kind_badge(value, row.get("hook_point"))}</td>'
    if name == "status":
        return f'<td class="anb-nw">{status_badge(value)}</td>'
    if name in ("changed", "agent_changed"):
        text = ", ".join(map(str, value)) if isinstance(value, list | tuple) else ("" if na(value) else str(value))
        return f'<td class="anb-text">{esc(text)}</td>'
    if column.dtype == "float64":
        return f'<td class="anb-num">{number(value, "{:.3f}")}</td>'
    if column.dtype in ("int64", "Int64"):
        return f'<td class="anb-num">{number(value, "{}")}</td>'
    if name == "error":
        return f'<td class="anb-text anb-error-text">{esc(value)}</td>'
    if name == "summary":
        full = (titles or {}).get(int(row["seq"])) if "seq" in row and not na(row["seq"]) else None
        if full and full != value:
            return f'<td class="anb-summary" title="{esc(cut_text(full, TITLE_LIMIT))}">{esc(value)}</td>'
        return f'<td class="anb-summary">{esc(value)}</td>'
    return f'<td class="anb-nw">{esc(value)}</td>'


def timeline_table_html(
    frame: pd.DataFrame,
    *,
    limit: int = 500,
    link: bool = False,
    skip: frozenset[str] = TABLE_SKIP,
    titles: dict[int, str] | None = None,
) -> str:
    """A timeline (or a filtered slice of one) as an escaped HTML table, its columns derived from TIMELINE_SCHEMA.

    Headers are the schema's labels, in its order except that the summary follows the status (the error column
    only when some event failed); kind and status are badges in the palette's colours. Each row carries
    `data-seq` and the classes `anb-row anb-kind-<kind> anb-status-<status>`. At most `limit` rows, with a
    note saying how many were left out; `link` makes each seq an anchor to `#ev-<seq>` (the report); `titles`
    (seq -> full text, e.g. `full_summary`) is the tooltip of a summary cell whose text was cut.

    Usage:
        >>> table = timeline_table_html(run.timeline, limit=3)
        >>> table.count('<tr class="anb-row'), f"First 3 of {len(run.timeline)} events" in table
        (3, True)
    """
    if frame is None or len(frame) == 0:
        return '<p class="anb-muted">No events recorded.</p>'
    columns = [c for c in TIMELINE_SCHEMA if c.name in frame.columns and c.name not in skip]
    if "error" in frame.columns and frame["error"].isna().all():
        columns = [c for c in columns if c.name != "error"]  # most runs: an empty column
    # What happened, right after who did it: the summary stays in view when the numbers overflow the width.
    summary = [c for c in columns if c.name == "summary"]
    rest = [c for c in columns if c.name != "summary"]
    at = next((i + 1 for i, c in enumerate(rest) if c.name == "status"), len(rest))
    columns = rest[:at] + summary + rest[at:]
    shown = frame.head(limit)
    head = "".join(
        f'<th title="{esc(c.description)}" style="min-width:{min(c.width, 30)}ch">{esc(c.label)}</th>'
        if c.width >= 16  # the wide text columns keep a readable width in a narrow frame
        else f'<th title="{esc(c.description)}">{esc(c.label)}</th>'
        for c in columns
    )
    rows = []
    for rec in shown.astype(object).to_dict("records"):
        cells = "".join(_timeline_cell(c, rec, link, titles) for c in columns)
        seq = f' data-seq="{int(rec["seq"])}"' if "seq" in rec else ""
        cls = f"anb-row anb-kind-{esc(rec.get('kind'))} anb-status-{esc(rec.get('status'))}"
        rows.append(f'<tr class="{cls}"{seq}>{cells}</tr>')
    note = f'<p class="anb-muted">First {len(shown)} of {len(frame)} events shown.</p>' if len(frame) > limit else ""
    return (
        f'{note}<div class="anb-wrap"><table class="anb-table"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div>"
    )


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
    heads = ("", "step", "event", "A", "B", "differs", "A: summary", "B: summary")
    widths = {"A: summary": ' style="width:32%"', "B: summary": ' style="width:32%"'}
    head = "".join(f"<th{widths.get(h, '')}>{h}</th>" for h in heads)
    rows = []
    first_at = None
    for i, row in enumerate(frame.head(limit).astype(object).to_dict("records")):
        first = not na(row.get("first_divergence")) and bool(row.get("first_divergence"))
        same = na(row.get("same")) or bool(row.get("same"))
        status_a, status_b = esc(row.get("status_a")), esc(row.get("status_b"))
        inherited = "inherited" in (status_a, status_b)
        cls = "anb-row" + (" anb-first-divergence" if first else "") + ("" if same else " anb-differs")
        cls += " anb-status-skipped" if inherited and same else ""
        if first and first_at is None:
            first_at = i
        point = esc(row.get("hook_point"))
        event = kind_badge(row.get("kind"), row.get("hook_point")) + " " + (f"{point} · " if point else "")
        event += esc(row.get("name"))
        mark = "▶" if first else ("≠" if not same else "")
        summary_a, summary_b = esc(row.get("summary_a")), esc(row.get("summary_b"))
        rows.append(
            f'<tr class="{cls}"><td>{mark}</td><td class="anb-num">{number(row.get("step"), "{}")}</td>'
            f"<td>{event}</td><td>{status_a}</td><td>{status_b}</td><td>{esc(row.get('differs'))}</td>"
            f'<td class="anb-summary">{summary_a}</td>'
            f'<td class="anb-summary">{"″" if same and summary_a == summary_b else summary_b}</td></tr>'
        )
    differing = int((~frame["same"].fillna(True).astype(bool)).sum()) if "same" in frame else 0
    # The one line `compare` wrote (inputs, then the first divergence): what every view of a comparison says.
    note = frame.attrs.get("summary") or ""
    if not note:
        note = f"first divergence at row {first_at}" if first_at is not None else "no divergence: the runs agree"
        info = frame.attrs.get("first_divergence")
        if first_at is not None and isinstance(info, dict) and info.get("reason"):
            note += f" ({info['reason']})"
    if first_at is not None:
        note += f"; {differing} differing rows"
    title = ""
    divergence = frame.attrs.get("divergence")
    if isinstance(divergence, dict) and divergence.get("field"):  # the values in full, as the tooltip
        full = f"{divergence['field']}\nA: {divergence.get('a')}\nB: {divergence.get('b')}"
        title = f' title="{esc(cut_text(full, TITLE_LIMIT))}"'
    more = f", showing {limit} of {len(frame)} rows" if len(frame) > limit else ""
    return (
        f'<div class="anb-muted"{title}>{esc(note)}{esc(more)}. ″ = same as A.</div>'
        f'<table class="anb-table"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'
    )


# ---- State and diffs ----------------------------------------------------------------------------------------
def message_line(index: int, message: Any) -> str:
    """`[3] user: What is 2 + 3?` (full text, escaped).

    Usage:
        >>> message_line(0, ChatMessage.from_user("<hi>"))
        '[0] user: &lt;hi&gt;'
    """
    if isinstance(message, ChatMessage):
        return f"[{index}] {esc(message.role.value)}: {esc(message_text(message, limit=None))}"
    return f"[{index}] {esc(safe_repr(message))}"


def state_html(state: dict[str, Any] | None, *, highlight: frozenset[str] | set[str] = frozenset()) -> str:
    """A State snapshot as monospace text: the messages, one per line, then the other keys as JSON.

    Keys in `highlight` (what the event changed) are marked with a `*`; live keys (`tools`, `hook_context`)
    are never shown (they are never snapshotted either).

    Usage:
        >>> "step_count" in state_html({"messages": [], "step_count": 1})
        True
    """
    if state is None:
        return '<div class="anb-muted">(no snapshot)</div>'
    messages = state.get("messages") or []
    mark = " *" if "messages" in highlight else ""
    lines = [f"<b>messages</b> ({len(messages)}){mark}"]
    lines += [message_line(i, m) for i, m in enumerate(messages)]
    for key, value in state.items():
        if key == "messages" or key in SKIPPED_KEYS:
            continue
        mark = " *" if key in highlight else ""
        text = f"<b>{esc(key)}</b>{mark}: {esc(value_text(value, limit=None))}"
        lines.append(f'<span class="anb-diff-rep">{text}</span>' if mark else text)
    return '<div class="anb-pre">' + "\n".join(lines) + "</div>"


def diff_html(diff: StateDiff, *, limit: int | None = None) -> str:
    """A StateDiff as coloured lines: + added, − removed, ~ replaced messages; changed keys old → new; flow.

    `limit` cuts each changed value's text, the full text its tooltip (the report uses 400 characters; the
    inspector shows it whole).

    Usage:
        >>> diff_html(StateDiff(changed={"step_count": (0, 1)}))
        '<div class="anb-pre"><span class="anb-diff-rep">step_count: 0 → 1</span></div>'
    """
    lines = [
        f'<span class="anb-diff-add">+ {esc(c.role)}[{c.index}]: {esc(c.text)}</span>' for c in diff.messages_added
    ]
    lines += [
        f'<span class="anb-diff-del">− {esc(c.role)}[{c.index}]: {esc(c.text)}</span>' for c in diff.messages_removed
    ]
    lines += [
        f'<span class="anb-diff-rep">~ {esc(a.role)}[{a.index}]: {esc(a.text)}\n'
        f"    → {esc(b.role)}: {esc(b.text)}</span>"
        for a, b in diff.messages_replaced
    ]
    shown = (lambda v: esc(value_text(v, None))) if limit is None else (lambda v: cut_html(value_text(v, None), limit))
    lines += [
        f'<span class="anb-diff-rep">{esc(k)}: {shown(old)} → {shown(new)}</span>'
        for k, (old, new) in diff.changed.items()
        if k not in SKIPPED_KEYS
    ]
    if diff.flow:
        lines.append(f'<span class="anb-diff-flow">run control: {esc(diff.flow)}</span>')
    if not lines:
        lines = ['<span class="anb-muted">(no change to the State)</span>']
    return '<div class="anb-pre">' + "\n".join(lines) + "</div>"


# ---- figures ------------------------------------------------------------------------------------------------
def figure_png(fig: Figure, *, dpi: int = 96) -> bytes:
    """A matplotlib Figure as PNG bytes (no metadata naming the software), released from pyplot if it made it.

    Releasing matters: a pyplot figure left open from a background thread would be shown again by the inline
    backend at the end of the user's next cell.

    Usage:
        >>> from matplotlib.figure import Figure
        >>> figure_png(Figure(figsize=(1, 1)))[:4]
        b'\\x89PNG'
    """
    buf = io.BytesIO()
    try:
        # No Software metadata: it would embed matplotlib's web address in an offline report.
        fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight", metadata={"Software": None})
    finally:
        if getattr(fig.canvas, "manager", None) is not None:
            import matplotlib.pyplot as plt

            plt.close(fig)
    return buf.getvalue()

"""What the trace view sends to the browser: a run as compact columns (one list per field), two runs aligned for
compare, the palette, and the detail of one event (State, chat, tool call, decision, folded traceback).

Usage:
    >>> columns(run)["n"] == len(run.events)
    True
    >>> event_detail(run, 4)["title"]
    '#4 tool add'
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
from haystack.dataclasses import ChatMessage

from agent_nb.recording import Event, Run
from agent_nb.recording.diff import message_text
from agent_nb.recording.events import HOOK_POINTS, KINDS, STATUSES, TIMELINE_SCHEMA, fill_agent_changed
from agent_nb.recording.options import LIVE_STATE_KEYS
from agent_nb.recording.summary import full_summary, json_text, safe_repr
from agent_nb.recording.text import cut
from agent_nb.views.outcome import decision_text, fold_traceback
from agent_nb.views.style import COLORS, ERROR_COLOR, FALLBACK_COLOR, KEY_ORDER, LABELS

#: Longest summary sent per event (the detail pane shows the full text).
SUMMARY_LIMIT = 160
#: Longest full text sent for a row whose summary is cut (its tooltip; the detail pane has all of it).
FULL_LIMIT = 1_000
#: Longest single text (a message, a State dump) in the detail pane before it is cut with an ellipsis.
TEXT_LIMIT = 20_000
#: Runs longer than this get their search texts built in the background when shown.
WARM_SEARCH_FROM = 200
#: Timeline columns the table shows, in this order; labels and widths come from TIMELINE_SCHEMA.
TABLE_FIELDS = ("seq", "step", "kind", "hook_point", "name", "status", "offset_ms", "duration_ms", "flow", "summary")


def _cut(text: str, limit: int) -> str:
    return cut(text, limit)  # the one cut: at a word boundary, ending with "…"


def _json_text(value: Any, limit: int = TEXT_LIMIT) -> str:
    return _cut(json_text(value, indent=2, default=_plain), limit)  # a broken repr or a cycle shows, marked


def _plain(value: Any) -> Any:
    if isinstance(value, ChatMessage):
        return f"{value.role.value}: {message_text(value, limit=None)}"
    return safe_repr(value)


def _chat(messages: Any) -> list[dict[str, str]]:
    """Messages as role + text pairs (full text, cut only past TEXT_LIMIT)."""
    out = []
    for message in messages or []:
        if isinstance(message, ChatMessage):
            out.append({"role": message.role.value, "text": _cut(message_text(message, limit=None), TEXT_LIMIT)})
        else:
            out.append({"role": "?", "text": _cut(safe_repr(message), TEXT_LIMIT)})
    return out


def table_columns() -> list[dict[str, Any]]:
    """The table's columns (name, label, width in characters, description) from `TIMELINE_SCHEMA`.

    Usage:
        >>> [c["label"] for c in table_columns()][:3]
        ['#', 'step', 'kind']
    """
    spec = {c.name: c for c in TIMELINE_SCHEMA}
    return [
        {"name": n, "label": spec[n].label, "width": spec[n].width, "description": spec[n].description}
        for n in TABLE_FIELDS
    ]


def outcome(run: Run | None) -> tuple[str, str]:
    """What a run's end means, as (key, text): ok / running / max_steps / stopped / tool_error / error.

    A clean text answer is the only "ok"; hitting max_agent_steps, a stop_run from a hook, a Stop from the
    user, a failed tool call and a raised error each read differently.

    Usage:
        >>> outcome(Run(run_id="x", status="ok", result={"exit_reason": "max_agent_steps"}))
        ('max_steps', 'stopped at max_agent_steps')
    """
    if run is None:
        return "none", "no run"
    if run.status == "running":
        return "running", "running"
    if run.error or run.status == "error":
        return "error", f"error: {run.error}" if run.error else "error"
    reason = run.exit_reason or ""
    if reason == "max_agent_steps":
        return "max_steps", "stopped at max_agent_steps"
    if reason == "stopped_by_user" or run.status == "stopped":
        return "stopped", "stopped by you"
    if reason.startswith("stop_run") or any(e.flow and e.flow.startswith("stop_run") for e in run.events):
        return "stop_run", f"stopped by a hook ({reason or 'stop_run'})"
    failed = [e for e in run.events if e.kind == "tool" and e.status == "error"]
    if failed:
        return "tool_error", f"answered after {len(failed)} failed tool call{'s' * (len(failed) > 1)}"
    if reason and reason not in ("text", "tool_exit"):
        return "other", f"ended: {reason}"
    return "ok", "answered" if reason != "tool_exit" else "ended by an exit tool"


#: The statuses the view shows: the timeline's, plus `given` (an LLM reply the user typed for a fork).
VIEW_STATUSES: tuple[str, ...] = (*STATUSES, "given")
#: The per-event columns the browser receives, in this order.
#: `wait`: ms of the row's own time spent waiting for a person (an approval); `paused`: ms a live run was paused
#: before the row's event ran (off the run's clock, so in no duration): both drawn as time that was the person's.
#: `full`: the whole summary of a row whose `summary` is cut (its tooltip), "" when nothing was cut.
FIELDS: tuple[str, ...] = ("seq", "step", "kind", "point", "name", "status", "t0", "dur", "flow", "err", "summary",
                           "wait", "changed", "agent_changed", "paused", "full")  # fmt: skip
_KIND_CODE = {k: i for i, k in enumerate(KINDS)}
_POINT_CODE = {p: i for i, p in enumerate(HOOK_POINTS)}
_STATUS_CODE = {s: i for i, s in enumerate(VIEW_STATUSES)}


def view_status(e: Event) -> str:
    """The status the view shows: the row's own, read as `given` when the core marked the reply as typed by the user.

    Usage:
        >>> e = Event("r", 0, 0, "llm", None, "Gen", "cached", 0.0, 1.0)
        >>> view_status(e)
        'cached'
        >>> e.detail = {"given": True}; view_status(e)
        'given'
    """
    if e.status == "cached" and e.detail and e.detail.get("given"):
        return "given"
    return e.status


class Encoder:
    """Encodes a run's events as rows of the compact columns, with name and flow lookup tables that only grow.

    One encoder per run shown: its tables stay valid across live batches, so a batch sends only new entries.

    Usage:
        >>> enc = Encoder(Run(run_id="x"))
        >>> enc.row(Event("x", 0, 0, "tool", None, "add", "ok", 1.0, 0.5, summary="add(a=1) -> 2"))[:5]
        (0, 0, 2, -1, 0)
        >>> enc.names
        ['add']
    """

    def __init__(
        self,
        run: Run | None,
        notes: dict[int, str] | None = None,
        waits: dict[int, float] | None = None,
        pauses: dict[int, float] | None = None,
    ):
        self.resumed = bool(run is not None and run.resumed)
        self.notes, self.waits = notes or {}, waits or {}
        #: ms paused (a live run at a breakpoint) before the event of each seq: `paused_before(live.pauses)`.
        self.pauses = pauses or {}
        self._names: dict[str, int] = {}
        self._flows: dict[str, int] = {}
        self.names: list[str] = []
        self.flows: list[str] = []

    def _code(self, table: dict[str, int], listing: list[str], value: str) -> int:
        code = table.get(value)
        if code is None:
            code = table[value] = len(listing)
            listing.append(value)
        return code

    def row(self, e: Event) -> tuple[Any, ...]:
        """One event as a tuple in `FIELDS` order."""
        summary = self.notes.get(e.seq) or e.summary or ""
        if self.resumed and e.status == "skipped" and e.hook_point == "before_run":
            summary = "not run: this run resumed a recorded State after before_run"
        shown = _cut(" ".join(summary.split()), SUMMARY_LIMIT)
        full = ""
        if "…" in shown:  # cut here or by the core: the whole line goes along for the tooltip
            whole = " ".join((full_summary(e) if summary == e.summary else summary).split())
            full = _cut(whole, FULL_LIMIT) if whole != shown else ""
        # Rows before the first step (before_run) have no step: -1; rows after the last (after_run): -2.
        step = (-2 if e.hook_point == "after_run" else -1) if e.step is None else int(e.step)
        return (
            e.seq,
            step,
            _KIND_CODE.get(e.kind, 0),
            _POINT_CODE.get(e.hook_point, -1) if e.hook_point else -1,
            self._code(self._names, self.names, e.name),
            _STATUS_CODE.get(view_status(e), 0),
            round(float(e.offset_ms), 3),
            round(float(e.duration_ms), 3),
            self._code(self._flows, self.flows, e.flow) if e.flow else -1,
            1 if e.error else 0,
            shown,
            round(self.waits.get(e.seq, 0.0), 3),
            ", ".join(map(str, e.changed)),
            ", ".join(map(str, e.agent_changed)),  # complete once `fill_agent_changed` has seen the row before
            round(self.pauses.get(e.seq, 0.0), 3),
            full,
        )


def paused_before(pauses: list[dict[str, Any]] | None) -> dict[int, float]:
    """ms paused before each event, by its seq, from a live run's `live.pauses` (several pauses before one event,
    e.g. a pause, an edit row, and Step to the next boundary of the same event, add up).

    Usage:
        >>> paused_before([{"seq": 4, "paused_ms": 1200.0}, {"seq": 4, "paused_ms": 300.0}])
        {4: 1500.0}
    """
    out: dict[int, float] = {}
    for p in list(pauses or ()):
        out[int(p["seq"])] = out.get(int(p["seq"]), 0.0) + float(p.get("paused_ms") or 0.0)
    return out


def paused_meta(pause: Any, since_ms: float | None, now_ms: float) -> dict[str, Any]:
    """What the view draws for a live run paused at a breakpoint: the event it paused before, as an open bar
    from the pause's start (`t0`, run clock) on; `elapsed_ms` is how long it has been paused so far. {} when
    not paused.

    `kind` is the event's kind as the palette knows it ("hook" before a hook point's hooks or one hook, "llm",
    "tool"), `at` the breakpoint's ("point", "hook", "llm", "tool"); `name` the hook, generator or tool
    ("" before a point's hooks).

    Usage:
        >>> from agent_nb.replay.live import Pause
        >>> p = Pause("before_tool", None, "point", 0, 4, {}, where="before_tool, step 0")
        >>> m = paused_meta(p, 1.5, 2001.5); m["kind"], m["point"], m["step"], m["t0"], m["elapsed_ms"]
        ('hook', 'before_tool', 0, 1.5, 2000.0)
    """
    if pause is None or since_ms is None:
        return {}
    kind = "hook" if pause.kind in ("point", "hook") else pause.kind
    step = (-2 if pause.point == "after_run" else -1) if pause.step is None else int(pause.step)
    return {"kind": kind, "at": pause.kind, "point": pause.point if kind == "hook" else "", "name": pause.name or "",
            "step": step, "seq": int(pause.seq), "t0": round(float(since_ms), 3),
            "elapsed_ms": round(max(float(now_ms) - float(since_ms), 0.0), 3), "where": pause.where,
            "error": pause.error or ""}  # fmt: skip


def _as_columns(rows: list[tuple[Any, ...]]) -> dict[str, list[Any]]:
    if not rows:
        return {k: [] for k in FIELDS}
    return {k: list(v) for k, v in zip(FIELDS, zip(*rows, strict=True), strict=True)}


def columns(run: Run | None, notes: dict[int, str] | None = None, waits: dict[int, float] | None = None) -> dict:
    """The compact columnar form of a run's events that the browser draws (codes index `kinds` etc.).

    Usage:
        >>> columns(None)["n"]
        0
    """
    enc = Encoder(run, notes, waits)
    events = list(run.events) if run is not None else []
    fill_agent_changed(events)
    rows = [enc.row(e) for e in events]
    return {"run_id": run.run_id if run is not None else "", "n": len(rows), "names": enc.names,
            "flows": enc.flows, **_as_columns(rows)}  # fmt: skip


def compare_columns(a: Run, b: Run, frame: pd.DataFrame, annotate: Any = None) -> dict[str, Any]:
    """Two runs' events in one set of columns for the compare mode: run `a`'s, then run `b`'s.

    Each event's id (`seq` column) is its index in these columns (b's events follow a's); `num` is its seq in
    its own run, `lane` 0 for `a` and 1 for `b`; `order` lists the ids in the alignment's order (`compare`'s
    rows, a's event above b's), `same` is 0 on events whose aligned row differs, and `divergence` is the id of
    the first divergent row's event (b's when it has one).

    Usage:
        >>> from agent_nb.replay import compare
        >>> d = compare_columns(run, fork, compare(run, fork))
        >>> d["n"] == len(run.events) + len(fork.events), d["lane"][0], d["lane"][-1]
        (True, 0, 1)
    """
    enc = Encoder(a, *(annotate(a) if annotate else ({}, {})))
    rows = [enc.row(e) for e in a.events]
    n_a = len(rows)
    # One encoder (one name table) for both runs; b's own resume and annotations.
    enc.resumed = bool(b.resumed)
    enc.notes, enc.waits = annotate(b) if annotate else ({}, {})
    rows += [enc.row(e) for e in b.events]
    cols = _as_columns(rows)
    cols["num"] = cols["seq"]
    cols["seq"] = list(range(len(rows)))
    lane = [0] * n_a + [1] * (len(rows) - n_a)
    same = [1] * len(rows)
    order: list[int] = []
    divergence = -1
    for seq_a, seq_b, is_same, first in zip(frame["seq_a"], frame["seq_b"], frame["same"], frame["first_divergence"],
                                            strict=True):  # fmt: skip
        ids = [int(seq_a)] if not pd.isna(seq_a) else []
        ids += [n_a + int(seq_b)] if not pd.isna(seq_b) else []
        order += ids
        if not is_same:
            for i in ids:
                same[i] = 0
        if first and ids:
            divergence = ids[-1]
    return {"run_id": f"{a.run_id} vs {b.run_id}", "n": len(rows), "names": enc.names, "flows": enc.flows, **cols,
            "lane": lane, "same": same, "order": order, "divergence": divergence,
            "runs": [a.run_id, b.run_id], "n_a": n_a}  # fmt: skip


def palette() -> dict[str, Any]:
    """The one palette (agent_nb.views.style) and code tables, as the frontend needs them.

    Usage:
        >>> palette()["colors"]["llm"] == COLORS["llm"]
        True
    """
    return {
        "colors": dict(COLORS),
        "labels": dict(LABELS),
        "order": [*KEY_ORDER, *(k for k in COLORS if k not in KEY_ORDER)],  # edits last
        "fallback": FALLBACK_COLOR,
        "error": ERROR_COLOR,
        "kinds": list(KINDS),
        "points": list(HOOK_POINTS),
        "statuses": list(VIEW_STATUSES),
        "columns": table_columns(),
        "fields": list(FIELDS),
    }


def event_detail(run: Run, seq: int, notes: dict[int, str] | None = None) -> dict[str, Any]:
    """What the detail pane shows for event `seq`: header fields, chat, tool call, decision, diff, States, error.

    Every value is plain text (the frontend sets it as text, never as HTML).

    Usage:
        >>> from agent_nb.recording import Event
        >>> run = Run(run_id="r", status="ok")
        >>> run.events.append(Event("r", 0, 1, "tool", None, "add", "ok", 1.0, 0.5, summary="add(a=1) -> 2"))
        >>> event_detail(run, 0)["fields"][:2]
        [['step', '1'], ['status', 'ok']]
    """
    e = run.event(seq)
    where = f"{e.hook_point} / {e.name}" if e.hook_point else e.name
    fields = [
        ["step", "run start" if e.step is None and e.hook_point == "before_run" else
         ("run end" if e.step is None else str(e.step))],
        ["status", _status_words(run, e)],
        ["start", f"{e.offset_ms:.2f} ms"],
        ["duration", f"{e.duration_ms:.2f} ms"],
    ]  # fmt: skip
    if e.kind == "llm":
        tokens = [
            "?" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v)
            for v in (e.prompt_tokens, e.completion_tokens)
        ]
        fields.append(["tokens", f"{tokens[0]} in / {tokens[1]} out"])
    if e.changed:
        fields.append(["changed", ", ".join(map(str, e.changed))])
    fill_agent_changed(list(run.events))  # it reads the event before
    if e.agent_changed:
        fields.append(["agent changed", ", ".join(map(str, e.agent_changed))])
    out: dict[str, Any] = {
        "seq": e.seq,
        "title": f"#{e.seq} {e.kind} {where}",
        "kind": e.kind,
        "point": e.hook_point or "",
        "status": view_status(e),
        "summary": _cut(_whole_summary(e), TEXT_LIMIT),
        "fields": fields,
        "flow": e.flow or "",
        "error": e.error or "",
        "note": (notes or {}).get(e.seq, ""),
    }
    tb = e.detail.get("traceback") if e.detail else None
    if not tb and e.error and run.error and e.seq == len(run.events) - 1 and run.exception is not None:
        tb = run.exception
    if tb:  # the user's frames first; agent_nb, haystack and Python frames apart ("internal frames")
        folded = fold_traceback(tb)
        out["traceback"] = _cut(folded.text(), TEXT_LIMIT)
        out["traceback_folded"] = folded.to_dict()
    before = after = None
    try:
        before = run.state_at(seq, "before")
        after = run.state_at(seq, "after")
    except Exception:  # snapshots="off" or a partial event: the pane says so
        out["state_note"] = "no State snapshot for this event (recorded with snapshots='off' or cut short)"
    if e.kind == "llm":
        out["chat"] = _chat((before or {}).get("messages"))
        out["reply"] = _chat(e.detail.get("replies"))
        if e.detail.get("tool_names"):
            out["fields"].append(["tools offered", ", ".join(map(str, e.detail["tool_names"]))])
    if e.kind == "tool":
        if "arguments" in e.detail:
            out["arguments"] = _json_text(e.detail["arguments"])
        if "result" in e.detail:
            result = e.detail["result"]
            out["result"] = _cut(result if isinstance(result, str) else _json_text(result), TEXT_LIMIT)
    if e.kind == "hook":
        out["decision"] = decision_text(e, resumed=run.resumed)
    if before is not None and after is not None:
        diff = run.diff(seq)
        items = [["+", f"[{m.index}] {m.role}", _cut(m.text, TEXT_LIMIT)] for m in diff.messages_added]
        items += [["-", f"[{m.index}] {m.role}", _cut(m.text, TEXT_LIMIT)] for m in diff.messages_removed]
        items += [["~", f"[{a.index}] {a.role}", _cut(f"{a.text} -> {b.text}", TEXT_LIMIT)]
                  for a, b in diff.messages_replaced]  # fmt: skip
        items += [["~", str(k), _cut(f"{_short(v[0])} -> {_short(v[1])}", TEXT_LIMIT)] for k, v in diff.changed.items()]
        out["diff"] = items
        out["before"] = _json_text(_visible(before))
        out["after"] = _json_text(_visible(after))
    return out


def _whole_summary(e: Event) -> str:
    """The row's summary, or, when it was cut ("…"), the whole of it: the detail pane shows everything."""
    summary = e.summary or ""
    if "…" not in summary:
        return summary
    try:
        return full_summary(e)
    except Exception:  # an event the summary code cannot read again: the cut line, marked as such
        return summary


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else _json_text(value, 2000).replace("\n", " ")
    return _cut(" ".join(str(text).split()), 2000)


def _visible(state: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in state.items() if k not in LIVE_STATE_KEYS}


def _status_words(run: Run, e: Event) -> str:
    if e.status == "cached":
        if view_status(e) == "given":
            return "given (a reply you typed for this fork)"
        return "cached (served from the recording)"
    if e.status == "skipped":
        if e.detail and e.detail.get("skipped_by_hand"):
            return "skipped (by hand, at a breakpoint)"
        if run.resumed and e.hook_point == "before_run":
            return "not run (resumed after before_run)"
        return "skipped (switched off)"
    return e.status


def _divergence_text(first: dict[str, Any] | None) -> str:
    if not first:
        return "no divergence: the runs agree"
    where = "run start" if first.get("step") is None or pd.isna(first["step"]) else f"step {first['step']}"
    what = first.get("hook_point") or first.get("kind")
    # The reason quotes both summaries: cut here (the Runs tab's table has them in full).
    return _cut(f"first divergence: {where}, {what} {first.get('name')} ({first.get('reason')})", 200)

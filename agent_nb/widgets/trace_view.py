"""`TraceView`: a run as an interactive waterfall (anywidget), with a detail pane and a virtualized event table.

The browser gets compact columns (one list per field, names and flows as small lookup tables) in the `data`
trait; the detail of one event (State before / after / diff, the LLM input and reply as a chat, tool
arguments and result, the hook's decision, the error) is built on demand when the frontend sets `selected`
and comes back in the `detail` trait. The JavaScript (`trace_view.js`, plain ES module, no build step) draws
the waterfall on a canvas and only the table rows in view, so 10,000 events scroll smoothly.

Where no widget manager runs (nbconvert, a repository page) `_repr_mimebundle_` carries a static rendering:
the matplotlib chart as an image and the escaped event table.

Filters live in traits too (`brush`, `search`, `kinds`, `mode`), so code and tests drive the view the way
the browser does; `visible_seqs()` is the Python mirror of what the table shows.

Usage:
    >>> from agent_nb.recording import Event, Run
    >>> run = Run(run_id="r1", status="ok")
    >>> run.events.append(Event("r1", 0, 0, "llm", None, "Gen", "ok", 0.0, 2.0, summary="hi"))
    >>> view = TraceView(run)
    >>> view.data["n"], view.data["kind"]
    (1, [1])
    >>> view.selected = 0; view.detail["title"]
    '#0 llm Gen'
"""

from __future__ import annotations

import html
import json
import math
import threading
import time
from pathlib import Path
from typing import Any

import anywidget
import pandas as pd
import traitlets as T
from haystack.dataclasses import ChatMessage

from agent_nb.recording import Event, Run
from agent_nb.recording.diff import message_text
from agent_nb.recording.events import HOOK_POINTS, KINDS, STATUSES, TIMELINE_SCHEMA
from agent_nb.views.style import COLORS, ERROR_COLOR, FALLBACK_COLOR, KEY_ORDER, LABELS

_HERE = Path(__file__).parent
#: Longest summary sent per event (the detail pane shows the full text).
SUMMARY_LIMIT = 160
#: Longest single text (a message, a State dump) in the detail pane before it is cut with an ellipsis.
TEXT_LIMIT = 20_000
#: Timeline columns the table shows, in this order; labels and widths come from TIMELINE_SCHEMA.
TABLE_FIELDS = ("seq", "step", "kind", "hook_point", "name", "status", "offset_ms", "duration_ms", "flow", "summary")


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _json_text(value: Any, limit: int = TEXT_LIMIT) -> str:
    try:
        text = json.dumps(value, ensure_ascii=False, indent=2, default=_plain)
    except (TypeError, ValueError):
        text = repr(value)
    return _cut(text, limit)


def _plain(value: Any) -> Any:
    if isinstance(value, ChatMessage):
        return f"{value.role.value}: {message_text(value, limit=None)}"
    return repr(value)


def _chat(messages: Any) -> list[dict[str, str]]:
    """Messages as role + text pairs (full text, cut only past TEXT_LIMIT)."""
    out = []
    for message in messages or []:
        if isinstance(message, ChatMessage):
            out.append({"role": message.role.value, "text": _cut(message_text(message, limit=None), TEXT_LIMIT)})
        else:
            out.append({"role": "?", "text": _cut(repr(message), TEXT_LIMIT)})
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


def given_seqs(run: Run) -> set[int]:
    """The LLM events of a fork whose reply the user gave (`run.fork(step, reply=...)`), not the recording.

    Found as the fork step's served reply that differs from the parent's reply at that step.

    Usage:
        >>> given_seqs(Run(run_id="x"))
        set()
    """
    if run.kind != "fork" or run.fork_step is None or not run.parent_id:
        return set()
    first = next((e for e in run.events if e.kind == "llm" and e.step == run.fork_step), None)
    if first is None or first.status != "cached":
        return set()
    if first.detail.get("given"):
        return {first.seq}
    parent = None
    if run.recorder is not None:
        try:
            parent = run.recorder.get(run.parent_id)
        except Exception:
            parent = None
    if parent is None:
        return set()
    recorded = next((e for e in parent.events if e.kind == "llm" and e.step == run.fork_step), None)

    def texts(e: Event | None) -> list[str]:
        return [message_text(m, limit=None) for m in (e.detail.get("replies") or [])] if e is not None else []

    return {first.seq} if texts(first) != texts(recorded) else set()


def columns(run: Run | None, notes: dict[int, str] | None = None, waits: dict[int, float] | None = None) -> dict:
    """The compact columnar form of a run's events that the browser draws (codes index `kinds` etc.).

    Usage:
        >>> columns(None)["n"]
        0
    """
    events: list[Event] = list(run.events) if run is not None else []
    notes, waits = notes or {}, waits or {}
    resumed = bool(run is not None and run.resumed)
    names: dict[str, int] = {}
    flows: dict[str, int] = {}
    kind_code = {k: i for i, k in enumerate(KINDS)}
    point_code = {p: i for i, p in enumerate(HOOK_POINTS)}
    status_code = {s: i for i, s in enumerate(VIEW_STATUSES)}
    given = given_seqs(run) if run is not None else set()
    cols: dict[str, list[Any]] = {
        k: [] for k in ("seq", "step", "kind", "point", "name", "status", "t0", "dur", "flow", "err", "summary", "wait")
    }
    for e in events:
        cols["seq"].append(e.seq)
        cols["step"].append(-1 if e.step is None else int(e.step))
        cols["kind"].append(kind_code.get(e.kind, 0))
        cols["point"].append(point_code.get(e.hook_point, -1) if e.hook_point else -1)
        cols["name"].append(names.setdefault(e.name, len(names)))
        cols["status"].append(status_code["given"] if e.seq in given else status_code.get(e.status, 0))
        cols["t0"].append(round(float(e.offset_ms), 3))
        cols["dur"].append(round(float(e.duration_ms), 3))
        cols["flow"].append(flows.setdefault(e.flow, len(flows)) if e.flow else -1)
        cols["err"].append(1 if e.error else 0)
        summary = notes.get(e.seq) or e.summary or ""
        if resumed and e.status == "skipped" and e.hook_point == "before_run":
            summary = "not run: this run resumed a recorded State after before_run"
        cols["summary"].append(_cut(" ".join(summary.split()), SUMMARY_LIMIT))
        cols["wait"].append(round(waits.get(e.seq, 0.0), 3))
    # Rows before the first step (before_run) and after the last (after_run) have no step: -1 and "end" (-2).
    for i, e in enumerate(events):
        if e.step is None and e.hook_point == "after_run":
            cols["step"][i] = -2
    return {"run_id": run.run_id if run is not None else "", "n": len(events), "names": list(names),
            "flows": list(flows), **cols}  # fmt: skip


def palette() -> dict[str, Any]:
    """The one palette (agent_nb.views.style) and code tables, as the frontend needs them.

    Usage:
        >>> palette()["colors"]["llm"] == COLORS["llm"]
        True
    """
    return {
        "colors": dict(COLORS),
        "labels": dict(LABELS),
        "order": list(KEY_ORDER),
        "fallback": FALLBACK_COLOR,
        "error": ERROR_COLOR,
        "kinds": list(KINDS),
        "points": list(HOOK_POINTS),
        "statuses": list(VIEW_STATUSES),
        "columns": table_columns(),
    }


class TraceView(anywidget.AnyWidget):
    """A run as a waterfall grouped by step, with a detail pane and a virtualized event table.

    Traits the frontend and code share: `selected` (event seq, -1 none), `mode` ("absolute" or "step"),
    `brush` ([lo, hi] ms on the current axis, [] for none), `search` (text in name / summary),
    `kinds` (kinds shown), `zoom` ([lo, hi] ms or []), `collapsed` (steps folded; None = automatic).

    Usage:
        >>> view = TraceView()
        >>> view.show_run(None); view.data["n"]
        0
    """

    _esm = _HERE / "trace_view.js"
    _css = _HERE / "trace_view.css"

    data = T.Dict().tag(sync=True)
    meta = T.Dict().tag(sync=True)
    palette = T.Dict().tag(sync=True)
    selected = T.Int(-1).tag(sync=True)
    detail = T.Dict().tag(sync=True)
    mode = T.Unicode("absolute").tag(sync=True)
    brush = T.List().tag(sync=True)
    search = T.Unicode("").tag(sync=True)
    kinds = T.List(list(KINDS)).tag(sync=True)
    zoom = T.List().tag(sync=True)
    collapsed = T.List().tag(sync=True)
    expand_all = T.Bool(False).tag(sync=True)
    height = T.Int(360).tag(sync=True)

    def __init__(self, run: Run | None = None, *, annotate: Any = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.palette = palette()
        self.run: Run | None = None
        #: `annotate(run) -> (notes, waits)`: decisions and waiting time per seq (the workbench's confirmations).
        self.annotate = annotate
        self._sent: tuple[Any, int, str] = (None, -1, "")
        self._sent_at = 0.0
        self._lock = threading.RLock()
        self.observe(self._on_selected, names="selected")
        self.show_run(run)

    # ---- data ------------------------------------------------------------------------------------------------
    def show_run(self, run: Run | None, *, divergence: int | None = None, parent: Run | None = None) -> None:
        """Show `run` (None: nothing); keeps the mode, clears selection, brush and zoom when the run changes.

        `divergence`: the seq of the first event that differs from `parent` (a fork or a compared run).

        Usage:
            >>> TraceView().show_run(None)
        """
        with self._lock:
            changed = run is not self.run
            self.run = run
            self._divergence = divergence
            self._parent = parent
            with self.hold_sync():
                if changed:
                    self.selected = -1
                    self.detail = {}
                    self.brush = []
                    self.zoom = []
                    self.collapsed = []
                self._sent = (None, -1, "")
                self.refresh()

    def refresh(self) -> bool:
        """Send what changed since the last call (new events, a new status); True when something was sent.

        Cheap when nothing changed, so a throttled ticker may call it often.

        Usage:
            >>> TraceView().refresh()
            False
        """
        with self._lock:
            run = self.run
            key = (id(run) if run is not None else None, len(run.events) if run else 0, run.status if run else "")
            if key == self._sent:
                return False
            # While live, a long run is resent less often (the whole columns go each time): at most every
            # 0.25 s, and every n/20,000 s past 5,000 events; the end of the run (a new status) always goes.
            now = time.monotonic()
            live = run is not None and run.status == "running" and key[0] == self._sent[0]
            if live and now - self._sent_at < max(0.25, key[1] / 20_000):
                return False
            self._sent, self._sent_at = key, now
            notes, waits = self.annotate(run) if (self.annotate and run is not None) else ({}, {})
            with self.hold_sync():
                self.data = columns(run, notes, waits)
                self.meta = self._meta(run)
                if self.selected >= 0 and (run is None or self.selected >= len(run.events)):
                    self.selected = -1
            return True

    def _meta(self, run: Run | None) -> dict[str, Any]:
        key, text = outcome(run)
        if run is None:
            return {"run_id": "", "outcome": key, "outcome_text": text, "errors": 0}
        errors = sum(1 for e in run.events if e.status == "error" or e.error)
        return {
            "run_id": run.run_id,
            "kind": run.kind,
            "status": run.status,
            "outcome": key,
            "outcome_text": text,
            "errors": errors,
            "resumed": bool(run.resumed),
            "start_step": int(run.start_step),
            "parent_id": run.parent_id or "",
            "fork_step": -1 if run.fork_step is None else int(run.fork_step),
            "divergence": -1 if getattr(self, "_divergence", None) is None else int(self._divergence),
            "duration_ms": run.duration_ms,
        }

    # ---- selection and detail --------------------------------------------------------------------------------
    def select(self, seq: int) -> dict[str, Any]:
        """Select event `seq` (as a click on its bar does) and return its detail.

        Usage:
            >>> TraceView().select(-1)
            {}
        """
        self.selected = seq
        return self.detail

    def _on_selected(self, change: dict) -> None:
        seq = change["new"]
        run = self.run
        if run is None or seq < 0 or seq >= len(run.events):
            self.detail = {}
            return
        try:
            self.detail = event_detail(run, seq, self._notes(run))
        except Exception as exc:  # a detail that cannot be built must not break the view
            self.detail = {"seq": seq, "title": f"#{seq}", "error": f"could not show this event: {exc!r}"}

    def _notes(self, run: Run) -> dict[int, str]:
        if self.annotate is None:
            return {}
        return self.annotate(run)[0]

    # ---- filters (mirror of the frontend's) ------------------------------------------------------------------
    def visible_seqs(self) -> list[int]:
        """The seqs the table shows under the current kinds, search and brush (the frontend filters the same way).

        Usage:
            >>> TraceView().visible_seqs()
            []
        """
        d = self.data
        if not d or not d.get("n"):
            return []
        kinds = set(self.kinds)
        needle = self.search.strip().lower()
        names = d["names"]
        starts = _step_starts(d) if self.mode == "step" else None
        out = []
        for i in range(d["n"]):
            if KINDS[d["kind"][i]] not in kinds:
                continue
            if needle and needle not in names[d["name"][i]].lower() and needle not in d["summary"][i].lower():
                continue
            if len(self.brush) == 2:
                t0 = d["t0"][i] - (starts[d["step"][i]] if starts is not None else 0.0)
                t1 = t0 + d["dur"][i]
                lo, hi = self.brush
                if t1 < lo or t0 > hi:
                    continue
            out.append(d["seq"][i])
        return out

    # ---- static rendering ------------------------------------------------------------------------------------
    def static_html(self, *, max_rows: int | None = None) -> str:
        """A static rendering (chart image and escaped table) for places with no widget manager.

        Usage:
            >>> "No run" in TraceView().static_html()
            True
        """
        from agent_nb.views.report import static_trace_html

        return static_trace_html(self.run, max_rows=max_rows)

    def _repr_mimebundle_(self, **kwargs: Any) -> tuple[dict, dict] | None:
        bundle = super()._repr_mimebundle_(**kwargs)
        data, meta = bundle if isinstance(bundle, tuple) else (bundle or {}, {})
        data = dict(data)
        data["text/html"] = self.static_html(max_rows=500)
        return data, meta


def _step_starts(d: dict[str, Any]) -> dict[int, float]:
    starts: dict[int, float] = {}
    for step, t0 in zip(d["step"], d["t0"], strict=True):
        if step not in starts or t0 < starts[step]:
            starts[step] = t0
    return starts


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
    out: dict[str, Any] = {
        "seq": e.seq,
        "title": f"#{e.seq} {e.kind} {where}",
        "kind": e.kind,
        "point": e.hook_point or "",
        "status": "given" if e.seq in given_seqs(run) else e.status,
        "summary": _cut(e.summary or "", TEXT_LIMIT),
        "fields": fields,
        "flow": e.flow or "",
        "error": e.error or "",
        "note": (notes or {}).get(e.seq, ""),
    }
    tb = e.detail.get("traceback") if e.detail else None
    if tb:
        out["traceback"] = _cut(str(tb), TEXT_LIMIT)
    elif e.error and run.error and e.seq == len(run.events) - 1 and run.exception is not None:
        import traceback

        out["traceback"] = _cut("".join(traceback.format_exception(run.exception)), TEXT_LIMIT)
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
        decision = e.flow or ("switched off: not run" if e.status == "skipped" else "")
        if e.status == "skipped" and run.resumed and e.hook_point == "before_run":
            decision = "not run: this run resumed a recorded State after before_run"
        out["decision"] = decision or ("changed " + ", ".join(map(str, e.changed)) if e.changed else "no change")
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


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else _json_text(value, 2000).replace("\n", " ")
    return _cut(" ".join(str(text).split()), 2000)


def _visible(state: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in state.items() if k not in ("tools", "hook_context")}


def _status_words(run: Run, e: Event) -> str:
    if e.status == "cached":
        if e.seq in given_seqs(run):
            return "given (a reply you typed for this fork)"
        return "cached (served from the recording)"
    if e.status == "skipped":
        if run.resumed and e.hook_point == "before_run":
            return "not run (resumed after before_run)"
        return "skipped (switched off)"
    return e.status


def escape(text: Any) -> str:
    """html.escape for any value (None -> "").

    Usage:
        >>> escape("<b>")
        '&lt;b&gt;'
    """
    return "" if text is None or (isinstance(text, float) and pd.isna(text)) else html.escape(str(text))


__all__ = ["TraceView", "columns", "event_detail", "outcome", "palette", "table_columns"]

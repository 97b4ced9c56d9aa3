"""`TraceView`: a run as an interactive waterfall (anywidget), with a detail pane and a virtualized event table.

The browser gets compact columns (one list per field, names and flows as small lookup tables) in the `data`
trait; the detail of one event (State before / after / diff, the LLM input and reply as a chat, tool
arguments and result, the hook's decision, the error) is built on demand when the frontend sets `selected`
and comes back in the `detail` trait. The JavaScript (`trace_view.js`, plain ES module, no build step) draws
the waterfall on a canvas and only the table rows in view, so 10,000 events scroll smoothly. While a run is
live, each batch goes as a `delta` (the new rows and recent rows that changed) that the frontend merges into
its `data`: about 3 KB per 50 events instead of the whole columns (450 KB near 8,000 events).

`show_compare(a, b)` draws two runs in the same view: b's bars under a's, aligned by step (the alignment of
`agent_nb.replay.compare`), the first divergence marked with a line and a label, one click to jump to it.

Where no widget manager runs (nbconvert, a repository page) `_repr_mimebundle_` carries a static rendering:
the matplotlib chart as an image and the escaped event table.

Filters live in traits too (`brush`, `search`, `kinds`, `mode`), so code and tests drive the view the way
the browser does; `visible_seqs()` is the Python mirror of what the table shows. The search box finds what
`run.search` finds (messages, tool arguments and results, State changes, errors): the frontend sets `search`,
Python answers in `matches`; a finished run's search texts are built in the background when it is shown.

A live run's events in progress (`Run.in_progress`: a hook waiting for an approval, LLM and tool calls in
flight) go in `meta["open"]` with the run's clock (`meta["now_ms"]`): the frontend draws them as open bars that
grow, and the axis keeps moving between batches.

A run started by `rec.start` and paused at a breakpoint (`agent_nb.replay.live`) goes in `meta["paused"]`: the
event it paused before (kind, point, name, step, seq) from the pause's start (`t0`); the frontend draws it as an
open, hatched bar labelled "paused" that reaches the plot's right end, and the axis stands still (the time
paused is the person's, not the Agent's). Each pause that ended is in the `paused` column (ms, on the event it
paused before), drawn as the approval wait is; `edit` rows (edits made while paused) have their own colour and
a diamond.

Layout: the detail pane sits beside the waterfall when the view is 900 px wide or more, else under it; the
table's columns have pixel widths shared by header and rows, the least needed ones dropped before the summary
goes under 30 characters; "maximize" fills the window (Esc restores); "e" / shift+"e" select the next or
previous failed event; arguments, results, State values and tracebacks have copy buttons.

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

import threading
import time
from pathlib import Path
from typing import Any

import anywidget
import pandas as pd
import traitlets as T

from agent_nb.recording import Event, Run
from agent_nb.recording.events import KINDS, fill_agent_changed
from agent_nb.recording.search import event_texts, matching_seqs
from agent_nb.replay.live import live_of
from agent_nb.widgets.trace_data import (
    FIELDS,
    WARM_SEARCH_FROM,
    Encoder,
    _as_columns,
    _divergence_text,
    compare_columns,
    event_detail,
    outcome,
    palette,
    paused_before,
    paused_meta,
)

_HERE = Path(__file__).parent
#: What `TraceView.refresh` compares with (run, events, status of both runs, ...) before anything was sent.
_NOTHING_SENT: tuple[Any, ...] = (None, -1, "", None, -1, "", (), None, 0)


class TraceView(anywidget.AnyWidget):
    """A run as a waterfall grouped by step, with a detail pane and a virtualized event table.

    Traits the frontend and code share: `selected` (event seq, -1 none), `mode` ("absolute" or "step"),
    `brush` ([lo, hi] ms on the current axis, [] for none), `search` (text in name / summary),
    `kinds` (kinds shown), `zoom` ([lo, hi] ms or []), `collapsed` (steps folded; None = automatic).

    While a run is live, `refresh()` sends only what is new as `delta` (rows from `start` on: the appended
    ones, and recent ones whose values changed, e.g. a tool row that settled); the frontend merges it into
    its copy of `data` (`version` says which copy a delta applies to). A new run is one full `data`.

    `show_compare(a, b)` draws two runs in one view (compare mode): b's bars under a's, aligned by step, the
    first divergence marked; there each event's id (`selected`, `visible_seqs`) is its index in `data`
    (b's events follow a's), and `event_of(id)` gives back (run, seq).

    Usage:
        >>> view = TraceView()
        >>> view.show_run(None); view.data["n"]
        0
    """

    _esm = _HERE / "trace_view.js"
    _css = _HERE / "trace_view.css"

    data = T.Dict().tag(sync=True)
    delta = T.Dict().tag(sync=True)
    meta = T.Dict().tag(sync=True)
    palette = T.Dict().tag(sync=True)
    selected = T.Int(-1).tag(sync=True)
    detail = T.Dict().tag(sync=True)
    mode = T.Unicode("absolute").tag(sync=True)
    brush = T.List().tag(sync=True)
    search = T.Unicode("").tag(sync=True)
    #: The answer to `search`: {"q": the text searched, "ids": the matching events' ids}; `run.search` decides.
    matches = T.Dict().tag(sync=True)
    kinds = T.List(list(KINDS)).tag(sync=True)
    zoom = T.List().tag(sync=True)
    collapsed = T.List().tag(sync=True)
    expand_all = T.Bool(False).tag(sync=True)
    height = T.Int(360).tag(sync=True)

    #: Shortest time between two live batches (s).
    live_interval = 0.25

    def __init__(self, run: Run | None = None, *, annotate: Any = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.palette = palette()
        self.run: Run | None = None
        self.other: Run | None = None  # compare mode: the second run
        #: `annotate(run) -> (notes, waits)`: decisions and waiting time per seq (the workbench's confirmations).
        self.annotate = annotate
        self._sent: tuple[Any, ...] = _NOTHING_SENT
        self._sent_at = 0.0
        self._version = 0
        self._enc: Encoder | None = None
        self._rows: list[tuple[Any, ...]] = []
        #: run_id -> its LiveRun's `pauses` (the list itself): kept once the LiveRun is gone, so a finished
        #: run still shows where it was paused.
        self._pause_lists: dict[str, list[dict[str, Any]]] = {}
        self._lock = threading.RLock()
        self.observe(self._on_selected, names="selected")
        self.observe(lambda _: self._answer_search(), names="search")
        self.on_msg(self._on_frontend_msg)
        self.show_run(run)

    # ---- data ------------------------------------------------------------------------------------------------
    def show_run(self, run: Run | None, *, divergence: int | None = None, parent: Run | None = None) -> None:
        """Show `run` (None: nothing); keeps the mode, clears selection, brush and zoom when the run changes.

        `divergence`: the seq of the first event that differs from `parent` (a fork or a compared run).

        Usage:
            >>> TraceView().show_run(None)
        """
        with self._lock:
            changed = run is not self.run or self.other is not None
            self.run, self.other = run, None
            self._divergence = divergence
            self._parent = parent
            with self.hold_sync():
                if changed:  # a new run: one full send; the same run (a divergence to mark): its meta and news
                    self._clear_view()
                    self._sent = _NOTHING_SENT
                self.meta = self._live_meta(run, *(run.in_progress() if run else (0.0, [])), self._paused_of(run))
                self.refresh()
            if changed and run is not None and run.status != "running" and len(run.events) > WARM_SEARCH_FROM:
                # The first search of a run builds each event's searchable text (~40 us an event): built now, off
                # the kernel's thread, the box answers the first query as fast as the next ones.
                threading.Thread(target=event_texts, args=(run,), name="agent_nb-search-index", daemon=True).start()

    def show_compare(self, a: Run, b: Run, frame: pd.DataFrame | None = None) -> dict[str, Any]:
        """Compare mode: `a` and `b` in one waterfall, b's bars under a's aligned by step, the first divergence
        marked; `frame` is `agent_nb.replay.compare(a, b)` (computed when not given). Returns the divergence
        as `compare` describes it (`frame.attrs["first_divergence"]`), or None when the runs agree.

        Usage:
            >>> view = TraceView(); first = view.show_compare(run, fork)
            >>> first["step"], view.meta["compare"], view.event_of(view.meta["divergence"])[0] is fork
            (1, True, True)
        """
        from agent_nb.replay import compare

        if frame is None:
            frame = compare(a, b)
        with self._lock:
            self.run, self.other = a, b
            self._divergence, self._parent = None, None
            self._frame = frame
            with self.hold_sync():
                self._clear_view()
                self._sent = _NOTHING_SENT
                self.refresh()
        return frame.attrs.get("first_divergence")

    def _clear_view(self) -> None:
        self.selected = -1
        self.detail = {}
        self.brush = []
        self.zoom = []
        self.collapsed = []

    def event_of(self, ident: int) -> tuple[Run | None, int]:
        """The run and seq of the event the view calls `ident` (its seq, or in compare mode its index in `data`).

        Usage:
            >>> TraceView(run).event_of(3)[1]
            3
        """
        if self.other is not None and self.run is not None:
            n_a = len(self.run.events)
            return (self.other, ident - n_a) if ident >= n_a else (self.run, ident)
        return self.run, ident

    def refresh(self) -> bool:
        """Send what changed since the last call (new events, a new status); True when something was sent.

        Cheap when nothing changed, so a throttled ticker may call it often. While the run is live it sends a
        `delta` (new and changed rows only), at most every `live_interval` s; the run's end always goes.

        Usage:
            >>> TraceView().refresh()
            False
        """
        with self._lock:
            run, other = self.run, self.other
            now_ms, open_events = run.in_progress() if run is not None else (0.0, [])
            paused = self._paused_of(run) if other is None else {}
            n_pauses = len(self._pause_lists.get(run.run_id, ())) if run is not None else 0
            key = (id(run) if run is not None else None, len(run.events) if run else 0, run.status if run else "",
                   id(other), len(other.events) if other else 0, other.status if other else "",
                   tuple(id(e) for e in open_events), (paused.get("seq"), paused.get("t0")), n_pauses)  # fmt: skip
            if key == self._sent:
                return False
            now = time.monotonic()
            same_run = key[0] == self._sent[0] and key[3] == self._sent[3]
            live = run is not None and run.status == "running" and same_run
            # A pause (or its end) always goes at once: no batch follows it to carry it while the run waits.
            if live and now - self._sent_at < self.live_interval and key[7] == self._sent[7]:
                return False
            with self.hold_sync():
                if other is not None:
                    self._send_full(compare_columns(run, other, self._frame, self.annotate))
                elif same_run and self._enc is not None and run is not None:
                    self._send_delta(run)
                else:
                    self._send_full_run(run)
                self.meta = self._live_meta(run, now_ms, open_events, paused)
                n = self.data.get("n", 0)
                if self.selected >= 0 and self.selected >= n:
                    self.selected = -1
                if self.search.strip():
                    self._answer_search()  # new rows may match
            self._sent, self._sent_at = key, now
            return True

    def _answer_search(self) -> None:
        """Set `matches` to the events whose content contains `search` (what `run.search` finds)."""
        with self._lock:
            text = self.search.strip()
            if not text:
                self.matches = {}
                return
            ids = [] if self.run is None else matching_seqs(self.run, text)
            if self.other is not None and self.run is not None:
                n_a = len(self.run.events)
                ids = ids + [n_a + s for s in matching_seqs(self.other, text)]
            self.matches = {"q": self.search, "ids": ids}

    def _annotations(self, run: Run | None) -> tuple[dict[int, str], dict[int, float]]:
        return self.annotate(run) if (self.annotate and run is not None) else ({}, {})

    def _paused_of(self, run: Run | None) -> dict[str, Any]:
        """The pause of `run` (a run of `rec.start` paused at a breakpoint) as `meta["paused"]`; {} when it is
        not paused. Remembers the LiveRun's list of pauses for the `paused` column."""
        if run is None:
            return {}
        if run.status != "running":  # looked up once: a finished run's pauses do not change
            if run.run_id not in self._pause_lists:
                done = live_of(run)
                self._pause_lists[run.run_id] = done.pauses if done is not None else []
            return {}
        live = live_of(run)
        if live is None:
            return {}
        self._pause_lists[run.run_id] = live.pauses
        pause, since = live.paused, live.paused_since_ms
        return paused_meta(pause, since, run.in_progress()[0]) if pause is not None else {}

    def _pauses(self, run: Run | None) -> dict[int, float]:
        return paused_before(self._pause_lists.get(run.run_id)) if run is not None else {}

    def _live_meta(self, run: Run | None, now_ms: float, open_events: list[Event], paused: dict[str, Any]) -> dict:
        meta = {**self._meta(run), **_open_meta(now_ms, open_events), "paused": paused}
        if paused:
            head = f"paused after {paused['where']} raised" if paused["error"] else f"paused before {paused['where']}"
            meta.update(outcome="paused", outcome_text=head)
        return meta

    def _send_full(self, data: dict[str, Any]) -> None:
        self._version += 1
        data["version"] = self._version
        self.delta = {}
        self.data = data

    def _send_full_run(self, run: Run | None) -> None:
        self._enc = Encoder(run, *self._annotations(run), pauses=self._pauses(run))
        self._rows = [self._enc.row(e) for e in (run.events if run is not None else [])]
        self._send_full({"run_id": run.run_id if run is not None else "", "n": len(self._rows),
                         "names": list(self._enc.names), "flows": list(self._enc.flows),
                         **_as_columns(self._rows)})  # fmt: skip

    def _send_delta(self, run: Run) -> None:
        """New rows, and recent rows whose values changed, as one delta the frontend merges into `data`."""
        enc, old = self._enc, self._rows
        if enc is None:  # nothing sent for this run yet
            self._send_full_run(run)
            return
        enc.notes, enc.waits = self._annotations(run)
        enc.pauses = self._pauses(run)
        events = list(run.events)
        # Rows can still change while their step runs (an LLM or tool row settles when the next event starts;
        # tool rows of one batch are re-ordered): re-encode from the start of the step before the last sent row.
        start = min(len(old), len(events))
        last_step = next((e.step for e in reversed(events[:start]) if e.step is not None), None)
        while start > 0:
            step = events[start - 1].step
            if step is not None and last_step is not None and step < last_step - 1:
                break
            start -= 1
        n_names, n_flows = len(enc.names), len(enc.flows)
        fill_agent_changed(events, start)
        fresh = [enc.row(e) for e in events[start:]]
        first = start
        while first < len(old) and first - start < len(fresh) and fresh[first - start] == old[first]:
            first += 1
        rows = old[:first] + fresh[first - start :]
        if rows == old:
            return
        self._rows = rows
        base = self._version
        self._version += 1
        tail = _as_columns(rows[first:])
        data = self.data  # updated in place (no resend): a view rendered later reads the merged columns
        for k in FIELDS:
            data[k][first:] = tail[k]
        data["n"] = len(rows)
        data["names"] = list(enc.names)
        data["flows"] = list(enc.flows)
        data["version"] = self._version
        self.delta = {"base": base, "version": self._version, "start": first, "n": len(rows),
                      "names": enc.names[n_names:], "flows": enc.flows[n_flows:], **tail}  # fmt: skip

    def _on_frontend_msg(self, _widget: Any, content: Any, _buffers: Any) -> None:
        # A view that missed a delta (its copy's version does not match) asks for the whole columns again.
        if isinstance(content, dict) and content.get("type") == "resync":
            with self._lock:
                self._sent = _NOTHING_SENT
                self._enc = None
                self.refresh()

    def _meta(self, run: Run | None) -> dict[str, Any]:
        key, text = outcome(run)
        if run is None:
            return {"run_id": "", "outcome": key, "outcome_text": text, "errors": 0, "divergence": -1}
        errors = sum(1 for e in run.events if e.status == "error" or e.error)
        meta = {
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
            "compare": False,
        }
        other = self.other
        if other is not None:
            o_key, o_text = outcome(other)
            first = self._frame.attrs.get("first_divergence")
            meta.update(
                compare=True,
                runs=[run.run_id, other.run_id],
                other_outcome=o_key,
                other_outcome_text=o_text,
                errors=errors + sum(1 for e in other.events if e.status == "error" or e.error),
                divergence=int(self.data.get("divergence", -1)),
                # compare's own line (inputs first, then the first divergence), the one every view shows, whole:
                # its values are already cut with a mark (cutting it again lost where the runs part)
                divergence_text=self._frame.attrs.get("summary") or _divergence_text(first),
                agree=first is None and not self._frame.attrs.get("inputs"),
                resumed=False,
            )
        return meta

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
        ident = change["new"]
        run, seq = self.event_of(ident)
        if run is None or ident < 0 or seq < 0 or seq >= len(run.events):
            self.detail = {}
            return
        try:
            detail = event_detail(run, seq, self._notes(run))
            if self.other is not None:
                lane = "A" if run is self.run else "B"
                detail["title"] = f"{lane} · {run.run_id} · {detail['title']}"
                detail["lane"] = lane
            detail["seq"] = ident
            self.detail = detail
        except Exception as exc:  # a detail that cannot be built must not break the view
            self.detail = {"seq": ident, "title": f"#{seq}", "error": f"could not show this event: {exc!r}"}

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
        found = set(self.matches.get("ids", ())) if self.search.strip() else None
        starts = axis_starts(d, step_relative=self.mode == "step") if len(self.brush) == 2 else None
        out = []
        for i in d["order"] if "lane" in d else range(d["n"]):
            if KINDS[d["kind"][i]] not in kinds:
                continue
            if found is not None and d["seq"][i] not in found:
                continue
            if starts is not None:
                t0 = starts[i]
                lo, hi = self.brush
                if t0 + d["dur"][i] < lo or t0 > hi:
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


def _open_meta(now_ms: float, events: list[Event]) -> dict[str, Any]:
    """What the view draws for a live run's events in progress: open bars that grow until `now_ms` (and on)."""
    items = []
    for e in events:
        step = (-2 if e.hook_point == "after_run" else -1) if e.step is None else int(e.step)
        items.append({"kind": e.kind, "point": e.hook_point or "", "name": e.name, "step": step,
                      "t0": round(float(e.offset_ms), 3)})  # fmt: skip
    return {"now_ms": round(float(now_ms), 3), "open": items}


def axis_starts(d: dict[str, Any], *, step_relative: bool = False) -> list[float]:
    """Where each event of the columns `d` starts on the view's time axis (the frontend computes the same).

    Step-relative: ms since its own step's start (in its own run). Absolute: ms since the run started; in
    compare mode run B's events are shifted so each step starts where run A's does (B's under A's).

    Usage:
        >>> d = {"n": 2, "step": [0, 1], "t0": [0.0, 5.0], "dur": [1.0, 1.0]}
        >>> axis_starts(d), axis_starts(d, step_relative=True)
        ([0.0, 5.0], [0.0, 0.0])
    """
    n = d["n"]
    lane = d.get("lane") or [0] * n
    rank = {-1: float("-inf"), -2: float("inf")}
    starts: dict[tuple[int, int], float] = {}
    for i in range(n):
        key = (d["step"][i], lane[i])
        starts[key] = min(starts.get(key, float("inf")), d["t0"][i])
    if step_relative:
        return [d["t0"][i] - starts[(d["step"][i], lane[i])] for i in range(n)]
    shift: dict[int, float] = {}
    current = 0.0
    for step in sorted({s for s, _ in starts}, key=lambda s: rank.get(s, s)):
        if (step, 0) in starts and (step, 1) in starts:
            current = starts[(step, 0)] - starts[(step, 1)]
        shift[step] = current
    return [d["t0"][i] + (shift[d["step"][i]] if lane[i] else 0.0) for i in range(n)]

"""`InspectorPanel`: one event of a run: what it was, what it changed (the diff), and the State before and after.

Pick the event from the dropdown (it lists the rows the timeline filters let through) or step with
previous / next. "Fork from this step" opens the fork editor at the event's step.

`follow(trace)` makes it the same inspector as the trace view's detail pane, seen wider: one selection (an
event clicked in the trace is shown here; the picker and previous / next select it in the trace), and the
picker lists every row the trace's table shows, with no cap.

CSS classes: `anb-inspector`, `anb-event-picker`, `anb-prev-button`, `anb-next-button`, `anb-fork-here-button`,
`anb-event-header`, `anb-diff`, `anb-state-before`, `anb-state-after`.

Usage:
    >>> panel = InspectorPanel()
    >>> panel.show_run(run); panel.inspect(3)
    >>> "+ assistant[4]: add(a=2, b=3)" in panel.diff.value   # the diff of event 3 (the first LLM call), as HTML
    True
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import ipywidgets as W
import pandas as pd

from agent_nb.errors import InvalidArgument
from agent_nb.recording import Event, Run
from agent_nb.recording.summary import json_text
from agent_nb.views.html import diff_html, esc, kind_badge, state_html, status_badge
from agent_nb.widgets.style import button, css, section_title, set_options

if TYPE_CHECKING:
    from agent_nb.widgets.trace_view import TraceView

#: While a long run is live, the followed list is re-sent at most this often (s): 8,000 labels are ~400 KB.
LIVE_LIST_EVERY = 2.0


def event_label(event: Event) -> str:
    """One line naming an event, for the picker.

    Usage:
        >>> event_label(Event("r", 3, 0, "llm", None, "OpenAIChatGenerator", "ok", 1.0, 2.0))
        '#3 · step 0 · llm OpenAIChatGenerator · ok'
    """
    step = "run" if event.step is None else f"step {event.step}"
    where = f"{event.hook_point} " if event.hook_point else ""
    return f"#{event.seq} · {step} · {event.kind} {where}{event.name} · {event.status}"


def _json(value: object) -> str:
    return json_text(value)  # never raises: a broken repr or a cycle shows, marked


def event_header_html(event: Event) -> str:
    """What an event was: kind, place, status, timing, tokens, flow, error, summary, tool arguments / result.

    Usage:
        >>> "add" in event_header_html(Event("r", 4, 0, "tool", None, "add", "ok", 1.0, 0.1, summary="add() -> 3"))
        True
    """

    parts = [
        f"<b>#{event.seq}</b>",
        kind_badge(event.kind, event.hook_point),
        esc(f"{event.hook_point} / {event.name}" if event.hook_point else event.name),
        status_badge(event.status),
        esc("before step 0" if event.step is None and event.hook_point == "before_run" else "")
        or esc("after the last step" if event.step is None else f"step {event.step}"),
        esc(f"at {event.offset_ms:.1f} ms, took {event.duration_ms:.2f} ms"),
    ]
    if event.prompt_tokens is not None:
        parts.append(esc(f"tokens {event.prompt_tokens} in / {event.completion_tokens} out"))
    lines = [" · ".join(p for p in parts if p)]
    if event.summary:
        lines.append(f'<div class="anb-pre">{esc(event.summary)}</div>')
    if event.kind == "tool":
        if "arguments" in event.detail:
            lines.append(f'<div class="anb-pre">arguments: {esc(_json(event.detail["arguments"]))}</div>')
        if "result" in event.detail:
            lines.append(f'<div class="anb-pre">result: {esc(_json(event.detail["result"]))}</div>')
    if event.flow:
        lines.append(f'<div class="anb-diff-flow">run control: {esc(event.flow)}</div>')
    if event.error:
        lines.append(f'<div class="anb-error-text">{esc(event.error)}</div>')
    return "".join(f"<div>{line}</div>" if not line.startswith("<div") else line for line in lines)


class InspectorPanel(W.VBox):
    """Inspect one event of a run.

    `on_fork(step)` is called by "Fork from this step".

    Usage:
        >>> steps = []
        >>> panel = InspectorPanel(on_fork=steps.append)
        >>> panel.show_run(run); panel.inspect(7)
        >>> panel.fork_button.click(); steps   # "Fork from this step": event 7 is in step 1
        [1]
    """

    def __init__(self, on_fork: Callable[[int], None] | None = None) -> None:
        self.on_fork = on_fork
        self.run: Run | None = None
        self._seqs: list[int] = []
        self._listed: tuple[int, tuple[int, ...]] | None = None
        self._shown: tuple[int, int, bool] | None = None
        self.picker = css(
            W.Dropdown(
                options=[], description="event", style={"description_width": "initial"}, layout=W.Layout(width="520px")
            ),
            "anb-event-picker",
        )
        self._setting = False
        self._trace: TraceView | None = None
        self._listed_at = 0.0
        self.picker.observe(self._picked, names="value")
        self.prev_button = button("", "anb-prev-button", icon="arrow-up", tooltip="previous event", width="36px")
        self.next_button = button("", "anb-next-button", icon="arrow-down", tooltip="next event", width="36px")
        self.fork_button = button(
            "Fork from this step", "anb-fork-here-button", icon="code-fork", tooltip="open the fork editor here"
        )
        self.prev_button.on_click(lambda _: self.move(-1))
        self.next_button.on_click(lambda _: self.move(1))
        self.fork_button.on_click(lambda _: self._fork_here())
        self.header = css(W.HTML(), "anb-event-header")
        self.diff = css(W.HTML(), "anb-diff")
        self.before = css(W.HTML(), "anb-state-before")
        self.after = css(W.HTML(), "anb-state-after")

        def pane(title: str, hint: str, body: W.HTML) -> W.VBox:
            scroll = W.Box([body], layout=W.Layout(max_height="380px", overflow="auto", width="100%"))
            return W.VBox([section_title(title, hint=hint), scroll], layout=W.Layout(width="50%", min_width="0"))

        states = W.HBox(
            [
                pane("State before", "", self.before),
                pane("State after", "* = changed by this event", self.after),
            ],
            layout=W.Layout(width="100%"),
        )
        nav = W.HBox(
            [self.picker, self.prev_button, self.next_button, self.fork_button],
            layout=W.Layout(align_items="center"),
        )
        super().__init__(
            [
                nav,
                self.header,
                section_title("Diff", hint="+ added, − removed, ~ replaced messages; changed keys old → new"),
                self.diff,
                states,
            ],
            layout=W.Layout(width="100%"),
        )
        css(self, "anb-inspector")
        self.show_run(None)

    # ---- choosing --------------------------------------------------------------------------------------------
    def show_run(self, run: Run | None) -> None:
        """Show `run`'s events (all of them until the timeline filters say otherwise)."""
        self.run = run
        self._shown = None
        self._listed = None
        if self._trace is not None:
            self._list_from_trace(force=True)
            return
        self.set_rows(run.timeline if run is not None else pd.DataFrame({"seq": []}))

    def set_rows(self, frame: pd.DataFrame) -> None:
        """List these timeline rows in the picker, keeping the picked event when it is still listed.

        While following a trace view the list is the trace's (every row its table shows): `frame` is ignored.
        """
        if self._trace is not None:
            self._list_from_trace()
            return
        run = self.run
        seqs = [int(s) for s in frame["seq"]] if "seq" in frame and run is not None else []
        self._list(seqs)

    def _list(self, seqs: list[int]) -> None:
        run = self.run
        listed = (id(run), tuple(seqs))
        if listed == self._listed:
            self._render()  # the picked event may have gained its `after` State
            return
        current = self.picker.value
        self._listed = listed
        self._seqs = seqs
        options = []
        for seq in seqs:
            try:
                options.append((event_label(run.event(seq)), seq))  # type: ignore[union-attr]
            except IndexError:
                continue
        self._setting = True
        try:
            set_options(self.picker, options, current)
        finally:
            self._setting = False
        self._render()

    # ---- following a trace view -----------------------------------------------------------------------------
    def follow(self, trace: TraceView) -> None:
        """Share `trace`'s selection and list its table's rows (all of them): one inspector, two widths.

        Usage:
            >>> from agent_nb.widgets.trace_view import TraceView
            >>> trace, panel = TraceView(run), InspectorPanel()
            >>> panel.follow(trace); panel.show_run(run)
            >>> trace.selected = 4; panel.picker.value      # clicked in the trace: shown here
            4
            >>> panel.next_button.click(); trace.selected   # stepped here: selected there
            5
            >>> trace.search = "tokyo"; [v for _, v in panel.picker.options] == trace.visible_seqs()
            True
        """
        if self._trace is not None:
            raise InvalidArgument("this inspector already follows a trace view")
        self._trace = trace
        trace.observe(self._trace_selected, names="selected")
        trace.observe(lambda _: self._list_from_trace(), names=["data", "kinds", "matches", "brush", "mode"])
        self._list_from_trace()

    def _list_from_trace(self, *, force: bool = False) -> None:
        trace, run = self._trace, self.run
        if trace is None or run is None:
            self._list([])
            return
        if run is trace.run or run is trace.other:
            shown = trace.visible_seqs()
            if trace.other is not None:
                n_a = len(trace.run.events)  # type: ignore[union-attr]
                shown = [i - n_a for i in shown if i >= n_a] if run is trace.other else [i for i in shown if i < n_a]
        else:  # the trace shows another run for now (the workbench shows the inspector's run first)
            shown = list(range(len(run.events)))
        now = time.monotonic()
        if not force and run.status == "running" and len(shown) > 2000 and now - self._listed_at < LIVE_LIST_EVERY:
            return
        self._listed_at = now
        self._list(shown)

    def _trace_selected(self, change: dict) -> None:
        trace = self._trace
        if trace is None or change["new"] < 0:
            return
        run, seq = trace.event_of(change["new"])
        if run is None or seq < 0:
            return
        if run is not self.run:
            self.show_run(run)
        if self.picker.value != seq:
            self.inspect(seq)

    def _picked(self, _change: dict) -> None:
        if self._setting:
            return
        self._render()
        trace, seq = self._trace, self.picker.value
        if trace is None or seq is None or self.run is None:
            return
        ident = seq + len(trace.run.events) if (trace.other is not None and self.run is trace.other) else seq  # type: ignore[union-attr]
        if trace.run is self.run or trace.other is self.run:
            trace.selected = ident

    def inspect(self, seq: int) -> None:
        """Pick event `seq` (listed or not: a filtered-out event is added to the list).

        Usage:
            >>> panel = InspectorPanel(); panel.show_run(run)
            >>> panel.inspect(4)
            >>> panel.picker.value, panel.event.name
            (4, 'add')
        """
        if self.run is None:
            raise InvalidArgument("no run is shown")
        event = self.run.event(seq)
        self._setting = True
        try:
            if seq in self._seqs:  # listed: only the value changes (the options are not sent again)
                self.picker.value = event.seq
            else:
                self._seqs = sorted([*self._seqs, seq])
                self._listed = (id(self.run), tuple(self._seqs))
                set_options(self.picker, [(event_label(self.run.event(s)), s) for s in self._seqs], event.seq)
        finally:
            self._setting = False
        self._render()
        trace = self._trace
        if trace is not None and (trace.run is self.run or trace.other is self.run):
            # One selection: picked here (wb.inspect), selected in the trace view too.
            n_a = len(trace.run.events) if trace.other is not None and self.run is trace.other else 0  # type: ignore[union-attr]
            if trace.selected != seq + n_a:
                trace.selected = seq + n_a

    def move(self, delta: int) -> None:
        """Pick the previous (-1) or next (+1) listed event."""
        if not self._seqs:
            return
        if self.picker.value not in self._seqs:
            self.picker.value = self._seqs[0]
            return
        i = self._seqs.index(self.picker.value) + delta
        self.picker.value = self._seqs[max(0, min(i, len(self._seqs) - 1))]

    @property
    def event(self) -> Event | None:
        """The picked event, or None."""
        if self.run is None or self.picker.value is None:
            return None
        try:
            return self.run.event(self.picker.value)
        except IndexError:
            return None

    def _fork_here(self) -> None:
        event = self.event
        if event is None or self.on_fork is None or self.run is None:
            return
        steps = sorted(self.run.step_starts)
        if not steps:
            return
        step = event.step if event.step is not None else (steps[0] if event.hook_point == "before_run" else steps[-1])
        self.on_fork(step if step in self.run.step_starts else steps[-1])

    # ---- showing ---------------------------------------------------------------------------------------------
    def _render(self) -> None:
        event, run = self.event, self.run
        if event is None or run is None:
            self._shown = None
            self.header.value = '<div class="anb-muted">Pick an event to see what it changed.</div>'
            self.diff.value = self.before.value = self.after.value = ""
            return
        shown = (id(run), event.seq, event.after is not None)
        if shown == self._shown:
            return
        self._shown = shown
        self.header.value = event_header_html(event)
        try:
            diff = run.diff(event.seq)
        except ValueError as exc:
            self.diff.value = f'<div class="anb-muted">{esc(str(exc))}</div>'
            diff = None
        else:
            self.diff.value = diff_html(diff)
        highlight = set(event.changed or [])
        self.before.value = state_html(_state(run, event.seq, "before"))
        self.after.value = state_html(_state(run, event.seq, "after"), highlight=highlight)


def _state(run: Run, seq: int, when: str) -> dict | None:
    try:
        return run.state_at(seq, when)  # type: ignore[arg-type]
    except ValueError:
        return None

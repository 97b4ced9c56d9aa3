"""Per-run recording context, carried by a contextvar so concurrent runs never mix their events.

The Recorder sets `CURRENT` around `agent.run`; haystack copies the context into tool and hook threads
(and asyncio tasks), so every proxy finds the run it belongs to. Users do not touch this module.

Usage:
    >>> current() is None
    True
"""

from __future__ import annotations

import contextvars
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from haystack.dataclasses import ChatMessage

from agent_nb.recording.diff import changed_keys, flow_of, message_counts
from agent_nb.recording.events import Event
from agent_nb.recording.snapshots import Snapshotter

if TYPE_CHECKING:
    from agent_nb.recording.run import Run

logger = logging.getLogger("agent_nb")

#: Reply source for replays: (step, digest, messages, tool_names) -> recorded replies or None (a miss).
ReplySource = Callable[[int | None, str, list[ChatMessage], list[str]], list[ChatMessage] | None]
#: Tool source for replays: (step, tool_name, arguments) -> (found, result).
ToolSource = Callable[[int | None, str, dict[str, Any]], tuple[bool, Any]]

CURRENT: contextvars.ContextVar[RunContext | None] = contextvars.ContextVar("agent_nb_run", default=None)


def current() -> RunContext | None:
    """The recording context of the run executing in this thread or task, if any.

    Usage:
        >>> current() is None   # nothing is being recorded here
        True
    """
    return CURRENT.get()


@dataclass(eq=False)
class RunContext:
    """Mutable bookkeeping of one live run: clock, snapshotter, current step, events awaiting their `after`.

    LLM and tool events learn their `after` State only once haystack has merged their output, that is when
    the next event starts (or the run ends): `settle()` fills it in then.

    Usage (what `Recorder.execute` does):
        >>> ctx = RunContext(run=run, snapshotter=Snapshotter(), enabled={})   # doctest: +SKIP
        >>> token = CURRENT.set(ctx); agent.run(...); CURRENT.reset(token)      # doctest: +SKIP
    """

    run: Run
    snapshotter: Snapshotter
    enabled: dict[tuple[str, str], bool]
    listeners: list[Callable[[Run, Event | None], None]] = field(default_factory=list)
    resume: dict[str, Any] | None = None
    reply_source: ReplySource | None = None
    tool_source: ToolSource | None = None
    state: Any = None
    step: int | None = None
    stop_requested: bool = False
    tools_before: dict[str, Any] | None = None
    t0: float = field(default_factory=time.perf_counter)
    lock: threading.RLock = field(default_factory=threading.RLock)
    pending: list[Event] = field(default_factory=list)
    digest_cache: dict[int, tuple[ChatMessage, str]] = field(default_factory=dict)

    def now_ms(self) -> float:
        return (time.perf_counter() - self.t0) * 1000.0

    def snap(self, state: Any = None) -> dict[str, Any] | None:
        state = state if state is not None else self.state
        if state is None:
            return None
        with self.lock:  # tool threads snapshot concurrently; the snapshotter remembers the last one
            return self.snapshotter(state.data)

    def is_enabled(self, point: str, name: str) -> bool:
        return self.enabled.get((point, name), True)

    def emit(self, event: Event, *, pending: bool = False) -> Event:
        """Number the event, append it to the run (live), tell listeners."""
        with self.lock:
            event.seq = len(self.run.events)
            self.run.events.append(event)
            if pending:
                self.pending.append(event)
        self.notify(event)
        return event

    def notify(self, event: Event | None) -> None:
        for listener in list(self.listeners):
            try:
                listener(self.run, event)
            except Exception:  # a broken view must never break the run it watches
                logger.exception("agent_nb listener failed")

    def settle(self, state: Any = None, *, tools: bool = True) -> None:
        """Give pending LLM / tool events the State as it is now (their output merged).

        A tool starting settles only the LLM call: its sibling tools' results are merged together later.
        """
        with self.lock:
            if not self.pending:
                return
            if tools:
                pending, self.pending = self.pending, []
            else:
                pending = [e for e in self.pending if e.kind != "tool"]
                self.pending = [e for e in self.pending if e.kind == "tool"]
                if not pending:
                    return
            after = self.snap(state)
            if after is None:
                return
            tools = [e for e in pending if e.kind == "tool"]
            for event in pending:
                if event.kind != "tool":
                    finish_event(event, event.before or after, after)
            if tools:
                _settle_tools(self.run, tools, after)


def finish_event(event: Event, before: dict[str, Any], after: dict[str, Any]) -> None:
    """Fill the diff columns of an event from its before / after snapshots.

    Usage:
        >>> ev = Event("r", 0, 0, "hook", "before_llm", "h", "ok", 0.0, 0.0)
        >>> finish_event(ev, {"step_count": 0}, {"step_count": 1}); ev.changed
        ['step_count']
    """
    event.before, event.after = before, after
    event.changed = changed_keys(before, after)
    added, removed = message_counts(before.get("messages") or [], after.get("messages") or [])
    event.messages_added, event.messages_removed = added, removed
    event.flow = flow_of(before, after)


def _settle_tools(run: Run, tools: list[Event], after: dict[str, Any]) -> None:
    """Split one tool batch's State change among its tool rows: each row adds its own result message.

    Tools of a step run in parallel and haystack merges all their results at once; matching each result
    message to its call (name and arguments) and ordering the rows by it keeps the diffs readable.
    """
    before = tools[0].before or after
    old = before.get("messages") or []
    new_msgs = list((after.get("messages") or [])[len(old) :])
    used: set[int] = set()

    def position(event: Event) -> int:
        for i, msg in enumerate(new_msgs):
            res = msg.tool_call_result if isinstance(msg, ChatMessage) else None
            if i in used or res is None or res.origin.tool_name != event.name:
                continue
            args = event.detail.get("arguments", {})
            if all(args.get(k) == v for k, v in res.origin.arguments.items()):
                used.add(i)
                return i
        return len(new_msgs) + event.seq

    ordered = sorted(tools, key=position)
    seqs = sorted(e.seq for e in tools)
    for event, seq in zip(ordered, seqs, strict=True):
        event.seq = seq
    # Tool rows are the tail of the event list (nothing else runs during a tool batch): re-sort it.
    tail_start = seqs[0]
    run.events[tail_start:] = sorted(run.events[tail_start:], key=lambda e: e.seq)
    step_before = before
    for i, event in enumerate(ordered):
        last = i == len(ordered) - 1
        step_after = after if last else {**step_before, "messages": list(old) + new_msgs[: i + 1]}
        finish_event(event, step_before, step_after)
        step_before = step_after

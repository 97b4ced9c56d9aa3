"""Per-run recording context, carried by a contextvar so concurrent runs never mix their events.

The Recorder sets `CURRENT` around `agent.run`; haystack copies the context into tool threads and asyncio
tasks, so every interception point finds the run it belongs to. The hot path records references and
timings only: snapshots share structure, and the timeline's derived columns are built when first read.
Users do not touch this module.

Usage:
    >>> current() is None
    True
"""

from __future__ import annotations

import contextvars
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from haystack.components.agents.state import State
from haystack.components.agents.state.state import replace_values
from haystack.dataclasses import ChatMessage, TextContent, ToolCall

from agent_nb.errors import RunInterrupted
from agent_nb.recording.digest import LLMDetail, llm_digest, usage_of
from agent_nb.recording.events import Event
from agent_nb.recording.options import LIVE_STATE_KEYS
from agent_nb.recording.snapshots import Snapshotter
from agent_nb.recording.types import HookPoint
from agent_nb.recording.values import MessageLog, copy_value, freeze_message, restore_value

if TYPE_CHECKING:
    from agent_nb.recording.dispatch import Dispatcher, Listener
    from agent_nb.recording.run import Run

#: Reply source for replays: (step, digest, messages, tool_names) -> recorded replies or None (a miss).
ReplySource = Callable[[int | None, str, Sequence[ChatMessage], list[str]], list[ChatMessage] | None]
#: Tool source for replays: (step, tool_name, arguments) -> (found, result).
ToolSource = Callable[[int | None, str, dict[str, Any]], tuple[bool, Any]]

#: The exit reason of a run stopped from the Workbench (or `run.stop()`).
STOP_REASON = "stopped_by_user"

_RUN_POINTS = frozenset({"before_run", "after_run"})  # hook points outside any step


class GivenReplies(list):
    """Replies a reply source got from the user (a fork's `reply=`), not from a recording: the row reads `given`."""


CURRENT: contextvars.ContextVar[RunContext | None] = contextvars.ContextVar("agent_nb_run", default=None)


def current() -> RunContext | None:
    """The recording context of the run executing in this thread or task, if any.

    Usage:
        >>> current() is None   # nothing is being recorded here
        True
    """
    return CURRENT.get()


#: The run whose tool is executing here. Tools run with CURRENT unset (an Agent a tool runs is not the outer run's),
#: but a tool that keeps per-run state (the demo's note store) may ask which run called it.
TOOL_CALLER: contextvars.ContextVar[RunContext | None] = contextvars.ContextVar("agent_nb_tool_caller", default=None)


def tool_caller() -> RunContext | None:
    """The recording context of the run whose tool is executing in this thread or task, if any.

    Usage:
        >>> tool_caller() is None   # no recorded tool is running here
        True
    """
    return TOOL_CALLER.get()


class tool_scope:  # lower case: used as a function, `with tool_scope(ctx):`
    """Run a tool's own work outside the recorded run: CURRENT unset, TOOL_CALLER naming the run that called it.

    An Agent the tool runs (a sub-agent, an Agent as a ComponentTool) is then not taken for this run, while a
    tool that keeps per-run state can still ask `tool_caller()`. (A class, not a generator: it runs at every
    tool call.)

    Usage:
        >>> from agent_nb.recording.run import Run
        >>> ctx = RunContext(run=Run(run_id="r"), snapshotter=Snapshotter())
        >>> with tool_scope(ctx):
        ...     current() is None and tool_caller() is ctx
        True
    """

    __slots__ = ("ctx", "tokens")

    def __init__(self, ctx: RunContext) -> None:
        self.ctx = ctx

    def __enter__(self) -> None:
        self.tokens = CURRENT.set(None), TOOL_CALLER.set(self.ctx)

    def __exit__(self, *exc: object) -> None:
        CURRENT.reset(self.tokens[0])
        TOOL_CALLER.reset(self.tokens[1])


def error_text(exc: BaseException) -> str:
    """`Type: message` for the timeline's error column.

    Usage:
        >>> error_text(ValueError("bad"))
        'ValueError: bad'
    """
    try:
        message = str(exc)
    except Exception as failed:  # an exception whose __str__ raises: the run's own error must still surface
        message = f"<str failed with {type(failed).__name__}>"
    return f"{type(exc).__name__}: {message}"


@dataclass(eq=False)
class RunContext:
    """Mutable bookkeeping of one live run: clock, snapshotter, current step, events awaiting their `after`.

    LLM and tool events learn their `after` State only once haystack has merged their output, that is when
    the next event starts (or the run ends): `settle()` fills it in then. Once the run has ended (`closed`)
    nothing more is recorded: a tool thread that outlives a cancelled run cannot add rows to it.

    Usage:
        >>> from agent_nb.recording.run import Run
        >>> ctx = RunContext(run=Run(run_id="r"), snapshotter=Snapshotter())
        >>> ctx.now_ms() >= 0
        True
    """

    run: Run
    snapshotter: Snapshotter
    listeners: Sequence[Listener] = ()
    dispatcher: Dispatcher | None = None
    resume: dict[str, Any] | None = None
    reply_source: ReplySource | None = None
    tool_source: ToolSource | None = None
    #: Breakpoints: what pauses (or, in a replay, re-applies edits made by hand) at event boundaries; None (the
    #: common case) costs one attribute check per hook point, LLM call and tool call (see `breaks`).
    breaker: Any = None
    state: Any = None
    step: int | None = None
    stop_requested: bool = False
    closed: bool = False
    tools_before: dict[str, Any] | None = None
    #: The State after the last hook, while nothing else has run since (consecutive hooks of one point).
    clean_after: dict[str, Any] | None = None
    #: The hook row being recorded now (its hook is running), else None. It is numbered when the hook ends, and
    #: nothing else is recorded meanwhile: its seq will be the run's event count at this moment.
    open_hook: Event | None = None
    #: LLM and tool calls under way (begun, not ended), by id: views draw them as open bars.
    open_calls: dict[int, Event] = field(default_factory=dict)
    t0: float = field(default_factory=time.perf_counter)
    lock: threading.Lock = field(default_factory=threading.Lock)
    pending: list[Event] = field(default_factory=list)
    digest_cache: dict[int, tuple[ChatMessage, str]] = field(default_factory=dict)
    #: Set by a tool thread when a tool changed its arguments in place (so the ToolCall of a message in the State).
    tool_changed_arguments: bool = False

    def now_ms(self) -> float:
        return (time.perf_counter() - self.t0) * 1000.0

    def snap(self, state: Any = None) -> dict[str, Any] | None:
        state = state if state is not None else self.state
        if state is None:
            return None
        return self.snapshotter(state.data)

    def emit(self, event: Event, *, pending: bool = False) -> None:
        """Number the event, append it to the run (live), queue it for listeners. Ignored once closed."""
        with self.lock:  # tool rows arrive from worker threads
            if self.closed:
                return
            events = self.run.events
            event.seq = len(events)
            events.append(event)
            if pending:
                self.pending.append(event)
        self.notify(event)

    def notify(self, event: Event | None) -> None:
        if self.listeners and self.dispatcher is not None:
            self.dispatcher.post(self.listeners, self.run, event)

    def settle(self, state: Any = None, *, tools: bool = True) -> None:
        """Give pending LLM / tool events the State as it is now (their output merged).

        A tool starting settles only the LLM call: its sibling tools' results are merged together later.
        """
        if not self.pending:
            return
        self.clean_after = None
        with self.lock:
            if tools:
                pending, self.pending = self.pending, []
            else:
                pending = [e for e in self.pending if e.kind != "tool"]
                self.pending = [e for e in self.pending if e.kind == "tool"]
        if not pending:
            return
        if tools and self.tool_changed_arguments:
            # Fast snapshots keep a message as it entered the State: take the changed ToolCall's message anew from
            # here on, as the LLM will see it (here, on the Agent's thread, not in the tool's).
            self.tool_changed_arguments = False
            live = state if state is not None else self.state
            if live is not None:
                self.snapshotter.changed_messages(live.data)
        after = self.snap(state)
        if after is None:
            return
        self.clean_after = after  # nothing runs between this and the next snapshot of the caller
        tool_events = [e for e in pending if e.kind == "tool"]
        for event in pending:
            if event.kind != "tool":
                event.before, event.after = event.before or after, after
        if tool_events:
            _settle_tools(self.run, tool_events, after)

    # ---- hook points ---------------------------------------------------------------------------------------
    def enter_point(self, point: HookPoint, state: State) -> None:
        """What happens at a hook point before its hooks: bind the State, restore a fork, start a step."""
        self.clean_after = None
        if point == "before_tool":
            self.settle(state)  # the LLM row gets its after State (the reply merged) before any hook runs
        elif point == "before_run":
            self.state = state
            if self.resume is not None:
                self._restore(state, self.resume)
            self.clean_after = self.run.initial_state = self.snap(state)
        elif point == "before_llm":
            self.state = state
            self.settle(state)
            self.step = state.data.get("step_count", 0)
            self.tools_before = None
            # The State each step starts from (before its before_llm hooks): what forks resume. When settle()
            # just took it, nothing ran since: the same snapshot (one O(messages) check less per step).
            self.clean_after = self.run.step_starts[self.step] = self.clean_after or self.snap(state)
            if self.stop_requested and state.data.get("stop_run") is None:
                state.set("stop_run", STOP_REASON, handler_override=replace_values)
                self.clean_after = None

    def leave_point(self, point: HookPoint, state: State) -> None:
        # After before_llm and before_tool hooks haystack only reads the State until the LLM call or the tool
        # calls (haystack 3.4, agent.py `_run_step`): their `before` is the State the last hook left.
        if point not in ("before_llm", "before_tool"):
            self.clean_after = None
        if point == "after_run":
            self.settle(state)
            self.run.final_state = self.final_snapshot(state)

    def final_snapshot(self, state: Any = None) -> dict[str, Any] | None:
        """The State as the run ends. Messages changed in place since they entered the State are taken anew, and
        the run says so in `run.warnings` (fast snapshots keep a message as it entered; see `changed_messages`)."""
        state = state if state is not None else self.state
        if state is None:
            return None
        changed = self.snapshotter.changed_messages(state.data)
        if changed:
            self.run.warnings.append(changed_in_place(changed))
        return self.snap(state)

    @staticmethod
    def _restore(state: State, snapshot: dict[str, Any]) -> None:
        keep = {k: state.data[k] for k in LIVE_STATE_KEYS if k in state.data}
        state.data.clear()
        # Private copies: the Agent and its hooks mutate some values in place (tool_call_counts, meta).
        state.data.update({k: restore_value(v) for k, v in snapshot.items()})
        state.data.update(keep)
        # Resume pitfalls 2: a restored State must not stop or continue at once.
        state.data.pop("stop_run", None)
        state.data["exit_reason"] = None
        state.data["continue_run"] = False

    def hook_skipped(self, point: HookPoint, name: str, state: State) -> None:
        self.settle(state)
        before = self.clean_after or self.snap(state)
        self.clean_after = before
        event = Event(self.run.run_id, -1, self._step_of(point), "hook", point, name, "skipped", self.now_ms(), 0.0)
        event.before = event.after = before
        self.emit(event)

    def hook_begin(self, point: HookPoint, name: str, state: State) -> Event:
        self.settle(state)
        before = self.clean_after or self.snap(state)
        self.clean_after = None
        event = Event(self.run.run_id, -1, self._step_of(point), "hook", point, name, "ok", 0.0, 0.0, before=before)
        self.open_hook = event
        event.offset_ms = self.now_ms()
        return event

    def hook_end(self, event: Event, state: State, exc: BaseException | None) -> None:
        event.duration_ms = self.now_ms() - event.offset_ms
        self.open_hook = None
        self.clean_after = event.after = self.snap(state)
        if exc is not None:
            event.status, event.error = "error", error_text(exc)
        self.emit(event)

    def _step_of(self, point: HookPoint) -> int | None:
        return None if point in _RUN_POINTS else self.step

    # ---- LLM calls -----------------------------------------------------------------------------------------
    def llm_begin(
        self, name: str, messages: Sequence[ChatMessage], tools: Any
    ) -> tuple[Event, list[ChatMessage] | None]:
        """Start an LLM row; in a replay, ask the reply source first (a hit is served instead of a call)."""
        self.settle()
        tool_names = [t.name for t in tools if hasattr(t, "name")] if tools else []
        event = Event(self.run.run_id, -1, self.step, "llm", None, name, "ok", 0.0, 0.0)
        event.before = self.clean_after or self.snap()
        event.offset_ms = self.now_ms()
        self.open_calls[id(event)] = event
        self.clean_after = None  # the generator and then the Agent run next
        # The before snapshot's message log is the LLM input: shared, not copied again.
        inputs = (
            event.before["messages"]
            if event.before and "messages" in event.before
            else [freeze_message(m) for m in messages]
        )
        event.detail = LLMDetail(tool_names=tool_names, input_messages=inputs)
        if self.reply_source is None:
            return event, None
        digest = llm_digest(messages, tool_names, self.digest_cache)
        event.detail["input_digest"] = digest
        try:
            cached = self.reply_source(self.step, digest, messages, tool_names)
        except BaseException as exc:  # a replay divergence: keep the row that stopped the run
            event.detail["generator_called"] = False
            self.llm_end(event, None, exc)
            raise
        if cached is None:
            return event, None
        event.status = "cached"
        if isinstance(cached, GivenReplies):
            event.detail["given"] = True
        # The Agent and its hooks get copies: nothing they do reaches the recording served from.
        return event, [freeze_message(m) for m in cached]

    def llm_end(self, event: Event, result: Any, exc: BaseException | None) -> None:
        event.duration_ms = self.now_ms() - event.offset_ms
        self.open_calls.pop(id(event), None)
        if exc is not None:
            event.status, event.error = "error", error_text(exc)
            event.after = event.before
            self.emit(event)
            return
        replies = result.get("replies") if isinstance(result, dict) else None
        frozen: list[Any] = []
        answered = False
        adopt = self.snapshotter.adopt
        for live in replies if isinstance(replies, list | tuple) else ():
            if isinstance(live, ChatMessage):
                copy = freeze_message(live)
                # The State will hold this very reply: its snapshots reuse the frozen copy made here.
                adopt(live, copy)
                answered = answered or _answers(copy)
            else:
                copy = copy_value(live)
            frozen.append(copy)
        event.detail["replies"] = frozen
        if not answered:
            # No message, or only empty ones (a dropped malformed tool call, a server error streamed as an empty
            # HTTP 200): haystack goes on, maybe to max_agent_steps; the row says at once that nothing came back.
            event.detail["empty_reply"] = True
            event.status, event.error = "error", "EmptyReply: the generator returned no message"
        event.prompt_tokens, event.completion_tokens = usage_of(frozen)
        # Its `after` is known once haystack has appended the replies: settled at the next event.
        self.emit(event, pending=event.before is not None)

    # ---- tool calls ----------------------------------------------------------------------------------------
    def tool_prepare(self) -> dict[str, Any] | None:
        """On the Agent's thread, as a tool call is scheduled: settle the LLM row, take the tools' before State."""
        if self.tools_before is None or self.pending:
            self.settle(tools=False)
            self.tools_before = self.clean_after or self.snap()
        self.clean_after = None
        return self.tools_before

    def tool_begin(self, name: str, arguments: dict[str, Any], call_id: str | None, before: Any) -> Event:
        event = Event(self.run.run_id, -1, self.step, "tool", None, name, "ok", 0.0, 0.0)
        event.before = before
        event.detail = {"arguments": copy_value(arguments), "tool_call_id": call_id}
        event.offset_ms = self.now_ms()
        self.open_calls[id(event)] = event
        return event

    def tool_end(self, event: Event, result: Any, exc: BaseException | None) -> None:
        event.duration_ms = self.now_ms() - event.offset_ms
        self.open_calls.pop(id(event), None)
        if exc is not None:
            event.status, event.error = "error", error_text(exc)
            if isinstance(exc, RunInterrupted):
                event.detail["interrupted"] = True
        else:
            # A copy: a hook (or the caller) changing the result object later must not change this row.
            event.detail["result"] = copy_value(result)
        self.emit(event, pending=event.before is not None)


def changed_in_place(positions: list[int]) -> str:
    """The warning of a fast-snapshot run whose hooks changed messages in place.

    Usage:
        >>> changed_in_place([0, 2]).split(":")[0]
        '2 messages changed in place during the run (positions 0, 2)'
    """
    shown = ", ".join(map(str, positions[:10])) + (", ..." if len(positions) > 10 else "")
    count = f"{len(positions)} message{'s' * (len(positions) > 1)}"
    return (
        f"{count} changed in place during the run (positions {shown}): snapshots='fast' keeps a message as it "
        "entered the State, so the rows before the end, and forks from them, show it unchanged; the final State "
        "shows the change. Record with snapshots='deep' to see the rows where it changed."
    )


def _answers(message: ChatMessage) -> bool:
    """`message.text or message.tool_calls`, read from the parts (the properties build lists at every read)."""
    text = None
    for part in message._content:
        if isinstance(part, ToolCall):
            return True
        if text is None and isinstance(part, TextContent):
            text = part.text
    return bool(text)


def _settle_tools(run: Run, tools: list[Event], after: dict[str, Any]) -> None:
    """Split one tool batch's State change among its tool rows: each row adds its own result message.

    Tools of a step run in parallel and haystack merges all their results at once; matching each result
    message to its call (by call id, else name and arguments) and ordering the rows by it keeps the diffs
    readable.
    """
    if len(tools) == 1:  # the common batch: nothing to split or order
        tools[0].before, tools[0].after = tools[0].before or after, after
        return
    before = tools[0].before or after
    old = before.get("messages") or []
    after_msgs = after.get("messages") or []
    # Only the batch's new messages: a long run's log is not walked from its start at every step.
    new_msgs = after_msgs.since(len(old)) if isinstance(after_msgs, MessageLog) else list(after_msgs)[len(old) :]
    used: set[int] = set()

    def position(event: Event) -> int:
        call_id = event.detail.get("tool_call_id")
        for i, msg in enumerate(new_msgs):
            res = msg.tool_call_result if isinstance(msg, ChatMessage) else None
            if i in used or res is None or res.origin.tool_name != event.name:
                continue
            if call_id is not None and res.origin.id == call_id:
                used.add(i)
                return i
            if call_id is None and res.origin.arguments == event.detail.get("arguments"):
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
        step_after = after if last else {**step_before, "messages": MessageLog.from_parts(old, new_msgs[: i + 1])}
        event.before, event.after = step_before, step_after
        step_before = step_after

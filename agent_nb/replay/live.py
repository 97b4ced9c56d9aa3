"""Live runs that pause at breakpoints: look at the State, edit it, step, skip, resume or abort.

`rec.start(prompt, **run_kwargs)` runs the Agent on a worker thread of its own and returns a `LiveRun` at once
(`use_async=True` runs `Agent.run_async` on that thread's own event loop, where a pause is awaited and never
blocks the loop). At an event boundary that a breakpoint of `rec.breakpoints` matches (see
`agent_nb.recording.breaks`), the run pauses before the event runs; `live.wait_paused()` gives the `Pause`
(where, the step, a private copy of the State, the pending tool calls and LLM input). While paused:

- `live.edit(changes)`: a mapping of State keys to values, or a function of the State (fork's `edit=` forms and
  validation: `InvalidEdit`, and nothing applied); `arguments=` the pending tool call's arguments; `llm_input=`
  the messages the pending LLM call gets. Each edit is recorded as an `edit` row (State before / after).
- `live.step()` pauses again at the next boundary; `live.resume()` goes on to the next breakpoint;
  `live.skip()` does not run the hook, tool or LLM call it paused before (a `skipped` row says "by hand");
  `live.abort()` ends the run (paused or at its next boundary): status `aborted`, the partial run kept.

Every command is thread-safe (a Workbench sends them from the comm thread). The time paused is taken off the
run's clock, so no event's duration and not the run's duration include it; `live.pauses` lists the pauses.
Breakpoints set or cleared on the Recorder apply to its live runs at once.
`run.replay()` re-applies the recorded edits and skips at the same places without pausing (`Reapply`).

Usage:
    >>> rec.break_at("tool", name="add")
    Breakpoint(point='tool', name='add')
    >>> live = rec.start("What is 2 + 3?")
    >>> pause = live.wait_paused(timeout=30)
    >>> pause.where, pause.tool_calls[0]["arguments"]
    ('tool add, step 0', {'a': 2, 'b': 3})
    >>> live.edit(arguments={"a": 2, "b": 40}); live.resume()
    >>> run = live.wait(timeout=30)
    >>> run.final_answer.split(".")[0], run.timeline["kind"].tolist().count("edit")
    ('2 + 3 = 42', 1)
    >>> rec.clear_breakpoints()
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import copy
import dataclasses
import threading
import time
import weakref
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from haystack.dataclasses import ChatMessage, ToolCall

from agent_nb.errors import InvalidArgument, InvalidState, InvalidType, RunAborted
from agent_nb.recording.breaks import Boundary, Breakpoint
from agent_nb.recording.events import Event
from agent_nb.recording.values import copy_value, restore_value
from agent_nb.replay.edits import Edit, InvalidEdit, _private, apply_edit, state_schema

if TYPE_CHECKING:
    from agent_nb.recording import Recorder, Run
    from agent_nb.recording.context import RunContext

#: A live run's listener: `listener(live, what, pause)`, what being "paused", "resumed" or "ended".
LiveListener = Callable[["LiveRun", str, "Pause | None"], None]


@dataclass(frozen=True)
class Pause:
    """Where a live run is paused, and what the event it paused before will see.

    `point`: the hook point, "llm" or "tool"; `name`: the hook, generator or tool (None before a point's
    hooks); `kind`: "point", "hook", "llm" or "tool"; `seq`: the number the next event will have; `state`: a
    private copy of the State data; `tool_calls`: the pending tool calls (`id`, `tool_name`, `arguments`);
    `llm_input`: the messages a pending LLM call gets (a copy; None elsewhere); `error`: the error of the call
    that just raised, for an `on_error` pause.
    """

    point: str
    name: str | None
    kind: str
    step: int | None
    seq: int
    state: dict[str, Any] = field(repr=False)
    tool_calls: list[dict[str, Any]] = field(default_factory=list, repr=False)
    llm_input: list[ChatMessage] | None = field(default=None, repr=False)
    error: str | None = None
    where: str = ""

    def __str__(self) -> str:
        head = f"paused after {self.where} raised: {self.error}" if self.error else f"paused before {self.where}"
        return head


class _Gate:
    """One pause's release: a threading.Event for a sync run, a future on the run's loop for an async one."""

    def __init__(self, loop: asyncio.AbstractEventLoop | None) -> None:
        self.loop = loop
        self.command: str | None = None
        if loop is None:
            self.event: threading.Event | None = threading.Event()
        else:
            self.event = None
            self.future: asyncio.Future[str] = loop.create_future()

    def open(self, command: str) -> None:
        self.command = command
        if self.event is not None:
            self.event.set()
            return
        with contextlib.suppress(RuntimeError):  # a closed loop: nothing waits any more
            self.loop.call_soon_threadsafe(_settle, self.future, command)  # type: ignore[union-attr]


def _settle(future: asyncio.Future[str], command: str) -> None:
    if not future.done():
        future.set_result(command)


@dataclass(eq=False)
class _Paused:
    ctx: RunContext
    boundary: Boundary
    gate: _Gate
    pause: Pause
    started: float
    place: tuple[Any, ...]


class _Places:
    """Counts visits of each place, so a place is the same in a replay: (kind, point, name, step, failed, n)."""

    def __init__(self) -> None:
        self.counts: Counter[tuple[Any, ...]] = Counter()

    def visit(self, boundary: Boundary) -> tuple[Any, ...]:
        key = (*boundary.key, boundary.error is not None)
        self.counts[key] += 1
        place = (*key, self.counts[key])
        boundary.place = place
        return place


class LiveRun:
    """A run on a worker thread that pauses at breakpoints; made by `rec.start(...)` (see the module doc)."""

    def __init__(
        self,
        recorder: Recorder,
        spec: Any,
        use_async: bool,
        loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        self.recorder = recorder
        self.use_async = use_async or loop is not None
        #: One entry per pause: seq, where, offset_ms (run clock), paused_ms (taken off the run's clock).
        self.pauses: list[dict[str, Any]] = []
        self._cond = threading.Condition()
        self._paused: _Paused | None = None
        self._stepping = False
        self._abort = False
        self._ended = False
        self._run: Run | None = None
        self._listeners: list[LiveListener] = []
        self._started = threading.Event()
        self._done = threading.Event()
        self._error: BaseException | None = None
        self._breaker = _LiveBreaker(self)
        spec.breaker = self._breaker
        spec.on_start = self._on_start
        _LIVE.add(self)
        if loop is None:
            self._thread: threading.Thread | None = threading.Thread(
                target=self._work, args=(spec,), name="agent_nb-live", daemon=True
            )
            self._thread.start()
        else:  # a task on the caller's loop: its pauses are awaited there, and the loop's other tasks go on
            self._thread = None
            asyncio.run_coroutine_threadsafe(self._work_async(spec), loop)
            return  # the caller may be that loop's own thread: waiting here for the task to start would hang
        self._started.wait()

    # ---- reading -------------------------------------------------------------------------------------------
    @property
    def run(self) -> Run:
        """The Run being recorded (live: its events appear as they happen)."""
        if self._run is None:
            if not self._ended:
                raise InvalidState("the run has not started yet (it starts when its loop runs it)")
            raise InvalidState(f"the run did not start: {self._error!r}")
        return self._run

    @property
    def status(self) -> str:
        """`paused`, `running`, or the run's status once it ended (ok, error, stopped, aborted)."""
        with self._cond:
            if self._paused is not None:
                return "paused"
            if not self._ended:
                return "running"
        return self._run.status if self._run is not None else "error"

    @property
    def paused(self) -> Pause | None:
        """The current pause, or None while running or once ended."""
        with self._cond:
            return self._paused.pause if self._paused is not None else None

    @property
    def paused_since_ms(self) -> float | None:
        """While paused: when the pause began on the run's clock (ms since the run started), else None. The
        trace view draws the paused event from there."""
        with self._cond:
            paused = self._paused
            return None if paused is None else (paused.started - paused.ctx.t0) * 1000.0

    def wait_paused(self, timeout: float | None = None) -> Pause | None:
        """Wait until the run pauses (at most `timeout` s); the Pause, or None when it ended or time ran out.

        Usage:
            >>> live = rec.start("What is 2 + 3?")   # no breakpoint: it never pauses
            >>> live.wait_paused(timeout=30) is None, live.wait(timeout=30).status
            (True, 'ok')
        """
        with self._cond:
            self._cond.wait_for(lambda: self._paused is not None or self._ended, timeout)
            return self._paused.pause if self._paused is not None else None

    def wait(self, timeout: float | None = None) -> Run:
        """Wait for the run to end (TimeoutError after `timeout` s, the run still going); returns the Run."""
        if not self._done.wait(timeout):
            state = "paused" if self.paused is not None else "running"
            raise TimeoutError(f"the live run is still {state} after {timeout} s")
        return self.run

    async def wait_paused_async(self, timeout: float | None = None) -> Pause | None:
        """`wait_paused` for a coroutine: waits on a thread, never blocking the caller's event loop."""
        return await asyncio.to_thread(self.wait_paused, timeout)

    async def wait_async(self, timeout: float | None = None) -> Run:
        """`wait` for a coroutine (a run started with `loop=` on the caller's own loop ends there meanwhile)."""
        return await asyncio.to_thread(self.wait, timeout)

    def subscribe(self, listener: LiveListener) -> Callable[[], None]:
        """Call `listener(live, what, pause)` when the run pauses ("paused", the Pause), goes on ("resumed",
        None) and ends ("ended", None), on the Recorder's listener thread, never on the Agent's. Returns an
        unsubscribe function."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    # ---- commands (thread-safe) ----------------------------------------------------------------------------
    def resume(self) -> None:
        """Go on to the next breakpoint or the end."""
        self._command("resume")

    def step(self) -> None:
        """Go on to the next event boundary and pause there."""
        self._command("step")

    def skip(self) -> None:
        """Do not run the hook, tool call or LLM call the run paused before (its row reads `skipped`, by hand).

        Before a hook point's hooks, every enabled hook of that point is skipped. A tool call skipped gets
        `SKIPPED_TOOL_RESULT` as its result; an LLM call skipped gives a text reply that says so (the Agent
        then ends its run).
        """
        with self._cond:
            paused = self._require_paused("skip")
            if paused.pause.error is not None:
                raise InvalidArgument(
                    f"nothing to skip: {paused.pause.where} already ran and raised; resume, step or abort"
                )
        self._command("skip")

    def abort(self) -> None:
        """End the run: at once when paused, else at its next event boundary (a running tool call finishes
        first). The partial run is kept with status `aborted`. No effect on a run that ended."""
        with self._cond:
            self._abort = True
            paused = self._paused
            if paused is None:
                return
            self._paused = None
            self._cond.notify_all()
        paused.gate.open("abort")

    def close(self, timeout: float = 10.0) -> None:
        """Abort the run if it still runs and wait (at most `timeout` s) for its worker to end."""
        self.abort()
        self._done.wait(timeout)

    def edit(
        self,
        changes: Edit = None,
        *,
        arguments: Mapping[Any, Any] | None = None,
        llm_input: list[ChatMessage] | None = None,
    ) -> None:
        """Change what the paused event will see; applied before the run goes on, recorded as an `edit` row.

        `changes`: a mapping of State keys to values (values replace, messages too) or a function of a copy
        of the State (fork's `edit=`). `arguments`: before a tool call, its new arguments (a dict); before
        before_tool hooks, `{index or tool call id: arguments}` for the pending calls. `llm_input`: before an
        LLM call, the messages it gets (they become the State's messages). A bad edit raises `InvalidEdit`,
        and nothing is applied: the run stays paused.
        """
        with self._cond:
            paused = self._require_paused("edit")
            ctx, boundary = paused.ctx, paused.boundary
            if llm_input is not None:
                if boundary.kind != "llm":
                    raise InvalidEdit(f"llm_input: no LLM call is pending at {boundary.where}", "llm_input")
                if changes is not None and not isinstance(changes, Mapping):
                    raise InvalidEdit("give llm_input with a mapping of changes, not a function", "llm_input")
                changes = {**(changes or {}), "messages": llm_input}
            state = boundary.state if boundary.state is not None else ctx.state
            before = ctx.snap(state) or {}
            schema = state_schema(self.recorder.agent)
            result = apply_edit(before, changes, schema) if changes is not None else None
            new_args = _check_arguments(boundary, state, arguments, result, before)
            if result is None and new_args is None:
                raise InvalidEdit("nothing to edit: give changes, arguments or llm_input", "edit")
            detail: dict[str, Any] = {"at": list(paused.place)}
            if result is not None:
                _write_state(state, before, result)
            if new_args is not None:
                detail.update(_write_arguments(boundary, state, new_args))
            after = ctx.snap(state)
            # At the run-clock time the pause began: the time paused so far is the person's, not the Agent's.
            at_ms = (paused.started - ctx.t0) * 1000.0
            event = _edit_event(ctx, boundary, before, after, detail, at_ms=at_ms)
            ctx.emit(event)
            paused.pause = self._pause_of(ctx, boundary, len(ctx.run.events))
            self._cond.notify_all()

    # ---- internals -----------------------------------------------------------------------------------------
    def _require_paused(self, verb: str) -> _Paused:
        if self._paused is None:
            state = "ended" if self._ended else "running, not paused"
            raise InvalidState(f"cannot {verb}: the live run is {state} (wait for a pause with live.wait_paused())")
        return self._paused

    def _command(self, command: str) -> None:
        with self._cond:
            paused = self._require_paused(command)
            self._stepping = command == "step"
            self._paused = None
            self._cond.notify_all()
        paused.gate.open(command)

    def _on_start(self, run: Run) -> None:
        self._run = run
        self._started.set()

    def _work(self, spec: Any) -> None:
        try:
            if self.use_async:
                asyncio.run(self.recorder.execute_async(spec))
            else:
                self.recorder.execute(spec)
        except BaseException as exc:  # the run keeps its error (and status); nothing to raise on this thread
            self._error = exc
        finally:
            self._end()

    async def _work_async(self, spec: Any) -> None:
        try:
            await self.recorder.execute_async(spec)
        except BaseException as exc:
            self._error = exc
        finally:
            self._end()

    def _end(self) -> None:
        with self._cond:
            self._ended = True
            self._paused = None
            self._cond.notify_all()
        self._started.set()
        self._done.set()
        self._notify("ended", None)

    def _notify(self, what: str, pause: Pause | None) -> None:
        if self._listeners:
            listeners = [lambda live, p, fn=fn: fn(live, what, p) for fn in self._listeners]
            self.recorder._dispatcher.post(listeners, self, pause)

    def _pause_of(self, ctx: RunContext, boundary: Boundary, seq: int) -> Pause:
        state = boundary.state if boundary.state is not None else ctx.state
        data = {k: _private(v) for k, v in (ctx.snap(state) or {}).items()}
        llm_input = [copy.deepcopy(m) for m in data.get("messages", [])] if boundary.kind == "llm" else None
        return Pause(
            point=boundary.point,
            name=boundary.name,
            kind=boundary.kind,
            step=boundary.step,
            seq=seq,
            state=data,
            tool_calls=_pending_calls(boundary, data),
            llm_input=llm_input,
            error=boundary.error,
            where=boundary.where,
        )

    def _enter(self, ctx: RunContext, boundary: Boundary, place: tuple[Any, ...], gate: _Gate) -> _Paused:
        pause = self._pause_of(ctx, boundary, len(ctx.run.events))
        paused = _Paused(ctx, boundary, gate, pause, time.perf_counter(), place)
        self._paused = paused
        self._cond.notify_all()
        return paused

    def _leave(self, ctx: RunContext, paused: _Paused) -> bool:
        waited = time.perf_counter() - paused.started
        # The time paused is the person's, not the Agent's: off the run's clock (offsets and durations after it).
        offset = ctx.now_ms()
        ctx.t0 += waited
        self.pauses.append(
            {"seq": paused.pause.seq, "where": paused.pause.where, "offset_ms": offset, "paused_ms": waited * 1000}
        )
        self._notify("resumed", None)
        command = paused.gate.command
        if command == "abort":
            raise RunAborted(f"aborted by hand at {paused.pause.where}")
        return command == "skip"

    def _turn_sync(self) -> None:
        while self._paused is not None:  # another call of this run is paused (parallel tools): wait for it
            self._cond.wait()

    def pause_sync(self, ctx: RunContext, boundary: Boundary, place: tuple[Any, ...]) -> bool:
        with self._cond:
            self._turn_sync()
            if self._abort:
                raise RunAborted(f"aborted by hand before {boundary.where}")
            paused = self._enter(ctx, boundary, place, _Gate(None))
        self._notify("paused", paused.pause)
        paused.gate.event.wait()  # type: ignore[union-attr]
        return self._leave(ctx, paused)

    async def pause_async(self, ctx: RunContext, boundary: Boundary, place: tuple[Any, ...]) -> bool:
        loop = asyncio.get_running_loop()
        while True:
            with self._cond:
                other = self._paused
                if other is None:
                    if self._abort:
                        raise RunAborted(f"aborted by hand before {boundary.where}")
                    paused = self._enter(ctx, boundary, place, _Gate(loop))
                    break
            await asyncio.shield(other.gate.future)  # another call of this run is paused: wait for it
        self._notify("paused", paused.pause)
        await paused.gate.future
        return self._leave(ctx, paused)


class _LiveBreaker:
    """The breaker of a live run: pauses where a breakpoint matches, or at every boundary while stepping."""

    def __init__(self, live: LiveRun) -> None:
        self.live = live
        self.places = _Places()
        self.warned: set[int] = set()

    def _hit(self, ctx: RunContext, boundary: Boundary) -> bool:
        live = self.live
        if live._abort:
            raise RunAborted(f"aborted by hand before {boundary.where}")
        if live._stepping and boundary.error is None:
            return True
        # The Recorder's breakpoints as they are now: set or cleared while the run is live, they apply.
        return any(bp.matches(boundary) and self._when(ctx, bp, boundary) for bp in live.recorder._breakpoints)

    def _when(self, ctx: RunContext, bp: Breakpoint, boundary: Boundary) -> bool:
        if bp.when is None:
            return True
        state = boundary.state if boundary.state is not None else ctx.state
        try:
            return bool(bp.when(dict(state.data) if state is not None else {}))
        except Exception as exc:  # a condition that fails is not hit; said once
            if id(bp) not in self.warned:
                self.warned.add(id(bp))
                ctx.run.warnings.append(
                    f"{bp!r}: its condition raised {type(exc).__name__}: {exc} (at {boundary.where}); "
                    "treated as not hit"
                )
            return False

    def at(self, ctx: RunContext, boundary: Boundary) -> bool:
        place = self.places.visit(boundary)
        return self._hit(ctx, boundary) and self.live.pause_sync(ctx, boundary, place)

    async def at_async(self, ctx: RunContext, boundary: Boundary) -> bool:
        place = self.places.visit(boundary)
        return self._hit(ctx, boundary) and await self.live.pause_async(ctx, boundary, place)

    def failed(self, ctx: RunContext, boundary: Boundary) -> None:
        self.at(ctx, boundary)

    async def failed_async(self, ctx: RunContext, boundary: Boundary) -> None:
        await self.at_async(ctx, boundary)


# ---- edits -----------------------------------------------------------------------------------------------------
def _pending_calls(boundary: Boundary, data: dict[str, Any]) -> list[dict[str, Any]]:
    if boundary.kind == "tool" and boundary.tool_call is not None:
        call = boundary.tool_call
        return [{"index": 0, "id": call.id, "tool_name": call.tool_name, "arguments": _call_args(boundary)}]
    if boundary.point != "before_tool" or boundary.error is not None:
        return []
    message = _last_tool_calls(data.get("messages") or [])
    if message is None:
        return []
    return [
        {"index": i, "id": c.id, "tool_name": c.tool_name, "arguments": copy_value(c.arguments)}
        for i, c in enumerate(message.tool_calls)
    ]


def _call_args(boundary: Boundary) -> dict[str, Any]:
    from agent_nb.recording.interception import _recorded_args

    return copy_value(_recorded_args(boundary.arguments or {}))


def _last_tool_calls(messages: list[Any]) -> ChatMessage | None:
    last = messages[-1] if messages else None
    return last if isinstance(last, ChatMessage) and last.tool_calls else None


def _tool_params(state: Any, tool_name: str) -> list[str] | None:
    for tool in (state.data.get("tools") or []) if state is not None else []:
        if getattr(tool, "name", None) == tool_name:
            props = (getattr(tool, "parameters", None) or {}).get("properties")
            return sorted(props) if isinstance(props, dict) else None
    return None


def _check_args(value: Any, tool_name: str, state: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
        raise InvalidEdit(f"{what} must be a dict of argument names to values, got {type(value).__name__}", "arguments")
    valid = _tool_params(state, tool_name)
    if valid is not None:
        for key in value:
            if key not in valid:
                raise InvalidEdit(
                    f"{what}: tool {tool_name!r} has no argument {key!r}; its arguments: {', '.join(valid)}",
                    "arguments",
                )
    return {k: copy_value(v) for k, v in value.items()}


def _check_arguments(
    boundary: Boundary, state: Any, arguments: Any, result: dict[str, Any] | None, before: dict[str, Any]
) -> Any:
    """The validated new arguments (None when none are given); InvalidEdit before anything is applied."""
    if arguments is None:
        return None
    if boundary.kind == "tool":
        return _check_args(arguments, boundary.name or "", state, "arguments")
    if boundary.point != "before_tool" or boundary.error is not None:
        raise InvalidEdit(f"arguments: no tool call is pending at {boundary.where}", "arguments")
    messages = (result or before).get("messages") or []
    message = _last_tool_calls(list(messages))
    if message is None:
        raise InvalidEdit(f"arguments: no tool call is pending at {boundary.where}", "arguments")
    if not isinstance(arguments, Mapping):
        raise InvalidEdit("arguments before before_tool hooks: {index or tool call id: arguments}", "arguments")
    calls = message.tool_calls
    by_key = {i: i for i in range(len(calls))} | {c.id: i for i, c in enumerate(calls) if c.id is not None}
    checked = {}
    for key, value in arguments.items():
        if key not in by_key:
            known = ", ".join(f"{i} ({c.tool_name}, id {c.id})" for i, c in enumerate(calls))
            raise InvalidEdit(f"arguments: no pending tool call {key!r}; pending: {known}", "arguments")
        i = by_key[key]
        checked[i] = _check_args(value, calls[i].tool_name, state, f"arguments[{key!r}]")
    return checked


def _write_state(state: Any, before: dict[str, Any], result: dict[str, Any]) -> None:
    for key, value in result.items():
        if key not in before or before[key] is not value:
            state.data[key] = value
    for key in [k for k in before if k not in result]:
        state.data.pop(key, None)


def _write_arguments(boundary: Boundary, state: Any, new: Any) -> dict[str, Any]:
    """Apply validated arguments: in place in the pending call's arguments (a tool boundary), or as a rewritten
    assistant message in the State (before_tool hooks: haystack reads the pending calls from the State)."""
    if boundary.kind == "tool":
        from agent_nb.recording.interception import _recorded_args

        args = boundary.arguments if boundary.arguments is not None else {}
        old = copy_value(_recorded_args(args))
        for key in old:
            args.pop(key, None)
        args.update(new)
        return {"arguments_before": old, "arguments": copy_value(new), "tool_call_id": boundary.tool_call.id}
    messages = list(state.data["messages"])
    message = copy.deepcopy(messages[-1])
    calls = list(message.tool_calls)
    for i, args in new.items():
        calls[i] = dataclasses.replace(calls[i], arguments=args)
    content = [calls.pop(0) if isinstance(part, ToolCall) else part for part in message._content]
    messages[-1] = dataclasses.replace(message, _content=content)
    state.data["messages"] = messages
    return {}


def _edit_event(
    ctx: RunContext,
    boundary: Boundary,
    before: dict[str, Any],
    after: Any,
    detail: dict[str, Any],
    *,
    at_ms: float | None = None,
) -> Event:
    from agent_nb.recording.diff import derive

    changed = derive(before, after)[0] if after is not None else []
    parts = []
    if changed:
        parts.append("set " + ", ".join(changed))
    if "arguments" in detail:
        parts.append(f"{boundary.name} arguments {detail['arguments_before']} -> {detail['arguments']}")
    summary = f"edited by hand at {boundary.where}: " + "; ".join(parts or ["no change"])
    # The next event starts from the edited State: taken anew, not the snapshot from before the pause.
    ctx.clean_after = after
    ctx.tools_before = None
    return Event(
        ctx.run.run_id,
        -1,
        boundary.step,
        "edit",
        None,
        boundary.where.split(", step")[0],
        "ok",
        ctx.now_ms() if at_ms is None else at_ms,
        0.0,
        summary=summary,
        before=before,
        after=after,
        detail=detail,
    )


# ---- replay: the edits and skips of a recording, re-applied at the same places ---------------------------------
class Reapply:
    """The breaker of a replay: at each place where the source run was edited or skipped by hand, the same edit
    (its recorded effect: the State values after it, the tool arguments) and the same skip, without pausing."""

    def __init__(self, source: Run) -> None:
        self.places = _Places()
        self.actions: dict[tuple[Any, ...], list[Event]] = {}
        for event in source.events:
            at = event.detail.get("at") if event.detail else None
            if at is not None and (event.kind == "edit" or event.detail.get("skipped_by_hand")):
                self.actions.setdefault(tuple(at), []).append(event)

    def __bool__(self) -> bool:
        return bool(self.actions)

    def at(self, ctx: RunContext, boundary: Boundary) -> bool:
        place = self.places.visit(boundary)
        skip = False
        for event in self.actions.get(place, ()):
            if event.kind == "edit":
                self._apply(ctx, boundary, place, event)
            else:
                skip = True
        return skip

    async def at_async(self, ctx: RunContext, boundary: Boundary) -> bool:
        return self.at(ctx, boundary)

    def failed(self, ctx: RunContext, boundary: Boundary) -> None:
        self.at(ctx, boundary)

    async def failed_async(self, ctx: RunContext, boundary: Boundary) -> None:
        self.at(ctx, boundary)

    def _apply(self, ctx: RunContext, boundary: Boundary, place: tuple[Any, ...], recorded: Event) -> None:
        state = boundary.state if boundary.state is not None else ctx.state
        before = ctx.snap(state) or {}
        if recorded.after is None and recorded.changed:
            raise InvalidArgument(
                f"run {recorded.run_id}: the edit at {boundary.where} kept no State (snapshots='off'): "
                "it cannot be re-applied"
            )
        for key in recorded.changed:
            if recorded.after is not None and key in recorded.after:
                state.data[key] = restore_value(recorded.after[key])
            else:
                state.data.pop(key, None)
        detail = dict(recorded.detail)
        detail["at"] = list(place)
        if "arguments" in detail and boundary.kind == "tool" and boundary.arguments is not None:
            from agent_nb.recording.interception import _recorded_args

            for key in _recorded_args(boundary.arguments):
                boundary.arguments.pop(key, None)
            boundary.arguments.update(restore_value(detail["arguments"]))
        event = _edit_event(ctx, boundary, before, ctx.snap(state), detail)
        event.summary = recorded.summary
        ctx.emit(event)


def reapply(run: Run) -> Reapply | None:
    """The breaker that makes a replay of `run` reproduce its edits and skips made by hand (None if it has none).

    Usage:
        >>> reapply(run) is None   # a run nobody paused
        True
    """
    breaker = Reapply(run)
    return breaker if breaker else None


# ---- starting --------------------------------------------------------------------------------------------------
_LIVE: weakref.WeakSet[LiveRun] = weakref.WeakSet()


@atexit.register
def _end_all() -> None:
    # Interpreter (kernel) shutdown: release every paused run so its worker ends instead of waiting forever.
    for live in list(_LIVE):
        live.abort()


def live_of(run: Run) -> LiveRun | None:
    """The `LiveRun` recording `run` (None for a run not started by `rec.start`, or whose LiveRun is gone).

    Usage:
        >>> live_of(run) is None
        True
    """
    return next((live for live in list(_LIVE) if live._run is run), None)


def start(
    messages: str | ChatMessage | list[ChatMessage],
    *,
    recorder: Recorder,
    hooks: Any = None,
    on_event: Any = None,
    use_async: bool = False,
    loop: asyncio.AbstractEventLoop | None = None,
    **agent_kwargs: Any,
) -> LiveRun:
    """Start a run that pauses at the Recorder's breakpoints, on a worker thread; returns its `LiveRun` at once.

    `use_async=True` runs `Agent.run_async` on the worker's own event loop (a pause awaits, never blocking it);
    `loop=` runs it as a task on that (running) loop instead, beside its other tasks: wait for it there with
    `await live.wait_paused_async()` / `await live.wait_async()`. Other arguments as `rec.run`. The run pauses
    at the Recorder's breakpoints as they are at each boundary (`rec.break_at` / `rec.clear_breakpoints` while
    it is live apply to it).

    Usage:
        >>> live = rec.start("What is 2 + 3?", use_async=True)
        >>> live.wait(timeout=30).status
        'ok'
    """
    if not isinstance(use_async, bool):
        raise InvalidType(f"use_async must be True or False, got {use_async!r}")
    if loop is not None and not isinstance(loop, asyncio.AbstractEventLoop):
        raise InvalidType(f"loop must be an asyncio event loop, got {type(loop).__name__}")
    spec = recorder._spec(messages, hooks, on_event, agent_kwargs)
    return LiveRun(recorder, spec, use_async, loop)

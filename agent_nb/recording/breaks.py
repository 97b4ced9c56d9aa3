"""Breakpoints: where a live run may pause, and the recording paths that ask whether to.

A run's context carries a `breaker` (None unless the run has breakpoints, or replays edits made by hand). The
interception points check `ctx.breaker is not None` once per hook point, LLM call and tool call; only then do
they take the paths below, which ask the breaker at every event boundary, before the event runs:

- `point`: a hook point, after its bookkeeping (step, restored State) and before its hooks;
- `hook`: before one hook; `llm`: before an LLM call; `tool`: before one tool call;
- and, after a hook, LLM or tool call that raised, `failed` (for `on_error` breakpoints).

The breaker answers True to skip the event (the hook, tool or LLM call does not run; its row says
`skipped by hand`), False to go on, or raises `RunAborted`. What a pause is (waiting, edits, commands) is the
replay layer's (`agent_nb.replay.live`): the core only knows where boundaries are and what a skip records.

Usage:
    >>> Breakpoint("tool", name="add")
    Breakpoint(point='tool', name='add')
    >>> Boundary("hook", "before_llm", "inject_date", 0).where
    'before_llm/inject_date, step 0'
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from haystack import tracing
from haystack.dataclasses import ChatMessage
from haystack.hooks import VALID_HOOK_POINTS

if TYPE_CHECKING:
    from agent_nb.recording.context import RunContext

#: Where a breakpoint may be set: the six hook points, before an LLM call, before a tool call.
POINTS: tuple[str, ...] = (*VALID_HOOK_POINTS, "llm", "tool")
#: What a tool call skipped by hand returns to the Agent (its result message says so to the model).
SKIPPED_TOOL_RESULT = "(this tool call was skipped by hand)"
#: The reply an LLM call skipped by hand gives: a text reply, so the Agent ends its run there.
SKIPPED_LLM_TEXT = "(this LLM call was skipped by hand)"


@dataclass(frozen=True, eq=False)
class Breakpoint:
    """Where live runs pause: a point (hook point, "llm" or "tool"), optionally one hook or tool by `name`,
    optionally only `when(state)` is true; `on_error` pauses after a call at `point` (any, when None) raised."""

    point: str | None
    name: str | None = None
    when: Callable[[dict[str, Any]], Any] | None = None
    on_error: bool = False

    def __repr__(self) -> str:
        parts = [f"point={self.point!r}"]
        if self.name is not None:
            parts.append(f"name={self.name!r}")
        if self.when is not None:
            parts.append(f"when={getattr(self.when, '__name__', 'function')}")
        if self.on_error:
            parts.append("on_error=True")
        return f"Breakpoint({', '.join(parts)})"

    def matches(self, boundary: Boundary) -> bool:
        """Whether this breakpoint's place is `boundary` (its `when` aside)."""
        if self.on_error != (boundary.error is not None):
            return False
        if self.point is None:  # on_error anywhere
            return True
        if boundary.kind in ("llm", "tool"):
            return self.point == boundary.kind and self.name in (None, boundary.name)
        if self.point != boundary.point:
            return False
        if boundary.error is not None:
            return self.name in (None, boundary.name)
        # A point breakpoint pauses once, before the hooks; a named one before that hook.
        return boundary.kind == ("point" if self.name is None else "hook") and self.name in (None, boundary.name)


class Boundary:
    """One event boundary of a run: what is about to run (or, with `error`, what just raised).

    `kind` is "point", "hook", "llm" or "tool"; `point` the hook point ("llm" / "tool" for those); `name` the
    hook, generator class or tool; `arguments` the pending tool call's live arguments (a tool boundary).
    """

    __slots__ = ("arguments", "error", "kind", "name", "place", "point", "state", "step", "tool_call")

    def __init__(
        self,
        kind: str,
        point: str,
        name: str | None,
        step: int | None,
        state: Any = None,
        *,
        arguments: dict[str, Any] | None = None,
        tool_call: Any = None,
        error: str | None = None,
    ) -> None:
        self.kind, self.point, self.name, self.step, self.state = kind, point, name, step, state
        self.arguments, self.tool_call, self.error = arguments, tool_call, error
        #: Set by the breaker: the place with its occurrence count, as rows record it (`detail["at"]`).
        self.place: tuple[Any, ...] | None = None

    @property
    def where(self) -> str:
        """A readable place: `before_tool, step 1`, `before_llm/inject_date, step 0`, `tool add, step 0`."""
        if self.kind in ("llm", "tool"):
            place = f"{self.kind} {self.name}"
        else:
            place = self.point if self.kind == "point" or self.name is None else f"{self.point}/{self.name}"
        return place if self.step is None else f"{place}, step {self.step}"

    @property
    def key(self) -> tuple[Any, ...]:
        """What identifies the place across runs of the same Agent (with an occurrence count): see `replay`."""
        return (self.kind, self.point, self.name, self.step)


class Breaker(Protocol):
    """What a run's context asks at event boundaries (implemented in `agent_nb.replay.live`)."""

    def at(self, ctx: RunContext, boundary: Boundary) -> bool: ...

    async def at_async(self, ctx: RunContext, boundary: Boundary) -> bool: ...

    def failed(self, ctx: RunContext, boundary: Boundary) -> None: ...

    async def failed_async(self, ctx: RunContext, boundary: Boundary) -> None: ...


def check_breakpoint(recorder: Any, point: Any, name: Any, when: Any, on_error: Any) -> Breakpoint:
    """A validated Breakpoint for `recorder`'s Agent (ValueError / TypeError naming what is valid).

    Usage:
        >>> check_breakpoint(rec, "tool", "sub", None, False)
        Traceback (most recent call last):
        ...
        ValueError: no tool named 'sub'; valid names: add, multiply, get_weather, save_note, search
    """
    if not isinstance(on_error, bool):
        raise TypeError(f"on_error must be True or False, got {on_error!r}")
    if when is not None and not callable(when):
        raise TypeError(f"when must be a function of the State (a dict), got {type(when).__name__}")
    if point is None:
        if not on_error:
            raise ValueError(f"give a point to break at (one of {', '.join(POINTS)}), or on_error=True")
        if name is not None:
            raise ValueError("name needs a point: break_at('tool', name=...) or break_at('before_llm', name=...)")
        return Breakpoint(None, None, when, True)
    if point not in POINTS:
        raise ValueError(f"unknown breakpoint point {point!r}; valid points: {', '.join(POINTS)}")
    if name is not None:
        if not isinstance(name, str):
            raise TypeError(f"name must be a str (a hook or tool name), got {type(name).__name__}")
        valid = _names(recorder, point)
        if valid is not None and name not in valid:
            what = {"tool": "tool", "llm": "generator"}.get(point, f"hook at {point!r}")
            raise ValueError(f"no {what} named {name!r}; valid names: {', '.join(valid) or 'none'}")
    return Breakpoint(point, name, when, on_error)


def _names(recorder: Any, point: str) -> list[str] | None:
    if point == "llm":
        return [type(recorder.agent.chat_generator).__name__]
    if point == "tool":
        from haystack.tools import flatten_tools_or_toolsets

        try:
            return [t.name for t in flatten_tools_or_toolsets(recorder.agent.tools or [])]
        except Exception:  # tools that cannot be listed up front (given at run time): any name
            return None
    return [s.name for s in recorder.hook_slots if s.point == point]


# ---- the recording paths with a breaker -------------------------------------------------------------------
def _skipped_hook(ctx: RunContext, point: Any, name: str, state: Any, at: Boundary) -> None:
    ctx.hook_skipped(point, name, state)
    event = ctx.run.events[-1]
    event.detail = {"skipped_by_hand": True, "at": list(at.place or at.key)}
    event.summary = "skipped by hand"


def run_hooks(ctx: RunContext, hooks: Any, point: Any, state: Any) -> None:
    """haystack's hook loop for a run with a breaker: a boundary before the point and before each hook."""
    from agent_nb.recording.interception import _HookCall

    breaker = ctx.breaker
    ctx.enter_point(point, state)
    at_point = Boundary("point", point, None, ctx._step_of(point), state)
    skip_all = breaker.at(ctx, at_point)
    parent_span = tracing.tracer.current_span() if dict.get(hooks, point) else None
    for entry in hooks.entries.get(point, ()):
        if not entry.enabled:
            ctx.hook_skipped(point, entry.name, state)
            continue
        at = Boundary("hook", point, entry.name, at_point.step, state)
        if skip_all or breaker.at(ctx, at):
            _skipped_hook(ctx, point, entry.name, state, at_point if skip_all else at)
            continue
        try:
            with _HookCall(ctx, point, entry, state, parent_span):
                entry.hook.run(state)
        except Exception as exc:
            at.error = _text(exc)
            breaker.failed(ctx, at)
            raise
    ctx.leave_point(point, state)


async def run_hooks_async(ctx: RunContext, hooks: Any, point: Any, state: Any) -> None:
    """`run_hooks` for `Agent.run_async`: the breaker's pauses are awaited, never blocking the event loop."""
    from haystack.utils.async_utils import _execute_component_async

    from agent_nb.recording.interception import _HookCall

    breaker = ctx.breaker
    ctx.enter_point(point, state)
    at_point = Boundary("point", point, None, ctx._step_of(point), state)
    skip_all = await breaker.at_async(ctx, at_point)
    parent_span = tracing.tracer.current_span() if dict.get(hooks, point) else None
    for entry in hooks.entries.get(point, ()):
        if not entry.enabled:
            ctx.hook_skipped(point, entry.name, state)
            continue
        at = Boundary("hook", point, entry.name, at_point.step, state)
        if skip_all or await breaker.at_async(ctx, at):
            _skipped_hook(ctx, point, entry.name, state, at_point if skip_all else at)
            continue
        try:
            with _HookCall(ctx, point, entry, state, parent_span):
                await _execute_component_async(entry.hook, state=state)
        except Exception as exc:
            at.error = _text(exc)
            await breaker.failed_async(ctx, at)
            raise
    ctx.leave_point(point, state)


def _text(exc: BaseException) -> str:
    from agent_nb.recording.context import error_text

    return error_text(exc)


def _tool_boundary(ctx: RunContext, tool_call: Any, args: dict[str, Any]) -> Boundary:
    return Boundary("tool", "tool", tool_call.tool_name, ctx.step, ctx.state, arguments=args, tool_call=tool_call)


def _tool_call(ctx: RunContext, tool: Any, args: dict[str, Any], tool_call: Any, parent_span: Any, skipped: bool):
    """The recording half of a tool call after its boundary: (call, runner or None when served)."""
    from agent_nb.recording.interception import _recorded_args, _tool_source

    before = ctx.tool_prepare()
    recorded = _recorded_args(args)
    found, value = (True, SKIPPED_TOOL_RESULT) if skipped else _tool_source(ctx, tool_call, recorded, before)
    return before, recorded, found, value


def _mark_skipped(event: Any, at: Boundary) -> None:
    event.status = "skipped"
    event.detail["skipped_by_hand"] = True
    event.detail["at"] = list(at.place or at.key)


def tool_runner(ctx: RunContext, tool: Any, args: dict[str, Any], tool_call: Any, parent_span: Any, runner: Any):
    """haystack's tool runner for a run with a breaker: the boundary is on the Agent's thread, as the call is
    scheduled; the call then runs (or is served, when skipped) as without one."""
    from agent_nb.recording.interception import _served, _ToolCall

    at = _tool_boundary(ctx, tool_call, args)
    skipped = ctx.breaker.at(ctx, at)
    before, recorded, found, value = _tool_call(ctx, tool, args, tool_call, parent_span, skipped)

    def recorded_runner() -> Any:
        with _ToolCall(ctx, tool_call, recorded, before, found and not skipped) as call:
            if skipped:
                _mark_skipped(call.event, at)
            call.result = _served(tool, tool_call, parent_span, args, value) if found else runner()
        if call.event.status == "error" and ctx.breaker is not None:
            at.error = call.event.error
            ctx.breaker.failed(ctx, at)
        return call.result

    return recorded_runner


def tool_runner_async(
    ctx: RunContext, tool: Any, args: dict[str, Any], semaphore: Any, tool_call: Any, parent_span: Any, runner: Any
):
    """`tool_runner` for `Agent.run_async`: the boundary is awaited as the call starts."""
    from agent_nb.recording.interception import _served, _ToolCall

    async def recorded_runner() -> Any:
        at = _tool_boundary(ctx, tool_call, args)
        skipped = await ctx.breaker.at_async(ctx, at)
        before, recorded, found, value = _tool_call(ctx, tool, args, tool_call, parent_span, skipped)
        with _ToolCall(ctx, tool_call, recorded, before, found and not skipped) as call:
            if skipped:
                _mark_skipped(call.event, at)
            if found:
                async with semaphore:
                    call.result = _served(tool, tool_call, parent_span, args, value)
            else:
                from agent_nb.recording.context import tool_scope

                with tool_scope(ctx):
                    call.result = await runner()
        if call.event.status == "error":
            at.error = call.event.error
            await ctx.breaker.failed_async(ctx, at)
        return call.result

    return recorded_runner


def _llm_boundary(ctx: RunContext, name: str) -> Boundary:
    return Boundary("llm", "llm", name, ctx.step, ctx.state)


def _edited_input(ctx: RunContext, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[tuple[Any, ...], dict]:
    """The generator gets the State's messages as they are after the pause (an edit replaces the list)."""
    state = ctx.state
    if state is None or "messages" not in state.data:
        return args, kwargs
    if "messages" in kwargs:
        kwargs = {**kwargs, "messages": state.data["messages"]}
    elif args:
        args = (state.data["messages"], *args[1:])
    return args, kwargs


def _skip_llm(call: Any, at: Boundary) -> None:
    call.served = [ChatMessage.from_assistant(SKIPPED_LLM_TEXT)]
    call.result = {"replies": call.served}
    _mark_skipped(call.event, at)
    call.event.detail["generator_called"] = False


def llm_call(ctx: RunContext, name: str, run: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]):
    """`GeneratorTap.run` for a run with a breaker: a boundary before the call, `failed` after one that raised."""
    from agent_nb.recording.interception import _LLMCall

    at = _llm_boundary(ctx, name)
    skipped = ctx.breaker.at(ctx, at)
    args, kwargs = _edited_input(ctx, args, kwargs)
    call = _LLMCall.start(name, args, kwargs)
    if skipped:
        _skip_llm(call, at)
    if call.served is None:
        try:
            call.result = run(*args, **kwargs)
        except Exception as exc:
            call.failed(exc)
            at.error = _text(exc)
            ctx.breaker.failed(ctx, at)
            raise
        except BaseException as exc:
            call.failed(exc)
            raise
    return call.finish()


async def llm_call_async(ctx: RunContext, name: str, run: Callable[..., Any], args: tuple[Any, ...], kwargs: dict):
    """`llm_call` for `run_async`."""
    from agent_nb.recording.interception import _LLMCall

    at = _llm_boundary(ctx, name)
    skipped = await ctx.breaker.at_async(ctx, at)
    args, kwargs = _edited_input(ctx, args, kwargs)
    call = _LLMCall.start(name, args, kwargs)
    if skipped:
        _skip_llm(call, at)
    if call.served is None:
        try:
            call.result = await run(*args, **kwargs)
        except Exception as exc:
            call.failed(exc)
            at.error = _text(exc)
            await ctx.breaker.failed_async(ctx, at)
            raise
        except BaseException as exc:
            call.failed(exc)
            raise
    return call.finish()

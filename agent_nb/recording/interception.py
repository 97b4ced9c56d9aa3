"""Where the Recorder sees a run: at haystack's own hook and tool invocation, and around the chat generator.

Fidelity is the point of this module: the Agent under the Recorder must do exactly what it does bare.

- Hooks: the Recorder's clone of the Agent holds `RecordingHooks`, a dict of the *user's own* hook objects
  (switched-off hooks are absent, as if never registered). agent_nb replaces haystack's `_run_hooks` /
  `_run_hooks_async` in `haystack.components.agents.agent` with versions that, for a `RecordingHooks` dict
  only, record each call around haystack's own dispatch and span (`_create_hook_span`,
  `_execute_component_async`); any other Agent gets haystack's functions unchanged. So the tracing spans are
  haystack's, named for the user's hooks, and nothing of agent_nb is registered as a hook.
- Tools: `_make_context_bound_invoke` / `_make_bounded_invoke_async` in haystack's `tool_calling` are
  wrapped the same way: every call is recorded however the tools were given (constructor, run time, Toolsets,
  nested Toolsets), and the Tool objects are the user's own; Toolsets keep their per-run warm_up and spawn.
- The generator: `GeneratorTap` wraps the chat generator. Its `run` reports the wrapped generator's exact
  signature, it has a `run_async` only when the wrapped one has, and it passes on exactly the arguments the
  Agent gives (no `tools=None` added).
- Breakpoints: the hook loop, the tool runner and the generator tap are also where a run with a breaker
  (`ctx.breaker`, see `breaks`) stops at event boundaries; without one they cost one attribute read per hook
  point, LLM call and tool call.

The patches are installed once, by the first `Recorder`, not at import (`install()`), and are inert outside
recorded runs (one isinstance check, or one contextvar read per tool call).

Usage:
    >>> install(); install()   # idempotent
    >>> import haystack.components.agents.agent as agent_module
    >>> agent_module._run_hooks is _recorded_run_hooks
    True
"""

from __future__ import annotations

import contextvars
import functools
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import haystack.components.agents.agent as _agent_module
import haystack.components.agents.tool_calling as _tool_calling
from haystack import tracing
from haystack.components.agents.state import State
from haystack.tools.errors import ToolInvocationError

import agent_nb.recording.breaks as breaks
import agent_nb.recording.seams as seams
from agent_nb.recording.breaks import SKIPPED_TOOL_RESULT, Boundary
from agent_nb.recording.context import current, error_text, tool_scope
from agent_nb.recording.types import HookPoint
from agent_nb.recording.values import copy_value, same_value

# Every private haystack name agent_nb uses, checked now: a missing or changed one fails the import with an error
# that names it and the haystack-ai versions agent_nb supports, not with an AttributeError inside a run.
seams.check_all()
_create_hook_span = seams.resolve(seams.seam("haystack.hooks.invocation", "_create_hook_span"))
_execute_component_async = seams.resolve(seams.seam("haystack.utils.async_utils", "_execute_component_async"))
_validate_hooks = seams.resolve(seams.seam("haystack.components.agents.agent", "_validate_hooks"))

_ORIGINAL: dict[str, Callable[..., Any]] = {}
_INSTALL_LOCK = threading.Lock()


@dataclass
class HookSlot:
    """One hook at one hook point, with the name it has in the timeline and whether it is switched on.

    Usage:
        >>> HookSlot("on_exit", "RequireToolHook", object()).enabled
        True
    """

    point: HookPoint
    name: str
    hook: Any
    enabled: bool = True


class RecordingHooks(dict):
    """The hooks of the Recorder's Agent clone: `{point: [enabled user hooks]}`, plus every slot in order.

    As a dict it holds exactly what the bare Agent would hold without the switched-off hooks, so haystack's
    own validation, warm_up / close (deduplicated by identity) and serialization see the user's objects.
    `entries[point]` lists all slots, switched off ones too, so they show as `skipped` rows.

    Usage:
        >>> hooks = RecordingHooks([HookSlot("on_exit", "h", object(), enabled=False)])
        >>> dict(hooks), hooks.entries["on_exit"][0].name
        ({}, 'h')
    """

    def __init__(self, slots: list[HookSlot]) -> None:
        self.entries: dict[str, list[HookSlot]] = {}
        for slot in slots:
            self.entries.setdefault(slot.point, []).append(slot)
        super().__init__(
            {p: [s.hook for s in ss if s.enabled] for p, ss in self.entries.items() if any(s.enabled for s in ss)}
        )

    def get(self, point: Any, default: Any = None) -> Any:
        value = super().get(point, default)
        # haystack skips on_exit handling entirely when no on_exit hook is registered (`if not hooks.get(...)`):
        # switched-off on_exit hooks are absent, so record them as skipped here, where they would have run.
        if point == "on_exit" and not value and self.entries.get("on_exit"):
            ctx = current()
            if ctx is not None and ctx.state is not None:
                ctx.enter_point("on_exit", ctx.state)
                for entry in self.entries["on_exit"]:
                    ctx.hook_skipped("on_exit", entry.name, ctx.state)
        return value

    def __reduce__(self) -> Any:  # deep copies and pickles see a plain dict of the enabled hooks
        return (dict, (dict(self),))


def _hook_calls(ctx: Any, hooks: RecordingHooks, point: Any, state: State) -> Iterator[tuple[Any, Any]]:
    """haystack's hook loop, recording: the one loop of the sync and async versions.

    Yields each enabled hook with its `_HookCall` (haystack's own span, the recorded row); the caller dispatches
    it, the only part that differs between sync and async, keeping haystack's plain loop shape. A run with a
    breaker (breakpoints) has event boundaries, before the point's hooks and before each hook: there the loop
    yields `(None, boundary)`, the caller asks the breaker (blocking, or awaited) and sets `boundary.skip`, and the
    loop reads it as it goes on. Without a breaker that costs one attribute read per hook point.
    """
    ctx.enter_point(point, state)
    breaker = ctx.breaker
    if breaker is not None:
        at_point = Boundary("point", point, None, ctx._step_of(point), state)
        yield None, at_point
    parent_span = tracing.tracer.current_span() if dict.get(hooks, point) else None
    for entry in hooks.entries.get(point, ()):
        if not entry.enabled:
            ctx.hook_skipped(point, entry.name, state)
            continue
        at = None
        if breaker is not None:
            at = at_point  # skipped at the point: every hook of it is
            if not at.skip:
                at = Boundary("hook", point, entry.name, at_point.step, state)
                yield None, at
            if at.skip:
                breaks.skip_hook(ctx, point, entry.name, state, at)
                continue
        yield entry.hook, _HookCall(ctx, point, entry, state, parent_span, at)
    ctx.leave_point(point, state)


class _HookCall:
    """One hook call inside haystack's span for it, recorded as a row; an exception is recorded and goes on.

    `at` is its boundary in a run with breakpoints (else None): where an `on_error` breakpoint pauses if it raised.
    """

    __slots__ = ("at", "ctx", "entry", "event", "parent_span", "point", "span", "state")

    def __init__(self, ctx: Any, point: Any, entry: Any, state: State, parent_span: Any, at: Any) -> None:
        self.ctx, self.point, self.entry, self.state = ctx, point, entry, state
        self.parent_span, self.at = parent_span, at

    def __enter__(self) -> None:
        self.span = _create_hook_span(hook=self.entry.hook, hook_point=self.point, parent_span=self.parent_span)
        self.span.__enter__()
        self.event = self.ctx.hook_begin(self.point, self.entry.name, self.state)

    def __exit__(self, exc_type: type | None, exc: BaseException | None, tb: Any) -> bool | None:
        try:
            self.ctx.hook_end(self.event, self.state, exc)
        finally:
            suppressed = self.span.__exit__(exc_type, exc, tb)
        return suppressed

    def failed_at(self, exc: BaseException) -> Boundary:
        """The boundary of a hook that raised `exc` (with breakpoints), its error set for the breaker."""
        self.at.error = error_text(exc)
        return self.at


def _recorded_run_hooks(hooks: Any, hook_point: Any, state: State) -> None:
    """haystack's `_run_hooks`, recording each hook call when `hooks` is a RecordingHooks of a live run."""
    ctx = current() if isinstance(hooks, RecordingHooks) else None
    if ctx is None:
        return _ORIGINAL["run_hooks"](hooks=hooks, hook_point=hook_point, state=state)
    for hook, call in _hook_calls(ctx, hooks, hook_point, state):
        if hook is None:  # an event boundary (breakpoints): the breaker may pause the run here
            call.skip = ctx.breaker.at(ctx, call)
            continue
        try:
            with call:
                hook.run(state)
        except Exception as exc:
            if call.at is not None:  # breakpoints: an on_error pause, then haystack gets the error as bare
                ctx.breaker.failed(ctx, call.failed_at(exc))
            raise
    return None


async def _recorded_run_hooks_async(hooks: Any, hook_point: Any, state: State) -> None:
    """haystack's `_run_hooks_async`, recording each hook call (same dispatch: run_async, else a thread); the
    breaker's pauses are awaited, never blocking the event loop."""
    ctx = current() if isinstance(hooks, RecordingHooks) else None
    if ctx is None:
        return await _ORIGINAL["run_hooks_async"](hooks=hooks, hook_point=hook_point, state=state)
    for hook, call in _hook_calls(ctx, hooks, hook_point, state):
        if hook is None:
            call.skip = await ctx.breaker.at_async(ctx, call)
            continue
        try:
            with call:
                await _execute_component_async(hook, state=state)
        except Exception as exc:
            if call.at is not None:
                await ctx.breaker.failed_async(ctx, call.failed_at(exc))
            raise
    return None


def _recorded_args(args: dict[str, Any]) -> dict[str, Any]:
    # haystack injects the live State and streaming callbacks: they are not the call's arguments.
    return {k: v for k, v in args.items() if not isinstance(v, State) and not callable(v)}


@dataclass(frozen=True)
class ServedCall:
    """A recorded tool result to serve, with the arguments as the tool left them when it changed them in place.

    A tool that sorts its list argument changes the ToolCall in the State too; serving only the result would give
    a State the recording never had (and a cached replay would diverge at the next LLM call).
    """

    result: Any
    arguments_after: dict[str, Any]


def _redo_in_place(args: dict[str, Any], after: dict[str, Any]) -> None:
    """Change the live arguments in place to what the recorded tool left them (lists and dicts; others as they are)."""
    for key, new in after.items():
        live = args.get(key)
        if type(live) is list and type(new) is list:
            live[:] = copy_value(new)
        elif type(live) is dict and type(new) is dict:
            live.clear()
            live.update(copy_value(new))


def _note_changed_arguments(ctx: Any, event: Any, live: dict[str, Any]) -> None:
    """Record the arguments as a live tool left them, when it changed them in place (what a replay redoes)."""
    recorded = event.detail.get("arguments")
    if recorded is not None and not same_value(recorded, live):
        event.detail["arguments_after"] = copy_value(live)
        ctx.tool_changed_arguments = True  # the next snapshot takes the ToolCall's message anew


def _served(tool: Any, tool_call: Any, parent_span: Any, args: dict[str, Any], value: Any) -> Any:
    """What haystack's runner returns for a result served from a recording: the value, or the same error."""
    if isinstance(value, ServedCall):
        _redo_in_place(args, value.arguments_after)
        value = value.result
    with _tool_calling._create_tool_span(tool, tool_call, parent_span) as span:
        span.set_content_tag("haystack.agent.step.tool.input", tool_call.arguments)
        if isinstance(value, BaseException):
            error = ToolInvocationError(
                f"Failed to invoke Tool `{tool.name}` with parameters {args}. Error: {value}", tool_name=tool.name
            )
            error.__cause__ = value
            span.set_tag("haystack.tool.error", True)
            return error
        span.set_content_tag("haystack.agent.step.tool.output", value)
        return value


def _tool_source(ctx: Any, tool_call: Any, recorded: dict[str, Any], before: Any) -> tuple[bool, Any]:
    if ctx.tool_source is None:
        return False, None
    try:
        return ctx.tool_source(ctx.step, tool_call.tool_name, recorded)
    except Exception as exc:
        return True, exc
    except BaseException as exc:  # a replay divergence: keep the row that stopped the run
        event = ctx.tool_begin(tool_call.tool_name, recorded, tool_call.id, before)
        ctx.tool_end(event, None, exc)
        raise


def _outcome(result: Any) -> BaseException | None:
    """The error a runner reported (haystack returns a ToolInvocationError rather than raising it)."""
    if isinstance(result, ToolInvocationError):
        return result.__cause__ or result
    return None


class _ToolCall:
    """One tool call recorded as a row (`cached` when served from a recording), shared by the sync and async
    runners.

    Made as the call is scheduled, on the Agent's thread (with breakpoints, once its boundary `at` is passed): it
    takes the tools' before State and asks the tool source (a replay) for a result to serve (`found`, `value`); a
    call skipped by hand is served `SKIPPED_TOOL_RESULT`. As a context it is the row: the result the runner
    returned, or the exception it raised (recorded, and it goes on).
    """

    __slots__ = ("at", "before", "call", "ctx", "event", "found", "recorded", "result", "value")

    def __init__(self, ctx: Any, call: Any, args: dict[str, Any], at: Boundary | None) -> None:
        self.ctx, self.call, self.at = ctx, call, at
        self.before = ctx.tool_prepare()
        self.recorded = _recorded_args(args)
        if at is not None and at.skip:
            self.found, self.value = True, SKIPPED_TOOL_RESULT
        else:
            self.found, self.value = _tool_source(ctx, call, self.recorded, self.before)
        self.result: Any = None

    def __enter__(self) -> _ToolCall:
        self.event = self.ctx.tool_begin(self.call.tool_name, self.recorded, self.call.id, self.before)
        if self.found:
            if self.at is not None and self.at.skip:
                breaks.mark_skipped(self.event, self.at)
            else:
                self.event.status = "cached"
        return self

    def __exit__(self, exc_type: type | None, exc: BaseException | None, tb: Any) -> None:
        if exc is not None:
            self.ctx.tool_end(self.event, None, exc)
        else:
            # A served call redoes the recorded change of its arguments: noted again, as the live call was.
            _note_changed_arguments(self.ctx, self.event, self.recorded)
            self.ctx.tool_end(self.event, self.result, _outcome(self.result))

    def failed_at(self) -> Boundary | None:
        """With breakpoints, the boundary of a call whose row is an error (an on_error breakpoint pauses there)."""
        if self.event.status != "error":
            return None
        self.at.error = self.event.error
        return self.at


def _recorded_invoke(tool: Any, args: dict[str, Any], tool_call: Any, parent_span: Any) -> Callable[[], Any]:
    """haystack's `_make_context_bound_invoke`, recording the call when it belongs to a live run."""
    ctx = current()
    if ctx is None:
        return _ORIGINAL["invoke"](tool, args, tool_call, parent_span)
    # haystack snapshots the context here for the tool's thread: the snapshot is taken inside the tool scope.
    with tool_scope(ctx):
        runner = _ORIGINAL["invoke"](tool, args, tool_call, parent_span)
    at = None
    if ctx.breaker is not None:  # breakpoints: the boundary is on the Agent's thread, as the call is scheduled
        at = breaks.tool_boundary(ctx, tool_call, args)
        at.skip = ctx.breaker.at(ctx, at)
    call = _ToolCall(ctx, tool_call, args, at)
    if call.found:
        context = contextvars.copy_context()
        runner = functools.partial(context.run, _served, tool, tool_call, parent_span, args, call.value)

    def recorded_runner() -> Any:
        with call:
            call.result = runner()
        if at is not None and (failed := call.failed_at()) is not None:
            ctx.breaker.failed(ctx, failed)
        return call.result

    return recorded_runner


def _recorded_invoke_async(
    tool: Any, args: dict[str, Any], semaphore: Any, tool_call: Any, parent_span: Any
) -> Callable[[], Any]:
    """haystack's `_make_bounded_invoke_async`, recording the call when it belongs to a live run."""
    runner = _ORIGINAL["invoke_async"](tool, args, semaphore, tool_call, parent_span)
    ctx = current()
    if ctx is None:
        return runner
    # Prepared now, as the call is scheduled; with breakpoints once its boundary is passed, as it starts (awaited).
    prepared = _ToolCall(ctx, tool_call, args, None) if ctx.breaker is None else None

    async def recorded_runner() -> Any:
        call = prepared
        if call is None:
            at = breaks.tool_boundary(ctx, tool_call, args)
            at.skip = await ctx.breaker.at_async(ctx, at)
            call = _ToolCall(ctx, tool_call, args, at)
        with call:
            if call.found:
                async with semaphore:
                    call.result = _served(tool, tool_call, parent_span, args, call.value)
            else:
                with tool_scope(ctx):
                    call.result = await runner()
        if call.at is not None and (failed := call.failed_at()) is not None:
            await ctx.breaker.failed_async(ctx, failed)
        return call.result

    return recorded_runner


def install() -> None:
    """Put the recording versions of haystack's hook and tool invocation in place (once per process).

    They behave exactly as haystack's own for every Agent that is not a Recorder's clone in a recorded run.
    """
    with _INSTALL_LOCK:
        if _ORIGINAL:
            return
        _ORIGINAL["run_hooks"] = _agent_module._run_hooks
        _ORIGINAL["run_hooks_async"] = _agent_module._run_hooks_async
        _ORIGINAL["invoke"] = _tool_calling._make_context_bound_invoke
        _ORIGINAL["invoke_async"] = _tool_calling._make_bounded_invoke_async
        _agent_module._run_hooks = _recorded_run_hooks
        _agent_module._run_hooks_async = _recorded_run_hooks_async
        _tool_calling._make_context_bound_invoke = _recorded_invoke
        _tool_calling._make_bounded_invoke_async = _recorded_invoke_async


class GeneratorTap:
    """Wraps the Agent's chat generator and records each call (input, replies, usage, timing).

    Exactly as transparent as a wrapper can be: `run` has the wrapped generator's signature (haystack reads
    it to decide whether to pass `tools`), `run_async` exists only when the wrapped generator has one (else
    haystack runs `run` in a thread, as bare), the arguments are passed on untouched, and every other
    attribute is the wrapped generator's. During a replay a recorded reply is served instead of a call.

    Usage:
        >>> from haystack.components.generators.chat import MockChatGenerator
        >>> import inspect
        >>> tap = GeneratorTap(MockChatGenerator())
        >>> inspect.signature(tap.run) == inspect.signature(MockChatGenerator().run)
        True
    """

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.name = type(inner).__name__

        # The sync and async versions differ only by `await`: the recording half of both is `_LLMCall`.
        @functools.wraps(inner.run)
        def run(*args: Any, **kwargs: Any) -> Any:
            ctx = current()
            at = None
            if ctx is not None and ctx.breaker is not None:  # breakpoints: a boundary before the call
                at = Boundary("llm", "llm", self.name, ctx.step, ctx.state)
                at.skip = ctx.breaker.at(ctx, at)
                args, kwargs = breaks.edited_input(ctx.state, args, kwargs)
            call = _LLMCall.start(ctx, self.name, args, kwargs, at)
            if call is None:
                return inner.run(*args, **kwargs)
            if call.served is None:
                try:
                    call.result = inner.run(*args, **kwargs)
                except BaseException as exc:
                    if (failed := call.failed(exc)) is not None:
                        ctx.breaker.failed(ctx, failed)
                    raise
            return call.finish()

        self.run = run
        inner_async = getattr(inner, "run_async", None)
        if callable(inner_async):
            # Looked up at call time, as haystack does and as `run` above: a `run_async` rebound after this
            # Recorder built its clone (a spy, a retry wrapper) is the one the Agent would call.
            @functools.wraps(inner_async)
            async def run_async(*args: Any, **kwargs: Any) -> Any:
                ctx = current()
                at = None
                if ctx is not None and ctx.breaker is not None:
                    at = Boundary("llm", "llm", self.name, ctx.step, ctx.state)
                    at.skip = await ctx.breaker.at_async(ctx, at)
                    args, kwargs = breaks.edited_input(ctx.state, args, kwargs)
                call = _LLMCall.start(ctx, self.name, args, kwargs, at)
                if call is None:
                    return await inner.run_async(*args, **kwargs)
                if call.served is None:
                    try:
                        call.result = await inner.run_async(*args, **kwargs)
                    except BaseException as exc:
                        if (failed := call.failed(exc)) is not None:
                            await ctx.breaker.failed_async(ctx, failed)
                        raise
                return call.finish()

            self.run_async = run_async

    def __getattr__(self, attr: str) -> Any:
        # warm_up, close, to_dict, model names...: whatever the wrapped generator has.
        return getattr(self.__dict__["inner"], attr)


class _LLMCall:
    """The recording half of one generator call, shared by `GeneratorTap.run` and `run_async`.

    `at` is its boundary in a run with breakpoints (else None): a call skipped there is served a reply that says
    so, and one that raised is where an `on_error` breakpoint pauses.
    """

    __slots__ = ("at", "ctx", "event", "result", "served")

    def __init__(self, ctx: Any, event: Any, served: list[Any] | None, at: Boundary | None) -> None:
        self.ctx, self.event, self.served, self.at = ctx, event, served, at
        self.result: Any = {"replies": served} if served is not None else None

    @classmethod
    def start(
        cls, ctx: Any, name: str, args: tuple[Any, ...], kwargs: dict[str, Any], at: Boundary | None
    ) -> _LLMCall | None:
        """Open the LLM row (None outside a recorded run); in a replay `served` holds the recorded replies."""
        if ctx is None:
            return None
        messages = kwargs.get("messages", args[0] if args else [])
        tools = kwargs.get("tools", args[1] if len(args) > 1 else None)
        event, served = ctx.llm_begin(name, messages, tools)
        call = cls(ctx, event, served, at)
        if at is not None and at.skip:
            call.served = breaks.skipped_reply()
            call.result = {"replies": call.served}
            breaks.mark_skipped(event, at)
            event.detail["generator_called"] = False
        return call

    def failed(self, exc: BaseException) -> Boundary | None:
        """Record an exception of the wrapped call on the row (the caller re-raises it unchanged); with breakpoints,
        the boundary where an `on_error` breakpoint pauses (not for a cancellation or an exit)."""
        self.ctx.llm_end(self.event, None, exc)
        if self.at is None or not isinstance(exc, Exception):
            return None
        self.at.error = self.event.error
        return self.at

    def finish(self) -> Any:
        self.ctx.llm_end(self.event, self.result, None)
        return self.result

"""What the Recorder puts into its clone of the Agent: hook proxies, sentinels, a generator wrapper, tool wrappers.

Each piece looks up the live run in `context.current()`; outside a recorded run it just delegates.

- `HookProxy`: one per (hook, point). Defines both `run` and `run_async` and dispatches exactly as haystack
  would (a proxy with only `run` would be bypassed in async runs), forwards `allowed_hook_points`, and only the
  proxy that owns a hook's lifecycle exposes `warm_up` / `close` (haystack deduplicates them by identity).
- Sentinels (not shown in the timeline): `_RunStart` (first before_run hook: binds the State, restores a fork's
  snapshot), `_StepStart` (first before_llm hook: the step-start snapshot forks resume from, and Stop),
  `_RunEnd` (last after_run hook: the final State).
- `RecordingChatGenerator`: records every LLM call and can serve replies from a recording.
- `wrap_tool`: a copy of a Tool whose functions record each call and can serve recorded results.

Usage (what the Recorder does):
    >>> from haystack.components.agents.state import State
    >>> from haystack.hooks import hook
    >>> @hook
    ... def noop(state: State) -> None: ...
    >>> HookProxy(noop, "before_llm", "noop").allowed_hook_points is None
    True
"""

from __future__ import annotations

import asyncio
import copy
import functools
import inspect
from typing import Any

from haystack.components.agents.state import State
from haystack.components.agents.state.state import replace_values
from haystack.dataclasses import ChatMessage
from haystack.tools import Tool

from agent_nb.recording.context import current, finish_event
from agent_nb.recording.diff import format_args, message_text, state_diff
from agent_nb.recording.digest import LLMDetail, llm_digest, usage_of
from agent_nb.recording.events import Event
from agent_nb.recording.snapshots import restore_value

_LIFECYCLE = frozenset({"warm_up", "warm_up_async", "close", "close_async"})
STOP_REASON = "stopped_by_user"


def _error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def _hook_summary(event: Event) -> str:
    """A readable line for what a hook did: messages it added, keys it changed, run control."""
    if event.status == "skipped":
        return "switched off"
    if event.error:
        return f"raised {event.error}"
    parts: list[str] = []
    before, after = event.before or {}, event.after or {}
    old_msgs, new_msgs = before.get("messages") or [], after.get("messages") or []
    if event.messages_added and not event.messages_removed and new_msgs[: len(old_msgs)] == old_msgs:
        for msg in new_msgs[len(old_msgs) :][:2]:
            parts.append(f'+{msg.role.value}: "{message_text(msg, 60)}"')
    elif "messages" in event.changed:
        # Rare (a hook rewrote history): the full diff is affordable here.
        diff = state_diff({"messages": old_msgs}, {"messages": new_msgs})
        parts += [f'~{b.role}: "{b.text[:60]}"' for _, b in diff.messages_replaced[:2]]
        parts += [f'+{c.role}: "{c.text[:60]}"' for c in diff.messages_added[:2]]
        parts += [f"-{c.role}" for c in diff.messages_removed[:2]]
    keys = [k for k in event.changed if k not in ("messages", "continue_run", "stop_run")]
    parts += [f"{k}={_brief(after.get(k))}" for k in keys[:3]]
    if event.flow:
        parts.append(event.flow)
    return ", ".join(parts) if parts else "no change"


def _brief(value: Any, limit: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


class HookProxy:
    """Stands in for one user hook at one hook point and records each invocation.

    Usage:
        >>> from haystack.components.agents.state import State
        >>> from haystack.hooks import hook
        >>> @hook
        ... def noop(state: State) -> None: ...
        >>> HookProxy(noop, "on_exit", "noop").name
        'noop'
    """

    def __init__(self, hook: Any, point: str, name: str, *, owns_lifecycle: bool = True) -> None:
        self.hook = hook
        self.point = point
        self.name = name
        self._owns_lifecycle = owns_lifecycle

    @property
    def allowed_hook_points(self) -> Any:
        return getattr(self.hook, "allowed_hook_points", None)

    def __getattr__(self, attr: str) -> Any:
        # Only lifecycle methods are forwarded, and only by the proxy that owns them: haystack warms up and
        # closes each hook object once, by identity, and would otherwise call them once per point.
        if attr in _LIFECYCLE and self.__dict__.get("_owns_lifecycle"):
            return getattr(self.__dict__["hook"], attr)
        raise AttributeError(attr)

    def to_dict(self) -> dict[str, Any]:
        return self.hook.to_dict()

    def _begin(self, state: State) -> tuple[Any, Event | None]:
        ctx = current()
        if ctx is None:
            return None, None
        ctx.settle(state)
        step = None if self.point in ("before_run", "after_run") else ctx.step
        event = Event(ctx.run.run_id, -1, step, "hook", self.point, self.name, "ok", ctx.now_ms(), 0.0)
        event.before = ctx.snap(state)
        if not ctx.is_enabled(self.point, self.name):
            event.status = "skipped"
            finish_event(event, event.before, event.before)
            event.summary = _hook_summary(event)
            ctx.emit(event)
            return ctx, None
        return ctx, event

    def _end(self, ctx: Any, event: Event, state: State, exc: BaseException | None) -> None:
        event.duration_ms = ctx.now_ms() - event.offset_ms
        after = ctx.snap(state)
        finish_event(event, event.before, after)
        if exc is not None:
            event.status, event.error = "error", _error_text(exc)
        event.summary = _hook_summary(event)
        ctx.emit(event)

    def run(self, state: State) -> None:
        ctx, event = self._begin(state)
        if ctx is None:
            self.hook.run(state)
            return
        if event is None:  # switched off
            return
        try:
            self.hook.run(state)
        except BaseException as exc:
            self._end(ctx, event, state, exc)
            raise
        self._end(ctx, event, state, None)

    async def run_async(self, state: State) -> None:
        ctx, event = self._begin(state)
        if ctx is not None and event is None:
            return
        try:
            # Same dispatch as haystack's _execute_component_async: prefer run_async, else run in a thread.
            hook_async = getattr(self.hook, "run_async", None)
            if callable(hook_async):
                await hook_async(state=state)
            else:
                await asyncio.to_thread(self.hook.run, state=state)
        except BaseException as exc:
            if ctx is not None:
                self._end(ctx, event, state, exc)
            raise
        if ctx is not None:
            self._end(ctx, event, state, None)


class _Sentinel:
    """Base of the recorder's own hooks; same sync / async shape as a hook."""

    def run(self, state: State) -> None:
        ctx = current()
        if ctx is not None:
            self.apply(ctx, state)

    async def run_async(self, state: State) -> None:
        self.run(state)

    def apply(self, ctx: Any, state: State) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def to_dict(self) -> dict[str, Any]:
        return {"type": f"agent_nb.recording.proxies.{type(self).__name__}", "init_parameters": {}}


class RunStart(_Sentinel):
    """First before_run hook: binds the live State; in a fork, restores the step-start snapshot in place.

    Usage (the Recorder puts it first in the clone's before_run list):
        >>> RunStart().run(state=None)   # outside a recorded run it does nothing
    """

    def apply(self, ctx: Any, state: State) -> None:
        ctx.state = state
        if ctx.resume is not None:
            keep = {k: state.data[k] for k in ("tools", "hook_context") if k in state.data}
            state.data.clear()
            # Private copies: the Agent mutates some values in place (tool_call_counts).
            state.data.update({k: restore_value(v) for k, v in ctx.resume.items()})
            state.data.update(keep)
            # Resume pitfalls 2: a restored State must not stop or continue at once.
            state.data.pop("stop_run", None)
            state.data["exit_reason"] = None
            state.data["continue_run"] = False
        ctx.run.initial_state = ctx.snap(state)


class StepStart(_Sentinel):
    """First before_llm hook: the snapshot each step starts from (what forks resume), and the Stop button.

    Usage (the Recorder puts it first in the clone's before_llm list):
        >>> StepStart().run(state=None)   # outside a recorded run it does nothing
    """

    def apply(self, ctx: Any, state: State) -> None:
        ctx.state = state
        ctx.settle(state)
        ctx.step = state.data.get("step_count", 0)
        ctx.tools_before = None
        snap = ctx.snap(state)
        ctx.run.step_starts[ctx.step] = snap
        if ctx.stop_requested and state.data.get("stop_run") is None:
            state.set("stop_run", STOP_REASON, handler_override=replace_values)


class ToolsStart(_Sentinel):
    """Last before_tool hook: settles the LLM call and takes the State the step's tools start from.

    Doing this here, on the Agent's thread, spares every tool call a snapshot in its worker thread.

    Usage (the Recorder puts it last in the clone's before_tool list):
        >>> ToolsStart().run(state=None)   # outside a recorded run it does nothing
    """

    def apply(self, ctx: Any, state: State) -> None:
        ctx.settle(state)
        ctx.tools_before = ctx.snap(state)


class RunEnd(_Sentinel):
    """Last after_run hook: settles pending events and keeps the final State.

    Usage (the Recorder puts it last in the clone's after_run list):
        >>> RunEnd().run(state=None)   # outside a recorded run it does nothing
    """

    def apply(self, ctx: Any, state: State) -> None:
        ctx.settle(state)
        ctx.run.final_state = ctx.snap(state)


def _llm_summary(replies: list[ChatMessage]) -> str:
    return " | ".join(message_text(r, 100) for r in replies) or "(no reply)"


class RecordingChatGenerator:
    """Wraps the Agent's chat generator: records each call (input digest, replies, usage, timing).

    During a replay it asks the run's reply source first and serves a recorded reply on a hit.

    Usage:
        >>> from haystack.components.generators.chat import MockChatGenerator  # doctest: +SKIP
        >>> gen = RecordingChatGenerator(MockChatGenerator())                  # doctest: +SKIP
    """

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.name = type(inner).__name__
        run_params = inspect.signature(inner.run).parameters
        self._accepts_tools = "tools" in run_params

    def __getattr__(self, attr: str) -> Any:
        # warm_up, close, model names...: whatever the wrapped generator has.
        return getattr(self.__dict__["inner"], attr)

    def to_dict(self) -> dict[str, Any]:
        return self.inner.to_dict()

    def _kwargs(self, messages: list[ChatMessage], tools: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
        call = {"messages": messages, **kwargs}
        if tools is not None or self._accepts_tools:
            call["tools"] = tools
        return call

    def _begin(self, messages: list[ChatMessage], tools: Any) -> tuple[Any, Event | None, list[ChatMessage] | None]:
        ctx = current()
        if ctx is None:
            return None, None, None
        ctx.settle()
        tool_names = [t.name for t in (tools or []) if hasattr(t, "name")]
        event = Event(ctx.run.run_id, -1, ctx.step, "llm", None, self.name, "ok", ctx.now_ms(), 0.0)
        event.before = ctx.snap()
        # The before snapshot's message list is the LLM input; share it rather than copy it again.
        inputs = event.before["messages"] if event.before and "messages" in event.before else list(messages)
        event.detail = LLMDetail(tool_names=tool_names, input_messages=inputs)
        cached = None
        if ctx.reply_source is not None:
            digest = llm_digest(messages, tool_names, ctx.digest_cache)
            event.detail["input_digest"] = digest
            try:
                cached = ctx.reply_source(ctx.step, digest, messages, tool_names)
            except BaseException as exc:  # a replay divergence: keep the row that stopped the run
                event.detail["generator_called"] = False
                self._end(ctx, event, None, exc)
                raise
        if cached is not None:
            event.status = "cached"
        return ctx, event, cached

    def _end(self, ctx: Any, event: Event, result: Any, exc: BaseException | None) -> None:
        event.duration_ms = ctx.now_ms() - event.offset_ms
        if exc is not None:
            event.status, event.error = "error", _error_text(exc)
            event.summary = f"raised {event.error}"
            finish_event(event, event.before, event.before) if event.before is not None else None
            ctx.emit(event)
            return
        replies = list(result.get("replies", [])) if isinstance(result, dict) else []
        event.detail["replies"] = replies
        event.prompt_tokens, event.completion_tokens = usage_of(replies)
        event.summary = _llm_summary(replies)
        # Its `after` is known once haystack has appended the replies: settled at the next event.
        ctx.emit(event, pending=event.before is not None)

    def run(self, messages: list[ChatMessage], tools: Any = None, **kwargs: Any) -> dict[str, Any]:
        ctx, event, cached = self._begin(messages, tools)
        if ctx is None:
            return self.inner.run(**self._kwargs(messages, tools, kwargs))
        if cached is not None:
            result: Any = {"replies": cached}
        else:
            try:
                result = self.inner.run(**self._kwargs(messages, tools, kwargs))
            except BaseException as exc:
                self._end(ctx, event, None, exc)
                raise
        self._end(ctx, event, result, None)
        return result

    async def run_async(self, messages: list[ChatMessage], tools: Any = None, **kwargs: Any) -> dict[str, Any]:
        ctx, event, cached = self._begin(messages, tools)
        call = self._kwargs(messages, tools, kwargs)
        if cached is not None:
            result: Any = {"replies": cached}
        else:
            try:
                inner_async = getattr(self.inner, "run_async", None)
                if callable(inner_async):
                    result = await inner_async(**call)
                else:
                    result = await asyncio.to_thread(self.inner.run, **call)
            except BaseException as exc:
                if ctx is not None:
                    self._end(ctx, event, None, exc)
                raise
        if ctx is not None:
            self._end(ctx, event, result, None)
        return result


def _recorded_args(kwargs: dict[str, Any]) -> dict[str, Any]:
    # Haystack injects the live State and streaming callbacks; they are not the call's arguments.
    return {k: v for k, v in kwargs.items() if not isinstance(v, State) and not callable(v)}


def _tool_summary(name: str, args: dict[str, Any], result: Any, error: str | None) -> str:
    head = f"{name}({format_args(args)})"
    if error:
        return f"{head} !! {error}"
    text = " ".join(str(result).split())
    if len(text) > 80:
        text = text[:79] + "…"
    return f"{head} -> {text}"


def _begin_tool(name: str, kwargs: dict[str, Any]) -> tuple[Any, Event | None, tuple[bool, Any]]:
    ctx = current()
    if ctx is None:
        return None, None, (False, None)
    args = _recorded_args(kwargs)
    event = Event(ctx.run.run_id, -1, ctx.step, "tool", None, name, "ok", ctx.now_ms(), 0.0)
    event.before = ctx.tools_before
    if event.before is None:  # a tool called outside the Agent's tool step (by a hook, say)
        ctx.settle(tools=False)
        event.before = ctx.snap()
    event.detail = {"arguments": args}
    try:
        served = ctx.tool_source(ctx.step, name, args) if ctx.tool_source else (False, None)
    except BaseException as exc:  # a replay divergence: keep the row that stopped the run
        _end_tool(ctx, event, None, exc)
        raise
    if served[0]:
        event.status = "cached"
    return ctx, event, served


def _end_tool(ctx: Any, event: Event, result: Any, exc: BaseException | None) -> None:
    event.duration_ms = ctx.now_ms() - event.offset_ms
    if exc is not None:
        event.status, event.error = "error", _error_text(exc)
    else:
        event.detail["result"] = result
    event.summary = _tool_summary(event.name, event.detail["arguments"], result, event.error)
    ctx.emit(event, pending=event.before is not None)


def wrap_tool(tool: Tool) -> Tool:
    """A shallow copy of `tool` whose function (and async function) record each call.

    `functools.wraps` keeps the signature, which haystack reads to inject State arguments.

    Usage:
        >>> from haystack.tools import tool
        >>> @tool
        ... def add(a: int, b: int) -> int:
        ...     '''Add.'''
        ...     return a + b
        >>> wrap_tool(add).invoke(a=2, b=3)
        5
    """
    wrapped = copy.copy(tool)
    name = tool.name
    if tool.function is not None:
        fn = tool.function

        @functools.wraps(fn)
        def record_call(*args: Any, **kwargs: Any) -> Any:
            ctx, event, served = _begin_tool(name, kwargs)
            if ctx is None:
                return fn(*args, **kwargs)
            if served[0]:
                _end_tool(ctx, event, served[1], None)
                return served[1]
            try:
                result = fn(*args, **kwargs)
            except BaseException as exc:
                _end_tool(ctx, event, None, exc)
                raise
            _end_tool(ctx, event, result, None)
            return result

        wrapped.function = record_call
    if getattr(tool, "async_function", None) is not None:
        afn = tool.async_function

        @functools.wraps(afn)
        async def record_call_async(*args: Any, **kwargs: Any) -> Any:
            ctx, event, served = _begin_tool(name, kwargs)
            if ctx is None:
                return await afn(*args, **kwargs)
            if served[0]:
                _end_tool(ctx, event, served[1], None)
                return served[1]
            try:
                result = await afn(*args, **kwargs)
            except BaseException as exc:
                _end_tool(ctx, event, None, exc)
                raise
            _end_tool(ctx, event, result, None)
            return result

        wrapped.async_function = record_call_async
    return wrapped

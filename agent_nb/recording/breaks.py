"""Breakpoints: where a live run may pause, what an event boundary is, and what a skip by hand records.

A run's context carries a `breaker` (None unless the run has breakpoints, or replays edits made by hand). The
interception points (`interception`: the one hook loop, tool runner and generator tap) check `ctx.breaker is not
None` once per hook point, LLM call and tool call; only then do they make a `Boundary` at every event boundary and
ask the breaker there, before the event runs:

- `point`: a hook point, after its bookkeeping (step, restored State) and before its hooks;
- `hook`: before one hook; `llm`: before an LLM call; `tool`: before one tool call;
- and, after a hook, LLM or tool call that raised, `failed` (for `on_error` breakpoints).

The breaker answers True to skip the event (the hook, tool or LLM call does not run; its row says
`skipped by hand`), False to go on, or raises `RunAborted`. What a pause is (waiting, edits, commands) is the
replay layer's (`agent_nb.replay.live`). This module imports nothing of `interception` (which imports it).

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

from haystack.dataclasses import ChatMessage
from haystack.hooks import VALID_HOOK_POINTS

from agent_nb.errors import InvalidArgument, InvalidType

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

    __slots__ = ("arguments", "error", "kind", "name", "place", "point", "skip", "state", "step", "tool_call")

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
        #: The breaker's answer, set by the interception point that asked: True when the event is skipped by hand.
        self.skip = False

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
    """A validated Breakpoint for `recorder`'s Agent (an InvalidArgument / InvalidType naming what is valid).

    Usage:
        >>> check_breakpoint(rec, "tool", "sub", None, False)
        Traceback (most recent call last):
        ...
        agent_nb.errors.InvalidArgument: no tool named 'sub'; valid names: add, multiply, get_weather, save_note, search
    """
    if not isinstance(on_error, bool):
        raise InvalidType(f"on_error must be True or False, got {on_error!r}")
    if when is not None and not callable(when):
        raise InvalidType(f"when must be a function of the State (a dict), got {type(when).__name__}")
    if point is None:
        if not on_error:
            raise InvalidArgument(f"give a point to break at (one of {', '.join(POINTS)}), or on_error=True")
        if name is not None:
            raise InvalidArgument("name needs a point: break_at('tool', name=...) or break_at('before_llm', name=...)")
        return Breakpoint(None, None, when, True)
    if point not in POINTS:
        raise InvalidArgument(f"unknown breakpoint point {point!r}; valid points: {', '.join(POINTS)}")
    if name is not None:
        if not isinstance(name, str):
            raise InvalidType(f"name must be a str (a hook or tool name), got {type(name).__name__}")
        valid = _names(recorder, point)
        if valid is not None and name not in valid:
            what = {"tool": "tool", "llm": "generator"}.get(point, f"hook at {point!r}")
            raise InvalidArgument(f"no {what} named {name!r}; valid names: {', '.join(valid) or 'none'}")
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


# ---- what a boundary and a skip by hand record (the interception points call these) -----------------------------
def tool_boundary(ctx: RunContext, tool_call: Any, args: dict[str, Any]) -> Boundary:
    """The boundary before one tool call: `arguments` are the call's live arguments (an edit changes them)."""
    return Boundary("tool", "tool", tool_call.tool_name, ctx.step, ctx.state, arguments=args, tool_call=tool_call)


def edited_input(state: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[tuple[Any, ...], dict]:
    """The generator gets the State's messages as they are after the pause (an edit replaces the list)."""
    if state is None or "messages" not in state.data:
        return args, kwargs
    if "messages" in kwargs:
        kwargs = {**kwargs, "messages": state.data["messages"]}
    elif args:
        args = (state.data["messages"], *args[1:])
    return args, kwargs


def skip_hook(ctx: RunContext, point: Any, name: str, state: Any, at: Boundary) -> None:
    """Record a hook skipped by hand: a `skipped` row that says so, and where (`detail["at"]`)."""
    ctx.hook_skipped(point, name, state)
    event = ctx.run.events[-1]
    event.detail = {"skipped_by_hand": True, "at": list(at.place or at.key)}
    event.summary = "skipped by hand"


def mark_skipped(event: Any, at: Boundary) -> None:
    """Make a tool or LLM row one skipped by hand at `at`."""
    event.status = "skipped"
    event.detail["skipped_by_hand"] = True
    event.detail["at"] = list(at.place or at.key)


def skipped_reply() -> list[ChatMessage]:
    """The replies of an LLM call skipped by hand: one text reply, so the Agent ends its run there."""
    return [ChatMessage.from_assistant(SKIPPED_LLM_TEXT)]

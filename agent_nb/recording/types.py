"""Literal types of the timeline's codes: event kinds, event statuses, hook points (haystack's own), run statuses.

Type checkers read them; `typing.get_args` gives their values at run time, in the order the timeline's
categorical columns use. `HookPoint` is haystack's (`haystack.hooks.HookPoint`), re-exported so our
signatures name the same type the Agent's `hooks` argument does.

Usage:
    >>> from typing import get_args
    >>> from agent_nb.recording.events import HOOK_POINTS, KINDS, STATUSES
    >>> get_args(EventKind) == KINDS, get_args(EventStatus) == STATUSES, get_args(HookPoint) == HOOK_POINTS
    (True, True, True)
    >>> def label(kind: EventKind, point: HookPoint | None = None) -> str:
    ...     return f"{kind}:{point}" if point else kind
    >>> label("hook", "before_llm")
    'hook:before_llm'
"""

from __future__ import annotations

from typing import Literal

from haystack.hooks import HookPoint as HookPoint  # haystack's own, named here with the core's other types

#: What an event is: a hook invocation, an LLM call, a tool call, or an edit made by hand while a live run was paused.
EventKind = Literal["hook", "llm", "tool", "edit"]
#: How an event went: ok, raised (error), a hook switched off or skipped by hand (skipped), served from a recording
#: (cached).
EventStatus = Literal["ok", "error", "skipped", "cached"]
#: Where a run is: still running, ended normally (ok), raised (error), stopped by the user or a hook, or ended by
#: hand while paused at a breakpoint (aborted; the partial run is kept).
RunStatus = Literal["running", "ok", "error", "stopped", "aborted"]

"""The one readable line of a timeline row, computed when first read (never while the Agent runs).

Usage:
    >>> from agent_nb.recording.events import Event
    >>> ev = Event("r", 0, 0, "tool", None, "add", "ok", 0.0, 0.1, detail={"arguments": {"a": 2}, "result": 5})
    >>> summarize(ev)
    'add(a=2) -> 5'
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from haystack.dataclasses import ChatMessage

from agent_nb.recording.diff import format_args, message_text, state_diff
from agent_nb.recording.text import cut
from agent_nb.recording.values import MessageLog, short_repr

if TYPE_CHECKING:
    from agent_nb.recording.events import Event

#: What an LLM row reads when the generator returned no message at all (worth seeing at once).
NO_REPLY = "(no reply: the generator returned no message, or only empty ones)"
#: What a hook row reads when the State is the same after it.
NO_CHANGE = "no change"
#: Longest value `full_summary` shows (a 10 MB tool result is not a tooltip).
FULL_LIMIT = 20_000


def summarize(event: Event) -> str:
    """One line for any event: what a hook changed, what the LLM answered, what a tool returned.

    Long texts in it are cut at a word boundary with a closing "…"; `full_summary` says the same uncut.

    Usage:
        >>> from agent_nb.recording.events import Event
        >>> summarize(Event("r", 0, 0, "hook", "on_exit", "h", "skipped", 0.0, 0.0))
        'switched off'
    """
    if event.kind == "llm":
        return llm_summary(event)
    if event.kind == "tool":
        return tool_summary(event)
    return hook_summary(event)


def full_summary(event: Event) -> str:
    """The summary with nothing cut (every message, key and value in full): a tooltip's or a detail's text.

    Usage:
        >>> from agent_nb.recording.events import Event
        >>> ev = Event("r", 0, 0, "tool", None, "echo", "ok", 0.0, 0.1, detail={"arguments": {}, "result": "x " * 60})
        >>> summarize(ev).endswith("…"), full_summary(ev).endswith("x")
        (True, True)
    """
    if event.kind == "llm":
        return llm_summary(event, full=True)
    if event.kind == "tool":
        return tool_summary(event, full=True)
    return hook_summary(event, full=True)


def hook_summary(event: Event, *, full: bool = False) -> str:
    """What a hook did: messages it added, keys it changed, run control (`full`: nothing cut or left out)."""
    if event.status == "skipped":
        return "switched off"
    if event.error:
        return f"raised {event.error}"
    before, after = event.before or {}, event.after or {}
    if before is after:
        return NO_CHANGE
    parts: list[str] = []
    added, removed = event.messages_added or 0, event.messages_removed or 0
    most = None if full else 2  # messages shown (then keys: 3)
    room = (lambda text: text) if full else (lambda text: cut(text, 60))
    if "messages" in event.changed:
        old_msgs, new_msgs = before.get("messages") or [], after.get("messages") or []
        if added and not removed and _appended(old_msgs, new_msgs):
            new = list(new_msgs)[len(new_msgs) - added :][:most]
            parts += [f'+{_role(m)}: "{_text(m, None if full else 60)}"' for m in new]
        else:  # inserted, removed or rewritten messages: the full diff says which, and is affordable here
            diff = state_diff({"messages": before.get("messages") or []}, {"messages": new_msgs})
            parts += [f'~{b.role}: "{room(b.text)}"' for _, b in diff.messages_replaced[:most]]
            parts += [f'+{c.role}: "{room(c.text)}"' for c in diff.messages_added[:most]]
            parts += [f"-{c.role}" for c in diff.messages_removed[:most]]
    keys = [k for k in event.changed if k not in ("messages", "continue_run", "stop_run")]
    parts += [f"{k}={short_repr(after.get(k), FULL_LIMIT if full else 40)}" for k in keys[: None if full else 3]]
    if event.flow:
        parts.append(event.flow)
    return ", ".join(parts) if parts else NO_CHANGE


def llm_summary(event: Event, *, full: bool = False) -> str:
    """The replies, one line each; an empty reply says so (`full`: not cut)."""
    detail = event.detail
    get = _get_of(detail)
    empty = get(detail, "empty_reply")
    if event.error and not empty:
        return f"raised {event.error}"
    replies = get(detail, "replies")
    if replies is None:
        return ""
    if empty:
        return NO_REPLY
    limit = None if full else 100
    if type(replies) is list and len(replies) == 1:  # the common case, without a list and a join
        return _text(replies[0], limit) or NO_REPLY
    return " | ".join([_text(r, limit) for r in replies]) or NO_REPLY


def tool_summary(event: Event, *, full: bool = False) -> str:
    """`name(args) -> result`, or `!! error` (`full`: arguments and result not cut)."""
    detail = event.detail
    get = _get_of(detail)
    arguments = get(detail, "arguments")
    if full and isinstance(arguments, dict):
        args = ", ".join(f"{k}={short_repr(v, FULL_LIMIT)}" for k, v in arguments.items())
    else:
        args = format_args(arguments)
    head = f"{event.name}({args})"
    if event.error:
        return f"{head} !! {event.error}"
    text = " ".join(_str(get(detail, "result")).split())
    return f"{head} -> {cut(text, FULL_LIMIT if full else 80)}"


def _str(value: Any) -> str:
    if type(value) is str:
        return value
    return safe_str(value)


# ---- printing any value: never raises ------------------------------------------------------------------------
def safe_str(value: Any) -> str:
    """`str(value)`, or a marker when its `__str__` raises.

    Usage:
        >>> class Broken:
        ...     def __str__(self): raise RuntimeError("no")
        >>> safe_str(Broken()), safe_str(3)
        ('<Broken: str failed with RuntimeError>', '3')
    """
    try:
        return str(value)
    except Exception as exc:  # a value that cannot be printed must not break what shows it
        return f"<{type(value).__name__}: str failed with {type(exc).__name__}>"


def safe_repr(value: Any) -> str:
    """`repr(value)`, whole; when it raises, reprlib's shortened one with failing parts as markers.

    Cycles read as in Python's repr (`[1, [...]]`).

    Usage:
        >>> class Broken:
        ...     def __repr__(self): raise RuntimeError("no")
        >>> safe_repr([1, Broken()])
        '[1, <Broken: repr failed with RuntimeError>]'
    """
    try:
        return repr(value)
    except Exception:
        return short_repr(value, 10_000)


def json_text(value: Any, *, indent: int | None = None, default: Callable[[Any], Any] = safe_repr) -> str:
    """A value as JSON text for people; what JSON cannot hold as `default(value)` (its repr); never raises.

    A value JSON cannot write at all (a cycle, a key that is no string) reads as its `safe_repr`.

    Usage:
        >>> print(json_text({"a": [1, 2], "kind": object}))
        {"a": [1, 2], "kind": "<class 'object'>"}
        >>> cyclic = [1]; cyclic.append(cyclic)
        >>> json_text(cyclic)
        '[1, [...]]'
    """

    def guarded(part: Any) -> Any:
        try:
            return default(part)
        except Exception:
            return safe_repr(part)

    try:
        return json.dumps(value, ensure_ascii=False, indent=indent, default=guarded)
    except Exception:  # ValueError for a cycle, TypeError for other keys, RecursionError for deep nests
        return safe_repr(value)


def _get_of(detail: Mapping[str, Any]) -> Callable[[Mapping[str, Any], str], Any]:
    # dict.get straight away, unbound: LLMDetail's Python-level `get` (for its lazy digest) costs a call and,
    # for an absent key, a raised KeyError; the keys read here are stored ones.
    return dict.get if isinstance(detail, dict) else _mapping_get


def _mapping_get(detail: Mapping[str, Any], key: str) -> Any:
    return detail.get(key)


def _appended(old: Any, new: Any) -> bool:
    """True when `new` is `old` plus messages at its end (not inserted before them)."""
    if isinstance(new, MessageLog) and isinstance(old, MessageLog) and new.extends(old):
        return True
    old_list, new_list = list(old), list(new)
    return len(new_list) >= len(old_list) and all(a is b for a, b in zip(old_list, new_list, strict=False))


def _role(message: Any) -> str:
    role = getattr(message, "role", None)
    return getattr(role, "value", str(role))


def _text(message: Any, limit: int | None) -> str:
    if isinstance(message, ChatMessage):
        return message_text(message, limit)
    return short_repr(message, FULL_LIMIT if limit is None else limit)

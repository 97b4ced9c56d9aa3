"""Full-text search over a run's events: what `Run.search` and the trace view's filter find.

Each event's searchable text (its name, summary, error, flow, the messages it added or replaced, the State
values it changed, an LLM call's replies, a tool call's arguments and result) is built once, lowercased, the
first time a search reads it, and kept per run; an event still in progress (waiting for its `after` State) is
built anew at each search until it settles. A search is then one substring test per event.

The LLM input is not searched as such: the messages in it are found at the event that added them (a hook, a
reply, a tool result) or in the run's inputs, so a word of the prompt does not match every LLM row.

Usage:
    >>> from agent_nb.recording.events import Event
    >>> from agent_nb.recording.run import Run
    >>> r = Run(run_id="r", status="ok")
    >>> r.events.append(Event("r", 0, 0, "tool", None, "get_weather", "ok", 0.0, 0.1,
    ...                       detail={"arguments": {"city": "Paris"}, "result": "18 degrees Celsius"}))
    >>> matching_seqs(r, "celsius"), matching_seqs(r, "London")
    ([0], [])
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from haystack.dataclasses import ChatMessage

from agent_nb.errors import InvalidType
from agent_nb.recording.diff import message_text, state_diff
from agent_nb.recording.values import MessageLog

if TYPE_CHECKING:
    from agent_nb.recording.events import Event
    from agent_nb.recording.run import Run

#: Longest text taken from one value (a 10 MB tool result is searched in its first 100,000 characters).
VALUE_LIMIT = 100_000

# run -> {id(event): (event, lowercased text)}; the event is held so that its id is not reused meanwhile.
_CACHE: weakref.WeakKeyDictionary[Any, dict[int, tuple[Any, str]]] = weakref.WeakKeyDictionary()
# run -> (events list length, [(seq, text)...]) once every event of an ended run is settled: a search is then
# one pass over a ready list.
_READY: weakref.WeakKeyDictionary[Any, tuple[int, list[tuple[int, str]]]] = weakref.WeakKeyDictionary()


def matching_seqs(run: Run, text: str) -> list[int]:
    """The seqs of the events whose content contains `text`, case-insensitively, in seq order.

    An empty `text` matches every event.

    Usage:
        >>> matching_seqs(run, "PARIS")[:2]
        [0, 3]
    """
    if not isinstance(text, str):
        raise InvalidType(f"search text must be a str, got {type(text).__name__}")
    needle = text.lower()
    texts = event_texts(run)
    return sorted([seq for seq, haystack in texts if needle in haystack])


def event_texts(run: Run) -> list[tuple[int, str]]:
    """(seq, lowercased searchable text) of every event of `run`, built once per settled event."""
    ready = _READY.get(run)
    if ready is not None and ready[0] == len(run.events) and run.status != "running":
        return ready[1]
    cache = _CACHE.get(run)
    if cache is None:
        cache = _CACHE[run] = {}
    out = []
    for event in list(run.events):  # a copy: a live run appends meanwhile
        hit = cache.get(id(event))
        if hit is not None and hit[0] is event:
            out.append((event.seq, hit[1]))
            continue
        text = event_text(event)
        if event.settled():
            cache[id(event)] = (event, text)
        out.append((event.seq, text))
    if run.status != "running" and len(cache) == len(out):  # all settled: kept as one list
        _READY[run] = (len(out), out)
    return out


def event_text(event: Event) -> str:
    """The lowercased text a search looks in for one event (one line per part).

    Usage:
        >>> from agent_nb.recording.events import Event
        >>> event_text(Event("r", 0, 0, "hook", "on_exit", "Check", "error", 0.0, 0.1, error="ValueError: No"))
        'check\\nhook\\non_exit\\nerror\\nraised valueerror: no\\nvalueerror: no'
    """
    parts: list[str] = [event.name or "", event.kind, event.hook_point or "", event.status]
    parts += [event.summary or "", event.error or "", event.flow or ""]
    parts += map(str, event.changed or ())
    detail = event.detail
    if event.kind == "llm":
        parts += map(_value_text, _as_list(detail.get("replies")))
    elif event.kind == "tool":
        arguments = detail.get("arguments")
        if isinstance(arguments, dict):
            parts += (f"{k}={_value_text(v)}" for k, v in arguments.items())
        elif arguments is not None:
            parts.append(_value_text(arguments))
        if "result" in detail:
            parts.append(_value_text(detail.get("result")))
    parts += _state_change_text(event)
    return "\n".join(p for p in parts if p).lower()


def _state_change_text(event: Event) -> Iterable[str]:
    before, after = event.before, event.after
    if before is None or after is None or before is after:
        return []
    parts: list[str] = []
    old, new = before.get("messages"), after.get("messages")
    # An LLM or tool row's new messages are its replies / its result, already in the text.
    if event.kind == "hook" and old is not new and new is not None:
        if isinstance(new, MessageLog) and isinstance(old, MessageLog) and new.extends(old):
            parts += map(_value_text, new.since(len(old)))  # appended: only the new ones
        else:
            diff = state_diff({"messages": old or []}, {"messages": new})
            parts += (c.text for c in diff.messages_added)
            parts += (f"{a.text}\n{b.text}" for a, b in diff.messages_replaced)
    for key in event.changed or ():
        if key != "messages":
            parts.append(f"{key}={_value_text(after.get(key))}")
    return parts


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else [] if value is None else [value]


def _value_text(value: Any) -> str:
    if isinstance(value, str):
        return value[:VALUE_LIMIT]
    if isinstance(value, ChatMessage):
        return message_text(value, VALUE_LIMIT)
    try:
        text = repr(value)
    except Exception as exc:  # a value that cannot be printed is searched by its type
        text = f"<{type(value).__name__}: repr failed with {type(exc).__name__}>"
    return text[:VALUE_LIMIT]

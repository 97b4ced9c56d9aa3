"""What an event changed in the State: messages added / removed / replaced, and changed keys.

Usage:
    >>> from haystack.dataclasses import ChatMessage, TextContent, ToolCall, ToolCallResult
    >>> q = ChatMessage.from_user("hi")
    >>> d = state_diff({"messages": [q], "step_count": 0}, {"messages": [q, ChatMessage.from_assistant("hello")],
    ...                                                     "step_count": 1})
    >>> d.messages_added, d.changed
    ([MessageChange(index=1, role='assistant', text='hello')], {'step_count': (0, 1)})
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from haystack.dataclasses import ChatMessage, TextContent, ToolCall, ToolCallResult

from agent_nb.recording.text import cut
from agent_nb.recording.values import MessageLog, same_value, short_repr

TEXT_LIMIT = 120


def message_text(message: ChatMessage, limit: int | None = TEXT_LIMIT) -> str:
    """A one-line readable rendering of a message: its text, tool calls, or tool result.

    Usage:
        >>> message_text(ChatMessage.from_user("What is 2 + 3?"))
        'What is 2 + 3?'
    """
    content = message._content
    one = type(content[0]) if len(content) == 1 else None
    if one is TextContent:  # the common shapes first: one text, or one tool call
        text = content[0].text or ""
    elif one is ToolCall:
        text = f"{content[0].tool_name}({format_args(content[0].arguments)})"
    else:
        text = _parts_text(content)
    text = " ".join(text.split())
    if limit is not None and len(text) > limit:
        text = cut(text, limit)
    return text


def _parts_text(content: list[Any]) -> str:
    # One pass over the content parts: haystack's `text` / `tool_calls` properties each scan them again.
    texts, calls, result = [], [], None
    for part in content:
        if isinstance(part, TextContent):
            texts.append(part.text)
        elif isinstance(part, ToolCall):
            calls.append(part)
        elif isinstance(part, ToolCallResult) and result is None:
            result = part
    body = texts[0] if texts else ""
    if calls:
        text = ", ".join(f"{tc.tool_name}({format_args(tc.arguments)})" for tc in calls)
        return f"{body} {text}" if body else text
    if result is not None:
        return f"{result.origin.tool_name} -> {result.result}" + (" (error)" if result.error else "")
    return body or ""


def format_args(arguments: Any) -> str:
    """`a=2, b=3` for a tool call's arguments; anything else (a JSON string some servers send) as it came.

    Usage:
        >>> format_args({"a": 2, "city": "Paris"})
        "a=2, city='Paris'"
        >>> print(format_args('{"a": 2}'))
        '{"a": 2}'
    """
    if isinstance(arguments, dict):
        parts = []
        for key, value in arguments.items():
            cls = type(value)
            # Values whose repr is surely short and cannot fail, straight; the rest through short_repr's rules.
            if (cls is int and _INT_FLOOR < value < _INT_LIMIT) or (cls is str and len(value) <= 19) or cls in _PLAIN:
                parts.append(f"{key}={value!r}")
            else:
                parts.append(f"{key}={quick_repr(value, 200)}")
        return ", ".join(parts)
    return "" if arguments is None else short_repr(arguments, 200)


#: Below this an int's repr has at most 200 characters (sign included); a str of up to 19 characters has at
#: most 192 (10 per character at worst, like '\U000e0001', plus quotes); floats, bools and None are short.
_INT_LIMIT = 10**199
_INT_FLOOR = -_INT_LIMIT
_PLAIN = frozenset({float, bool, type(None)})


#: Types whose repr is built directly (no reprlib, no size checks): the arguments and values of most rows.
_QUICK_TYPES = frozenset({int, float, bool, type(None)})


def quick_repr(value: Any, limit: int = 80) -> str:
    """`short_repr(value, limit)`, the same text, built faster for small strings and numbers.

    Usage:
        >>> quick_repr("Paris"), quick_repr(2), quick_repr("x" * 100, 10) == short_repr("x" * 100, 10)
        ("'Paris'", '2', True)
    """
    cls = type(value)
    if cls in _QUICK_TYPES or (cls is str and len(value) <= limit):
        try:
            text = repr(value)
        except ValueError:  # an int too long to print: short_repr says so
            return short_repr(value, limit)
        return text if len(text) <= limit else cut(text, limit)
    return short_repr(value, limit)


@dataclass(frozen=True)
class MessageChange:
    """One message that an event added, removed or replaced (role and readable text, in full).

    Usage:
        >>> MessageChange(0, "system", "Today is 2026-11-22.").role
        'system'
    """

    index: int
    role: str
    text: str


@dataclass
class StateDiff:
    """The difference between two State snapshots.

    `changed` maps each changed non-message key to `(old, new)`; `flow` is the run-control the event set.

    Usage:
        >>> StateDiff().is_empty
        True
    """

    messages_added: list[MessageChange] = field(default_factory=list)
    messages_removed: list[MessageChange] = field(default_factory=list)
    messages_replaced: list[tuple[MessageChange, MessageChange]] = field(default_factory=list)
    changed: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    flow: str | None = None

    @property
    def is_empty(self) -> bool:
        """True when the event changed nothing."""
        return not (self.messages_added or self.messages_removed or self.messages_replaced or self.changed)

    def __str__(self) -> str:
        # One line per change: texts cut (with a mark) here; the MessageChanges hold them in full.
        lines = [f"+{c.role}[{c.index}]: {cut(c.text, TEXT_LIMIT)}" for c in self.messages_added]
        lines += [f"-{c.role}[{c.index}]: {cut(c.text, TEXT_LIMIT)}" for c in self.messages_removed]
        lines += [
            f"~{a.role}[{a.index}]: {cut(a.text, TEXT_LIMIT)}  =>  {b.role}: {cut(b.text, TEXT_LIMIT)}"
            for a, b in self.messages_replaced
        ]
        lines += [f"{k}: {_short(old)} -> {_short(new)}" for k, (old, new) in self.changed.items()]
        if self.flow:
            lines.append(f"flow: {self.flow}")
        return "\n".join(lines) if lines else "(no change)"

    def _repr_html_(self) -> str:
        import html

        return "<pre>" + html.escape(str(self)) + "</pre>"


def _short(value: Any, limit: int = 80) -> str:
    try:
        text = json.dumps(value, default=repr, ensure_ascii=False)
    except BaseException:
        return short_repr(value, limit)
    return text if len(text) <= limit else cut(text, limit)


def _role(message: Any) -> str:
    role = getattr(message, "role", None)
    return getattr(role, "value", str(role)) if role is not None else type(message).__name__


#: Longest text a MessageChange keeps of a value that is not a message (its repr).
_REPR_LIMIT = 20_000


def _change(index: int, message: Any) -> MessageChange:
    # The full text: views cut it for a line, and show it whole in a detail pane.
    text = message_text(message, None) if isinstance(message, ChatMessage) else short_repr(message, _REPR_LIMIT)
    return MessageChange(index, _role(message), text)


def message_counts(before: list[Any], after: list[Any]) -> tuple[int, int]:
    """(added, removed) between two message lists, by identity of the shared messages.

    The common case (messages appended) is a C-level prefix comparison.

    Usage:
        >>> message_counts([1, 2], [1, 2, 3])
        (1, 0)
    """
    nb, na = len(before), len(after)
    if before is after:
        return 0, 0
    if isinstance(after, MessageLog) and isinstance(before, MessageLog) and after.extends(before):
        return na - nb, 0
    before, after = list(before), list(after)
    if na >= nb and _same_prefix(after, before):
        return na - nb, 0
    prefix, suffix = _common_ends(before, after)
    return na - prefix - suffix, nb - prefix - suffix


def _same_prefix(longer: list[Any], prefix: list[Any]) -> bool:
    try:
        return longer[: len(prefix)] == prefix  # identity first, in C
    except Exception:
        return all(same_value(a, b) for a, b in zip(longer, prefix, strict=False))


def _common_ends(before: list[Any], after: list[Any]) -> tuple[int, int]:
    limit = min(len(before), len(after))
    prefix = 0
    while prefix < limit and same_value(before[prefix], after[prefix]):
        prefix += 1
    suffix = 0
    while suffix < limit - prefix and same_value(before[-1 - suffix], after[-1 - suffix]):
        suffix += 1
    return prefix, suffix


def changed_keys(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """State keys whose value differs between two snapshots (messages included).

    Snapshots share unchanged values, so identity decides most keys without a comparison.

    Usage:
        >>> changed_keys({"a": 1, "b": 2}, {"a": 1, "b": 3, "c": 0})
        ['b', 'c']
        >>> changed_keys({"a": 1}, {"a": 1.0})   # equal, but no longer the same value
        ['a']
    """
    if before is after:
        return []
    keys = []
    old_of = before.get
    for key, value in after.items():
        old = old_of(key, _MISSING)
        if old is value:
            continue
        cls = type(value)
        if old is _MISSING:
            keys.append(key)
        elif cls is type(old) and cls in _EQ_IS_BOOL:
            # `==` of these types answers a bool (or raises): what same_value would do, without the call.
            try:
                if old != value:
                    keys.append(key)
            except Exception:
                keys.append(key)
        elif isinstance(value, MessageLog) and isinstance(old, MessageLog):
            if old._len != value._len or value.extends(old) or not _same_messages(old, value):
                keys.append(key)
        elif cls is not type(old) and not {cls, type(old)} <= _MESSAGE_LISTS:
            keys.append(key)  # 1 -> 1.0 -> True are equal, but the value is not the same
        elif not same_value(old, value):
            keys.append(key)
    if not before.keys() <= after.keys():
        keys.extend(k for k in before if k not in after)
    return keys


#: A message list may be stored as either: the same messages in both are no change.
_MESSAGE_LISTS = frozenset({list, MessageLog})
#: Types whose `==` between two values of the type returns a bool (or raises), never an elementwise answer.
_EQ_IS_BOOL = frozenset({int, float, str, bytes, bool, dict, list, tuple, type(None)})


def _same_messages(a: MessageLog, b: MessageLog) -> bool:
    return all(x is y or same_value(x, y) for x, y in zip(a, b, strict=True))


#: What `derive` returns: changed keys, messages added, messages removed, flow.
Derived = tuple[list[str], int | None, int | None, str | None]


def derive(before: dict[str, Any] | None, after: dict[str, Any] | None) -> Derived:
    """The derived timeline columns of an event from its snapshots: (changed, added, removed, flow).

    One pass that the timeline build memoizes per snapshot pair; `changed` is a new list at each call.

    Usage:
        >>> derive({"step_count": 0, "continue_run": False}, {"step_count": 1, "continue_run": True})
        (['step_count', 'continue_run'], 0, 0, 'continue_run')
        >>> derive(None, {"step_count": 1})
        ([], None, None, None)
    """
    if before is None or after is None:
        return [], None, None, None
    if before is after:
        return [], 0, 0, None
    changed = changed_keys(before, after)
    old, new = before.get("messages"), after.get("messages")
    if old is new:  # the same log (or both absent): nothing added or removed
        added = removed = 0
    elif type(new) is MessageLog and new.base is old and type(old) is MessageLog:  # messages appended
        added, removed = new._len - old._len, 0
    else:
        added, removed = message_counts(old or [], new or [])
    return changed, added, removed, flow_of(before, after)


def flow_of(before: dict[str, Any], after: dict[str, Any]) -> str | None:
    """The run-control an event set: `continue_run`, `stop_run:<reason>`, or None.

    Usage:
        >>> flow_of({"continue_run": False}, {"continue_run": True})
        'continue_run'
    """
    stop = after.get("stop_run")
    if stop is not None and not same_value(stop, before.get("stop_run")):
        return f"stop_run:{stop}"
    if after.get("continue_run") and not before.get("continue_run"):
        return "continue_run"
    return None


def state_diff(before: dict[str, Any], after: dict[str, Any]) -> StateDiff:
    """The full diff between two snapshots, for the inspector and `Run.diff`.

    Usage:
        >>> state_diff({"step_count": 0}, {"step_count": 1}).changed
        {'step_count': (0, 1)}
    """
    diff = StateDiff(flow=flow_of(before, after))
    old_msgs = list(before.get("messages") or [])
    new_msgs = list(after.get("messages") or [])
    prefix, suffix = _common_ends(old_msgs, new_msgs)
    old_mid = old_msgs[prefix : len(old_msgs) - suffix]
    new_mid = new_msgs[prefix : len(new_msgs) - suffix]
    paired = min(len(old_mid), len(new_mid))
    # A message changed in place at the same position reads better as "replaced" than as remove + add.
    for i in range(paired):
        diff.messages_replaced.append((_change(prefix + i, old_mid[i]), _change(prefix + i, new_mid[i])))
    diff.messages_removed = [_change(prefix + i, m) for i, m in enumerate(old_mid[paired:], start=paired)]
    diff.messages_added = [_change(prefix + i, m) for i, m in enumerate(new_mid[paired:], start=paired)]
    for key in changed_keys(before, after):
        if key != "messages":
            diff.changed[key] = (before.get(key), after.get(key))
    return diff


_MISSING = object()

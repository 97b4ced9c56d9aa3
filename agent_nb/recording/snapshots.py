"""State snapshots: frozen, shared-structure copies of an Agent's `State.data`.

A snapshot is a plain dict of the State's keys, without `tools` and `hook_context` (live objects that must
never be copied). Nothing in a snapshot is shared with the live run: messages are frozen copies (their
`meta`, tool-call `arguments` and tool results copied once, when the message first enters the State), and
other values are copied when they change. So whatever a hook, a tool or a user later does to the objects of
the run, a recorded snapshot never changes.

Cost stays O(change): a message list that grew by appending is stored as a `MessageLog` (the previous log
plus the new messages), values equal to the previous snapshot's are shared, and an event that changed
nothing gets the previous snapshot back. Three policies:

- ``"fast"`` (default): as above.
- ``"deep"``: every value is deep-copied at every change, including each message (slower; for values whose
  copies must not share anything even with each other).
- ``"off"``: snapshots feed the timeline's diff columns, then are dropped when the run ends.

A value that cannot be copied (a lock, an open file, a 3,000-deep nest) is stored as an `Uncopyable` marker
that says what and why, once; one odd value never breaks a run.

Usage:
    >>> take = Snapshotter("fast")
    >>> snap = take({"messages": [], "step_count": 0, "tools": []})
    >>> sorted(snap)
    ['messages', 'step_count']
"""

from __future__ import annotations

import copy
import reprlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, overload

from haystack.dataclasses import ChatMessage, TextContent, ToolCall, ToolCallResult

from agent_nb.recording.text import cut

SnapshotMode = Literal["fast", "deep", "off"]
SNAPSHOT_MODES: tuple[str, ...] = ("fast", "deep", "off")

#: State keys never snapshotted: live tools and request-scoped user objects (may hold locks).
SKIPPED_KEYS = frozenset({"tools", "hook_context"})

_SCALARS = (str, int, float, bool, bytes, complex, type(None))
_SCALAR_TYPES = frozenset(_SCALARS)  # exact types: one set lookup on the hot path before isinstance
#: Deeper plain-data nests are copied by `copy.deepcopy` (which handles cycles), not by hand.
_HAND_COPY_DEPTH = 40


@dataclass(frozen=True)
class Uncopyable:
    """Stands in a snapshot for a State value that could not be copied.

    Usage:
        >>> Uncopyable("Lock", "<unlocked _thread.lock>", "cannot pickle '_thread.lock' object")
        <not copied: Lock <unlocked _thread.lock> (cannot pickle '_thread.lock' object)>
    """

    type_name: str
    value_repr: str
    reason: str

    def __repr__(self) -> str:
        return f"<not copied: {self.type_name} {self.value_repr} ({self.reason})>"


_REPR = reprlib.Repr()
_REPR.maxstring = _REPR.maxother = 200
_REPR.maxlist = _REPR.maxtuple = _REPR.maxdict = _REPR.maxset = _REPR.maxfrozenset = 30


def short_repr(value: Any, limit: int = 80) -> str:
    """`repr(value)` cut to `limit` characters; never raises (a broken `__repr__` is reported, not raised).

    Usage:
        >>> short_repr("x" * 100, 10)
        "'xxxxxxxx…"
    """
    try:
        if isinstance(value, str | bytes | bytearray) and len(value) > limit:
            text = repr(value[:limit])  # never the repr of a 10 MB value, only to cut it
        elif isinstance(value, list | tuple | dict | set | frozenset):
            text = _REPR.repr(value)  # element by element, stopping at reprlib's limits
        else:
            text = repr(value)
    except BaseException as exc:  # a broken __repr__ (even RecursionError) must not break a run
        text = f"<{type(value).__name__}: repr failed with {type(exc).__name__}>"
    return text if len(text) <= limit else cut(text, limit)


def _marker(value: Any, exc: BaseException) -> Uncopyable:
    return Uncopyable(type(value).__name__, short_repr(value), f"{type(exc).__name__}: {exc}"[:200])


def _hand_copy(value: Any, depth: int) -> Any:
    kind = type(value)
    if kind in _SCALAR_TYPES or isinstance(value, _SCALARS):
        return value
    if isinstance(value, ChatMessage):
        return freeze_message(value)
    if depth > _HAND_COPY_DEPTH:
        raise _TooDeep
    depth += 1
    # Scalar leaves are taken as they are, without a call each: most State values are small dicts of numbers.
    if kind is dict:
        for v in value.values():
            if type(v) not in _SCALAR_TYPES:
                return {k: v if type(v) in _SCALAR_TYPES else _hand_copy(v, depth) for k, v in value.items()}
        return value.copy()  # scalars only: a copy in C
    if kind is list:
        for v in value:
            if type(v) not in _SCALAR_TYPES:
                return [v if type(v) in _SCALAR_TYPES else _hand_copy(v, depth) for v in value]
        return value.copy()
    if kind is tuple:
        return tuple([v if type(v) in _SCALAR_TYPES else _hand_copy(v, depth) for v in value])
    return copy.deepcopy(value)


class _TooDeep(Exception):
    pass


def copy_value(value: Any) -> Any:
    """A private copy of one State value, or an `Uncopyable` marker saying why it could not be copied.

    Plain data is copied by hand (much faster than `copy.deepcopy`); messages become frozen copies; cycles
    and deep nests go through `copy.deepcopy`; what still fails (locks, recursion limits) becomes a marker.

    Usage:
        >>> counts = {"add": 1}
        >>> copied = copy_value(counts)
        >>> copied == counts and copied is not counts
        True
        >>> cyclic = []; cyclic.append(cyclic)
        >>> copy_value(cyclic)[0] is not cyclic
        True
    """
    if type(value) in _SCALAR_TYPES:  # most values and message fields: no copy, no try
        return value
    try:
        return _hand_copy(value, 0)
    except _TooDeep:
        pass
    except RecursionError as exc:
        return _marker(value, exc)
    except Exception:
        pass
    try:
        return copy.deepcopy(value)
    except RecursionError as exc:
        return _marker(value, exc)
    except Exception as exc:
        return _marker(value, exc)


# ---- messages ---------------------------------------------------------------------------------------------------
def _fresh(obj: Any, **fields: Any) -> Any:
    """A shallow copy of a (haystack) dataclass with some fields replaced, without haystack's mutation warning."""
    new = object.__new__(type(obj))
    new.__dict__.update(obj.__dict__)
    new.__dict__.update(fields)
    return new


def _freeze_part(part: Any) -> Any:
    kind = type(part)
    if kind is TextContent:  # a str field only: a shallow copy is a full one
        return _fresh(part)
    if kind is ToolCall:
        return _fresh(part, arguments=copy_value(part.arguments), extra=copy_value(part.extra))
    if kind is ToolCallResult:
        return _fresh(part, origin=_freeze_part(part.origin), result=copy_value(part.result))
    if hasattr(part, "__dict__"):
        return _fresh(part, **{k: copy_value(v) for k, v in part.__dict__.items() if not isinstance(v, _SCALARS)})
    return copy_value(part)


def freeze_message(message: ChatMessage) -> ChatMessage:
    """A copy of a ChatMessage that shares nothing mutable with it (meta, tool-call arguments, results).

    Usage:
        >>> m = ChatMessage.from_assistant("hi", meta={"usage": {"prompt_tokens": 1}})
        >>> frozen = freeze_message(m)
        >>> m.meta["usage"]["prompt_tokens"] = 99
        >>> frozen.meta["usage"]["prompt_tokens"], frozen.text
        (1, 'hi')
    """
    try:
        new = object.__new__(type(message))
        fields = new.__dict__
        fields.update(message.__dict__)
        fields["_content"] = [_freeze_part(p) for p in message._content]
        meta = message._meta
        fields["_meta"] = {} if type(meta) is dict and not meta else copy_value(meta)
        return new
    except Exception:
        return copy.deepcopy(message)


class MessageLog(Sequence[ChatMessage]):
    """An immutable message list: `base` (an earlier log, or None) followed by `tail` (a tuple of messages).

    Successive snapshots of a conversation that grows by appending share their prefix, so a run keeps each
    message once, not once per snapshot (memory linear in the run, not quadratic).

    Usage:
        >>> a = MessageLog(None, (ChatMessage.from_user("hi"),))
        >>> b = MessageLog(a, (ChatMessage.from_assistant("hello"),))
        >>> len(b), b[1].text, b.base is a, [m.text for m in b]
        (2, 'hello', True, ['hi', 'hello'])
    """

    __slots__ = ("_len", "base", "tail")

    def __init__(self, base: MessageLog | None, tail: tuple[ChatMessage, ...]) -> None:
        self.base = base if base else None
        self.tail = tail
        self._len = (len(base) if base else 0) + len(tail)

    @classmethod
    def from_parts(cls, base: MessageLog | Sequence[ChatMessage] | None, tail: Sequence[ChatMessage]) -> MessageLog:
        """A log from a base (a log, or any sequence) and a tail; what a loader uses.

        Usage:
            >>> len(MessageLog.from_parts([ChatMessage.from_user("a")], [ChatMessage.from_user("b")]))
            2
        """
        if base is not None and not isinstance(base, MessageLog):
            base = cls(None, tuple(base))
        return cls(base, tuple(tail))

    def __len__(self) -> int:
        return self._len

    def since(self, start: int) -> list[ChatMessage]:
        """The messages from index `start` on, walking back from the end: O(what it returns), not O(the log).

        Usage:
            >>> a = MessageLog(None, (ChatMessage.from_user("hi"),))
            >>> b = MessageLog(a, (ChatMessage.from_assistant("hello"), ChatMessage.from_user("bye")))
            >>> [m.text for m in b.since(1)], [m.text for m in b.since(2)], b.since(3)
            (['hello', 'bye'], ['bye'], [])
        """
        start = max(start, 0)
        chunks: list[tuple[ChatMessage, ...]] = []
        node: MessageLog | None = self
        while node is not None and node._len > start:
            node_start = node._len - len(node.tail)
            chunks.append(node.tail if node_start >= start else node.tail[start - node_start :])
            node = node.base
        out: list[ChatMessage] = []
        for chunk in reversed(chunks):
            out.extend(chunk)
        return out

    def prefix(self, length: int) -> MessageLog:
        """The log of the first `length` messages, sharing this log's nodes: O(nodes walked back), not O(the log).

        Usage:
            >>> a = MessageLog(None, (ChatMessage.from_user("hi"),))
            >>> b = MessageLog(a, (ChatMessage.from_assistant("hello"), ChatMessage.from_user("bye")))
            >>> b.prefix(1) is a, [m.text for m in b.prefix(2)], len(b.prefix(0))
            (True, ['hi', 'hello'], 0)
        """
        node: MessageLog = self
        while node.base is not None and node.base._len >= length:
            node = node.base
        if node._len == length:
            return node
        start = node._len - len(node.tail)
        return MessageLog(node.base, node.tail[: length - start])

    def _chunks(self) -> list[tuple[ChatMessage, ...]]:
        chunks, node = [], self
        while node is not None:  # iterative: a 2,000-step run makes a deep chain
            chunks.append(node.tail)
            node = node.base
        chunks.reverse()
        return chunks

    def __iter__(self) -> Iterator[ChatMessage]:
        for chunk in self._chunks():
            yield from chunk

    @overload
    def __getitem__(self, index: int) -> ChatMessage: ...
    @overload
    def __getitem__(self, index: slice) -> list[ChatMessage]: ...
    def __getitem__(self, index: int | slice) -> ChatMessage | list[ChatMessage]:
        if isinstance(index, slice):
            return list(self)[index]
        if index < 0:
            index += self._len
        if not 0 <= index < self._len:
            raise IndexError("MessageLog index out of range")
        node: MessageLog | None = self
        while node is not None:
            start = node._len - len(node.tail)
            if index >= start:
                return node.tail[index - start]
            node = node.base
        raise IndexError("MessageLog index out of range")  # pragma: no cover - unreachable

    def extends(self, other: MessageLog) -> bool:
        """True when `other` is one of this log's bases (this log = other + more messages)."""
        node = self.base
        while node is not None and node._len >= other._len:
            if node is other:
                return True
            node = node.base
        return False

    def __eq__(self, other: object) -> bool:
        if self is other:
            return True
        if isinstance(other, (MessageLog, list, tuple)):
            return len(self) == len(other) and list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"MessageLog({list(self)!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (MessageLog, (None, tuple(self)))


# ---- comparing ----------------------------------------------------------------------------------------------------
def same_value(a: Any, b: Any) -> bool:
    """Equality that never raises and reads elementwise results (numpy) as one answer.

    Usage:
        >>> same_value({"a": 1}, {"a": 1}), same_value(1, 2)
        (True, False)
        >>> class Box:
        ...     def __init__(self, n): self.n = n
        >>> same_value(Box(1), Box(1)), same_value(Box(1), Box(2))   # no __eq__: compared by what they hold
        (True, False)
    """
    if a is b:
        return True
    if type(a) not in _SCALAR_TYPES:
        if _identity_eq(a):  # a copy never `==` its original: compare what they hold (deep snapshots copy anew)
            return same_parts(a, b)
        equals = getattr(a, "equals", None)  # pandas: one answer, NaN-aware, labels and dtypes included
        if callable(equals) and type(a) is type(b):
            try:
                return bool(equals(b))
            except Exception:
                return False
    try:
        result = a == b
        if isinstance(result, bool):
            return result
    except Exception:
        result = None
    try:
        all_ = getattr(result, "all", None)  # numpy answers elementwise
        if callable(all_):
            return bool(getattr(a, "shape", None) == getattr(b, "shape", None) and all_())
        return bool(result)
    except Exception:
        return False


class Snapshotter:
    """Takes snapshots of a live `State.data` dict under one policy, sharing structure with the last one.

    One Snapshotter serves one run: it remembers the previous snapshot and the live objects it came from.

    Usage:
        >>> take = Snapshotter("fast")
        >>> a = take({"messages": [ChatMessage.from_user("hi")], "step_count": 0})
        >>> b = take({"messages": [ChatMessage.from_user("hi")], "step_count": 1})
        >>> b["step_count"], len(b["messages"])
        (1, 1)
    """

    def __init__(self, mode: SnapshotMode = "fast") -> None:
        if mode not in SNAPSHOT_MODES:
            raise ValueError(f"snapshots must be one of {SNAPSHOT_MODES}, got {mode!r}")
        self.mode = mode
        self._last: dict[str, Any] = {}
        self._live: dict[str, Any] = {}  # the live objects the last snapshot was taken from
        self._live_messages: list[ChatMessage] = []  # a shallow copy of the last live message list
        self._stale_from: int | None = None  # the first message changed in place: taken anew by the next snapshot
        self._frozen: dict[int, tuple[ChatMessage, ChatMessage]] = {}  # id(live) -> (live, frozen copy)
        self._uncomparable: set[str] = set()  # keys whose values cannot be compared: identity decides
        self._mutable: dict[str, Any] = {}  # keys whose live value may change in place -> the snapshot's copy
        # Keys holding numpy arrays or pandas objects -> the snapshot's copy. Their `==` answers element by element
        # (a whole new frame for pandas): the shadow holds the live object, and `same_value` checks the content.
        self._elementwise: dict[str, Any] = {}
        self._long: set[str] = set()  # keys holding long str / bytes: never compared by content on the fast path
        # What the fast path compares `State.data` with: per key the live value, or the copy a mutable value was
        # taken as (so a change in place shows), and the value types (`1 == 1.0 == True`). None: take the slow path.
        self._shadow: dict[str, Any] | None = None
        self._types: tuple[type, ...] = ()

    def freeze(self, message: Any) -> Any:
        """The frozen copy of a message (made once per message and run), or a copy of any other value."""
        return self._freeze(message)

    def _freeze(self, message: Any) -> Any:
        if not isinstance(message, ChatMessage):
            return copy_value(message)
        if self.mode == "deep":
            return freeze_message(message)
        hit = self._frozen.get(id(message))
        if hit is not None and hit[0] is message:
            return hit[1]
        frozen = freeze_message(message)
        # Keep the live message alive beside its copy, so its id cannot be reused by another object.
        self._frozen[id(message)] = (message, frozen)
        return frozen

    def adopt(self, live: ChatMessage, frozen: ChatMessage) -> None:
        """Use `frozen` as the copy of `live` when it enters the State (an LLM reply recorded just before)."""
        if self.mode != "deep":
            self._frozen[id(live)] = (live, frozen)

    def changed_messages(self, data: Mapping[str, Any]) -> list[int]:
        """Positions of the live messages changed in place since they were frozen; the recorder asks as a run ends.

        Fast snapshots take a message once, as it enters the State: comparing every message at every event would
        cost O(conversation) per event, and even comparing only a step's own messages after each hook costs the
        20-step benchmark 0.03. Changed messages are dropped from the cache of frozen copies and taken anew by
        the next snapshot, which shares the log up to the first of them. Deep snapshots take every message at
        every event and never need this.

        Usage:
            >>> take, msg = Snapshotter("fast"), ChatMessage.from_user("hi")
            >>> _ = take({"messages": [msg]}); msg.meta["seen"] = True
            >>> take.changed_messages({"messages": [msg]}), take({"messages": [msg]})["messages"][0].meta
            ([0], {'seen': True})
        """
        live = data.get("messages")
        if self.mode == "deep" or type(live) is not list:
            return []
        changed = []
        frozen = self._frozen
        for i, message in enumerate(live):
            hit = frozen.get(id(message))
            if hit is None or hit[0] is not message or _same_message(hit[1], message):
                continue
            changed.append(i)
            del frozen[id(message)]
        if changed:
            first = changed[0] if self._stale_from is None else min(changed[0], self._stale_from)
            self._stale_from = first
            if self._shadow is not None:
                self._shadow["messages"] = _UNEQUAL  # the next snapshot looks at the messages again
        return changed

    def _messages(self, value: Any, prev: Any) -> Any:
        if type(value) is not list:
            return copy_value(value)
        old = self._live_messages
        n = len(old)
        stale, self._stale_from = self._stale_from, None
        if (
            isinstance(prev, MessageLog)
            and self.mode != "deep"
            and len(prev) == n  # prev was taken from `old`
            and len(value) >= n
            and _same_list(value[:n] if len(value) > n else value, old)
        ):
            if stale is not None and stale < n:  # messages changed in place: the log is shared up to the first
                return MessageLog(prev.prefix(stale), tuple([self._freeze(m) for m in value[stale:]]))
            if len(value) == n:
                return prev
            return MessageLog(prev, tuple([self._freeze(m) for m in value[n:]]))
        return MessageLog(None, tuple([self._freeze(m) for m in value]))

    def _changed_keys(self, data: Mapping[str, Any]) -> list[str] | None:
        """The keys whose value may differ from the last snapshot's, or None when every key must be taken anew.

        Each value is compared with the shadow (identity first, then type and `==`): a mutable value with the copy
        the snapshot holds, so a change in place shows. numpy and pandas values are compared with their copies by
        `same_value`; any other value whose `==` raises sends the comparison to `_changed_by_identity`.
        """
        shadow = self._shadow
        if shadow is None or len(data) != len(shadow):
            return None
        try:
            keys = [
                k
                for k, v in data.items()
                if (s := shadow.get(k, _MISSING)) is not v and (type(s) is not type(v) or bool(s != v))
            ]
        except Exception:
            keys = self._changed_by_identity(data)
        for key, copy_ in self._elementwise.items():
            if key not in keys and not same_value(copy_, data.get(key, _MISSING)):
                keys.append(key)
        if keys:
            keys = [k for k in keys if k not in SKIPPED_KEYS]
            last = self._last
            for key in keys:
                if key not in last:  # one key swapped for another: the key order changes, take all anew
                    return None
        return keys

    def _elementwise_unchanged(self, data: Mapping[str, Any]) -> bool:
        return all(same_value(copy_, data[key]) for key, copy_ in self._elementwise.items())

    def _changed_by_identity(self, data: Mapping[str, Any]) -> list[str]:
        live = self._live
        keys = [k for k, v in data.items() if live.get(k, _MISSING) is not v]
        for key, copy_ in self._mutable.items():
            if key in keys:
                continue
            value = data[key]
            if key == "messages":
                if not _same_list(value, self._live_messages):
                    keys.append(key)
            elif not same_value(copy_, value):
                keys.append(key)
        return keys

    def __call__(self, data: Mapping[str, Any]) -> dict[str, Any]:
        # The fast path, for the many events that change nothing: one dict comparison in C, identity first per key.
        shadow = self._shadow
        if shadow is not None:
            try:
                if (
                    data == shadow
                    and tuple(map(type, data.values())) == self._types
                    and (not self._elementwise or self._elementwise_unchanged(data))
                ):
                    return self._last
            except Exception:  # an odd __eq__ (numpy, raising): the key by key comparison decides
                pass
        keys = self._changed_keys(data)
        if keys is not None and not keys:
            self._live = dict(data)
            self._shadow = self._make_shadow(data)
            return self._last
        last = self._last
        if keys is None:
            return self._take_all(data)
        # Only the changed keys are taken; the live values and the shadow are updated key by key, in place.
        snap = dict(last)  # the unchanged keys are the last snapshot's, in its order
        live, shadow, mutable = self._live, self._shadow, self._mutable
        changed = False
        for key in keys:
            value = data[key]
            prev = last[key]
            new = snap[key] = self._take(key, value, prev)
            changed = changed or new is not prev
            live[key] = value
            if key == "messages" and type(value) is list:
                shadow[key] = self._live_messages = list(value)  # type: ignore[index]
            elif key in self._long:
                shadow[key] = _UNEQUAL  # type: ignore[index]
            else:
                shadow[key] = mutable.get(key, value)  # type: ignore[index]
        self._types = tuple(map(type, data.values()))
        if not changed:
            # Nothing changed: hand out the same snapshot again (fewer objects, less garbage collection).
            return last
        self._last = snap
        return snap

    def _take_all(self, data: Mapping[str, Any]) -> dict[str, Any]:
        """Take every key anew (the first snapshot, a key added, removed or swapped, deep mode)."""
        last = self._last
        snap: dict[str, Any] = {}
        self._mutable, self._elementwise = {}, {}
        changed = False
        for key, value in data.items():
            if key not in SKIPPED_KEYS:
                prev = last.get(key, _MISSING)
                new = snap[key] = self._take(key, value, prev)
                changed = changed or new is not prev
        messages = data.get("messages")
        if type(messages) is list:
            self._live_messages = list(messages)
        self._live = dict(data)
        self._shadow = self._make_shadow(data)
        if not changed and len(snap) == len(last):
            return last
        self._last = snap
        return snap

    def _make_shadow(self, data: Mapping[str, Any]) -> dict[str, Any] | None:
        if self.mode == "deep":
            return None  # every value is taken anew at every event
        shadow = dict(data)
        shadow.update(self._mutable)
        if type(data.get("messages")) is list:
            shadow["messages"] = self._live_messages  # the live messages, compared by identity
        for key in self._long:
            shadow[key] = _UNEQUAL  # never compared by content: a 10 MB string rebuilt equal is checked by identity
        self._types = tuple(map(type, data.values()))
        return shadow

    def _take(self, key: str, value: Any, prev: Any) -> Any:
        """One key's snapshot value: `prev` when equal, else a copy; remembers whether it can change in place."""
        kind = type(value)
        if kind in _SCALAR_TYPES or isinstance(value, _SCALARS):
            self._mutable.pop(key, None)
            self._elementwise.pop(key, None)
            if isinstance(value, str | bytes) and len(value) > _LONG:
                self._long.add(key)
            else:
                self._long.discard(key)
            # A reference is a faithful copy, and identity is enough here (a 10 MB string is never compared on the
            # hot path; the timeline's `changed` column compares lazily).
            return prev if prev is value or (type(prev) is kind and _small_equal(prev, value)) else value
        self._long.discard(key)
        if key == "messages":
            new = self._messages(value, prev)
        elif isinstance(prev, Uncopyable) and self._live.get(key) is value:
            new = prev  # the same uncopyable object: one marker, not a new one at every event
        elif prev is _MISSING or self.mode == "deep" or isinstance(prev, Uncopyable):
            new = copy_value(value)
        else:
            new = prev if self._same(key, prev, value) else copy_value(value)
        if key in self._uncomparable or isinstance(new, Uncopyable):
            # Identity decides (a value that cannot be compared, or copied): the shadow holds the live object.
            self._mutable.pop(key, None)
            self._elementwise.pop(key, None)
        elif _elementwise(value):
            self._mutable.pop(key, None)
            self._elementwise[key] = new
        else:
            self._mutable[key] = new
            self._elementwise.pop(key, None)
        return new

    def _same(self, key: str, prev: Any, value: Any) -> bool:
        if key in self._uncomparable:
            return self._live.get(key) is value
        if key in self._elementwise or _identity_eq(value):
            # numpy / pandas answer `==` element by element, and a copy never `==` an object without `__eq__`:
            # `same_value` compares what they hold.
            return same_value(prev, value)
        try:
            result = prev == value
            if isinstance(result, bool):
                return result
        except Exception:
            if not callable(getattr(value, "equals", None)):  # no pandas-style `equals` to ask instead
                self._uncomparable.add(key)
                return self._live.get(key) is value
        return same_value(prev, value)


def _elementwise(value: Any) -> bool:
    """numpy arrays and pandas objects: `==` answers element by element."""
    return callable(getattr(value, "equals", None)) or bool(hasattr(value, "dtype") and getattr(value, "ndim", 0))


def _same_message(frozen: ChatMessage, live: ChatMessage) -> bool:
    try:  # the dataclass `==`: every field, one Python call
        same = frozen == live
        if isinstance(same, bool):
            return same
    except Exception:  # a numpy array in the meta, say: field by field
        pass
    return same_parts(frozen.__dict__, live.__dict__)


def _identity_eq(value: Any) -> bool:
    """True for objects with attributes whose class keeps `object.__eq__` (a copy never equals them)."""
    kind = type(value)
    return kind.__eq__ is object.__eq__ and (hasattr(value, "__dict__") or bool(getattr(kind, "__slots__", ())))


def same_parts(a: Any, b: Any, depth: int = 0) -> bool:
    """Whether `a` (a copy) holds what `b` holds: `==`, except objects that compare by identity are compared by
    their attributes, recursively. Never raises.

    Usage:
        >>> class Box:
        ...     def __init__(self, n): self.n = n
        >>> same_parts(Box(1), Box(1)), same_parts(Box(1), Box(2)), Box(1) == Box(1)
        (True, False, False)
        >>> class Slotted:
        ...     __slots__ = ("n",)
        ...     def __init__(self, n): self.n = n
        >>> same_parts(Slotted(1), Slotted(1)), same_parts(Slotted(1), Slotted(2))
        (True, False)
    """
    if a is b:
        return True
    if type(a) is not type(b) or depth > _HAND_COPY_DEPTH:
        return False
    if _identity_eq(a):
        try:  # what copy and pickle read: the __dict__, and (None, slots) for __slots__ classes
            return same_parts(a.__getstate__(), b.__getstate__(), depth + 1)
        except Exception:
            return False
    if type(a) is dict:
        return a.keys() == b.keys() and all(same_parts(v, b[k], depth + 1) for k, v in a.items())
    if type(a) in (list, tuple):
        return len(a) == len(b) and all(same_parts(x, y, depth + 1) for x, y in zip(a, b, strict=True))
    try:
        result = a == b
        if isinstance(result, bool):
            return result
    except Exception:
        pass
    if hasattr(a, "__dict__"):  # `==` could not answer (a dataclass holding a numpy array): compare the fields
        return same_parts(a.__dict__, b.__dict__, depth + 1)
    return same_value(a, b)


def _small_equal(a: Any, b: Any) -> bool:
    # Compare short immutable values (ints, short strings); long ones count as changed when not identical.
    try:
        return (not isinstance(a, str | bytes) or len(a) < 256) and a == b
    except Exception:
        return False


def _same_list(a: list[Any], b: list[Any]) -> bool:
    """Same elements, by identity first (list == list compares identity first, in C)."""
    if len(a) != len(b):
        return False
    try:
        return a == b
    except Exception:
        return False


_MISSING = object()
#: str / bytes longer than this are never compared by content on the fast path.
_LONG = 65536


class _Unequal:
    """Equal to nothing: stands in the fast path's shadow for values it must not compare by content."""

    __slots__ = ()

    def __eq__(self, other: object) -> bool:
        return False

    __hash__ = None  # type: ignore[assignment]


_UNEQUAL = _Unequal()


def restore_value(value: Any) -> Any:
    """A private, mutable copy of a snapshot value, for a caller that may change it (restore, `state_at`).

    Message logs become lists of message copies: nothing the caller does reaches the recording.

    Usage:
        >>> snap_value = {"add": 1}
        >>> restore_value(snap_value) is snap_value
        False
        >>> log = MessageLog(None, (ChatMessage.from_user("hi"),))
        >>> restored = restore_value(log); restored[0].meta["x"] = 1
        >>> type(restored).__name__, log[0].meta
        ('list', {})
    """
    if isinstance(value, MessageLog | list):
        return [restore_value(v) for v in value]
    if isinstance(value, ChatMessage):
        return freeze_message(value)
    if isinstance(value, Uncopyable):
        return value
    return copy_value(value)


__all__ = [
    "SKIPPED_KEYS",
    "SNAPSHOT_MODES",
    "MessageLog",
    "SnapshotMode",
    "Snapshotter",
    "Uncopyable",
    "copy_value",
    "freeze_message",
    "restore_value",
    "same_value",
    "short_repr",
]

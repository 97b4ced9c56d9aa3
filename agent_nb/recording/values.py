"""Values in a recording: copies that never share anything with the live run, comparisons that never raise, and
markers for what cannot be copied.

Usage:
    >>> profile = {"name": "Ada", "tags": ["a"]}
    >>> copied = copy_value(profile); copied["tags"].append("b"); profile["tags"]
    ['a']
    >>> same_value(copied, profile), same_value(copy_value(profile), profile)
    (False, True)
"""

from __future__ import annotations

import copy
import io
import itertools
import operator
import pickle
import re
import reprlib
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, overload

from haystack.dataclasses import ChatMessage, ChatRole, TextContent, ToolCall, ToolCallResult

from agent_nb.recording.text import cut

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


class _SafeRepr(reprlib.Repr):
    """reprlib's cut-short repr; an element whose `__repr__` raises reads `<T: repr failed with E>`."""

    def __init__(self) -> None:
        super().__init__()
        self.maxstring = self.maxother = 200
        self.maxlist = self.maxtuple = self.maxdict = self.maxset = self.maxfrozenset = 30

    def repr_instance(self, x: Any, level: int) -> str:
        try:
            text = repr(x)
        except BaseException as exc:
            return f"<{type(x).__name__}: repr failed with {type(exc).__name__}>"
        return text if len(text) <= self.maxother else text[: self.maxother - 3] + "..."


class _CycleRepr(_SafeRepr):
    """`_SafeRepr` that marks a container holding itself as Python's repr does (`[1, [...]]`), not by nesting it
    until reprlib's depth limit. One instance per call: it remembers the containers it is inside."""

    def __init__(self) -> None:
        super().__init__()
        self._inside: set[int] = set()

    def repr1(self, x: Any, level: int) -> str:
        if not isinstance(x, list | tuple | dict | set | frozenset):
            return super().repr1(x, level)
        if id(x) in self._inside:
            return "{...}" if isinstance(x, dict) else "[...]" if isinstance(x, list) else "(...)"
        self._inside.add(id(x))
        try:
            return super().repr1(x, level)
        finally:
            self._inside.discard(id(x))


_REPR = _SafeRepr()


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
            if "..." in text:  # cut at reprlib's depth limit, perhaps a cycle: mark cycles as Python's repr does
                text = _CycleRepr().repr(value)
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


# haystack's message classes are copied field by field, set one by one: no `__dict__` is built for the copy (each
# would be one more object for Python's cyclic garbage collector to walk, and a long input conversation makes
# thousands; a full collection costs a run about 1 us per object kept). An original holding attributes beyond its
# dataclass fields is copied whole, as any other object.
_new, _set = object.__new__, object.__setattr__


def _freeze_part(part: Any) -> Any:
    kind = type(part)
    if kind is TextContent and len(part.__dict__) == 1:  # a str field only: a shallow copy is a full one
        new = _new(TextContent)
        _set(new, "text", part.text)
        return new
    if kind is ToolCall and len(part.__dict__) == 4:
        new = _new(ToolCall)
        _set(new, "tool_name", part.tool_name)
        _set(new, "arguments", copy_value(part.arguments))
        _set(new, "id", part.id)
        _set(new, "extra", copy_value(part.extra))
        return new
    if kind is ToolCallResult and len(part.__dict__) == 3:
        new = _new(ToolCallResult)
        _set(new, "result", copy_value(part.result))
        _set(new, "origin", _freeze_part(part.origin))
        _set(new, "error", part.error)
        return new
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
        meta = message._meta
        meta = {} if type(meta) is dict and not meta else copy_value(meta)
        content = [_freeze_part(p) for p in message._content]
        if type(message) is ChatMessage and len(message.__dict__) == 4:  # its four dataclass fields only
            new = _new(ChatMessage)
            _set(new, "_role", message._role)
            _set(new, "_content", content)
            _set(new, "_name", message._name)
            _set(new, "_meta", meta)
            return new
        return _fresh(message, _content=content, _meta=meta)
    except Exception:
        return copy.deepcopy(message)


def _shell(message: ChatMessage) -> ChatMessage:
    """Another ChatMessage holding the very fields of `message` (a frozen copy of a message with its four dataclass
    fields only): equal, and as immutable."""
    new = _new(ChatMessage)
    _set(new, "_role", message._role)
    _set(new, "_content", message._content)
    _set(new, "_name", message._name)
    _set(new, "_meta", message._meta)
    return new


# ---- messages kept as bytes -----------------------------------------------------------------------------------
# A long input conversation frozen as thousands of ChatMessage copies is tens of thousands of Python objects that
# Python's cyclic garbage collector walks at every full collection (a recording keeps them: about 2-4 us per object
# and run, most of what a long conversation cost). Packed, the same copies are one bytes object, which the
# collector never walks, read back into frozen ChatMessages only when someone reads them. The bytes are a pickle
# made and read in this process only (never saved, never loaded from a file), of plain data and haystack's own
# message parts: anything else sends the messages the usual way (`freeze_message`).
# Messages are packed by columns (roles, part counts, part classes, part attribute dicts, names, metas), each built
# in C (attrgetter, map, chain: no Python call per message); a part's attribute dict pickles about three times
# faster than the part itself.
_ROLE, _CONTENT, _NAME, _META = (operator.attrgetter(f) for f in ("_role", "_content", "_name", "_meta"))
_REDUCE = operator.methodcaller("__reduce_ex__", 5)
#: The message parts packed (as their class and attribute dict): haystack's dataclasses whose state is their dict.
_PART_TYPES = frozenset({TextContent, ToolCall, ToolCallResult})


class _NotPlain(Exception):
    """A value the pickle would not copy exactly as `freeze_message` does (a subclass, a numpy array, an object)."""


class _PackTable(dict):
    """The pickler's reductions: haystack's message parts and roles as pickle reduces them by default (in C);
    any other non-builtin type stops the pickle (`__missing__`, called once per such object)."""

    def __missing__(self, kind: type) -> Any:
        raise _NotPlain(kind.__name__)


# The builtins pickle handles itself (exact types only: None, bool, int, float, str, bytes, list, tuple, dict, set,
# frozenset, bytearray) copy as `copy_value` does; classes and functions are kept by reference, as deepcopy does.
# The ChatRole class (its metaclass is not `type`) is kept by reference, as pickle keeps other classes.
_PACK_TABLE = _PackTable(
    {ChatRole: _REDUCE, type(ChatRole): operator.attrgetter("__qualname__"), ToolCall: _REDUCE}  # ToolCall: an origin
)
#: A NaN or infinite float in the pickle (BINFLOAT, big-endian, all exponent bits set): such messages go the usual
#: way, since a copy keeps a NaN as the very object (`nan == nan` is False, but a container compares identity first).
_NAN_OR_INF = re.compile(rb"G[\x7f\xff][\xf0-\xff]")


#: Messages per pickle: the rows of a chunk are built, pickled and freed before the next (a pickler's memo keeps what
#: it pickled): 5,000 rows alive at once would run the collector's young generations some ten times.
_CHUNK = 256


def _dump(messages: Sequence[Any]) -> bytes:
    """The pickle of `messages` by columns, chunk by chunk; raises `_NotPlain` for what it would not copy exactly."""
    out = io.BytesIO()
    pickler = pickle.Pickler(out, 5)
    pickler.dispatch_table = _PACK_TABLE
    for start in range(0, len(messages), _CHUNK):
        chunk = messages[start : start + _CHUNK]
        contents = list(map(_CONTENT, chunk)) if set(map(type, chunk)) == {ChatMessage} else None
        if contents is None or set(map(type, contents)) != {list}:
            raise _NotPlain("a message")  # a subclass, or content that is not a list, is read back otherwise
        parts = list(itertools.chain.from_iterable(contents))
        types = list(map(type, parts))
        if not _PART_TYPES.issuperset(types):
            raise _NotPlain("a message part")
        columns = list(map(_ROLE, chunk)), list(map(len, contents)), types, list(map(vars, parts))
        pickler.dump((*columns, list(map(_NAME, chunk)), list(map(_META, chunk))))
        pickler.clear_memo()
    return out.getvalue()


def _load(blob: bytes, count: int) -> list[ChatMessage]:
    out: list[ChatMessage] = []
    stream = io.BytesIO(blob)
    for _ in range(0, count, _CHUNK):  # one pickle per chunk, each with its own memo
        roles, counts, types, parts, names, metas = pickle.load(stream)  # bytes made here, never a file
        at = 0
        for role, n, name, meta in zip(roles, counts, names, metas, strict=True):
            new = _new(ChatMessage)
            _set(new, "_role", role)
            _set(new, "_content", list(map(_part, types[at : at + n], parts[at : at + n])))
            _set(new, "_name", name)
            _set(new, "_meta", meta)
            out.append(new)
            at += n
    return out


def _part(kind: type, fields: dict[str, Any]) -> Any:
    part = _new(kind)
    for name, value in fields.items():
        _set(part, name, value)
    return part


class PackedMessages:
    """Frozen copies of a list of messages kept as one bytes object, read back once, when first needed, into
    ChatMessages equal to what `freeze_message` makes of each.

    Usage:
        >>> live = [ChatMessage.from_user("hi"), ChatMessage.from_assistant("hello", meta={"n": [1]})]
        >>> packed = PackedMessages.pack(live)
        >>> list(packed.messages()) == [freeze_message(m) for m in live], packed.unchanged(live)
        (True, True)
        >>> live[1].meta["n"].append(2); packed.unchanged(live), packed.messages()[1].meta
        (False, {'n': [1]})
    """

    __slots__ = ("_blob", "_lock", "_messages", "count")

    def __init__(self, blob: bytes, count: int) -> None:
        self._blob, self.count = blob, count
        self._messages: tuple[ChatMessage, ...] | None = None
        self._lock = threading.Lock()

    @classmethod
    def pack(cls, messages: Sequence[ChatMessage]) -> PackedMessages | None:
        """The packed copies of `messages`, or None when one of them is not plain data (or is there twice)."""
        n = len(messages)
        if not n or len(set(map(id, messages))) != n:
            return None
        try:
            if set(map(len, map(vars, messages))) != {4}:  # more attributes than the four fields: freeze_message
                return None  # shares them with the original
            blob = _dump(messages)
        except Exception:  # not plain data (_NotPlain), not picklable, nested too deeply
            return None
        return None if _NAN_OR_INF.search(blob) else cls(blob, n)

    def __reduce__(self) -> tuple[Any, ...]:  # copied or pickled with its run: the bytes, not the lock
        return (PackedMessages, (self._blob, self.count))

    def unchanged(self, live: Sequence[Any]) -> bool:
        """Whether the live messages that were packed still hold what they held then (one pickle, one bytes
        comparison). False also when the pickle cannot tell: the caller then compares message by message."""
        if len(live) != self.count:
            return False
        try:
            return _dump(live) == self._blob
        except Exception:
            return False

    def messages(self) -> tuple[ChatMessage, ...]:
        """The frozen copies, read back at the first call; the same objects at every call."""
        with self._lock:
            if self._messages is None:
                self._messages = tuple(self.fresh())
            return self._messages

    def fresh(self) -> list[ChatMessage]:
        """Frozen copies of their own: new objects at each call."""
        return _load(self._blob, self.count)


class LazyMessages:
    """A list of frozen messages not built yet: `head`, the packed copies (the shared ones, or with `fresh`, new
    ones), then `rest`. A run holds one where a message list would be, until that is first read (see `Run`).

    Usage:
        >>> packed = PackedMessages.pack([ChatMessage.from_user("hi")])
        >>> [m.text for m in LazyMessages((), packed, (ChatMessage.from_assistant("hello"),)).materialize()]
        ['hi', 'hello']
    """

    __slots__ = ("fresh", "head", "packed", "rest")

    def __init__(
        self,
        head: Sequence[ChatMessage],
        packed: PackedMessages,
        rest: Sequence[ChatMessage],
        fresh: bool = False,
    ) -> None:
        self.head, self.packed, self.rest, self.fresh = tuple(head), packed, tuple(rest), fresh

    def materialize(self) -> list[ChatMessage]:
        middle = self.packed.fresh() if self.fresh else self.packed.messages()
        return [*self.head, *middle, *self.rest]


def find_run(messages: Sequence[Any], run: Sequence[Any]) -> int | None:
    """Where `run` (a non-empty list) stands in `messages`, element by element the same objects, or None.

    Usage:
        >>> a, b, c = object(), object(), object()
        >>> find_run([a, b, c], [b, c]), find_run([a, b, c], [c, b])
        (1, None)
    """
    first = run[0]
    for start, message in enumerate(messages):  # the run starts near the front: after the system prompt
        if message is first:
            stop = start + len(run)
            if stop <= len(messages) and all(map(operator.is_, messages[start:stop], run)):
                return start
            return None
    return None


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

    # `_start`: how many messages the bases hold. `_lazy`: set on a log whose tail is not read back yet (`packed`).
    __slots__ = ("_lazy", "_len", "_start", "base", "tail")

    def __init__(self, base: MessageLog | None, tail: tuple[ChatMessage, ...]) -> None:
        self.base = base if base else None
        self.tail = tail
        self._start = len(base) if base else 0
        self._len = self._start + len(tail)

    @classmethod
    def packed(cls, messages: LazyMessages) -> MessageLog:
        """A log without a base whose tail is `messages`, read back when first needed.

        Usage:
            >>> packed = PackedMessages.pack([ChatMessage.from_user("hi")])
            >>> log = MessageLog.packed(LazyMessages((), packed, ()))
            >>> len(log), log[0].text, log[0] is packed.messages()[0]
            (1, 'hi', True)
        """
        log = cls.__new__(cls)
        log.base, log._lazy, log._start = None, messages, 0
        log._len = len(messages.head) + messages.packed.count + len(messages.rest)
        return log

    def __getattr__(self, name: str) -> Any:  # only for a slot not set: the tail of a packed log
        if name != "tail":
            raise AttributeError(name)
        tail = self.tail = tuple(self._lazy.materialize())
        return tail

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
            node_start = node._start
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
        return MessageLog(node.base, node.tail[: length - node._start])

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
            start = node._start
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


# ---- comparing ----------------------------------------------------------------------------------------------
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


def _elementwise(value: Any) -> bool:
    """numpy arrays and pandas objects: `==` answers element by element."""
    return callable(getattr(value, "equals", None)) or bool(hasattr(value, "dtype") and getattr(value, "ndim", 0))


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
        >>> cyclic = [1]; cyclic.append(cyclic)
        >>> restore_value(cyclic)   # a value holding itself is copied with its cycle
        [1, [...]]
    """
    if isinstance(value, MessageLog):
        return [restore_value(v) for v in value]
    if isinstance(value, list):
        # copy_value copies messages as restore does, keeps markers as they are, and copies a cycle as a cycle
        # (element by element recursion would never end).
        return copy_value(value)
    if isinstance(value, ChatMessage):
        return freeze_message(value)
    if isinstance(value, Uncopyable):
        return value
    return copy_value(value)

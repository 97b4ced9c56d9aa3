"""State snapshots: frozen, shared-structure copies of an Agent's `State.data`.

A snapshot is a plain dict of the State's keys, without `tools` and `hook_context` (live objects that must
never be copied). Nothing in a snapshot is shared with the live run: messages are frozen copies (their
`meta`, tool-call `arguments` and tool results copied once, when the message first enters the State), and
other values are copied when they change. So whatever a hook, a tool or a user later does to the objects of
the run, a recorded snapshot never changes.

Cost stays O(change): a message list that grew by appending is stored as a `MessageLog` (the previous log
plus the new messages), values equal to the previous snapshot's are shared, and an event that changed
nothing gets the previous snapshot back. Three policies:

- ``"fast"`` (default): as above. A message is compared with its copy once, as the run ends: one changed in
  place meanwhile is taken anew for the final State, and the run says so in a warning.
- ``"deep"``: as fast, but every message is also compared with its copy at every event, so a message changed in
  place is taken anew on the very row where it changed. What did not change is shared between snapshots as in
  fast (memory linear in the run); each event costs O(conversation) comparisons.
- ``"off"``: snapshots feed the timeline's diff columns, then are dropped when the run ends.

A run's input messages are frozen once, in fast and off modes packed as one bytes object (`PackedMessages`): the
first snapshot and `run.inputs` read them back only when first read, and the check as the run ends is one pickle
and one bytes comparison for all of them (see `Snapshotter.freeze_inputs`).

A value that cannot be copied (a lock, an open file, a 3,000-deep nest) is stored as an `Uncopyable` marker
that says what and why, once; one odd value never breaks a run.

Usage:
    >>> take = Snapshotter("fast")
    >>> snap = take({"messages": [], "step_count": 0, "tools": []})
    >>> sorted(snap)
    ['messages', 'step_count']
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from haystack.dataclasses import ChatMessage

from agent_nb.recording.options import LIVE_STATE_KEYS
from agent_nb.recording.values import (
    _LONG,
    _MISSING,
    _SCALAR_TYPES,
    _SCALARS,
    _UNEQUAL,
    LazyMessages,
    MessageLog,
    PackedMessages,
    Uncopyable,
    _elementwise,
    _fresh,
    _identity_eq,
    _same_list,
    _shell,
    _small_equal,
    copy_value,
    find_run,
    freeze_message,
    same_parts,
    same_value,
)

SnapshotMode = Literal["fast", "deep", "off"]
SNAPSHOT_MODES: tuple[str, ...] = ("fast", "deep", "off")

#: State keys never snapshotted: live tools and request-scoped user objects (may hold locks).
SKIPPED_KEYS = LIVE_STATE_KEYS
#: Input conversations of at least this many messages are packed (`PackedMessages`); below, a pickle costs more
#: than the copies and the comparison it saves (about 7 us against 2 for one message; even at 4).
PACK_MIN = 8


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
        # id(live message) -> its frozen copy, and -> the live message itself (kept alive, so its id cannot be reused
        # meanwhile). Two dicts, not one of (live, copy) pairs: a pair is one more object per message for the
        # cyclic garbage collector.
        self._copies: dict[int, ChatMessage] = {}
        self._originals: dict[int, ChatMessage] = {}
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
        # The run's input messages, packed (None once read back into `_copies`), the live ones, and their ids.
        self._packed: PackedMessages | None = None
        self._packed_live: list[ChatMessage] = []
        self._packed_ids: set[int] = set()

    def freeze(self, message: Any) -> Any:
        """The frozen copy of a message (made once per message and run), or a copy of any other value."""
        return self._freeze(message)

    def freeze_inputs(self, messages: Sequence[Any]) -> list[Any] | LazyMessages:
        """Copies of a run's input messages for `run.inputs`, each frozen once: the first snapshot takes the same
        frozen copy.

        Fast and off snapshots pack plain messages as one bytes object (`PackedMessages`): `run.inputs` gets a
        `LazyMessages` (read back into copies of its own at the first read, see `Run`), the first snapshot a log
        read back when first needed, and the end of the run compares bytes. Otherwise each copy is handed out in a
        shell of its own that shares the frozen copy's (immutable) fields: a saved file stores a message object
        once, so a shared one would change the file's bytes.

        Usage:
            >>> take, msg = Snapshotter(), ChatMessage.from_user("hi")
            >>> [copy] = take.freeze_inputs([msg])
            >>> first = take({"messages": [msg]})["messages"][0]
            >>> copy == first and copy is not first and copy._content is first._content
            True
            >>> long = [ChatMessage.from_user(str(i)) for i in range(PACK_MIN)]
            >>> take = Snapshotter(); inputs = take.freeze_inputs(long)
            >>> first = take({"messages": long})["messages"]
            >>> type(inputs).__name__, inputs.materialize() == list(first) == long
            ('LazyMessages', True)
        """
        if self.mode != "deep" and len(messages) >= PACK_MIN and self._packed is None and not self._copies:
            packed = PackedMessages.pack(messages)
            if packed is not None:
                self._packed, self._packed_live, self._packed_ids = packed, list(messages), set(map(id, messages))
                return LazyMessages((), packed, (), fresh=True)
        out = []
        for message in messages:
            frozen = self._freeze(message)
            if not isinstance(message, ChatMessage):
                out.append(frozen)
            elif type(frozen) is ChatMessage and len(message.__dict__) == 4:  # built field by field: no __dict__
                out.append(_shell(frozen))
            else:
                out.append(_fresh(frozen))
        return out

    def freeze_list(self, messages: list[Any]) -> list[Any] | LazyMessages:
        """Frozen copies of a message list (the run's result): the snapshots' copies, packed ones unread."""
        packed = self._packed
        if packed is not None:
            start = find_run(messages, self._packed_live)
            if start is not None:
                head, rest = messages[:start], messages[start + packed.count :]
                return LazyMessages([self._freeze(m) for m in head], packed, [self._freeze(m) for m in rest])
        return [self._freeze(m) for m in messages]

    def _unpack(self) -> None:
        """Read the packed input messages back into the cache of frozen copies: from here on they are checked and
        taken one by one, as any other message."""
        packed, self._packed = self._packed, None
        if packed is not None:
            for live, frozen in zip(self._packed_live, packed.messages(), strict=True):
                self._copies[id(live)], self._originals[id(live)] = frozen, live
            self._packed_live, self._packed_ids = [], set()

    def _freeze(self, message: Any) -> Any:
        if not isinstance(message, ChatMessage):
            return copy_value(message)
        key = id(message)
        if self._originals.get(key) is message:
            return self._copies[key]
        if key in self._packed_ids:  # a packed input message: read them all back, then take the cached copy
            self._unpack()
            return self._freeze(message)
        frozen = self._copies[key] = freeze_message(message)
        self._originals[key] = message
        return frozen

    def adopt(self, live: ChatMessage, frozen: ChatMessage) -> None:
        """Use `frozen` as the copy of `live` when it enters the State (an LLM reply recorded just before)."""
        key = id(live)
        self._copies[key], self._originals[key] = frozen, live

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
        changed = self._changed_in_place(live)
        if changed:
            first = changed[0] if self._stale_from is None else min(changed[0], self._stale_from)
            self._stale_from = first
            if self._shadow is not None:
                self._shadow["messages"] = _UNEQUAL  # the next snapshot looks at the messages again
        return changed

    def _changed_in_place(self, live: list[Any]) -> list[int]:
        """Positions of the messages of `live` that differ from their frozen copies, dropped from the cache.

        One dataclass `==` per message (about 0.6 us). Packed input messages are checked together first, by one
        pickle of the live ones compared with the packed bytes (exact types and values: a list made a tuple, an
        enum set to its value show); only when they differ are they read back and compared one by one. (A
        fingerprint in orjson would be cheaper still, but blind to such changes.)
        """
        if self._packed is not None and not self._packed.unchanged(self._packed_live):
            self._unpack()
        positions: Any = enumerate(live)
        if self._packed is not None:  # unchanged: the others only
            start = find_run(live, self._packed_live)
            if start is not None:
                stop = start + self._packed.count
                positions = itertools.chain(enumerate(live[:start]), enumerate(live[stop:], stop))
        changed = []
        originals, copies = self._originals, self._copies
        for i, message in positions:
            key = id(message)
            if originals.get(key) is message and not _same_message(copies[key], message):
                changed.append(i)
                del copies[key], originals[key]
        return changed

    def _messages(self, value: Any, prev: Any) -> Any:
        if type(value) is not list:
            return copy_value(value)
        old = self._live_messages
        n = len(old)
        stale, self._stale_from = self._stale_from, None
        if self.mode == "deep":  # every message is compared with its copy at every event
            changed = self._changed_in_place(value)
            if changed:
                stale = changed[0] if stale is None else min(stale, changed[0])
        if (
            isinstance(prev, MessageLog)
            and len(prev) == n  # prev was taken from `old`
            and len(value) >= n
            and _same_list(value[:n] if len(value) > n else value, old)
        ):
            if stale is not None and stale < n:  # messages changed in place: the log is shared up to the first
                return MessageLog(prev.prefix(stale), tuple([self._freeze(m) for m in value[stale:]]))
            if len(value) == n:
                return prev
            return MessageLog(prev, tuple([self._freeze(m) for m in value[n:]]))
        packed = self._packed
        if packed is not None:  # the first snapshot: the input messages stay packed, read back when first read
            start = find_run(value, self._packed_live)
            if start is not None:
                head, rest = value[:start], value[start + packed.count :]
                lazy = LazyMessages([self._freeze(m) for m in head], packed, [self._freeze(m) for m in rest])
                return MessageLog.packed(lazy)
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
        if self.mode == "deep" and "messages" in data and "messages" not in keys:
            keys.append("messages")  # deep snapshots compare every message at every event
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
                self._live_messages = list(value)
                shadow[key] = _UNEQUAL if self.mode == "deep" else self._live_messages  # type: ignore[index]
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
        shadow = dict(data)
        shadow.update(self._mutable)
        if type(data.get("messages")) is list:
            # The live messages, compared by identity; deep snapshots compare each message at every event.
            shadow["messages"] = _UNEQUAL if self.mode == "deep" else self._live_messages
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
        elif prev is _MISSING or isinstance(prev, Uncopyable):
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


def _same_message(frozen: ChatMessage, live: ChatMessage) -> bool:
    try:  # the dataclass `==`: every field, one Python call
        same = frozen == live
        if isinstance(same, bool):
            return same
    except Exception:  # a numpy array in the meta, say: field by field
        pass
    return same_parts(frozen.__dict__, live.__dict__)
